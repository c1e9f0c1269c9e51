//! The OTLP/HTTP logs sink: each batch one `ExportLogsServiceRequest`,
//! protobuf (or OTLP's JSON mapping), built from the official definitions
//! (the `opentelemetry-proto` crate's prost types). Each event is a
//! LogRecord under a scope named for its logger; the collector's
//! `partial_success.rejected_log_records` are counted against the sink
//! with its `error_message`, although it does not say which records.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde::Deserialize;
use serde_json::Value;

use super::http::HttpSink;
use super::protocol::{self, Answer, End, Items, Protocol, Reading, Sending};
use crate::config::http::{HttpOptions, OtlpEncoding};

/// Bytes of an answer read at most: an export answer is a few bytes.
const ANSWER_LIMIT: usize = 64 << 10;

/// Opens a sink posting to `url`, or to its `/v1/logs` when it has no path.
pub(crate) fn open(url: &str, name: String, options: &HttpOptions) -> anyhow::Result<HttpSink> {
    let mut parsed = reqwest::Url::parse(url)?;
    if parsed.path() == "/" {
        parsed.set_path("/v1/logs");
    }
    let collectors = &options.collectors;
    let otlp = Otlp {
        encoding: collectors.otlp_encoding,
        resource: Resource {
            attributes: vec![
                attribute("host.name", text(crate::host::name())),
                attribute("service.name", text(collectors.service.clone())),
            ],
            ..Resource::default()
        },
    };
    HttpSink::speaking(parsed.as_str(), name, options, Box::new(otlp), None)
}

struct Otlp {
    encoding: OtlpEncoding,
    /// Who sends the logs: this machine and the service.
    resource: Resource,
}

impl Protocol for Otlp {
    fn content_type(&self) -> &'static str {
        match self.encoding {
            OtlpEncoding::Protobuf => "application/x-protobuf",
            OtlpEncoding::Json => "application/json",
        }
    }

    fn body(&self, sending: &Sending<'_>, out: &mut Vec<u8>) {
        let request = self.request(sending);
        match self.encoding {
            OtlpEncoding::Protobuf => {
                out.reserve(request.encoded_len());
                // A Vec grows as needed: encoding into one cannot fail.
                let _ = request.encode(out);
            }
            OtlpEncoding::Json => {
                let _ = serde_json::to_writer(out, &request);
            }
        }
    }

    fn answer_limit(&self, _lines: usize) -> usize {
        ANSWER_LIMIT
    }

    fn read(&self, answer: &Answer<'_>) -> Reading {
        if !(200..300).contains(&answer.status) {
            return Reading::ByStatus;
        }
        if answer.end != End::Whole {
            return protocol::unreadable(answer, "an export answer");
        }
        let response = match self.encoding {
            OtlpEncoding::Protobuf => ExportLogsServiceResponse::decode(answer.body).ok(),
            OtlpEncoding::Json if answer.body.trim_ascii().is_empty() => {
                Some(ExportLogsServiceResponse::default())
            }
            OtlpEncoding::Json => json_response(answer.body),
        };
        let Some(response) = response else {
            return protocol::unreadable(answer, "an export answer");
        };
        let Some(partial) = response.partial_success else {
            return Reading::taken();
        };
        let Ok(rejected) = usize::try_from(partial.rejected_log_records) else {
            return Reading::taken();
        };
        if rejected == 0 {
            return Reading::taken();
        }
        let message = match partial.error_message.trim() {
            "" => format!("rejected {rejected} log records"),
            said => said.to_owned(),
        };
        Reading::Items(Items {
            unnamed: Some((
                rejected,
                protocol::error("PartialSuccess", message, Some(answer.status)),
            )),
            ..Items::default()
        })
    }
}

impl Otlp {
    /// The request for `sending`'s lines: one resource, a scope a logger.
    fn request(&self, sending: &Sending<'_>) -> ExportLogsServiceRequest {
        let observed = protocol::unix_nanos(sending.now);
        let mut scopes: BTreeMap<String, Vec<LogRecord>> = BTreeMap::new();
        for &(_, line) in sending.lines {
            let (logger, record) = record(line, observed);
            scopes.entry(logger).or_default().push(record);
        }
        let scope_logs = scopes
            .into_iter()
            .map(|(logger, log_records)| ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: logger,
                    ..InstrumentationScope::default()
                }),
                log_records,
                ..ScopeLogs::default()
            })
            .collect();
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(self.resource.clone()),
                scope_logs,
                ..ResourceLogs::default()
            }],
        }
    }
}

/// An event's members, as far as a LogRecord needs them, read straight
/// into OTLP's values.
#[derive(Deserialize)]
struct Event {
    timestamp: Option<String>,
    level: Option<String>,
    message: Option<Any>,
    logger: Option<String>,
    #[serde(default)]
    data: Attributes,
    #[serde(default)]
    context: Attributes,
    #[serde(default)]
    diagnostics: Attributes,
}

/// One line as a LogRecord, and its logger. A line that is no event
/// (`--raw`) is the body of a record with no time and no severity.
fn record(line: &[u8], observed: u64) -> (String, LogRecord) {
    let Ok(event) = serde_json::from_slice::<Event>(line) else {
        let record = LogRecord {
            observed_time_unix_nano: observed,
            body: Some(text(String::from_utf8_lossy(line).into_owned())),
            ..LogRecord::default()
        };
        return (String::new(), record);
    };
    let time = event
        .timestamp
        .as_deref()
        .and_then(protocol::timestamp_nanos);
    let level = event.level.unwrap_or_default();
    let mut attributes = event.context.0;
    let context = attributes.len();
    attributes.reserve(event.data.0.len() + event.diagnostics.0.len());
    for mut member in event.data.0 {
        if attributes[..context].iter().any(|kv| kv.key == member.key) {
            member.key.insert_str(0, "data.");
        }
        attributes.push(member);
    }
    for mut member in event.diagnostics.0 {
        member.key.insert_str(0, "shipper.");
        attributes.push(member);
    }
    let record = LogRecord {
        time_unix_nano: time.unwrap_or(0),
        observed_time_unix_nano: observed,
        severity_number: severity(&level),
        severity_text: level,
        body: event.message.map(|message| message.0),
        attributes,
        ..LogRecord::default()
    };
    (event.logger.unwrap_or_default(), record)
}

/// A JSON value read as an AnyValue, with no `serde_json::Value` between:
/// objects as key-value lists, arrays as arrays, integers as integers (a
/// larger one as a double), `null` empty.
struct Any(AnyValue);

/// A JSON object's members as attributes, in their order.
#[derive(Default)]
struct Attributes(Vec<KeyValue>);

impl<'de> Deserialize<'de> for Any {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Any, D::Error> {
        deserializer.deserialize_any(AnyVisitor)
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Attributes, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = Attributes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                map: M,
            ) -> Result<Attributes, M::Error> {
                members(map).map(Attributes)
            }
            fn visit_unit<E>(self) -> Result<Attributes, E> {
                Ok(Attributes::default())
            }
        }
        deserializer.deserialize_any(Members)
    }
}

/// The members of a JSON object, as key-values.
fn members<'de, M: serde::de::MapAccess<'de>>(mut map: M) -> Result<Vec<KeyValue>, M::Error> {
    let mut values = Vec::with_capacity(map.size_hint().unwrap_or(8));
    while let Some((key, value)) = map.next_entry::<String, Any>()? {
        values.push(KeyValue {
            key,
            value: Some(value.0),
            ..KeyValue::default()
        });
    }
    Ok(values)
}

struct AnyVisitor;

impl<'de> serde::de::Visitor<'de> for AnyVisitor {
    type Value = Any;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Any, E> {
        Ok(of(any_value::Value::BoolValue(flag)))
    }

    fn visit_i64<E>(self, integer: i64) -> Result<Any, E> {
        Ok(of(any_value::Value::IntValue(integer)))
    }

    fn visit_u64<E>(self, integer: u64) -> Result<Any, E> {
        Ok(of(match i64::try_from(integer) {
            Ok(integer) => any_value::Value::IntValue(integer),
            Err(_) => any_value::Value::DoubleValue(integer as f64),
        }))
    }

    fn visit_f64<E>(self, number: f64) -> Result<Any, E> {
        Ok(of(any_value::Value::DoubleValue(number)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Any, E> {
        Ok(of(any_value::Value::StringValue(text.to_owned())))
    }

    fn visit_string<E>(self, text: String) -> Result<Any, E> {
        Ok(of(any_value::Value::StringValue(text)))
    }

    fn visit_unit<E>(self) -> Result<Any, E> {
        Ok(Any(AnyValue { value: None }))
    }

    fn visit_seq<S: serde::de::SeqAccess<'de>>(self, mut seq: S) -> Result<Any, S::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(Any(value)) = seq.next_element::<Any>()? {
            values.push(value);
        }
        Ok(of(any_value::Value::ArrayValue(ArrayValue { values })))
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, map: M) -> Result<Any, M::Error> {
        let values = members(map)?;
        Ok(of(any_value::Value::KvlistValue(KeyValueList { values })))
    }
}

fn of(value: any_value::Value) -> Any {
    Any(AnyValue { value: Some(value) })
}

/// An answer in OTLP's JSON mapping, where an int64 is written as a
/// string (as the collector writes it) or as a number.
fn json_response(body: &[u8]) -> Option<ExportLogsServiceResponse> {
    let answer: Value = serde_json::from_slice(body).ok()?;
    let answer = answer.as_object()?;
    let Some(partial) = answer.get("partialSuccess") else {
        return Some(ExportLogsServiceResponse::default());
    };
    let partial = partial.as_object()?;
    let rejected = match partial.get("rejectedLogRecords") {
        None => 0,
        Some(Value::Number(number)) => number.as_i64()?,
        Some(Value::String(text)) => text.parse().ok()?,
        Some(_) => return None,
    };
    let error_message = match partial.get("errorMessage") {
        Some(Value::String(text)) => text.clone(),
        _ => String::new(),
    };
    Some(ExportLogsServiceResponse {
        partial_success: Some(ExportLogsPartialSuccess {
            rejected_log_records: rejected,
            error_message,
        }),
    })
}

/// OTLP's severity number for one of the envelope's levels.
fn severity(level: &str) -> i32 {
    match level {
        "DEBUG" => 5,
        "INFO" => 9,
        "WARNING" => 13,
        "ERROR" => 17,
        "CRITICAL" => 21,
        _ => 0,
    }
}

fn attribute(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        ..KeyValue::default()
    }
}

fn text(text: String) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(text)),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn otlp(encoding: OtlpEncoding) -> Otlp {
        Otlp {
            encoding,
            resource: Resource::default(),
        }
    }

    #[test]
    fn an_event_becomes_a_log_record_under_its_logger() {
        let line = br#"{"timestamp":"2026-11-30T18:21:00.031Z","level":"ERROR","message":"db timeout","logger":"db","context":{"request_id":"r1"},"diagnostics":{"host":"web-1"},"data":{"pid":81,"ok":false,"ratio":0.5,"tags":["a"],"user":{"id":7},"none":null}}"#;
        let lines = [(0, &line[..]), (1, &b"raw text"[..])];
        let sending = Sending {
            lines: &lines,
            batch: 1,
            now: std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2),
        };
        let mut body = Vec::new();
        otlp(OtlpEncoding::Protobuf).body(&sending, &mut body);
        let request = ExportLogsServiceRequest::decode(&body[..]).unwrap();
        let scopes = &request.resource_logs[0].scope_logs;
        assert_eq!(scopes.len(), 2);
        assert_eq!(scopes[0].scope.as_ref().unwrap().name, "");
        let raw = &scopes[0].log_records[0];
        assert_eq!(raw.body, Some(text("raw text".into())));
        assert_eq!((raw.time_unix_nano, raw.severity_number), (0, 0));
        let record = &scopes[1].log_records[0];
        assert_eq!(scopes[1].scope.as_ref().unwrap().name, "db");
        assert_eq!(record.time_unix_nano, 1_796_062_860_031_000_000);
        assert_eq!(record.observed_time_unix_nano, 2_000_000_000);
        assert_eq!(
            (record.severity_number, record.severity_text.as_str()),
            (17, "ERROR")
        );
        assert_eq!(record.body, Some(text("db timeout".into())));
        let keys: Vec<&str> = record.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "request_id",
                "pid",
                "ok",
                "ratio",
                "tags",
                "user",
                "none",
                "shipper.host"
            ],
            "in the event's order"
        );
        assert_eq!(record.attributes[6].value, Some(AnyValue { value: None }));
        let user = record.attributes[5].value.clone().unwrap();
        assert_eq!(
            user.value,
            Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![attribute(
                    "id",
                    AnyValue {
                        value: Some(any_value::Value::IntValue(7))
                    }
                )]
            }))
        );
    }

    fn read(encoding: OtlpEncoding, body: &[u8]) -> Reading {
        otlp(encoding).read(&Answer {
            status: 200,
            body,
            end: End::Whole,
            attempt: 1,
            lines: 10,
            sending: &Sending {
                lines: &[],
                batch: 1,
                now: std::time::SystemTime::UNIX_EPOCH,
            },
        })
    }

    #[test]
    fn a_partial_success_counts_the_records_rejected() {
        let response = ExportLogsServiceResponse {
            partial_success: Some(ExportLogsPartialSuccess {
                rejected_log_records: 3,
                error_message: "too old".into(),
            }),
        };
        let Reading::Items(items) = read(OtlpEncoding::Protobuf, &response.encode_to_vec()) else {
            panic!("items")
        };
        let (count, error) = items.unnamed.unwrap();
        assert_eq!((count, error.message.as_str()), (3, "too old"));
        let json = br#"{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":""}}"#;
        let Reading::Items(items) = read(OtlpEncoding::Json, json) else {
            panic!("items")
        };
        assert_eq!(items.unnamed.unwrap().0, 2);
        assert!(
            matches!(read(OtlpEncoding::Protobuf, b""), Reading::Items(items) if items.unnamed.is_none())
        );
        assert!(
            matches!(read(OtlpEncoding::Json, b"{}"), Reading::Items(items) if items.unnamed.is_none())
        );
        assert!(matches!(
            read(OtlpEncoding::Json, b"<html>"),
            Reading::Fail(_)
        ));
    }

    proptest! {
        #[test]
        fn no_answer_makes_it_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read(OtlpEncoding::Protobuf, &body);
            let _ = read(OtlpEncoding::Json, &body);
        }
    }
}
