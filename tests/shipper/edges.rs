//! Edges of a run: a sink file left with half a line, signals that come
//! while a read is under way, a FIFO named as input, too few file
//! descriptors, rotation settings that would delete what was shipped.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::{Running, feed, numbered_lines, parse_events, read_events, run, shipper};

/// Long enough for a slow machine, short enough to fail fast.
const PATIENCE: Duration = Duration::from_secs(30);

/// Every line of `path` parses and the file ends a line; returns how many
/// lines it holds.
fn assert_all_parse(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.is_empty() || bytes.ends_with(b"\n"),
        "{}",
        path.display()
    );
    parse_events(&bytes).len()
}

#[test]
fn a_sink_file_ending_in_half_a_line_is_cut_back_before_appending() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    std::fs::write(&out, "{\"message\":\"whole\"}\n{\"message\":\"ha").unwrap();
    let sink = format!("file={}", out.display());
    let run = run(&["--sink", &sink], numbered_lines(3));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(assert_all_parse(&out), 4);
    let events = read_events(&out);
    assert_eq!(events[0]["message"], "whole");
    assert_eq!(events[1]["message"], "line 0");
    assert!(
        run.stderr
            .contains("ended in 14 bytes of an unfinished line"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_sink_file_ending_in_half_a_line_is_cut_back_before_rotating() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    std::fs::write(&out, "{\"message\":\"whole\"}\n{\"message\":\"ha").unwrap();
    let sink = format!("file={}", out.display());
    let args = [
        "--sink",
        &sink,
        "--file-max-bytes",
        "2KiB",
        "--file-max-files",
        "100",
        "--batch-size",
        "4",
    ];
    let run = run(&args, numbered_lines(200));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let mut lines = assert_all_parse(&out);
    for n in 1..=100 {
        let rotated = dir.path().join(format!("out.log.{n}"));
        if rotated.exists() {
            lines += assert_all_parse(&rotated);
        }
    }
    assert_eq!(lines, 201);
    assert!(run.stderr.contains("14 bytes"), "{}", run.stderr);
}

/// Whether a file ends part-way through a line.
fn ends_in_half_a_line(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    !bytes.is_empty() && !bytes.ends_with(b"\n")
}

#[test]
fn a_run_after_a_sigkill_mid_write_starts_a_line_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.log");
    let sink = format!("file={}", out.display());
    let args = ["--sink", &sink, "--batch-size", "20000"];
    let mut torn = 0;
    for _ in 0..40 {
        let (mut running, stdin) = Running::start(&args);
        let before = std::fs::metadata(&out).map_or(0, |m| m.len());
        let _feeder = feed(stdin, numbered_lines(200_000));
        // Looked at without pause: a write of a 20000-event batch lasts
        // a few milliseconds, and the kill should land inside one.
        let deadline = std::time::Instant::now() + PATIENCE;
        while std::fs::metadata(&out).map_or(0, |m| m.len()) <= before {
            assert!(std::time::Instant::now() < deadline, "no write");
        }
        running.signal(Signal::SIGKILL);
        running.reaper.armed = false;
        let _ = running.child.wait();
        if ends_in_half_a_line(&out) {
            torn += 1;
            let run = run(&["--sink", &sink], numbered_lines(2));
            assert_all_parse(&out);
            assert_eq!(run.code, Some(0), "{}", run.stderr);
            assert!(run.stderr.contains("unfinished line"), "{}", run.stderr);
        }
        if torn == 2 {
            break;
        }
    }
    assert_all_parse(&out);
}

#[test]
fn file_max_files_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    shipper()
        .current_dir(dir.path())
        .args(["--sink", "file=out.log", "--file-max-bytes", "10"])
        .args(["--file-max-files", "0"])
        .write_stdin("a\nb\nc\n")
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--file-max-files must be at least 1",
        ));
    assert!(!dir.path().join("out.log").exists(), "nothing was written");
}
