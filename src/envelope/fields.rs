//! A JSON object read without building a `serde_json::Value`: its keys and
//! the raw text of its values, borrowed from the line.

use std::borrow::Cow;

use serde::de::IgnoredAny;

use super::edge::Edge;
use super::scan::{self, Scanned};
pub(crate) use super::scan::{Members, Raw};

/// How deep a line may nest: one level less than serde_json reads, since an
/// event holds a line's members one level down, under `data`.
pub(crate) const LINE_DEPTH: usize = scan::READER_DEPTH - 1;

/// Why a line is not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotObject {
    /// It is not JSON at all; serde_json's message says where.
    NotJson(String),
    /// It is JSON, but an array, a string, a number...
    OtherJson,
    /// It is a JSON object by the grammar, but holds what serde_json
    /// refuses to read: every such place, in order (never none).
    Refused(Vec<Edge>),
}

/// Reads `text` as one JSON object with the scanner; where it is none,
/// serde_json's message says what is wrong.
pub(crate) fn parse_object(text: &str) -> Result<Members<'_>, NotObject> {
    match scan::object(text, LINE_DEPTH) {
        Scanned::Object(members) => Ok(members),
        Scanned::Refused(edges) => Err(NotObject::Refused(edges)),
        Scanned::NotObject => Err(match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => NotObject::OtherJson,
            Err(err) => NotObject::NotJson(err.to_string()),
        }),
    }
}

/// The members of a value already known to be valid JSON, if it is an object.
pub(crate) fn members(raw: Raw<'_>) -> Option<Members<'_>> {
    parse_object(raw.get()).ok()
}

pub(crate) fn is_object(raw: Raw<'_>) -> bool {
    raw.get().starts_with('{')
}

pub(crate) fn is_string(raw: Raw<'_>) -> bool {
    raw.get().starts_with('"')
}

/// What sits between an object's braces, trimmed: `"a":1` for `{ "a":1 }`.
pub(crate) fn object_body(raw: Raw<'_>) -> &str {
    let text = raw.get();
    text[1..text.len() - 1].trim()
}

/// The text of a JSON string value; borrowed when it holds no escapes.
pub(crate) fn as_str(raw: Raw<'_>) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// serde_json's own reading of an object, what the scanner is checked
/// against.
#[cfg(test)]
pub(super) mod oracle {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
    use serde_json::value::RawValue;

    use super::{Members, Raw};

    /// serde_json's reading of `text` as one JSON object: keys decoded,
    /// values as their raw text (which serde_json checks for the grammar
    /// only, not for its edges).
    pub(in crate::envelope) fn serde_members(text: &str) -> Result<Members<'_>, serde_json::Error> {
        serde_json::from_str::<Object>(text).map(|object| object.0)
    }

    struct Object<'a>(Members<'a>);

    impl<'de> Deserialize<'de> for Object<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_map(ObjectVisitor)
        }
    }

    struct ObjectVisitor;

    impl<'de> Visitor<'de> for ObjectVisitor {
        type Value = Object<'de>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
            while let Some(Key(key)) = map.next_key()? {
                let value: &RawValue = map.next_value()?;
                members.push((key, Raw(value.get())));
            }
            Ok(Object(members))
        }
    }

    /// A key, borrowed from the input unless it holds escapes.
    struct Key<'a>(Cow<'a, str>);

    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_str(KeyVisitor)
        }
    }

    struct KeyVisitor;

    impl<'de> Visitor<'de> for KeyVisitor {
        type Value = Key<'de>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string key")
        }

        fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
            Ok(Key(Cow::Borrowed(key)))
        }

        fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
            Ok(Key(Cow::Owned(key.to_owned())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_order_and_raw_values() {
        let members = parse_object(r#"{"b": [1, 2], "a\"q": {"x":1}, "c":"s"}"#).unwrap();
        let pairs: Vec<(&str, &str)> = members.iter().map(|(k, v)| (k.as_ref(), v.get())).collect();
        assert_eq!(
            pairs,
            [("b", "[1, 2]"), ("a\"q", r#"{"x":1}"#), ("c", r#""s""#)]
        );
        assert!(matches!(members[0].0, Cow::Borrowed(_)));
        assert!(
            matches!(members[1].0, Cow::Owned(_)),
            "escaped keys are decoded"
        );
    }

    #[test]
    fn what_is_not_an_object_says_why() {
        assert_eq!(parse_object("[1]").unwrap_err(), NotObject::OtherJson);
        assert_eq!(parse_object("\"text\"").unwrap_err(), NotObject::OtherJson);
        assert!(matches!(
            parse_object("{\"a\":"),
            Err(NotObject::NotJson(_))
        ));
        assert!(matches!(
            parse_object("plain words"),
            Err(NotObject::NotJson(_))
        ));
        assert!(matches!(
            parse_object("{} trailing"),
            Err(NotObject::NotJson(_))
        ));
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let members = parse_object(r#"{"a":"plain","b":"tab\there","c":5}"#).unwrap();
        assert!(matches!(as_str(members[0].1), Some(Cow::Borrowed("plain"))));
        assert_eq!(as_str(members[1].1).as_deref(), Some("tab\there"));
        assert_eq!(as_str(members[2].1), None);
    }

    #[test]
    fn object_bodies_are_trimmed() {
        let members = parse_object(r#"{"o":{ "a":1 },"e":{ }}"#).unwrap();
        assert_eq!(object_body(members[0].1), r#""a":1"#);
        assert_eq!(object_body(members[1].1), "");
        assert!(is_object(members[0].1) && !is_string(members[0].1));
    }
}
