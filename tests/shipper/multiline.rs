//! Multi-line events: stack traces printed by real runtimes, interleaved
//! with ordinary lines, arrive as one event each, through standard input
//! and through a followed file; held events ship on a timeout, at the end,
//! on rotation and on SIGTERM; a restart after SIGKILL never ships a trace
//! in halves.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::{PATIENCE, Running, append, events_so_far, program, run, wait_for, wait_until};
use crate::following::{delivered, follow_in, stop};

/// What a program printed, stdout then stderr, as its lines.
fn output_of(command: &mut Command) -> String {
    let output = command.output().unwrap();
    let mut text = String::from_utf8(output.stdout).unwrap();
    text.push_str(&String::from_utf8(output.stderr).unwrap());
    text
}

/// A trace as one event's message: its lines, blank ones left out.
fn as_event(trace: &str) -> String {
    trace
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Traces printed by the runtimes on this machine, each with the error
/// type its event should carry and whether it stands alone (an uncaught
/// exception or a panic, at level ERROR) or joins its log line.
fn real_traces(dir: &Path) -> Vec<(String, &'static str)> {
    let mut traces = Vec::new();
    let python = dir.join("app.py");
    std::fs::write(
        &python,
        "import logging, sys\n\
         logging.basicConfig(stream=sys.stdout)\n\
         try:\n    {}['missing']\nexcept KeyError:\n    logging.exception('lookup failed')\n",
    )
    .unwrap();
    traces.push((
        output_of(Command::new(program("python3")).arg(&python)),
        "KeyError",
    ));
    let chained = dir.join("chained.py");
    std::fs::write(
        &chained,
        "def f():\n    try:\n        {}['x']\n    except KeyError as e:\n        raise ValueError('bad') from e\nf()\n",
    )
    .unwrap();
    traces.push((
        output_of(Command::new(program("python3")).arg(&chained)),
        "ValueError",
    ));
    let node = dir.join("app.js");
    std::fs::write(
        &node,
        "function f() { null.x; }\ntry { f(); } catch (e) { console.error(e); }\n",
    )
    .unwrap();
    traces.push((
        output_of(Command::new(program("node")).arg(&node)),
        "TypeError",
    ));
    let java = dir.join("Boom.java");
    std::fs::write(
        &java,
        "public class Boom {\n\
         static void f() { try { Integer.parseInt(\"x\"); } catch (NumberFormatException e) { throw new IllegalStateException(\"boom\", e); } }\n\
         public static void main(String[] a) { try { f(); } catch (Exception e) { System.out.println(\"ERROR Boom - lookup failed\"); e.printStackTrace(System.out); } }\n\
         }\n",
    )
    .unwrap();
    let compiled = Command::new(program("javac"))
        .arg("-d")
        .arg(dir)
        .arg(&java)
        .status()
        .unwrap();
    assert!(compiled.success());
    traces.push((
        output_of(
            Command::new(program("java"))
                .arg("-cp")
                .arg(dir)
                .arg("Boom"),
        ),
        "java.lang.IllegalStateException",
    ));
    let rust = dir.join("panics.rs");
    std::fs::write(
        &rust,
        "fn inner(v: &[u32]) { panic!(\"boom {}\", v.len()) }\nfn main() { inner(&[]); }\n",
    )
    .unwrap();
    let binary = dir.join("panics");
    let compiled = Command::new("rustc")
        .arg("-g")
        .arg("-o")
        .arg(&binary)
        .arg(&rust)
        .status()
        .unwrap();
    assert!(compiled.success());
    traces.push((
        output_of(Command::new(&binary).env("RUST_BACKTRACE", "1")),
        "panic",
    ));
    for (trace, _) in &traces {
        assert!(trace.lines().count() > 2, "a trace: {trace}");
    }
    traces
}

/// The input: an ordinary line, then each trace followed by ordinary
/// lines. Returns it and the messages expected, one per event.
fn interleaved(traces: &[(String, &str)]) -> (String, Vec<String>) {
    let mut input = String::from("INFO starting\n");
    let mut expected = vec!["INFO starting".to_owned()];
    for (index, (trace, _)) in traces.iter().enumerate() {
        input.push_str(trace);
        expected.push(as_event(trace));
        for line in [
            format!("INFO request {index} served"),
            format!("WARN slow: {index} ms"),
        ] {
            input.push_str(&line);
            input.push('\n');
            expected.push(line);
        }
    }
    (input, expected)
}

/// Each trace is one event with its lines counted and its exception read;
/// each ordinary line is its own event.
fn assert_grouped(events: &[Value], traces: &[(String, &str)], expected: &[String]) {
    let messages: Vec<&str> = events
        .iter()
        .map(|event| event["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, expected);
    for (trace, error_type) in traces {
        let event = events
            .iter()
            .find(|event| event["message"] == as_event(trace))
            .unwrap();
        let lines = as_event(trace).lines().count();
        assert_eq!(event["diagnostics"]["lines"], lines, "{event}");
        assert_eq!(event["data"]["error"]["type"], *error_type, "{event}");
        assert_eq!(event["level"], "ERROR", "{event}");
    }
    for event in events.iter().filter(|event| {
        let message = event["message"].as_str().unwrap();
        !message.contains('\n')
    }) {
        assert!(event["diagnostics"].get("lines").is_none(), "{event}");
    }
}

#[test]
fn traces_of_real_runtimes_are_one_event_each_through_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let traces = real_traces(dir.path());
    let (input, expected) = interleaved(&traces);
    let run = run(&["--sink", "file=out.jsonl"], input.clone());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_grouped(&run.events("out.jsonl"), &traces, &expected);
    let joined: usize = traces
        .iter()
        .map(|(trace, _)| as_event(trace).lines().count() - 1)
        .sum();
    assert_eq!(run.summary["joined"], joined);
    assert_eq!(run.summary["submitted"], expected.len());

    // Every line its own event with --multiline off.
    let off = crate::common::run(&["--sink", "file=out.jsonl", "--multiline", "off"], input);
    assert_eq!(off.summary["joined"], 0);
    assert_eq!(off.summary["submitted"], expected.len() + joined);
}

#[test]
fn traces_of_real_runtimes_are_one_event_each_in_a_followed_file() {
    let dir = tempfile::tempdir().unwrap();
    let traces = real_traces(dir.path());
    let (input, expected) = interleaved(&traces);
    let log = dir.path().join("app.log");
    std::fs::write(&log, "").unwrap();
    let running = follow_in(dir, &["app.log"], &[]);
    let mut file = append(&running.path("app.log"));
    // Written as a program writes: a line at a time.
    for line in input.split_inclusive('\n') {
        file.write_all(line.as_bytes()).unwrap();
    }
    let out = running.path("out.jsonl");
    wait_until(PATIENCE, "every event", || {
        delivered(&out).len() >= expected.len()
    });
    let events = events_so_far(&out);
    let (_, stderr, summary) = stop(running);
    assert_grouped(&events, &traces, &expected);
    assert_eq!(summary["submitted"], expected.len(), "{stderr}");
}

const PYTHON_TRACE: &str = "Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n    {}['missing']\nKeyError: 'missing'\n";

#[test]
fn an_event_waits_for_its_next_line_only_until_the_timeout() {
    let (running, mut stdin) =
        Running::start(&["--sink", "file=out.jsonl", "--multiline-timeout", "50ms"]);
    let out = running.path("out.jsonl");
    stdin
        .write_all(b"ERROR lookup failed\nTraceback (most recent call last):\n")
        .unwrap();
    // Nothing more comes: the event ships, stdin still open.
    wait_until(PATIENCE, "the held event", || delivered(&out).len() == 1);
    stdin
        .write_all(b"  File \"app.py\", line 3, in <module>\nINFO next\n")
        .unwrap();
    drop(stdin);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        delivered(&out),
        [
            "ERROR lookup failed\nTraceback (most recent call last):",
            "  File \"app.py\", line 3, in <module>",
            "INFO next"
        ]
    );
    assert_eq!(summary["joined"], 1);
}

#[test]
fn sigterm_in_the_middle_of_a_trace_ships_what_was_held() {
    let (running, mut stdin) =
        Running::start(&["--sink", "file=out.jsonl", "--multiline-timeout", "1h"]);
    let out = running.path("out.jsonl");
    stdin
        .write_all(b"INFO first\nERROR lookup failed\n")
        .unwrap();
    stdin
        .write_all(&PYTHON_TRACE.as_bytes()[..PYTHON_TRACE.len() - 10])
        .unwrap();
    wait_until(PATIENCE, "the first line", || delivered(&out).len() == 1);
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, _dir) = running.finish();
    drop(stdin);
    assert_eq!(code, Some(143), "{stderr}");
    let messages = delivered(&out);
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(
        messages[1],
        "ERROR lookup failed\nTraceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n    {}['missing']"
    );
    assert_eq!(summary["processed"], 2);
    assert!(
        stderr.contains("unfinished line"),
        "the cut line is said: {stderr}"
    );
}

#[test]
fn a_trace_longer_than_the_line_limit_is_one_event_cut_and_flagged() {
    let mut input = String::from("ERROR failed\n");
    input.push_str(PYTHON_TRACE);
    input.push_str("INFO after\n");
    let run = run(
        &["--sink", "file=out.jsonl", "--max-line-bytes", "64"],
        input,
    );
    let events = run.events("out.jsonl");
    assert_eq!(events.len(), 2, "{events:?}");
    let trace = &events[0];
    assert_eq!(trace["diagnostics"]["lines"], 5);
    assert_eq!(trace["diagnostics"]["truncated"], true);
    assert_eq!(
        trace["diagnostics"]["original_length"],
        "ERROR failed\n".len() + PYTHON_TRACE.len() - 1
    );
    assert_eq!(trace["message"].as_str().unwrap().len(), 64);
    assert_eq!(events[1]["message"], "INFO after");
}

#[test]
fn json_lines_are_never_joined_and_patterns_group_what_auto_does_not_know() {
    let input = "{\"message\":\"one\"}\n    indented after json\n";
    let json = run(&["--sink", "file=out.jsonl"], input);
    assert_eq!(json.summary["submitted"], 2);
    assert_eq!(json.summary["joined"], 0);

    let input = "BEGIN 1\nsome\nmore\nBEGIN 2\n";
    let start = run(
        &["--sink", "file=out.jsonl", "--multiline", "start=^BEGIN"],
        input,
    );
    let messages: Vec<Value> = start
        .events("out.jsonl")
        .iter()
        .map(|event| event["message"].clone())
        .collect();
    assert_eq!(messages, ["BEGIN 1\nsome\nmore", "BEGIN 2"]);

    let env = crate::common::run_with_env(
        &["--sink", "file=out.jsonl"],
        &[("SHIPPER_MULTILINE", "continue=^\\+")],
        "a\n+b\nc\n",
    );
    assert_eq!(env.summary["submitted"], 2);
    assert_eq!(env.summary["joined"], 1);

    crate::common::shipper()
        .args(["--sink", "stdout", "--multiline", "start=("])
        .write_stdin("x\n")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--multiline 'start=('"));
}

#[test]
fn a_rotation_in_the_middle_of_a_trace_ships_each_file_s_lines_apart() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), "").unwrap();
    let running = follow_in(dir, &["app.log"], &["--multiline-timeout", "1h"]);
    let out = running.path("out.jsonl");
    let mut file = append(&running.path("app.log"));
    // Each line waits for the next: the first ships once the second came.
    file.write_all(b"INFO first\nINFO second\n").unwrap();
    wait_until(PATIENCE, "following", || delivered(&out).len() == 1);
    file.write_all(b"ERROR lookup failed\nTraceback (most recent call last):\n")
        .unwrap();
    std::fs::rename(running.path("app.log"), running.path("app.log.1")).unwrap();
    let mut next = append(&running.path("app.log"));
    next.write_all(b"  File \"app.py\", line 3, in <module>\nINFO next\n")
        .unwrap();
    wait_until(PATIENCE, "both files", || delivered(&out).len() == 4);
    let (messages, stderr, _) = stop(running);
    assert_eq!(
        messages,
        [
            "INFO first",
            "INFO second",
            "ERROR lookup failed\nTraceback (most recent call last):",
            "  File \"app.py\", line 3, in <module>",
            "INFO next",
        ],
        "{stderr}"
    );
}

#[test]
fn a_restart_after_sigkill_in_the_middle_of_a_trace_ships_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), "").unwrap();
    let extra = ["--checkpoint", "state.json", "--multiline-timeout", "1h"];
    let running = follow_in(dir, &["app.log"], &extra);
    let out = running.path("out.jsonl");
    let mut file = append(&running.path("app.log"));
    let before = "INFO first\n";
    file.write_all(before.as_bytes()).unwrap();
    file.write_all(b"ERROR lookup failed\n").unwrap();
    file.write_all(&PYTHON_TRACE.as_bytes()[..40]).unwrap();
    wait_until(PATIENCE, "the first line", || delivered(&out).len() == 1);
    // The checkpoint is saved, but not past the held event's start.
    let state = running.path("state.json");
    wait_until(PATIENCE, "a save", || {
        std::fs::read(&state)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .is_some_and(|saved| saved["files"][0]["offset"] == before.len())
    });
    running.signal(Signal::SIGKILL);
    let mut running = running;
    assert_eq!(wait_for(&mut running.child, PATIENCE), None, "killed");
    running.reaper.armed = false;
    file.write_all(&PYTHON_TRACE.as_bytes()[40..]).unwrap();
    file.write_all(b"INFO after\n").unwrap();

    let running = follow_in(running.dir, &["app.log"], &extra);
    let out = running.path("out.jsonl");
    // The last line waits for its next until the stop.
    wait_until(PATIENCE, "the trace", || delivered(&out).len() == 2);
    let events = events_so_far(&out);
    let (messages, stderr, _) = stop(running);
    let mut trace = String::from("ERROR lookup failed\n");
    trace.push_str(PYTHON_TRACE.trim_end());
    assert_eq!(messages, ["INFO first", &trace, "INFO after"], "{stderr}");
    assert_eq!(events[1]["diagnostics"]["lines"], 5);
}

#[test]
fn a_deleted_file_ships_the_event_it_held() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.log"), "").unwrap();
    let running = follow_in(dir, &["app.log"], &["--multiline-timeout", "1h"]);
    let out = running.path("out.jsonl");
    let mut file = append(&running.path("app.log"));
    file.write_all(b"INFO first\nERROR lookup failed\n")
        .unwrap();
    wait_until(PATIENCE, "following", || delivered(&out).len() == 1);
    file.write_all(b"Traceback (most recent call last):\n")
        .unwrap();
    drop(file);
    std::fs::remove_file(running.path("app.log")).unwrap();
    // Read to its end and released: what it held ships, long before its
    // time is up.
    wait_until(PATIENCE, "the held event", || delivered(&out).len() == 2);
    let (messages, stderr, _) = stop(running);
    assert_eq!(
        messages,
        [
            "INFO first",
            "ERROR lookup failed\nTraceback (most recent call last):"
        ],
        "{stderr}"
    );
}
