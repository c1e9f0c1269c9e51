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
mod outputs;
mod pipeline;
mod progress;
mod public_url;
mod shutdown;
mod sink;
mod source;
mod stats;
mod summary;

use std::process::ExitCode;

use clap::CommandFactory;

fn main() -> ExitCode {
    let argv = match config_file::with_config_file(std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(message) => {
            diagnostics::say!("shipper: {}", diagnostics::escape(&message));
            return ExitCode::from(2);
        }
    };
    let args = match cli::Args::try_parse_argv(argv) {
        Ok(args) => args,
        Err(err) => return clap_stopped(&err),
    };
    let check_only = args.check_config;
    if let Some(what) = args.generate {
        // Generated whole first: clap_complete panics on a failed write.
        let mut generated = Vec::new();
        let written = cli::generate(what, &mut generated).and_then(|()| print(&generated));
        return printed(written);
    }
    // The paths it writes are checked before anything is written.
    let checked =
        config::Config::from_args(args).and_then(|config| outputs::check(&config).map(|()| config));
    let config = match checked {
        Ok(config) => config,
        Err(message) => cli::Args::command()
            .error(
                clap::error::ErrorKind::ValueValidation,
                diagnostics::escape(&message),
            )
            .exit(),
    };
    if check_only {
        diagnostics::say!("shipper: the settings are valid");
        return ExitCode::SUCCESS;
    }
    let done = match &config.task {
        config::Task::Ship => None,
        config::Task::ShowCheckpoint(path, paths) => Some(source::checkpoint::show(path, paths)),
        config::Task::ResetCheckpoint(path, paths) => {
            Some(source::checkpoint::reset(path, paths).map(|forgotten| {
                diagnostics::say!(
                    "shipper: forgot the positions of {forgotten} files in '{}'",
                    diagnostics::shown(path)
                );
            }))
        }
    };
    if let Some(done) = done {
        return match done {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                diagnostics::say!("shipper: {}", diagnostics::escape(&format!("{err:#}")));
                exit_code::Status::CouldNotRun.into()
            }
        };
    }
    match app::run(config) {
        Ok(status) => status.into(),
        Err(err) => {
            diagnostics::say!("shipper: {}", diagnostics::escape(&format!("{err:#}")));
            exit_code::Status::CouldNotRun.into()
        }
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
            exit_code::Status::CouldNotRun.into()
        }
    }
}
