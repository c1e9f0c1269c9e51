//! The bounded queue between intake and the worker, and the policy for a
//! full queue.
//!
//! Bounded in events and in bytes. Intake pushes whole chunks from a reader
//! thread (one lock per chunk); when there is no room it waits or drops, as
//! `WhenFull` says, in one `match`. The worker pops chunks asynchronously.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use serde_json::json;
use tokio::sync::Notify;

use super::ledger::{DropReason, Ledger};
use crate::config::WhenFull;
use crate::diagnostics;
use crate::source::Chunk;

/// The queue refuses lines once the pipeline has begun to stop.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Closed;

/// What intake has counted, read at the end for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IntakeStats {
    /// Blank lines: counted, never events.
    pub blank: u64,
    /// Events offered to the queue (taken in or dropped `queue_full`).
    pub submitted: u64,
    /// Most events the queue ever held at once.
    pub high_watermark: usize,
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
    ledger: Arc<Ledger>,
}

struct State {
    chunks: VecDeque<Chunk>,
    /// Events held now.
    events: usize,
    /// Bytes of line content held now.
    bytes: usize,
    closed: bool,
    /// After a drop, later lines that find the queue full are dropped at
    /// once rather than each waiting out `--backpressure-wait` again; the
    /// first line that finds room ends this.
    shedding: bool,
    stats: IntakeStats,
}

impl Queue {
    pub(crate) fn new(
        capacity: usize,
        max_bytes: usize,
        when_full: WhenFull,
        ledger: Arc<Ledger>,
    ) -> Queue {
        Queue {
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                events: 0,
                bytes: 0,
                closed: false,
                shedding: false,
                stats: IntakeStats::default(),
            }),
            room: Condvar::new(),
            arrivals: Notify::new(),
            capacity,
            max_bytes,
            when_full,
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
    /// dropping as the policy says when there is no room.
    pub(crate) fn push(&self, mut chunk: Chunk) -> Result<(), Closed> {
        let mut state = self.lock();
        if state.closed {
            return Err(Closed);
        }
        state.stats.blank += chunk.blank;
        while !chunk.spans.is_empty() {
            if state.closed {
                return Err(Closed);
            }
            let fits = self.fitting(&state, &chunk);
            if fits > 0 {
                let rest = (fits < chunk.len()).then(|| chunk.split_off(fits));
                self.enqueue(&mut state, chunk);
                match rest {
                    Some(rest) => chunk = rest,
                    None => return Ok(()),
                }
                continue;
            }
            state = match self.when_full {
                WhenFull::Block => self.room.wait(state).expect("queue lock poisoned"),
                WhenFull::DropNewest { wait } => {
                    let (mut state, found_room) = self.wait_for_room(state, &chunk, wait);
                    if !found_room {
                        self.shed(&mut state, chunk);
                        return Ok(());
                    }
                    state
                }
            };
        }
        Ok(())
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
        state.events += chunk.len();
        state.bytes += chunk.bytes();
        state.stats.submitted += chunk.len() as u64;
        state.stats.high_watermark = state.stats.high_watermark.max(state.events);
        state.shedding = false;
        state.chunks.push_back(chunk);
        self.arrivals.notify_one();
    }

    /// Waits at most `wait` for room, unless already shedding.
    fn wait_for_room<'a>(
        &self,
        state: MutexGuard<'a, State>,
        chunk: &Chunk,
        wait: std::time::Duration,
    ) -> (MutexGuard<'a, State>, bool) {
        if state.shedding || wait.is_zero() {
            return (state, false);
        }
        let (state, timeout) = self
            .room
            .wait_timeout_while(state, wait, |state| {
                !state.closed && self.fitting(state, chunk) == 0
            })
            .expect("queue lock poisoned");
        (state, !timeout.timed_out())
    }

    /// Drops the chunk's lines as `queue_full` and says so (rate limited).
    fn shed(&self, state: &mut State, chunk: Chunk) {
        let dropped = chunk.len() as u64;
        state.stats.submitted += dropped;
        state.shedding = true;
        self.ledger.drop_events(DropReason::QueueFull, dropped);
        let high_watermark = state.stats.high_watermark;
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

    /// Takes the oldest chunk, waiting for one; `None` once the queue is
    /// closed and empty. Cancel-safe: nothing is taken until it returns.
    pub(crate) async fn pop(&self) -> Option<Chunk> {
        loop {
            let arrived = self.arrivals.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some(chunk) = state.chunks.pop_front() {
                    state.events -= chunk.len();
                    state.bytes -= chunk.bytes();
                    self.room.notify_all();
                    return Some(chunk);
                }
                if state.closed {
                    return None;
                }
            }
            arrived.await;
        }
    }

    /// Stops intake: pushes fail from now on, waiting intake wakes up, and
    /// the worker drains what is left.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.room.notify_all();
        self.arrivals.notify_one();
    }

    pub(crate) fn stats(&self) -> IntakeStats {
        self.lock().stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;
    use std::time::{Duration, SystemTime};

    /// A chunk of `lines` lines of `width` bytes each.
    pub(crate) fn chunk(lines: usize, width: usize) -> Chunk {
        let data = vec![b'x'; lines * width];
        let spans = (0..lines)
            .map(|i| Span {
                start: (i * width) as u32,
                len: width as u32,
                cut_from: None,
            })
            .collect();
        Chunk {
            data: Arc::new(data),
            spans,
            blank: 0,
            read_at: SystemTime::now(),
            source: "test".into(),
        }
    }

    fn queue(capacity: usize, max_bytes: usize, when_full: WhenFull) -> (Arc<Queue>, Arc<Ledger>) {
        let ledger = Arc::new(Ledger::new(1));
        let queue = Queue::new(capacity, max_bytes, when_full, Arc::clone(&ledger));
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
            },
        );
        queue.push(chunk(8, 1)).unwrap();
        queue.close();
        assert_eq!(pop_all(&queue).await, 5);
        let stats = queue.stats();
        assert_eq!(stats.submitted, 8);
        assert_eq!(stats.high_watermark, 5);
    }

    #[tokio::test]
    async fn drop_mode_counts_each_dropped_line_once() {
        let (queue, ledger) = queue(
            4,
            usize::MAX,
            WhenFull::DropNewest {
                wait: Duration::ZERO,
            },
        );
        for _ in 0..3 {
            queue.push(chunk(3, 1)).unwrap();
        }
        assert_eq!(ledger.snapshot().dropped_for(DropReason::QueueFull), 5);
        assert_eq!(queue.stats().submitted, 9);
        assert_eq!(queue.stats().high_watermark, 4, "never past the capacity");
    }

    #[tokio::test]
    async fn the_byte_bound_holds_but_one_line_always_fits() {
        let (queue, ledger) = queue(
            100,
            10,
            WhenFull::DropNewest {
                wait: Duration::ZERO,
            },
        );
        queue.push(chunk(1, 50)).unwrap();
        assert_eq!(
            queue.stats().high_watermark,
            1,
            "an empty queue takes a long line"
        );
        queue.push(chunk(1, 5)).unwrap();
        assert_eq!(ledger.snapshot().dropped_for(DropReason::QueueFull), 1);
        queue.pop().await.unwrap();
        queue.push(chunk(3, 4)).unwrap();
        assert_eq!(
            queue.stats().high_watermark,
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
            .build()
            .unwrap();
        let popped = runtime.block_on(async {
            let mut popped = 0;
            while popped < 6 {
                popped += queue.pop().await.unwrap().len();
            }
            popped
        });
        assert_eq!(pusher.join().unwrap(), Ok(()));
        assert_eq!(popped, 6);
        assert_eq!(ledger.snapshot().dropped_total(), 0);
        assert_eq!(queue.stats().high_watermark, 2);
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
        assert_eq!(queue.push(chunk(1, 1)), Err(Closed));
    }

    #[test]
    fn a_line_that_finds_room_in_time_is_kept() {
        let (queue, ledger) = queue(
            1,
            usize::MAX,
            WhenFull::DropNewest {
                wait: Duration::from_secs(30),
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
        assert_eq!(queue.stats().submitted, 2);
    }
}
