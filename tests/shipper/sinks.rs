//! Sinks that fail: a full disk, a missing directory, a reader that goes
//! away.

use std::fs::File;
use std::io::{Seek, Write};
use std::process::Command;

use assert_cmd::prelude::OutputAssertExt;
use serde_json::Value;

use crate::common::{bin, numbered_lines, read_summary, run, shipper};

#[test]
fn a_full_disk_fails_its_sink_and_spares_the_others() {
    let run = run(
        &[
            "--sink",
            "file=/dev/full",
            "--sink",
            "file=out.log",
            "--batch-size",
            "10",
        ],
        numbered_lines(95),
    );
    assert_eq!(run.code, Some(3));
    assert_eq!(
        run.events("out.log").len(),
        95,
        "the healthy sink got everything"
    );
    let sinks = run.summary["sinks"].as_array().unwrap();
    assert_eq!(sinks[0]["name"], "file:/dev/full");
    assert_eq!(sinks[0]["written"], 0);
    assert_eq!(sinks[0]["failed"], 95);
    assert_eq!(sinks[1]["written"], 95);
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 95);
    let failure = run
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|d| d["component"] == "sink")
        .expect("a sink diagnostic");
    assert_eq!(failure["sink"], "file:/dev/full");
    assert_eq!(failure["error_kind"], "StorageFull");
    assert_eq!(failure["batch_events"], 10);
}

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
fn a_closed_stdout_is_a_counted_sink_failure() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let script = format!(
        "seq 1 200000 | '{}' --sink stdout --summary-file '{}' | head -1; echo ${{PIPESTATUS[1]}}",
        bin().display(),
        summary.display()
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut lines = stdout.lines();
    let first: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(first["message"], "1");
    assert_eq!(lines.next(), Some("3"), "shipper exits 3: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let summary = read_summary(&summary);
    assert_eq!(summary["submitted"], 200_000, "every line is accounted for");
    assert!(summary["dropped_by_reason"]["sink_error"].as_u64().unwrap() > 0);
    let reports = stderr.matches("\"component\":\"sink\"").count();
    assert_eq!(reports, 1, "the broken pipe is reported once: {stderr}");
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
fn file_sinks_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.log");
    File::create(&path)
        .unwrap()
        .write_all(b"{\"earlier\":true}\n")
        .unwrap();
    let sink = format!("file={}", path.display());
    let summary = dir.path().join("summary.json");
    shipper()
        .args(["--sink", &sink, "--summary-file"])
        .arg(&summary)
        .write_stdin("x\n")
        .assert()
        .code(0);
    assert_eq!(read_summary(&summary)["processed"], 1);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("{\"earlier\":true}\n{\"timestamp\""),
        "{text}"
    );
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
}

#[test]
fn a_fifo_sink_without_a_reader_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let sink = format!("file={}", fifo.display());
    shipper()
        .args(["--sink", &sink])
        .write_stdin("x\n")
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "no process has this FIFO open for reading",
        ));
}

#[test]
fn a_non_blocking_stdout_is_waited_for_not_failed() {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let (read_end, write_end) = nix::unistd::pipe2(OFlag::O_NONBLOCK).unwrap();
    fcntl(&read_end, FcntlArg::F_SETFL(OFlag::empty())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let mut child = Command::new(bin())
        .args(["--sink", "stdout", "--summary-file"])
        .arg(&summary)
        .stdin(std::process::Stdio::piped())
        .stdout(File::from(write_end))
        .spawn()
        .unwrap();
    let count = 20_000;
    let feeder = crate::common::feed(child.stdin.take().unwrap(), numbered_lines(count));
    // Let the pipe fill while nobody reads: shipper's writes find it full.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let reader = std::thread::spawn(move || {
        let mut written = Vec::new();
        std::io::Read::read_to_end(&mut File::from(read_end), &mut written).unwrap();
        written
    });
    let code = crate::common::wait_for(&mut child, std::time::Duration::from_secs(60));
    feeder.join().unwrap();
    let written = reader.join().unwrap();
    assert_eq!(code, Some(0));
    assert_eq!(crate::common::parse_events(&written).len(), count);
    assert_eq!(read_summary(&summary)["processed"], count);
}
