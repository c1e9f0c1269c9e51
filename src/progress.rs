//! The status line on a terminal while shipper runs: rates, queue depth,
//! counts and each sink's figures, redrawn on a timer (never per line) so
//! it costs nothing measurable. It stays off the events: not drawn on the
//! terminal stdout writes them to, fitted to the terminal's width on
//! every frame (never wrapped), cleared when the run ends, and showing a
//! rate only once one has been measured.

use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{
    HumanBytes, HumanDuration, ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle,
    TermLike,
};

use crate::config::ProgressMode;
use crate::diagnostics::escape;
use crate::pipeline::{Counts, CountsView};
use crate::summary::grouped;

/// How often the line is redrawn.
const REDRAW: Duration = Duration::from_millis(250);

/// The shortest time a rate is measured over: two redraws. A file's
/// first megabytes arrive in one burst, and a rate over the first few
/// milliseconds would claim millions of lines a second.
const RATE_WINDOW: Duration = Duration::from_millis(500);

/// Columns left free at the end of the line. A line as wide as the
/// terminal leaves the cursor waiting at its edge, where the `^C` the
/// terminal echoes starts a new line, and the status line above it could
/// no longer be cleared.
const SPARE_COLUMNS: u16 = 2;

/// The spinner's frames, one a redraw, when there is no bar to move.
const SPINNER: [char; 8] = ['⠁', '⠂', '⠄', '⡀', '⢀', '⠠', '⠐', '⠈'];

/// Where the events go, as far as the status line is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Events {
    /// stdout is one of the sinks.
    OnStdout,
    /// No sink writes to stdout.
    Elsewhere,
}

/// What stderr is, as far as the status line is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stderr {
    /// A file, a pipe, /dev/null.
    NotATerminal,
    /// A terminal the events are not written to.
    Terminal,
    /// The terminal stdout writes the events to: every frame would be
    /// left among them.
    TerminalOfTheEvents,
}

/// The status line while it is shown.
pub(crate) struct Progress {
    /// indicatif's line, drawn on stderr.
    bar: ProgressBar,
    /// The task that builds each frame.
    redraw: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Shows the line if `mode` and the terminal say so.
    /// Files read once show a bar of `amount`: bytes read of the total.
    pub(crate) fn start(
        mode: ProgressMode,
        events: Events,
        counts: CountsView,
        names: Vec<String>,
        amount: Option<(Arc<AtomicU64>, u64)>,
    ) -> Option<Progress> {
        if !drawn(mode, stderr_is(events)) {
            return None;
        }
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(Narrowed::stderr()), 4);
        let bar = ProgressBar::with_draw_target(None, target).with_finish(ProgressFinish::AndClear);
        bar.set_style(ProgressStyle::with_template("{msg}").expect("a valid template"));
        let redraw = tokio::spawn(redraw(bar.clone(), counts, names, amount));
        Some(Progress { bar, redraw })
    }

    /// Clears the line, so that the summary stands alone.
    pub(crate) fn finish(self) {
        drop(self);
    }
}

impl Drop for Progress {
    /// However the run ends, no frame is left on the terminal.
    fn drop(&mut self) {
        self.redraw.abort();
        self.bar.finish_and_clear();
    }
}

/// Draws a frame at every `REDRAW`, for ever.
async fn redraw(
    shown: ProgressBar,
    counts: CountsView,
    names: Vec<String>,
    amount: Option<(Arc<AtomicU64>, u64)>,
) {
    let mut meter = Meter::new(Instant::now(), sample(&counts.read(), &amount));
    let mut ticks = tokio::time::interval(REDRAW);
    for frame in 0usize.. {
        ticks.tick().await;
        let now = counts.read();
        let rate = meter.update(Instant::now(), sample(&now, &amount));
        let read = amount
            .as_ref()
            .map(|(read, total)| (read.load(Ordering::Relaxed), *total));
        let mut fields = fields(&now, rate, read, &names);
        if read.is_none() {
            fields[0].insert_str(0, &format!("{} ", SPINNER[frame % SPINNER.len()]));
        }
        shown.set_message(fit(&fields, Narrowed::stderr().columns()));
    }
}

/// Whether the line is drawn. `auto` draws it on a terminal the events do
/// not go to; `always` draws it wherever stderr goes, the terminal of the
/// events included, where frames and events then mix.
fn drawn(mode: ProgressMode, stderr: Stderr) -> bool {
    match mode {
        ProgressMode::Never => false,
        ProgressMode::Always => true,
        ProgressMode::Auto => stderr == Stderr::Terminal,
    }
}

/// What stderr is now, given where the events go.
fn stderr_is(events: Events) -> Stderr {
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    if !stderr.is_terminal() {
        Stderr::NotATerminal
    } else if events == Events::OnStdout && stdout.is_terminal() && same_device(&stdout, &stderr) {
        Stderr::TerminalOfTheEvents
    } else {
        Stderr::Terminal
    }
}

/// Whether two descriptors of character devices (terminals) lead to one
/// device: a terminal opened twice, or one descriptor duplicated, as a
/// shell does for `2>&1`.
fn same_device(one: impl AsFd, other: impl AsFd) -> bool {
    use nix::sys::stat::fstat;
    match (fstat(one), fstat(other)) {
        (Ok(one), Ok(other)) => one.st_rdev == other.st_rdev,
        // Unknown: assume the worst, and keep the events clean.
        _ => true,
    }
}

/// stderr as the status line may use it: `SPARE_COLUMNS` narrower than
/// the terminal, whose width is read again at every draw, so a window
/// made narrower is followed at the next frame.
#[derive(Debug)]
struct Narrowed(console::Term);

impl Narrowed {
    fn stderr() -> Narrowed {
        Narrowed(console::Term::stderr())
    }

    /// The columns a line may take; none when stderr is not a terminal
    /// (there is no width to keep to).
    fn columns(&self) -> Option<usize> {
        let (_, columns) = self.0.size_checked()?;
        Some(usize::from(columns.saturating_sub(SPARE_COLUMNS).max(1)))
    }
}

impl TermLike for Narrowed {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(SPARE_COLUMNS).max(1)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// What the rates are measured on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sample {
    /// Lines read, blank ones included.
    lines: u64,
    /// Bytes of those lines.
    bytes: u64,
    /// Bytes read of the files read once.
    read: u64,
}

fn sample(counts: &Counts, amount: &Option<(Arc<AtomicU64>, u64)>) -> Sample {
    Sample {
        lines: counts.intake.submitted + counts.intake.blank,
        bytes: counts.intake.bytes,
        read: amount
            .as_ref()
            .map_or(0, |(read, _)| read.load(Ordering::Relaxed)),
    }
}

/// A `Sample`'s figures a second.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rate {
    lines: f64,
    bytes: f64,
    read: f64,
}

/// Rates over whole windows of at least `RATE_WINDOW`: none until the
/// first one has passed, then the last one's.
struct Meter {
    /// Where the current window began.
    since: (Instant, Sample),
    /// The last whole window's rate.
    rate: Option<Rate>,
}

impl Meter {
    fn new(now: Instant, sample: Sample) -> Meter {
        Meter {
            since: (now, sample),
            rate: None,
        }
    }

    fn update(&mut self, now: Instant, sample: Sample) -> Option<Rate> {
        let elapsed = now.saturating_duration_since(self.since.0);
        if elapsed >= RATE_WINDOW {
            let seconds = elapsed.as_secs_f64();
            let then = self.since.1;
            let per_second = |now: u64, then: u64| now.saturating_sub(then) as f64 / seconds;
            self.rate = Some(Rate {
                lines: per_second(sample.lines, then.lines),
                bytes: per_second(sample.bytes, then.bytes),
                read: per_second(sample.read, then.read),
            });
            self.since = (now, sample);
        }
        self.rate
    }
}

/// The line's fields, most telling first:
/// `12,345 lines/s  2.4 MB/s`, `queue 120/10000`, `processed 1,234`,
/// `dropped 0`, `file=out.log 1,234 written 0 failed`, each sink's; led by
/// `3.20 MiB/9.54 MiB [=====>     ] eta 2s` for files read once (`read`).
fn fields(
    counts: &Counts,
    rate: Option<Rate>,
    read: Option<(u64, u64)>,
    names: &[String],
) -> Vec<String> {
    let settled = &counts.settled;
    let mut fields = Vec::with_capacity(5 + names.len());
    if let Some((read, total)) = read {
        fields.push(amount(read, total, rate.map(|rate| rate.read)));
    }
    if let Some(rate) = rate {
        fields.push(format!(
            "{} lines/s  {:.1} MB/s",
            grouped(rate.lines),
            rate.bytes / 1e6
        ));
    }
    fields.push(format!(
        "queue {}/{}",
        counts.intake.queued, counts.queue_capacity
    ));
    fields.push(format!("processed {}", grouped(settled.processed as f64)));
    fields.push(format!(
        "dropped {}",
        grouped(settled.dropped_total() as f64)
    ));
    let filtered = settled.filtered.total();
    if filtered > 0 {
        fields.push(format!("filtered {}", grouped(filtered as f64)));
    }
    for (name, sink) in names.iter().zip(&settled.sinks) {
        fields.push(format!(
            "{} {} written {} failed",
            escape(name),
            grouped(sink.written as f64),
            grouped(sink.failed as f64)
        ));
    }
    fields
}

/// `3.20 MiB/9.54 MiB [=====>     ] eta 2s`; `eta -` until the reading
/// has a rate.
fn amount(read: u64, total: u64, per_second: Option<f64>) -> String {
    const BAR: usize = 20;
    let fraction = if total == 0 {
        1.0
    } else {
        (read as f64 / total as f64).min(1.0)
    };
    let filled = (fraction * BAR as f64) as usize;
    let head = if filled < BAR { ">" } else { "" };
    let eta = match per_second {
        Some(speed) if speed > 0.0 => {
            let left = Duration::from_secs_f64(total.saturating_sub(read) as f64 / speed);
            format!("{:#}", HumanDuration(left))
        }
        _ => "-".to_owned(),
    };
    format!(
        "{}/{} [{:<BAR$}] eta {eta}",
        HumanBytes(read),
        HumanBytes(total),
        format!("{}{head}", "=".repeat(filled))
    )
}

/// `fields` joined by ` | `, as many as fit in `columns` whole; the first
/// is cut short (ending in `…`) when even it does not fit. No columns: all
/// of them.
fn fit(fields: &[String], columns: Option<usize>) -> String {
    let mut line = String::new();
    for field in fields {
        let joined = match line.is_empty() {
            true => field.clone(),
            false => format!("{line} | {field}"),
        };
        match columns {
            Some(columns) if console::measure_text_width(&joined) > columns => {
                if line.is_empty() {
                    return console::truncate_str(field, columns, "…").into_owned();
                }
                break;
            }
            _ => line = joined,
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{DropReason, IntakeCounts, Settled};

    fn counts() -> Counts {
        let mut counts = Counts {
            intake: IntakeCounts {
                blank: 345,
                joined: 0,
                submitted: 12_000,
                high_watermark: 200,
                bytes: 2_400_000,
                queued: 120,
            },
            settled: Settled::new(1),
            queue_capacity: 10_000,
        };
        counts.settled.processed = 1_234;
        counts.settled.dropped.add(DropReason::QueueFull, 1_000);
        counts.settled.sinks[0].written = 1_234;
        counts
    }

    #[test]
    fn the_status_line_keeps_its_form() {
        let start = Instant::now();
        let mut meter = Meter::new(start, Sample::default());
        let counts = counts();
        let rate = meter.update(start + Duration::from_secs(1), sample(&counts, &None));
        let fields = fields(&counts, rate, None, &["file=out.log".to_owned()]);
        assert_eq!(
            fit(&fields, None),
            "12,345 lines/s  2.4 MB/s | queue 120/10000 | processed 1,234 | dropped 1,000 | file=out.log 1,234 written 0 failed"
        );
    }

    #[test]
    fn a_rate_is_shown_only_once_measured_over_a_whole_window() {
        let start = Instant::now();
        let mut meter = Meter::new(start, Sample::default());
        // A burst in the first milliseconds is no rate yet.
        let burst = Sample {
            lines: 4_884,
            bytes: 400_000,
            read: 400_000,
        };
        assert_eq!(meter.update(start + Duration::from_millis(1), burst), None);
        assert_eq!(
            meter.update(start + Duration::from_millis(400), burst),
            None
        );
        let first = meter.update(start + Duration::from_secs(2), burst).unwrap();
        assert_eq!(first.lines, 2_442.0);
        // The rate holds until the next window is whole.
        let later = Sample {
            lines: 5_884,
            ..burst
        };
        assert_eq!(
            meter.update(start + Duration::from_millis(2_300), later),
            Some(first)
        );
        let second = meter.update(start + Duration::from_secs(3), later).unwrap();
        assert_eq!(second.lines, 1_000.0);

        let fields = fields(&counts(), None, None, &[]);
        assert!(
            !fields.iter().any(|field| field.contains("/s")),
            "{fields:?}"
        );
        let fields = super::fields(&counts(), None, Some((1 << 20, 4 << 20)), &[]);
        assert_eq!(fields[0], "1.00 MiB/4.00 MiB [=====>              ] eta -");
    }

    #[test]
    fn the_line_keeps_to_the_columns_it_has() {
        let start = Instant::now();
        let rate = Meter::new(start, Sample::default())
            .update(start + Duration::from_secs(1), sample(&counts(), &None));
        let names = ["file=a-rather-long-name-for-an-output.log".to_owned()];
        let fields = fields(&counts(), rate, None, &names);
        for columns in [1, 5, 23, 24, 40, 60, 80, 200] {
            let line = fit(&fields, Some(columns));
            assert!(
                console::measure_text_width(&line) <= columns,
                "{columns}: {line:?}"
            );
            assert!(!line.is_empty(), "{columns}");
        }
        // Whole fields, from the left.
        assert_eq!(fit(&fields, Some(40)), "12,345 lines/s  2.4 MB/s");
        assert_eq!(
            fit(&fields, Some(60)),
            "12,345 lines/s  2.4 MB/s | queue 120/10000 | processed 1,234"
        );
        assert_eq!(fit(&fields, Some(10)), "12,345 li…");
        // Wide characters count for two columns.
        let wide = ["日本語のログ".to_owned(), "x".to_owned()];
        assert_eq!(fit(&wide, Some(7)), "日本語…");
    }

    #[test]
    fn auto_draws_the_line_only_on_a_terminal_the_events_do_not_go_to() {
        use ProgressMode::{Always, Auto, Never};
        use Stderr::{NotATerminal, Terminal, TerminalOfTheEvents};
        for (mode, stderr, drawn_there) in [
            (Auto, Terminal, true),
            (Auto, TerminalOfTheEvents, false),
            (Auto, NotATerminal, false),
            (Always, TerminalOfTheEvents, true),
            (Always, NotATerminal, true),
            (Never, Terminal, false),
        ] {
            assert_eq!(drawn(mode, stderr), drawn_there, "{mode:?} {stderr:?}");
        }
    }

    #[test]
    fn a_device_opened_twice_is_the_same_device() {
        let null = std::fs::File::open("/dev/null").unwrap();
        assert!(same_device(
            &null,
            std::fs::File::open("/dev/null").unwrap()
        ));
        assert!(same_device(&null, null.try_clone().unwrap()));
        let zero = std::fs::File::open("/dev/zero").unwrap();
        assert!(!same_device(&null, &zero));
    }
}
