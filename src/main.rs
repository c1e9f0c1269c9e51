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
mod filter;
mod host;
mod letter;
mod level;
mod manual;
mod multiline;
mod outputs;
mod pipeline;
mod progress;
mod public_url;
mod reasons;
mod redact;
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
    let merged = match config_file::with_config_file(argv) {
        Ok(merged) => merged,
        Err(message) => return refused(&message),
    };
    let args = match cli::Args::try_parse_argv(merged.argv.clone()) {
        Ok(args) => args,
        Err(err) => return clap_refused(&merged, &err),
    };
    if let Some(what) = args.generate {
        // Generated whole first: clap_complete panics on a failed write.
        let mut generated = Vec::new();
        let written = manual::generate(what, &mut generated).and_then(|()| print(&generated));
        return Parsed::Done(printed(written));
    }
    let (check_only, print_only) = (args.check_config, args.print_config);
    let config = match checked(args) {
        Ok(config) => config,
        Err(message) => return settings_refused(&merged, &message),
    };
    if print_only {
        let shown = config_file::print(&merged).map_err(std::io::Error::other);
        return Parsed::Done(printed(shown.and_then(|text| print(text.as_bytes()))));
    }
    if check_only {
        // What a run checks before it reads, with the status it would exit with.
        if let Err(unopenable) = outputs::openable(&config) {
            diagnostics::say!("shipper: {}", diagnostics::escape(&unopenable.to_string()));
            return Parsed::Done(Status::CouldNotRun.into());
        }
        diagnostics::say!("shipper: the settings are valid");
        return Parsed::Done(ExitCode::SUCCESS);
    }
    Parsed::Run(Box::new(config))
}

/// The settings, with the paths they write checked before anything is
/// written (a run and `--check-config` check the same), or why not.
fn checked(args: cli::Args) -> Result<Config, String> {
    Config::from_args(args).and_then(|config| outputs::check(&config).map(|()| config))
}

/// `checked`, from the arguments: what a config file's setting is blamed
/// for when leaving it out changes the outcome.
fn checked_argv(argv: Vec<OsString>) -> Result<Config, String> {
    let args = cli::Args::try_parse_argv(argv).map_err(|err| clap_message(&err))?;
    checked(args)
}

/// A usage error said as `shipper: MESSAGE` (exit 2): what a config
/// file's setting caused names the file, line and column.
fn refused(message: &str) -> Parsed {
    diagnostics::say!("shipper: {}", diagnostics::escape(message));
    Parsed::Done(ExitCode::from(2))
}

/// Settings that do not hold: pinned to the config file's setting that
/// causes it, or to the environment variable; else clap's usage error.
fn settings_refused(merged: &config_file::Merged, message: &str) -> Parsed {
    if let Some(culprit) = merged.culprit(message, checked_argv) {
        return refused(&merged.hide(&format!("{}: {message}", culprit.at)));
    }
    let message = merged.naming_variable(message);
    cli::command()
        .error(
            clap::error::ErrorKind::ValueValidation,
            diagnostics::escape(&message),
        )
        .exit()
}

/// clap's refusal of the merged arguments: pinned to the config file's
/// setting that causes it, else as clap says it.
fn clap_refused(merged: &config_file::Merged, err: &clap::Error) -> Parsed {
    use clap::error::{ContextKind, ErrorKind};
    let stops = [ErrorKind::DisplayHelp, ErrorKind::DisplayVersion];
    let message = clap_message(err);
    let culprit = match stops.contains(&err.kind()) {
        true => None,
        false => merged.culprit(&message, checked_argv),
    };
    let Some(culprit) = culprit else {
        return Parsed::Done(clap_stopped(err));
    };
    let message = match (err.kind(), err.get(ContextKind::InvalidArg)) {
        (ErrorKind::MissingRequiredArgument, Some(missing)) => {
            format!("{} needs {missing}", culprit.key)
        }
        _ => message,
    };
    refused(&merged.hide(&format!("{}: {message}", culprit.at)))
}

/// clap's message without its usage lines: `error: ` and what follows it
/// up to the first blank line, on one line.
fn clap_message(err: &clap::Error) -> String {
    let rendered = err.to_string();
    let mut lines = rendered.lines().take_while(|line| !line.trim().is_empty());
    let first = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ");
    lines.fold(first.to_owned(), |message, line| {
        format!("{message} {}", line.trim())
    })
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
