//! Where lines come from: standard input and named pipes (`stdin`), files
//! read once or followed (`follow/`), the line splitter (`lines`), saved
//! positions (`checkpoint`), file descriptors (`descriptors`) and the
//! compressed files never read (`compressed`). This file
//! holds what they share: the source a run starts, and its reader thread.

pub(crate) mod checkpoint;
pub(crate) mod compressed;
pub(crate) mod descriptors;
pub(crate) mod follow;
pub(crate) mod lines;
pub(crate) mod replay;
pub(crate) mod stdin;

/// Reading inputs like standard input, as the pipeline's tests do.
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use crate::chunk::Stream;
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
        split: crate::multiline::Split,
        intake: Intake,
        outputs: &[std::path::PathBuf],
        checkpoint: Option<Arc<checkpoint::Checkpoint>>,
    ) -> anyhow::Result<Source> {
        use anyhow::Context;
        let files = match input {
            Input::Stdin => {
                let reader = stdin::spawn(intake, split)
                    .context("could not start reading standard input")?;
                return Ok(Source::piped(reader, "standard input"));
            }
            Input::Letters(names) => {
                // A letter holds an event, which may be longer than the
                // line it was made from (escaped, with its envelope).
                let max_line = split.max_line.saturating_mul(6).saturating_add(64 << 10);
                let reader = stdin::spawn_letters(names, intake, max_line)
                    .context("could not start reading dead letters")?;
                return Ok(Source::piped(reader, "dead letters"));
            }
            Input::Files(files) => files,
        };
        refuse_compressed(files)?;
        match files.mode {
            ReadMode::Once if files.paths.iter().any(|name| is_pipe(Path::new(name))) => {
                let reader = stdin::spawn_pipes(files, split, intake)?;
                return Ok(Source::piped(reader, "files"));
            }
            ReadMode::Once => {}
            ReadMode::Follow => follow::warn_fifos_not_followed(&files.paths),
        }
        Source::files(files, split, intake, outputs, checkpoint)
    }

    /// Regular files, read once or followed by the file reader.
    fn files(
        files: &InputConfig,
        split: crate::multiline::Split,
        intake: Intake,
        outputs: &[std::path::PathBuf],
        checkpoint: Option<Arc<checkpoint::Checkpoint>>,
    ) -> anyhow::Result<Source> {
        let mut outputs = outputs.to_vec();
        outputs.extend(files.checkpoint.clone());
        let started = follow::spawn(files, split, intake, checkpoint.clone(), &outputs)?;
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
    /// Lines read whose end has not come (yet): what a stop leaves
    /// unshipped.
    pub unfinished: Unfinished,
}

/// The starts of lines whose end has not come (yet), each with the stream
/// it was read from: written by a reader thread, told by the run when it
/// stops.
#[derive(Clone, Default)]
pub(crate) struct Unfinished(Arc<Mutex<Vec<Held>>>);

/// A stream, and the bytes of a line read from it whose end has not come.
type Held = (Arc<Stream>, u64);

impl Unfinished {
    /// What the reader holds now: bytes of an unfinished line per stream
    /// (none for a stream at a line's end).
    pub(crate) fn set(&self, held: impl IntoIterator<Item = Held>) {
        let mut now = self.0.lock().expect("unfinished lines lock poisoned");
        now.clear();
        now.extend(held.into_iter().filter(|(_, bytes)| *bytes > 0));
    }
}

/// A compressed file named on its own, to read or to follow, is refused
/// before anything is read: its bytes are not lines, and shipping them
/// as events would only look like a success. (Under a glob, compressed
/// files are passed over instead.)
fn refuse_compressed(files: &InputConfig) -> anyhow::Result<()> {
    let named = files.paths.iter().filter(|path| match files.mode {
        ReadMode::Once => true,
        ReadMode::Follow => glob::Pattern::escape(path) == **path,
    });
    for path in named {
        if let Some(format) = compressed::of_file(Path::new(path)) {
            anyhow::bail!(
                "'{}' is {format}-compressed: shipper reads lines of text; decompress it into \
                 shipper's standard input instead (zcat, bzcat, xzcat or zstdcat FILE | shipper)",
                crate::diagnostics::escape(path)
            );
        }
    }
    Ok(())
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
/// says so, with its size and where it was read from.
pub(crate) fn report_unfinished(unfinished: &Unfinished) {
    let held = unfinished.0.lock().expect("unfinished lines lock poisoned");
    for (stream, bytes) in held.iter() {
        let name = match &*stream.name {
            "stdin" => "standard input",
            path => path,
        };
        crate::diagnostics::warn("source", "unfinished_line", || {
            (
                format!(
                    "stopped with {bytes} bytes of an unfinished line read from {name}; not shipped"
                ),
                serde_json::json!({"bytes": bytes, "stream": name}),
            )
        });
    }
}
