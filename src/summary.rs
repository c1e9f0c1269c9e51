//! The drain summary: what happened to every line, for a person (text) or a
//! script (JSON).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::config::{Input, ReadMode};
use crate::diagnostics::{escape, shown};
use crate::envelope::{Fallbacks, timestamp};
use crate::files::{self, Kind};
use crate::filter::Filtered;
use crate::pipeline::{Counts, Dropped, SinkCounts};
use crate::redact::Redactions;
use crate::source::checkpoint::Checkpoint;

/// The shape of the JSON form (docs/summary.md). Raised only when a field
/// goes away or changes its meaning; a field added leaves it as it is.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// When a run started: the monotonic clock for its durations, the wall
/// clock for `started_at`, read once so every line of the run agrees.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Started {
    pub instant: Instant,
    pub wall: SystemTime,
}

impl Started {
    pub(crate) fn now() -> Started {
        Started {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.instant.elapsed()
    }
}

/// What a run read from: standard input, the files named (read once), or
/// the patterns followed.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Inputs {
    /// Standard input was read (no FILE and no --follow).
    pub stdin: bool,
    /// The FILEs named, as given, read once to their end.
    pub files: Vec<String>,
    /// The --follow patterns, as given.
    pub patterns: Vec<String>,
}

impl Inputs {
    pub(crate) fn of(input: &Input) -> Inputs {
        match input {
            Input::Stdin => Inputs {
                stdin: true,
                ..Inputs::default()
            },
            Input::Letters(files) => Inputs {
                files: files.clone(),
                ..Inputs::default()
            },
            Input::Files(files) => match files.mode {
                ReadMode::Once => Inputs {
                    files: files.paths.clone(),
                    ..Inputs::default()
                },
                ReadMode::Follow => Inputs {
                    patterns: files.paths.clone(),
                    ..Inputs::default()
                },
            },
        }
    }
}

/// The drain result. Its JSON form (`Form::Final`) and the stats lines
/// (`Form::Stats`) are written by one list, `InForm`'s, in one order.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    /// When the run started (`started_at`).
    pub started_at: SystemTime,
    /// When the summary was made, just before exit (`ended_at`).
    pub ended_at: SystemTime,
    /// What the run read from.
    pub inputs: Inputs,
    /// Lines read, blank ones included.
    pub lines_read: u64,
    /// Blank lines: read and counted, never events.
    pub blank: u64,
    /// Lines joined into the event of a line before them (a stack trace's
    /// lines after its first): `lines_read == blank + submitted + joined`.
    pub joined: u64,
    /// Events that entered the pipeline (non-blank lines read).
    pub submitted: u64,
    /// Events every sink accepted.
    pub processed: u64,
    /// Events dropped, each for one reason.
    pub dropped: u64,
    /// Dropped events by reason; every reason is present, zero or not.
    pub dropped_by_reason: Dropped,
    /// Events the user's own filters set aside, each for one reason.
    pub filtered: u64,
    /// Filtered events by reason; every reason is present, zero or not.
    pub filtered_by_reason: Filtered,
    /// Events kept in the dead-letter file, one for each sink that gave
    /// up on it (they are counted in `dropped` too).
    pub dead_lettered: u64,
    /// Values redacted, whatever the rule.
    pub redacted: u64,
    /// Values redacted by rule; every rule of the run, zero or not.
    pub redacted_by_rule: Redactions,
    /// Writes repeated after a failure, over all sinks.
    pub retried: u64,
    /// Events the queue holds at most.
    pub queue_capacity: usize,
    /// Most events the queue ever held at once.
    pub queue_high_watermark: usize,
    /// Batches the worker formed.
    pub batches: u64,
    /// Gap markers written where events were dropped (`--gap-markers`).
    pub gap_markers: u64,
    /// Lines best-effort mode read as plain text, by the format they were
    /// not in.
    pub parse_fallbacks: Fallbacks,
    /// From start to exit.
    pub elapsed_seconds: f64,
    /// From the end of input (or the first signal) to exit.
    pub drain_seconds: f64,
    /// One entry per sink, in command-line order.
    pub sinks: Vec<SinkSummary>,
    /// What became of `--checkpoint`: null without one, or when the run
    /// stopped before reading for a reason other than the checkpoint (a
    /// sink that could not open, a signal). When the checkpoint could not
    /// be taken or written at the start, `saved` is false and `error` says
    /// why.
    pub checkpoint: Option<CheckpointSummary>,
    /// `SIGINT` or `SIGTERM` when a signal stopped the run.
    pub stopped_by: Option<&'static str>,
    /// The status shipper exits with.
    pub exit_code: u8,
}

/// One sink's entry in the summary: its figures under its name.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SinkSummary {
    /// The sink's label (`file=out.log`).
    pub name: String,
    /// What it wrote, failed and retried, as keys of this entry.
    #[serde(flatten)]
    pub counts: SinkCounts,
    /// Why closing it failed, if it did.
    pub close_error: Option<String>,
}

/// Whether the positions reached the checkpoint, so a script knows where a
/// restart resumes.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckpointSummary {
    pub path: String,
    /// Whether the last save, after the drain, wrote the file.
    pub saved: bool,
    /// Why the last save failed.
    pub error: Option<String>,
    /// Saves that failed during the run, the periodic ones included; a
    /// later save that succeeded made up for them.
    pub failed_saves: u64,
    /// What the file holds now, where a restart resumes: the positions of
    /// the last save that succeeded.
    pub files: Vec<SavedPosition>,
}

/// One file's position as the checkpoint holds it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SavedPosition {
    pub path: String,
    /// Every line before this byte was delivered or dropped with a reason.
    pub offset: u64,
}

impl CheckpointSummary {
    /// `checkpoint` after its last save, which returned `saved`.
    pub(crate) fn of(checkpoint: &Checkpoint, saved: &anyhow::Result<()>) -> CheckpointSummary {
        let files = checkpoint
            .on_disk()
            .into_iter()
            .map(|entry| SavedPosition {
                path: entry.path,
                offset: entry.offset,
            })
            .collect();
        CheckpointSummary {
            path: checkpoint.path().to_string_lossy().into_owned(),
            saved: saved.is_ok(),
            error: saved.as_ref().err().map(|err| format!("{err:#}")),
            failed_saves: checkpoint.failed_saves(),
            files,
        }
    }

    /// The checkpoint at `path`, which could not be taken or written at
    /// the start for `error`: nothing was saved, and the positions it
    /// holds are unknown.
    pub(crate) fn unsaved(path: &std::path::Path, error: &anyhow::Error) -> CheckpointSummary {
        CheckpointSummary {
            path: path.to_string_lossy().into_owned(),
            saved: false,
            error: Some(format!("{error:#}")),
            failed_saves: 0,
            files: Vec::new(),
        }
    }

    /// `checkpoint 'state.json' saved: 2 files`, or why it was not.
    fn to_text(&self) -> String {
        let path = shown(std::path::Path::new(&self.path));
        let files = match self.files.len() {
            1 => "1 file".to_owned(),
            count => format!("{count} files"),
        };
        let mut text = match &self.error {
            None => format!("checkpoint '{path}' saved: {files}"),
            Some(error) => format!(
                "checkpoint '{path}' NOT saved ({}); a restart resumes from its last save: {files}",
                crate::diagnostics::escape(error)
            ),
        };
        if self.failed_saves > 0 {
            let _ = write!(text, "; {} saves failed during the run", self.failed_saves);
        }
        text
    }
}

impl Summary {
    pub(crate) fn new(
        counts: &Counts,
        names: &[String],
        close_errors: &[(usize, String)],
    ) -> Summary {
        let settled = &counts.settled;
        let sinks = names
            .iter()
            .zip(&settled.sinks)
            .enumerate()
            .map(|(index, (name, sink))| SinkSummary {
                name: name.clone(),
                counts: sink.clone(),
                close_error: close_errors
                    .iter()
                    .find(|(failed, _)| *failed == index)
                    .map(|(_, error)| error.clone()),
            })
            .collect();
        let now = SystemTime::now();
        Summary {
            started_at: now,
            ended_at: now,
            inputs: Inputs::default(),
            lines_read: counts.intake.submitted + counts.intake.blank + counts.intake.joined,
            blank: counts.intake.blank,
            joined: counts.intake.joined,
            submitted: counts.intake.submitted,
            processed: settled.processed,
            dropped: settled.dropped_total(),
            dropped_by_reason: settled.dropped,
            filtered: settled.filtered.total(),
            filtered_by_reason: settled.filtered,
            dead_lettered: settled.dead_lettered,
            redacted: settled.redactions.total(),
            redacted_by_rule: settled.redactions.clone(),
            retried: settled.retried(),
            queue_capacity: counts.queue_capacity,
            queue_high_watermark: counts.intake.high_watermark,
            batches: settled.batches,
            gap_markers: settled.markers,
            parse_fallbacks: settled.fallbacks,
            elapsed_seconds: 0.0,
            drain_seconds: 0.0,
            sinks,
            checkpoint: None,
            stopped_by: None,
            exit_code: 0,
        }
    }

    /// The summary at exit, as one JSON object.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(&InForm(self, Form::Final)).expect("a summary serializes")
    }

    /// The summary so far, as a stats line: marked `"type":"stats"`, and
    /// without what only the end can tell.
    pub(crate) fn to_stats_json(&self) -> String {
        serde_json::to_string(&InForm(self, Form::Stats)).expect("a summary serializes")
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
        self.write_filtered(&mut text);
        if self.dead_lettered > 0 {
            let _ = write!(text, ", {} kept as dead letters", self.dead_lettered);
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
        if self.parse_fallbacks.total() > 0 {
            let _ = write!(
                text,
                "; {} read as plain text ({})",
                self.parse_fallbacks.total(),
                self.parse_fallbacks.to_text()
            );
        }
        self.write_redacted(&mut text);
        if let Some(signal) = self.stopped_by {
            let _ = write!(text, "; stopped by {signal}");
        }
        for sink in self
            .sinks
            .iter()
            .filter(|sink| sink.counts.failed > 0 || sink.close_error.is_some())
        {
            let _ = write!(
                text,
                "\nshipper: sink {} wrote {}, failed {}",
                escape(&sink.name),
                sink.counts.written,
                sink.counts.failed
            );
            if let Some(error) = &sink.close_error {
                let _ = write!(text, ", close failed: {}", escape(error));
            }
        }
        if let Some(checkpoint) = &self.checkpoint {
            let _ = write!(text, "\nshipper: {}", checkpoint.to_text());
        }
        text
    }

    /// `invalid 2, sink_error 1`: the reasons that dropped anything.
    fn reasons(&self) -> String {
        self.dropped_by_reason
            .by_reason()
            .filter(|(_, count)| *count > 0)
            .map(|(reason, count)| format!("{} {count}", reason.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `, 3 filtered (level 2, sample 1)`, when any event was.
    fn write_filtered(&self, text: &mut String) {
        if self.filtered == 0 {
            return;
        }
        let reasons: Vec<String> = self
            .filtered_by_reason
            .by_reason()
            .filter(|(_, count)| *count > 0)
            .map(|(reason, count)| format!("{} {count}", reason.name()))
            .collect();
        let _ = write!(
            text,
            ", {} filtered ({})",
            self.filtered,
            reasons.join(", ")
        );
    }

    /// `; 4 values redacted (secret_key 3, jwt 1)`, when any was.
    fn write_redacted(&self, text: &mut String) {
        if self.redacted == 0 {
            return;
        }
        let rules: Vec<String> = self
            .redacted_by_rule
            .by_rule()
            .filter(|(_, count)| *count > 0)
            .map(|(rule, count)| format!("{rule} {count}"))
            .collect();
        let values = if self.redacted == 1 {
            "value"
        } else {
            "values"
        };
        let _ = write!(
            text,
            "; {} {values} redacted ({})",
            self.redacted,
            rules.join(", ")
        );
    }

    /// Makes sure the summary can be written to `path` before the run
    /// starts: a regular file is replaced by an empty one, so that no
    /// earlier run's summary is read as this one's. A FIFO or device is
    /// only written at the end.
    pub(crate) fn claim_file(path: &Path) -> anyhow::Result<()> {
        let claimed = match Kind::at(path) {
            Ok(Kind::Missing | Kind::Regular) => files::replace(path, b""),
            Ok(_) => Ok(()),
            Err(err) => Err(err),
        };
        claimed.with_context(|| format!("could not write the summary to '{}'", shown(path)))
    }

    /// Writes the JSON form to `path`: a regular file is replaced whole
    /// (mode 0600); a FIFO or character device, or a link to one, is
    /// written in place.
    pub(crate) fn write_file(&self, path: &Path) -> anyhow::Result<()> {
        let json = format!("{}\n", self.to_json());
        let written = match Kind::at(path) {
            Ok(Kind::Missing | Kind::Regular) => files::replace(path, json.as_bytes()),
            Ok(_) => files::write_in_place(path, json.as_bytes()),
            Err(err) => Err(err),
        };
        written.with_context(|| format!("could not write the summary to '{}'", shown(path)))
    }
}

/// Which JSON form of the summary is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// The summary at exit: every field.
    Final,
    /// A stats line while running: `"type":"stats"` first, and no
    /// `ended_at`, `drain_seconds`, `stopped_by` or `exit_code`.
    Stats,
}

/// A summary in one of its forms. The one list of the JSON fields, in
/// their order: docs/summary.md documents them in the same order, and a
/// test holds the two together.
struct InForm<'a>(&'a Summary, Form);

impl Serialize for InForm<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let InForm(summary, form) = *self;
        let end = form == Form::Final;
        let mut map = serializer.serialize_map(None)?;
        if form == Form::Stats {
            map.serialize_entry("type", "stats")?;
        }
        map.serialize_entry("schema_version", &SCHEMA_VERSION)?;
        map.serialize_entry("started_at", &timestamp::rfc3339(summary.started_at))?;
        if end {
            map.serialize_entry("ended_at", &timestamp::rfc3339(summary.ended_at))?;
        }
        map.serialize_entry("inputs", &summary.inputs)?;
        map.serialize_entry("lines_read", &summary.lines_read)?;
        map.serialize_entry("blank", &summary.blank)?;
        map.serialize_entry("joined", &summary.joined)?;
        map.serialize_entry("submitted", &summary.submitted)?;
        map.serialize_entry("processed", &summary.processed)?;
        map.serialize_entry("dropped", &summary.dropped)?;
        map.serialize_entry("dropped_by_reason", &summary.dropped_by_reason)?;
        map.serialize_entry("filtered", &summary.filtered)?;
        map.serialize_entry("filtered_by_reason", &summary.filtered_by_reason)?;
        map.serialize_entry("dead_lettered", &summary.dead_lettered)?;
        map.serialize_entry("redacted", &summary.redacted)?;
        map.serialize_entry("redacted_by_rule", &summary.redacted_by_rule)?;
        map.serialize_entry("retried", &summary.retried)?;
        map.serialize_entry("queue_capacity", &summary.queue_capacity)?;
        map.serialize_entry("queue_high_watermark", &summary.queue_high_watermark)?;
        map.serialize_entry("batches", &summary.batches)?;
        map.serialize_entry("gap_markers", &summary.gap_markers)?;
        map.serialize_entry("parse_fallbacks", &summary.parse_fallbacks)?;
        map.serialize_entry("elapsed_seconds", &summary.elapsed_seconds)?;
        if end {
            map.serialize_entry("drain_seconds", &summary.drain_seconds)?;
        }
        map.serialize_entry("sinks", &summary.sinks)?;
        map.serialize_entry("checkpoint", &summary.checkpoint)?;
        if end {
            map.serialize_entry("stopped_by", &summary.stopped_by)?;
            map.serialize_entry("exit_code", &summary.exit_code)?;
        }
        map.end()
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
    use crate::filter::FilterReason;
    use crate::pipeline::{DropReason, IntakeCounts, Settled};

    fn counts() -> Counts {
        let mut dropped = Dropped::default();
        dropped.add(DropReason::Invalid, 2);
        dropped.add(DropReason::SinkError, 1);
        Counts {
            intake: IntakeCounts {
                blank: 4,
                joined: 0,
                submitted: 10,
                high_watermark: 7,
                ..IntakeCounts::default()
            },
            settled: Settled {
                processed: 7,
                dropped,
                batches: 2,
                markers: 0,
                fallbacks: Fallbacks::default(),
                sinks: vec![SinkCounts {
                    written: 7,
                    failed: 1,
                    retried: 0,
                }],
                ..Settled::default()
            },
            queue_capacity: 100,
        }
    }

    /// Counts with every reason and sink figure different, so that a
    /// field or reason out of place shows.
    fn every_count() -> Counts {
        let mut counts = counts();
        counts.settled.dropped = Dropped::default();
        for (index, reason) in DropReason::ALL.into_iter().enumerate() {
            counts.settled.dropped.add(reason, index as u64 + 1);
        }
        counts.settled.processed = 4;
        counts.settled.markers = 3;
        counts.settled.fallbacks = Fallbacks {
            json: 1,
            logfmt: 2,
            syslog: 3,
            clf: 4,
        };
        counts.settled.filtered.add(FilterReason::Level, 1);
        counts.settled.filtered.add(FilterReason::Sample, 2);
        counts.settled.redactions.add("secret_key", 3);
        counts.settled.redactions.add("jwt", 0);
        counts.intake.submitted = 22;
        counts.settled.sinks.push(SinkCounts {
            written: 5,
            failed: 14,
            retried: 6,
        });
        counts
    }

    #[test]
    fn json_and_text_keep_their_form_byte_for_byte() {
        let names = ["file=x".to_owned(), "http=h".to_owned()];
        let mut summary = Summary::new(&every_count(), &names, &[(1, "EIO".into())]);
        summary.elapsed_seconds = 2.0;
        summary.drain_seconds = 0.5;
        summary.stopped_by = Some("SIGTERM");
        summary.exit_code = 143;
        summary.started_at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_550_923_456);
        summary.ended_at = summary.started_at + Duration::from_millis(2_001);
        summary.inputs = Inputs {
            stdin: false,
            files: Vec::new(),
            patterns: vec!["logs/*.log".into()],
        };
        assert_eq!(
            summary.to_json(),
            r#"{"schema_version":1,"started_at":"2025-12-01T01:02:03.456Z","ended_at":"2025-12-01T01:02:05.457Z","inputs":{"stdin":false,"files":[],"patterns":["logs/*.log"]},"lines_read":26,"blank":4,"joined":0,"submitted":22,"processed":4,"dropped":15,"dropped_by_reason":{"queue_full":1,"invalid":2,"sink_error":3,"shutdown_timeout":4,"shutdown":5},"filtered":3,"filtered_by_reason":{"level":1,"include":0,"exclude":0,"sample":2,"rate_limit":0},"dead_lettered":0,"redacted":3,"redacted_by_rule":{"secret_key":3,"jwt":0},"retried":6,"queue_capacity":100,"queue_high_watermark":7,"batches":2,"gap_markers":3,"parse_fallbacks":{"json":1,"logfmt":2,"syslog":3,"clf":4},"elapsed_seconds":2.0,"drain_seconds":0.5,"sinks":[{"name":"file=x","written":7,"failed":1,"retried":0,"close_error":null},{"name":"http=h","written":5,"failed":14,"retried":6,"close_error":"EIO"}],"checkpoint":null,"stopped_by":"SIGTERM","exit_code":143}"#
        );
        assert_eq!(
            summary.to_text(false),
            "shipper: 4 processed, 15 dropped (queue_full 1, invalid 2, sink_error 3, shutdown_timeout 4, shutdown 5), 3 filtered (level 1, sample 2), 6 retried of 26 lines read; queue high-water 7/100; 2 batches in 2.00s (13 lines/s); 10 read as plain text (not json 1, not logfmt 2, not syslog 3, not clf 4); 3 values redacted (secret_key 3); stopped by SIGTERM\nshipper: sink file=x wrote 7, failed 1\nshipper: sink http=h wrote 5, failed 14, close failed: EIO"
        );
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
        let summary = Summary::new(&counts(), &["file=x".into()], &[]);
        let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
        assert_eq!(json["lines_read"], 14);
        assert_eq!(json["submitted"], 10);
        assert_eq!(json["processed"], 7);
        assert_eq!(json["dropped"], 3);
        assert_eq!(json["dropped_by_reason"]["invalid"], 2);
        assert_eq!(json["dropped_by_reason"]["queue_full"], 0);
        assert_eq!(json["sinks"][0]["name"], "file=x");
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
    fn text_says_whether_the_checkpoint_was_saved() {
        let mut summary = Summary::new(&counts(), &["file=x".into()], &[]);
        let mut checkpoint = CheckpointSummary {
            path: "state.json".into(),
            saved: true,
            error: None,
            failed_saves: 0,
            files: vec![SavedPosition {
                path: "a.log".into(),
                offset: 10,
            }],
        };
        summary.checkpoint = Some(checkpoint.clone());
        let text = summary.to_text(false);
        assert!(
            text.ends_with("\nshipper: checkpoint 'state.json' saved: 1 file"),
            "{text}"
        );
        checkpoint.saved = false;
        checkpoint.error = Some("ENOSPC".into());
        checkpoint.failed_saves = 3;
        summary.checkpoint = Some(checkpoint);
        let text = summary.to_text(false);
        assert!(
            text.ends_with(
                "checkpoint 'state.json' NOT saved (ENOSPC); a restart resumes from its last \
                 save: 1 file; 3 saves failed during the run"
            ),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
        assert_eq!(json["checkpoint"]["files"][0]["offset"], 10);
    }

    #[test]
    fn text_names_the_reasons_and_the_failing_sink() {
        let summary = Summary::new(&counts(), &["file=x".into()], &[(0, "EIO".into())]);
        let text = summary.to_text(false);
        assert!(
            text.contains("7 processed, 3 dropped (invalid 2, sink_error 1)"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
        assert!(summary.to_text(true).contains("\x1b[31m3 dropped\x1b[0m"));
        assert!(
            text.contains("sink file=x wrote 7, failed 1, close failed: EIO"),
            "{text}"
        );
    }
}
