//! The tasks that feed the sinks: each sink gets the batches the worker
//! sends it, and each batch is settled with the ledger as the sink wrote it.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use serde_json::json;
use tokio::sync::mpsc;

use super::dead_letters::{DeadLetters, Loss};
use super::ledger::Ledger;
use crate::batch::{Batch, SinkReport};
use crate::diagnostics;
use crate::sink::{BlockingSink, NetworkSink, Sink, SinkError, WriteOutcome};

/// What the run asks of the sinks' tasks, and what they tell it back.
pub(super) struct Between {
    /// Bumped by each request to reopen: a blocking sink that has not yet
    /// reopened for the latest one does so before its next batch.
    reopens: AtomicU64,
    /// How many sinks can never write again.
    failed_for_good: tokio::sync::watch::Sender<usize>,
    /// Where events the sinks give up on are kept, if anywhere.
    dead_letters: Option<DeadLetters>,
}

impl Between {
    pub(super) fn new(dead_letters: Option<DeadLetters>) -> Between {
        Between {
            reopens: AtomicU64::new(0),
            failed_for_good: tokio::sync::watch::Sender::new(0),
            dead_letters,
        }
    }

    /// Asks every blocking sink to reopen before its next batch.
    pub(super) fn reopen(&self) {
        self.reopens.fetch_add(1, Ordering::SeqCst);
    }

    /// How many sinks have failed for good so far.
    pub(super) fn failed(&self) -> usize {
        *self.failed_for_good.borrow()
    }

    /// Ready once `sinks` sinks have failed for good; pending forever when
    /// there are none.
    pub(super) async fn all_failed(&self, sinks: usize) {
        let mut failed = self.failed_for_good.subscribe();
        if sinks == 0 || failed.wait_for(|&failed| failed >= sinks).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Feeds one sink the batches it is sent, settling each with the ledger,
/// and hands the sink back once the channel closes. A blocking sink gets
/// a thread of its own for its whole life (one hand-off per batch, not a
/// thread per batch); a network sink runs on the runtime.
pub(super) async fn drive(
    sink: Sink,
    index: usize,
    batches: mpsc::Receiver<Arc<Batch>>,
    ledger: Arc<Ledger>,
    between: Arc<Between>,
) -> Sink {
    match sink {
        Sink::Blocking(sink) => Sink::Blocking(
            tokio::task::spawn_blocking(move || {
                drive_blocking(sink, index, batches, ledger, &between)
            })
            .await
            .expect("a sink's thread panicked"),
        ),
        Sink::Network(sink) => {
            Sink::Network(drive_network(sink, index, batches, ledger, between).await)
        }
    }
}

fn drive_blocking(
    mut sink: Box<dyn BlockingSink>,
    index: usize,
    mut batches: mpsc::Receiver<Arc<Batch>>,
    ledger: Arc<Ledger>,
    between: &Between,
) -> Box<dyn BlockingSink> {
    // The sink was opened before any request to reopen was counted: one
    // that came before this thread started is still owed (a SIGHUP early
    // in a run on a busy machine).
    let mut reopened = 0;
    let mut failed = false;
    while let Some(batch) = batches.blocking_recv() {
        if batch.len() == 0 {
            // Only lines passed over: nothing to write, positions to settle.
            ledger.settle(&batch, index, 0);
            continue;
        }
        reopen_if_asked(sink.as_mut(), between, &mut reopened);
        let outcome = sink.write_batch(&batch);
        let tried = Tried {
            outcome,
            attempts: 1,
        };
        settle(sink.name(), index, &batch, tried, &ledger, between);
        if !failed && sink.failed_for_good() {
            failed = true;
            between.failed_for_good.send_modify(|failed| *failed += 1);
        }
    }
    sink
}

/// Reopens the sink if a reopen was asked since it last did; a failure is
/// said, and the sink's writes then fail (counted) until its path opens.
fn reopen_if_asked(sink: &mut dyn BlockingSink, between: &Between, reopened: &mut u64) {
    let asked = between.reopens.load(Ordering::SeqCst);
    if asked == *reopened {
        return;
    }
    *reopened = asked;
    if let Err(error) = sink.reopen() {
        let name = sink.name();
        diagnostics::error("sink", &format!("reopen:{name}"), || {
            (
                format!("could not reopen sink {name}: {error}"),
                json!({"sink": name, "error": error.to_string()}),
            )
        });
    }
}

async fn drive_network(
    mut sink: Box<dyn NetworkSink>,
    index: usize,
    mut batches: mpsc::Receiver<Arc<Batch>>,
    ledger: Arc<Ledger>,
    between: Arc<Between>,
) -> Box<dyn NetworkSink> {
    while let Some(batch) = batches.recv().await {
        if batch.len() == 0 {
            // Only lines passed over: nothing to write, positions to settle.
            ledger.settle(&batch, index, 0);
            continue;
        }
        let retries = AtomicU32::new(0);
        let retrying = || {
            retries.fetch_add(1, Ordering::Relaxed);
            ledger.retried(index, 1);
        };
        let outcome = sink.write(&batch, &retrying).await;
        let attempts = 1 + retries.into_inner();
        let tried = Tried { outcome, attempts };
        if between.dead_letters.is_none() || !tried.outcome.lost_any(batch.len()) {
            settle(sink.name(), index, &batch, tried, &ledger, &between);
            continue;
        }
        // Keeping letters waits on the disk: not on the runtime's thread.
        let (name, ledger, between) = (
            sink.name().to_owned(),
            Arc::clone(&ledger),
            Arc::clone(&between),
        );
        tokio::task::spawn_blocking(move || settle(&name, index, &batch, tried, &ledger, &between))
            .await
            .expect("settling a batch panicked");
    }
    sink
}

/// What a sink did with a batch, and after how many attempts.
struct Tried {
    outcome: WriteOutcome,
    attempts: u32,
}

/// Reports a failure, if any, keeps what the sink gave up on as dead
/// letters (durable before the batch settles), and settles the batch for
/// this sink.
fn settle(
    name: &str,
    index: usize,
    batch: &Batch,
    tried: Tried,
    ledger: &Ledger,
    between: &Between,
) {
    let outcome = tried.outcome;
    if let Some(error) = &outcome.error {
        report_failure(name, batch, outcome.written, error);
    }
    report_refusals(name, batch, &outcome);
    if let Some(letters) = &between.dead_letters
        && outcome.lost_any(batch.len())
    {
        let unsaid = SinkError {
            kind: "NotWritten".to_owned(),
            message: "the sink stopped short (its error was told before)".to_owned(),
            status: None,
        };
        let lost = lost_lines(batch, &outcome, &unsaid);
        keep_letters(letters, name, batch, lost, tried.attempts, ledger);
    }
    let refused = outcome.refused_lines();
    let report = SinkReport {
        written: outcome.written,
        refused: &refused,
        unnamed: outcome.unnamed_count(),
    };
    ledger.settle_report(batch, index, &report);
}

/// The lines a sink gave up on, each with the error that cost it: those
/// it did not send, and those its receiver turned away.
fn lost_lines<'a>(
    batch: &Batch,
    outcome: &'a WriteOutcome,
    unsaid: &'a SinkError,
) -> Vec<(usize, &'a SinkError)> {
    let error = outcome.error.as_ref().unwrap_or(unsaid);
    let mut lost: Vec<_> = (outcome.written.min(batch.len())..batch.len())
        .map(|line| (line, error))
        .collect();
    let refused = outcome
        .refused
        .iter()
        .map(|refusal| (refusal.line, &refusal.error));
    lost.extend(refused.filter(|&(line, _)| line < outcome.written));
    lost.sort_by_key(|&(line, _)| line);
    lost
}

/// Writes the letters and counts them; a failure to is said, and the
/// events stay counted as dropped only.
fn keep_letters(
    letters: &DeadLetters,
    name: &str,
    batch: &Batch,
    lines: Vec<(usize, &SinkError)>,
    attempts: u32,
    ledger: &Ledger,
) {
    let loss = Loss {
        sink: name,
        attempts,
        lines,
    };
    match letters.keep(batch, &loss) {
        Ok(kept) => ledger.dead_lettered(kept),
        Err(error) => diagnostics::error("dead_letter", "write", || {
            (
                format!(
                    "could not keep {} events {name} gave up on in the dead-letter file: {error}",
                    loss.lines.len()
                ),
                json!({"sink": name, "events": loss.lines.len(), "error": error.to_string()}),
            )
        }),
    }
}

/// Names the sink and the events its receiver turned away although they
/// were sent, with the receiver's reasons: one diagnostic per batch, with
/// the first reason of each kind.
fn report_refusals(name: &str, batch: &Batch, outcome: &WriteOutcome) {
    let mut reasons: Vec<(&SinkError, usize)> = Vec::new();
    let named = outcome.refused.iter().map(|refusal| (&refusal.error, 1));
    let unnamed = outcome.unnamed.iter().map(|(count, error)| (error, *count));
    for (error, count) in named.chain(unnamed).filter(|&(_, count)| count > 0) {
        match reasons.iter_mut().find(|(seen, _)| seen.kind == error.kind) {
            Some((_, seen)) => *seen += count,
            None => reasons.push((error, count)),
        }
    }
    if reasons.is_empty() {
        return;
    }
    let refused: usize = reasons.iter().map(|(_, count)| count).sum();
    let first = reasons[0].0;
    diagnostics::error("sink", &format!("refused:{name}"), || {
        (
            format!(
                "{name} refused {refused} of {} events: {}",
                batch.len(),
                first.message
            ),
            json!({
                "sink": name,
                "refused": refused,
                "batch_events": batch.len(),
                "reasons": reasons.iter().map(|(error, count)| json!({
                    "kind": error.kind,
                    "error": error.message,
                    "status": error.status,
                    "events": count,
                })).collect::<Vec<_>>(),
            }),
        )
    });
}

/// Closes a sink; a blocking one on a blocking thread.
pub(super) async fn close(sink: Sink) -> io::Result<()> {
    match sink {
        Sink::Blocking(mut sink) => tokio::task::spawn_blocking(move || sink.close())
            .await
            .expect("a sink's close panicked"),
        Sink::Network(mut sink) => sink.close().await,
    }
}

/// Names the sink, the error and the events not written.
fn report_failure(name: &str, batch: &Batch, written: usize, error: &SinkError) {
    diagnostics::error("sink", &format!("write:{name}"), || {
        (
            format!(
                "sink {name} failed to write {} of {} events: {}",
                batch.len() - written,
                batch.len(),
                error.message
            ),
            json!({
                "sink": name,
                "error_kind": error.kind,
                "error": error.message,
                "status": error.status,
                "batch_events": batch.len(),
                "written": written,
            }),
        )
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::batch::BatchBuilder;
    use crate::sink::memory::{MemorySink, Record};

    #[test]
    fn a_reopen_asked_before_the_sink_s_thread_started_is_not_lost() {
        let between = Between::new(None);
        between.reopen();
        let record = Arc::new(Mutex::new(Record::default()));
        let sink = Box::new(MemorySink::new("m", Arc::clone(&record)));
        let (send, batches) = mpsc::channel(1);
        let mut builder = BatchBuilder::new(1);
        builder.push(1, |out| {
            out.extend_from_slice(b"line");
            true
        });
        send.try_send(Arc::new(builder.take(1))).unwrap();
        drop(send);
        let ledger = Arc::new(Ledger::new(1));
        drive_blocking(sink, 0, batches, ledger, &between);
        assert_eq!(record.lock().unwrap().reopened, [("m".to_owned(), 0)]);
    }
}
