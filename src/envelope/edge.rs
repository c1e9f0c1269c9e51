//! What JSON readers refuse in a line that JSON's grammar allows (the
//! edges), why, and the repair best-effort mode makes of it.

use std::fmt;

/// A place in a line that serde_json refuses to read into a value, though
/// JSON's grammar allows it. Positions are byte offsets from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edge {
    /// A `\uXXXX` escape naming half of a surrogate pair without its
    /// other half; `at` is the backslash.
    LoneSurrogate { at: usize, unit: u16 },
    /// A number beyond the range of a 64-bit float, at `at..end`.
    NumberOutOfRange { at: usize, end: usize },
    /// An object or array at `at..end` that sits deeper than `limit`
    /// levels of nesting.
    TooDeep { at: usize, end: usize, limit: usize },
}

impl Edge {
    /// The bytes it covers.
    fn span(self) -> (usize, usize) {
        match self {
            Edge::LoneSurrogate { at, .. } => (at, at + 6),
            Edge::NumberOutOfRange { at, end } | Edge::TooDeep { at, end, .. } => (at, end),
        }
    }

    /// What best-effort mode does to it.
    fn repair(self) -> &'static str {
        match self {
            Edge::LoneSurrogate { .. } => "replaced by U+FFFD",
            Edge::NumberOutOfRange { .. } | Edge::TooDeep { .. } => "kept as a string of its text",
        }
    }
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edge::LoneSurrogate { at, unit } => {
                write!(f, "lone surrogate \\u{unit:04x} at byte {at}")
            }
            Edge::NumberOutOfRange { at, .. } => write!(f, "number out of range at byte {at}"),
            Edge::TooDeep { at, limit, .. } => {
                write!(f, "nested deeper than {limit} levels at byte {at}")
            }
        }
    }
}

/// The kinds of edge an event was repaired for, each told in its
/// `diagnostics` by a flag of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Repaired {
    /// `invalid_escape`: a lone surrogate became U+FFFD.
    invalid_escape: bool,
    /// `number_out_of_range`: such a number became a string.
    number_out_of_range: bool,
    /// `nested_too_deep`: a container too deep became a string.
    nested_too_deep: bool,
}

impl Repaired {
    pub(crate) fn of(edges: &[Edge]) -> Repaired {
        let mut repaired = Repaired::default();
        for edge in edges {
            match edge {
                Edge::LoneSurrogate { .. } => repaired.invalid_escape = true,
                Edge::NumberOutOfRange { .. } => repaired.number_out_of_range = true,
                Edge::TooDeep { .. } => repaired.nested_too_deep = true,
            }
        }
        repaired
    }

    /// The names of its `diagnostics` flags.
    pub(crate) fn flags(self) -> impl Iterator<Item = &'static str> {
        [
            (self.invalid_escape, "invalid_escape"),
            (self.number_out_of_range, "number_out_of_range"),
            (self.nested_too_deep, "nested_too_deep"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
    }
}

/// `text` with its `edges` (in order, apart, as the scanner finds them)
/// made readable: a lone surrogate escape becomes `\ufffd`, the
/// replacement character; a number out of range, or a container nested
/// too deep, becomes a JSON string of its text.
pub(crate) fn repair(text: &str, edges: &[Edge]) -> String {
    let mut fixed = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    for &edge in edges {
        let (at, end) = edge.span();
        debug_assert!(copied <= at, "edges in order and apart");
        // Every edge starts and ends at an ASCII byte, so on char boundaries.
        fixed.push_str(&text[copied..at]);
        match edge {
            Edge::LoneSurrogate { .. } => fixed.push_str("\\ufffd"),
            _ => fixed
                .push_str(&serde_json::to_string(&text[at..end]).expect("a str is always JSON")),
        }
        copied = end;
    }
    fixed.push_str(&text[copied..]);
    fixed
}

/// What a repair did, for the diagnostic: the first edge and how many more.
pub(crate) fn describe(edges: &[Edge]) -> String {
    let Some(first) = edges.first() else {
        return String::new();
    };
    let mut text = format!("{first}, {}", first.repair());
    if edges.len() > 1 {
        text.push_str(&format!(" (and {} more)", edges.len() - 1));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_edge_is_repaired_in_place() {
        let text = r#"{"a":"x\ud800y","n":1e999,"d":[[1]],"b":"\udc00"}"#;
        let edges = [
            Edge::LoneSurrogate {
                at: 7,
                unit: 0xd800,
            },
            Edge::NumberOutOfRange { at: 20, end: 25 },
            Edge::TooDeep {
                at: 31,
                end: 34,
                limit: 2,
            },
            Edge::LoneSurrogate {
                at: 41,
                unit: 0xdc00,
            },
        ];
        assert_eq!(
            repair(text, &edges),
            r#"{"a":"x\ufffdy","n":"1e999","d":["[1]"],"b":"\ufffd"}"#
        );
        assert_eq!(repair(text, &[]), text);
    }

    #[test]
    fn reasons_name_the_place() {
        let edges = [
            Edge::LoneSurrogate {
                at: 8,
                unit: 0xd800,
            },
            Edge::NumberOutOfRange { at: 5, end: 9 },
        ];
        assert_eq!(edges[0].to_string(), r"lone surrogate \ud800 at byte 8");
        assert_eq!(edges[1].to_string(), "number out of range at byte 5");
        let deep = Edge::TooDeep {
            at: 130,
            end: 140,
            limit: 126,
        };
        assert_eq!(
            deep.to_string(),
            "nested deeper than 126 levels at byte 130"
        );
        assert_eq!(
            describe(&edges),
            r"lone surrogate \ud800 at byte 8, replaced by U+FFFD (and 1 more)"
        );
    }

    #[test]
    fn flags_follow_the_kinds_found() {
        let edges = [Edge::NumberOutOfRange { at: 0, end: 1 }];
        let flags: Vec<_> = Repaired::of(&edges).flags().collect();
        assert_eq!(flags, ["number_out_of_range"]);
        assert_eq!(Repaired::of(&[]).flags().count(), 0);
    }
}
