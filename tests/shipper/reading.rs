//! Inputs read once: files in order with their last line, FIFOs and
//! process substitutions read like standard input, more files than
//! descriptors, and a file that cannot be read.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::{
    PATIENCE, Started, bin, events_so_far, fifo, numbered_lines, parse_events, read_events,
    read_summary, shipper, wait_until,
};

#[test]
fn files_read_once_ship_in_order_with_their_last_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "a 0\na 1\n\na 2").unwrap();
    std::fs::write(dir.path().join("b.log"), "b 0\n").unwrap();
    let summary_path = dir.path().join("summary.json");
    shipper()
        .current_dir(dir.path())
        .args([
            "a.log",
            "b.log",
            "--sink",
            "file=out.jsonl",
            "--summary-file",
        ])
        .arg(&summary_path)
        .assert()
        .success();
    let summary = read_summary(&summary_path);
    assert_eq!(summary["blank"], 1);
    let events = read_events(&dir.path().join("out.jsonl"));
    let messages: Vec<&str> = events
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["a 0", "a 1", "a 2", "b 0"]);
    assert_eq!(events[0]["diagnostics"]["source"], "a.log");
    assert_eq!(events[3]["diagnostics"]["source"], "b.log");
}

#[test]
fn a_file_that_cannot_be_read_stops_the_run_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "a 0\n").unwrap();
    let summary_path = dir.path().join("summary.json");
    shipper()
        .current_dir(dir.path())
        .args([
            "a.log",
            "missing.log",
            "--sink",
            "file=out.jsonl",
            "--summary-file",
        ])
        .arg(&summary_path)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("could not open 'missing.log'"));
    let summary = read_summary(&summary_path);
    assert_eq!(summary["lines_read"], 0);
    assert_eq!(std::fs::read(dir.path().join("out.jsonl")).unwrap(), b"");
}

#[test]
fn files_read_once_show_bytes_read_of_the_total() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.log"), numbered_lines(200_000)).unwrap();
    let summary_path = dir.path().join("summary.json");
    let output = shipper()
        .current_dir(dir.path())
        .args([
            "big.log",
            "--sink",
            "file=out.jsonl",
            "--progress",
            "always",
        ])
        .arg("--summary-file")
        .arg(&summary_path)
        .output()
        .unwrap();
    assert!(output.status.success());
    read_summary(&summary_path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("MiB [") && stderr.contains("eta"),
        "{stderr}"
    );
}

#[test]
fn a_fifo_named_as_input_is_read_like_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = fifo(dir.path(), "in.fifo");
    let args = ["in.fifo", "--sink", "file=out.log"];
    let started = Started::new(dir.path(), &args, Stdio::null(), None);
    // Opening blocks until shipper opens the other end.
    let writer = std::thread::spawn(move || {
        let mut fifo = std::fs::OpenOptions::new().write(true).open(input).unwrap();
        fifo.write_all(&numbered_lines(1000)).unwrap();
    });
    let (code, stderr, summary) = started.finish();
    writer.join().unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["processed"], 1000);
    let events = read_events(&dir.path().join("out.log"));
    assert_eq!(events.len(), 1000);
    assert_eq!(events[999]["message"], "line 999");
    assert_eq!(events[0]["diagnostics"]["source"], "in.fifo");
}

#[test]
fn a_process_substitution_is_read_through_dev_fd() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "exec '{}' <(printf 'one\\ntwo\\n') --sink file=out.log --summary-file summary.json",
        bin().display()
    );
    let output = Command::new("bash")
        .current_dir(dir.path())
        .args(["-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let summary = read_summary(&dir.path().join("summary.json"));
    assert_eq!(summary["processed"], 2);
    let events = read_events(&dir.path().join("out.log"));
    assert_eq!(events[1]["message"], "two");
}

#[test]
fn a_fifo_given_to_follow_is_refused_with_a_warning_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    fifo(dir.path(), "in.fifo");
    std::fs::write(dir.path().join("app.log"), "kept\n").unwrap();
    let args = ["-F", "in.fifo", "-F", "app.log", "--sink", "file=out.log"];
    let started = Started::new(dir.path(), &args, Stdio::null(), None);
    wait_until(PATIENCE, "the warning", || {
        started
            .stderr()
            .contains("'in.fifo' is a pipe or FIFO, not followed")
    });
    wait_until(PATIENCE, "app.log's line", || {
        std::fs::read(dir.path().join("out.log")).is_ok_and(|out| !out.is_empty())
    });
    started.signal(Signal::SIGTERM);
    let (code, stderr, summary) = started.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(summary["processed"], 1);
}

/// `count` files of `lines` lines each in `dir`, followed by a pattern.
fn many_files(dir: &Path, count: usize, lines: usize) {
    for n in 0..count {
        let mut text = String::new();
        for i in 0..lines {
            text.push_str(&format!("file {n} line {i}\n"));
        }
        std::fs::write(dir.join(format!("app{n:03}.log")), text).unwrap();
    }
}

#[test]
fn too_few_descriptors_are_said_once_with_the_limit_and_the_waiting_files() {
    let dir = tempfile::tempdir().unwrap();
    many_files(dir.path(), 60, 3);
    // Files read to their end and not found by a look are released at
    // once: a look that could not list the directory must not lose them.
    let args = [
        "-F",
        "app*.log",
        "--sink",
        "file=out.log",
        "--rotate-wait",
        "10ms",
    ];
    let started = Started::new(dir.path(), &args, Stdio::null(), Some((20, 20)));
    wait_until(PATIENCE, "the warning", || {
        started.stderr().contains("files wait to be opened")
    });
    // Several looks at the files (one a second): still few warnings.
    std::thread::sleep(Duration::from_secs(3));
    started.signal(Signal::SIGTERM);
    let (code, stderr, summary) = started.finish();
    assert_eq!(code, Some(143), "{stderr}");
    let warnings = stderr.lines().filter(|line| line.contains("WARN")).count();
    assert!(warnings <= 8, "{warnings} warnings:\n{stderr}");
    assert!(stderr.contains("RLIMIT_NOFILE"), "{stderr}");
    assert!(stderr.contains("hard limit 20"), "{stderr}");
    assert!(stderr.contains("were never opened"), "{stderr}");
    let events = read_events(&dir.path().join("out.log"));
    let distinct: std::collections::HashSet<_> = events
        .iter()
        .map(|event| event["message"].to_string())
        .collect();
    assert_eq!(distinct.len(), events.len(), "no line twice: {stderr}");
    let opened = summary["lines_read"].as_u64().unwrap() / 3;
    assert!(opened < 60, "{summary}");
    let waiting = format!("{} files were never opened", 60 - opened);
    assert!(stderr.contains(&waiting), "{waiting}: {stderr}");
}

#[test]
fn a_low_soft_descriptor_limit_is_raised_and_every_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    many_files(dir.path(), 60, 3);
    let args = ["-F", "app*.log", "--sink", "file=out.log"];
    let started = Started::new(dir.path(), &args, Stdio::null(), Some((20, 4096)));
    let out = dir.path().join("out.log");
    wait_until(PATIENCE, "every line", || {
        std::fs::read(&out).is_ok_and(|bytes| parse_events(&bytes).len() == 180)
    });
    started.signal(Signal::SIGTERM);
    let (code, stderr, summary) = started.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(summary["processed"], 180, "{stderr}");
    assert!(!stderr.contains("could not open"), "{stderr}");
}

#[test]
fn files_waiting_for_a_descriptor_are_read_as_others_are_released() {
    let dir = tempfile::tempdir().unwrap();
    many_files(dir.path(), 30, 3);
    let args = ["-F", "app*.log", "--sink", "file=out.log"];
    let started = Started::new(dir.path(), &args, Stdio::null(), Some((20, 20)));
    wait_until(PATIENCE, "the warning", || {
        started.stderr().contains("files wait to be opened")
    });
    let out = dir.path().join("out.log");
    // Deleting a file read to its end releases its descriptor, which a
    // waiting file then takes.
    wait_until(Duration::from_secs(60), "every line", || {
        let events = events_so_far(&out);
        for event in events.iter().filter(|event| {
            event["message"]
                .as_str()
                .is_some_and(|m| m.ends_with("line 2"))
        }) {
            let _ = std::fs::remove_file(
                dir.path()
                    .join(event["diagnostics"]["source"].as_str().unwrap()),
            );
        }
        events.len() == 90
    });
    started.signal(Signal::SIGTERM);
    let (code, stderr, summary) = started.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(summary["processed"], 90, "{stderr}");
    assert!(!stderr.contains("were never opened"), "{stderr}");
    let warnings = stderr.lines().filter(|line| line.contains("WARN")).count();
    assert!(warnings <= 8, "{warnings} warnings:\n{stderr}");
}
