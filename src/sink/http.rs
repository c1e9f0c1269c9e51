//! The HTTP sink: each batch is one POST (NDJSON or a JSON array, gzip if
//! asked), retried with exponential backoff and full jitter on connection
//! errors, timeouts, 408, 429 and 5xx, honouring Retry-After; any other
//! answer fails the batch at once.
//!
//! The collectors' own APIs (Elasticsearch, OTLP, Loki, Splunk) are spoken
//! over the same sink: each is a `Protocol` that makes the body and reads
//! the answer, and may say which lines it refused or wants again; the
//! client, TLS, credentials, gzip, retries and the bounds on answers are
//! the same for all.
//!
//! Built on reqwest (with rustls and the platform's certificate verifier):
//! well kept, async on the same tokio runtime as the pipeline, so a retry's
//! wait is a timer rather than a parked thread, and no OpenSSL.

use std::io::Write;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::future::BoxFuture;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Response, StatusCode};

use super::interface::{NetworkSink, Refusal, SinkError, WriteOutcome};
use super::known_secrets::KnownSecrets;
use super::protocol::{Answer, End, Items, Protocol, Reading, Sending};
use super::retry::{self, Attempt, Delivery, Health};
use crate::batch::Batch;
use crate::config::http::{HttpFormat, HttpOptions};
use crate::config::retry::RetryPolicy;
use crate::diagnostics;
use crate::public_url::{public_url, public_urls_in};

/// Bytes of an error answer quoted in the diagnostic.
const QUOTED_ANSWER: usize = 200;
/// Bytes of a collector's reason for refusing events kept in its
/// diagnostic.
const QUOTED_REASON: usize = 300;

pub(crate) struct HttpSink {
    /// Where batches go, credentials included.
    url: String,
    /// The URL without credentials or query, for diagnostics and the summary.
    name: String,
    client: Client,
    /// What an answer quoted in a diagnostic must not show.
    secrets: KnownSecrets,
    /// The collector's API: the body a batch makes, what an answer says.
    protocol: Box<dyn Protocol>,
    gzip: bool,
    retry: RetryPolicy,
    /// What its failures have been told so far.
    health: Health,
    /// Batches given so far: names each one for all its attempts.
    batches: u64,
}

impl HttpSink {
    /// The plain HTTP sink: a batch as NDJSON or a JSON array.
    pub(crate) fn open(url: &str, name: String, options: &HttpOptions) -> anyhow::Result<HttpSink> {
        let plain = Plain {
            format: options.format,
        };
        HttpSink::speaking(url, name, options, Box::new(plain), None)
    }

    /// A sink that posts to `url` in `protocol`, with `authorization`
    /// (never shown) as its `Authorization` header when given.
    pub(crate) fn speaking(
        url: &str,
        name: String,
        options: &HttpOptions,
        protocol: Box<dyn Protocol>,
        authorization: Option<&str>,
    ) -> anyhow::Result<HttpSink> {
        let mut headers = headers(options)?;
        if let Some(authorization) = authorization {
            let mut value = HeaderValue::from_str(authorization)
                .context("the sink's credentials hold characters a header cannot carry")?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        let mut client = Client::builder()
            .timeout(options.timeout)
            // A redirected POST would come back as a GET without its body:
            // a redirect is an answer to report, not to follow.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shipper/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers);
        if let Some(path) = &options.ca_file {
            client = client.add_root_certificate(certificate(path)?);
        }
        Ok(HttpSink {
            url: url.to_owned(),
            health: Health::new(name.clone()),
            name,
            client: client.build().context("could not set up the HTTP client")?,
            secrets: KnownSecrets::of(url, options),
            protocol,
            gzip: options.gzip,
            retry: options.retry,
            batches: 0,
        })
    }

    /// Sends a batch, retrying as the policy allows (and telling `retrying`
    /// each time, so retries count while they happen). A batch is taken
    /// whole, not at all, or, when the collector answers line by line, all
    /// but the lines it refused.
    async fn deliver(&mut self, batch: &Batch, retrying: &(dyn Fn() + Sync)) -> WriteOutcome {
        self.batches += 1;
        let mut post = Post::new(self, batch);
        let error = retry::deliver(self.retry, &self.health, retrying, &mut post).await;
        post.outcome(batch.len(), error)
    }

    /// The body of one request, compressed if asked.
    fn body(&self, sending: &Sending<'_>) -> std::io::Result<Bytes> {
        let bytes: usize = sending.lines.iter().map(|(_, line)| line.len() + 1).sum();
        let mut plain = Vec::with_capacity(bytes + bytes / 4 + 16);
        self.protocol.body(sending, &mut plain);
        if !self.gzip {
            return Ok(Bytes::from(plain));
        }
        let mut encoder = GzEncoder::new(Vec::with_capacity(plain.len() / 4), Compression::fast());
        encoder.write_all(&plain)?;
        encoder.finish().map(Bytes::from)
    }

    /// Posts one request and reads its answer as far as the protocol
    /// reads; a request that got no answer is worth another attempt.
    async fn post(&self, body: Bytes, lines: usize) -> Result<Heard, Attempt> {
        let mut request = self
            .client
            .post(&self.url)
            .header(header::CONTENT_TYPE, self.protocol.content_type())
            .body(body);
        if self.gzip {
            request = request.header(header::CONTENT_ENCODING, "gzip");
        }
        let mut response = request.send().await.map_err(|err| Attempt::Retry {
            error: transport_error(err),
            after: None,
        })?;
        let status = response.status();
        let after = retry_after(response.headers());
        let location = location(response.headers());
        let limit = self.protocol.answer_limit(lines);
        let (body, end) = answer_start(&mut response, limit).await;
        Ok(Heard {
            status,
            after,
            location,
            body,
            end,
        })
    }

    /// By its status alone: 2xx delivers; 408, 429 and 5xx are worth
    /// retrying; the rest is final.
    fn judge(&self, heard: &Heard) -> Attempt {
        let status = heard.status;
        if status.is_success() {
            return Attempt::Delivered;
        }
        let retryable = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        let whole = heard.end == End::Whole;
        let error = SinkError {
            kind: "HttpStatus".to_owned(),
            message: format!(
                "HTTP {status}{}: {}",
                heard.location,
                quoted(&heard.body, whole, &self.secrets, QUOTED_ANSWER)
            ),
            status: Some(status.as_u16()),
        };
        if retryable {
            Attempt::Retry {
                error,
                after: heard.after,
            }
        } else {
            Attempt::Fail(error)
        }
    }

    /// A collector's reason as a diagnostic may show it.
    fn shown(&self, error: SinkError) -> SinkError {
        SinkError {
            message: quoted(error.message.as_bytes(), true, &self.secrets, QUOTED_REASON),
            ..error
        }
    }
}

/// An answer, read as far as the protocol reads.
struct Heard {
    status: StatusCode,
    /// When the collector asked to be tried again.
    after: Option<Duration>,
    /// Where it redirected, as a diagnostic says it.
    location: String,
    body: Vec<u8>,
    end: End,
}

/// A PEM certificate to trust besides the system's roots.
fn certificate(path: &std::path::Path) -> anyhow::Result<reqwest::Certificate> {
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
    reqwest::Certificate::from_pem(&pem)
        .with_context(|| format!("'{}' holds no PEM certificate", diagnostics::shown(path)))
}

/// A batch on its way: the lines still to send, and what the collector
/// said of the others so far.
struct Post<'a> {
    sink: &'a HttpSink,
    /// Lines still to send, each with its index in the batch.
    lines: Vec<(usize, &'a [u8])>,
    /// Their body, made once for all the attempts that send them.
    body: Option<Bytes>,
    /// Attempts made so far.
    attempts: u32,
    /// When the batch was first tried: the time of lines that carry none.
    now: SystemTime,
    /// Lines the collector refused for good.
    refused: Vec<Refusal>,
    /// Events it refused without naming them.
    unnamed: Option<(usize, SinkError)>,
}

impl<'a> Post<'a> {
    fn new(sink: &'a HttpSink, batch: &'a Batch) -> Post<'a> {
        Post {
            sink,
            lines: batch.lines().enumerate().collect(),
            body: None,
            attempts: 0,
            now: SystemTime::now(),
            refused: Vec::new(),
            unnamed: None,
        }
    }

    /// What became of the batch's `len` lines once the attempts ended,
    /// with `error` if the last one failed. If the collector took none,
    /// the batch failed whole; if it took some, those left unsent are
    /// refused with that error.
    fn outcome(self, len: usize, error: Option<SinkError>) -> WriteOutcome {
        let mut refused = self.refused;
        let untouched = self.lines.len() == len && refused.is_empty() && self.unnamed.is_none();
        match error {
            Some(error) if untouched => WriteOutcome {
                written: 0,
                error: Some(error),
                ..WriteOutcome::default()
            },
            Some(error) => {
                let left = self.lines.iter().map(|&(line, _)| Refusal {
                    line,
                    error: error.clone(),
                });
                refused.extend(left);
                refused.sort_by_key(|refusal| refusal.line);
                WriteOutcome {
                    written: len,
                    error: None,
                    refused,
                    unnamed: self.unnamed,
                }
            }
            None => WriteOutcome {
                written: len,
                error: None,
                refused,
                unnamed: self.unnamed,
            },
        }
    }

    /// Takes in what the collector said of the lines sent: those refused
    /// for good are set aside, those it wants again stay for the next
    /// attempt.
    fn take_in(&mut self, items: Items, after: Option<Duration>) -> Attempt {
        for (place, error) in items.refused {
            if let Some(&(line, _)) = self.lines.get(place) {
                let error = self.sink.shown(error);
                self.refused.push(Refusal { line, error });
            }
        }
        if let Some((count, error)) = items.unnamed {
            let count = count.min(self.lines.len());
            self.unnamed = Some((count, self.sink.shown(error)));
        }
        let mut again = vec![false; self.lines.len()];
        for &place in &items.again {
            if let Some(slot) = again.get_mut(place) {
                *slot = true;
            }
        }
        let mut flags = again.into_iter();
        self.lines.retain(|_| flags.next().unwrap_or(false));
        if self.lines.is_empty() {
            return Attempt::Delivered;
        }
        self.body = None;
        let why = items.again_why.unwrap_or_else(|| {
            super::protocol::error("Refused", "the collector asked for events again", None)
        });
        Attempt::Retry {
            error: self.sink.shown(why),
            after,
        }
    }

    /// The lines still to send, as a request carries them.
    fn sending(&self) -> Sending<'_> {
        Sending {
            lines: &self.lines,
            batch: self.sink.batches,
            now: self.now,
        }
    }

    /// The body for the lines still to send, made at most once.
    fn body(&mut self) -> std::io::Result<Bytes> {
        if let Some(body) = &self.body {
            return Ok(body.clone());
        }
        let body = self.sink.body(&self.sending())?;
        Ok(self.body.insert(body).clone())
    }
}

impl Delivery for Post<'_> {
    async fn attempt(&mut self) -> Attempt {
        self.attempts += 1;
        let body = match self.body() {
            Ok(body) => body,
            Err(error) => return Attempt::Fail(error.into()),
        };
        let heard = match self.sink.post(body, self.lines.len()).await {
            Ok(heard) => heard,
            Err(attempt) => return attempt,
        };
        let sending = self.sending();
        let answer = Answer {
            status: heard.status.as_u16(),
            body: &heard.body,
            end: heard.end,
            attempt: self.attempts,
            lines: self.lines.len(),
            sending: &sending,
        };
        match self.sink.protocol.read(&answer) {
            Reading::ByStatus => self.sink.judge(&heard),
            Reading::Items(items) => self.take_in(items, heard.after),
            Reading::Retry(error) => Attempt::Retry {
                error: self.sink.shown(error),
                after: heard.after,
            },
            Reading::Fail(error) => Attempt::Fail(self.sink.shown(error)),
        }
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

/// The plain HTTP sink's protocol: the lines as they are.
struct Plain {
    format: HttpFormat,
}

impl Protocol for Plain {
    fn content_type(&self) -> &'static str {
        match self.format {
            HttpFormat::Ndjson => "application/x-ndjson",
            HttpFormat::JsonArray => "application/json",
        }
    }

    fn body(&self, sending: &Sending<'_>, out: &mut Vec<u8>) {
        match self.format {
            HttpFormat::Ndjson => {
                for (_, line) in sending.lines {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
            }
            HttpFormat::JsonArray => json_array(sending.lines, out),
        }
    }
}

/// The lines as one JSON array.
fn json_array(lines: &[(usize, &[u8])], out: &mut Vec<u8>) {
    out.push(b'[');
    for (index, (_, line)) in lines.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(line);
    }
    out.push(b']');
}

/// Where a redirect pointed, as a diagnostic may show it.
fn location(headers: &HeaderMap) -> String {
    headers
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(|location| {
            let location = diagnostics::escape(&public_url(location)).into_owned();
            format!(" (redirected to {location}; not followed)")
        })
        .unwrap_or_default()
}

/// The start of an answer (or a collector's reason), as a diagnostic may
/// show it: at most `limit` bytes, the sink's own secrets hidden (hidden
/// before the cut, so that none is left half shown), control characters
/// escaped, `...` when cut.
fn quoted(start: &[u8], whole: bool, secrets: &KnownSecrets, limit: usize) -> String {
    let text = secrets.hide(&String::from_utf8_lossy(start));
    let cut = text.len() > limit || !whole;
    let text = &text[..text.floor_char_boundary(limit.min(text.len()))];
    let text = diagnostics::escape(text.trim()).into_owned();
    if cut { format!("{text}...") } else { text }
}

/// The first `limit` bytes of the body at most, and how the reading
/// ended. Read chunk by chunk, within the client's timeout; the rest is
/// never read (the connection goes with the response). A short body is
/// read whole, so that the connection serves again.
async fn answer_start(response: &mut Response, limit: usize) -> (Vec<u8>, End) {
    let mut start = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - start.len();
                if chunk.len() > room {
                    start.extend_from_slice(&chunk[..room]);
                    return (start, End::Cut);
                }
                start.extend_from_slice(&chunk);
            }
            Ok(None) => return (start, End::Whole),
            Err(_) => return (start, End::Broken),
        }
    }
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
