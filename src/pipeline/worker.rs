//! The worker: takes lines off the queue, envelopes them into batches and
//! hands each batch to every sink.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::dropped::DropReason;
use super::ledger::Ledger;
use super::queue::Queue;
use crate::batch::{Batch, BatchBuilder};
use crate::chunk::Chunk;
use crate::envelope::{Encoded, Encoder, Gap, LineRef};
use crate::filter::Filtered;

pub(crate) struct Worker {
    pub queue: Arc<Queue>,
    pub encoder: Encoder,
    pub builder: BatchBuilder,
    /// Longest a partly filled batch waits.
    pub batch_timeout: Duration,
    /// One channel per sink, in command-line order.
    pub sinks: Vec<mpsc::Sender<Arc<Batch>>>,
    pub ledger: Arc<Ledger>,
    /// Write a marker where events were dropped (`--gap-markers`).
    pub gap_markers: bool,
    /// Events dropped since the last marker, waiting to be told.
    pub gap: Gap,
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
                taken = self.queue.take() => match taken {
                    Some(taken) => {
                        self.gap.queue_full += taken.dropped_before;
                        self.take_in(&taken.chunk).await;
                    }
                    None => break,
                },
                // The oldest event of a partly filled batch has waited long enough.
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.dispatch().await;
                }
            }
        }
        self.gap.queue_full += self.queue.take_trailing_gap();
        self.mark_gap();
        if !self.builder.is_empty() || self.builder.has_passed() {
            self.dispatch().await;
        }
    }

    /// Envelopes one line into the batch. After a gap, the marker goes in
    /// first, once the line is known to ship: one marker tells a whole run
    /// of drops.
    fn ship(&mut self, line: &LineRef, end: u64) -> Shipped {
        let encoder = &mut self.encoder;
        let mut shipped = Shipped::Invalid;
        if !self.gap_markers || self.gap.total() == 0 {
            self.builder.push(end, |out| {
                shipped = Shipped::of(encoder.encode(line, out));
                shipped == Shipped::Event
            });
            return shipped;
        }
        let mut event = Vec::new();
        shipped = Shipped::of(encoder.encode(line, &mut event));
        if shipped == Shipped::Event {
            self.mark_gap();
            self.builder.push(end, |out| {
                out.extend_from_slice(&event);
                true
            });
        }
        shipped
    }

    /// Writes a marker for the events dropped since the last one, if any
    /// and if asked to. It goes straight into the batch, never through the
    /// queue, so it neither waits for room nor takes an event's place.
    fn mark_gap(&mut self) {
        if !self.gap_markers || self.gap.total() == 0 {
            return;
        }
        let gap = std::mem::take(&mut self.gap);
        let encoder = &mut self.encoder;
        self.builder
            .push_marker(|out| encoder.write_marker(&gap, out));
    }

    /// Envelopes a chunk's lines, sending each batch as it fills. A
    /// rejected line is counted at once, before any wait for a sink; a
    /// filtered one with the chunk's others, and so are redactions.
    async fn take_in(&mut self, chunk: &Chunk) {
        self.builder.reading(&chunk.stream);
        let mut filtered = Filtered::default();
        for span in &chunk.spans {
            let line = LineRef {
                bytes: chunk.line(span),
                source: &chunk.stream.name,
                read_at: chunk.read_at,
                cut_from: span.cut_from,
                lines: span.lines,
            };
            match self.ship(&line, span.end) {
                Shipped::Event if self.builder.is_full() => {
                    self.settle_filtered(&mut filtered);
                    self.dispatch().await;
                    self.builder.reading(&chunk.stream);
                }
                Shipped::Event => {}
                Shipped::Filtered(reason) => {
                    self.builder.pass(span.end);
                    filtered.add(reason, 1);
                }
                Shipped::Invalid => {
                    self.builder.pass(span.end);
                    self.ledger.drop_events(DropReason::Invalid, 1);
                    if self.gap_markers {
                        self.gap.invalid += 1;
                    }
                }
            }
        }
        self.settle_filtered(&mut filtered);
    }

    /// Counts the events filtered, the values redacted and the lines read
    /// as plain text so far.
    fn settle_filtered(&mut self, filtered: &mut Filtered) {
        self.ledger.filter_events(&std::mem::take(filtered));
        let redactions = self.encoder.take_redactions();
        if redactions.iter().any(|(_, count)| *count > 0) {
            self.ledger.redacted(redactions.into_iter());
        }
        let fallbacks = self.encoder.take_fallbacks();
        if fallbacks.total() > 0 {
            self.ledger.read_as_text(fallbacks);
        }
    }

    /// Hands the batch to every sink, waiting while a sink is still busy
    /// with earlier batches: that wait is what fills the queue. A batch of
    /// no events (only lines filtered or rejected) goes too, so their
    /// positions settle in order, but is not counted as a batch.
    async fn dispatch(&mut self) {
        let batch = Arc::new(self.builder.take(self.sinks.len()));
        if batch.len() > 0 {
            self.ledger.batch_formed(&batch);
        }
        for (index, sink) in self.sinks.iter().enumerate() {
            if sink.send(Arc::clone(&batch)).await.is_err() {
                // The sink's task is gone; it wrote none of this batch.
                self.ledger.settle(&batch, index, 0);
            }
        }
    }
}

/// What became of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shipped {
    /// Its event is in the batch.
    Event,
    /// A filter set it aside.
    Filtered(crate::filter::FilterReason),
    /// Strict mode rejected it.
    Invalid,
}

impl Shipped {
    fn of(encoded: Result<Encoded, crate::envelope::Invalid>) -> Shipped {
        match encoded {
            Ok(Encoded::Written) => Shipped::Event,
            Ok(Encoded::Filtered(reason)) => Shipped::Filtered(reason),
            Err(_) => Shipped::Invalid,
        }
    }
}
