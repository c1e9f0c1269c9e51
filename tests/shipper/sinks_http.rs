//! The HTTP sink against a real server on 127.0.0.1: delivery, formats,
//! retries, Retry-After, final failures, a server that never answers, one
//! whose answer never ends, and what is told while a collector fails.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::collector::{Collector, QUICK_RETRIES, Reply, closed_port_url, read_request};
use crate::common::{
    Running, command_in, feed, numbered_lines, read_summary, run, run_with_env, wait_until,
};

fn messages(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

fn expected(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("line {i}")).collect()
}

fn sink_diagnostics(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|d| d["component"] == "sink")
        .collect()
}

#[test]
fn a_healthy_server_gets_every_event_once_in_order() {
    let collector = Collector::start(Vec::new(), Reply::ok());
    let sink = collector.sink();
    let args = [
        "--sink",
        &sink,
        "--batch-size",
        "100",
        "--http-header",
        "X-Team: core",
        "-v",
    ];
    let run = run_with_env(
        &args,
        &[("SHIPPER_HTTP_TOKEN", "s3cret-token")],
        numbered_lines(1000),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(messages(&collector.delivered()), expected(1000));
    let requests = collector.requests();
    assert_eq!(requests.len(), 10);
    for request in &requests {
        assert_eq!(request.path, "/ingest");
        assert_eq!(request.header("content-type"), Some("application/x-ndjson"));
        assert_eq!(request.header("x-team"), Some("core"));
        assert_eq!(request.header("authorization"), Some("Bearer s3cret-token"));
        assert!(
            request
                .header("user-agent")
                .unwrap()
                .starts_with("shipper/")
        );
    }
    assert!(
        !run.stderr.contains("s3cret-token"),
        "the token is never printed"
    );
    assert_eq!(run.summary["sinks"][0]["name"], collector.sink());
    assert_eq!(run.summary["retried"], 0);
}

#[test]
fn gzip_json_arrays_decode_to_the_same_events() {
    let collector = Collector::start(Vec::new(), Reply::ok());
    let sink = collector.sink();
    let args = [
        "--sink",
        &sink,
        "--batch-size",
        "64",
        "--http-format",
        "json",
        "--http-gzip",
    ];
    let run = run(&args, numbered_lines(300));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for request in collector.requests() {
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("content-encoding"), Some("gzip"));
        assert_eq!(&request.body[..2], &[0x1f, 0x8b], "a gzip stream");
    }
    assert_eq!(messages(&collector.delivered()), expected(300));
}

#[test]
fn a_server_that_recovers_gets_everything_and_the_retries_are_counted() {
    let collector = Collector::start(
        vec![Reply::status(503), Reply::status(502), Reply::status(429)],
        Reply::ok(),
    );
    let sink = collector.sink();
    let mut args = vec!["--sink", &sink, "--batch-size", "50"];
    args.extend(QUICK_RETRIES);
    let run = run(&args, numbered_lines(200));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(messages(&collector.delivered()), expected(200));
    assert_eq!(run.summary["retried"], 3);
    assert_eq!(run.summary["sinks"][0]["retried"], 3);
    assert_eq!(run.summary["dropped"], 0);
    assert_eq!(
        collector.requests().len(),
        4 + 3,
        "four batches, three of them retried once"
    );
}

#[test]
fn a_server_that_keeps_failing_costs_each_batch_after_the_retry_budget() {
    let collector = Collector::start(
        Vec::new(),
        Reply::Status(503, Vec::new(), "overloaded, go away"),
    );
    let sink = collector.sink();
    let mut args = vec![
        "--sink",
        &sink,
        "--batch-size",
        "10",
        "--retry-max",
        "3",
        "--shutdown-timeout",
        "5s",
    ];
    args.extend(QUICK_RETRIES);
    let started = Instant::now();
    let run = run(&args, numbered_lines(30));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 30);
    assert_eq!(
        run.summary["retried"],
        3 * 2,
        "three batches, two retries each"
    );
    assert_eq!(collector.requests().len(), 3 * 3);
    let failure = &sink_diagnostics(&run.stderr)[0];
    assert_eq!(failure["status"], 503);
    assert_eq!(failure["error_kind"], "HttpStatus");
    let message = failure["error"].as_str().unwrap();
    assert!(
        message.contains("gave up after 3 attempts") && message.contains("overloaded"),
        "{message}"
    );
}

#[test]
fn a_bad_request_is_not_retried() {
    let collector = Collector::start(
        Vec::new(),
        Reply::Status(400, Vec::new(), "field 'x' is required"),
    );
    let sink = collector.sink();
    let mut args = vec!["--sink", &sink, "--batch-size", "10"];
    args.extend(QUICK_RETRIES);
    let run = run(&args, numbered_lines(20));
    assert_eq!(run.code, Some(3));
    assert_eq!(
        collector.requests().len(),
        2,
        "one request per batch, none retried"
    );
    assert_eq!(run.summary["retried"], 0);
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 20);
    let failure = &sink_diagnostics(&run.stderr)[0];
    assert_eq!(failure["status"], 400);
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("field 'x' is required"),
        "{failure}"
    );
}

#[test]
fn retry_after_is_honoured() {
    let wait = vec![("Retry-After", "1".to_owned())];
    let collector = Collector::start(vec![Reply::Status(503, wait, "")], Reply::ok());
    let sink = collector.sink();
    let args = [
        "--sink",
        &sink,
        "--retry-initial",
        "1ms",
        "--retry-max-delay",
        "5s",
    ];
    let run = run(&args, numbered_lines(5));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let requests = collector.requests();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].at - requests[0].at;
    assert!(
        gap >= Duration::from_millis(900) && gap < Duration::from_secs(4),
        "{gap:?}"
    );
}

#[test]
fn a_server_that_never_answers_times_out_and_sigterm_still_ends_shipper() {
    let collector = Collector::start(Vec::new(), Reply::Silent);
    let sink = collector.sink();
    let mut args = vec![
        "--sink",
        &sink,
        "--http-timeout",
        "200ms",
        "--shutdown-timeout",
        "1s",
    ];
    args.extend(QUICK_RETRIES);
    let (running, mut stdin) = Running::start(&args);
    std::io::Write::write_all(&mut stdin, &numbered_lines(10)).unwrap();
    wait_until(Duration::from_secs(30), "a retry after a timeout", || {
        collector.requests().len() >= 2
    });
    let started = Instant::now();
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, _dir) = running.finish();
    assert!(started.elapsed() < Duration::from_secs(10), "{stderr}");
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(summary["dropped_by_reason"]["shutdown_timeout"], 10);
    assert!(
        stderr.contains("did not finish within --shutdown-timeout"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_collector_does_not_keep_events_from_the_other_sinks() {
    let sink = format!("http={}", closed_port_url());
    let mut args = vec![
        "--sink",
        &sink,
        "--sink",
        "file=out.log",
        "--batch-size",
        "20",
        "--retry-max",
        "2",
    ];
    args.extend(QUICK_RETRIES);
    let run = run(&args, numbered_lines(500));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(messages(&run.events("out.log")), expected(500));
    let sinks = run.summary["sinks"].as_array().unwrap();
    assert_eq!(
        (sinks[0]["written"].as_u64(), sinks[0]["failed"].as_u64()),
        (Some(0), Some(500))
    );
    assert_eq!(sinks[1]["written"], 500);
    let failure = &sink_diagnostics(&run.stderr)[0];
    assert_eq!(failure["error_kind"], "Connect");
}

#[test]
fn a_retrying_sink_fills_the_queue_and_drop_mode_applies() {
    let collector = Collector::start(Vec::new(), Reply::status(503));
    let sink = collector.sink();
    let args = [
        "--sink",
        &sink,
        "--drop-on-full",
        "--backpressure-wait",
        "0ms",
        "--queue-capacity",
        "50",
        "--batch-size",
        "10",
        "--retry-max",
        "1000",
        "--retry-initial",
        "50ms",
        "--retry-max-delay",
        "50ms",
        "--shutdown-timeout",
        "300ms",
    ];
    let run = run(&args, numbered_lines(20_000));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.summary["dropped_by_reason"]["queue_full"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(run.summary["queue_high_watermark"], 50);
    assert!(run.summary["retried"].as_u64().unwrap() > 0);
}

/// An HTTPS collector (Python's own server) with a certificate from a
/// private CA made for the test; killed when dropped.
struct TlsCollector {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl TlsCollector {
    fn start() -> TlsCollector {
        let dir = tempfile::tempdir().unwrap();
        crate::servers::make_certificates(dir.path());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/shipper/tls_server.py");
        let mut child = std::process::Command::new(crate::common::program("python3"))
            .arg(script)
            .args(["cert.pem", "key.pem", "received.ndjson"])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the HTTPS collector");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port = line.trim().parse().unwrap();
        TlsCollector { child, port, dir }
    }

    fn sink(&self) -> String {
        format!("http=https://localhost:{}/ingest", self.port)
    }
}

impl Drop for TlsCollector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn https_works_with_a_private_ca_and_refuses_without_it() {
    let collector = TlsCollector::start();
    let sink = collector.sink();
    let ca = collector.dir.path().join("ca.pem");
    let run = run(
        &["--sink", &sink, "--http-ca-file", ca.to_str().unwrap()],
        numbered_lines(50),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let received = crate::common::read_events(&collector.dir.path().join("received.ndjson"));
    assert_eq!(messages(&received), expected(50));

    let mut args = vec!["--sink", &sink, "--retry-max", "1"];
    args.extend(QUICK_RETRIES);
    let untrusted = crate::common::run(&args, numbered_lines(5));
    assert_eq!(untrusted.code, Some(3));
    let failure = &sink_diagnostics(&untrusted.stderr)[0];
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("certificate"),
        "{failure}"
    );
}

#[test]
fn a_redirect_is_reported_not_followed() {
    let moved = vec![("Location", "/elsewhere".to_owned())];
    let collector = Collector::start(Vec::new(), Reply::Status(302, moved, ""));
    let sink = collector.sink();
    let run = run(&["--sink", &sink], numbered_lines(10));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 10);
    assert!(
        collector
            .requests()
            .iter()
            .all(|request| request.path == "/ingest")
    );
    let failure = &sink_diagnostics(&run.stderr)[0];
    assert_eq!(failure["status"], 302);
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("redirected to /elsewhere"),
        "{failure}"
    );
}

/// The start of every endless answer: a terminal escape, to be shown
/// escaped.
const ANSWER_START: &str = "overloaded \u{1b}[2J try later ";

/// A server that answers every request with `status` and a body that
/// never ends: chunked, or under a Content-Length it never reaches. Each
/// connection is written to until shipper lets it go, a minute at most.
fn endless_server(status: u16, chunked: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || answer_endlessly(stream, status, chunked));
        }
    });
    addr
}

fn answer_endlessly(stream: TcpStream, status: u16, chunked: bool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    if read_request(&mut reader).is_none() {
        return;
    }
    let length = if chunked {
        "Transfer-Encoding: chunked"
    } else {
        "Content-Length: 1000000000000"
    };
    let filler = vec![b'x'; 64 << 10];
    let mut pieces = vec![ANSWER_START.as_bytes().to_vec()];
    pieces.push(filler);
    let head = format!("HTTP/1.1 {status} Endless\r\n{length}\r\n\r\n");
    if writer.write_all(head.as_bytes()).is_err() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut index = 0;
    while Instant::now() < deadline {
        let piece = &pieces[index.min(1)];
        index += 1;
        let written = if chunked {
            write!(writer, "{:x}\r\n", piece.len())
                .and_then(|()| writer.write_all(piece))
                .and_then(|()| writer.write_all(b"\r\n"))
        } else {
            writer.write_all(piece)
        };
        if written.is_err() {
            return;
        }
    }
}

/// One run of shipper to its end, with the most memory it ever held.
struct Measured {
    code: Option<i32>,
    stderr: String,
    summary: Value,
    /// Peak resident set size, in KiB (the kernel's own count).
    peak_rss_kib: i64,
}

/// Runs shipper on `input` and waits for it, reading its peak RSS
/// (VmHWM, a high-water mark, not a sample) as it runs.
#[allow(clippy::zombie_processes, reason = "wait4 reaps it")]
fn run_measured(args: &[&str], input: Vec<u8>) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let summary_path = dir.path().join("summary.json");
    let stderr_path = dir.path().join("stderr");
    let mut child = command_in(dir.path(), args)
        .stdin(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    feed(child.stdin.take().unwrap(), input);
    let (code, peak_rss_kib) = wait_with_usage(child.id(), Duration::from_secs(60));
    let summary = read_summary(&summary_path);
    assert_eq!(summary["exit_code"].as_i64().map(|c| c as i32), code);
    Measured {
        code,
        stderr: std::fs::read_to_string(&stderr_path).unwrap(),
        summary,
        peak_rss_kib,
    }
}

/// Reaps the child `pid` (killing it past `limit`): its exit code and its
/// peak RSS in KiB.
fn wait_with_usage(pid: u32, limit: Duration) -> (Option<i32>, i64) {
    use nix::libc;
    let pid = pid as libc::pid_t;
    let deadline = Instant::now() + limit;
    let mut status = 0;
    let mut peak = 0;
    loop {
        peak = peak.max(high_water_kib(pid));
        // SAFETY: the pointer points at a live local of the right type.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, std::ptr::null_mut()) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped == pid {
            break;
        }
        if Instant::now() > deadline {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            panic!("shipper did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, peak)
}

/// The process's peak resident memory so far (VmHWM), 0 once it is gone.
/// Read while it runs: the `ru_maxrss` that `wait4` hands back also counts
/// the memory of the test process it was forked from, before its exec.
fn high_water_kib(pid: i32) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The diagnostics of sinks that failed a batch.
pub fn sink_failures(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|d| d["component"] == "sink" && d["error_kind"].is_string())
        .collect()
}

#[test]
fn an_endless_answer_is_read_only_in_part() {
    let failing = format!("http=http://{}/in", endless_server(500, true));
    let mut args = vec![
        "--sink",
        &failing,
        "--retry-max",
        "2",
        "--http-timeout",
        "2s",
        "--batch-size",
        "20",
    ];
    args.extend(QUICK_RETRIES);
    let run = run_measured(&args, numbered_lines(20));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.summary["dropped_by_reason"]["sink_error"], 20);
    assert_eq!(run.summary["retried"], 1);
    assert!(
        run.peak_rss_kib < 200 << 10,
        "peak RSS {} KiB against an endless 500",
        run.peak_rss_kib
    );
    let failure = &sink_failures(&run.stderr)[0];
    let error = failure["error"].as_str().unwrap();
    assert!(error.contains("HTTP 500"), "{error}");
    assert!(error.contains(r"overloaded \x1b[2J try later"), "{error}");
    assert!(error.len() < 400, "only the start is quoted: {error}");
    assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);

    let accepting = format!("http=http://{}/in", endless_server(200, false));
    let args = ["--sink", &accepting, "--http-timeout", "2s"];
    let run = run_measured(&args, numbered_lines(20));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["processed"], 20);
    assert!(
        run.peak_rss_kib < 200 << 10,
        "peak RSS {} KiB against an endless 200",
        run.peak_rss_kib
    );
}

/// What the retry driver every network sink shares told on stderr:
/// warnings, `-v` notes and the note of a recovery, in order.
pub fn retry_diagnostics(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|d| d["component"] == "retry")
        .collect()
}

fn at_level<'a>(diagnostics: &'a [Value], level: &str) -> Vec<&'a Value> {
    diagnostics.iter().filter(|d| d["level"] == level).collect()
}

#[test]
fn an_unreachable_collector_is_told_at_once_while_the_retries_go_on() {
    let url = closed_port_url();
    let sink = format!("http={url}");
    let args = [
        "--sink",
        &sink,
        "--retry-max",
        "50",
        "--shutdown-timeout",
        "300ms",
    ];
    let started = Instant::now();
    let (running, mut stdin) = Running::start(&args);
    stdin.write_all(&numbered_lines(10)).unwrap();
    wait_until(Duration::from_secs(10), "a warning", || {
        !retry_diagnostics(&running.stderr_so_far()).is_empty()
    });
    let told_after = started.elapsed();
    // Input still open: the signal, not its end, stops the run.
    running.signal(Signal::SIGTERM);
    let (code, stderr, summary, _dir) = running.finish();
    drop(stdin);
    // The first attempt goes out after --batch-timeout (250ms) and is
    // refused at once: told within the first second on an idle machine,
    // minutes before 50 attempts are spent.
    assert!(
        told_after < Duration::from_secs(3),
        "{told_after:?}: {stderr}"
    );
    assert_eq!(code, Some(143), "{stderr}");
    crate::common::assert_invariant(&summary);
    assert_eq!(summary["dropped_by_reason"]["shutdown_timeout"], 10);
    let told = retry_diagnostics(&stderr);
    let warnings = at_level(&told, "WARN");
    assert_eq!(warnings.len(), 1, "the same error is told once: {stderr}");
    let warning = warnings[0];
    assert_eq!(warning["sink"], sink.as_str(), "{warning}");
    assert_eq!(warning["error_kind"], "Connect", "{warning}");
    assert_eq!(warning["attempt"], 1, "{warning}");
    assert_eq!(warning["max_attempts"], 50, "{warning}");
    let message = warning["message"].as_str().unwrap();
    assert!(
        message.contains(url.as_str()) && message.contains("Connection refused"),
        "{message}"
    );
    assert!(
        at_level(&told, "INFO").is_empty(),
        "retries are told with -v only: {stderr}"
    );
    assert!(!stderr.contains("gave up"), "{stderr}");
}

#[test]
fn verbose_tells_every_retry_with_its_number_wait_and_reason() {
    let sink = format!("http={}", closed_port_url());
    let mut args = vec!["--sink", &sink, "--retry-max", "4", "-v"];
    args.extend(QUICK_RETRIES);
    let run = run(&args, numbered_lines(5));
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    crate::common::assert_invariant(&run.summary);
    assert_eq!(run.summary["retried"], 3);
    let told = retry_diagnostics(&run.stderr);
    let levels: Vec<&str> = told.iter().map(|d| d["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["WARN", "INFO", "INFO"], "{}", run.stderr);
    for (number, retry) in told.iter().enumerate() {
        assert_eq!(retry["attempt"], number + 1, "{retry}");
        assert!(retry["wait_ms"].as_u64().unwrap() <= 20, "{retry}");
        let message = retry["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("attempt {} of 4", number + 1))
                && message.contains("Connection refused")
                && message.contains("next in"),
            "{message}"
        );
    }
    let failure = &sink_failures(&run.stderr)[0];
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("gave up after 4 attempts"),
        "{failure}"
    );
}

#[test]
fn each_change_of_error_is_a_warning_and_the_recovery_is_told() {
    let collector = Collector::start(
        vec![Reply::status(503), Reply::status(503), Reply::status(500)],
        Reply::ok(),
    );
    let sink = collector.sink();
    let mut args = vec!["--sink", &sink];
    args.extend(QUICK_RETRIES);
    let run = run(&args, numbered_lines(5));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    crate::common::assert_invariant(&run.summary);
    assert_eq!(run.summary["processed"], 5);
    assert_eq!(run.summary["retried"], 3);
    let told = retry_diagnostics(&run.stderr);
    let said: Vec<(&str, Value)> = told
        .iter()
        .map(|d| (d["level"].as_str().unwrap(), d["status"].clone()))
        .collect();
    assert_eq!(
        said,
        [
            ("WARN", Value::from(503)),
            ("WARN", Value::from(500)),
            ("INFO", Value::Null),
        ],
        "a warning for 503, none for 503 again, one for 500, then the recovery: {}",
        run.stderr
    );
    let recovered = told[2]["message"].as_str().unwrap();
    assert!(recovered.ends_with("is delivering again"), "{recovered}");
    assert_eq!(told[2]["sink"], told[0]["sink"]);
}

/// A comma in a collector URL's query belongs to the URL, whether the
/// sink comes from `--sink` or from a `SHIPPER_SINK` list: the collector is
/// asked for the whole query and gets every event.
#[test]
fn a_comma_in_the_query_reaches_the_collector_whole() {
    let collector = Collector::start(Vec::new(), Reply::ok());
    let sink = format!("{}?tags=a,b", collector.sink());
    let flag = run(&["--sink", &sink], numbered_lines(3));
    assert_eq!(flag.code, Some(0), "{}", flag.stderr);
    assert_eq!(flag.summary["sinks"].as_array().unwrap().len(), 1);
    let list = format!("{sink},file=copy.jsonl");
    let listed = run_with_env(&[], &[("SHIPPER_SINK", &list)], numbered_lines(3));
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert_eq!(listed.summary["sinks"].as_array().unwrap().len(), 2);
    assert_eq!(listed.events("copy.jsonl").len(), 3);

    let requests = collector.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.path, "/ingest?tags=a,b");
    }
    assert_eq!(
        messages(&collector.delivered()),
        [expected(3), expected(3)].concat()
    );
}
