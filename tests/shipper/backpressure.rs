//! A sink that cannot keep up: a FIFO whose reader the test holds open but
//! does not read until it chooses to.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use crate::common::{Running, feed, parse_events};

/// Makes a FIFO and opens its read end without blocking; the caller holds it
/// (so shipper's writes succeed until the pipe buffer fills) and never reads
/// from it.
fn stuck_fifo(dir: &Path) -> (std::path::PathBuf, File) {
    let path = dir.join("sink.fifo");
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let held = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&path)
        .unwrap();
    (path, held)
}

/// Reads the FIFO to its end (shipper closing it) on a fresh blocking handle.
fn drain_fifo(path: &Path) -> std::thread::JoinHandle<Vec<u8>> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        File::open(path).unwrap().read_to_end(&mut bytes).unwrap();
        bytes
    })
}

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
