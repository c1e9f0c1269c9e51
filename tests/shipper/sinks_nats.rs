//! The NATS JetStream sink against a real nats-server: every event stored
//! once, in order, with its envelope; a server killed and restarted in the
//! middle of a run, told while it is down and once it is back; a cluster
//! whose node shipper is connected to dies; streams missing or created;
//! credentials; a retry budget spent.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Running, numbered_lines, run, run_with_env, shipper, wait_until};
use crate::servers::{NatsCluster, NatsServer, free_port, retried_so_far};
use crate::sinks_http::retry_diagnostics;

/// The message of each stored event, in stream order.
fn messages(stored: &[(String, Vec<u8>)]) -> Vec<String> {
    stored
        .iter()
        .map(|(_, payload)| {
            let event: Value = serde_json::from_slice(payload).unwrap();
            event["message"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn expected(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("line {i}")).collect()
}

/// Every stored message has a `Nats-Msg-Id`, and no two share one.
fn assert_distinct_ids(stored: &[(String, Vec<u8>)]) {
    let ids: HashSet<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    assert!(!ids.contains(""), "a message without Nats-Msg-Id");
    assert_eq!(ids.len(), stored.len(), "two messages share a Nats-Msg-Id");
}

#[test]
fn a_hundred_thousand_events_are_stored_once_each_in_order_with_their_envelope() {
    let server = NatsServer::start();
    server.create_stream("LOGS", &["logs.>"]);
    let sink = server.sink("logs.app");
    let args = [
        "--sink",
        &sink,
        "--sink",
        "file=copy.jsonl",
        "--batch-size",
        "1000",
    ];
    let run = run(&args, numbered_lines(100_000));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        !run.stderr.contains("max_payload"),
        "the defaults fit the server's: {}",
        run.stderr
    );
    assert_eq!(run.summary["processed"], 100_000);
    assert_eq!(run.summary["sinks"][0]["name"], sink);
    assert_eq!(run.summary["sinks"][0]["written"], 100_000);

    let stored = server.read_stream("LOGS");
    assert_eq!(stored.len(), 100_000);
    assert_eq!(messages(&stored), expected(100_000));
    assert_distinct_ids(&stored);
    // The file sink got the same batches: each stored payload is the event
    // as shipper made it, byte for byte.
    let copy = std::fs::read(run.path("copy.jsonl")).unwrap();
    let events: Vec<&[u8]> = copy
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(events.len(), stored.len());
    for (event, (_, payload)) in events.iter().zip(&stored) {
        assert_eq!(*event, payload.as_slice());
    }
    let first: Value = serde_json::from_slice(&stored[0].1).unwrap();
    for member in ["timestamp", "level", "logger", "diagnostics"] {
        assert!(first.get(member).is_some(), "{member} in {first}");
    }
}

#[test]
fn two_sinks_on_subjects_of_one_stream_each_store_every_event() {
    let server = NatsServer::start();
    server.create_stream("LOGS", &["logs.>"]);
    let (app, audit) = (server.sink("logs.app"), server.sink("logs.audit"));
    let run = run(&["--sink", &app, "--sink", &audit], numbered_lines(100));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["sinks"][0]["written"], 100);
    assert_eq!(run.summary["sinks"][1]["written"], 100);
    let stored = server.read_stream("LOGS");
    assert_eq!(stored.len(), 200, "one message per event and subject");
    assert_distinct_ids(&stored);
    assert!(!run.stderr.contains("already held"), "{}", run.stderr);
}

#[test]
fn events_read_again_after_a_restart_are_stored_once_and_the_repeat_is_told() {
    let server = NatsServer::start();
    let sink = logs_app(&server);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let checkpoint = dir.path().join("checkpoint.json");
    let args = [
        log.to_str().unwrap(),
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--sink",
        &sink,
    ];
    std::fs::write(&log, numbered_lines(5)).unwrap();
    let first = run(&args, "");
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let saved = std::fs::read(&checkpoint).unwrap();
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    for i in 5..10 {
        writeln!(file, "line {i}").unwrap();
    }
    let second = run(&args, "");
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert!(!second.stderr.contains("already held"), "{}", second.stderr);
    // As if the second run had died before saving where it got to.
    std::fs::write(&checkpoint, saved).unwrap();
    let again = run(&args, "");
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(again.summary["sinks"][0]["written"], 5);
    assert!(
        again
            .stderr
            .contains("JetStream already held 5 events published here for the first time"),
        "{}",
        again.stderr
    );
    let stored = server.read_stream("LOGS");
    assert_eq!(messages(&stored), expected(10));
}

/// Makes stream LOGS capture `logs.app`; returns the `--sink` argument
/// that publishes there.
fn logs_app(server: &NatsServer) -> String {
    server.create_stream("LOGS", &["logs.app"]);
    server.sink("logs.app")
}

#[test]
fn a_server_killed_and_restarted_mid_run_ends_with_every_event_exactly_once() {
    let mut server = NatsServer::start();
    let sink = logs_app(&server);
    let args = [
        "--sink",
        &sink,
        "--batch-size",
        "200",
        "--batch-timeout",
        "10ms",
        "--nats-timeout",
        "500ms",
        "--retry-initial",
        "20ms",
        "--retry-max-delay",
        "200ms",
        "--retry-max",
        "200",
        "--shutdown-timeout",
        "60s",
        "--stats-interval",
        "20ms",
    ];
    let (running, mut stdin) = Running::start(&args);
    let total = 30_000;
    let input = numbered_lines(total);
    let feeder = std::thread::spawn(move || {
        for chunk in input
            .split_inclusive(|&b| b == b'\n')
            .collect::<Vec<_>>()
            .chunks(300)
        {
            for line in chunk {
                stdin.write_all(line).unwrap();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let stored = |server: &NatsServer| server.stream_state("LOGS").map_or(0, |(_, n)| n);
    wait_until(Duration::from_secs(30), "the first events stored", || {
        stored(&server) >= 3_000
    });
    server.kill();
    wait_until(Duration::from_secs(30), "a retry", || {
        retried_so_far(&running) > 0
    });
    server.restart();
    feeder.join().unwrap();
    let (code, stderr, summary, _dir) = running.finish();

    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["processed"], total);
    assert!(summary["retried"].as_u64().unwrap() > 0, "{summary}");
    assert!(stderr.contains("disconnected"), "{stderr}");
    let stored = server.read_stream("LOGS");
    assert_distinct_ids(&stored);
    let mut got = messages(&stored);
    assert_eq!(got.len(), total, "every event exactly once");
    got.sort_by_key(|message| message[5..].parse::<usize>().unwrap());
    assert_eq!(got, expected(total));
}

#[test]
fn without_a_stream_for_the_subject_shipper_stops_unless_told_to_create_one() {
    let server = NatsServer::start();
    let sink = server.sink("orders.audit");
    let refused = run(&["--sink", &sink], numbered_lines(10));
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("no JetStream stream captures subject 'orders.audit'"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--nats-stream"),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.summary["submitted"], 0);
    assert_eq!(server.stream_state("AUDIT"), None);

    let args = ["--sink", &sink, "--nats-stream", "AUDIT"];
    let created = run(&args, numbered_lines(10));
    assert_eq!(created.code, Some(0), "{}", created.stderr);
    let subjects = vec!["orders.audit".to_owned()];
    assert_eq!(server.stream_state("AUDIT"), Some((subjects.clone(), 10)));
    let again = run(&args, numbered_lines(5));
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(server.stream_state("AUDIT"), Some((subjects, 15)));

    server.create_stream("OTHER", &["other.>"]);
    let elsewhere = server.sink("orders.billing");
    let clash = run(&["--sink", &elsewhere, "--nats-stream", "OTHER"], "x\n");
    assert_eq!(clash.code, Some(1));
    assert!(
        clash.stderr.contains(
            "stream 'OTHER' (--nats-stream) exists but does not capture subject 'orders.billing'"
        ),
        "{}",
        clash.stderr
    );
}

#[test]
fn credentials_from_the_environment_are_used_and_never_printed() {
    let server = NatsServer::start_with(&["--user", "shipper", "--pass", "s3cret-pw"]);
    let sink = server.sink("logs.app");
    let args = ["--sink", &sink, "--nats-stream", "LOGS", "-v"];
    let user = ("SHIPPER_NATS_USER", "shipper");
    let good = run_with_env(
        &args,
        &[user, ("SHIPPER_NATS_PASSWORD", "s3cret-pw")],
        numbered_lines(20),
    );
    assert_eq!(good.code, Some(0), "{}", good.stderr);
    assert_eq!(good.summary["sinks"][0]["written"], 20);
    let bad = run_with_env(
        &args,
        &[user, ("SHIPPER_NATS_PASSWORD", "wr0ng-pw")],
        numbered_lines(20),
    );
    assert_eq!(bad.code, Some(1), "{}", bad.stderr);
    assert!(
        bad.stderr
            .to_lowercase()
            .contains("authorization violation"),
        "{}",
        bad.stderr
    );
    for run in [&good, &bad] {
        for secret in ["s3cret-pw", "wr0ng-pw"] {
            assert!(!run.stderr.contains(secret), "{secret} in {}", run.stderr);
            assert!(
                !run.summary.to_string().contains(secret),
                "{secret} in the summary"
            );
        }
    }

    let token_server = NatsServer::start_with(&["--auth", "t0ken-value"]);
    let sink = token_server.sink("logs.app");
    let args = ["--sink", &sink, "--nats-stream", "LOGS"];
    let with_token = run_with_env(
        &args,
        &[("SHIPPER_NATS_TOKEN", "t0ken-value")],
        numbered_lines(5),
    );
    assert_eq!(with_token.code, Some(0), "{}", with_token.stderr);
    assert!(!with_token.stderr.contains("t0ken-value"));
    let without = run(&args, numbered_lines(5));
    assert_eq!(without.code, Some(1), "{}", without.stderr);

    // A creds file that cannot be read is a usage error, found at start.
    let creds = [
        "--sink",
        &sink,
        "--nats-creds",
        "/nonexistent/shipper.creds",
    ];
    shipper()
        .args(creds)
        .write_stdin("never read\n")
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "could not read --nats-creds '/nonexistent/shipper.creds'",
        ));
}

#[test]
fn over_tls_every_event_is_stored_and_an_untrusted_server_stops_the_run() {
    let server = NatsServer::start_tls();
    server.create_stream("LOGS", &["logs.app"]);
    let sink = format!("nats=tls://127.0.0.1:{}/logs.app", server.port);
    let ca = server.ca_path().display().to_string();
    let trusted = run(
        &["--sink", &sink, "--nats-ca-file", &ca],
        numbered_lines(1000),
    );
    assert_eq!(trusted.code, Some(0), "{}", trusted.stderr);
    assert_eq!(trusted.summary["sinks"][0]["name"], sink);
    let stored = server.read_stream("LOGS");
    assert_eq!(messages(&stored), expected(1000));

    let untrusted = run(&["--sink", &sink], numbered_lines(10));
    assert_eq!(untrusted.code, Some(1), "{}", untrusted.stderr);
    assert!(
        untrusted.stderr.contains("could not connect")
            && untrusted.stderr.contains("invalid peer certificate"),
        "{}",
        untrusted.stderr
    );
    // A plain nats:// address to a server that requires TLS gets TLS too.
    let plain = format!("nats=nats://127.0.0.1:{}/logs.app", server.port);
    let upgraded = run(
        &["--sink", &plain, "--nats-ca-file", &ca],
        numbered_lines(10),
    );
    assert_eq!(upgraded.code, Some(0), "{}", upgraded.stderr);
    assert_eq!(server.stream_state("LOGS").unwrap().1, 1010);
}

#[test]
fn an_event_larger_than_the_servers_limit_is_cut_to_fit_and_its_batch_stored() {
    const MAX_PAYLOAD: usize = 1024 * 1024;
    let server = NatsServer::start();
    let sink = logs_app(&server);
    let big = format!("big {}", "x".repeat(1_100_000));
    let input = format!("small 0\n{big}\nsmall 2\n");
    let run = run(&["--sink", &sink, "--max-line-bytes", "2MiB"], input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["retried"], 0);
    assert_eq!(run.summary["processed"], 3);
    for warning in [
        "more than the server's max_payload of 1048576",
        "1 events cut to fit the server's max_payload",
    ] {
        assert!(run.stderr.contains(warning), "{warning}: {}", run.stderr);
    }
    let stored = server.read_stream_with("LOGS", "Shipper-Truncated");
    assert_eq!(stored.len(), 3);
    let (flag, payload) = &stored[1];
    let event: Value = serde_json::from_slice(payload).expect("still a JSON event");
    let message = event["message"].as_str().unwrap();
    assert!(
        message.len() > MAX_PAYLOAD - 1000 && big.starts_with(message),
        "{}",
        message.len()
    );
    assert!(payload.len() <= MAX_PAYLOAD);
    assert_eq!(event["diagnostics"]["truncated"], true);
    let original = event["diagnostics"]["original_length"].as_u64().unwrap();
    assert!(original > 1_100_000, "{event}");
    assert_eq!(flag.as_deref(), Some(original.to_string().as_str()));
    assert_eq!(stored[0].0, None, "only a cut event is flagged");
    let all = messages(&server.read_stream("LOGS"));
    assert_eq!((all[0].as_str(), all[2].as_str()), ("small 0", "small 2"));

    // Without an envelope, the line itself is cut.
    let raw = crate::common::run(
        &["--sink", &sink, "--max-line-bytes", "2MiB", "--raw"],
        format!("{big}\n"),
    );
    assert_eq!(raw.code, Some(0), "{}", raw.stderr);
    let stored = server.read_stream_with("LOGS", "Shipper-Truncated");
    let (flag, payload) = &stored[3];
    assert_eq!(flag.as_deref(), Some(big.len().to_string().as_str()));
    assert!(payload.len() <= MAX_PAYLOAD && payload.len() > MAX_PAYLOAD - 200);
    assert!(big.as_bytes().starts_with(payload));
}

#[test]
fn a_server_without_jetstream_stops_the_run_and_says_what_is_missing() {
    let server = NatsServer::start_without_jetstream();
    let sink = server.sink("logs.app");
    let run = run(
        &["--sink", &sink, "--nats-timeout", "1s"],
        numbered_lines(10),
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("nats-server -js"), "{}", run.stderr);
    assert_eq!(run.summary["submitted"], 0);
}

#[test]
fn an_unreachable_server_stops_the_run_before_anything_is_read() {
    let sink = format!("nats=nats://127.0.0.1:{}/logs.app", free_port());
    let run = run(
        &["--sink", &sink, "--nats-timeout", "1s"],
        numbered_lines(10),
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("could not connect to 127.0.0.1:"),
        "{}",
        run.stderr
    );
    assert_eq!(run.summary["submitted"], 0);
}

/// Runs shipper with `args` into stream LOGS: `stored` lines are stored,
/// then the server goes down for good and `after` more lines come. Returns
/// how shipper ended, and how long it took to end once input ended.
fn down_after(
    server: &mut NatsServer,
    args: &[&str],
    stored: usize,
    after: usize,
) -> (Option<i32>, String, serde_json::Value, Duration) {
    let (running, mut stdin) = Running::start(args);
    stdin.write_all(&numbered_lines(stored)).unwrap();
    wait_until(Duration::from_secs(30), "the first events stored", || {
        server
            .stream_state("LOGS")
            .is_some_and(|(_, n)| n == stored as u64)
    });
    server.kill();
    stdin.write_all(&numbered_lines(after)).unwrap();
    drop(stdin);
    let ending = std::time::Instant::now();
    let (code, stderr, summary, _dir) = running.finish();
    (code, stderr, summary, ending.elapsed())
}

#[test]
fn a_server_that_stays_down_costs_the_events_after_the_retry_budget() {
    let mut server = NatsServer::start();
    let sink = logs_app(&server);
    let args = [
        "--sink",
        &sink,
        "--batch-size",
        "50",
        "--batch-timeout",
        "10ms",
        "--nats-timeout",
        "200ms",
        "--retry-initial",
        "10ms",
        "--retry-max-delay",
        "50ms",
        "--retry-max",
        "3",
    ];
    let (code, stderr, summary, _) = down_after(&mut server, &args, 100, 50);
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(summary["processed"], 100);
    assert_eq!(summary["dropped_by_reason"]["sink_error"], 50);
    assert_eq!(summary["retried"], 2, "three attempts at the one batch");
    assert!(stderr.contains("gave up after 3 attempts"), "{stderr}");
}

#[test]
fn a_server_that_stays_down_is_given_up_when_the_shutdown_timeout_runs_out() {
    let mut server = NatsServer::start();
    let sink = logs_app(&server);
    let args = [
        "--sink",
        &sink,
        "--batch-timeout",
        "10ms",
        "--nats-timeout",
        "200ms",
        "--retry-initial",
        "10ms",
        "--retry-max-delay",
        "50ms",
        "--retry-max",
        "1000",
        "--shutdown-timeout",
        "1s",
    ];
    let (code, stderr, summary, ending) = down_after(&mut server, &args, 10, 20);
    assert!(ending < Duration::from_secs(10), "{stderr}");
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(summary["processed"], 10);
    assert_eq!(summary["dropped_by_reason"]["shutdown_timeout"], 20);
    assert!(summary["retried"].as_u64().unwrap() > 0, "{summary}");
}

#[test]
fn a_server_that_goes_down_is_warned_of_while_retrying_and_its_return_is_told() {
    let mut server = NatsServer::start();
    let sink = logs_app(&server);
    let args = [
        "--sink",
        &sink,
        "--batch-timeout",
        "10ms",
        "--nats-timeout",
        "300ms",
        "--retry-initial",
        "20ms",
        "--retry-max-delay",
        "100ms",
        "--retry-max",
        "1000",
        "--shutdown-timeout",
        "60s",
    ];
    let (running, mut stdin) = Running::start(&args);
    stdin.write_all(&numbered_lines(10)).unwrap();
    wait_until(Duration::from_secs(30), "the first events stored", || {
        server.stream_state("LOGS").is_some_and(|(_, n)| n == 10)
    });
    server.kill();
    stdin.write_all(&numbered_lines(10)).unwrap();
    wait_until(Duration::from_secs(30), "a warning", || {
        retry_diagnostics(&running.stderr_so_far())
            .iter()
            .any(|d| d["level"] == "WARN")
    });
    server.restart();
    wait_until(Duration::from_secs(30), "the recovery told", || {
        running.stderr_so_far().contains("is delivering again")
    });
    drop(stdin);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    crate::common::assert_invariant(&summary);
    assert_eq!(summary["processed"], 20);
    let told = retry_diagnostics(&stderr);
    let warning = told.iter().find(|d| d["level"] == "WARN").unwrap();
    assert!(
        warning["sink"].as_str().unwrap().contains("logs.app"),
        "{warning}"
    );
    assert_eq!(warning["attempt"], 1, "{warning}");
    let last = told.last().unwrap();
    assert_eq!(
        (last["level"].as_str(), last["sink"].clone()),
        (Some("INFO"), warning["sink"].clone()),
        "{stderr}"
    );
}

/// The README's cluster form, `nats=nats://A,B,C/SUBJECT`, against three
/// routed nodes and a stream replicated on all three: shipper's node is
/// killed while publishes are in flight, shipper carries on through another
/// node of its list, and what it published again after the lost acks is not
/// stored twice.
#[test]
fn the_node_shipper_is_connected_to_dies_and_the_cluster_stores_every_event_once() {
    let mut cluster = NatsCluster::start();
    cluster.create_stream("LOGS", &["logs.app"]);
    let sink = cluster.sink("logs.app");
    assert_eq!(sink.matches(',').count(), 2, "{sink}");
    let args = [
        "--sink",
        &sink,
        "--batch-size",
        "100",
        "--batch-timeout",
        "10ms",
        "--nats-timeout",
        "1s",
        "--retry-initial",
        "20ms",
        "--retry-max-delay",
        "200ms",
        "--retry-max",
        "1000",
        "--shutdown-timeout",
        "60s",
    ];
    let (running, stdin) = Running::start(&args);
    let (total, before) = (6_000, 3_000);
    let (killed, kill_told) = std::sync::mpsc::channel();
    let feeder = std::thread::spawn(move || feed_around_a_kill(stdin, total, before, kill_told));
    wait_until(Duration::from_secs(30), "the first events stored", || {
        stored_in(cluster.running_node()) >= 1_000
    });
    let mut serving = None;
    wait_until(Duration::from_secs(30), "shipper's connection seen", || {
        serving = cluster.node_serving("shipper/");
        serving.is_some()
    });
    let serving = serving.unwrap();
    cluster.nodes[serving].kill();
    killed.send(()).unwrap();
    let stdin = feeder.join().unwrap();
    wait_until(Duration::from_secs(30), "shipper on another node", || {
        cluster
            .node_serving("shipper/")
            .is_some_and(|node| node != serving)
    });
    drop(stdin);
    let (code, stderr, summary, _dir) = running.finish();

    assert_eq!(code, Some(0), "{stderr}");
    crate::common::assert_invariant(&summary);
    assert_eq!(summary["dropped"], 0, "{summary}");
    assert_eq!(summary["processed"], total, "{summary}");
    assert!(stderr.contains("disconnected"), "{stderr}");
    assert!(
        !stderr.contains("already held"),
        "only retries met duplicates: {stderr}"
    );
    let stored = cluster.read_stream("LOGS");
    assert_distinct_ids(&stored);
    let mut got = messages(&stored);
    assert_eq!(got.len(), total, "every event exactly once");
    got.sort_by_key(|message| message[5..].parse::<usize>().unwrap());
    assert_eq!(got, expected(total));
}

/// How many messages stream LOGS holds, as `node` sees it.
fn stored_in(node: &NatsServer) -> u64 {
    node.stream_state("LOGS").map_or(0, |(_, n)| n)
}

/// Writes `total` numbered lines a hundred at a time, a few milliseconds
/// apart so that publishes are in flight all along; waits to be told of
/// the kill before writing line `before`. Returns stdin, still open.
fn feed_around_a_kill(
    mut stdin: std::process::ChildStdin,
    total: usize,
    before: usize,
    killed: std::sync::mpsc::Receiver<()>,
) -> std::process::ChildStdin {
    let input = numbered_lines(total);
    let lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
    for (at, hundred) in lines.chunks(100).enumerate() {
        if at * 100 == before {
            killed.recv().unwrap();
        }
        stdin.write_all(&hundred.concat()).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    stdin
}
