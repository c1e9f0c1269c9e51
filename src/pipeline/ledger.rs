//! The counters every summary is read from, and the rule that each event
//! is settled exactly once: processed, dropped with one reason, or
//! filtered with one reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use serde::Serialize;

use super::dropped::{DropReason, Dropped};
use crate::batch::{Batch, SinkReport};
use crate::chunk::Stream;
use crate::envelope::Fallbacks;
use crate::filter::Filtered;
use crate::redact::Redactions;

/// What one sink did with the events handed to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct SinkCounts {
    /// Events it wrote.
    pub written: u64,
    /// Events it failed to write.
    pub failed: u64,
    /// Writes it repeated after a failure.
    pub retried: u64,
}

/// What the ledger has counted: events settled (processed, or dropped by
/// reason), the batches and gap markers the worker formed, and what each
/// sink did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Settled {
    /// Events every sink accepted.
    pub processed: u64,
    /// Events dropped, by reason.
    pub dropped: Dropped,
    /// Events the user's own filters set aside, by reason.
    pub filtered: Filtered,
    /// Values redacted, by rule.
    pub redactions: Redactions,
    /// Batches formed by the worker.
    pub batches: u64,
    /// Gap markers written into the stream.
    pub markers: u64,
    /// Events kept in the dead-letter file, one for each sink that gave
    /// up on it.
    pub dead_lettered: u64,
    /// Lines read as plain text, by the format they were not in.
    pub fallbacks: Fallbacks,
    /// One entry per sink, in command-line order.
    pub sinks: Vec<SinkCounts>,
}

impl Settled {
    /// Nothing settled yet, for `sinks` sinks.
    pub(crate) fn new(sinks: usize) -> Settled {
        Settled {
            sinks: vec![SinkCounts::default(); sinks],
            ..Settled::default()
        }
    }

    /// Events dropped, whatever the reason.
    pub(crate) fn dropped_total(&self) -> u64 {
        self.dropped.total()
    }

    /// Events dropped for `reason`.
    pub(crate) fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped.of(reason)
    }

    /// Writes repeated after a failure, over all sinks.
    pub(crate) fn retried(&self) -> u64 {
        self.sinks.iter().map(|sink| sink.retried).sum()
    }
}

/// Shared by intake, worker and sinks; every change goes through one lock,
/// taken once per chunk or batch, never per event.
pub(crate) struct Ledger {
    inner: Mutex<Inner>,
}

struct Inner {
    settled: Settled,
    /// Set when the run gave up on what was in flight; later settlements
    /// are ignored, since those events were already counted as dropped.
    sealed: bool,
    /// For each stream, the position just past its last settled event:
    /// everything before it was delivered or dropped with a reason. Held
    /// weakly (keyed by address), so a stream nothing reads any more is
    /// forgotten: a long run through many rotations does not grow it.
    settled_to: HashMap<usize, (Weak<Stream>, u64)>,
}

impl Ledger {
    pub(crate) fn new(sinks: usize) -> Ledger {
        Ledger {
            inner: Mutex::new(Inner {
                settled: Settled::new(sinks),
                sealed: false,
                settled_to: HashMap::new(),
            }),
        }
    }

    fn update(&self, change: impl FnOnce(&mut Settled)) {
        let mut inner = self.inner.lock().expect("ledger lock poisoned");
        if !inner.sealed {
            change(&mut inner.settled);
        }
    }

    /// For each stream, where everything before is settled. A seal stops
    /// it advancing: what was in flight then is read again next time.
    pub(crate) fn settled_to(&self) -> HashMap<Arc<Stream>, u64> {
        let mut inner = self.inner.lock().expect("ledger lock poisoned");
        inner
            .settled_to
            .retain(|_, (stream, _)| stream.strong_count() > 0);
        inner
            .settled_to
            .values()
            .filter_map(|(stream, end)| Some((stream.upgrade()?, *end)))
            .collect()
    }

    /// Counts lines the encoder read as plain text.
    pub(crate) fn read_as_text(&self, fallbacks: Fallbacks) {
        self.update(|settled| settled.fallbacks.merge(fallbacks));
    }

    pub(crate) fn drop_events(&self, reason: DropReason, count: u64) {
        if count > 0 {
            self.update(|settled| settled.dropped.add(reason, count));
        }
    }

    /// Events the filters set aside, by reason.
    pub(crate) fn filter_events(&self, filtered: &Filtered) {
        if filtered.total() > 0 {
            self.update(|settled| settled.filtered.merge(filtered));
        }
    }

    /// Values redacted by each rule named (every rule of the run is
    /// listed, zero or not).
    pub(crate) fn redacted<'n>(&self, counts: impl Iterator<Item = (&'n str, u64)>) {
        self.update(|settled| {
            for (name, count) in counts {
                settled.redactions.add(name, count);
            }
        });
    }

    /// Lines intake read as the pipeline stopped and the queue refused:
    /// counted even after a seal, since they were never in flight.
    pub(crate) fn refuse(&self, count: u64) {
        let mut inner = self.inner.lock().expect("ledger lock poisoned");
        inner.settled.dropped.add(DropReason::Shutdown, count);
    }

    /// Events kept in the dead-letter file.
    pub(crate) fn dead_lettered(&self, count: u64) {
        if count > 0 {
            self.update(|settled| settled.dead_lettered += count);
        }
    }

    pub(crate) fn retried(&self, sink: usize, count: u64) {
        if count > 0 {
            self.update(|settled| settled.sinks[sink].retried += count);
        }
    }

    pub(crate) fn batch_formed(&self, batch: &Batch) {
        self.update(|settled| {
            settled.batches += 1;
            settled.markers += batch.markers() as u64;
        });
    }

    /// Records that `sink` wrote the first `written` lines of `batch`.
    pub(crate) fn settle(&self, batch: &Batch, sink: usize, written: usize) {
        self.settle_report(batch, sink, &SinkReport::written(written));
    }

    /// Records what `sink` did with `batch`. The last sink to report
    /// settles the batch: an event is processed when every sink delivered
    /// it, and dropped as `sink_error` otherwise. Gap markers are written
    /// like events but counted as none.
    pub(crate) fn settle_report(&self, batch: &Batch, sink: usize, report: &SinkReport) {
        let mut inner = self.inner.lock().expect("ledger lock poisoned");
        if inner.sealed {
            return;
        }
        let Inner {
            settled,
            settled_to,
            ..
        } = &mut *inner;
        let events = batch.events_in(batch.len()) as u64;
        let sink_wrote = batch.delivered_by(report) as u64;
        settled.sinks[sink].written += sink_wrote;
        settled.sinks[sink].failed += events - sink_wrote;
        if let Some(accepted) = batch.sink_reported(report) {
            let accepted = accepted as u64;
            settled.processed += accepted;
            settled
                .dropped
                .add(DropReason::SinkError, events - accepted);
            advance(settled_to, batch);
        }
    }

    /// Gives up on everything in flight: of `submitted` events, those not
    /// yet settled are counted as dropped for `reason`. Returns how many.
    pub(crate) fn seal(&self, reason: DropReason, submitted: u64) -> u64 {
        let mut inner = self.inner.lock().expect("ledger lock poisoned");
        if inner.sealed {
            return 0;
        }
        inner.sealed = true;
        let settled = &mut inner.settled;
        let settled_before = settled.processed + settled.dropped_total() + settled.filtered.total();
        let in_flight = submitted.saturating_sub(settled_before);
        settled.dropped.add(reason, in_flight);
        in_flight
    }

    /// What is counted so far.
    pub(crate) fn snapshot(&self) -> Settled {
        self.inner
            .lock()
            .expect("ledger lock poisoned")
            .settled
            .clone()
    }
}

/// Moves each stream's settled position up to the batch's last event.
fn advance(settled_to: &mut HashMap<usize, (Weak<Stream>, u64)>, batch: &Batch) {
    for (stream, end) in batch.positions().filter(|&(_, end)| end > 0) {
        let key = Arc::as_ptr(stream) as usize;
        let entry = settled_to
            .entry(key)
            .or_insert_with(|| (Arc::downgrade(stream), 0));
        if entry.0.strong_count() == 0 {
            // A stream that is gone, whose address this one reuses.
            *entry = (Arc::downgrade(stream), 0);
        }
        entry.1 = end.max(entry.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchBuilder;

    fn batch(events: usize, sinks: usize) -> Batch {
        let mut builder = BatchBuilder::new(events);
        for i in 0..events {
            builder.push(0, |buf| {
                buf.extend_from_slice(format!("{i}").as_bytes());
                true
            });
        }
        builder.take(sinks)
    }

    #[test]
    fn a_batch_is_processed_only_when_every_sink_wrote_it() {
        let ledger = Ledger::new(2);
        let batch = batch(10, 2);
        ledger.settle(&batch, 0, 10);
        assert_eq!(ledger.snapshot().processed, 0, "one sink has not reported");
        ledger.settle(&batch, 1, 7);
        let settled = ledger.snapshot();
        assert_eq!(settled.processed, 7);
        assert_eq!(settled.dropped_for(DropReason::SinkError), 3);
        assert_eq!(
            settled.sinks[0],
            SinkCounts {
                written: 10,
                failed: 0,
                retried: 0
            }
        );
        assert_eq!(
            settled.sinks[1],
            SinkCounts {
                written: 7,
                failed: 3,
                retried: 0
            }
        );
    }

    #[test]
    fn sealing_counts_what_is_in_flight_once() {
        let ledger = Ledger::new(1);
        ledger.drop_events(DropReason::QueueFull, 4);
        let late = batch(5, 1);
        assert_eq!(ledger.seal(DropReason::ShutdownTimeout, 20), 16);
        assert_eq!(
            ledger.seal(DropReason::Shutdown, 20),
            0,
            "sealing twice counts nothing"
        );
        ledger.settle(&late, 0, 5);
        ledger.drop_events(DropReason::Invalid, 1);
        let settled = ledger.snapshot();
        assert_eq!(
            settled.processed, 0,
            "settlements after the seal are ignored"
        );
        assert_eq!(settled.dropped_total(), 20);
        assert_eq!(settled.dropped_for(DropReason::ShutdownTimeout), 16);
    }

    #[test]
    fn a_stream_is_settled_up_to_its_last_delivered_batch_until_a_seal() {
        let ledger = Ledger::new(2);
        let stream = Stream::named("app.log");
        let batch_ending_at = |end| {
            let mut builder = BatchBuilder::new(10);
            builder.reading(&stream);
            builder.push(end, |out| {
                out.push(b'x');
                true
            });
            builder.take(2)
        };
        let (first, second, third) = (
            batch_ending_at(10),
            batch_ending_at(20),
            batch_ending_at(30),
        );
        ledger.settle(&first, 0, 1);
        assert!(ledger.settled_to().is_empty(), "one sink has not reported");
        ledger.settle(&first, 1, 0);
        assert_eq!(
            ledger.settled_to()[&stream],
            10,
            "a failed event is settled too: dropped, and counted"
        );
        ledger.settle(&second, 0, 1);
        ledger.settle(&second, 1, 1);
        assert_eq!(ledger.settled_to()[&stream], 20);
        ledger.seal(DropReason::Shutdown, 3);
        ledger.settle(&third, 0, 1);
        ledger.settle(&third, 1, 1);
        assert_eq!(
            ledger.settled_to()[&stream],
            20,
            "what was in flight at the seal is read again"
        );
        drop((first, second, third, stream));
        assert!(
            ledger.settled_to().is_empty(),
            "a stream nothing holds is forgotten"
        );
    }
}
