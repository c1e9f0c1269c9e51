//! Where lines come from: the line splitter, the standard-input and
//! named-pipe readers, and following files.

pub(crate) mod checkpoint;
pub(crate) mod descriptors;
pub(crate) mod follow;
pub(crate) mod followed;
pub(crate) mod lines;
pub(crate) mod stdin;

use std::path::Path;
use std::sync::Arc;

use crate::chunk::Stream;

/// Reading under way, from standard input or from files.
pub(crate) struct Reading {
    pub handle: ReaderHandle,
    /// What is read, for messages.
    pub what: &'static str,
    /// Set while the reader waits in a read or an open that may never
    /// return: how long a stopping run waits for it.
    pub blocked: Arc<std::sync::atomic::AtomicBool>,
    /// Wakes a file reader waiting for changes, so it sees intake stop.
    waker: Option<std::sync::mpsc::Sender<follow::Wake>>,
    /// Where file positions are saved.
    pub checkpoint: Option<Arc<checkpoint::Checkpoint>>,
    /// Bytes read so far and bytes there were to read (files read once).
    pub amount: Option<(Arc<std::sync::atomic::AtomicU64>, u64)>,
}

impl Reading {
    /// Starts reading what `input` names into `queue`, saving positions in
    /// `checkpoint` (taken by the caller); `outputs` are the files shipper
    /// writes, which are never read.
    pub(crate) fn start(
        input: &crate::config::Input,
        max_line: usize,
        queue: crate::pipeline::Intake,
        outputs: &[std::path::PathBuf],
        checkpoint: Option<Arc<checkpoint::Checkpoint>>,
    ) -> anyhow::Result<Reading> {
        use anyhow::Context;
        let files = match input {
            crate::config::Input::Stdin => {
                let reader = stdin::spawn(queue, max_line)
                    .context("could not start reading standard input")?;
                return Ok(Reading::piped(reader, "standard input"));
            }
            crate::config::Input::Files(files) => files,
        };
        if !files.follow && files.paths.iter().any(|name| is_pipe(Path::new(name))) {
            return Reading::named_pipes(files, max_line, queue);
        }
        if files.follow {
            warn_fifos_not_followed(&files.paths);
        }
        let mut outputs = outputs.to_vec();
        outputs.extend(files.checkpoint.clone());
        let following = follow::spawn(files, max_line, queue, checkpoint.clone(), &outputs)?;
        Ok(Reading {
            handle: following.reader,
            what: "files",
            blocked: Arc::default(),
            waker: Some(following.waker),
            checkpoint,
            amount: following.total.map(|total| (following.read, total)),
        })
    }

    /// Files named to be read once, among them a FIFO or another pipe
    /// (`shipper <(app)` names `/dev/fd/63`): each is read in turn like
    /// standard input, opened on the reader's thread so that a FIFO
    /// waiting for its writer does not keep a signal from stopping the
    /// run. A pipe has no position to save, so `--checkpoint` is refused.
    fn named_pipes(
        files: &crate::config::InputConfig,
        max_line: usize,
        queue: crate::pipeline::Intake,
    ) -> anyhow::Result<Reading> {
        use anyhow::Context;
        for name in &files.paths {
            let path = Path::new(name);
            std::fs::metadata(path)
                .with_context(|| format!("could not open '{}'", crate::diagnostics::shown(path)))?;
            if files.checkpoint.is_some() && is_pipe(path) {
                anyhow::bail!(
                    "'{}' is a pipe or FIFO: it has no position for --checkpoint to save \
                     (read it without --checkpoint)",
                    crate::diagnostics::shown(path)
                );
            }
        }
        let reader = stdin::spawn_named(&files.paths, queue, max_line)
            .context("could not start reading files")?;
        Ok(Reading::piped(reader, "files"))
    }

    /// Reading by a thread that reads its inputs like standard input.
    fn piped(
        (handle, blocked): (ReaderHandle, Arc<std::sync::atomic::AtomicBool>),
        what: &'static str,
    ) -> Reading {
        Reading {
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

/// Following reads regular files by name, from saved positions, across
/// rotation: a FIFO named to follow is passed over, and says so.
fn warn_fifos_not_followed(patterns: &[String]) {
    for pattern in patterns {
        let path = Path::new(pattern);
        if is_pipe(path) {
            crate::diagnostics::warn("source", "not_followed", || {
                (
                    format!(
                        "'{}' is a pipe or FIFO, not followed: --follow reads regular files; \
                         name it without --follow to read it like standard input",
                        crate::diagnostics::shown(path)
                    ),
                    serde_json::json!({"path": path.to_string_lossy()}),
                )
            });
        }
    }
}

/// A reader thread at work; `done` fires when it has stopped.
pub(crate) struct ReaderHandle {
    /// Resolves with how reading ended: end of input, or a read error.
    pub done: tokio::sync::oneshot::Receiver<std::io::Result<()>>,
    /// Joined once `done` has fired, so the thread never outlives its work.
    pub thread: std::thread::JoinHandle<()>,
    /// Bytes of a line read whose end has not come (yet): what a stop
    /// leaves unshipped.
    pub unfinished: Arc<std::sync::atomic::AtomicU64>,
}

/// One input read like standard input, from its start to its end: how
/// events name it, and how to open it. Opening happens on the reader's
/// thread: opening a FIFO waits for a writer, and a signal must still be
/// heard meanwhile.
pub(crate) struct Piped {
    pub stream: Arc<Stream>,
    pub open: Box<dyn FnOnce() -> std::io::Result<Box<dyn std::io::Read + Send>> + Send>,
}

/// What a reader thread shares with the run while it works.
#[derive(Clone, Default)]
struct Shared {
    /// Bytes of a line read whose end has not come (yet).
    unfinished: Arc<std::sync::atomic::AtomicU64>,
    /// Set while the thread waits in an open or a read that may never
    /// return (a silent pipe); clear while it splits and hands over what
    /// it read, which it always finishes.
    blocked: Arc<std::sync::atomic::AtomicBool>,
}

/// Reads `inputs` one after the other to their ends on a thread of its
/// own, splitting them into lines and pushing them into `queue` until the
/// inputs end or intake stops. Returns the handle and the thread's
/// `blocked` flag.
pub(crate) fn spawn_reader(
    inputs: Vec<Piped>,
    queue: crate::pipeline::Intake,
    max_line: usize,
) -> std::io::Result<(ReaderHandle, Arc<std::sync::atomic::AtomicBool>)> {
    let (tx, done) = tokio::sync::oneshot::channel();
    let shared = Shared::default();
    let theirs = shared.clone();
    let name = inputs
        .first()
        .map_or("nothing".into(), |input| input.stream.name.clone());
    let thread = std::thread::Builder::new()
        .name(format!("read {name}"))
        .spawn(move || {
            let result = read_inputs(inputs, &queue, max_line, &theirs);
            queue.close();
            let _ = tx.send(result);
        })?;
    let handle = ReaderHandle {
        done,
        thread,
        unfinished: shared.unfinished,
    };
    Ok((handle, shared.blocked))
}

/// Opens and reads each input in turn until intake stops.
fn read_inputs(
    inputs: Vec<Piped>,
    queue: &crate::pipeline::Intake,
    max_line: usize,
    shared: &Shared,
) -> std::io::Result<()> {
    use std::sync::atomic::Ordering::Relaxed;
    for input in inputs {
        if !queue.may_read() {
            break;
        }
        shared.blocked.store(true, Relaxed);
        let opened = (input.open)();
        shared.blocked.store(false, Relaxed);
        read_to_end(input.stream, opened?, queue, max_line, shared)?;
    }
    Ok(())
}

/// Reads one input to its end, or until intake stops.
fn read_to_end(
    stream: Arc<Stream>,
    reader: impl std::io::Read,
    queue: &crate::pipeline::Intake,
    max_line: usize,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut splitter = lines::LineSplitter::new(stream, max_line);
    let mut reader = Watched {
        inner: reader,
        queue,
        blocked: &shared.blocked,
    };
    // The queue counts every line it is offered, even once closed.
    let mut push = |chunk| {
        let _ = queue.push(chunk);
    };
    loop {
        let read = splitter.read_from(&mut reader, &mut push);
        shared
            .unfinished
            .store(splitter.unfinished(), std::sync::atomic::Ordering::Relaxed);
        match read {
            Ok(true) => continue,
            Ok(false) => return Ok(()),
            // Stopped: the start of an unfinished line stays unshipped.
            Err(err) if is_stop(&err) => return Ok(()),
            Err(err) => return Err(err),
        }
    }
}

/// What a `Watched` read returns once intake is stopping: the end of
/// reading, but not the end of the input, so an unfinished line is no line.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("intake stopped")
    }
}

impl std::error::Error for Stopped {}

fn is_stop(err: &std::io::Error) -> bool {
    err.get_ref().is_some_and(|inner| inner.is::<Stopped>())
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

/// A reader that stops reading once intake is stopping, so lines already
/// read are still shipped and nothing new is read.
struct Watched<'q, R> {
    inner: R,
    queue: &'q crate::pipeline::Intake,
    /// Set for the time of each read.
    blocked: &'q std::sync::atomic::AtomicBool,
}

impl<R: std::io::Read> std::io::Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::sync::atomic::Ordering::Relaxed;
        if !self.queue.may_read() {
            return Err(std::io::Error::other(Stopped));
        }
        self.blocked.store(true, Relaxed);
        let read = self.inner.read(buf);
        self.blocked.store(false, Relaxed);
        read
    }
}
