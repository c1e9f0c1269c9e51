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
        const WORDS: &[(&str, Level)] = &[
            ("trace", Level::Debug),
            ("debug", Level::Debug),
            ("info", Level::Info),
            ("information", Level::Info),
            ("informational", Level::Info),
            ("notice", Level::Info),
            ("warn", Level::Warning),
            ("warning", Level::Warning),
            ("error", Level::Error),
            ("err", Level::Error),
            ("severe", Level::Error),
            ("critical", Level::Critical),
            ("crit", Level::Critical),
            ("fatal", Level::Critical),
            ("panic", Level::Critical),
            ("alert", Level::Critical),
            ("emerg", Level::Critical),
            ("emergency", Level::Critical),
        ];
        WORDS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map(|&(_, level)| level)
    }

    /// The first level word among the first bytes of a plain-text line:
    /// `ERROR`, `[warn]`, `level=info`, `2024-05-01 12:00:00 INFO ...`.
    pub(crate) fn find_in_text(text: &str) -> Option<Level> {
        Level::find_word_in_text(text).map(|(level, _)| level)
    }

    /// `find_in_text`, with the word found.
    pub(crate) fn find_word_in_text(text: &str) -> Option<(Level, &str)> {
        let head = &text.as_bytes()[..text.len().min(LEVEL_SEARCH_BYTES)];
        head.split(|byte| !byte.is_ascii_alphabetic())
            .filter(|word| (3..=13).contains(&word.len()))
            .find_map(|word| {
                let word = std::str::from_utf8(word).ok()?;
                Some((Level::parse(word)?, word))
            })
    }
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
        let far = format!("{} error", "x".repeat(LEVEL_SEARCH_BYTES));
        assert_eq!(
            Level::find_in_text(&far),
            None,
            "only the start is searched"
        );
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
