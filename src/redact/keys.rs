//! Whether a key names a secret: it ends with one of the secret names, in
//! any case, with or without `_`, `-`, `.` or a space between their words
//! (`db_password`, `X-API-KEY`, `client.secret`, `Api Key`), however it is
//! escaped (`pass\u0077ord` in JSON, `pass%77ord` in a URL) and with the
//! brackets of form fields (`user[password]`) around it.

/// The secret names (as the value rules know them, and as their words,
/// lowercase), by their last letter. A key may join the words with one
/// `_`, `-`, `.` or space, or with nothing.
fn names_ending_in(last: u8) -> &'static [(&'static str, &'static [&'static str])] {
    match last {
        b'd' => &[
            ("password", &["pass", "word"]),
            ("passwd", &["pass", "wd"]),
            ("pwd", &["pwd"]),
            ("sessionid", &["session", "id"]),
        ],
        b'e' => &[("passphrase", &["pass", "phrase"]), ("cookie", &["cookie"])],
        b't' => &[("secret", &["secret"])],
        b'y' => &[
            ("secretkey", &["secret", "key"]),
            ("apikey", &["api", "key"]),
            ("accesskey", &["access", "key"]),
            ("privatekey", &["private", "key"]),
        ],
        b'n' => &[
            ("token", &["token"]),
            ("authorization", &["authorization"]),
            ("session", &["session"]),
        ],
        b'l' => &[("credential", &["credential"])],
        b's' => &[("credentials", &["credentials"])],
        _ => &[],
    }
}

/// The last four bytes a key that names a secret or a member may end
/// with (lowercased as `folded` does): with these, the three of `pwd` and
/// `key` with any byte before, a form field's closing bracket and an
/// escape, they tell most keys apart from those with a chance.
const TAILS: [&[u8; 4]; 24] = [
    b"word", b"sswd", b"s_wd", b"s-wd", b"s.wd", b"s wd", b"onid", b"n_id", b"n-id", b"n.id",
    b"n id", b"rase", b"okie", b"cret", b"oken", b"tion", b"sion", b"tial", b"ials", b"name",
    b"ader", b"eter", b"ield", b"aram",
];

/// Four bytes as one number, each with its case bit set (joiners and
/// other bytes may then stand for another: which only makes a key looked
/// at more closely).
const fn folded(bytes: [u8; 4]) -> u32 {
    u32::from_le_bytes(bytes) | 0x2020_2020
}

/// Where `TAILS` fall in a table of 4,096 bits.
const fn tail_bit(tail: u32) -> usize {
    (tail.wrapping_mul(0x9e37_79b1) >> 20) as usize
}

/// For each bit of `tail_bit`, whether one of `TAILS` falls there.
static TAIL_BITS: [u64; 64] = {
    let mut bits = [0u64; 64];
    let mut index = 0;
    while index < TAILS.len() {
        let bit = tail_bit(folded(*TAILS[index]));
        bits[bit / 64] |= 1 << (bit % 64);
        index += 1;
    }
    bits
};

/// `pwd` and `key` folded, as the last three bytes of a folded tail.
const SHORT_TAILS: [u32; 2] = [
    folded(*b"pwd\0") & 0x00ff_ffff,
    folded(*b"key\0") & 0x00ff_ffff,
];

/// Whether the key at the end of `key` may name a secret or a member: a
/// quick look at its last bytes, which rules out most keys. `escapes`:
/// whether a backslash or a `%` stands in the line before, so that the
/// key may be escaped.
#[inline]
pub(super) fn may_name(key: &[u8], escapes: bool) -> bool {
    let length = key.len();
    if length < 4 {
        return true;
    }
    let tail = folded([
        key[length - 4],
        key[length - 3],
        key[length - 2],
        key[length - 1],
    ]);
    let three = tail >> 8;
    let bit = tail_bit(tail);
    three == SHORT_TAILS[0]
        || three == SHORT_TAILS[1]
        || TAIL_BITS[bit / 64] & (1 << (bit % 64)) != 0
        || key[length - 1] == b']'
        || (escapes && (length - 4..length).any(|at| ends_escape(key, at)))
}

/// The keys whose string value names what the member beside it holds
/// (`{"name":"password","value":"..."}`), lowercase, by last letter.
fn naming_keys_ending_in(last: u8) -> &'static [&'static str] {
    match last {
        b'e' => &["name"],
        b'y' => &["key"],
        b'r' => &["header", "parameter"],
        b'd' => &["field"],
        b'm' => &["param"],
        _ => &[],
    }
}

/// The keys that hold what a naming key names.
const VALUE_KEYS: [&str; 3] = ["value", "val", "values"];

/// What may join the words of a key.
fn is_joiner(byte: u8) -> bool {
    matches!(byte, b'_' | b'-' | b'.' | b' ')
}

/// What a key's name is, read back from its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Named {
    /// It ends with this secret name (its words run together).
    Secret(&'static str),
    /// It names no secret.
    Nothing,
    /// An escape or a bracket stands in it: only its decoded text tells.
    Escaped,
}

/// Whether the key that ends at the end of `key` names a secret.
pub(super) fn secret_name(key: &[u8]) -> Named {
    let length = key.len();
    if length < 2 {
        return Named::Nothing;
    }
    if matches!(key[length - 1], b']' | b'[') {
        // A form field's brackets: `user[password]`, `password[]`.
        return secret_name(&key[..length - 1]);
    }
    let mut escaped = ends_escape(key, length - 1) || ends_escape(key, length - 2);
    for (name, words) in names_ending_in(key[length - 1] | 0x20) {
        match name_start(key, words) {
            Ok(_) => return Named::Secret(name),
            Err(stop) => escaped |= stop.is_some_and(|at| ends_escape(key, at)),
        }
    }
    match escaped {
        true => Named::Escaped,
        false => Named::Nothing,
    }
}

/// Where the name of `words` starts when the key at the end of `key` ends
/// with it, in any case, each word joined to the next by one joiner or
/// none; else where the letters stopped matching, if on a byte of `key`.
pub(super) fn name_start(key: &[u8], words: &[&str]) -> Result<usize, Option<usize>> {
    let mut at = key.len();
    for (index, word) in words.iter().rev().enumerate() {
        if index > 0 && at > 0 && is_joiner(key[at - 1]) {
            at -= 1;
        }
        for &want in word.as_bytes().iter().rev() {
            if at == 0 {
                return Err(None);
            }
            if key[at - 1].to_ascii_lowercase() != want {
                return Err(Some(at - 1));
            }
            at -= 1;
        }
    }
    Ok(at)
}

/// Whether the byte at `at` ends an escape: `\u` and four hex digits, or
/// `%` and two.
#[inline]
fn ends_escape(key: &[u8], at: usize) -> bool {
    if !key[at].is_ascii_hexdigit() {
        return false;
    }
    let percent = at >= 2 && key[at - 2] == b'%';
    let unicode = at >= 5 && key[at - 5] == b'\\' && key[at - 4] | 0x20 == b'u';
    percent || unicode
}

/// The longest key decoded: longer ones are read from their last bytes.
const LONGEST_KEY: usize = 256;

/// The key that ends at the end of `key`, decoded: JSON's `\u` escapes
/// (behind any number of backslashes, as JSON inside a string writes
/// them), other backslashes left out, and `%XX` escapes. It starts after
/// the last quote, brace, comma, `&`, `?`, `;` or line break.
pub(super) fn decoded(key: &[u8]) -> Vec<u8> {
    let from = key.len().saturating_sub(LONGEST_KEY);
    let start = key[from..]
        .iter()
        .rposition(|byte| b"\"'{},&?;\n\t".contains(byte))
        .map_or(from, |at| from + at + 1);
    let raw = &key[start..];
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        let (byte, next) = decode_one(raw, at);
        out.extend(byte);
        at = next;
    }
    out
}

/// The byte that the text at `at` stands for (`None` for one that is
/// left out), and where the next starts.
fn decode_one(raw: &[u8], at: usize) -> (Option<u8>, usize) {
    match raw[at] {
        b'\\' => {
            let slashes = raw[at..].iter().take_while(|&&byte| byte == b'\\').count();
            let after = at + slashes;
            match (raw.get(after), hex(raw.get(after + 1..after + 5))) {
                (Some(b'u' | b'U'), Some(code)) => (Some(ascii_or_other(code)), after + 5),
                _ => (None, after),
            }
        }
        b'%' => match hex(raw.get(at + 1..at + 3)) {
            Some(code) => (Some(ascii_or_other(code)), at + 3),
            None => (Some(b'%'), at + 1),
        },
        byte => (Some(byte), at + 1),
    }
}

/// A character's code as the byte the names are compared with: itself if
/// ASCII, else one no name holds.
fn ascii_or_other(code: u32) -> u8 {
    u8::try_from(code).ok().filter(u8::is_ascii).unwrap_or(0xff)
}

fn hex(digits: Option<&[u8]>) -> Option<u32> {
    let digits = std::str::from_utf8(digits?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

/// Whether the key at the end of `key` is exactly one of `names`
/// (lowercase), in any case: the byte before it is none of a key's.
pub(super) fn is_whole_key(key: &[u8], names: &[impl AsRef<[u8]>]) -> bool {
    names.iter().any(|name| {
        let name = name.as_ref();
        key.len() >= name.len()
            && key[key.len() - name.len()..].eq_ignore_ascii_case(name)
            && !key[..key.len() - name.len()]
                .last()
                .is_some_and(|&byte| byte.is_ascii_alphanumeric() || b"_.-".contains(&byte))
    })
}

/// Whether the key at the end of `key` names the member beside it (the
/// last letter tells which name to compare).
pub(super) fn is_naming_key(key: &[u8]) -> bool {
    key.last()
        .is_some_and(|&last| is_whole_key(key, naming_keys_ending_in(last | 0x20)))
}

/// Whether the key at the end of `key` holds what a naming key names.
pub(super) fn is_value_key(key: &[u8]) -> bool {
    is_whole_key(key, &VALUE_KEYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(key: &str) -> Option<&'static str> {
        let key = key.as_bytes();
        match secret_name(key) {
            Named::Secret(name) => Some(name),
            Named::Nothing => None,
            Named::Escaped => match secret_name(&decoded(key)) {
                Named::Secret(name) => Some(name),
                _ => None,
            },
        }
    }

    #[test]
    fn a_secret_name_ends_the_key_in_any_case_and_spelling() {
        for (key, name) in [
            ("password", "password"),
            ("db_password", "password"),
            ("X-API-KEY", "apikey"),
            ("x-api-key", "apikey"),
            ("client.secret", "secret"),
            ("Api Key", "apikey"),
            ("accessToken", "token"),
            ("SESSION_ID", "sessionid"),
            ("Set-Cookie", "cookie"),
            ("aws.secret.access.key", "accesskey"),
            ("Proxy-Authorization", "authorization"),
            ("{\"pass\\u0077ord", "password"),
            ("{\"api\\u005fkey", "apikey"),
            ("{\"passwor\\u0064", "password"),
            ("{\\\"pass\\\\u0077ord", "password"),
            ("?pass%77ord", "password"),
            ("user[password]", "password"),
            ("user%5Bpassword%5D", "password"),
            ("user[password][]", "password"),
        ] {
            assert_eq!(named(key), Some(name), "{key}");
        }
        for key in [
            "max_tokens",
            "tokenizer",
            "passwords_checked",
            "user_id",
            "08",
            "timestamp",
            "{\"na\\u006de",
            "",
        ] {
            assert_eq!(named(key), None, "{key}");
        }
    }

    #[test]
    fn naming_and_value_keys_are_whole_keys() {
        assert!(is_naming_key(b"{\"name"));
        assert!(is_naming_key(b"\"Key"));
        assert!(!is_naming_key(b"\"username"));
        assert!(is_value_key(b",\"Value"));
        assert!(!is_value_key(b",\"default_value"));
    }
}
