//! Plain text: the header applications print before their message. A
//! leading time in the forms loggers write, the level word after it, and
//! for log4j's layout (`LEVEL [thread] logger - message`) and Python's
//! (`time - logger - LEVEL - message`) the thread and logger, are taken off
//! the message into the event.

use std::borrow::Cow;

use super::dates::{Civil, Clock, clock_time, digits, month, zone};
use super::parsed::{Field, Parsed, Stated};
use crate::level::{Finer, Level};

/// `text` read as a plain-text line. Always a reading: what is not a
/// header stays in the message. `guess` lets the level be read from a word
/// where no header states it (`--level-from auto`).
pub(crate) fn parse<'a>(text: &'a str, clock: &Clock, guess: bool) -> Parsed<'a> {
    let Some((timestamp, after_time)) = leading_time(text, clock) else {
        return Parsed {
            level: guessed(text, guess),
            message: Cow::Borrowed(text),
            ..Parsed::default()
        };
    };
    let rest = skip_separators(&text[after_time..]);
    let mut parsed = Parsed {
        timestamp: Some(timestamp),
        message: Cow::Borrowed(rest),
        ..Parsed::default()
    };
    if let Some((logger, level, message)) = python_layout(rest) {
        parsed.logger = Some(Cow::Borrowed(logger));
        parsed.level = Some(level);
        parsed.message = Cow::Borrowed(message);
        return parsed;
    }
    if let Some((module, level, after_level)) = module_level(rest) {
        parsed.level = Some(level);
        parsed
            .data
            .push((Cow::Borrowed("module"), Field::Text(Cow::Borrowed(module))));
        parsed.message = Cow::Borrowed(apache_fields(after_level, &mut parsed.data));
        return parsed;
    }
    let Some((level, after_level)) = level_word(rest) else {
        parsed.level = guessed(text, guess);
        return parsed;
    };
    parsed.level = Some(level);
    let rest = skip_separators(after_level);
    parsed.message = Cow::Borrowed(rest);
    if rest.starts_with('[') {
        let taken = parsed.data.len();
        let message = apache_fields(rest, &mut parsed.data);
        if parsed.data.len() > taken {
            parsed.message = Cow::Borrowed(message);
            return parsed;
        }
    }
    if let Some((thread, logger, message)) = log4j_layout(rest) {
        parsed
            .data
            .push((Cow::Borrowed("thread"), Field::Text(Cow::Borrowed(thread))));
        parsed.logger = logger.map(Cow::Borrowed);
        parsed.message = Cow::Borrowed(message);
    } else if let Some((logger, message)) = class_logger(rest) {
        parsed.logger = Some(Cow::Borrowed(logger));
        parsed.message = Cow::Borrowed(message);
    }
    parsed
}

/// A level word at the start of a message, as programs print it there
/// (OpenSSH's `error: ...`, `fatal: ...`): the level, for a line whose
/// format states none. The message keeps the word.
pub(super) fn leading_level(message: &str) -> Option<Stated> {
    level_word(message).map(|(level, _)| level)
}

/// Apache httpd 2.4's `[module:level]` (`[core:error]`, `[ssl:warn]`): the
/// module, the level, and the text after it.
fn module_level(text: &str) -> Option<(&str, Stated, &str)> {
    let inner = text.strip_prefix('[')?;
    let end = inner.find(']')?;
    let (module, word) = inner[..end].split_once(':')?;
    let level = Level::parse(word)?;
    let rest = inner[end + 1..].trim_start_matches(' ');
    Some((module, (level, Finer::parse(word)), rest))
}

/// The fields Apache's error log writes between the level and the message
/// (`[pid 35708:tid 4328636416]`, `[client 72.15.99.187:34567]`, each of
/// them optional), taken into `data`: the text after them.
fn apache_fields<'a>(mut text: &'a str, data: &mut Vec<(Cow<'a, str>, Field<'a>)>) -> &'a str {
    loop {
        let Some((field, rest)) = text
            .strip_prefix('[')
            .and_then(|inner| inner.split_once(']'))
        else {
            return text;
        };
        if let Some(process) = field.strip_prefix("pid ") {
            let (pid, thread) = match process.split_once(":tid ") {
                Some((pid, thread)) => (pid, Some(thread)),
                None => (process, None),
            };
            let pid = pid
                .parse()
                .map_or(Field::Text(Cow::Borrowed(pid)), Field::Integer);
            data.push((Cow::Borrowed("pid"), pid));
            if let Some(thread) = thread {
                data.push((Cow::Borrowed("tid"), Field::Text(Cow::Borrowed(thread))));
            }
        } else if let Some(client) = field.strip_prefix("client ") {
            data.push((Cow::Borrowed("client"), Field::Text(Cow::Borrowed(client))));
        } else {
            return text;
        }
        text = rest.trim_start_matches(' ');
    }
}

/// log4j's `logger: message` with no thread before it, as Spark writes it
/// (`INFO executor.Executor: Running task`): a logger is a class's dotted
/// name, so that a plain `Note: ...` stays in the message.
fn class_logger(text: &str) -> Option<(&str, &str)> {
    let (word, message) = text.split_once(' ')?;
    let logger = word.strip_suffix(':')?;
    let dotted = logger.contains('.')
        && !logger.starts_with('.')
        && !logger.ends_with('.')
        && logger
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'$'));
    dotted.then_some((logger, message))
}

fn guessed(text: &str, guess: bool) -> Option<Stated> {
    if !guess {
        return None;
    }
    Level::find_word_in_text(text).map(|(level, word)| (level, Finer::parse(word)))
}

/// Spaces and the marks loggers put between header fields (`-`, `|`).
fn skip_separators(text: &str) -> &str {
    let mut rest = text.trim_start_matches(' ');
    while let Some(after) = rest
        .strip_prefix("- ")
        .or_else(|| rest.strip_prefix("| "))
        .or_else(|| rest.strip_prefix(": "))
    {
        rest = after.trim_start_matches(' ');
    }
    rest
}

/// A level word at the start of `text`, bare or in brackets, followed by a
/// space, a colon or the end: the level, and what follows it.
fn level_word(text: &str) -> Option<(Stated, &str)> {
    let (word, rest) = match text.as_bytes().first()? {
        b'[' | b'<' | b'(' => {
            let close = match text.as_bytes()[0] {
                b'[' => ']',
                b'<' => '>',
                _ => ')',
            };
            let end = text.find(close)?;
            (text[1..end].trim(), &text[end + 1..])
        }
        _ => {
            let end = text
                .bytes()
                .position(|byte| matches!(byte, b' ' | b':' | b'\t'))
                .unwrap_or(text.len());
            (&text[..end], &text[end..])
        }
    };
    let level = Level::parse(word)?;
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    Some(((level, Finer::parse(word)), rest))
}

/// Python's `%(asctime)s - %(name)s - %(levelname)s - %(message)s`: the
/// logger, the level and the message, once the time is taken off.
fn python_layout(text: &str) -> Option<(&str, Stated, &str)> {
    let (logger, rest) = first_word(text)?;
    let rest = rest.strip_prefix(" - ")?;
    if Level::parse(logger).is_some() {
        return None;
    }
    let (word, rest) = first_word(rest)?;
    let message = rest.strip_prefix(" - ")?;
    let level = Level::parse(word)?;
    Some((logger, (level, Finer::parse(word)), message))
}

/// log4j's `[thread] logger - message` (or `logger: message`), and
/// ZooKeeper's `[thread] - message`, after the level: the thread, the
/// logger if named, and the message.
fn log4j_layout(text: &str) -> Option<(&str, Option<&str>, &str)> {
    let inner = text.strip_prefix('[')?;
    let end = inner.bytes().position(|byte| byte == b']')?;
    let (thread, rest) = (&inner[..end], inner[end + 1..].strip_prefix(' ')?);
    if let Some(message) = rest.strip_prefix("- ") {
        return Some((thread, None, message));
    }
    let (logger, rest) = first_word(rest)?;
    if let Some(logger) = logger.strip_suffix(':') {
        let message = rest.strip_prefix(' ')?;
        return (!logger.is_empty()).then_some((thread, Some(logger), message));
    }
    let message = rest.strip_prefix(" - ")?;
    Some((thread, Some(logger), message))
}

/// The text up to the first space (not empty), and the rest from it.
fn first_word(text: &str) -> Option<(&str, &str)> {
    let space = text.bytes().position(|byte| byte == b' ')?;
    (space > 0).then(|| text.split_at(space))
}

/// A time at the start of a line, in the forms applications print, and
/// how many bytes it took:
/// - ISO 8601 / RFC 3339, `T` or a space between date and time, `.` or
///   `,` before the fraction (Python's and log4j's `2026-11-30 18:21:00,031`),
///   with or without a zone;
/// - `2026/11/30 18:21:00` (nginx), `26/11/30 18:21:00` (Hadoop, Spark);
/// - `Nov 30 18:21:00` (syslog's, without a year);
/// - `30-Nov-2026 18:21:00.031` (Tomcat);
/// - in brackets, those and Apache's `[Sun Dec 04 04:47:44 2005]`;
/// - epoch seconds (10 digits, a fraction allowed) or milliseconds (13).
///
/// A time without a zone is local time.
fn leading_time(text: &str, clock: &Clock) -> Option<(i64, usize)> {
    if let Some(inner) = text.strip_prefix('[') {
        let end = inner.find(']')?;
        let bracketed = &inner[..end];
        let (ms, used) = apache_time(bracketed, clock).or_else(|| time_at(bracketed, clock))?;
        return (used == bracketed.len()).then_some((ms, end + 2));
    }
    time_at(text, clock).filter(|&(_, used)| ends_a_word(text, used))
}

/// A value that is a time and nothing else, in the forms a leading time
/// takes (a time without a zone is local): logfmt's `time=` written
/// without a zone.
pub(super) fn whole_time(text: &str, clock: &Clock) -> Option<i64> {
    time_at(text, clock).and_then(|(ms, used)| (used == text.len()).then_some(ms))
}

/// Whether `text` ends at `at` or goes on with a separator.
fn ends_a_word(text: &str, at: usize) -> bool {
    matches!(
        text.as_bytes().get(at),
        None | Some(b' ' | b'\t' | b']' | b'|' | b':' | b',')
    )
}

fn time_at(text: &str, clock: &Clock) -> Option<(i64, usize)> {
    let bytes = text.as_bytes();
    match bytes.first()? {
        b'0'..=b'9' => iso_time(text, clock)
            .or_else(|| slashed_time(text, clock))
            .or_else(|| dashed_month_time(text, clock))
            .or_else(|| epoch_time(text)),
        b'A'..=b'Z' | b'a'..=b'z' => syslog_time(text, clock),
        _ => None,
    }
}

/// A date and time, read in the zone written after it or else locally.
fn dated(
    clock: &Clock,
    bytes: &[u8],
    (year, month, day): (i32, u32, u32),
    time_at: usize,
) -> Option<(i64, usize)> {
    let (time, end) = clock_time(bytes, time_at)?;
    let civil = Civil::on((year, month, day), time);
    match zone(bytes, end) {
        Some((offset, end)) => Some((Clock::offset_ms(civil, offset)?, end)),
        None => Some((clock.local_ms(civil)?, end)),
    }
}

/// `2026-11-30T18:21:00.031Z`, `2026-11-30 18:21:00,031`.
fn iso_time(text: &str, clock: &Clock) -> Option<(i64, usize)> {
    let bytes = text.as_bytes();
    let year = digits(bytes, 0, 4)?;
    (bytes.get(4) == Some(&b'-') && bytes.get(7) == Some(&b'-')).then_some(())?;
    let (month, day) = (digits(bytes, 5, 2)?, digits(bytes, 8, 2)?);
    matches!(bytes.get(10), Some(b'T' | b' ')).then_some(())?;
    dated(clock, bytes, (year as i32, month, day), 11)
}

/// `2026/11/30 18:21:00` (nginx's error log), `26/11/30 18:21:00`.
fn slashed_time(text: &str, clock: &Clock) -> Option<(i64, usize)> {
    let bytes = text.as_bytes();
    let (year, at) = match digits(bytes, 0, 4) {
        Some(year) if bytes.get(4) == Some(&b'/') => (year as i32, 5),
        _ if bytes.get(2) == Some(&b'/') => (2000 + digits(bytes, 0, 2)? as i32, 3),
        _ => return None,
    };
    let month = digits(bytes, at, 2)?;
    (bytes.get(at + 2) == Some(&b'/')).then_some(())?;
    let day = digits(bytes, at + 3, 2)?;
    (bytes.get(at + 5) == Some(&b' ')).then_some(())?;
    dated(clock, bytes, (year, month, day), at + 6)
}

/// `30-Nov-2026 18:21:00.031` (Tomcat).
fn dashed_month_time(text: &str, clock: &Clock) -> Option<(i64, usize)> {
    let bytes = text.as_bytes();
    let day = digits(bytes, 0, 2)?;
    (bytes.get(2) == Some(&b'-') && bytes.get(6) == Some(&b'-')).then_some(())?;
    let month = month(text.get(3..6)?)?;
    let year = digits(bytes, 7, 4)?;
    (bytes.get(11) == Some(&b' ')).then_some(())?;
    dated(clock, bytes, (year as i32, month, day), 12)
}

/// `Nov 30 18:21:00` or `Nov  3 18:21:00` (a year and a fraction may
/// follow), read as the syslog parser reads it.
fn syslog_time(text: &str, clock: &Clock) -> Option<(i64, usize)> {
    let (ms, rest) = super::syslog::bsd_time(text, clock)?;
    let used = text[..text.len() - rest.len()].trim_end_matches(' ').len();
    Some((ms?, used))
}

/// Apache's `Sun Dec 04 04:47:44 2005` (or `04:47:44.123456`).
fn apache_time(text: &str, clock: &Clock) -> Option<(i64, usize)> {
    let bytes = text.as_bytes();
    (bytes.get(3) == Some(&b' ')).then_some(())?;
    let month = month(text.get(4..7)?)?;
    let day = digits(bytes, 8, 2)?;
    let (time, end) = clock_time(bytes, 11)?;
    (bytes.get(end) == Some(&b' ')).then_some(())?;
    let year = digits(bytes, end + 1, 4)?;
    let civil = Civil::on((year as i32, month, day), time);
    Some((clock.local_ms(civil)?, end + 5))
}

/// Epoch seconds (10 digits, with a fraction or not) or milliseconds (13).
fn epoch_time(text: &str) -> Option<(i64, usize)> {
    let bytes = text.as_bytes();
    let whole = bytes
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    let number: i64 = text[..whole].parse().ok()?;
    match whole {
        10 => {
            let (millisecond, end) = match bytes.get(10) {
                Some(b'.') => {
                    let fraction = bytes[11..]
                        .iter()
                        .take_while(|byte| byte.is_ascii_digit())
                        .count();
                    let kept = &text[11..11 + fraction.min(3)];
                    let ms = kept.parse::<i64>().unwrap_or(0) * 10i64.pow(3 - kept.len() as u32);
                    (ms, 11 + fraction)
                }
                _ => (0, 10),
            };
            Some((number * 1000 + millisecond, end))
        }
        13 => Some((number, 13)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-30T18:21:00Z.
    const NOW: i64 = 1_796_062_860_000;

    fn utc() -> Clock {
        Clock::fixed(0, NOW)
    }

    #[test]
    fn leading_times_in_the_forms_loggers_print() {
        let clock = Clock::fixed(3600, NOW);
        for (line, ms) in [
            ("2026-11-30T18:21:00.031Z x", NOW + 31),
            ("2026-11-30T19:21:00.031+01:00 x", NOW + 31),
            ("2026-11-30 18:21:00,031+0000 x", NOW + 31),
            ("2026-11-30 19:21:00,031 x", NOW + 31),
            ("2026-11-30 19:21:00 x", NOW),
            ("2026-11-30T19:21:00.031456789 x", NOW + 31),
            ("2026/11/30 19:21:00 [error] x", NOW),
            ("26/11/30 19:21:00 INFO x", NOW),
            ("Nov 30 19:21:00 host x", NOW),
            ("30-Nov-2026 19:21:00.031 INFO x", NOW + 31),
            ("[2026-11-30 19:21:00,031] x", NOW + 31),
            ("[Mon Nov 30 19:21:00 2026] [error] x", NOW),
            ("[Mon Nov 30 19:21:00.031456 2026] [error] x", NOW + 31),
            ("1796062860 x", NOW),
            ("1796062860.031 x", NOW + 31),
            ("1796062860031 x", NOW + 31),
        ] {
            assert_eq!(
                leading_time(line, &clock).map(|(ms, _)| ms),
                Some(ms),
                "{line}"
            );
        }
        for line in [
            "2026-11-30x",
            "2026-13-30 18:21:00 x",
            "2026-11-30 25:21:00 x",
            "20261130 x",
            "12345 x",
            "Nov is a month",
            "Nov 30 is a day",
            "[Mon] x",
            "2026-11-30 18:21:00abc",
            "v1.2.3 released",
            "",
        ] {
            assert_eq!(leading_time(line, &utc()), None, "{line}");
        }
    }

    #[test]
    fn the_header_is_taken_off_the_message() {
        let clock = utc();
        let log4j = parse(
            "2026-11-30 18:21:00,031 ERROR [main-worker-1] com.example.Handler - db down",
            &clock,
            true,
        );
        assert_eq!(log4j.timestamp, Some(NOW + 31));
        assert_eq!(log4j.level, Some((Level::Error, None)));
        assert_eq!(log4j.logger.as_deref(), Some("com.example.Handler"));
        assert_eq!(log4j.message, "db down");
        assert_eq!(
            log4j.data,
            vec![("thread".into(), Field::Text("main-worker-1".into()))]
        );

        let zookeeper = parse(
            "2026-11-30 18:21:00,031 - INFO  [main:QuorumPeerMain@127] - Starting quorum peer",
            &clock,
            true,
        );
        assert_eq!(zookeeper.level, Some((Level::Info, None)));
        assert_eq!(zookeeper.logger, None);
        assert_eq!(zookeeper.message, "Starting quorum peer");

        let python = parse(
            "2026-11-30 18:21:00,031 - app.db - WARNING - slow query",
            &clock,
            true,
        );
        assert_eq!(python.level, Some((Level::Warning, None)));
        assert_eq!(python.logger.as_deref(), Some("app.db"));
        assert_eq!(python.message, "slow query");

        let nginx = parse(
            "2026/11/30 18:21:00 [notice] 1234#0: signal process started",
            &clock,
            true,
        );
        assert_eq!(nginx.level, Some((Level::Info, Some(Finer::Notice))));
        assert_eq!(nginx.message, "1234#0: signal process started");

        let apache = parse(
            "[Mon Nov 30 18:21:00 2026] [error] [client 1.2.3.4] File does not exist: /x",
            &clock,
            true,
        );
        assert_eq!(apache.timestamp, Some(NOW));
        assert_eq!(apache.level, Some((Level::Error, None)));
        assert_eq!(apache.message, "File does not exist: /x");
        assert_eq!(
            apache.data,
            vec![("client".into(), Field::Text("1.2.3.4".into()))]
        );

        let apache_24 = parse(
            "[Mon Nov 30 18:21:00.031456 2026] [core:warn] [pid 35708:tid 4328636416] \
             [client 1.2.3.4:5678] AH00128: File does not exist: /x",
            &clock,
            true,
        );
        assert_eq!(apache_24.timestamp, Some(NOW + 31));
        assert_eq!(apache_24.level, Some((Level::Warning, None)));
        assert_eq!(apache_24.message, "AH00128: File does not exist: /x");
        assert_eq!(
            apache_24.data,
            vec![
                ("module".into(), Field::Text("core".into())),
                ("pid".into(), Field::Integer(35708)),
                ("tid".into(), Field::Text("4328636416".into())),
                ("client".into(), Field::Text("1.2.3.4:5678".into())),
            ]
        );
        // A bracket that is none of Apache's fields stays in the message.
        let other = parse("[Mon Nov 30 18:21:00 2026] [ssl:error] [x] m", &clock, true);
        assert_eq!(other.message, "[x] m");

        let spark = parse(
            "26/11/30 18:21:00 INFO SparkContext: Running Spark version 3.5.0",
            &clock,
            true,
        );
        assert_eq!(spark.level, Some((Level::Info, None)));
        assert_eq!(spark.message, "SparkContext: Running Spark version 3.5.0");
        assert_eq!(spark.logger, None);
        let spark_class = parse(
            "26/11/30 18:21:00 WARN executor.Executor: Lost task 3.0",
            &clock,
            true,
        );
        assert_eq!(spark_class.level, Some((Level::Warning, None)));
        assert_eq!(spark_class.logger.as_deref(), Some("executor.Executor"));
        assert_eq!(spark_class.message, "Lost task 3.0");
        // Not a class's name: the message keeps it.
        for line in [
            "26/11/30 18:21:00 INFO see /etc/x.conf: missing",
            "26/11/30 18:21:00 INFO v1.2.: odd",
            "26/11/30 18:21:00 INFO e.g. this: that",
        ] {
            assert_eq!(parse(line, &clock, true).logger, None, "{line}");
        }
    }

    #[test]
    fn without_a_header_the_line_is_the_message() {
        let clock = utc();
        let plain = parse("ERROR disk full", &clock, true);
        assert_eq!(plain.timestamp, None);
        assert_eq!(plain.level, Some((Level::Error, None)));
        assert_eq!(plain.message, "ERROR disk full");
        let unguessed = parse("ERROR disk full", &clock, false);
        assert_eq!(unguessed.level, None);
        // A time with no level after it: the level is guessed from the line.
        let timed = parse("2026-11-30 18:21:00 disk level=warn", &clock, true);
        assert_eq!(timed.message, "disk level=warn");
        assert_eq!(timed.level, Some((Level::Warning, None)));
        assert_eq!(timed.timestamp, Some(NOW));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_text_parses_without_a_panic(text in "\\PC{0,60}") {
                let parsed = parse(&text, &utc(), true);
                prop_assert!(text.ends_with(&*parsed.message));
            }

            #[test]
            fn mangled_headers_parse_without_a_panic(
                cut in 0usize..40,
                noise in "[0-9:., \\-\\[\\]TZ+/a-zA-Z]{0,12}",
            ) {
                let line = "2026-11-30 18:21:00,031 ERROR [main] a.B - m";
                let mut text = line[..cut.min(line.len())].to_owned();
                text.push_str(&noise);
                let parsed = parse(&text, &utc(), true);
                prop_assert!(text.ends_with(&*parsed.message));
            }
        }
    }
}
