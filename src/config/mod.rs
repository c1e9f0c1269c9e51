//! The validated settings of one run. Nothing past this point sees clap.

pub(crate) mod nats;
pub(crate) mod syslog;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Args, HttpFormatArg, ProgressArg, ReadFromArg, SummaryArg};
use crate::level::Level;
use crate::public_url::{has_secrets, public_url};

/// Longest line the reader accepts as a setting; lines are indexed with u32.
const MAX_LINE_LIMIT: u64 = 1 << 30;
/// Largest batch, in events.
const MAX_BATCH_SIZE: usize = 1_000_000;

#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// What this run does.
    pub task: Task,
    /// Where lines come from.
    pub input: Input,
    /// How lines become events.
    pub envelope: EnvelopeConfig,
    /// Queue, batching and shutdown settings.
    pub pipeline: PipelineConfig,
    /// Sinks in command-line order (the order they open; they close in reverse).
    pub sinks: Vec<SinkSpec>,
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
    ShowCheckpoint(PathBuf, Vec<String>),
    /// Forget the saved positions of these paths, or of all when empty.
    ResetCheckpoint(PathBuf, Vec<String>),
}

/// Where lines come from.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    Stdin,
    /// Files read once or followed.
    Files(InputConfig),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnvelopeMode {
    /// Every line becomes an event; what cannot be read is repaired and flagged.
    BestEffort,
    /// Lines that are not well-formed events are dropped as `invalid`.
    Strict,
    /// Lines are shipped byte for byte, without an envelope.
    Raw,
}

impl EnvelopeMode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            EnvelopeMode::BestEffort => "best-effort",
            EnvelopeMode::Strict => "strict",
            EnvelopeMode::Raw => "raw",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct EnvelopeConfig {
    pub mode: EnvelopeMode,
    /// Longest line kept whole, in bytes.
    pub max_line_bytes: usize,
    /// `--field KEY=VALUE` pairs added to every event's `data`.
    pub fields: Vec<(String, String)>,
}

/// What an envelope adds around a line, at most, escaping aside: the
/// timestamp, level, logger, host, source and repair flags.
const ENVELOPE_OVERHEAD: usize = 1024;

impl EnvelopeConfig {
    /// The most bytes one event can take, escaping aside: the line itself
    /// in raw mode; else the line with the envelope and the `--field`s
    /// around it.
    pub(crate) fn max_event_bytes(&self) -> usize {
        let fields: usize = self
            .fields
            .iter()
            .map(|(key, value)| key.len() + value.len() + 6)
            .sum();
        match self.mode {
            EnvelopeMode::Raw => self.max_line_bytes,
            EnvelopeMode::BestEffort | EnvelopeMode::Strict => {
                self.max_line_bytes + ENVELOPE_OVERHEAD + fields
            }
        }
    }
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

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SinkSpec {
    Stdout,
    File(PathBuf),
    /// An `http://` or `https://` URL, checked.
    Http(String),
    /// JetStream servers and a subject.
    Nats(nats::Target),
    /// A syslog server over TCP or UDP.
    Syslog(syslog::Target),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpFormat {
    Ndjson,
    JsonArray,
}

#[derive(Debug, Clone)]
pub(crate) struct HttpOptions {
    pub format: HttpFormat,
    pub gzip: bool,
    pub headers: Vec<(String, String)>,
    /// Sent as `Authorization: Bearer`; never printed.
    pub token: Option<String>,
    /// Longest one request may take.
    pub timeout: Duration,
    /// A PEM certificate trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    pub retry: RetryPolicy,
}

/// How a network sink retries a batch: exponential backoff with full
/// jitter, within an attempt budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    pub initial: Duration,
    pub max_delay: Duration,
    /// Attempts at one batch, the first included.
    pub max_attempts: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct NatsOptions {
    /// A stream to create for the subject when no stream captures it.
    pub stream: Option<String>,
    pub auth: NatsAuth,
    /// Longest wait for a connection, an answer or a publish ack.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// The longest line kept whole, and the most bytes an event can take
    /// (`EnvelopeConfig::max_event_bytes`), to compare with the server's
    /// `max_payload`.
    pub max_line_bytes: usize,
    pub max_event_bytes: usize,
    /// A private CA trusted for TLS, besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// How a NATS sink proves who it is.
#[derive(Clone)]
pub(crate) enum NatsAuth {
    None,
    UserPassword {
        user: String,
        password: String,
    },
    Token(String),
    /// A `.creds` file: a user JWT and its NKey seed.
    CredsFile(PathBuf),
}

/// Never shows a password or a token, whoever prints the settings.
impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NatsAuth::None => f.write_str("None"),
            NatsAuth::UserPassword { user, .. } => write!(f, "UserPassword({user}, hidden)"),
            NatsAuth::Token(_) => f.write_str("Token(hidden)"),
            NatsAuth::CredsFile(path) => write!(f, "CredsFile({})", path.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SyslogOptions {
    /// APP-NAME of every message.
    pub app_name: String,
    /// Longest message over TCP, in bytes; longer ones are cut and flagged.
    pub max_message: usize,
    /// Longest a TCP connection may take to open, or a write to make
    /// progress.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// A private CA trusted for `tls://` servers, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// The facility of every message (RFC 5424 §6.2.1).
    pub facility: u8,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct FileOptions {
    /// Rotate before a write would take the file past this many bytes.
    pub max_bytes: Option<u64>,
    /// Rotated files kept beside the live one.
    pub max_files: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProgressMode {
    /// When stderr is a terminal.
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
    /// Checks what clap cannot check alone; the message becomes a usage error.
    pub(crate) fn from_args(args: Args) -> Result<Config, String> {
        let sinks = parse_sinks(&args.sinks, &args.file_path)?;
        positive("--queue-capacity", args.queue_capacity as u64)?;
        positive("--batch-size", args.batch_size as u64)?;
        positive("--max-line-bytes", args.max_line_bytes)?;
        positive("--queue-max-bytes", args.queue_max_bytes)?;
        if args.batch_size > MAX_BATCH_SIZE {
            return Err(format!("--batch-size may be at most {MAX_BATCH_SIZE}"));
        }
        if args.max_line_bytes > MAX_LINE_LIMIT {
            return Err(format!(
                "--max-line-bytes may be at most {MAX_LINE_LIMIT} (1GiB)"
            ));
        }
        if args.file_max_bytes == Some(0) {
            return Err("--file-max-bytes must be greater than 0".into());
        }
        if args.file_max_files == 0 {
            // Rotating into no kept file would delete events already
            // counted as processed.
            return Err(
                "--file-max-files must be at least 1: rotation keeps the file it moves aside"
                    .into(),
            );
        }
        positive("--retry-max", u64::from(args.retry_max))?;
        longer_than_zero("--http-timeout", args.http_timeout)?;
        longer_than_zero("--nats-timeout", args.nats_timeout)?;
        check_authorization(&sinks, &args)?;
        check_headers(&args)?;
        check_small_files(&args)?;
        if args
            .stats_interval
            .is_some_and(|interval| interval.is_zero())
        {
            return Err("--stats-interval must be longer than 0".into());
        }
        let format = match args.http_format {
            HttpFormatArg::Ndjson => HttpFormat::Ndjson,
            HttpFormatArg::Json if args.raw => {
                return Err(
                    "--http-format json needs JSON events; it cannot be used with --raw".into(),
                );
            }
            HttpFormatArg::Json => HttpFormat::JsonArray,
        };
        let retry = RetryPolicy {
            initial: args.retry_initial,
            max_delay: args.retry_max_delay,
            max_attempts: args.retry_max,
        };
        let envelope = EnvelopeConfig {
            mode: match (args.strict_envelope, args.raw) {
                (true, _) => EnvelopeMode::Strict,
                (_, true) => EnvelopeMode::Raw,
                _ => EnvelopeMode::BestEffort,
            },
            max_line_bytes: args.max_line_bytes as usize,
            fields: args.fields.clone(),
        };
        let nats = nats_options(&args, retry, &envelope);
        let syslog = syslog_options(&args, retry)?;
        let when_full = if args.drop_on_full {
            WhenFull::DropNewest {
                wait: args.backpressure_wait,
                protect: args.protect_level,
            }
        } else {
            WhenFull::Block
        };
        let task = match (
            &args.checkpoint,
            args.show_checkpoint,
            args.reset_checkpoint,
        ) {
            (Some(path), true, _) => Task::ShowCheckpoint(path.clone(), lossy(&args.files)),
            (Some(path), _, true) => Task::ResetCheckpoint(path.clone(), lossy(&args.files)),
            _ => Task::Ship,
        };
        let input = match task {
            Task::Ship => input(&args)?,
            _ => Input::Stdin,
        };
        Ok(Config {
            task,
            input,
            envelope,
            pipeline: PipelineConfig {
                queue_capacity: args.queue_capacity,
                queue_max_bytes: usize::try_from(args.queue_max_bytes).unwrap_or(usize::MAX),
                when_full,
                batch_size: args.batch_size,
                batch_timeout: args.batch_timeout,
                shutdown_timeout: args.shutdown_timeout,
                gap_markers: args.gap_markers,
            },
            sinks,
            file: FileOptions {
                max_bytes: args.file_max_bytes,
                max_files: args.file_max_files,
            },
            http: HttpOptions {
                format,
                gzip: args.http_gzip,
                headers: args.http_headers,
                token: args.http_token,
                timeout: args.http_timeout,
                ca_file: args.http_ca_file,
                retry,
            },
            nats,
            syslog,
            summary: SummaryConfig {
                format: match args.summary {
                    SummaryArg::Text => SummaryFormat::Text,
                    SummaryArg::Json => SummaryFormat::Json,
                    SummaryArg::None => SummaryFormat::None,
                },
                file: args.summary_file,
            },
            verbose: args.verbose,
            progress: match (args.quiet, args.progress) {
                (true, _) | (_, ProgressArg::Never) => ProgressMode::Never,
                (_, ProgressArg::Auto) => ProgressMode::Auto,
                (_, ProgressArg::Always) => ProgressMode::Always,
            },
            stats_interval: args.stats_interval,
            metrics_addr: args.metrics_addr,
        })
    }
}

/// At most one kind of credentials; clap has refused the others.
fn nats_options(args: &Args, retry: RetryPolicy, envelope: &EnvelopeConfig) -> NatsOptions {
    let auth = match (&args.nats_user, &args.nats_password, &args.nats_token) {
        (Some(user), Some(password), _) => NatsAuth::UserPassword {
            user: user.clone(),
            password: password.clone(),
        },
        (_, _, Some(token)) => NatsAuth::Token(token.clone()),
        _ => match &args.nats_creds {
            Some(path) => NatsAuth::CredsFile(path.clone()),
            None => NatsAuth::None,
        },
    };
    NatsOptions {
        stream: args.nats_stream.clone(),
        auth,
        timeout: args.nats_timeout,
        retry,
        max_line_bytes: envelope.max_line_bytes,
        max_event_bytes: envelope.max_event_bytes(),
        ca_file: args.nats_ca_file.clone(),
    }
}

fn syslog_options(args: &Args, retry: RetryPolicy) -> Result<SyslogOptions, String> {
    let name = &args.syslog_app_name;
    let fits = (1..=syslog::MAX_APP_NAME).contains(&name.len())
        && name.bytes().all(|byte| byte.is_ascii_graphic());
    if !fits {
        return Err(format!(
            "--syslog-app-name '{name}' must be 1 to {} printable ASCII characters without spaces",
            syslog::MAX_APP_NAME
        ));
    }
    if args.syslog_timeout.is_zero() {
        return Err("--syslog-timeout must be longer than 0".into());
    }
    let max_message = args.syslog_max_message;
    if !(syslog::MIN_MESSAGE as u64..=MAX_LINE_LIMIT).contains(&max_message) {
        return Err(format!(
            "--syslog-max-message must be from {} bytes to 1GiB",
            syslog::MIN_MESSAGE
        ));
    }
    Ok(SyslogOptions {
        app_name: name.clone(),
        max_message: max_message as usize,
        timeout: args.syslog_timeout,
        retry,
        ca_file: args.syslog_ca_file.clone(),
        facility: syslog::facility(&args.syslog_facility)
            .map_err(|why| format!("--syslog-facility: {why}"))?,
    })
}

/// A timeout of 0 would fail every request, after `--check-config` had
/// passed it.
fn longer_than_zero(flag: &str, value: Duration) -> Result<(), String> {
    if value.is_zero() {
        Err(format!("{flag} must be longer than 0"))
    } else {
        Ok(())
    }
}

/// An HTTP request carries one `Authorization`: a URL's user and password,
/// `--http-token` and an `Authorization` header would each set it, and one
/// would silently win. More than one for a sink is refused, naming them
/// (never their values).
fn check_authorization(sinks: &[SinkSpec], args: &Args) -> Result<(), String> {
    let mut given = Vec::new();
    for (name, _) in &args.http_headers {
        if name.eq_ignore_ascii_case("authorization") {
            given.push("--http-header 'Authorization: ...'".to_owned());
        }
    }
    if args.http_token.is_some() {
        given.push("--http-token (or SHIPPER_HTTP_TOKEN)".to_owned());
    }
    let mut per_sink = vec![given.clone()];
    for sink in sinks {
        if let SinkSpec::Http(url) = sink
            && has_credentials(url)
        {
            let mut sources = given.clone();
            sources.push(format!("the user and password in '{}'", public_url(url)));
            per_sink.push(sources);
        }
    }
    match per_sink.into_iter().find(|sources| sources.len() > 1) {
        Some(sources) => Err(format!(
            "an HTTP request has one Authorization, and it would come from {}: keep one",
            sources.join(" and from ")
        )),
        None => Ok(()),
    }
}

/// Headers the HTTP client would refuse, refused now: `--check-config`
/// must not pass what every run then fails on. Values are never quoted.
fn check_headers(args: &Args) -> Result<(), String> {
    use reqwest::header::{HeaderName, HeaderValue};
    for (name, value) in &args.http_headers {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(format!(
                "--http-header: '{name}' is not a header name (letters, digits and \
                 !#$%&'*+-.^_`|~ only)"
            ));
        }
        if HeaderValue::from_str(value).is_err() {
            return Err(format!(
                "--http-header: the value of '{name}' holds characters a header \
                 cannot carry (not quoted, as it may be a secret)"
            ));
        }
    }
    if let Some(token) = &args.http_token
        && HeaderValue::from_str(&format!("Bearer {token}")).is_err()
    {
        return Err(
            "--http-token (or SHIPPER_HTTP_TOKEN) holds characters a header \
                    cannot carry (not quoted, as it is a secret)"
                .to_owned(),
        );
    }
    Ok(())
}

/// Largest CA or creds file: PEM certificates and NATS creds take a few
/// kilobytes.
pub(crate) const MAX_KEY_FILE: u64 = 1 << 20;

/// The CA and creds files, checked as `--config` is: regular files (or
/// links to one) of at most `MAX_KEY_FILE`, refused at start rather than
/// hanging on a FIFO or reading a device without end.
fn check_small_files(args: &Args) -> Result<(), String> {
    let files = [
        ("--http-ca-file", &args.http_ca_file),
        ("--nats-ca-file", &args.nats_ca_file),
        ("--syslog-ca-file", &args.syslog_ca_file),
        ("--nats-creds", &args.nats_creds),
    ];
    for (flag, path) in files {
        if let Some(path) = path {
            crate::files::read_bounded(path, MAX_KEY_FILE, true).map_err(|why| {
                format!(
                    "could not read {flag} '{}': {why}",
                    crate::diagnostics::shown(path)
                )
            })?;
        }
    }
    Ok(())
}

/// A URL with a user or a password: reqwest sends them as Basic
/// authorization, over any `Authorization` header.
fn has_credentials(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|url| !url.username().is_empty() || url.password().is_some())
}

fn positive(flag: &str, value: u64) -> Result<(), String> {
    if value == 0 {
        Err(format!("{flag} must be greater than 0"))
    } else {
        Ok(())
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
        (files, follow) if follow.is_empty() => (lossy(files), ReadMode::Once),
        (_, follow) => (follow.clone(), ReadMode::Follow),
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
    }))
}

fn lossy(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|path| path.to_string_lossy().into_owned())
        .collect()
}

/// `stdout`, `file`, `file=PATH`; no sink at all means `stdout`.
fn parse_sinks(specs: &[String], default_file: &std::path::Path) -> Result<Vec<SinkSpec>, String> {
    if specs.is_empty() {
        return Ok(vec![SinkSpec::Stdout]);
    }
    let mut sinks = Vec::with_capacity(specs.len());
    for spec in specs {
        let sink = match spec.split_once('=') {
            None if spec == "stdout" => SinkSpec::Stdout,
            None if spec == "file" => SinkSpec::File(default_file.to_path_buf()),
            Some(("file", path)) if !path.is_empty() => SinkSpec::File(PathBuf::from(path)),
            Some(("http", url)) => SinkSpec::Http(check_url(url)?),
            Some(("nats", url)) => SinkSpec::Nats(nats::Target::parse(url)?),
            Some(("syslog", url)) => SinkSpec::Syslog(syslog::Target::parse(url)?),
            _ => return Err(unknown_sink(spec)),
        };
        sinks.push(sink);
    }
    let mut seen = HashSet::new();
    for sink in &sinks {
        if !seen.insert(sink) {
            return Err(format!(
                "sink '{}' is given twice; each sink may appear once",
                sink_label(sink)
            ));
        }
    }
    Ok(sinks)
}

/// Why `spec` is no sink, quoting only a kind that is a plain word: any
/// other text may be a piece of a URL's password or query.
fn unknown_sink(spec: &str) -> String {
    let expected = "`stdout`, `file`, `file=PATH`, `http=URL`, \
                    `nats=nats://HOST:PORT/SUBJECT` or `syslog=tcp://HOST:PORT`";
    let kind = spec.split_once('=').map_or(spec, |(kind, _)| kind);
    let is_word = !kind.is_empty()
        && kind.len() <= 32
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    if is_word {
        format!("unknown sink '{kind}' (expected {expected})")
    } else {
        format!("a sink is not one of {expected}")
    }
}

fn check_url(url: &str) -> Result<String, String> {
    if !url.contains("://") {
        return Err("an HTTP sink needs a URL that starts with http:// or https://".to_owned());
    }
    let shown = public_url(url);
    let parsed =
        reqwest::Url::parse(url).map_err(|err| format!("'{shown}' is not a URL: {err}"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(url.to_owned()),
        other => Err(format!(
            "'{shown}': an HTTP sink needs http:// or https://, not {other}://"
        )),
    }
}

/// The name a sink goes by in diagnostics and the summary.
pub(crate) fn sink_label(sink: &SinkSpec) -> String {
    match sink {
        SinkSpec::Stdout => "stdout".to_owned(),
        SinkSpec::File(path) => format!("file:{}", path.display()),
        SinkSpec::Http(url) => public_sink_url(url),
        SinkSpec::Nats(target) => target.label(),
        SinkSpec::Syslog(target) => target.label(),
    }
}

/// An HTTP sink's URL fit to print, saying when something was left out.
fn public_sink_url(url: &str) -> String {
    if has_secrets(url) {
        format!("{} (credentials hidden)", public_url(url))
    } else {
        public_url(url)
    }
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
            "https://collector/ingest (credentials hidden)"
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
