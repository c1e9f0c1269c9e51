//! Stopping: SIGTERM and SIGINT in the middle of a run drain and exit 143
//! and 130, a second SIGINT cuts a stuck drain short, the shutdown timeout
//! bounds a sink that never drains, sinks close in reverse order, nothing
//! waiting on a pipe, a FIFO or a sink holds a signal up, and no half line
//! is shipped or written at a signal. Each test checks the summary's
//! invariant and what reached the sinks.

use std::fs::File;
use std::io::Seek;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::{
    PATIENCE, Running, Started, drain_fifo, feed, feed_counting, fifo, numbered_lines,
    parse_events, read_events, read_summary, stuck_fifo_sink, wait_for, wait_until,
};

/// Lines (newlines) in the first `consumed` bytes of `input`, and the
/// bytes after the last of them.
fn lines_in(input: &[u8], consumed: usize) -> (u64, u64) {
    let taken = &input[..consumed];
    let lines = taken.iter().filter(|&&byte| byte == b'\n').count() as u64;
    let whole = taken
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |at| at + 1);
    (lines, (consumed - whole) as u64)
}

#[test]
fn a_quick_second_sigint_accounts_for_every_byte_taken_from_stdin() {
    let input = numbered_lines(300_000);
    for (run, gap) in [0, 5, 10, 20].into_iter().cycle().take(10).enumerate() {
        let (dir, _fifo, _held, sink) = stuck_fifo_sink();
        let path = dir.path().join("input.log");
        std::fs::write(&path, &input).unwrap();
        // Shared with shipper's standard input: one open file, one offset.
        let mut ours = File::open(&path).unwrap();
        let theirs = Stdio::from(ours.try_clone().unwrap());
        let args = [
            "--sink",
            &sink,
            "--queue-capacity",
            "10",
            "--shutdown-timeout",
            "2s",
        ];
        let started = Started::new(dir.path(), &args, theirs, None);
        wait_until(PATIENCE, "a read", || ours.stream_position().unwrap() > 0);
        started.signal(Signal::SIGINT);
        std::thread::sleep(Duration::from_millis(gap));
        started.signal(Signal::SIGINT);
        let (code, stderr, summary) = started.finish();
        let consumed = ours.stream_position().unwrap() as usize;
        let (lines, partial) = lines_in(&input, consumed);
        let context =
            format!("run {run}, gap {gap}ms, {consumed} bytes taken: {summary}\n{stderr}");
        assert_eq!(code, Some(130), "{context}");
        assert_eq!(summary["lines_read"], lines, "{context}");
        if partial > 0 {
            let said = format!("stopped with {partial} bytes of an unfinished line");
            assert!(stderr.contains(&said), "{context}");
        }
    }
}

#[test]
fn sigterm_stops_shipper_waiting_for_a_fifo_writer_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    fifo(dir.path(), "in.fifo");
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let args = ["-v", "in.fifo", "--sink", "file=out.log"];
        let started = Started::new(dir.path(), &args, Stdio::null(), None);
        wait_until(PATIENCE, "the sink to open", || {
            started.stderr().contains("opened sink")
        });
        started.signal(signal);
        let (code, stderr, summary) = started.finish();
        let expected = if signal == Signal::SIGTERM { 143 } else { 130 };
        assert_eq!(code, Some(expected), "{stderr}");
        assert_eq!(summary["lines_read"], 0);
    }
}

#[test]
fn a_fifo_as_the_checkpoint_never_blocks_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    fifo(dir.path(), "state.fifo");
    std::fs::write(dir.path().join("app.log"), "a\n").unwrap();
    let args = ["-v", "app.log", "--checkpoint", "state.fifo"];
    let mut started = Started::new(dir.path(), &args, Stdio::null(), None);
    // It refuses the path, or stops at the signal: it never hangs.
    wait_until(PATIENCE, "a refusal or the sink", || {
        started.child.try_wait().unwrap().is_some() || started.stderr().contains("opened sink")
    });
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(started.child.id() as i32),
        Signal::SIGINT,
    );
    let code = wait_for(&mut started.child, PATIENCE);
    started.reaped = true;
    let stderr = started.stderr();
    assert!(matches!(code, Some(1 | 2 | 130)), "{code:?}: {stderr}");
    assert!(stderr.contains("state.fifo"), "{stderr}");
    if code != Some(2) {
        let summary = read_summary(&started.summary);
        assert_eq!(summary["lines_read"], 0, "{stderr}");
    }
}

// Backpressure: a FIFO whose reader the test holds open but does not read
// until it chooses to.

/// 40,000 lines of about 100 bytes: far more than the pipes and the queue hold.
pub fn input() -> (usize, Vec<u8>) {
    let count = 40_000;
    let mut text = String::new();
    for i in 0..count {
        text.push_str(&format!("{i:08} {}\n", "x".repeat(90)));
    }
    (count, text.into_bytes())
}

#[test]
fn a_sink_that_never_drains_costs_at_most_the_shutdown_timeout() {
    let (dir, _fifo, _held, sink) = stuck_fifo_sink();
    let args = [
        "--sink",
        &sink,
        "--sink",
        "file=healthy.log",
        "--shutdown-timeout",
        "300ms",
    ];
    let (running, stdin) = Running::start_in(dir, &args);
    let (count, input) = input();
    // The input is larger than the FIFO, the queue and the stdin pipe
    // together, so shipper stops for the shutdown timeout, not at the end.
    let started = std::time::Instant::now();
    feed(stdin, input[..input.len() / 4].to_vec())
        .join()
        .unwrap();
    let (code, stderr, summary, _dir) = running.finish();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(summary["submitted"], count / 4);
    assert!(
        summary["dropped_by_reason"]["shutdown_timeout"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        stderr.contains("did not finish within --shutdown-timeout"),
        "{stderr}"
    );
}

/// Starts shipper on a large input, waits until events reach its file,
/// sends `signal`, and returns what it reported.
fn interrupt_mid_run(signal: Signal) -> (Option<i32>, String, serde_json::Value, usize) {
    let (running, stdin) = Running::start(&["--sink", "file=out.log", "--batch-size", "64"]);
    let _feeder = feed(stdin, numbered_lines(5_000_000));
    let out = running.path("out.log");
    wait_until(Duration::from_secs(30), "events in the file", || {
        std::fs::metadata(&out).is_ok_and(|m| m.len() > 0)
    });
    running.signal(signal);
    let (code, stderr, summary, dir) = running.finish();
    let written = read_events(&dir.path().join("out.log")).len();
    (code, stderr, summary, written)
}

#[test]
fn sigterm_mid_input_drains_and_exits_143() {
    let (code, stderr, summary, written) = interrupt_mid_run(Signal::SIGTERM);
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(summary["stopped_by"], "SIGTERM");
    assert_eq!(summary["dropped"], 0, "the drain finished: {summary}");
    assert_eq!(written as u64, summary["processed"].as_u64().unwrap());
    assert!(
        summary["submitted"].as_u64().unwrap() < 5_000_000,
        "stopped before the input ended"
    );
}

#[test]
fn sigint_mid_input_drains_and_exits_130() {
    let (code, stderr, summary, written) = interrupt_mid_run(Signal::SIGINT);
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(summary["stopped_by"], "SIGINT");
    assert_eq!(written as u64, summary["processed"].as_u64().unwrap());
    assert!(
        stderr.contains("processed"),
        "the human summary is printed: {stderr}"
    );
}

#[test]
fn a_second_sigint_cuts_a_stuck_drain_short() {
    let (dir, _fifo, _held, sink) = stuck_fifo_sink();
    let args = ["-v", "--sink", &sink, "--shutdown-timeout", "1h"];
    let (running, stdin) = Running::start_in(dir, &args);
    let taken = feed_counting(stdin, numbered_lines(500_000));
    // Far more than the FIFO holds: the drain cannot finish.
    wait_until(Duration::from_secs(30), "shipper to take 128 KiB", || {
        taken.load(std::sync::atomic::Ordering::SeqCst) > 128 << 10
    });
    running.signal(Signal::SIGINT);
    wait_until(Duration::from_secs(30), "the drain to start", || {
        running
            .stderr_so_far()
            .contains("SIGINT received: draining")
    });
    running.signal(Signal::SIGINT);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(130), "{stderr}");
    let cut = summary["dropped_by_reason"]["shutdown"].as_u64().unwrap();
    assert!(cut > 0, "what was not written is counted: {summary}");
    assert!(stderr.contains("cut the drain short"), "{stderr}");
}

#[test]
fn one_signal_after_the_input_ended_does_not_cut_the_drain() {
    let (dir, fifo, _held, sink) = stuck_fifo_sink();
    let (running, stdin) =
        Running::start_in(dir, &["-v", "--sink", &sink, "--shutdown-timeout", "1h"]);
    // Fits in the queue, but not in the FIFO: the drain waits on the sink.
    feed(stdin, numbered_lines(5000)).join().unwrap();
    wait_until(Duration::from_secs(30), "the end of input", || {
        running.stderr_so_far().contains("end of input: draining")
    });
    running.signal(Signal::SIGINT);
    wait_until(Duration::from_secs(30), "the warning", || {
        running
            .stderr_so_far()
            .contains("another signal stops at once")
    });
    let written = drain_fifo(&fifo).join().unwrap();
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(0), "every line was delivered: {stderr}");
    assert_eq!(summary["processed"], 5000);
    assert_eq!(summary["stopped_by"], serde_json::Value::Null);
    assert_eq!(crate::common::parse_events(&written).len(), 5000);
}

#[test]
fn a_reader_blocked_on_a_silent_pipe_does_not_hold_up_sigterm() {
    // Nothing is ever written and the pipe never closes: `sleep 1000 | shipper`.
    let (running, _silent_stdin) = Running::start(&["-v", "--sink", "file=out.log"]);
    wait_until(Duration::from_secs(30), "shipper to start", || {
        running.stderr_so_far().contains("opened sink")
    });
    let started = std::time::Instant::now();
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, _dir) = running.finish();
    assert!(started.elapsed() < Duration::from_secs(10), "{stderr}");
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(summary["lines_read"], 0);
}

#[test]
fn sinks_open_in_order_and_close_in_reverse() {
    let run = crate::common::run(
        &[
            "-v",
            "--sink",
            "file=a.log",
            "--sink",
            "file=b.log",
            "--sink",
            "stdout",
        ],
        "x\n",
    );
    assert_eq!(run.code, Some(0));
    let order: Vec<String> = run
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|d| d["component"] == "sink")
        .map(|d| d["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        order,
        [
            "opened sink file=a.log",
            "opened sink file=b.log",
            "opened sink stdout",
            "closed sink stdout",
            "closed sink file=b.log",
            "closed sink file=a.log",
        ]
    );
}

#[test]
fn a_signal_during_writes_never_leaves_a_half_written_line() {
    let (running, stdin) = Running::start(&["--sink", "file=out.log", "--batch-size", "4096"]);
    let taken = feed_counting(stdin, numbered_lines(3_000_000));
    wait_until(Duration::from_secs(30), "writes under way", || {
        taken.load(std::sync::atomic::Ordering::SeqCst) > 4 << 20
    });
    running.signal(Signal::SIGINT);
    running.signal(Signal::SIGINT);
    let (code, _stderr, summary, dir) = running.finish();
    assert_eq!(code, Some(130));
    let bytes = std::fs::read(dir.path().join("out.log")).unwrap();
    assert!(
        bytes.is_empty() || bytes.ends_with(b"\n"),
        "the file ends on a whole line"
    );
    let events = parse_events(&bytes);
    let processed = summary["processed"].as_u64().unwrap() as usize;
    let cut = summary["dropped_by_reason"]["shutdown"].as_u64().unwrap() as usize;
    assert!(
        events.len() >= processed && events.len() <= processed + cut,
        "{summary}"
    );
}

#[test]
fn the_start_of_a_line_still_being_written_at_a_signal_is_not_shipped() {
    let (running, mut stdin) = Running::start(&["--sink", "file=out.log"]);
    std::io::Write::write_all(&mut stdin, b"whole\n{\"msg\":\"tor").unwrap();
    wait_until(Duration::from_secs(30), "the whole line", || {
        std::fs::read(running.path("out.log")).is_ok_and(|bytes| !bytes.is_empty())
    });
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, dir) = running.finish();
    assert_eq!(code, Some(143));
    let events = read_events(&dir.path().join("out.log"));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["message"], "whole");
    assert_eq!(summary["processed"], 1);
    assert!(
        stderr.contains("11 bytes of an unfinished line"),
        "{stderr}"
    );
    drop(stdin);
}

#[test]
fn a_signal_while_a_sink_opens_stops_shipper_at_once() {
    // A server that takes the connection and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (accepted, connections) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in silent.incoming().flatten() {
            let _ = accepted.send(stream);
        }
    });
    let sink = format!("nats=nats://127.0.0.1:{port}/logs");
    let args = ["--sink", &sink, "--nats-timeout", "60s"];
    let (running, _stdin) = crate::common::Running::start(&args);
    let _held = connections.recv_timeout(Duration::from_secs(30)).unwrap();
    running.signal(Signal::SIGTERM);
    let started = std::time::Instant::now();
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "not the 60 s open timeout"
    );
    assert_eq!(summary["stopped_by"], "SIGTERM");
    assert_eq!(summary["lines_read"], 0);
    assert!(
        stderr.contains("SIGTERM received while the sinks opened"),
        "{stderr}"
    );
}
