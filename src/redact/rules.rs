//! The rules of each preset: what they find, the words that must be in a
//! line for them to find anything (the prefilter's), and the check a
//! match must pass.

use std::sync::LazyLock;

use regex::bytes::Regex;

/// A rule's pattern: built in (compiled the first time a line needs it)
/// or the user's own.
pub(super) enum Pattern {
    BuiltIn(&'static LazyLock<Regex>),
    Own(Regex),
}

impl Pattern {
    pub(super) fn get(&self) -> &Regex {
        match self {
            Pattern::BuiltIn(regex) => regex,
            Pattern::Own(regex) => regex,
        }
    }
}

/// How a rule finds what it hides.
pub(super) enum Finder {
    /// The values of keys (found from the line's marks, see `pairs`).
    Keys,
    /// A pattern: the capture group `group` (0 for all of it) is hidden,
    /// when `check` (if any) passes.
    Pattern {
        regex: Pattern,
        group: usize,
        check: Option<fn(&[u8]) -> bool>,
    },
    /// A PEM private key block: what stands between its markers.
    Pem(&'static LazyLock<Regex>),
}

/// The shapes of tokens, each told by a few bytes around a mark of the
/// line (see `shape_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Authorization,
    Jwt,
    Aws,
    Github,
    Gitlab,
    Slack,
    Stripe,
    Google,
    PrivateKey,
    UrlPassword,
}

/// When a rule looks at a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wake {
    /// On every line (its finds have no mark in common).
    Always,
    /// When a mark of the line has its shape.
    Shape(Shape),
    /// Its finds are made from the marks themselves.
    Marks,
}

/// One rule: its name in the summary, how it finds, and when it looks.
pub(super) struct Rule {
    pub name: String,
    pub finder: Finder,
    pub wake: Wake,
}

macro_rules! built_in {
    ($pattern:expr) => {{
        static REGEX: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pattern).expect("a built-in pattern compiles"));
        &REGEX
    }};
}

fn pattern(name: &str, regex: &'static LazyLock<Regex>, group: usize, shape: Shape) -> Rule {
    Rule {
        name: name.to_owned(),
        finder: Finder::Pattern {
            regex: Pattern::BuiltIn(regex),
            group,
            check: None,
        },
        wake: Wake::Shape(shape),
    }
}

/// The rule for the values of keys, named `name`.
pub(super) fn key_rule(name: &str) -> Rule {
    Rule {
        name: name.to_owned(),
        finder: Finder::Keys,
        wake: Wake::Marks,
    }
}

/// The `credentials` preset.
pub(super) fn credentials() -> Vec<Rule> {
    vec![
        key_rule("secret_key"),
        Rule {
            name: "authorization".to_owned(),
            finder: Finder::Pattern {
                regex: Pattern::BuiltIn(built_in!(
                    r"(?i-u)\b(?:bearer|basic)[ \t]+([a-z0-9._~+/=-]{8,})"
                )),
                group: 1,
                check: Some(credential_like),
            },
            wake: Wake::Shape(Shape::Authorization),
        },
        pattern(
            "jwt",
            built_in!(r"(?-u)\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
            0,
            Shape::Jwt,
        ),
        pattern(
            "aws_access_key",
            built_in!(r"(?-u)\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
            0,
            Shape::Aws,
        ),
        pattern(
            "github_token",
            built_in!(
                r"(?-u)\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"
            ),
            0,
            Shape::Github,
        ),
        pattern(
            "gitlab_token",
            built_in!(r"(?-u)\bgl(?:pat|dt|rt)-[A-Za-z0-9_-]{20,}"),
            0,
            Shape::Gitlab,
        ),
        pattern(
            "slack_token",
            built_in!(
                r"(?-u)\bxox[abposre]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+"
            ),
            0,
            Shape::Slack,
        ),
        pattern(
            "stripe_key",
            built_in!(
                r"(?-u)\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{16,}"
            ),
            0,
            Shape::Stripe,
        ),
        pattern(
            "google_api_key",
            built_in!(r"(?-u)\bAIza[0-9A-Za-z_-]{35}"),
            0,
            Shape::Google,
        ),
        Rule {
            name: "private_key".to_owned(),
            finder: Finder::Pem(built_in!(
                r"(?-u)-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----"
            )),
            wake: Wake::Shape(Shape::PrivateKey),
        },
        pattern(
            "url_password",
            built_in!(r"(?i-u)\b[a-z][a-z0-9+.-]*://[^:/@\s]+:([^@/\s]+)@"),
            1,
            Shape::UrlPassword,
        ),
    ]
}

/// The `pii` preset: its finds have no mark, so it looks at every line.
pub(super) fn pii() -> Vec<Rule> {
    let always = |name: &str, regex, check| Rule {
        name: name.to_owned(),
        finder: Finder::Pattern {
            regex: Pattern::BuiltIn(regex),
            group: 0,
            check,
        },
        wake: Wake::Always,
    };
    vec![
        always(
            "email",
            built_in!(
                r"(?-u)\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
            ),
            None,
        ),
        always(
            "card_number",
            built_in!(r"(?-u)\b\d(?:[ -]?\d){12,18}\b"),
            Some(super::checks::luhn),
        ),
        always(
            "iban",
            built_in!(r"(?-u)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
            Some(super::checks::iban),
        ),
    ]
}

/// The shapes a token may have around the mark at `at` (the bytes each
/// shape's pattern starts or goes on with), as bits by `Shape`: only then
/// does its rule look. The byte before or after the mark rules out most
/// marks (a date's dashes, a word's `b`) before the words are compared.
#[inline]
pub(super) fn shapes_at(line: &[u8], at: usize) -> u32 {
    let before = at.checked_sub(1).map(|before| line[before]);
    let after = line.get(at + 1).copied();
    let may = match line[at] {
        b'B' | b'b' => after.is_some_and(|byte| matches!(byte | 0x20, b'e' | b'a')),
        b'J' => before == Some(b'y'),
        b'A' => matches!(after, Some(b'K' | b'S' | b'I')),
        b'_' => {
            matches!(before, Some(b'p' | b'o' | b'u' | b's' | b'r' | b'b' | b'c'))
                || matches!(after, Some(b'l' | b't'))
        }
        b'-' => {
            matches!(
                before,
                Some(b't' | b'a' | b'b' | b'p' | b'o' | b's' | b'r' | b'e')
            ) || after == Some(b'-')
        }
        _ => true,
    };
    if may { shapes_here(line, at) } else { 0 }
}

/// `shapes_at`, the words compared.
fn shapes_here(line: &[u8], at: usize) -> u32 {
    let (before, after) = line.split_at(at);
    let ends = |word: &[u8]| before.ends_with(word);
    let starts = |word: &[u8]| after.starts_with(word);
    let shape = match line[at] {
        b'B' | b'b' => {
            let word = |word: &[u8]| {
                after.len() > word.len() && after[..word.len()].eq_ignore_ascii_case(word)
            };
            (word(b"bearer") || word(b"basic")).then_some(Shape::Authorization)
        }
        b'J' => ends(b"ey").then_some(Shape::Jwt),
        b'A' if starts(b"AKIA") || starts(b"ASIA") => Some(Shape::Aws),
        b'A' => starts(b"AIza").then_some(Shape::Google),
        b'_' if ends(b"github") || ends_with_gh(before) => Some(Shape::Github),
        b'_' => (starts(b"_live_") || starts(b"_test_") || ends(b"whsec")).then_some(Shape::Stripe),
        b'-' if after.get(1) == Some(&b'-') => starts(b"-----BEGIN ").then_some(Shape::PrivateKey),
        b'-' if ends(b"glpat") || ends(b"gldt") || ends(b"glrt") => Some(Shape::Gitlab),
        b'-' => (before.len() >= 4 && before[before.len() - 4..before.len() - 1] == *b"xox")
            .then_some(Shape::Slack),
        b':' if starts(b"://hooks.slack.com/") => Some(Shape::Slack),
        b':' => (starts(b"://") && has_user_info(&after[3..])).then_some(Shape::UrlPassword),
        _ => None,
    };
    shape.map_or(0, |shape| 1 << shape as u32)
}

/// Whether `before` ends with GitHub's `gh` and the letter of a token's
/// kind.
fn ends_with_gh(before: &[u8]) -> bool {
    before.len() >= 3 && before[before.len() - 3..before.len() - 1] == *b"gh"
}

/// Whether the authority of a URL, starting at `rest`, holds a password:
/// an `@` comes before any `/` or space, with a `:` before it.
fn has_user_info(rest: &[u8]) -> bool {
    let end = rest
        .iter()
        .position(|&byte| byte == b'/' || byte == b'@' || byte.is_ascii_whitespace());
    end.is_some_and(|end| rest[end] == b'@' && rest[..end].contains(&b':'))
}

/// A credential after `Bearer` or `Basic`, not a word of prose: it holds
/// a digit or a character no word does.
fn credential_like(text: &[u8]) -> bool {
    text.iter()
        .any(|byte| byte.is_ascii_digit() || b"._~+/=-".contains(byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_is_told_at_its_mark() {
        for (line, shape) in [
            ("Bearer abc", Shape::Authorization),
            ("bAsIc abc", Shape::Authorization),
            ("eyJhbGc", Shape::Jwt),
            ("AKIAIOSFODNN7EXAMPLE", Shape::Aws),
            ("AIzaSy", Shape::Google),
            ("ghp_abc", Shape::Github),
            ("github_pat_x", Shape::Github),
            ("sk_live_x", Shape::Stripe),
            ("whsec_x", Shape::Stripe),
            ("-----BEGIN RSA", Shape::PrivateKey),
            ("glpat-x", Shape::Gitlab),
            ("xoxb-1", Shape::Slack),
            ("https://hooks.slack.com/services/x", Shape::Slack),
            ("postgres://u:p@h", Shape::UrlPassword),
        ] {
            let line = line.as_bytes();
            let found = (0..line.len()).fold(0, |found, at| found | shapes_at(line, at));
            assert_eq!(
                found,
                1 << shape as u32,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        for line in ["https://example.com/a@b", "babel", "ok_value", "2025-03-03"] {
            let line = line.as_bytes();
            assert_eq!(
                (0..line.len()).map(|at| shapes_at(line, at)).sum::<u32>(),
                0
            );
        }
    }
}
