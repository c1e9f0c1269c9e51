//! One line in, one event out, or a rejection with its reason.
//!
//! The event follows fapilog's v1.1 envelope: `timestamp`, `level`,
//! `message`, `logger`, `context`, `diagnostics`, `data`. A JSON line is
//! read without building a `serde_json::Value`: known members are mapped,
//! the rest are copied as raw JSON text under `data`, and the event is
//! written once, straight into the batch.

mod clf;
mod conventions;
pub(crate) mod dates;
mod edge;
mod fallbacks;
pub(crate) mod fields;
mod logfmt;
pub(crate) mod parsed;
mod scan;
mod syslog;
mod text;
pub(crate) mod timestamp;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

use serde_json::json;

use crate::config::{EnvelopeConfig, EnvelopeMode, Format};
use crate::diagnostics;
use crate::filter::{Filter, FilterConfig, FilterReason};
use crate::level::{Finer, Level};
use crate::redact::Redactor;
use conventions::Names;
use dates::Clock;
use edge::{Edge, Repaired};
pub(crate) use fallbacks::Fallbacks;
use fields::{Members, NotObject, Raw, is_object, is_string, object_body};
use parsed::{Field, Parsed};

/// One line and what is known of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineRef<'a> {
    pub bytes: &'a [u8],
    /// `stdin` or the file's path.
    pub source: &'a str,
    /// When it was read: the timestamp of a line that carries none.
    pub read_at: SystemTime,
    /// The full length of a line cut at the line limit.
    pub cut_from: Option<u64>,
    /// Lines joined into this event: 1, or more for a multi-line event.
    pub lines: u32,
}

/// Why strict mode rejected a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invalid {
    TooLong {
        length: u64,
        limit: usize,
    },
    NotUtf8,
    NotJson(String),
    NotObject,
    /// JSON by the grammar, with a place JSON readers refuse (the first).
    Unreadable(Edge),
    MissingMessage,
    MessageNotString,
    LevelNotString,
    UnknownLevel(String),
    BadTimestamp(String),
    NotAnObject(&'static str),
    /// Not in the format `--format` names.
    NotInFormat(&'static str),
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::TooLong { length, limit } => {
                write!(
                    f,
                    "line of {length} bytes is longer than --max-line-bytes ({limit})"
                )
            }
            Invalid::NotUtf8 => f.write_str("not valid UTF-8"),
            Invalid::NotJson(err) => write!(f, "not JSON: {err}"),
            Invalid::NotObject => f.write_str("JSON, but not an object"),
            Invalid::Unreadable(edge) => write!(f, "{edge}"),
            Invalid::MissingMessage => f.write_str("no `message` (or `msg`) member"),
            Invalid::MessageNotString => f.write_str("`message` is not a string"),
            Invalid::LevelNotString => f.write_str("`level` is not a string"),
            Invalid::UnknownLevel(level) => write!(f, "unknown level '{level}'"),
            Invalid::BadTimestamp(value) => write!(f, "unparseable timestamp {value}"),
            Invalid::NotAnObject(name) => write!(f, "`{name}` is not an object"),
            Invalid::NotInFormat(format) => write!(f, "not {format}"),
        }
    }
}

/// What best-effort mode changed in a line to ship it.
#[derive(Debug, Clone, Copy, Default)]
struct Repairs {
    invalid_utf8: bool,
    cut_from: Option<u64>,
    /// The edges of JSON it made readable.
    edges: Repaired,
}

/// Turns lines into JSON events, as the envelope mode says.
pub(crate) struct Encoder {
    mode: EnvelopeMode,
    max_line: usize,
    /// `"host":"name"`, ready to add to `diagnostics`.
    host: Vec<u8>,
    /// `--field` pairs: the key, and `"key":"value"` ready to add to `data`.
    fields: Vec<(String, Vec<u8>)>,
    /// The last read time formatted, since a chunk's lines share one.
    read_clock: (i64, [u8; timestamp::TEXT_LEN]),
    /// The second of the last time a line wrote, formatted.
    line_clock: (i64, [u8; timestamp::TEXT_LEN]),
    /// The local zone and "now", for the times lines write.
    clock: Clock,
    /// The last source's name and its JSON string, since a chunk's lines
    /// share one (a file's path is escaped once, not once per event).
    source: (String, Vec<u8>),
    levels: Levels,
    /// A JSON line without a message was told of (once a run, shared by
    /// the encoders of one run).
    told_no_message: Arc<AtomicBool>,
    /// Lines read as plain text since last taken.
    fallbacks: Fallbacks,
    /// The user's filters that look at one event alone (level, include,
    /// exclude), when any is set.
    filter: Option<Filter>,
    /// The filters that count events of a source (`--sample`,
    /// `--rate-limit`), when set: they must see the events in order, so a
    /// pipeline that encodes on several threads takes them out and applies
    /// them itself, after gathering the events back in order.
    in_order: Option<Filter>,
    /// What hides secrets in each line before it is read, when on.
    redactor: Option<Redactor>,
}

/// What the encoders of one run have told once a run, shared between them.
#[derive(Debug, Clone)]
pub(crate) struct ToldOnce(Arc<AtomicBool>);

/// What became of a line that was not rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoded {
    /// Its event was written.
    Written,
    /// A filter set it aside: nothing was written.
    Filtered(FilterReason),
}

/// How a line's level is read, for the encoder and for intake (where
/// `--protect-level` needs it before the line is an event).
#[derive(Debug, Clone)]
pub(crate) struct Levels {
    /// Read a plain-text line's level from its words.
    guess: bool,
    names: Arc<Names>,
    format: Format,
    /// The local zone, read once a run: the times of lines that name
    /// none are read in it.
    zone: jiff::tz::TimeZone,
}

impl Levels {
    /// Levels read as `--level-from auto` reads them.
    #[cfg(test)]
    pub(crate) fn guessing() -> Levels {
        Levels {
            guess: true,
            names: Arc::default(),
            format: Format::Auto,
            zone: jiff::tz::TimeZone::UTC,
        }
    }

    /// The level of a line as its event would carry it, read without
    /// writing the event.
    pub(crate) fn of(&self, bytes: &[u8]) -> Level {
        let level = self.read(bytes);
        match memchr::memchr(b'\n', bytes) {
            // A multi-line event: a trace standing alone is an error's.
            Some(newline) if level < Level::Error => {
                let first = &bytes[..newline];
                if crate::multiline::starts_trace(first) {
                    Level::Error
                } else {
                    level
                }
            }
            _ => level,
        }
    }

    fn read(&self, bytes: &[u8]) -> Level {
        let text = String::from_utf8_lossy(bytes);
        let mut fixed = None;
        let from_json = self
            .format
            .tries_json()
            .then(|| json_members(&text, &mut fixed))
            .flatten()
            .and_then(|(members, _)| {
                Event::from_members(members, &self.names, false, Repairs::default()).ok()
            });
        if let Some(event) = from_json {
            return event.level;
        }
        let clock = Clock::in_zone(self.zone.clone(), timestamp::millis(SystemTime::now()));
        let parsed = read_text(self.format, &text, &clock, self.guess)
            .unwrap_or_else(|_| text::parse(&text, &clock, self.guess));
        parsed.level.map_or(Level::Info, |(level, _)| level)
    }
}

impl Encoder {
    /// The lines read as plain text since the last call, by the format
    /// they were not in.
    pub(crate) fn take_fallbacks(&mut self) -> Fallbacks {
        std::mem::take(&mut self.fallbacks)
    }

    pub(crate) fn new(config: &EnvelopeConfig, host: &str) -> Encoder {
        let fields = config
            .fields
            .iter()
            .map(|(key, value)| (key.clone(), member_bytes(key, &json!(value))))
            .collect();
        Encoder {
            mode: config.mode,
            max_line: config.max_line_bytes,
            host: member_bytes("host", &json!(host)),
            fields,
            read_clock: (i64::MIN, [0; timestamp::TEXT_LEN]),
            line_clock: (i64::MIN, [0; timestamp::TEXT_LEN]),
            clock: Clock::local(timestamp::millis(SystemTime::now())),
            source: (String::new(), b"\"\"".to_vec()),
            levels: Levels {
                guess: config.guess_levels,
                names: Arc::new(Names::new(
                    config.message_key.as_deref(),
                    config.level_key.as_deref(),
                    config.timestamp_key.as_deref(),
                )),
                format: config.format,
                zone: jiff::tz::TimeZone::system(),
            },
            told_no_message: Arc::default(),
            fallbacks: Fallbacks::default(),
            filter: None,
            in_order: None,
            redactor: None,
        }
    }

    /// Applies `filters` to each event before it is written.
    pub(crate) fn with_filter(mut self, filters: FilterConfig) -> Encoder {
        let in_order = FilterConfig {
            sample: filters.sample,
            rate_limit: filters.rate_limit,
            ..FilterConfig::default()
        };
        let each = FilterConfig {
            sample: None,
            rate_limit: None,
            ..filters
        };
        self.filter = each.is_active().then(|| Filter::new(each));
        self.in_order = in_order.is_active().then(|| Filter::new(in_order));
        self
    }

    /// Takes out the filters that must see events in order (`--sample`,
    /// `--rate-limit`): the caller applies them, with `Filter::check`, to
    /// each event this encoder wrote, in the order of the lines.
    pub(crate) fn take_in_order_filter(&mut self) -> Option<Filter> {
        self.in_order.take()
    }

    /// What this encoder tells once a run (a JSON line without a
    /// message), to share with the other encoders of the run.
    pub(crate) fn told_once(&self) -> ToldOnce {
        ToldOnce(Arc::clone(&self.told_no_message))
    }

    /// Tells what is told once a run once for every encoder sharing `told`:
    /// encoders of one run on several threads.
    pub(crate) fn telling_once_with(mut self, told: ToldOnce) -> Encoder {
        self.told_no_message = told.0;
        self
    }

    /// Hides what `redactor` finds in each line before it is read.
    pub(crate) fn with_redactor(mut self, redactor: Redactor) -> Encoder {
        self.redactor = redactor.is_on().then_some(redactor);
        self
    }

    /// The values redacted by each rule since the last call, by name.
    pub(crate) fn take_redactions(&mut self) -> Vec<(&str, u64)> {
        match &mut self.redactor {
            Some(redactor) => {
                let counts = redactor.take_counts();
                redactor.names().zip(counts).collect()
            }
            None => Vec::new(),
        }
    }

    /// How this encoder reads levels.
    pub(crate) fn levels(&self) -> Levels {
        self.levels.clone()
    }

    /// Writes `line`'s event into `out` (without a newline). A rejected
    /// line writes nothing useful (the caller discards `out`'s new bytes)
    /// and is reported on stderr.
    pub(crate) fn encode(&mut self, line: &LineRef, out: &mut Vec<u8>) -> Result<Encoded, Invalid> {
        let redacted = match &mut self.redactor {
            Some(redactor) => redactor.redact(line.bytes, line.cut_from.is_some()),
            None => Cow::Borrowed(line.bytes),
        };
        let line = &LineRef {
            bytes: &redacted,
            ..*line
        };
        match self.mode {
            EnvelopeMode::Raw => {
                if let Some(reason) = self.filter_raw(line) {
                    return Ok(Encoded::Filtered(reason));
                }
                out.extend_from_slice(line.bytes);
                if let Some(length) = line.cut_from {
                    report_repair(line, self.mode, format!("cut a line of {length} bytes"));
                }
                Ok(Encoded::Written)
            }
            EnvelopeMode::BestEffort => Ok(self.encode_best_effort(line, out)),
            EnvelopeMode::Strict => self.encode_strict(line, out).inspect_err(|invalid| {
                diagnostics::warn("envelope", "invalid_line", || {
                    (
                        format!("dropped invalid line: {invalid}"),
                        json!({"mode": EnvelopeMode::Strict.name(), "reason": invalid.to_string(), "source": line.source}),
                    )
                });
            }),
        }
    }

    /// Why the filters set a `--raw` line aside: its level is read only
    /// for `--min-level`, and the whole line is its message.
    fn filter_raw(&mut self, line: &LineRef) -> Option<FilterReason> {
        if let Some(filter) = self.filter.as_mut() {
            let level = match filter.config().min_level {
                Some(_) => self.levels.of(line.bytes),
                None => Level::Info,
            };
            let message = || String::from_utf8_lossy(line.bytes).into_owned();
            if let Some(reason) = filter.check(level, message, line.source, Instant::now) {
                return Some(reason);
            }
        }
        self.filter_in_order(line)
    }

    /// Why the filters set `event` aside, if they do.
    fn filter_event(&mut self, event: &Event, line: &LineRef) -> Option<FilterReason> {
        let message = || match &event.message {
            Message::Json(raw) => serde_json::from_str(raw.get()).unwrap_or_default(),
            Message::Text(text) => text.clone().into_owned(),
        };
        let each = match self.filter.as_mut() {
            Some(filter) => filter.check(event.level, message, line.source, Instant::now),
            None => None,
        };
        each.or_else(|| self.filter_in_order(line))
    }

    /// Why sampling or the rate limit set the line's event aside, when
    /// this encoder still applies them itself.
    fn filter_in_order(&mut self, line: &LineRef) -> Option<FilterReason> {
        let filter = self.in_order.as_mut()?;
        filter.check(Level::Info, String::new, line.source, Instant::now)
    }

    fn encode_strict(&mut self, line: &LineRef, out: &mut Vec<u8>) -> Result<Encoded, Invalid> {
        if let Some(length) = line.cut_from {
            return Err(Invalid::TooLong {
                length,
                limit: self.max_line,
            });
        }
        let text = std::str::from_utf8(line.bytes).map_err(|_| Invalid::NotUtf8)?;
        let format = self.levels.format;
        if !format.tries_json() {
            self.clock.set_now(timestamp::millis(line.read_at));
            let parsed = read_text(format, text, &self.clock, self.levels.guess)
                .map_err(|NotInFormat(format)| Invalid::NotInFormat(format.name()))?;
            let event = Event::from_parsed(parsed, Repairs::default());
            return Ok(self.write(&event, line, out));
        }
        let members = fields::parse_object(text).map_err(|err| match err {
            NotObject::NotJson(message) => Invalid::NotJson(message),
            NotObject::OtherJson => Invalid::NotObject,
            NotObject::Refused(edges) => edges
                .first()
                .map_or(Invalid::NotObject, |&edge| Invalid::Unreadable(edge)),
        })?;
        let event = Event::from_members(members, &self.levels.names, true, Repairs::default())?;
        Ok(self.write(&event, line, out))
    }

    fn encode_best_effort(&mut self, line: &LineRef, out: &mut Vec<u8>) -> Encoded {
        let bytes = match line.cut_from {
            Some(_) => trim_partial_char(line.bytes),
            None => line.bytes,
        };
        let (text, invalid_utf8) = match std::str::from_utf8(bytes) {
            Ok(text) => (Cow::Borrowed(text), false),
            Err(_) => (String::from_utf8_lossy(bytes), true),
        };
        let mut repairs = Repairs {
            invalid_utf8,
            cut_from: line.cut_from,
            edges: Repaired::default(),
        };
        if invalid_utf8 {
            report_repair(line, self.mode, "replaced invalid UTF-8".to_owned());
        }
        if let Some(length) = line.cut_from {
            report_repair(line, self.mode, format!("cut a line of {length} bytes"));
        }
        let mut fixed = None;
        let format = self.levels.format;
        let members = format
            .tries_json()
            .then(|| json_members(&text, &mut fixed))
            .flatten();
        let from_json = members.and_then(|(members, edges)| {
            if !edges.is_empty() {
                repairs.edges = Repaired::of(&edges);
                report_repair(line, self.mode, edge::describe(&edges));
            }
            Event::from_members(members, &self.levels.names, false, repairs).ok()
        });
        let event = match from_json {
            Some(event) => event,
            None => {
                self.clock.set_now(timestamp::millis(line.read_at));
                let guess = self.levels.guess;
                if format == Format::Auto && text.trim_start().starts_with('{') {
                    self.fell_back(line, Format::Json);
                }
                let parsed = read_text(format, &text, &self.clock, guess).unwrap_or_else(
                    |NotInFormat(format)| {
                        self.fell_back(line, format);
                        text::parse(&text, &self.clock, guess)
                    },
                );
                Event::from_parsed(parsed, repairs)
            }
        };
        if let Some(fault) = &event.fallback {
            report_repair(line, self.mode, format!("{fault}; kept under data"));
        }
        if event.no_message && !self.told_no_message.swap(true, Ordering::Relaxed) {
            diagnostics::warn("envelope", "no_message", || {
                (
                    "JSON lines without a message member are shipped with an empty message \
                     (--message-key names another member); said once"
                        .to_owned(),
                    json!({"mode": self.mode.name(), "reason": "no message member", "source": line.source}),
                )
            });
        }
        self.write(&event, line, out)
    }

    /// Writes the event, unless a filter sets it aside.
    fn write(&mut self, event: &Event, line: &LineRef, out: &mut Vec<u8>) -> Encoded {
        if let Some(reason) = self.filter_event(event, line) {
            return Encoded::Filtered(reason);
        }
        self.write_event(event, line, out);
        Encoded::Written
    }

    fn write_event(&mut self, event: &Event, line: &LineRef, out: &mut Vec<u8>) {
        if self.source.0 != line.source {
            let mut json = Vec::new();
            write_str(&mut json, line.source);
            self.source = (line.source.to_owned(), json);
        }
        let time = match (event.timestamp, event.timestamp_ms) {
            (Some(text), _) => text,
            (None, Some(ms)) => self.line_time(ms),
            (None, None) => self.read_time(line.read_at),
        };
        out.extend_from_slice(b"{\"timestamp\":\"");
        out.extend_from_slice(&time);
        out.extend_from_slice(b"\",\"level\":\"");
        out.extend_from_slice(joined_level(event.level, line).name().as_bytes());
        out.extend_from_slice(b"\",\"message\":");
        match &event.message {
            Message::Json(raw) => out.extend_from_slice(raw.get().as_bytes()),
            Message::Text(text) => write_str(out, text),
        }
        out.extend_from_slice(b",\"logger\":");
        match &event.logger {
            Some(Logger::Json(raw)) => out.extend_from_slice(raw.get().as_bytes()),
            Some(Logger::Text(text)) => write_str(out, text),
            None => out.extend_from_slice(&self.source.1),
        }
        out.extend_from_slice(b",\"context\":");
        out.extend_from_slice(event.context.map_or("{}", Raw::get).as_bytes());
        out.extend_from_slice(b",\"diagnostics\":{");
        self.write_diagnostics(event, line, out);
        out.extend_from_slice(b"},\"data\":{");
        self.write_data(event, line, out);
        out.extend_from_slice(b"}}");
    }

    /// The input's own diagnostics, then shipper's facts where absent.
    fn write_diagnostics(&self, event: &Event, line: &LineRef, out: &mut Vec<u8>) {
        let given = event
            .diagnostics
            .and_then(fields::members)
            .unwrap_or_default();
        let absent = |key: &str| !given.iter().any(|(name, _)| name == key);
        let mut object = ObjectWriter::new(out);
        if let Some(raw) = event.diagnostics {
            object.body(object_body(raw));
        }
        if absent("host") {
            object.member_bytes(&self.host);
        }
        if absent("source") {
            object.member(|out| {
                out.extend_from_slice(b"\"source\":");
                out.extend_from_slice(&self.source.1);
            });
        }
        if let Some(finer) = event.finer
            && absent("syslog_severity")
        {
            object.member(|out| {
                out.extend_from_slice(b"\"syslog_severity\":");
                write_quoted(out, finer.keyword());
            });
        }
        if event.repairs.invalid_utf8 && absent("invalid_utf8") {
            object.member_bytes(b"\"invalid_utf8\":true");
        }
        for flag in event.repairs.edges.flags().filter(|flag| absent(flag)) {
            object.member(|out| {
                write_quoted(out, flag);
                out.extend_from_slice(b":true");
            });
        }
        if let Some(length) = event.repairs.cut_from {
            if absent("truncated") {
                object.member_bytes(b"\"truncated\":true");
            }
            if absent("original_length") {
                object.member_bytes(format!("\"original_length\":{length}").as_bytes());
            }
        }
        if line.lines > 1 && absent("lines") {
            object.member_bytes(format!("\"lines\":{}", line.lines).as_bytes());
        }
    }

    /// The input's `data`, the members with no place of their own (renamed
    /// `_key`, `__key`... where a name is taken already), then the
    /// `--field` pairs whose names are still free.
    fn write_data(&self, event: &Event, line: &LineRef, out: &mut Vec<u8>) {
        // A multi-line event's exception, where its trace tells it.
        let error = (line.lines > 1)
            .then(|| std::str::from_utf8(line.bytes).ok())
            .flatten()
            .and_then(crate::multiline::error_of);
        // Names are tracked only where a clash is possible.
        let tracking = event.data.is_some() || !self.fields.is_empty() || error.is_some();
        let mut names: Vec<Cow<str>> = match event.data {
            Some(raw) if tracking => fields::members(raw)
                .unwrap_or_default()
                .into_iter()
                .map(|(name, _)| name)
                .collect(),
            _ => Vec::new(),
        };
        let mut object = ObjectWriter::new(out);
        if let Some(raw) = event.data {
            object.body(object_body(raw));
        }
        for (key, value) in &event.extra {
            let renamed = tracking.then(|| unused_key(key, &names));
            let name = renamed.as_ref().unwrap_or(key);
            object.member(|out| {
                write_key(out, name);
                out.push(b':');
                out.extend_from_slice(value.get().as_bytes());
            });
            names.extend(renamed);
        }
        for (key, value) in &event.parsed {
            let renamed = tracking.then(|| unused_key(key, &names));
            let name = renamed.as_ref().unwrap_or(key);
            object.member(|out| {
                // Not a JSON key: a parser's, which may hold anything.
                write_str(out, name);
                out.push(b':');
                value.write(out);
            });
            names.extend(renamed);
        }
        if let Some((kind, message)) = error
            && !names.iter().any(|name| name == "error")
        {
            object.member(|out| {
                out.extend_from_slice(b"\"error\":{\"type\":");
                write_str(out, kind);
                out.extend_from_slice(b",\"message\":");
                write_str(out, message);
                out.push(b'}');
            });
            names.push(Cow::Borrowed("error"));
        }
        for (key, member) in &self.fields {
            if !names.iter().any(|name| name == key) {
                object.member_bytes(member);
            }
        }
    }

    /// A gap marker: an event of shipper's own saying how many events were
    /// dropped where it stands, and why.
    pub(crate) fn write_marker(&mut self, gap: &Gap, out: &mut Vec<u8>) {
        let message = format!(
            "shipper dropped {} events here (queue_full {}, invalid {})",
            gap.total(),
            gap.queue_full,
            gap.invalid
        );
        let time = self.read_time(SystemTime::now());
        let data = json!({
            "dropped": gap.total(),
            "dropped_by_reason": {"queue_full": gap.queue_full, "invalid": gap.invalid},
        });
        out.extend_from_slice(b"{\"timestamp\":\"");
        out.extend_from_slice(&time);
        out.extend_from_slice(b"\",\"level\":\"WARNING\",\"message\":");
        write_str(out, &message);
        out.extend_from_slice(b",\"logger\":\"shipper\",\"context\":{},\"diagnostics\":{");
        out.extend_from_slice(&self.host);
        out.extend_from_slice(b",\"source\":\"shipper\",\"gap_marker\":true},\"data\":");
        serde_json::to_writer(&mut *out, &data).expect("writing to a Vec cannot fail");
        out.push(b'}');
    }

    /// `ms` as RFC 3339 text: the lines of a log share their second, so
    /// the second's text is kept and only the milliseconds written.
    fn line_time(&mut self, ms: i64) -> [u8; timestamp::TEXT_LEN] {
        let second = ms.div_euclid(1000);
        if self.line_clock.0 != second {
            self.line_clock = (second, timestamp::format(second * 1000));
        }
        let mut text = self.line_clock.1;
        let millisecond = ms.rem_euclid(1000) as u32;
        text[20] = b'0' + (millisecond / 100) as u8;
        text[21] = b'0' + (millisecond / 10 % 10) as u8;
        text[22] = b'0' + (millisecond % 10) as u8;
        text
    }

    fn read_time(&mut self, at: SystemTime) -> [u8; timestamp::TEXT_LEN] {
        let ms = timestamp::millis(at);
        if self.read_clock.0 != ms {
            self.read_clock = (ms, timestamp::format(ms));
        }
        self.read_clock.1
    }
}

/// Whether `text` starts with what could be an IP address: hex digits,
/// dots and colons up to the first space.
/// The level of a multi-line event: a trace that stands alone (an
/// uncaught exception, a panic) is an error's, whatever its words said.
fn joined_level(level: Level, line: &LineRef) -> Level {
    if line.lines <= 1 || level >= Level::Error {
        return level;
    }
    let first = line
        .bytes
        .split(|&byte| byte == b'\n')
        .next()
        .unwrap_or(b"");
    if crate::multiline::starts_trace(first) {
        Level::Error
    } else {
        level
    }
}

fn starts_with_address(text: &str) -> bool {
    text.bytes()
        .take_while(|&byte| byte != b' ')
        .all(|byte| byte.is_ascii_hexdigit() || byte == b'.' || byte == b':')
}

/// A line that is not in the format `--format` names.
#[derive(Debug)]
struct NotInFormat(Format);

/// `text` read as `format` says (never as JSON: that was tried first).
/// `auto` tells the format by the first bytes, and falls back to plain
/// text, which always reads.
fn read_text<'t>(
    format: Format,
    text: &'t str,
    clock: &Clock,
    guess: bool,
) -> Result<Parsed<'t>, NotInFormat> {
    let read = match format {
        Format::Auto => auto(text, clock),
        Format::Logfmt => logfmt::parse_named(text, clock),
        Format::Syslog => syslog::parse(text, clock),
        Format::Clf => clf::parse(text, clock),
        Format::Text => return Ok(text::parse(text, clock, guess)),
        Format::Json => None,
    };
    match read {
        Some(mut parsed) => {
            if guess && parsed.level.is_none() {
                parsed.level = text::leading_level(&parsed.message);
            }
            Ok(parsed)
        }
        None if format == Format::Auto => Ok(text::parse(text, clock, guess)),
        None => Err(NotInFormat(format)),
    }
}

/// The format a line's first bytes say, read: syslog's `<PRI>` or a month
/// name, an access log's client address, logfmt's `key=`; `None` for
/// plain text.
fn auto<'t>(text: &'t str, clock: &Clock) -> Option<Parsed<'t>> {
    let first = *text.as_bytes().first()?;
    match first {
        b'<' => syslog::parse(text, clock),
        // An access log's client: an IPv4 or IPv6 address (a name starts
        // with a letter), not a date (`2026-11-30`, `2026/11/30`).
        b'0'..=b'9' | b':' if starts_with_address(text) => clf::parse(text, clock),
        b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
            let word_end = text.find([' ', '\t']).unwrap_or(text.len());
            if text[..word_end].contains('=') {
                logfmt::parse(text, clock)
            } else {
                syslog::parse(text, clock).or_else(|| clf::parse(text, clock))
            }
        }
        _ => None,
    }
}

/// A line's members as best-effort mode reads them, if it is a JSON object:
/// where it holds edges JSON readers refuse, from a copy with them repaired
/// (kept in `fixed`), and with the edges it had.
fn json_members<'t>(
    text: &'t str,
    fixed: &'t mut Option<String>,
) -> Option<(Members<'t>, Vec<Edge>)> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    match fields::parse_object(text) {
        Ok(members) => Some((members, Vec::new())),
        Err(NotObject::Refused(edges)) => {
            let fixed = fixed.insert(edge::repair(text, &edges));
            let members = fields::parse_object(fixed).ok()?;
            Some((members, edges))
        }
        Err(_) => None,
    }
}

impl Encoder {
    /// Counts and tells a line read as plain text because it was not in
    /// `format`. Told apart from repairs, so that neither crowds the other
    /// out of the rate limit.
    fn fell_back(&mut self, line: &LineRef, format: Format) {
        self.fallbacks.add(format);
        let reason = format!("not {}; read as plain text", format.name());
        diagnostics::warn("envelope", "read_as_text", || {
            (
                format!("shipped a line as plain text: {reason}"),
                json!({"mode": self.mode.name(), "reason": reason, "source": line.source}),
            )
        });
    }
}

fn report_repair(line: &LineRef, mode: EnvelopeMode, reason: String) {
    diagnostics::warn("envelope", "repaired_line", || {
        (
            format!("shipped a repaired line: {reason}"),
            json!({"mode": mode.name(), "reason": reason, "source": line.source}),
        )
    });
}

/// The envelope's members, as read from one line.
struct Event<'a> {
    /// RFC 3339 UTC with milliseconds; `None` means the time it was read.
    timestamp: Option<[u8; timestamp::TEXT_LEN]>,
    /// The time a text format's parser read, in milliseconds since the
    /// epoch: formatted when written, from the second last formatted.
    timestamp_ms: Option<i64>,
    level: Level,
    /// A severity syslog keeps apart that `level` merges (notice, alert,
    /// emerg), told in `diagnostics.syslog_severity`.
    finer: Option<Finer>,
    message: Message<'a>,
    /// `None` means the source's name.
    logger: Option<Logger<'a>>,
    context: Option<Raw<'a>>,
    diagnostics: Option<Raw<'a>>,
    data: Option<Raw<'a>>,
    /// Members with no place of their own: they go under `data`.
    extra: Members<'a>,
    /// Fields a text format's parser read: they go under `data` too.
    parsed: Vec<(Cow<'a, str>, Field<'a>)>,
    repairs: Repairs,
    /// In best-effort mode, the first member that did not fit.
    fallback: Option<Invalid>,
    /// A JSON object with no message member (best-effort ships it with an
    /// empty one).
    no_message: bool,
}

enum Message<'a> {
    /// A JSON string value, copied as it is.
    Json(Raw<'a>),
    /// Text, escaped when written.
    Text(Cow<'a, str>),
}

/// Who wrote the line, as the input named it.
enum Logger<'a> {
    /// A JSON string value, copied as it is.
    Json(Raw<'a>),
    /// Text a parser read (a syslog tag, log4j's logger), escaped when
    /// written.
    Text(Cow<'a, str>),
}

/// The envelope member a key names, and the rank of that name (lower wins
/// when a line has several: `timestamp` over `time` over `ts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Timestamp,
    Level,
    Message,
    Logger,
    Context,
    Diagnostics,
    Data,
}

type Member<'a> = (Cow<'a, str>, Raw<'a>);

impl<'a> Event<'a> {
    /// What a text format's parser read from a line.
    fn from_parsed(parsed: Parsed<'a>, repairs: Repairs) -> Event<'a> {
        Event {
            timestamp: None,
            timestamp_ms: parsed.timestamp,
            level: parsed.level.map_or(Level::Info, |(level, _)| level),
            finer: parsed.level.and_then(|(_, finer)| finer),
            message: Message::Text(parsed.message),
            logger: parsed.logger.map(Logger::Text),
            context: None,
            diagnostics: None,
            data: None,
            extra: Vec::new(),
            parsed: parsed.data,
            repairs,
            fallback: None,
            no_message: false,
        }
    }

    /// Maps a JSON object's members onto the envelope. In strict mode a
    /// member that does not fit rejects the line; in best-effort mode it is
    /// kept under `data` and the envelope falls back to a default.
    fn from_members(
        members: Members<'a>,
        names: &Names,
        strict: bool,
        repairs: Repairs,
    ) -> Result<Event<'a>, Invalid> {
        let (claims, extra) = claim(unwrap_fapilog(members), names);
        let [
            timestamp,
            level,
            message,
            logger,
            context,
            diagnostics,
            data,
        ] = claims;
        let mut fit = Fitter {
            strict,
            extra,
            fallback: None,
        };
        let time = fit.check(timestamp, |_, raw| {
            timestamp::read(raw).ok_or_else(|| Invalid::BadTimestamp(raw.get().to_owned()))
        })?;
        let level = match level {
            Some(member) => fit.check(Some(member), |key, raw| conventions::level(key, raw))?,
            None => nested_level(&fit.extra),
        };
        let context = fit.check(context, |_, raw| object(raw, "context"))?;
        let diagnostics = fit.check(diagnostics, |_, raw| object(raw, "diagnostics"))?;
        let data = fit.check(data, |_, raw| object(raw, "data"))?;
        let no_message = message.is_none();
        let message = fit.message(message)?;
        let logger = fit.logger(logger).map(Logger::Json);
        Ok(Event {
            timestamp: match time {
                Some(timestamp::Time::Text(text)) => Some(text),
                _ => None,
            },
            timestamp_ms: match time {
                Some(timestamp::Time::Millis(ms)) => Some(ms),
                _ => None,
            },
            level: level.map_or(Level::Info, |(level, _)| level),
            finer: level.and_then(|(_, finer)| finer),
            message,
            logger,
            context,
            diagnostics,
            data,
            extra: fit.extra,
            parsed: Vec::new(),
            repairs,
            fallback: fit.fallback,
            no_message,
        })
    }
}

/// ECS's level written nested (`"log": {"level": "error"}`), read where no
/// member names the level; the `log` object stays under `data`.
fn nested_level(extra: &Members<'_>) -> Option<(Level, Option<Finer>)> {
    let (_, log) = extra
        .iter()
        .find(|(key, value)| key == "log" && is_object(*value))?;
    let members = fields::members(*log)?;
    let (_, level) = members.iter().find(|(key, _)| key == "level")?;
    conventions::level("log.level", *level).ok()
}

/// Sorts members into the envelope's roles, the preferred name winning
/// where a line has several (`timestamp` over `time`); the rest, and the
/// names that lost, are returned to go under `data`.
fn claim<'a>(members: Members<'a>, names: &Names) -> ([Option<Member<'a>>; 7], Members<'a>) {
    let mut claims: [Option<Member>; 7] = Default::default();
    // The rank of the name holding each role (lower wins).
    let mut ranks = [u8::MAX; 7];
    // Most members have no role: room for all of them at once.
    let mut extra = Vec::with_capacity(members.len());
    for (key, value) in members {
        let Some((role, rank)) = names.role(&key) else {
            extra.push((key, value));
            continue;
        };
        let slot = role as usize;
        if claims[slot].is_some() && ranks[slot] <= rank {
            extra.push((key, value));
            continue;
        }
        ranks[slot] = rank;
        extra.extend(claims[slot].replace((key, value)));
    }
    (claims, extra)
}

fn object<'a>(raw: Raw<'a>, name: &'static str) -> Result<Raw<'a>, Invalid> {
    if is_object(raw) {
        Ok(raw)
    } else {
        Err(Invalid::NotAnObject(name))
    }
}

/// Decides what a member that does not fit costs: the line, in strict
/// mode; in best-effort mode, its place (it goes under `data`), with the
/// first such fault kept for the diagnostic.
struct Fitter<'a> {
    strict: bool,
    extra: Members<'a>,
    fallback: Option<Invalid>,
}

impl<'a> Fitter<'a> {
    fn fault(&mut self, fault: Invalid) -> Result<(), Invalid> {
        if self.strict {
            return Err(fault);
        }
        self.fallback.get_or_insert(fault);
        Ok(())
    }

    /// Reads a member with `read`; `None` when absent or kept under `data`.
    fn check<T>(
        &mut self,
        member: Option<Member<'a>>,
        read: impl FnOnce(&str, Raw<'a>) -> Result<T, Invalid>,
    ) -> Result<Option<T>, Invalid> {
        let Some(member) = member else {
            return Ok(None);
        };
        match read(&member.0, member.1) {
            Ok(value) => Ok(Some(value)),
            Err(fault) => {
                self.fault(fault)?;
                self.extra.push(member);
                Ok(None)
            }
        }
    }

    /// A string message is copied as it is; anything else is a fault, and
    /// in best-effort mode its JSON text (or nothing) becomes the message.
    fn message(&mut self, member: Option<Member<'a>>) -> Result<Message<'a>, Invalid> {
        match member {
            Some((_, raw)) if is_string(raw) => Ok(Message::Json(raw)),
            Some((_, raw)) => self
                .fault(Invalid::MessageNotString)
                .map(|()| Message::Text(Cow::Borrowed(raw.get()))),
            // Told once a run by the encoder, not as a fault of each line.
            None if !self.strict => Ok(Message::Text(Cow::Borrowed(""))),
            None => self
                .fault(Invalid::MissingMessage)
                .map(|()| Message::Text(Cow::Borrowed(""))),
        }
    }

    /// A logger that is not a string goes under `data`, in either mode.
    fn logger(&mut self, member: Option<Member<'a>>) -> Option<Raw<'a>> {
        match member {
            Some((_, raw)) if is_string(raw) => Some(raw),
            other => {
                self.extra.extend(other);
                None
            }
        }
    }
}

/// fapilog prints `{"log": {envelope}, "schema_version": "1.1"}`; the
/// envelope inside is the event. Other objects pass unchanged.
fn unwrap_fapilog(members: Members<'_>) -> Members<'_> {
    let wrapped = members.iter().any(|(key, _)| key == "schema_version");
    let inner = members
        .iter()
        .find(|(key, value)| key == "log" && is_object(*value))
        .and_then(|(_, value)| fields::members(*value));
    match inner {
        Some(mut inner) if wrapped => {
            let outer = members
                .into_iter()
                .filter(|(key, _)| key != "log" && key != "schema_version");
            inner.extend(outer);
            inner
        }
        _ => members,
    }
}

/// `key`, or `_key` (`__key`, ...) when `taken` already holds it.
fn unused_key<'k>(key: &Cow<'k, str>, taken: &[Cow<'k, str>]) -> Cow<'k, str> {
    let is_taken = |candidate: &str| taken.iter().any(|name| name == candidate);
    if !is_taken(key) {
        return key.clone();
    }
    let mut renamed = format!("_{key}");
    while is_taken(&renamed) {
        renamed.insert(0, '_');
    }
    Cow::Owned(renamed)
}

/// Drops an incomplete UTF-8 sequence left at the end of a cut line.
fn trim_partial_char(bytes: &[u8]) -> &[u8] {
    let tail_start = bytes.len().saturating_sub(3);
    for start in (tail_start..bytes.len()).rev() {
        let byte = bytes[start];
        if byte & 0b1100_0000 == 0b1000_0000 {
            continue;
        }
        let width = match byte {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        return if start + width > bytes.len() {
            &bytes[..start]
        } else {
            bytes
        };
    }
    bytes
}

/// Writes `text` as a JSON string. Most text needs no escaping, and a
/// scan that tells so (in blocks the compiler turns into vector code) is
/// far cheaper than escaping byte by byte; serde_json escapes the rest.
fn write_str(out: &mut Vec<u8>, text: &str) {
    if needs_escape(text.as_bytes()) {
        serde_json::to_writer(out, text).expect("writing to a Vec cannot fail");
    } else {
        write_quoted(out, text);
    }
}

fn write_quoted(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// A key read from the input: one that was borrowed from the line had no
/// escapes there, and JSON forbids raw control characters and quotes in a
/// string, so it can be written as it is. (Whether it was borrowed is the
/// point, hence the `Cow` by reference.)
#[allow(clippy::ptr_arg)]
fn write_key(out: &mut Vec<u8>, key: &Cow<'_, str>) {
    match key {
        Cow::Borrowed(key) => write_quoted(out, key),
        Cow::Owned(key) => write_str(out, key),
    }
}

/// Whether `bytes` hold a control character, a quote or a backslash.
/// Long text is scanned 32 bytes at a time, and what is left (most of a
/// parsed field, which is short) 8 bytes to a word.
fn needs_escape(bytes: &[u8]) -> bool {
    const BLOCK: usize = 32;
    let special = |byte: u8| (byte < 0x20) | (byte == b'"') | (byte == b'\\');
    let mut blocks = bytes.chunks_exact(BLOCK);
    for block in &mut blocks {
        let block: &[u8; BLOCK] = block.try_into().expect("exact chunks");
        if block
            .iter()
            .fold(false, |found, &byte| found | special(byte))
        {
            return true;
        }
    }
    let mut words = blocks.remainder().chunks_exact(8);
    for word in &mut words {
        if special_in_word(u64::from_le_bytes(word.try_into().expect("exact chunks"))) {
            return true;
        }
    }
    let tail = words.remainder();
    // Spaces, which need no escape, fill the word out.
    let mut padded = [b' '; 8];
    padded[..tail.len()].copy_from_slice(tail);
    special_in_word(u64::from_le_bytes(padded))
}

/// Whether any byte of `word` is below 0x20, a quote or a backslash: a
/// byte is found where subtracting one from it borrows into its top bit,
/// which it did not have (bytes of UTF-8, 0x80 and up, never count).
fn special_in_word(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let below = |word: u64, bound: u8| word.wrapping_sub(ONES * u64::from(bound)) & !word & TOPS;
    let zero_byte = |word: u64| below(word, 1);
    (below(word, 0x20)
        | zero_byte(word ^ (ONES * u64::from(b'"')))
        | zero_byte(word ^ (ONES * u64::from(b'\\'))))
        != 0
}
/// `"key":value` as bytes.
fn member_bytes(key: &str, value: &serde_json::Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_str(&mut bytes, key);
    bytes.push(b':');
    serde_json::to_writer(&mut bytes, value).expect("writing to a Vec cannot fail");
    bytes
}

/// Writes an object's members, with commas between them.
struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> ObjectWriter<'o> {
    fn new(out: &'o mut Vec<u8>) -> ObjectWriter<'o> {
        ObjectWriter { out, empty: true }
    }

    fn member(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        write(self.out);
    }

    fn member_bytes(&mut self, member: &[u8]) {
        self.member(|out| out.extend_from_slice(member));
    }

    /// Another object's members, as its raw text between the braces.
    fn body(&mut self, body: &str) {
        if !body.is_empty() {
            self.member_bytes(body.as_bytes());
        }
    }
}

/// Events dropped between two shipped events, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Gap {
    pub queue_full: u64,
    pub invalid: u64,
}

impl Gap {
    pub(crate) fn total(&self) -> u64 {
        self.queue_full + self.invalid
    }
}

#[cfg(test)]
mod tests;
