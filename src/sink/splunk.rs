//! The Splunk HTTP Event Collector sink: each batch one request to
//! `/services/collector/event`, one JSON object an event, the token as
//! `Authorization: Splunk`. HEC's answer `{"text": ..., "code": N}` is
//! read as its documentation says: an invalid event (codes 6, 12, 13,
//! 15, with `invalid-event-number`) is refused with HEC's text, the
//! events before it were indexed and those after it are sent again; a
//! busy server (9, 18-20: 503) is retried; a token refused (1-4: 401,
//! 403) or any other error fails the batch.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::http::HttpSink;
use super::protocol::{self, Answer, End, Items, Protocol, Reading, Sending};
use crate::config::http::HttpOptions;

/// Bytes of an answer read at most: HEC answers one short object.
const ANSWER_LIMIT: usize = 16 << 10;

/// Opens a sink posting to `url`'s event endpoint (when it has no path).
pub(crate) fn open(url: &str, name: String, options: &HttpOptions) -> anyhow::Result<HttpSink> {
    let mut parsed = reqwest::Url::parse(url)?;
    if parsed.path() == "/" {
        parsed.set_path("/services/collector/event");
    }
    let collectors = &options.collectors;
    let authorization = collectors
        .splunk_token
        .as_ref()
        .map(|token| format!("Splunk {token}"));
    let hec = Hec {
        sourcetype: serde_json::to_string(&collectors.splunk_sourcetype)?,
        host: serde_json::to_string(&crate::host::name())?,
    };
    HttpSink::speaking(
        parsed.as_str(),
        name,
        options,
        Box::new(hec),
        authorization.as_deref(),
    )
}

struct Hec {
    /// `sourcetype`, as JSON.
    sourcetype: String,
    /// This machine's name, as JSON: the `host` of events that name none.
    host: String,
}

/// What an event says of where it came from.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    timestamp: Option<&'a str>,
    #[serde(default, borrow)]
    diagnostics: Option<Diagnostics<'a>>,
}

#[derive(Deserialize)]
struct Diagnostics<'a> {
    #[serde(borrow)]
    host: Option<&'a RawValue>,
    #[serde(borrow)]
    source: Option<&'a RawValue>,
}

impl Protocol for Hec {
    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn body(&self, sending: &Sending<'_>, out: &mut Vec<u8>) {
        let now = protocol::unix_nanos(sending.now);
        for &(_, line) in sending.lines {
            let event = serde_json::from_slice::<Event<'_>>(line).ok();
            let nanos = event
                .as_ref()
                .and_then(|event| event.timestamp)
                .and_then(protocol::timestamp_nanos)
                .unwrap_or(now);
            let diagnostics = event.as_ref().and_then(|event| event.diagnostics.as_ref());
            let host = diagnostics
                .and_then(|d| d.host)
                .map_or(self.host.as_str(), RawValue::get);
            let source = diagnostics
                .and_then(|d| d.source)
                .map_or(r#""shipper""#, RawValue::get);
            let millis = nanos / 1_000_000;
            out.extend_from_slice(
                format!(
                    r#"{{"time":{}.{:03},"host":{host},"source":{source},"sourcetype":{},"event":"#,
                    millis / 1000,
                    millis % 1000,
                    self.sourcetype
                )
                .as_bytes(),
            );
            match event {
                Some(_) => out.extend_from_slice(line),
                None => {
                    let text = String::from_utf8_lossy(line);
                    let _ = serde_json::to_writer(&mut *out, &text);
                }
            }
            out.extend_from_slice(b"}\n");
        }
    }

    fn answer_limit(&self, _lines: usize) -> usize {
        ANSWER_LIMIT
    }

    fn read(&self, answer: &Answer<'_>) -> Reading {
        #[derive(Deserialize)]
        struct Said {
            text: Option<String>,
            code: Option<i64>,
            #[serde(rename = "invalid-event-number")]
            invalid: Option<i64>,
        }
        if answer.end != End::Whole {
            return match answer.status {
                200..=299 => protocol::unreadable(answer, "HEC's answer"),
                _ => Reading::ByStatus,
            };
        }
        let Ok(said) = serde_json::from_slice::<Said>(answer.body) else {
            return Reading::ByStatus;
        };
        let text = said.text.unwrap_or_default();
        let invalid = said.invalid.and_then(|n| usize::try_from(n).ok());
        match (said.code, invalid) {
            (Some(6 | 12 | 13 | 15), Some(invalid)) if invalid < answer.lines => {
                let message = format!("HEC code {}: {text}", said.code.unwrap_or_default());
                let error = protocol::error("HecInvalidEvent", message, Some(answer.status));
                Reading::Items(Items {
                    refused: vec![(invalid, error.clone())],
                    again: (invalid + 1..answer.lines).collect(),
                    again_why: Some(protocol::error(
                        "HecInvalidEvent",
                        "the events after an invalid one are sent again",
                        Some(answer.status),
                    )),
                    unnamed: None,
                })
            }
            _ => Reading::ByStatus,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use proptest::prelude::*;

    use super::*;

    fn hec() -> Hec {
        Hec {
            sourcetype: r#""_json""#.into(),
            host: r#""here""#.into(),
        }
    }

    #[test]
    fn each_event_is_one_hec_object() {
        let lines: [(usize, &[u8]); 2] = [
            (0, br#"{"timestamp":"2026-11-30T18:21:00.031Z","level":"INFO","message":"a","diagnostics":{"host":"web-1","source":"/var/log/app.log"}}"#),
            (1, b"raw \"line\""),
        ];
        let sending = Sending {
            lines: &lines,
            batch: 1,
            now: SystemTime::UNIX_EPOCH + Duration::from_millis(5_250),
        };
        let mut body = Vec::new();
        hec().body(&sending, &mut body);
        let text = String::from_utf8(body).unwrap();
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(text.starts_with(r#"{"time":1796062860.031,"#), "{text}");
        assert_eq!(events[0]["host"], "web-1");
        assert_eq!(events[0]["source"], "/var/log/app.log");
        assert_eq!(events[0]["sourcetype"], "_json");
        assert_eq!(events[0]["event"]["message"], "a");
        assert_eq!(events[1]["time"], 5.25);
        assert_eq!(events[1]["host"], "here");
        assert_eq!(events[1]["event"], "raw \"line\"");
    }

    fn read(status: u16, body: &str) -> Reading {
        hec().read(&Answer {
            status,
            body: body.as_bytes(),
            end: End::Whole,
            attempt: 1,
            lines: 5,
            sending: &Sending {
                lines: &[],
                batch: 1,
                now: SystemTime::UNIX_EPOCH,
            },
        })
    }

    #[test]
    fn an_invalid_event_is_refused_and_those_after_it_sent_again() {
        let Reading::Items(items) = read(
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#,
        ) else {
            panic!("items")
        };
        assert_eq!(items.refused[0].0, 2);
        assert_eq!(
            items.refused[0].1.message,
            "HEC code 6: Invalid data format"
        );
        assert_eq!(items.again, [3, 4]);
        assert!(matches!(
            read(403, r#"{"text":"Invalid token","code":4}"#),
            Reading::ByStatus
        ));
        assert!(matches!(
            read(503, r#"{"text":"Server is busy","code":9}"#),
            Reading::ByStatus
        ));
        assert!(matches!(
            read(200, r#"{"text":"Success","code":0}"#),
            Reading::ByStatus
        ));
        assert!(matches!(
            read(400, r#"{"text":"x","code":6,"invalid-event-number":9}"#),
            Reading::ByStatus
        ));
    }

    proptest! {
        #[test]
        fn no_answer_makes_it_panic(body in ".{0,200}", status in 100u16..600) {
            let _ = read(status, &body);
        }
    }
}
