//! Lines best-effort mode read as plain text because they were not in the
//! format they were taken for, counted by that format.

use serde::Serialize;

use crate::config::Format;

/// Lines read as plain text, by the format they were not in: a line that
/// opened like JSON (`{`) and was not JSON, or a line not in the format
/// `--format` named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Fallbacks {
    pub json: u64,
    pub logfmt: u64,
    pub syslog: u64,
    pub clf: u64,
}

impl Fallbacks {
    /// Counts one line that was not `format`. Plain text and `auto` are
    /// what every line reads as, so no line falls back from them.
    pub(crate) fn add(&mut self, format: Format) {
        match format {
            Format::Json => self.json += 1,
            Format::Logfmt => self.logfmt += 1,
            Format::Syslog => self.syslog += 1,
            Format::Clf => self.clf += 1,
            Format::Auto | Format::Text => {}
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.json + self.logfmt + self.syslog + self.clf
    }

    pub(crate) fn merge(&mut self, other: Fallbacks) {
        self.json += other.json;
        self.logfmt += other.logfmt;
        self.syslog += other.syslog;
        self.clf += other.clf;
    }

    /// `not json 2, not syslog 1`: the formats any line fell back from.
    pub(crate) fn to_text(self) -> String {
        [
            ("json", self.json),
            ("logfmt", self.logfmt),
            ("syslog", self.syslog),
            ("clf", self.clf),
        ]
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(format, count)| format!("not {format} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_the_format_a_line_was_not_in() {
        let mut fallbacks = Fallbacks::default();
        for format in [
            Format::Json,
            Format::Json,
            Format::Syslog,
            Format::Auto,
            Format::Text,
        ] {
            fallbacks.add(format);
        }
        assert_eq!(fallbacks.total(), 3);
        let mut more = Fallbacks::default();
        more.add(Format::Clf);
        fallbacks.merge(more);
        assert_eq!(fallbacks.to_text(), "not json 2, not syslog 1, not clf 1");
        assert_eq!(
            serde_json::to_value(fallbacks).unwrap(),
            serde_json::json!({"json": 2, "logfmt": 0, "syslog": 1, "clf": 1})
        );
    }
}
