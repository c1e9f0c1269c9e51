//! A JSON object's members found in one pass over its text, on the hot
//! path of every JSON line. It reads exactly what serde_json reads into a
//! value: RFC 8259's grammar, and within it none of the edges serde_json
//! refuses (a lone surrogate escape, a number beyond a 64-bit float, nesting
//! past a limit), which it finds and names instead. Strings, most of a log
//! line, are crossed a word (8 bytes) at a time; the edges cost only where a
//! `\u` escape, an exponent or deep nesting appears.
//!
//! Each step takes the position it starts at and returns the one after
//! what it read, or `None` where the text is not JSON.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::edge::Edge;

/// The text of one JSON value, known to be valid JSON that serde_json
/// reads: only the scanner makes one (and, in tests, serde_json itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raw<'a>(pub(super) &'a str);

impl<'a> Raw<'a> {
    pub(crate) fn get(self) -> &'a str {
        self.0
    }
}

/// The members of one JSON object, in input order.
pub(crate) type Members<'a> = Vec<(Cow<'a, str>, Raw<'a>)>;

/// The deepest nesting serde_json reads by default: its recursion limit of
/// 128 stops at the 128th level.
pub(super) const READER_DEPTH: usize = 127;

/// A number below ten to this power is well within a 64-bit float's range
/// (up to 1.8e308), however it is read.
const SAFE_SCALE: i64 = 300;

/// What a text turned out to be.
#[derive(Debug)]
pub(super) enum Scanned<'a> {
    /// One JSON object that serde_json reads too: its members, keys decoded
    /// and values as their exact text.
    Object(Members<'a>),
    /// One JSON object by the grammar, holding what serde_json refuses:
    /// every such place, in order.
    Refused(Vec<Edge>),
    /// Not one JSON object with only whitespace around it.
    NotObject,
}

/// Reads `text` as one JSON object, with containers nested deeper than
/// `depth` levels (the object itself is the first) counted as edges.
pub(super) fn object(text: &str, depth: usize) -> Scanned<'_> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        depth,
        edges: Vec::new(),
    };
    match scanner.object() {
        None => Scanned::NotObject,
        Some(_) if !scanner.edges.is_empty() => Scanned::Refused(scanner.edges),
        Some(members) => Scanned::Object(members),
    }
}

/// One pass over one text.
struct Scanner<'a> {
    /// The text scanned.
    text: &'a str,
    /// Its bytes, which the scanner steps through.
    bytes: &'a [u8],
    /// Containers nested deeper than this are edges.
    depth: usize,
    /// The edges found so far, in order.
    edges: Vec<Edge>,
}

impl<'a> Scanner<'a> {
    /// The members of the one object the text holds, with only whitespace
    /// around it.
    fn object(&mut self) -> Option<Members<'a>> {
        let bytes = self.bytes;
        let mut at = expect(bytes, whitespace(bytes, 0), b'{')?;
        let mut members = Vec::with_capacity(16);
        at = whitespace(bytes, at);
        if bytes.get(at) == Some(&b'}') {
            at += 1;
        } else {
            loop {
                let (key, end) = self.key(at)?;
                at = whitespace(bytes, expect(bytes, whitespace(bytes, end), b':')?);
                let start = at;
                at = self.value(at, 1)?;
                members.push((key, Raw(self.text.get(start..at)?)));
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

    /// A key from its opening quote: its text (borrowed when it has no
    /// escapes), and the position past it.
    #[inline(always)]
    fn key(&mut self, at: usize) -> Option<(Cow<'a, str>, usize)> {
        let start = expect(self.bytes, at, b'"')?;
        let edges = self.edges.len();
        let (end, escaped) = self.string(start)?;
        let key = if !escaped {
            Cow::Borrowed(self.text.get(start..end - 1)?)
        } else if self.edges.len() > edges {
            // The line is refused, so this key is never read.
            Cow::Borrowed("")
        } else {
            Cow::Owned(serde_json::from_str::<String>(self.text.get(at..end)?).ok()?)
        };
        Some((key, end))
    }

    /// A string from just after its opening quote: the position past its
    /// closing quote, and whether it had escapes.
    #[inline(always)]
    fn string(&mut self, mut at: usize) -> Option<(usize, bool)> {
        let mut escaped = false;
        loop {
            let found = next_special(self.bytes, at)?;
            match self.bytes[found] {
                b'"' => return Some((found + 1, escaped)),
                b'\\' => {
                    escaped = true;
                    at = self.escape(found + 1)?;
                }
                // A control character, which a string may not hold raw.
                _ => return None,
            }
        }
    }

    /// What follows a backslash: one of the simple escapes, or `u` and four
    /// hex digits (a surrogate with its pair, or an edge).
    fn escape(&mut self, at: usize) -> Option<usize> {
        match self.bytes.get(at)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(at + 1),
            b'u' => match hex(self.bytes, at + 1)? {
                unit @ 0xd800..=0xdfff => Some(self.surrogate(at - 1, unit)),
                _ => Some(at + 5),
            },
            _ => None,
        }
    }

    /// Past the surrogate escape at `at` and the low half that pairs it, or
    /// an edge: a high half alone, or a low half first.
    #[cold]
    fn surrogate(&mut self, at: usize, unit: u16) -> usize {
        let end = at + 6;
        let paired = (0xd800..=0xdbff).contains(&unit)
            && self.bytes.get(end..end + 2) == Some(&b"\\u"[..])
            && hex(self.bytes, end + 2).is_some_and(|low| (0xdc00..=0xdfff).contains(&low));
        if paired {
            return end + 6;
        }
        self.edges.push(Edge::LoneSurrogate { at, unit });
        end
    }

    /// One value of any kind, `depth` levels down.
    fn value(&mut self, at: usize, depth: usize) -> Option<usize> {
        match self.bytes.get(at)? {
            b'"' => self.string(at + 1).map(|(end, _)| end),
            b'{' => self.container(at, b'}', depth + 1),
            b'[' => self.container(at, b']', depth + 1),
            b't' => literal(self.bytes, at, b"true"),
            b'f' => literal(self.bytes, at, b"false"),
            b'n' => literal(self.bytes, at, b"null"),
            b'-' | b'0'..=b'9' => self.number(at),
            _ => None,
        }
    }

    /// An object (members with keys, closed by `}`) or an array (closed by
    /// `]`) opening at `at`, `depth` levels down.
    fn container(&mut self, at: usize, close: u8, depth: usize) -> Option<usize> {
        if depth > self.depth {
            return self.too_deep(at);
        }
        let bytes = self.bytes;
        let mut at = whitespace(bytes, at + 1);
        if bytes.get(at) == Some(&close) {
            return Some(at + 1);
        }
        loop {
            if close == b'}' {
                let (end, _) = self.string(expect(bytes, at, b'"')?)?;
                at = whitespace(bytes, expect(bytes, whitespace(bytes, end), b':')?);
            }
            at = whitespace(bytes, self.value(at, depth)?);
            match bytes.get(at)? {
                b',' => at = whitespace(bytes, at + 1),
                &byte if byte == close => return Some(at + 1),
                _ => return None,
            }
        }
    }

    /// Past a container nested too deep, which is an edge if it is JSON.
    /// serde_json finds its end: skipping a value, it keeps its own stack
    /// rather than recursing, and has no depth limit.
    #[cold]
    fn too_deep(&mut self, at: usize) -> Option<usize> {
        let mut reader = serde_json::Deserializer::from_str(self.text.get(at..)?);
        let end = at + <&RawValue>::deserialize(&mut reader).ok()?.get().len();
        self.edges.push(Edge::TooDeep {
            at,
            end,
            limit: self.depth,
        });
        Some(end)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, an edge if
    /// it is beyond a 64-bit float's range.
    fn number(&mut self, start: usize) -> Option<usize> {
        let bytes = self.bytes;
        let mut at = start;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        let integer = at;
        at = match bytes.get(at)? {
            b'0' => at + 1,
            b'1'..=b'9' => digits(bytes, at + 1),
            _ => return None,
        };
        // The number is below 10 to the power `scale`.
        let mut scale = (at - integer) as i64;
        if bytes.get(at) == Some(&b'.') {
            at = some_digits(bytes, at + 1)?;
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            let power;
            (at, power) = exponent(bytes, at + 1)?;
            scale += power;
        }
        if scale > SAFE_SCALE {
            self.check_range(start, at);
        }
        Some(at)
    }

    /// An edge if serde_json finds the number at `at..end` out of range.
    #[cold]
    fn check_range(&mut self, at: usize, end: usize) {
        let number = self.text.get(at..end).unwrap_or_default();
        if serde_json::from_str::<f64>(number).is_err() {
            self.edges.push(Edge::NumberOutOfRange { at, end });
        }
    }
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

/// The four hex digits at `at` as a UTF-16 code unit.
fn hex(bytes: &[u8], at: usize) -> Option<u16> {
    bytes
        .get(at..at + 4)?
        .iter()
        .try_fold(0u16, |unit, &digit| {
            Some(unit << 4 | char::from(digit).to_digit(16)? as u16)
        })
}

fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    bytes[at..].starts_with(word).then_some(at + word.len())
}

/// An exponent's sign and digits from `at`: the position past them, and
/// its value (held at a million when larger, far past any float's range).
fn exponent(bytes: &[u8], mut at: usize) -> Option<(usize, i64)> {
    let negative = bytes.get(at) == Some(&b'-');
    if let Some(b'+' | b'-') = bytes.get(at) {
        at += 1;
    }
    let end = some_digits(bytes, at)?;
    let value = bytes[at..end].iter().fold(0, |value: i64, &digit| {
        (value * 10 + i64::from(digit - b'0')).min(1_000_000)
    });
    Some((end, if negative { -value } else { value }))
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
    use crate::envelope::edge::repair;
    use crate::envelope::fields::oracle::serde_members;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;
    use serde_json::Value;

    type Pairs = Vec<(String, String)>;

    fn pairs(members: Members) -> Pairs {
        members
            .into_iter()
            .map(|(key, value)| (key.into_owned(), value.get().to_owned()))
            .collect()
    }

    /// serde_json's reading of `text` as an object, for comparison: what it
    /// reads into a value, with the members as it finds them.
    fn serde(text: &str) -> Option<Pairs> {
        serde_json::from_str::<Value>(text).ok()?.as_object()?;
        Some(pairs(serde_members(text).ok()?))
    }

    /// The scanner's reading of `text` at serde_json's own depth.
    fn scan(text: &str) -> Scanned<'_> {
        object(text, READER_DEPTH)
    }

    fn scanned(text: &str) -> Option<Pairs> {
        match scan(text) {
            Scanned::Object(members) => Some(pairs(members)),
            _ => None,
        }
    }

    fn edges(text: &str) -> Vec<Edge> {
        match scan(text) {
            Scanned::Refused(edges) => edges,
            other => panic!("no edges in {text}: {other:?}"),
        }
    }

    /// The scanner and serde_json agree on `text`: the same members where
    /// both read it; where the scanner finds edges, serde_json refuses it,
    /// its grammar is sound, and the repaired text is read by both.
    fn check_agreement(text: &str) -> Result<(), TestCaseError> {
        match scan(text) {
            Scanned::Object(members) => prop_assert_eq!(Some(pairs(members)), serde(text)),
            Scanned::NotObject => prop_assert_eq!(serde(text), None, "{}", text),
            Scanned::Refused(edges) => {
                prop_assert!(!edges.is_empty());
                prop_assert!(serde_json::from_str::<Value>(text).is_err(), "{}", text);
                let grammar = serde_json::from_str::<serde::de::IgnoredAny>(text);
                prop_assert!(grammar.is_ok(), "{}", text);
                let fixed = repair(text, &edges);
                prop_assert!(scanned(&fixed).is_some(), "{} repaired: {}", text, fixed);
                prop_assert_eq!(scanned(&fixed), serde(&fixed));
            }
        }
        Ok(())
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
            r#"{"msg":"\ud800 x"}"#,
            r#"{"msg":"\udc00"}"#,
            r#"{"msg":"\ud800\u0041"}"#,
            r#"{"n":1e999999}"#,
            r#"{"n":-1e400}"#,
        ] {
            assert_eq!(scanned(bad), None, "{bad}");
            assert_eq!(serde(bad), None, "{bad}");
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
    fn a_lone_surrogate_is_an_edge_where_it_stands() {
        let lone = |at, unit| Edge::LoneSurrogate { at, unit };
        assert_eq!(edges(r#"{"msg":"\ud800 x"}"#), [lone(8, 0xd800)]);
        assert_eq!(edges(r#"{"msg":"\udc00"}"#), [lone(8, 0xdc00)]);
        assert_eq!(edges(r#"{"msg":"\ud800\u0041"}"#), [lone(8, 0xd800)]);
        assert_eq!(edges(r#"{"msg":"\uDBFF\""}"#), [lone(8, 0xdbff)]);
        assert_eq!(edges(r#"{"\ud800":1}"#), [lone(2, 0xd800)]);
        assert_eq!(
            edges(r#"{"a":["\udfff",{"\ud800\ud800\udc00":"x"}]}"#),
            [lone(7, 0xdfff), lone(17, 0xd800)],
            "every edge, nested too; a high half then a pair"
        );
        let pair = r#"{"msg":"\ud83d\ude00 \uD83D\uDE00"}"#;
        assert_eq!(scanned(pair), serde(pair));
        assert!(matches!(
            scan(r#"{"msg":"\ud800\u00zz"}"#),
            Scanned::NotObject
        ));
    }

    #[test]
    fn a_number_beyond_a_float_is_an_edge() {
        let out = |at, end| Edge::NumberOutOfRange { at, end };
        assert_eq!(edges(r#"{"n":1e999999}"#), [out(5, 13)]);
        assert_eq!(edges(r#"{"n":[-1e400]}"#), [out(6, 12)]);
        let long = format!(r#"{{"n":1{}}}"#, "0".repeat(309));
        assert_eq!(edges(&long), [out(5, 315)]);
        for fine in ["1e-400", "0e999999", "-0.0E+99999", "1e308", "123.456e-7"] {
            let text = format!(r#"{{"n":{fine}}}"#);
            assert_eq!(scanned(&text), serde(&text), "{text}");
            assert!(scanned(&text).is_some(), "{text}");
        }
    }

    #[test]
    fn nesting_past_the_limit_is_an_edge() {
        let nested = |levels: usize, tail: &str| {
            format!(
                r#"{{"a":{}{}{}}}"#,
                "[".repeat(levels - 1),
                tail,
                "]".repeat(levels - 1)
            )
        };
        let deepest = nested(READER_DEPTH, "");
        assert_eq!(scanned(&deepest), serde(&deepest));
        assert!(scanned(&deepest).is_some());
        let over = nested(READER_DEPTH + 1, "");
        let at = 5 + READER_DEPTH - 1;
        assert_eq!(
            edges(&over),
            [Edge::TooDeep {
                at,
                end: at + 2,
                limit: READER_DEPTH
            }]
        );
        assert_eq!(serde(&over), None);
        let far = nested(10_000, r#"{"k":"\ud800"}"#);
        assert!(matches!(edges(&far)[..], [Edge::TooDeep { .. }]));
        let unclosed = format!(r#"{{"a":{}"#, "[".repeat(10_000));
        assert!(matches!(scan(&unclosed), Scanned::NotObject));
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
            "\\ud800",
            "\\udc00",
            "\\uDBFF\\uDFFF",
            "\"\\udc00\\ud800\"",
            "999",
            "e999",
            "e-999",
            "1e400",
            "[[[[[[[[[[[[[[[[",
            "]]]]]]]]]]]]]]]]",
            "{\"k\":{\"k\":{\"k\":{\"k\":[[[[[[[[",
        ])
    }

    /// What a string may hold, edges and near edges among it.
    fn string_piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a",
            " ",
            "\u{e9}",
            "\\n",
            "\\\"",
            "\\\\",
            "\\u0041",
            "\\u00E9",
            "\\ud800",
            "\\uDBFF",
            "\\udc00",
            "\\uDFFF",
            "\\ud83d\\ude00",
            "\\ud800\\",
            "\\ud800\\n",
            "\\ud800\\u",
            "\\u00zz",
            "u",
            "\\",
        ])
    }

    /// Numbers around the edge of a 64-bit float's range, and others.
    fn number_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "-?(0|[1-9][0-9]{0,19})(\\.[0-9]{1,19})?([eE][+-]?([0-9]{1,3}|29[0-9]|3[0-3][0-9]|99999|9{25}))?",
            "-?[1-9][0-9]{295,315}(\\.[0-9]{1,5})?",
            "-?1\\.797693134862315[0-9]{0,4}[eE]\\+?308",
            "-?0\\.0{0,12}[1-9][eE]3[0-2][0-9]",
        ]
    }

    /// A value nested `kinds.len()` levels (an object where `true`), with
    /// `inner` at the bottom; `broken` leaves a level unclosed.
    fn nested_text(kinds: &[bool], inner: &str, broken: bool) -> String {
        let mut text = String::from(r#"{"a":"#);
        for &object in kinds {
            text.push_str(if object { r#"{"k":"# } else { "[" });
        }
        text.push_str(inner);
        let closers = kinds.len() - usize::from(broken && !kinds.is_empty());
        for &object in kinds.iter().rev().take(closers) {
            text.push(if object { '}' } else { ']' });
        }
        text.push('}');
        text
    }

    /// Objects whose values mix every edge with sound JSON: strings with
    /// any escapes (as keys too), numbers in range and out, nesting shallow
    /// or around the limit.
    fn mixed_text() -> impl Strategy<Value = String> {
        let string = prop::collection::vec(string_piece(), 0..4)
            .prop_map(|pieces| format!("\"{}\"", pieces.concat()))
            .boxed();
        let leaf = prop_oneof![
            string.clone(),
            number_text(),
            Just("true".to_owned()),
            Just("null".to_owned()),
        ];
        let value = leaf.prop_recursive(3, 16, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((string.clone(), inner), 0..4).prop_map(|members| {
                    let members: Vec<String> =
                        members.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        });
        let wrapped = (value, prop_oneof![0..4usize, 120..130usize]).prop_map(|(value, levels)| {
            format!("{}{value}{}", "[".repeat(levels), "]".repeat(levels))
        });
        prop::collection::vec(wrapped, 0..4).prop_map(|values| {
            let members: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, value)| format!("\"m{i}\":{value}"))
                .collect();
            format!("{{{}}}", members.join(","))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Every edge mixed with sound JSON, in any place.
        #[test]
        fn mixed_edges_agree_with_serde_json(text in mixed_text()) {
            check_agreement(&text)?;
        }

        /// On near misses, edges among them, the scanner agrees with serde_json.
        #[test]
        fn the_scanner_agrees_with_serde_json(pieces in prop::collection::vec(piece(), 0..24)) {
            check_agreement(&format!("{{{}", pieces.concat()))?;
        }

        /// Strings with escapes, lone surrogates among them, as keys and
        /// values, alone and nested.
        #[test]
        fn strings_agree_with_serde_json(
            key in prop::collection::vec(string_piece(), 0..6),
            value in prop::collection::vec(string_piece(), 0..6),
        ) {
            let (key, value) = (key.concat(), value.concat());
            check_agreement(&format!(r#"{{"{key}":"{value}"}}"#))?;
            check_agreement(&format!(r#"{{"k":[{{"{key}":1}},"{value}"]}}"#))?;
        }

        /// Numbers in range and out, alone and among other edges.
        #[test]
        fn numbers_agree_with_serde_json(number in number_text(), other in string_piece()) {
            check_agreement(&format!(r#"{{"n":{number}}}"#))?;
            check_agreement(&format!(r#"{{"s":"{other}","n":[{number},{number}]}}"#))?;
        }

        /// Nesting around the limit, with edges or broken text inside.
        #[test]
        fn deep_nesting_agrees_with_serde_json(
            kinds in prop::collection::vec(any::<bool>(), 120..135),
            inner in prop::sample::select(vec!["1", "\"x\"", "\"\\ud800\"", "1e999", "[]", "{}", "[1,]", ""]),
            broken in prop::bool::weighted(0.1),
        ) {
            check_agreement(&nested_text(&kinds, inner, broken))?;
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
