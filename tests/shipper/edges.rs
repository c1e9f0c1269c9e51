//! Edges of a run: a sink file left with half a line, signals that come
//! while a read is under way, a FIFO named as input, too few file
//! descriptors, rotation settings that would delete what was shipped.

use std::fs::File;
use std::io::{Seek, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::{
    PATIENCE, Running, bin, command_in, feed, numbered_lines, parse_events, read_events,
    read_summary, run, shipper, stuck_fifo_sink, wait_for, wait_until,
};

/// A shipper started with the standard input and limits a test chooses,
/// its stderr in a file beside its summary.
struct Started {
    child: std::process::Child,
    summary: PathBuf,
    stderr: PathBuf,
    /// Set once the process was waited for; until then dropping kills it.
    reaped: bool,
}

impl Started {
    fn new(dir: &Path, args: &[&str], stdin: Stdio, files: Option<(u64, u64)>) -> Started {
        let summary = dir.join("summary.json");
        let stderr = dir.join("stderr.log");
        let mut command = command_in(dir, args);
        command.stdin(stdin).stderr(File::create(&stderr).unwrap());
        if let Some((soft, hard)) = files {
            // SAFETY: setrlimit is async-signal-safe; nothing else runs
            // between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    nix::sys::resource::setrlimit(
                        nix::sys::resource::Resource::RLIMIT_NOFILE,
                        soft,
                        hard,
                    )
                    .map_err(std::io::Error::from)
                });
            }
        }
        Started {
            child: command.spawn().unwrap(),
            summary,
            stderr,
            reaped: false,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn signal(&self, signal: Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
    }

    /// Waits (within `PATIENCE`) for the exit: the status, stderr and the
    /// checked summary.
    fn finish(mut self) -> (Option<i32>, String, Value) {
        let code = wait_for(&mut self.child, PATIENCE);
        self.reaped = true;
        let summary = read_summary(&self.summary);
        assert_eq!(summary["exit_code"].as_i64().map(|c| c as i32), code);
        (code, self.stderr(), summary)
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
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

/// Lines (newlines) in the first `consumed` bytes of `input`, and the
/// bytes after the last of them.
fn lines_in(input: &[u8], consumed: usize) -> (u64, u64) {
    let taken = &input[..consumed];
    let lines = taken.iter().filter(|&&byte| byte == b'\n').count() as u64;
    let whole = taken
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |at| at + 1);
    (lines, (consumed - whole) as u64)
}

#[test]
fn a_quick_second_sigint_accounts_for_every_byte_taken_from_stdin() {
    let input = numbered_lines(300_000);
    for (run, gap) in [0, 5, 10, 20].into_iter().cycle().take(10).enumerate() {
        let (dir, _fifo, _held, sink) = stuck_fifo_sink();
        let path = dir.path().join("input.log");
        std::fs::write(&path, &input).unwrap();
        // Shared with shipper's standard input: one open file, one offset.
        let mut ours = File::open(&path).unwrap();
        let theirs = Stdio::from(ours.try_clone().unwrap());
        let args = [
            "--sink",
            &sink,
            "--queue-capacity",
            "10",
            "--shutdown-timeout",
            "2s",
        ];
        let started = Started::new(dir.path(), &args, theirs, None);
        wait_until(PATIENCE, "a read", || ours.stream_position().unwrap() > 0);
        started.signal(Signal::SIGINT);
        std::thread::sleep(Duration::from_millis(gap));
        started.signal(Signal::SIGINT);
        let (code, stderr, summary) = started.finish();
        let consumed = ours.stream_position().unwrap() as usize;
        let (lines, partial) = lines_in(&input, consumed);
        let context =
            format!("run {run}, gap {gap}ms, {consumed} bytes taken: {summary}\n{stderr}");
        assert_eq!(code, Some(130), "{context}");
        assert_eq!(summary["lines_read"], lines, "{context}");
        if partial > 0 {
            let said = format!("stopped with {partial} bytes of an unfinished line");
            assert!(stderr.contains(&said), "{context}");
        }
    }
}

/// A FIFO made in `dir`.
fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
    path
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
fn sigterm_stops_shipper_waiting_for_a_fifo_writer_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    fifo(dir.path(), "in.fifo");
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let args = ["-v", "in.fifo", "--sink", "file=out.log"];
        let started = Started::new(dir.path(), &args, Stdio::null(), None);
        wait_until(PATIENCE, "the sink to open", || {
            started.stderr().contains("opened sink")
        });
        started.signal(signal);
        let (code, stderr, summary) = started.finish();
        let expected = if signal == Signal::SIGTERM { 143 } else { 130 };
        assert_eq!(code, Some(expected), "{stderr}");
        assert_eq!(summary["lines_read"], 0);
    }
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

#[test]
fn a_fifo_as_the_checkpoint_never_blocks_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    fifo(dir.path(), "state.fifo");
    std::fs::write(dir.path().join("app.log"), "a\n").unwrap();
    let args = ["-v", "app.log", "--checkpoint", "state.fifo"];
    let mut started = Started::new(dir.path(), &args, Stdio::null(), None);
    // It refuses the path, or stops at the signal: it never hangs.
    wait_until(PATIENCE, "a refusal or the sink", || {
        started.child.try_wait().unwrap().is_some() || started.stderr().contains("opened sink")
    });
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(started.child.id() as i32),
        Signal::SIGINT,
    );
    let code = wait_for(&mut started.child, PATIENCE);
    started.reaped = true;
    let stderr = started.stderr();
    assert!(matches!(code, Some(1 | 2 | 130)), "{code:?}: {stderr}");
    assert!(stderr.contains("state.fifo"), "{stderr}");
    if code != Some(2) {
        let summary = read_summary(&started.summary);
        assert_eq!(summary["lines_read"], 0, "{stderr}");
    }
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
        let events = std::fs::read(&out)
            .map(|bytes| parse_events(&bytes))
            .unwrap_or_default();
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

// --- file sink rotation ------------------------------------------------------

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
    nix::unistd::mkfifo(&at("x.2"), nix::sys::stat::Mode::S_IRWXU).unwrap();
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
