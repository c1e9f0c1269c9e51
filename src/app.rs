//! One run, start to finish, as named steps: open the sinks, read until
//! the input ends or a stop is requested, drain within the shutdown
//! timeout, save the checkpoint, and conclude with the summary and the
//! exit status. A request to reopen (SIGHUP) is passed to the sinks and
//! the run goes on; once every sink has failed for good (its reader went
//! away), reading stops as at a signal. The run takes its sinks and its
//! requests as parameters, so the whole lifecycle also runs in-process,
//! in tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::config::{Config, SinkSpec, SummaryFormat, Task, sink_label};
use crate::diagnostics;
use crate::envelope::Encoder;
use crate::exit_code::Status;
use crate::outputs::{self, Unopenable};
use crate::pipeline::dead_letters::DeadLetters;
use crate::pipeline::{CloseFailure, Counts, DropReason, Pipeline, Reopener};
use crate::progress::{Events, Progress};
use crate::redact::Redactor;
use crate::shutdown::{self, Request, Signal, Signals, Stops};
use crate::sink::{self, Sink};
use crate::source::checkpoint::{self, Checkpoint};
use crate::source::{self, Source};
use crate::stats;
use crate::summary::{CheckpointSummary, Inputs, Started, Summary};

/// Does what the settings ask: ship lines, or show or reset a checkpoint.
pub(crate) fn run(config: Config) -> anyhow::Result<Status> {
    match &config.task {
        Task::Ship => ship_until_done(&config),
        Task::ShowCheckpoint(path, paths, format) => {
            checkpoint::show(path, paths, *format).map(|()| Status::Delivered)
        }
        Task::ResetCheckpoint(path, paths) => {
            let forgotten = checkpoint::reset(path, paths)?;
            diagnostics::say!(
                "shipper: forgot the positions of {forgotten} files in '{}'",
                diagnostics::shown(path)
            );
            Ok(Status::Delivered)
        }
    }
}

/// Ships on a runtime of its own, stopped by SIGINT and SIGTERM; SIGHUP
/// reopens the file sinks.
fn ship_until_done(config: &Config) -> anyhow::Result<Status> {
    diagnostics::configure(config.verbose, config.log_format);
    shutdown::ignore_file_size_signal();
    source::descriptors::raise_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let status = runtime.block_on(async {
        let signals = Signals::listen().context("could not listen for signals")?;
        ship(config, sink::open_all(config), signals).await
    });
    // A reader blocked on a pipe or a sink stuck in a write must not keep
    // shipper alive once the summary is out.
    runtime.shutdown_background();
    status
}

/// One run: open `sinks`, read what the settings name until the input
/// ends or `stops` asks to stop, drain, save the checkpoint, and conclude
/// with the summary. The first stop request stops intake; another one
/// cuts the drain short. A request to reopen never stops anything.
pub(crate) async fn ship(
    config: &Config,
    sinks: impl Future<Output = anyhow::Result<Vec<Sink>>>,
    mut stops: impl Stops,
) -> anyhow::Result<Status> {
    let started = Started::now();
    let Running {
        mut pipeline,
        reading,
        progress,
    } = match start(config, sinks, &mut stops, started).await {
        Ok(running) => running,
        Err(early) => return early.conclude(config, started).await,
    };
    let stopped = read_until_stop(&pipeline, reading, &mut stops).await;
    let drained = drain(&mut pipeline, &mut stops, &stopped.stop, config, progress).await;
    let_reader_finish(&stopped).await;
    let saved = save_checkpoint(&stopped, &pipeline, &drained.how).await;
    conclude(config, &pipeline, &stopped, &drained, saved, started)
}

/// A run that has started reading.
struct Running {
    /// The queue, the worker and the sinks' tasks.
    pipeline: Pipeline,
    /// What reads into the queue.
    reading: Source,
    /// The status line, when shown.
    progress: Option<Progress>,
}

/// Why a run ended before it read anything.
enum Early {
    /// It could not start at all (the summary file, /metrics): no summary.
    Failed(anyhow::Error),
    /// The checkpoint could not be taken.
    NoCheckpoint(anyhow::Error),
    /// A stop was requested while the sinks opened.
    Stopped(Signal),
    /// A sink could not open.
    NoSink(anyhow::Error),
    /// Reading could not start; the sinks are open and are closed.
    NoInput {
        error: anyhow::Error,
        pipeline: Box<Pipeline>,
        checkpoint: Option<CheckpointSummary>,
    },
}

/// Why intake stopped.
enum Stop {
    /// The input ended; `Err` when a read failed.
    EndOfInput(std::io::Result<()>),
    /// A stop was requested first.
    Signal(Signal),
    /// Every sink failed for good (the reader of standard output went
    /// away): nothing more read could be written.
    SinksFailed,
}

/// How intake stopped, and what the rest of the run needs of the reading.
struct Stopped {
    /// Why intake stopped.
    stop: Stop,
    /// When intake stopped, which is when the drain started.
    at: Instant,
    /// The reader's thread, until it is joined: at the end of input at
    /// once; stopped by a signal, it is waited for before the summary.
    thread: Option<JoinHandle<()>>,
    /// Set while the reader waits in a read or an open that may never
    /// return.
    blocked: Arc<AtomicBool>,
    /// Lines read whose end never came.
    unfinished: source::Unfinished,
    /// Where file positions are saved.
    checkpoint: Option<Arc<Checkpoint>>,
}

/// How the drain ended, and the sinks whose close failed.
struct Drained {
    /// Finished, timed out or cut short.
    how: Drain,
    /// Each sink whose close failed, by its place, and why.
    close_errors: Vec<(usize, String)>,
}

/// How the drain ended.
enum Drain {
    /// Everything was written and the sinks closed, some maybe failing to.
    Finished(Vec<CloseFailure>),
    /// `--shutdown-timeout` ran out.
    TimedOut,
    /// A signal cut it short.
    Cut(Signal),
}

/// Everything before the reading, then the reading: the summary file
/// claimed, the checkpoint taken, /metrics bound, the sinks opened and
/// the pipeline started.
async fn start(
    config: &Config,
    sinks: impl Future<Output = anyhow::Result<Vec<Sink>>>,
    stops: &mut impl Stops,
    started: Started,
) -> Result<Running, Early> {
    // What --check-config checks too; a run refused here opened nothing.
    outputs::openable(config).map_err(|unopenable| match unopenable {
        Unopenable::Summary(why) => Early::Failed(anyhow::anyhow!(why)),
        Unopenable::Checkpoint(why) => Early::NoCheckpoint(anyhow::anyhow!(why)),
        Unopenable::Sink(why) => Early::NoSink(anyhow::anyhow!(why)),
    })?;
    if let Some(path) = &config.summary.file {
        // Fails before anything is read, and clears a stale summary.
        Summary::claim_file(path).map_err(Early::Failed)?;
    }
    // Taken before the sinks open: a run refused the checkpoint writes
    // nothing.
    let checkpoint = take_checkpoint(config).map_err(Early::NoCheckpoint)?;
    let metrics = match config.metrics_addr {
        Some(addr) => Some(stats::listen(addr).await.map_err(Early::Failed)?),
        None => None,
    };
    let dead_letters = match &config.dead_letter {
        Some(path) => Some(DeadLetters::open(path).map_err(|err| {
            let shown = crate::diagnostics::shown(path);
            Early::NoSink(anyhow::anyhow!(
                "could not keep dead letters in '{shown}': {err}"
            ))
        })?),
        None => None,
    };
    let sinks = open_sinks(sinks, stops).await?;
    let host = crate::host::name();
    let (envelope, filter, redact) = (
        config.envelope.clone(),
        config.filter.clone(),
        config.redact.clone(),
    );
    let encoder = move || {
        let redactor = Redactor::new(&redact).expect("the config bounds the rules");
        Encoder::new(&envelope, &host)
            .with_filter(filter.clone())
            .with_redactor(redactor)
    };
    let pipeline = Pipeline::start(&config.pipeline, encoder, sinks, dead_letters);
    start_reading(config, pipeline, checkpoint, metrics, started)
}

/// Opens the sinks. Opening may wait on a server that answers slowly: a
/// stop request still ends the run, which has read nothing yet.
async fn open_sinks(
    sinks: impl Future<Output = anyhow::Result<Vec<Sink>>>,
    stops: &mut impl Stops,
) -> Result<Vec<Sink>, Early> {
    tokio::pin!(sinks);
    loop {
        tokio::select! {
            opened = &mut sinks => return opened.map_err(Early::NoSink),
            request = stops.next() => match request {
                Request::Stop(signal) => return Err(Early::Stopped(signal)),
                // The sinks are opening their paths as they are now.
                Request::Reopen => {}
            },
        }
    }
}

/// Starts reading into the pipeline, and what shows the run while it goes.
fn start_reading(
    config: &Config,
    pipeline: Pipeline,
    checkpoint: Option<Arc<Checkpoint>>,
    metrics: Option<tokio::net::TcpListener>,
    started: Started,
) -> Result<Running, Early> {
    // Kept to report on when reading cannot start.
    let taken = checkpoint.clone();
    let started_reading = Source::start(
        &config.input,
        config.split.clone(),
        pipeline.intake(),
        &output_files(config),
        checkpoint,
    );
    match started_reading {
        Ok(reading) => Ok(Running {
            progress: watch(&pipeline, metrics, config, started, &reading),
            pipeline,
            reading,
        }),
        Err(error) => {
            let checkpoint = taken.map(|checkpoint| {
                CheckpointSummary::of(&checkpoint, &Err(anyhow::anyhow!("{error:#}")))
            });
            Err(Early::NoInput {
                error,
                pipeline: Box::new(pipeline),
                checkpoint,
            })
        }
    }
}

/// The checkpoint of a run that reads files, locked for this run and
/// read.
fn take_checkpoint(config: &Config) -> anyhow::Result<Option<Arc<Checkpoint>>> {
    Ok(match checkpoint_path(config) {
        Some(path) => Some(Arc::new(Checkpoint::load(path)?)),
        None => None,
    })
}

/// `--checkpoint`, when the run reads files.
fn checkpoint_path(config: &Config) -> Option<&std::path::Path> {
    match &config.input {
        crate::config::Input::Files(files) => files.checkpoint.as_deref(),
        crate::config::Input::Stdin | crate::config::Input::Letters(_) => None,
    }
}

/// The files shipper writes: never read as input.
fn output_files(config: &Config) -> Vec<std::path::PathBuf> {
    let files = config.sinks.iter().filter_map(|sink| match sink {
        SinkSpec::File(path) => Some(path.clone()),
        _ => None,
    });
    files
        .chain(config.summary.file.clone())
        .chain(config.dead_letter.clone())
        .collect()
}

/// Starts what shows the run while it goes: /metrics, stats lines and the
/// status line, as configured.
fn watch(
    pipeline: &Pipeline,
    metrics: Option<tokio::net::TcpListener>,
    config: &Config,
    started: Started,
    reading: &Source,
) -> Option<Progress> {
    let names = pipeline.sink_names().to_vec();
    if let Some(listener) = metrics {
        stats::serve_metrics(listener, pipeline.counts_view(), names.clone());
    }
    if let Some(interval) = config.stats_interval {
        stats::report_every(
            interval,
            pipeline.counts_view(),
            names.clone(),
            Inputs::of(&config.input),
            started,
        );
    }
    let events = match config.sinks.contains(&SinkSpec::Stdout) {
        true => Events::OnStdout,
        false => Events::Elsewhere,
    };
    Progress::start(
        config.progress,
        events,
        pipeline.counts_view(),
        names,
        reading.amount.clone(),
    )
}

impl Early {
    /// Says why, and concludes with a summary of nothing (so a script
    /// never reads a stale one), unless the run could not start at all.
    async fn conclude(self, config: &Config, started: Started) -> anyhow::Result<Status> {
        match self {
            Early::Failed(error) => Err(error),
            Early::NoCheckpoint(error) => {
                diagnostics::say!("shipper: {error:#}");
                let unsaved =
                    checkpoint_path(config).map(|path| CheckpointSummary::unsaved(path, &error));
                nothing_shipped(config, Status::CouldNotRun, None, unsaved, started)
            }
            Early::Stopped(signal) => {
                diagnostics::say!("shipper: {} received while the sinks opened", signal.name());
                nothing_shipped(config, signal.status(), Some(signal), None, started)
            }
            Early::NoSink(error) => {
                diagnostics::say!("shipper: {}", diagnostics::escape(&format!("{error:#}")));
                nothing_shipped(config, Status::CouldNotRun, None, None, started)
            }
            Early::NoInput {
                error,
                pipeline,
                checkpoint,
            } => could_not_read(&error, *pipeline, config, checkpoint, started).await,
        }
    }
}

/// A sink could not open, or a signal came while they opened: the run
/// stops before reading anything, with a summary of nothing (so a script
/// never reads a stale one).
fn nothing_shipped(
    config: &Config,
    status: Status,
    signal: Option<Signal>,
    checkpoint: Option<CheckpointSummary>,
    started: Started,
) -> anyhow::Result<Status> {
    let names: Vec<String> = config.sinks.iter().map(sink_label).collect();
    let mut summary = Summary::new(&Counts::none(names.len(), config), &names, &[]);
    summary.checkpoint = checkpoint;
    finish(
        &mut summary,
        config,
        status,
        signal,
        started,
        started.instant,
    );
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
    started: Started,
) -> anyhow::Result<Status> {
    diagnostics::say!("shipper: {}", diagnostics::escape(&format!("{err:#}")));
    pipeline.intake().close();
    let failures = pipeline.drain().await;
    let close_errors: Vec<_> = failures
        .iter()
        .map(|f| (f.sink, f.error.to_string()))
        .collect();
    let mut summary = Summary::new(&pipeline.counts(), pipeline.sink_names(), &close_errors);
    summary.checkpoint = checkpoint;
    finish(
        &mut summary,
        config,
        Status::CouldNotRun,
        None,
        started,
        started.instant,
    );
    report(&summary, config)?;
    Ok(Status::CouldNotRun)
}

/// Reads until the input ends or a stop is requested. A stop stops
/// intake; the reader is given `READ_GRACE` to hand over what it read.
async fn read_until_stop(
    pipeline: &Pipeline,
    mut reading: Source,
    stops: &mut impl Stops,
) -> Stopped {
    let reopener = pipeline.reopener();
    let stop = loop {
        tokio::select! {
            read = &mut reading.handle.done => break Stop::EndOfInput(read.unwrap_or(Ok(()))),
            request = stops.next() => match request {
                Request::Stop(signal) => break Stop::Signal(signal),
                Request::Reopen => reopen(&reopener),
            },
            () = pipeline.sinks_failed_for_good() => break Stop::SinksFailed,
        }
    };
    if !matches!(stop, Stop::EndOfInput(_)) {
        pipeline.stop_intake();
        reading.wake();
        stop_reading(pipeline, reading.handle.done);
    }
    let at = Instant::now();
    let mut thread = Some(reading.handle.thread);
    if let Stop::EndOfInput(_) = stop
        && let Some(thread) = thread.take()
    {
        // The thread has sent its result and is ending.
        let _ = thread.join();
    }
    tell_stop(&stop, reading.what);
    Stopped {
        stop,
        at,
        thread,
        blocked: reading.blocked,
        unfinished: reading.handle.unfinished,
        checkpoint: reading.checkpoint,
    }
}

/// Asks the file sinks to reopen their paths before their next batch.
fn reopen(reopener: &Reopener) {
    diagnostics::info(
        "shutdown",
        "SIGHUP received: reopening the file sinks",
        json!({"signal": "SIGHUP"}),
    );
    reopener.reopen();
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
        Stop::SinksFailed => diagnostics::info(
            "shutdown",
            "no sink can write any more: stopped reading, draining",
            json!({}),
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
    let intake = pipeline.intake();
    tokio::spawn(async move {
        let _ = tokio::time::timeout(READ_GRACE, reader_done).await;
        intake.close();
    });
}

/// Drains, stops the status line, and counts what an unfinished drain
/// left in flight.
async fn drain(
    pipeline: &mut Pipeline,
    stops: &mut impl Stops,
    stop: &Stop,
    config: &Config,
    progress: Option<Progress>,
) -> Drained {
    let how = drain_in_time(pipeline, stops, stop, config).await;
    if let Some(progress) = progress {
        progress.finish();
    }
    let close_errors = settle_drain(pipeline, &how, config);
    Drained { how, close_errors }
}

/// Drains within the shutdown timeout. A stop request cuts the drain
/// short if one already stopped the run; after the input ended on its
/// own, the first request only warns, and a second one cuts.
async fn drain_in_time(
    pipeline: &mut Pipeline,
    stops: &mut impl Stops,
    stop: &Stop,
    config: &Config,
) -> Drain {
    let reopener = pipeline.reopener();
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
            request = stops.next() => {
                let signal = match request {
                    Request::Stop(signal) => signal,
                    Request::Reopen => {
                        reopen(&reopener);
                        continue;
                    }
                };
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

/// Lets the reader hand over what it holds, then reports what it left:
/// descriptors it still waits for, and, stopped by a signal, the start of
/// a line whose end never came.
async fn let_reader_finish(stopped: &Stopped) {
    wait_for_reader(stopped.thread.as_ref(), &stopped.blocked).await;
    source::descriptors::report_waiting();
    if let Stop::Signal(_) = stopped.stop {
        source::report_unfinished(&stopped.unfinished);
    }
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
async fn wait_for_reader(thread: Option<&JoinHandle<()>>, blocked: &AtomicBool) {
    let Some(thread) = thread else {
        return;
    };
    let limit = Instant::now() + HAND_OVER_LIMIT;
    let mut blocked_since = None;
    while !thread.is_finished() && Instant::now() < limit {
        if blocked.load(Ordering::Relaxed) {
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

/// The files' last positions, saved after the drain: where every event is
/// settled, or, when the drain finished, everything the queue took. The
/// file reader hands its positions over as it ends, which it does at once
/// once intake stops; it is given a moment to.
async fn save_checkpoint(
    stopped: &Stopped,
    pipeline: &Pipeline,
    drain: &Drain,
) -> anyhow::Result<()> {
    let Some(checkpoint) = stopped.checkpoint.as_deref() else {
        return Ok(());
    };
    let deadline = Instant::now() + std::time::Duration::from_secs(1);
    let running = || {
        stopped
            .thread
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    };
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

/// The summary, printed and written, and the exit status.
fn conclude(
    config: &Config,
    pipeline: &Pipeline,
    stopped: &Stopped,
    drained: &Drained,
    saved: anyhow::Result<()>,
    started: Started,
) -> anyhow::Result<Status> {
    let close_errors = &drained.close_errors;
    let mut summary = Summary::new(&pipeline.counts(), pipeline.sink_names(), close_errors);
    summary.checkpoint = stopped
        .checkpoint
        .as_deref()
        .map(|checkpoint| CheckpointSummary::of(checkpoint, &saved));
    let signal = match (&stopped.stop, &drained.how) {
        (Stop::Signal(signal), _) | (_, Drain::Cut(signal)) => Some(*signal),
        _ => None,
    };
    // Positions that were not saved make a restart repeat lines: that
    // outranks even a signal, which is how a follower always stops.
    let status = match (&stopped.stop, signal) {
        _ if saved.is_err() => Status::CouldNotRun,
        (_, Some(signal)) => signal.status(),
        (Stop::EndOfInput(Err(_)), None) => Status::CouldNotRun,
        _ if summary.dropped > 0 || !close_errors.is_empty() => Status::Dropped,
        _ => Status::Delivered,
    };
    finish(&mut summary, config, status, signal, started, stopped.at);
    // Also when the input ended before the write that found it closed.
    let closed_stdout = config.sinks == [SinkSpec::Stdout] && pipeline.every_sink_failed();
    match closed_stdout {
        true => report_closed_stdout(&summary, config)?,
        false => report(&summary, config)?,
    }
    Ok(status)
}

/// What only the end of the run can tell, and what it read from.
fn finish(
    summary: &mut Summary,
    config: &Config,
    status: Status,
    signal: Option<Signal>,
    started: Started,
    drain_started: Instant,
) {
    summary.started_at = started.wall;
    summary.ended_at = std::time::SystemTime::now();
    summary.inputs = Inputs::of(&config.input);
    summary.stopped_by = signal.map(Signal::name);
    summary.exit_code = status.code();
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    summary.drain_seconds = drain_started.elapsed().as_secs_f64();
}

/// Colour only on a terminal, and never when NO_COLOR is set.
fn colour() -> bool {
    use std::io::IsTerminal;
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    std::io::stderr().is_terminal() && !no_colour
}

fn report(summary: &Summary, config: &Config) -> anyhow::Result<()> {
    report_as(summary, config, |summary| summary.to_text(colour()))
}

/// Standard output was the only sink, and its reader went away
/// (`shipper app.log | head -1`): as ripgrep or jq would, shipper ends
/// quietly, with one line in place of the text summary; the summary file
/// and a JSON summary are as always.
fn report_closed_stdout(summary: &Summary, config: &Config) -> anyhow::Result<()> {
    report_as(summary, config, |summary| {
        format!(
            "shipper: standard output was closed; {} events read were not written",
            summary.dropped
        )
    })
}

/// The summary file, then the summary on stderr as `--summary` asks, with
/// `text` for its text form.
fn report_as(
    summary: &Summary,
    config: &Config,
    text: impl FnOnce(&Summary) -> String,
) -> anyhow::Result<()> {
    // Held-back diagnostics first: the summary is the last word on stderr.
    diagnostics::flush();
    // The file first: what a script reads does not depend on stderr.
    let written = match &config.summary.file {
        Some(path) => summary.write_file(path),
        None => Ok(()),
    };
    match config.summary.format {
        SummaryFormat::Text => diagnostics::say!("{}", text(summary)),
        SummaryFormat::Json => {
            diagnostics::say!("{}", diagnostics::terminal_json(summary.to_json()))
        }
        SummaryFormat::None => {}
    }
    written
}

#[cfg(test)]
mod tests;
