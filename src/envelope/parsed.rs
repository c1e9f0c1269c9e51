//! What a text format's parser reads from one line: the envelope's members
//! it found, and the fields that go under `data`. Every parser (syslog,
//! logfmt, the access logs, plain text) gives one of these, or `None` for a
//! line that is not in its format.

use std::borrow::Cow;

use crate::level::{Finer, Level};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Parsed<'a> {
    /// Milliseconds since the Unix epoch, when the line says when.
    pub timestamp: Option<i64>,
    /// The level, and the syslog severity it merges where it merges one.
    pub level: Option<(Level, Option<Finer>)>,
    /// The line's own message: what is left of it once the parser took
    /// its header off.
    pub message: Cow<'a, str>,
    /// The program or logger that wrote the line (`logger`).
    pub logger: Option<Cow<'a, str>>,
    /// Members for `data`, in the order read.
    pub data: Vec<(Cow<'a, str>, Field<'a>)>,
}

/// A value under `data`.
#[allow(dead_code)] // wired in by the format dispatch
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field<'a> {
    Text(Cow<'a, str>),
    Integer(i64),
    /// Members nested under one name (syslog's structured data: an object
    /// per SD-ID).
    Object(Vec<(Cow<'a, str>, Field<'a>)>),
}

#[allow(dead_code)] // wired in by the format dispatch
impl Field<'_> {
    /// The value as JSON.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Field::Text(text) => serde_json::Value::String(text.clone().into_owned()),
            Field::Integer(number) => serde_json::Value::from(*number),
            Field::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(key, value)| (key.clone().into_owned(), value.to_json()))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_become_json() {
        let field = Field::Object(vec![
            ("a".into(), Field::Text("x".into())),
            ("n".into(), Field::Integer(-3)),
        ]);
        assert_eq!(field.to_json(), serde_json::json!({"a": "x", "n": -3}));
    }
}
