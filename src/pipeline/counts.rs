//! Everything the pipeline counts, read together, and the read-only view
//! through which stats, progress and the summary read it.

use std::sync::Arc;

use super::ledger::{Ledger, Settled};
use super::queue::{IntakeCounts, Queue};

/// Everything counted, read at one moment: intake's counts and the
/// ledger's, taken together so that no line is counted between the two.
#[derive(Debug, Clone)]
pub(crate) struct Counts {
    /// Lines offered to the queue, and how full it got.
    pub intake: IntakeCounts,
    /// Events settled, batches formed and each sink's figures.
    pub settled: Settled,
    /// Events the queue holds at most.
    pub queue_capacity: usize,
}

impl Counts {
    /// The counts of a run that never started: zero, one entry per sink.
    pub(crate) fn none(sinks: usize, config: &crate::config::Config) -> Counts {
        Counts {
            intake: IntakeCounts::default(),
            settled: Settled::new(sinks),
            queue_capacity: config.pipeline.queue_capacity,
        }
    }
}

/// The pipeline's counters, to read and never change. Cheap to clone:
/// each task that reports holds its own.
#[derive(Clone)]
pub(crate) struct CountsView {
    queue: Arc<Queue>,
    ledger: Arc<Ledger>,
}

impl CountsView {
    pub(super) fn new(queue: &Arc<Queue>, ledger: &Arc<Ledger>) -> CountsView {
        CountsView {
            queue: Arc::clone(queue),
            ledger: Arc::clone(ledger),
        }
    }

    /// The counts so far. The ledger is read under the queue's lock, which
    /// intake counts under, so both are of the same moment.
    pub(crate) fn read(&self) -> Counts {
        let (intake, settled) = self.queue.counts_with(|| self.ledger.snapshot());
        Counts {
            intake,
            settled,
            queue_capacity: self.queue.capacity(),
        }
    }
}
