//! The pipeline: a bounded queue, a worker that forms batches, one task per
//! sink, and the ledger that settles every event exactly once.
//!
//! Intake pushes into the queue; the worker envelopes and batches; each
//! sink's task writes the batches it is handed (on a blocking thread) and
//! reports how many events it wrote. Stopping closes the queue; the worker
//! drains it and drops its senders, the sink tasks finish and hand their
//! sinks back, and the sinks are closed in reverse order.
//!
//! Outside the pipeline, sources hold an `Intake` (push, may-read, close,
//! settled positions) and stats, progress and the summary a `CountsView`
//! (read only); neither reaches the queue or the ledger themselves.

mod counts;
pub(crate) mod dead_letters;
mod delivery;
mod dropped;
mod encoders;
mod intake;
mod ledger;
mod queue;
mod worker;

use std::sync::Arc;

use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::batch::BatchBuilder;
use crate::config::PipelineConfig;
use crate::diagnostics;
use crate::envelope::Encoder;
use crate::sink::Sink;
pub(crate) use counts::{Counts, CountsView};
pub(crate) use dropped::{DropReason, Dropped};
pub(crate) use intake::Intake;
use ledger::Ledger;
#[cfg(test)]
pub(crate) use ledger::Settled;
pub(crate) use ledger::SinkCounts;
#[cfg(test)]
pub(crate) use queue::IntakeCounts;
use queue::Queue;
use worker::Worker;

/// A running pipeline, owned by the run that started it.
pub(crate) struct Pipeline {
    /// Between intake and the worker.
    queue: Arc<Queue>,
    /// The same ledger the queue, the worker and the sinks' tasks settle
    /// events with.
    ledger: Arc<Ledger>,
    /// Sink names, in command-line order.
    names: Vec<String>,
    /// The running tasks; taken by the drain.
    tasks: Option<Tasks>,
    /// Reopen requests to the sinks' tasks, and their failures for good.
    between: Arc<delivery::Between>,
}

struct Tasks {
    worker: JoinHandle<()>,
    sinks: Vec<JoinHandle<Sink>>,
}

/// Asks each file sink to reopen its path before its next batch (SIGHUP);
/// the other sinks have nothing to reopen.
pub(crate) struct Reopener(Arc<delivery::Between>);

impl Reopener {
    pub(crate) fn reopen(&self) {
        self.0.reopen();
    }
}

/// A sink whose close failed, and why.
#[derive(Debug)]
pub(crate) struct CloseFailure {
    pub sink: usize,
    pub error: std::io::Error,
}

impl Pipeline {
    /// Starts the worker, its encoder threads and one task per sink,
    /// which keep what they give up on in `dead_letters` if given.
    /// `encoders` makes each encoder, all alike. Must run inside a runtime.
    pub(crate) fn start(
        config: &PipelineConfig,
        encoders: impl Fn() -> Encoder + Send + Sync + 'static,
        sinks: Vec<Sink>,
        dead_letters: Option<dead_letters::DeadLetters>,
    ) -> Pipeline {
        let mut encoder = encoders();
        let ledger = Arc::new(Ledger::new(sinks.len()));
        // Every redaction rule of the run is counted, zero or not.
        let redactions = encoder.take_redactions();
        let redaction_names = redactions
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        ledger.redacted(redactions.into_iter());
        let queue = Arc::new(Queue::new(
            config.queue_capacity,
            config.queue_max_bytes,
            config.when_full,
            encoder.levels(),
            Arc::clone(&ledger),
        ));
        let names = sinks.iter().map(|sink| sink.name().to_owned()).collect();
        let mut senders = Vec::with_capacity(sinks.len());
        let mut tasks = Vec::with_capacity(sinks.len());
        let between = Arc::new(delivery::Between::new(dead_letters));
        for (index, sink) in sinks.into_iter().enumerate() {
            let (sender, batches) = mpsc::channel(config.sink_backlog());
            senders.push(sender);
            tasks.push(tokio::spawn(delivery::drive(
                sink,
                index,
                batches,
                Arc::clone(&ledger),
                Arc::clone(&between),
            )));
        }
        let worker = Worker {
            queue: Arc::clone(&queue),
            in_order: encoder.take_in_order_filter(),
            encoders: encoders::Encoders::new(Arc::new(encoders), encoder.told_once()),
            encoder,
            redaction_names,
            spares: Vec::new(),
            builder: BatchBuilder::new(config.batch_size).with_max_bytes(config.batch_max_bytes()),
            batch_timeout: config.batch_timeout,
            sinks: senders,
            ledger: Arc::clone(&ledger),
            gap_markers: config.gap_markers,
            gap: Default::default(),
        };
        Pipeline {
            queue,
            ledger,
            names,
            tasks: Some(Tasks {
                worker: tokio::spawn(worker.run()),
                sinks: tasks,
            }),
            between,
        }
    }

    /// What asks the sinks to reopen, also while the pipeline drains.
    pub(crate) fn reopener(&self) -> Reopener {
        Reopener(Arc::clone(&self.between))
    }

    /// Ready once every sink has failed for good (its reader went away):
    /// nothing read from then on could be written anywhere.
    pub(crate) async fn sinks_failed_for_good(&self) {
        self.between.all_failed(self.names.len()).await;
    }

    /// Every sink has failed for good, so far.
    pub(crate) fn every_sink_failed(&self) -> bool {
        self.between.failed() == self.names.len()
    }

    /// The handle sources push lines through.
    pub(crate) fn intake(&self) -> Intake {
        Intake::new(&self.queue, &self.ledger)
    }

    /// The counters, to read while the pipeline runs.
    pub(crate) fn counts_view(&self) -> CountsView {
        CountsView::new(&self.queue, &self.ledger)
    }

    pub(crate) fn sink_names(&self) -> &[String] {
        &self.names
    }

    /// Stops intake: no new reads; what was read still goes through.
    pub(crate) fn stop_intake(&self) {
        self.queue.stop_intake();
    }

    /// Writes out what the queue holds, then closes the sinks in reverse
    /// order; a close that fails is reported and does not stop the others.
    /// Cancel-safe: abandoning it leaves the events unsettled for `seal`.
    pub(crate) async fn drain(&mut self) -> Vec<CloseFailure> {
        let Some(tasks) = self.tasks.take() else {
            return Vec::new();
        };
        tasks.worker.await.expect("the worker panicked");
        let mut sinks = Vec::with_capacity(tasks.sinks.len());
        for task in tasks.sinks {
            sinks.push(task.await.expect("a sink task panicked"));
        }
        let mut failures = Vec::new();
        for (index, sink) in sinks.into_iter().enumerate().rev() {
            let name = self.names[index].clone();
            match delivery::close(sink).await {
                Ok(()) => {
                    diagnostics::info("sink", format!("closed sink {name}"), json!({"sink": name}))
                }
                Err(error) => {
                    diagnostics::error("sink", &format!("close:{name}"), || {
                        (
                            format!("could not close sink {name}: {error}"),
                            json!({"sink": name, "error": error.to_string()}),
                        )
                    });
                    failures.push(CloseFailure { sink: index, error });
                }
            }
        }
        failures
    }

    /// Gives up on what is still in flight, counting it dropped for `reason`.
    pub(crate) fn seal(&self, reason: DropReason) -> u64 {
        self.queue.seal(reason)
    }

    /// For each stream read, the position before which every event is
    /// settled: where a checkpoint may resume.
    pub(crate) fn settled_to(&self) -> std::collections::HashMap<Arc<crate::chunk::Stream>, u64> {
        self.ledger.settled_to()
    }

    /// The counts so far.
    pub(crate) fn counts(&self) -> Counts {
        self.counts_view().read()
    }
}

#[cfg(test)]
pub(crate) mod tests;
