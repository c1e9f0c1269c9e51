//! A file that fails a read, with a real fault: `/proc/self/mem`, a
//! regular file whose first bytes (the unmapped page at address 0) can
//! never be read. The failure is said with the file's path, the other
//! files are still read, and reading once ends in failure.

use std::io::Write;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::*;

/// A file every read of which fails with an I/O error.
const UNREADABLE: &str = "/proc/self/mem";

/// The messages of the events a run delivered to `out.jsonl`.
fn messages(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| event["message"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn reading_once_a_file_that_fails_is_reported_and_the_others_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let (first, last) = (dir.path().join("first.log"), dir.path().join("last.log"));
    std::fs::write(&first, "one\ntwo\n").unwrap();
    std::fs::write(&last, "three\nfour").unwrap();
    let (first, last) = (first.display().to_string(), last.display().to_string());
    let args = [&*first, UNREADABLE, &*last, "--sink", "file=out.jsonl"];
    let run = run(&args, "");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("could not read {UNREADABLE}: ")),
        "{}",
        run.stderr
    );
    assert_eq!(
        messages(&run.events("out.jsonl")),
        ["one", "two", "three", "four"],
        "{}",
        run.stderr
    );
    assert_eq!(run.summary["processed"], 4, "{}", run.stderr);
}

#[test]
fn following_a_file_that_fails_is_reported_and_the_others_are_still_followed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "").unwrap();
    let args = [
        "-v",
        "--follow",
        "app.log",
        "--follow",
        UNREADABLE,
        "--poll",
        "--sink",
        "file=out.jsonl",
    ];
    let (running, _stdin) = Running::start_in(dir, &args);
    let patience = Duration::from_secs(30);
    wait_until(patience, "the read error said", || {
        running
            .stderr_so_far()
            .contains(&format!("could not read {UNREADABLE}: "))
    });
    writeln!(append(&log), "after the failure").unwrap();
    let out = running.path("out.jsonl");
    // Only whole lines are parsed: shipper may be writing the line.
    wait_until(patience, "the line delivered", || {
        std::fs::read(&out).is_ok_and(|bytes| bytes.ends_with(b"\n"))
    });
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, dir) = running.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert!(
        stderr.contains(&format!("released {UNREADABLE}")),
        "{stderr}"
    );
    assert_eq!(
        messages(&read_events(&dir.path().join("out.jsonl"))),
        ["after the failure"],
        "{stderr}"
    );
    assert_eq!(summary["processed"], 1, "{stderr}");
}
