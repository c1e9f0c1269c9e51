//! Enveloping on several threads: inputs large enough to be read in many
//! chunks, which the worker hands to its encoder threads, still give the
//! events of each stream in order, the same counts (invalid, filtered,
//! redacted), gap markers where the drops were, and sampling that is the
//! same run after run.

use std::io::Write;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};

use crate::common::{Run, Running, feed, read_events, wait_until};

/// Lines enough for a few hundred chunks, read in blocks of 256 KiB.
const LINES: usize = 120_000;

/// Line `i` in one of four formats, with `m{i}` as its message and, every
/// fifth line, a password to redact. Lines of different formats cost the
/// encoders different work, so chunks finish out of turn.
fn line(i: usize) -> String {
    let secret = if i.is_multiple_of(5) {
        " password=hunter2"
    } else {
        ""
    };
    match i % 4 {
        0 => format!("{{\"level\":\"info\",\"message\":\"m{i}{secret}\",\"n\":{i}}}"),
        1 => format!("time=2026-11-30T18:21:00Z level=warn msg=\"m{i}{secret}\" n={i}"),
        2 => format!("2026-11-30 18:21:00,031 ERROR [main] app.Db - m{i}{secret}"),
        _ => format!("<30>Oct 11 22:14:15 host app[12]: m{i}{secret}"),
    }
}

/// Runs shipper on `input` read from a file: read in blocks of 256 KiB,
/// large enough for the encoder threads (a pipe's reads may be smaller).
fn run(args: &[&str], input: Vec<u8>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.log");
    std::fs::write(&path, input).unwrap();
    let mut args = args.to_vec();
    args.push(path.to_str().unwrap());
    crate::common::run(&args, "")
}

fn input(count: usize, line: impl Fn(usize) -> String) -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..count {
        writeln!(text, "{}", line(i)).unwrap();
    }
    text
}

/// The number each event's message starts with (`m{i}`), in order.
fn numbers(events: &[Value]) -> Vec<usize> {
    events
        .iter()
        .map(|event| {
            let message = event["message"].as_str().unwrap();
            let digits: String = message[1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits
                .parse()
                .unwrap_or_else(|_| panic!("not m<number>: {event}"))
        })
        .collect()
}

fn count(summary: &Value, group: &str, reason: &str) -> u64 {
    summary[group][reason].as_u64().unwrap()
}

#[test]
fn events_keep_their_order_over_many_chunks_in_every_format() {
    let run = run(&["--sink", "file=out.log"], input(LINES, line));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let events = run.events("out.log");
    assert_eq!(numbers(&events), (0..LINES).collect::<Vec<_>>());
    assert_eq!(run.summary["processed"], LINES);
    let levels = ["INFO", "WARNING", "ERROR", "INFO"];
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["level"], levels[i % 4], "{event}");
    }
}

#[test]
fn files_read_in_turn_keep_each_one_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<String> = (0..3)
        .map(|k| {
            let path = dir.path().join(format!("in{k}.log"));
            std::fs::write(&path, input(LINES / 3, line)).unwrap();
            path.to_str().unwrap().to_owned()
        })
        .collect();
    let mut args = vec!["--sink", "file=out.log"];
    args.extend(paths.iter().map(String::as_str));
    let run = crate::common::run(&args, "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let events = run.events("out.log");
    assert_eq!(run.summary["processed"], LINES / 3 * 3);
    for path in &paths {
        let of_file: Vec<Value> = events
            .iter()
            .filter(|event| event["diagnostics"]["source"] == path.as_str())
            .cloned()
            .collect();
        assert_eq!(numbers(&of_file), (0..LINES / 3).collect::<Vec<_>>());
    }
}

#[test]
fn strict_mode_drops_exactly_the_invalid_lines_in_order() {
    let json = |i: usize| match i % 7 {
        3 => format!("not json {i}"),
        5 => format!("{{\"message\":\"m{i}\""),
        _ => format!("{{\"level\":\"info\",\"message\":\"m{i}\"}}"),
    };
    let run = run(
        &["--sink", "file=out.log", "--strict-envelope"],
        input(LINES, json),
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let valid: Vec<usize> = (0..LINES).filter(|i| i % 7 != 3 && i % 7 != 5).collect();
    assert_eq!(numbers(&run.events("out.log")), valid);
    let invalid = (LINES - valid.len()) as u64;
    assert_eq!(count(&run.summary, "dropped_by_reason", "invalid"), invalid);
    assert_eq!(run.summary["dropped"], invalid);
    assert_eq!(run.summary["processed"], valid.len());
}

#[test]
fn gap_markers_stand_where_invalid_lines_were_dropped() {
    // Runs of 1, 2 and 3 invalid lines between valid ones.
    let json = |i: usize| match i % 10 {
        2 | 5 | 6 | 7 | 8 => format!("bad {i}"),
        _ => format!("{{\"message\":\"m{i}\"}}"),
    };
    let run = run(
        &[
            "--sink",
            "file=out.log",
            "--strict-envelope",
            "--gap-markers",
        ],
        input(LINES, json),
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let mut expected = Vec::new();
    let mut dropped = 0;
    for i in 0..LINES {
        if matches!(i % 10, 2 | 5 | 6 | 7 | 8) {
            dropped += 1;
            continue;
        }
        if dropped > 0 {
            expected.push(format!("gap {dropped}"));
            dropped = 0;
        }
        expected.push(format!("m{i}"));
    }
    let events = run.events("out.log");
    let shipped: Vec<String> = events
        .iter()
        .map(|event| match event["diagnostics"]["gap_marker"] == true {
            true => format!("gap {}", event["data"]["dropped_by_reason"]["invalid"]),
            false => event["message"].as_str().unwrap().to_owned(),
        })
        .collect();
    assert_eq!(shipped, expected);
    let markers = expected.iter().filter(|e| e.starts_with("gap")).count();
    assert_eq!(run.summary["gap_markers"], markers);
    assert_eq!(
        count(&run.summary, "dropped_by_reason", "invalid"),
        (LINES / 2) as u64
    );
}

#[test]
fn filtered_and_redacted_events_are_counted_exactly() {
    let run = run(
        &[
            "--sink",
            "file=out.log",
            "--min-level",
            "warning",
            "--exclude",
            "^m[0-9]*3$",
        ],
        input(LINES, line),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // Levels INFO, WARNING, ERROR, INFO: lines 0 and 3 (mod 4) are below
    // the minimum. Of the others, the messages ending in 3 are excluded
    // (they hold no password: they are not multiples of 5).
    let passed = |i: &usize| i % 4 == 1 || i % 4 == 2;
    let below = (0..LINES).filter(|i| !passed(i)).count();
    let excluded = (0..LINES).filter(passed).filter(|i| i % 10 == 3).count();
    let kept: Vec<usize> = (0..LINES).filter(passed).filter(|i| i % 10 != 3).collect();
    assert_eq!(numbers(&run.events("out.log")), kept);
    let filtered = |reason| count(&run.summary, "filtered_by_reason", reason);
    assert_eq!(filtered("level"), below as u64);
    assert_eq!(filtered("exclude"), excluded as u64);
    assert_eq!(run.summary["filtered"], below + excluded);
    // Every fifth line holds a password, filtered or not: each is redacted
    // once, before the line is read.
    assert_eq!(run.summary["redacted"], LINES.div_ceil(5));
}

#[test]
fn sampling_keeps_the_same_events_every_run() {
    let args = [
        "--sink",
        "file=out.log",
        "--sample",
        "7",
        "--min-level",
        "warning",
    ];
    let first = run(&args, input(LINES, line));
    let second = run(&args, input(LINES, line));
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    // Sampling counts the events that passed the level: the first of every
    // seven of those ships.
    let passed: Vec<usize> = (0..LINES).filter(|i| i % 4 == 1 || i % 4 == 2).collect();
    let kept: Vec<usize> = passed.iter().copied().step_by(7).collect();
    let first_events = first.events("out.log");
    assert_eq!(numbers(&first_events), kept);
    // The same events, but for the input file's name.
    let second_events = second.events("out.log");
    assert_eq!(numbers(&second_events), kept);
    let without_source = |events: &[Value]| -> Vec<Value> {
        events
            .iter()
            .map(|event| json!([event["message"], event["level"], event["data"]]))
            .collect()
    };
    assert_eq!(
        without_source(&first_events),
        without_source(&second_events)
    );
    assert_eq!(
        count(&first.summary, "filtered_by_reason", "sample"),
        (passed.len() - kept.len()) as u64
    );
    assert_eq!(first.summary["filtered"], second.summary["filtered"]);
}

#[test]
fn sigterm_mid_run_keeps_order_and_accounts_for_every_line() {
    let (running, stdin) = Running::start(&["--sink", "file=out.log", "--strict-envelope"]);
    let json = |i: usize| match i % 9 {
        4 => format!("bad {i}"),
        _ => format!("{{\"message\":\"m{i}\"}}"),
    };
    let _feeder = feed(stdin, input(3_000_000, json));
    let out = running.path("out.log");
    wait_until(Duration::from_secs(30), "events in the file", || {
        std::fs::metadata(&out).is_ok_and(|m| m.len() > 0)
    });
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, dir) = running.finish();
    assert_eq!(code, Some(143), "{stderr}");
    let submitted = summary["submitted"].as_u64().unwrap() as usize;
    assert!(submitted < 3_000_000, "stopped before the input ended");
    let valid: Vec<usize> = (0..submitted).filter(|i| i % 9 != 4).collect();
    let events = read_events(&dir.path().join("out.log"));
    assert_eq!(numbers(&events), valid, "the first lines, in order");
    assert_eq!(
        count(&summary, "dropped_by_reason", "invalid"),
        (submitted - valid.len()) as u64
    );
    assert_eq!(summary["dropped"], summary["dropped_by_reason"]["invalid"]);
}
