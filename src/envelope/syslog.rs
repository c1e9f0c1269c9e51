//! Syslog lines read into a `Parsed`: RFC 5424, and RFC 3164 (BSD) as
//! daemons send it (`<PRI>` first) and as /var/log/syslog and
//! /var/log/messages keep it (no `<PRI>`).
//!
//! What goes where:
//! - `timestamp`: the header's time; `None` when it is nil (`-`) or names
//!   a date that does not exist. A BSD date without a year is local time,
//!   in the year that puts it closest before now.
//! - `level`: the PRI's severity (emerg and alert are CRITICAL, notice is
//!   INFO, each with its finer severity). A line without a PRI has none,
//!   unless it is macOS's `app[pid] <Notice>: message`, whose word is
//!   read as the level and taken off the message. Where a PRI says the
//!   level too, the PRI wins.
//! - `logger`: the APP-NAME (RFC 5424) or the tag's name (BSD).
//! - `message`: the MSG part exactly (RFC 5424's with its UTF-8 BOM taken
//!   off), always borrowed from the line.
//! - `data`, in this order and only when present: `host`, `app`, `pid`
//!   (an integer when all digits), `msgid`, `facility` (its RFC 5424
//!   name: `auth`, `local0`) and `sd`: RFC 5424's structured data as an
//!   object of SD-IDs, each an object of its params, every value text:
//!   `[a@1 x="1"][b]` is `{"a@1": {"x": "1"}, "b": {}}`. (A repeated
//!   SD-ID, which RFC 5424 forbids, is kept twice in the list; as JSON the
//!   last wins.)
//!
//! A line that starts with `<` and no PRI in range (`<192>`, `<b>`) is not
//! syslog. A line whose header is recognised keeps what is sure of it: the
//! header is read part by part, and the first part that is odd (a missing
//! field, a broken SD element, a timestamp that is no timestamp) starts
//! the message. Without a PRI, a line must have the whole
//! `Mmm dd hh:mm:ss host tag` shape, so that prose is never taken for
//! syslog; rsyslog's RFC 3339 time in place of the BSD one is read only
//! after a PRI, since `time word word: text` is common outside syslog.
//! RFC 5424's header fields are read as any word without spaces, their
//! lengths unchecked: the spaces between them are what is sure.

use std::borrow::Cow;

use super::dates::{Civil, Clock, clock_time, month, zone};
use super::parsed::{Field, Parsed};
use crate::cli::SYSLOG_FACILITIES;
use crate::level::{Finer, Level};

/// The longest tag (RFC 5424's APP-NAME is at most 48 characters).
const MAX_TAG_CHARS: usize = 48;

/// The longest level word of macOS's `<Notice>:` looked for.
const MAX_LEVEL_WORD: usize = 12;

/// Reads `text` as a syslog line; `None` when it is not one.
pub(crate) fn parse<'a>(text: &'a str, clock: &Clock) -> Option<Parsed<'a>> {
    let Some(after) = text.strip_prefix('<') else {
        return Some(bare_bsd(text, clock)?.into_parsed(None));
    };
    let (pri, rest) = priority(after)?;
    let header = match rest.strip_prefix("1 ") {
        Some(rest) => rfc5424(rest),
        None => bsd(rest, clock),
    };
    Some(header.into_parsed(Some(pri)))
}

/// What a header held: each part borrowed from the line.
#[derive(Debug, Default)]
struct Header<'a> {
    timestamp: Option<i64>,
    host: Option<&'a str>,
    app: Option<&'a str>,
    pid: Option<&'a str>,
    msgid: Option<&'a str>,
    /// RFC 5424's structured data, as `data.sd` holds it.
    sd: Option<Field<'a>>,
    /// A level the line wrote in words (macOS's `<Notice>:`).
    level: Option<(Level, Option<Finer>)>,
    /// The rest of the line: while the header is read, what is left of it.
    message: &'a str,
}

impl<'a> Header<'a> {
    fn starting(message: &'a str) -> Header<'a> {
        Header {
            message,
            ..Header::default()
        }
    }

    fn tagged(&mut self, tag: Tag<'a>) {
        self.app = Some(tag.app);
        self.pid = tag.pid;
        self.level = tag.level;
        self.message = tag.message;
    }

    fn into_parsed(self, pri: Option<u8>) -> Parsed<'a> {
        let text = |value: &'a str| Field::Text(Cow::Borrowed(value));
        let mut data = Vec::with_capacity(6);
        let mut add = |name: &'static str, value: Option<Field<'a>>| {
            data.extend(value.map(|value| (Cow::Borrowed(name), value)));
        };
        add("host", self.host.map(text));
        add("app", self.app.map(text));
        add("pid", self.pid.map(pid));
        add("msgid", self.msgid.map(text));
        add(
            "facility",
            pri.map(|pri| text(SYSLOG_FACILITIES[usize::from(pri / 8)])),
        );
        add("sd", self.sd);
        Parsed {
            timestamp: self.timestamp,
            level: pri.map(|pri| severity(pri % 8)).or(self.level),
            message: Cow::Borrowed(self.message),
            logger: self.app.map(Cow::Borrowed),
            data,
        }
    }
}

/// `PRI>` (the `<` taken off): a value from 0 to 191, and the text after.
fn priority(text: &str) -> Option<(u8, &str)> {
    let close = text.bytes().take(4).position(|byte| byte == b'>')?;
    let value = number(&text.as_bytes()[..close])?;
    let pri = u8::try_from(value).ok().filter(|&pri| pri <= 191)?;
    Some((pri, &text[close + 1..]))
}

/// A severity code (0 to 7) as a level.
fn severity(code: u8) -> (Level, Option<Finer>) {
    Level::from_syslog(code & 7).unwrap_or((Level::Debug, None))
}

fn pid(pid: &str) -> Field<'_> {
    match pid.parse() {
        Ok(number) if pid.bytes().all(|byte| byte.is_ascii_digit()) => Field::Integer(number),
        _ => Field::Text(Cow::Borrowed(pid)),
    }
}

/// RFC 5424 after `<PRI>1 `: `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`.
fn rfc5424(text: &str) -> Header<'_> {
    let mut header = Header::starting(text);
    // Stops at the first odd part, which then starts the message.
    let _ = read_rfc5424(&mut header);
    header
}

fn read_rfc5424(header: &mut Header<'_>) -> Option<()> {
    let (stamp, rest) = word(header.message)?;
    if stamp != "-" {
        header.timestamp = iso_time(stamp)?;
    }
    header.message = rest;
    for field in [
        &mut header.host,
        &mut header.app,
        &mut header.pid,
        &mut header.msgid,
    ] {
        let (value, rest) = word(header.message)?;
        *field = (value != "-").then_some(value);
        header.message = rest;
    }
    let (sd, rest) = structured_data(header.message)?;
    header.sd = sd;
    let message = rest.strip_prefix(' ').unwrap_or(rest);
    header.message = message.strip_prefix('\u{feff}').unwrap_or(message);
    Some(())
}

/// The text up to the next space (not empty), and the text after that
/// space (empty at the end).
fn word(text: &str) -> Option<(&str, &str)> {
    let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
    (!word.is_empty()).then_some((word, rest))
}

/// `-` or SD elements, then the end or a space: the elements (`None` for
/// `-`) and the text from that space on.
fn structured_data(text: &str) -> Option<(Option<Field<'_>>, &str)> {
    let (sd, rest) = match text.strip_prefix('-') {
        Some(rest) => (None, rest),
        None => {
            let mut elements = Vec::new();
            let mut rest = text;
            while let Some(inside) = rest.strip_prefix('[') {
                let (element, after) = sd_element(inside)?;
                elements.push(element);
                rest = after;
            }
            (!elements.is_empty()).then_some(())?;
            (Some(Field::Object(elements)), rest)
        }
    };
    (rest.is_empty() || rest.starts_with(' ')).then_some((sd, rest))
}

/// `id param="value" ...]` (the `[` taken off), and the text after it.
fn sd_element(text: &str) -> Option<((Cow<'_, str>, Field<'_>), &str)> {
    let (id, mut rest) = sd_name(text)?;
    let mut params = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix(']') {
            return Some(((Cow::Borrowed(id), Field::Object(params)), after));
        }
        let (name, after) = sd_name(rest.strip_prefix(' ')?)?;
        let (value, after) = param_value(after.strip_prefix("=\"")?)?;
        params.push((Cow::Borrowed(name), Field::Text(value)));
        rest = after;
    }
}

/// An SD-ID or PARAM-NAME: printable ASCII but `=`, `]` and `"`; and the
/// text after it.
fn sd_name(text: &str) -> Option<(&str, &str)> {
    let end = text
        .bytes()
        .position(|byte| matches!(byte, b' ' | b'=' | b']' | b'"') || !byte.is_ascii_graphic())
        .unwrap_or(text.len());
    (end > 0).then(|| text.split_at(end))
}

/// A PARAM-VALUE up to its closing quote (taken off), with `\"`, `\\`
/// and `\]` unescaped (a copy only where there are escapes).
fn param_value(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut escaped = false;
    loop {
        match bytes.get(at)? {
            b'"' => break,
            b'\\' => {
                escaped = true;
                at += 2;
            }
            _ => at += 1,
        }
    }
    let value = &text[..at];
    let value = if escaped {
        Cow::Owned(unescape(value))
    } else {
        Cow::Borrowed(value)
    };
    Some((value, &text[at + 1..]))
}

/// RFC 5424 escapes only `"`, `\` and `]`; a backslash before anything
/// else stays.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('"' | '\\' | ']'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// BSD after `<PRI>`: a timestamp, a host and a tag, each read when it is
/// there; the rest is the message (the whole of it without a timestamp, as
/// RFC 3164 §4.3.3 has a relay read it).
fn bsd<'a>(text: &'a str, clock: &Clock) -> Header<'a> {
    let mut header = Header::starting(text);
    let stamp = bsd_time(text, clock).or_else(|| {
        let (stamp, rest) = word(text)?;
        Some((iso_time(stamp)?, rest))
    });
    let Some((timestamp, rest)) = stamp else {
        return header;
    };
    header.timestamp = timestamp;
    header.message = rest;
    // A tag right after the time: a sender that leaves its host out.
    if let Some(tag) = tag(rest) {
        header.tagged(tag);
    } else if let Some((host, rest)) = word(rest).filter(|(host, _)| is_host(host)) {
        header.host = Some(host);
        header.message = rest;
        if let Some(tag) = tag(rest) {
            header.tagged(tag);
        }
    }
    header
}

/// BSD without `<PRI>`, as syslog daemons write files: only the whole
/// `Mmm dd hh:mm:ss host tag` shape.
fn bare_bsd<'a>(text: &'a str, clock: &Clock) -> Option<Header<'a>> {
    let (timestamp, rest) = bsd_time(text, clock)?;
    let (host, rest) = word(rest).filter(|(host, _)| is_host(host))?;
    let tag = tag(rest)?;
    let mut header = Header {
        timestamp,
        host: Some(host),
        ..Header::starting(rest)
    };
    header.tagged(tag);
    Some(header)
}

/// A host name or address: no brackets, no colon at the end (those are a
/// tag's), no control characters.
fn is_host(word: &str) -> bool {
    !word.ends_with(':')
        && !word
            .bytes()
            .any(|byte| matches!(byte, b'[' | b']') || byte.is_ascii_control())
}

/// A tag and the message after it.
#[derive(Debug)]
struct Tag<'a> {
    app: &'a str,
    pid: Option<&'a str>,
    level: Option<(Level, Option<Finer>)>,
    message: &'a str,
}

/// `app[pid]: message`, `app: message`, or (as macOS writes it)
/// `app[pid] message`, where the message may start with `<Notice>:`.
/// The name ends at `[`, `:` or a space, and is at most 48 characters.
fn tag(text: &str) -> Option<Tag<'_>> {
    let (end, _) = text
        .char_indices()
        .take(MAX_TAG_CHARS + 1)
        .find(|&(_, c)| matches!(c, '[' | ':' | ' '))?;
    let app = &text[..end];
    if app.is_empty() || app.bytes().any(|byte| byte.is_ascii_control()) {
        return None;
    }
    let (pid, rest) = bracketed_pid(&text[end..])?;
    let (level, message) = match rest.strip_prefix(':') {
        Some(after) => (None, after_space(after)?),
        None => {
            pid?;
            let message = after_space(rest)?;
            said_level(message).map_or((None, message), |(level, message)| (Some(level), message))
        }
    };
    Some(Tag {
        app,
        pid,
        level,
        message,
    })
}

/// `[pid]` after a tag's name, when there is one (not empty, no spaces),
/// and the text after it.
fn bracketed_pid(text: &str) -> Option<(Option<&str>, &str)> {
    let Some(inside) = text.strip_prefix('[') else {
        return Some((None, text));
    };
    let close = inside.find([']', ' ']).filter(|&close| close > 0)?;
    let after = inside[close..].strip_prefix(']')?;
    Some((Some(&inside[..close]), after))
}

/// `text` with the space it starts with taken off; empty text stays.
fn after_space(text: &str) -> Option<&str> {
    if text.is_empty() {
        Some(text)
    } else {
        text.strip_prefix(' ')
    }
}

/// macOS's `<Notice>: message`: the level its word names, and the message.
fn said_level(text: &str) -> Option<((Level, Option<Finer>), &str)> {
    let inside = text.strip_prefix('<')?;
    let close = inside
        .bytes()
        .take(MAX_LEVEL_WORD + 1)
        .position(|byte| byte == b'>')?;
    let word = &inside[..close];
    let level = Level::parse(word)?;
    let rest = inside[close + 1..].strip_prefix(':')?;
    Some(((level, Finer::parse(word)), after_space(rest)?))
}

/// `Mmm dd hh:mm:ss` (the day padded with a space, or not padded), maybe
/// with a fraction of a second and then a year: its time (`None` for a
/// date that does not exist), and the text after its space.
pub(super) fn bsd_time<'a>(text: &'a str, clock: &Clock) -> Option<(Option<i64>, &'a str)> {
    let (month, day, at) = month_day(text)?;
    let (time, at) = clock_time(text.as_bytes(), at)?;
    let rest = after_space(&text[at..])?;
    let civil = Civil::on((0, month, day), time);
    Some(match year(rest) {
        Some((year, rest)) => (clock.local_ms(Civil { year, ..civil }), rest),
        None => (clock.yearless_ms(civil), rest),
    })
}

/// `Mmm dd ` or `Mmm  d `: the month, the day, and where the time starts.
fn month_day(text: &str) -> Option<(u32, u32, usize)> {
    let bytes = text.as_bytes();
    let month = month(text.get(..3)?)?;
    if bytes.get(3) != Some(&b' ') {
        return None;
    }
    let at = if bytes.get(4) == Some(&b' ') { 5 } else { 4 };
    let width = if bytes.get(at + 1).is_some_and(u8::is_ascii_digit) {
        2
    } else {
        1
    };
    let day = number(bytes.get(at..at + width)?)?;
    (bytes.get(at + width) == Some(&b' ')).then_some((month, day, at + width + 1))
}

/// A year after a BSD time: four digits and a space.
fn year(text: &str) -> Option<(i32, &str)> {
    let digits = text.as_bytes().get(..5)?.strip_suffix(b" ")?;
    let year = i32::try_from(number(digits)?).ok()?;
    Some((year, &text[5..]))
}

/// An RFC 3339 time with its zone (`Z` or `+hh:mm`), `T` between date
/// and time, and any digits of fraction: `None` when `text` is not one,
/// `Some(None)` when it names a time that does not exist.
fn iso_time(text: &str) -> Option<Option<i64>> {
    let bytes = text.as_bytes();
    let date = bytes.get(..10)?;
    if date[4] != b'-' || date[7] != b'-' || !matches!(bytes.get(10), Some(b'T' | b't')) {
        return None;
    }
    let (time, at) = clock_time(bytes, 11)?;
    let (offset, end) = zone(bytes, at)?;
    if end != bytes.len() {
        return None;
    }
    let year = i32::try_from(number(&date[..4])?).ok()?;
    let civil = Civil::on((year, number(&date[5..7])?, number(&date[8..10])?), time);
    Some(Clock::offset_ms(civil, offset))
}

/// ASCII digits (one to nine) as a number.
fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// 2026-11-30T18:00:00Z.
    const NOW: i64 = 1_796_061_600_000;

    // RFC 5424 §6.5, examples 1 to 4 ("BOM" written as the BOM).
    const RFC5424_1: &str = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8";
    const RFC5424_2: &str = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nothing.";
    const RFC5424_3: &str = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \u{feff}An application event log entry...";
    const RFC5424_4: &str = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]";

    // RFC 3164 §5.4, examples 1 to 4 (example 2 as sent, then relayed).
    const RFC3164_1: &str =
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8";
    const RFC3164_2: &str = "Use the BFG!";
    const RFC3164_2_RELAYED: &str = "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!";
    const RFC3164_3: &str =
        "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nothing.";
    const RFC3164_4: &str = "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!";

    const LINUX: &str = "Nov 30 18:21:00 web-1 sshd[811]: Accepted publickey for root";
    const RSYSLOG: &str = "<30>2026-11-30T18:21:00.031+01:00 web-1 systemd[1]: Started x.";
    const MACOS: &str = "Nov 30 18:21:00 mac-host kernel[0] <Notice>: message";

    fn read(text: &str) -> Option<Parsed<'_>> {
        parse(text, &Clock::fixed(0, NOW))
    }

    fn parsed(text: &str) -> Parsed<'_> {
        read(text).unwrap_or_else(|| panic!("not read as syslog: {text}"))
    }

    /// An RFC 3339 time, read by jiff, in milliseconds.
    fn at(time: &str) -> Option<i64> {
        Some(time.parse::<jiff::Timestamp>().unwrap().as_millisecond())
    }

    fn data(parsed: &Parsed) -> Value {
        Field::Object(parsed.data.clone()).to_json()
    }

    fn keys<'p>(parsed: &'p Parsed) -> Vec<&'p str> {
        parsed.data.iter().map(|(key, _)| key.as_ref()).collect()
    }

    fn sd<'p>(parsed: &'p Parsed) -> &'p Field<'p> {
        let (_, sd) = parsed.data.iter().find(|(key, _)| key == "sd").unwrap();
        sd
    }

    #[test]
    fn rfc5424_example_1_without_structured_data() {
        let parsed = parsed(RFC5424_1);
        assert_eq!(parsed.timestamp, at("2003-10-11T22:14:15.003Z"));
        assert_eq!(parsed.level, Some((Level::Critical, None)));
        assert_eq!(parsed.message, "'su root' failed for lonvick on /dev/pts/8");
        assert_eq!(parsed.logger.as_deref(), Some("su"));
        assert_eq!(keys(&parsed), ["host", "app", "msgid", "facility"]);
        assert_eq!(
            data(&parsed),
            json!({"host": "mymachine.example.com", "app": "su", "msgid": "ID47", "facility": "auth"})
        );
    }

    #[test]
    fn rfc5424_example_2_with_a_fraction_and_an_offset() {
        let parsed = parsed(RFC5424_2);
        assert_eq!(parsed.timestamp, at("2003-08-24T12:14:15.000Z"));
        assert_eq!(parsed.level, Some((Level::Info, Some(Finer::Notice))));
        assert_eq!(parsed.message, "%% It's time to make the do-nothing.");
        assert_eq!(parsed.logger.as_deref(), Some("myproc"));
        assert_eq!(keys(&parsed), ["host", "app", "pid", "facility"]);
        assert_eq!(
            data(&parsed),
            json!({"host": "192.0.2.1", "app": "myproc", "pid": 8710, "facility": "local4"})
        );
    }

    #[test]
    fn rfc5424_example_3_with_structured_data() {
        let parsed = parsed(RFC5424_3);
        assert_eq!(parsed.timestamp, at("2003-10-11T22:14:15.003Z"));
        assert_eq!(parsed.message, "An application event log entry...");
        assert_eq!(parsed.logger.as_deref(), Some("evntslog"));
        assert_eq!(keys(&parsed), ["host", "app", "msgid", "facility", "sd"]);
        assert_eq!(
            data(&parsed)["sd"],
            json!({"exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}})
        );
    }

    #[test]
    fn rfc5424_example_4_structured_data_only() {
        let parsed = parsed(RFC5424_4);
        assert_eq!(parsed.message, "");
        assert_eq!(
            data(&parsed)["sd"],
            json!({
                "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
                "examplePriority@32473": {"class": "high"},
            })
        );
        // In the order written, params too.
        let Field::Object(elements) = sd(&parsed) else {
            panic!("sd is an object");
        };
        assert_eq!(elements[0].0, "exampleSDID@32473");
        assert_eq!(elements[1].0, "examplePriority@32473");
    }

    #[test]
    fn sd_elements_apart_from_the_first_are_the_message() {
        // RFC 5424 §6.3.5: a space ends the structured data.
        let parsed = parsed(
            "<165>1 - - - - - [exampleSDID@32473 iut=\"3\"] [examplePriority@32473 class=\"high\"]",
        );
        assert_eq!(
            data(&parsed)["sd"],
            json!({"exampleSDID@32473": {"iut": "3"}})
        );
        assert_eq!(parsed.message, "[examplePriority@32473 class=\"high\"]");
    }

    #[test]
    fn sd_values_are_unescaped() {
        let parsed = parsed(
            r#"<13>1 - - - - - [x@1 a="say \"hi\"" b="c:\\temp" c="[1\]" d="a\nb" e="" f="]"][y] m"#,
        );
        assert_eq!(
            data(&parsed)["sd"],
            json!({"x@1": {"a": "say \"hi\"", "b": "c:\\temp", "c": "[1]", "d": "a\\nb", "e": "", "f": "]"}, "y": {}})
        );
        assert_eq!(parsed.message, "m");
        let Field::Object(elements) = sd(&parsed) else {
            panic!("sd is an object");
        };
        let Field::Object(params) = &elements[0].1 else {
            panic!("an element is an object");
        };
        // A copy only where there was an escape.
        assert!(matches!(params[0].1, Field::Text(Cow::Owned(_))));
        assert!(matches!(params[4].1, Field::Text(Cow::Borrowed(_))));
        assert!(matches!(params[5].1, Field::Text(Cow::Borrowed(_))));
    }

    #[test]
    fn nil_fields_are_left_out() {
        let parsed = parsed("<14>1 - - - - - -");
        assert_eq!(parsed.timestamp, None);
        assert_eq!(parsed.level, Some((Level::Info, None)));
        assert_eq!(parsed.logger, None);
        assert_eq!(parsed.message, "");
        assert_eq!(data(&parsed), json!({"facility": "user"}));
        let parsed = self::parsed("<14>1 - host - 42 - - hello");
        assert_eq!(
            data(&parsed),
            json!({"host": "host", "pid": 42, "facility": "user"})
        );
        assert_eq!(parsed.message, "hello");
    }

    #[test]
    fn an_odd_part_of_a_header_starts_the_message() {
        for (line, message, data) in [
            (
                "<14>1 yesterday host app - - - m",
                "yesterday host app - - - m",
                json!({"facility": "user"}),
            ),
            (
                "<14>1 - host app - - [broken m",
                "[broken m",
                json!({"host": "host", "app": "app", "facility": "user"}),
            ),
            (
                "<14>1 - host app - - [a]x m",
                "[a]x m",
                json!({"host": "host", "app": "app", "facility": "user"}),
            ),
            (
                "<14>1 - host app - - -x m",
                "-x m",
                json!({"host": "host", "app": "app", "facility": "user"}),
            ),
            (
                "<14>1 - host  app - - - m",
                " app - - - m",
                json!({"host": "host", "facility": "user"}),
            ),
            (
                "<14>1 - h a p i [x a=\"unterminated]",
                "[x a=\"unterminated]",
                json!({"host": "h", "app": "a", "pid": "p", "msgid": "i", "facility": "user"}),
            ),
        ] {
            let parsed = parsed(line);
            assert_eq!(parsed.message, message, "{line}");
            assert_eq!(self::data(&parsed), data, "{line}");
        }
    }

    #[test]
    fn a_bom_is_taken_off_only_at_the_start() {
        assert_eq!(
            parsed("<14>1 - - - - - - \u{feff}hello\u{feff}").message,
            "hello\u{feff}"
        );
        assert_eq!(parsed("<14>1 - - - - - - \u{feff}").message, "");
        assert_eq!(parsed("<14>1 - - - - - - hello").message, "hello");
    }

    #[test]
    fn rfc3164_example_1() {
        let parsed = parsed(RFC3164_1);
        assert_eq!(parsed.timestamp, at("2026-10-11T22:14:15Z"));
        assert_eq!(parsed.level, Some((Level::Critical, None)));
        assert_eq!(parsed.message, "'su root' failed for lonvick on /dev/pts/8");
        assert_eq!(parsed.logger.as_deref(), Some("su"));
        assert_eq!(keys(&parsed), ["host", "app", "facility"]);
        assert_eq!(
            data(&parsed),
            json!({"host": "mymachine", "app": "su", "facility": "auth"})
        );
    }

    #[test]
    fn rfc3164_example_2_as_sent_and_as_relayed() {
        assert_eq!(read(RFC3164_2), None);
        let parsed = parsed(RFC3164_2_RELAYED);
        assert_eq!(parsed.timestamp, at("2026-02-05T17:32:18Z"));
        assert_eq!(parsed.level, Some((Level::Info, Some(Finer::Notice))));
        assert_eq!(parsed.message, "Use the BFG!");
        assert_eq!(parsed.logger, None);
        assert_eq!(
            data(&parsed),
            json!({"host": "10.0.0.99", "facility": "user"})
        );
    }

    #[test]
    fn rfc3164_example_3_has_cst_for_its_host() {
        // As RFC 3164 reads it: the zone and year make no valid header, and
        // "CST" stands where the host does.
        let parsed = parsed(RFC3164_3);
        assert_eq!(parsed.timestamp, at("2026-08-24T05:34:00Z"));
        assert_eq!(parsed.level, Some((Level::Info, Some(Finer::Notice))));
        assert_eq!(
            parsed.message,
            "1987 mymachine myproc[10]: %% It's time to make the do-nothing."
        );
        assert_eq!(parsed.logger, None);
        assert_eq!(data(&parsed), json!({"host": "CST", "facility": "local4"}));
    }

    #[test]
    fn rfc3164_example_4_without_a_timestamp_is_all_message() {
        let parsed = parsed(RFC3164_4);
        assert_eq!(parsed.timestamp, None);
        assert_eq!(
            parsed.level,
            Some((Level::Critical, Some(Finer::Emergency)))
        );
        assert_eq!(parsed.message, &RFC3164_4[3..]);
        assert_eq!(parsed.logger, None);
        assert_eq!(data(&parsed), json!({"facility": "kern"}));
    }

    #[test]
    fn a_linux_syslog_file_line_is_read_in_local_time() {
        let parsed = parsed(LINUX);
        assert_eq!(parsed.timestamp, at("2026-11-30T18:21:00Z"));
        assert_eq!(parsed.level, None);
        assert_eq!(parsed.message, "Accepted publickey for root");
        assert_eq!(parsed.logger.as_deref(), Some("sshd"));
        assert_eq!(keys(&parsed), ["host", "app", "pid"]);
        assert_eq!(
            data(&parsed),
            json!({"host": "web-1", "app": "sshd", "pid": 811})
        );
        let paris = parse(LINUX, &Clock::fixed(3600, NOW)).unwrap();
        assert_eq!(paris.timestamp, at("2026-11-30T17:21:00Z"));
    }

    #[test]
    fn tags_with_and_without_a_pid() {
        for (line, app, pid, message) in [
            (
                "Nov 30 18:21:00 web-1 kernel: [    0.000000] Linux version",
                "kernel",
                None,
                "[    0.000000] Linux version",
            ),
            (
                "Nov 30 18:21:00 web-1 sudo:   alice : TTY=pts/0",
                "sudo",
                None,
                "  alice : TTY=pts/0",
            ),
            (
                "Nov 30 18:21:00 web-1 postfix/smtpd[1234]: connect",
                "postfix/smtpd",
                Some(json!(1234)),
                "connect",
            ),
            (
                "Nov 30 18:21:00 web-1 app[main]: x",
                "app",
                Some(json!("main")),
                "x",
            ),
            ("Nov 30 18:21:00 web-1 app:", "app", None, ""),
            (
                "Nov 30 18:21:00 web-1 sshd[811]",
                "sshd",
                Some(json!(811)),
                "",
            ),
        ] {
            let parsed = parsed(line);
            assert_eq!(parsed.logger.as_deref(), Some(app), "{line}");
            assert_eq!(data(&parsed).get("pid"), pid.as_ref(), "{line}");
            assert_eq!(parsed.message, message, "{line}");
        }
    }

    #[test]
    fn an_rsyslog_rfc3339_time_after_a_pri() {
        let parsed = parsed(RSYSLOG);
        assert_eq!(parsed.timestamp, at("2026-11-30T17:21:00.031Z"));
        assert_eq!(parsed.level, Some((Level::Info, None)));
        assert_eq!(parsed.message, "Started x.");
        assert_eq!(
            data(&parsed),
            json!({"host": "web-1", "app": "systemd", "pid": 1, "facility": "daemon"})
        );
        // Without a PRI, `time word word:` is too common to be syslog.
        assert_eq!(read(&RSYSLOG[4..]), None);
    }

    #[test]
    fn a_macos_level_word_is_the_level() {
        let parsed = parsed(MACOS);
        assert_eq!(parsed.level, Some((Level::Info, Some(Finer::Notice))));
        assert_eq!(parsed.message, "message");
        assert_eq!(
            data(&parsed),
            json!({"host": "mac-host", "app": "kernel", "pid": 0})
        );
        let error = self::parsed("Nov 30 18:21:00 mac-host app[9] <Error>: disk");
        assert_eq!(error.level, Some((Level::Error, None)));
        // A PRI says the level where there is one.
        let with_pri = self::parsed("<11>Nov 30 18:21:00 mac-host kernel[0] <Notice>: m");
        assert_eq!(with_pri.level, Some((Level::Error, None)));
        assert_eq!(with_pri.message, "m");
        // Not a level: the message keeps it.
        let launchd = self::parsed(
            "Nov 30 18:21:00 mac-host com.apple.xpc.launchd[1] (com.apple.foo): Service exited",
        );
        assert_eq!(launchd.level, None);
        assert_eq!(launchd.message, "(com.apple.foo): Service exited");
        let other = self::parsed("Nov 30 18:21:00 mac-host app[9] <Green>: go");
        assert_eq!(other.level, None);
        assert_eq!(other.message, "<Green>: go");
    }

    #[test]
    fn a_day_may_be_padded_with_a_space_or_not() {
        for line in [
            "Oct  1 09:05:03 host app: m",
            "Oct 1 09:05:03 host app: m",
            "Oct 01 09:05:03 host app: m",
        ] {
            assert_eq!(parsed(line).timestamp, at("2026-10-01T09:05:03Z"), "{line}");
        }
        assert_eq!(read("Oct   1 09:05:03 host app: m"), None);
    }

    #[test]
    fn february_29th_is_the_last_before_now() {
        let line = "Feb 29 12:00:00 host app: m";
        assert_eq!(parsed(line).timestamp, at("2024-02-29T12:00:00Z"));
        let march_2029 = Clock::fixed(0, at("2029-03-01T00:00:00Z").unwrap());
        assert_eq!(
            parse(line, &march_2029).unwrap().timestamp,
            at("2028-02-29T12:00:00Z")
        );
        // A date that never is: the line is syslog, its time unknown.
        let never = parsed("Feb 30 12:00:00 host app: m");
        assert_eq!(never.timestamp, None);
        assert_eq!(never.message, "m");
    }

    #[test]
    fn a_year_or_a_fraction_may_follow_the_time() {
        for (line, time) in [
            (
                "Oct 11 22:14:15.123 host app: m",
                "2026-10-11T22:14:15.123Z",
            ),
            ("Oct 11 22:14:15.1 host app: m", "2026-10-11T22:14:15.100Z"),
            ("Oct 11 22:14:15 2019 host app: m", "2019-10-11T22:14:15Z"),
            (
                "<34>Oct 11 22:14:15.123456 2019 host app: m",
                "2019-10-11T22:14:15.123Z",
            ),
        ] {
            let parsed = parsed(line);
            assert_eq!(parsed.timestamp, at(time), "{line}");
            assert_eq!(data(&parsed)["host"], "host", "{line}");
            assert_eq!(parsed.message, "m", "{line}");
        }
    }

    #[test]
    fn a_pri_out_of_range_is_not_syslog() {
        for line in [
            "<192>Oct 11 22:14:15 host app: m",
            "<192>1 - - - - - -",
            "<1000>m",
            "<>m",
            "<-1>m",
            "<b>html</b>",
            "<3",
        ] {
            assert_eq!(read(line), None, "{line}");
        }
        let last = parsed("<191>m");
        assert_eq!(last.level, Some((Level::Debug, None)));
        assert_eq!(data(&last), json!({"facility": "local7"}));
        assert_eq!(last.message, "m");
    }

    #[test]
    fn every_severity_and_facility_is_named() {
        let levels = [
            (Level::Critical, Some(Finer::Emergency)),
            (Level::Critical, Some(Finer::Alert)),
            (Level::Critical, None),
            (Level::Error, None),
            (Level::Warning, None),
            (Level::Info, Some(Finer::Notice)),
            (Level::Info, None),
            (Level::Debug, None),
        ];
        for (code, level) in levels.into_iter().enumerate() {
            let line = format!("<{}>1 - - - - - - m", 8 + code);
            assert_eq!(parsed(&line).level, Some(level), "{line}");
        }
        for (code, name) in SYSLOG_FACILITIES.iter().enumerate() {
            let line = format!("<{}>m", code * 8 + 6);
            assert_eq!(data(&parsed(&line))["facility"], *name, "{line}");
        }
    }

    #[test]
    fn truncated_headers_keep_what_they_have() {
        for (line, time, message, data) in [
            ("<34>", None, "", json!({"facility": "auth"})),
            ("<34>1", None, "1", json!({"facility": "auth"})),
            ("<34>1 ", None, "", json!({"facility": "auth"})),
            ("<34>Oct 11", None, "Oct 11", json!({"facility": "auth"})),
            (
                "<34>Oct 11 22:14:15",
                at("2026-10-11T22:14:15Z"),
                "",
                json!({"facility": "auth"}),
            ),
            (
                "<34>Oct 11 22:14:15 host",
                at("2026-10-11T22:14:15Z"),
                "",
                json!({"host": "host", "facility": "auth"}),
            ),
            (
                "<34>1 2003-10-11T22:14:15.003Z",
                at("2003-10-11T22:14:15.003Z"),
                "",
                json!({"facility": "auth"}),
            ),
            (
                "<34>1 2003-10-11T22:14:15.003Z host app",
                at("2003-10-11T22:14:15.003Z"),
                "",
                json!({"host": "host", "app": "app", "facility": "auth"}),
            ),
        ] {
            let parsed = parsed(line);
            assert_eq!(parsed.timestamp, time, "{line}");
            assert_eq!(parsed.message, message, "{line}");
            assert_eq!(self::data(&parsed), data, "{line}");
            assert_eq!(parsed.level, Some((Level::Critical, None)), "{line}");
        }
        assert_eq!(read("Nov 30 18:21:00 web-1"), None);
        assert_eq!(read("Nov 30 18:21"), None);
    }

    #[test]
    fn a_sender_may_leave_its_host_out_after_a_pri() {
        let parsed = parsed("<34>Oct 11 22:14:15 su: 'su root' failed");
        assert_eq!(parsed.logger.as_deref(), Some("su"));
        assert_eq!(data(&parsed), json!({"app": "su", "facility": "auth"}));
        assert_eq!(parsed.message, "'su root' failed");
        let ipv6 = self::parsed("<14>Oct 11 22:14:15 fe80::1 app[3]: m");
        assert_eq!(data(&ipv6)["host"], "fe80::1");
        assert_eq!(ipv6.logger.as_deref(), Some("app"));
    }

    #[test]
    fn a_tag_is_at_most_48_characters() {
        let longest = format!("Nov 30 18:21:00 host {}: m", "a".repeat(48));
        assert_eq!(parsed(&longest).message, "m");
        let long = format!("Nov 30 18:21:00 host {}: m", "a".repeat(49));
        assert_eq!(read(&long), None);
        let with_pri = format!("<14>{long}");
        let parsed = parsed(&with_pri);
        assert_eq!(parsed.logger, None);
        assert_eq!(parsed.message, &long[21..]);
        let wide = format!("Nov 30 18:21:00 host {}: m", "é".repeat(48));
        assert_eq!(self::parsed(&wide).message, "m");
    }

    #[test]
    fn non_ascii_text_is_kept_exactly() {
        let message = "Grüße, 世界 ✓ — \u{1f600}";
        for line in [
            format!("<14>1 - hôte app - - - {message}"),
            format!("Nov 30 18:21:00 web-1 café[1]: {message}"),
            format!("<14>Nov 30 18:21:00 web-1 {message}"),
        ] {
            let parsed = parsed(&line);
            assert!(line.ends_with(&*parsed.message), "{line}");
            assert!(parsed.message.ends_with(message), "{line}");
        }
        assert_eq!(
            parsed("Nov 30 18:21:00 web-1 café[1]: x").logger.as_deref(),
            Some("café")
        );
    }

    #[test]
    fn ordinary_text_is_not_syslog() {
        for line in [
            "",
            "Oct is a month",
            "2026-11-30 18:21:00 INFO x",
            "2026-11-30T18:21:00.031Z INFO main: started",
            "<b>html</b>",
            "GET / 200",
            "May the force be with you",
            "Dec 25 is christmas: yes",
            "Oct 11 22:14:15",
            "Nov 30 18:21:00 web-1 Accepted publickey for root",
            "Nov 30 18:21:00 sshd[811]: no host",
            "Nov 30 18:21:00  web-1 sshd[811]: two spaces",
            "{\"msg\":\"x\"}",
            "1 2003-10-11T22:14:15.003Z host app - - - m",
        ] {
            assert_eq!(read(line), None, "{line}");
        }
    }

    #[test]
    fn fields_are_borrowed_from_the_line() {
        for line in [RFC5424_3, LINUX, RFC3164_1] {
            let parsed = parsed(line);
            assert!(matches!(parsed.message, Cow::Borrowed(_)));
            assert!(matches!(parsed.logger, Some(Cow::Borrowed(_))));
            for (key, value) in &parsed.data {
                assert!(matches!(key, Cow::Borrowed(_)));
                if let Field::Text(text) = value {
                    assert!(matches!(text, Cow::Borrowed(_)), "{key}");
                }
            }
        }
    }

    /// What every parse keeps: a message borrowed from the end of the line,
    /// and data that is JSON.
    fn check(text: &str) -> Result<(), TestCaseError> {
        if let Some(parsed) = read(text) {
            prop_assert!(matches!(parsed.message, Cow::Borrowed(_)));
            prop_assert!(text.ends_with(&*parsed.message));
            prop_assert!(Field::Object(parsed.data).to_json().is_object());
        }
        Ok(())
    }

    const LINES: [&str; 12] = [
        RFC5424_1,
        RFC5424_2,
        RFC5424_3,
        RFC5424_4,
        RFC3164_1,
        RFC3164_2_RELAYED,
        RFC3164_3,
        RFC3164_4,
        LINUX,
        RSYSLOG,
        MACOS,
        r#"<13>1 - h a 1 - [x@1 a="\"\\\]" b="c"] m"#,
    ];

    fn syslog_char() -> impl Strategy<Value = char> {
        prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                ' ', '<', '>', '[', ']', '"', '\\', ':', '-', '=', '.', '+', 'T', 'Z', '1', '9',
                '\u{feff}', 'é',
            ]),
        ]
    }

    proptest! {
        #[test]
        fn any_text_is_read_without_panicking(text in any::<String>()) {
            check(&text)?;
        }

        #[test]
        fn pieces_of_headers_are_read_without_panicking(
            pieces in proptest::collection::vec(prop::sample::select(vec![
                "<", ">", "<34>", "<0>", "<191>", "1 ", " ", "  ", "-", "Oct", "Feb 29", " 1",
                "11", "22:14:15", ".003", "2003-10-11T22:14:15", "Z", "+01:00", "host", "app",
                "[", "]", "[811]", ":", "x@1", "a=\"", "\"", "\\", "\u{feff}", "<Notice>:", "é",
            ]), 0..16),
        ) {
            check(&pieces.concat())?;
        }

        #[test]
        fn mutated_syslog_lines_are_read_without_panicking(
            line in prop::sample::select(LINES.to_vec()),
            edits in proptest::collection::vec(
                (any::<prop::sample::Index>(), 0u8..4, syslog_char()),
                0..6,
            ),
        ) {
            let mut chars: Vec<char> = line.chars().collect();
            for (index, edit, c) in edits {
                let at = index.index(chars.len() + 1);
                match edit {
                    0 => chars.insert(at, c),
                    1 if at < chars.len() => {
                        chars.remove(at);
                    }
                    2 if at < chars.len() => chars[at] = c,
                    3 => chars.truncate(at),
                    _ => {}
                }
            }
            check(&chars.into_iter().collect::<String>())?;
        }
    }
}
