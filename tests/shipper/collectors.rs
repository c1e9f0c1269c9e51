//! The sinks that speak a collector's own API, each against a scripted
//! collector on 127.0.0.1 that answers as that API documents: what is
//! sent, field by field; a batch taken whole; part of a batch refused,
//! counted against the sink with the collector's reason; retries; answers
//! that cannot be read or never end; a closed port; and credentials that
//! never show.

use std::io::Read;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use serde_json::{Value, json};

use crate::collector::{QUICK_RETRIES, Request, closed_port_url};
use crate::common::{numbered_lines, run, run_with_env};
use crate::servers::{Reaction, Reactive};

/// The body as sent, gunzipped if it was compressed.
fn plain_body(request: &Request) -> Vec<u8> {
    if request.header("content-encoding") != Some("gzip") {
        return request.body.clone();
    }
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&request.body[..])
        .read_to_end(&mut plain)
        .unwrap();
    plain
}

/// The diagnostics shipper wrote about its sinks.
fn sink_diagnostics(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|d| d["component"] == "sink")
        .collect()
}

/// The diagnostics naming events a collector refused.
fn refusals(stderr: &str) -> Vec<Value> {
    sink_diagnostics(stderr)
        .into_iter()
        .filter(|d| d["refused"].is_number())
        .collect()
}

/// A bulk request's actions and documents, in pairs.
fn bulk_pairs(request: &Request) -> Vec<(Value, Value)> {
    let body = plain_body(request);
    let lines: Vec<Value> = body
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect();
    assert_eq!(lines.len() % 2, 0, "an action and a document each");
    lines
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect()
}

/// A bulk answer for `count` items, each with the status `status_of` gives
/// its place (and an error for any failure).
fn bulk_answer(count: usize, status_of: impl Fn(usize) -> u16) -> Reaction {
    let items: Vec<Value> = (0..count)
        .map(|place| match status_of(place) {
            201 => json!({"create": {"_index": "logs", "status": 201}}),
            429 => json!({"create": {"status": 429, "error": {
                "type": "es_rejected_execution_exception", "reason": "rejected execution of coordinating operation"}}}),
            409 => json!({"create": {"status": 409, "error": {
                "type": "version_conflict_engine_exception", "reason": "document already exists"}}}),
            status => json!({"create": {"status": status, "error": {
                "type": "document_parsing_exception", "reason": "failed to parse field [data.pid] of type [long]"}}}),
        })
        .collect();
    let errors = (0..count).any(|place| status_of(place) != 201);
    Reaction::json(200, &json!({"took": 3, "errors": errors, "items": items}))
}

fn messages(documents: &[Value]) -> Vec<String> {
    documents
        .iter()
        .map(|doc| doc["message"].as_str().unwrap().to_owned())
        .collect()
}

fn expected(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("line {i}")).collect()
}

#[test]
fn elasticsearch_gets_bulk_creates_with_timestamps_and_the_api_key() {
    let es = Reactive::start(|request, _| bulk_answer(bulk_pairs(request).len(), |_| 201));
    let sink = format!("elasticsearch=http://{}/logs-app", es.addr);
    let args = ["--sink", &sink, "--batch-size", "10", "--http-gzip"];
    let key = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";
    let run = run_with_env(&args, &[("SHIPPER_ES_API_KEY", key)], numbered_lines(30));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["processed"], 30);
    let requests = es.requests();
    assert_eq!(requests.len(), 3);
    let mut documents = Vec::new();
    let mut ids = Vec::new();
    for request in &requests {
        assert!(
            request.path.starts_with("/logs-app/_bulk?filter_path="),
            "{}",
            request.path
        );
        assert_eq!(request.header("content-type"), Some("application/x-ndjson"));
        assert_eq!(
            request.header("authorization"),
            Some(format!("ApiKey {key}").as_str())
        );
        for (action, document) in bulk_pairs(request) {
            let create = action["create"].as_object().expect("a create action");
            ids.push(create["_id"].as_str().unwrap().to_owned());
            assert_eq!(document["@timestamp"], document["timestamp"]);
            assert!(document["@timestamp"].as_str().unwrap().ends_with('Z'));
            assert_eq!(document["level"], "INFO");
            documents.push(document);
        }
    }
    assert_eq!(messages(&documents), expected(0..30));
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30, "each event its own id");
    assert!(!run.stderr.contains(key) && !run.summary.to_string().contains(key));
    assert_eq!(run.summary["sinks"][0]["name"], sink);
}

#[test]
fn opensearch_takes_raw_lines_as_messages() {
    let os = Reactive::start(|request, _| bulk_answer(bulk_pairs(request).len(), |_| 201));
    let sink = format!("opensearch=http://user:s3cretpw@{}/logs", os.addr);
    let run = run(&["--sink", &sink, "--raw"], "plain one\n{\"a\":1}\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let request = &os.requests()[0];
    assert_eq!(
        request.header("authorization"),
        Some("Basic dXNlcjpzM2NyZXRwdw==")
    );
    let documents: Vec<Value> = bulk_pairs(request)
        .into_iter()
        .map(|(_, doc)| doc)
        .collect();
    assert_eq!(documents[0]["message"], "plain one");
    assert_eq!(documents[1]["a"], 1, "a JSON object is the document");
    assert!(documents[1]["@timestamp"].is_string());
    assert!(!run.stderr.contains("s3cretpw") && !run.summary.to_string().contains("s3cretpw"));
}

#[test]
fn elasticsearch_items_it_refuses_are_counted_with_its_reason() {
    // Every third event of a batch does not fit the mapping.
    let es = Reactive::start(|request, _| {
        bulk_answer(bulk_pairs(request).len(), |place| {
            if place % 3 == 1 { 400 } else { 201 }
        })
    });
    let sink = format!("elasticsearch=http://{}/logs", es.addr);
    let args = [
        "--sink",
        &sink,
        "--batch-size",
        "6",
        "--dead-letter",
        "dead.jsonl",
    ];
    let run = run(&args, numbered_lines(12));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.summary["processed"], 8);
    // Each refused event is kept with the cluster's own reason.
    assert_eq!(run.summary["dead_lettered"], 4);
    let letters = crate::common::read_events(&run.path("dead.jsonl"));
    let kept: Vec<&str> = letters
        .iter()
        .map(|letter| letter["event"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["line 1", "line 4", "line 7", "line 10"]);
    assert_eq!(letters[0]["error_kind"], "document_parsing_exception");
    assert_eq!(letters[0]["status"], 400);
    assert!(letters[0]["error"].as_str().unwrap().contains("data.pid"));
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 4);
    assert_eq!(run.summary["sinks"][0]["failed"], 4);
    assert_eq!(run.summary["retried"], 0, "a refusal is not retried");
    assert_eq!(es.requests().len(), 2);
    let told = refusals(&run.stderr);
    assert_eq!(told.len(), 2, "once a batch: {}", run.stderr);
    let reason = &told[0]["reasons"][0];
    assert_eq!(reason["kind"], "document_parsing_exception");
    assert_eq!(reason["status"], 400);
    assert_eq!(reason["events"], 2);
    assert!(
        reason["error"]
            .as_str()
            .unwrap()
            .contains("failed to parse field [data.pid]")
    );
}

#[test]
fn elasticsearch_items_refused_for_now_are_sent_again_alone() {
    // The first answer turns the second and fifth events away for now; a
    // 409 for an event of a later attempt says an earlier one stored it.
    let es = Reactive::start(|request, nth| {
        let count = bulk_pairs(request).len();
        match nth {
            0 => bulk_answer(
                count,
                |place| if place == 1 || place == 4 { 429 } else { 201 },
            ),
            1 => bulk_answer(count, |place| if place == 0 { 409 } else { 201 }),
            _ => bulk_answer(count, |_| 201),
        }
    });
    let sink = format!("elasticsearch=http://{}/logs", es.addr);
    let mut args = vec!["--sink", &sink, "--batch-size", "5"];
    args.extend(QUICK_RETRIES);
    let run = run(&args, numbered_lines(5));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["processed"], 5);
    assert_eq!(run.summary["retried"], 1);
    let requests = es.requests();
    assert_eq!(requests.len(), 2);
    let first: Vec<(Value, Value)> = bulk_pairs(&requests[0]);
    let again: Vec<(Value, Value)> = bulk_pairs(&requests[1]);
    assert_eq!(
        messages(&again.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>()),
        ["line 1", "line 4"]
    );
    assert_eq!(again[0].0, first[1].0, "the same id at every attempt");
    assert_eq!(again[1].0, first[4].0);
}

#[test]
fn elasticsearch_overloaded_is_retried_after_the_time_it_asks() {
    let es = Reactive::start(|request, nth| match nth {
        0 => Reaction::Answer(
            503,
            vec![("Retry-After", "0".into())],
            b"{\"error\":\"busy\"}".to_vec(),
        ),
        1 => Reaction::Answer(429, vec![("Retry-After", "0".into())], Vec::new()),
        _ => bulk_answer(bulk_pairs(request).len(), |_| 201),
    });
    let sink = format!("elasticsearch=http://{}/logs", es.addr);
    let mut args = vec!["--sink", &sink];
    args.extend(QUICK_RETRIES);
    let run = run(&args, numbered_lines(4));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["processed"], 4);
    assert_eq!(run.summary["retried"], 2);
}

#[test]
fn elasticsearch_answers_that_cannot_be_read_fail_the_batch_clearly() {
    for (answer, says) in [
        (
            Reaction::Answer(200, Vec::new(), b"<html>proxy</html>".to_vec()),
            "not a bulk answer",
        ),
        (
            Reaction::json(200, &json!({"errors": true, "items": []})),
            "0 items for 3 events",
        ),
        (Reaction::Endless(200), "longer than"),
    ] {
        let answer = std::sync::Mutex::new(Some(answer));
        let es = Reactive::start(move |_, _| {
            answer
                .lock()
                .unwrap()
                .take()
                .unwrap_or(Reaction::Endless(200))
        });
        let sink = format!("elasticsearch=http://{}/logs", es.addr);
        let mut args = vec!["--sink", &sink, "--retry-max", "1", "--http-timeout", "5s"];
        args.extend(QUICK_RETRIES);
        let run = run(&args, numbered_lines(3));
        assert_eq!(run.code, Some(3), "{}", run.stderr);
        assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 3);
        let failure = sink_diagnostics(&run.stderr)
            .into_iter()
            .find(|d| d["error_kind"] == "BadAnswer")
            .unwrap_or_else(|| panic!("{}", run.stderr));
        assert!(
            failure["error"].as_str().unwrap().contains(says),
            "{failure}"
        );
    }
}

#[test]
fn every_collector_sink_counts_a_closed_port_against_itself() {
    let url = closed_port_url();
    let address = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let sinks = [
        format!("elasticsearch=http://{address}/logs"),
        format!("opensearch=http://{address}/logs"),
        format!("otlp=http://{address}/v1/logs"),
        format!("loki=http://{address}"),
        format!("splunk=http://{address}"),
    ];
    for sink in sinks {
        let mut args = vec!["--sink", &sink, "--retry-max", "2"];
        args.extend(QUICK_RETRIES);
        let run = run(&args, numbered_lines(3));
        assert_eq!(run.code, Some(3), "{sink}: {}", run.stderr);
        assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 3);
        assert_eq!(run.summary["retried"], 1);
        assert!(run.stderr.contains("Connect"), "{}", run.stderr);
    }
}

/// An OTLP request, decoded with the official definitions as its
/// content type says.
fn otlp_request(request: &Request) -> ExportLogsServiceRequest {
    let body = plain_body(request);
    match request.header("content-type") {
        Some("application/x-protobuf") => ExportLogsServiceRequest::decode(&body[..]).unwrap(),
        Some("application/json") => serde_json::from_slice(&body).unwrap(),
        other => panic!("content type {other:?}"),
    }
}

/// The records of a request, in order, each with its scope's name.
fn otlp_records(request: &ExportLogsServiceRequest) -> Vec<(String, LogRecord)> {
    request
        .resource_logs
        .iter()
        .flat_map(|resource| &resource.scope_logs)
        .flat_map(|scope| {
            let name = scope
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            scope
                .log_records
                .iter()
                .map(move |record| (name.clone(), record.clone()))
        })
        .collect()
}

fn string_value(value: &Option<AnyValue>) -> Option<&str> {
    match value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(text) => Some(text),
        _ => None,
    }
}

fn otlp_answer(rejected: i64, message: &str) -> Reaction {
    let response = ExportLogsServiceResponse {
        partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: rejected,
            error_message: message.into(),
        }),
    };
    let headers = vec![("Content-Type", "application/x-protobuf".to_owned())];
    Reaction::Answer(200, headers, response.encode_to_vec())
}

#[test]
fn otlp_sends_log_records_the_official_definitions_decode() {
    for encoding in ["protobuf", "json"] {
        let collector = Reactive::start(move |_, _| match encoding {
            "json" => Reaction::json(200, &json!({})),
            _ => otlp_answer(0, ""),
        });
        let sink = format!("otlp=http://{}/v1/logs", collector.addr);
        let input = "{\"level\":\"error\",\"msg\":\"db timeout\",\"logger\":\"db\",\"pid\":81,\"user\":{\"id\":7}}\n\
                     2026-11-30T18:21:00Z WARN cache cold\n";
        let args = [
            "--sink",
            &sink,
            "--otlp-encoding",
            encoding,
            "--field",
            "service=billing",
            "--field",
            "team=core",
        ];
        let run = run(&args, input);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_eq!(run.summary["processed"], 2);
        let requests = collector.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].path, "/v1/logs");
        let request = otlp_request(&requests[0]);
        let resource = request.resource_logs[0].resource.clone().unwrap();
        let resource: Vec<(String, Option<String>)> = resource
            .attributes
            .iter()
            .map(|kv| (kv.key.clone(), string_value(&kv.value).map(str::to_owned)))
            .collect();
        assert_eq!(
            resource[1],
            ("service.name".to_owned(), Some("billing".to_owned()))
        );
        assert_eq!(resource[0].0, "host.name");
        let records = otlp_records(&request);
        assert_eq!(records.len(), 2, "{encoding}");
        let (scope, error) = records
            .iter()
            .find(|(_, r)| r.severity_number == 17)
            .unwrap();
        assert_eq!(scope, "db");
        assert_eq!(error.severity_text, "ERROR");
        assert_eq!(string_value(&error.body), Some("db timeout"));
        assert!(error.observed_time_unix_nano > 1_700_000_000_000_000_000);
        let keys: Vec<&str> = error.attributes.iter().map(|kv| kv.key.as_str()).collect();
        for key in ["pid", "user", "team", "shipper.host", "shipper.source"] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
        let user = error.attributes.iter().find(|kv| kv.key == "user").unwrap();
        assert!(matches!(
            user.value.as_ref().unwrap().value,
            Some(any_value::Value::KvlistValue(_))
        ));
        let (_, warning) = records
            .iter()
            .find(|(_, r)| r.severity_number == 13)
            .unwrap();
        assert_eq!(warning.time_unix_nano, 1_796_062_860_000_000_000);
        assert_eq!(string_value(&warning.body), Some("cache cold"));
    }
}

#[test]
fn otlp_records_a_collector_rejects_are_counted_with_its_message() {
    let collector = Reactive::start(|_, nth| match nth {
        0 => otlp_answer(2, "log records too old"),
        _ => otlp_answer(0, ""),
    });
    let sink = format!("otlp=http://{}", collector.addr);
    let run = run(&["--sink", &sink, "--batch-size", "5"], numbered_lines(10));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(
        collector.requests()[0].path,
        "/v1/logs",
        "the logs path by default"
    );
    assert_eq!(run.summary["processed"], 8);
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 2);
    let told = refusals(&run.stderr);
    assert_eq!(told.len(), 1, "{}", run.stderr);
    assert_eq!(told[0]["reasons"][0]["kind"], "PartialSuccess");
    assert_eq!(told[0]["reasons"][0]["error"], "log records too old");
    assert_eq!(told[0]["reasons"][0]["events"], 2);
}

#[test]
fn otlp_retries_an_overloaded_collector_and_fails_on_an_unreadable_answer() {
    let collector = Reactive::start(|_, nth| match nth {
        0 => Reaction::Answer(503, vec![("Retry-After", "0".into())], Vec::new()),
        _ => otlp_answer(0, ""),
    });
    let sink = format!("otlp=http://{}/v1/logs", collector.addr);
    let mut args = vec!["--sink", &sink];
    args.extend(QUICK_RETRIES);
    let recovered = run(&args, numbered_lines(3));
    assert_eq!(recovered.code, Some(0), "{}", recovered.stderr);
    assert_eq!(recovered.summary["retried"], 1);

    let collector =
        Reactive::start(|_, _| Reaction::Answer(200, Vec::new(), b"\xff\xff\xff garbage".to_vec()));
    let sink = format!("otlp=http://{}/v1/logs", collector.addr);
    let run = run(&["--sink", &sink], numbered_lines(3));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 3);
    assert!(
        run.stderr.contains("not an export answer"),
        "{}",
        run.stderr
    );
}

/// A Loki push request's streams: each one's labels and its entries.
fn loki_streams(request: &Request) -> Vec<(Value, Vec<(String, Value)>)> {
    let push: Value = serde_json::from_slice(&plain_body(request)).unwrap();
    push["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stream| {
            let entries = stream["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|entry| {
                    let line: Value = serde_json::from_str(entry[1].as_str().unwrap()).unwrap();
                    (entry[0].as_str().unwrap().to_owned(), line)
                })
                .collect();
            (stream["stream"].clone(), entries)
        })
        .collect()
}

#[test]
fn loki_gets_streams_by_label_in_time_order() {
    let loki = Reactive::start(|_, _| Reaction::Answer(204, Vec::new(), Vec::new()));
    let sink = format!("loki=http://{}", loki.addr);
    let input = "2026-11-30T18:21:02Z ERROR disk full\n\
                 2026-11-30T18:21:01Z INFO started\n\
                 2026-11-30T18:21:00Z INFO booting\n";
    let args = [
        "--sink",
        &sink,
        "--loki-label",
        "job=billing",
        "--loki-label",
        "env=prod",
        "--http-gzip",
    ];
    let run = run(&args, input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["processed"], 3);
    let requests = loki.requests();
    assert_eq!(requests[0].path, "/loki/api/v1/push");
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    let streams = loki_streams(&requests[0]);
    assert_eq!(streams.len(), 2);
    assert_eq!(
        streams[0].0,
        json!({"job": "billing", "env": "prod", "level": "error"})
    );
    assert_eq!(streams[1].0["level"], "info");
    let info: Vec<(&str, &str)> = streams[1]
        .1
        .iter()
        .map(|(nanos, event)| (nanos.as_str(), event["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        info,
        [
            ("1796062860000000000", "booting"),
            ("1796062861000000000", "started")
        ],
        "in time order, the time in nanoseconds"
    );
}

#[test]
fn loki_entries_it_names_in_a_400_are_refused_with_its_message() {
    // Loki stores what it can of a push and names each entry it turned
    // away; an answer that names none fails the batch.
    let loki = Reactive::start(|_, nth| {
        match nth {
        0 => Reaction::Answer(
            400,
            Vec::new(),
            b"entry with timestamp 2026-11-30 18:21:00 +0000 UTC ignored, reason: 'entry too far behind, oldest acceptable timestamp is: 2026-11-30T18:21:01Z' for stream: {level=\"info\"},\ntotal ignored: 1 out of 2\n".to_vec(),
        ),
        _ => Reaction::Answer(400, Vec::new(), b"error parsing labels".to_vec()),
    }
    });
    let sink = format!("loki=http://{}", loki.addr);
    let input = "2026-11-30T18:21:01Z INFO a\n2026-11-30T18:21:00Z INFO b\n";
    let first = run(&["--sink", &sink], input);
    assert_eq!(first.code, Some(3), "{}", first.stderr);
    assert_eq!(first.summary["processed"], 1);
    assert_eq!(first.summary["dropped_by_reason"]["sink_error"], 1);
    let told = refusals(&first.stderr);
    let reason = told[0]["reasons"][0]["error"].as_str().unwrap();
    assert!(reason.contains("entry too far behind"), "{reason}");
    let second = run(&["--sink", &sink], input);
    assert_eq!(second.code, Some(3), "{}", second.stderr);
    assert_eq!(second.summary["dropped_by_reason"]["sink_error"], 2);
    assert!(
        second.stderr.contains("error parsing labels"),
        "{}",
        second.stderr
    );
}

#[test]
fn loki_is_retried_while_it_is_overloaded() {
    let loki = Reactive::start(|_, nth| match nth {
        0 => Reaction::Answer(
            429,
            vec![("Retry-After", "0".into())],
            b"ingestion rate limit exceeded".to_vec(),
        ),
        _ => Reaction::Answer(204, Vec::new(), Vec::new()),
    });
    let sink = format!("loki=http://{}", loki.addr);
    let mut args = vec!["--sink", &sink];
    args.extend(QUICK_RETRIES);
    let run = run(&args, numbered_lines(3));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["retried"], 1);
    assert_eq!(loki_streams(&loki.requests()[1])[0].1.len(), 3);
}

/// The HEC events of a request, one JSON object each.
fn hec_events(request: &Request) -> Vec<Value> {
    serde_json::Deserializer::from_slice(&plain_body(request))
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect()
}

const SPLUNK_TOKEN: &str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890";

#[test]
fn splunk_gets_one_event_object_each_with_its_token() {
    let splunk =
        Reactive::start(|_, _| Reaction::json(200, &json!({"text": "Success", "code": 0})));
    let sink = format!("splunk=http://{}", splunk.addr);
    let args = ["--sink", &sink, "--splunk-sourcetype", "billing:json"];
    let input =
        "{\"timestamp\":\"2026-11-30T18:21:00.031Z\",\"level\":\"INFO\",\"message\":\"paid\"}\n";
    let run = run_with_env(&args, &[("SHIPPER_SPLUNK_TOKEN", SPLUNK_TOKEN)], input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let request = &splunk.requests()[0];
    assert_eq!(request.path, "/services/collector/event");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Splunk {SPLUNK_TOKEN}").as_str())
    );
    let events = hec_events(request);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["time"], 1796062860.031);
    assert_eq!(events[0]["sourcetype"], "billing:json");
    assert_eq!(events[0]["source"], "stdin");
    assert!(events[0]["host"].is_string());
    assert_eq!(events[0]["event"]["message"], "paid");
    assert!(!run.stderr.contains(SPLUNK_TOKEN) && !run.summary.to_string().contains(SPLUNK_TOKEN));
}

#[test]
fn splunk_refuses_the_invalid_event_and_sends_those_after_it_again() {
    let splunk = Reactive::start(|_, nth| match nth {
        0 => Reaction::json(
            400,
            &json!({"text": "Invalid data format", "code": 6, "invalid-event-number": 1}),
        ),
        _ => Reaction::json(200, &json!({"text": "Success", "code": 0})),
    });
    let sink = format!("splunk=http://{}", splunk.addr);
    let mut args = vec!["--sink", &sink];
    args.extend(QUICK_RETRIES);
    let run = run_with_env(
        &args,
        &[("SHIPPER_SPLUNK_TOKEN", SPLUNK_TOKEN)],
        numbered_lines(4),
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.summary["processed"], 3);
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 1);
    let again: Vec<Value> = hec_events(&splunk.requests()[1]);
    let messages: Vec<&str> = again
        .iter()
        .map(|e| e["event"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["line 2", "line 3"]);
    let told = refusals(&run.stderr);
    assert_eq!(
        told[0]["reasons"][0]["error"],
        "HEC code 6: Invalid data format"
    );
}

#[test]
fn splunk_retries_a_busy_server_and_gives_up_on_a_bad_token() {
    let splunk = Reactive::start(|_, nth| match nth {
        0 => Reaction::json(503, &json!({"text": "Server is busy", "code": 9})),
        _ => Reaction::json(200, &json!({"text": "Success", "code": 0})),
    });
    let sink = format!("splunk=http://{}", splunk.addr);
    let mut args = vec!["--sink", &sink];
    args.extend(QUICK_RETRIES);
    let busy = run_with_env(
        &args,
        &[("SHIPPER_SPLUNK_TOKEN", SPLUNK_TOKEN)],
        numbered_lines(2),
    );
    assert_eq!(busy.code, Some(0), "{}", busy.stderr);
    assert_eq!(busy.summary["retried"], 1);

    let splunk =
        Reactive::start(|_, _| Reaction::json(403, &json!({"text": "Invalid token", "code": 4})));
    let sink = format!("splunk=http://{}", splunk.addr);
    let mut args = vec!["--sink", &sink];
    args.extend(QUICK_RETRIES);
    let refused = run_with_env(
        &args,
        &[("SHIPPER_SPLUNK_TOKEN", SPLUNK_TOKEN)],
        numbered_lines(2),
    );
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    assert_eq!(refused.summary["retried"], 0, "a bad token is not retried");
    assert_eq!(splunk.requests().len(), 1);
    assert!(
        refused.stderr.contains("Invalid token"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains(SPLUNK_TOKEN));
}
