//! The sinks that speak a collector's own API, each against a scripted
//! collector on 127.0.0.1 that answers as that API documents: what is
//! sent, field by field; a batch taken whole; part of a batch refused,
//! counted against the sink with the collector's reason; retries; answers
//! that cannot be read or never end; a closed port; and credentials that
//! never show.

use std::io::Read;

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
    let run = run(&["--sink", &sink, "--batch-size", "6"], numbered_lines(12));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.summary["processed"], 8);
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
