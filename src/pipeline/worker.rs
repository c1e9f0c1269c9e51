//! The worker: takes lines off the queue, envelopes them into batches and
//! hands each batch to every sink.

use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::dropped::DropReason;
use super::encoders::{EncodedChunk, Encoders, InFlight, Outcome, Spare};
use super::ledger::Ledger;
use super::queue::{Queue, Taken};
use crate::batch::{Batch, BatchBuilder};
use crate::envelope::{Encoder, Gap};
use crate::filter::{Filter, FilterReason, Filtered};
use crate::level::Level;

pub(crate) struct Worker {
    pub queue: Arc<Queue>,
    /// Encodes the small chunks, and writes the gap markers.
    pub encoder: Encoder,
    /// The threads that encode the large chunks (none on one core).
    pub encoders: Encoders,
    /// `--sample` and `--rate-limit`, decided here, in the order of the
    /// lines, after the encoders: so they stay deterministic.
    pub in_order: Option<Filter>,
    /// The redaction rules' names, in the order the encoders count them.
    pub redaction_names: Vec<String>,
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
    /// Buffers of gathered chunks, to encode the next ones into.
    pub spares: Vec<Spare>,
}

impl Worker {
    /// Runs until the queue is closed and empty, then sends the last batch
    /// and lets the sinks' channels close.
    pub(crate) async fn run(mut self) {
        let mut in_flight = InFlight::default();
        loop {
            let deadline = self.builder.deadline(self.batch_timeout);
            tokio::select! {
                // Lines to envelope, while the encoders have room; `None`
                // once intake has stopped and the queue is empty.
                taken = self.queue.take(), if in_flight.has_room() => match taken {
                    Some(taken) => self.take_in(taken, &mut in_flight),
                    None => break,
                },
                // The oldest chunk taken in is encoded: into the batches.
                Some(encoded) = in_flight.oldest(), if !in_flight.is_empty() => {
                    self.gather(encoded).await;
                }
                // The oldest event of a partly filled batch has waited long enough.
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.dispatch().await;
                }
            }
        }
        while let Some(encoded) = in_flight.oldest().await {
            self.gather(encoded).await;
        }
        self.gap.queue_full += self.queue.take_trailing_gap();
        self.mark_gap();
        if !self.builder.is_empty() || self.builder.has_passed() {
            self.dispatch().await;
        }
    }

    /// Starts enveloping a chunk: on a thread, or here when it is small.
    fn take_in(&mut self, taken: Taken, in_flight: &mut InFlight) {
        let spare = self.spares.pop().unwrap_or_default();
        let encoded = EncodedChunk::new(taken, spare);
        in_flight.add(encoded, &mut self.encoders, &mut self.encoder);
    }

    /// Puts an encoded chunk's events into batches, in order, sending each
    /// batch as it fills. After a gap, the marker goes in first, once an
    /// event is known to ship: one marker tells a whole run of drops. A
    /// rejected line is counted at once, before any wait for a sink; a
    /// filtered one with the chunk's others, and so are redactions.
    async fn gather(&mut self, encoded: EncodedChunk) {
        self.gap.queue_full += encoded.dropped_before;
        self.settle_encoded(&encoded);
        let chunk = &encoded.chunk;
        self.builder.reading(&chunk.stream);
        let mut filtered = Filtered::default();
        let mut start = 0;
        for (span, &outcome) in chunk.spans.iter().zip(&encoded.outcomes) {
            let shipped = match outcome {
                Outcome::Event(end) => {
                    let event = &encoded.events[start..end];
                    start = end;
                    self.ship(event, span.end, &chunk.stream.name)
                }
                Outcome::Filtered(reason) => Err(reason),
                Outcome::Invalid => {
                    self.builder.pass(span.end);
                    self.ledger.drop_events(DropReason::Invalid, 1);
                    if self.gap_markers {
                        self.gap.invalid += 1;
                    }
                    continue;
                }
            };
            match shipped {
                Ok(()) if self.builder.is_full() => {
                    self.ledger.filter_events(&std::mem::take(&mut filtered));
                    self.dispatch().await;
                    self.builder.reading(&chunk.stream);
                }
                Ok(()) => {}
                Err(reason) => {
                    self.builder.pass(span.end);
                    filtered.add(reason, 1);
                }
            }
        }
        self.ledger.filter_events(&filtered);
        self.spares.push(encoded.into_spare());
    }

    /// Puts one encoded event into the batch, unless sampling or the rate
    /// limit sets it aside (the reason); after a gap, the marker goes in
    /// first.
    fn ship(&mut self, event: &[u8], end: u64, source: &str) -> Result<(), FilterReason> {
        if let Some(filter) = &mut self.in_order
            && let Some(reason) = filter.check(Level::Info, String::new, source, StdInstant::now)
        {
            return Err(reason);
        }
        self.mark_gap();
        self.builder.push(end, |out| {
            out.extend_from_slice(event);
            true
        });
        Ok(())
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

    /// Counts the values a chunk had redacted and its lines read as plain
    /// text.
    fn settle_encoded(&mut self, encoded: &EncodedChunk) {
        if encoded.redactions.iter().any(|&count| count > 0) {
            let names = self.redaction_names.iter().map(String::as_str);
            self.ledger
                .redacted(names.zip(encoded.redactions.iter().copied()));
        }
        if encoded.fallbacks.total() > 0 {
            self.ledger.read_as_text(encoded.fallbacks);
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
