//! The Elasticsearch and OpenSearch sink: each batch one `_bulk` request
//! of `create` actions (the only action a data stream takes), its answer
//! read item by item: an item refused for now (429) is sent again at the
//! next attempt, any other failed item is refused with its error's type
//! and reason, and the rest of the batch is delivered.
//!
//! Each event carries an `_id` made of the sink's run, the batch and its
//! place in the batch: the same at every attempt, so that an event stored
//! by an attempt whose answer was lost is not stored twice, and its `409`
//! at a later attempt says it is already there.

use std::time::SystemTime;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::http::HttpSink;
use super::interface::SinkError;
use super::protocol::{self, Answer, End, Items, Protocol, Reading, Sending};
use crate::config::http::HttpOptions;

/// What of the bulk answer Elasticsearch sends back: only whether there
/// were errors, and each item's status and error, so that an answer to a
/// batch that went in whole is a few bytes.
const FILTER_PATH: &str = "errors,items.*.status,items.*.error.type,items.*.error.reason";

/// Bytes of an answer read at most, besides `ITEM_LIMIT` an item: an
/// item's error reason is a line or two.
const ANSWER_BASE: usize = 64 << 10;
const ITEM_LIMIT: usize = 1 << 10;

/// Opens a sink posting to the bulk API of the index `url` names.
pub(crate) fn open(url: &str, name: String, options: &HttpOptions) -> anyhow::Result<HttpSink> {
    let bulk = bulk_url(url)?;
    let api_key = options.collectors.es_api_key.as_deref();
    if api_key.is_some() && has_credentials(url) {
        anyhow::bail!(
            "an HTTP request has one Authorization, and it would come from the API key and \
             from the user and password in the URL: keep one"
        );
    }
    let authorization = api_key.map(|key| format!("ApiKey {key}"));
    let bulk_protocol = Bulk {
        run: format!("{:016x}", fastrand::u64(..)),
    };
    HttpSink::speaking(
        &bulk,
        name,
        options,
        Box::new(bulk_protocol),
        authorization.as_deref(),
    )
}

/// `http://HOST:9200/INDEX?QUERY` as `http://HOST:9200/INDEX/_bulk?QUERY&filter_path=...`.
fn bulk_url(url: &str) -> anyhow::Result<String> {
    let mut parsed = reqwest::Url::parse(url)?;
    let index = parsed.path().trim_matches('/').to_owned();
    parsed.set_path(&format!("/{index}/_bulk"));
    parsed
        .query_pairs_mut()
        .append_pair("filter_path", FILTER_PATH);
    Ok(parsed.into())
}

fn has_credentials(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|url| !url.username().is_empty() || url.password().is_some())
}

/// The bulk API.
struct Bulk {
    /// Different for each run: with the batch and the line, an event's `_id`.
    run: String,
}

impl Protocol for Bulk {
    fn content_type(&self) -> &'static str {
        "application/x-ndjson"
    }

    fn body(&self, sending: &Sending<'_>, out: &mut Vec<u8>) {
        let mut now: Option<String> = None;
        for &(line, bytes) in sending.lines {
            out.extend_from_slice(br#"{"create":{"_id":""#);
            out.extend_from_slice(self.run.as_bytes());
            out.extend_from_slice(format!("-{}-{line}", sending.batch).as_bytes());
            out.extend_from_slice(b"\"}}\n");
            document(
                bytes,
                || now.get_or_insert_with(|| rfc3339(sending.now)).clone(),
                out,
            );
            out.push(b'\n');
        }
    }

    fn answer_limit(&self, lines: usize) -> usize {
        ANSWER_BASE + lines.saturating_mul(ITEM_LIMIT)
    }

    fn read(&self, answer: &Answer<'_>) -> Reading {
        if !(200..300).contains(&answer.status) {
            return Reading::ByStatus;
        }
        match answer.end {
            End::Whole => {}
            // The `_id`s make a new attempt safe: what was stored answers 409.
            End::Broken => {
                return Reading::Retry(protocol::error(
                    "BadAnswer",
                    format!(
                        "HTTP {}: the answer broke off before its end",
                        answer.status
                    ),
                    Some(answer.status),
                ));
            }
            End::Cut => return protocol::unreadable(answer, "a bulk answer"),
        }
        match serde_json::from_slice::<BulkAnswer>(answer.body) {
            Ok(bulk) if !bulk.errors => Reading::taken(),
            Ok(bulk) if bulk.items.len() == answer.lines => items(&bulk.items, answer.attempt),
            Ok(bulk) => Reading::Fail(protocol::error(
                "BadAnswer",
                format!(
                    "the bulk answer has {} items for {} events",
                    bulk.items.len(),
                    answer.lines
                ),
                Some(answer.status),
            )),
            Err(_) => protocol::unreadable(answer, "a bulk answer"),
        }
    }
}

/// The items of an answer with errors, read one by one.
fn items(items: &[BulkItem], attempt: u32) -> Reading {
    let mut read = Items::default();
    for (place, item) in items.iter().enumerate() {
        let outcome = item.outcome();
        match outcome.status {
            200..=299 => {}
            // Stored by an earlier attempt whose answer was lost.
            409 if attempt > 1 => {}
            429 => {
                read.again.push(place);
                read.again_why.get_or_insert_with(|| outcome.error());
            }
            _ => read.refused.push((place, outcome.error())),
        }
    }
    Reading::Items(read)
}

/// What `_bulk` answers, as far as shipper reads it.
#[derive(Deserialize)]
struct BulkAnswer {
    errors: bool,
    #[serde(default)]
    items: Vec<BulkItem>,
}

/// One item: `{"create": {...}}` (the action as the key).
#[derive(Deserialize)]
struct BulkItem {
    #[serde(alias = "index", alias = "update", alias = "delete")]
    create: ItemOutcome,
}

impl BulkItem {
    fn outcome(&self) -> &ItemOutcome {
        &self.create
    }
}

#[derive(Deserialize)]
struct ItemOutcome {
    status: u16,
    #[serde(default)]
    error: Option<Box<RawValue>>,
}

/// An item's error: its `type` and `reason` when it is an object, else
/// the error as it came.
#[derive(Deserialize)]
struct ItemError {
    #[serde(rename = "type")]
    kind: Option<String>,
    reason: Option<String>,
}

impl ItemOutcome {
    fn error(&self) -> SinkError {
        let raw = self.error.as_ref().map(|raw| raw.get());
        let parsed = raw.and_then(|raw| serde_json::from_str::<ItemError>(raw).ok());
        let (kind, reason) = match parsed {
            Some(error) => (error.kind, error.reason),
            None => (None, raw.map(str::to_owned)),
        };
        let status = self.status;
        protocol::error(
            kind.as_deref().unwrap_or("HttpStatus"),
            reason.unwrap_or_else(|| format!("item status {status}")),
            Some(status),
        )
    }
}

/// The document for one line: a JSON object as it is, with `@timestamp`
/// from its `timestamp` (or the time it is sent) unless it has one; any
/// other line (`--raw`) as the `message` of a document of its own.
fn document(line: &[u8], now: impl FnOnce() -> String, out: &mut Vec<u8>) {
    if let Some(timestamp) = protocol::leading_string(line, "timestamp")
        && memchr::memmem::find(line, b"\"@timestamp\"").is_none()
    {
        out.extend_from_slice(br#"{"@timestamp":""#);
        out.extend_from_slice(timestamp.as_bytes());
        out.extend_from_slice(b"\",");
        out.extend_from_slice(&line[1..]);
        return;
    }
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(line) {
        Ok(object) if object.contains_key("@timestamp") => out.extend_from_slice(line.trim_ascii()),
        Ok(object) => {
            let timestamp = match object.get("timestamp") {
                Some(serde_json::Value::String(timestamp)) => timestamp.clone(),
                _ => now(),
            };
            let stamp = serde_json::to_string(&timestamp).unwrap_or_default();
            out.extend_from_slice(format!(r#"{{"@timestamp":{stamp}"#).as_bytes());
            let rest = &line.trim_ascii()[1..];
            if !object.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(rest);
        }
        Err(_) => {
            let message = String::from_utf8_lossy(line);
            let message = serde_json::to_string(&message).unwrap_or_default();
            let stamp = serde_json::to_string(&now()).unwrap_or_default();
            out.extend_from_slice(
                format!(r#"{{"@timestamp":{stamp},"message":{message}}}"#).as_bytes(),
            );
        }
    }
}

/// A time as RFC 3339, in UTC with milliseconds, as the envelope writes
/// timestamps.
fn rfc3339(time: SystemTime) -> String {
    use crate::envelope::timestamp;
    String::from_utf8_lossy(&timestamp::format(timestamp::millis(time))).into_owned()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn documents(lines: &[&[u8]]) -> Vec<serde_json::Value> {
        let lines: Vec<(usize, &[u8])> = lines.iter().copied().enumerate().collect();
        let sending = Sending {
            lines: &lines,
            batch: 7,
            now: SystemTime::UNIX_EPOCH,
        };
        let bulk = Bulk { run: "r".into() };
        let mut out = Vec::new();
        bulk.body(&sending, &mut out);
        let text = String::from_utf8(out).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn each_event_is_a_create_with_its_id_and_a_timestamp() {
        let docs = documents(&[
            br#"{"timestamp":"2026-11-30T18:21:00.031Z","level":"INFO","message":"a"}"#,
            br#"{"level":"INFO","timestamp":"2026-11-30T18:21:00Z"}"#,
            br#"{"@timestamp":"x","timestamp":"y"}"#,
            b"{}",
            b"plain \"text\"",
        ]);
        assert_eq!(docs.len(), 10);
        assert_eq!(docs[0], serde_json::json!({"create": {"_id": "r-7-0"}}));
        assert_eq!(docs[8], serde_json::json!({"create": {"_id": "r-7-4"}}));
        assert_eq!(docs[1]["@timestamp"], "2026-11-30T18:21:00.031Z");
        assert_eq!(docs[1]["message"], "a");
        assert_eq!(docs[3]["@timestamp"], "2026-11-30T18:21:00Z");
        assert_eq!(docs[5]["@timestamp"], "x", "a document's own is kept");
        assert_eq!(
            docs[7],
            serde_json::json!({"@timestamp": "1970-01-01T00:00:00.000Z"})
        );
        assert_eq!(
            docs[9],
            serde_json::json!({"@timestamp": "1970-01-01T00:00:00.000Z", "message": "plain \"text\""})
        );
    }

    fn answer(body: &[u8], lines: usize, attempt: u32) -> Reading {
        Bulk { run: "r".into() }.read(&Answer {
            status: 200,
            body,
            end: End::Whole,
            attempt,
            lines,
            sending: &Sending {
                lines: &[],
                batch: 1,
                now: SystemTime::UNIX_EPOCH,
            },
        })
    }

    #[test]
    fn an_answer_with_errors_is_read_item_by_item() {
        let body = br#"{"took":3,"errors":true,"items":[
            {"create":{"_index":"logs","status":201}},
            {"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]"}}},
            {"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
            {"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}}]}"#;
        let Reading::Items(first) = answer(body, 4, 1) else {
            panic!("items")
        };
        assert_eq!(first.again, [2]);
        assert_eq!(
            first.again_why.unwrap().kind,
            "es_rejected_execution_exception"
        );
        let refused: Vec<_> = first
            .refused
            .iter()
            .map(|(place, e)| (*place, e.kind.as_str(), e.message.as_str(), e.status))
            .collect();
        assert_eq!(
            refused,
            [
                (
                    1,
                    "mapper_parsing_exception",
                    "failed to parse field [x]",
                    Some(400)
                ),
                (3, "version_conflict_engine_exception", "exists", Some(409)),
            ]
        );
        let Reading::Items(later) = answer(body, 4, 2) else {
            panic!("items")
        };
        assert_eq!(
            later.refused.len(),
            1,
            "a 409 at a later attempt was stored before"
        );
        assert!(
            matches!(answer(br#"{"errors":false}"#, 4, 1), Reading::Items(items) if items.refused.is_empty() && items.again.is_empty())
        );
    }

    #[test]
    fn an_answer_that_cannot_be_read_fails_the_request() {
        for body in [
            &b"<html>"[..],
            br#"{"errors":true,"items":[]}"#,
            br#"{"errors":true}"#,
            b"",
        ] {
            let Reading::Fail(error) = answer(body, 2, 1) else {
                panic!("{}", String::from_utf8_lossy(body))
            };
            assert_eq!(error.kind, "BadAnswer");
        }
    }

    proptest! {
        #[test]
        fn no_answer_makes_it_panic(body in proptest::collection::vec(any::<u8>(), 0..512), lines in 0usize..8) {
            let _ = answer(&body, lines, 1);
        }

        #[test]
        fn every_line_makes_a_json_document(line in proptest::collection::vec(any::<u8>(), 0..256)) {
            let docs = documents(&[&line]);
            prop_assert_eq!(docs.len(), 2);
            prop_assert!(docs[1].get("@timestamp").is_some());
        }
    }
}
