//! Where lines come from: the chunk type every source produces, the line
//! splitter, and the standard-input reader.

pub(crate) mod checkpoint;
pub(crate) mod follow;
pub(crate) mod followed;
pub(crate) mod lines;
pub(crate) mod stdin;

use std::sync::Arc;
use std::time::SystemTime;

/// One line inside a chunk's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// Offset of the line's first byte in the chunk's buffer.
    pub start: u32,
    /// Length kept, without the line terminator.
    pub len: u32,
    /// The line's full length when it was longer than the line limit and
    /// only its first `len` bytes were kept.
    pub cut_from: Option<u64>,
    /// Position in its stream just past the line and its terminator: where
    /// reading resumes once this line is delivered.
    pub end: u64,
}

/// Where lines come from: a name for events and an identity that outlives
/// the run, for checkpoints and for sinks that deduplicate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Stream {
    /// How events name it: `stdin`, or the path a file was found at.
    pub name: Box<str>,
    /// The same bytes keep the same identity across restarts (a file's is
    /// saved with its checkpoint); different bytes never share one.
    pub id: Box<str>,
}

impl Stream {
    pub(crate) fn new(name: impl Into<Box<str>>, id: impl Into<Box<str>>) -> Arc<Stream> {
        Arc::new(Stream {
            name: name.into(),
            id: id.into(),
        })
    }

    /// Standard input: its identity is new each run, since nothing read
    /// from it can be read again.
    pub(crate) fn stdin() -> Arc<Stream> {
        Stream::new(
            "stdin",
            format!("{}.stdin.{:016x}", host(), fastrand::u64(..)),
        )
    }

    /// A stream named and identified alike, for tests.
    #[cfg(test)]
    pub(crate) fn named(name: &str) -> Arc<Stream> {
        Stream::new(name, name)
    }
}

/// A run of complete lines read together: the unit handed to the queue.
///
/// Lines are spans into one shared buffer, so that handing a thousand lines
/// over costs one allocation, not a thousand.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    /// The bytes the spans point into.
    pub data: Arc<Vec<u8>>,
    /// The non-blank lines, in input order.
    pub spans: Vec<Span>,
    /// Blank lines met while splitting; they are counted, never shipped.
    pub blank: u64,
    /// When the bytes were read: the timestamp of lines that carry none.
    pub read_at: SystemTime,
    /// Where the lines came from.
    pub stream: Arc<Stream>,
}

impl Chunk {
    /// Number of events (non-blank lines) in the chunk.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    pub(crate) fn line(&self, span: &Span) -> &[u8] {
        let start = span.start as usize;
        &self.data[start..start + span.len as usize]
    }

    /// Bytes of line content, the measure of the queue's byte bound.
    pub(crate) fn bytes(&self) -> usize {
        self.spans.iter().map(|span| span.len as usize).sum()
    }

    /// Moves the lines `pick` chooses into a chunk of their own (sharing
    /// the buffer), keeping the others, each in order.
    pub(crate) fn extract(&mut self, mut pick: impl FnMut(&[u8]) -> bool) -> Chunk {
        let data = &self.data;
        let (picked, rest) = self.spans.iter().partition(|span| {
            let start = span.start as usize;
            pick(&data[start..start + span.len as usize])
        });
        self.spans = rest;
        Chunk {
            spans: picked,
            ..self.sharing()
        }
    }

    /// Keeps the first `at` lines and returns the rest as a chunk of its own
    /// (sharing the buffer).
    pub(crate) fn split_off(&mut self, at: usize) -> Chunk {
        Chunk {
            spans: self.spans.split_off(at),
            ..self.sharing()
        }
    }

    /// A chunk with no lines that shares this one's buffer and origin.
    fn sharing(&self) -> Chunk {
        Chunk {
            data: Arc::clone(&self.data),
            spans: Vec::new(),
            blank: 0,
            read_at: self.read_at,
            stream: Arc::clone(&self.stream),
        }
    }
}

/// Reading under way, from standard input or from files.
pub(crate) struct Reading {
    pub handle: ReaderHandle,
    /// What is read, for messages.
    pub what: &'static str,
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
        queue: Arc<crate::pipeline::queue::Queue>,
        outputs: &[std::path::PathBuf],
        checkpoint: Option<Arc<checkpoint::Checkpoint>>,
    ) -> anyhow::Result<Reading> {
        use anyhow::Context;
        let files = match input {
            crate::config::Input::Stdin => {
                let handle = stdin::spawn(queue, max_line)
                    .context("could not start reading standard input")?;
                return Ok(Reading {
                    handle,
                    what: "standard input",
                    waker: None,
                    checkpoint: None,
                    amount: None,
                });
            }
            crate::config::Input::Files(files) => files,
        };
        let mut outputs = outputs.to_vec();
        outputs.extend(files.checkpoint.clone());
        let following = follow::spawn(files, max_line, queue, checkpoint.clone(), &outputs)?;
        Ok(Reading {
            handle: following.reader,
            what: "files",
            waker: Some(following.waker),
            checkpoint,
            amount: following.total.map(|total| (following.read, total)),
        })
    }

    /// Tells a reader waiting for changes to look at intake again.
    pub(crate) fn wake(&self) {
        if let Some(waker) = &self.waker {
            let _ = waker.send(follow::Wake::Stop);
        }
    }
}

/// This machine's name, part of every stream's identity.
pub(crate) fn host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
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

/// Reads `reader` to its end on a thread of its own, splitting it into lines
/// and pushing them into `queue` until the input ends or the queue closes.
pub(crate) fn spawn_reader(
    stream: Arc<Stream>,
    reader: impl std::io::Read + Send + 'static,
    queue: Arc<crate::pipeline::queue::Queue>,
    max_line: usize,
) -> std::io::Result<ReaderHandle> {
    let (tx, done) = tokio::sync::oneshot::channel();
    let unfinished = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let held = Arc::clone(&unfinished);
    let thread = std::thread::Builder::new()
        .name(format!("read {}", stream.name))
        .spawn(move || {
            let mut splitter = lines::LineSplitter::new(stream, max_line);
            let mut reader = Watched {
                inner: reader,
                queue: &queue,
            };
            // The queue counts every line it is offered, even once closed.
            let mut push = |chunk| {
                let _ = queue.push(chunk);
            };
            let result = loop {
                let read = splitter.read_from(&mut reader, &mut push);
                held.store(splitter.unfinished(), std::sync::atomic::Ordering::Relaxed);
                match read {
                    Ok(true) => continue,
                    Ok(false) => break Ok(()),
                    // Stopped: the start of an unfinished line stays unshipped.
                    Err(err) if is_stop(&err) => break Ok(()),
                    Err(err) => break Err(err),
                }
            };
            queue.close();
            let _ = tx.send(result);
        })?;
    Ok(ReaderHandle {
        done,
        thread,
        unfinished,
    })
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
    queue: &'q crate::pipeline::queue::Queue,
}

impl<R: std::io::Read> std::io::Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.queue.may_read() {
            return Err(std::io::Error::other(Stopped));
        }
        self.inner.read(buf)
    }
}
