//! The validated settings of one run. Nothing past this point sees clap.

mod checks;
mod envelope;
pub(crate) mod file;
mod filters;
pub(crate) mod http;
pub(crate) mod nats;
pub(crate) mod retry;
pub(crate) mod sinks;
pub(crate) mod syslog;

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Args, LogFormatArg, ProgressArg, ReadFromArg, ShowArg, SummaryArg};
use crate::diagnostics;
use crate::letter;
use crate::level::Level;
use file::FileOptions;
use http::HttpOptions;
use nats::NatsOptions;
use syslog::SyslogOptions;

pub(crate) use checks::MAX_KEY_FILE;
use checks::positive;
pub(crate) use envelope::{EnvelopeConfig, EnvelopeMode, Format};
pub(crate) use sinks::{SinkSpec, sink_label};

/// Largest batch, in events.
const MAX_BATCH_SIZE: usize = 1_000_000;

#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// What this run does.
    pub task: Task,
    /// Where lines come from.
    pub input: Input,
    /// How lines are split and joined into events.
    pub split: crate::multiline::Split,
    /// How lines become events.
    pub envelope: EnvelopeConfig,
    /// Queue, batching and shutdown settings.
    pub pipeline: PipelineConfig,
    /// Which events the user's own rules set aside.
    pub filter: crate::filter::FilterConfig,
    /// What is hidden in every line.
    pub redact: crate::redact::RedactConfig,
    /// Sinks in command-line order (the order they open; they close in reverse).
    pub sinks: Vec<SinkSpec>,
    /// Where events the sinks give up on are kept.
    pub dead_letter: Option<PathBuf>,
    /// Rotation settings shared by every file sink.
    pub file: FileOptions,
    /// Request and retry settings shared by every HTTP sink.
    pub http: HttpOptions,
    /// Credentials, stream and retry settings shared by every NATS sink.
    pub nats: NatsOptions,
    /// Settings shared by every syslog sink.
    pub syslog: SyslogOptions,
    /// Where and how the drain summary is printed.
    pub summary: SummaryConfig,
    /// Report routine events (sinks opened and closed) on stderr.
    pub verbose: bool,
    /// How shipper's own messages are written.
    pub log_format: diagnostics::Format,
    /// When to show the status line.
    pub progress: ProgressMode,
    /// Write a stats line to stderr this often while running.
    pub stats_interval: Option<Duration>,
    /// Serve the counters in the Prometheus text format here.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// What a run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Task {
    /// Ship lines: the usual run.
    Ship,
    /// Print the positions saved in a checkpoint (of these paths, or all).
    ShowCheckpoint(PathBuf, Vec<String>, ShowFormat),
    /// Forget the saved positions of these paths, or of all when empty.
    ResetCheckpoint(PathBuf, Vec<String>),
}

/// How `--show-checkpoint` prints the positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShowFormat {
    /// A table for a person.
    Text,
    /// One JSON object for a script.
    Json,
}

/// Where lines come from.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    Stdin,
    /// Files read once or followed.
    Files(InputConfig),
    /// `--dead-letter` files, read once, each letter's event sent again.
    Letters(Vec<String>),
}

#[derive(Debug, Clone)]
pub(crate) struct InputConfig {
    /// File names (read once) or patterns (followed).
    pub paths: Vec<String>,
    /// Whether the files are read once or followed by name.
    pub mode: ReadMode,
    pub read_from: ReadFrom,
    /// How often patterns are expanded again.
    pub glob_interval: Duration,
    /// Look for changes by polling, never by inotify.
    pub poll: bool,
    /// How long a rotated file is still read.
    pub rotate_wait: Duration,
    /// Where delivered positions are saved.
    pub checkpoint: Option<PathBuf>,
    /// Files left out of the patterns' expansion, by name or path.
    pub exclude: Vec<glob::Pattern>,
}

/// How the files named are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadMode {
    /// Each file named is read to its end, in order, as `cat` would.
    Once,
    /// The patterns are followed by name like `tail -F`, across rotation,
    /// truncation and deletion, until intake stops.
    Follow,
}

/// Where reading a file seen for the first time starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadFrom {
    Beginning,
    End,
}

/// What intake does when the queue has no room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhenFull {
    /// Wait for room: lossless, and the writer feels the backpressure.
    Block,
    /// Wait at most `wait`, then drop the line as `queue_full`; lines at
    /// or above `protect` wait as in `Block` instead.
    DropNewest {
        wait: Duration,
        protect: Option<Level>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct PipelineConfig {
    pub queue_capacity: usize,
    pub queue_max_bytes: usize,
    pub when_full: WhenFull,
    pub batch_size: usize,
    pub batch_timeout: Duration,
    pub shutdown_timeout: Duration,
    /// Write a marker event where events were dropped.
    pub gap_markers: bool,
}

impl PipelineConfig {
    /// A batch is full at this many bytes: an eighth of the queue's byte
    /// bound, so the few batches in flight stay within the same order of
    /// memory as the queue itself.
    pub(crate) fn batch_max_bytes(&self) -> usize {
        (self.queue_max_bytes / 8).max(64 << 10)
    }

    /// Batches a sink may have waiting: up to a queue's worth, in events
    /// and in bytes (counting each batch at its byte bound), so a sink that
    /// lags (a collector retrying) holds the others back only once it is a
    /// whole queue behind them, and memory stays within twice the queue.
    pub(crate) fn sink_backlog(&self) -> usize {
        let by_events = self.queue_capacity / self.batch_size;
        let by_bytes = self.queue_max_bytes / self.batch_max_bytes();
        by_events.min(by_bytes).max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProgressMode {
    /// When stderr is a terminal the events do not go to.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SummaryFormat {
    Text,
    Json,
    None,
}

#[derive(Debug, Clone)]
pub(crate) struct SummaryConfig {
    pub format: SummaryFormat,
    pub file: Option<PathBuf>,
}

impl Config {
    /// Checks what clap cannot check alone, section by section; the
    /// message becomes a usage error.
    pub(crate) fn from_args(args: Args) -> Result<Config, String> {
        let sinks = sinks::parse(&args.sinks, &args.file_path).map_err(|why| {
            if args.sinks_from_env {
                format!("SHIPPER_SINK: {why}")
            } else {
                why
            }
        })?;
        let pipeline = pipeline(&args)?;
        let envelope = envelope::config(&args)?;
        let filter = filters::filters(&args)?;
        let redact = filters::redaction(&args)?;
        let file = file::options(&args)?;
        let retry = retry::policy(&args)?;
        let http = http::options(&args, &sinks::http_urls(&sinks), retry)?;
        let nats = nats::options(&args, retry, &envelope)?;
        let syslog = syslog::options(&args, retry)?;
        let stats_interval = stats_interval(&args)?;
        let task = task(&args);
        let input = match task {
            Task::Ship => input(&args)?,
            _ => Input::Stdin,
        };
        let split = split(&args, &envelope)?;
        let envelope = match input {
            // Dead letters hold events: each goes again as it is.
            Input::Letters(_) => EnvelopeConfig {
                mode: EnvelopeMode::Raw,
                ..envelope
            },
            _ => envelope,
        };
        Ok(Config {
            task,
            input,
            split,
            envelope,
            pipeline,
            filter,
            redact,
            sinks,
            dead_letter: args.dead_letter.clone(),
            file,
            http,
            nats,
            syslog,
            summary: summary(&args),
            verbose: args.verbose,
            log_format: match args.log_format {
                LogFormatArg::Auto => diagnostics::Format::Auto,
                LogFormatArg::Text => diagnostics::Format::Text,
                LogFormatArg::Json => diagnostics::Format::Json,
            },
            progress: progress(&args),
            stats_interval,
            metrics_addr: args.metrics_addr,
        })
    }
}

/// The line limit and `--multiline`, `--multiline-timeout`,
/// `--multiline-max-lines`.
fn split(args: &Args, envelope: &EnvelopeConfig) -> Result<crate::multiline::Split, String> {
    use crate::multiline::{Mode, Split};
    let mode = Mode::parse(&args.multiline).map_err(|why| format!("--multiline {why}"))?;
    positive("--multiline-max-lines", u64::from(args.multiline_max_lines))?;
    if args.multiline_timeout.is_zero() {
        return Err("--multiline-timeout must be more than 0".into());
    }
    Ok(Split::new(
        envelope.max_line_bytes,
        mode,
        args.multiline_timeout,
        args.multiline_max_lines,
    ))
}

/// The queue, batching and shutdown flags.
fn pipeline(args: &Args) -> Result<PipelineConfig, String> {
    positive("--queue-capacity", args.queue_capacity as u64)?;
    positive("--batch-size", args.batch_size as u64)?;
    positive("--queue-max-bytes", args.queue_max_bytes)?;
    if args.batch_size > MAX_BATCH_SIZE {
        return Err(format!("--batch-size may be at most {MAX_BATCH_SIZE}"));
    }
    let when_full = if args.drop_on_full {
        WhenFull::DropNewest {
            wait: args.backpressure_wait,
            protect: args.protect_level,
        }
    } else {
        WhenFull::Block
    };
    Ok(PipelineConfig {
        queue_capacity: args.queue_capacity,
        queue_max_bytes: usize::try_from(args.queue_max_bytes).unwrap_or(usize::MAX),
        when_full,
        batch_size: args.batch_size,
        batch_timeout: args.batch_timeout,
        shutdown_timeout: args.shutdown_timeout,
        gap_markers: args.gap_markers,
    })
}

/// Shipping, or showing or resetting the checkpoint.
fn task(args: &Args) -> Task {
    match (
        &args.checkpoint,
        args.show_checkpoint,
        args.reset_checkpoint,
    ) {
        (Some(path), Some(show), _) => Task::ShowCheckpoint(
            path.clone(),
            lossy(&args.files),
            match show {
                ShowArg::Text => ShowFormat::Text,
                ShowArg::Json => ShowFormat::Json,
            },
        ),
        (Some(path), _, true) => Task::ResetCheckpoint(path.clone(), lossy(&args.files)),
        _ => Task::Ship,
    }
}

/// `--summary` and `--summary-file`.
fn summary(args: &Args) -> SummaryConfig {
    SummaryConfig {
        format: match args.summary {
            SummaryArg::Text if args.quiet => SummaryFormat::None,
            SummaryArg::Text => SummaryFormat::Text,
            SummaryArg::Json => SummaryFormat::Json,
            SummaryArg::None => SummaryFormat::None,
        },
        file: args.summary_file.clone(),
    }
}

/// `--progress`, which `--quiet` turns off.
fn progress(args: &Args) -> ProgressMode {
    match (args.quiet, args.progress) {
        (true, _) | (_, ProgressArg::Never) => ProgressMode::Never,
        (_, ProgressArg::Auto) => ProgressMode::Auto,
        (_, ProgressArg::Always) => ProgressMode::Always,
    }
}

fn stats_interval(args: &Args) -> Result<Option<Duration>, String> {
    match args.stats_interval {
        Some(interval) if interval.is_zero() => {
            Err("--stats-interval must be longer than 0".into())
        }
        interval => Ok(interval),
    }
}

/// Standard input, or the files named (read once) or followed.
fn input(args: &Args) -> Result<Input, String> {
    let (paths, mode) = match (&args.files, &args.follow) {
        (files, follow) if files.is_empty() && follow.is_empty() => {
            if args.checkpoint.is_some() {
                return Err("--checkpoint keeps positions in files: give FILEs or --follow".into());
            }
            return Ok(Input::Stdin);
        }
        (files, follow)
            if follow.is_empty() && files.iter().any(|file| letter::is_letters(file)) =>
        {
            return letters(args, files);
        }
        (files, follow) if follow.is_empty() => (lossy(files), ReadMode::Once),
        (_, follow) => {
            globs("--follow", follow)?;
            (follow.clone(), ReadMode::Follow)
        }
    };
    if args.glob_interval.is_zero() {
        return Err("--glob-interval must be longer than 0".into());
    }
    Ok(Input::Files(InputConfig {
        paths,
        mode,
        read_from: match args.read_from {
            ReadFromArg::Beginning => ReadFrom::Beginning,
            ReadFromArg::End => ReadFrom::End,
        },
        glob_interval: args.glob_interval,
        poll: args.poll,
        rotate_wait: args.rotate_wait,
        checkpoint: args.checkpoint.clone(),
        exclude: globs("--exclude-file", &args.exclude_file)?,
    }))
}

/// FILEs that are dead-letter files: all of them must be, and their
/// events go again as they were (no envelope is made, so nothing may be
/// added to it), to be sent once (no positions to save).
fn letters(args: &Args, files: &[PathBuf]) -> Result<Input, String> {
    if let Some(other) = files.iter().find(|file| !letter::is_letters(file)) {
        return Err(format!(
            "'{}' is not a dead-letter file while other FILEs are: send dead letters again in \
             a run of their own",
            diagnostics::shown(other)
        ));
    }
    let refused = [
        (args.checkpoint.is_some(), "--checkpoint"),
        (args.strict_envelope, "--strict-envelope"),
        (!args.fields.is_empty(), "--field"),
    ];
    if let Some((_, flag)) = refused.iter().find(|(given, _)| *given) {
        return Err(format!(
            "{flag} does not apply to dead letters sent again: their events go as they were kept"
        ));
    }
    Ok(Input::Letters(lossy(files)))
}

/// Each of `flag`'s values as a glob, or why one is not.
fn globs(flag: &str, values: &[String]) -> Result<Vec<glob::Pattern>, String> {
    values
        .iter()
        .map(|value| {
            glob::Pattern::new(value)
                .map_err(|err| format!("{flag} '{value}' is not a glob: {}", err.msg))
        })
        .collect()
}

fn lossy(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|path| path.to_string_lossy().into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str]) -> Result<Config, String> {
        let args = Args::try_parse_from(std::iter::once("shipper").chain(args.iter().copied()))
            .map_err(|err| err.to_string())?;
        Config::from_args(args)
    }

    #[test]
    fn no_sink_means_stdout() {
        assert_eq!(config(&[]).unwrap().sinks, vec![SinkSpec::Stdout]);
    }

    #[test]
    fn bare_file_sink_uses_file_path() {
        let config = config(&["--sink", "file", "--file-path", "/tmp/a.log"]).unwrap();
        assert_eq!(config.sinks, vec![SinkSpec::File("/tmp/a.log".into())]);
    }

    #[test]
    fn sinks_keep_their_order() {
        let config = config(&["--sink", "file=/tmp/x", "--sink", "stdout"]).unwrap();
        assert_eq!(
            config.sinks,
            vec![SinkSpec::File("/tmp/x".into()), SinkSpec::Stdout]
        );
    }

    #[test]
    fn bad_and_repeated_sinks_are_refused() {
        assert!(
            config(&["--sink", "kafka"])
                .unwrap_err()
                .contains("unknown sink")
        );
        assert!(
            config(&["--sink", "file="])
                .unwrap_err()
                .contains("unknown sink")
        );
        let twice = config(&["--sink", "stdout", "--sink", "stdout"]).unwrap_err();
        assert!(twice.contains("given twice"), "{twice}");
    }

    #[test]
    fn http_sinks_need_an_http_url() {
        let http = config(&["--sink", "http=https://collector:8080/ingest"]).unwrap();
        assert_eq!(
            http.sinks,
            vec![SinkSpec::Http("https://collector:8080/ingest".into())]
        );
        assert!(
            config(&["--sink", "http=ftp://x/y"])
                .unwrap_err()
                .contains("http://")
        );
        assert!(
            config(&["--sink", "http=not a url"])
                .unwrap_err()
                .contains("starts with http://")
        );
        assert!(config(&["--raw", "--http-format", "json"]).is_err());
        let headers = config(&[
            "--http-header",
            "X-Team: core",
            "--http-header",
            "X-Env:prod",
        ])
        .unwrap();
        assert_eq!(
            headers.http.headers,
            [
                ("X-Team".to_owned(), "core".to_owned()),
                ("X-Env".to_owned(), "prod".to_owned())
            ]
        );
        assert!(config(&["--http-header", "no colon"]).is_err());
        let secret = SinkSpec::Http("https://user:pw@collector/ingest?api_key=K3Y".into());
        assert_eq!(
            sink_label(&secret),
            "http=https://collector/ingest (credentials hidden)"
        );
    }

    #[test]
    fn one_authorization_and_timeouts_longer_than_zero() {
        let with_user = "http=http://me:pw@collector/in";
        let header = "Authorization: Basic x";
        for args in [
            &["--sink", with_user, "--http-token", "t"][..],
            &["--sink", with_user, "--http-header", header],
            &["--http-header", header, "--http-token", "t"],
            &["--http-header", header, "--http-header", header],
        ] {
            let error = config(args).unwrap_err();
            assert!(error.contains("one Authorization"), "{args:?}: {error}");
            assert!(!error.contains("pw"), "{error}");
        }
        assert!(config(&["--sink", with_user, "--http-header", "X-Team: a"]).is_ok());
        assert!(config(&["--http-timeout", "0s"]).is_err());
        assert!(config(&["--nats-timeout", "0s"]).is_err());
        assert!(config(&["--batch-timeout", "0s"]).is_ok());
    }

    #[test]
    fn zero_sizes_are_refused() {
        assert!(config(&["--batch-size", "0"]).is_err());
        assert!(config(&["--queue-capacity", "0"]).is_err());
        assert!(config(&["--max-line-bytes", "0"]).is_err());
        assert!(config(&["--batch-size", "100000000000000"]).is_err());
    }

    #[test]
    fn syslog_messages_keep_room_for_their_header() {
        let default = config(&[]).unwrap();
        assert_eq!(default.syslog.max_message, 65536);
        assert_eq!(
            config(&["--syslog-max-message", "8KiB"])
                .unwrap()
                .syslog
                .max_message,
            8192
        );
        let small = config(&["--syslog-max-message", "100"]).unwrap_err();
        assert!(small.contains("from 512 bytes"), "{small}");
        assert_eq!(default.syslog.timeout, Duration::from_secs(10));
        assert!(config(&["--syslog-timeout", "0s"]).is_err());
    }

    #[test]
    fn modes_follow_flags() {
        assert_eq!(config(&[]).unwrap().envelope.mode, EnvelopeMode::BestEffort);
        assert_eq!(
            config(&["--strict-envelope"]).unwrap().envelope.mode,
            EnvelopeMode::Strict
        );
        assert_eq!(config(&["--raw"]).unwrap().envelope.mode, EnvelopeMode::Raw);
        assert!(config(&["--raw", "--strict-envelope"]).is_err());
        let drop = config(&["--drop-on-full", "--backpressure-wait", "5ms"]).unwrap();
        assert_eq!(
            drop.pipeline.when_full,
            WhenFull::DropNewest {
                wait: Duration::from_millis(5),
                protect: None,
            }
        );
        let protecting = config(&["--drop-on-full", "--protect-level", "warn"]).unwrap();
        assert_eq!(
            protecting.pipeline.when_full,
            WhenFull::DropNewest {
                wait: Duration::from_millis(50),
                protect: Some(Level::Warning),
            }
        );
        assert!(
            config(&["--protect-level", "error"]).is_err(),
            "only with --drop-on-full"
        );
        assert!(config(&["--drop-on-full", "--protect-level", "loud"]).is_err());
    }
}
