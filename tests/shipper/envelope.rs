//! Envelopes at the binary level: fapilog's own output, and a mixed corpus
//! in best-effort and strict mode.

use serde_json::{Value, json};

use crate::common::{parse_events, run};

#[test]
fn a_fapilog_envelope_comes_out_unchanged() {
    let envelope = json!({
        "timestamp": "2024-01-15T10:30:00.123Z",
        "level": "WARNING",
        "message": "User action",
        "logger": "app",
        "context": {"correlation_id": "req-123", "request_id": "abc-456"},
        "diagnostics": {"service": "api", "env": "production", "host": "web-01", "pid": 12345},
        "data": {"action": "login", "duration_ms": 42}
    });
    let line = json!({"log": envelope, "schema_version": "1.1"}).to_string() + "\n";
    let run = run(&["--sink", "stdout"], line);
    assert_eq!(run.code, Some(0));
    let event = &parse_events(&run.stdout)[0];
    for key in ["timestamp", "level", "message", "logger", "context", "data"] {
        assert_eq!(event[key], envelope[key], "{key}");
    }
    let diagnostics = event["diagnostics"].as_object().unwrap();
    assert_eq!(diagnostics["host"], "web-01", "the input's host is kept");
    assert_eq!(
        diagnostics["source"], "stdin",
        "source is added where absent"
    );
    assert_eq!(diagnostics.len(), 5);
}

/// One line of each kind, in order: (bytes, valid as a strict event).
fn mixed_corpus() -> Vec<(Vec<u8>, bool)> {
    let mut long = br#"{"message":""#.to_vec();
    long.extend(std::iter::repeat_n(b'x', 2 << 20));
    long.extend(br#""}"#);
    vec![
        (
            br#"{"timestamp":"2024-05-01T12:00:00Z","level":"info","message":"json ok"}"#.to_vec(),
            true,
        ),
        (b"2024-05-01 12:00:00 ERROR plain text".to_vec(), false),
        (br#"{"message": "unterminated"#.to_vec(), false),
        (b"{\"message\":\"caf\xe9\"}".to_vec(), false),
        (long, false),
        (br#"{"msg":"also ok","lvl":"warn"}"#.to_vec(), true),
        (br#"[1, 2, 3]"#.to_vec(), false),
        (br#"{"message":"bad level","level":"loud"}"#.to_vec(), false),
        (br#"{"message":"bad time","ts":"noon"}"#.to_vec(), false),
        (br#"{"level":"info"}"#.to_vec(), false),
        (br#"{"message":"last, without newline"}"#.to_vec(), true),
    ]
}

fn mixed_input() -> Vec<u8> {
    let corpus = mixed_corpus();
    let mut input = Vec::new();
    for (i, (line, _)) in corpus.iter().enumerate() {
        input.extend_from_slice(line);
        if i + 1 < corpus.len() {
            input.extend_from_slice(if i % 2 == 0 { b"\n\n" } else { b"\r\n" });
        }
    }
    input
}

#[test]
fn best_effort_ships_every_line_of_a_mixed_corpus() {
    let run = run(&["--sink", "file=out.log"], mixed_input());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let corpus = mixed_corpus();
    let events = run.events("out.log");
    assert_eq!(events.len(), corpus.len());
    assert_eq!(run.summary["processed"], corpus.len());
    assert_eq!(run.summary["blank"], corpus.len() / 2);
    assert_eq!(events[1]["message"], "2024-05-01 12:00:00 ERROR plain text");
    assert_eq!(events[1]["level"], "ERROR");
    assert_eq!(events[3]["diagnostics"]["invalid_utf8"], true);
    assert_eq!(events[4]["diagnostics"]["truncated"], true);
    assert_eq!(
        events[4]["diagnostics"]["original_length"],
        corpus[4].0.len()
    );
    assert!(events[4]["message"].as_str().unwrap().len() <= 1 << 20);
    assert_eq!(events[10]["message"], "last, without newline");
    let repairs: Vec<Value> = run
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|d| d["component"] == "envelope")
        .collect();
    let reasons: Vec<&str> = repairs
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert!(
        repairs.iter().all(|d| d["mode"] == "best-effort"),
        "{repairs:?}"
    );
    for expected in [
        "replaced invalid UTF-8",
        "cut a line of",
        "unknown level 'loud'",
        "unparseable timestamp",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "{expected} in {reasons:?}"
        );
    }
}

#[test]
fn strict_mode_drops_exactly_the_invalid_lines() {
    let run = run(
        &["--strict-envelope", "--sink", "file=out.log"],
        mixed_input(),
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let corpus = mixed_corpus();
    let valid = corpus.iter().filter(|(_, ok)| *ok).count();
    let events = run.events("out.log");
    let messages: Vec<&Value> = events.iter().map(|e| &e["message"]).collect();
    assert_eq!(messages, ["json ok", "also ok", "last, without newline"]);
    assert_eq!(run.summary["processed"], valid);
    assert_eq!(
        run.summary["dropped_by_reason"]["invalid"],
        corpus.len() - valid
    );
    let diagnostics: Vec<Value> = run
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|d| d["component"] == "envelope")
        .collect();
    assert!(!diagnostics.is_empty(), "{}", run.stderr);
    for diagnostic in &diagnostics {
        assert_eq!(diagnostic["mode"], "strict");
        assert!(!diagnostic["reason"].as_str().unwrap().is_empty());
    }
    let reasons: String = diagnostics
        .iter()
        .map(|d| d["reason"].to_string())
        .collect();
    assert!(reasons.contains("not JSON"), "{reasons}");
    assert!(
        run.stderr.contains("suppressed"),
        "a flood is cut short and counted: {}",
        run.stderr
    );
}
