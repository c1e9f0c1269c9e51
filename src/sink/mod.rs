//! Sinks: where batches go. A small trait, one module per kind, an enum to
//! choose among them, and the task that feeds one sink.
//!
//! A sink's failure is contained: the events it did not write are counted
//! against it, a diagnostic names it and the error, and the next batch is
//! tried as usual.

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
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;
use tokio::sync::mpsc;

use crate::config::{Config, SinkSpec, sink_label};
use crate::diagnostics;
use crate::pipeline::batch::Batch;
use crate::pipeline::ledger::Ledger;

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

/// A destination for batches. Its calls may block: they run on a blocking
/// thread, never on the async workers.
pub(crate) trait Sink: Send + 'static {
    /// How diagnostics and the summary name it (`file:PATH`, `stdout`).
    fn name(&self) -> &str;
    /// Writes a whole batch, with as few system calls as it can.
    fn write_batch(&mut self, batch: &Batch) -> WriteOutcome;
    /// Makes what was written durable and releases the sink.
    fn close(&mut self) -> io::Result<()>;
}

pub(crate) enum AnySink {
    File(file::FileSink),
    Stdout(stdout::StdoutSink),
    #[cfg(test)]
    Memory(memory::MemorySink),
    /// The network sinks wait on the network, not on system calls: they
    /// run on the runtime.
    Http(http::HttpSink),
    Nats(nats::NatsSink),
    Syslog(syslog::SyslogSink),
}

impl AnySink {
    /// The sink as a blocking `Sink`, unless it is a network sink.
    fn blocking(&mut self) -> Option<&mut dyn Sink> {
        match self {
            AnySink::File(sink) => Some(sink),
            AnySink::Stdout(sink) => Some(sink),
            #[cfg(test)]
            AnySink::Memory(sink) => Some(sink),
            AnySink::Http(_) | AnySink::Nats(_) | AnySink::Syslog(_) => None,
        }
    }

    fn is_network(&self) -> bool {
        matches!(
            self,
            AnySink::Http(_) | AnySink::Nats(_) | AnySink::Syslog(_)
        )
    }

    /// Writes a batch through a network sink, telling `retrying` of each
    /// retry.
    async fn write_network(&mut self, batch: &Batch, retrying: &(dyn Fn() + Sync)) -> WriteOutcome {
        match self {
            AnySink::Http(sink) => sink.write(batch, retrying).await,
            AnySink::Nats(sink) => sink.write(batch, retrying).await,
            AnySink::Syslog(sink) => sink.write(batch, retrying).await,
            _ => unreachable!("{} is not a network sink", self.name()),
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            AnySink::File(sink) => sink.name(),
            AnySink::Stdout(sink) => sink.name(),
            #[cfg(test)]
            AnySink::Memory(sink) => sink.name(),
            AnySink::Http(sink) => sink.name(),
            AnySink::Nats(sink) => sink.name(),
            AnySink::Syslog(sink) => sink.name(),
        }
    }
}

/// Opens every sink in command-line order; the first that cannot open
/// stops the run before anything is read.
pub(crate) async fn open_all(config: &Config) -> anyhow::Result<Vec<AnySink>> {
    let mut sinks = Vec::with_capacity(config.sinks.len());
    for spec in &config.sinks {
        let label = sink_label(spec);
        // As an error may show it on a terminal.
        let shown = diagnostics::escape(&label).into_owned();
        let sink = match spec {
            SinkSpec::Stdout => AnySink::Stdout(stdout::StdoutSink::open()),
            SinkSpec::File(path) => AnySink::File(
                file::FileSink::open(path, config.file)
                    .with_context(|| format!("could not open sink '{shown}'"))?,
            ),
            SinkSpec::Http(url) => AnySink::Http(
                http::HttpSink::open(url, label.clone(), &config.http)
                    .with_context(|| format!("could not set up sink '{shown}'"))?,
            ),
            SinkSpec::Nats(target) => AnySink::Nats(
                nats::NatsSink::open(target, label.clone(), &config.nats)
                    .await
                    .with_context(|| format!("could not open sink '{shown}'"))?,
            ),
            SinkSpec::Syslog(target) => AnySink::Syslog(
                syslog::SyslogSink::open(target, label.clone(), &config.syslog)
                    .await
                    .with_context(|| format!("could not open sink '{shown}'"))?,
            ),
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

/// Feeds one sink the batches it is sent, settling each with the ledger,
/// and hands the sink back once the channel closes. A blocking sink gets
/// a thread of its own for its whole life (one hand-off per batch, not a
/// thread per batch); a network sink runs on the runtime.
pub(crate) async fn drive(
    sink: AnySink,
    index: usize,
    batches: mpsc::Receiver<Arc<Batch>>,
    ledger: Arc<Ledger>,
) -> AnySink {
    if sink.is_network() {
        return drive_network(sink, index, batches, ledger).await;
    }
    tokio::task::spawn_blocking(move || drive_blocking(sink, index, batches, ledger))
        .await
        .expect("a sink's thread panicked")
}

fn drive_blocking(
    mut sink: AnySink,
    index: usize,
    mut batches: mpsc::Receiver<Arc<Batch>>,
    ledger: Arc<Ledger>,
) -> AnySink {
    while let Some(batch) = batches.blocking_recv() {
        let outcome = sink
            .blocking()
            .expect("a blocking sink")
            .write_batch(&batch);
        settle(sink.name(), index, &batch, outcome, &ledger);
    }
    sink
}

async fn drive_network(
    mut sink: AnySink,
    index: usize,
    mut batches: mpsc::Receiver<Arc<Batch>>,
    ledger: Arc<Ledger>,
) -> AnySink {
    while let Some(batch) = batches.recv().await {
        let outcome = sink
            .write_network(&batch, &|| ledger.retried(index, 1))
            .await;
        settle(sink.name(), index, &batch, outcome, &ledger);
    }
    sink
}

/// Reports a failure, if any, and settles the batch for this sink.
fn settle(name: &str, index: usize, batch: &Batch, outcome: WriteOutcome, ledger: &Ledger) {
    if let Some(error) = &outcome.error {
        report_failure(name, batch, outcome.written, error);
    }
    ledger.settle(batch, index, outcome.written);
}

/// Closes a sink; a blocking one on a blocking thread.
pub(crate) async fn close(mut sink: AnySink) -> io::Result<()> {
    match &mut sink {
        AnySink::Syslog(sink) => return sink.close().await,
        AnySink::Http(_) | AnySink::Nats(_) => return Ok(()),
        _ => {}
    }
    tokio::task::spawn_blocking(move || sink.blocking().expect("a blocking sink").close())
        .await
        .expect("a sink's close panicked")
}

fn report_failure(name: &str, batch: &Batch, written: usize, error: &SinkError) {
    diagnostics::error("sink", &format!("write:{name}"), || {
        (
            format!(
                "sink {name} failed to write {} of {} events: {}",
                batch.len() - written,
                batch.len(),
                error.message
            ),
            json!({
                "sink": name,
                "error_kind": error.kind,
                "error": error.message,
                "status": error.status,
                "batch_events": batch.len(),
                "written": written,
            }),
        )
    });
}
