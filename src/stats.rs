//! Live figures for long runs: the summary's counts so far as a JSON line
//! on stderr at an interval, and the same counters in the Prometheus text
//! format on `/metrics`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::diagnostics::terminal_json;
use crate::pipeline::{Counts, CountsView};
use crate::summary::{Inputs, SinkSummary, Started, Summary};

/// Writes a stats line every `interval` until the run ends (the task is
/// dropped with the runtime): the summary so far, in the summary's field
/// order, without what only the end can tell.
pub(crate) fn report_every(
    interval: Duration,
    counts: CountsView,
    names: Vec<String>,
    inputs: Inputs,
    started: Started,
) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            ticks.tick().await;
            let mut summary = Summary::new(&counts.read(), &names, &[]);
            summary.started_at = started.wall;
            summary.inputs = inputs.clone();
            summary.elapsed_seconds = started.elapsed().as_secs_f64();
            crate::diagnostics::say!("{}", terminal_json(summary.to_stats_json()));
        }
    });
}

/// Listens on `addr`; called before anything is opened or read, so that a
/// taken port stops the run at once.
pub(crate) async fn listen(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("could not listen on --metrics-addr {addr}"))
}

/// Serves `/metrics` for as long as the run lasts.
pub(crate) fn serve_metrics(listener: TcpListener, counts: CountsView, names: Vec<String>) {
    let names = Arc::new(names);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (counts, names) = (counts.clone(), Arc::clone(&names));
            tokio::spawn(async move { answer(stream, &counts, &names).await });
        }
    });
}

/// Answers one request: the metrics for `GET /metrics`, 404 otherwise.
async fn answer(mut stream: TcpStream, counts: &CountsView, names: &[String]) {
    let mut request = [0u8; 1024];
    let Ok(read) = stream.read(&mut request).await else {
        return;
    };
    let wanted = request[..read].starts_with(b"GET /metrics ");
    let (status, body) = if wanted {
        ("200 OK", prometheus_text(&counts.read(), names))
    } else {
        ("404 Not Found", "try /metrics\n".to_owned())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
}

/// The counters in the Prometheus text exposition format.
fn prometheus_text(counts: &Counts, names: &[String]) -> String {
    let summary = Summary::new(counts, names, &[]);
    let mut text = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
        let _ = writeln!(
            text,
            "# HELP shipper_{name} {help}\n# TYPE shipper_{name} {kind}"
        );
        for (labels, value) in samples {
            let _ = writeln!(text, "shipper_{name}{labels} {value}");
        }
    };
    let plain = |value: u64| vec![(String::new(), value)];
    metric(
        "lines_read_total",
        "counter",
        "Lines read, blank ones included.",
        &plain(summary.lines_read),
    );
    metric(
        "blank_total",
        "counter",
        "Blank lines, never events.",
        &plain(summary.blank),
    );
    metric(
        "joined_total",
        "counter",
        "Lines joined into the event of a line before them.",
        &plain(summary.joined),
    );
    metric(
        "submitted_total",
        "counter",
        "Events that entered the pipeline.",
        &plain(summary.submitted),
    );
    metric(
        "processed_total",
        "counter",
        "Events every sink accepted.",
        &plain(summary.processed),
    );
    let dropped: Vec<(String, u64)> = summary
        .dropped_by_reason
        .by_reason()
        .map(|(reason, count)| (format!("{{reason=\"{}\"}}", reason.name()), count))
        .collect();
    metric(
        "dropped_total",
        "counter",
        "Events dropped, by reason.",
        &dropped,
    );
    let filtered: Vec<(String, u64)> = summary
        .filtered_by_reason
        .by_reason()
        .map(|(reason, count)| (format!("{{reason=\"{}\"}}", reason.name()), count))
        .collect();
    metric(
        "filtered_total",
        "counter",
        "Events the filters set aside, by reason.",
        &filtered,
    );
    metric(
        "dead_lettered_total",
        "counter",
        "Events kept in the dead-letter file, one for each sink that gave up on it.",
        &plain(summary.dead_lettered),
    );
    let redacted: Vec<(String, u64)> = summary
        .redacted_by_rule
        .by_rule()
        .map(|(rule, count)| (format!("{{rule=\"{rule}\"}}"), count))
        .collect();
    metric(
        "redacted_total",
        "counter",
        "Values redacted, by rule.",
        &redacted,
    );
    let fallbacks = summary.parse_fallbacks;
    let fallbacks: Vec<(String, u64)> = [
        ("json", fallbacks.json),
        ("logfmt", fallbacks.logfmt),
        ("syslog", fallbacks.syslog),
        ("clf", fallbacks.clf),
    ]
    .into_iter()
    .map(|(format, count)| (format!("{{format=\"{format}\"}}"), count))
    .collect();
    metric(
        "parse_fallbacks_total",
        "counter",
        "Lines read as plain text, by the format they were not in.",
        &fallbacks,
    );
    metric(
        "retried_total",
        "counter",
        "Writes repeated after a failure.",
        &plain(summary.retried),
    );
    metric(
        "batches_total",
        "counter",
        "Batches formed.",
        &plain(summary.batches),
    );
    metric(
        "queue_capacity",
        "gauge",
        "Events the queue holds.",
        &plain(summary.queue_capacity as u64),
    );
    metric(
        "queue_high_watermark",
        "gauge",
        "Most events the queue held at once.",
        &plain(summary.queue_high_watermark as u64),
    );
    let per_sink = |value: fn(&SinkSummary) -> u64| -> Vec<(String, u64)> {
        summary
            .sinks
            .iter()
            .map(|sink| {
                (
                    format!("{{sink=\"{}\"}}", label_value(&sink.name)),
                    value(sink),
                )
            })
            .collect()
    };
    metric(
        "sink_written_total",
        "counter",
        "Events a sink wrote.",
        &per_sink(|sink| sink.counts.written),
    );
    metric(
        "sink_failed_total",
        "counter",
        "Events a sink failed to write.",
        &per_sink(|sink| sink.counts.failed),
    );
    text
}

/// A label value with `\`, `"` and newlines escaped.
fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::FilterReason;
    use crate::pipeline::{DropReason, IntakeCounts, Settled, SinkCounts};

    #[test]
    fn stats_lines_and_metrics_keep_their_form_byte_for_byte() {
        let mut settled = Settled::new(2);
        for (index, reason) in DropReason::ALL.into_iter().enumerate() {
            settled.dropped.add(reason, index as u64 + 1);
        }
        settled.processed = 4;
        settled.batches = 2;
        settled.markers = 3;
        settled.filtered.add(FilterReason::RateLimit, 2);
        settled.redactions.add("secret_key", 1);
        settled.sinks[0] = SinkCounts {
            written: 19,
            failed: 0,
            retried: 1,
        };
        settled.sinks[1] = SinkCounts {
            written: 5,
            failed: 14,
            retried: 6,
        };
        let counts = Counts {
            intake: IntakeCounts {
                blank: 1,
                joined: 0,
                submitted: 21,
                high_watermark: 3,
                bytes: 100,
                queued: 2,
            },
            settled,
            queue_capacity: 10,
        };
        let names = ["file=a".to_owned(), "http=b".to_owned()];
        let mut summary = Summary::new(&counts, &names, &[]);
        summary.elapsed_seconds = 1.5;
        summary.started_at = std::time::UNIX_EPOCH + Duration::from_millis(1_764_550_923_456);
        summary.inputs.stdin = true;
        assert_eq!(
            summary.to_stats_json(),
            r#"{"type":"stats","schema_version":1,"started_at":"2025-12-01T01:02:03.456Z","inputs":{"stdin":true,"files":[],"patterns":[]},"lines_read":22,"blank":1,"joined":0,"submitted":21,"processed":4,"dropped":15,"dropped_by_reason":{"queue_full":1,"invalid":2,"sink_error":3,"shutdown_timeout":4,"shutdown":5},"filtered":2,"filtered_by_reason":{"level":0,"include":0,"exclude":0,"sample":0,"rate_limit":2},"dead_lettered":0,"redacted":1,"redacted_by_rule":{"secret_key":1},"retried":7,"queue_capacity":10,"queue_high_watermark":3,"batches":2,"gap_markers":3,"parse_fallbacks":{"json":0,"logfmt":0,"syslog":0,"clf":0},"elapsed_seconds":1.5,"sinks":[{"name":"file=a","written":19,"failed":0,"retried":1,"close_error":null},{"name":"http=b","written":5,"failed":14,"retried":6,"close_error":null}],"checkpoint":null}"#
        );
        assert_eq!(
            prometheus_text(&counts, &names),
            r#"# HELP shipper_lines_read_total Lines read, blank ones included.
# TYPE shipper_lines_read_total counter
shipper_lines_read_total 22
# HELP shipper_blank_total Blank lines, never events.
# TYPE shipper_blank_total counter
shipper_blank_total 1
# HELP shipper_joined_total Lines joined into the event of a line before them.
# TYPE shipper_joined_total counter
shipper_joined_total 0
# HELP shipper_submitted_total Events that entered the pipeline.
# TYPE shipper_submitted_total counter
shipper_submitted_total 21
# HELP shipper_processed_total Events every sink accepted.
# TYPE shipper_processed_total counter
shipper_processed_total 4
# HELP shipper_dropped_total Events dropped, by reason.
# TYPE shipper_dropped_total counter
shipper_dropped_total{reason="queue_full"} 1
shipper_dropped_total{reason="invalid"} 2
shipper_dropped_total{reason="sink_error"} 3
shipper_dropped_total{reason="shutdown_timeout"} 4
shipper_dropped_total{reason="shutdown"} 5
# HELP shipper_filtered_total Events the filters set aside, by reason.
# TYPE shipper_filtered_total counter
shipper_filtered_total{reason="level"} 0
shipper_filtered_total{reason="include"} 0
shipper_filtered_total{reason="exclude"} 0
shipper_filtered_total{reason="sample"} 0
shipper_filtered_total{reason="rate_limit"} 2
# HELP shipper_dead_lettered_total Events kept in the dead-letter file, one for each sink that gave up on it.
# TYPE shipper_dead_lettered_total counter
shipper_dead_lettered_total 0
# HELP shipper_redacted_total Values redacted, by rule.
# TYPE shipper_redacted_total counter
shipper_redacted_total{rule="secret_key"} 1
# HELP shipper_parse_fallbacks_total Lines read as plain text, by the format they were not in.
# TYPE shipper_parse_fallbacks_total counter
shipper_parse_fallbacks_total{format="json"} 0
shipper_parse_fallbacks_total{format="logfmt"} 0
shipper_parse_fallbacks_total{format="syslog"} 0
shipper_parse_fallbacks_total{format="clf"} 0
# HELP shipper_retried_total Writes repeated after a failure.
# TYPE shipper_retried_total counter
shipper_retried_total 7
# HELP shipper_batches_total Batches formed.
# TYPE shipper_batches_total counter
shipper_batches_total 2
# HELP shipper_queue_capacity Events the queue holds.
# TYPE shipper_queue_capacity gauge
shipper_queue_capacity 10
# HELP shipper_queue_high_watermark Most events the queue held at once.
# TYPE shipper_queue_high_watermark gauge
shipper_queue_high_watermark 3
# HELP shipper_sink_written_total Events a sink wrote.
# TYPE shipper_sink_written_total counter
shipper_sink_written_total{sink="file=a"} 19
shipper_sink_written_total{sink="http=b"} 5
# HELP shipper_sink_failed_total Events a sink failed to write.
# TYPE shipper_sink_failed_total counter
shipper_sink_failed_total{sink="file=a"} 0
shipper_sink_failed_total{sink="http=b"} 14
"#
        );
    }

    #[test]
    fn the_text_format_has_help_type_and_labelled_samples() {
        let counts = Counts {
            intake: IntakeCounts {
                blank: 1,
                joined: 0,
                submitted: 5,
                high_watermark: 3,
                ..IntakeCounts::default()
            },
            settled: Settled::new(1),
            queue_capacity: 10,
        };
        let text = prometheus_text(&counts, &["file=a\"b".to_owned()]);
        assert!(
            text.contains("# TYPE shipper_submitted_total counter\nshipper_submitted_total 5\n"),
            "{text}"
        );
        assert!(
            text.contains("shipper_dropped_total{reason=\"queue_full\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("shipper_sink_written_total{sink=\"file=a\\\"b\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("shipper_queue_high_watermark 3\n"), "{text}");
    }
}
