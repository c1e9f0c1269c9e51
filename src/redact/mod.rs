//! Redaction: secrets and personal data found in a line are replaced
//! before the line becomes an event, so they reach no sink, no diagnostic
//! and no summary. It works on the line's bytes as read, so one pass
//! covers the message, every string in `data` and `context`, `--raw`
//! lines and anything that quotes the line later.
//!
//! Most lines hold nothing to hide. One vector pass marks the few bytes
//! a secret cannot be without (separators, joiners, the first letters of
//! tokens' shapes); the keys before separators are read there, and only
//! the rules whose shape a mark shows run their patterns on the line.

mod checks;
mod keys;
mod pairs;
mod rules;
mod scan;
mod values;

use std::borrow::Cow;
use std::ops::Range;

use hmac::{Hmac, KeyInit, Mac};
use regex::bytes::Regex;
use sha2::Sha256;

use pairs::KeyRules;
use rules::{Finder, Pattern, Rule, Shape, Wake};
use values::{Find, Quoting};

/// What replaces a value without `--redact-hash`.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// The name under which the last words of cut lines are counted.
const CUT_WORD: &str = "cut_word";

/// A set of rules `--redact` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Preset {
    /// Secret keys' values, tokens and keys by their shapes, private keys,
    /// passwords in URLs.
    Credentials,
    /// E-mail addresses, card numbers, IBANs.
    Pii,
}

/// What to redact, as the flags said.
#[derive(Debug, Clone, Default)]
pub(crate) struct RedactConfig {
    pub presets: Vec<Preset>,
    /// `--redact-key`: more key names whose values are hidden.
    pub keys: Vec<String>,
    /// `--redact-pattern`: more patterns (their first group, if they have
    /// one, else the whole match).
    pub patterns: Vec<Regex>,
    /// `--redact-hash`: write a keyed hash of each value instead.
    pub hash_key: Option<Vec<u8>>,
}

/// Finds and replaces what the rules name, counting each rule's finds.
pub(crate) struct Redactor {
    rules: Vec<Rule>,
    /// The rules of keys' values, found at the marks.
    keys: KeyRules,
    /// For each shape, the rules it wakes (bits by rule index).
    woken_by: Vec<(Shape, u64)>,
    /// Whether the marks are looked at (a rule finds or wakes by them).
    marks: bool,
    /// The rules that look at every line (they have no marks).
    always: u64,
    /// Values hidden so far, by rule, since last taken.
    counts: Vec<u64>,
    hash_key: Option<Vec<u8>>,
}

impl Redactor {
    /// The rules `config` asks for. At most 64 rules.
    pub(crate) fn new(config: &RedactConfig) -> Result<Redactor, String> {
        let mut rules = Vec::new();
        for preset in &config.presets {
            rules.extend(match preset {
                Preset::Credentials => rules::credentials(),
                Preset::Pii => rules::pii(),
            });
        }
        let mut keys = KeyRules::default();
        if let Some(rule) = rules.iter().position(|rule| rule.name == "secret_key") {
            keys.secret = Some(rule);
        }
        if !config.keys.is_empty() {
            let names = config
                .keys
                .iter()
                .map(|key| key.to_ascii_lowercase().into_bytes())
                .collect();
            keys.own = Some((rules.len(), names));
            rules.push(rules::key_rule("key"));
        }
        for (index, regex) in config.patterns.iter().enumerate() {
            let group = usize::from(regex.captures_len() > 1);
            rules.push(Rule {
                name: format!("pattern_{}", index + 1),
                finder: Finder::Pattern {
                    regex: Pattern::Own(regex.clone()),
                    group,
                    check: None,
                },
                wake: Wake::Always,
            });
        }
        if rules.len() > 64 {
            return Err("at most 64 redaction rules (presets, keys and patterns)".to_owned());
        }
        let mut woken_by = Vec::new();
        let mut always = 0u64;
        for (index, rule) in rules.iter().enumerate() {
            match rule.wake {
                Wake::Always => always |= 1 << index,
                Wake::Shape(shape) => woken_by.push((shape, 1 << index)),
                Wake::Marks => {}
            }
        }
        Ok(Redactor {
            counts: vec![0; rules.len() + 1],
            marks: keys.is_on() || !woken_by.is_empty(),
            rules,
            keys,
            woken_by,
            always,
            hash_key: config.hash_key.clone(),
        })
    }

    /// Whether there is anything to look for.
    pub(crate) fn is_on(&self) -> bool {
        !self.rules.is_empty()
    }

    /// The rules' names, in the order the counts are kept; last, the
    /// words cut lines lost.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        let rules = self.rules.iter().map(|rule| rule.name.as_str());
        rules.chain(std::iter::once(CUT_WORD))
    }

    /// The values hidden by each rule since the last call (as `names`).
    pub(crate) fn take_counts(&mut self) -> Vec<u64> {
        let taken = self.counts.clone();
        self.counts.iter_mut().for_each(|count| *count = 0);
        taken
    }

    /// `line` with what the rules find replaced; borrowed when nothing
    /// was. A `cut` line (at the line limit) also loses its last word,
    /// which may be the first half of a secret no rule can tell.
    pub(crate) fn redact<'l>(&mut self, line: &'l [u8], cut: bool) -> Cow<'l, [u8]> {
        let mut finds = Vec::new();
        let mut woken = self.always;
        if self.marks {
            woken |= self.look_at_marks(line, &mut finds);
        }
        if woken == 0 && finds.is_empty() && !cut {
            return Cow::Borrowed(line);
        }
        for (index, rule) in self.rules.iter().enumerate() {
            if woken & (1 << index) != 0 {
                find(rule, index, line, &mut finds);
            }
        }
        if cut && let Some(tail) = cut_word(line) {
            finds.push(Find {
                range: tail,
                quoting: Quoting::Bare,
                rule: self.rules.len(),
            });
        }
        if finds.is_empty() {
            return Cow::Borrowed(line);
        }
        Cow::Owned(self.replace(line, finds))
    }

    /// Reads the keys at the marks of `line` into `finds`; returns the
    /// rules that the shapes seen there wake.
    fn look_at_marks(&self, line: &[u8], finds: &mut Vec<Find>) -> u64 {
        let mut shapes = 0u32;
        let mut escapes = false;
        let keys = self.keys.is_on().then_some(&self.keys);
        scan::each_mark(line, |at| match (line[at], keys) {
            (b'\\' | b'%', _) => escapes = true,
            (b':' | b'=', Some(keys)) => {
                keys.at_separator(line, at, escapes, finds);
                if line.get(at + 1) == Some(&b'/') {
                    shapes |= rules::shapes_at(line, at);
                }
            }
            (b':', None) if line.get(at + 1) == Some(&b'/') => shapes |= rules::shapes_at(line, at),
            (b'>', Some(keys)) => keys.at_tag_end(line, at, finds),
            (b'-', Some(keys)) if line.get(at + 1) == Some(&b'-') => {
                keys.at_dash(line, at, finds);
                shapes |= rules::shapes_at(line, at);
            }
            (b':' | b'=' | b'>', _) => {}
            _ => shapes |= rules::shapes_at(line, at),
        });
        if shapes == 0 {
            return 0;
        }
        self.woken_by
            .iter()
            .filter(|(shape, _)| shapes & (1 << *shape as u32) != 0)
            .fold(0, |woken, (_, rules)| woken | rules)
    }

    /// Writes `line` with each find replaced, the earliest winning where
    /// two overlap.
    fn replace(&mut self, line: &[u8], mut finds: Vec<Find>) -> Vec<u8> {
        finds.sort_by_key(|find| (find.range.start, find.rule));
        let mut out = Vec::with_capacity(line.len());
        let mut copied = 0;
        for find in finds {
            if find.range.start < copied || already_hidden(&line[find.range.clone()]) {
                continue;
            }
            out.extend_from_slice(&line[copied..find.range.start]);
            let value = &line[find.range.clone()];
            match find.quoting {
                Quoting::Bare => self.write_replacement(value, &mut out),
                Quoting::Json => {
                    out.push(b'"');
                    self.write_replacement(value, &mut out);
                    out.push(b'"');
                }
                Quoting::EscapedJson => {
                    out.extend_from_slice(b"\\\"");
                    self.write_replacement(value, &mut out);
                    out.extend_from_slice(b"\\\"");
                }
            }
            if let Some(count) = self.counts.get_mut(find.rule) {
                *count += 1;
            }
            copied = find.range.end;
        }
        out.extend_from_slice(&line[copied..]);
        out
    }

    /// `[REDACTED]`, or with `--redact-hash` a keyed hash of `value`:
    /// `[HMAC:` and the first 16 hex digits of its HMAC-SHA256 `]`.
    fn write_replacement(&self, value: &[u8], out: &mut Vec<u8>) {
        let Some(key) = &self.hash_key else {
            out.extend_from_slice(REDACTED.as_bytes());
            return;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
        mac.update(value);
        let digest = mac.finalize().into_bytes();
        out.extend_from_slice(b"[HMAC:");
        for byte in &digest[..8] {
            out.extend_from_slice(format!("{byte:02x}").as_bytes());
        }
        out.push(b']');
    }
}

/// What `rule` (the `index`th) finds in `line`, added to `finds`.
fn find(rule: &Rule, index: usize, line: &[u8], finds: &mut Vec<Find>) {
    match &rule.finder {
        Finder::Keys => {}
        Finder::Pattern {
            regex,
            group,
            check,
        } => {
            for captures in regex.get().captures_iter(line) {
                let Some(found) = captures.get(*group) else {
                    continue;
                };
                if check.is_none_or(|check| check(found.as_bytes())) && !found.is_empty() {
                    finds.push(in_place(line, found.range(), index));
                }
            }
        }
        Finder::Pem(begin) => {
            for marker in begin.find_iter(line) {
                let end = pem_end(line, marker.end());
                if end > marker.end() {
                    finds.push(Find {
                        range: marker.end()..end,
                        quoting: Quoting::Bare,
                        rule: index,
                    });
                }
            }
        }
    }
}

/// A pattern's find: where it is a JSON value of its own (a number,
/// with its sign), replaced by a JSON string, so the line stays JSON.
fn in_place(line: &[u8], range: Range<usize>, rule: usize) -> Find {
    let before = line[..range.start]
        .iter()
        .rposition(|&byte| byte != b' ' && byte != b'-');
    let after = line[range.end..].iter().find(|&&byte| byte != b' ');
    let own_value = before.is_none_or(|at| b":[,".contains(&line[at]))
        && after.is_none_or(|byte| b",]}".contains(byte));
    if !own_value {
        return Find {
            range,
            quoting: Quoting::Bare,
            rule,
        };
    }
    let start = before.map_or(0, |at| at + 1);
    let start = start
        + line[start..range.start]
            .iter()
            .take_while(|&&b| b == b' ')
            .count();
    Find {
        range: start..range.end,
        quoting: Quoting::Json,
        rule,
    }
}

/// Where a private key's body that starts at `from` ends: at its END
/// marker, else at the end of the string or line it stands in.
fn pem_end(line: &[u8], from: usize) -> usize {
    let rest = &line[from..];
    let end_marker = memchr::memmem::find(rest, b"-----END ");
    let mut at = 0;
    while at < rest.len() && end_marker.is_none_or(|end| at < end) {
        match rest[at] {
            b'\\' if rest.get(at + 1) == Some(&b'"') => break,
            b'\\' => at += 2,
            b'"' => break,
            _ => at += 1,
        }
    }
    from + at.min(rest.len())
}

/// The longest last word of a cut line that is hidden: longer than any
/// credential (a JWT, a key), it is data, not half a secret.
const LONGEST_CUT_WORD: usize = 4096;

/// The last word of a line cut at the limit: from its last space, quote,
/// `=` or `:` to the end, if no longer than a credential.
fn cut_word(line: &[u8]) -> Option<Range<usize>> {
    let start = line
        .iter()
        .rposition(|byte| b" \t\"'=:,;".contains(byte))
        .map_or(0, |at| at + 1);
    let length = line.len() - start;
    (length > 0 && length <= LONGEST_CUT_WORD).then_some(start..line.len())
}

/// A value already redacted (by an earlier run, or the input's writer):
/// left as it is, so redacting twice changes nothing.
fn already_hidden(value: &[u8]) -> bool {
    value == REDACTED.as_bytes() || (value.starts_with(b"[HMAC:") && value.ends_with(b"]"))
}

/// Values hidden, by rule name, in the order the rules were first
/// counted: every rule of the run, zero or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Redactions(Vec<(String, u64)>);

impl Redactions {
    /// Adds `count` to the rule `name`.
    pub(crate) fn add(&mut self, name: &str, count: u64) {
        match self.0.iter_mut().find(|(known, _)| known == name) {
            Some((_, total)) => *total += count,
            None => self.0.push((name.to_owned(), count)),
        }
    }

    /// Values hidden, whatever the rule.
    pub(crate) fn total(&self) -> u64 {
        self.0.iter().map(|(_, count)| count).sum()
    }

    /// Each rule with its count.
    pub(crate) fn by_rule(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(name, count)| (name.as_str(), *count))
    }
}

impl serde::Serialize for Redactions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, count) in self.by_rule() {
            map.serialize_entry(name, &count)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests;
