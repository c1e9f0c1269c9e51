//! What tells one collector's HTTP API from another: the body a batch's
//! lines make, and what an answer says about each of them. The HTTP sink
//! (`http.rs`) owns everything they share: the client, TLS, credentials,
//! gzip, retries and how much of an answer is read.

use std::time::SystemTime;

use super::interface::SinkError;

/// Bytes of an answer read when a protocol reads no more than its status.
pub(crate) const ANSWER_LIMIT: usize = 4 << 10;

/// One collector's API, spoken over the HTTP sink.
pub(crate) trait Protocol: Send + Sync + 'static {
    /// The request's `Content-Type`.
    fn content_type(&self) -> &'static str;
    /// Appends to `out` the body that carries `sending`'s lines.
    fn body(&self, sending: &Sending<'_>, out: &mut Vec<u8>);
    /// Most bytes of an answer read for a request that carried `lines`
    /// lines: an answer past that is cut, never held whole.
    fn answer_limit(&self, _lines: usize) -> usize {
        ANSWER_LIMIT
    }
    /// What an answer says; by default, what its status says.
    fn read(&self, _answer: &Answer<'_>) -> Reading {
        Reading::ByStatus
    }
}

/// The lines one request carries.
#[derive(Clone, Copy)]
pub(crate) struct Sending<'a> {
    /// Each line's index in its batch, and its bytes (no newline).
    pub lines: &'a [(usize, &'a [u8])],
    /// Which batch of the sink's this is, counted from 1: with the
    /// line's index, names an event for every attempt at it.
    pub batch: u64,
    /// When the request is made: the time of the lines that carry none.
    pub now: SystemTime,
}

/// An answer to one request, read as far as the protocol's limit.
pub(crate) struct Answer<'a> {
    pub status: u16,
    pub body: &'a [u8],
    /// How the reading of the body ended.
    pub end: End,
    /// The number of this attempt at the batch, from 1: every line of a
    /// later attempt was sent before.
    pub attempt: u32,
    /// Lines the request carried.
    pub lines: usize,
    /// The request's lines, as its body was made of them.
    pub sending: &'a Sending<'a>,
}

/// How the reading of an answer's body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// It was read whole.
    Whole,
    /// It was longer than the limit; the rest was never read.
    Cut,
    /// The connection failed or timed out before it ended.
    Broken,
}

/// What an answer says about a request's lines.
#[derive(Debug)]
pub(crate) enum Reading {
    /// What its HTTP status says, for the whole request.
    ByStatus,
    /// The request was taken, except these lines.
    Items(Items),
    /// Nothing was taken; worth another attempt.
    Retry(SinkError),
    /// Nothing was taken, and another attempt would fare no better.
    Fail(SinkError),
}

/// Lines a collector turned away from a request it took, by their place
/// in the request.
#[derive(Debug, Default)]
pub(crate) struct Items {
    /// Refused for good, each with the collector's reason.
    pub refused: Vec<(usize, SinkError)>,
    /// Refused for now (a full queue): sent again at the next attempt.
    pub again: Vec<usize>,
    /// Why those are sent again.
    pub again_why: Option<SinkError>,
    /// How many it refused without saying which, and why.
    pub unnamed: Option<(usize, SinkError)>,
}

impl Reading {
    /// Everything taken.
    pub(crate) fn taken() -> Reading {
        Reading::Items(Items::default())
    }
}

/// A protocol's error: `kind` names it, the message says it.
pub(crate) fn error(kind: &str, message: impl Into<String>, status: Option<u16>) -> SinkError {
    SinkError {
        kind: kind.to_owned(),
        message: message.into(),
        status,
    }
}

/// An answer that cannot be read: what the collector did is not known, so
/// the request is failed, never guessed delivered.
pub(crate) fn unreadable(answer: &Answer<'_>, what: &str) -> Reading {
    let why = match answer.end {
        End::Whole => format!("an answer that is not {what}"),
        End::Cut => format!("an answer longer than the {} bytes read", answer.body.len()),
        End::Broken => "an answer that broke off before its end".to_owned(),
    };
    Reading::Fail(error(
        "BadAnswer",
        format!("HTTP {}: {why}", answer.status),
        Some(answer.status),
    ))
}

/// `time` as nanoseconds since the epoch.
pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

/// An RFC 3339 timestamp (an event's `timestamp`) as nanoseconds since
/// the epoch; `None` if it is no such time.
pub(crate) fn timestamp_nanos(text: &str) -> Option<u64> {
    let time =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(time.unix_timestamp_nanos()).ok()
}

/// The string value of a JSON object's top-level `member`, looked up
/// without reading the whole line: shipper's events begin with their
/// `timestamp`, so the common case costs a prefix test.
pub(crate) fn leading_string<'a>(line: &'a [u8], member: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(b"{\"")?;
    let rest = rest.strip_prefix(member.as_bytes())?;
    let rest = rest.strip_prefix(b"\":\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    (rest[end] == b'"')
        .then(|| std::str::from_utf8(&rest[..end]).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_member_is_read_without_parsing() {
        let line = br#"{"timestamp":"2026-11-30T18:21:00.031Z","level":"INFO"}"#;
        assert_eq!(
            leading_string(line, "timestamp"),
            Some("2026-11-30T18:21:00.031Z")
        );
        assert_eq!(leading_string(line, "level"), None);
        assert_eq!(
            leading_string(br#"{"timestamp":"a\"b"}"#, "timestamp"),
            None
        );
        assert_eq!(leading_string(b"plain", "timestamp"), None);
        assert_eq!(
            timestamp_nanos("2026-11-30T18:21:00.031Z"),
            Some(1_796_062_860_031_000_000)
        );
        assert_eq!(timestamp_nanos("yesterday"), None);
    }
}
