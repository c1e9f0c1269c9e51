//! Access logs in the Common and Combined Log Formats, as nginx and Apache
//! write them:
//! `HOST IDENT AUTHUSER [DD/Mon/YYYY:HH:MM:SS +ZZZZ] "REQUEST" STATUS BYTES`,
//! then combined's `"REFERER" "USER-AGENT"`. The request line is the
//! message, the status gives the level (5xx ERROR, 4xx WARNING, else INFO),
//! and the fields go under `data` with the names ECS and OpenTelemetry
//! give them.
//!
//! What the formats leave open, read so:
//! - a field written `-` is absent, and left out;
//! - quoted fields undo Apache's escapes (`\"`, `\\`, `\n`, `\t`, `\r`,
//!   logfmt's too; nginx writes `\xHH` for all but `escape=json`); any
//!   other (`\x22`, nginx's quote, or `\x16\x03` from a TLS probe) is kept
//!   as written;
//! - a request line that is not `METHOD TARGET [HTTP/x]` (`"-"`, a TLS
//!   probe's bytes) is still the message, with no method, path or version;
//! - Apache's `vhost_combined` prefix (`host:port` before the client) is
//!   read as `server.address` and `server.port`;
//! - whatever follows the user agent (nginx's `$request_time`,
//!   `$upstream_response_time`, `"$http_x_forwarded_for"`), or follows the
//!   byte count when it is not a quoted referer, goes under `data` as
//!   `extra`, as written; so does the rest of a line whose referer or user
//!   agent is never closed;
//! - a time without a zone is local time.

use std::borrow::Cow;
use std::ops::Range;

use super::dates::{Civil, Clock, month};
use super::logfmt::unquote;
use super::parsed::{Field, Parsed};
use crate::level::Level;

/// The line's members, or `None` when it is not an access log line.
pub(crate) fn parse<'a>(text: &'a str, clock: &Clock) -> Option<Parsed<'a>> {
    let mut cursor = Cursor { text, at: 0 };
    let head = cursor.head()?;
    let timestamp = date(cursor.bracketed()?, clock)?;
    let request = unquote(cursor.quoted()?);
    let status = cursor.word().filter(|word| is_status(word))?;
    let bytes = byte_count(cursor.word()?)?;
    let mut data = Vec::with_capacity(12);
    head.push_to(&mut data);
    push_request(&mut data, &request);
    data.push(("http.status".into(), Field::Integer(status.parse().ok()?)));
    if let Some(bytes) = bytes {
        data.push(("http.response.bytes".into(), Field::Integer(bytes)));
    }
    push_tail(&mut data, &mut cursor);
    Some(Parsed {
        timestamp: Some(timestamp),
        level: Some((level(status), None)),
        message: request,
        logger: None,
        data,
    })
}

/// The response's size: `Some(None)` for `-` (none sent, as Apache's `%b`
/// writes it), `None` when it is not a count.
fn byte_count(word: &str) -> Option<Option<i64>> {
    match word {
        "-" => Some(None),
        _ if word.bytes().all(|byte| byte.is_ascii_digit()) => word.parse().ok().map(Some),
        _ => None,
    }
}

/// What stands before the time: the client, the identity and the user,
/// after Apache's virtual host where it writes one.
struct Head<'a> {
    vhost: Option<&'a str>,
    client: &'a str,
    ident: &'a str,
    user: &'a str,
}

impl<'a> Head<'a> {
    fn push_to(&self, data: &mut Vec<(Cow<'a, str>, Field<'a>)>) {
        if let Some(vhost) = self.vhost {
            let port = vhost
                .rsplit_once(':')
                .and_then(|(name, port)| Some((name, port.parse::<u16>().ok()?)));
            match port {
                Some((name, port)) => {
                    push_text(data, "server.address", name);
                    data.push(("server.port".into(), Field::Integer(port.into())));
                }
                None => push_text(data, "server.address", vhost),
            }
        }
        push_text(data, "client.address", self.client);
        push_text(data, "user.name", self.user);
        push_text(data, "ident", self.ident);
    }
}

/// `text` under `key`, unless it is `-` (absent).
fn push_text<'a>(data: &mut Vec<(Cow<'a, str>, Field<'a>)>, key: &'static str, text: &'a str) {
    if text != "-" && !text.is_empty() {
        data.push((key.into(), Field::Text(Cow::Borrowed(text))));
    }
}

/// The method, the target and the version of a well-formed request line,
/// borrowed from the line where the request line is. (Whether it was
/// borrowed is the point, hence the `Cow` by reference.)
#[allow(clippy::ptr_arg)]
fn push_request<'a>(data: &mut Vec<(Cow<'a, str>, Field<'a>)>, request: &Cow<'a, str>) {
    let Some(parts) = Request::read(request) else {
        return;
    };
    data.push((
        "http.method".into(),
        Field::Text(part(request, parts.method)),
    ));
    data.push(("http.path".into(), Field::Text(part(request, parts.path))));
    if let Some(version) = parts.version {
        data.push(("http.version".into(), Field::Text(part(request, version))));
    }
}

/// A piece of `whole`, borrowed from the line where `whole` is.
fn part<'a>(whole: &Cow<'a, str>, range: Range<usize>) -> Cow<'a, str> {
    match whole {
        Cow::Borrowed(whole) => Cow::Borrowed(&whole[range]),
        Cow::Owned(whole) => Cow::Owned(whole[range].to_owned()),
    }
}

/// The referer and the user agent, where the line has them, then
/// anything after them as `extra`.
fn push_tail<'a>(data: &mut Vec<(Cow<'a, str>, Field<'a>)>, cursor: &mut Cursor<'a>) {
    for key in ["http.referer", "user_agent"] {
        let Some(quoted) = cursor.quoted() else {
            break;
        };
        let value = unquote(quoted);
        if value != "-" {
            data.push((key.into(), Field::Text(value)));
        }
    }
    let rest = cursor.rest();
    if !rest.is_empty() {
        data.push(("extra".into(), Field::Text(Cow::Borrowed(rest))));
    }
}

/// Where the method, the target and the version stand in a request line
/// (`GET /index.html HTTP/1.1`; HTTP/0.9's `GET /` has no version).
struct Request {
    method: Range<usize>,
    path: Range<usize>,
    version: Option<Range<usize>>,
}

impl Request {
    fn read(line: &str) -> Option<Request> {
        let (method, rest) = split_once_byte(line, b' ')?;
        let token = |byte: u8| byte.is_ascii_uppercase() || byte == b'-' || byte == b'_';
        if method.is_empty() || !method.bytes().all(token) {
            return None;
        }
        let start = method.len() + 1;
        let last_space = rest.bytes().rposition(|byte| byte == b' ');
        let (path, version) = match last_space.map(|at| (&rest[..at], &rest[at + 1..])) {
            Some((path, protocol))
                if protocol.len() > "HTTP/".len() && protocol.starts_with("HTTP/") =>
            {
                let version = line.len() - protocol.len() + "HTTP/".len();
                (start..start + path.len(), Some(version..line.len()))
            }
            _ => (start..line.len(), None),
        };
        let target = &line[path.clone()];
        // Without a version, a space is not the target's but the line's.
        let spaced = version.is_none() && target.bytes().any(|byte| byte == b' ');
        if target.is_empty() || spaced {
            return None;
        }
        Some(Request {
            method: 0..method.len(),
            path,
            version,
        })
    }
}

fn is_status(word: &str) -> bool {
    word.len() == 3 && word.bytes().all(|byte| byte.is_ascii_digit())
}

fn level(status: &str) -> Level {
    match status.as_bytes()[0] {
        b'5' => Level::Error,
        b'4' => Level::Warning,
        _ => Level::Info,
    }
}

/// `10/Oct/2000:13:55:36 -0700` (a fraction of a second, and the zone, may
/// be left out) in milliseconds since the epoch.
fn date(text: &str, clock: &Clock) -> Option<i64> {
    let (day, rest) = split_once_byte(text, b'/')?;
    let (month_name, rest) = split_once_byte(rest, b'/')?;
    let (year, rest) = split_once_byte(rest, b':')?;
    let (time, zone) = match split_once_byte(rest, b' ') {
        Some((time, zone)) => (time, Some(zone)),
        None => (rest, None),
    };
    let (time, fraction) = split_once_byte(time, b'.').unwrap_or((time, ""));
    let (hour, rest) = split_once_byte(time, b':')?;
    // A third colon leaves the seconds not a number.
    let (minute, second) = split_once_byte(rest, b':')?;
    let civil = Civil {
        year: i32::try_from(number(year, 4)?).ok()?,
        month: month(month_name)?,
        day: number(day, 2)?,
        hour: number(hour, 2)?,
        minute: number(minute, 2)?,
        second: number(second, 2)?,
        millisecond: millis(fraction)?,
    };
    match zone {
        Some(zone) => Clock::offset_ms(civil, offset(zone)?),
        None => clock.local_ms(civil),
    }
}

/// `text` split at the first `byte` (ASCII), as `str::split_once` splits
/// it, by looking at each byte: the fields of an access log's line are
/// short, shorter than it takes a search to set up.
fn split_once_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|found| found == byte)?;
    Some((&text[..at], &text[at + 1..]))
}

/// One to `digits` decimal digits.
fn number(text: &str, digits: usize) -> Option<u32> {
    if text.is_empty() || text.len() > digits || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The milliseconds of a fraction of a second's digits (none: 0).
fn millis(fraction: &str) -> Option<u32> {
    if !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let ms = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0, |ms, digit| ms * 10 + u32::from(digit - b'0'));
    Some(ms)
}

/// `+0200`, `-0700` or `+05:30`, in seconds east of UTC.
fn offset(zone: &str) -> Option<i32> {
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let (hours, minutes) = match split_once_byte(digits, b':') {
        Some(split) => split,
        None => (digits.get(..2)?, digits.get(2..)?),
    };
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes) = (number(hours, 2)?, number(minutes, 2)?);
    if minutes >= 60 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60) as i32)
}

/// Reads an access log line's fields from the left.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn skip_spaces(&mut self) {
        let bytes = self.text.as_bytes();
        while bytes.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn next_is(&mut self, byte: u8) -> bool {
        self.skip_spaces();
        self.text.as_bytes().get(self.at) == Some(&byte)
    }

    /// Up to the next space; `None` at the end of the line.
    fn word(&mut self) -> Option<&'a str> {
        self.skip_spaces();
        let rest = &self.text[self.at..];
        let len = rest
            .bytes()
            .position(|byte| byte == b' ')
            .unwrap_or(rest.len());
        let word = Some(&rest[..len]).filter(|word| !word.is_empty())?;
        self.at += len;
        Some(word)
    }

    /// The three words before the time, or four where a virtual host
    /// comes first.
    fn head(&mut self) -> Option<Head<'a>> {
        let mut words = [""; 4];
        let mut count = 0;
        while !self.next_is(b'[') {
            *words.get_mut(count)? = self.word()?;
            count += 1;
        }
        match count {
            3 => Some(Head {
                vhost: None,
                client: words[0],
                ident: words[1],
                user: words[2],
            }),
            4 => Some(Head {
                vhost: Some(words[0]),
                client: words[1],
                ident: words[2],
                user: words[3],
            }),
            _ => None,
        }
    }

    /// Between `[` and `]`.
    fn bracketed(&mut self) -> Option<&'a str> {
        if !self.next_is(b'[') {
            return None;
        }
        let start = self.at + 1;
        let end = start + self.text[start..].bytes().position(|byte| byte == b']')?;
        self.at = end + 1;
        Some(&self.text[start..end])
    }

    /// Between double quotes, escapes still in: the closing quote is one
    /// no backslash escapes that ends the field (a space or the end of the
    /// line after it). `None`, having read nothing, when there is none.
    fn quoted(&mut self) -> Option<&'a str> {
        if !self.next_is(b'"') {
            return None;
        }
        let bytes = self.text.as_bytes();
        let start = self.at + 1;
        let mut at = start;
        loop {
            at += memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
            if bytes[at] == b'\\' {
                at += 2;
            } else if matches!(bytes.get(at + 1), None | Some(b' ')) {
                self.at = at + 1;
                return Some(&self.text[start..at]);
            } else {
                at += 1;
            }
        }
    }

    /// The rest of the line, spaces trimmed.
    fn rest(&mut self) -> &'a str {
        let rest = self.text[self.at..].trim_matches(' ');
        self.at = self.text.len();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::tests::text_formats::*;
    use proptest::prelude::*;

    fn read(text: &str) -> Parsed<'_> {
        parse(text, &clock()).unwrap_or_else(|| panic!("not read as an access log: {text}"))
    }

    fn keys<'a>(parsed: &'a Parsed<'a>) -> Vec<&'a str> {
        parsed.data.iter().map(|(key, _)| key.as_ref()).collect()
    }

    fn member<'a>(parsed: &'a Parsed<'a>, key: &str) -> Option<&'a Field<'a>> {
        parsed
            .data
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, field)| field)
    }

    #[test]
    fn apache_s_common_log_format() {
        let parsed = read(
            r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        );
        assert_eq!(parsed.timestamp, Some(971_211_336_000));
        assert_eq!(parsed.level, Some((Level::Info, None)));
        assert_eq!(parsed.message, "GET /apache_pb.gif HTTP/1.0");
        assert!(matches!(parsed.message, Cow::Borrowed(_)));
        assert_eq!(parsed.logger, None);
        assert_eq!(
            data(&parsed),
            [
                ("client.address", text("127.0.0.1")),
                ("user.name", text("frank")),
                ("http.method", text("GET")),
                ("http.path", text("/apache_pb.gif")),
                ("http.version", text("1.0")),
                ("http.status", Field::Integer(200)),
                ("http.response.bytes", Field::Integer(2326)),
            ]
        );
    }

    #[test]
    fn apache_s_combined_log_format() {
        let parsed = read(
            r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
        );
        assert_eq!(
            data(&parsed)[5..],
            [
                ("http.status", Field::Integer(200)),
                ("http.response.bytes", Field::Integer(2326)),
                ("http.referer", text("http://www.example.com/start.html")),
                ("user_agent", text("Mozilla/4.08 [en] (Win98; I ;Nav)")),
            ]
        );
    }

    #[test]
    fn nginx_s_combined_format_with_a_query_and_no_referer() {
        let parsed = read(
            r#"203.0.113.7 - - [30/Nov/2026:19:21:00 +0100] "GET /search?q=rust+logs&page=2 HTTP/1.1" 304 0 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0""#,
        );
        assert_eq!(parsed.timestamp, Some(AT));
        assert_eq!(parsed.level, Some((Level::Info, None)));
        assert_eq!(
            data(&parsed),
            [
                ("client.address", text("203.0.113.7")),
                ("http.method", text("GET")),
                ("http.path", text("/search?q=rust+logs&page=2")),
                ("http.version", text("1.1")),
                ("http.status", Field::Integer(304)),
                ("http.response.bytes", Field::Integer(0)),
                (
                    "user_agent",
                    text("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
                ),
            ]
        );
    }

    #[test]
    fn ipv6_clients_and_the_status_s_level() {
        let parsed = read(
            r#"2001:db8::ff00:42:8329 - - [30/Nov/2026:18:21:00 +0000] "POST /api/v1/items HTTP/2.0" 503 153 "https://example.com/" "curl/8.5.0""#,
        );
        assert_eq!(parsed.level, Some((Level::Error, None)));
        assert_eq!(
            member(&parsed, "client.address"),
            Some(&text("2001:db8::ff00:42:8329"))
        );
        assert_eq!(member(&parsed, "http.version"), Some(&text("2.0")));
        let parsed = read(
            r#"::1 - - [30/Nov/2026:18:21:00 +0000] "GET /slow HTTP/1.1" 499 0 "-" "Go-http-client/1.1""#,
        );
        assert_eq!(parsed.level, Some((Level::Warning, None)));
        assert_eq!(member(&parsed, "http.status"), Some(&Field::Integer(499)));
        let parsed = read(r#"::1 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 301 0"#);
        assert_eq!(parsed.level, Some((Level::Info, None)));
    }

    #[test]
    fn bytes_written_as_a_dash_are_left_out() {
        let parsed =
            read(r#"192.168.1.5 - - [30/Nov/2026:18:21:00 +0000] "HEAD / HTTP/1.1" 304 -"#);
        assert_eq!(
            keys(&parsed),
            [
                "client.address",
                "http.method",
                "http.path",
                "http.version",
                "http.status"
            ]
        );
    }

    #[test]
    fn quotes_in_the_user_agent_as_apache_and_nginx_escape_them() {
        let parsed = read(
            r#"10.0.0.2 - - [30/Nov/2026:18:21:00 +0000] "GET /a\"b HTTP/1.1" 200 12 "-" "Mozilla/5.0 \"quoted\" (thing; with spaces)""#,
        );
        assert_eq!(parsed.message, r#"GET /a"b HTTP/1.1"#);
        assert_eq!(member(&parsed, "http.path"), Some(&text(r#"/a"b"#)));
        assert_eq!(
            member(&parsed, "user_agent"),
            Some(&text(r#"Mozilla/5.0 "quoted" (thing; with spaces)"#))
        );
        let parsed = read(
            r#"10.0.0.2 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200 12 "-" "Mozilla/5.0 \x22quoted\x22 thing""#,
        );
        assert_eq!(
            member(&parsed, "user_agent"),
            Some(&text(r#"Mozilla/5.0 \x22quoted\x22 thing"#))
        );
        // A quote left raw inside a field ends it only where a space follows.
        let parsed = read(
            r#"10.0.0.2 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200 12 "-" "say "hi"there""#,
        );
        assert_eq!(
            member(&parsed, "user_agent"),
            Some(&text(r#"say "hi"there"#))
        );
    }

    #[test]
    fn a_request_line_that_is_not_one_is_still_the_message() {
        let parsed = read(
            r#"198.51.100.23 - - [30/Nov/2026:18:21:00 +0000] "\x16\x03\x01\x00\xF1\x01\x00\x00\xED\x03\x03" 400 157 "-" "-""#,
        );
        assert_eq!(
            parsed.message,
            r"\x16\x03\x01\x00\xF1\x01\x00\x00\xED\x03\x03"
        );
        assert_eq!(parsed.level, Some((Level::Warning, None)));
        assert_eq!(
            keys(&parsed),
            ["client.address", "http.status", "http.response.bytes"]
        );
        let parsed = read(r#"198.51.100.23 - - [30/Nov/2026:18:21:00 +0000] "-" 400 0 "-" "-""#);
        assert_eq!(parsed.message, "-");
        assert_eq!(member(&parsed, "http.method"), None);
        let parsed = read(r#"198.51.100.23 - - [30/Nov/2026:18:21:00 +0000] "" 400 0"#);
        assert_eq!(parsed.message, "");
        // HTTP/0.9 wrote no version.
        let parsed = read(r#"198.51.100.23 - - [30/Nov/2026:18:21:00 +0000] "GET /" 200 10"#);
        assert_eq!(
            keys(&parsed),
            [
                "client.address",
                "http.method",
                "http.path",
                "http.status",
                "http.response.bytes"
            ]
        );
        // A target with a space in it, between a method and a version.
        let parsed =
            read(r#"198.51.100.23 - - [30/Nov/2026:18:21:00 +0000] "GET /a b HTTP/1.1" 400 0"#);
        assert_eq!(member(&parsed, "http.path"), Some(&text("/a b")));
    }

    #[test]
    fn what_follows_the_user_agent_is_kept_as_extra() {
        let parsed = read(
            r#"203.0.113.7 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0" 0.003 0.002 "198.51.100.1""#,
        );
        assert_eq!(
            data(&parsed)[6..],
            [
                ("user_agent", text("curl/8.5.0")),
                ("extra", text(r#"0.003 0.002 "198.51.100.1""#)),
            ]
        );
        let parsed =
            read(r#"203.0.113.7 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200 612 0.001"#);
        assert_eq!(member(&parsed, "extra"), Some(&text("0.001")));
        // A user agent never closed (a line cut short).
        let parsed = read(
            r#"203.0.113.7 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200 612 "-" "Mozilla/5.0 (cut"#,
        );
        assert_eq!(member(&parsed, "user_agent"), None);
        assert_eq!(
            member(&parsed, "extra"),
            Some(&text(r#""Mozilla/5.0 (cut"#))
        );
    }

    #[test]
    fn apache_s_virtual_host_and_the_identity_are_kept() {
        let parsed = read(
            r#"www.example.com:443 203.0.113.7 ident42 alice [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8.5.0""#,
        );
        assert_eq!(
            data(&parsed)[..5],
            [
                ("server.address", text("www.example.com")),
                ("server.port", Field::Integer(443)),
                ("client.address", text("203.0.113.7")),
                ("user.name", text("alice")),
                ("ident", text("ident42")),
            ]
        );
        let parsed = read(
            r#"www.example.com 203.0.113.7 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200 512"#,
        );
        assert_eq!(
            member(&parsed, "server.address"),
            Some(&text("www.example.com"))
        );
    }

    #[test]
    fn the_time_s_zone_fraction_or_want_of_a_zone() {
        let at = |date: &str| {
            let line = format!(r#"10.0.0.1 - - [{date}] "GET / HTTP/1.1" 200 1"#);
            parse(&line, &clock()).map(|parsed| parsed.timestamp)
        };
        assert_eq!(at("30/Nov/2026:18:21:00 +0000"), Some(Some(AT)));
        assert_eq!(at("30/Nov/2026:13:21:00 -0500"), Some(Some(AT)));
        assert_eq!(at("30/Nov/2026:23:51:00 +05:30"), Some(Some(AT)));
        assert_eq!(at("30/Nov/2026:18:21:00.031 +0000"), Some(Some(AT + 31)));
        // No zone: local time (the clock's, an hour east).
        assert_eq!(at("30/Nov/2026:19:21:00"), Some(Some(AT)));
        for bad in [
            "yesterday",
            "31/Feb/2026:18:21:00 +0000",
            "30/Nob/2026:18:21:00 +0000",
            "30/Nov/2026:18:21 +0000",
            "30/Nov/2026:18:21:00:00 +0000",
            "30/Nov/2026:18:21:00 0000",
            "30/Nov/2026:18:21:00 +00",
            "30/Nov/2026:18:21:00 +0090",
            "30/Nov/2026:18:21:00 +é1",
            "30/Nov/2026:18:21:00 +aé1",
            "30/Nov/2026:18:21:00.x +0000",
            "300/Nov/2026:18:21:00 +0000",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn lines_that_are_not_access_logs_are_refused() {
        for line in [
            "GET / 200",
            "plain prose, nothing more",
            "",
            r#"{"remote_addr":"10.0.0.1","status":200}"#,
            r#"time="2026-11-30T19:21:00+01:00" level=info msg="GET / 200""#,
            "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed",
            "Oct 11 22:14:15 mymachine su[230]: 'su root' failed",
            r#"10.0.0.1 - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200 1"#,
            r#"a b c d e [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200 1"#,
            r#"10.0.0.1 - - [30/Nov/2026:18:21:00 +0000 "GET / HTTP/1.1" 200 1"#,
            r#"10.0.0.1 - - [30/Nov/2026:18:21:00 +0000] GET / HTTP/1.1 200 1"#,
            r#"10.0.0.1 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1 200 1"#,
            r#"10.0.0.1 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 2000 1"#,
            r#"10.0.0.1 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" OK 1"#,
            r#"10.0.0.1 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200"#,
            r#"10.0.0.1 - - [30/Nov/2026:18:21:00 +0000] "GET / HTTP/1.1" 200 12k"#,
            r#"[2026-11-30 18:21:00] production.ERROR: boom"#,
        ] {
            assert_eq!(parse(line, &clock()), None, "{line}");
        }
    }

    proptest! {
        #[test]
        fn any_text_is_read_or_refused_without_a_panic(line in "\\PC{0,120}") {
            let _ = parse(&line, &clock());
        }

        #[test]
        fn broken_access_log_lines_are_read_or_refused_without_a_panic(
            edits in proptest::collection::vec((any::<usize>(), proptest::option::of(prop::sample::select(vec!['"', '\\', '[', ']', ' ', '/', ':', '-', '+', '5', '\u{e9}']))), 1..8),
        ) {
            for line in [
                r#"www.example.com:443 127.0.0.1 - frank [10/Oct/2000:13:55:36.5 -0700] "GET /a\"b HTTP/1.0" 200 2326 "http://www.example.com/" "Mozilla/4.08 [en] (Win98; I ;Nav)" 0.003"#,
                r#"::1 - - [30/Nov/2026:19:21:00] "\x16\x03\x01" 400 - "-" "-""#,
            ] {
                let _ = parse(&mutated(line, &edits), &clock());
            }
        }

        #[test]
        fn the_request_and_status_read_back(
            method in "[A-Z]{1,7}",
            path in "/[!-~]{0,30}",
            status in 100u16..600,
            bytes in proptest::option::of(0i64..1 << 40),
        ) {
            let bytes_text = bytes.map_or("-".to_owned(), |bytes| bytes.to_string());
            let escaped = path.replace('\\', "\\\\").replace('"', "\\\"");
            let line = format!(r#"10.0.0.1 - - [30/Nov/2026:18:21:00 +0000] "{method} {escaped} HTTP/1.1" {status} {bytes_text} "-" "ua""#);
            let parsed = parse(&line, &clock()).unwrap();
            prop_assert_eq!(parsed.message.as_ref(), format!("{method} {path} HTTP/1.1"));
            prop_assert_eq!(member(&parsed, "http.path"), Some(&text(&path)));
            prop_assert_eq!(member(&parsed, "http.status"), Some(&Field::Integer(status.into())));
            prop_assert_eq!(member(&parsed, "http.response.bytes").cloned(), bytes.map(Field::Integer));
            prop_assert_eq!(parsed.timestamp, Some(AT));
        }
    }
}
