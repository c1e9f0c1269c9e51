//! The secrets an HTTP sink sends (the URL's password and query, the
//! Basic credentials, the bearer token, the Elasticsearch API key and the
//! Splunk token, header values), to hide in a
//! collector's answer that echoes the request before it is printed.

use crate::config::http::HttpOptions;

/// Shorter query and header values are left alone: hiding them would
/// blank out ordinary words of the answer, and no key is that short.
const SHORTEST_QUERY_VALUE: usize = 4;

fn long_enough(value: &str) -> bool {
    value.len() >= SHORTEST_QUERY_VALUE
}

/// What an answer must not show, the longest first so that no part of one
/// is left showing.
#[derive(Debug, Default)]
pub(crate) struct KnownSecrets(Vec<String>);

impl KnownSecrets {
    /// Those of a sink posting to `url` with `options`.
    pub(crate) fn of(url: &str, options: &HttpOptions) -> KnownSecrets {
        let mut secrets = Vec::new();
        if let Ok(parsed) = reqwest::Url::parse(url) {
            from_url(&parsed, &mut secrets);
        }
        secrets.extend(options.token.iter().cloned());
        let collectors = &options.collectors;
        secrets.extend(collectors.es_api_key.iter().cloned());
        secrets.extend(collectors.splunk_token.iter().cloned());
        let values = options.headers.iter().map(|(_, value)| value);
        secrets.extend(values.filter(|value| long_enough(value)).cloned());
        secrets.retain(|secret| !secret.is_empty());
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        KnownSecrets(secrets)
    }

    /// `text` with each secret replaced by `(hidden)`.
    pub(crate) fn hide(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), "(hidden)")
        })
    }
}

/// The password (as written and decoded), `user:password` in Basic form,
/// the query whole and each of its values (as written and decoded), and
/// the fragment.
fn from_url(url: &reqwest::Url, secrets: &mut Vec<String>) {
    let user = decoded(url.username());
    if let Some(password) = url.password() {
        secrets.push(password.to_owned());
        secrets.push(decoded(password));
    }
    if !user.is_empty() || url.password().is_some() {
        let pair = format!("{user}:{}", decoded(url.password().unwrap_or("")));
        secrets.push(base64(pair.as_bytes()));
    }
    if let Some(query) = url.query() {
        secrets.push(query.to_owned());
        let values = query
            .split('&')
            .filter_map(|pair| pair.split_once('=').map(|(_, v)| v.to_owned()));
        let decoded = url.query_pairs().map(|(_, value)| value.into_owned());
        secrets.extend(values.chain(decoded).filter(|value| long_enough(value)));
    }
    secrets.extend(url.fragment().map(str::to_owned));
}

fn decoded(text: &str) -> String {
    percent_decode(text).unwrap_or_else(|| text.to_owned())
}

/// `%XX` escapes decoded; `None` when the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok());
        match (
            bytes[at],
            hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()),
        ) {
            (b'%', Some(byte)) => {
                out.push(byte);
                at += 3;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Standard base64 with padding, as Basic authorization writes it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word = chunk.iter().enumerate().fold(0u32, |word, (index, byte)| {
            word | u32::from(*byte) << (16 - 8 * index)
        });
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(char::from(
                    ALPHABET[(word >> (18 - 6 * index)) as usize & 63],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_encoded_as_reqwest_sends_them() {
        assert_eq!(base64(b"user:SECRETPW"), "dXNlcjpTRUNSRVRQVw==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn an_echoed_request_loses_every_secret() {
        let options = HttpOptions {
            format: crate::config::http::HttpFormat::Ndjson,
            gzip: false,
            headers: vec![("X-Api-Key".into(), "H3ADER".into())],
            token: Some("T0KEN".into()),
            timeout: std::time::Duration::from_secs(1),
            ca_file: None,
            retry: crate::config::retry::RetryPolicy {
                initial: std::time::Duration::from_secs(1),
                max_delay: std::time::Duration::from_secs(1),
                max_attempts: 1,
            },
            collectors: crate::config::http::CollectorOptions {
                es_api_key: Some("ESK3Y".into()),
                splunk_token: Some("SPL7NK".into()),
                ..Default::default()
            },
        };
        let secrets = KnownSecrets::of("http://user:SECRET%50W@h/x?k=QSECRET&n=1", &options);
        let echo = "for /x?k=QSECRET&n=1 k=QSECRET Basic dXNlcjpTRUNSRVRQVw== SECRET%50W \
                    SECRETPW T0KEN H3ADER ESK3Y SPL7NK status 1";
        let hidden = secrets.hide(echo);
        for secret in [
            "QSECRET",
            "dXNlcjpTRUNSRVRQVw",
            "SECRET",
            "T0KEN",
            "H3ADER",
            "ESK3Y",
            "SPL7NK",
        ] {
            assert!(!hidden.contains(secret), "{secret} in {hidden}");
        }
        assert!(hidden.ends_with("status 1"), "{hidden}");
    }
}
