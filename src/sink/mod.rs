//! Sinks: where batches go. A small trait, one module per kind, an enum to
//! choose among them, and the task that feeds one sink.
//!
//! A sink's failure is contained: the events it did not write are counted
//! against it, a diagnostic names it and the error, and the next batch is
//! tried as usual.

pub(crate) mod file;
#[cfg(test)]
pub(crate) mod memory;
pub(crate) mod output;
pub(crate) mod stdout;

use std::io;
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;
use tokio::sync::mpsc;

use crate::config::{FileOptions, SinkSpec, sink_label};
use crate::diagnostics;
use crate::pipeline::batch::Batch;
use crate::pipeline::ledger::Ledger;

/// What a sink did with one batch.
#[derive(Debug)]
pub(crate) struct WriteOutcome {
    /// How many of the batch's first events it wrote whole.
    pub written: usize,
    /// Why it stopped short, if it did and has not said so before.
    pub error: Option<io::Error>,
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
}

impl AnySink {
    fn inner(&mut self) -> &mut dyn Sink {
        match self {
            AnySink::File(sink) => sink,
            AnySink::Stdout(sink) => sink,
            #[cfg(test)]
            AnySink::Memory(sink) => sink,
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            AnySink::File(sink) => sink.name(),
            AnySink::Stdout(sink) => sink.name(),
            #[cfg(test)]
            AnySink::Memory(sink) => sink.name(),
        }
    }
}

/// Opens every sink in command-line order; the first that cannot open
/// stops the run before anything is read.
pub(crate) fn open_all(specs: &[SinkSpec], options: FileOptions) -> anyhow::Result<Vec<AnySink>> {
    let mut sinks = Vec::with_capacity(specs.len());
    for spec in specs {
        let label = sink_label(spec);
        let sink = match spec {
            SinkSpec::Stdout => AnySink::Stdout(stdout::StdoutSink::open()),
            SinkSpec::File(path) => AnySink::File(
                file::FileSink::open(path, options)
                    .with_context(|| format!("could not open sink '{label}'"))?,
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
/// and hands the sink back once the channel closes.
pub(crate) async fn drive(
    mut sink: AnySink,
    index: usize,
    mut batches: mpsc::Receiver<Arc<Batch>>,
    ledger: Arc<Ledger>,
) -> AnySink {
    while let Some(batch) = batches.recv().await {
        let (back, batch, outcome) = tokio::task::spawn_blocking(move || {
            let outcome = sink.inner().write_batch(&batch);
            (sink, batch, outcome)
        })
        .await
        .expect("a sink's write panicked");
        sink = back;
        if let Some(error) = outcome.error {
            report_failure(sink.name(), &batch, outcome.written, &error);
        }
        ledger.settle(&batch, index, outcome.written);
    }
    sink
}

/// Closes a sink on a blocking thread.
pub(crate) async fn close(mut sink: AnySink) -> io::Result<()> {
    tokio::task::spawn_blocking(move || sink.inner().close())
        .await
        .expect("a sink's close panicked")
}

fn report_failure(name: &str, batch: &Batch, written: usize, error: &io::Error) {
    diagnostics::error("sink", &format!("write:{name}"), || {
        (
            format!(
                "sink {name} failed to write {} of {} events: {error}",
                batch.len() - written,
                batch.len()
            ),
            json!({
                "sink": name,
                "error_kind": format!("{:?}", error.kind()),
                "error": error.to_string(),
                "batch_events": batch.len(),
                "written": written,
            }),
        )
    });
}
