//! Event levels: the five of the envelope, the words that name them, and
//! finding one near the start of a plain-text line.

/// How far into a plain-text line a level word is looked for.
const LEVEL_SEARCH_BYTES: usize = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl Level {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }

    /// The level a word names, in any case: `warn` and `WARNING` are both
    /// `Warning`, `trace` is `Debug`, `fatal` and `panic` are `Critical`.
    pub(crate) fn parse(word: &str) -> Option<Level> {
        // Lowered into a buffer and matched whole: the compiler switches on
        // the length first, so most words cost a comparison or none (this
        // runs on every plain-text line).
        let mut lower = [0u8; 13];
        let word = lowered(word, &mut lower)?;
        Some(match word {
            b"trace" | b"debug" => Level::Debug,
            b"info" | b"information" | b"informational" | b"notice" => Level::Info,
            b"warn" | b"warning" => Level::Warning,
            b"error" | b"err" | b"severe" => Level::Error,
            b"critical" | b"crit" | b"fatal" | b"panic" | b"alert" | b"emerg" | b"emergency" => {
                Level::Critical
            }
            _ => return None,
        })
    }

    /// A syslog severity (RFC 5424: 0 emerg ... 7 debug) as a level, with
    /// the finer severity it merges where it merges one; `None` past 7.
    pub(crate) fn from_syslog(code: u8) -> Option<(Level, Option<Finer>)> {
        Some(match code {
            0 => (Level::Critical, Some(Finer::Emergency)),
            1 => (Level::Critical, Some(Finer::Alert)),
            2 => (Level::Critical, None),
            3 => (Level::Error, None),
            4 => (Level::Warning, None),
            5 => (Level::Info, Some(Finer::Notice)),
            6 => (Level::Info, None),
            7 => (Level::Debug, None),
            _ => return None,
        })
    }

    /// The level a plain-text line states where loggers state it, among
    /// its first bytes, and the word that states it: `ERROR`, `[warn]`,
    /// `error:`, `level=info`, `2024-05-01 12:00:00 INFO ...`; never a word
    /// inside a path, a URL or another word (`/img/fatal-logo.png`,
    /// `my-error-handler`). A word counts when it is
    /// - the value of `level=`, `lvl=`, `severity=` or `loglevel=`
    ///   (quoted or not), anywhere in the head (logfmt);
    /// - in brackets (`[error]`, `<warn>`, `(info)`), or followed by a
    ///   colon (`Error: ...`, Python's `ERROR:root:...`), among the first
    ///   `LEADING_TOKENS` words;
    /// - a word of its own in capitals (`ERROR`) among them, or in any case
    ///   right after the line's leading time (`12:00:00 error ...`).
    pub(crate) fn find_word_in_text(text: &str) -> Option<(Level, &str)> {
        let mut end = text.len().min(LEVEL_SEARCH_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let bytes = &text.as_bytes()[..end];
        let mut after_time = true;
        let mut index = 0;
        let mut at = 0;
        while at < end {
            if bytes[at].is_ascii_whitespace() {
                at += 1;
                continue;
            }
            let start = at;
            while at < end && !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            // Split at ASCII whitespace, so a UTF-8 boundary.
            let token = &text[start..at];
            if let Some(found) = keyed(token) {
                return Some(found);
            }
            if index < LEADING_TOKENS {
                if let Some(found) = standing_alone(token, after_time) {
                    return Some(found);
                }
                after_time &= is_time_like(token);
                index += 1;
            }
        }
        None
    }
}

/// `word` in lower case in `buffer`, if it is ASCII and short enough to be
/// a level's name.
fn lowered<'b>(word: &str, buffer: &'b mut [u8; 13]) -> Option<&'b [u8]> {
    let bytes = word.as_bytes();
    if !(3..=buffer.len()).contains(&bytes.len()) {
        return None;
    }
    for (slot, byte) in buffer.iter_mut().zip(bytes) {
        *slot = byte.to_ascii_lowercase();
    }
    Some(&buffer[..bytes.len()])
}

/// How many words from a line's start a level may stand at without a key.
const LEADING_TOKENS: usize = 6;

/// `level=error`, `severity="warn"`.
fn keyed(token: &str) -> Option<(Level, &str)> {
    let equals = token.bytes().position(|byte| byte == b'=')?;
    if !(3..=10).contains(&equals) {
        return None;
    }
    let key = token[..equals].trim_matches(['"', '\'']);
    let mut lower = [0u8; 13];
    if !matches!(
        lowered(key, &mut lower)?,
        b"level" | b"lvl" | b"severity" | b"loglevel"
    ) {
        return None;
    }
    let word = token[equals + 1..].trim_matches(['"', '\'', ',', ';']);
    Some((Level::parse(word)?, word))
}

/// A level word standing as loggers put it, not inside another word.
fn standing_alone(token: &str, after_time: bool) -> Option<(Level, &str)> {
    let bytes = token.as_bytes();
    // Level words are letters: a token that starts with anything else
    // (a date, a number, a path) is passed over unless bracketed.
    let close = match bytes[0] {
        b'[' => b']',
        b'<' => b'>',
        b'(' => b')',
        first if first.is_ascii_alphabetic() => 0,
        _ => return None,
    };
    if close != 0 {
        let mut end = bytes.len();
        while end > 1 && matches!(bytes[end - 1], b':' | b',') {
            end -= 1;
        }
        if end < 2 || bytes[end - 1] != close {
            return None;
        }
        let word = &token[1..end - 1];
        return Some((Level::parse(word)?, word));
    }
    // `Error: ...`, `ERROR:root:message`.
    if let Some(colon) = bytes.iter().position(|&byte| byte == b':') {
        let word = &token[..colon];
        return Some((Level::parse(word)?, word));
    }
    let word = token.strip_suffix(',').unwrap_or(token);
    if after_time || word.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return Some((Level::parse(word)?, word));
    }
    None
}

/// A piece of a leading date or time: `2024-05-01`, `12:00:00,031`,
/// `2026-11-30T18:21:00Z`, `+0100`.
fn is_time_like(token: &str) -> bool {
    let mut digits = false;
    for byte in token.bytes() {
        match byte {
            b'0'..=b'9' => digits = true,
            b'-' | b':' | b'.' | b',' | b'/' | b'T' | b'Z' | b'+' => {}
            _ => return false,
        }
    }
    digits
}

/// Severities that syslog (RFC 5424) keeps apart and the five levels
/// merge: `notice` into INFO, `alert` and `emerg` into CRITICAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finer {
    Notice,
    Alert,
    Emergency,
}

impl Finer {
    /// The finer severity a level word names, in any case.
    pub(crate) fn parse(word: &str) -> Option<Finer> {
        const WORDS: &[(&str, Finer)] = &[
            ("notice", Finer::Notice),
            ("alert", Finer::Alert),
            ("emerg", Finer::Emergency),
            ("emergency", Finer::Emergency),
        ];
        WORDS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map(|&(_, finer)| finer)
    }

    /// Its syslog keyword.
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Finer::Notice => "notice",
            Finer::Alert => "alert",
            Finer::Emergency => "emerg",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Level {
        fn find_in_text(text: &str) -> Option<Level> {
            Level::find_word_in_text(text).map(|(level, _)| level)
        }
    }

    #[test]
    fn words_are_normalised() {
        assert_eq!(Level::parse("trace"), Some(Level::Debug));
        assert_eq!(Level::parse("WARN"), Some(Level::Warning));
        assert_eq!(Level::parse("Warning"), Some(Level::Warning));
        assert_eq!(Level::parse("fatal"), Some(Level::Critical));
        assert_eq!(Level::parse("panic"), Some(Level::Critical));
        assert_eq!(Level::parse("verbose"), None);
        assert_eq!(Level::parse(""), None);
    }

    #[test]
    fn plain_text_levels_are_found_near_the_start() {
        assert_eq!(Level::find_in_text("ERROR disk full"), Some(Level::Error));
        assert_eq!(Level::find_in_text("[warn] slow"), Some(Level::Warning));
        assert_eq!(
            Level::find_in_text("ts=1 level=debug msg=x"),
            Some(Level::Debug)
        );
        assert_eq!(
            Level::find_in_text("2024-05-01 12:00:00,000 CRITICAL [api-6] boom"),
            Some(Level::Critical)
        );
        assert_eq!(Level::find_in_text("just some words"), None);
        assert_eq!(
            Level::find_word_in_text("[Notice] quota at 80%"),
            Some((Level::Info, "Notice"))
        );
        let far = format!("{} level=error", "x".repeat(LEVEL_SEARCH_BYTES));
        assert_eq!(
            Level::find_in_text(&far),
            None,
            "only the start is searched"
        );
    }

    #[test]
    fn levels_count_only_where_loggers_put_them() {
        for (line, level) in [
            (
                "2026-11-30 18:21:00,031 ERROR [main] db down",
                Some(Level::Error),
            ),
            ("ERROR:root:db down", Some(Level::Error)),
            ("Error: ENOENT: no such file", Some(Level::Error)),
            ("error: could not compile", Some(Level::Error)),
            (
                "[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] denied",
                Some(Level::Error),
            ),
            (
                "2026/11/30 18:21:00 [warn] 1234#0: upstream slow",
                Some(Level::Warning),
            ),
            (
                "2026-11-30T18:21:00.031Z\terror\tmain.go:12\tdb down",
                Some(Level::Error),
            ),
            (
                "time=\"2026-11-30\" level=warning msg=\"x\"",
                Some(Level::Warning),
            ),
            ("a b c d e f g h \"level\"=\"fatal\"", Some(Level::Critical)),
            ("<crit> kernel", Some(Level::Critical)),
            // Inside a path, a URL, another word, or prose.
            ("GET /static/img/fatal-logo.png HTTP/1.1 200", None),
            (
                "10.0.0.1 - - [10/Oct/2023:13:55:36 -0700] \"GET /error HTTP/1.1\" 404",
                None,
            ),
            ("my-error-handler ok", None),
            ("retrying after an error from the upstream", None),
            ("connection error", None),
            ("see https://example.com/warn?x=1", None),
            ("java.lang.Error: boom", None),
            ("a b c d e f ERROR", None),
        ] {
            assert_eq!(Level::find_in_text(line), level, "{line}");
        }
    }

    #[test]
    fn finer_severities_are_words_of_the_five_levels_too() {
        for (word, finer, level) in [
            ("notice", Finer::Notice, Level::Info),
            ("ALERT", Finer::Alert, Level::Critical),
            ("emerg", Finer::Emergency, Level::Critical),
            ("Emergency", Finer::Emergency, Level::Critical),
        ] {
            assert_eq!(Finer::parse(word), Some(finer), "{word}");
            assert_eq!(Level::parse(word), Some(level), "{word}");
            assert_eq!(Finer::parse(finer.keyword()), Some(finer));
        }
        assert_eq!(Finer::parse("info"), None);
    }

    #[test]
    fn levels_are_ordered_by_severity() {
        assert!(Level::Debug < Level::Info && Level::Error < Level::Critical);
    }
}
