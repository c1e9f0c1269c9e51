//! The exit statuses a shell script can rely on. Bad usage exits 2, through
//! clap, before any of these apply.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Every line read was delivered to every sink.
    Delivered,
    /// shipper could not run: a sink could not open, the input could not be read.
    CouldNotRun,
    /// It ran to the end, but some events were dropped.
    Dropped,
    /// Stopped by SIGINT before the input ended.
    Interrupted,
    /// Stopped by SIGTERM before the input ended.
    Terminated,
}

impl Status {
    pub(crate) fn code(self) -> u8 {
        match self {
            Status::Delivered => 0,
            Status::CouldNotRun => 1,
            Status::Dropped => 3,
            Status::Interrupted => 130,
            Status::Terminated => 143,
        }
    }
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status.code())
    }
}
