//! Where the value after a secret's key ends, in whichever of the shapes
//! a line may hold it: a JSON string, a string inside a JSON string
//! (`\"token\":\"...\"`), a JSON object or array, a quoted or bare
//! `key=value` word, a header's `Bearer ...` or a cookie list.

use std::ops::Range;

/// How a redacted value is written back, so the line stays what it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quoting {
    /// In place of text: the replacement as it is.
    Bare,
    /// In place of a JSON value that was not a string: a JSON string.
    Json,
    /// In place of such a value inside a JSON string: an escaped string.
    EscapedJson,
}

/// One part of a line to replace, how, and by which rule (its index).
#[derive(Debug)]
pub(super) struct Find {
    pub range: Range<usize>,
    pub quoting: Quoting,
    pub rule: usize,
}

/// The part of a line to replace, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Value {
    pub range: Range<usize>,
    pub quoting: Quoting,
}

/// The schemes an `Authorization` value names before its credential,
/// which stays readable (lowercase; the value is compared lowercased).
const SCHEMES: [&[u8]; 8] = [
    b"bearer",
    b"basic",
    b"token",
    b"digest",
    b"negotiate",
    b"ntlm",
    b"apikey",
    b"aws4-hmac-sha256",
];

/// The value that starts at `at` in `line`, for the key `key` (lowercase);
/// `context` is what stood before the separator: a quote, an escaped
/// quote or nothing. `None` when there is nothing to hide (an empty value,
/// `null`, `true`, `false`).
pub(super) fn value_at(line: &[u8], at: usize, key: &[u8], context: Quoting) -> Option<Value> {
    let rest = &line[at..];
    let (range, quoting) = match rest {
        [b'"', ..] => (at + 1..string_end(line, at + 1), Quoting::Bare),
        [b'\\', b'"', ..] => (at + 2..escaped_string_end(line, at + 2), Quoting::Bare),
        [b'\'', ..] => {
            let end = memchr::memchr(b'\'', &rest[1..]).map_or(line.len(), |end| at + 1 + end);
            (at + 1..end, Quoting::Bare)
        }
        [b'{' | b'[', ..] => (at..compound_end(line, at), context),
        [b'n' | b't' | b'f', ..] if context != Quoting::Bare && is_literal(rest) => return None,
        _ => (at..bare_end(line, at, key), context),
    };
    let range = after_scheme(line, range, key);
    (!range.is_empty()).then_some(Value { range, quoting })
}

/// A JSON literal that holds nothing to hide.
fn is_literal(rest: &[u8]) -> bool {
    [&b"null"[..], b"true", b"false"]
        .iter()
        .any(|literal| rest.starts_with(literal))
}

/// Where a JSON string whose text starts at `from` ends (its closing
/// quote), or the line's end.
pub(super) fn string_end(line: &[u8], from: usize) -> usize {
    let mut at = from;
    while at < line.len() {
        match line[at] {
            b'\\' => at += 2,
            b'"' => return at,
            _ => at += 1,
        }
    }
    line.len()
}

/// Where a string inside a JSON string ends: at its escaped quote (`\"`).
pub(super) fn escaped_string_end(line: &[u8], from: usize) -> usize {
    let mut at = from;
    while at < line.len() {
        match line[at] {
            b'\\' if line.get(at + 1) == Some(&b'"') => return at,
            b'\\' => at += 2,
            b'"' => return at,
            _ => at += 1,
        }
    }
    line.len()
}

/// Where an object or array that opens at `from` closes (just past it),
/// strings inside skipped; the line's end if it never does.
fn compound_end(line: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    let mut at = from;
    while at < line.len() {
        match line[at] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            b'"' => at = string_end(line, at + 1),
            b'\\' => at += 1,
            _ => {}
        }
        at += 1;
    }
    line.len()
}

/// Where a bare value ends: at a space or a character that closes it. A
/// cookie list runs on to the end of its string or line.
fn bare_end(line: &[u8], from: usize, key: &[u8]) -> usize {
    let cookie = key.ends_with(b"cookie");
    let mut at = from;
    while at < line.len() {
        match line[at] {
            // An escaped quote or line break ends a value inside JSON text;
            // other escapes are part of it.
            b'\\' => match line.get(at + 1) {
                Some(b'"' | b'n' | b'r' | b't') | None => return at,
                Some(_) => at += 2,
            },
            b'"' | b'\'' | b'\n' | b'\r' => return at,
            b' ' | b'\t' | b';' | b',' if !cookie => return at,
            b'&' | b'}' | b']' | b')' | b'<' | b'>' if !cookie => return at,
            _ => at += 1,
        }
    }
    line.len()
}

/// The credential of an `Authorization` value: the scheme before it
/// (`Bearer `) stays, and a bare value goes on past the space.
fn after_scheme(line: &[u8], range: Range<usize>, key: &[u8]) -> Range<usize> {
    if !key.ends_with(b"authorization") {
        return range;
    }
    let word_end = line[range.start..]
        .iter()
        .position(|&byte| !(byte.is_ascii_alphanumeric() || byte == b'-'))
        .map_or(line.len(), |end| range.start + end);
    let scheme = line[range.start..word_end].to_ascii_lowercase();
    if !SCHEMES.contains(&scheme.as_slice()) || line.get(word_end) != Some(&b' ') {
        return range;
    }
    let start = word_end
        + line[word_end..]
            .iter()
            .take_while(|&&byte| byte == b' ')
            .count();
    let end = if range.end <= word_end {
        bare_end(line, start, b"")
    } else {
        range.end
    };
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found<'l>(line: &'l str, key: &str, context: Quoting) -> Option<&'l str> {
        let at = line.find('|').unwrap() + 1;
        let line = line.as_bytes();
        value_at(line, at, key.as_bytes(), context)
            .map(|value| std::str::from_utf8(&line[value.range]).unwrap())
    }

    #[test]
    fn each_shape_of_value_ends_where_it_should() {
        let json = Quoting::Json;
        assert_eq!(found(r#"{"k":|"a\"b",x}"#, "k", json), Some(r#"a\"b"#));
        assert_eq!(found(r#"{"k":|12,"x":1}"#, "k", json), Some("12"));
        assert_eq!(
            found(r#"{"k":|{"a":["}",1]},"x":1}"#, "k", json),
            Some(r#"{"a":["}",1]}"#)
        );
        assert_eq!(found(r#"{"k":|null}"#, "k", json), None);
        assert_eq!(
            found(r#"{"m":"k=|a\u0062c\nnext"}"#, "k", Quoting::Bare),
            Some(r"a\u0062c")
        );
        assert_eq!(
            found(r#"{"m":"{\"k\":|\"v w\"}"}"#, "k", Quoting::EscapedJson),
            Some("v w")
        );
        assert_eq!(found("k=|'v w' x", "k", Quoting::Bare), Some("v w"));
        assert_eq!(found("k=| x", "k", Quoting::Bare), None);
        assert_eq!(
            found("Cookie: |a=1; b=2", "cookie", Quoting::Bare),
            Some("a=1; b=2")
        );
    }

    #[test]
    fn an_authorization_keeps_its_scheme() {
        assert_eq!(
            found(
                "Authorization: |Bearer abc.def rest",
                "authorization",
                Quoting::Bare
            ),
            Some("abc.def")
        );
        assert_eq!(
            found(
                r#"{"Authorization":|"Basic dXNlcjpwYXNz"}"#,
                "authorization",
                Quoting::Json
            ),
            Some("dXNlcjpwYXNz")
        );
        assert_eq!(
            found("authorization=|opaque", "authorization", Quoting::Bare),
            Some("opaque")
        );
    }
}
