//! The whole lifecycle in-process, under tokio's paused clock: memory
//! sinks, a pipe read the way standard input is, and stop requests sent
//! by the test instead of signals. Time moves only when a test moves it
//! (a blocking sink's thread keeps the paused clock from jumping ahead).

use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use serde_json::Value;
use tokio::sync::mpsc;

use super::*;
use crate::sink::memory::{Gate, MemorySink, Record};

/// Requests the test sends, as signals would come.
struct Requests {
    requests: mpsc::UnboundedReceiver<Request>,
    /// How many the run has taken.
    taken: Arc<AtomicUsize>,
}

impl Stops for Requests {
    async fn next(&mut self) -> Request {
        match self.requests.recv().await {
            Some(request) => {
                self.taken.fetch_add(1, Ordering::SeqCst);
                request
            }
            None => std::future::pending().await,
        }
    }
}

/// A run's stop requests: what sends them, what the run listens to, and
/// how many it has taken.
fn requests() -> (mpsc::UnboundedSender<Request>, Requests, Arc<AtomicUsize>) {
    let (send, requests) = mpsc::unbounded_channel();
    let taken = Arc::new(AtomicUsize::new(0));
    let requests = Requests {
        requests,
        taken: Arc::clone(&taken),
    };
    (send, requests, taken)
}

/// Settings from command-line words, with the summary written to a file
/// and nothing shown on stderr but warnings.
fn settings(dir: &tempfile::TempDir, words: &[&str]) -> Config {
    let summary = dir.path().join("summary.json");
    let words = ["shipper", "--summary", "none", "--progress", "never"]
        .into_iter()
        .chain(["--summary-file", summary.to_str().unwrap()])
        .chain(words.iter().copied());
    Config::from_args(crate::cli::Args::try_parse_from(words).unwrap()).unwrap()
}

/// The summary a script would read.
fn summary(dir: &tempfile::TempDir) -> Value {
    let text = std::fs::read(dir.path().join("summary.json")).unwrap();
    let summary: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(
        summary["submitted"],
        summary["processed"].as_u64().unwrap() + summary["dropped"].as_u64().unwrap(),
        "submitted == processed + dropped: {summary}"
    );
    summary
}

/// A pipe named `/dev/fd/N`, read like standard input (`shipper <(app)`).
struct Pipe {
    /// Kept open until the reader has opened the pipe by its name.
    read: std::io::PipeReader,
    /// Dropped for the end of input.
    write: Option<std::io::PipeWriter>,
}

impl Pipe {
    fn with(lines: usize) -> Pipe {
        let (read, mut write) = std::io::pipe().unwrap();
        for line in 0..lines {
            writeln!(write, "line {line}").unwrap();
        }
        Pipe {
            read,
            write: Some(write),
        }
    }

    fn name(&self) -> String {
        format!("/dev/fd/{}", self.read.as_raw_fd())
    }

    fn end(&mut self) {
        self.write = None;
    }
}

fn memory(name: &str, record: &Arc<Mutex<Record>>) -> Sink {
    Sink::Blocking(Box::new(MemorySink::new(name, Arc::clone(record))))
}

fn held(name: &str, record: &Arc<Mutex<Record>>, gate: &Arc<Gate>) -> Sink {
    let sink = MemorySink::new(name, Arc::clone(record)).held_at(Arc::clone(gate));
    Sink::Blocking(Box::new(sink))
}

/// Opens the gate when dropped, even by a failing test: a sink's thread
/// held at it would keep the runtime from shutting down.
struct LetGo(Arc<Gate>);

impl Drop for LetGo {
    fn drop(&mut self) {
        self.0.open();
    }
}

async fn opened(sinks: Vec<Sink>) -> anyhow::Result<Vec<Sink>> {
    Ok(sinks)
}

/// Lets the run go on until `done` holds, failing after ten seconds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "still waiting for {what}");
        tokio::task::yield_now().await;
    }
}

/// `run` to its end, failing after ten seconds. The watch is kept on a
/// thread of its own: a task polling here would keep the paused clock from
/// jumping ahead when the run waits on a timer.
async fn ended<T>(run: impl Future<Output = T>) -> T {
    let (ring, alarm) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(10));
        let _ = ring.send(());
    });
    tokio::select! {
        ended = run => ended,
        _ = alarm => panic!("the run did not end within ten seconds"),
    }
}

fn events(record: &Arc<Mutex<Record>>) -> usize {
    record.lock().unwrap().events.len()
}

#[tokio::test(start_paused = true)]
async fn at_the_end_of_input_the_queue_drains_and_the_sinks_close_in_reverse_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut pipe = Pipe::with(10);
    pipe.end();
    let config = settings(&dir, &[&pipe.name()]);
    let record = Arc::default();
    let sinks = ["first", "second", "third"].map(|name| memory(name, &record));
    let (_send, stops, _) = requests();

    let status = ended(ship(&config, opened(sinks.into()), stops))
        .await
        .unwrap();

    assert_eq!(status, Status::Delivered);
    let record = record.lock().unwrap();
    assert_eq!(record.closed, ["third", "second", "first"]);
    assert_eq!(record.events.len(), 30, "every event reached every sink");
    let summary = summary(&dir);
    assert_eq!(summary["submitted"], 10);
    assert_eq!(summary["processed"], 10);
    assert_eq!(summary["stopped_by"], Value::Null);
}

#[tokio::test(start_paused = true)]
async fn a_stop_request_stops_intake_and_the_drain_still_delivers_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    // Five lines, then silence: the reader waits in a read. (Lines are
    // not grouped: an event held for its next line waits on the real
    // clock, which this test's paused one does not move.)
    let mut pipe = Pipe::with(5);
    let config = settings(
        &dir,
        &[&pipe.name(), "--batch-size", "2", "--multiline", "off"],
    );
    let record = Arc::default();
    let (send, stops, taken) = requests();
    let run = ship(&config, opened(vec![memory("memory", &record)]), stops);
    let stop = async {
        until("two batches written", || events(&record) == 4).await;
        send.send(Signal::Terminate.into()).unwrap();
        until("the stop taken", || taken.load(Ordering::SeqCst) == 1).await;
        // The reader, waiting on a silent pipe, is given `READ_GRACE`.
        for _ in 0..10 {
            tokio::time::advance(READ_GRACE).await;
        }
    };

    let (status, ()) = tokio::join!(ended(run), stop);

    // The run ended although its input never did.
    assert_eq!(status.unwrap(), Status::Terminated);
    pipe.end();
    let record = record.lock().unwrap();
    assert_eq!(
        record.events.len(),
        5,
        "the held-back partial batch went out"
    );
    assert_eq!(record.closed, ["memory"]);
    let summary = summary(&dir);
    assert_eq!(summary["lines_read"], 5);
    assert_eq!(summary["processed"], 5);
    assert_eq!(summary["dropped"], 0);
    assert_eq!(summary["stopped_by"], "SIGTERM");
    assert_eq!(summary["exit_code"], 143);
}

#[tokio::test(start_paused = true)]
async fn a_second_stop_request_cuts_the_drain_short_and_counts_the_rest_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = Pipe::with(5);
    let config = settings(&dir, &[&pipe.name(), "--batch-size", "2"]);
    let record = Arc::default();
    let (send, stops, _) = requests();
    let run = ship(&config, opened(vec![memory("memory", &record)]), stops);
    let stop = async {
        until("two batches written", || events(&record) == 4).await;
        // The clock stands still: the first stop's drain waits on the
        // reader for as long as the second takes to come.
        send.send(Signal::Interrupt.into()).unwrap();
        send.send(Signal::Interrupt.into()).unwrap();
    };

    let (status, ()) = tokio::join!(ended(run), stop);

    assert_eq!(status.unwrap(), Status::Interrupted);
    let summary = summary(&dir);
    assert_eq!(summary["submitted"], 5);
    assert_eq!(summary["processed"], 4);
    assert_eq!(summary["dropped"], 1);
    assert_eq!(summary["dropped_by_reason"]["shutdown"], 1);
    assert_eq!(summary["stopped_by"], "SIGINT");
    assert_eq!(summary["exit_code"], 130);
    drop(pipe);
}

#[tokio::test(start_paused = true)]
async fn events_in_flight_when_the_shutdown_timeout_passes_are_counted_shutdown_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut pipe = Pipe::with(10);
    pipe.end();
    let config = settings(&dir, &[&pipe.name(), "--shutdown-timeout", "5s"]);
    let record = Arc::default();
    let gate = Arc::new(Gate::default());
    let _let_go = LetGo(Arc::clone(&gate));
    let (_send, stops, _) = requests();
    let began = tokio::time::Instant::now();
    let run = ship(&config, opened(vec![held("hung", &record, &gate)]), stops);
    tokio::pin!(run);
    let status = ended(async {
        loop {
            tokio::select! {
                status = &mut run => break status,
                () = tokio::time::advance(Duration::from_millis(100)) => {}
            }
        }
    })
    .await;

    assert_eq!(status.unwrap(), Status::Dropped);
    assert!(began.elapsed() >= Duration::from_secs(5));
    let summary = summary(&dir);
    assert_eq!(summary["submitted"], 10);
    assert_eq!(summary["processed"], 0);
    assert_eq!(summary["dropped_by_reason"]["shutdown_timeout"], 10);
}

#[tokio::test(start_paused = true)]
async fn the_checkpoint_is_saved_after_the_drain() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "a\nb\nc\n").unwrap();
    let checkpoint = dir.path().join("checkpoint.json");
    let config = settings(
        &dir,
        &[
            log.to_str().unwrap(),
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ],
    );
    let (written, held_back) = (Arc::default(), Arc::default());
    let gate = Arc::new(Gate::default());
    let _let_go = LetGo(Arc::clone(&gate));
    let sinks = vec![memory("fast", &written), held("slow", &held_back, &gate)];
    let (_send, stops, _) = requests();
    let run = ship(&config, opened(sinks), stops);
    let saved_offset = || {
        let text = std::fs::read(&checkpoint).unwrap();
        let saved: Value = serde_json::from_slice(&text).unwrap();
        saved["files"][0]["offset"].as_u64().unwrap()
    };
    let check = async {
        until("every event batched", || events(&written) == 3).await;
        // Time for the run to reach its drain: a save ahead of it would
        // show here.
        let window = Instant::now() + Duration::from_millis(100);
        until("the window", || Instant::now() >= window).await;
        assert_eq!(saved_offset(), 0, "nothing is saved before the drain");
        gate.open();
    };

    let (status, ()) = tokio::join!(ended(run), check);

    assert_eq!(status.unwrap(), Status::Delivered);
    assert_eq!(saved_offset(), 6);
    assert_eq!(held_back.lock().unwrap().closed, ["slow"]);
    let summary = summary(&dir);
    assert_eq!(summary["processed"], 3);
    assert_eq!(summary["checkpoint"]["saved"], true);
    assert_eq!(summary["checkpoint"]["files"][0]["offset"], 6);
}

#[tokio::test(start_paused = true)]
async fn a_stop_request_while_the_sinks_open_ends_the_run_before_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = Pipe::with(3);
    let config = settings(&dir, &[&pipe.name()]);
    let (send, stops, _) = requests();
    // A sink that never finishes opening, as a server that does not answer.
    let never_open = std::future::pending::<anyhow::Result<Vec<Sink>>>();
    send.send(Signal::Interrupt.into()).unwrap();

    let status = ended(ship(&config, never_open, stops)).await.unwrap();

    assert_eq!(status, Status::Interrupted);
    let summary = summary(&dir);
    assert_eq!(summary["lines_read"], 0);
    assert_eq!(summary["submitted"], 0);
    assert_eq!(summary["stopped_by"], "SIGINT");
    drop(pipe);
}

#[tokio::test(start_paused = true)]
async fn a_reopen_request_reopens_the_sinks_before_their_next_batch_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // Four lines, then silence until the test writes two more.
    let mut pipe = Pipe::with(4);
    let config = settings(&dir, &[&pipe.name(), "--batch-size", "2"]);
    let record = Arc::default();
    let (send, stops, taken) = requests();
    let run = ship(&config, opened(vec![memory("memory", &record)]), stops);
    let hang_up = async {
        until("two batches written", || events(&record) == 4).await;
        send.send(Request::Reopen).unwrap();
        until("the request taken", || taken.load(Ordering::SeqCst) == 1).await;
        let write = pipe.write.as_mut().unwrap();
        writeln!(write, "line 4\nline 5").unwrap();
        pipe.end();
    };

    let (status, ()) = tokio::join!(ended(run), hang_up);

    assert_eq!(status.unwrap(), Status::Delivered, "a reopen stops nothing");
    let record = record.lock().unwrap();
    assert_eq!(record.events.len(), 6);
    assert_eq!(
        record.reopened,
        [("memory".to_owned(), 4)],
        "reopened once, before the batch that followed the request"
    );
    let summary = summary(&dir);
    assert_eq!(summary["processed"], 6);
    assert_eq!(summary["dropped"], 0);
    assert_eq!(summary["stopped_by"], Value::Null);
    assert_eq!(summary["exit_code"], 0);
}

#[tokio::test(start_paused = true)]
async fn a_reopen_request_while_the_sinks_open_is_no_stop() {
    let dir = tempfile::tempdir().unwrap();
    let mut pipe = Pipe::with(3);
    pipe.end();
    let config = settings(&dir, &[&pipe.name()]);
    let record = Arc::default();
    let (send, stops, _) = requests();
    send.send(Request::Reopen).unwrap();
    let sinks = async {
        // Opening takes a while; the request comes meanwhile.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(vec![memory("memory", &record)])
    };

    let status = ended(ship(&config, sinks, stops)).await.unwrap();

    assert_eq!(status, Status::Delivered);
    assert_eq!(events(&record), 3);
    let summary = summary(&dir);
    assert_eq!(summary["processed"], 3);
    assert_eq!(summary["stopped_by"], Value::Null);
}
