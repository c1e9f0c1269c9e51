//! stderr that cannot be written (`2>/dev/full`, closed): no panic, and the
//! summary file and the exit status come out all the same.

use std::fs::OpenOptions;
use std::process::Stdio;

use crate::common::{assert_invariant, command_in, read_events, read_summary, shipper_variables};

/// Runs shipper on ten lines with stderr as `stderr` and returns its exit
/// code, the summary file and the events written.
fn run_with_stderr(stderr: Stdio, extra: &[&str]) -> (Option<i32>, serde_json::Value, usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--sink", "file=o.jsonl"];
    args.extend(extra);
    let mut child = command_in(dir.path(), &args)
        .stdin(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let input: String = (1..=10).map(|i| format!("{i}\n")).collect();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let code = crate::common::wait_for(&mut child, std::time::Duration::from_secs(60));
    let summary = read_summary(&dir.path().join("summary.json"));
    let events = read_events(&dir.path().join("o.jsonl")).len();
    (code, summary, events)
}

fn dev_full() -> Stdio {
    OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

#[test]
fn a_full_stderr_costs_neither_the_summary_nor_the_status() {
    for extra in [
        &[][..],
        &["--summary", "json"],
        &["-v", "--stats-interval", "10ms"],
        &["--strict-envelope"],
    ] {
        let (code, summary, events) = run_with_stderr(dev_full(), extra);
        assert_invariant(&summary);
        let strict = extra.contains(&"--strict-envelope");
        let expected = if strict { 3 } else { 0 };
        assert_eq!(code, Some(expected), "{extra:?}: {summary}");
        assert_eq!(summary["submitted"], 10, "{extra:?}");
        assert_eq!(events, if strict { 0 } else { 10 }, "{extra:?}");
    }
}

#[test]
fn a_closed_stderr_costs_neither_the_summary_nor_the_status() {
    // A write end whose reader is gone: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let (code, summary, events) = run_with_stderr(writer.into(), &["-v"]);
    assert_invariant(&summary);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(events, 10);
}

#[test]
fn a_usage_error_on_a_full_stderr_still_exits_2() {
    let output = shipper_command()
        .args(["--batch-size", "zero"])
        .stderr(dev_full())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

fn shipper_command() -> std::process::Command {
    let mut command = std::process::Command::new(crate::common::bin());
    for key in shipper_variables() {
        command.env_remove(key);
    }
    command.stdin(Stdio::null());
    command
}
