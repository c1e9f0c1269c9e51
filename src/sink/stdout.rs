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
    /// The only sink: its reader going away (`shipper | head -1`) ends the
    /// run as a matter of course, and the run says so in one line of its
    /// own, so the broken pipe is no error of the sink's to report.
    alone: bool,
}

impl StdoutSink {
    /// `alone` when standard output is the run's only sink.
    pub(crate) fn open(alone: bool) -> StdoutSink {
        let out = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .and_then(|fd| Output::new(File::from(fd)))
            .ok();
        StdoutSink {
            out,
            told_closed: false,
            alone,
        }
    }
}

impl BlockingSink for StdoutSink {
    fn name(&self) -> &str {
        "stdout"
    }

    fn write_batch(&mut self, batch: &Batch) -> WriteOutcome {
        match &mut self.out {
            Some(out) => {
                let (written, error) = out.write_lines(batch, 0, batch.len());
                // Counted all the same: only the message is left out.
                let error = error.filter(|error| !(self.alone && Output::reader_gone(error)));
                WriteOutcome::new(written, error)
            }
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

    fn failed_for_good(&self) -> bool {
        self.out.as_ref().is_none_or(Output::is_broken)
    }
}
