//! Filters: events the user's own rules set aside are counted `filtered`
//! by reason, apart from `dropped`, and never make the exit status 3.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Running, parse_events, run, wait_until};
use crate::live::{sample, scrape};

fn messages(stdout: &[u8]) -> Vec<String> {
    parse_events(stdout)
        .iter()
        .map(|event| event["message"].as_str().unwrap().to_owned())
        .collect()
}

fn filtered(summary: &Value, reason: &str) -> u64 {
    summary["filtered_by_reason"][reason].as_u64().unwrap()
}

#[test]
fn min_level_sets_lower_levels_aside_and_exits_zero() {
    let input = "DEBUG a\nINFO b\nWARN c\nERROR d\n{\"level\":\"debug\",\"message\":\"e\"}\n";
    let run = run(&["--sink", "stdout", "--min-level", "warning"], input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(messages(&run.stdout), ["WARN c", "ERROR d"]);
    assert_eq!(run.summary["filtered"], 3);
    assert_eq!(filtered(&run.summary, "level"), 3);
    assert_eq!(run.summary["dropped"], 0);
    assert!(
        run.stderr.contains("3 filtered (level 3)"),
        "the text summary tells: {}",
        run.stderr
    );
}

#[test]
fn include_and_exclude_read_the_message_each_counted_apart() {
    let input = concat!(
        "{\"message\":\"user login ok\",\"path\":\"/x\"}\n",
        "{\"message\":\"GET /healthz\"}\n",
        "{\"message\":\"user login from healthcheck\"}\n",
        "user logout\n",
        "cache warm\n",
    );
    let run = run(
        &[
            "--sink",
            "stdout",
            "--include",
            "login",
            "--include",
            "^user logout$",
            "--exclude",
            "health",
        ],
        input,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(messages(&run.stdout), ["user login ok", "user logout"]);
    assert_eq!(filtered(&run.summary, "include"), 2);
    assert_eq!(filtered(&run.summary, "exclude"), 1);
}

#[test]
fn sample_keeps_one_in_n_of_each_source_deterministically() {
    let input: String = (0..10).map(|i| format!("line {i}\n")).collect();
    let run = run(&["--sink", "stdout", "--sample", "3"], input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        messages(&run.stdout),
        ["line 0", "line 3", "line 6", "line 9"]
    );
    assert_eq!(filtered(&run.summary, "sample"), 6);
}

#[test]
fn rate_limit_lets_a_burst_through_and_sets_the_rest_aside() {
    let input: String = (0..200).map(|i| format!("line {i}\n")).collect();
    let run = run(&["--sink", "stdout", "--rate-limit", "5/s"], input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let shipped = messages(&run.stdout);
    assert!(shipped.len() >= 5, "the burst ships: {shipped:?}");
    assert_eq!(
        &shipped[..5],
        ["line 0", "line 1", "line 2", "line 3", "line 4"]
    );
    assert_eq!(
        filtered(&run.summary, "rate_limit"),
        200 - shipped.len() as u64
    );
    assert!(filtered(&run.summary, "rate_limit") > 0);
}

#[test]
fn only_filtered_events_still_exit_zero_and_strict_drops_stay_drops() {
    let run = run(
        &["--sink", "stdout", "--min-level", "error"],
        "INFO a\nINFO b\n",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert_eq!(run.summary["filtered"], 2);
    let strict = crate::common::run(
        &[
            "--sink",
            "stdout",
            "--strict-envelope",
            "--min-level",
            "error",
        ],
        "not json\n{\"level\":\"info\",\"message\":\"a\"}\n",
    );
    assert_eq!(strict.code, Some(3), "{}", strict.stderr);
    assert_eq!(strict.summary["dropped_by_reason"]["invalid"], 1);
    assert_eq!(filtered(&strict.summary, "level"), 1);
}

#[test]
fn raw_lines_are_filtered_by_their_text_and_level() {
    let run = run(
        &[
            "--sink",
            "stdout",
            "--raw",
            "--min-level",
            "warn",
            "--exclude",
            "skip",
        ],
        "ERROR keep\nINFO low\nERROR skip me\n",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, b"ERROR keep\n");
    assert_eq!(filtered(&run.summary, "level"), 1);
    assert_eq!(filtered(&run.summary, "exclude"), 1);
}

#[test]
fn bad_filter_flags_are_usage_errors() {
    for args in [
        &["--include", "(unclosed"][..],
        &["--exclude", "["],
        &["--sample", "0"],
        &["--rate-limit", "0/s"],
        &["--rate-limit", "fast"],
        &["--min-level", "loud"],
    ] {
        let output = crate::common::shipper()
            .args(args)
            .write_stdin("")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}

/// A follower saves where everything before is settled: filtered lines
/// are, though no batch carries them.
#[test]
fn the_checkpoint_moves_past_filtered_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "ERROR one\n").unwrap();
    let (running, stdin) = Running::start_in(
        dir,
        &[
            "--sink",
            "file=out.jsonl",
            "--follow",
            "app.log",
            "--checkpoint",
            "state.json",
            "--min-level",
            "info",
            "--batch-timeout",
            "10ms",
        ],
    );
    drop(stdin);
    wait_until(Duration::from_secs(60), "the first line delivered", || {
        std::fs::read(running.path("out.jsonl")).is_ok_and(|out| out.ends_with(b"\n"))
    });
    // Lines no batch will carry: every one is filtered.
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    file.write_all(b"DEBUG two\nDEBUG three\n").unwrap();
    let saved = || {
        std::fs::read(running.path("state.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|state| state["files"][0]["offset"].as_u64())
    };
    wait_until(
        Duration::from_secs(60),
        "the checkpoint past the filtered lines",
        || saved() == Some(32),
    );
    running.kill();
}

#[test]
fn filtered_counts_are_on_metrics_and_the_stats_lines() {
    let port = crate::servers::free_port();
    let addr = format!("127.0.0.1:{port}");
    let (running, mut stdin) = Running::start(&[
        "--sink",
        "file=out.log",
        "--metrics-addr",
        &addr,
        "--stats-interval",
        "50ms",
        "--min-level",
        "error",
        "--batch-timeout",
        "10ms",
    ]);
    stdin.write_all(b"INFO a\nINFO b\nERROR c\n").unwrap();
    let level = r#"shipper_filtered_total{reason="level"}"#;
    wait_until(Duration::from_secs(30), "2 filtered on /metrics", || {
        scrape(port).and_then(|body| sample(&body, level)) == Some(2)
    });
    wait_until(Duration::from_secs(30), "a stats line with them", || {
        running
            .stderr_so_far()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .any(|line| line["type"] == "stats" && line["filtered_by_reason"]["level"] == 2)
    });
    drop(stdin);
    let (code, _, summary, _) = running.finish();
    assert_eq!(code, Some(0));
    assert_eq!(summary["filtered"], 2);
    assert_eq!(summary["processed"], 1);
}
