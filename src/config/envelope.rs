//! How lines become events: the mode, the longest line and the fields
//! added.

use super::checks::{MAX_LINE_LIMIT, positive};
use crate::cli::{Args, FormatArg, LevelFromArg};

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

/// How lines are read (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Auto,
    Json,
    Logfmt,
    Syslog,
    Clf,
    Text,
}

impl Format {
    /// Whether a line is tried as JSON first.
    pub(crate) fn tries_json(self) -> bool {
        matches!(self, Format::Auto | Format::Json)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Json => "json",
            Format::Logfmt => "logfmt",
            Format::Syslog => "syslog",
            Format::Clf => "clf",
            Format::Text => "text",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct EnvelopeConfig {
    pub mode: EnvelopeMode,
    pub format: Format,
    /// Longest line kept whole, in bytes.
    pub max_line_bytes: usize,
    /// `--field KEY=VALUE` pairs added to every event's `data`.
    pub fields: Vec<(String, String)>,
    /// Whether a plain-text line's level may be read from its words
    /// (`--level-from auto`); otherwise it is INFO.
    pub guess_levels: bool,
    /// The members that hold the message, the level and the timestamp,
    /// besides (and before) the names loggers use.
    pub message_key: Option<String>,
    pub level_key: Option<String>,
    pub timestamp_key: Option<String>,
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

/// How lines become events: the mode, the longest line and the fields
/// added.
pub(super) fn config(args: &Args) -> Result<EnvelopeConfig, String> {
    positive("--max-line-bytes", args.max_line_bytes)?;
    if args.max_line_bytes > MAX_LINE_LIMIT {
        return Err(format!(
            "--max-line-bytes may be at most {MAX_LINE_LIMIT} (1GiB)"
        ));
    }
    Ok(EnvelopeConfig {
        mode: match (args.strict_envelope, args.raw) {
            (true, _) => EnvelopeMode::Strict,
            (_, true) => EnvelopeMode::Raw,
            _ => EnvelopeMode::BestEffort,
        },
        max_line_bytes: args.max_line_bytes as usize,
        fields: args.fields.clone(),
        format: match args.format {
            FormatArg::Auto => Format::Auto,
            FormatArg::Json => Format::Json,
            FormatArg::Logfmt => Format::Logfmt,
            FormatArg::Syslog => Format::Syslog,
            FormatArg::Clf => Format::Clf,
            FormatArg::Text => Format::Text,
        },
        guess_levels: args.level_from == LevelFromArg::Auto,
        message_key: args.message_key.clone(),
        level_key: args.level_key.clone(),
        timestamp_key: args.timestamp_key.clone(),
    })
}
