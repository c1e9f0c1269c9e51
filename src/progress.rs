//! The status line on a terminal while shipper runs: rates, queue depth,
//! counts and each sink's figures, redrawn on a timer (never per line) so
//! it costs nothing measurable.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::ProgressMode;
use crate::diagnostics::escape;
use crate::pipeline::{Counts, CountsView};
use crate::summary::grouped;

/// How often the line is redrawn.
const REDRAW: Duration = Duration::from_millis(250);

pub(crate) struct Progress {
    bar: ProgressBar,
    redraw: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Shows the line if `mode` and the terminal say so.
    /// Files read once show a bar of `amount`: bytes read of the total.
    pub(crate) fn start(
        mode: ProgressMode,
        counts: CountsView,
        names: Vec<String>,
        amount: Option<(Arc<AtomicU64>, u64)>,
    ) -> Option<Progress> {
        let target = match mode {
            ProgressMode::Never => return None,
            // Hidden by indicatif itself when stderr is not a terminal.
            ProgressMode::Auto => ProgressDrawTarget::stderr_with_hz(4),
            ProgressMode::Always => {
                ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::stderr()), 4)
            }
        };
        if target.is_hidden() {
            return None;
        }
        let template = match amount {
            Some(_) => "{bytes}/{total_bytes} [{bar:20}] eta {eta} | {msg}",
            None => "{spinner} {msg}",
        };
        let bar = ProgressBar::with_draw_target(amount.as_ref().map(|(_, total)| *total), target);
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("a valid template")
                .progress_chars("=> "),
        );
        let shown = bar.clone();
        let redraw = tokio::spawn(async move {
            let mut last = (Instant::now(), counts.read());
            let mut ticks = tokio::time::interval(REDRAW);
            loop {
                ticks.tick().await;
                let now = (Instant::now(), counts.read());
                shown.set_message(status(&last, &now, &names));
                match &amount {
                    Some((read, _)) => shown.set_position(read.load(Ordering::Relaxed)),
                    None => shown.tick(),
                }
                last = now;
            }
        });
        Some(Progress { bar, redraw })
    }

    /// Clears the line, so that the summary stands alone.
    pub(crate) fn finish(self) {
        self.redraw.abort();
        self.bar.finish_and_clear();
    }
}

/// `12,345 lines/s  2.4 MB/s | queue 120/10000 | processed 1,234 | dropped 0 | file:out.log 1,234 written 0 failed`
fn status(then: &(Instant, Counts), now: &(Instant, Counts), names: &[String]) -> String {
    let seconds = now.0.duration_since(then.0).as_secs_f64().max(1e-3);
    let lines =
        now.1.intake.submitted + now.1.intake.blank - then.1.intake.submitted - then.1.intake.blank;
    let bytes = now.1.intake.bytes - then.1.intake.bytes;
    let settled = &now.1.settled;
    let mut line = format!(
        "{} lines/s  {:.1} MB/s | queue {}/{} | processed {} | dropped {}",
        grouped(lines as f64 / seconds),
        bytes as f64 / seconds / 1e6,
        now.1.intake.queued,
        now.1.queue_capacity,
        grouped(settled.processed as f64),
        grouped(settled.dropped_total() as f64),
    );
    for (name, sink) in names.iter().zip(&settled.sinks) {
        line.push_str(&format!(
            " | {} {} written {} failed",
            escape(name),
            grouped(sink.written as f64),
            grouped(sink.failed as f64)
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{DropReason, IntakeCounts, Settled};

    #[test]
    fn the_status_line_keeps_its_form() {
        let then = Instant::now();
        let mut counts = Counts {
            intake: IntakeCounts::default(),
            settled: Settled::new(1),
            queue_capacity: 10_000,
        };
        let earlier = (then, counts.clone());
        counts.intake = IntakeCounts {
            blank: 345,
            submitted: 12_000,
            high_watermark: 200,
            bytes: 2_400_000,
            queued: 120,
        };
        counts.settled.processed = 1_234;
        counts.settled.dropped.add(DropReason::QueueFull, 1_000);
        counts.settled.sinks[0].written = 1_234;
        let now = (then + Duration::from_secs(1), counts);
        assert_eq!(
            status(&earlier, &now, &["file:out.log".to_owned()]),
            "12,345 lines/s  2.4 MB/s | queue 120/10000 | processed 1,234 | dropped 1,000 | file:out.log 1,234 written 0 failed"
        );
    }
}
