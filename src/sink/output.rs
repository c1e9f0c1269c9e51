//! A descriptor that sinks write whole batches to: a regular file, a pipe,
//! a FIFO, a terminal or a device. It never leaves a torn event behind
//! without saying so.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::batch::Batch;

pub(crate) struct Output {
    file: File,
    /// Bytes in a regular file: where a torn write is cut back to.
    size: u64,
    /// A regular file can be cut back after a torn write and fsynced; a
    /// pipe, FIFO or device cannot.
    regular: bool,
    /// Set once writing can never succeed again (the reader of a pipe went
    /// away, or a write tore an event on a pipe): later batches fail
    /// without another system call or another diagnostic.
    broken: bool,
}

impl Output {
    pub(crate) fn new(file: File) -> io::Result<Output> {
        let metadata = file.metadata()?;
        Ok(Output {
            file,
            size: metadata.len(),
            regular: metadata.is_file(),
            broken: false,
        })
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn is_regular(&self) -> bool {
        self.regular
    }

    /// Nothing can be written here again: see `broken`.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }

    /// The write failed because the reader of a pipe went away.
    pub(crate) fn reader_gone(error: &io::Error) -> bool {
        error.kind() == io::ErrorKind::BrokenPipe
    }

    /// Writes lines `from..to` of a batch in one go (one call, usually),
    /// and reports how many of them went out whole and the error that
    /// stopped it.
    pub(crate) fn write_lines(
        &mut self,
        batch: &Batch,
        from: usize,
        to: usize,
    ) -> (usize, Option<io::Error>) {
        if self.broken {
            return (0, None);
        }
        let base = batch.bytes_of(from);
        let (bytes, error) = self.write_all(&batch.bytes()[base..batch.bytes_of(to)]);
        let written = batch.events_within(base + bytes) - from;
        let whole = (batch.bytes_of(from + written) - base) as u64;
        let torn = bytes as u64 > whole;
        if torn && self.regular && self.file.set_len(self.size + whole).is_ok() {
            // The start of an event was cut off again: whole lines only.
            self.size += whole;
        } else {
            self.size += bytes as u64;
            self.broken = torn || error.as_ref().is_some_and(Output::reader_gone);
        }
        (written, error)
    }

    /// Writes all of `bytes` if it can, waiting for room when the
    /// descriptor is non-blocking; returns how many bytes went out and the
    /// error that stopped it.
    fn write_all(&mut self, bytes: &[u8]) -> (usize, Option<io::Error>) {
        let mut written = 0;
        while written < bytes.len() {
            match self.file.write(&bytes[written..]) {
                Ok(0) => return (written, Some(io::ErrorKind::WriteZero.into())),
                Ok(n) => written += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(err) = self.wait_until_writable() {
                        return (written, Some(err));
                    }
                }
                Err(err) => return (written, Some(err)),
            }
        }
        (written, None)
    }

    fn wait_until_writable(&self) -> io::Result<()> {
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLOUT)];
        loop {
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(errno) => return Err(errno.into()),
            }
        }
    }

    /// Makes what was written durable, where that means anything.
    pub(crate) fn sync(&self) -> io::Result<()> {
        if self.regular {
            self.file.sync_all()?;
        }
        Ok(())
    }
}
