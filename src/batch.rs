//! A batch: events serialized back to back, written by each sink in one go.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::chunk::Stream;

/// Where one event came from: enough to name it uniquely and for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin<'a> {
    /// The identity of its stream (`Stream::id`).
    pub stream: &'a str,
    /// Position in that stream just past the line.
    pub offset: u64,
}

/// The stream index of a line that was not read (a gap marker).
const NO_STREAM: u32 = u32::MAX;

/// Events ready for the sinks, each one line of bytes ending in `\n`.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The events, back to back.
    bytes: Vec<u8>,
    /// Where each line ends in `bytes`.
    ends: Vec<usize>,
    /// Which lines are gap markers (made by the pipeline, not read), in
    /// order; they are written like events but never counted as events.
    markers: Vec<usize>,
    /// The streams the events came from, each once.
    streams: Vec<Arc<Stream>>,
    /// For each line, its stream (an index into `streams`) and the
    /// position just past it there.
    origins: Vec<(u32, u64)>,
    /// For each stream (as `streams`), the position past its last line
    /// read but not made an event (rejected as invalid), or 0: settled
    /// with the batch all the same.
    passed: Vec<u64>,
    /// Sinks that have not reported on this batch yet.
    pending: AtomicUsize,
    /// Fewest events any reporting sink wrote: the events every sink holds.
    accepted: AtomicUsize,
    /// Lines a sink's receiver turned away although the sink sent them,
    /// one flag a line; empty until a receiver does.
    refused: Mutex<Vec<bool>>,
    /// Events receivers turned away without saying which, over all sinks.
    refused_unnamed: AtomicUsize,
}

impl Batch {
    /// Lines in the batch, gap markers included.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Events among the first `lines` lines: the markers are not events.
    pub(crate) fn events_in(&self, lines: usize) -> usize {
        lines - self.markers.partition_point(|&marker| marker < lines)
    }

    pub(crate) fn markers(&self) -> usize {
        self.markers.len()
    }

    /// All events, back to back: what a sink writes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many whole lines the first `written` bytes hold.
    pub(crate) fn events_within(&self, written: usize) -> usize {
        self.ends.partition_point(|&end| end <= written)
    }

    /// Bytes of the first `events` events.
    pub(crate) fn bytes_of(&self, events: usize) -> usize {
        match events {
            0 => 0,
            n => self.ends[n - 1],
        }
    }

    /// The lines one at a time, without their newline.
    pub(crate) fn lines(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter())
            .map(|(start, &end)| &self.bytes[start..end - 1])
    }

    /// Line `line`, without its newline.
    pub(crate) fn line(&self, line: usize) -> Option<&[u8]> {
        let end = *self.ends.get(line)?;
        let start = line.checked_sub(1).map_or(0, |before| self.ends[before]);
        Some(&self.bytes[start..end - 1])
    }

    /// Where line `line` came from; `None` for a gap marker.
    pub(crate) fn origin(&self, line: usize) -> Option<Origin<'_>> {
        let (stream, offset) = self.origins[line];
        let stream = self.streams.get(stream as usize)?;
        Some(Origin {
            stream: &stream.id,
            offset,
        })
    }

    /// For each stream, the position just past its last event here: once
    /// the batch is delivered, reading may resume there.
    pub(crate) fn positions(&self) -> impl Iterator<Item = (&Arc<Stream>, u64)> {
        // One pass over the events, however many streams the batch holds.
        let mut last = self.passed.clone();
        last.resize(self.streams.len(), 0);
        for &(stream, end) in &self.origins {
            if let Some(slot) = last.get_mut(stream as usize) {
                *slot = end.max(*slot);
            }
        }
        self.streams.iter().zip(last)
    }

    /// Whether line `line` is a gap marker.
    pub(crate) fn is_marker(&self, line: usize) -> bool {
        self.markers.binary_search(&line).is_ok()
    }

    /// Notes what one sink did: it sent the first `report.written` lines,
    /// of which its receiver turned away `report.refused` and as many
    /// again unnamed. When it was the last sink to report, returns how
    /// many events every sink delivered.
    pub(crate) fn sink_reported(&self, report: &SinkReport) -> Option<usize> {
        let written = report.written.min(self.len());
        if !report.refused.is_empty() {
            let mut refused = self.refused.lock().expect("batch lock poisoned");
            refused.resize(self.len(), false);
            for &line in report.refused.iter().filter(|&&line| line < written) {
                refused[line] = true;
            }
        }
        self.refused_unnamed
            .fetch_add(report.unnamed, Ordering::AcqRel);
        let accepted = self
            .accepted
            .fetch_min(written, Ordering::AcqRel)
            .min(written);
        if self.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
            return None;
        }
        let refused = self.refused.lock().expect("batch lock poisoned");
        let named = self.refused_events(&refused[..refused.len().min(accepted)]);
        let sent = self.events_in(accepted) - named;
        Some(sent - self.refused_unnamed.load(Ordering::Acquire).min(sent))
    }

    /// Events (not markers) among lines flagged in `refused`.
    fn refused_events(&self, refused: &[bool]) -> usize {
        refused
            .iter()
            .enumerate()
            .filter(|&(line, &flagged)| flagged && !self.is_marker(line))
            .count()
    }

    /// Events one sink delivered by its report: the lines it sent, less
    /// the markers and what its receiver turned away.
    pub(crate) fn delivered_by(&self, report: &SinkReport) -> usize {
        let written = report.written.min(self.len());
        // Events refused, each once; nothing is allocated when none was.
        let mut refused: Vec<usize> = report
            .refused
            .iter()
            .copied()
            .filter(|&line| line < written && !self.is_marker(line))
            .collect();
        refused.sort_unstable();
        refused.dedup();
        let sent = self.events_in(written) - refused.len();
        sent - report.unnamed.min(sent)
    }
}

/// What one sink did with a batch, as the ledger counts it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SinkReport<'a> {
    /// It sent the batch's first `written` lines.
    pub written: usize,
    /// Lines among those its receiver turned away, named.
    pub refused: &'a [usize],
    /// Events among those its receiver turned away without naming them.
    pub unnamed: usize,
}

impl SinkReport<'_> {
    /// A sink that sent the first `written` lines, all taken.
    pub(crate) fn written(written: usize) -> SinkReport<'static> {
        SinkReport {
            written,
            refused: &[],
            unnamed: 0,
        }
    }
}

/// Event slots reserved up front; a larger batch grows as it fills.
const PREALLOCATED_EVENTS: usize = 4096;

/// Gathers events until the batch is full or old enough to go.
pub(crate) struct BatchBuilder {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    markers: Vec<usize>,
    streams: Vec<Arc<Stream>>,
    origins: Vec<(u32, u64)>,
    /// One slot a stream, however many lines are rejected before the next
    /// batch goes.
    passed: Vec<u64>,
    /// The stream the next events come from: an index into `streams`.
    current: u32,
    /// Most events in one batch.
    max_events: usize,
    /// A batch is full once it holds this many bytes, whatever its events:
    /// long lines must not make batches (and memory) grow without bound.
    max_bytes: usize,
    /// When the first event of the batch arrived; the timeout counts from it.
    started: Option<Instant>,
}

impl BatchBuilder {
    pub(crate) fn new(max_events: usize) -> BatchBuilder {
        BatchBuilder {
            bytes: Vec::new(),
            ends: Vec::with_capacity(max_events.min(PREALLOCATED_EVENTS)),
            markers: Vec::new(),
            streams: Vec::new(),
            origins: Vec::with_capacity(max_events.min(PREALLOCATED_EVENTS)),
            passed: Vec::new(),
            current: NO_STREAM,
            max_events,
            max_bytes: usize::MAX,
            started: None,
        }
    }

    pub(crate) fn with_max_bytes(mut self, max_bytes: usize) -> BatchBuilder {
        self.max_bytes = max_bytes;
        self
    }

    /// Names the stream the next events come from.
    pub(crate) fn reading(&mut self, stream: &Arc<Stream>) {
        let known = self
            .streams
            .iter()
            .position(|seen| Arc::ptr_eq(seen, stream));
        let index = known.unwrap_or_else(|| {
            self.streams.push(Arc::clone(stream));
            self.streams.len() - 1
        });
        self.current = index as u32;
    }

    /// Adds one event, which ends at `end` in the current stream, written
    /// by `write`; `write` returns `false` to leave nothing behind (the
    /// event was rejected). Returns what `write` said.
    pub(crate) fn push(&mut self, end: u64, write: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        let start = self.bytes.len();
        if !write(&mut self.bytes) {
            self.bytes.truncate(start);
            return false;
        }
        self.bytes.push(b'\n');
        self.ends.push(self.bytes.len());
        self.origins.push((self.current, end));
        self.started.get_or_insert_with(Instant::now);
        true
    }

    /// Notes a line of the current stream, ending at `end`, that was read
    /// but not made an event: once the batch is settled, so is it.
    pub(crate) fn pass(&mut self, end: u64) {
        if self.current == NO_STREAM {
            return;
        }
        let stream = self.current as usize;
        if self.passed.len() <= stream {
            self.passed.resize(stream + 1, 0);
        }
        self.passed[stream] = end;
        // Lines passed over settle with a batch: one must go in time,
        // events or none.
        self.started.get_or_insert_with(Instant::now);
    }

    /// Whether lines read but not made events wait to settle.
    pub(crate) fn has_passed(&self) -> bool {
        self.passed.iter().any(|&end| end > 0)
    }

    /// Adds a gap marker written by `write`.
    pub(crate) fn push_marker(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let index = self.ends.len();
        let current = std::mem::replace(&mut self.current, NO_STREAM);
        self.push(0, |out| {
            write(out);
            true
        });
        self.current = current;
        self.markers.push(index);
    }

    pub(crate) fn is_full(&self) -> bool {
        self.ends.len() >= self.max_events || self.bytes.len() >= self.max_bytes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// When the batch must go even if it is not full.
    pub(crate) fn deadline(&self, timeout: Duration) -> Option<Instant> {
        self.started.map(|started| started + timeout)
    }

    /// Hands the gathered events over as a batch for `sinks` sinks.
    pub(crate) fn take(&mut self, sinks: usize) -> Batch {
        // The next batch likely needs as much room as this one had, but no
        // more than the bound: one huge event must not stay allocated.
        let capacity = self.bytes.capacity().min(self.max_bytes);
        self.started = None;
        self.current = NO_STREAM;
        let events = self.ends.len();
        let ends = std::mem::replace(&mut self.ends, Vec::with_capacity(events));
        Batch {
            bytes: std::mem::replace(&mut self.bytes, Vec::with_capacity(capacity)),
            accepted: AtomicUsize::new(ends.len()),
            refused: Mutex::new(Vec::new()),
            refused_unnamed: AtomicUsize::new(0),
            ends,
            markers: std::mem::take(&mut self.markers),
            streams: std::mem::take(&mut self.streams),
            origins: std::mem::replace(&mut self.origins, Vec::with_capacity(events)),
            passed: std::mem::take(&mut self.passed),
            pending: AtomicUsize::new(sinks),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder_with(events: &[&str], max: usize) -> BatchBuilder {
        let mut builder = BatchBuilder::new(max);
        for event in events {
            builder.push(0, |buf| {
                buf.extend_from_slice(event.as_bytes());
                true
            });
        }
        builder
    }

    #[test]
    fn fills_up_to_its_size() {
        let mut builder = builder_with(&["a", "b"], 3);
        assert!(!builder.is_full());
        builder.push(0, |buf| {
            buf.push(b'c');
            true
        });
        assert!(builder.is_full());
        let batch = builder.take(1);
        assert_eq!(batch.bytes(), b"a\nb\nc\n");
        assert_eq!(batch.lines().collect::<Vec<_>>(), [b"a", b"b", b"c"]);
        assert!(builder.is_empty(), "take leaves an empty builder");
        assert_eq!(builder.deadline(Duration::from_secs(1)), None);
    }

    #[test]
    fn a_batch_is_also_full_at_its_byte_bound() {
        let mut builder = BatchBuilder::new(100).with_max_bytes(8);
        builder.push(0, |buf| {
            buf.extend_from_slice(b"abc");
            true
        });
        assert!(!builder.is_full());
        builder.push(0, |buf| {
            buf.extend_from_slice(b"defg");
            true
        });
        assert!(builder.is_full(), "8 bytes with the newlines");
    }

    #[test]
    fn markers_are_lines_but_not_events() {
        let mut builder = builder_with(&["a"], 10);
        builder.push_marker(|out| out.extend_from_slice(b"gap"));
        builder.push(0, |out| {
            out.push(b'b');
            true
        });
        let batch = builder.take(1);
        assert_eq!(batch.bytes(), b"a\ngap\nb\n");
        assert_eq!((batch.len(), batch.markers()), (3, 1));
        assert_eq!(batch.events_in(1), 1);
        assert_eq!(batch.events_in(2), 1, "the marker is not an event");
        assert_eq!(batch.events_in(3), 2);
    }

    #[test]
    fn a_rejected_event_leaves_nothing_behind() {
        let mut builder = builder_with(&["a"], 10);
        let kept = builder.push(0, |buf| {
            buf.extend_from_slice(b"half written");
            false
        });
        assert!(!kept);
        assert_eq!(builder.take(1).bytes(), b"a\n");
    }

    #[test]
    fn counts_whole_events_within_a_prefix() {
        let batch = builder_with(&["aa", "bb", "cc"], 10).take(1);
        assert_eq!(batch.events_within(0), 0);
        assert_eq!(
            batch.events_within(2),
            0,
            "an event without its newline is not whole"
        );
        assert_eq!(batch.events_within(3), 1);
        assert_eq!(batch.events_within(8), 2);
        assert_eq!(batch.events_within(9), 3);
        assert_eq!(batch.bytes_of(0), 0);
        assert_eq!(batch.bytes_of(2), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_counts_from_the_first_event() {
        let mut builder = BatchBuilder::new(10);
        assert_eq!(builder.deadline(Duration::from_millis(250)), None);
        let first = Instant::now();
        builder.push(0, |buf| {
            buf.push(b'a');
            true
        });
        tokio::time::advance(Duration::from_millis(100)).await;
        builder.push(0, |buf| {
            buf.push(b'b');
            true
        });
        assert_eq!(
            builder.deadline(Duration::from_millis(250)),
            Some(first + Duration::from_millis(250))
        );
    }

    #[test]
    fn the_last_sink_to_report_settles_the_fewest_written() {
        let batch = builder_with(&["a", "b", "c"], 10).take(2);
        assert_eq!(batch.sink_reported(&SinkReport::written(3)), None);
        assert_eq!(batch.sink_reported(&SinkReport::written(1)), Some(1));
    }

    #[test]
    fn an_event_any_receiver_refused_is_not_delivered() {
        let mut builder = builder_with(&["a", "b"], 10);
        builder.push_marker(|out| out.extend_from_slice(b"gap"));
        let mut builder_rest = builder_with(&["c", "d", "e"], 10);
        let rest = builder_rest.take(1);
        for line in rest.lines() {
            builder.push(0, |out| {
                out.extend_from_slice(line);
                true
            });
        }
        let batch = builder.take(3);
        let first = SinkReport {
            written: 6,
            refused: &[1, 2],
            unnamed: 0,
        };
        assert_eq!(
            batch.delivered_by(&first),
            4,
            "b refused; the marker is no event"
        );
        assert_eq!(batch.sink_reported(&first), None);
        let second = SinkReport {
            written: 6,
            refused: &[4, 9],
            unnamed: 1,
        };
        assert_eq!(batch.delivered_by(&second), 3);
        assert_eq!(batch.sink_reported(&second), None);
        let third = SinkReport::written(5);
        assert_eq!(batch.delivered_by(&third), 4);
        // Delivered everywhere: a and c (d refused, e not sent, b refused),
        // less the one refused unnamed.
        assert_eq!(batch.sink_reported(&third), Some(1));
    }

    #[test]
    fn each_event_knows_its_stream_and_position_and_a_marker_has_none() {
        let (one, two) = (Stream::named("one"), Stream::named("two"));
        let mut builder = BatchBuilder::new(10);
        let push = |builder: &mut BatchBuilder, end| {
            builder.push(end, |out| {
                out.push(b'x');
                true
            })
        };
        builder.reading(&one);
        push(&mut builder, 4);
        builder.reading(&two);
        push(&mut builder, 10);
        builder.push_marker(|out| out.extend_from_slice(b"gap"));
        builder.reading(&one);
        push(&mut builder, 9);
        let batch = builder.take(1);
        let origin = |stream, offset| Some(Origin { stream, offset });
        assert_eq!(batch.origin(0), origin("one", 4));
        assert_eq!(batch.origin(1), origin("two", 10));
        assert_eq!(batch.origin(2), None, "a marker was not read");
        assert_eq!(batch.origin(3), origin("one", 9));
        let positions: Vec<_> = batch.positions().map(|(s, end)| (&*s.id, end)).collect();
        assert_eq!(positions, [("one", 9), ("two", 10)]);

        // A rejected line after the last event still moves its stream on.
        builder.reading(&one);
        push(&mut builder, 3);
        for end in 5..=12 {
            builder.pass(end);
        }
        assert_eq!(builder.passed, [12], "one slot a stream");
        let batch = builder.take(1);
        let positions: Vec<_> = batch.positions().map(|(s, end)| (&*s.id, end)).collect();
        assert_eq!(positions, [("one", 12)]);
        builder.push_marker(|out| out.extend_from_slice(b"gap"));
        assert_eq!(
            builder.take(1).origin(0),
            None,
            "a new batch names no stream yet"
        );
    }
}
