//! A sink slower than the input: drop mode drops and counts, block mode
//! holds the input back and loses nothing, protected levels wait for room
//! while the rest is dropped, and gap markers stand where lines were
//! dropped.

use std::time::Duration;

use crate::common::{Running, drain_fifo, feed, parse_events, stuck_fifo_sink};
use crate::shutdown::input;

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
