//! Where lines come from: standard input and named pipes (`stdin`), files
//! read once or followed (`follow/`), the line splitter (`lines`), saved
//! positions (`checkpoint`) and file descriptors (`descriptors`). This file
//! holds what they share: the source a run starts, and its reader thread.

pub(crate) mod checkpoint;
pub(crate) mod descriptors;
pub(crate) mod follow;
pub(crate) mod lines;
pub(crate) mod stdin;

/// Reading inputs like standard input, as the pipeline's tests do.
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use crate::config::{Input, InputConfig, ReadMode};
use crate::pipeline::Intake;

/// The run's source of lines, started: the thread reading standard input
/// or files, and what the run needs to stop it, report on it and save its
/// positions.
pub(crate) struct Source {
    /// The thread reading, and how its reading ended.
    pub handle: ReaderThread,
    /// What is read, for messages.
    pub what: &'static str,
    /// Set while the reader waits in a read or an open that may never
    /// return: how long a stopping run waits for it.
    pub blocked: Arc<AtomicBool>,
    /// Wakes a file reader waiting for changes, so it sees intake stop.
    waker: Option<std::sync::mpsc::Sender<follow::Wake>>,
    /// Where file positions are saved.
    pub checkpoint: Option<Arc<checkpoint::Checkpoint>>,
    /// Bytes read so far and bytes there were to read (files read once).
    pub amount: Option<(Arc<AtomicU64>, u64)>,
}

impl Source {
    /// Starts reading what `input` names into `queue`, saving positions in
    /// `checkpoint` (taken by the caller); `outputs` are the files shipper
    /// writes, which are never read.
    pub(crate) fn start(
        input: &Input,
        max_line: usize,
        intake: Intake,
        outputs: &[std::path::PathBuf],
        checkpoint: Option<Arc<checkpoint::Checkpoint>>,
    ) -> anyhow::Result<Source> {
        use anyhow::Context;
        let files = match input {
            Input::Stdin => {
                let reader = stdin::spawn(intake, max_line)
                    .context("could not start reading standard input")?;
                return Ok(Source::piped(reader, "standard input"));
            }
            Input::Files(files) => files,
        };
        match files.mode {
            ReadMode::Once if files.paths.iter().any(|name| is_pipe(Path::new(name))) => {
                let reader = stdin::spawn_pipes(files, max_line, intake)?;
                return Ok(Source::piped(reader, "files"));
            }
            ReadMode::Once => {}
            ReadMode::Follow => follow::warn_fifos_not_followed(&files.paths),
        }
        Source::files(files, max_line, intake, outputs, checkpoint)
    }

    /// Regular files, read once or followed by the file reader.
    fn files(
        files: &InputConfig,
        max_line: usize,
        intake: Intake,
        outputs: &[std::path::PathBuf],
        checkpoint: Option<Arc<checkpoint::Checkpoint>>,
    ) -> anyhow::Result<Source> {
        let mut outputs = outputs.to_vec();
        outputs.extend(files.checkpoint.clone());
        let started = follow::spawn(files, max_line, intake, checkpoint.clone(), &outputs)?;
        Ok(Source {
            handle: started.reader,
            what: "files",
            blocked: Arc::default(),
            waker: Some(started.waker),
            checkpoint,
            amount: started.total.map(|total| (started.read, total)),
        })
    }

    /// Reading by a thread that reads its inputs like standard input.
    fn piped((handle, blocked): (ReaderThread, Arc<AtomicBool>), what: &'static str) -> Source {
        Source {
            handle,
            what,
            blocked,
            waker: None,
            checkpoint: None,
            amount: None,
        }
    }

    /// Tells a reader waiting for changes to look at intake again.
    pub(crate) fn wake(&self) {
        if let Some(waker) = &self.waker {
            let _ = waker.send(follow::Wake::Stop);
        }
    }
}

/// A thread reading lines into the queue; `done` fires when it has
/// stopped.
pub(crate) struct ReaderThread {
    /// Resolves with how reading ended: end of input, or a read error.
    pub done: tokio::sync::oneshot::Receiver<std::io::Result<()>>,
    /// Joined once `done` has fired, so the thread never outlives its work.
    pub thread: std::thread::JoinHandle<()>,
    /// Bytes of a line read whose end has not come (yet): what a stop
    /// leaves unshipped.
    pub unfinished: Arc<AtomicU64>,
}

/// A FIFO, a socket or a device: read as it comes, once, from where it
/// is, like standard input; it has no size and no position to resume at.
fn is_pipe(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|meta| {
        let kind = meta.file_type();
        kind.is_fifo() || kind.is_socket() || kind.is_char_device()
    })
}

/// Opens a file expected to be regular for reading, without waiting: a
/// FIFO found at its path would block a plain open until a writer came.
pub(crate) fn open_without_waiting(path: impl AsRef<Path>) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
}

/// The start of a line whose end never came is not shipped as a line:
/// says so, with its size.
pub(crate) fn report_unfinished(bytes: u64) {
    if bytes > 0 {
        crate::diagnostics::warn("source", "unfinished_line", || {
            (
                format!("stopped with {bytes} bytes of an unfinished line read; not shipped"),
                serde_json::json!({"bytes": bytes}),
            )
        });
    }
}
