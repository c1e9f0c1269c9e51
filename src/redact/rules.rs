//! The rules of each preset: what they find, the words that must be in a
//! line for them to find anything (the prefilter's), and the check a
//! match must pass.

use regex::bytes::Regex;

/// The key names that mark a secret's value, matched at the end of a key
/// (`db_password`, `X-Api-Key`, `accessToken`), in any case.
const SECRET_KEYS: &str = "password|passwd|pwd|passphrase|secret|secret[_-]?key|token|\
    api[_-]?key|access[_-]?key|private[_-]?key|authorization|cookie|\
    session|session[_-]?id|credentials?";

/// Words one of which every line with a secret key holds, in any case
/// (the prefilter reads the line lowercased).
const KEY_WORDS: [&str; 11] = [
    "pass",
    "pwd",
    "secret",
    "token",
    "api",
    "access",
    "private",
    "auth",
    "cookie",
    "session",
    "credential",
];

/// How a rule finds what it hides.
pub(super) enum Finder {
    /// A key and its separator; the value after it is hidden.
    Key(Regex),
    /// A pattern: the capture group `group` (0 for all of it) is hidden,
    /// when `check` (if any) passes.
    Pattern {
        regex: Regex,
        group: usize,
        check: Option<fn(&[u8]) -> bool>,
    },
    /// A PEM private key block: what stands between its markers.
    Pem(Regex),
}

/// One rule: its name in the summary, how it finds, and the words one of
/// which a line must hold for it to look (none: it looks at every line).
pub(super) struct Rule {
    pub name: String,
    pub finder: Finder,
    pub triggers: Vec<String>,
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a built-in pattern compiles")
}

fn pattern(name: &str, pattern: &str, group: usize, triggers: &[&str]) -> Rule {
    Rule {
        name: name.to_owned(),
        finder: Finder::Pattern {
            regex: regex(pattern),
            group,
            check: None,
        },
        triggers: triggers.iter().map(|word| (*word).to_owned()).collect(),
    }
}

/// A key rule for `names` (an alternation): the key is one of them
/// (`whole_key`) or ends with one, and stands before a separator.
pub(super) fn key_rule(name: &str, names: &str, whole_key: bool, triggers: Vec<String>) -> Rule {
    let lead = if whole_key { "" } else { "[a-z0-9_.-]*?" };
    // Before the separator, the key's closing quote: plain or escaped.
    let pattern = format!(
        r#"(?i-u)(?:^|[^a-z0-9_.-]){lead}(?P<key>{names})(?P<quote>\\?["'])?[ \t]*[:=][ \t]*"#
    );
    Rule {
        name: name.to_owned(),
        finder: Finder::Key(Regex::new(&pattern).expect("escaped key names compile")),
        triggers,
    }
}

/// The `credentials` preset.
pub(super) fn credentials() -> Vec<Rule> {
    let words = KEY_WORDS.iter().map(|word| (*word).to_owned()).collect();
    vec![
        key_rule("secret_key", SECRET_KEYS, false, words),
        Rule {
            name: "authorization".to_owned(),
            finder: Finder::Pattern {
                regex: regex(r"(?i-u)\b(?:bearer|basic)[ \t]+([a-z0-9._~+/=-]{8,})"),
                group: 1,
                check: Some(credential_like),
            },
            triggers: vec!["bearer".to_owned(), "basic".to_owned()],
        },
        pattern(
            "jwt",
            r"(?-u)\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
            0,
            &["eyj"],
        ),
        pattern(
            "aws_access_key",
            r"(?-u)\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
            0,
            // The other IAM id prefixes only wake the rule: 38 words in
            // all take Teddy's fat scan, which bench/guard measured faster
            // here than the slim one that 32 would take.
            &[
                "akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa",
            ],
        ),
        pattern(
            "github_token",
            r"(?-u)\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
            0,
            &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        ),
        pattern(
            "gitlab_token",
            r"(?-u)\bgl(?:pat|dt|rt)-[A-Za-z0-9_-]{20,}",
            0,
            &["glpat-", "gldt-", "glrt-"],
        ),
        pattern(
            "slack_token",
            r"(?-u)\bxox[abposre]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+",
            0,
            &["xox", "://"],
        ),
        pattern(
            "stripe_key",
            r"(?-u)\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|\bwhsec_[A-Za-z0-9]{16,}",
            0,
            &["_live_", "_test_", "whsec_"],
        ),
        pattern(
            "google_api_key",
            r"(?-u)\bAIza[0-9A-Za-z_-]{35}",
            0,
            &["aiza"],
        ),
        Rule {
            name: "private_key".to_owned(),
            finder: Finder::Pem(regex(
                r"(?-u)-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----",
            )),
            triggers: vec!["-----begin ".to_owned()],
        },
        pattern(
            "url_password",
            r"(?i-u)\b[a-z][a-z0-9+.-]*://[^:/@\s]+:([^@/\s]+)@",
            1,
            &["://"],
        ),
    ]
}

/// The `pii` preset.
pub(super) fn pii() -> Vec<Rule> {
    vec![
        pattern(
            "email",
            r"(?-u)\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
            0,
            &["@"],
        ),
        Rule {
            name: "card_number".to_owned(),
            finder: Finder::Pattern {
                regex: regex(r"(?-u)\b\d(?:[ -]?\d){12,18}\b"),
                group: 0,
                check: Some(super::checks::luhn),
            },
            triggers: Vec::new(),
        },
        Rule {
            name: "iban".to_owned(),
            finder: Finder::Pattern {
                regex: regex(r"(?-u)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
                group: 0,
                check: Some(super::checks::iban),
            },
            triggers: Vec::new(),
        },
    ]
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

    fn keys() -> Regex {
        match credentials().remove(0).finder {
            Finder::Key(regex) => regex,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_secret_key_ends_the_key_and_stands_before_a_separator() {
        let keys = keys();
        for line in [
            "password=x",
            "db_password: x",
            r#"{"X-Api-Key":"x"}"#,
            r#"{\"accessToken\":\"x\"}"#,
            "session_id=x",
            "client_secret = x",
        ] {
            assert!(keys.is_match(line.as_bytes()), "{line}");
        }
        for line in [
            "max_tokens=5",
            "the token expired",
            "tokenizer=x",
            r#"{"message":"token refreshed"}"#,
        ] {
            assert!(!keys.is_match(line.as_bytes()), "{line}");
        }
    }
}
