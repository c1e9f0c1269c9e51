//! An in-memory sink for unit tests: keeps what it is given, and can be
//! told to fail at a given event or on close, or to play a receiver that
//! turns some events away.

use std::io;
use std::sync::{Arc, Condvar, Mutex};

use super::interface::{BlockingSink, Refusal, SinkError, WriteOutcome};
use crate::batch::Batch;

/// What a memory sink saw, shared with the test.
#[derive(Debug, Default)]
pub(crate) struct Record {
    /// Events written, in order.
    pub events: Vec<Vec<u8>>,
    /// Sinks closed, in the order they closed (shared among sinks).
    pub closed: Vec<String>,
    /// Sinks reopened, in the order they reopened, and after how many of
    /// the events written.
    pub reopened: Vec<(String, usize)>,
}

/// Holds a sink's writes until the test opens it: a sink that hangs.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    pub(crate) fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn pass(&self) {
        let open = self.open.lock().unwrap();
        drop(self.opened.wait_while(open, |open| !*open).unwrap());
    }
}

pub(crate) struct MemorySink {
    name: String,
    record: Arc<Mutex<Record>>,
    /// Every write waits here first, when set.
    gate: Option<Arc<Gate>>,
    /// The event (counted over every event offered) whose write fails, once.
    fail_at: Option<usize>,
    offered: usize,
    fail_close: bool,
    /// Events holding these bytes are turned away as a receiver would.
    refuse: Option<Vec<u8>>,
}

impl MemorySink {
    pub(crate) fn new(name: &str, record: Arc<Mutex<Record>>) -> MemorySink {
        MemorySink {
            name: name.to_owned(),
            record,
            gate: None,
            fail_at: None,
            offered: 0,
            fail_close: false,
            refuse: None,
        }
    }

    pub(crate) fn failing_at(mut self, event: usize) -> MemorySink {
        self.fail_at = Some(event);
        self
    }

    pub(crate) fn held_at(mut self, gate: Arc<Gate>) -> MemorySink {
        self.gate = Some(gate);
        self
    }

    pub(crate) fn refusing(mut self, holding: &str) -> MemorySink {
        self.refuse = Some(holding.as_bytes().to_vec());
        self
    }

    pub(crate) fn failing_close(mut self) -> MemorySink {
        self.fail_close = true;
        self
    }
}

impl BlockingSink for MemorySink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write_batch(&mut self, batch: &Batch) -> WriteOutcome {
        if let Some(gate) = &self.gate {
            gate.pass();
        }
        let mut record = self.record.lock().unwrap();
        let mut refused = Vec::new();
        for (index, event) in batch.lines().enumerate() {
            if self.fail_at == Some(self.offered + index) {
                self.fail_at = None;
                self.offered += batch.len();
                return WriteOutcome::new(index, Some(io::Error::other("told to fail")));
            }
            if let Some(holding) = &self.refuse
                && memchr::memmem::find(event, holding).is_some()
            {
                refused.push(Refusal {
                    line: index,
                    error: SinkError {
                        kind: "refused".to_owned(),
                        message: "told to refuse".to_owned(),
                        status: Some(400),
                    },
                });
                continue;
            }
            record.events.push(event.to_vec());
        }
        self.offered += batch.len();
        WriteOutcome {
            refused,
            ..WriteOutcome::new(batch.len(), None)
        }
    }

    fn reopen(&mut self) -> io::Result<()> {
        let mut record = self.record.lock().unwrap();
        let written = record.events.len();
        record.reopened.push((self.name.clone(), written));
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        self.record.lock().unwrap().closed.push(self.name.clone());
        if self.fail_close {
            return Err(io::Error::other("told to fail on close"));
        }
        Ok(())
    }
}
