//! A JSON object's members found in one pass over its text, on the hot
//! path of every JSON line. It accepts only what serde_json accepts
//! (RFC 8259), and gives up, leaving the line to serde_json, on anything it
//! does not settle itself: a key with escapes that do not decode, or values
//! nested deeper than `MAX_DEPTH`. Strings, most of a log line, are crossed
//! a word (8 bytes) at a time instead of byte by byte.

use std::borrow::Cow;

use super::fields::{Members, Raw};

/// Nesting this deep is left to serde_json.
const MAX_DEPTH: usize = 64;

/// The members of the object `text` holds, keys decoded and values as
/// their exact text; `None` when `text` is not one JSON object with only
/// whitespace around it, or when it is one this scanner leaves to
/// serde_json.
pub(super) fn object(text: &str) -> Option<Members<'_>> {
    let mut scan = Scanner {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    scan.skip_whitespace();
    if !scan.eat(b'{') {
        return None;
    }
    let mut members = Vec::with_capacity(8);
    scan.skip_whitespace();
    if !scan.eat(b'}') {
        loop {
            scan.skip_whitespace();
            let key = scan.key()?;
            scan.skip_whitespace();
            if !scan.eat(b':') {
                return None;
            }
            scan.skip_whitespace();
            let start = scan.at;
            scan.value(1)?;
            members.push((key, Raw(&text[start..scan.at])));
            scan.skip_whitespace();
            if scan.eat(b',') {
                continue;
            }
            if scan.eat(b'}') {
                break;
            }
            return None;
        }
    }
    scan.skip_whitespace();
    (scan.at == scan.bytes.len()).then_some(members)
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// A key: borrowed when it has no escapes, else decoded by serde_json,
    /// which refuses what a key may not hold (a lone surrogate).
    fn key(&mut self) -> Option<Cow<'a, str>> {
        let start = self.at;
        if !self.eat(b'"') {
            return None;
        }
        let escaped = self.string_rest()?;
        let quoted = &self.text[start..self.at];
        if escaped {
            serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(&quoted[1..quoted.len() - 1]))
        }
    }

    /// The rest of a string after its opening quote, up to and past its
    /// closing one. Returns whether it had escapes.
    #[inline(always)]
    fn string_rest(&mut self) -> Option<bool> {
        let mut escaped = false;
        loop {
            let at = next_special(self.bytes, self.at)?;
            self.at = at + 1;
            match self.bytes[at] {
                b'"' => return Some(escaped),
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                // A control character, which a string may not hold raw.
                _ => return None,
            }
        }
    }

    /// What follows a backslash, as serde_json checks it in a value: one
    /// of the simple escapes, or `u` and four hex digits.
    fn escape(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
            b'u' => {
                let hex = self.bytes.get(self.at + 1..self.at + 5)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                self.at += 5;
            }
            _ => return None,
        }
        Some(())
    }

    /// One value of any kind, `depth` levels down.
    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.at += 1;
                self.string_rest().map(drop)
            }
            b'{' => self.container(b'}', true, depth + 1),
            b'[' => self.container(b']', false, depth + 1),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// An object (members with keys) or an array, after its opening byte.
    fn container(&mut self, close: u8, keyed: bool, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1;
        self.skip_whitespace();
        if self.eat(close) {
            return Some(());
        }
        loop {
            self.skip_whitespace();
            if keyed {
                if !self.eat(b'"') {
                    return None;
                }
                self.string_rest()?;
                self.skip_whitespace();
                if !self.eat(b':') {
                    return None;
                }
                self.skip_whitespace();
            }
            self.value(depth)?;
            self.skip_whitespace();
            if self.eat(b',') {
                continue;
            }
            return self.eat(close).then_some(());
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let found = self.bytes[self.at..].starts_with(word);
        self.at += if found { word.len() } else { 0 };
        found.then_some(())
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.') {
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Where the next quote, backslash or control character is from `at`,
/// looking a word (8 bytes) at a time.
#[inline(always)]
fn next_special(bytes: &[u8], mut at: usize) -> Option<usize> {
    while at + 8 <= bytes.len() {
        let word: [u8; 8] = bytes[at..at + 8].try_into().expect("8 bytes");
        let found = special(u64::from_le_bytes(word));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = bytes[at..]
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
