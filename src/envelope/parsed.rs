//! What a text format's parser reads from one line: the envelope's members
//! it found, and the fields that go under `data`. Every parser (syslog,
//! logfmt, the access logs, plain text) gives one of these, or `None` for a
//! line that is not in its format.

use std::borrow::Cow;

use crate::level::{Finer, Level};

/// A level as a line states it, with the syslog severity it merges where
/// it merges one (`notice` is INFO).
pub(crate) type Stated = (Level, Option<Finer>);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Parsed<'a> {
    /// Milliseconds since the Unix epoch, when the line says when.
    pub timestamp: Option<i64>,
    /// The level, and the syslog severity it merges where it merges one.
    pub level: Option<Stated>,
    /// The line's own message: what is left of it once the parser took
    /// its header off.
    pub message: Cow<'a, str>,
    /// The program or logger that wrote the line (`logger`).
    pub logger: Option<Cow<'a, str>>,
    /// Members for `data`, in the order read.
    pub data: Vec<(Cow<'a, str>, Field<'a>)>,
}

/// A value under `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field<'a> {
    Text(Cow<'a, str>),
    Integer(i64),
    /// Members nested under one name (syslog's structured data: an object
    /// per SD-ID).
    Object(Vec<(Cow<'a, str>, Field<'a>)>),
}

impl Field<'_> {
    /// Writes the value as JSON.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Field::Text(text) => super::write_str(out, text),
            Field::Integer(number) => out.extend_from_slice(number.to_string().as_bytes()),
            Field::Object(members) => {
                out.push(b'{');
                for (index, (key, value)) in members.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    super::write_str(out, key);
                    out.push(b':');
                    value.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

#[cfg(test)]
impl Field<'_> {
    /// The value as JSON, read back from what `write` writes.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut out = Vec::new();
        self.write(&mut out);
        serde_json::from_slice(&out).expect("a field writes valid JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_written_as_json() {
        let field = Field::Object(vec![
            ("a".into(), Field::Text("x\"".into())),
            ("n".into(), Field::Integer(-3)),
            ("o".into(), Field::Object(Vec::new())),
        ]);
        let mut out = Vec::new();
        field.write(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":"x\"","n":-3,"o":{}}"#
        );
    }
}
