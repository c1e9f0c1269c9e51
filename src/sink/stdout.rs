//! The stdout sink: JSON lines on standard output, one write per batch.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;

use super::interface::{BlockingSink, WriteOutcome};
use super::output::Output;
use crate::batch::Batch;

pub(crate) struct StdoutSink {
    /// A duplicate of fd 1, written directly, without std's line buffer;
    /// `None` when standard output is closed.
    out: Option<Output>,
    /// Standard output was closed from the start; said once.
    told_closed: bool,
}

impl StdoutSink {
    pub(crate) fn open() -> StdoutSink {
        let out = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .and_then(|fd| Output::new(File::from(fd)))
            .ok();
        StdoutSink {
            out,
            told_closed: false,
        }
    }
}

impl BlockingSink for StdoutSink {
    fn name(&self) -> &str {
        "stdout"
    }

    fn write_batch(&mut self, batch: &Batch) -> WriteOutcome {
        match &mut self.out {
            Some(out) => out.write_batch(batch),
            None => WriteOutcome::new(
                0,
                (!std::mem::replace(&mut self.told_closed, true))
                    .then(|| io::Error::other("standard output is closed")),
            ),
        }
    }

    fn close(&mut self) -> io::Result<()> {
        match self.out.take() {
            Some(out) => out.sync(),
            None => Ok(()),
        }
    }
}
