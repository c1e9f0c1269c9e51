//! Checkpoints: the next run ships only what is new, after a clean stop or
//! a SIGKILL, whatever happened to the files while shipper was stopped
//! (rotations, copytruncate, rewrites, deletions); saved positions can be
//! shown and forgotten; one run at a time.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::*;
use crate::common::{
    PATIENCE, Running, bin, numbered_lines, parse_events, read_summary, shipper, wait_for,
    wait_until,
};
use crate::following::{
    Writer, assert_exactly, delivered, follow_in, once_with_checkpoint, stop,
    stop_once_all_arrived, wait_delivered, wait_following,
};

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
    let running = follow_again(dir, &[]);
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

    wait_saved_to_the_end(&running, &writer);
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

    let running = follow_again(dir, &[]);
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

#[test]
fn a_file_rotated_while_shipper_was_stopped_is_finished_after_a_restart() {
    let (running, mut writer) = checkpointed_follower(&["-v"]);
    writer.write(9);
    wait_delivered(&running, 10);
    running.signal(Signal::SIGTERM);
    let (_, _, _, dir) = running.finish();
    // While shipper is stopped: more lines, then a rotation.
    writer.write(10);
    writer.rotate_to(&dir.path().join("app.log.1"));
    writer.write(10);
    let running = follow_again(dir, &["-v"]);
    wait_delivered(&running, 30);
    let (messages, stderr, _) = stop(running);
    assert_exactly(&messages, &writer.written());
    assert!(stderr.contains("was rotated to"), "{stderr}");
}

#[test]
fn a_file_rewritten_after_a_kill_in_the_first_second_is_read_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, numbered_lines(50)).unwrap();
    once_with_checkpoint(dir.path(), "app.log");
    // The checkpoint that a follower saves as it starts must know the
    // file by its first bytes, though nothing was read yet.
    let running = follow_again(dir, &["-v"]);
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

/// shipper following `app.log` in a fresh directory with `--checkpoint
/// state.json` and `extra` flags, already following its writer's file.
fn checkpointed_follower(extra: &[&str]) -> (Running, Writer) {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::new(dir.path().join("app.log"), "app");
    let running = follow_again(dir, extra);
    wait_following(&running, &mut writer);
    (running, writer)
}

/// Waits until the checkpoint `running` saves holds what `done` looks for.
fn wait_saved(running: &Running, what: &str, done: impl Fn(&Value) -> bool) {
    wait_until(PATIENCE, what, || {
        std::fs::read(running.path("state.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .is_some_and(|state| done(&state))
    });
}

/// Waits until the checkpoint holds `writer`'s file to its end.
fn wait_saved_to_the_end(running: &Running, writer: &Writer) {
    let size = std::fs::metadata(&writer.path).unwrap().len();
    wait_saved(running, "the file saved to its end", |state| {
        state["files"][0]["offset"] == size
    });
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
    // Saved, so a SIGKILL loses no position.
    wait_saved_to_the_end(&running, &writer);
    let dir = stop_with(running, signal);
    writer.write(5);
    for _ in 0..rotations {
        std::thread::sleep(Duration::from_millis(20));
        rotate_numbered(&mut writer, dir.path());
        writer.write(10);
    }
    let running = follow_again(dir, extra);
    let (stderr, summary) = stop_once_all_arrived(running, &writer);
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
        let (running, mut writer) = checkpointed_follower(&[]);
        let log = writer.path.clone();
        writer.write(4);
        wait_delivered(&running, 5);
        let dir = stop_with(running, Signal::SIGTERM);
        writer.write(5);
        if with_copy {
            std::fs::copy(&log, dir.path().join("app.log.1")).unwrap();
        }
        writer.file.set_len(0).unwrap();
        writer.write(3);
        let running = follow_again(dir, &[]);
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

    let running = follow_again(dir, &["--rotate-wait", "100ms"]);
    for _ in 0..8 {
        writer.write(2);
        wait_delivered(&running, writer.next);
        rotate_numbered(&mut writer, &running.path(""));
    }
    writer.write(1);
    wait_delivered(&running, writer.next);
    // Released (--rotate-wait), settled, and saved (every second).
    wait_saved(&running, "the rotated files left the checkpoint", |state| {
        state["files"]
            .as_array()
            .is_some_and(|files| files.len() == 1)
    });
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
        let (running, mut writer) = checkpointed_follower(&[]);
        std::fs::create_dir(running.path("old")).unwrap();
        writer.write(4);
        wait_delivered(&running, 5);
        let dir = stop_with(running, Signal::SIGTERM);
        writer.write(3);
        writer.rotate_to(&dir.path().join(moved_to));
        writer.write(2);
        let running = follow_again(dir, &[]);
        let (stderr, _) = stop_once_all_arrived(running, &writer);
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
    stop_once_all_arrived(running, &writer);
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
    stop_once_all_arrived(running, &writer);
}

#[test]
fn show_checkpoint_does_not_open_a_fifo_at_a_saved_path() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "a\nb\n").unwrap();
    let args = [
        "app.log",
        "--checkpoint",
        "state.json",
        "--sink",
        "file=out.log",
    ];
    let started = Started::new(dir.path(), &args, Stdio::null(), None);
    let (code, stderr, _) = started.finish();
    assert_eq!(code, Some(0), "{stderr}");
    std::fs::remove_file(&log).unwrap();
    fifo(dir.path(), "app.log");
    let mut show = Command::new(bin())
        .current_dir(dir.path())
        .args(["--checkpoint", "state.json", "--show-checkpoint"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let code = wait_for(&mut show, PATIENCE);
    let mut shown = String::new();
    std::io::Read::read_to_string(&mut show.stdout.take().unwrap(), &mut shown).unwrap();
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("app.log"), "{shown}");
}

/// One run reading `file` once from `cwd`, with `checkpoint` and its
/// events appended to `out`: its summary, checked.
fn once_from(cwd: &Path, file: &str, checkpoint: &str, out: &Path) -> Value {
    let summary = cwd.join("summary.json");
    let output = shipper()
        .current_dir(cwd)
        .args([file, "--checkpoint", checkpoint, "--sink"])
        .arg(format!("file={}", out.display()))
        .arg("--summary-file")
        .arg(&summary)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    read_summary(&summary)
}

/// A checkpoint written by a run in one directory, reading a relative
/// path, serves a run from another directory that names the file by its
/// absolute path: the lines written before a rotation while shipper was
/// stopped are read from the rotated file, once, and none is lost.
#[test]
fn a_checkpoint_serves_a_run_from_another_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    for sub in ["logs", "a", "b/c"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    let out = root.join("out.jsonl");
    let mut writer = Writer::new(root.join("logs/app.log"), "app");
    writer.write(3);
    let first = once_from(&root.join("a"), "../logs/app.log", "../state.json", &out);
    assert_eq!(first["processed"], 3);
    let saved = root.join("logs/app.log").display().to_string();
    assert_eq!(first["checkpoint"]["files"][0]["path"], saved.as_str());
    writer.write(2);
    writer.rotate_to(&root.join("logs/app.log.1"));
    writer.write(2);
    let second = once_from(&root.join("b/c"), &saved, "../../state.json", &out);
    assert_eq!(
        second["processed"], 4,
        "the rotated file's end, then the new file"
    );
    assert_exactly(&delivered(&out), &writer.written());
}

/// Following: a run in one directory follows a relative pattern and is
/// stopped; the file is rotated while shipper is stopped; a run from
/// another directory follows the absolute pattern with the same
/// checkpoint. Every line arrives once.
#[test]
fn a_followed_pattern_resumes_from_another_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    for sub in ["logs", "b/c"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    let out = root.join("out.jsonl");
    let sink = format!("file={}", out.display());
    let mut writer = Writer::new(root.join("logs/app.log"), "app");
    writer.write(3);
    let args = ["--follow", "logs/*.log", "--checkpoint", "state.json"];
    let first = Started::new(
        &root,
        &[&args[..], &["--sink", &sink]].concat(),
        Stdio::null(),
        None,
    );
    wait_until(PATIENCE, "3 lines delivered", || delivered(&out).len() >= 3);
    first.signal(Signal::SIGTERM);
    let (code, stderr, summary) = first.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(summary["processed"], 3);
    writer.write(2);
    writer.rotate_to(&root.join("logs/app.log.1"));
    writer.write(2);
    let pattern = root.join("logs/*.log").display().to_string();
    let args = ["--follow", &pattern, "--checkpoint", "../../state.json"];
    let second = Started::new(
        &root.join("b/c"),
        &[&args[..], &["--sink", &sink]].concat(),
        Stdio::null(),
        None,
    );
    wait_until(PATIENCE, "7 lines delivered", || delivered(&out).len() >= 7);
    second.signal(Signal::SIGTERM);
    let (code, stderr, summary) = second.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(summary["processed"], 4, "{stderr}");
    assert_exactly(&delivered(&out), &writer.written());
}
