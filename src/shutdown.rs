//! Signals: the first SIGINT or SIGTERM stops intake and starts the drain;
//! another one cuts the drain short. A run hears them through `Stops`, so
//! a test can ask it to stop the same way.

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

/// Where a run's requests to stop come from: the process's signals, or
/// whatever a test sends.
pub(crate) trait Stops {
    /// The next request to stop; pending for as long as none comes.
    async fn next(&mut self) -> Signal;
}

/// Listens for SIGINT and SIGTERM from the moment it is made.
pub(crate) struct Signals {
    interrupt: Stream,
    terminate: Stream,
}

impl Signals {
    pub(crate) fn listen() -> std::io::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }
}

impl Stops for Signals {
    /// The next signal to arrive.
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
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
