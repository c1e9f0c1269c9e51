//! Enveloping a chunk's lines, on the worker or on the encoder threads.
//!
//! Parsing and writing events is most of shipper's work, so the worker
//! hands large chunks to threads of their own, each with its own
//! `Encoder`, and gathers the results back in the order it took the
//! chunks. What a chunk's lines became (an event, filtered, invalid) is
//! kept line by line, so that the worker settles them, marks gaps and
//! forms batches exactly as it would have encoding them itself. Small
//! chunks (under 32 KiB) are encoded on the worker: a hand-off costs
//! more than it saves.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use tokio::sync::oneshot;

use super::queue::Taken;
use crate::chunk::Chunk;
use crate::envelope::{Encoded, Encoder, Fallbacks, LineRef, ToldOnce};
use crate::filter::FilterReason;

/// Encoder threads at most: the worker, the reader and the sinks need
/// little besides.
const THREADS: usize = 2;

/// Encoder threads to start: none on one core, where they could only
/// take turns with the worker.
pub(super) fn threads() -> usize {
    match thread::available_parallelism().map_or(1, usize::from) {
        1 => 0,
        cores => cores.min(THREADS),
    }
}

/// Chunks with fewer bytes of lines than this are encoded on the worker:
/// their encoding costs about what handing them over and back does (two
/// threads woken), and a run of such hand-offs would slow a worker that
/// is not behind, as when a small queue cuts reads into small chunks.
pub(super) const INLINE_BELOW: usize = 32 * 1024;

/// Chunks handed to the threads and not yet gathered, at most: enough to
/// keep each thread one chunk ahead.
pub(super) const IN_FLIGHT: usize = 4;

/// Largest buffer of events kept to reuse: a chunk read in one go (256
/// KiB) makes about twice as much.
const SPARE_BYTES: usize = 1 << 20;

/// What became of one line of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Its event is written, ending at this offset in `events`.
    Event(usize),
    /// A filter set it aside.
    Filtered(FilterReason),
    /// Strict mode rejected it.
    Invalid,
}

/// A chunk taken off the queue and, once encoded, its lines' events.
pub(super) struct EncodedChunk {
    pub chunk: Chunk,
    /// Lines dropped `queue_full` just before the chunk.
    pub dropped_before: u64,
    /// The events written, back to back, without newlines.
    pub events: Vec<u8>,
    /// One for each of the chunk's spans, in order.
    pub outcomes: Vec<Outcome>,
    /// Lines read as plain text, by the format they were not in.
    pub fallbacks: Fallbacks,
    /// Values redacted, by rule (in the order of the encoder's rules).
    pub redactions: Vec<u64>,
}

/// Buffers of a chunk already gathered, to encode the next one into.
#[derive(Default)]
pub(super) struct Spare {
    events: Vec<u8>,
    outcomes: Vec<Outcome>,
}

impl EncodedChunk {
    pub(super) fn new(taken: Taken, spare: Spare) -> EncodedChunk {
        EncodedChunk {
            chunk: taken.chunk,
            dropped_before: taken.dropped_before,
            events: spare.events,
            outcomes: spare.outcomes,
            fallbacks: Fallbacks::default(),
            redactions: Vec::new(),
        }
    }

    /// Envelopes every line with `encoder`, noting what each became.
    pub(super) fn encode(&mut self, encoder: &mut Encoder) {
        let chunk = &self.chunk;
        self.events.clear();
        self.outcomes.clear();
        self.outcomes.reserve(chunk.spans.len());
        for span in &chunk.spans {
            let line = LineRef {
                bytes: chunk.line(span),
                source: &chunk.stream.name,
                read_at: chunk.read_at,
                cut_from: span.cut_from,
                lines: span.lines,
            };
            let start = self.events.len();
            let outcome = match encoder.encode(&line, &mut self.events) {
                Ok(Encoded::Written) => Outcome::Event(self.events.len()),
                Ok(Encoded::Filtered(reason)) => Outcome::Filtered(reason),
                Err(_) => Outcome::Invalid,
            };
            if !matches!(outcome, Outcome::Event(_)) {
                self.events.truncate(start);
            }
            self.outcomes.push(outcome);
        }
        self.fallbacks = encoder.take_fallbacks();
        self.redactions = encoder
            .take_redactions()
            .into_iter()
            .map(|(_, count)| count)
            .collect();
    }

    /// The chunk's buffers, for the next chunk; one grown by long lines
    /// is let go, so that the spares stay small.
    pub(super) fn into_spare(self) -> Spare {
        if self.events.capacity() > SPARE_BYTES {
            return Spare::default();
        }
        Spare {
            events: self.events,
            outcomes: self.outcomes,
        }
    }
}

/// A chunk for a thread, and where to send it back encoded.
struct Job {
    encoded: EncodedChunk,
    done: oneshot::Sender<EncodedChunk>,
}

/// Makes an encoder like the worker's, for a thread.
pub(crate) type MakeEncoder = Arc<dyn Fn() -> Encoder + Send + Sync>;

/// The encoder threads, started with the first chunk worth handing over:
/// a short run never pays for their encoders. Dropping it lets them
/// finish once the chunks handed to them are encoded.
pub(super) struct Encoders {
    /// Makes the threads' encoders.
    make: MakeEncoder,
    /// Shared by the threads' encoders and the worker's.
    told: ToldOnce,
    /// Threads to start (none on one core).
    threads: usize,
    /// To the threads, once started.
    jobs: Option<mpsc::Sender<Job>>,
}

impl Encoders {
    /// Encoders that `make` makes, telling once a run as `told` did.
    pub(super) fn new(make: MakeEncoder, told: ToldOnce) -> Encoders {
        Encoders {
            make,
            told,
            threads: threads(),
            jobs: None,
        }
    }

    /// Whether the threads take this chunk: a large one, when there are
    /// threads.
    fn take(&self, chunk: &Chunk) -> bool {
        self.threads > 0 && chunk.bytes() >= INLINE_BELOW
    }

    /// Hands `encoded` to the first thread free, starting the threads
    /// first if need be; the receiver gets it back encoded.
    fn submit(&mut self, encoded: EncodedChunk) -> oneshot::Receiver<EncodedChunk> {
        let (done, receiver) = oneshot::channel();
        self.jobs
            .get_or_insert_with(|| start(self.threads, &self.make, &self.told))
            .send(Job { encoded, done })
            .expect("the encoder threads outlive their sender");
        receiver
    }
}

/// Starts `threads` threads, each making its encoder itself, off the
/// worker.
fn start(threads: usize, make: &MakeEncoder, told: &ToldOnce) -> mpsc::Sender<Job> {
    let (jobs, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for index in 0..threads {
        let (receiver, make, told) = (Arc::clone(&receiver), Arc::clone(make), told.clone());
        thread::Builder::new()
            .name(format!("encoder-{index}"))
            .spawn(move || {
                let mut encoder = make().telling_once_with(told);
                // Sampling and the rate limit are the worker's, in order.
                encoder.take_in_order_filter();
                run(encoder, &receiver);
            })
            .expect("could not start an encoder thread");
    }
    jobs
}

/// Encodes the chunks it is handed until the sender is gone.
fn run(mut encoder: Encoder, jobs: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // The lock is held only to take a job, never while encoding.
        let job = jobs.lock().map(|jobs| jobs.recv());
        let Ok(Ok(Job { mut encoded, done })) = job else {
            return;
        };
        encoded.encode(&mut encoder);
        // The worker may be gone (a second signal): nothing waits then.
        let _ = done.send(encoded);
    }
}

/// A chunk on its way through the encoders, in the order taken.
enum Pending {
    /// Encoded already (on the worker).
    Ready(Box<EncodedChunk>),
    /// On a thread.
    Encoding(oneshot::Receiver<EncodedChunk>),
}

/// The chunks taken off the queue and not yet gathered, in order.
#[derive(Default)]
pub(super) struct InFlight {
    pending: VecDeque<Pending>,
}

impl InFlight {
    pub(super) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Whether another chunk may be taken in.
    pub(super) fn has_room(&self) -> bool {
        self.pending.len() < IN_FLIGHT
    }

    /// Takes `encoded` in: to a thread when it is large and there are
    /// threads, otherwise encoded at once with `encoder`.
    pub(super) fn add(
        &mut self,
        mut encoded: EncodedChunk,
        encoders: &mut Encoders,
        encoder: &mut Encoder,
    ) {
        if encoders.take(&encoded.chunk) {
            self.pending
                .push_back(Pending::Encoding(encoders.submit(encoded)));
        } else {
            encoded.encode(encoder);
            self.pending.push_back(Pending::Ready(Box::new(encoded)));
        }
    }

    /// The oldest chunk, once encoded. Cancel-safe: a chunk still being
    /// encoded stays first until it is returned.
    pub(super) async fn oldest(&mut self) -> Option<EncodedChunk> {
        let front = self.pending.front_mut()?;
        if let Pending::Encoding(receiver) = front {
            let encoded = receiver.await.expect("an encoder thread panicked");
            *front = Pending::Ready(Box::new(encoded));
        }
        match self.pending.pop_front() {
            Some(Pending::Ready(encoded)) => Some(*encoded),
            _ => unreachable!("the oldest chunk was made ready above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EnvelopeConfig, EnvelopeMode, Format};
    use crate::pipeline::tests::chunk_of;

    fn strict() -> Encoder {
        let config = EnvelopeConfig {
            mode: EnvelopeMode::Strict,
            max_line_bytes: 1 << 20,
            fields: Vec::new(),
            guess_levels: true,
            format: Format::Auto,
            message_key: None,
            level_key: None,
            timestamp_key: None,
        };
        Encoder::new(&config, "test")
    }

    fn taken(lines: &[String]) -> Taken {
        Taken {
            chunk: chunk_of(lines),
            dropped_before: 0,
        }
    }

    /// Large chunks go to the threads, small ones are encoded at once,
    /// and either way they come back in the order taken, line by line as
    /// the worker's own encoder makes them.
    #[tokio::test]
    async fn chunks_come_back_in_order_as_the_worker_would_encode_them() {
        let mut encoders = Encoders {
            threads: 2,
            ..Encoders::new(Arc::new(strict), strict().told_once())
        };
        let mut own = strict();
        let chunks: Vec<Vec<String>> = (0..12)
            .map(|c| {
                let size = if c % 3 == 0 { 5 } else { 40 + c * 150 };
                (0..size)
                    .map(|i| match i % 4 {
                        3 => format!("not json {c}/{i}"),
                        _ => format!(
                            r#"{{"timestamp":"2026-11-30T18:21:00.000Z","message":"{c}/{i}"}}"#
                        ),
                    })
                    .collect()
            })
            .collect();
        let mut in_flight = InFlight::default();
        let mut gathered = Vec::new();
        for lines in &chunks {
            if !in_flight.has_room() {
                gathered.push(in_flight.oldest().await.unwrap());
            }
            in_flight.add(
                EncodedChunk::new(taken(lines), Spare::default()),
                &mut encoders,
                &mut own,
            );
        }
        while let Some(encoded) = in_flight.oldest().await {
            gathered.push(encoded);
        }
        assert!(encoders.jobs.is_some(), "the threads took the large chunks");
        assert_eq!(gathered.len(), chunks.len());
        for (encoded, lines) in gathered.into_iter().zip(&chunks) {
            let mut expected = EncodedChunk::new(taken(lines), Spare::default());
            expected.encode(&mut own);
            assert_eq!(encoded.outcomes, expected.outcomes);
            assert_eq!(encoded.events, expected.events);
            let invalid = encoded.outcomes.iter().filter(|o| **o == Outcome::Invalid);
            assert_eq!(invalid.count(), lines.len() / 4);
        }
    }
}
