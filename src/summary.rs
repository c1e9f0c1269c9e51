//! The drain summary: what happened to every line, for a person (text) or a
//! script (JSON).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::diagnostics::{escape, shown};
use crate::pipeline::Counts;
use crate::pipeline::ledger::DropReason;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Summary {
    /// Lines read, blank ones included.
    pub lines_read: u64,
    /// Blank lines: read and counted, never events.
    pub blank: u64,
    /// Events that entered the pipeline (non-blank lines read).
    pub submitted: u64,
    /// Events every sink accepted.
    pub processed: u64,
    /// Events dropped, each for one reason.
    pub dropped: u64,
    pub dropped_by_reason: DroppedByReason,
    /// Writes repeated after a failure, over all sinks.
    pub retried: u64,
    pub queue_capacity: usize,
    /// Most events the queue ever held at once.
    pub queue_high_watermark: usize,
    /// Batches the worker formed.
    pub batches: u64,
    /// Gap markers written where events were dropped (`--gap-markers`).
    pub gap_markers: u64,
    /// From start to exit.
    pub elapsed_seconds: f64,
    /// From the end of input (or the first signal) to exit.
    pub drain_seconds: f64,
    /// One entry per sink, in command-line order.
    pub sinks: Vec<SinkSummary>,
    /// `SIGINT` or `SIGTERM` when a signal stopped the run.
    pub stopped_by: Option<&'static str>,
    /// The status shipper exits with.
    pub exit_code: u8,
}

/// Dropped events by reason; every reason is present, zero or not.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub(crate) struct DroppedByReason {
    pub queue_full: u64,
    pub invalid: u64,
    pub sink_error: u64,
    pub shutdown_timeout: u64,
    pub shutdown: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SinkSummary {
    pub name: String,
    /// Events it wrote.
    pub written: u64,
    /// Events it failed to write.
    pub failed: u64,
    /// Writes it repeated after a failure.
    pub retried: u64,
    /// Why closing it failed, if it did.
    pub close_error: Option<String>,
}

impl Summary {
    pub(crate) fn new(
        counts: &Counts,
        names: &[String],
        close_errors: &[(usize, String)],
    ) -> Summary {
        let tally = &counts.tally;
        let sinks = names
            .iter()
            .zip(&tally.sinks)
            .enumerate()
            .map(|(index, (name, sink))| SinkSummary {
                name: name.clone(),
                written: sink.written,
                failed: sink.failed,
                retried: sink.retried,
                close_error: close_errors
                    .iter()
                    .find(|(failed, _)| *failed == index)
                    .map(|(_, error)| error.clone()),
            })
            .collect();
        Summary {
            lines_read: counts.intake.submitted + counts.intake.blank,
            blank: counts.intake.blank,
            submitted: counts.intake.submitted,
            processed: tally.processed,
            dropped: tally.dropped_total(),
            dropped_by_reason: DroppedByReason {
                queue_full: tally.dropped_for(DropReason::QueueFull),
                invalid: tally.dropped_for(DropReason::Invalid),
                sink_error: tally.dropped_for(DropReason::SinkError),
                shutdown_timeout: tally.dropped_for(DropReason::ShutdownTimeout),
                shutdown: tally.dropped_for(DropReason::Shutdown),
            },
            retried: tally.retried(),
            queue_capacity: counts.queue_capacity,
            queue_high_watermark: counts.intake.high_watermark,
            batches: tally.batches,
            gap_markers: tally.markers,
            elapsed_seconds: 0.0,
            drain_seconds: 0.0,
            sinks,
            stopped_by: None,
            exit_code: 0,
        }
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary serializes")
    }

    /// One line for a person, and one more per sink that failed; drops
    /// in red when `colour` (a terminal, and no NO_COLOR).
    pub(crate) fn to_text(&self, colour: bool) -> String {
        let dropped = format!("{} dropped", self.dropped);
        let dropped = if colour && self.dropped > 0 {
            format!("\x1b[31m{dropped}\x1b[0m")
        } else {
            dropped
        };
        let mut text = format!("shipper: {} processed, {dropped}", self.processed);
        let reasons = self.reasons();
        if !reasons.is_empty() {
            let _ = write!(text, " ({reasons})");
        }
        let _ = write!(
            text,
            ", {} retried of {} lines read; queue high-water {}/{}; {} batch{} in {:.2}s ({} lines/s)",
            self.retried,
            self.lines_read,
            self.queue_high_watermark,
            self.queue_capacity,
            self.batches,
            if self.batches == 1 { "" } else { "es" },
            self.elapsed_seconds,
            grouped(self.lines_read as f64 / self.elapsed_seconds.max(1e-3)),
        );
        if let Some(signal) = self.stopped_by {
            let _ = write!(text, "; stopped by {signal}");
        }
        for sink in self
            .sinks
            .iter()
            .filter(|sink| sink.failed > 0 || sink.close_error.is_some())
        {
            let _ = write!(
                text,
                "\nshipper: sink {} wrote {}, failed {}",
                escape(&sink.name),
                sink.written,
                sink.failed
            );
            if let Some(error) = &sink.close_error {
                let _ = write!(text, ", close failed: {}", escape(error));
            }
        }
        text
    }

    fn reasons(&self) -> String {
        let by_reason = &self.dropped_by_reason;
        [
            ("queue_full", by_reason.queue_full),
            ("invalid", by_reason.invalid),
            ("sink_error", by_reason.sink_error),
            ("shutdown_timeout", by_reason.shutdown_timeout),
            ("shutdown", by_reason.shutdown),
        ]
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(name, count)| format!("{name} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
    }

    /// Makes sure the summary can be written to `path` before the run
    /// starts, leaving it empty so that no earlier run's summary is read
    /// as this one's.
    pub(crate) fn claim_file(path: &Path) -> anyhow::Result<()> {
        std::fs::File::create(path)
            .map(drop)
            .with_context(|| format!("could not write the summary to '{}'", shown(path)))
    }

    /// Writes the JSON form to `path`, whole or not at all.
    pub(crate) fn write_file(&self, path: &Path) -> anyhow::Result<()> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let json = format!("{}\n", self.to_json());
        std::fs::write(&partial, json)
            .and_then(|()| std::fs::rename(&partial, path))
            .with_context(|| format!("could not write the summary to '{}'", shown(path)))
    }
}

/// `1234567.8` as `1,234,568`.
pub(crate) fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ledger::{SinkTally, Tally};
    use crate::pipeline::queue::IntakeStats;

    fn counts() -> Counts {
        let mut dropped = [0; DropReason::ALL.len()];
        dropped[DropReason::Invalid as usize] = 2;
        dropped[DropReason::SinkError as usize] = 1;
        Counts {
            intake: IntakeStats {
                blank: 4,
                submitted: 10,
                high_watermark: 7,
                ..IntakeStats::default()
            },
            tally: Tally {
                processed: 7,
                dropped,
                batches: 2,
                markers: 0,
                sinks: vec![SinkTally {
                    written: 7,
                    failed: 1,
                    retried: 0,
                }],
            },
            queue_capacity: 100,
        }
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(999.0), "999");
        assert_eq!(grouped(1000.0), "1,000");
        assert_eq!(grouped(1_234_567.8), "1,234,568");
    }

    #[test]
    fn json_holds_every_field_and_the_invariant() {
        let summary = Summary::new(&counts(), &["file:x".into()], &[]);
        let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
        assert_eq!(json["lines_read"], 14);
        assert_eq!(json["submitted"], 10);
        assert_eq!(json["processed"], 7);
        assert_eq!(json["dropped"], 3);
        assert_eq!(json["dropped_by_reason"]["invalid"], 2);
        assert_eq!(json["dropped_by_reason"]["queue_full"], 0);
        assert_eq!(json["sinks"][0]["name"], "file:x");
        assert_eq!(json["sinks"][0]["failed"], 1);
        for field in [
            "retried",
            "queue_capacity",
            "queue_high_watermark",
            "batches",
            "elapsed_seconds",
            "drain_seconds",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn text_names_the_reasons_and_the_failing_sink() {
        let summary = Summary::new(&counts(), &["file:x".into()], &[(0, "EIO".into())]);
        let text = summary.to_text(false);
        assert!(
            text.contains("7 processed, 3 dropped (invalid 2, sink_error 1)"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
        assert!(summary.to_text(true).contains("\x1b[31m3 dropped\x1b[0m"));
        assert!(
            text.contains("sink file:x wrote 7, failed 1, close failed: EIO"),
            "{text}"
        );
    }
}
