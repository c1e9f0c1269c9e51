//! Files followed as they grow: files and globs that appear later, lines
//! written in pieces, long lines, many files, a file known by its inode
//! and its first bytes, an idle follower. A writer in the test appends
//! numbered lines while shipper follows; every line must arrive exactly
//! once, in order.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::*;

/// Appends numbered lines to a log file, as a program logging would.
pub struct Writer {
    pub path: PathBuf,
    pub file: File,
    pub tag: &'static str,
    pub next: usize,
    /// Bytes of padding after each line's number.
    pub pad: usize,
}

impl Writer {
    pub fn new(path: PathBuf, tag: &'static str) -> Writer {
        let file = append(&path);
        Writer {
            path,
            file,
            tag,
            next: 0,
            pad: 0,
        }
    }

    pub fn line(&self, i: usize) -> String {
        match self.pad {
            0 => format!("{} {i}", self.tag),
            pad => format!("{} {i} {}", self.tag, "x".repeat(pad)),
        }
    }

    /// Writes `count` more lines.
    pub fn write(&mut self, count: usize) {
        let mut text = String::new();
        for _ in 0..count {
            text.push_str(&self.line(self.next));
            text.push('\n');
            self.next += 1;
        }
        self.file.write_all(text.as_bytes()).unwrap();
    }

    /// Opens its path again, as a program does after rotation.
    pub fn reopen(&mut self) {
        self.file = append(&self.path);
    }

    /// Rename rotation: its file moves to `to`, and it opens its path again.
    pub fn rotate_to(&mut self, to: &Path) {
        std::fs::rename(&self.path, to).unwrap();
        self.reopen();
    }

    /// Every line written so far.
    pub fn written(&self) -> Vec<String> {
        (0..self.next).map(|i| self.line(i)).collect()
    }
}

/// shipper following `patterns` (relative to its directory) into
/// `out.jsonl`, with `extra` flags.
pub fn follow_in(dir: tempfile::TempDir, patterns: &[&str], extra: &[&str]) -> Running {
    let mut args = vec!["--sink", "file=out.jsonl"];
    for pattern in patterns {
        args.extend(["--follow", pattern]);
    }
    args.extend(extra);
    let (running, stdin) = Running::start_in(dir, &args);
    drop(stdin);
    running
}

/// Waits until shipper follows the writer's file: its first line arrived.
pub fn wait_following(running: &Running, writer: &mut Writer) {
    writer.write(1);
    wait_delivered(running, 1);
}

/// The messages delivered so far: only whole lines, as shipper may be
/// writing the next batch.
pub fn delivered(out: &Path) -> Vec<String> {
    events_so_far(out)
        .iter()
        .map(|event| event["message"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `count` messages have been delivered.
pub fn wait_delivered(running: &Running, count: usize) {
    let out = running.path("out.jsonl");
    wait_until(PATIENCE, &format!("{count} lines delivered"), || {
        delivered(&out).len() >= count
    });
}

/// Stops shipper with SIGTERM; returns the messages and the summary.
pub fn stop(running: Running) -> (Vec<String>, String, Value) {
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, dir) = running.finish();
    assert_eq!(code, Some(143), "{stderr}");
    (delivered(&dir.path().join("out.jsonl")), stderr, summary)
}

/// Every line exactly once, in order; a failure names the first line
/// that differs, not the whole list.
pub fn assert_exactly(messages: &[String], want: &[String]) {
    let short = |line: Option<&String>| line.map(|line| line.chars().take(40).collect::<String>());
    if let Some(at) = (0..messages.len().max(want.len())).find(|&i| messages.get(i) != want.get(i))
    {
        panic!(
            "{} lines arrived, {} written; first difference at {at}: got {:?}, want {:?}",
            messages.len(),
            want.len(),
            short(messages.get(at)),
            short(want.get(at)),
        );
    }
}

/// Waits until every line `writer` wrote arrived, a little longer for a
/// late repeat to show, stops shipper, and checks that each line arrived
/// exactly once, in order; returns shipper's stderr and summary.
pub fn stop_once_all_arrived(running: Running, writer: &Writer) -> (String, Value) {
    wait_delivered(&running, writer.next);
    std::thread::sleep(Duration::from_millis(300));
    let (messages, stderr, summary) = stop(running);
    assert_exactly(&messages, &writer.written());
    (stderr, summary)
}

#[test]
fn a_deleted_and_recreated_file_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut writer = Writer::new(log.clone(), "app");
    let running = follow_in(dir, &["app.log"], &[]);
    writer.write(100);
    wait_delivered(&running, 100);
    std::fs::remove_file(&log).unwrap();
    writer.reopen();
    writer.write(100);
    wait_delivered(&running, 200);
    let (messages, _, _) = stop(running);
    assert_exactly(&messages, &writer.written());
}

#[test]
fn a_file_that_appears_later_and_a_glob_that_gains_a_file_are_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Writer::new(dir.path().join("a.log"), "a");
    first.write(10);
    let running = follow_in(
        dir,
        &["*.log", "later/b.txt"],
        &["--glob-interval", "100ms"],
    );
    wait_delivered(&running, 10);
    let mut second = Writer::new(running.path("c.log"), "c");
    second.write(10);
    std::fs::create_dir(running.path("later")).unwrap();
    let mut third = Writer::new(running.path("later/b.txt"), "b");
    third.write(10);
    wait_delivered(&running, 30);
    let (messages, _, _) = stop(running);
    for writer in [&first, &second, &third] {
        let theirs: Vec<String> = messages
            .iter()
            .filter(|message| message.starts_with(writer.tag))
            .cloned()
            .collect();
        assert_exactly(&theirs, &writer.written());
    }
}

#[test]
fn a_line_written_in_two_halves_ships_once_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    let running = follow_in(dir, &["app.log"], &["--batch-timeout", "10ms"]);
    writer.write(1);
    writer.file.write_all(b"first half").unwrap();
    wait_delivered(&running, 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        delivered(&running.path("out.jsonl")).len(),
        1,
        "half a line is held"
    );
    writer.file.write_all(b", second half\n").unwrap();
    wait_delivered(&running, 2);
    let (messages, _, _) = stop(running);
    assert_eq!(messages, ["app 0", "first half, second half"]);
}

#[test]
fn a_three_mebibyte_line_is_cut_and_the_file_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    let running = follow_in(dir, &["app.log"], &[]);
    writer.write(5);
    let mut long = vec![b'x'; 3 << 20];
    long.push(b'\n');
    writer.file.write_all(&long).unwrap();
    writer.write(5);
    wait_delivered(&running, 11);
    let events = read_events(&running.path("out.jsonl"));
    let (_, _, summary) = stop(running);
    assert_eq!(events.len(), 11);
    assert_eq!(events[5]["message"].as_str().unwrap().len(), 1 << 20);
    assert_eq!(events[5]["diagnostics"]["truncated"], true);
    assert_eq!(events[5]["diagnostics"]["original_length"], 3 << 20);
    assert_eq!(events[10]["message"], "app 9");
    assert_eq!(summary["processed"], 11);
}

#[test]
fn read_from_end_skips_what_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    writer.write(10);
    writer.file.write_all(b"unfinished").unwrap();
    let running = follow_in(dir, &["app.log"], &["--read-from", "end", "-v"]);
    wait_until(PATIENCE, "following", || {
        running.stderr_so_far().contains("following app.log")
    });
    writer.file.write_all(b" line\n").unwrap();
    writer.write(2);
    wait_delivered(&running, 3);
    let (messages, _, _) = stop(running);
    assert_eq!(messages, ["unfinished line", "app 10", "app 11"]);
}

#[test]
fn following_two_hundred_files_keeps_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut writers: Vec<Writer> = (0..200)
        .map(|i| Writer::new(dir.path().join(format!("f{i:03}.log")), "f"))
        .collect();
    for writer in &mut writers {
        writer.write(50);
    }
    let running = follow_in(dir, &["*.log"], &[]);
    wait_delivered(&running, 200 * 50);
    for writer in &mut writers {
        writer.write(1);
    }
    wait_delivered(&running, 200 * 51);
    let status = std::fs::read_to_string(format!("/proc/{}/status", running.child.id())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    eprintln!("peak RSS following 200 files: {} MiB", peak_kib / 1024);
    let (messages, _, summary) = stop(running);
    assert_eq!(messages.len(), 200 * 51);
    assert_eq!(summary["processed"], 200 * 51);
    assert!(peak_kib < 32 * 1024, "peak RSS {peak_kib} KiB");
}

/// One run reading `file` once with `--checkpoint state.json`.
pub fn once_with_checkpoint(dir: &Path, file: &str) -> (Value, String) {
    let summary_path = dir.join("summary.json");
    let output = shipper()
        .current_dir(dir)
        .args([
            file,
            "--checkpoint",
            "state.json",
            "--sink",
            "file=out.jsonl",
            "--summary-file",
        ])
        .arg(&summary_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    (read_summary(&summary_path), stderr)
}

/// Files shipper holds open that were deleted.
fn deleted_files_held(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.to_string_lossy().ends_with("(deleted)"))
        })
        .count()
}

#[test]
fn a_deleted_file_is_read_to_its_end_and_then_let_go() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    let running = follow_in(dir, &["app.log"], &[]);
    wait_following(&running, &mut writer);
    writer.write(99);
    std::fs::remove_file(running.path("app.log")).unwrap();
    wait_delivered(&running, 100);
    let pid = running.child.id();
    wait_until(PATIENCE, "the deleted file's descriptor released", || {
        deleted_files_held(pid) == 0
    });
    let (messages, _, _) = stop(running);
    assert_exactly(&messages, &writer.written());
}

#[test]
fn a_new_file_on_a_known_inode_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "old 0\nold 1\n").unwrap();
    let (summary, _) = once_with_checkpoint(dir.path(), "app.log");
    assert_eq!(summary["processed"], 2);
    // Rewritten in place: the same inode, other bytes, and longer than
    // the saved offset, so only the fingerprint tells.
    let inode =
        |path: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap());
    let before = inode(&log);
    std::fs::write(&log, "new 0\nnew 1\nnew 2\n").unwrap();
    assert_eq!(inode(&log), before);
    let (summary, _) = once_with_checkpoint(dir.path(), "app.log");
    assert_eq!(summary["processed"], 3, "all of the new file");
    let messages = delivered(&dir.path().join("out.jsonl"));
    assert_eq!(&messages[2..], ["new 0", "new 1", "new 2"]);
}

#[test]
fn a_file_too_small_to_fingerprint_fully_is_shipped_and_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tiny.log");
    std::fs::write(&log, "a\n").unwrap();
    let (summary, _) = once_with_checkpoint(dir.path(), "tiny.log");
    assert_eq!(summary["processed"], 1);
    append(&log).write_all(b"b\n").unwrap();
    let (summary, _) = once_with_checkpoint(dir.path(), "tiny.log");
    assert_eq!(summary["processed"], 1, "only the new line");
    assert_eq!(delivered(&dir.path().join("out.jsonl")), ["a", "b"]);
}

#[test]
fn followed_patterns_can_come_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    std::fs::write(
        dir.path().join("shipper.toml"),
        "follow = [\"*.log\"]\nsink = [\"file=out.jsonl\"]\n",
    )
    .unwrap();
    let (running, stdin) = Running::start_in(dir, &["--config", "shipper.toml"]);
    drop(stdin);
    wait_following(&running, &mut writer);
    writer.write(9);
    wait_delivered(&running, 10);
    let (messages, _, _) = stop(running);
    assert_exactly(&messages, &writer.written());
}

/// CPU seconds the process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

#[test]
fn an_idle_follower_sleeps() {
    for extra in [
        &[][..],
        &["--poll"][..],
        &["--checkpoint", "state.json"][..],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = Writer::new(dir.path().join("app.log"), "app");
        let running = follow_in(dir, &["app.log", "missing/*.log"], extra);
        wait_following(&running, &mut writer);
        let pid = running.child.id();
        let before = cpu_seconds(pid);
        std::thread::sleep(Duration::from_secs(2));
        let used = cpu_seconds(pid) - before;
        // Waking to look costs next to nothing; a loop that does not wait
        // costs a tenth of a second and more.
        assert!(used < 0.1, "{used} s of CPU in 2 s idle with {extra:?}");
        stop(running);
    }
}

#[test]
fn a_file_found_by_two_paths_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app-1.log"), "app");
    std::os::unix::fs::symlink("app-1.log", dir.path().join("current.log")).unwrap();
    std::fs::hard_link(dir.path().join("app-1.log"), dir.path().join("linked.log")).unwrap();
    let running = follow_in(dir, &["*.log"], &[]);
    wait_following(&running, &mut writer);
    writer.write(19);
    wait_delivered(&running, 20);
    std::thread::sleep(Duration::from_millis(300));
    let (messages, _, _) = stop(running);
    assert_exactly(&messages, &writer.written());
}

#[test]
fn shipper_never_follows_its_own_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    let args = [
        "--sink",
        "file",
        "--follow",
        "*.log",
        "--checkpoint",
        "state.json",
    ];
    let (running, stdin) = Running::start_in(dir, &args);
    drop(stdin);
    writer.write(3);
    let out = running.path("shipper.log");
    wait_until(PATIENCE, "three lines", || delivered(&out).len() >= 3);
    std::thread::sleep(Duration::from_millis(1500));
    assert_exactly(&delivered(&out), &writer.written());
    running.signal(Signal::SIGTERM);
    running.finish();
}
