//! SIGHUP: it stops nothing. The file sinks reopen their paths, so that
//! logrotate can move shipper's own output away (`mv out.log out.log.1;
//! kill -HUP`): what follows goes to a new `out.log`, and no event is lost
//! or written twice. A path that cannot reopen fails the sink's writes,
//! counted, until it opens again. A terminal that hangs up stops nothing
//! either. Each test checks the summary's invariant.

use std::io::Write;
use std::process::ChildStdin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::{
    PATIENCE, Running, assert_invariant, bin, events_so_far, fifo, read_events, shipper_variables,
    wait_for, wait_until,
};

/// Writes lines `from..to` (`line N`) to shipper's standard input.
fn write_lines(stdin: &mut impl Write, from: usize, to: usize) {
    let text: String = (from..to).map(|i| format!("line {i}\n")).collect();
    stdin.write_all(text.as_bytes()).unwrap();
    stdin.flush().unwrap();
}

fn messages(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| event["message"].as_str().unwrap().to_owned())
        .collect()
}

fn numbered(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("line {i}")).collect()
}

/// Sends SIGHUP and waits until shipper says it took it.
fn hang_up(running: &Running, times: usize) {
    running.signal(Signal::SIGHUP);
    wait_until(PATIENCE, "the SIGHUP taken", || {
        running.stderr_so_far().matches("SIGHUP received").count() == times
    });
}

#[test]
fn sighup_reopens_the_file_sink_after_logrotate_moved_it_and_shipper_goes_on() {
    let args = ["-v", "--sink", "file=out.log", "--batch-timeout", "10ms"];
    let (running, mut stdin) = Running::start(&args);
    let out = running.path("out.log");
    write_lines(&mut stdin, 0, 1000);
    wait_until(PATIENCE, "the first lines written", || {
        events_so_far(&out).len() == 1000
    });
    std::fs::rename(&out, running.path("out.log.1")).unwrap();
    hang_up(&running, 1);
    write_lines(&mut stdin, 1000, 2000);
    drop(stdin);
    let (code, stderr, summary, dir) = running.finish();

    assert_eq!(code, Some(0), "a hangup stops nothing: {stderr}");
    assert_eq!(summary["processed"], 2000, "{summary}");
    assert_eq!(summary["stopped_by"], Value::Null);
    let rotated = read_events(&dir.path().join("out.log.1"));
    let fresh = read_events(&dir.path().join("out.log"));
    assert_eq!(messages(&rotated), numbered(0, 1000), "the moved file");
    assert_eq!(messages(&fresh), numbered(1000, 2000), "a new out.log");
}

/// Writes numbered lines, a hundred every two milliseconds, until `stop`
/// is set; returns how many it wrote.
fn stream(mut stdin: ChildStdin, stop: Arc<AtomicBool>) -> JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut written = 0;
        while !stop.load(Ordering::SeqCst) {
            write_lines(&mut stdin, written, written + 100);
            written += 100;
            std::thread::sleep(Duration::from_millis(2));
        }
        written
    })
}

#[test]
fn rotations_while_lines_stream_in_lose_and_repeat_nothing() {
    let args = ["-v", "--sink", "file=out.log", "--batch-timeout", "5ms"];
    let (running, stdin) = Running::start(&args);
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = stream(stdin, Arc::clone(&stop));
    let generations = 3;
    for done in 1..=generations {
        let start = std::time::Instant::now();
        while !running.path("out.log").exists() {
            if start.elapsed() > PATIENCE {
                let names: Vec<_> = std::fs::read_dir(running.path("."))
                    .unwrap()
                    .map(|entry| entry.unwrap().file_name())
                    .collect();
                panic!(
                    "no fresh out.log after rotation {done}; files {names:?}; stderr:\n{}",
                    running.stderr_so_far()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // logrotate's steps: older generations move up, the live file
        // becomes .1, then shipper is told.
        for n in (1..done).rev() {
            let from = running.path(&format!("out.log.{n}"));
            std::fs::rename(from, running.path(&format!("out.log.{}", n + 1))).unwrap();
        }
        std::fs::rename(running.path("out.log"), running.path("out.log.1")).unwrap();
        hang_up(&running, done);
    }
    wait_until(PATIENCE, "lines after the last rotation", || {
        !events_so_far(&running.path("out.log")).is_empty()
    });
    stop.store(true, Ordering::SeqCst);
    let count = feeder.join().unwrap();
    let (code, stderr, summary, dir) = running.finish();

    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["processed"], count, "{summary}");
    let mut written = Vec::new();
    for n in (1..=generations).rev() {
        written.extend(read_events(&dir.path().join(format!("out.log.{n}"))));
    }
    written.extend(read_events(&dir.path().join("out.log")));
    assert_eq!(
        messages(&written),
        numbered(0, count),
        "every line once, in order, across the generations"
    );
}

#[test]
fn a_path_that_cannot_reopen_fails_the_writes_counted_until_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    // Lines are not grouped: each write's last line would otherwise wait
    // for its next, and reach the sink after the failure this test times.
    let args = [
        "-v",
        "--sink",
        "file=logs/out.log",
        "--batch-timeout",
        "10ms",
        "--multiline",
        "off",
    ];
    let (running, mut stdin) = Running::start_in(dir, &args);
    let out = running.path("logs/out.log");
    write_lines(&mut stdin, 0, 10);
    wait_until(PATIENCE, "the first lines", || {
        events_so_far(&out).len() == 10
    });
    std::fs::rename(running.path("logs"), running.path("logs.old")).unwrap();
    hang_up(&running, 1);
    write_lines(&mut stdin, 10, 15);
    wait_until(PATIENCE, "the failed write", || {
        running.stderr_so_far().contains("failed to write")
    });
    std::fs::create_dir(running.path("logs")).unwrap();
    write_lines(&mut stdin, 15, 20);
    drop(stdin);
    let (code, stderr, summary, dir) = running.finish();

    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("could not reopen sink file=logs/out.log"),
        "{stderr}"
    );
    assert_eq!(summary["processed"], 15, "{summary}");
    assert_eq!(summary["dropped_by_reason"]["sink_error"], 5, "{summary}");
    let old = read_events(&dir.path().join("logs.old/out.log"));
    assert_eq!(messages(&old), numbered(0, 10));
    let fresh = read_events(&dir.path().join("logs/out.log"));
    assert_eq!(messages(&fresh), numbered(15, 20));
}

#[test]
fn a_terminal_that_hangs_up_stops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = fifo(dir.path(), "in.fifo");
    // Open for reading too, so that opening never blocks; dropped, it is
    // the end of shipper's input.
    let mut input = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    // shipper on a terminal of its own, as in an ssh session: it leads the
    // session, and its messages and status line go to the terminal.
    let run = format!(
        "exec '{}' -v --progress always --batch-timeout 10ms --sink file=out.log \
         --summary-file summary.json < in.fifo",
        bin().display()
    );
    let mut terminal = std::process::Command::new(crate::common::program("script"));
    for key in shipper_variables() {
        terminal.env_remove(key);
    }
    let mut terminal = terminal
        .args(["-qfec", &run, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = dir.path().join("out.log");
    write_lines(&mut input, 0, 100);
    wait_until(PATIENCE, "lines shipped", || {
        events_so_far(&out).len() == 100
    });

    // The terminal goes away: shipper gets SIGHUP, and every write to its
    // terminal fails from then on.
    terminal.kill().unwrap();
    wait_for(&mut terminal, PATIENCE);
    write_lines(&mut input, 100, 200);
    wait_until(PATIENCE, "lines shipped after the hangup", || {
        events_so_far(&out).len() == 200
    });
    drop(input);
    let summary_path = dir.path().join("summary.json");
    let mut summary = Value::Null;
    wait_until(PATIENCE, "the summary", || {
        let text = std::fs::read(&summary_path).unwrap_or_default();
        summary = serde_json::from_slice(&text).unwrap_or(Value::Null);
        !summary.is_null()
    });

    assert_invariant(&summary);
    assert_eq!(summary["processed"], 200, "{summary}");
    assert_eq!(summary["exit_code"], 0, "{summary}");
    assert_eq!(summary["stopped_by"], Value::Null);
    assert_eq!(messages(&read_events(&out)), numbered(0, 200));
}
