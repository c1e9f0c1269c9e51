//! An HTTP sink's URL, and the request and retry settings every HTTP sink
//! shares.

use std::path::PathBuf;
use std::time::Duration;

use super::retry::RetryPolicy;
use crate::cli::{Args, HttpFormatArg, OtlpEncodingArg};
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
    /// What the collectors' own APIs need besides.
    pub collectors: CollectorOptions,
}

/// The settings of the sinks that speak a collector's API.
#[derive(Debug, Clone, Default)]
pub(crate) struct CollectorOptions {
    /// Elasticsearch's `Authorization: ApiKey`; never printed.
    pub es_api_key: Option<String>,
    pub otlp_encoding: OtlpEncoding,
    /// OTLP's `service.name`.
    pub service: String,
    /// Labels every Loki stream carries.
    pub loki_labels: Vec<(String, String)>,
    /// Splunk HEC's `Authorization: Splunk`; never printed.
    pub splunk_token: Option<String>,
    pub splunk_sourcetype: String,
}

/// How an OTLP request is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum OtlpEncoding {
    #[default]
    Protobuf,
    Json,
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
        collectors: collectors(args)?,
    })
}

/// The collector sinks' flags, checked.
fn collectors(args: &Args) -> Result<CollectorOptions, String> {
    use reqwest::header::HeaderValue;
    let service = args.otlp_service.clone().or_else(|| {
        let field = args.fields.iter().find(|(key, _)| key == "service");
        field.map(|(_, value)| value.clone())
    });
    for (flag, secret, scheme) in [
        (
            "--es-api-key (or SHIPPER_ES_API_KEY)",
            &args.es_api_key,
            "ApiKey",
        ),
        (
            "--splunk-token (or SHIPPER_SPLUNK_TOKEN)",
            &args.splunk_token,
            "Splunk",
        ),
    ] {
        if let Some(secret) = secret
            && (secret.is_empty() || HeaderValue::from_str(&format!("{scheme} {secret}")).is_err())
        {
            return Err(format!(
                "{flag} is empty or holds characters a header cannot carry (not quoted, as it \
                 is a secret)"
            ));
        }
    }
    let bearer = args.http_token.is_some()
        || args
            .http_headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("authorization"));
    if bearer && (args.es_api_key.is_some() || args.splunk_token.is_some()) {
        return Err(
            "an HTTP request has one Authorization, and it would come from --http-token or an \
             Authorization header and from --es-api-key or --splunk-token: keep one"
                .to_owned(),
        );
    }
    for (key, _) in &args.loki_labels {
        if !loki_label_name(key) {
            return Err(format!(
                "--loki-label: '{}' is not a Loki label name (a letter or _, then letters, \
                 digits and _)",
                crate::diagnostics::escape(key)
            ));
        }
    }
    Ok(CollectorOptions {
        es_api_key: args.es_api_key.clone(),
        otlp_encoding: match args.otlp_encoding {
            OtlpEncodingArg::Protobuf => OtlpEncoding::Protobuf,
            OtlpEncodingArg::Json => OtlpEncoding::Json,
        },
        service: service.unwrap_or_else(|| "shipper".to_owned()),
        loki_labels: args.loki_labels.clone(),
        splunk_token: args.splunk_token.clone(),
        splunk_sourcetype: args.splunk_sourcetype.clone(),
    })
}

/// Prometheus's label names, which Loki takes: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn loki_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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
