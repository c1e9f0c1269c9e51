//! What every sink offers the pipeline: a way to write a batch and say how
//! much of it was written, and a way to close.

use std::io;

use futures_util::future::BoxFuture;

use crate::batch::Batch;

/// What a sink did with one batch.
#[derive(Debug, Default)]
pub(crate) struct WriteOutcome {
    /// How many of the batch's first lines it wrote whole.
    pub written: usize,
    /// Why it stopped short, if it did and has not said so before.
    pub error: Option<SinkError>,
    /// Lines among the first `written` that the receiver turned away
    /// (a bulk API's failed items), in order, each with its reason.
    pub refused: Vec<Refusal>,
    /// Events among the first `written` the receiver said it turned away
    /// without saying which (OTLP's partial success), and its reason.
    pub unnamed: Option<(usize, SinkError)>,
}

impl WriteOutcome {
    pub(crate) fn new(written: usize, error: Option<io::Error>) -> WriteOutcome {
        WriteOutcome {
            written,
            error: error.map(SinkError::from),
            ..WriteOutcome::default()
        }
    }

    /// The lines refused, by index.
    pub(crate) fn refused_lines(&self) -> Vec<usize> {
        self.refused.iter().map(|refusal| refusal.line).collect()
    }

    /// Whether any of a batch of `lines` lines was not delivered, named.
    pub(crate) fn lost_any(&self, lines: usize) -> bool {
        self.written < lines || !self.refused.is_empty()
    }

    /// How many events the receiver turned away without naming them.
    pub(crate) fn unnamed_count(&self) -> usize {
        self.unnamed.as_ref().map_or(0, |(count, _)| *count)
    }
}

/// One line a receiver turned away although it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Its index in the batch.
    pub line: usize,
    /// The receiver's own reason.
    pub error: SinkError,
}

/// Why a sink failed a batch, as its diagnostic tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SinkError {
    /// What kind of failure: an `io::ErrorKind` name, `HttpStatus`, `Timeout`...
    pub kind: String,
    pub message: String,
    /// The HTTP status, when a server answered.
    pub status: Option<u16>,
}

impl From<io::Error> for SinkError {
    fn from(error: io::Error) -> SinkError {
        SinkError {
            kind: format!("{:?}", error.kind()),
            message: error.to_string(),
            status: None,
        }
    }
}

/// A sink whose calls block on system calls (a file, standard output): it
/// gets a thread of its own for its whole life, never an async worker.
pub(crate) trait BlockingSink: Send + 'static {
    /// How diagnostics and the summary name it (`file:PATH`, `stdout`).
    fn name(&self) -> &str;
    /// Writes a whole batch, with as few system calls as it can.
    fn write_batch(&mut self, batch: &Batch) -> WriteOutcome;
    /// Makes what was written durable and releases the sink.
    fn close(&mut self) -> io::Result<()>;
    /// Lets go of what it writes to and opens its path again (SIGHUP,
    /// after logrotate moved the file away); nothing for a sink without a
    /// path.
    fn reopen(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Nothing it is given can ever be written again (the reader of its
    /// pipe went away).
    fn failed_for_good(&self) -> bool {
        false
    }
}

/// A sink that waits on the network, not on system calls: it runs on the
/// runtime.
pub(crate) trait NetworkSink: Send + 'static {
    /// How diagnostics and the summary name it.
    fn name(&self) -> &str;
    /// Writes a batch, retrying as its policy allows and telling
    /// `retrying` of each retry while it happens.
    fn write<'a>(
        &'a mut self,
        batch: &'a Batch,
        retrying: &'a (dyn Fn() + Sync),
    ) -> BoxFuture<'a, WriteOutcome>;
    /// Ends the connection cleanly, after what was written.
    fn close(&mut self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// An open sink, of either kind; the pipeline drives each kind its way.
pub(crate) enum Sink {
    Blocking(Box<dyn BlockingSink>),
    Network(Box<dyn NetworkSink>),
}

impl Sink {
    pub(crate) fn name(&self) -> &str {
        match self {
            Sink::Blocking(sink) => sink.name(),
            Sink::Network(sink) => sink.name(),
        }
    }
}
