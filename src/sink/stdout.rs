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
            .map(File::from)
            .ok()
            .filter(|file| !closed_at_start(file))
            .and_then(|file| Output::new(file).ok());
        StdoutSink {
            out,
            told_closed: false,
            alone,
        }
    }
}

/// Whether standard output was closed when shipper started (`>&-`). The
/// Rust runtime opens /dev/null read-write on a descriptor 0, 1 or 2 it
/// finds closed, so that no file opened later takes its place; a shell
/// redirects standard output to /dev/null write-only. Writing to that
/// /dev/null would count every event as delivered.
fn closed_at_start(out: &File) -> bool {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let is_null = match (out.metadata(), std::fs::metadata("/dev/null")) {
        (Ok(out), Ok(null)) => out.file_type().is_char_device() && out.rdev() == null.rdev(),
        _ => false,
    };
    is_null
        && fcntl(out, FcntlArg::F_GETFL)
            .is_ok_and(|flags| OFlag::from_bits_truncate(flags) & OFlag::O_ACCMODE == OFlag::O_RDWR)
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
