//! `--dead-letter`: every event a sink gives up on is kept, with why, byte
//! for byte, and counted; nothing else is.

use serde_json::Value;

use crate::collector::{Collector, QUICK_RETRIES, Reply};
use crate::common::*;

/// The letters in a dead-letter file, parsed.
fn letters(path: &std::path::Path) -> Vec<Value> {
    read_events(path)
}

/// Lines of `path` as they are, without their newline.
fn raw_lines(path: &std::path::Path) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .unwrap()
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn events_a_collector_keeps_refusing_are_kept_byte_for_byte_with_why() {
    let collector = Collector::start(
        vec![Reply::ok()],
        Reply::Status(503, Vec::new(), "overloaded"),
    );
    let sink = collector.sink();
    let mut args = vec![
        "--sink",
        &sink,
        "--sink",
        "file=all.log",
        "--dead-letter",
        "dead.jsonl",
        "--batch-size",
        "10",
        "--retry-max",
        "3",
    ];
    args.extend(QUICK_RETRIES);
    let run = run(&args, numbered_lines(30));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 20);
    assert_eq!(run.summary["dead_lettered"], 20);
    assert!(
        run.stderr.contains("20 kept as dead letters"),
        "{}",
        run.stderr
    );
    let letters = letters(&run.path("dead.jsonl"));
    assert_eq!(letters.len(), 20);
    for letter in &letters {
        assert_eq!(letter["dead_letter"], 1);
        assert_eq!(letter["sink"], collector.sink());
        assert_eq!(letter["status"], 503);
        assert_eq!(letter["error_kind"], "HttpStatus");
        assert_eq!(letter["attempts"], 3);
        assert!(letter["error"].as_str().unwrap().contains("overloaded"));
        assert!(letter["stream"].as_str().unwrap().contains("stdin"));
    }
    // The event in each letter is the one the file sink wrote, byte for
    // byte: lines 11 to 30 (the first batch was delivered).
    let written = raw_lines(&run.path("all.log"));
    let kept = kept_events(&run.path("dead.jsonl"));
    assert_eq!(kept, written[10..]);
    assert_eq!(
        collector.delivered().len(),
        10,
        "the first batch went through"
    );
}

/// The events of the letters in `path` as they were written, byte for
/// byte: what follows `"event":` up to the letter's closing brace.
fn kept_events(path: &std::path::Path) -> Vec<Vec<u8>> {
    const EVENT: &[u8] = b"\"event\":";
    raw_lines(path)
        .iter()
        .map(|line| {
            let at = line
                .windows(EVENT.len())
                .position(|window| window == EVENT)
                .expect("an event in the letter");
            line[at + EVENT.len()..line.len() - 1].to_vec()
        })
        .collect()
}

#[test]
fn a_full_disk_keeps_its_events_as_letters_and_a_healthy_run_keeps_none() {
    let args = [
        "--sink",
        "file=/dev/full",
        "--dead-letter",
        "dead.jsonl",
        "--raw",
    ];
    let run = run(&args, "plain one\nplain two\n");
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.summary["dead_lettered"], 2);
    let letters = letters(&run.path("dead.jsonl"));
    assert_eq!(letters.len(), 2);
    assert_eq!(
        letters[0]["line"], "plain one",
        "a raw line is kept as a string"
    );
    assert_eq!(letters[1]["line"], "plain two");
    assert_eq!(letters[0]["sink"], "file=/dev/full");
    assert_eq!(letters[0]["attempts"], 1);

    let healthy = crate::common::run(
        &["--sink", "file=out.log", "--dead-letter", "dead.jsonl"],
        "fine\n",
    );
    assert_eq!(healthy.code, Some(0), "{}", healthy.stderr);
    assert_eq!(healthy.summary["dead_lettered"], 0);
    assert_eq!(
        std::fs::read(healthy.path("dead.jsonl")).unwrap(),
        b"",
        "created, empty"
    );
}

#[test]
fn letters_are_appended_across_runs_and_a_cut_last_letter_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.jsonl");
    let args = [
        "--sink",
        "file=/dev/full",
        "--dead-letter",
        dead.to_str().unwrap(),
    ];
    let first = run(&args, "one\n");
    assert_eq!(first.summary["dead_lettered"], 1);
    // A crash mid-write left half a letter.
    let mut before = std::fs::read(&dead).unwrap();
    before.extend_from_slice(b"{\"dead_letter\":1,\"at\":\"20");
    std::fs::write(&dead, &before).unwrap();
    let second = run(&args, "two\n");
    assert_eq!(second.summary["dead_lettered"], 1);
    let letters = letters(&dead);
    let messages: Vec<&str> = letters
        .iter()
        .map(|letter| letter["event"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["one", "two"]);
    assert!(
        second.stderr.contains("unfinished line"),
        "{}",
        second.stderr
    );
}

#[test]
fn a_dead_letter_path_shipper_may_not_write_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
    for (path, why) in [
        (link.to_str().unwrap(), "symbolic link"),
        ("/dev/null", "character device"),
        ("out.log", "same file"),
    ] {
        let output = shipper()
            .current_dir(dir.path())
            .args(["--sink", "file=out.log", "--dead-letter", path])
            .write_stdin("a line\n")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{path}: {stderr}");
        assert!(stderr.contains(why), "{path}: {stderr}");
    }
    assert!(
        !dir.path().join("elsewhere").exists(),
        "nothing written through the link"
    );
    assert!(
        !dir.path().join("out.log").exists(),
        "nothing read or written"
    );
}

/// Runs shipper with `args` from `dir`, with `--summary-file`, and checks
/// the invariant.
fn run_in(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, Value) {
    let summary = dir.join("summary.json");
    let output = shipper()
        .current_dir(dir)
        .args(args)
        .arg("--summary-file")
        .arg(&summary)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr, read_summary(&summary))
}

#[test]
fn dead_letters_named_as_a_file_are_sent_again_as_the_events_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "first\n{\"message\":\"second\",\"n\":2}\n\nthird\n").unwrap();
    let (code, stderr, summary) = run_in(
        dir.path(),
        &[
            "app.log",
            "--sink",
            "file=/dev/full",
            "--dead-letter",
            "dead.jsonl",
        ],
    );
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(summary["dead_lettered"], 3);
    let kept = kept_events(&dir.path().join("dead.jsonl"));

    let (code, stderr, summary) = run_in(dir.path(), &["dead.jsonl", "--sink", "file=again.log"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["processed"], 3);
    assert_eq!(summary["inputs"]["files"][0], "dead.jsonl");
    assert_eq!(
        raw_lines(&dir.path().join("again.log")),
        kept,
        "each event again, byte for byte, not wrapped in a second envelope"
    );
}

#[test]
fn events_jetstream_already_stored_are_not_stored_twice_when_sent_again() {
    let server = crate::servers::NatsServer::start();
    server.create_stream("LOGS", &["logs.app"]);
    let nats = server.sink("logs.app");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), numbered_lines(20)).unwrap();
    // JetStream stores every event; the file sink beside it keeps none,
    // and its letters name each event by where it was read.
    let (code, stderr, summary) = run_in(
        dir.path(),
        &[
            "app.log",
            "--sink",
            &nats,
            "--sink",
            "file=/dev/full",
            "--dead-letter",
            "dead.jsonl",
        ],
    );
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(summary["dead_lettered"], 20);
    assert_eq!(server.stream_state("LOGS").unwrap().1, 20);
    let first_ids: Vec<String> = server
        .read_stream("LOGS")
        .into_iter()
        .map(|(id, _)| id)
        .collect();

    let (code, stderr, summary) = run_in(dir.path(), &["dead.jsonl", "--sink", &nats]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["processed"], 20);
    assert!(
        stderr.contains("JetStream already held 20 events"),
        "{stderr}"
    );
    let stored = server.read_stream("LOGS");
    assert_eq!(stored.len(), 20, "none stored twice");
    let ids: Vec<String> = stored.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, first_ids);
}

#[test]
fn dead_letters_go_in_a_run_of_their_own_and_a_line_that_is_none_stops_the_reading() {
    let dir = tempfile::tempdir().unwrap();
    let letters = [
        r#"{"dead_letter":1,"stream":"s","offset":6,"event":{"message":"one"}}"#,
        r#"{"dead_letter":1,"stream":"s","offset":12,"event":{"message":"two"}}"#,
        "an ordinary line",
        r#"{"dead_letter":1,"stream":"s","offset":20,"event":{"message":"three"}}"#,
    ];
    std::fs::write(dir.path().join("dead.jsonl"), letters.join("\n") + "\n").unwrap();
    std::fs::write(dir.path().join("app.log"), "a line\n").unwrap();
    for args in [
        &["dead.jsonl", "app.log"][..],
        &["dead.jsonl", "--checkpoint", "state.json"],
        &["dead.jsonl", "--field", "env=prod"],
        &["dead.jsonl", "--strict-envelope"],
    ] {
        let output = shipper()
            .current_dir(dir.path())
            .args(args)
            .args(["--sink", "file=out.log"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("dead"), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("out.log").exists());

    let (code, stderr, summary) = run_in(dir.path(), &["dead.jsonl", "--sink", "file=out.log"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("is not a dead letter") && stderr.contains("stopped there"),
        "{stderr}"
    );
    assert_eq!(summary["processed"], 2, "the letters before it went");
    assert_eq!(
        raw_lines(&dir.path().join("out.log")),
        [&br#"{"message":"one"}"#[..], br#"{"message":"two"}"#]
    );
}

#[test]
fn after_a_sigkill_every_event_before_the_checkpoint_was_delivered_or_kept() {
    use crate::following::{Writer, follow_in, wait_delivered};
    let collector = Collector::start(Vec::new(), Reply::status(400));
    let refusing = collector.sink();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut writer = Writer::new(log.clone(), "app");
    let extra = [
        "--sink",
        &refusing,
        "--dead-letter",
        "dead.jsonl",
        "--checkpoint",
        "state.json",
        "--batch-size",
        "50",
    ];
    let running = follow_in(dir, &["app.log"], &extra);
    for _ in 0..100 {
        writer.write(20);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    wait_delivered(&running, 1000);
    let saved = || -> Option<u64> {
        let state: Value =
            serde_json::from_slice(&std::fs::read(running.path("state.json")).ok()?).ok()?;
        state["files"][0]["offset"]
            .as_u64()
            .filter(|&offset| offset > 0)
    };
    wait_until(PATIENCE, "a checkpoint saved", || saved().is_some());
    writer.write(500);
    running.signal(nix::sys::signal::Signal::SIGKILL);
    let mut running = running;
    assert_eq!(wait_for(&mut running.child, PATIENCE), None, "killed");
    running.reaper.armed = false;
    let state: Value =
        serde_json::from_slice(&std::fs::read(running.path("state.json")).unwrap()).unwrap();
    let offset = state["files"][0]["offset"].as_u64().unwrap() as usize;
    let acknowledged = std::fs::read(&log).unwrap()[..offset]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count();
    assert!(acknowledged > 0, "a checkpoint was saved before the kill");
    let kept: std::collections::HashSet<String> = letters(&running.path("dead.jsonl"))
        .iter()
        .map(|letter| letter["event"]["message"].as_str().unwrap().to_owned())
        .collect();
    let missing: Vec<String> = writer.written()[..acknowledged]
        .iter()
        .filter(|line| !kept.contains(*line))
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {acknowledged} lines before the checkpoint neither delivered to the refusing sink \
         nor kept: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}
