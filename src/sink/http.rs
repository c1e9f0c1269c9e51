//! The HTTP sink: each batch is one POST (NDJSON or a JSON array, gzip if
//! asked), retried with exponential backoff and full jitter on connection
//! errors, timeouts, 408, 429 and 5xx, honouring Retry-After; any other
//! answer fails the batch at once.
//!
//! Built on reqwest (with rustls and the platform's certificate verifier):
//! well kept, async on the same tokio runtime as the pipeline, so a retry's
//! wait is a timer rather than a parked thread, and no OpenSSL.

use std::io::Write;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::future::BoxFuture;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Response, StatusCode};

use super::interface::{NetworkSink, SinkError, WriteOutcome};
use super::known_secrets::KnownSecrets;
use super::retry::{self, Attempt, Delivery, Health};
use crate::batch::Batch;
use crate::config::http::{HttpFormat, HttpOptions};
use crate::config::retry::RetryPolicy;
use crate::diagnostics;
use crate::public_url::{public_url, public_urls_in};

/// Bytes of an error answer quoted in the diagnostic.
const QUOTED_ANSWER: usize = 200;
/// Most bytes of an answer's body read, 2xx or not: enough to quote it, and
/// to keep the connection when the body is short; an endless body costs no
/// more than this.
const ANSWER_LIMIT: usize = 4 << 10;

pub(crate) struct HttpSink {
    /// Where batches go, credentials included.
    url: String,
    /// The URL without credentials or query, for diagnostics and the summary.
    name: String,
    client: Client,
    /// What an answer quoted in a diagnostic must not show.
    secrets: KnownSecrets,
    format: HttpFormat,
    gzip: bool,
    retry: RetryPolicy,
    /// What its failures have been told so far.
    health: Health,
}

impl HttpSink {
    pub(crate) fn open(url: &str, name: String, options: &HttpOptions) -> anyhow::Result<HttpSink> {
        let mut client = Client::builder()
            .timeout(options.timeout)
            // A redirected POST would come back as a GET without its body:
            // a redirect is an answer to report, not to follow.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shipper/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers(options)?);
        if let Some(path) = &options.ca_file {
            let limit = crate::config::MAX_KEY_FILE;
            let pem = crate::files::read_bounded(path, limit, true);
            let pem = pem
                .map_err(|why| anyhow::anyhow!("{why}"))
                .with_context(|| {
                    format!(
                        "could not read --http-ca-file '{}'",
                        diagnostics::shown(path)
                    )
                })?;
            let certificate = reqwest::Certificate::from_pem(&pem).with_context(|| {
                format!("'{}' holds no PEM certificate", diagnostics::shown(path))
            })?;
            client = client.add_root_certificate(certificate);
        }
        Ok(HttpSink {
            url: url.to_owned(),
            health: Health::new(name.clone()),
            name,
            client: client.build().context("could not set up the HTTP client")?,
            secrets: KnownSecrets::of(url, options),
            format: options.format,
            gzip: options.gzip,
            retry: options.retry,
        })
    }

    /// Sends a batch, retrying as the policy allows (and telling `retrying`
    /// each time, so retries count while they happen); the batch is either
    /// written whole or not at all.
    async fn deliver(&self, batch: &Batch, retrying: &(dyn Fn() + Sync)) -> WriteOutcome {
        let body = match self.body(batch) {
            Ok(body) => body,
            Err(error) => return WriteOutcome::new(0, Some(error)),
        };
        let mut post = Post { sink: self, body };
        let error = retry::deliver(self.retry, &self.health, retrying, &mut post).await;
        let written = if error.is_none() { batch.len() } else { 0 };
        WriteOutcome {
            written,
            error,
            ..WriteOutcome::default()
        }
    }

    fn body(&self, batch: &Batch) -> std::io::Result<Vec<u8>> {
        let plain = match self.format {
            HttpFormat::Ndjson => batch.bytes().to_vec(),
            HttpFormat::JsonArray => json_array(batch),
        };
        if !self.gzip {
            return Ok(plain);
        }
        let mut encoder = GzEncoder::new(Vec::with_capacity(plain.len() / 4), Compression::fast());
        encoder.write_all(&plain)?;
        encoder.finish()
    }

    async fn attempt(&self, body: Vec<u8>) -> Attempt {
        let content_type = match self.format {
            HttpFormat::Ndjson => "application/x-ndjson",
            HttpFormat::JsonArray => "application/json",
        };
        let mut request = self
            .client
            .post(&self.url)
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        if self.gzip {
            request = request.header(header::CONTENT_ENCODING, "gzip");
        }
        match request.send().await {
            Ok(response) => judge(response, &self.secrets).await,
            Err(err) => Attempt::Retry {
                error: transport_error(err),
                after: None,
            },
        }
    }
}

/// A batch's body, posted whole at each attempt.
struct Post<'a> {
    sink: &'a HttpSink,
    body: Vec<u8>,
}

impl Delivery for Post<'_> {
    async fn attempt(&mut self) -> Attempt {
        self.sink.attempt(self.body.clone()).await
    }
}

impl NetworkSink for HttpSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write<'a>(
        &'a mut self,
        batch: &'a Batch,
        retrying: &'a (dyn Fn() + Sync),
    ) -> BoxFuture<'a, WriteOutcome> {
        Box::pin(self.deliver(batch, retrying))
    }
}

/// 2xx delivers; 408, 429 and 5xx are worth retrying; the rest is final.
async fn judge(mut response: Response, secrets: &KnownSecrets) -> Attempt {
    let status = response.status();
    if status.is_success() {
        // Read (a short body whole, so that the connection serves again),
        // never kept.
        answer_start(&mut response).await;
        return Attempt::Delivered;
    }
    let retryable = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    let after = retry_after(response.headers());
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(|location| {
            let location = diagnostics::escape(&public_url(location)).into_owned();
            format!(" (redirected to {location}; not followed)")
        })
        .unwrap_or_default();
    let error = SinkError {
        kind: "HttpStatus".to_owned(),
        message: format!(
            "HTTP {status}{location}: {}",
            quoted(&mut response, secrets).await
        ),
        status: Some(status.as_u16()),
    };
    if retryable {
        Attempt::Retry { error, after }
    } else {
        Attempt::Fail(error)
    }
}

/// The start of an answer's body, as a diagnostic may show it: at most
/// `QUOTED_ANSWER` bytes, the sink's own secrets hidden (hidden before the
/// cut, so that none is left half shown), control characters escaped,
/// `...` when cut.
async fn quoted(response: &mut Response, secrets: &KnownSecrets) -> String {
    let (start, whole) = answer_start(response).await;
    let text = secrets.hide(&String::from_utf8_lossy(&start));
    let cut = text.len() > QUOTED_ANSWER || !whole;
    let text = &text[..text.floor_char_boundary(QUOTED_ANSWER.min(text.len()))];
    let text = diagnostics::escape(text.trim()).into_owned();
    if cut { format!("{text}...") } else { text }
}

/// The first `ANSWER_LIMIT` bytes of the body at most, and whether that
/// was all of it. Read chunk by chunk, within the client's timeout; the
/// rest is never read (the connection goes with the response).
async fn answer_start(response: &mut Response) -> (Vec<u8>, bool) {
    let mut start = Vec::new();
    while start.len() < ANSWER_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = ANSWER_LIMIT - start.len();
                start.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if chunk.len() > room {
                    return (start, false);
                }
            }
            Ok(None) => return (start, true),
            Err(_) => return (start, false),
        }
    }
    (start, false)
}

/// The error without the URL reqwest would put in its text (the query
/// may hold an API key; the sink's name says where it was going).
fn transport_error(err: reqwest::Error) -> SinkError {
    let err = err.without_url();
    let kind = if err.is_timeout() {
        "Timeout"
    } else if err.is_connect() {
        "Connect"
    } else {
        "Transport"
    };
    // The chain of causes says what really happened (refused, reset...).
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    SinkError {
        kind: kind.to_owned(),
        message: public_urls_in(&message),
        status: None,
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

fn headers(options: &HttpOptions) -> anyhow::Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in &options.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .with_context(|| format!("'{name}' is not a header name"))?;
        let value = HeaderValue::from_str(value)
            .with_context(|| format!("the value of header '{name}' is not valid"))?;
        map.append(name, value);
    }
    if let Some(token) = &options.token {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .context("SHIPPER_HTTP_TOKEN holds characters a header cannot carry")?;
        value.set_sensitive(true);
        map.insert(header::AUTHORIZATION, value);
    }
    Ok(map)
}

/// The batch's events as one JSON array.
fn json_array(batch: &Batch) -> Vec<u8> {
    let mut body = Vec::with_capacity(batch.bytes().len() + 2);
    body.push(b'[');
    for (index, line) in batch.lines().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.extend_from_slice(line);
    }
    body.push(b']');
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        headers.insert(header::RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
