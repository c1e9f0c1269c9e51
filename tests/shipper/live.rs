//! Figures while shipper runs: stats lines on stderr, and /metrics.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;

use crate::common::{Running, numbered_lines, wait_until};

fn stats_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["type"] == "stats")
        .collect()
}

#[test]
fn stats_lines_come_at_the_interval_and_parse_as_json() {
    let args = [
        "--sink",
        "file=out.log",
        "--stats-interval",
        "50ms",
        "--batch-timeout",
        "10ms",
    ];
    let (running, mut stdin) = Running::start(&args);
    stdin.write_all(&numbered_lines(100)).unwrap();
    wait_until(
        Duration::from_secs(30),
        "a stats line after the batch went out",
        || {
            let lines = stats_lines(&running.stderr_so_far());
            lines.len() >= 2 && lines.last().unwrap()["processed"] == 100
        },
    );
    drop(stdin);
    let (code, stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(0));
    let lines = stats_lines(&stderr);
    for line in &lines {
        let n = |key: &str| line[key].as_u64().unwrap();
        assert!(n("submitted") >= n("processed") + n("dropped"), "{line}");
        assert!(line.get("elapsed_seconds").is_some() && line.get("exit_code").is_none());
    }
    assert_eq!(summary["processed"], 100);
}

/// The body of `GET /metrics` at `port`.
pub fn scrape(port: u16) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

pub fn sample(body: &str, name: &str) -> Option<u64> {
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_are_served_while_shipper_runs_and_move() {
    let port = crate::servers::free_port();
    let addr = format!("127.0.0.1:{port}");
    let (running, mut stdin) = Running::start(&[
        "--sink",
        "file=out.log",
        "--metrics-addr",
        &addr,
        "--batch-timeout",
        "10ms",
    ]);
    stdin.write_all(&numbered_lines(100)).unwrap();
    let processed = || scrape(port).and_then(|body| sample(&body, "shipper_processed_total"));
    wait_until(Duration::from_secs(30), "100 processed", || {
        processed() == Some(100)
    });
    stdin.write_all(&numbered_lines(50)).unwrap();
    wait_until(Duration::from_secs(30), "the counter to move", || {
        processed() == Some(150)
    });
    let body = scrape(port).unwrap();
    assert!(
        body.contains("# TYPE shipper_processed_total counter"),
        "{body}"
    );
    assert!(
        body.contains("shipper_dropped_total{reason=\"queue_full\"} 0"),
        "{body}"
    );
    assert!(
        body.contains("shipper_sink_written_total{sink=\"file=out.log\"} 150"),
        "{body}"
    );
    drop(stdin);
    let (code, _stderr, summary, _dir) = running.finish();
    assert_eq!(code, Some(0));
    assert_eq!(summary["processed"], 150);
}

#[test]
fn a_taken_metrics_port_stops_the_run_at_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    crate::common::shipper()
        .args(["--metrics-addr", &addr])
        .write_stdin("x\n")
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "could not listen on --metrics-addr",
        ));
}

/// Runs `command` (which writes `--summary-file summary.json`) in a shell,
/// under a pseudo-terminal when `terminal` (util-linux's `script`), checks
/// the summary, and returns what reached the terminal or stderr.
fn run_shell(command: &str, terminal: bool, dir: &std::path::Path) -> String {
    let output = if terminal {
        std::process::Command::new(crate::common::program("script"))
            .args(["-qec", command, "/dev/null"])
            .current_dir(dir)
            .output()
            .unwrap()
    } else {
        std::process::Command::new("sh")
            .args(["-c", command])
            .current_dir(dir)
            .output()
            .unwrap()
    };
    assert!(output.status.success(), "{output:?}");
    crate::common::read_summary(&dir.join("summary.json"));
    let mut seen = String::from_utf8_lossy(&output.stdout).into_owned();
    seen.push_str(&String::from_utf8_lossy(&output.stderr));
    seen
}

#[test]
fn a_terminal_sees_the_status_line_and_a_pipe_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let shipper = crate::common::bin();
    // Long enough for the line to be drawn a few times.
    let command = |flags: &str| {
        format!(
            "(seq 1 50; sleep 1; seq 1 50) | '{}' --sink file=out.log --summary-file summary.json {flags}",
            shipper.display()
        )
    };
    let screen = run_shell(&command(""), true, dir.path());
    // The status line's own marks: MB/s and the queue's depth.
    assert!(screen.contains("MB/s | queue 0/10000"), "{screen}");
    assert!(
        screen.contains("file=out.log"),
        "each sink's figures: {screen}"
    );
    assert!(
        screen.contains("100 processed"),
        "the summary follows: {screen}"
    );

    let piped = run_shell(&command(""), false, dir.path());
    assert!(!piped.contains("MB/s"), "no status line in a pipe: {piped}");
    let quiet = run_shell(&command("--quiet"), true, dir.path());
    assert!(!quiet.contains("MB/s"), "{quiet}");
    let forced = run_shell(&command("--progress always"), false, dir.path());
    assert!(forced.contains("MB/s"), "{forced}");
}

#[test]
fn the_summary_is_coloured_on_a_terminal_only_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let command = |prefix: &str| {
        format!(
            "printf 'not json\\n' | {prefix} '{}' --strict-envelope --sink file=out.log --summary-file summary.json --progress never; true",
            crate::common::bin().display()
        )
    };
    let terminal = run_shell(&command(""), true, dir.path());
    assert!(terminal.contains("\x1b[31m1 dropped"), "{terminal}");
    let no_color = run_shell(&command("NO_COLOR=1"), true, dir.path());
    assert!(
        no_color.contains("1 dropped") && !no_color.contains("\x1b[31m"),
        "{no_color}"
    );
    let piped = run_shell(&command(""), false, dir.path());
    assert!(
        piped.contains("1 dropped") && !piped.contains('\x1b'),
        "{piped}"
    );
}
