//! logfmt lines (`time=... level=info msg="started" port=8080`), as
//! logrus, Go kit, Heroku's router, Grafana and Prometheus write them: the
//! envelope's members under the names JSON loggers use for them, every
//! other pair under `data`.
//!
//! A line is logfmt when its first token is a `key=value` pair and it
//! holds at least two (so `user logged in with id=3` is prose), and every
//! token reads as logfmt: `key`, `key=bare` or `key="quoted"`. Choices
//! where logfmt's writers leave it open:
//! - a key alone (`key`, no `=`) is a flag: `key` under `data` with an
//!   empty value, as `key=` is (go-logfmt reads it as a key without one);
//! - a bare value runs to the next space, `=` and `"` included; a quoted
//!   one undoes `\"`, `\\`, `\n`, `\t` and `\r` and keeps any other
//!   backslash as written; a quote left open (a line cut short) runs to
//!   the end of the line, and the line is still read;
//! - a closing quote must end its token (`a="x"y` is not logfmt), and a
//!   key is never empty nor holds a quote;
//! - of several names for one member, the one JSON prefers wins
//!   (`timestamp` over `time` over `ts`), and of the same name twice the
//!   first; the others go under `data`, as does a time or level that does
//!   not read as one. A key repeated under `data` is kept each time, in
//!   the order read.

use std::borrow::Cow;

use super::Role;
use super::conventions::{Names, level_text};
use super::dates::Clock;
use super::parsed::{Field, Parsed};
use super::timestamp;

/// The line's members, or `None` when it is not logfmt. A time written
/// without a zone is local time, as in plain text.
///
/// Told apart from plain text by its first bytes (`--format auto`), a line
/// needs two pairs: one `key=value` is as likely a sentence's.
pub(crate) fn parse<'a>(text: &'a str, clock: &Clock) -> Option<Parsed<'a>> {
    read(text, clock, 2)
}

/// A line `--format logfmt` says is logfmt: one pair is enough.
pub(crate) fn parse_named<'a>(text: &'a str, clock: &Clock) -> Option<Parsed<'a>> {
    read(text, clock, 1)
}

fn read<'a>(text: &'a str, clock: &Clock, least_pairs: usize) -> Option<Parsed<'a>> {
    let (pairs, claims) = survey(text, least_pairs)?;
    let mut parsed = Parsed {
        data: Vec::with_capacity(pairs.len()),
        ..Parsed::default()
    };
    for (index, pair) in pairs.into_iter().enumerate() {
        let claimed = claims
            .iter()
            .position(|claim| claim.is_some_and(|(at, _)| at == index));
        let taken = claimed.is_some_and(|slot| take(&mut parsed, SLOTS[slot], pair, clock));
        if !taken {
            parsed
                .data
                .push((Cow::Borrowed(pair.key), field(pair.value)));
        }
    }
    Some(parsed)
}

/// The envelope members a logfmt value can fill, in their claims' order.
const SLOTS: [Role; 4] = [Role::Timestamp, Role::Level, Role::Message, Role::Logger];

/// For each of `SLOTS`, the index of the pair that names it best, and that
/// name's rank.
type Claims = [Option<(usize, u8)>; SLOTS.len()];

/// The line's tokens, read once (they are kept, not read again), and the
/// claims on the envelope's members; `None` when the line is not logfmt
/// (fewer than `least_pairs` pairs).
fn survey(text: &str, least_pairs: usize) -> Option<(Vec<Pair<'_>>, Claims)> {
    let names = Names::default();
    let mut claims: Claims = [None; SLOTS.len()];
    let mut tokens = Vec::with_capacity(16);
    let mut pairs = 0;
    for (index, pair) in Tokens::new(text).enumerate() {
        let pair = pair?;
        tokens.push(pair);
        if pair.value == Value::Flag {
            if index == 0 {
                return None;
            }
            continue;
        }
        pairs += 1;
        let Some((role, rank)) = names.role(pair.key) else {
            continue;
        };
        let Some(slot) = SLOTS.iter().position(|&known| known == role) else {
            continue;
        };
        match claims[slot] {
            Some((_, held)) if held <= rank => {}
            _ => claims[slot] = Some((index, rank)),
        }
    }
    (pairs >= least_pairs).then_some((tokens, claims))
}

/// Puts `pair` in the envelope member `role`; false when its value does
/// not read as one (it then goes under `data`).
fn take<'a>(parsed: &mut Parsed<'a>, role: Role, pair: Pair<'a>, clock: &Clock) -> bool {
    let value = pair.value.text();
    match role {
        Role::Timestamp => {
            parsed.timestamp =
                timestamp::parse_text(&value).or_else(|| super::text::whole_time(&value, clock));
            parsed.timestamp.is_some()
        }
        Role::Level => {
            parsed.level = level_text(pair.key, &value);
            parsed.level.is_some()
        }
        Role::Message => {
            parsed.message = value;
            true
        }
        Role::Logger => {
            parsed.logger = Some(value);
            true
        }
        _ => false,
    }
}

/// A value under `data`: a bare integer as a number, anything else as text.
fn field(value: Value<'_>) -> Field<'_> {
    match value {
        Value::Bare(bare) if is_integer(bare) => match bare.parse() {
            Ok(number) => Field::Integer(number),
            Err(_) => Field::Text(Cow::Borrowed(bare)),
        },
        other => Field::Text(other.text()),
    }
}

/// An integer as a number is written: no sign but `-`, no leading zero,
/// no `-0` (so `007` and `+1` stay text, as written).
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = match digits.as_bytes() {
        [] => false,
        [b'0'] => digits.len() == text.len(),
        [first, ..] => *first != b'0',
    };
    canonical && digits.bytes().all(|byte| byte.is_ascii_digit())
}

/// One token of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pair<'a> {
    key: &'a str,
    value: Value<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value<'a> {
    /// A key alone, without `=`.
    Flag,
    /// Up to the next space; empty for `key=`.
    Bare(&'a str),
    /// Between the quotes, escapes still in.
    Quoted(&'a str),
}

impl<'a> Value<'a> {
    /// The value as text, borrowed unless an escape had to be undone.
    fn text(self) -> Cow<'a, str> {
        match self {
            Value::Flag => Cow::Borrowed(""),
            Value::Bare(bare) => Cow::Borrowed(bare),
            Value::Quoted(quoted) => unquote(quoted),
        }
    }
}

/// `\"`, `\\`, `\n`, `\t` and `\r` undone; any other backslash kept
/// (Apache escapes its access log's quoted fields so too).
pub(super) fn unquote(quoted: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\\', quoted.as_bytes()).is_none() {
        return Cow::Borrowed(quoted);
    }
    let mut text = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(char) = chars.next() {
        if char != '\\' {
            text.push(char);
            continue;
        }
        match chars.next() {
            Some('n') => text.push('\n'),
            Some('t') => text.push('\t'),
            Some('r') => text.push('\r'),
            Some(escaped @ ('"' | '\\')) => text.push(escaped),
            Some(other) => text.extend(['\\', other]),
            None => text.push('\\'),
        }
    }
    Cow::Owned(text)
}

/// A line's tokens, each `None` where the line stops reading as logfmt.
struct Tokens<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        Tokens { text, at: 0 }
    }

    /// Moves past bytes while `keep` holds; returns where it stopped.
    fn skip(&mut self, keep: impl Fn(u8) -> bool) -> usize {
        let bytes = self.text.as_bytes();
        while self.at < bytes.len() && keep(bytes[self.at]) {
            self.at += 1;
        }
        self.at
    }

    fn pair(&mut self) -> Option<Pair<'a>> {
        let start = self.at;
        let end = token_end(self.text.as_bytes(), start, true);
        self.at = end;
        let key = &self.text[start..end];
        let value = match self.text.as_bytes().get(end) {
            _ if key.is_empty() => return None,
            Some(b'=') => {
                self.at += 1;
                self.value()?
            }
            Some(b'"') => return None,
            _ => Value::Flag,
        };
        Some(Pair { key, value })
    }

    fn value(&mut self) -> Option<Value<'a>> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.at) != Some(&b'"') {
            let start = self.at;
            let end = token_end(bytes, start, false);
            self.at = end;
            return Some(Value::Bare(&self.text[start..end]));
        }
        self.at += 1;
        let start = self.at;
        let end = closing_quote(&bytes[start..]).map_or(bytes.len(), |end| start + end);
        // Past the closing quote, which must end the token.
        self.at = (end + 1).min(bytes.len());
        match bytes.get(self.at) {
            Some(byte) if !byte.is_ascii_whitespace() => None,
            _ => Some(Value::Quoted(&self.text[start..end])),
        }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Option<Pair<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at == usize::MAX {
            return None;
        }
        if self.skip(|byte| byte.is_ascii_whitespace()) == self.text.len() {
            return None;
        }
        let pair = self.pair();
        if pair.is_none() {
            // Nothing after a token that is not logfmt is read.
            self.at = usize::MAX;
        }
        Some(pair)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Where the key (`key`) or bare value starting at `at` ends: at the first
/// ASCII whitespace, for a key also at `=` or `"`; the line's end if
/// none. Looks a word (8 bytes) at a time, as the JSON scanner does: a
/// word's first byte below `!` (or, for a key, `=` or `"`) ends the look,
/// and the bytes from there are read one by one, since a control
/// character that is not whitespace is flagged too.
fn token_end(bytes: &[u8], mut at: usize, key: bool) -> usize {
    while let Some(word) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let mut flags = below(word, 0x21);
        if key {
            flags |= below(word ^ (ONES * u64::from(b'=')), 1)
                | below(word ^ (ONES * u64::from(b'"')), 1);
        }
        let flags = flags & (ONES * 0x80);
        if flags != 0 {
            at += (flags.trailing_zeros() / 8) as usize;
            break;
        }
        at += 8;
    }
    let ends = |byte: u8| byte.is_ascii_whitespace() || key && (byte == b'=' || byte == b'"');
    while bytes.get(at).is_some_and(|&byte| !ends(byte)) {
        at += 1;
    }
    at
}

/// The bytes of `word` (little-endian) below `n`, as their high bits:
/// exact up to the first one, which is all that is asked of it (a borrow
/// may flag bytes after it). A byte with its high bit set is never
/// flagged.
fn below(word: u64, n: u64) -> u64 {
    word.wrapping_sub(ONES * n) & !word
}

/// Where the quote that closes a quoted value stands in `bytes` (which
/// start past the opening one), if it is closed.
fn closing_quote(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(found) = memchr::memchr2(b'"', b'\\', &bytes[at..]) {
        let found = at + found;
        if bytes[found] == b'"' {
            return Some(found);
        }
        at = found + 2;
        if at >= bytes.len() {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::tests::text_formats::*;
    use crate::level::Level;
    use proptest::prelude::*;

    fn read(text: &str) -> Parsed<'_> {
        parse(text, &clock()).unwrap_or_else(|| panic!("not read as logfmt: {text}"))
    }

    #[test]
    fn logrus_lines_map_onto_the_envelope() {
        let parsed = read(
            r#"time="2026-11-30T19:21:00+01:00" level=warning msg="The group's number increased tremendously!" number=122 omg=true"#,
        );
        assert_eq!(parsed.timestamp, Some(AT));
        assert_eq!(parsed.level, Some((Level::Warning, None)));
        assert_eq!(parsed.message, "The group's number increased tremendously!");
        assert_eq!(parsed.logger, None);
        assert_eq!(
            data(&parsed),
            [("number", Field::Integer(122)), ("omg", text("true"))]
        );
    }

    #[test]
    fn go_kit_grafana_and_prometheus_lines_map_onto_the_envelope() {
        let parsed = read(r#"ts=2026-11-30T18:21:00.031Z caller=main.go:12 level=warn msg="x""#);
        assert_eq!(parsed.timestamp, Some(AT + 31));
        assert_eq!(parsed.level, Some((Level::Warning, None)));
        assert_eq!(parsed.message, "x");
        assert_eq!(data(&parsed), [("caller", text("main.go:12"))]);

        let parsed = read(
            r#"ts=2026-11-30T18:21:00.031Z caller=head.go:1281 level=info component=tsdb msg="Head GC completed" duration=1.234ms"#,
        );
        assert_eq!(parsed.message, "Head GC completed");
        assert_eq!(
            data(&parsed),
            [
                ("caller", text("head.go:1281")),
                ("component", text("tsdb")),
                ("duration", text("1.234ms")),
            ]
        );

        let parsed = read(
            r#"logger=context userId=0 orgId=1 uname= t=2026-11-30T18:21:00.03+00:00 level=info msg="Request Completed" method=GET path=/ status=302 remote_addr=127.0.0.1 time_ms=0 size=29 referer="#,
        );
        assert_eq!(parsed.logger.as_deref(), Some("context"));
        assert_eq!(parsed.level, Some((Level::Info, None)));
        assert_eq!(parsed.timestamp, None, "`t` is not a name JSON loggers use");
        assert_eq!(
            data(&parsed),
            [
                ("userId", Field::Integer(0)),
                ("orgId", Field::Integer(1)),
                ("uname", text("")),
                ("t", text("2026-11-30T18:21:00.03+00:00")),
                ("method", text("GET")),
                ("path", text("/")),
                ("status", Field::Integer(302)),
                ("remote_addr", text("127.0.0.1")),
                ("time_ms", Field::Integer(0)),
                ("size", Field::Integer(29)),
                ("referer", text("")),
            ]
        );
    }

    #[test]
    fn heroku_router_lines_have_no_message_and_keep_every_pair() {
        let parsed = read(
            r#"at=info method=GET path="/" host=myapp.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd="1.2.3.4" dyno=web.1 connect=0ms service=12ms status=200 bytes=1234 protocol=https"#,
        );
        assert_eq!(parsed.message, "");
        assert_eq!(parsed.level, None, "`at` is not a name JSON loggers use");
        assert_eq!(
            data(&parsed),
            [
                ("at", text("info")),
                ("method", text("GET")),
                ("path", text("/")),
                ("host", text("myapp.herokuapp.com")),
                ("request_id", text("8601b555-6a83-4c12-8269-97c8e32cdb22")),
                ("fwd", text("1.2.3.4")),
                ("dyno", text("web.1")),
                ("connect", text("0ms")),
                ("service", text("12ms")),
                ("status", Field::Integer(200)),
                ("bytes", Field::Integer(1234)),
                ("protocol", text("https")),
            ]
        );
    }

    #[test]
    fn quoted_values_undo_their_escapes_and_borrow_when_they_have_none() {
        let parsed = read(
            r#"msg="say \"hi\"\tthen\nbye" path="C:\\tmp" odd="\x41\"" plain="no escapes" bare=a"b=c"#,
        );
        assert_eq!(parsed.message, "say \"hi\"\tthen\nbye");
        assert!(matches!(parsed.message, Cow::Owned(_)));
        assert_eq!(
            data(&parsed),
            [
                ("path", text(r"C:\tmp")),
                ("odd", text(r#"\x41""#)),
                ("plain", text("no escapes")),
                ("bare", text(r#"a"b=c"#)),
            ]
        );
        assert!(matches!(parsed.data[2].1, Field::Text(Cow::Borrowed(_))));
        let parsed = read(r#"level=info msg="started" port=8080"#);
        assert!(matches!(parsed.message, Cow::Borrowed("started")));
        assert_eq!(read(r#"a="12" b=12"#).data[0].1, text("12"));
    }

    #[test]
    fn epoch_times_and_numbered_levels_read_as_in_json() {
        let parsed = read("ts=1714564800.123 level=50 msg=m");
        assert_eq!(parsed.timestamp, Some(1_714_564_800_123));
        assert_eq!(parsed.level, Some((Level::Error, None)));
        let parsed = read(r#"time="1714564800000" lvl="30" msg=m"#);
        assert_eq!(parsed.timestamp, Some(1_714_564_800_000));
        assert_eq!(parsed.level, Some((Level::Info, None)));
        let parsed = read("severity=NOTICE message=m");
        assert_eq!(
            parsed.level,
            Some((Level::Info, Some(crate::level::Finer::Notice)))
        );
    }

    #[test]
    fn a_time_without_a_zone_is_local_time() {
        // The clock is an hour east of UTC.
        for line in [
            "time=2026-11-30T19:21:00 msg=m",
            "time=\"2026-11-30 19:21:00\" msg=m",
            "ts=2026-11-30T19:21:00.000 msg=m",
        ] {
            assert_eq!(read(line).timestamp, Some(AT), "{line}");
        }
        assert_eq!(
            read("time=\"2026-11-30 19:21:00,031\" msg=m").timestamp,
            Some(AT + 31)
        );
        // A zone written wins.
        assert_eq!(read("time=2026-11-30T18:21:00Z msg=m").timestamp, Some(AT));
        // Not a time and nothing else: under data.
        let parsed = read("time=\"2026-11-30 19:21:00 later\" msg=m");
        assert_eq!(parsed.timestamp, None);
    }

    #[test]
    fn a_time_or_level_that_does_not_read_goes_under_data() {
        let parsed = read("time=yesterday level=loud msg=m");
        assert_eq!(parsed.timestamp, None);
        assert_eq!(parsed.level, None);
        assert_eq!(
            data(&parsed),
            [("time", text("yesterday")), ("level", text("loud"))]
        );
    }

    #[test]
    fn the_name_json_prefers_wins_and_the_rest_go_under_data_in_order() {
        let parsed = read(
            "msg=first ts=1714564800 message=best msg=second time=2026-11-30T18:21:00Z level=info level=error name=api logger=main",
        );
        assert_eq!(parsed.message, "best");
        assert_eq!(parsed.timestamp, Some(AT));
        assert_eq!(parsed.level, Some((Level::Info, None)));
        assert_eq!(parsed.logger.as_deref(), Some("main"));
        assert_eq!(
            data(&parsed),
            [
                ("msg", text("first")),
                ("ts", Field::Integer(1_714_564_800)),
                ("msg", text("second")),
                ("level", text("error")),
                ("name", text("api")),
            ]
        );
    }

    #[test]
    fn a_key_alone_is_a_flag_with_an_empty_value() {
        let parsed = read("level=info msg=m verbose dry-run");
        assert_eq!(
            data(&parsed),
            [("verbose", text("")), ("dry-run", text(""))]
        );
        // A flag does not count as a pair.
        assert_eq!(parse("level=info verbose", &clock()), None);
        // One pair is logfmt only where the user says it is.
        assert_eq!(parse("msg=hi", &clock()), None);
        assert_eq!(parse_named("msg=hi", &clock()).unwrap().message, "hi");
        assert_eq!(parse_named("verbose", &clock()), None);
    }

    #[test]
    fn a_quote_left_open_runs_to_the_end_of_the_line() {
        let parsed = read(r#"level=info msg="cut short by the line limit"#);
        assert_eq!(parsed.message, "cut short by the line limit");
        let parsed = read(r#"level=info msg="ends in an escape\""#);
        assert_eq!(parsed.message, r#"ends in an escape""#);
        let parsed = read(r#"level=info msg="\"#);
        assert_eq!(parsed.message, "\\");
        let parsed = read(r#"level=info msg="\""#);
        assert_eq!(parsed.message, "\"");
    }

    #[test]
    fn bare_integers_are_numbers_only_as_numbers_are_written() {
        let parsed = read("a=007 b=-0 c=+1 d=-12 e=0 f=99999999999999999999 g=1.5 h=-");
        assert_eq!(
            data(&parsed),
            [
                ("a", text("007")),
                ("b", text("-0")),
                ("c", text("+1")),
                ("d", Field::Integer(-12)),
                ("e", Field::Integer(0)),
                ("f", text("99999999999999999999")),
                ("g", text("1.5")),
                ("h", text("-")),
            ]
        );
    }

    #[test]
    fn tabs_and_runs_of_spaces_separate_pairs() {
        let parsed = read("  level=info\tmsg=m   a=1\r");
        assert_eq!(parsed.message, "m");
        assert_eq!(data(&parsed), [("a", Field::Integer(1))]);
        let parsed = read("clé=valeur ключ=значение");
        assert_eq!(
            data(&parsed),
            [("clé", text("valeur")), ("ключ", text("значение"))]
        );
    }

    #[test]
    fn lines_that_are_not_logfmt_are_refused() {
        for line in [
            "user logged in with id=3",
            "id=3 logged in",
            "level=info",
            "plain prose, nothing more",
            "",
            "   ",
            r#"{"level":"info","msg":"m"}"#,
            r#"{ "level": "info", "msg": "m" }"#,
            "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed",
            "Oct 11 22:14:15 mymachine su[230]: a=1 b=2",
            "GET / 200",
            r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /?a=1&b=2 HTTP/1.0" 200 2326"#,
            r#"a="x"y b=2"#,
            "=x a=b",
            "a=b =c",
            r#"a"b=1 c=2"#,
            r#"a=1 "b"=2"#,
        ] {
            assert_eq!(parse(line, &clock()), None, "{line}");
        }
    }

    /// A logfmt writer's quoting of `value`.
    fn quoted(value: &str) -> String {
        let mut out = String::from("\"");
        for char in value.chars() {
            match char {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                other => out.push(other),
            }
        }
        out.push('"');
        out
    }

    proptest! {
        #[test]
        fn a_token_ends_where_a_byte_by_byte_look_ends_it(
            line in "[a-z=\" \t\n\r\u{b}\u{c}\u{1}\u{e9}]{0,40}",
            start in 0usize..40,
        ) {
            let bytes = line.as_bytes();
            let start = start.min(bytes.len());
            for key in [false, true] {
                let ends = |byte: &u8| byte.is_ascii_whitespace() || key && matches!(byte, b'=' | b'"');
                let expected = bytes[start..].iter().position(ends).map_or(bytes.len(), |at| start + at);
                prop_assert_eq!(token_end(bytes, start, key), expected, "key: {}", key);
            }
        }

        #[test]
        fn any_text_is_read_or_refused_without_a_panic(line in "\\PC{0,80}") {
            let _ = parse(&line, &clock());
        }

        #[test]
        fn logfmt_like_text_is_read_or_refused_without_a_panic(line in "[a-z=\" \\\\\t\u{e9}]{0,60}") {
            let _ = parse(&line, &clock());
        }

        #[test]
        fn broken_logfmt_lines_are_read_or_refused_without_a_panic(
            edits in proptest::collection::vec((any::<usize>(), proptest::option::of(prop::sample::select(vec!['"', '\\', '=', ' ', 'x', '\t', '\u{e9}']))), 1..8),
        ) {
            for line in [
                r#"time="2026-11-30T19:21:00+01:00" level=warning msg="say \"hi\"" n=1"#,
                "at=info method=GET path=\"/\" fwd=\"1.2.3.4\" status=200 bytes=1234",
            ] {
                let _ = parse(&mutated(line, &edits), &clock());
            }
        }

        #[test]
        fn every_pair_a_writer_quotes_reads_back(
            pairs in proptest::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}|[\"\\\\\n\t ]{0,4}", 2..8),
        ) {
            let line: Vec<String> = pairs.iter().map(|(key, value)| format!("{key}={}", quoted(value))).collect();
            let line = line.join(" ");
            let parsed = parse(&line, &clock()).unwrap();
            for (key, value) in &pairs {
                let mapped = Names::default().role(key).is_some_and(|(role, _)| SLOTS.contains(&role));
                if mapped {
                    continue;
                }
                let read = parsed.data.iter().find(|(name, _)| name == key).map(|(_, field)| field);
                prop_assert_eq!(read, Some(&text(value)), "{}", line);
            }
        }
    }
}
