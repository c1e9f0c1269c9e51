//! One run, start to finish: open the sinks, read until the input ends or a
//! signal arrives, drain within the shutdown timeout, print the summary and
//! choose the exit status.

use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::config::{Config, SinkSpec, SummaryFormat, sink_label};
use crate::diagnostics;
use crate::envelope::Encoder;
use crate::exit_code::Status;
use crate::pipeline::ledger::DropReason;
use crate::pipeline::{CloseFailure, Counts, Pipeline};
use crate::progress::Progress;
use crate::shutdown::{self, Signal, Signals};
use crate::sink;
use crate::source::checkpoint::Checkpoint;
use crate::source::{self, Source};
use crate::stats;
use crate::summary::{CheckpointSummary, Summary};

/// Why intake stopped.
enum Stop {
    /// The input ended; `Err` when a read failed.
    EndOfInput(std::io::Result<()>),
    Signal(Signal),
}

/// How the drain ended.
enum Drain {
    Finished(Vec<CloseFailure>),
    /// `--shutdown-timeout` ran out.
    TimedOut,
    /// A signal cut it short.
    Cut(Signal),
}

pub(crate) fn run(config: Config) -> anyhow::Result<Status> {
    diagnostics::set_verbose(config.verbose);
    shutdown::ignore_file_size_signal();
    source::descriptors::raise_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let status = runtime.block_on(ship(&config));
    // A reader blocked on a pipe or a sink stuck in a write must not keep
    // shipper alive once the summary is out.
    runtime.shutdown_background();
    status
}

async fn ship(config: &Config) -> anyhow::Result<Status> {
    let started = Instant::now();
    let mut signals = Signals::listen().context("could not listen for signals")?;
    if let Some(path) = &config.summary.file {
        // Fails before anything is read, and clears a stale summary.
        Summary::claim_file(path)?;
    }
    // Taken before the sinks open: a run refused the checkpoint writes
    // nothing.
    let checkpoint = match take_checkpoint(config) {
        Ok(checkpoint) => checkpoint,
        Err(err) => {
            diagnostics::say!("shipper: {err:#}");
            let unsaved =
                checkpoint_path(config).map(|path| CheckpointSummary::unsaved(path, &err));
            return nothing_shipped(config, Status::CouldNotRun, None, unsaved, started);
        }
    };
    let metrics = match config.metrics_addr {
        Some(addr) => Some(stats::listen(addr).await?),
        None => None,
    };
    // Opening may wait on a server that answers slowly: a signal still
    // stops shipper, which has read nothing yet.
    let opened = tokio::select! {
        opened = sink::open_all(config) => opened,
        signal = signals.next() => {
            diagnostics::say!("shipper: {} received while the sinks opened", signal.name());
            return nothing_shipped(config, signal.status(), Some(signal), None, started);
        }
    };
    let sinks = match opened {
        Ok(sinks) => sinks,
        Err(err) => {
            diagnostics::say!("shipper: {}", diagnostics::escape(&format!("{err:#}")));
            return nothing_shipped(config, Status::CouldNotRun, None, None, started);
        }
    };
    let host = crate::host::name();
    let mut pipeline = Pipeline::start(
        &config.pipeline,
        Encoder::new(&config.envelope, &host),
        sinks,
    );
    // Kept to report on when reading cannot start.
    let taken = checkpoint.clone();
    let mut reading = match Source::start(
        &config.input,
        config.envelope.max_line_bytes,
        pipeline.queue(),
        &output_files(config),
        checkpoint,
    ) {
        Ok(reading) => reading,
        Err(err) => {
            let unsaved = taken.map(|checkpoint| {
                CheckpointSummary::of(&checkpoint, &Err(anyhow::anyhow!("{err:#}")))
            });
            return could_not_read(&err, pipeline, config, unsaved, started).await;
        }
    };
    let progress = watch(&pipeline, metrics, config, started, &reading);
    let stop = tokio::select! {
        read = &mut reading.handle.done => Stop::EndOfInput(read.unwrap_or(Ok(()))),
        signal = signals.next() => Stop::Signal(signal),
    };
    if let Stop::Signal(_) = stop {
        pipeline.stop_intake();
        reading.wake();
        stop_reading(&pipeline, reading.handle.done);
    }
    let drain_started = Instant::now();
    let mut reader_thread = Some(reading.handle.thread);
    // Taken only at the end of input: stopped by a signal, the thread is
    // still waited for before the summary.
    if let Stop::EndOfInput(_) = stop
        && let Some(thread) = reader_thread.take()
    {
        // The thread has sent its result and is ending.
        let _ = thread.join();
    }
    tell_stop(&stop, reading.what);

    let drain = drain(&mut pipeline, &mut signals, &stop, config).await;
    if let Some(progress) = progress {
        progress.finish();
    }
    let close_errors = settle_drain(&pipeline, &drain, config);
    let_reader_finish(reader_thread.as_ref(), &reading.blocked).await;
    source::descriptors::report_waiting();
    if let Stop::Signal(_) = stop {
        source::report_unfinished(
            reading
                .handle
                .unfinished
                .load(std::sync::atomic::Ordering::Relaxed),
        );
    }
    let saved = save_checkpoint(
        reading.checkpoint.as_deref(),
        reader_thread.as_ref(),
        &pipeline,
        &drain,
    )
    .await;

    let mut summary = Summary::new(&pipeline.counts(), pipeline.sink_names(), &close_errors);
    summary.checkpoint = reading
        .checkpoint
        .as_deref()
        .map(|checkpoint| CheckpointSummary::of(checkpoint, &saved));
    let signal = match (&stop, &drain) {
        (Stop::Signal(signal), _) | (_, Drain::Cut(signal)) => Some(*signal),
        _ => None,
    };
    // Positions that were not saved make a restart repeat lines: that
    // outranks even a signal, which is how a follower always stops.
    let status = match (&stop, signal) {
        _ if saved.is_err() => Status::CouldNotRun,
        (_, Some(signal)) => signal.status(),
        (Stop::EndOfInput(Err(_)), None) => Status::CouldNotRun,
        _ if summary.dropped > 0 || !close_errors.is_empty() => Status::Dropped,
        _ => Status::Delivered,
    };
    finish(&mut summary, status, signal, started, drain_started);
    report(&summary, config)?;
    Ok(status)
}

/// The checkpoint of a run that reads files, locked for this run and
/// read.
fn take_checkpoint(config: &Config) -> anyhow::Result<Option<std::sync::Arc<Checkpoint>>> {
    Ok(match checkpoint_path(config) {
        Some(path) => Some(std::sync::Arc::new(Checkpoint::load(path)?)),
        None => None,
    })
}

/// `--checkpoint`, when the run reads files.
fn checkpoint_path(config: &Config) -> Option<&std::path::Path> {
    match &config.input {
        crate::config::Input::Files(files) => files.checkpoint.as_deref(),
        crate::config::Input::Stdin => None,
    }
}

/// The files shipper writes: never read as input.
fn output_files(config: &Config) -> Vec<std::path::PathBuf> {
    let files = config.sinks.iter().filter_map(|sink| match sink {
        SinkSpec::File(path) => Some(path.clone()),
        _ => None,
    });
    files.chain(config.summary.file.clone()).collect()
}

/// The files' last positions, saved after the drain: where every event is
/// settled, or, when the drain finished, everything the queue took. The
/// file reader hands its positions over as it ends, which it does at once
/// once intake stops; it is given a moment to.
async fn save_checkpoint(
    checkpoint: Option<&Checkpoint>,
    reader_thread: Option<&std::thread::JoinHandle<()>>,
    pipeline: &Pipeline,
    drain: &Drain,
) -> anyhow::Result<()> {
    let Some(checkpoint) = checkpoint else {
        return Ok(());
    };
    let deadline = Instant::now() + std::time::Duration::from_secs(1);
    let running = || reader_thread.is_some_and(|thread| !thread.is_finished());
    while running() && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let saved = checkpoint.save(&pipeline.settled_to(), matches!(drain, Drain::Finished(_)));
    if let Err(err) = &saved {
        diagnostics::error("checkpoint", "save", || {
            (format!("{err:#}"), json!({"error": format!("{err:#}")}))
        });
    }
    saved
}

/// A sink could not open, or a signal came while they opened: the run
/// stops before reading anything, with a summary of nothing (so a script
/// never reads a stale one).
fn nothing_shipped(
    config: &Config,
    status: Status,
    signal: Option<Signal>,
    checkpoint: Option<CheckpointSummary>,
    started: Instant,
) -> anyhow::Result<Status> {
    let names: Vec<String> = config.sinks.iter().map(sink_label).collect();
    let mut summary = Summary::new(&Counts::none(names.len(), config), &names, &[]);
    summary.checkpoint = checkpoint;
    finish(&mut summary, status, signal, started, started);
    report(&summary, config)?;
    Ok(status)
}

/// Reading could not start (a file named could not be opened, the
/// checkpoint could not be written): nothing was read; the sinks are
/// closed and a summary of nothing printed.
async fn could_not_read(
    err: &anyhow::Error,
    mut pipeline: Pipeline,
    config: &Config,
    checkpoint: Option<CheckpointSummary>,
    started: Instant,
) -> anyhow::Result<Status> {
    diagnostics::say!("shipper: {}", diagnostics::escape(&format!("{err:#}")));
    pipeline.queue().close();
    let failures = pipeline.drain().await;
    let close_errors: Vec<_> = failures
        .iter()
        .map(|f| (f.sink, f.error.to_string()))
        .collect();
    let mut summary = Summary::new(&pipeline.counts(), pipeline.sink_names(), &close_errors);
    summary.checkpoint = checkpoint;
    finish(&mut summary, Status::CouldNotRun, None, started, started);
    report(&summary, config)?;
    Ok(Status::CouldNotRun)
}

/// Starts what shows the run while it goes: /metrics, stats lines and the
/// status line, as configured.
fn watch(
    pipeline: &Pipeline,
    metrics: Option<tokio::net::TcpListener>,
    config: &Config,
    started: Instant,
    reading: &Source,
) -> Option<Progress> {
    let names = pipeline.sink_names().to_vec();
    if let Some(listener) = metrics {
        stats::serve_metrics(listener, pipeline.queue(), names.clone());
    }
    if let Some(interval) = config.stats_interval {
        stats::report_every(interval, pipeline.queue(), names.clone(), started);
    }
    Progress::start(
        config.progress,
        pipeline.queue(),
        names,
        reading.amount.clone(),
    )
}

/// Says why intake stopped: routine with -v, an error if a read failed.
fn tell_stop(stop: &Stop, what: &str) {
    match stop {
        Stop::EndOfInput(Ok(())) => {
            diagnostics::info("shutdown", "end of input: draining", json!({}));
        }
        Stop::EndOfInput(Err(error)) => diagnostics::error("source", "read", || {
            (
                format!("could not read {what}: {error}"),
                json!({"error": error.to_string()}),
            )
        }),
        Stop::Signal(signal) => diagnostics::info(
            "shutdown",
            format!("{} received: draining", signal.name()),
            json!({"signal": signal.name()}),
        ),
    }
}

/// A read under way when a signal came is given `READ_GRACE` to return:
/// on a busy pipe it does at once, and its lines are shipped; a reader
/// blocked on a silent pipe (`sleep 1000 | shipper`) is not waited for,
/// and whatever its read returns later is refused and counted.
const READ_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

fn stop_reading(
    pipeline: &Pipeline,
    reader_done: tokio::sync::oneshot::Receiver<std::io::Result<()>>,
) {
    let queue = pipeline.queue();
    tokio::spawn(async move {
        let _ = tokio::time::timeout(READ_GRACE, reader_done).await;
        queue.close();
    });
}

/// How long a reader that is not blocked may take to hand over what it
/// holds once the queue is closed: it splits at most one block and finds
/// every push refused, so this is a bound never met, not a wait.
const HAND_OVER_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Once the queue is closed, the reader may still hold a block it read
/// (a second signal can close the queue while the reader waits for room):
/// its lines are split and counted, refused as `shutdown`, before the
/// summary is read, so every byte taken from the input is accounted for.
/// A reader blocked in a read or an open (a silent pipe) has taken nothing
/// and is given only `READ_GRACE`.
async fn let_reader_finish(
    thread: Option<&std::thread::JoinHandle<()>>,
    blocked: &std::sync::atomic::AtomicBool,
) {
    let Some(thread) = thread else {
        return;
    };
    let limit = Instant::now() + HAND_OVER_LIMIT;
    let mut blocked_since = None;
    while !thread.is_finished() && Instant::now() < limit {
        if blocked.load(std::sync::atomic::Ordering::Relaxed) {
            let since = *blocked_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= READ_GRACE {
                return;
            }
        } else {
            blocked_since = None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// Drains within the shutdown timeout. A signal cuts the drain short if
/// one already stopped the run; after the input ended on its own, the
/// first signal only warns, and a second one cuts.
async fn drain(
    pipeline: &mut Pipeline,
    signals: &mut Signals,
    stop: &Stop,
    config: &Config,
) -> Drain {
    let drained = tokio::time::timeout(config.pipeline.shutdown_timeout, pipeline.drain());
    tokio::pin!(drained);
    let mut patient = matches!(stop, Stop::EndOfInput(_));
    loop {
        tokio::select! {
            result = &mut drained => {
                return match result {
                    Ok(failures) => Drain::Finished(failures),
                    Err(_) => Drain::TimedOut,
                };
            }
            signal = signals.next() => {
                if !patient {
                    return Drain::Cut(signal);
                }
                patient = false;
                diagnostics::warn("shutdown", "signal_during_drain", || {
                    (
                        format!("{} received while draining; another signal stops at once", signal.name()),
                        json!({"signal": signal.name()}),
                    )
                });
            }
        }
    }
}

fn finish(
    summary: &mut Summary,
    status: Status,
    signal: Option<Signal>,
    started: Instant,
    drain_started: Instant,
) {
    summary.stopped_by = signal.map(Signal::name);
    summary.exit_code = status.code();
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    summary.drain_seconds = drain_started.elapsed().as_secs_f64();
}

/// Counts what an unfinished drain left in flight, says so, and returns
/// the sinks whose close failed.
fn settle_drain(pipeline: &Pipeline, drain: &Drain, config: &Config) -> Vec<(usize, String)> {
    let (reason, why) = match drain {
        Drain::Finished(failures) => {
            return failures
                .iter()
                .map(|failure| (failure.sink, failure.error.to_string()))
                .collect();
        }
        Drain::TimedOut => (
            DropReason::ShutdownTimeout,
            format!(
                "the pipeline did not finish within --shutdown-timeout ({})",
                humantime::format_duration(config.pipeline.shutdown_timeout)
            ),
        ),
        Drain::Cut(signal) => (
            DropReason::Shutdown,
            format!("{} cut the drain short", signal.name()),
        ),
    };
    let abandoned = pipeline.seal(reason);
    diagnostics::warn("shutdown", "abandoned", || {
        (
            format!(
                "{why}: {abandoned} events abandoned, counted as {}",
                reason.name()
            ),
            json!({"abandoned": abandoned, "reason": reason.name()}),
        )
    });
    Vec::new()
}

/// Colour only on a terminal, and never when NO_COLOR is set.
fn colour() -> bool {
    use std::io::IsTerminal;
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    std::io::stderr().is_terminal() && !no_colour
}

fn report(summary: &Summary, config: &Config) -> anyhow::Result<()> {
    // Held-back diagnostics first: the summary is the last word on stderr.
    diagnostics::flush();
    // The file first: what a script reads does not depend on stderr.
    let written = match &config.summary.file {
        Some(path) => summary.write_file(path),
        None => Ok(()),
    };
    match config.summary.format {
        SummaryFormat::Text => diagnostics::say!("{}", summary.to_text(colour())),
        SummaryFormat::Json => {
            diagnostics::say!("{}", diagnostics::terminal_json(summary.to_json()))
        }
        SummaryFormat::None => {}
    }
    written
}
