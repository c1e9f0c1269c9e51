//! Rotation while shipper follows: renamed or copied and truncated, twice
//! in quick succession, with the reader still behind; nothing is lost or
//! repeated, and older generations are not read again.

use std::fs::File;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::common::*;
use crate::following::{Writer, assert_exactly, follow_in, stop, wait_delivered, wait_following};

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
