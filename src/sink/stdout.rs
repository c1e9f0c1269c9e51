//! The stdout sink: JSON lines on standard output, one write per batch.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;

use super::{Sink, WriteOutcome, write_counting};
use crate::pipeline::batch::Batch;

pub(crate) struct StdoutSink {
    /// A duplicate of fd 1, written directly, without std's line buffer;
    /// `None` when standard output is closed.
    out: Option<File>,
    /// Set once a write found the reader gone (a closed pipe): later batches
    /// fail without another system call or another diagnostic.
    broken: bool,
}

impl StdoutSink {
    pub(crate) fn open() -> StdoutSink {
        let out = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .map(File::from);
        StdoutSink { out, broken: false }
    }
}

impl Sink for StdoutSink {
    fn name(&self) -> &str {
        "stdout"
    }

    fn write_batch(&mut self, batch: &Batch) -> WriteOutcome {
        let Some(out) = self.out.as_mut().filter(|_| !self.broken) else {
            let first = !std::mem::replace(&mut self.broken, true);
            return WriteOutcome {
                written: 0,
                error: first.then(|| io::Error::other("standard output is closed")),
            };
        };
        let (bytes, error) = write_counting(out, batch.bytes());
        if error
            .as_ref()
            .is_some_and(|err| err.kind() == io::ErrorKind::BrokenPipe)
        {
            self.broken = true;
        }
        WriteOutcome {
            written: batch.events_within(bytes),
            error,
        }
    }

    fn close(&mut self) -> io::Result<()> {
        self.out = None;
        Ok(())
    }
}
