//! What JSON loggers call the envelope's members, and how they write a
//! level: fapilog's and the common names (`time`, `msg`), pino and
//! bunyan, python-json-logger, Serilog's compact form, ECS, Go's slog and
//! zap, Monolog, GELF, Google Cloud's `severity` and journald's export.

use super::fields::{Raw, as_str};
use super::{Invalid, Role};
use crate::level::{Finer, Level};

/// The role a usual name gives a member, and its rank within the role
/// (lower wins): where a line has several names of one role, the best
/// wins and the rest go under `data`. A `match`, not a table: the compiler
/// turns it into a switch on the length and a comparison or two, and it
/// runs for every member of every JSON line.
fn usual(key: &str) -> Option<(Role, u8)> {
    Some(match key {
        "timestamp" => (Role::Timestamp, 1),
        "time" => (Role::Timestamp, 2),
        "ts" => (Role::Timestamp, 3),
        "@timestamp" => (Role::Timestamp, 4),
        // Serilog's compact form.
        "@t" => (Role::Timestamp, 5),
        // log4j2's JSON layout, Monolog.
        "timeMillis" => (Role::Timestamp, 6),
        "datetime" => (Role::Timestamp, 7),
        // journald: when the program logged, then when journald received it.
        "_SOURCE_REALTIME_TIMESTAMP" => (Role::Timestamp, 8),
        "__REALTIME_TIMESTAMP" => (Role::Timestamp, 9),
        "level" => (Role::Level, 1),
        "severity" => (Role::Level, 2),
        "lvl" => (Role::Level, 3),
        "loglevel" => (Role::Level, 4),
        // python-json-logger, Monolog, ECS's dotted form, Serilog.
        "levelname" => (Role::Level, 5),
        "level_name" => (Role::Level, 6),
        "log.level" => (Role::Level, 7),
        "@l" => (Role::Level, 8),
        "levelno" => (Role::Level, 9),
        // journald's syslog priority, 0 to 7.
        "PRIORITY" => (Role::Level, 10),
        "message" => (Role::Message, 1),
        "msg" => (Role::Message, 2),
        // Serilog: the rendered message, then its template.
        "@m" => (Role::Message, 3),
        "@mt" => (Role::Message, 4),
        "MESSAGE" => (Role::Message, 5),
        // GELF.
        "short_message" => (Role::Message, 6),
        "logger" => (Role::Logger, 1),
        "name" => (Role::Logger, 2),
        "logger_name" => (Role::Logger, 3),
        "context" => (Role::Context, 1),
        "diagnostics" => (Role::Diagnostics, 1),
        "data" => (Role::Data, 1),
        _ => return None,
    })
}

/// The names a run maps, with the user's own first (`--message-key`,
/// `--level-key`, `--timestamp-key`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    own: Vec<(String, Role)>,
}

impl Names {
    pub(crate) fn new(
        message: Option<&str>,
        level: Option<&str>,
        timestamp: Option<&str>,
    ) -> Names {
        let own = [
            (message, Role::Message),
            (level, Role::Level),
            (timestamp, Role::Timestamp),
        ]
        .into_iter()
        .filter_map(|(name, role)| Some((name?.to_owned(), role)))
        .collect();
        Names { own }
    }

    /// The role `key` names and its rank (lower wins).
    pub(super) fn role(&self, key: &str) -> Option<(Role, u8)> {
        if !self.own.is_empty()
            && let Some(&(_, role)) = self.own.iter().find(|(name, _)| name == key)
        {
            return Some((role, 0));
        }
        usual(key)
    }
}

/// A level member's value: a word (`"warn"`, `"Information"`, GCP's
/// `"DEFAULT"`), or a number as the logger that writes it under `key`
/// means it.
pub(super) fn level(key: &str, raw: Raw<'_>) -> Result<(Level, Option<Finer>), Invalid> {
    let text = raw.get();
    let word = match as_str(raw) {
        Some(word) => word,
        None if text.starts_with('"') => return Err(Invalid::LevelNotString),
        None => std::borrow::Cow::Borrowed(text),
    };
    let number = word
        .bytes()
        .next()
        .is_some_and(|byte| byte.is_ascii_digit() || byte == b'-' || byte == b' ');
    if !number && !text.starts_with('"') {
        return Err(Invalid::LevelNotString);
    }
    level_text(key, &word).ok_or_else(|| Invalid::UnknownLevel(word.into_owned()))
}

/// A level written as text (a JSON string's content, a logfmt value): a
/// word, or a number as the logger that writes it under `key` means it.
pub(super) fn level_text(key: &str, word: &str) -> Option<(Level, Option<Finer>)> {
    let numeric = word
        .bytes()
        .next()
        .is_some_and(|byte| byte.is_ascii_digit() || byte == b'-' || byte == b' ');
    if numeric && let Ok(number) = word.trim().parse::<i64>() {
        return numbered(key, number);
    }
    let level = Level::parse(word).or_else(|| {
        // Serilog's lowest, and GCP's "no level given".
        ["verbose", "default"]
            .iter()
            .position(|known| known.eq_ignore_ascii_case(word))
            .map(|index| [Level::Debug, Level::Info][index])
    });
    level.map(|level| (level, Finer::parse(word)))
}

/// A numbered level: Python's `levelno` (10 DEBUG ... 50 CRITICAL); a
/// syslog severity (journald's `PRIORITY`, GELF's `level`: 0 emerg ... 7
/// debug); pino's and bunyan's 10 trace ... 60 fatal; Monolog's 100 DEBUG
/// ... 600 EMERGENCY.
fn numbered(key: &str, number: i64) -> Option<(Level, Option<Finer>)> {
    if key == "levelno" {
        return Some((
            match number {
                ..=10 => Level::Debug,
                11..=20 => Level::Info,
                21..=30 => Level::Warning,
                31..=40 => Level::Error,
                _ => Level::Critical,
            },
            None,
        ));
    }
    if let Ok(code @ 0..=7) = u8::try_from(number) {
        return Level::from_syslog(code);
    }
    Some(match number {
        10 | 20 => (Level::Debug, None),
        30 => (Level::Info, None),
        40 => (Level::Warning, None),
        50 => (Level::Error, None),
        60 => (Level::Critical, None),
        100 => (Level::Debug, None),
        200 => (Level::Info, None),
        250 => (Level::Info, Some(Finer::Notice)),
        300 => (Level::Warning, None),
        400 => (Level::Error, None),
        500 => (Level::Critical, None),
        550 => (Level::Critical, Some(Finer::Alert)),
        600 => (Level::Critical, Some(Finer::Emergency)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Raw<'_> {
        Raw(json)
    }

    #[test]
    fn each_logger_s_level_reads_as_it_means_it() {
        for (key, value, expected, finer) in [
            ("level", "50", Level::Error, None),
            ("level", "30", Level::Info, None),
            ("level", "60", Level::Critical, None),
            ("level", "10", Level::Debug, None),
            ("levelno", "30", Level::Warning, None),
            ("levelno", "50", Level::Critical, None),
            ("PRIORITY", "\"3\"", Level::Error, None),
            ("PRIORITY", "\"5\"", Level::Info, Some(Finer::Notice)),
            ("level", "0", Level::Critical, Some(Finer::Emergency)),
            ("level", "400", Level::Error, None),
            ("level", "550", Level::Critical, Some(Finer::Alert)),
            ("@l", "\"Information\"", Level::Info, None),
            ("@l", "\"Verbose\"", Level::Debug, None),
            ("severity", "\"DEFAULT\"", Level::Info, None),
            ("severity", "\"NOTICE\"", Level::Info, Some(Finer::Notice)),
            ("levelname", "\"WARNING\"", Level::Warning, None),
        ] {
            assert_eq!(
                level(key, raw(value)),
                Ok((expected, finer)),
                "{key}={value}"
            );
        }
        assert_eq!(
            level("level", raw("42")),
            Err(Invalid::UnknownLevel("42".into()))
        );
        assert_eq!(level("level", raw("true")), Err(Invalid::LevelNotString));
        assert_eq!(
            level("level", raw("\"loud\"")),
            Err(Invalid::UnknownLevel("loud".into()))
        );
    }

    #[test]
    fn the_user_s_names_come_first() {
        let names = Names::new(Some("text"), Some("message"), None);
        assert_eq!(names.role("text").map(|(_, rank)| rank), Some(0));
        assert!(matches!(names.role("message"), Some((Role::Level, 0))));
        assert!(matches!(names.role("msg"), Some((Role::Message, _))));
        assert!(names.role("timestamp").unwrap().1 < names.role("ts").unwrap().1);
        assert_eq!(names.role("payload"), None);
    }
}
