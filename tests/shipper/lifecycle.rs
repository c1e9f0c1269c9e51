//! The pipeline when things go wrong, at the binary level: signals in the
//! middle of a run, sinks that cannot keep up or never drain, sinks that
//! fail half-way, a reader that never returns. Each test checks the
//! summary's invariant and what reached the sinks.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::{
    Running, drain_fifo, feed, feed_counting, numbered_lines, parse_events, read_events,
    stuck_fifo, wait_until,
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
    let dir = tempfile::tempdir().unwrap();
    let (fifo, _held) = stuck_fifo(dir.path());
    let sink = format!("file={}", fifo.display());
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
}

#[test]
fn block_mode_waits_for_the_sink_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, _held) = stuck_fifo(dir.path());
    let sink = format!("file={}", fifo.display());
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
    let dir = tempfile::tempdir().unwrap();
    let (fifo, _held) = stuck_fifo(dir.path());
    let sink = format!("file={}", fifo.display());
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
    let dir = tempfile::tempdir().unwrap();
    let (fifo, _held) = stuck_fifo(dir.path());
    let sink = format!("file={}", fifo.display());
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
    let dir = tempfile::tempdir().unwrap();
    let (fifo, _held) = stuck_fifo(dir.path());
    let sink = format!("file={}", fifo.display());
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
