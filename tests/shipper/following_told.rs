//! What following says and leaves out: a pattern that matches nothing yet
//! is told, and so is its first file; compressed files under a glob are
//! passed over with a note, and refused when named on their own;
//! `--exclude-file` leaves names out; a stop names the file whose line was
//! left unfinished.

use std::io::Write;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::*;
use crate::following::{Writer, assert_exactly, follow_in, stop, stop_once_all_arrived};

/// The bytes of a gzip file holding one line, as logrotate's `compress`
/// leaves it.
fn gzipped(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// The first bytes of a zstd frame: what a misnamed compressed file holds.
const ZSTD: &[u8] = b"\x28\xb5\x2f\xfd\x24\x05\x29\x00\x00garbage";

/// How often `needle` occurs in `haystack`.
fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_pattern_that_matches_nothing_is_told_and_its_first_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let running = follow_in(dir, &["logs/*.log"], &["-v", "--glob-interval", "100ms"]);
    let waiting = "pattern 'logs/*.log' matches no file yet; watching for one";
    wait_until(PATIENCE, "the pattern told", || {
        running.stderr_so_far().contains(waiting)
    });
    std::fs::create_dir(running.path("logs")).unwrap();
    let mut writer = Writer::new(running.path("logs/app.log"), "app");
    writer.write(10);
    let (stderr, summary) = stop_once_all_arrived(running, &writer);
    assert_eq!(count(&stderr, waiting), 1, "told once: {stderr}");
    assert!(
        stderr.contains("pattern 'logs/*.log' matches logs/app.log now"),
        "{stderr}"
    );
    assert!(stderr.contains("\"level\":\"WARN\""), "{stderr}");
    assert_eq!(summary["processed"], 10);
}

#[test]
fn compressed_files_under_a_glob_are_passed_over_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    std::fs::write(dir.path().join("logs/app.log.1.gz"), gzipped("old 0\n")).unwrap();
    std::fs::write(dir.path().join("logs/app.log.2"), ZSTD).unwrap();
    let mut writer = Writer::new(dir.path().join("logs/app.log"), "app");
    writer.write(5);
    let running = follow_in(dir, &["logs/*"], &["-v", "--glob-interval", "100ms"]);
    crate::following::wait_delivered(&running, 5);
    // Created empty and followed, then written by a compressor.
    let empty = running.path("logs/app.log.5");
    std::fs::write(&empty, b"").unwrap();
    wait_until(PATIENCE, "the empty file followed", || {
        running.stderr_so_far().contains("following logs/app.log.5")
    });
    append(&empty).write_all(ZSTD).unwrap();
    // Compressed while followed, as logrotate's `compress` does.
    std::fs::write(running.path("logs/app.log.3.gz"), gzipped("old 1\n")).unwrap();
    std::fs::write(running.path("logs/app.log.4"), b"\xfd7zXZ\x00\x00\x04xz").unwrap();
    // Several looks: each compressed file is told of once, never read.
    std::thread::sleep(Duration::from_millis(600));
    writer.write(5);
    let (stderr, summary) = stop_once_all_arrived(running, &writer);
    for note in [
        "logs/app.log.1.gz is gzip-compressed (by its name): not read",
        "logs/app.log.2 is zstd-compressed (by its first bytes): not read",
        "logs/app.log.3.gz is gzip-compressed (by its name): not read",
        "logs/app.log.4 is xz-compressed (by its first bytes): not read",
        "logs/app.log.5 is zstd-compressed (by its first bytes): not read",
    ] {
        assert_eq!(count(&stderr, note), 1, "{note}: {stderr}");
    }
    assert_eq!(summary["processed"], 10);
    assert_eq!(summary["dropped"], 0);
}

#[test]
fn a_compressed_file_named_on_its_own_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log.1.gz"), gzipped("old 0\n")).unwrap();
    std::fs::write(dir.path().join("app.log.2"), ZSTD).unwrap();
    std::fs::write(dir.path().join("app.log"), "a\n").unwrap();
    for (args, format) in [
        (&["app.log", "app.log.1.gz"][..], "gzip"),
        (&["app.log.2"][..], "zstd"),
        (&["--follow", "app.log.2"][..], "zstd"),
        (&["--follow", "app.log.1.gz"][..], "gzip"),
    ] {
        let output = command_in(dir.path(), args)
            .args(["--sink", "file=out.jsonl"])
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "is {format}-compressed: shipper reads lines of text"
            )),
            "{args:?}: {stderr}"
        );
        let summary = read_summary(&dir.path().join("summary.json"));
        assert_eq!(summary["lines_read"], 0, "{args:?}: nothing read");
        assert_eq!(read_events(&dir.path().join("out.jsonl")).len(), 0);
    }
}

#[test]
fn exclude_file_leaves_names_and_paths_out_of_every_pattern() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    for name in ["app.bak", "debug-1.log", "sub/x.log"] {
        std::fs::write(dir.path().join(name), "left out\n").unwrap();
    }
    writer.write(5);
    let args = [
        "--exclude-file",
        "*.bak",
        "--exclude-file",
        "debug-*",
        "--exclude-file",
        "sub/*",
        "--glob-interval",
        "100ms",
    ];
    let running = follow_in(dir, &["*", "sub/*.log"], &args);
    crate::following::wait_delivered(&running, 5);
    std::fs::write(running.path("debug-2.log"), "left out\n").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    writer.write(5);
    let (_, summary) = stop_once_all_arrived(running, &writer);
    assert_eq!(summary["processed"], 10);
}

#[test]
fn exclude_file_can_come_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    std::fs::write(dir.path().join("app.bak"), "left out\n").unwrap();
    std::fs::write(
        dir.path().join("shipper.toml"),
        "follow = [\"app.*\"]\nexclude-file = [\"*.bak\"]\nsink = [\"file=out.jsonl\"]\n",
    )
    .unwrap();
    writer.write(5);
    let (running, stdin) = Running::start_in(dir, &["--config", "shipper.toml"]);
    drop(stdin);
    let (_, summary) = stop_once_all_arrived(running, &writer);
    assert_eq!(summary["processed"], 5);
}

#[test]
fn a_bad_exclude_glob_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = command_in(
        dir.path(),
        &["-F", "*.log", "--exclude-file", "a[", "--sink", "stdout"],
    )
    .stderr(std::process::Stdio::piped())
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--exclude-file 'a[' is not a glob"),
        "{stderr}"
    );
    // Settings refused: no run, so nothing to account for.
    assert!(!dir.path().join("summary.json").exists());
}

#[test]
fn a_stop_names_the_file_whose_line_was_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    let running = follow_in(dir, &["app.log"], &[]);
    writer.write(1);
    writer.file.write_all(b"partial").unwrap();
    crate::following::wait_delivered(&running, 1);
    let (messages, stderr, summary) = stop(running);
    assert_exactly(&messages, &writer.written());
    assert!(
        stderr
            .contains("stopped with 7 bytes of an unfinished line read from app.log; not shipped"),
        "{stderr}"
    );
    assert_eq!(summary["processed"], 1);
}

#[test]
fn a_stop_names_standard_input_when_its_line_was_unfinished() {
    let (running, mut stdin) = Running::start(&["--sink", "file=out.jsonl"]);
    stdin.write_all(b"whole\npartial").unwrap();
    crate::following::wait_delivered(&running, 1);
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert!(
        stderr.contains(
            "stopped with 7 bytes of an unfinished line read from standard input; not shipped"
        ),
        "{stderr}"
    );
    assert_eq!(summary["processed"], 1);
    drop(stdin);
}
