//! The syslog sink against a real syslog-ng: RFC 5424 over TCP (octet
//! counting), TLS and UDP, severity, host, app name, message and structured
//! data as syslog-ng reads them; a server restarted in the middle of a TCP
//! run; a server that turns the sink away, told while it does and once it
//! no longer does; a server that is not there at the start.

use std::io::Write;
use std::time::Duration;

use crate::common::{Running, numbered_lines, run, wait_until};
use crate::servers::{Received, SyslogNg, free_port, free_udp_port, retried_so_far};
use crate::sinks_http::retry_diagnostics;

/// What syslog-ng should write for one event.
struct Expected {
    severity: u8,
    /// The event's own host, if it names one.
    host: Option<String>,
    message: String,
}

/// Events at every level, some naming their own host.
fn mixed_events(count: usize) -> (Vec<u8>, Vec<Expected>) {
    const LEVELS: [(&str, u8); 5] = [
        ("debug", 7),
        ("info", 6),
        ("warning", 4),
        ("error", 3),
        ("critical", 2),
    ];
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for i in 0..count {
        let (level, severity) = LEVELS[i % LEVELS.len()];
        let host = (i % 3 == 0).then(|| format!("web-{}", i % 7));
        let diagnostics = host
            .as_ref()
            .map(|host| format!(r#","diagnostics":{{"host":"{host}"}}"#))
            .unwrap_or_default();
        writeln!(
            input,
            r#"{{"level":"{level}","message":"event {i} é","data":{{"seq":{i},"user":"u{i}"}}{diagnostics}}}"#
        )
        .unwrap();
        expected.push(Expected {
            severity,
            host,
            message: format!("event {i} é"),
        });
    }
    (input, expected)
}

fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// The received messages match the events, in order.
fn assert_received(received: &[Received], expected: &[Expected]) {
    assert_eq!(received.len(), expected.len());
    for (i, (got, want)) in received.iter().zip(expected).enumerate() {
        assert_eq!(got.facility, 1, "user: {got:?}");
        assert_eq!(got.severity, want.severity, "{got:?}");
        let host = want.host.clone().unwrap_or_else(this_host);
        assert_eq!(got.host, host, "{got:?}");
        assert_eq!(got.program, "billing", "{got:?}");
        assert_eq!(got.message, want.message, "{got:?}");
        assert_eq!(
            got.sdata,
            format!(r#"[data@32473 seq="{i}" user="u{i}"]"#),
            "{got:?}"
        );
    }
}

#[test]
fn over_tcp_every_event_arrives_with_its_severity_host_and_message() {
    let server = SyslogNg::start();
    let sink = format!("syslog=tcp://127.0.0.1:{}", server.tcp_port);
    let (input, expected) = mixed_events(2000);
    let args = [
        "--sink",
        &sink,
        "--syslog-app-name",
        "billing",
        "--batch-size",
        "100",
    ];
    let run = run(&args, input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["sinks"][0]["name"], sink);
    assert_eq!(run.summary["sinks"][0]["written"], 2000);
    assert_received(&server.wait_for(2000), &expected);
}

/// An error event that was cut to fit, and says so in its structured data.
fn assert_cut_error(cut: &Received) {
    assert_eq!(cut.severity, 3);
    assert!(
        cut.sdata
            .starts_with(r#"[shipper@32473 truncated="true" original_length=""#),
        "{cut:?}"
    );
}

#[test]
fn the_facility_is_user_unless_named() {
    let server = SyslogNg::start();
    let sink = format!("syslog=udp://127.0.0.1:{}", server.udp_port);
    let input = "{\"level\":\"error\",\"message\":\"m\"}\n";
    let args = ["--sink", &sink, "--syslog-facility", "local3"];
    let run = run(&args, input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let received = server.wait_for(1);
    assert_eq!((received[0].facility, received[0].severity), (19, 3));

    crate::common::shipper()
        .args(["--sink", &sink, "--syslog-facility", "local9"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "'local9' is not a syslog facility",
        ));
}

#[test]
fn over_tls_every_event_arrives_and_an_untrusted_certificate_stops_the_run() {
    let server = SyslogNg::start_tls();
    let sink = format!("syslog=tls://localhost:{}", server.tcp_port);
    let ca = server.ca_path().display().to_string();
    let (input, expected) = mixed_events(2000);
    let args = [
        "--sink",
        &sink,
        "--syslog-ca-file",
        &ca,
        "--syslog-app-name",
        "billing",
        "--batch-size",
        "100",
    ];
    let trusted = run(&args, input.clone());
    assert_eq!(trusted.code, Some(0), "{}", trusted.stderr);
    assert_eq!(trusted.summary["sinks"][0]["written"], 2000);
    // The server's session tickets are TLS talk, not a close.
    assert_eq!(trusted.summary["retried"], 0, "{}", trusted.stderr);
    assert_received(&server.wait_for(2000), &expected);

    // Without the private CA, the server's certificate is not trusted.
    let untrusted = run(&args[..2], input);
    assert_eq!(untrusted.code, Some(1), "{}", untrusted.stderr);
    assert!(
        untrusted.stderr.contains("TLS handshake failed")
            && untrusted.stderr.contains("UnknownIssuer"),
        "{}",
        untrusted.stderr
    );
    assert_eq!(server.received().len(), 2000, "nothing more arrived");
}

#[test]
fn over_tcp_a_message_longer_than_the_servers_limit_is_cut_and_the_rest_of_its_batch_arrives() {
    // syslog-ng closes the connection on a frame longer than its
    // log_msg_size (64KiB by default), losing the rest of the batch.
    let server = SyslogNg::start();
    let sink = format!("syslog=tcp://127.0.0.1:{}", server.tcp_port);
    let (events, expected) = mixed_events(10);
    let mut lines: Vec<&[u8]> = events.split_inclusive(|&b| b == b'\n').collect();
    let long = "y".repeat(100_000);
    let big = format!("{{\"level\":\"error\",\"message\":\"{long}\"}}\n");
    lines.insert(5, big.as_bytes());
    let args = ["--sink", &sink, "--syslog-app-name", "billing"];
    let run = run(&args, lines.concat());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["sinks"][0]["written"], 11);
    let mut received = server.wait_for(11);
    let cut = received.remove(5);
    assert_received(&received, &expected);
    assert_cut_error(&cut);
    assert!(
        cut.message.len() > 65_000 && long.starts_with(&cut.message),
        "{}",
        cut.message.len()
    );
    assert!(run.stderr.contains("cut to 65536 bytes"), "{}", run.stderr);

    let small = ["--sink", &sink, "--syslog-max-message", "1KiB"];
    let smaller = crate::common::run(&small, big);
    assert_eq!(smaller.code, Some(0), "{}", smaller.stderr);
    let cut = &server.wait_for(12)[11];
    assert!(cut.message.len() < 1024, "{}", cut.message.len());
}

/// Takes the one connection a `max-connections(1)` server allows, once
/// the server has let go of the one that checked it was listening.
fn hold_the_only_slot(server: &SyslogNg) -> std::net::TcpStream {
    let message = b"48 <14>1 2025-03-03T08:00:00Z h held - - - holds it";
    for _ in 0..50 {
        let mut held = std::net::TcpStream::connect(("127.0.0.1", server.tcp_port)).unwrap();
        held.write_all(message).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_millis(500);
        while std::time::Instant::now() < deadline {
            if !server.received().is_empty() {
                return held;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    panic!("syslog-ng never accepted a connection");
}

#[test]
fn a_tcp_server_at_its_connection_limit_fails_the_batch_until_it_has_room() {
    // syslog-ng accepts a connection beyond max-connections and closes it
    // at once: what is written on it is lost.
    let server = SyslogNg::start_with("max-connections(1)");
    let sink = format!("syslog=tcp://127.0.0.1:{}", server.tcp_port);
    let held = hold_the_only_slot(&server);
    let retries = ["--retry-initial", "10ms", "--retry-max-delay", "20ms"];
    let mut args = vec!["--sink", &sink, "--retry-max", "3"];
    args.extend(retries);
    let refused = run(&args, "a\nb\nc\n");
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    assert_eq!(refused.summary["sinks"][0]["written"], 0);
    assert_eq!(refused.summary["dropped_by_reason"]["sink_error"], 3);
    assert_eq!(refused.summary["retried"], 2);
    assert!(
        refused
            .stderr
            .contains("closed the connection before anything was written"),
        "{}",
        refused.stderr
    );

    let mut args = vec![
        "--sink",
        &sink,
        "--retry-max",
        "1000",
        "--stats-interval",
        "20ms",
        "--shutdown-timeout",
        "60s",
    ];
    args.extend(retries);
    let (running, mut stdin) = Running::start(&args);
    stdin.write_all(b"d\ne\nf\n").unwrap();
    drop(stdin);
    wait_until(Duration::from_secs(30), "a retry", || {
        retried_so_far(&running) > 0
    });
    drop(held);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["sinks"][0]["written"], 3);
    let messages: Vec<String> = server.wait_for(4).into_iter().map(|r| r.message).collect();
    assert_eq!(messages, ["holds it", "d", "e", "f"]);
}

#[test]
fn a_server_that_turns_the_sink_away_is_warned_of_and_its_return_is_told() {
    let server = SyslogNg::start_with("max-connections(1)");
    let sink = format!("syslog=tcp://127.0.0.1:{}", server.tcp_port);
    let held = hold_the_only_slot(&server);
    let mut args = vec!["--sink", &sink, "--retry-max", "1000", "-v"];
    args.extend(["--retry-initial", "10ms", "--retry-max-delay", "20ms"]);
    let (running, mut stdin) = Running::start(&args);
    stdin.write_all(b"d\ne\n").unwrap();
    drop(stdin);
    wait_until(Duration::from_secs(30), "two retries told", || {
        retry_diagnostics(&running.stderr_so_far()).len() >= 2
    });
    drop(held);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    crate::common::assert_invariant(&summary);
    assert_eq!(summary["sinks"][0]["written"], 2);
    let told = retry_diagnostics(&stderr);
    let levels: Vec<&str> = told.iter().map(|d| d["level"].as_str().unwrap()).collect();
    assert_eq!(levels[0], "WARN", "{stderr}");
    assert!(
        levels[1..levels.len() - 1]
            .iter()
            .all(|level| *level == "INFO"),
        "the same error is told again only with -v: {stderr}"
    );
    assert!(
        told[0]["message"]
            .as_str()
            .unwrap()
            .contains("closed the connection before anything was written"),
        "{stderr}"
    );
    let last = told.last().unwrap()["message"].as_str().unwrap();
    assert!(last.ends_with("is delivering again"), "{stderr}");
}

#[test]
fn a_tcp_server_that_stops_taking_data_is_given_up_after_the_timeout() {
    let server = SyslogNg::start();
    let sink = format!("syslog=tcp://127.0.0.1:{}", server.tcp_port);
    let args = [
        "--sink",
        &sink,
        "--syslog-timeout",
        "300ms",
        "--retry-max",
        "2",
        "--retry-initial",
        "10ms",
        "--retry-max-delay",
        "20ms",
        "--batch-timeout",
        "10ms",
        // Batches of 8MiB: more than a new connection's buffers take
        // (about 3MB on loopback), so that every attempt stalls.
        "--batch-size",
        "1000",
        "--queue-max-bytes",
        "64MiB",
        "--shutdown-timeout",
        "30s",
    ];
    let (running, mut stdin) = Running::start(&args);
    stdin.write_all(b"before\n").unwrap();
    server.wait_for(1);
    server.pause();
    let line = format!("{{\"message\":\"{}\"}}\n", "x".repeat(10_000));
    let feeder = std::thread::spawn(move || {
        for _ in 0..1500 {
            stdin.write_all(line.as_bytes()).unwrap();
        }
    });
    let started = std::time::Instant::now();
    feeder.join().unwrap();
    let (code, stderr, summary, _dir) = running.finish();
    server.resume();
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        summary["dropped_by_reason"]["sink_error"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert_eq!(summary["dropped_by_reason"]["shutdown_timeout"], 0);
    assert!(summary["retried"].as_u64().unwrap() > 0, "{summary}");
    assert!(
        stderr.contains("the server took no data for 300ms (--syslog-timeout)"),
        "{stderr}"
    );
}

/// Every level word shipper knows, and the RFC 5424 severity it names.
const SEVERITIES: [(&str, u8); 15] = [
    ("emerg", 0),
    ("emergency", 0),
    ("alert", 1),
    ("critical", 2),
    ("crit", 2),
    ("fatal", 2),
    ("error", 3),
    ("err", 3),
    ("warning", 4),
    ("warn", 4),
    ("notice", 5),
    ("info", 6),
    ("informational", 6),
    ("debug", 7),
    ("trace", 7),
];

#[test]
fn each_level_word_becomes_its_syslog_severity() {
    let server = SyslogNg::start();
    let sink = format!("syslog=tcp://127.0.0.1:{}", server.tcp_port);
    let input: String = SEVERITIES
        .iter()
        .map(|(word, _)| format!("{{\"level\":\"{word}\",\"message\":\"{word}\"}}\n"))
        .collect();
    // Through the envelope, which keeps the finer word its five levels
    // merge, and without it.
    for (round, envelope) in [[].as_slice(), &["--raw"]].into_iter().enumerate() {
        let mut args = vec!["--sink", &sink];
        args.extend(envelope);
        let run = run(&args, input.clone());
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let received = server.wait_for(SEVERITIES.len() * (round + 1));
        let got: Vec<(&str, u8)> = received[SEVERITIES.len() * round..]
            .iter()
            .map(|r| (r.message.as_str(), r.severity))
            .collect();
        assert_eq!(got, SEVERITIES, "{envelope:?}");
    }
}

#[test]
fn over_udp_each_event_is_a_datagram_and_a_long_one_is_cut_and_flagged() {
    let server = SyslogNg::start();
    let sink = format!("syslog=udp://127.0.0.1:{}", server.udp_port);
    let (mut input, expected) = mixed_events(200);
    let long = "x".repeat(5000);
    writeln!(input, r#"{{"level":"error","message":"{long}"}}"#).unwrap();
    let args = ["--sink", &sink, "--syslog-app-name", "billing"];
    let run = run(&args, input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let received = server.wait_for(201);
    assert_received(&received[..200], &expected);
    let cut = &received[200];
    assert_cut_error(cut);
    assert!(
        cut.message.len() < 2048 && cut.message.len() > 1900,
        "{}",
        cut.message.len()
    );
    assert!(long.starts_with(&cut.message));
    assert!(run.stderr.contains("cut to 2048 bytes"), "{}", run.stderr);
}

#[test]
fn after_a_tcp_server_restarts_shipper_reconnects_and_the_events_arrive() {
    server_restarts(SyslogNg::start(), "tcp://127.0.0.1");
}

#[test]
fn after_a_tls_server_restarts_shipper_reconnects_and_the_events_arrive() {
    server_restarts(SyslogNg::start_tls(), "tls://localhost");
}

/// `server` (at `at`) stopped and started again in the middle of a run.
fn server_restarts(mut server: SyslogNg, at: &str) {
    let sink = format!("syslog={at}:{}", server.tcp_port);
    let ca = server.ca_path().display().to_string();
    let trust = match at.starts_with("tls") {
        true => ["--syslog-ca-file", &ca],
        false => ["--syslog-app-name", "shipper"],
    };
    let args = [
        "--sink",
        &sink,
        trust[0],
        trust[1],
        "--batch-timeout",
        "10ms",
        "--retry-initial",
        "20ms",
        "--retry-max-delay",
        "200ms",
        "--retry-max",
        "100",
        "--stats-interval",
        "20ms",
    ];
    let (running, mut stdin) = Running::start(&args);
    let line = |i: usize| format!("{{\"level\":\"info\",\"message\":\"event {i}\"}}\n");
    for i in 0..100 {
        stdin.write_all(line(i).as_bytes()).unwrap();
    }
    server.wait_for(100);
    server.stop();
    // Written while the server is down: shipper sees the connection closed
    // before it writes, and retries until the server is back.
    for i in 100..200 {
        stdin.write_all(line(i).as_bytes()).unwrap();
    }
    wait_until(Duration::from_secs(30), "a retry", || {
        retried_so_far(&running) > 0
    });
    server.start_again();
    for i in 200..300 {
        stdin.write_all(line(i).as_bytes()).unwrap();
    }
    drop(stdin);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(summary["retried"].as_u64().unwrap() > 0, "{summary}");
    // What was written just before the server stopped may not have been read.
    assert!(stderr.contains("may be lost"), "{stderr}");
    let received = server.wait_for(300);
    let messages: Vec<&str> = received.iter().map(|r| r.message.as_str()).collect();
    let expected: Vec<String> = (0..300).map(|i| format!("event {i}")).collect();
    assert_eq!(messages, expected);
}

#[test]
fn over_udp_nothing_tells_a_closed_port_from_a_listening_one() {
    let sink = format!("syslog=udp://127.0.0.1:{}", free_udp_port());
    let started = std::time::Instant::now();
    let run = run(&["--sink", &sink, "--batch-size", "5"], numbered_lines(100));
    // Every datagram counts as written. The kernel's report that an earlier
    // one found no listener says nothing of the next: it is never a failure,
    // and never waits for a retry.
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.summary["sinks"][0]["written"], 100);
    assert_eq!(run.summary["retried"], 0, "{}", run.summary);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_tcp_server_that_is_not_there_at_the_start_stops_the_run() {
    let sink = format!("syslog=tcp://127.0.0.1:{}", free_port());
    let run = run(&["--sink", &sink], "never read\n");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("could not connect"), "{}", run.stderr);
    assert_eq!(run.summary["submitted"], 0);
}

/// A syslog line relayed to a syslog server keeps its own header: its
/// facility, severity, time, host, app, pid, msgid and structured data
/// arrive where they stood, not wrapped under a second header.
#[test]
fn a_relayed_syslog_line_keeps_its_own_header() {
    let server = SyslogNg::start();
    let sink = format!("syslog=tcp://127.0.0.1:{}", server.tcp_port);
    let input = concat!(
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n",
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 811 ID47 ",
        "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] ",
        "An application event log entry\n",
        "Nov 30 13:21:00 web-1 sshd[811]: Accepted publickey for git\n",
        "{\"level\":\"error\",\"message\":\"from an app\",\"data\":{\"host\":7}}\n",
    );
    let args = ["--sink", &sink, "--syslog-facility", "local3"];
    let run = crate::common::run_with_env(&args, &[("TZ", "UTC")], input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let received = server.wait_for(4);

    let bsd = &received[0];
    assert_eq!((bsd.facility, bsd.severity), (4, 2), "auth.crit, as sent");
    assert_eq!(
        (bsd.host.as_str(), bsd.program.as_str()),
        ("mymachine", "su")
    );
    assert_eq!(bsd.message, "'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(bsd.sdata, "", "nothing left over to wrap");

    let rfc5424 = &received[1];
    assert_eq!((rfc5424.facility, rfc5424.severity), (20, 5));
    assert_eq!(rfc5424.host, "mymachine.example.com");
    assert_eq!(rfc5424.program, "evntslog");
    assert_eq!(
        (rfc5424.pid.as_str(), rfc5424.msgid.as_str()),
        ("811", "ID47")
    );
    assert_eq!(rfc5424.unix_time, 1_065_910_455, "2003-10-11T22:14:15Z");
    // The params, in the order of their names.
    assert_eq!(
        rfc5424.sdata,
        r#"[exampleSDID@32473 eventID="1011" eventSource="Application" iut="3"]"#
    );
    assert_eq!(rfc5424.message, "An application event log entry");

    let sshd = &received[2];
    assert_eq!(
        (sshd.host.as_str(), sshd.program.as_str()),
        ("web-1", "sshd")
    );
    assert_eq!(sshd.pid, "811");
    assert_eq!(
        sshd.facility, 19,
        "no facility of its own: --syslog-facility"
    );
    assert_eq!(sshd.message, "Accepted publickey for git");

    // An app's own event: this sink's app name and facility, and a `host`
    // member that names no host stays in the data.
    let app = &received[3];
    assert_eq!((app.facility, app.severity), (19, 3));
    assert_eq!(app.program, "shipper");
    assert_eq!(app.host, this_host());
    assert_eq!(app.sdata, r#"[data@32473 host="7"]"#);
}
