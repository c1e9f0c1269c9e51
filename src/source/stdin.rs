//! Standard input, and files named to be read like it (pipes and FIFOs),
//! read on a thread of their own so the pipeline never waits on a read.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{Piped, ReaderHandle, spawn_reader};
use crate::chunk::Stream;
use crate::pipeline::Intake;

/// Starts reading standard input into `queue`.
pub(crate) fn spawn(queue: Intake, max_line: usize) -> io::Result<(ReaderHandle, Arc<AtomicBool>)> {
    // A duplicate of fd 0: reads go straight to the kernel in large
    // blocks, without std's small line buffer in between.
    let stdin = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let input = Piped {
        stream: Stream::stdin(),
        open: Box::new(move || Ok(Box::new(stdin) as Box<dyn Read + Send>)),
    };
    spawn_reader(vec![input], queue, max_line)
}

/// Starts reading the files `names`, in order, each to its end, into
/// `queue`; each is opened only when its turn comes.
pub(crate) fn spawn_named(
    names: &[String],
    queue: Intake,
    max_line: usize,
) -> io::Result<(ReaderHandle, Arc<AtomicBool>)> {
    let inputs = names
        .iter()
        .map(|name| {
            let name = name.clone();
            Piped {
                stream: Stream::piped(&name),
                open: Box::new(move || open_named(Path::new(&name))),
            }
        })
        .collect();
    spawn_reader(inputs, queue, max_line)
}

/// Opens a file named on the command line; a FIFO waits here for a writer.
fn open_named(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    match File::open(path) {
        Ok(file) => Ok(Box::new(file)),
        Err(err) => Err(io::Error::new(
            err.kind(),
            format!(
                "could not open '{}': {err}",
                crate::diagnostics::shown(path)
            ),
        )),
    }
}
