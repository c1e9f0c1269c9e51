//! The main job: lines in, events out, every line accounted for.

use crate::common::{numbered_lines, parse_events, run};

#[test]
fn two_lines_without_a_final_newline_both_arrive() {
    let run = run(&["--sink", "file=out.log", "--summary", "json"], "a\nb");
    assert_eq!(run.code, Some(0));
    let messages: Vec<_> = run
        .events("out.log")
        .iter()
        .map(|e| e["message"].clone())
        .collect();
    assert_eq!(messages, ["a", "b"]);
    assert_eq!(run.summary["submitted"], 2);
    assert_eq!(run.summary["processed"], 2);
    assert_eq!(run.summary["dropped"], 0);
    let printed: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(
        printed["processed"], 2,
        "--summary json prints the same object"
    );
}

#[test]
fn a_million_lines_arrive_in_order() {
    let count = 1_000_000;
    let run = run(
        &["--sink", "file", "--summary", "none"],
        numbered_lines(count),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["processed"], count);
    assert_eq!(run.summary["dropped"], 0);
    let written = std::fs::read(run.path("shipper.log")).unwrap();
    let mut lines = 0;
    for (i, line) in written
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let event: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert_eq!(event["message"], format!("line {i}"));
        lines += 1;
    }
    assert_eq!(lines, count);
    assert!(
        run.stderr.is_empty(),
        "--summary none prints nothing: {}",
        run.stderr
    );
}

#[test]
fn blank_lines_are_counted_not_shipped() {
    let run = run(&["--sink", "stdout"], "a\n\n  \r\nb\r\n\n");
    assert_eq!(run.code, Some(0));
    let events = parse_events(&run.stdout);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["message"], "b", "the carriage return is removed");
    assert_eq!(run.summary["blank"], 3);
    assert_eq!(run.summary["lines_read"], 5);
}

#[test]
fn stdout_is_the_default_sink_and_the_text_summary_goes_to_stderr() {
    let run = run(&[], "hello\n");
    assert_eq!(run.code, Some(0));
    assert_eq!(parse_events(&run.stdout)[0]["message"], "hello");
    assert!(
        run.stderr.starts_with("shipper: 1 processed, 0 dropped"),
        "{}",
        run.stderr
    );
}

#[test]
fn raw_mode_ships_lines_byte_for_byte() {
    let input = b"not json \xff\n{\"a\": 1}\nlast";
    let run = run(&["--raw", "--sink", "file=raw.log"], input.to_vec());
    assert_eq!(run.code, Some(0));
    assert_eq!(
        std::fs::read(run.path("raw.log")).unwrap(),
        b"not json \xff\n{\"a\": 1}\nlast\n"
    );
    assert_eq!(run.summary["processed"], 3);
}

#[test]
fn empty_input_is_a_clean_run() {
    let run = run(&["--sink", "file=out.log"], "");
    assert_eq!(run.code, Some(0));
    assert_eq!(run.summary["lines_read"], 0);
    assert_eq!(std::fs::read(run.path("out.log")).unwrap(), b"");
}

#[test]
fn fields_are_added_to_every_event() {
    let run = run(
        &[
            "--field",
            "env=prod",
            "--field",
            "team=core",
            "--sink",
            "stdout",
        ],
        "x\n",
    );
    let events = parse_events(&run.stdout);
    assert_eq!(
        events[0]["data"],
        serde_json::json!({"env": "prod", "team": "core"})
    );
}
