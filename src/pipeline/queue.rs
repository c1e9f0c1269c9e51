//! The bounded queue between intake and the worker, and the policy for a
//! full queue.
//!
//! Bounded in events and in bytes. Intake pushes whole chunks from a reader
//! thread (one lock per chunk); when there is no room it waits or drops, as
//! `WhenFull` says, in one `match`. The worker pops chunks asynchronously.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::json;
use tokio::sync::Notify;

use super::dropped::DropReason;
use super::ledger::Ledger;
#[cfg(test)]
use super::ledger::Settled;
use crate::chunk::Chunk;
use crate::config::WhenFull;
use crate::diagnostics;
use crate::envelope::Levels;

/// The queue refuses lines once the pipeline has begun to stop.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Closed;

/// A chunk off the queue.
#[derive(Debug)]
pub(crate) struct Taken {
    pub chunk: Chunk,
    /// Lines dropped `queue_full` just before this chunk.
    pub dropped_before: u64,
}

/// What intake has counted: the lines offered to the queue, and how full
/// it got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IntakeCounts {
    /// Blank lines: counted, never events.
    pub blank: u64,
    /// Lines joined into an event before them: counted, not events.
    pub joined: u64,
    /// Events offered to the queue (taken in or dropped `queue_full`).
    pub submitted: u64,
    /// Most events the queue ever held at once.
    pub high_watermark: usize,
    /// Bytes of the lines submitted (what was kept of each).
    pub bytes: u64,
    /// Events in the queue when the counts were read.
    pub queued: usize,
}

pub(crate) struct Queue {
    state: Mutex<State>,
    /// Wakes intake when the worker made room (or the queue closed).
    room: Condvar,
    /// Wakes the worker when lines arrive (or the queue closed).
    arrivals: Notify,
    capacity: usize,
    max_bytes: usize,
    when_full: WhenFull,
    /// How `--protect-level` reads a line's level.
    levels: Levels,
    ledger: Arc<Ledger>,
}

/// Whether the queue takes lines in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    Open,
    /// Stopping: no new reads, but lines already read are still taken in.
    Stopping,
    /// Nothing more comes in; the worker finishes once the queue is empty.
    Closed,
}

struct State {
    /// Chunks in order, each with the lines dropped just before it.
    chunks: VecDeque<Taken>,
    /// Lines dropped `queue_full` since the last chunk taken in: the gap a
    /// marker reports where the next chunk begins.
    gap: u64,
    /// Events held now.
    events: usize,
    /// Bytes of line content held now.
    bytes: usize,
    /// Whether lines may still come in.
    admission: Admission,
    /// After a drop, later lines that find the queue full are dropped at
    /// once rather than each waiting out `--backpressure-wait` again; the
    /// first line that finds room ends this.
    shedding: bool,
    counts: IntakeCounts,
}

impl Queue {
    pub(crate) fn new(
        capacity: usize,
        max_bytes: usize,
        when_full: WhenFull,
        levels: Levels,
        ledger: Arc<Ledger>,
    ) -> Queue {
        Queue {
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                gap: 0,
                events: 0,
                bytes: 0,
                admission: Admission::Open,
                shedding: false,
                counts: IntakeCounts::default(),
            }),
            room: Condvar::new(),
            arrivals: Notify::new(),
            capacity,
            max_bytes,
            when_full,
            levels,
            ledger,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("queue lock poisoned")
    }

    /// Offers a chunk's lines, waiting (blocking the calling thread) or
    /// dropping as the policy says when there is no room. Every line is
    /// counted whatever happens to it: taken in, dropped `queue_full`, or,
    /// once the queue has closed, refused and dropped `shutdown`. Returns
    /// the stream position just past the last line taken in, if any was.
    pub(crate) fn push(&self, chunk: Chunk) -> Result<Option<u64>, Closed> {
        let mut shed = None;
        let mut taken_to = None;
        let pushed = self.offer(chunk, &mut shed, &mut taken_to);
        // Reported once the lock is released: stderr may be slow.
        if let Some(shed) = shed {
            self.report_shed(shed);
        }
        pushed.map(|()| taken_to)
    }

    fn offer(
        &self,
        mut chunk: Chunk,
        shed: &mut Option<(u64, usize)>,
        taken_to: &mut Option<u64>,
    ) -> Result<(), Closed> {
        let mut state = self.lock();
        state.counts.blank += chunk.blank;
        state.counts.joined += chunk.joined;
        // Drop mode turns to waiting for the protected lines of a chunk
        // once its other lines were dropped.
        let mut when_full = self.when_full;
        // When a line that found the queue full must give up (drop mode).
        let mut deadline = None;
        loop {
            if state.admission == Admission::Closed {
                self.refuse(&mut state, &chunk);
                return Err(Closed);
            }
            let fits = self.fitting(&state, &chunk);
            if fits == chunk.len() {
                *taken_to = chunk.spans.last().map(|span| span.end).or(*taken_to);
                self.enqueue(&mut state, chunk);
                return Ok(());
            }
            if fits > 0 {
                let rest = chunk.split_off(fits);
                *taken_to = chunk.spans.last().map(|span| span.end);
                self.enqueue(&mut state, std::mem::replace(&mut chunk, rest));
                continue;
            }
            state = match when_full {
                WhenFull::Block => self.room.wait(state).expect("queue lock poisoned"),
                WhenFull::DropNewest { wait, protect } => {
                    let deadline = *deadline.get_or_insert_with(|| Instant::now() + wait);
                    let (state, found_room) = self.wait_for_room(state, &chunk, deadline);
                    if found_room {
                        state
                    } else {
                        // Levels are read without the lock: it may parse JSON.
                        drop(state);
                        let protected = protect
                            .map(|level| chunk.extract(|line| self.levels.of(line) >= level));
                        let mut state = self.lock();
                        if state.admission == Admission::Closed {
                            // Closed (and maybe sealed) while the lock was free.
                            self.refuse(&mut state, &chunk);
                            if let Some(protected) = &protected {
                                self.refuse(&mut state, protected);
                            }
                            return Err(Closed);
                        }
                        *shed = Some(self.shed(&mut state, &chunk));
                        match protected {
                            Some(protected) if protected.len() > 0 => {
                                chunk = protected;
                                when_full = WhenFull::Block;
                                state
                            }
                            _ => return Ok(()),
                        }
                    }
                }
            };
        }
    }

    /// Called by a reader before each read: `false` once intake is stopping,
    /// and the reader should finish as if its input had ended.
    pub(crate) fn may_read(&self) -> bool {
        self.lock().admission == Admission::Open
    }

    /// How many leading lines of `chunk` fit now. An empty queue takes at
    /// least one line, however long, so a line larger than the byte bound
    /// still gets through.
    fn fitting(&self, state: &State, chunk: &Chunk) -> usize {
        let room = self.capacity.saturating_sub(state.events);
        let mut bytes = state.bytes;
        let mut fits = 0;
        for span in chunk.spans.iter().take(room) {
            bytes += span.len as usize;
            if bytes > self.max_bytes && !(state.events == 0 && fits == 0) {
                break;
            }
            fits += 1;
        }
        fits
    }

    fn enqueue(&self, state: &mut State, chunk: Chunk) {
        let bytes = chunk.bytes();
        state.events += chunk.len();
        state.bytes += bytes;
        state.counts.submitted += chunk.len() as u64;
        state.counts.bytes += bytes as u64;
        state.counts.high_watermark = state.counts.high_watermark.max(state.events);
        state.shedding = false;
        let dropped_before = std::mem::take(&mut state.gap);
        state.chunks.push_back(Taken {
            chunk,
            dropped_before,
        });
        self.arrivals.notify_one();
    }

    /// Waits until `deadline` for room, unless already shedding.
    fn wait_for_room<'a>(
        &self,
        state: MutexGuard<'a, State>,
        chunk: &Chunk,
        deadline: Instant,
    ) -> (MutexGuard<'a, State>, bool) {
        let wait = deadline.saturating_duration_since(Instant::now());
        if state.shedding || wait.is_zero() {
            return (state, false);
        }
        let (state, timeout) = self
            .room
            .wait_timeout_while(state, wait, |state| {
                state.admission != Admission::Closed && self.fitting(state, chunk) == 0
            })
            .expect("queue lock poisoned");
        (state, !timeout.timed_out())
    }

    /// Drops the chunk's lines as `queue_full`; returns how many, with the
    /// high-water mark, for the report made once the lock is released.
    fn shed(&self, state: &mut State, chunk: &Chunk) -> (u64, usize) {
        let dropped = chunk.len() as u64;
        if dropped == 0 {
            return (0, state.counts.high_watermark);
        }
        state.counts.submitted += dropped;
        state.counts.bytes += chunk.bytes() as u64;
        state.gap += dropped;
        state.shedding = true;
        self.ledger.drop_events(DropReason::QueueFull, dropped);
        (dropped, state.counts.high_watermark)
    }

    fn report_shed(&self, (dropped, high_watermark): (u64, usize)) {
        if dropped == 0 {
            return;
        }
        diagnostics::warn("pipeline", "queue_full", || {
            let total = self.ledger.snapshot().dropped_for(DropReason::QueueFull);
            (
                format!("queue full: dropped {dropped} events"),
                json!({
                    "dropped": dropped,
                    "dropped_queue_full_total": total,
                    "queue_capacity": self.capacity,
                    "queue_high_watermark": high_watermark,
                }),
            )
        });
    }

    /// Lines read as the pipeline stopped: counted, and dropped `shutdown`.
    fn refuse(&self, state: &mut State, chunk: &Chunk) {
        let refused = chunk.len() as u64;
        state.counts.submitted += refused;
        state.counts.bytes += chunk.bytes() as u64;
        self.ledger.refuse(refused);
    }

    /// Takes the oldest chunk, waiting for one; `None` once the queue is
    /// closed and empty. Cancel-safe: nothing is taken until it returns.
    pub(crate) async fn take(&self) -> Option<Taken> {
        loop {
            let arrived = self.arrivals.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some(taken) = state.chunks.pop_front() {
                    state.events -= taken.chunk.len();
                    state.bytes -= taken.chunk.bytes();
                    self.room.notify_all();
                    return Some(taken);
                }
                if state.admission == Admission::Closed {
                    return None;
                }
            }
            arrived.await;
        }
    }

    #[cfg(test)]
    pub(crate) async fn pop(&self) -> Option<Chunk> {
        self.take().await.map(|taken| taken.chunk)
    }

    /// Lines dropped after the last chunk taken in: the gap at the end.
    pub(crate) fn take_trailing_gap(&self) -> u64 {
        std::mem::take(&mut self.lock().gap)
    }

    /// Intake is over (the reader has finished): pushes are refused from
    /// now on, and the worker drains what is left.
    pub(crate) fn close(&self) {
        self.lock().admission = Admission::Closed;
        self.wake_all();
    }

    /// Asks intake to stop (a signal came): no new reads, but what readers
    /// have read still comes in, until they finish or `close` is called.
    pub(crate) fn stop_intake(&self) {
        let mut state = self.lock();
        if state.admission == Admission::Open {
            state.admission = Admission::Stopping;
        }
    }

    fn wake_all(&self) {
        self.room.notify_all();
        self.arrivals.notify_one();
    }

    /// Intake's counts so far, with `also` read under the same lock:
    /// intake counts under it, so no line can be counted between the two.
    pub(super) fn counts_with<T>(&self, also: impl FnOnce() -> T) -> (IntakeCounts, T) {
        let state = self.lock();
        let counts = IntakeCounts {
            queued: state.events,
            ..state.counts
        };
        (counts, also())
    }

    /// Intake's counts and the ledger's, read together.
    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> (IntakeCounts, Settled) {
        self.counts_with(|| self.ledger.snapshot())
    }

    /// Closes the queue and gives up on every event not yet settled,
    /// counting it dropped for `reason`; returns how many.
    pub(crate) fn seal(&self, reason: DropReason) -> u64 {
        let mut state = self.lock();
        state.admission = Admission::Closed;
        self.wake_all();
        self.ledger.seal(reason, state.counts.submitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::Span;
    use crate::pipeline::tests::{spin_until, within};
    use std::time::{Duration, SystemTime};

    /// A chunk of `lines` lines of `width` bytes each.
    pub(crate) fn chunk(lines: usize, width: usize) -> Chunk {
        let data = vec![b'x'; lines * width];
        let spans = (0..lines)
            .map(|i| Span {
                start: (i * width) as u32,
                len: width as u32,
                cut_from: None,
                end: ((i + 1) * (width + 1)) as u64,
                lines: 1,
            })
            .collect();
        Chunk {
            data: Arc::new(data),
            spans,
            blank: 0,
            joined: 0,
            read_at: SystemTime::now(),
            stream: crate::chunk::Stream::named("test"),
        }
    }

    fn queue(capacity: usize, max_bytes: usize, when_full: WhenFull) -> (Arc<Queue>, Arc<Ledger>) {
        let ledger = Arc::new(Ledger::new(1));
        let queue = Queue::new(
            capacity,
            max_bytes,
            when_full,
            Levels::guessing(),
            Arc::clone(&ledger),
        );
        (Arc::new(queue), ledger)
    }

    async fn pop_all(queue: &Queue) -> usize {
        let mut events = 0;
        while let Some(chunk) = queue.pop().await {
            events += chunk.len();
        }
        events
    }

    #[tokio::test]
    async fn a_chunk_larger_than_the_room_is_split() {
        let (queue, _) = queue(
            5,
            usize::MAX,
            WhenFull::DropNewest {
                wait: Duration::ZERO,
                protect: None,
            },
        );
        // Lines of 1 byte and its newline: the fifth ends at 10.
        assert_eq!(queue.push(chunk(8, 1)), Ok(Some(10)), "the last line taken");
        assert_eq!(queue.push(chunk(2, 1)), Ok(None), "none taken");
        queue.close();
        assert_eq!(pop_all(&queue).await, 5);
        let stats = queue.snapshot().0;
        assert_eq!(stats.submitted, 10);
        assert_eq!(stats.high_watermark, 5);
    }

    #[tokio::test]
    async fn drop_mode_counts_each_dropped_line_once() {
        let (queue, ledger) = queue(
            4,
            usize::MAX,
            WhenFull::DropNewest {
                wait: Duration::ZERO,
                protect: None,
            },
        );
        for _ in 0..3 {
            queue.push(chunk(3, 1)).unwrap();
        }
        assert_eq!(ledger.snapshot().dropped_for(DropReason::QueueFull), 5);
        assert_eq!(queue.snapshot().0.submitted, 9);
        assert_eq!(
            queue.snapshot().0.high_watermark,
            4,
            "never past the capacity"
        );
    }

    #[test]
    fn protected_lines_wait_while_the_others_are_dropped() {
        let protect = Some(crate::level::Level::Error);
        let (queue, ledger) = queue(
            1,
            usize::MAX,
            WhenFull::DropNewest {
                wait: Duration::ZERO,
                protect,
            },
        );
        queue.push(chunk(1, 1)).unwrap();
        let lines = [
            "INFO a",
            "ERROR b",
            r#"{"level":"critical","msg":"c"}"#,
            "debug d",
        ];
        let pusher = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.push(crate::pipeline::tests::chunk_of(&lines)))
        };
        // Nothing is taken out until the unprotected lines are dropped.
        spin_until("the unprotected lines dropped", || {
            ledger.snapshot().dropped_for(DropReason::QueueFull) >= 2
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let kept = runtime.block_on(within("the protected lines kept", async {
            let mut kept = Vec::new();
            while kept.len() < 3 {
                let chunk = queue.pop().await.unwrap();
                kept.extend(chunk.spans.iter().map(|span| chunk.line(span).to_vec()));
            }
            kept
        }));
        pusher.join().unwrap().unwrap();
        assert_eq!(
            kept[1..],
            [
                b"ERROR b".to_vec(),
                br#"{"level":"critical","msg":"c"}"#.to_vec()
            ]
        );
        assert_eq!(ledger.snapshot().dropped_for(DropReason::QueueFull), 2);
        assert_eq!(queue.snapshot().0.submitted, 5);
    }

    #[tokio::test]
    async fn the_byte_bound_holds_but_one_line_always_fits() {
        let (queue, ledger) = queue(
            100,
            10,
            WhenFull::DropNewest {
                wait: Duration::ZERO,
                protect: None,
            },
        );
        queue.push(chunk(1, 50)).unwrap();
        assert_eq!(
            queue.snapshot().0.high_watermark,
            1,
            "an empty queue takes a long line"
        );
        queue.push(chunk(1, 5)).unwrap();
        assert_eq!(ledger.snapshot().dropped_for(DropReason::QueueFull), 1);
        assert_eq!(queue.take().await.unwrap().dropped_before, 0);
        queue.push(chunk(1, 4)).unwrap();
        assert_eq!(
            queue.take().await.unwrap().dropped_before,
            1,
            "the gap is told with the next chunk"
        );
        queue.push(chunk(3, 4)).unwrap();
        assert_eq!(
            queue.snapshot().0.high_watermark,
            2,
            "two lines of 4 bytes fit in 10"
        );
    }

    #[test]
    fn block_mode_waits_for_room() {
        let (queue, ledger) = queue(2, usize::MAX, WhenFull::Block);
        let pusher = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.push(chunk(6, 1)))
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let popped = runtime.block_on(within("every line popped", async {
            let mut popped = 0;
            while popped < 6 {
                popped += queue.pop().await.unwrap().len();
            }
            popped
        }));
        assert!(pusher.join().unwrap().is_ok());
        assert_eq!(popped, 6);
        assert_eq!(ledger.snapshot().dropped_total(), 0);
        assert_eq!(queue.snapshot().0.high_watermark, 2);
    }

    #[test]
    fn closing_releases_a_waiting_pusher() {
        let (queue, _) = queue(1, usize::MAX, WhenFull::Block);
        queue.push(chunk(1, 1)).unwrap();
        let pusher = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.push(chunk(1, 1)))
        };
        // Whether the pusher is already waiting or not yet pushing, the
        // close must turn it away.
        queue.close();
        assert_eq!(pusher.join().unwrap(), Err(Closed));
        assert_eq!(queue.push(chunk(3, 1)), Err(Closed));
    }

    #[tokio::test]
    async fn stopping_takes_in_what_was_read_but_not_new_reads() {
        let (queue, ledger) = queue(10, usize::MAX, WhenFull::Block);
        assert!(queue.may_read());
        queue.stop_intake();
        assert!(!queue.may_read(), "no new reads once stopping");
        queue.push(chunk(2, 1)).unwrap();
        queue.close();
        assert_eq!(queue.push(chunk(3, 1)), Err(Closed), "refused once closed");
        assert_eq!(pop_all(&queue).await, 2);
        assert_eq!(ledger.snapshot().dropped_for(DropReason::Shutdown), 3);
    }

    #[test]
    fn refused_lines_are_counted_as_shutdown_drops() {
        let (queue, _) = queue(10, usize::MAX, WhenFull::Block);
        queue.push(chunk(2, 1)).unwrap();
        assert_eq!(queue.seal(DropReason::ShutdownTimeout), 2);
        assert_eq!(queue.push(chunk(3, 1)), Err(Closed));
        let (stats, tally) = queue.snapshot();
        assert_eq!(stats.submitted, 5);
        assert_eq!(tally.dropped_for(DropReason::ShutdownTimeout), 2);
        assert_eq!(tally.dropped_for(DropReason::Shutdown), 3);
        assert_eq!(tally.dropped_total(), stats.submitted);
    }

    #[test]
    fn a_line_that_finds_room_in_time_is_kept() {
        let (queue, ledger) = queue(
            1,
            usize::MAX,
            WhenFull::DropNewest {
                wait: Duration::from_secs(30),
                protect: None,
            },
        );
        queue.push(chunk(1, 1)).unwrap();
        let pusher = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.push(chunk(1, 1)))
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async { queue.pop().await.unwrap() });
        pusher.join().unwrap().unwrap();
        assert_eq!(ledger.snapshot().dropped_total(), 0);
        assert_eq!(queue.snapshot().0.submitted, 2);
    }
}
