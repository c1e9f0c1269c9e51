//! shipper: ship log lines from standard input through a bounded pipeline
//! to sinks, and account for every one of them.

// Every write to stderr or stdout goes through code that cannot panic
// (`diagnostics::say!`, the sinks): `2>/dev/full` must not cost the summary.
#![warn(clippy::print_stderr, clippy::print_stdout)]

mod app;
mod batch;
mod chunk;
mod cli;
mod config;
mod config_file;
mod diagnostics;
mod envelope;
mod exit_code;
mod files;
mod host;
mod level;
mod manual;
mod outputs;
mod pipeline;
mod progress;
mod public_url;
mod shutdown;
mod sink;
mod source;
mod stats;
mod summary;

use std::ffi::OsString;
use std::process::ExitCode;

use crate::config::Config;
use crate::exit_code::Status;

fn main() -> ExitCode {
    let config = match parse(std::env::args_os().collect()) {
        Parsed::Run(config) => *config,
        Parsed::Done(status) => return status,
    };
    match app::run(config) {
        Ok(status) => status.into(),
        Err(err) => {
            diagnostics::say!("shipper: {}", diagnostics::escape(&format!("{err:#}")));
            Status::CouldNotRun.into()
        }
    }
}

/// What the command line asks for.
enum Parsed {
    /// A run with these settings.
    Run(Box<Config>),
    /// Nothing more: help, the version, `--generate` or `--check-config`
    /// was answered, or the usage was bad; exit with this status.
    Done(ExitCode),
}

/// Reads the config file and the command line into checked settings.
fn parse(argv: Vec<OsString>) -> Parsed {
    let argv = match config_file::with_config_file(argv) {
        Ok(argv) => argv,
        Err(message) => {
            diagnostics::say!("shipper: {}", diagnostics::escape(&message));
            return Parsed::Done(ExitCode::from(2));
        }
    };
    let args = match cli::Args::try_parse_argv(argv) {
        Ok(args) => args,
        Err(err) => return Parsed::Done(clap_stopped(&err)),
    };
    if let Some(what) = args.generate {
        // Generated whole first: clap_complete panics on a failed write.
        let mut generated = Vec::new();
        let written = manual::generate(what, &mut generated).and_then(|()| print(&generated));
        return Parsed::Done(printed(written));
    }
    let check_only = args.check_config;
    let config = checked(args);
    if check_only {
        diagnostics::say!("shipper: the settings are valid");
        return Parsed::Done(ExitCode::SUCCESS);
    }
    Parsed::Run(Box::new(config))
}

/// The settings, with the paths they write checked before anything is
/// written; a usage error (exit 2) when they do not hold.
fn checked(args: cli::Args) -> Config {
    let checked =
        Config::from_args(args).and_then(|config| outputs::check(&config).map(|()| config));
    match checked {
        Ok(config) => config,
        Err(message) => cli::command()
            .error(
                clap::error::ErrorKind::ValueValidation,
                diagnostics::escape(&message),
            )
            .exit(),
    }
}

/// `--help` and `--version`, printed here so that a failed write is an
/// error (clap ignores it); any other parse error exits as clap decides.
fn clap_stopped(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    use std::io::IsTerminal;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let rendered = err.render();
            let text = match std::io::stdout().is_terminal() {
                true => rendered.ansi().to_string(),
                false => rendered.to_string(),
            };
            printed(print(text.as_bytes()))
        }
        _ => err.exit(),
    }
}

/// Writes `bytes` to standard output and flushes it.
fn print(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush())
}

/// The status of a run that only printed: a reader that went away
/// (`| head`) is no failure; any other failed write is (exit 1).
fn printed(written: std::io::Result<()>) -> ExitCode {
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            diagnostics::say!("shipper: could not write the output: {err}");
            Status::CouldNotRun.into()
        }
    }
}
