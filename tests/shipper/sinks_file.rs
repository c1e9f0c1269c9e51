//! The file sink: appends, rotates by size without passing it and without
//! renaming over what is not its own, never leaves half a line behind, and
//! fails alone, keeping whole events, on a full disk or a file size limit.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::{
    PATIENCE, Running, Tmpfs, feed, fifo, numbered_lines, parse_events, read_events, read_summary,
    run, shipper, wait_until,
};

#[test]
fn file_sinks_rotate_by_size_and_lose_nothing() {
    let args = [
        "--sink",
        "file=out.log",
        "--file-max-bytes",
        "20KiB",
        "--file-max-files",
        "50",
        "--batch-size",
        "16",
    ];
    let run = run(&args, numbered_lines(2000));
    assert_eq!(run.code, Some(0));
    let mut messages = Vec::new();
    for n in (1..=50).rev() {
        let path = run.path(&format!("out.log.{n}"));
        if path.exists() {
            assert!(std::fs::metadata(&path).unwrap().len() <= 20 * 1024);
            messages.extend(crate::common::read_events(&path));
        }
    }
    messages.extend(run.events("out.log"));
    assert!(run.path("out.log.2").exists(), "several rotations happened");
    let expected: Vec<String> = (0..2000).map(|i| format!("line {i}")).collect();
    let got: Vec<String> = messages
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, expected);
}

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

/// The events of a rotating file sink at `path`, oldest file first, each
/// file's size checked against `max` (an event larger than `max` alone may
/// pass it).
fn rotated_events(path: &Path, max: u64) -> Vec<Value> {
    let generations = (1..).map(|n| PathBuf::from(format!("{}.{n}", path.display())));
    let files: Vec<PathBuf> = std::iter::once(path.to_owned())
        .chain(generations)
        .take_while(|file| file.exists())
        .collect();
    let mut events = Vec::new();
    for file in files.iter().rev() {
        let bytes = std::fs::read(file).unwrap();
        let these = parse_events(&bytes);
        assert!(
            bytes.len() as u64 <= max || these.len() == 1,
            "{} holds {} bytes, more than {max}",
            file.display(),
            bytes.len()
        );
        events.extend(these);
    }
    events
}

#[test]
fn a_rotating_file_sink_never_passes_its_size_and_keeps_every_event_in_order() {
    let mut input = numbered_lines(200);
    input.extend(format!("{}\n", "x".repeat(5000)).as_bytes());
    input.extend(numbered_lines(3));
    let args = [
        "--sink",
        "file=x",
        "--file-max-bytes",
        "3000",
        "--file-max-files",
        "50",
        "--batch-size",
        "100",
    ];
    let run = run(&args, input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.path("x.2").exists(), "rotated");
    let messages: Vec<String> = rotated_events(&run.path("x"), 3000)
        .iter()
        .map(|event| event["message"].as_str().unwrap().to_owned())
        .collect();
    let mut expected: Vec<String> = (0..200).map(|i| format!("line {i}")).collect();
    expected.push("x".repeat(5000));
    expected.extend((0..3).map(|i| format!("line {i}")));
    assert_eq!(messages, expected);
}

#[test]
fn rotation_never_renames_over_a_link_or_fifo_planted_at_a_generation() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    std::fs::write(at("p"), "precious\n").unwrap();
    std::os::unix::fs::symlink("p", at("x.1")).unwrap();
    fifo(dir.path(), "x.2");
    let output = shipper()
        .current_dir(dir.path())
        .timeout(PATIENCE)
        .args(["--sink", "file=x", "--file-max-bytes", "3000"])
        .args(["--file-max-files", "3", "--batch-size", "5"])
        .args(["--summary", "none", "--summary-file", "summary.json"])
        .write_stdin(numbered_lines(200))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("could not rotate: 'x.1' is a symbolic link"),
        "{stderr}"
    );
    let summary = read_summary(&at("summary.json"));
    assert!(
        summary["dropped_by_reason"]["sink_error"].as_u64() > Some(0),
        "{summary}"
    );
    assert!(std::fs::symlink_metadata(at("x.1")).unwrap().is_symlink());
    assert!(
        std::fs::symlink_metadata(at("x.2"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(std::fs::read_to_string(at("p")).unwrap(), "precious\n");
    assert!(std::fs::metadata(at("x")).unwrap().len() <= 3000);
}

#[test]
#[cfg_attr(
    tarpaulin,
    ignore = "the file size limit would cut the coverage profile shipper writes at exit too"
)]
fn a_file_too_large_part_way_through_a_batch_keeps_the_whole_events() {
    // `ulimit -f` makes the kernel stop a write at the limit, part-way
    // through an event; later writes fail with EFBIG (and SIGXFSZ, which
    // shipper ignores so that the failure is counted, not fatal).
    let dir = tempfile::tempdir().unwrap();
    let summary_path = dir.path().join("summary.json");
    let script = format!(
        "ulimit -f 8; exec '{}' --sink file=out.log --sink file=/dev/null --batch-size 10 --summary-file '{}'",
        crate::common::bin().display(),
        summary_path.display()
    );
    let output = assert_cmd::Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir.path())
        .write_stdin(numbered_lines(300))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let summary = crate::common::read_summary(&summary_path);
    let file = &summary["sinks"][0];
    let events = read_events(&dir.path().join("out.log"));
    assert!(!events.is_empty() && events.len() < 300);
    assert_eq!(
        file["written"],
        events.len(),
        "whole events written before the error count as written"
    );
    assert_eq!(file["failed"], 300 - events.len());
    assert_eq!(
        summary["sinks"][1]["written"], 300,
        "the other sink is untouched"
    );
    assert_eq!(
        summary["dropped_by_reason"]["sink_error"],
        300 - events.len()
    );
    let failure: serde_json::Value = stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .find(|d: &serde_json::Value| d["component"] == "sink")
        .expect("a sink diagnostic");
    assert_eq!(failure["sink"], "file=out.log");
    assert_eq!(failure["error_kind"], "FileTooLarge");
    assert_eq!(failure["batch_events"], 10);
    assert!(
        failure["error"].as_str().unwrap().contains("too large"),
        "{failure}"
    );
}

#[test]
#[ignore = "needs root: mounts a tmpfs"]
fn a_full_disk_fails_part_of_a_batch_and_the_sink_recovers_when_space_returns() {
    let disk = Tmpfs::mount("256k");
    let filler = disk.0.path().join("filler");
    std::fs::write(&filler, vec![0u8; 200 << 10]).unwrap();
    let out = disk.0.path().join("out.log");
    let sink = format!("file={}", out.display());
    let (running, mut stdin) = Running::start(&[
        "--sink",
        &sink,
        "--batch-size",
        "50",
        "--batch-timeout",
        "10ms",
    ]);
    // About 60 KiB of events for 56 KiB of room: the disk fills part-way
    // through a batch.
    std::io::Write::write_all(&mut stdin, &numbered_lines(600)).unwrap();
    wait_until(Duration::from_secs(30), "the disk to fill", || {
        running.stderr_so_far().contains("StorageFull")
    });
    std::fs::remove_file(&filler).unwrap();
    let mut later = String::new();
    for i in 600..700 {
        later.push_str(&format!("line {i}\n"));
    }
    std::io::Write::write_all(&mut stdin, later.as_bytes()).unwrap();
    drop(stdin);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(3), "{stderr}");
    let events = read_events(&out);
    let sink = &summary["sinks"][0];
    assert_eq!(
        sink["written"],
        events.len(),
        "the file holds exactly the events counted written"
    );
    assert!(sink["failed"].as_u64().unwrap() > 0);
    let last = events.last().unwrap();
    assert_eq!(
        last["message"], "line 699",
        "the sink recovered once space returned"
    );
    let failure: serde_json::Value = stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .find(|d: &serde_json::Value| d["component"] == "sink")
        .unwrap();
    assert!(
        failure["written"].as_u64().unwrap() > 0,
        "the disk filled part-way through a batch: {failure}"
    );
}

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
    assert_eq!(sinks[0]["name"], "file=/dev/full");
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
    assert_eq!(failure["sink"], "file=/dev/full");
    assert_eq!(failure["error_kind"], "StorageFull");
    assert_eq!(failure["batch_events"], 10);
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
fn a_fifo_sink_without_a_reader_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = fifo(dir.path(), "fifo");
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
