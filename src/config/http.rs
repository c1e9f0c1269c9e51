//! An HTTP sink's URL, and the request and retry settings every HTTP sink
//! shares.

use std::path::PathBuf;
use std::time::Duration;

use super::retry::RetryPolicy;
use crate::cli::{Args, HttpFormatArg};
use crate::public_url::{has_secrets, public_url};

/// How a batch is sent in a request's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpFormat {
    /// One event a line.
    Ndjson,
    /// One JSON array of the events.
    JsonArray,
}

#[derive(Debug, Clone)]
pub(crate) struct HttpOptions {
    pub format: HttpFormat,
    /// Compress each request's body.
    pub gzip: bool,
    /// `--http-header` pairs sent with every request.
    pub headers: Vec<(String, String)>,
    /// Sent as `Authorization: Bearer`; never printed.
    pub token: Option<String>,
    /// Longest one request may take.
    pub timeout: Duration,
    /// A PEM certificate trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    pub retry: RetryPolicy,
}

/// The `--http-*` flags, checked as the HTTP client would check them.
pub(crate) fn options(
    args: &Args,
    urls: &[&str],
    retry: RetryPolicy,
) -> Result<HttpOptions, String> {
    super::checks::longer_than_zero("--http-timeout", args.http_timeout)?;
    check_authorization(urls, args)?;
    check_headers(args)?;
    super::checks::small_file("--http-ca-file", &args.http_ca_file)?;
    Ok(HttpOptions {
        format: format(args)?,
        gzip: args.http_gzip,
        headers: args.http_headers.clone(),
        token: args.http_token.clone(),
        timeout: args.http_timeout,
        ca_file: args.http_ca_file.clone(),
        retry,
    })
}

/// `--http-format`: a JSON array needs JSON events.
fn format(args: &Args) -> Result<HttpFormat, String> {
    match args.http_format {
        HttpFormatArg::Ndjson => Ok(HttpFormat::Ndjson),
        HttpFormatArg::Json if args.raw => {
            Err("--http-format json needs JSON events; it cannot be used with --raw".into())
        }
        HttpFormatArg::Json => Ok(HttpFormat::JsonArray),
    }
}

/// An HTTP request carries one `Authorization`: a URL's user and password,
/// `--http-token` and an `Authorization` header would each set it, and one
/// would silently win. More than one for a sink is refused, naming them
/// (never their values).
fn check_authorization(urls: &[&str], args: &Args) -> Result<(), String> {
    let mut given = Vec::new();
    for (name, _) in &args.http_headers {
        if name.eq_ignore_ascii_case("authorization") {
            given.push("--http-header 'Authorization: ...'".to_owned());
        }
    }
    if args.http_token.is_some() {
        given.push("--http-token (or SHIPPER_HTTP_TOKEN)".to_owned());
    }
    let mut per_sink = vec![given.clone()];
    for url in urls {
        if has_credentials(url) {
            let mut sources = given.clone();
            sources.push(format!("the user and password in '{}'", public_url(url)));
            per_sink.push(sources);
        }
    }
    match per_sink.into_iter().find(|sources| sources.len() > 1) {
        Some(sources) => Err(format!(
            "an HTTP request has one Authorization, and it would come from {}: keep one",
            sources.join(" and from ")
        )),
        None => Ok(()),
    }
}

/// Headers the HTTP client would refuse, refused now: `--check-config`
/// must not pass what every run then fails on. Values are never quoted.
fn check_headers(args: &Args) -> Result<(), String> {
    use reqwest::header::{HeaderName, HeaderValue};
    for (name, value) in &args.http_headers {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(format!(
                "--http-header: '{name}' is not a header name (letters, digits and \
                 !#$%&'*+-.^_`|~ only)"
            ));
        }
        if HeaderValue::from_str(value).is_err() {
            return Err(format!(
                "--http-header: the value of '{name}' holds characters a header \
                 cannot carry (not quoted, as it may be a secret)"
            ));
        }
    }
    if let Some(token) = &args.http_token
        && HeaderValue::from_str(&format!("Bearer {token}")).is_err()
    {
        return Err(
            "--http-token (or SHIPPER_HTTP_TOKEN) holds characters a header \
                    cannot carry (not quoted, as it is a secret)"
                .to_owned(),
        );
    }
    Ok(())
}

/// A URL with a user or a password: reqwest sends them as Basic
/// authorization, over any `Authorization` header.
fn has_credentials(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|url| !url.username().is_empty() || url.password().is_some())
}

/// The part after `http=`: an `http://` or `https://` URL.
pub(crate) fn check_url(url: &str) -> Result<String, String> {
    if !url.contains("://") {
        return Err("an HTTP sink needs a URL that starts with http:// or https://".to_owned());
    }
    let shown = public_url(url);
    let parsed =
        reqwest::Url::parse(url).map_err(|err| format!("'{shown}' is not a URL: {err}"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(url.to_owned()),
        other => Err(format!(
            "'{shown}': an HTTP sink needs http:// or https://, not {other}://"
        )),
    }
}

/// What ends the name of an HTTP sink whose URL's credentials were left
/// out of it.
pub(crate) const HIDDEN: &str = " (credentials hidden)";

/// An HTTP sink's URL fit to print, saying when something was left out.
pub(crate) fn label(url: &str) -> String {
    if has_secrets(url) {
        format!("{}{HIDDEN}", public_url(url))
    } else {
        public_url(url)
    }
}
