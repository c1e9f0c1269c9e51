//! A JSON object's members found in one pass over its text, on the hot
//! path of every JSON line. It accepts only what serde_json accepts
//! (RFC 8259), and gives up, leaving the line to serde_json, on anything it
//! does not settle itself: a key with escapes that do not decode, or values
//! nested deeper than `MAX_DEPTH`. Strings, most of a log line, are crossed
//! a word (8 bytes) at a time instead of byte by byte.
//!
//! Each step takes the position it starts at and returns the one after
//! what it read, or `None` where the text is not JSON.

use std::borrow::Cow;

use super::fields::{Members, Raw};

/// Nesting this deep is left to serde_json.
const MAX_DEPTH: usize = 64;

/// The members of the object `text` holds, keys decoded and values as
/// their exact text; `None` when `text` is not one JSON object with only
/// whitespace around it, or when it is one this scanner leaves to
/// serde_json.
pub(super) fn object(text: &str) -> Option<Members<'_>> {
    let bytes = text.as_bytes();
    let mut at = expect(bytes, whitespace(bytes, 0), b'{')?;
    let mut members = Vec::with_capacity(8);
    at = whitespace(bytes, at);
    if bytes.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            let start = expect(bytes, at, b'"')?;
            let (end, escaped) = string(bytes, start)?;
            let key = if escaped {
                Cow::Owned(serde_json::from_str::<String>(text.get(start - 1..end)?).ok()?)
            } else {
                Cow::Borrowed(text.get(start..end - 1)?)
            };
            at = whitespace(bytes, expect(bytes, whitespace(bytes, end), b':')?);
            let start = at;
            at = value(bytes, at, 1)?;
            members.push((key, Raw(text.get(start..at)?)));
            at = whitespace(bytes, at);
            match bytes.get(at)? {
                b',' => at = whitespace(bytes, at + 1),
                b'}' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (whitespace(bytes, at) == bytes.len()).then_some(members)
}

/// Past `byte`, if it is at `at`.
#[inline(always)]
fn expect(bytes: &[u8], at: usize, byte: u8) -> Option<usize> {
    (bytes.get(at) == Some(&byte)).then_some(at + 1)
}

/// Past any whitespace at `at`.
#[inline(always)]
fn whitespace(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// A string from just after its opening quote: the position past its
/// closing quote, and whether it had escapes.
#[inline(always)]
fn string(bytes: &[u8], mut at: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        let found = next_special(bytes, at)?;
        match bytes[found] {
            b'"' => return Some((found + 1, escaped)),
            b'\\' => {
                escaped = true;
                at = escape(bytes, found + 1)?;
            }
            // A control character, which a string may not hold raw.
            _ => return None,
        }
    }
}

/// What follows a backslash, as serde_json checks it in a value: one of
/// the simple escapes, or `u` and four hex digits.
fn escape(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(at + 1),
        b'u' => {
            let hex = bytes.get(at + 1..at + 5)?;
            hex.iter().all(u8::is_ascii_hexdigit).then_some(at + 5)
        }
        _ => None,
    }
}

/// One value of any kind, `depth` levels down.
fn value(bytes: &[u8], at: usize, depth: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => string(bytes, at + 1).map(|(end, _)| end),
        b'{' => container(bytes, at + 1, b'}', depth + 1),
        b'[' => container(bytes, at + 1, b']', depth + 1),
        b't' => literal(bytes, at, b"true"),
        b'f' => literal(bytes, at, b"false"),
        b'n' => literal(bytes, at, b"null"),
        b'-' | b'0'..=b'9' => number(bytes, at),
        _ => None,
    }
}

/// An object (members with keys, closed by `}`) or an array (closed by
/// `]`), from just after its opening byte.
fn container(bytes: &[u8], at: usize, close: u8, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut at = whitespace(bytes, at);
    if bytes.get(at) == Some(&close) {
        return Some(at + 1);
    }
    loop {
        if close == b'}' {
            let (end, _) = string(bytes, expect(bytes, at, b'"')?)?;
            at = whitespace(bytes, expect(bytes, whitespace(bytes, end), b':')?);
        }
        at = whitespace(bytes, value(bytes, at, depth)?);
        match bytes.get(at)? {
            b',' => at = whitespace(bytes, at + 1),
            &byte if byte == close => return Some(at + 1),
            _ => return None,
        }
    }
}

fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    bytes[at..].starts_with(word).then_some(at + word.len())
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
fn number(bytes: &[u8], mut at: usize) -> Option<usize> {
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    at = match bytes.get(at)? {
        b'0' => at + 1,
        b'1'..=b'9' => digits(bytes, at + 1),
        _ => return None,
    };
    if bytes.get(at) == Some(&b'.') {
        at = some_digits(bytes, at + 1)?;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        at = some_digits(bytes, at)?;
    }
    Some(at)
}

fn digits(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b'0'..=b'9') = bytes.get(at) {
        at += 1;
    }
    at
}

fn some_digits(bytes: &[u8], at: usize) -> Option<usize> {
    let end = digits(bytes, at);
    (end > at).then_some(end)
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Where the next quote, backslash or control character is from `at`,
/// looking a word (8 bytes) at a time.
#[inline(always)]
fn next_special(bytes: &[u8], mut at: usize) -> Option<usize> {
    while let Some(word) = bytes.get(at..at + 8) {
        let found = special(u64::from_le_bytes(word.try_into().ok()?));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = bytes
        .get(at..)?
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(at + rest)
}

/// The bytes of `word` (little-endian) that are a quote, a backslash or a
/// control character, as their high bits: exact up to the first one, which
/// is all that is asked of it. A byte is flagged when `byte - n` borrows
/// and the byte had no high bit: below `n`, or for `n` = 1 after an xor,
/// equal.
fn special(word: u64) -> u64 {
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    (below(quote, 1) | below(backslash, 1) | below(word, 0x20)) & (ONES * 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// serde_json's reading of `text` as an object, for comparison.
    fn serde(text: &str) -> Option<Vec<(String, String)>> {
        let members = super::super::fields::serde_members(text).ok()?;
        Some(
            members
                .into_iter()
                .map(|(key, value)| (key.into_owned(), value.get().to_owned()))
                .collect(),
        )
    }

    fn scanned(text: &str) -> Option<Vec<(String, String)>> {
        object(text).map(|members| {
            members
                .into_iter()
                .map(|(key, value)| (key.into_owned(), value.get().to_owned()))
                .collect()
        })
    }

    #[test]
    fn members_are_found_with_their_exact_text() {
        let text = r#" { "a" : 1 , "b\"q":[1, {"x": null}] ,"c":"s\u00e9\n","d":-0.5e+3,"e":{}} "#;
        assert_eq!(scanned(text), serde(text));
        assert_eq!(
            scanned(text).unwrap()[1],
            ("b\"q".into(), r#"[1, {"x": null}]"#.into())
        );
    }

    #[test]
    fn what_serde_json_refuses_is_refused() {
        for bad in [
            "",
            "{",
            "{}x",
            "[]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":-}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12g4"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":[1,]}"#,
            r#"{"a":{"b"}}"#,
            r#"{a:1}"#,
            r#"{"\ud800":1}"#,
        ] {
            assert_eq!(scanned(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_word_flags_its_first_special_byte() {
        for (text, first) in [
            (*b"abcdefgh", None),
            (*b"abc\"efgh", Some(3)),
            (*b"abcdefg\\", Some(7)),
            (*b"\x1fbcdefgh", Some(0)),
            (*b"ab\xc3\xa9\x7f \"x", Some(6)),
        ] {
            let found = special(u64::from_le_bytes(text));
            let at = (found != 0).then(|| found.trailing_zeros() / 8);
            assert_eq!(at, first, "{text:?}");
        }
    }

    #[test]
    fn deep_nesting_is_left_to_serde_json() {
        let deep = format!(r#"{{"a":{}{}}}"#, "[".repeat(100), "]".repeat(100));
        assert_eq!(scanned(&deep), None);
        assert!(serde(&deep).is_some());
        let shallow = format!(r#"{{"a":{}{}}}"#, "[".repeat(60), "]".repeat(60));
        assert_eq!(scanned(&shallow), serde(&shallow));
    }

    /// Pieces of JSON, good and bad, for texts that are near misses.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            " ",
            "\t",
            "\"",
            "\"k\"",
            "\"v\\\"q\"",
            "\\",
            "\\u",
            "00e9",
            "0",
            "-",
            "1",
            "12",
            ".",
            "5",
            "e",
            "E",
            "+",
            "true",
            "fals",
            "null",
            "x",
            "\u{1}",
            "\u{e9}",
            "\"\\ud83d\\ude00\"",
            "\"\\ud800\"",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Short of deep nesting, the scanner reads what serde_json reads,
        /// the same, and refuses what it refuses.
        #[test]
        fn the_scanner_agrees_with_serde_json(pieces in prop::collection::vec(piece(), 0..24)) {
            let text = format!("{{{}", pieces.concat());
            prop_assert_eq!(scanned(&text), serde(&text), "{}", text);
        }

        /// Objects serde_json writes are all read, and the same.
        #[test]
        fn objects_serde_json_writes_are_read(value in arbitrary_json()) {
            let text = serde_json::json!({"v": value, "w": [value.clone()]}).to_string();
            prop_assert_eq!(scanned(&text), serde(&text));
            let pretty = serde_json::to_string_pretty(&serde_json::json!({"v": value})).unwrap();
            prop_assert_eq!(scanned(&pretty), serde(&pretty));
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }
}
