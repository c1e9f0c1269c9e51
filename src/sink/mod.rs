//! Sinks: where batches go. Two small traits, one for sinks that block on
//! system calls and one for sinks that wait on the network, and one module
//! per kind. The pipeline drives them (`pipeline::delivery`).
//!
//! A sink's failure is contained: it says how many of a batch's events it
//! wrote and why it stopped; the pipeline counts the rest against it and
//! names it in a diagnostic, and the next batch is tried as usual.

pub(crate) mod file;
pub(crate) mod http;
pub(crate) mod known_secrets;
#[cfg(test)]
pub(crate) mod memory;
pub(crate) mod nats;
pub(crate) mod output;
pub(crate) mod retry;
pub(crate) mod stdout;
pub(crate) mod syslog;
pub(crate) mod tls;

use std::io;

use anyhow::Context;
use futures_util::future::BoxFuture;
use serde_json::json;

use crate::batch::Batch;
use crate::config::{Config, SinkSpec, sink_label};
use crate::diagnostics;

/// What a sink did with one batch.
#[derive(Debug)]
pub(crate) struct WriteOutcome {
    /// How many of the batch's first lines it wrote whole.
    pub written: usize,
    /// Why it stopped short, if it did and has not said so before.
    pub error: Option<SinkError>,
}

impl WriteOutcome {
    pub(crate) fn new(written: usize, error: Option<io::Error>) -> WriteOutcome {
        WriteOutcome {
            written,
            error: error.map(SinkError::from),
        }
    }
}

/// Why a sink failed a batch, as its diagnostic tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SinkError {
    /// What kind of failure: an `io::ErrorKind` name, `HttpStatus`, `Timeout`...
    pub kind: String,
    pub message: String,
    /// The HTTP status, when a server answered.
    pub status: Option<u16>,
}

impl From<io::Error> for SinkError {
    fn from(error: io::Error) -> SinkError {
        SinkError {
            kind: format!("{:?}", error.kind()),
            message: error.to_string(),
            status: None,
        }
    }
}

/// A sink whose calls block on system calls (a file, standard output): it
/// gets a thread of its own for its whole life, never an async worker.
pub(crate) trait BlockingSink: Send + 'static {
    /// How diagnostics and the summary name it (`file:PATH`, `stdout`).
    fn name(&self) -> &str;
    /// Writes a whole batch, with as few system calls as it can.
    fn write_batch(&mut self, batch: &Batch) -> WriteOutcome;
    /// Makes what was written durable and releases the sink.
    fn close(&mut self) -> io::Result<()>;
}

/// A sink that waits on the network, not on system calls: it runs on the
/// runtime.
pub(crate) trait NetworkSink: Send + 'static {
    /// How diagnostics and the summary name it.
    fn name(&self) -> &str;
    /// Writes a batch, retrying as its policy allows and telling
    /// `retrying` of each retry while it happens.
    fn write<'a>(
        &'a mut self,
        batch: &'a Batch,
        retrying: &'a (dyn Fn() + Sync),
    ) -> BoxFuture<'a, WriteOutcome>;
    /// Ends the connection cleanly, after what was written.
    fn close(&mut self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// An open sink, of either kind; the pipeline drives each kind its way.
pub(crate) enum Sink {
    Blocking(Box<dyn BlockingSink>),
    Network(Box<dyn NetworkSink>),
}

impl Sink {
    pub(crate) fn name(&self) -> &str {
        match self {
            Sink::Blocking(sink) => sink.name(),
            Sink::Network(sink) => sink.name(),
        }
    }
}

/// Opens every sink in command-line order; the first that cannot open
/// stops the run before anything is read.
pub(crate) async fn open_all(config: &Config) -> anyhow::Result<Vec<Sink>> {
    let mut sinks = Vec::with_capacity(config.sinks.len());
    for spec in &config.sinks {
        let label = sink_label(spec);
        // As an error may show it on a terminal.
        let shown = diagnostics::escape(&label).into_owned();
        let sink = match spec {
            SinkSpec::Stdout => Sink::Blocking(Box::new(stdout::StdoutSink::open())),
            SinkSpec::File(path) => Sink::Blocking(Box::new(
                file::FileSink::open(path, label.clone(), config.file)
                    .with_context(|| format!("could not open sink '{shown}'"))?,
            )),
            SinkSpec::Http(url) => Sink::Network(Box::new(
                http::HttpSink::open(url, label.clone(), &config.http)
                    .with_context(|| format!("could not set up sink '{shown}'"))?,
            )),
            SinkSpec::Nats(target) => Sink::Network(Box::new(
                nats::NatsSink::open(target, label.clone(), &config.nats)
                    .await
                    .with_context(|| format!("could not open sink '{shown}'"))?,
            )),
            SinkSpec::Syslog(target) => Sink::Network(Box::new(
                syslog::SyslogSink::open(target, label.clone(), &config.syslog)
                    .await
                    .with_context(|| format!("could not open sink '{shown}'"))?,
            )),
        };
        diagnostics::info(
            "sink",
            format!("opened sink {label}"),
            json!({"sink": label}),
        );
        sinks.push(sink);
    }
    Ok(sinks)
}
