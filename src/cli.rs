//! Command-line arguments: the clap definition and nothing else.
//!
//! Every flag can also be set through a `SHIPPER_*` environment variable.
//! `Config::from_args` turns these into a validated, clap-free `Config`;
//! no other module reads arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};

use crate::level::Level;

/// One worked example: what it does, and the commands that do it.
pub(crate) struct Example {
    pub what: &'static str,
    pub commands: &'static [&'static str],
}

/// The examples of `--help` and the man page; `-h` shows the first
/// `SHORT_EXAMPLES`.
pub(crate) const EXAMPLES: &[Example] = &[
    Example {
        what: "Ship a program's output to ./shipper.log",
        commands: &["app | shipper --sink file"],
    },
    Example {
        what: "Follow files across rotation; a restart resumes where delivery stopped",
        commands: &[
            "shipper --follow '/var/log/app/*.log' --checkpoint state.json \\",
            "  --sink http=http://collector:8080/ingest",
        ],
    },
    Example {
        what: "Let a script read what happened",
        commands: &["app | shipper --sink file --summary-file run.json; jq .dropped run.json"],
    },
    Example {
        what: "Ship to a named file and to standard output at once",
        commands: &["app | shipper --sink file=/var/log/app.jsonl --sink stdout"],
    },
    Example {
        what: "Reject anything that is not a well-formed JSON event",
        commands: &["app | shipper --strict-envelope --sink file=events.jsonl"],
    },
    Example {
        what: "Never slow the program down; drop (and count) what does not fit",
        commands: &["app | shipper --drop-on-full --backpressure-wait 10ms --sink file"],
    },
    Example {
        what: "Ship to a collector over HTTP (the token from the environment)",
        commands: &[
            "SHIPPER_HTTP_TOKEN=secret app | shipper --sink http=https://collector:8080/ingest",
        ],
    },
    Example {
        what: "Publish to a NATS JetStream stream, and to a syslog server over TCP",
        commands: &[
            "app | shipper --sink nats=nats://nats-1:4222,nats-2:4222/logs.app",
            "app | shipper --sink syslog=tcp://loghost:514 --syslog-app-name billing",
        ],
    },
    Example {
        what: "Read files once, to their end, and exit",
        commands: &["shipper access.log error.log --sink file=events.jsonl"],
    },
    Example {
        what: "See or forget the saved positions",
        commands: &[
            "shipper --checkpoint state.json --show-checkpoint",
            "shipper --checkpoint state.json --reset-checkpoint /var/log/app/old.log",
        ],
    },
];

/// How many of `EXAMPLES` `-h` shows.
const SHORT_EXAMPLES: usize = 3;

/// shipper's exit statuses and what each means.
pub(crate) const EXIT_STATUSES: &[(u8, &str)] = &[
    (0, "every line read was delivered (or set aside as asked)"),
    (
        1,
        "could not run: an input, a sink or a file of its own failed",
    ),
    (2, "bad usage: a flag, a setting or the config file"),
    (
        3,
        "ran, but dropped some events; the summary says how many and why \
         (a closed stdout stops the reading, and what was read is dropped)",
    ),
    (130, "stopped by SIGINT, after draining"),
    (143, "stopped by SIGTERM, after draining"),
];

/// What the signals shipper handles do.
pub(crate) const SIGNALS: &[(&str, &str)] = &[
    (
        "SIGINT, SIGTERM",
        "stop reading, drain what was read, save the checkpoint, exit",
    ),
    (
        "SIGHUP",
        "reopen the file sinks at their paths (for logrotate); stops nothing",
    ),
];

/// The flags `-h` shows; `--help` shows them all.
const IN_SHORT_HELP: &[&str] = &[
    "files",
    "follow",
    "checkpoint",
    "sinks",
    "strict_envelope",
    "raw",
    "fields",
    "drop_on_full",
    "summary_file",
    "quiet",
    "verbose",
    "config",
    "check_config",
    "help",
    "version",
];

/// The text after the flags in `-h` (`long` false) or `--help`.
fn after_help(long: bool) -> String {
    let shown = if long { EXAMPLES.len() } else { SHORT_EXAMPLES };
    let mut text = String::from("Examples:\n");
    for example in &EXAMPLES[..shown] {
        text.push_str(&format!("  {}:\n", example.what));
        for command in example.commands {
            text.push_str(&format!("    {command}\n"));
        }
        text.push('\n');
    }
    if !long {
        text.push_str("More examples, every flag and the exit statuses: --help, or `man shipper`.");
        return text;
    }
    text.push_str("Exit status:\n");
    for (code, meaning) in EXIT_STATUSES {
        text.push_str(&format!("  {code:<4}{meaning}\n"));
    }
    text.push_str("\nSignals:\n");
    for (signal, effect) in SIGNALS {
        text.push_str(&format!("  {signal}: {effect}\n"));
    }
    text.trim_end().to_owned()
}

/// shipper's command line: the derived definition, with `-h` kept to the
/// main flags and examples.
pub(crate) fn command() -> clap::Command {
    Args::command()
        .after_help(after_help(false))
        .after_long_help(after_help(true))
        .mut_args(|arg| {
            let shown = IN_SHORT_HELP.contains(&arg.get_id().as_str());
            arg.hide_short_help(!shown)
        })
}

/// The help heading of the retry flags, which every network sink shares.
const RETRIES: &str = "Retries (HTTP, NATS and syslog sinks)";
/// The help heading of the NATS and syslog sinks' own flags.
const NATS_SYSLOG: &str = "NATS / syslog sinks";

/// Ship log lines from standard input or files through a bounded pipeline
/// to sinks, and account for every one of them.
#[derive(Debug, Parser)]
#[command(name = "shipper", version, about)]
pub(crate) struct Args {
    /// Files to read once, to their end, instead of standard input. With
    /// --show-checkpoint or --reset-checkpoint: the saved paths to show or
    /// forget.
    #[arg(value_name = "FILE", conflicts_with = "follow")]
    pub files: Vec<PathBuf>,

    /// Follow files like `tail -F`, across rotation and truncation; a
    /// PATTERN may hold globs (quote it); repeatable
    ///
    /// Files are followed by name, and waited for when they do not exist
    /// yet; patterns are expanded again every --glob-interval.
    #[arg(
        short = 'F',
        long,
        value_name = "PATTERN",
        env = "SHIPPER_FOLLOW",
        help_heading = "Input"
    )]
    pub follow: Vec<String>,

    /// Where to start in a file seen for the first time, when the run
    /// starts: `beginning` or `end`. Files that appear later, and files in
    /// the checkpoint, are read from their beginning or saved position.
    #[arg(
        long,
        value_enum,
        value_name = "WHERE",
        default_value = "beginning",
        env = "SHIPPER_READ_FROM",
        help_heading = "Input"
    )]
    pub read_from: ReadFromArg,

    /// Save how far each file was delivered to this file, and resume from
    /// it when shipper starts again (at-least-once across restarts).
    #[arg(
        long,
        value_name = "PATH",
        env = "SHIPPER_CHECKPOINT",
        help_heading = "Input"
    )]
    pub checkpoint: Option<PathBuf>,

    /// Print the positions saved in --checkpoint (of the FILEs given, or
    /// all), and exit: a table, or one JSON object with
    /// `--show-checkpoint=json` (see docs/summary.md).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "text",
        requires = "checkpoint",
        help_heading = "Input"
    )]
    pub show_checkpoint: Option<ShowArg>,

    /// Forget the positions saved in --checkpoint for the FILEs given (as
    /// --show-checkpoint names them), or for every file; then exit.
    #[arg(
        long,
        requires = "checkpoint",
        conflicts_with = "show_checkpoint",
        help_heading = "Input"
    )]
    pub reset_checkpoint: bool,

    /// How often --follow patterns are expanded again for new files.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, env = "SHIPPER_GLOB_INTERVAL", help_heading = "Input")]
    pub glob_interval: Duration,

    /// How long a file renamed away (rotated) is still read, so the lines
    /// written just before the rotation are not lost.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, env = "SHIPPER_ROTATE_WAIT", help_heading = "Input")]
    pub rotate_wait: Duration,

    /// Look at followed files every 250ms instead of being told of changes
    /// by inotify (for network filesystems).
    #[arg(long, env = "SHIPPER_POLL", help_heading = "Input")]
    pub poll: bool,

    /// Leave files out of every --follow pattern's expansion: a glob
    /// matched against each file's name and its whole path (`'*.bak'`,
    /// `'/var/log/app/debug-*'`). Compressed files are always left out.
    /// Repeatable.
    #[arg(
        long = "exclude-file",
        value_name = "GLOB",
        env = "SHIPPER_EXCLUDE_FILE",
        help_heading = "Input"
    )]
    pub exclude_file: Vec<String>,

    /// Where events go: `stdout`, `file[=PATH]`, `http=URL`,
    /// `nats=URL/SUBJECT`, `syslog=URL`, `elasticsearch=URL/INDEX`,
    /// `opensearch=URL/INDEX`, `otlp=URL`, `loki=URL` or `splunk=URL`;
    /// repeat for several [default: stdout]
    ///
    /// `file` alone writes --file-path. NATS publishes to JetStream and
    /// takes several servers: `nats=nats://HOST:PORT[,HOST:PORT...]/SUBJECT`.
    /// syslog takes `tcp://HOST:PORT`, `tls://` or `udp://`. Each event goes
    /// to every sink. SHIPPER_SINK lists sinks split at each comma that
    /// starts a sink kind.
    #[arg(
        long = "sink",
        value_name = "SINK",
        value_parser = offered(&SINK_VALUES, any_text),
        hide_possible_values = true,
        env = "SHIPPER_SINK",
        help_heading = "Sinks"
    )]
    pub sinks: Vec<String>,

    /// The sinks came from SHIPPER_SINK: errors about them name it.
    #[arg(skip)]
    pub sinks_from_env: bool,

    /// Keep every event a sink gives up on (its retries spent, or turned
    /// away by the collector) in this file, one JSON line each with the
    /// sink, the reason and the event byte for byte, made durable before
    /// the checkpoint moves past it. Give the file as FILE to send its
    /// events again.
    #[arg(
        long,
        value_name = "PATH",
        env = "SHIPPER_DEAD_LETTER",
        help_heading = "Sinks"
    )]
    pub dead_letter: Option<PathBuf>,

    /// Path written by a bare `--sink file`.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "shipper.log",
        env = "SHIPPER_FILE_PATH",
        help_heading = "Sinks"
    )]
    pub file_path: PathBuf,

    /// Rotate a file sink before it would grow past this size
    /// (`100MiB`, `1G`, `65536`). No rotation when unset.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, env = "SHIPPER_FILE_MAX_BYTES", help_heading = "Sinks")]
    pub file_max_bytes: Option<u64>,

    /// How many rotated files (`PATH.1` … `PATH.N`) a file sink keeps.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 5,
        env = "SHIPPER_FILE_MAX_FILES",
        help_heading = "Sinks"
    )]
    pub file_max_files: usize,

    /// How an HTTP sink sends a batch: `ndjson` (one event a line) or
    /// `json` (one array).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "ndjson",
        env = "SHIPPER_HTTP_FORMAT",
        help_heading = "HTTP sinks"
    )]
    pub http_format: HttpFormatArg,

    /// Compress HTTP request bodies with gzip.
    #[arg(long, env = "SHIPPER_HTTP_GZIP", help_heading = "HTTP sinks")]
    pub http_gzip: bool,

    /// Add a header to every HTTP request, `Name: value` (repeatable).
    #[arg(long = "http-header", value_name = "HEADER", value_parser = HeaderParser, env = "SHIPPER_HTTP_HEADER", hide_env_values = true, value_delimiter = '\n', help_heading = "HTTP sinks")]
    pub http_headers: Vec<(String, String)>,

    /// Bearer token sent as `Authorization`; set it through the
    /// environment so that it never shows in the process list.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SHIPPER_HTTP_TOKEN",
        hide_env_values = true,
        help_heading = "HTTP sinks"
    )]
    pub http_token: Option<String>,

    /// Longest one HTTP request may take, answer included.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, env = "SHIPPER_HTTP_TIMEOUT", help_heading = "HTTP sinks")]
    pub http_timeout: Duration,

    /// Trust this PEM certificate (a private CA) as well as the system's.
    #[arg(
        long,
        value_name = "PATH",
        env = "SHIPPER_HTTP_CA_FILE",
        help_heading = "HTTP sinks"
    )]
    pub http_ca_file: Option<PathBuf>,

    /// An Elasticsearch or OpenSearch API key (the encoded `id:key`), sent
    /// as `Authorization: ApiKey`; set it through the environment.
    #[arg(
        long,
        value_name = "KEY",
        env = "SHIPPER_ES_API_KEY",
        hide_env_values = true,
        help_heading = "Collector sinks"
    )]
    pub es_api_key: Option<String>,

    /// How the OTLP sink encodes a request: `protobuf` or `json`.
    #[arg(
        long,
        value_enum,
        value_name = "ENCODING",
        default_value = "protobuf",
        env = "SHIPPER_OTLP_ENCODING",
        help_heading = "Collector sinks"
    )]
    pub otlp_encoding: OtlpEncodingArg,

    /// The `service.name` the OTLP sink gives its logs [default: the
    /// value of `--field service=...`, else `shipper`].
    #[arg(
        long,
        value_name = "NAME",
        env = "SHIPPER_OTLP_SERVICE",
        help_heading = "Collector sinks"
    )]
    pub otlp_service: Option<String>,

    /// A label every Loki stream carries, KEY=VALUE (repeatable); `level`
    /// is added from each event.
    #[arg(long = "loki-label", value_name = "KEY=VALUE", value_parser = parse_field, env = "SHIPPER_LOKI_LABEL", value_delimiter = ',', help_heading = "Collector sinks")]
    pub loki_labels: Vec<(String, String)>,

    /// The Splunk HTTP Event Collector token, sent as `Authorization:
    /// Splunk`; set it through the environment.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SHIPPER_SPLUNK_TOKEN",
        hide_env_values = true,
        help_heading = "Collector sinks"
    )]
    pub splunk_token: Option<String>,

    /// The `sourcetype` of the events the Splunk sink sends.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "_json",
        env = "SHIPPER_SPLUNK_SOURCETYPE",
        help_heading = "Collector sinks"
    )]
    pub splunk_sourcetype: String,

    /// First wait before a network sink (HTTP, NATS, syslog) retries a
    /// failed write; it doubles each time.
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = parse_duration, env = "SHIPPER_RETRY_INITIAL", help_heading = RETRIES)]
    pub retry_initial: Duration,

    /// Longest wait between two attempts (Retry-After included).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, env = "SHIPPER_RETRY_MAX_DELAY", help_heading = RETRIES)]
    pub retry_max_delay: Duration,

    /// Attempts at one batch before it is given up as `sink_error`.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        env = "SHIPPER_RETRY_MAX",
        help_heading = RETRIES
    )]
    pub retry_max: u32,

    /// Create this JetStream stream (file storage, capturing the NATS sink's
    /// subject) when no stream captures the subject yet.
    #[arg(
        long,
        value_name = "NAME",
        env = "SHIPPER_NATS_STREAM",
        help_heading = NATS_SYSLOG
    )]
    pub nats_stream: Option<String>,

    /// User name for NATS, with --nats-password.
    #[arg(
        long,
        value_name = "USER",
        env = "SHIPPER_NATS_USER",
        requires = "nats_password",
        help_heading = NATS_SYSLOG
    )]
    pub nats_user: Option<String>,

    /// Password for NATS; set it through the environment so that it never
    /// shows in the process list.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "SHIPPER_NATS_PASSWORD",
        hide_env_values = true,
        requires = "nats_user",
        help_heading = NATS_SYSLOG
    )]
    pub nats_password: Option<String>,

    /// Token for NATS; set it through the environment.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SHIPPER_NATS_TOKEN",
        hide_env_values = true,
        conflicts_with_all = ["nats_user", "nats_creds"],
        help_heading = NATS_SYSLOG
    )]
    pub nats_token: Option<String>,

    /// A NATS credentials file (user JWT and NKey seed).
    #[arg(
        long,
        value_name = "PATH",
        env = "SHIPPER_NATS_CREDS",
        conflicts_with = "nats_user",
        help_heading = NATS_SYSLOG
    )]
    pub nats_creds: Option<PathBuf>,

    /// For NATS over TLS (`nats=tls://`, or a server that requires it):
    /// trust this PEM certificate (a private CA) as well as the system's.
    #[arg(
        long,
        value_name = "PATH",
        env = "SHIPPER_NATS_CA_FILE",
        help_heading = NATS_SYSLOG
    )]
    pub nats_ca_file: Option<PathBuf>,

    /// Longest wait for NATS to connect, answer, or acknowledge a publish;
    /// an event not acknowledged by then is published again.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration, env = "SHIPPER_NATS_TIMEOUT", help_heading = NATS_SYSLOG)]
    pub nats_timeout: Duration,

    /// APP-NAME of the syslog messages.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "shipper",
        env = "SHIPPER_SYSLOG_APP_NAME",
        help_heading = NATS_SYSLOG
    )]
    pub syslog_app_name: String,

    /// Facility of the syslog messages: user, daemon, local0 to local7...
    /// (RFC 5424's, by the names servers give them).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "user",
        value_parser = offered(&SYSLOG_FACILITIES, any_text),
        hide_possible_values = true,
        env = "SHIPPER_SYSLOG_FACILITY",
        help_heading = NATS_SYSLOG
    )]
    pub syslog_facility: String,

    /// Longest syslog message sent over TCP, its octet count aside: longer
    /// ones are cut and flagged. The default is syslog-ng's `log_msg_size`,
    /// past which it closes the connection. (Over UDP, 2048 bytes.)
    #[arg(long, value_name = "SIZE", default_value = "64KiB", value_parser = parse_size, env = "SHIPPER_SYSLOG_MAX_MESSAGE", help_heading = NATS_SYSLOG)]
    pub syslog_max_message: u64,

    /// Longest a syslog server may take to accept a TCP connection, or to
    /// take any of a batch's data; then the connection is dropped and the
    /// batch sent again on a new one (as the --retry-* flags allow).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, env = "SHIPPER_SYSLOG_TIMEOUT", help_heading = NATS_SYSLOG)]
    pub syslog_timeout: Duration,

    /// For `syslog=tls://` servers: trust this PEM certificate (a private
    /// CA) as well as the system's.
    #[arg(
        long,
        value_name = "PATH",
        env = "SHIPPER_SYSLOG_CA_FILE",
        help_heading = NATS_SYSLOG
    )]
    pub syslog_ca_file: Option<PathBuf>,

    /// Reject (and count as `invalid`) any line that is not a well-formed
    /// JSON event, instead of wrapping it as best it can.
    #[arg(
        long,
        env = "SHIPPER_STRICT_ENVELOPE",
        conflicts_with = "raw",
        help_heading = "Envelope"
    )]
    pub strict_envelope: bool,

    /// Ship each line byte for byte, without an envelope.
    #[arg(long, env = "SHIPPER_RAW", help_heading = "Envelope")]
    pub raw: bool,

    /// Add KEY=VALUE to every event's `data` (repeatable; the input's own
    /// keys win). Not with --raw, which has no `data`.
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = parse_field, conflicts_with = "raw", env = "SHIPPER_FIELD", value_delimiter = ',', help_heading = "Envelope")]
    pub fields: Vec<(String, String)>,

    /// How lines are read: `auto` tells each line's format by its first
    /// bytes (JSON, syslog, an access log, logfmt, else plain text with
    /// the header applications print); a named format reads every line so,
    /// and a line that is not in it is read as plain text (strict mode:
    /// dropped as `invalid`).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "auto",
        env = "SHIPPER_FORMAT",
        help_heading = "Envelope"
    )]
    pub format: FormatArg,

    /// The member of a JSON line that holds its message, read before the
    /// names loggers use (`message`, `msg`, `@m`, `MESSAGE`...).
    #[arg(
        long,
        value_name = "NAME",
        env = "SHIPPER_MESSAGE_KEY",
        help_heading = "Envelope"
    )]
    pub message_key: Option<String>,

    /// The member of a JSON line that holds its level, read before the
    /// names loggers use (`level`, `severity`, `levelname`, `@l`...).
    #[arg(
        long,
        value_name = "NAME",
        env = "SHIPPER_LEVEL_KEY",
        help_heading = "Envelope"
    )]
    pub level_key: Option<String>,

    /// The member of a JSON line that holds its time, read before the
    /// names loggers use (`timestamp`, `time`, `ts`, `@timestamp`...).
    #[arg(
        long,
        value_name = "NAME",
        env = "SHIPPER_TIMESTAMP_KEY",
        help_heading = "Envelope"
    )]
    pub timestamp_key: Option<String>,

    /// Where a plain-text line's level comes from: `auto` reads a level
    /// word where loggers put it (`ERROR ...`, `[warn]`, `level=info`,
    /// after the leading time), never inside a path or another word;
    /// `none` leaves such lines at INFO. The level a line's header or JSON
    /// member states counts either way.
    #[arg(
        long,
        value_enum,
        value_name = "FROM",
        default_value = "auto",
        env = "SHIPPER_LEVEL_FROM",
        help_heading = "Envelope"
    )]
    pub level_from: LevelFromArg,

    /// Longest line kept whole; longer lines are cut (best-effort) or
    /// rejected (strict), and memory never grows past this bound.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size, env = "SHIPPER_MAX_LINE_BYTES", help_heading = "Input")]
    pub max_line_bytes: u64,

    /// How lines join into multi-line events: `auto` joins the stack
    /// traces of Python, the JVM, Node, Go and Rust, and lines indented
    /// under a line that is not, into the event of the line they belong
    /// to; `off` makes every line an event; `start=REGEX`: a line matching
    /// starts an event and the others continue it; `continue=REGEX`: a
    /// line matching continues the event before it. JSON lines are never
    /// joined.
    #[arg(
        long,
        value_name = "MODE",
        default_value = "auto",
        env = "SHIPPER_MULTILINE",
        help_heading = "Input"
    )]
    pub multiline: String,

    /// How long a multi-line event waits for its next line before it
    /// ships.
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = parse_duration, env = "SHIPPER_MULTILINE_TIMEOUT", help_heading = "Input")]
    pub multiline_timeout: Duration,

    /// Most lines one multi-line event holds: past them it is cut
    /// (flagged `truncated`) and the rest goes on in an event of its own.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 500,
        env = "SHIPPER_MULTILINE_MAX_LINES",
        help_heading = "Input"
    )]
    pub multiline_max_lines: u32,

    /// How many events the queue holds before intake waits (or drops).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000,
        env = "SHIPPER_QUEUE_CAPACITY",
        help_heading = "Pipeline"
    )]
    pub queue_capacity: usize,

    /// How many bytes of lines the queue holds, whatever their number.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = parse_size, env = "SHIPPER_QUEUE_MAX_BYTES", help_heading = "Pipeline")]
    pub queue_max_bytes: u64,

    /// When the queue is full, drop new lines (counted `queue_full`)
    /// instead of making the writer wait.
    #[arg(long, env = "SHIPPER_DROP_ON_FULL", help_heading = "Pipeline")]
    pub drop_on_full: bool,

    /// With --drop-on-full: how long a line waits for room before it is
    /// dropped.
    #[arg(long, value_name = "DURATION", default_value = "50ms", value_parser = parse_duration, env = "SHIPPER_BACKPRESSURE_WAIT", help_heading = "Pipeline")]
    pub backpressure_wait: Duration,

    /// With --drop-on-full: lines at or above this level wait for room
    /// instead of being dropped.
    #[arg(long, value_name = "LEVEL", value_parser = offered(&LEVELS, parse_level), requires = "drop_on_full", env = "SHIPPER_PROTECT_LEVEL", help_heading = "Pipeline")]
    pub protect_level: Option<Level>,

    /// After events were dropped, write one event into the stream saying
    /// how many and why, where they would have been.
    #[arg(long, env = "SHIPPER_GAP_MARKERS", help_heading = "Pipeline")]
    pub gap_markers: bool,

    /// Set aside events below this level (counted `filtered`, reason
    /// `level`; never dropped).
    #[arg(long, value_name = "LEVEL", value_parser = offered(&LEVELS, parse_level), env = "SHIPPER_MIN_LEVEL", help_heading = FILTERS)]
    pub min_level: Option<Level>,

    /// Ship only events whose message matches one of these patterns
    /// (repeatable; Rust regex syntax).
    #[arg(long, value_name = "REGEX", env = "SHIPPER_INCLUDE", value_delimiter = '\n', help_heading = FILTERS)]
    pub include: Vec<String>,

    /// Set aside events whose message matches any of these patterns
    /// (repeatable).
    #[arg(long, value_name = "REGEX", env = "SHIPPER_EXCLUDE", value_delimiter = '\n', help_heading = FILTERS)]
    pub exclude: Vec<String>,

    /// Keep one event in N of each source (the first, then every Nth).
    #[arg(long, value_name = "N", env = "SHIPPER_SAMPLE", help_heading = FILTERS)]
    pub sample: Option<u64>,

    /// Ship at most N events a second from each source, with a burst of
    /// N; the rest are set aside (`N/s` or `N`).
    #[arg(long, value_name = "N/s", value_parser = parse_rate, env = "SHIPPER_RATE_LIMIT", help_heading = FILTERS)]
    pub rate_limit: Option<u32>,

    /// What to hide in every line before it ships: `credentials` (secret
    /// keys' values, tokens and keys by their shapes, private keys, URL
    /// passwords), `pii` (e-mail addresses, card numbers, IBANs), or
    /// `none`.
    #[arg(long, value_enum, value_name = "PRESET", default_value = "credentials", value_delimiter = ',', env = "SHIPPER_REDACT", help_heading = FILTERS)]
    pub redact: Vec<RedactArg>,

    /// Also hide the value of this key, in JSON members and `key=value`
    /// pairs, in any case (repeatable).
    #[arg(long, value_name = "NAME", env = "SHIPPER_REDACT_KEY", value_delimiter = ',', help_heading = FILTERS)]
    pub redact_key: Vec<String>,

    /// Also hide what this pattern matches: its first group if it has
    /// one, else the whole match (repeatable).
    #[arg(long, value_name = "REGEX", env = "SHIPPER_REDACT_PATTERN", value_delimiter = '\n', help_heading = FILTERS)]
    pub redact_pattern: Vec<String>,

    /// Write a keyed hash of each hidden value (HMAC-SHA256 with this key,
    /// 16 hex digits) instead of [REDACTED], so equal values still match.
    #[arg(long, value_name = "KEY", env = "SHIPPER_REDACT_HASH", hide_env_values = true, help_heading = FILTERS)]
    pub redact_hash: Option<String>,

    /// Most events in one batch.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 256,
        env = "SHIPPER_BATCH_SIZE",
        help_heading = "Pipeline"
    )]
    pub batch_size: usize,

    /// Longest a partly filled batch waits before it is written.
    #[arg(long, value_name = "DURATION", default_value = "250ms", value_parser = parse_duration, env = "SHIPPER_BATCH_TIMEOUT", help_heading = "Pipeline")]
    pub batch_timeout: Duration,

    /// Longest the drain may take once input ends or a signal arrives;
    /// what is still in flight then is counted `shutdown_timeout`.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration, env = "SHIPPER_SHUTDOWN_TIMEOUT", help_heading = "Pipeline")]
    pub shutdown_timeout: Duration,

    /// How the drain summary is printed on stderr at exit.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "text",
        env = "SHIPPER_SUMMARY",
        help_heading = "Output"
    )]
    pub summary: SummaryArg,

    /// Also write the summary as JSON to this file.
    #[arg(
        long,
        value_name = "PATH",
        env = "SHIPPER_SUMMARY_FILE",
        help_heading = "Output"
    )]
    pub summary_file: Option<PathBuf>,

    /// A status line on stderr while running: `auto` shows it when stderr
    /// is a terminal that stdout does not write the events to.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        env = "SHIPPER_PROGRESS",
        help_heading = "Output"
    )]
    pub progress: ProgressArg,

    /// Quiet: no status line and no text summary (a JSON summary, the
    /// summary file, warnings and errors are still written).
    #[arg(short, long, env = "SHIPPER_QUIET", help_heading = "Output")]
    pub quiet: bool,

    /// How shipper's own warnings and errors are written on stderr: `auto`
    /// writes text to a terminal and JSON lines elsewhere.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "auto",
        env = "SHIPPER_LOG_FORMAT",
        help_heading = "Output"
    )]
    pub log_format: LogFormatArg,

    /// While running, write the summary's figures so far to stderr as one
    /// JSON line (`"type":"stats"`) at this interval.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "SHIPPER_STATS_INTERVAL", help_heading = "Output")]
    pub stats_interval: Option<Duration>,

    /// While running, serve the counters in the Prometheus text format on
    /// http://HOST:PORT/metrics.
    #[arg(
        long,
        value_name = "HOST:PORT",
        env = "SHIPPER_METRICS_ADDR",
        help_heading = "Output"
    )]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// Also report routine events on stderr: sinks opened and closed, and
    /// every retry of a network sink (its attempt, wait and reason).
    #[arg(short, long, env = "SHIPPER_VERBOSE", help_heading = "Output")]
    pub verbose: bool,

    /// Read settings from this TOML file, keyed by the long flags
    ///
    /// One key per long flag, e.g. `batch-size = 512`; the environment and
    /// the command line win over it.
    #[arg(
        long,
        value_name = "FILE",
        env = "SHIPPER_CONFIG",
        help_heading = "Output"
    )]
    pub config: Option<PathBuf>,

    /// Check the settings (flags, environment, config file) and exit.
    #[arg(long, help_heading = "Output")]
    pub check_config: bool,

    /// Print the settings in effect (config file, environment and flags
    /// merged) as a config file, secrets hidden, and exit.
    #[arg(long, help_heading = "Output")]
    pub print_config: bool,

    /// Print the man page or a shell's completions, and exit.
    #[arg(long, value_enum, value_name = "WHAT", hide = true)]
    pub generate: Option<Generate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReadFromArg {
    /// From the first byte.
    Beginning,
    /// From the end: only lines written from now on.
    End,
}

/// What `--generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Generate {
    Man,
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

impl Args {
    /// `argv` parsed (exiting on a usage error), with a `SHIPPER_SINK`
    /// list split into its sinks. A `--sink` value or a config file's item
    /// is one sink whole: a URL's password or query may hold a comma.
    pub(crate) fn try_parse_argv(argv: Vec<std::ffi::OsString>) -> Result<Args, clap::Error> {
        let matches = command().try_get_matches_from(argv)?;
        let mut args = Args::from_arg_matches(&matches)?;
        if matches.value_source("sinks") == Some(clap::parser::ValueSource::EnvVariable) {
            args.sinks = args
                .sinks
                .iter()
                .flat_map(|list| split_sinks(list))
                .collect();
            args.sinks_from_env = true;
        }
        Ok(args)
    }
}

/// The facilities of RFC 5424 §6.2.1, by the names syslog servers give
/// them, in code order (`kern` is 0, `local7` 23).
pub(crate) const SYSLOG_FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// The levels offered to completions (`Level::parse` takes more names).
const LEVELS: [&str; 5] = ["debug", "info", "warning", "error", "critical"];

/// The help heading of the filter and redaction flags.
const FILTERS: &str = "Filters and redaction";

/// A redaction preset of `--redact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RedactArg {
    /// Secret keys' values, tokens, keys, private keys, URL passwords.
    Credentials,
    /// E-mail addresses, card numbers (Luhn), IBANs (checksum).
    Pii,
    /// Hide nothing.
    None,
}

/// `--rate-limit`: `N/s` or `N`, N at least 1.
fn parse_rate(text: &str) -> Result<u32, String> {
    let number = text.trim().strip_suffix("/s").unwrap_or(text.trim());
    match number.parse::<u32>() {
        Ok(rate) if rate > 0 => Ok(rate),
        _ => Err(format!(
            "'{text}' is not a rate (try `100/s`: events a second, at least 1)"
        )),
    }
}

/// What completions offer after `--sink`.
const SINK_VALUES: [&str; 11] = [
    "stdout",
    "file",
    "file=",
    "http=",
    "nats=",
    "syslog=",
    "elasticsearch=",
    "opensearch=",
    "otlp=",
    "loki=",
    "splunk=",
];

/// A value parser that offers `values` to completions and help, and leaves
/// the checking to `parse`: for flags whose values have aliases, or are
/// open (a sink's URL).
#[derive(Clone, Copy)]
struct Offered<T> {
    values: &'static [&'static str],
    parse: fn(&str) -> Result<T, String>,
}

fn offered<T>(values: &'static [&'static str], parse: fn(&str) -> Result<T, String>) -> Offered<T> {
    Offered { values, parse }
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Offered<T> {
    type Value = T;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        self.parse.parse_ref(command, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.values
                .iter()
                .copied()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

fn any_text(text: &str) -> Result<String, String> {
    Ok(text.to_owned())
}

/// How a sink with a value starts.
const SINK_KINDS: [&str; 9] = [
    "file=",
    "http=",
    "nats=",
    "syslog=",
    "elasticsearch=",
    "opensearch=",
    "otlp=",
    "loki=",
    "splunk=",
];

/// Sinks without a value.
const BARE_SINKS: [&str; 2] = ["stdout", "file"];

/// `list` split at each comma followed by a sink kind, so that commas
/// inside a URL (a query, a password, NATS's server list) stay.
fn split_sinks(list: &str) -> Vec<String> {
    let mut sinks = Vec::new();
    let mut start = 0;
    for (at, _) in list.match_indices(',') {
        if starts_a_sink(&list[at + 1..]) {
            sinks.push(list[start..at].to_owned());
            start = at + 1;
        }
    }
    sinks.push(list[start..].to_owned());
    sinks
}

fn starts_a_sink(rest: &str) -> bool {
    SINK_KINDS.iter().any(|kind| rest.starts_with(kind))
        || BARE_SINKS.iter().any(|kind| {
            rest.strip_prefix(kind)
                .is_some_and(|after| after.is_empty() || after.starts_with(','))
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HttpFormatArg {
    /// One event a line (`application/x-ndjson`).
    Ndjson,
    /// One JSON array of events (`application/json`).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OtlpEncodingArg {
    /// Protocol buffers (`application/x-protobuf`).
    Protobuf,
    /// OTLP's JSON mapping (`application/json`).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProgressArg {
    /// When stderr is a terminal the events do not go to.
    Auto,
    /// Wherever stderr goes, the terminal of the events included.
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// Each line's own, told by its first bytes.
    Auto,
    /// JSON objects, with the names JSON loggers use.
    Json,
    /// `key=value` pairs.
    Logfmt,
    /// RFC 5424 and RFC 3164 (BSD) syslog, and syslog daemons' files.
    Syslog,
    /// The common and combined log formats of web servers.
    Clf,
    /// Plain text, with the header applications print.
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LevelFromArg {
    /// The level word where loggers put it.
    Auto,
    /// INFO, whatever the words.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormatArg {
    /// Text when stderr is a terminal, JSON lines otherwise.
    Auto,
    /// `shipper: warning: ...`, for a person.
    Text,
    /// One JSON object a line, for a program.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ShowArg {
    /// A table for a person.
    Text,
    /// One JSON object.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SummaryArg {
    /// One or two lines for a person.
    Text,
    /// One JSON object.
    Json,
    /// Nothing.
    None,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("{err} (try `250ms`, `10s`, `1m`)"))
}

/// Parses `65536`, `64KiB`, `64k`, `16MiB`, `16M`, `1GiB`: binary units,
/// since they bound memory and files.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size (try `65536`, `64KiB`, `16MiB`)"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit '{other}' (use KiB, MiB or GiB)")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("'{text}' is too large"))
}

fn parse_level(text: &str) -> Result<Level, String> {
    Level::parse(text).ok_or_else(|| {
        format!("unknown level '{text}' (use debug, info, warning, error or critical)")
    })
}

/// Reads `Name: value`. Not a plain function: clap quotes the value a
/// function refuses, and a header may carry a secret.
#[derive(Debug, Clone, Copy)]
struct HeaderParser;

impl clap::builder::TypedValueParser for HeaderParser {
    type Value = (String, String);

    fn parse_ref(
        &self,
        _command: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let header = value.to_str().and_then(|text| text.split_once(':'));
        match header {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_owned(), value.trim().to_owned()))
            }
            _ => Err(clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                "invalid value for '--http-header <HEADER>': not `Name: value` \
                 (try `X-Team: core`); not quoted, as it may hold a secret\n",
            )),
        }
    }
}

fn parse_field(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("'{text}' is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_list_splits_only_where_a_sink_starts() {
        assert_eq!(
            split_sinks("stdout,file,file=a,b.log,http=http://h/x?t=a,b&k=v,nats=nats://a:1,b:2/s"),
            [
                "stdout",
                "file",
                "file=a,b.log",
                "http=http://h/x?t=a,b&k=v",
                "nats=nats://a:1,b:2/s"
            ]
        );
        assert_eq!(
            split_sinks("http=http://u:p,stdoutx@h/"),
            ["http=http://u:p,stdoutx@h/"]
        );
    }

    #[test]
    fn verify_args() {
        command().debug_assert();
    }

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }

    #[test]
    fn fields_need_a_key() {
        assert_eq!(parse_field("env=prod"), Ok(("env".into(), "prod".into())));
        assert_eq!(parse_field("note=a=b"), Ok(("note".into(), "a=b".into())));
        assert!(parse_field("=x").is_err());
        assert!(parse_field("novalue").is_err());
    }
}
