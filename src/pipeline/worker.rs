//! The worker: takes lines off the queue, envelopes them into batches and
//! hands each batch to every sink.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::batch::{Batch, BatchBuilder};
use super::ledger::{DropReason, Ledger};
use super::queue::Queue;
use crate::envelope::{Encoder, LineRef};
use crate::source::Chunk;

pub(crate) struct Worker {
    pub queue: Arc<Queue>,
    pub encoder: Encoder,
    pub builder: BatchBuilder,
    /// Longest a partly filled batch waits.
    pub batch_timeout: Duration,
    /// One channel per sink, in command-line order.
    pub sinks: Vec<mpsc::Sender<Arc<Batch>>>,
    pub ledger: Arc<Ledger>,
}

impl Worker {
    /// Runs until the queue is closed and empty, then sends the last batch
    /// and lets the sinks' channels close.
    pub(crate) async fn run(mut self) {
        loop {
            let deadline = self.builder.deadline(self.batch_timeout);
            tokio::select! {
                // Lines to envelope; `None` once intake has stopped and the
                // queue is empty.
                chunk = self.queue.pop() => match chunk {
                    Some(chunk) => self.take_in(&chunk).await,
                    None => break,
                },
                // The oldest event of a partly filled batch has waited long enough.
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.dispatch().await;
                }
            }
        }
        if !self.builder.is_empty() {
            self.dispatch().await;
        }
    }

    /// Envelopes a chunk's lines, sending each batch as it fills.
    async fn take_in(&mut self, chunk: &Chunk) {
        let mut invalid = 0;
        for span in &chunk.spans {
            let line = LineRef {
                bytes: chunk.line(span),
                source: &chunk.source,
                read_at: chunk.read_at,
                cut_from: span.cut_from,
            };
            let encoder = &mut self.encoder;
            if !self.builder.push(|out| encoder.encode(&line, out).is_ok()) {
                invalid += 1;
            } else if self.builder.is_full() {
                self.dispatch().await;
            }
        }
        self.ledger.drop_events(DropReason::Invalid, invalid);
    }

    /// Hands the batch to every sink, waiting while a sink is still busy
    /// with earlier batches: that wait is what fills the queue.
    async fn dispatch(&mut self) {
        let batch = Arc::new(self.builder.take(self.sinks.len()));
        self.ledger.batch_formed();
        for (index, sink) in self.sinks.iter().enumerate() {
            if sink.send(Arc::clone(&batch)).await.is_err() {
                // The sink's task is gone; it wrote none of this batch.
                self.ledger.settle(&batch, index, 0);
            }
        }
    }
}
