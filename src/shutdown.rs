//! Signals: the first SIGINT or SIGTERM stops intake and starts the drain;
//! another one cuts the drain short. SIGHUP stops nothing: it asks the
//! file sinks to reopen their paths (after logrotate moved them), and a
//! terminal that hangs up leaves the run going. A run hears them through
//! `Stops`, so a test can ask it the same way.

use tokio::signal::unix::{Signal as Stream, SignalKind, signal};

use crate::exit_code::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    pub(crate) fn status(self) -> Status {
        match self {
            Signal::Interrupt => Status::Interrupted,
            Signal::Terminate => Status::Terminated,
        }
    }
}

/// What a run is asked while it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// Stop reading and drain (or, the second time, stop draining).
    Stop(Signal),
    /// Reopen the file sinks at their paths, and go on (SIGHUP).
    Reopen,
}

impl From<Signal> for Request {
    fn from(signal: Signal) -> Request {
        Request::Stop(signal)
    }
}

/// Where a run's requests come from: the process's signals, or whatever a
/// test sends.
pub(crate) trait Stops {
    /// The next request; pending for as long as none comes.
    async fn next(&mut self) -> Request;
}

/// Listens for SIGINT, SIGTERM and SIGHUP from the moment it is made.
/// Listening to SIGHUP is what keeps a hangup from ending the process.
pub(crate) struct Signals {
    interrupt: Stream,
    terminate: Stream,
    hangup: Stream,
}

impl Signals {
    pub(crate) fn listen() -> std::io::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }
}

impl Stops for Signals {
    /// The next signal to arrive.
    async fn next(&mut self) -> Request {
        tokio::select! {
            _ = self.interrupt.recv() => Request::Stop(Signal::Interrupt),
            _ = self.terminate.recv() => Request::Stop(Signal::Terminate),
            _ = self.hangup.recv() => Request::Reopen,
        }
    }
}

/// A write past `ulimit -f` raises SIGXFSZ, whose default action ends the
/// process. Ignored, the write fails with EFBIG instead: a sink failure,
/// counted and reported like any other.
pub(crate) fn ignore_file_size_signal() {
    use nix::sys::signal::{SigHandler, Signal as Sig, signal as set_handler};
    // SAFETY: SIG_IGN runs no code in the handler, so nothing in it can be
    // unsound; this runs once, before any other thread exists.
    let _ = unsafe { set_handler(Sig::SIGXFSZ, SigHandler::SigIgn) };
}
