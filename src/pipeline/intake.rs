//! The handle a source holds: it offers lines, asks whether to go on
//! reading, says when it has finished, and learns how far its streams are
//! settled. It cannot take lines out, seal the ledger or touch its counts.

use std::collections::HashMap;
use std::sync::Arc;

use super::ledger::Ledger;
use super::queue::{Closed, Queue};
use crate::chunk::{Chunk, Stream};

/// Where sources hand their lines to the pipeline. Cheap to clone: each
/// reader thread holds its own.
#[derive(Clone)]
pub(crate) struct Intake {
    /// Where lines go in.
    queue: Arc<Queue>,
    /// Read only for where each stream is settled.
    ledger: Arc<Ledger>,
}

impl Intake {
    pub(super) fn new(queue: &Arc<Queue>, ledger: &Arc<Ledger>) -> Intake {
        Intake {
            queue: Arc::clone(queue),
            ledger: Arc::clone(ledger),
        }
    }

    /// Offers a chunk's lines; waits or drops as the queue's policy says
    /// when it is full. Returns the stream position just past the last
    /// line taken in, if any was; `Closed` once the pipeline has stopped
    /// taking lines (they are still counted, as dropped).
    pub(crate) fn push(&self, chunk: Chunk) -> Result<Option<u64>, Closed> {
        self.queue.push(chunk)
    }

    /// Asked before each read: `false` once intake is stopping, and the
    /// reader should finish as if its input had ended.
    pub(crate) fn may_read(&self) -> bool {
        self.queue.may_read()
    }

    /// The reader has finished: nothing more comes in.
    pub(crate) fn close(&self) {
        self.queue.close();
    }

    /// For each stream read, the position before which every event is
    /// settled: where a checkpoint may resume.
    pub(crate) fn settled_to(&self) -> HashMap<Arc<Stream>, u64> {
        self.ledger.settled_to()
    }

    /// An intake into a queue of `capacity` that waits when full, with
    /// nothing taking lines out: for a source's unit tests.
    #[cfg(test)]
    pub(crate) fn waiting(capacity: usize) -> Intake {
        let ledger = Arc::new(Ledger::new(1));
        let queue = Queue::new(
            capacity,
            usize::MAX,
            crate::config::WhenFull::Block,
            crate::envelope::Levels::guessing(),
            Arc::clone(&ledger),
        );
        Intake::new(&Arc::new(queue), &ledger)
    }

    /// What intake counted so far: for a source's unit tests.
    #[cfg(test)]
    pub(crate) fn counts(&self) -> super::queue::IntakeCounts {
        self.queue.snapshot().0
    }

    /// Every chunk taken in, once the reader has closed intake: for a
    /// source's unit tests.
    #[cfg(test)]
    pub(crate) async fn taken(&self) -> Vec<Chunk> {
        let mut chunks = Vec::new();
        while let Some(chunk) = self.queue.pop().await {
            chunks.push(chunk);
        }
        chunks
    }
}
