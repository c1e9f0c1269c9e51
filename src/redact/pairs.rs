//! Where a key stands before its value, found from the marks of a line:
//! before a separator (`key=value`, `"key" : value`, `key => value`,
//! `key := value`), as an XML element's name (`<password>...</password>`),
//! as a command-line flag (`--password value`), or as the string a naming
//! member holds (`{"name":"password","value":"..."}`), whose value is the
//! sibling member's.

use super::keys::{self, Named as Name};
use super::values::{Find, Quoting, Value, escaped_string_end, string_end, value_at};

/// The key rules of a run: the built-in secret names, and the keys of
/// `--redact-key`.
#[derive(Debug, Default)]
pub(super) struct KeyRules {
    /// The index of the rule of secret names, if on.
    pub secret: Option<usize>,
    /// The index of the rule of `--redact-key`, and its names (lowercase).
    pub own: Option<(usize, Vec<Vec<u8>>)>,
}

impl KeyRules {
    pub(super) fn is_on(&self) -> bool {
        self.secret.is_some() || self.own.is_some()
    }

    /// The rule whose key ends `key`, and the name it knows it by.
    fn rule_for<'k>(&'k self, key: &[u8]) -> Option<(usize, &'k [u8])> {
        match keys::secret_name(key) {
            Name::Secret(name) => self.secret.map(|rule| (rule, name.as_bytes())),
            Name::Nothing => self.own_rule_for(key),
            Name::Escaped => {
                let decoded = keys::decoded(key);
                match keys::secret_name(&decoded) {
                    Name::Secret(name) => self.secret.map(|rule| (rule, name.as_bytes())),
                    _ => self.own_rule_for(&decoded),
                }
            }
        }
        .or_else(|| self.own_rule_for(key))
    }

    fn own_rule_for<'k>(&'k self, key: &[u8]) -> Option<(usize, &'k [u8])> {
        let (rule, names) = self.own.as_ref()?;
        let name = names.iter().find(|name| keys::is_whole_key(key, &[name]))?;
        Some((*rule, name))
    }

    /// At a separator (`:` or `=`) at `at`: the value of the key before
    /// it, if the key names a secret, or the sibling values of a naming
    /// member. `escapes`: whether a backslash or `%` stands before, in the line.
    #[inline]
    pub(super) fn at_separator(
        &self,
        line: &[u8],
        at: usize,
        escapes: bool,
        finds: &mut Vec<Find>,
    ) {
        let Some(key) = key_before(line, at) else {
            return;
        };
        if self.own.is_none() && !keys::may_name(&line[..key.end], escapes) {
            return;
        }
        self.key_value(line, at, key, finds);
    }

    /// The value of `key`, before the separator at `at`, if it names a
    /// secret, or the sibling values of a naming member.
    fn key_value(&self, line: &[u8], at: usize, key: Key, finds: &mut Vec<Find>) {
        if let Some((rule, name)) = self.rule_for(&line[..key.end]) {
            let start = value_start(line, at);
            push(finds, value_at(line, start, name, key.quoting), rule);
        } else if let Some(rule) = self.secret
            && key.quoting != Quoting::Bare
            && keys::is_naming_key(&line[..key.end])
            && let Some(name) = named_secret(line, value_start(line, at), key.quoting)
        {
            let named = Named {
                rule,
                name,
                quoting: key.quoting,
            };
            sibling_values(line, key.quote, &named, finds);
        }
    }

    /// At a `>`: the text of an XML element whose name is a secret's.
    pub(super) fn at_tag_end(&self, line: &[u8], at: usize, finds: &mut Vec<Find>) {
        let name_start = line[..at]
            .iter()
            .rposition(|&byte| !(byte.is_ascii_alphanumeric() || b"_.-:".contains(&byte)))
            .filter(|&open| line[open] == b'<');
        let Some(open) = name_start else {
            return;
        };
        let Some((rule, _)) = self.rule_for(&line[open + 1..at]) else {
            return;
        };
        let end = memchr::memchr(b'<', &line[at + 1..]).map_or(line.len(), |end| at + 1 + end);
        push(
            finds,
            Some(Value {
                range: at + 1..end,
                quoting: Quoting::Bare,
            }),
            rule,
        );
    }

    /// At a `-`: the word after a command-line flag (`--password hunter2`)
    /// whose name is a secret's.
    pub(super) fn at_dash(&self, line: &[u8], at: usize, finds: &mut Vec<Find>) {
        let starts_flag =
            line.get(at + 1) == Some(&b'-') && (at == 0 || b" \t\"'".contains(&line[at - 1]));
        if !starts_flag {
            return;
        }
        let name_end = line[at + 2..]
            .iter()
            .position(|&byte| !(byte.is_ascii_alphanumeric() || b"_.-".contains(&byte)))
            .map_or(line.len(), |end| at + 2 + end);
        if line.get(name_end) != Some(&b' ') || name_end == at + 2 {
            return;
        }
        let start = name_end + 1;
        if line
            .get(start)
            .is_none_or(|&byte| byte == b'-' || byte == b' ')
        {
            return;
        }
        if let Some((rule, name)) = self.rule_for(&line[at + 2..name_end]) {
            push(finds, value_at(line, start, name, Quoting::Bare), rule);
        }
    }
}

fn push(finds: &mut Vec<Find>, value: Option<Value>, rule: usize) {
    if let Some(Value { range, quoting }) = value {
        finds.push(Find {
            range,
            quoting,
            rule,
        });
    }
}

/// A key before a separator: where its text ends, the quote that closes
/// it (if any), and what that quote says of the value's writing.
struct Key {
    end: usize,
    quote: usize,
    quoting: Quoting,
}

/// The key before the separator at `at`: spaces, then a closing quote
/// (plain, escaped or single) may stand between them.
#[inline]
fn key_before(line: &[u8], at: usize) -> Option<Key> {
    let mut end = at;
    while end > 0 && matches!(line[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    // `:=`: the key stands before the colon, which has its own mark.
    if end == 0 || (line[at] == b'=' && line[end - 1] == b':') {
        return None;
    }
    let quote = end - 1;
    let (end, quoting) = match line[quote] {
        b'"' if quote > 0 && line[quote - 1] == b'\\' => (quote - 1, Quoting::EscapedJson),
        b'"' => (quote, Quoting::Json),
        b'\'' => (quote, Quoting::Bare),
        _ => (end, Quoting::Bare),
    };
    Some(Key {
        end,
        quote,
        quoting,
    })
}

/// Where the value after the separator at `at` starts: past `=>` or
/// `:=` and the spaces after.
fn value_start(line: &[u8], at: usize) -> usize {
    let mut start = at + 1;
    if matches!(
        (line[at], line.get(start)),
        (b'=', Some(b'>')) | (b':', Some(b'='))
    ) {
        start += 1;
    }
    while line
        .get(start)
        .is_some_and(|&byte| byte == b' ' || byte == b'\t')
    {
        start += 1;
    }
    start
}

/// The secret that the value at `start` names, if it is a string that
/// names one.
fn named_secret(line: &[u8], start: usize, quoting: Quoting) -> Option<&'static str> {
    let text = match (quoting, &line[start..]) {
        (Quoting::Json, [b'"', ..]) => &line[start + 1..string_end(line, start + 1)],
        (Quoting::EscapedJson, [b'\\', b'"', ..]) => {
            &line[start + 2..escaped_string_end(line, start + 2)]
        }
        _ => return None,
    };
    let named = match keys::secret_name(text) {
        Name::Escaped => keys::secret_name(&keys::decoded(text)),
        named => named,
    };
    match named {
        Name::Secret(name) => Some(name),
        _ => None,
    }
}

/// A secret a naming member names: the rule that hides it, its name, and
/// how the JSON around is written.
struct Named {
    rule: usize,
    name: &'static str,
    quoting: Quoting,
}

/// How many backslashes stand right before `at`.
fn backslashes_before(line: &[u8], at: usize) -> usize {
    line[..at]
        .iter()
        .rev()
        .take_while(|&&byte| byte == b'\\')
        .count()
}

/// Whether the quote at `at` opens or closes a string of the JSON written
/// as `quoting` says (in a JSON string, its quotes are escaped once).
fn is_delimiter(line: &[u8], at: usize, quoting: Quoting) -> bool {
    let slashes = backslashes_before(line, at);
    match quoting {
        Quoting::EscapedJson => slashes % 4 == 1,
        _ => slashes.is_multiple_of(2),
    }
}

/// The farthest a naming member's object is looked for, back and forth.
const LONGEST_OBJECT: usize = 64 * 1024;

/// The values of the members named `value` (or `val`, `values`) in the
/// object that holds the key whose closing quote is at `quote`.
fn sibling_values(line: &[u8], quote: usize, named: &Named, finds: &mut Vec<Find>) {
    let Some(open) = object_start(line, quote + 1, named.quoting) else {
        return;
    };
    let mut depth = 0usize;
    let mut string_start = None;
    let end = line.len().min(open + LONGEST_OBJECT);
    for at in open..end {
        match line[at] {
            b'"' if is_delimiter(line, at, named.quoting) => match string_start.take() {
                None => string_start = Some(at + 1),
                Some(start) if depth == 1 => {
                    let key_end = at - backslashes_before(line, at);
                    member_value(line, start..key_end, at, named, finds);
                }
                Some(_) => {}
            },
            _ if string_start.is_some() => {}
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// If the string `key` (closed by the quote at `quote`) is a member's key
/// that holds a named value, that value.
fn member_value(
    line: &[u8],
    key: std::ops::Range<usize>,
    quote: usize,
    named: &Named,
    finds: &mut Vec<Find>,
) {
    let mut colon = quote + 1;
    while line
        .get(colon)
        .is_some_and(|&byte| byte == b' ' || byte == b'\t')
    {
        colon += 1;
    }
    let is_key = line.get(colon) == Some(&b':');
    if is_key && keys::is_value_key(&line[key.start.saturating_sub(1)..key.end]) {
        let start = value_start(line, colon);
        let value = value_at(line, start, named.name.as_bytes(), named.quoting);
        push(finds, value, named.rule);
    }
}

/// The `{` that opens the object holding the text just before `from`.
fn object_start(line: &[u8], from: usize, quoting: Quoting) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let stop = from.saturating_sub(LONGEST_OBJECT);
    for at in (stop..from).rev() {
        match line[at] {
            b'"' if is_delimiter(line, at, quoting) => in_string = !in_string,
            _ if in_string => {}
            b'}' | b']' => depth += 1,
            b'{' | b'[' if depth == 0 => return (line[at] == b'{').then_some(at),
            b'{' | b'[' => depth -= 1,
            _ => {}
        }
    }
    None
}
