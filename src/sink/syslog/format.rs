//! One event as an RFC 5424 message:
//! `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [data@32473 key="value"...] MSG`.
//!
//! PRI is the facility (`user` unless `--syslog-facility` says otherwise)
//! with a severity from the event's level; the
//! timestamp, host and message are the event's own; its `data` members
//! become structured-data parameters where their names fit (RFC 5424 allows
//! 1 to 32 printable ASCII characters without `=`, `]`, `"` or space; other
//! members are left out), objects and arrays as compact JSON. A line that
//! is no JSON event (`--raw`) is the message itself, at INFO, stamped now.
//!
//! An event read from a syslog line keeps that line's header: the
//! envelope left it in `data` (`host`, `app`, `pid`, `msgid`, `facility`,
//! and the structured data as `sd`), and those members fill the header
//! and structured data again instead of riding along under a second one.
//! `--syslog-app-name` and `--syslog-facility` stand for events that name
//! no app or facility.

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::syslog::{MAX_APP_NAME, facility};
use crate::level::{Finer, Level};

/// Largest message sent as one UDP datagram: what RFC 5426 says every
/// receiver should accept. Longer messages are cut and flagged.
pub(crate) const UDP_MAX_MESSAGE: usize = 2048;
/// Where the event's `data` goes. 32473 is the enterprise number RFC 5612
/// sets aside for examples; shipper has none of its own.
const DATA_SD_ID: &str = "data@32473";
/// Where shipper flags a message it had to cut.
const SHIPPER_SD_ID: &str = "shipper@32473";
/// Longest SD-NAME, APP-NAME and HOSTNAME (RFC 5424, section 6).
const MAX_SD_NAME: usize = 32;
const MAX_HOSTNAME: usize = 255;
const MAX_PROCID: usize = 128;
const MAX_MSGID: usize = 32;

/// The members of an event a syslog message carries.
#[derive(Debug, Default, Deserialize)]
struct Event {
    #[serde(default)]
    timestamp: Option<Value>,
    #[serde(default)]
    level: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    diagnostics: Option<Value>,
}

impl Event {
    fn text(value: &Option<Value>) -> Option<&str> {
        value.as_ref().and_then(Value::as_str)
    }

    /// The RFC 5424 severity of the event's level word (or of the finer one
    /// the envelope kept in `diagnostics.syslog_severity`): 0 emergency,
    /// 1 alert, 2 critical, 3 error, 4 warning, 5 notice, 6
    /// informational, 7 debug; informational when it names none.
    fn severity(&self) -> u8 {
        // The envelope keeps there a severity its own level merged away.
        let finer = self
            .diagnostics
            .as_ref()
            .and_then(|diagnostics| diagnostics.get("syslog_severity")?.as_str());
        let Some(word) = finer.or(Event::text(&self.level)) else {
            return 6;
        };
        match (Finer::parse(word), Level::parse(word)) {
            (Some(Finer::Emergency), _) => 0,
            (Some(Finer::Alert), _) => 1,
            (Some(Finer::Notice), _) => 5,
            (None, Some(Level::Critical)) => 2,
            (None, Some(Level::Error)) => 3,
            (None, Some(Level::Warning)) => 4,
            (None, Some(Level::Debug)) => 7,
            (None, Some(Level::Info) | None) => 6,
        }
    }

    /// The host the line came from (a syslog line's own), else the host
    /// shipper read it on.
    fn host(&self) -> Option<&str> {
        self.header_member("host")
            .or_else(|| self.diagnostics.as_ref()?.get("host")?.as_str())
    }

    /// A member of `data` that fills a header field, as text.
    fn header_member(&self, name: &str) -> Option<&str> {
        let value = self.data.as_ref()?.get(name)?;
        taken_into_header(name, value)
            .then(|| value.as_str())
            .flatten()
    }

    fn procid(&self) -> Option<String> {
        let pid = self.data.as_ref()?.get("pid")?;
        match pid {
            Value::Number(number) => Some(number.to_string()),
            Value::String(text) => Some(text.clone()),
            _ => None,
        }
    }
}

/// Whether a member of `data` fills the header or structured data of a
/// message rather than riding under `data@32473`: `host`, `app`, `msgid`
/// and `pid` as text with something printable in it, `pid` as a number,
/// `facility` naming one, and `sd` as an object.
fn taken_into_header(name: &str, value: &Value) -> bool {
    match (name, value) {
        ("host" | "app" | "msgid" | "pid", Value::String(text)) => {
            text.bytes().any(|byte| byte.is_ascii_graphic())
        }
        ("pid", Value::Number(_)) => true,
        ("facility", Value::String(name)) => facility(name).is_ok(),
        ("sd", Value::Object(_)) => true,
        _ => false,
    }
}

/// Formats the events of one sink.
pub(super) struct Formatter {
    app_name: String,
    /// The facility's code (RFC 5424 §6.2.1).
    facility: u8,
    /// This machine's name, for events that do not carry one.
    host: String,
}

impl Formatter {
    pub(super) fn new(app_name: &str, host: &str, facility: u8) -> Formatter {
        Formatter {
            app_name: header_field(app_name, MAX_APP_NAME),
            facility,
            host: header_field(host, MAX_HOSTNAME),
        }
    }

    /// One message of at most `max` bytes with its octet count in front
    /// (RFC 6587), for TCP; returns whether it had to be cut (see `fit`).
    pub(super) fn framed(&self, line: &[u8], max: usize, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        let cut = self.fit(line, max, out);
        let length = (out.len() - start).to_string();
        out.splice(start..start, length.bytes().chain(std::iter::once(b' ')));
        cut
    }

    /// One message of at most `UDP_MAX_MESSAGE` bytes, for a datagram;
    /// returns whether it had to be cut (see `fit`).
    pub(super) fn datagram(&self, line: &[u8], out: &mut Vec<u8>) -> bool {
        self.fit(line, UDP_MAX_MESSAGE, out)
    }

    /// One message of at most `max` bytes (at least `MIN_MESSAGE`); returns
    /// whether it had to be cut. A cut message says so in its structured
    /// data (`[shipper@32473 truncated="true" original_length="N"]`), keeps
    /// its `data` if there is room, and its text is cut at a character
    /// boundary.
    fn fit(&self, line: &[u8], max: usize, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        let event = parse(line);
        self.message(&event, line, out);
        let original = out.len() - start;
        if original <= max {
            return false;
        }
        out.truncate(start);
        self.header(&event, out);
        let flag = format!("[{SHIPPER_SD_ID} truncated=\"true\" original_length=\"{original}\"]");
        let before_data = out.len();
        structured_data(event.data.as_ref(), out);
        if out.len() - start + flag.len() + 1 > max {
            out.truncate(before_data);
        }
        out.extend_from_slice(flag.as_bytes());
        out.push(b' ');
        let room = max.saturating_sub(out.len() - start);
        out.extend_from_slice(cut(&text_of(&event, line), room).as_bytes());
        true
    }

    fn message(&self, event: &Event, line: &[u8], out: &mut Vec<u8>) {
        self.header(event, out);
        if !structured_data(event.data.as_ref(), out) {
            out.push(b'-');
        }
        let text = text_of(event, line);
        if !text.is_empty() {
            out.push(b' ');
            out.extend_from_slice(text.as_bytes());
        }
    }

    /// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID `: the event's
    /// own where it names them, else this sink's.
    fn header(&self, event: &Event, out: &mut Vec<u8>) {
        let facility = event
            .header_member("facility")
            .and_then(|name| facility(name).ok())
            .unwrap_or(self.facility);
        let pri = facility * 8 + event.severity();
        let host = match event.host() {
            Some(host) => header_field(host, MAX_HOSTNAME),
            None => self.host.clone(),
        };
        let app = match event.header_member("app") {
            Some(app) => header_field(app, MAX_APP_NAME),
            None => self.app_name.clone(),
        };
        let procid = event
            .procid()
            .map_or_else(|| "-".to_owned(), |pid| header_field(&pid, MAX_PROCID));
        let msgid = event
            .header_member("msgid")
            .map_or_else(|| "-".to_owned(), |id| header_field(id, MAX_MSGID));
        let timestamp = timestamp(Event::text(&event.timestamp));
        out.extend_from_slice(
            format!("<{pri}>1 {timestamp} {host} {app} {procid} {msgid} ").as_bytes(),
        );
    }
}

/// The event in a line, or an empty one if the line is no JSON object.
fn parse(line: &[u8]) -> Event {
    serde_json::from_slice(line).unwrap_or_default()
}

/// The event's message; the line itself when it has none.
fn text_of<'a>(event: &'a Event, line: &'a [u8]) -> std::borrow::Cow<'a, str> {
    match Event::text(&event.message) {
        Some(message) => message.into(),
        None if event.timestamp.is_none() && event.level.is_none() => String::from_utf8_lossy(line),
        None => "".into(),
    }
}

/// RFC 3339 in UTC with microseconds, as RFC 5424 wants it; now, when
/// the event's own cannot be read.
fn timestamp(given: Option<&str>) -> String {
    let when = given
        .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
        .unwrap_or_else(OffsetDateTime::now_utc)
        .to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        when.year(),
        u8::from(when.month()),
        when.day(),
        when.hour(),
        when.minute(),
        when.second(),
        when.microsecond()
    )
}

/// A header field: printable ASCII without spaces, at most `max` bytes,
/// `-` when nothing is left.
fn header_field(text: &str, max: usize) -> String {
    let field: String = text
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if field.is_empty() {
        "-".to_owned()
    } else {
        field
    }
}

/// Writes the structured data a syslog line carried (`data.sd`, an
/// element per SD-ID), then `[data@32473 name="value"...]` for the other
/// members of `data` whose names fit and that the header did not take;
/// returns whether it wrote anything.
fn structured_data(data: Option<&Value>, out: &mut Vec<u8>) -> bool {
    let Some(Value::Object(members)) = data else {
        return false;
    };
    let start = out.len();
    if let Some(Value::Object(elements)) = members.get("sd") {
        for (id, params) in elements {
            if let (true, Value::Object(params)) = (fits_sd_name(id), params) {
                element(id, params.iter(), out);
            }
        }
    }
    let own = members
        .iter()
        .filter(|(name, value)| !taken_into_header(name, value));
    element(DATA_SD_ID, own, out);
    out.len() > start
}

/// Writes `[ID name="value"...]` for the params whose names fit, if any.
fn element<'a>(id: &str, params: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    let start = out.len();
    for (name, value) in params {
        if !fits_sd_name(name) || value.is_null() {
            continue;
        }
        if out.len() == start {
            out.push(b'[');
            out.extend_from_slice(id.as_bytes());
        }
        out.push(b' ');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        match value {
            Value::String(text) => escape_into(text, out),
            other => escape_into(&other.to_string(), out),
        }
        out.push(b'"');
    }
    if out.len() > start {
        out.push(b']');
    }
}

fn fits_sd_name(name: &str) -> bool {
    (1..=MAX_SD_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'=' | b']' | b'"'))
}

/// A parameter value, with `"`, `\` and `]` escaped by a backslash.
fn escape_into(text: &str, out: &mut Vec<u8>) {
    for byte in text.bytes() {
        if matches!(byte, b'"' | b'\\' | b']') {
            out.push(b'\\');
        }
        out.push(byte);
    }
}

/// The longest start of `text` within `room` bytes that ends on a
/// character boundary.
fn cut(text: &str, room: usize) -> &str {
    if text.len() <= room {
        return text;
    }
    let mut end = room;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A batch's messages back to back, and where each ends.
#[derive(Default)]
pub(super) struct Messages {
    pub(super) bytes: Vec<u8>,
    pub(super) ends: Vec<usize>,
}

impl Messages {
    pub(super) fn start_of(&self, message: usize) -> usize {
        match message {
            0 => 0,
            n => self.ends[n - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::syslog::MIN_MESSAGE;

    fn formatter() -> Formatter {
        Formatter::new("shipper", "build-host", 1)
    }

    fn framed(line: &str) -> String {
        let mut out = Vec::new();
        assert!(!formatter().framed(line.as_bytes(), 65536, &mut out));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_event_becomes_an_octet_counted_rfc5424_message() {
        let line = r#"{"timestamp":"2025-03-03T08:00:00.123Z","level":"ERROR","message":"disk full","diagnostics":{"host":"web-1"},"data":{"path":"/var","free":0,"tags":["a"],"note":"say \"hi\" [x]","nothing":null,"bad name":1}}"#;
        let message = r#"<11>1 2025-03-03T08:00:00.123000Z web-1 shipper - - [data@32473 free="0" note="say \"hi\" [x\]" path="/var" tags="[\"a\"\]"] disk full"#;
        assert_eq!(framed(line), format!("{} {message}", message.len()));
    }

    #[test]
    fn levels_map_to_severities() {
        for (level, pri) in [
            ("DEBUG", "<15>"),
            ("INFO", "<14>"),
            ("WARNING", "<12>"),
            ("ERROR", "<11>"),
            ("CRITICAL", "<10>"),
            ("notice", "<13>"),
            ("alert", "<9>"),
            ("emerg", "<8>"),
            ("EMERGENCY", "<8>"),
            ("fatal", "<10>"),
            ("trace", "<15>"),
            ("whatever", "<14>"),
        ] {
            let line = format!(r#"{{"level":"{level}","message":"m"}}"#);
            let message = framed(&line);
            assert!(message.contains(&format!(" {pri}1 ")), "{level}: {message}");
        }
    }

    #[test]
    fn a_facility_code_sets_the_pri() {
        let formatter = Formatter::new("shipper", "build-host", 16);
        let mut out = Vec::new();
        formatter.framed(br#"{"level":"ERROR","message":"m"}"#, 4096, &mut out);
        assert!(String::from_utf8(out).unwrap().contains(" <131>1 "));
    }

    #[test]
    fn the_severity_the_envelope_kept_wins_over_its_level() {
        let line =
            r#"{"level":"CRITICAL","message":"m","diagnostics":{"syslog_severity":"alert"}}"#;
        assert!(framed(line).contains(" <9>1 "), "{}", framed(line));
        let line = r#"{"level":"INFO","message":"m","diagnostics":{"syslog_severity":"notice"}}"#;
        assert!(framed(line).contains(" <13>1 "), "{}", framed(line));
    }

    #[test]
    fn a_line_that_is_no_event_is_the_message_itself() {
        let message = framed("plain text, not JSON");
        let (_, message) = message.split_once(' ').unwrap();
        assert!(message.starts_with("<14>1 20"), "{message}");
        assert!(
            message.ends_with(" build-host shipper - - - plain text, not JSON"),
            "{message}"
        );
    }

    #[test]
    fn a_long_message_is_cut_to_fit_a_datagram_and_flagged() {
        let long = "é".repeat(3000);
        let line = format!(r#"{{"level":"INFO","message":"{long}","data":{{"k":"v"}}}}"#);
        let mut out = Vec::new();
        assert!(formatter().datagram(line.as_bytes(), &mut out));
        assert!(out.len() <= UDP_MAX_MESSAGE && out.len() > UDP_MAX_MESSAGE - 2);
        let text = String::from_utf8(out).expect("cut on a character boundary");
        assert!(
            text.contains(r#"[data@32473 k="v"][shipper@32473 truncated="true" original_length=""#),
            "{text}"
        );

        let mut short = Vec::new();
        assert!(!formatter().datagram(br#"{"message":"short"}"#, &mut short));
        assert!(short.ends_with(b"- - - short"));
    }

    #[test]
    fn a_framed_message_is_cut_to_its_limit_and_counted_as_cut() {
        let long = "x".repeat(70_000);
        let line = format!(r#"{{"level":"INFO","message":"{long}"}}"#);
        let mut out = Vec::new();
        assert!(formatter().framed(line.as_bytes(), 65536, &mut out));
        let text = String::from_utf8(out).unwrap();
        let (count, message) = text.split_once(' ').unwrap();
        assert_eq!(count, "65536");
        assert_eq!(message.len(), 65536);
        assert!(message.contains(r#"[shipper@32473 truncated="true" original_length="70"#));
        assert!(
            message.ends_with(&"x".repeat(1000)),
            "the text is kept up to the limit"
        );
    }

    #[test]
    fn the_shortest_limit_holds_the_longest_header_and_the_flag() {
        let formatter = Formatter::new(&"a".repeat(MAX_APP_NAME), "build-host", 1);
        let host = "h".repeat(300);
        let line = format!(
            r#"{{"message":"{}","diagnostics":{{"host":"{host}"}}}}"#,
            "x".repeat(MIN_MESSAGE)
        );
        let mut out = Vec::new();
        assert!(formatter.fit(line.as_bytes(), MIN_MESSAGE, &mut out));
        assert!(out.len() <= MIN_MESSAGE, "{}", out.len());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"] x") && text.ends_with('x'), "{text}");
    }

    #[test]
    fn data_too_large_for_a_datagram_is_left_out_of_a_cut_message() {
        let big = "x".repeat(4000);
        let line = format!(r#"{{"message":"m","data":{{"big":"{big}"}}}}"#);
        let mut out = Vec::new();
        assert!(formatter().datagram(line.as_bytes(), &mut out));
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("data@32473"), "{text}");
        assert!(text.ends_with("original_length=\"4078\"] m"), "{text}");
    }

    #[test]
    fn an_event_read_from_a_syslog_line_keeps_its_header() {
        let line = r#"{"timestamp":"2003-10-11T22:14:15.003Z","level":"INFO","message":"entry","diagnostics":{"host":"relay","syslog_severity":"notice"},"data":{"host":"origin.example.com","app":"evntslog","pid":811,"msgid":"ID47","facility":"local4","sd":{"exampleSDID@32473":{"iut":"3","eventSource":"App"}},"extra":"x"}}"#;
        let message = r#"<165>1 2003-10-11T22:14:15.003000Z origin.example.com evntslog 811 ID47 [exampleSDID@32473 eventSource="App" iut="3"][data@32473 extra="x"] entry"#;
        assert_eq!(framed(line), format!("{} {message}", message.len()));
        // Members that cannot fill the header stay in the data.
        let line = r#"{"message":"m","data":{"facility":"nowhere","pid":[1],"app":""}}"#;
        let text = framed(line);
        assert!(text.contains(" <14>1 "), "{text}");
        assert!(
            text.ends_with(
                r#" build-host shipper - - [data@32473 app="" facility="nowhere" pid="[1\]"] m"#
            ),
            "{text}"
        );
    }

    #[test]
    fn header_fields_hold_printable_ascii_only() {
        assert_eq!(header_field("my app", 48), "myapp");
        assert_eq!(header_field("", 48), "-");
        assert_eq!(header_field(&"h".repeat(300), MAX_HOSTNAME).len(), 255);
        assert_eq!(
            timestamp(Some("2025-03-03T09:00:00+01:00")),
            "2025-03-03T08:00:00.000000Z"
        );
    }
}
