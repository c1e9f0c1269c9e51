//! Signals in the middle of a run: a clean drain, an honest count, the
//! status a script expects.

use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::{Running, feed, feed_counting, numbered_lines, read_events, wait_until};

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
    let fifo = dir.path().join("sink.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let _held = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
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
    let fifo = dir.path().join("sink.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let _held = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
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
    let mut written = Vec::new();
    std::io::Read::read_to_end(&mut std::fs::File::open(&fifo).unwrap(), &mut written).unwrap();
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(0), "every line was delivered: {stderr}");
    assert_eq!(summary["processed"], 5000);
    assert_eq!(summary["stopped_by"], serde_json::Value::Null);
    assert_eq!(crate::common::parse_events(&written).len(), 5000);
}
