//! The Loki sink: each batch one push (`/loki/api/v1/push`, JSON), its
//! events in streams by their labels (`--loki-label` and the event's
//! `level`), in time order within a stream. A 400 that names the entries
//! Loki turned away (out of order, too old, too long: Loki stores the
//! rest) refuses those with Loki's message; one that does not fails the
//! batch.

use std::collections::BTreeMap;

use super::http::HttpSink;
use super::protocol::{self, Answer, End, Items, Protocol, Reading, Sending};
use crate::config::http::HttpOptions;

/// Bytes of an answer read at most, besides `ENTRY_LIMIT` an entry: a
/// 400 names each entry it refused on a line.
const ANSWER_BASE: usize = 64 << 10;
const ENTRY_LIMIT: usize = 512;

/// Opens a sink pushing to `url`, or to its `/loki/api/v1/push` when it
/// has no path.
pub(crate) fn open(url: &str, name: String, options: &HttpOptions) -> anyhow::Result<HttpSink> {
    let mut parsed = reqwest::Url::parse(url)?;
    if parsed.path() == "/" {
        parsed.set_path("/loki/api/v1/push");
    }
    let mut labels = options.collectors.loki_labels.clone();
    labels.retain(|(key, _)| key != "level");
    let loki = Loki { labels };
    HttpSink::speaking(parsed.as_str(), name, options, Box::new(loki), None)
}

struct Loki {
    /// The labels every stream carries.
    labels: Vec<(String, String)>,
}

/// One entry: its place in the request, its time, its line.
struct Entry<'a> {
    place: usize,
    nanos: u64,
    line: &'a [u8],
}

impl Loki {
    /// The request's streams, by level, each in time order (a stable
    /// sort: entries of the same time keep the batch's order).
    fn streams<'a>(&self, sending: &Sending<'a>) -> BTreeMap<String, Vec<Entry<'a>>> {
        let now = protocol::unix_nanos(sending.now);
        let mut streams: BTreeMap<String, Vec<Entry<'a>>> = BTreeMap::new();
        for (place, &(_, line)) in sending.lines.iter().enumerate() {
            let (level, nanos) = level_and_time(line);
            let entry = Entry {
                place,
                nanos: nanos.unwrap_or(now),
                line,
            };
            streams.entry(level).or_default().push(entry);
        }
        for entries in streams.values_mut() {
            entries.sort_by_key(|entry| entry.nanos);
        }
        streams
    }

    /// A stream's labels as Loki writes them in its messages: sorted by
    /// name, `{name="value", ...}`.
    fn label_text(&self, level: &str) -> String {
        let mut labels: Vec<(&str, &str)> = self
            .labels
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        labels.push(("level", level));
        labels.sort();
        let pairs: Vec<String> = labels
            .iter()
            .map(|(key, value)| format!("{key}={}", go_quoted(value)))
            .collect();
        format!("{{{}}}", pairs.join(", "))
    }
}

impl Protocol for Loki {
    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn body(&self, sending: &Sending<'_>, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"streams":["#);
        for (index, (level, entries)) in self.streams(sending).iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            let mut labels = serde_json::Map::new();
            for (key, value) in &self.labels {
                labels.insert(key.clone(), value.clone().into());
            }
            labels.insert("level".into(), level.clone().into());
            out.extend_from_slice(br#"{"stream":"#);
            let _ = serde_json::to_writer(&mut *out, &labels);
            out.extend_from_slice(br#","values":["#);
            for (index, entry) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(format!("[\"{}\",", entry.nanos).as_bytes());
                let line = String::from_utf8_lossy(entry.line);
                let _ = serde_json::to_writer(&mut *out, &line);
                out.push(b']');
            }
            out.extend_from_slice(b"]}");
        }
        out.extend_from_slice(b"]}");
    }

    fn answer_limit(&self, lines: usize) -> usize {
        ANSWER_BASE + lines.saturating_mul(ENTRY_LIMIT)
    }

    fn read(&self, answer: &Answer<'_>) -> Reading {
        if answer.status != 400 {
            return Reading::ByStatus;
        }
        if answer.end != End::Whole {
            return protocol::unreadable(answer, "Loki's list of refused entries");
        }
        self.refused(answer).unwrap_or(Reading::ByStatus)
    }
}

impl Loki {
    /// The entries a 400 names, one a line of its body (`entry with
    /// timestamp T ignored, reason: '...' for stream: {...}`, `entry for
    /// stream '{...}' has timestamp too old: T...`); `None` when a line
    /// names no entry of the request, and so says nothing of which were
    /// stored.
    fn refused(&self, answer: &Answer<'_>) -> Option<Reading> {
        let text = std::str::from_utf8(answer.body).ok()?;
        let streams: Vec<(String, Vec<Entry<'_>>)> = self
            .streams(answer.sending)
            .into_iter()
            .map(|(level, entries)| (self.label_text(&level), entries))
            .collect();
        let mut taken = vec![false; answer.lines];
        let mut items = Items::default();
        for said in text.lines().map(str::trim).filter(|said| !said.is_empty()) {
            if said.starts_with("total ignored:") {
                continue;
            }
            let (_, entries) = streams
                .iter()
                .find(|(labels, _)| said.contains(labels.as_str()))?;
            let entry = entries
                .iter()
                .find(|entry| !taken[entry.place] && said.contains(&go_time(entry.nanos)))?;
            taken[entry.place] = true;
            let said = said.trim_end_matches(',');
            let error = protocol::error("LokiRefused", said, Some(answer.status));
            items.refused.push((entry.place, error));
        }
        (!items.refused.is_empty()).then_some(Reading::Items(items))
    }
}

/// `value` as Go's `%q` writes it, for the usual label values.
fn go_quoted(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// An event's level (lower case, `unknown` for a line that is no event)
/// and time.
fn level_and_time(line: &[u8]) -> (String, Option<u64>) {
    #[derive(serde::Deserialize)]
    struct Event {
        timestamp: Option<String>,
        level: Option<String>,
    }
    if let Some(timestamp) = protocol::leading_string(line, "timestamp")
        && let Some(level) = level_after_timestamp(line, timestamp)
    {
        return (level, protocol::timestamp_nanos(timestamp));
    }
    match serde_json::from_slice::<Event>(line) {
        Ok(event) => (
            event
                .level
                .map_or_else(|| "unknown".to_owned(), |level| level.to_ascii_lowercase()),
            event
                .timestamp
                .as_deref()
                .and_then(protocol::timestamp_nanos),
        ),
        Err(_) => ("unknown".to_owned(), None),
    }
}

/// The level of one of shipper's events, which follows its timestamp.
fn level_after_timestamp(line: &[u8], timestamp: &str) -> Option<String> {
    let rest = &line[r#"{"timestamp":""#.len() + timestamp.len()..];
    let rest = rest.strip_prefix(br#"","level":""#)?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    (rest[end] == b'"')
        .then(|| {
            std::str::from_utf8(&rest[..end])
                .ok()
                .map(str::to_ascii_lowercase)
        })
        .flatten()
}

/// Go's `time.Time.String()` of a time in UTC: how Loki names an entry's
/// time in its messages (`2026-11-30 18:21:00.031 +0000 UTC`).
fn go_time(nanos: u64) -> String {
    let Ok(time) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)) else {
        return String::new();
    };
    let fraction = match time.nanosecond() {
        0 => String::new(),
        nanos => {
            let digits = format!(".{nanos:09}");
            digits.trim_end_matches('0').to_owned()
        }
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{fraction} +0000 UTC",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use proptest::prelude::*;

    use super::*;

    fn loki() -> Loki {
        Loki {
            labels: vec![("job".into(), "app".into())],
        }
    }

    const LINES: [&[u8]; 4] = [
        br#"{"timestamp":"2026-11-30T18:21:00.031Z","level":"INFO","message":"b"}"#,
        br#"{"timestamp":"2026-11-30T18:20:00.000Z","level":"INFO","message":"a"}"#,
        br#"{"level":"ERROR","timestamp":"2026-11-30T18:22:00Z","message":"c"}"#,
        b"raw line",
    ];

    fn sending<'a>(lines: &'a [(usize, &'a [u8])]) -> Sending<'a> {
        Sending {
            lines,
            batch: 1,
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(5),
        }
    }

    #[test]
    fn streams_are_grouped_by_level_and_in_time_order() {
        let lines: Vec<(usize, &[u8])> = LINES.iter().copied().enumerate().collect();
        let mut body = Vec::new();
        loki().body(&sending(&lines), &mut body);
        let push: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let streams = push["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 3);
        assert_eq!(
            streams[0]["stream"],
            serde_json::json!({"job": "app", "level": "error"})
        );
        let info = &streams[1]["values"];
        assert_eq!(info[0][0], "1796062800000000000", "the earlier first");
        assert_eq!(info[1][0], "1796062860031000000");
        assert_eq!(info[0][1], std::str::from_utf8(LINES[1]).unwrap());
        assert_eq!(streams[2]["stream"]["level"], "unknown");
        assert_eq!(
            streams[2]["values"][0],
            serde_json::json!(["5000000000", "raw line"])
        );
    }

    fn read(body: &str) -> Reading {
        let lines: Vec<(usize, &[u8])> = LINES.iter().copied().enumerate().collect();
        loki().read(&Answer {
            status: 400,
            body: body.as_bytes(),
            end: End::Whole,
            attempt: 1,
            lines: lines.len(),
            sending: &sending(&lines),
        })
    }

    #[test]
    fn a_400_naming_entries_refuses_those() {
        let body = "entry with timestamp 2026-11-30 18:20:00 +0000 UTC ignored, reason: 'entry too far behind, oldest acceptable timestamp is: 2026-11-30T18:21:00Z' for stream: {job=\"app\", level=\"info\"},\n\
                    entry for stream '{job=\"app\", level=\"error\"}' has timestamp too old: 2026-11-30 18:22:00 +0000 UTC, oldest acceptable timestamp is: 2026-12-01 00:00:00 +0000 UTC\n\
                    total ignored: 2 out of 4\n";
        let Reading::Items(items) = read(body) else {
            panic!("items")
        };
        let places: Vec<usize> = items.refused.iter().map(|(place, _)| *place).collect();
        assert_eq!(places, [1, 2]);
        assert!(items.refused[0].1.message.contains("entry too far behind"));
        assert!(matches!(read("invalid labels"), Reading::ByStatus));
        assert!(matches!(read(""), Reading::ByStatus));
        assert_eq!(
            go_time(1_796_062_860_031_000_000),
            "2026-11-30 18:21:00.031 +0000 UTC"
        );
    }

    proptest! {
        #[test]
        fn no_answer_makes_it_panic(body in ".{0,300}") {
            let _ = read(&body);
        }
    }
}
