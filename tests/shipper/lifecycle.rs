//! The pipeline when things go wrong, at the binary level: signals in the
//! middle of a run, sinks that cannot keep up or never drain, sinks that
//! fail half-way, a reader that never returns. Each test checks the
//! summary's invariant and what reached the sinks.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::{
    Running, Tmpfs, drain_fifo, feed, feed_counting, numbered_lines, parse_events, read_events,
    stuck_fifo_sink, wait_until,
};

// Backpressure: a FIFO whose reader the test holds open but does not read
// until it chooses to.

/// 40,000 lines of about 100 bytes: far more than the pipes and the queue hold.
fn input() -> (usize, Vec<u8>) {
    let count = 40_000;
    let mut text = String::new();
    for i in 0..count {
        text.push_str(&format!("{i:08} {}\n", "x".repeat(90)));
    }
    (count, text.into_bytes())
}

#[test]
fn drop_mode_drops_and_counts_when_the_sink_cannot_keep_up() {
    let (dir, fifo, _held, sink) = stuck_fifo_sink();
    let args = [
        "--sink",
        &sink,
        "--drop-on-full",
        "--backpressure-wait",
        "1ms",
        "--queue-capacity",
        "100",
        "--batch-size",
        "10",
    ];
    let (running, stdin) = Running::start_in(dir, &args);
    let (count, input) = input();
    // Drop mode never makes the writer wait long: the whole input goes in
    // while the sink is stuck.
    feed(stdin, input).join().unwrap();
    let written = drain_fifo(&fifo);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(summary["submitted"], count);
    assert!(summary["dropped_by_reason"]["queue_full"].as_u64().unwrap() > 0);
    assert_eq!(summary["queue_high_watermark"], 100);
    let events = parse_events(&written.join().unwrap());
    assert_eq!(events.len() as u64, summary["processed"].as_u64().unwrap());
    assert!(stderr.contains("queue full: dropped"), "{stderr}");
    assert!(stderr.contains("\"queue_high_watermark\":100"), "{stderr}");
    let reports = stderr.matches("queue full: dropped").count();
    assert!(reports <= 5, "drop reports are rate limited: {reports}");
    if summary["dropped_by_reason"]["queue_full"].as_u64().unwrap() > 5 * 100 {
        assert!(stderr.contains("more 'queue_full' messages"), "{stderr}");
    }
}

#[test]
fn block_mode_waits_for_the_sink_and_loses_nothing() {
    let (dir, fifo, _held, sink) = stuck_fifo_sink();
    let args = [
        "--sink",
        &sink,
        "--queue-capacity",
        "100",
        "--batch-size",
        "10",
    ];
    let (running, stdin) = Running::start_in(dir, &args);
    let (count, input) = input();
    let feeder = feed(stdin, input);
    // Nothing is dropped while the sink is stuck: the writer is held back.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!feeder.is_finished(), "the writer feels the backpressure");
    let written = drain_fifo(&fifo);
    feeder.join().unwrap();
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["processed"], count);
    assert_eq!(summary["dropped"], 0);
    assert_eq!(summary["queue_high_watermark"], 100);
    let events = parse_events(&written.join().unwrap());
    assert_eq!(events.len(), count);
    assert_eq!(
        events[count - 1]["message"].as_str().unwrap()[..8],
        format!("{:08}", count - 1)
    );
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

// Signals.

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

// Shutdown ordering.

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
            "opened sink file:a.log",
            "opened sink file:b.log",
            "opened sink stdout",
            "closed sink stdout",
            "closed sink file:b.log",
            "closed sink file:a.log",
        ]
    );
}

// A sink failing in the middle of a batch.

#[test]
#[cfg_attr(
    tarpaulin,
    ignore = "the file size limit would cut the coverage profile shipper writes at exit too"
)]
fn a_file_too_large_part_way_through_a_batch_keeps_the_whole_events() {
    // `ulimit -f` makes the kernel stop a write at the limit, part-way
    // through an event; later writes fail with EFBIG (and SIGXFSZ, which
    // shipper ignores so that the failure is counted, not fatal).
    let dir = tempfile::tempdir().unwrap();
    let summary_path = dir.path().join("summary.json");
    let script = format!(
        "ulimit -f 8; exec '{}' --sink file=out.log --sink file=/dev/null --batch-size 10 --summary-file '{}'",
        crate::common::bin().display(),
        summary_path.display()
    );
    let output = assert_cmd::Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir.path())
        .write_stdin(numbered_lines(300))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let summary = crate::common::read_summary(&summary_path);
    let file = &summary["sinks"][0];
    let events = read_events(&dir.path().join("out.log"));
    assert!(!events.is_empty() && events.len() < 300);
    assert_eq!(
        file["written"],
        events.len(),
        "whole events written before the error count as written"
    );
    assert_eq!(file["failed"], 300 - events.len());
    assert_eq!(
        summary["sinks"][1]["written"], 300,
        "the other sink is untouched"
    );
    assert_eq!(
        summary["dropped_by_reason"]["sink_error"],
        300 - events.len()
    );
    let failure: serde_json::Value = stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .find(|d: &serde_json::Value| d["component"] == "sink")
        .expect("a sink diagnostic");
    assert_eq!(failure["sink"], "file:out.log");
    assert_eq!(failure["error_kind"], "FileTooLarge");
    assert_eq!(failure["batch_events"], 10);
    assert!(
        failure["error"].as_str().unwrap().contains("too large"),
        "{failure}"
    );
}

#[test]
#[ignore = "needs root: mounts a tmpfs"]
fn a_full_disk_fails_part_of_a_batch_and_the_sink_recovers_when_space_returns() {
    let disk = Tmpfs::mount("256k");
    let filler = disk.0.path().join("filler");
    std::fs::write(&filler, vec![0u8; 200 << 10]).unwrap();
    let out = disk.0.path().join("out.log");
    let sink = format!("file={}", out.display());
    let (running, mut stdin) = Running::start(&[
        "--sink",
        &sink,
        "--batch-size",
        "50",
        "--batch-timeout",
        "10ms",
    ]);
    // About 60 KiB of events for 56 KiB of room: the disk fills part-way
    // through a batch.
    std::io::Write::write_all(&mut stdin, &numbered_lines(600)).unwrap();
    wait_until(Duration::from_secs(30), "the disk to fill", || {
        running.stderr_so_far().contains("StorageFull")
    });
    std::fs::remove_file(&filler).unwrap();
    let mut later = String::new();
    for i in 600..700 {
        later.push_str(&format!("line {i}\n"));
    }
    std::io::Write::write_all(&mut stdin, later.as_bytes()).unwrap();
    drop(stdin);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(3), "{stderr}");
    let events = read_events(&out);
    let sink = &summary["sinks"][0];
    assert_eq!(
        sink["written"],
        events.len(),
        "the file holds exactly the events counted written"
    );
    assert!(sink["failed"].as_u64().unwrap() > 0);
    let last = events.last().unwrap();
    assert_eq!(
        last["message"], "line 699",
        "the sink recovered once space returned"
    );
    let failure: serde_json::Value = stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .find(|d: &serde_json::Value| d["component"] == "sink")
        .unwrap();
    assert!(
        failure["written"].as_u64().unwrap() > 0,
        "the disk filled part-way through a batch: {failure}"
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

// Protecting important lines, and marking the gaps drops leave.

/// Lines of about 100 bytes; every 100th is an ERROR.
fn leveled_input(count: usize) -> Vec<u8> {
    let mut text = String::new();
    for i in 0..count {
        let level = if i % 100 == 0 { "ERROR" } else { "INFO" };
        text.push_str(&format!("{i:08} {level} {}\n", "x".repeat(85)));
    }
    text.into_bytes()
}

#[test]
fn protected_levels_wait_for_room_while_the_rest_is_dropped() {
    let (dir, fifo, _held, sink) = stuck_fifo_sink();
    let args = [
        "--sink",
        &sink,
        "--drop-on-full",
        "--backpressure-wait",
        "0ms",
        "--protect-level",
        "error",
        "--queue-capacity",
        "100",
        "--batch-size",
        "10",
    ];
    let (running, stdin) = Running::start_in(dir, &args);
    let feeder = feed(stdin, leveled_input(40_000));
    let written = drain_fifo(&fifo);
    feeder.join().unwrap();
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        summary["dropped_by_reason"]["queue_full"].as_u64().unwrap() > 0,
        "{summary}"
    );
    let events = parse_events(&written.join().unwrap());
    let errors = events.iter().filter(|e| e["level"] == "ERROR").count();
    assert_eq!(errors, 400, "no ERROR line was dropped");
    assert_eq!(events.len() as u64, summary["processed"].as_u64().unwrap());
}

#[test]
fn gap_markers_account_for_every_dropped_line() {
    let (dir, fifo, _held, sink) = stuck_fifo_sink();
    let args = [
        "--sink",
        &sink,
        "--drop-on-full",
        "--backpressure-wait",
        "1ms",
        "--gap-markers",
        "--queue-capacity",
        "100",
    ];
    let (running, stdin) = Running::start_in(dir, &args);
    feed(stdin, leveled_input(40_000)).join().unwrap();
    let written = drain_fifo(&fifo);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(3), "{stderr}");
    let events = parse_events(&written.join().unwrap());
    let (markers, shipped): (Vec<_>, Vec<_>) = events
        .iter()
        .partition(|e| e["diagnostics"]["gap_marker"] == true);
    let marked: u64 = markers
        .iter()
        .map(|m| m["data"]["dropped"].as_u64().unwrap())
        .sum();
    assert_eq!(
        marked,
        summary["dropped_by_reason"]["queue_full"].as_u64().unwrap()
    );
    assert_eq!(
        markers.len() as u64,
        summary["gap_markers"].as_u64().unwrap()
    );
    assert_eq!(shipped.len() as u64, summary["processed"].as_u64().unwrap());
    assert!(!markers.is_empty());
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
