//! The envelope's rules, one test a rule.

use super::*;
use serde_json::Value;
use std::time::{Duration, UNIX_EPOCH};

fn encoder(mode: EnvelopeMode, fields: &[(&str, &str)]) -> Encoder {
    Encoder::new(&config(mode, fields), "box")
}

fn config(mode: EnvelopeMode, fields: &[(&str, &str)]) -> EnvelopeConfig {
    EnvelopeConfig {
        mode,
        max_line_bytes: 64,
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        guess_levels: true,
        format: crate::config::Format::Auto,
        message_key: None,
        level_key: None,
        timestamp_key: None,
    }
}

const READ_AT_MS: u64 = 1_714_564_800_000;

fn line(bytes: &[u8]) -> LineRef<'_> {
    LineRef {
        bytes,
        source: "stdin",
        read_at: UNIX_EPOCH + Duration::from_millis(READ_AT_MS),
        cut_from: None,
        lines: 1,
    }
}

fn encode_with(encoder: &mut Encoder, line: &LineRef) -> Result<Value, Invalid> {
    let mut out = Vec::new();
    encoder.encode(line, &mut out)?;
    Ok(serde_json::from_slice(&out)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", String::from_utf8_lossy(&out))))
}

fn best_effort(bytes: &[u8]) -> Value {
    encode_with(&mut encoder(EnvelopeMode::BestEffort, &[]), &line(bytes)).unwrap()
}

fn strict(bytes: &[u8]) -> Result<Value, Invalid> {
    encode_with(&mut encoder(EnvelopeMode::Strict, &[]), &line(bytes))
}

#[test]
fn plain_text_becomes_the_message() {
    let event = best_effort(b"error: disk \"full\"");
    assert_eq!(event["message"], "error: disk \"full\"");
    assert_eq!(event["level"], "ERROR");
    assert_eq!(
        event["timestamp"], "2024-05-01T12:00:00.000Z",
        "the time it was read"
    );
    // A header's time and level are the event's, and leave the message.
    let headed = best_effort(b"2024-04-30T09:30:00.250-02:00 WARN disk \"full\"");
    assert_eq!(headed["message"], "disk \"full\"");
    assert_eq!(headed["level"], "WARNING");
    assert_eq!(headed["timestamp"], "2024-04-30T11:30:00.250Z");
    assert_eq!(event["logger"], "stdin");
    assert_eq!(event["context"], json!({}));
    assert_eq!(
        event["diagnostics"],
        json!({"host": "box", "source": "stdin"})
    );
    assert_eq!(event["data"], json!({}));
}

#[test]
fn members_are_mapped_and_the_rest_goes_under_data() {
    let event = best_effort(
        br#"{"ts":1714564800.5,"severity":"warn","msg":"slow","name":"db","status":500,"tags":["a"]}"#,
    );
    assert_eq!(event["timestamp"], "2024-05-01T12:00:00.500Z");
    assert_eq!(event["level"], "WARNING");
    assert_eq!(event["message"], "slow");
    assert_eq!(event["logger"], "db");
    assert_eq!(event["data"], json!({"status": 500, "tags": ["a"]}));
}

#[test]
fn the_preferred_name_wins_and_the_other_is_kept() {
    let event = best_effort(
        br#"{"time":"2020-01-01T00:00:00Z","timestamp":"2024-05-01T12:00:00Z","message":"m"}"#,
    );
    assert_eq!(event["timestamp"], "2024-05-01T12:00:00.000Z");
    assert_eq!(event["data"], json!({"time": "2020-01-01T00:00:00Z"}));
}

#[test]
fn a_fapilog_envelope_passes_through_intact() {
    let inner = json!({
        "timestamp": "2024-01-15T10:30:00.123Z",
        "level": "ERROR",
        "message": "User action",
        "logger": "app",
        "context": {"correlation_id": "req-123", "user_id": "u-1"},
        "diagnostics": {"service": "api", "host": "web-01", "pid": 12345},
        "data": {"action": "login", "duration_ms": 42, "nested": {"a": [1, 2]}}
    });
    let wrapped = json!({"log": inner, "schema_version": "1.1"}).to_string();
    let event = best_effort(wrapped.as_bytes());
    for key in ["timestamp", "level", "message", "logger", "context", "data"] {
        assert_eq!(event[key], inner[key], "{key}");
    }
    let mut diagnostics = inner["diagnostics"].clone();
    diagnostics["source"] = json!("stdin");
    assert_eq!(event["diagnostics"], diagnostics, "host kept, source added");
    assert_eq!(strict(wrapped.as_bytes()).unwrap(), event);
}

#[test]
fn invalid_utf8_is_replaced_and_flagged() {
    let event = best_effort(b"caf\xe9 au lait");
    assert_eq!(event["message"], "caf\u{fffd} au lait");
    assert_eq!(event["diagnostics"]["invalid_utf8"], true);
}

#[test]
fn a_cut_line_ends_on_a_character_boundary_and_is_flagged() {
    let mut encoder = encoder(EnvelopeMode::BestEffort, &[]);
    let bytes = "aé€".as_bytes();
    let cut = LineRef {
        cut_from: Some(1000),
        lines: 1,
        ..line(&bytes[..bytes.len() - 1])
    };
    let event = encode_with(&mut encoder, &cut).unwrap();
    assert_eq!(event["message"], "aé");
    assert_eq!(event["diagnostics"]["truncated"], true);
    assert_eq!(event["diagnostics"]["original_length"], 1000);
    assert!(event["diagnostics"].get("invalid_utf8").is_none());
}

#[test]
fn best_effort_keeps_what_does_not_fit_under_data() {
    let event = best_effort(
        br#"{"level":"loud","timestamp":"yesterday","message":42,"context":"ctx","logger":7}"#,
    );
    assert_eq!(event["level"], "INFO");
    assert_eq!(event["timestamp"], "2024-05-01T12:00:00.000Z");
    assert_eq!(event["message"], "42");
    assert_eq!(event["logger"], "stdin");
    assert_eq!(
        event["data"],
        json!({"level": "loud", "timestamp": "yesterday", "context": "ctx", "logger": 7})
    );
}

#[test]
fn json_that_is_not_an_object_is_text() {
    assert_eq!(best_effort(b"[1,2]")["message"], "[1,2]");
    assert_eq!(best_effort(b"{broken")["message"], "{broken");
    assert_eq!(best_effort(br#"{"no":"message"}"#)["message"], "");
}

#[test]
fn strict_mode_rejects_each_kind_of_invalid_line() {
    let cases: &[(&[u8], Invalid)] = &[
        (b"plain text", Invalid::NotJson(String::new())),
        (b"[1]", Invalid::NotObject),
        (b"{\"message\":\"caf\xe9\"}", Invalid::NotUtf8),
        (br#"{"level":"INFO"}"#, Invalid::MissingMessage),
        (br#"{"message":1}"#, Invalid::MessageNotString),
        (
            br#"{"message":"m","level":"loud"}"#,
            Invalid::UnknownLevel("loud".into()),
        ),
        (br#"{"message":"m","level":true}"#, Invalid::LevelNotString),
        (
            br#"{"message":"m","level":42}"#,
            Invalid::UnknownLevel("42".into()),
        ),
        (
            br#"{"message":"m","ts":"soon"}"#,
            Invalid::BadTimestamp("\"soon\"".into()),
        ),
        (
            br#"{"message":"m","data":[]}"#,
            Invalid::NotAnObject("data"),
        ),
    ];
    for (input, expected) in cases {
        let got = strict(input).unwrap_err();
        match (expected, &got) {
            (Invalid::NotJson(_), Invalid::NotJson(_)) => {}
            _ => assert_eq!(&got, expected, "{}", String::from_utf8_lossy(input)),
        }
        assert!(!got.to_string().is_empty());
    }
}

#[test]
fn strict_mode_rejects_a_cut_line() {
    let mut encoder = encoder(EnvelopeMode::Strict, &[]);
    let cut = LineRef {
        cut_from: Some(100),
        lines: 1,
        ..line(br#"{"message":"m"}"#)
    };
    assert_eq!(
        encode_with(&mut encoder, &cut),
        Err(Invalid::TooLong {
            length: 100,
            limit: 64
        })
    );
}

#[test]
fn strict_mode_accepts_a_well_formed_event() {
    let event = strict(br#"{"message":"ok","level":"debug","time":1714564800123}"#).unwrap();
    assert_eq!(event["level"], "DEBUG");
    assert_eq!(event["timestamp"], "2024-05-01T12:00:00.123Z");
}

#[test]
fn fields_are_added_unless_the_input_set_them() {
    let mut encoder = encoder(
        EnvelopeMode::BestEffort,
        &[("env", "prod"), ("app", "x\"y")],
    );
    let event = encode_with(
        &mut encoder,
        &line(br#"{"message":"m","data":{"env":"dev"}}"#),
    )
    .unwrap();
    assert_eq!(event["data"], json!({"env": "dev", "app": "x\"y"}));
    let event = encode_with(&mut encoder, &line(b"text")).unwrap();
    assert_eq!(event["data"], json!({"env": "prod", "app": "x\"y"}));
}

#[test]
fn members_moved_under_data_never_shadow_its_own_keys() {
    let event = best_effort(br#"{"msg":"x","data":{"a":1,"_a":2},"a":3,"b":4}"#);
    assert_eq!(event["data"], json!({"a": 1, "_a": 2, "__a": 3, "b": 4}));
}

#[test]
fn keys_and_text_needing_escapes_stay_valid_json() {
    let event = best_effort(br#"{"msg":"a\"b","q\"k":1,"t\tk":"v\u0001"}"#);
    assert_eq!(event["message"], "a\"b");
    assert_eq!(event["data"], json!({"q\"k": 1, "t\tk": "v\u{1}"}));
    let long = format!("{}\u{1}{}\"", "x".repeat(40), "y".repeat(40));
    let event = best_effort(long.as_bytes());
    assert_eq!(event["message"], long.as_str());
    assert!(needs_escape(long.as_bytes()) && !needs_escape("x".repeat(70).as_bytes()));
}

#[test]
fn renamed_members_and_fields_never_clash() {
    let event = best_effort(br#"{"message":"m","data":{"user":"a"},"user":"b","_user":"c"}"#);
    assert_eq!(
        event["data"],
        json!({"user": "a", "_user": "b", "__user": "c"})
    );
    let mut encoder = encoder(EnvelopeMode::BestEffort, &[("_env", "prod")]);
    let text = br#"{"message":"m","data":{"env":"x"},"env":"y"}"#;
    let mut out = Vec::new();
    encoder.encode(&line(text), &mut out).unwrap();
    let raw = String::from_utf8(out).unwrap();
    assert_eq!(raw.matches("\"_env\"").count(), 1, "one _env only: {raw}");
}

#[test]
fn input_diagnostics_are_never_overwritten() {
    let event =
        best_effort(br#"{"message":"m","diagnostics":{"source":"app.py","invalid_utf8":"no"}}"#);
    assert_eq!(
        event["diagnostics"],
        json!({"source": "app.py", "invalid_utf8": "no", "host": "box"})
    );
}

#[test]
fn raw_mode_ships_bytes_unchanged() {
    let mut encoder = encoder(EnvelopeMode::Raw, &[]);
    let mut out = Vec::new();
    encoder
        .encode(&line(b"\xff not \"json\""), &mut out)
        .unwrap();
    assert_eq!(out, b"\xff not \"json\"");
}

#[test]
fn partial_characters_are_trimmed_only_at_the_end() {
    assert_eq!(trim_partial_char("é".as_bytes()), "é".as_bytes());
    assert_eq!(trim_partial_char(&"aé".as_bytes()[..2]), b"a");
    assert_eq!(trim_partial_char(&"a€".as_bytes()[..3]), b"a");
    assert_eq!(trim_partial_char(&"a😀".as_bytes()[..4]), b"a");
    assert_eq!(trim_partial_char(b"abc"), b"abc");
    assert_eq!(trim_partial_char(b""), b"");
}

/// `{"msg":"m","deep":...}` with `deep` nested `levels` arrays deep
/// around `tail`: the line nests `levels + 1` levels.
fn deep_line(levels: usize, tail: &str) -> String {
    format!(
        r#"{{"msg":"m","deep":{}{tail}{}}}"#,
        "[".repeat(levels),
        "]".repeat(levels)
    )
}

#[test]
fn strict_mode_drops_what_json_readers_refuse_and_says_where() {
    let deep = deep_line(10_000, "");
    let cases: &[(&[u8], &str)] = &[
        (br#"{"msg":"\ud800 x"}"#, r"lone surrogate \ud800 at byte 8"),
        (br#"{"msg":"\udc00"}"#, r"lone surrogate \udc00 at byte 8"),
        (
            br#"{"msg":"\ud800\u0041"}"#,
            r"lone surrogate \ud800 at byte 8",
        ),
        (
            br#"{"msg":"m","\ud800":1}"#,
            r"lone surrogate \ud800 at byte 12",
        ),
        (
            br#"{"msg":"m","n":1e999999}"#,
            "number out of range at byte 15",
        ),
        (
            br#"{"msg":"m","n":[-1e400]}"#,
            "number out of range at byte 16",
        ),
        (deep.as_bytes(), "nested deeper than 126 levels at byte 143"),
    ];
    for (input, reason) in cases {
        let got = strict(input).unwrap_err();
        assert!(
            matches!(got, Invalid::Unreadable(_)),
            "{got:?} for {}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(got.to_string(), *reason);
    }
}

#[test]
fn best_effort_replaces_a_lone_surrogate_and_flags_it() {
    let event = best_effort(br#"{"msg":"\ud800 x \ud83d\ude00","\udc00k":"\ud800\u0041"}"#);
    assert_eq!(event["message"], "\u{fffd} x \u{1f600}");
    assert_eq!(event["data"], json!({"\u{fffd}k": "\u{fffd}A"}));
    assert_eq!(event["diagnostics"]["invalid_escape"], true);
    assert!(event["diagnostics"].get("number_out_of_range").is_none());
    let clean = best_effort(br#"{"msg":"\ud83d\ude00"}"#);
    assert!(clean["diagnostics"].get("invalid_escape").is_none());
}

#[test]
fn best_effort_keeps_a_number_out_of_range_as_its_text() {
    let event = best_effort(br#"{"msg":"m","n":1e999999,"c":[-1e400,1e5],"ts":1e999}"#);
    assert_eq!(
        event["data"],
        json!({"n": "1e999999", "c": ["-1e400", 100000.0], "ts": "1e999"})
    );
    assert_eq!(event["diagnostics"]["number_out_of_range"], true);
    assert_eq!(event["timestamp"], "2024-05-01T12:00:00.000Z");
}

#[test]
fn best_effort_keeps_nesting_too_deep_as_a_string() {
    let deep = deep_line(10_000, r#"{"k":"\ud800"}"#);
    let event = best_effort(deep.as_bytes());
    let mut value = &event["data"]["deep"];
    for _ in 0..fields::LINE_DEPTH - 1 {
        value = &value[0];
    }
    let kept = 10_000 - (fields::LINE_DEPTH - 1);
    let text = format!(
        r#"{}{{"k":"\ud800"}}{}"#,
        "[".repeat(kept),
        "]".repeat(kept)
    );
    assert!(
        value.as_str() == Some(text.as_str()),
        "the container past the limit, as text"
    );
    assert_eq!(event["diagnostics"]["nested_too_deep"], true);
    assert!(event["diagnostics"].get("invalid_escape").is_none());
    let value = &deep[r#"{"msg":"m","deep":"#.len()..deep.len() - 1];
    let context = format!(r#"{{"msg":"m","context":{{"a":1,"deep":{value}}}}}"#);
    let event = best_effort(context.as_bytes());
    assert_eq!(event["context"]["a"], 1, "the context keeps its place");
    assert!(event["context"]["deep"][0].is_array());
    assert_eq!(event["diagnostics"]["nested_too_deep"], true);
}

#[test]
fn a_line_at_the_depth_limit_ships_whole_in_either_mode() {
    let line = deep_line(fields::LINE_DEPTH - 1, "1");
    let event = strict(line.as_bytes()).unwrap();
    assert_eq!(best_effort(line.as_bytes()), event);
    assert!(event["diagnostics"].get("nested_too_deep").is_none());
    let over = deep_line(fields::LINE_DEPTH, "1");
    assert!(matches!(
        strict(over.as_bytes()),
        Err(Invalid::Unreadable(Edge::TooDeep { .. }))
    ));
}

#[test]
fn the_level_of_a_repaired_line_is_its_own() {
    let line = br#"{"msg":"ERROR \ud800","n":1e999,"level":"debug"}"#;
    assert_eq!(
        Levels::guessing().of(line),
        Level::Debug,
        "not a word of its text"
    );
}

/// A trace standing alone is an error's event, for `--protect-level` at
/// intake as for the envelope; a trace under a log line keeps its level.
#[test]
fn a_multi_line_event_that_is_a_trace_of_its_own_is_an_error() {
    let alone = b"Traceback (most recent call last):\n  File \"a.py\"\nKeyError: 1";
    assert_eq!(Levels::guessing().of(alone), Level::Error);
    assert_eq!(
        Levels::guessing().of(b"Traceback (most recent call last):"),
        Level::Info
    );
    let under = b"WARN retrying\n  attempt 2";
    assert_eq!(Levels::guessing().of(under), Level::Warning);
    let mut encoder = encoder(EnvelopeMode::BestEffort, &[]);
    let line = LineRef {
        lines: 3,
        ..line(alone)
    };
    let event = encode_with(&mut encoder, &line).unwrap();
    assert_eq!(event["level"], "ERROR");
    assert_eq!(event["diagnostics"]["lines"], 3);
    assert_eq!(event["data"]["error"]["type"], "KeyError");
    assert_eq!(event["data"]["error"]["message"], "1");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The scan that tells whether a string needs escaping finds every
        /// control character, quote and backslash, wherever it stands, and
        /// nothing else (bytes of UTF-8 included).
        #[test]
        fn the_escape_scan_agrees_with_a_byte_by_byte_look(
            clean in proptest::collection::vec(
                (0x20u8..=0xff).prop_filter("plain", |byte| !matches!(byte, b'"' | b'\\')),
                0..80,
            ),
            special in proptest::option::of(prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x20]),
            at in any::<usize>(),
        ) {
            let mut bytes = clean;
            if let Some(special) = special {
                bytes.insert(at % (bytes.len() + 1), special);
            }
            prop_assert_eq!(needs_escape(&bytes), special.is_some());
        }

        /// Whatever the bytes, best-effort mode writes one valid JSON object
        /// with the seven envelope members and no newline.
        #[test]
        fn best_effort_always_writes_one_event(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let bytes: Vec<u8> = bytes.into_iter().filter(|&b| b != b'\n').collect();
            let mut encoder = encoder(EnvelopeMode::BestEffort, &[("k", "v")]);
            let mut out = Vec::new();
            encoder.encode(&line(&bytes), &mut out).unwrap();
            prop_assert!(!out.contains(&b'\n'));
            let event: Value = serde_json::from_slice(&out).unwrap();
            for key in ["timestamp", "level", "message", "logger", "context", "diagnostics", "data"] {
                prop_assert!(event.get(key).is_some(), "{} missing", key);
            }
        }

        /// Lines with lone surrogates, numbers out of range and deep
        /// nesting, whole or broken: best-effort mode ships an event
        /// serde_json reads (`encode_with` reads it), strict mode that or
        /// nothing.
        #[test]
        fn events_are_always_read_by_serde_json(
            pieces in proptest::collection::vec(prop::sample::select(vec![
                r#""\ud800""#, r#""\udc00 \ud83d\ude00""#, r#"{"\udbff":1}"#, "1e999", "-1e400",
                "1.5e300", r#""m""#, "[", "]", "{", "}", ",", r#""k":"#, "[[[[[[[[[[[[[[[[[[[[",
                "]]]]]]]]]]]]]]]]]]]]", r#"{"k":{"k":{"k":{"k":{"k":"#, "}}}}}",
            ]), 0..40),
        ) {
            let text = format!(r#"{{"msg":"m","v":[{}]}}"#, pieces.concat());
            best_effort(text.as_bytes());
            let _ = strict(text.as_bytes());
            let wrapped = format!(r#"{{"log":{{"message":"m","data":{text}}},"schema_version":"1.1"}}"#);
            best_effort(wrapped.as_bytes());
        }

        #[test]
        fn json_objects_keep_every_member(keys in proptest::collection::btree_map("[a-z@]{1,10}", 0u32..1000, 0..8)) {
            let object: serde_json::Map<String, Value> = keys.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            let text = Value::Object(object).to_string();
            let event = best_effort(text.as_bytes());
            let kept = event["data"].as_object().unwrap().len();
            let mapped = keys.keys().filter(|k| Names::default().role(k).is_some()).count();
            prop_assert!(kept + mapped >= keys.len());
        }
    }
}

#[test]
fn a_severity_the_five_levels_merge_is_kept_for_syslog() {
    for (line, level, kept) in [
        (
            &br#"{"level":"notice","message":"m"}"#[..],
            "INFO",
            Some("notice"),
        ),
        (
            br#"{"severity":"EMERGENCY","message":"m"}"#,
            "CRITICAL",
            Some("emerg"),
        ),
        (b"ALERT: the disk is gone", "CRITICAL", Some("alert")),
        (br#"{"level":"info","message":"m"}"#, "INFO", None),
        (b"plain words", "INFO", None),
    ] {
        let event = best_effort(line);
        assert_eq!(event["level"], level, "{event}");
        assert_eq!(
            event["diagnostics"]["syslog_severity"].as_str(),
            kept,
            "{event}"
        );
    }
    let given =
        best_effort(br#"{"level":"alert","message":"m","diagnostics":{"syslog_severity":"x"}}"#);
    assert_eq!(
        given["diagnostics"]["syslog_severity"], "x",
        "the input's own wins"
    );
    let strict = strict(br#"{"level":"notice","message":"m"}"#).unwrap();
    assert_eq!(strict["diagnostics"]["syslog_severity"], "notice");
}

/// What the text formats' parsers' tests share.
pub(super) mod text_formats {
    use std::borrow::Cow;

    use crate::envelope::dates::Clock;
    use crate::envelope::parsed::{Field, Parsed};

    /// 2026-11-30T18:21:00Z.
    pub(crate) const AT: i64 = 1_796_062_860_000;

    /// A clock an hour east of UTC, at `AT`.
    pub(crate) fn clock() -> Clock {
        Clock::fixed(3600, AT)
    }

    pub(crate) fn text(value: &str) -> Field<'_> {
        Field::Text(Cow::Borrowed(value))
    }

    /// `data` as (key, field) pairs with borrowed keys, for comparing.
    pub(crate) fn data<'a>(parsed: &'a Parsed<'a>) -> Vec<(&'a str, Field<'a>)> {
        parsed
            .data
            .iter()
            .map(|(key, value)| (key.as_ref(), value.clone()))
            .collect()
    }

    /// `line` with each edit made: at a char index (modulo the length), a
    /// char put in (`Some`) or taken out (`None`).
    pub(crate) fn mutated(line: &str, edits: &[(usize, Option<char>)]) -> String {
        let mut chars: Vec<char> = line.chars().collect();
        for &(at, edit) in edits {
            let at = at % (chars.len() + 1);
            match edit {
                Some(char) => chars.insert(at, char),
                None if at < chars.len() => {
                    chars.remove(at);
                }
                None => {}
            }
        }
        chars.into_iter().collect()
    }
}

#[test]
fn line_times_share_their_second_and_keep_their_milliseconds() {
    let mut encoder = encoder(EnvelopeMode::BestEffort, &[]);
    for (text, written) in [
        ("2026-11-30T18:21:00.031Z a", "2026-11-30T18:21:00.031Z"),
        ("2026-11-30T18:21:00.5Z b", "2026-11-30T18:21:00.500Z"),
        ("2026-11-30T18:21:00.999Z c", "2026-11-30T18:21:00.999Z"),
        ("2026-11-30T18:21:01Z d", "2026-11-30T18:21:01.000Z"),
        ("1969-12-31T23:59:59.999Z e", "1969-12-31T23:59:59.999Z"),
        ("1969-12-31T23:59:59.001Z f", "1969-12-31T23:59:59.001Z"),
    ] {
        let event = encode_with(&mut encoder, &line(text.as_bytes())).unwrap();
        assert_eq!(event["timestamp"], written, "{text}");
    }
}

#[test]
fn a_level_word_opening_the_message_is_the_level_where_the_format_states_none() {
    let openssh = best_effort(b"Dec 10 09:11:44 LabSZ sshd[24453]: error: Received disconnect");
    assert_eq!(openssh["level"], "ERROR");
    assert_eq!(openssh["message"], "error: Received disconnect");
    let logfmt = best_effort(b"msg=\"fatal: out of memory\" pid=3");
    assert_eq!(logfmt["level"], "CRITICAL");
    // A PRI states the level, and a word further in is not one.
    assert_eq!(
        best_effort(b"<30>Oct 11 22:14:15 host su: error: x")["level"],
        "INFO"
    );
    assert_eq!(
        best_effort(b"Oct 11 22:14:15 host su: no error: x")["level"],
        "INFO"
    );
    // Not guessed when guessing is off.
    let mut config = config(EnvelopeMode::BestEffort, &[]);
    config.guess_levels = false;
    let mut unguessed = Encoder::new(&config, "box");
    let event = encode_with(
        &mut unguessed,
        &line(b"Dec 10 09:11:44 LabSZ sshd[1]: error: x"),
    )
    .unwrap();
    assert_eq!(event["level"], "INFO");
}
