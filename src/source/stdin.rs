//! Standard input, read on a thread of its own so the pipeline never waits
//! on a read.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::sync::Arc;

use super::{ReaderHandle, Stream, spawn_reader};
use crate::pipeline::queue::Queue;

/// Starts reading standard input into `queue`.
pub(crate) fn spawn(queue: Arc<Queue>, max_line: usize) -> io::Result<ReaderHandle> {
    // A duplicate of fd 0: reads go straight to the kernel in large
    // blocks, without std's small line buffer in between.
    let stdin = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    spawn_reader(Stream::stdin(), stdin, queue, max_line)
}
