//! Real system logs, read with the default `--format auto`: every event
//! carries its line's own time of day and level, and where the format has
//! a defined header (syslog, Apache's error log) the message is exactly
//! the line without it. What each line should give is worked out here from
//! the line itself, apart from shipper's parsers.

use std::path::Path;

use serde_json::Value;

use crate::common::{parse_events, run_with_env};

/// How a dataset's lines state their level, and where their header ends.
#[derive(Clone, Copy)]
enum Layout {
    /// `Mmm dd hh:mm:ss host tag[pid]: message`: no level but a word
    /// opening the message (OpenSSH's `error:`).
    Syslog,
    /// `[Www Mmm dd hh:mm:ss yyyy] [level] [client addr] message`.
    ApacheError,
    /// A time, then the level as a word of its own.
    Log4j,
}

const DATASETS: &[(&str, Layout)] = &[
    ("linux.log", Layout::Syslog),
    ("mac.log", Layout::Syslog),
    ("openssh.log", Layout::Syslog),
    ("apache-error.log", Layout::ApacheError),
    ("zookeeper.log", Layout::Log4j),
    ("hadoop.log", Layout::Log4j),
    ("spark.log", Layout::Log4j),
];

/// The first `hh:mm:ss` in a line: the time of day it was written.
fn time_of_day(line: &str) -> &str {
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(7))
        .find(|&at| {
            let digits = |from: usize| bytes[from..from + 2].iter().all(u8::is_ascii_digit);
            digits(at)
                && bytes[at + 2] == b':'
                && digits(at + 3)
                && bytes[at + 5] == b':'
                && digits(at + 6)
        })
        .map(|at| &line[at..at + 8])
        .unwrap_or_else(|| panic!("no time of day in {line:?}"))
}

/// The event level a level word stands for.
fn level_of(word: &str) -> Option<&'static str> {
    Some(match word.to_ascii_lowercase().as_str() {
        "debug" | "trace" => "DEBUG",
        "info" | "notice" => "INFO",
        "warn" | "warning" => "WARNING",
        "error" => "ERROR",
        "fatal" | "alert" | "crit" | "emerg" => "CRITICAL",
        _ => return None,
    })
}

/// The level and, where the header is defined, the message a line gives.
fn expected(line: &str, layout: Layout) -> (&'static str, Option<&str>) {
    match layout {
        Layout::Syslog => {
            // After `Mmm dd hh:mm:ss ` (15 characters and a space), the
            // host, then the tag up to `:` or a space.
            let after_host = line[16..].split_once(' ').unwrap().1;
            let tag_end = after_host.find([':', ' ']).unwrap();
            let rest = &after_host[tag_end..];
            let message = rest
                .strip_prefix(':')
                .unwrap_or(rest)
                .strip_prefix(' ')
                .unwrap();
            let opening = message.split([' ', ':']).next().unwrap();
            (level_of(opening).unwrap_or("INFO"), Some(message))
        }
        Layout::ApacheError => {
            let (_, rest) = line.split_once("] [").unwrap();
            let (word, rest) = rest.split_once("] ").unwrap();
            let message = match rest.strip_prefix("[client ") {
                Some(client) => client.split_once("] ").unwrap().1,
                None => rest,
            };
            (level_of(word).unwrap(), Some(message))
        }
        Layout::Log4j => {
            let word = line
                .split([' ', '-'])
                .find_map(level_of)
                .unwrap_or_else(|| panic!("no level word in {line:?}"));
            (word, None)
        }
    }
}

#[test]
fn real_logs_keep_their_own_time_level_and_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real-logs");
    let (mut lines_seen, mut misses) = (0, Vec::new());
    for &(name, layout) in DATASETS {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let run = run_with_env(&["--sink", "stdout"], &[("TZ", "UTC")], text.clone());
        assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(run.summary["processed"], lines.len() as u64, "{name}");
        let events = parse_events(&run.stdout);
        assert_eq!(events.len(), lines.len(), "{name}");
        for (line, event) in lines.iter().zip(&events) {
            lines_seen += 1;
            let (level, message) = expected(line, layout);
            let timestamp = event["timestamp"].as_str().unwrap();
            let mut faults = Vec::new();
            if &timestamp[11..19] != time_of_day(line) {
                faults.push(format!("time {timestamp}"));
            }
            if event["level"] != level {
                faults.push(format!("level {} (not {level})", event["level"]));
            }
            if message.is_some_and(|message| event["message"] != message) {
                faults.push(format!("message {}", event["message"]));
            }
            if !faults.is_empty() {
                misses.push(format!("{name}: {line}\n    {}", faults.join("; ")));
            }
        }
    }
    // At least 99% of events, and here every one: a miss is listed whole.
    assert!(lines_seen >= 80, "only {lines_seen} lines");
    assert!(
        misses.is_empty(),
        "{} of {lines_seen} lines:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

#[test]
fn a_year_is_kept_where_the_line_writes_one() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real-logs");
    for (name, date) in [
        ("apache-error.log", "2005-12-04"),
        ("zookeeper.log", "2015-07-29"),
        ("hadoop.log", "2015-10-18"),
        ("spark.log", "2017-06-09"),
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let run = run_with_env(&["--sink", "stdout"], &[("TZ", "UTC")], text);
        let first = &parse_events(&run.stdout)[0];
        assert!(
            first["timestamp"].as_str().unwrap().starts_with(date),
            "{name}: {}",
            first["timestamp"]
        );
    }
}

/// Loggers of the log4j family name their class: the event's logger.
#[test]
fn java_services_name_their_logger_and_thread() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real-logs");
    let events = |name: &str| -> Vec<Value> {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        parse_events(&run_with_env(&["--sink", "stdout"], &[("TZ", "UTC")], text).stdout)
    };
    let hadoop = &events("hadoop.log")[0];
    assert_eq!(
        hadoop["logger"],
        "org.apache.hadoop.mapred.TaskAttemptListenerImpl"
    );
    assert_eq!(hadoop["data"]["thread"], "IPC Server handler 4 on 62270");
    let spark = &events("spark.log")[0];
    assert_eq!(spark["logger"], "executor.CoarseGrainedExecutorBackend");
    assert_eq!(
        spark["message"],
        "Registered signal handlers for [TERM, HUP, INT]"
    );
    let zookeeper = &events("zookeeper.log")[0];
    assert_eq!(zookeeper["message"], "Interrupting SendWorker");
    let apache = &events("apache-error.log")[5];
    assert_eq!(apache["data"]["client"], "222.166.160.184");
}
