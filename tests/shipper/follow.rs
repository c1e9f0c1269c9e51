//! Files as input: read once, and followed across rotation, truncation,
//! deletion and restarts. A writer in the test appends numbered lines
//! while shipper follows; every line must arrive exactly once, in order.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::*;

/// Appends numbered lines to a log file, as a program logging would.
struct Writer {
    path: PathBuf,
    file: File,
    tag: &'static str,
    next: usize,
    /// Bytes of padding after each line's number.
    pad: usize,
}

impl Writer {
    fn new(path: PathBuf, tag: &'static str) -> Writer {
        let file = append(&path);
        Writer {
            path,
            file,
            tag,
            next: 0,
            pad: 0,
        }
    }

    fn line(&self, i: usize) -> String {
        match self.pad {
            0 => format!("{} {i}", self.tag),
            pad => format!("{} {i} {}", self.tag, "x".repeat(pad)),
        }
    }

    /// Writes `count` more lines.
    fn write(&mut self, count: usize) {
        let mut text = String::new();
        for _ in 0..count {
            text.push_str(&self.line(self.next));
            text.push('\n');
            self.next += 1;
        }
        self.file.write_all(text.as_bytes()).unwrap();
    }

    /// Opens its path again, as a program does after rotation.
    fn reopen(&mut self) {
        self.file = append(&self.path);
    }

    /// Rename rotation: its file moves to `to`, and it opens its path again.
    fn rotate_to(&mut self, to: &Path) {
        std::fs::rename(&self.path, to).unwrap();
        self.reopen();
    }

    /// Every line written so far.
    fn written(&self) -> Vec<String> {
        (0..self.next).map(|i| self.line(i)).collect()
    }
}

/// shipper following `patterns` (relative to its directory) into
/// `out.jsonl`, with `extra` flags.
fn follow_in(dir: tempfile::TempDir, patterns: &[&str], extra: &[&str]) -> Running {
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
fn wait_following(running: &Running, writer: &mut Writer) {
    writer.write(1);
    wait_delivered(running, 1);
}

/// The messages delivered so far: only whole lines, as shipper may be
/// writing the next batch.
fn delivered(out: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(out) else {
        return Vec::new();
    };
    let whole = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&[][..], |end| &bytes[..=end]);
    parse_events(whole)
        .iter()
        .map(|event| event["message"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `count` messages have been delivered.
fn wait_delivered(running: &Running, count: usize) {
    let out = running.path("out.jsonl");
    wait_until(PATIENCE, &format!("{count} lines delivered"), || {
        delivered(&out).len() >= count
    });
}

/// Stops shipper with SIGTERM; returns the messages and the summary.
fn stop(running: Running) -> (Vec<String>, String, Value) {
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, dir) = running.finish();
    assert_eq!(code, Some(143), "{stderr}");
    (delivered(&dir.path().join("out.jsonl")), stderr, summary)
}

/// Every line exactly once, in order; a failure names the first line
/// that differs, not the whole list.
fn assert_exactly(messages: &[String], want: &[String]) {
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

fn rotates_under_steady_writing(extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut writer = Writer::new(log.clone(), "app");
    let running = follow_in(dir, &["app.log"], extra);
    wait_following(&running, &mut writer);
    // Each file lives longer than a poll, or polling could never see it.
    for round in 0..3 {
        for _ in 0..20 {
            writer.write(25);
            std::thread::sleep(Duration::from_millis(20));
        }
        writer.rotate_to(&running.path(&format!("app.log.{round}")));
    }
    writer.write(100);
    wait_delivered(&running, writer.next);
    let (messages, _, summary) = stop(running);
    assert_exactly(&messages, &writer.written());
    assert_eq!(summary["processed"], writer.next as u64);
}

#[test]
fn rename_rotation_under_steady_writing_loses_and_repeats_nothing() {
    rotates_under_steady_writing(&[]);
}

#[test]
fn rename_rotation_is_followed_by_polling_too() {
    rotates_under_steady_writing(&["--poll"]);
}

#[test]
fn two_rotations_in_quick_succession_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut writer = Writer::new(log.clone(), "app");
    let running = follow_in(dir, &["app.log"], &[]);
    wait_following(&running, &mut writer);
    writer.write(100);
    writer.rotate_to(&running.path("app.log.1"));
    writer.write(100);
    std::fs::rename(running.path("app.log.1"), running.path("app.log.2")).unwrap();
    writer.rotate_to(&running.path("app.log.1"));
    writer.write(100);
    wait_delivered(&running, writer.next);
    let (messages, _, _) = stop(running);
    assert_exactly(&messages, &writer.written());
}

#[test]
fn copytruncate_reads_the_file_again_and_reports_the_loss_window() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut writer = Writer::new(log.clone(), "app");
    let running = follow_in(dir, &["*.log"], &[]);
    writer.write(500);
    wait_delivered(&running, 500);
    // What logrotate's copytruncate does; the copy is outside the glob.
    std::fs::copy(&log, running.path("app.log-1")).unwrap();
    File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    writer.write(500);
    wait_delivered(&running, 1000);
    let (messages, stderr, _) = stop(running);
    assert_exactly(&messages, &writer.written());
    assert!(
        stderr.contains("was truncated") && stderr.contains("was not read"),
        "the possible loss is told: {stderr}"
    );
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

// --- reading once ---------------------------------------------------------

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

/// One run reading `file` once with `--checkpoint state.json`.
fn once_with_checkpoint(dir: &Path, file: &str) -> (Value, String) {
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

#[test]
fn a_checkpoint_makes_the_next_run_ship_only_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    writer.write(10);
    writer.file.write_all(b"app 10, unfinished").unwrap();
    let (summary, _) = once_with_checkpoint(dir.path(), "app.log");
    assert_eq!(summary["processed"], 11, "reading once ships the last line");
    writer.file.write_all(b"\n").unwrap();
    writer.next = 11;
    writer.write(5);
    let (summary, _) = once_with_checkpoint(dir.path(), "app.log");
    assert_eq!(summary["processed"], 5);
    let messages = delivered(&dir.path().join("out.jsonl"));
    assert_eq!(messages.len(), 16);
    assert_eq!(messages[15], "app 15");
}

#[test]
fn a_corrupt_checkpoint_is_set_aside_with_a_warning_and_the_run_works() {
    let corruptions: [&[u8]; 4] = [
        &[0xde, 0xad, 0xbe, 0xef, 0x00, 0x17],
        b"{\"version\":1,\"files\":[{\"path\":\"app.l",
        &[0; 64],
        b"",
    ];
    for corrupt in corruptions {
        let dir = tempfile::tempdir().unwrap();
        Writer::new(dir.path().join("app.log"), "app").write(3);
        std::fs::write(dir.path().join("state.json"), corrupt).unwrap();
        let (summary, stderr) = once_with_checkpoint(dir.path(), "app.log");
        assert_eq!(summary["processed"], 3, "read from the beginning");
        assert!(stderr.contains("is unusable"), "{stderr}");
        assert_eq!(
            std::fs::read(dir.path().join("state.json.corrupt")).unwrap(),
            corrupt
        );
        let (summary, stderr) = once_with_checkpoint(dir.path(), "app.log");
        assert_eq!(
            summary["processed"], 0,
            "the new checkpoint is used: {stderr}"
        );
    }
}

#[test]
fn saved_positions_can_be_shown_and_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    Writer::new(dir.path().join("app.log"), "app").write(3);
    Writer::new(dir.path().join("db.log"), "db").write(2);
    once_with_checkpoint(dir.path(), "app.log");
    once_with_checkpoint(dir.path(), "db.log");
    let show = |files: &[&str]| {
        let output = shipper()
            .current_dir(dir.path())
            .args(["--checkpoint", "state.json", "--show-checkpoint"])
            .args(files)
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let shown = show(&[]);
    let row = |name: &str, offset: &str| {
        shown
            .lines()
            .any(|line| line.ends_with(name) && line.contains(offset) && line.contains("ok"))
    };
    assert!(
        row("db.log", " 10 ") && row("app.log", " 18 "),
        "a run keeps the positions of the files it did not read: {shown}"
    );
    assert!(
        !show(&["db.log"]).contains("app.log"),
        "only the file asked for"
    );
    shipper()
        .current_dir(dir.path())
        .args(["--checkpoint", "state.json", "--reset-checkpoint", "db.log"])
        .assert()
        .success()
        .stderr(predicates::str::contains("forgot the positions of 1 files"));
    let shown = show(&[]);
    assert!(
        !shown.contains("db.log") && shown.contains("app.log"),
        "{shown}"
    );
    let (summary, _) = once_with_checkpoint(dir.path(), "db.log");
    assert_eq!(summary["processed"], 2, "read again from the beginning");
}

/// Two runs on one checkpoint would overwrite each other's positions: the
/// second is refused, as is a reset, until the first is gone, even killed.
#[test]
fn a_checkpoint_in_use_is_refused_to_a_second_run_and_to_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    let running = follow_in(dir, &["app.log"], &["--checkpoint", "state.json"]);
    wait_following(&running, &mut writer);
    let in_use = format!(
        "checkpoint 'state.json' is in use by another shipper (pid {})",
        running.child.id()
    );
    let second = shipper()
        .current_dir(running.dir.path())
        .args([
            "app.log",
            "--checkpoint",
            "state.json",
            "--sink",
            "file=second.jsonl",
        ])
        .args(["--summary-file", "second.json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&in_use), "{stderr}");
    assert_eq!(read_summary(&running.path("second.json"))["submitted"], 0);
    let reset = shipper()
        .current_dir(running.dir.path())
        .args(["--checkpoint", "state.json", "--reset-checkpoint"])
        .output()
        .unwrap();
    assert_eq!(reset.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&reset.stderr).contains(&in_use));

    let size = std::fs::metadata(&writer.path).unwrap().len();
    wait_until(PATIENCE, "the line acknowledged in the checkpoint", || {
        std::fs::read(running.path("state.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .is_some_and(|state| state["files"][0]["offset"] == size)
    });
    running.signal(Signal::SIGKILL);
    let mut running = running;
    wait_for(&mut running.child, PATIENCE);
    running.reaper.armed = false;
    writer.write(2);
    let (summary, _) = once_with_checkpoint(running.dir.path(), "app.log");
    assert_eq!(
        summary["processed"], 2,
        "only the lines after the checkpoint"
    );
}

// --- crash and resume -----------------------------------------------------

/// Lines of `log` before byte `offset`.
fn lines_before(log: &Path, offset: u64) -> usize {
    let bytes = std::fs::read(log).unwrap();
    bytes[..offset as usize]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

#[test]
fn after_sigkill_a_restart_delivers_every_line_and_repeats_only_the_unacknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut writer = Writer::new(log.clone(), "app");
    let args = ["app.log"];
    let extra = ["--checkpoint", "state.json", "--batch-size", "50"];
    let running = follow_in(dir, &args, &extra);
    // Keep writing while shipper runs, until some checkpoints were saved.
    for _ in 0..150 {
        writer.write(20);
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_delivered(&running, 1000);
    running.signal(Signal::SIGKILL);
    let mut running = running;
    assert_eq!(wait_for(&mut running.child, PATIENCE), None, "killed");
    running.reaper.armed = false;
    let before_kill = delivered(&running.path("out.jsonl")).len();
    let state: Value =
        serde_json::from_slice(&std::fs::read(running.path("state.json")).unwrap()).unwrap();
    let acknowledged = lines_before(&log, state["files"][0]["offset"].as_u64().unwrap());
    writer.write(500);

    let dir = running.dir;
    let running = follow_in(dir, &args, &extra);
    wait_delivered(&running, writer.next + (before_kill - acknowledged));
    let (messages, _, _) = stop(running);
    let repeated = messages.len() - writer.next;
    eprintln!(
        "{before_kill} lines delivered before SIGKILL, {acknowledged} acknowledged in the checkpoint: {repeated} delivered twice"
    );
    assert_eq!(
        repeated,
        before_kill - acknowledged,
        "only the unacknowledged lines repeat"
    );
    let mut unique = messages.clone();
    unique.sort();
    unique.dedup();
    let mut want = writer.written();
    want.sort();
    assert_eq!(unique, want, "none lost");
}

/// A rotated file is read to its end and released while its lines still
/// wait on a stuck sink. Its position stays in the checkpoint, so the run
/// after an unfinished drain sends what was not delivered, not only the
/// file that took the name.
#[test]
fn a_released_file_stays_in_the_checkpoint_until_its_lines_are_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, mut held) = stuck_fifo(dir.path());
    let log = dir.path().join("app.log");
    let mut writer = Writer::new(log.clone(), "app");
    // More than the FIFO holds.
    writer.pad = 500;
    writer.write(300);
    let sink = format!("file={}", fifo.display());
    let args = [
        "--sink",
        &sink,
        "--follow",
        "app.log",
        "--checkpoint",
        "state.json",
        "--rotate-wait",
        "0s",
        "--shutdown-timeout",
        "300ms",
        "-v",
    ];
    let (running, stdin) = Running::start_in(dir, &args);
    drop(stdin);
    wait_until(PATIENCE, "following", || {
        running.stderr_so_far().contains("following app.log")
    });
    writer.rotate_to(&running.path("app.log.1"));
    writer.write(10);
    wait_until(PATIENCE, "the rotated file released", || {
        running.stderr_so_far().contains("released app.log")
    });
    running.signal(Signal::SIGTERM);
    let (_, stderr, summary, dir) = running.finish();
    assert!(
        summary["dropped_by_reason"]["shutdown_timeout"].as_u64() > Some(0),
        "the drain was cut short: {stderr}"
    );
    let mut through_fifo = Vec::new();
    let _ = std::io::Read::read_to_end(&mut held, &mut through_fifo);
    let whole = through_fifo.iter().rposition(|&b| b == b'\n').unwrap();
    let first: Vec<String> = parse_events(&through_fifo[..=whole])
        .iter()
        .map(|event| event["message"].as_str().unwrap().to_owned())
        .collect();

    let running = follow_in(dir, &["app.log"], &["--checkpoint", "state.json"]);
    let last = writer.line(writer.next - 1);
    wait_until(PATIENCE, "the last line", || {
        delivered(&running.path("out.jsonl")).contains(&last)
    });
    let (after, _, _) = stop(running);
    let written = writer.written();
    let before = first.len();
    let resumed_at = written.len().saturating_sub(after.len());
    assert_exactly(&first, &written[..before]);
    assert!(
        resumed_at <= before,
        "lines {before} to {resumed_at} lost: {before} through the FIFO, {} after the restart",
        after.len()
    );
    assert_exactly(&after, &written[resumed_at..]);
}

// --- what a lagging reader and a deleted file cost ------------------------

/// shipper far behind on `app.log` (a slow sink) when it is rotated, with
/// `pattern` followed; returns what shipper said.
fn rotate_while_behind(pattern: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    // `_held` lets shipper open the FIFO whenever it starts; it is never
    // read, so every line goes to the slow reader.
    let (fifo, _held) = stuck_fifo(dir.path());
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    // Several reads' worth, so that shipper is behind in the file itself.
    writer.pad = 500;
    writer.write(2000);
    // A sink that takes a line a millisecond: shipper stays behind.
    let lines = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let (lines, fifo) = (Arc::clone(&lines), fifo.clone());
        std::thread::spawn(move || {
            let pipe = std::io::BufReader::new(File::open(fifo).unwrap());
            for line in std::io::BufRead::lines(pipe).map_while(Result::ok) {
                lines.lock().unwrap().push(line);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let sink = format!("file={}", fifo.display());
    let args = [
        "--sink",
        &sink,
        "--follow",
        pattern,
        "--queue-capacity",
        "100",
    ];
    let extra = [
        "--batch-size",
        "50",
        "--rotate-wait",
        "200ms",
        "--glob-interval",
        "100ms",
    ];
    let (running, stdin) = Running::start_in(dir, &[&args[..], &extra[..]].concat());
    drop(stdin);
    wait_until(PATIENCE, "shipper under way", || {
        !lines.lock().unwrap().is_empty()
    });
    writer.rotate_to(&running.path("app.log.1"));
    writer.write(10);
    wait_until(PATIENCE, "every line through the sink", || {
        lines.lock().unwrap().len() >= 2010
    });
    running.signal(Signal::SIGTERM);
    let (_, stderr, summary, _dir) = running.finish();
    reader.join().unwrap();
    let messages: Vec<String> = parse_events(lines.lock().unwrap().join("\n").as_bytes())
        .iter()
        .map(|event| event["message"].as_str().unwrap().to_owned())
        .collect();
    assert_exactly(&messages, &writer.written());
    assert_eq!(summary["dropped"], 0);
    stderr
}

#[test]
fn a_rotated_file_still_behind_after_rotate_wait_is_read_on_to_its_end() {
    let stderr = rotate_while_behind("app.log");
    assert!(
        stderr.contains("not read yet: reading on"),
        "the lag is told: {stderr}"
    );
}

#[test]
fn a_rotation_the_pattern_also_matches_keeps_the_order_of_lines() {
    // app.log.1 is followed too: the new app.log waits until it is read.
    rotate_while_behind("app.log*");
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

// --- identity -------------------------------------------------------------

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

// --- made for people ------------------------------------------------------

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

// --- what the review of this work found -----------------------------------

#[test]
fn older_generations_renamed_by_a_later_rotation_are_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut writer = Writer::new(log.clone(), "app");
    let running = follow_in(dir, &["app.log"], &["--rotate-wait", "200ms", "-v"]);
    wait_following(&running, &mut writer);
    writer.write(9);
    wait_delivered(&running, 10);
    writer.rotate_to(&running.path("app.log.1"));
    writer.write(10);
    wait_delivered(&running, 20);
    wait_until(PATIENCE, "the rotated file released", || {
        running.stderr_so_far().contains("released app.log")
    });
    // logrotate's numbered rotation: every older generation is renamed.
    std::fs::rename(running.path("app.log.1"), running.path("app.log.2")).unwrap();
    writer.rotate_to(&running.path("app.log.1"));
    writer.write(10);
    wait_delivered(&running, 30);
    std::thread::sleep(Duration::from_millis(500));
    let (messages, _, _) = stop(running);
    assert_exactly(&messages, &writer.written());
}

#[test]
fn a_file_rotated_while_shipper_was_stopped_is_finished_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut writer = Writer::new(log.clone(), "app");
    let extra = ["--checkpoint", "state.json", "-v"];
    let running = follow_in(dir, &["app.log"], &extra);
    wait_following(&running, &mut writer);
    writer.write(9);
    wait_delivered(&running, 10);
    running.signal(Signal::SIGTERM);
    let (_, _, _, dir) = running.finish();
    // While shipper is stopped: more lines, then a rotation.
    writer.write(10);
    writer.rotate_to(&dir.path().join("app.log.1"));
    writer.write(10);
    let running = follow_in(dir, &["app.log"], &extra);
    wait_delivered(&running, 30);
    let (messages, stderr, _) = stop(running);
    assert_exactly(&messages, &writer.written());
    assert!(stderr.contains("was rotated to"), "{stderr}");
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
fn a_file_rewritten_after_a_kill_in_the_first_second_is_read_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, numbered_lines(50)).unwrap();
    once_with_checkpoint(dir.path(), "app.log");
    // The checkpoint that a follower saves as it starts must know the
    // file by its first bytes, though nothing was read yet.
    let running = follow_in(dir, &["app.log"], &["--checkpoint", "state.json", "-v"]);
    wait_until(PATIENCE, "following", || {
        running.stderr_so_far().contains("following app.log")
    });
    running.signal(Signal::SIGKILL);
    let mut running = running;
    wait_for(&mut running.child, PATIENCE);
    running.reaper.armed = false;
    let dir = running.dir;
    // The same inode, other lines, longer than the saved position.
    let mut writer = Writer::new(log.clone(), "new");
    writer.file.set_len(0).unwrap();
    writer.write(100);
    let (summary, _) = once_with_checkpoint(dir.path(), "app.log");
    assert_eq!(summary["processed"], 100, "the new file, from its start");
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

// --- what happens while shipper is stopped ----------------------------------

/// shipper following `app.log` in a fresh directory with `--checkpoint
/// state.json` and `extra` flags, already following its writer's file.
fn checkpointed_follower(extra: &[&str]) -> (Running, Writer) {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    let running = follow_again(dir, extra);
    wait_following(&running, &mut writer);
    (running, writer)
}

/// shipper following `app.log` in `dir` again, on the same checkpoint.
fn follow_again(dir: tempfile::TempDir, extra: &[&str]) -> Running {
    let mut args = vec!["--checkpoint", "state.json"];
    args.extend(extra);
    follow_in(dir, &["app.log"], &args)
}

/// Stops a follower with `signal` and hands back its directory; the
/// summary of a run that could write one is checked.
fn stop_with(running: Running, signal: Signal) -> tempfile::TempDir {
    running.signal(signal);
    if signal != Signal::SIGKILL {
        return running.finish().3;
    }
    let mut running = running;
    wait_for(&mut running.child, PATIENCE);
    running.reaper.armed = false;
    running.dir
}

/// logrotate's numbered rotation (`create`): every generation moves up one
/// (`app.log.1` to `app.log.2`...), the file becomes `app.log.1`, and the
/// writer opens a new `app.log`.
fn rotate_numbered(writer: &mut Writer, dir: &Path) {
    let generation = |n: usize| dir.join(format!("app.log.{n}"));
    let mut last = 1;
    while generation(last).exists() {
        last += 1;
    }
    for n in (1..last).rev() {
        std::fs::rename(generation(n), generation(n + 1)).unwrap();
    }
    writer.rotate_to(&generation(1));
}

/// Lines, a stop, `rotations` numbered rotations with lines between them,
/// a restart: every line arrives once, generation by generation.
fn rotations_while_stopped(rotations: usize, signal: Signal, extra: &[&str]) {
    let (running, mut writer) = checkpointed_follower(extra);
    writer.write(9);
    wait_delivered(&running, 10);
    // Past the checkpoint's next save, so a SIGKILL loses no position.
    std::thread::sleep(Duration::from_millis(1200));
    let dir = stop_with(running, signal);
    writer.write(5);
    for _ in 0..rotations {
        std::thread::sleep(Duration::from_millis(20));
        rotate_numbered(&mut writer, dir.path());
        writer.write(10);
    }
    let running = follow_again(dir, extra);
    wait_delivered(&running, writer.next);
    std::thread::sleep(Duration::from_millis(300));
    let (messages, stderr, summary) = stop(running);
    assert_exactly(&messages, &writer.written());
    assert_invariant(&summary);
    assert!(
        !stderr.contains("WARN"),
        "nothing lost, nothing to warn of: {stderr}"
    );
}

#[test]
fn two_rotations_while_stopped_lose_no_generation() {
    rotations_while_stopped(2, Signal::SIGTERM, &[]);
}

#[test]
fn four_rotations_after_a_sigkill_lose_no_generation() {
    rotations_while_stopped(4, Signal::SIGKILL, &["--poll"]);
}

#[test]
fn a_generation_gone_while_stopped_is_reported_with_what_it_held_unread() {
    let (running, mut writer) = checkpointed_follower(&[]);
    writer.write(9);
    wait_delivered(&running, 10);
    let dir = stop_with(running, Signal::SIGTERM);
    let size = std::fs::metadata(dir.path().join("app.log")).unwrap().len();
    writer.write(3);
    // Compressed on rotation (a new file; the old one is removed): its
    // lines cannot be read any more.
    let log = dir.path().join("app.log");
    std::fs::copy(&log, dir.path().join("app.log.1.gz")).unwrap();
    std::fs::remove_file(&log).unwrap();
    writer.reopen();
    writer.write(2);
    let running = follow_again(dir, &[]);
    wait_delivered(&running, 12);
    let (messages, stderr, _) = stop(running);
    assert_eq!(messages[10..], writer.written()[13..]);
    let said = format!(
        "app.log (in the checkpoint) is gone: whatever was written after byte {size} was not read"
    );
    assert!(stderr.contains(&said), "{stderr}");
}

/// copytruncate while shipper was stopped: the copy holds what was
/// written after the saved position, and is read from there.
#[test]
fn copytruncate_while_stopped_reads_the_copy_from_the_saved_position() {
    for with_copy in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let mut writer = Writer::new(log.clone(), "app");
        let args = ["--checkpoint", "state.json"];
        let running = follow_in(dir, &["app.log"], &args);
        wait_following(&running, &mut writer);
        writer.write(4);
        wait_delivered(&running, 5);
        let dir = stop_with(running, Signal::SIGTERM);
        writer.write(5);
        if with_copy {
            std::fs::copy(&log, dir.path().join("app.log.1")).unwrap();
        }
        writer.file.set_len(0).unwrap();
        writer.write(3);
        let running = follow_in(dir, &["app.log"], &args);
        let want = if with_copy { 13 } else { 8 };
        wait_delivered(&running, want);
        std::thread::sleep(Duration::from_millis(300));
        let (messages, stderr, _) = stop(running);
        let written = writer.written();
        if with_copy {
            assert_exactly(&messages, &written);
            assert!(stderr.contains("was copied to"), "{stderr}");
        } else {
            let mut want = written[..5].to_vec();
            want.extend_from_slice(&written[10..]);
            assert_exactly(&messages, &want);
            assert!(
                stderr.contains("no copy of it is beside it: whatever was written after byte"),
                "the window is told: {stderr}"
            );
        }
    }
}

/// A file rewritten to its own size is noticed, by its first bytes or,
/// when those stay, by the bytes before where it was read to.
#[test]
fn a_rewrite_to_the_same_size_is_read_again() {
    for header in ["", &"h".repeat(300)] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        let first = format!(
            "{header}{}aaaa\n",
            if header.is_empty() { "" } else { "\n" }
        );
        std::fs::write(&log, &first).unwrap();
        let running = follow_in(dir, &["a.log"], &[]);
        let lines = first.lines().count();
        wait_delivered(&running, lines);
        std::thread::sleep(Duration::from_millis(100));
        std::fs::write(&log, first.replace("aaaa", "bbbb")).unwrap();
        wait_delivered(&running, 2 * lines);
        let (messages, stderr, summary) = stop(running);
        assert_eq!(messages.last().unwrap(), "bbbb");
        assert!(stderr.contains("was truncated"), "{stderr}");
        assert_invariant(&summary);
    }
}

/// The checkpoint's entries, as `--show-checkpoint` prints them.
fn saved_entries(dir: &Path) -> Vec<String> {
    let output = shipper()
        .current_dir(dir)
        .args(["--checkpoint", "state.json", "--show-checkpoint"])
        .output()
        .unwrap();
    let shown = String::from_utf8(output.stdout).unwrap();
    shown.lines().skip(1).map(str::to_owned).collect()
}

/// Files rotated away and read to their end leave the checkpoint, however
/// often the name is rotated, following or reading once from cron.
#[test]
fn rotated_files_read_to_their_end_leave_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    for _ in 0..8 {
        writer.write(3);
        once_with_checkpoint(dir.path(), "app.log");
        writer.write(2);
        rotate_numbered(&mut writer, dir.path());
    }
    writer.write(1);
    once_with_checkpoint(dir.path(), "app.log");
    assert_exactly(&delivered(&dir.path().join("out.jsonl")), &writer.written());
    let entries = saved_entries(dir.path());
    assert_eq!(entries.len(), 1, "{entries:?}");

    let args = ["--checkpoint", "state.json", "--rotate-wait", "100ms"];
    let running = follow_in(dir, &["app.log"], &args);
    for _ in 0..8 {
        writer.write(2);
        wait_delivered(&running, writer.next);
        rotate_numbered(&mut writer, &running.path(""));
    }
    writer.write(1);
    wait_delivered(&running, writer.next);
    // Released (--rotate-wait), settled, and saved (every second).
    std::thread::sleep(Duration::from_millis(1500));
    let dir = stop_with(running, Signal::SIGTERM);
    assert_exactly(&delivered(&dir.path().join("out.jsonl")), &writer.written());
    let entries = saved_entries(dir.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
}

/// logrotate's `dateext` with `extension` (`app-20261130.log`) and its
/// `olddir` (`old/app.log.1`): the checkpointed file is found where the
/// rotation put it, and read from its saved position.
#[test]
fn a_file_rotated_to_a_dated_name_or_another_directory_while_stopped_is_finished() {
    for moved_to in ["app-20261130.log", "old/app.log.1"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("old")).unwrap();
        let mut writer = Writer::new(dir.path().join("app.log"), "app");
        let args = ["--checkpoint", "state.json"];
        let running = follow_in(dir, &["app.log"], &args);
        wait_following(&running, &mut writer);
        writer.write(4);
        wait_delivered(&running, 5);
        let dir = stop_with(running, Signal::SIGTERM);
        writer.write(3);
        writer.rotate_to(&dir.path().join(moved_to));
        writer.write(2);
        let running = follow_in(dir, &["app.log"], &args);
        wait_delivered(&running, writer.next);
        std::thread::sleep(Duration::from_millis(300));
        let (messages, stderr, _) = stop(running);
        assert_exactly(&messages, &writer.written());
        assert!(!stderr.contains("is gone"), "{moved_to}: {stderr}");
    }
}

/// A dated generation that keeps its extension, born while shipper was
/// stopped, is read whole.
#[test]
fn two_dated_rotations_while_stopped_lose_no_generation() {
    let (running, mut writer) = checkpointed_follower(&[]);
    let dir = stop_with(running, Signal::SIGTERM);
    for day in ["app-20261129.log", "app-20261130.log"] {
        writer.write(3);
        std::thread::sleep(Duration::from_millis(20));
        writer.rotate_to(&dir.path().join(day));
    }
    writer.write(1);
    let running = follow_again(dir, &[]);
    wait_delivered(&running, writer.next);
    std::thread::sleep(Duration::from_millis(300));
    let (messages, _, _) = stop(running);
    assert_exactly(&messages, &writer.written());
}

/// The checkpoint knows a file by what it is, not by how the path was
/// spelled: absolute in one run, relative in the next, or through a
/// linked directory.
#[test]
fn a_path_spelled_another_way_resumes_from_the_checkpoint() {
    for spelling in ["relative", "linked"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::os::unix::fs::symlink("d", dir.path().join("ld")).unwrap();
        let mut writer = Writer::new(dir.path().join("d/app.log"), "app");
        writer.write(1);
        let absolute = dir.path().join("d/app.log").display().to_string();
        let (first, _) = once_with_checkpoint(dir.path(), &absolute);
        assert_eq!(first["processed"], 1);
        writer.write(1);
        writer.rotate_to(&dir.path().join("d/app.log.1"));
        writer.write(1);
        let second = match spelling {
            "relative" => "d/app.log".to_owned(),
            _ => dir.path().join("ld/app.log").display().to_string(),
        };
        once_with_checkpoint(dir.path(), &second);
        assert_exactly(&delivered(&dir.path().join("out.jsonl")), &writer.written());
    }
}

/// The followed file was deleted and let go before the stop, so the
/// checkpoint holds nothing at its name; files that took the name while
/// shipper was stopped, rotated away or not, are read all the same.
#[test]
fn a_name_left_empty_at_the_stop_has_its_later_generations_read() {
    let (running, mut writer) = checkpointed_follower(&["-v"]);
    std::fs::remove_file(&writer.path).unwrap();
    wait_until(PATIENCE, "the deleted file let go", || {
        running.stderr_so_far().contains("released")
    });
    // Settled and saved without it.
    std::thread::sleep(Duration::from_millis(1500));
    let dir = stop_with(running, Signal::SIGTERM);
    writer.reopen();
    writer.write(3);
    writer.rotate_to(&dir.path().join("app.log.1"));
    writer.write(2);
    let running = follow_again(dir, &["-v"]);
    wait_delivered(&running, writer.next);
    std::thread::sleep(Duration::from_millis(300));
    let (messages, _, _) = stop(running);
    assert_exactly(&messages, &writer.written());
}
