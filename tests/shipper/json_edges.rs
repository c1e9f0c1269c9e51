//! JSON that the grammar allows but readers refuse (a lone surrogate
//! escape, a number beyond a 64-bit float, nesting past serde_json's
//! limit): strict mode drops it and says where, best-effort mode ships it
//! repaired, and every line written is read by serde_json, Python and jq.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::{Run, assert_invariant, run};

/// One line of each edge, with the reason strict mode gives for it.
fn edges() -> Vec<(String, &'static str)> {
    let deep = format!(
        r#"{{"msg":"deep","v":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    vec![
        (
            r#"{"msg":"\ud800 x"}"#.into(),
            r"lone surrogate \ud800 at byte 8",
        ),
        (
            r#"{"msg":"\udc00"}"#.into(),
            r"lone surrogate \udc00 at byte 8",
        ),
        (
            r#"{"msg":"\ud800\u0041"}"#.into(),
            r"lone surrogate \ud800 at byte 8",
        ),
        (
            r#"{"msg":"m","\ud800":1}"#.into(),
            r"lone surrogate \ud800 at byte 12",
        ),
        (
            r#"{"msg":"m","n":1e999999}"#.into(),
            "number out of range at byte 15",
        ),
        (
            r#"{"msg":"m","n":-1e400}"#.into(),
            "number out of range at byte 15",
        ),
        (deep, "nested deeper than 126 levels at byte 143"),
    ]
}

fn lines(lines: &[String]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// The envelope diagnostics a run printed.
fn envelope_diagnostics(run: &Run) -> Vec<Value> {
    run.stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|d| d["component"] == "envelope")
        .collect()
}

/// Every line of `bytes` is read by serde_json (with its default limits),
/// by Python's json (refusing what turns into infinity or a lone surrogate,
/// which it would otherwise let through) and, where installed, by jq.
fn assert_readable_everywhere(bytes: &[u8]) {
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if let Err(err) = serde_json::from_slice::<Value>(line) {
            panic!("serde_json refuses a line written: {err}");
        }
    }
    let python = r#"
import json, math, sys
def finite(text):
    if math.isinf(float(text)):
        raise ValueError("number out of range: " + text[:40])
    return text
for line in sys.stdin:
    value = json.loads(line, parse_float=finite, parse_int=finite)
    json.dumps(value, ensure_ascii=False).encode("utf-8")
"#;
    assert_reads(Command::new("python3").args(["-c", python]), bytes);
    if Command::new("jq").arg("--version").output().is_ok() {
        assert_reads(Command::new("jq").args(["-c", "."]), bytes);
    }
}

fn assert_reads(command: &mut Command, bytes: &[u8]) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "{command:?} refuses the output: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn strict_mode_drops_each_edge_and_says_where() {
    for (line, reason) in edges() {
        let run = run(
            &["--strict-envelope", "--sink", "file=out.log"],
            lines(&[line, r#"{"msg":"fine"}"#.into()]),
        );
        assert_invariant(&run.summary);
        assert_eq!(run.code, Some(3), "{reason}: {}", run.stderr);
        assert_eq!(run.summary["processed"], 1, "{reason}");
        assert_eq!(run.summary["dropped_by_reason"]["invalid"], 1, "{reason}");
        let diagnostics = envelope_diagnostics(&run);
        assert_eq!(diagnostics.len(), 1, "{}", run.stderr);
        assert_eq!(diagnostics[0]["mode"], "strict");
        assert_eq!(diagnostics[0]["reason"], reason);
        let events = run.events("out.log");
        assert_eq!(events[0]["message"], "fine");
        assert_readable_everywhere(&std::fs::read(run.path("out.log")).unwrap());
    }
}

#[test]
fn a_lone_surrogate_in_a_key_is_no_object_fault() {
    let run = run(
        &["--strict-envelope", "--sink", "file=out.log"],
        "{\"\\udc00\":\"k\",\"msg\":\"m\"}\n",
    );
    assert_invariant(&run.summary);
    let reason = envelope_diagnostics(&run)[0]["reason"].clone();
    assert_eq!(reason, r"lone surrogate \udc00 at byte 2");
}

#[test]
fn best_effort_ships_every_edge_repaired_and_flagged() {
    let (input, _): (Vec<String>, Vec<_>) = edges().into_iter().unzip();
    let run = run(&["--sink", "file=out.log"], lines(&input));
    assert_invariant(&run.summary);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["processed"], input.len());
    assert_readable_everywhere(&std::fs::read(run.path("out.log")).unwrap());
    let events = run.events("out.log");
    let flag = |event: &Value, name: &str| event["diagnostics"][name] == true;
    assert_eq!(events[0]["message"], "\u{fffd} x");
    assert_eq!(events[2]["message"], "\u{fffd}A");
    assert_eq!(events[3]["data"], json!({"\u{fffd}": 1}));
    assert!(events[..4].iter().all(|e| flag(e, "invalid_escape")));
    assert_eq!(events[4]["data"], json!({"n": "1e999999"}));
    assert_eq!(events[5]["data"], json!({"n": "-1e400"}));
    assert!(events[4..6].iter().all(|e| flag(e, "number_out_of_range")));
    assert_eq!(events[6]["message"], "deep");
    assert!(flag(&events[6], "nested_too_deep"));
    let reasons: Vec<Value> = envelope_diagnostics(&run)
        .iter()
        .map(|d| d["reason"].clone())
        .collect();
    assert_eq!(
        reasons[0],
        r"lone surrogate \ud800 at byte 8, replaced by U+FFFD"
    );
}

#[test]
fn best_effort_repairs_exactly_past_the_limits() {
    let nested = |levels: usize| {
        format!(
            r#"{{"msg":"m","v":{}1{}}}"#,
            "[".repeat(levels - 1),
            "]".repeat(levels - 1)
        )
    };
    let input = [
        nested(126),
        nested(127),
        r#"{"msg":"\ud83d\ude00","n":1.7976931348623157e307,"z":1e-400}"#.into(),
    ];
    let run = run(&["--sink", "file=out.log"], lines(&input));
    assert_invariant(&run.summary);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_readable_everywhere(&std::fs::read(run.path("out.log")).unwrap());
    let events = run.events("out.log");
    let flags = |event: &Value| event["diagnostics"].as_object().unwrap().len();
    assert_eq!(
        flags(&events[0]),
        2,
        "host and source only: 126 levels ship whole"
    );
    assert_eq!(events[1]["diagnostics"]["nested_too_deep"], true);
    assert_eq!(events[2]["message"], "\u{1f600}");
    assert!(events[2]["data"]["n"].is_f64());
    assert_eq!(flags(&events[2]), 2);
    assert_eq!(envelope_diagnostics(&run).len(), 1, "{}", run.stderr);
}
