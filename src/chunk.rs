//! The unit every source produces: a run of lines read together, and the
//! stream they came from.

use std::sync::Arc;
use std::time::SystemTime;

/// One event inside a chunk's buffer: a line, or lines joined into one
/// event (a stack trace), separated by `\n`.
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
    /// Lines read into the event: 1, or more when lines were joined.
    pub lines: u32,
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
            format!("{}.stdin.{:016x}", crate::host::name(), fastrand::u64(..)),
        )
    }

    /// A file read once like standard input (a pipe): a new identity each
    /// run, since nothing read from it can be read again.
    pub(crate) fn piped(name: &str) -> Arc<Stream> {
        Stream::new(
            name,
            format!("{}.pipe.{:016x}", crate::host::name(), fastrand::u64(..)),
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
    /// Lines joined into an event before them (each span holds `lines`,
    /// this counts the lines past the first of each).
    pub joined: u64,
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
            joined: 0,
            read_at: self.read_at,
            stream: Arc::clone(&self.stream),
        }
    }
}
