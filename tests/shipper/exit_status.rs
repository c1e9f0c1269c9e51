//! A run that cannot start or finish: it stops before reading, exits with
//! a status that says why, and still leaves a summary for scripts.

use std::fs::File;
use std::io::Seek;
use std::process::Command;

use assert_cmd::prelude::OutputAssertExt;

use crate::common::{bin, read_summary, shipper};

#[test]
fn a_sink_that_cannot_open_stops_the_run_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let input_path = dir.path().join("input");
    std::fs::write(&input_path, "one\ntwo\n").unwrap();
    let mut input = File::open(&input_path).unwrap();
    Command::new(bin())
        .args(["--sink", "file=/no/such/dir/x"])
        .stdin(input.try_clone().unwrap())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("/no/such/dir/x"))
        .stderr(predicates::str::contains("No such file or directory"));
    assert_eq!(
        input.stream_position().unwrap(),
        0,
        "standard input was not read"
    );
}

#[test]
fn a_summary_file_that_cannot_be_written_is_an_error() {
    shipper()
        .args([
            "--sink",
            "stdout",
            "--summary-file",
            "/no/such/dir/summary.json",
        ])
        .write_stdin("x\n")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("could not write the summary"));
}

#[test]
fn a_failed_start_still_leaves_a_summary_for_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    std::fs::write(&summary, r#"{"stale":true}"#).unwrap();
    shipper()
        .args([
            "--sink",
            "stdout",
            "--sink",
            "file=/no/such/dir/x",
            "--summary-file",
        ])
        .arg(&summary)
        .write_stdin("x\n")
        .assert()
        .code(1);
    let summary = read_summary(&summary);
    assert_eq!(summary["exit_code"], 1);
    assert_eq!(summary["lines_read"], 0);
    assert_eq!(summary["sinks"].as_array().unwrap().len(), 2);
    // Whole, as a script expects it: what it is, when, and what it read.
    assert_eq!(summary["schema_version"], 1);
    let at = |key: &str| summary[key].as_str().unwrap().to_owned();
    assert!(at("started_at") <= at("ended_at"), "{summary}");
    assert_eq!(
        summary["inputs"],
        serde_json::json!({"stdin": true, "files": [], "patterns": []})
    );
    assert_eq!(summary["sinks"][1]["name"], "file=/no/such/dir/x");
}
