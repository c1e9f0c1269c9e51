//! Envelopes at the binary level: fapilog's own output, a mixed corpus in
//! best-effort and strict mode, and JSON that the grammar allows but
//! readers refuse (a lone surrogate escape, a number beyond a 64-bit float,
//! nesting past serde_json's limit): strict mode drops it and says where,
//! best-effort mode ships it repaired, and every line written is read by
//! serde_json, Python and jq.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::{Run, assert_invariant, parse_events, run};

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
    assert_eq!(events[1]["message"], "plain text");
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
    assert_reads(
        Command::new(crate::common::program("python3")).args(["-c", python]),
        bytes,
    );
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

/// Plain-text lines, and the level each should carry.
const WORDED: [(&str, &str); 9] = [
    ("2026-11-30 18:21:00,031 ERROR [main] db down", "ERROR"),
    ("WARNING:root:disk at 91%", "WARNING"),
    (
        "2026/11/30 18:21:00 [crit] 1234#0: out of workers",
        "CRITICAL",
    ),
    ("ts=1 level=debug msg=\"cache miss\"", "DEBUG"),
    (
        "10.0.0.1 - - [30/Nov/2026:18:21:00 +0000] \"GET /static/img/fatal-logo.png HTTP/1.1\" 200 512",
        "INFO",
    ),
    ("my-error-handler ok", "INFO"),
    ("GET /api/errors?kind=warning 200", "INFO"),
    ("retrying after an error from the upstream", "INFO"),
    ("java.lang.Error: boom", "INFO"),
];

#[test]
fn a_level_is_read_where_loggers_write_it_and_nowhere_else() {
    let input: String = WORDED.iter().map(|(line, _)| format!("{line}\n")).collect();
    let guessed = run(&[], input.clone());
    assert_eq!(guessed.code, Some(0), "{}", guessed.stderr);
    let events = parse_events(&guessed.stdout);
    assert_eq!(events.len(), WORDED.len());
    for ((line, level), event) in WORDED.iter().zip(&events) {
        assert_eq!(event["level"], *level, "{line}");
        assert!(line.contains(event["message"].as_str().unwrap()), "{line}");
    }

    // `--level-from none`: a plain-text line without a header is INFO; a
    // JSON line's own level still counts.
    let json = "{\"level\":\"error\",\"message\":\"x\"}\n";
    let none = run(&["--level-from", "none"], format!("{input}{json}"));
    assert_eq!(none.code, Some(0), "{}", none.stderr);
    let levels: Vec<Value> = parse_events(&none.stdout)
        .iter()
        .map(|event| event["level"].clone())
        .collect();
    // A header's level, or a logfmt `level`, is read, not guessed: it
    // counts either way.
    let mut expected = vec![json!("INFO"); WORDED.len()];
    expected[0] = json!("ERROR");
    expected[2] = json!("CRITICAL");
    expected[3] = json!("DEBUG");
    expected.push(json!("ERROR"));
    assert_eq!(levels, expected);
    assert_eq!(none.summary["processed"], WORDED.len() as u64 + 1);
}

/// A line as each common JSON logger writes it, and what its event holds:
/// level, message, timestamp, logger (`None`: the source's name), and
/// members that go under `data`.
type Convention = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
);

const CONVENTIONS: [Convention; 12] = [
    (
        r#"{"level":50,"time":1796062860031,"pid":4242,"hostname":"web-1","name":"api","msg":"db timeout","err":{"type":"Error"}}"#,
        "ERROR",
        "db timeout",
        "2026-11-30T18:21:00.031Z",
        Some("api"),
        &["pid", "hostname", "err"],
    ),
    (
        r#"{"name":"myapp","hostname":"h","pid":1,"level":30,"msg":"hi","time":"2026-11-30T18:21:00.031Z","v":0}"#,
        "INFO",
        "hi",
        "2026-11-30T18:21:00.031Z",
        Some("myapp"),
        &["hostname", "pid", "v"],
    ),
    (
        r#"{"asctime":"2026-11-30 18:21:00,031","levelname":"WARNING","name":"app.db","message":"slow query"}"#,
        "WARNING",
        "slow query",
        "",
        Some("app.db"),
        &["asctime"],
    ),
    (
        r#"{"@t":"2026-11-30T18:21:00.0310000Z","@mt":"Order {OrderId} failed","@l":"Error","@x":"System.Exception: boom","OrderId":42}"#,
        "ERROR",
        "Order {OrderId} failed",
        "2026-11-30T18:21:00.031Z",
        None,
        &["@x", "OrderId"],
    ),
    (
        r#"{"@timestamp":"2026-11-30T18:21:00.031Z","log.level":"warn","message":"disk low","ecs.version":"1.6.0"}"#,
        "WARNING",
        "disk low",
        "2026-11-30T18:21:00.031Z",
        None,
        &["ecs.version"],
    ),
    (
        r#"{"@timestamp":"2026-11-30T18:21:00.031Z","log":{"level":"error","logger":"app"},"message":"nested"}"#,
        "ERROR",
        "nested",
        "2026-11-30T18:21:00.031Z",
        None,
        &["log"],
    ),
    (
        r#"{"time":"2026-11-30T19:21:00.031+01:00","level":"WARN","msg":"disk","disk":"/var"}"#,
        "WARNING",
        "disk",
        "2026-11-30T18:21:00.031Z",
        None,
        &["disk"],
    ),
    (
        r#"{"level":"error","ts":1796062860.031,"caller":"main.go:12","msg":"db down","error":"timeout"}"#,
        "ERROR",
        "db down",
        "2026-11-30T18:21:00.031Z",
        None,
        &["caller", "error"],
    ),
    (
        r#"{"severity":"NOTICE","message":"started","timestamp":"2026-11-30T18:21:00.031Z"}"#,
        "INFO",
        "started",
        "2026-11-30T18:21:00.031Z",
        None,
        &[],
    ),
    (
        r#"{"message":"Payment failed","context":{},"level":400,"level_name":"ERROR","channel":"app","datetime":"2026-11-30T18:21:00.031+00:00","extra":{}}"#,
        "ERROR",
        "Payment failed",
        "2026-11-30T18:21:00.031Z",
        None,
        &["level_name", "channel", "extra"],
    ),
    (
        r#"{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1796062860031234","PRIORITY":"3","_HOSTNAME":"web-1","SYSLOG_IDENTIFIER":"sshd","_PID":"811","_SYSTEMD_UNIT":"ssh.service","MESSAGE":"kex failed"}"#,
        "ERROR",
        "kex failed",
        "2026-11-30T18:21:00.031Z",
        None,
        &[
            "__CURSOR",
            "_HOSTNAME",
            "SYSLOG_IDENTIFIER",
            "_PID",
            "_SYSTEMD_UNIT",
        ],
    ),
    (
        r#"{"short_message":"gelf says","level":4,"host":"h","_user":"u"}"#,
        "WARNING",
        "gelf says",
        "",
        None,
        &["host", "_user"],
    ),
];

#[test]
fn json_loggers_conventions_map_onto_the_envelope() {
    let input: String = CONVENTIONS.iter().map(|c| format!("{}\n", c.0)).collect();
    let shipped = run(&[], input.clone());
    assert_eq!(shipped.code, Some(0), "{}", shipped.stderr);
    assert_eq!(
        shipped.stderr.lines().count(),
        1,
        "the summary only: {}",
        shipped.stderr
    );
    let events = parse_events(&shipped.stdout);
    assert_eq!(events.len(), CONVENTIONS.len());
    for ((line, level, message, timestamp, logger, data), event) in CONVENTIONS.iter().zip(&events)
    {
        assert_eq!(event["level"], *level, "{line}");
        assert_eq!(event["message"], *message, "{line}");
        if !timestamp.is_empty() {
            assert_eq!(event["timestamp"], *timestamp, "{line}");
        }
        assert_eq!(event["logger"], logger.unwrap_or("stdin"), "{line}");
        let kept: Vec<&str> = event["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = data.to_vec();
        expected.sort_unstable();
        let mut kept = kept;
        kept.sort_unstable();
        assert_eq!(kept, expected, "{line}");
    }
    assert_eq!(events[8]["diagnostics"]["syslog_severity"], "notice");

    // Strict mode takes them all as well-formed events.
    let strict = run(&["--strict-envelope"], input);
    assert_eq!(strict.code, Some(0), "{}", strict.stderr);
    assert_eq!(strict.summary["processed"], CONVENTIONS.len() as u64);
}

#[test]
fn members_named_by_the_user_come_before_the_usual_names() {
    let line = r#"{"text":"hello","sev":"warn","when":"2026-11-30T18:21:00Z","message":"not this","level":"debug"}"#;
    let named = run(
        &[
            "--message-key",
            "text",
            "--level-key",
            "sev",
            "--timestamp-key",
            "when",
        ],
        format!("{line}\n"),
    );
    assert_eq!(named.code, Some(0), "{}", named.stderr);
    let event = &parse_events(&named.stdout)[0];
    assert_eq!(event["message"], "hello");
    assert_eq!(event["level"], "WARNING");
    assert_eq!(event["timestamp"], "2026-11-30T18:21:00.000Z");
    assert_eq!(
        event["data"],
        json!({"message": "not this", "level": "debug"})
    );
}

#[test]
fn json_lines_without_a_message_are_told_of_once() {
    let input = "{\"event\":\"login\",\"user\":\"a\"}\n".repeat(50);
    let shipped = run(&[], input);
    assert_eq!(shipped.code, Some(0), "{}", shipped.stderr);
    let events = parse_events(&shipped.stdout);
    assert_eq!(events.len(), 50);
    assert!(
        events
            .iter()
            .all(|event| event["message"] == "" && event["data"]["user"] == "a")
    );
    let told: Vec<&str> = shipped
        .stderr
        .lines()
        .filter(|line| line.contains("without a message"))
        .collect();
    assert_eq!(told.len(), 1, "{}", shipped.stderr);
    assert_eq!(shipped.summary["processed"], 50);
}

/// Plain-text lines with the headers applications print make events with
/// the header's time (read in a zone five hours west of UTC, with daylight
/// saving time as in New York), level and logger, the rest the message.
#[test]
fn a_plain_text_header_gives_the_time_level_and_logger() {
    let cases = [
        (
            "2026-11-30 13:21:00,031 ERROR [main-1] com.example.Db - db down",
            "2026-11-30T18:21:00.031Z",
            "ERROR",
            "com.example.Db",
            "db down",
            json!({"thread": "main-1"}),
        ),
        (
            "2026-07-30 13:21:00,031 - app.db - WARNING - slow query",
            "2026-07-30T17:21:00.031Z",
            "WARNING",
            "app.db",
            "slow query",
            json!({}),
        ),
        (
            "2026-11-30T18:21:00.5Z INFO started",
            "2026-11-30T18:21:00.500Z",
            "INFO",
            "stdin",
            "started",
            json!({}),
        ),
        (
            "2026/11/30 13:21:00 [crit] 1234#0: out of workers",
            "2026-11-30T18:21:00.000Z",
            "CRITICAL",
            "stdin",
            "1234#0: out of workers",
            json!({}),
        ),
        (
            "[Mon Nov 30 13:21:00 2026] [error] [client 10.0.0.1] denied",
            "2026-11-30T18:21:00.000Z",
            "ERROR",
            "stdin",
            "denied",
            json!({"client": "10.0.0.1"}),
        ),
        (
            "1796062860.031 worker started",
            "2026-11-30T18:21:00.031Z",
            "INFO",
            "stdin",
            "worker started",
            json!({}),
        ),
    ];
    let input: String = cases.iter().map(|case| format!("{}\n", case.0)).collect();
    let shipped = crate::common::run_with_env(&[], &[("TZ", "EST5EDT,M3.2.0,M11.1.0")], input);
    assert_eq!(shipped.code, Some(0), "{}", shipped.stderr);
    let events = parse_events(&shipped.stdout);
    assert_eq!(events.len(), cases.len());
    for ((line, timestamp, level, logger, message, data), event) in cases.iter().zip(&events) {
        assert_eq!(event["timestamp"], *timestamp, "{line}");
        assert_eq!(event["level"], *level, "{line}");
        assert_eq!(event["logger"], *logger, "{line}");
        assert_eq!(event["message"], *message, "{line}");
        assert_eq!(event["data"], *data, "{line}");
    }
    assert_eq!(shipped.summary["processed"], cases.len() as u64);
}

/// One line of each format `--format auto` tells apart, and what its event
/// holds: timestamp, level, logger, message and `data`.
fn formats() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Value,
)> {
    vec![
        (
            "<34>1 2026-11-30T18:21:00.031Z web-1 su 811 ID47 [origin@32473 ip=\"10.0.0.2\"] 'su root' failed",
            "2026-11-30T18:21:00.031Z",
            "CRITICAL",
            "su",
            "'su root' failed",
            json!({"host": "web-1", "app": "su", "pid": 811, "msgid": "ID47", "facility": "auth", "sd": {"origin@32473": {"ip": "10.0.0.2"}}}),
        ),
        (
            "<13>Nov 30 13:21:00 web-1 cron[42]: job done",
            "2026-11-30T18:21:00.000Z",
            "INFO",
            "cron",
            "job done",
            json!({"host": "web-1", "app": "cron", "pid": 42, "facility": "user"}),
        ),
        (
            "Nov 30 13:21:00 web-1 sshd[811]: Accepted publickey for root",
            "2026-11-30T18:21:00.000Z",
            "INFO",
            "sshd",
            "Accepted publickey for root",
            json!({"host": "web-1", "app": "sshd", "pid": 811}),
        ),
        (
            "10.0.0.1 - alice [30/Nov/2026:13:21:00 -0500] \"GET /x?a=1 HTTP/1.1\" 503 512 \"https://ref/\" \"curl/8.5\"",
            "2026-11-30T18:21:00.000Z",
            "ERROR",
            "stdin",
            "GET /x?a=1 HTTP/1.1",
            json!({"client.address": "10.0.0.1", "user.name": "alice", "http.method": "GET", "http.path": "/x?a=1", "http.version": "1.1", "http.status": 503, "http.response.bytes": 512, "http.referer": "https://ref/", "user_agent": "curl/8.5"}),
        ),
        (
            "time=2026-11-30T18:21:00Z level=error msg=\"db \\\"primary\\\" timeout\" component=db retries=3",
            "2026-11-30T18:21:00.000Z",
            "ERROR",
            "stdin",
            "db \"primary\" timeout",
            json!({"component": "db", "retries": 3}),
        ),
        (
            "2026-11-30 13:21:00,031 WARN [main] com.example.Cache - cache cold",
            "2026-11-30T18:21:00.031Z",
            "WARNING",
            "com.example.Cache",
            "cache cold",
            json!({"thread": "main"}),
        ),
    ]
}

#[test]
fn auto_tells_each_line_s_format_and_reads_it() {
    let cases = formats();
    let input: String = cases.iter().map(|case| format!("{}\n", case.0)).collect();
    let zone = [("TZ", "EST5EDT,M3.2.0,M11.1.0")];
    let shipped = crate::common::run_with_env(&[], &zone, input.clone());
    assert_eq!(shipped.code, Some(0), "{}", shipped.stderr);
    assert_eq!(
        shipped.stderr.lines().count(),
        1,
        "the summary only: {}",
        shipped.stderr
    );
    let events = parse_events(&shipped.stdout);
    assert_eq!(events.len(), cases.len());
    for ((line, timestamp, level, logger, message, data), event) in cases.iter().zip(&events) {
        assert_eq!(event["timestamp"], *timestamp, "{line}");
        assert_eq!(event["level"], *level, "{line}");
        assert_eq!(event["logger"], *logger, "{line}");
        assert_eq!(event["message"], *message, "{line}");
        assert_eq!(event["data"], *data, "{line}");
    }
    assert_eq!(events[0]["diagnostics"]["syslog_severity"], Value::Null);
    assert_eq!(shipped.summary["processed"], cases.len() as u64);
}

#[test]
fn a_named_format_reads_every_line_so_and_strict_mode_drops_the_rest() {
    let zone = [("TZ", "UTC")];
    let input = "a=1 b=two\nnot logfmt at all\n{\"message\":\"json\"}\n";
    // Best effort: what is not logfmt is read as plain text, and said.
    let named = crate::common::run_with_env(&["--format", "logfmt"], &zone, input);
    assert_eq!(named.code, Some(0), "{}", named.stderr);
    let events = parse_events(&named.stdout);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["data"], json!({"a": 1, "b": "two"}));
    assert_eq!(events[1]["message"], "not logfmt at all");
    assert_eq!(
        events[2]["message"], "{\"message\":\"json\"}",
        "not read as JSON"
    );
    assert!(
        named.stderr.contains("not logfmt; read as plain text"),
        "{}",
        named.stderr
    );
    // Counted by the format they were not in, and told in the summary.
    assert_eq!(
        named.summary["parse_fallbacks"],
        json!({"json": 0, "logfmt": 2, "syslog": 0, "clf": 0})
    );
    assert!(
        named.stderr.contains("2 read as plain text (not logfmt 2)"),
        "{}",
        named.stderr
    );
    // One pair is logfmt when the user says the line is.
    let one_pair = crate::common::run_with_env(&["--format", "logfmt"], &zone, "msg=hi\n");
    assert_eq!(parse_events(&one_pair.stdout)[0]["message"], "hi");
    assert_eq!(one_pair.summary["parse_fallbacks"]["logfmt"], 0);

    // Strict: only logfmt lines are events; the rest are `invalid`.
    let strict =
        crate::common::run_with_env(&["--format", "logfmt", "--strict-envelope"], &zone, input);
    assert_eq!(strict.code, Some(3), "{}", strict.stderr);
    assert_eq!(strict.summary["processed"], 1);
    assert_eq!(strict.summary["dropped_by_reason"]["invalid"], 2);
    assert!(
        strict.stderr.contains("dropped invalid line: not logfmt"),
        "{}",
        strict.stderr
    );
    // Dropped, so not read as anything.
    assert_eq!(strict.summary["parse_fallbacks"]["logfmt"], 0);

    // Each format by name takes its own line.
    for (format, index) in [
        ("syslog", 0),
        ("syslog", 2),
        ("clf", 3),
        ("logfmt", 4),
        ("text", 5),
    ] {
        let line = formats()[index].0;
        let run = crate::common::run_with_env(
            &["--format", format, "--strict-envelope"],
            &[("TZ", "EST5EDT,M3.2.0,M11.1.0")],
            format!("{line}\n"),
        );
        assert_eq!(run.code, Some(0), "{format}: {}", run.stderr);
        assert_eq!(
            parse_events(&run.stdout)[0]["message"],
            formats()[index].4,
            "{format}"
        );
    }
}

#[test]
fn a_line_that_opens_like_json_and_is_not_is_counted_and_shipped_as_text() {
    let input = "{\"message\":\"cut off\n{\"message\":\"whole\"}\n{not json}\n[1, 2]\nplain\n";
    let run = run(&[], input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let events = parse_events(&run.stdout);
    assert_eq!(events.len(), 5);
    assert_eq!(events[0]["message"], "{\"message\":\"cut off");
    assert_eq!(events[1]["message"], "whole");
    assert_eq!(
        run.summary["parse_fallbacks"],
        json!({"json": 2, "logfmt": 0, "syslog": 0, "clf": 0}),
        "JSON that is not an object, and plain text, are no fallback"
    );
    assert_eq!(
        run.stderr
            .matches("shipped a line as plain text: not json")
            .count(),
        2,
        "{}",
        run.stderr
    );
    // Strict mode drops every line that is not a JSON event instead:
    // nothing falls back.
    let strict = crate::common::run(&["--strict-envelope"], input);
    assert_eq!(strict.summary["parse_fallbacks"]["json"], 0);
    assert_eq!(strict.summary["dropped_by_reason"]["invalid"], 4);
}

/// The README's "What happens to a line" is what shipper does: its lines
/// in give its events out (aside from the time of the last, stamped when
/// read, and the year of the syslog line's, which has none).
#[test]
fn the_readme_shows_what_happens_to_a_line() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("## What happens to a line")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README's section");
    let blocks: Vec<Vec<&str>> = section
        .split("\n\n")
        .filter(|block| block.starts_with("    "))
        .map(|block| block.lines().map(|line| &line[4..]).collect())
        .collect();
    let [lines, events] = &blocks[..] else {
        panic!("two blocks, lines in and events out: {blocks:?}");
    };
    assert_eq!(lines.len(), events.len());
    let input: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let shipped = crate::common::run_with_env(&[], &[("TZ", "UTC")], input);
    let mut out = parse_events(&shipped.stdout);
    for (event, shown) in out.iter_mut().zip(events) {
        let object = event.as_object_mut().unwrap();
        object.remove("context");
        object.remove("diagnostics");
        let mut shown: Value = serde_json::from_str(shown).unwrap();
        let (theirs, ours) = (shown["timestamp"].as_str().unwrap(), &event["timestamp"]);
        if shown["message"] == "GET /static/img/fatal-logo.png 200" {
            shown["timestamp"] = ours.clone();
        } else if shown["logger"] == "su" {
            let year = &ours.as_str().unwrap()[..4];
            shown["timestamp"] = format!("{year}{}", &theirs[4..]).into();
        }
        assert_eq!(*event, shown);
    }
    assert_eq!(out.len(), events.len());
}
