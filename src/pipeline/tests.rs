//! The pipeline run in-process with memory sinks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::config::{EnvelopeConfig, EnvelopeMode, WhenFull};
use crate::sink::memory::{MemorySink, Record};
use crate::source::{Chunk, Span};

fn config(batch_size: usize) -> PipelineConfig {
    PipelineConfig {
        queue_capacity: 100,
        queue_max_bytes: 1 << 20,
        when_full: WhenFull::Block,
        batch_size,
        batch_timeout: Duration::from_millis(250),
        shutdown_timeout: Duration::from_secs(10),
    }
}

fn raw_encoder() -> Encoder {
    let config = EnvelopeConfig {
        mode: EnvelopeMode::Raw,
        max_line_bytes: 1 << 20,
        fields: Vec::new(),
    };
    Encoder::new(&config, "test")
}

fn chunk_of(lines: &[&str]) -> Chunk {
    let mut data = Vec::new();
    let mut spans = Vec::new();
    for line in lines {
        spans.push(Span {
            start: data.len() as u32,
            len: line.len() as u32,
            cut_from: None,
        });
        data.extend_from_slice(line.as_bytes());
    }
    Chunk {
        data: Arc::new(data),
        spans,
        blank: 0,
        read_at: std::time::SystemTime::now(),
        source: "test".into(),
    }
}

fn assert_invariant(counts: &Counts) {
    let tally = &counts.tally;
    assert_eq!(
        counts.intake.submitted,
        tally.processed + tally.dropped_total(),
        "submitted == processed + dropped: {counts:?}"
    );
    assert!(counts.intake.high_watermark <= counts.queue_capacity);
}

/// Pushes `lines` through a pipeline with the given sinks and drains it.
async fn run(
    lines: &[&str],
    batch_size: usize,
    sinks: Vec<AnySink>,
) -> (Counts, Vec<CloseFailure>) {
    let mut pipeline = Pipeline::start(&config(batch_size), raw_encoder(), sinks);
    let queue = pipeline.queue();
    let chunk = chunk_of(lines);
    tokio::task::spawn_blocking(move || queue.push(chunk))
        .await
        .unwrap()
        .unwrap();
    pipeline.queue().close();
    let failures = pipeline.drain().await;
    let counts = pipeline.counts();
    assert_invariant(&counts);
    (counts, failures)
}

fn memory(name: &str, record: &Arc<Mutex<Record>>) -> MemorySink {
    MemorySink::new(name, Arc::clone(record))
}

#[tokio::test]
async fn every_event_reaches_every_sink_in_order() {
    let first = Arc::default();
    let second = Arc::default();
    let sinks = vec![
        AnySink::Memory(memory("one", &first)),
        AnySink::Memory(memory("two", &second)),
    ];
    let lines: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (counts, failures) = run(&lines, 7, sinks).await;
    assert!(failures.is_empty());
    assert_eq!(counts.tally.processed, 50);
    assert_eq!(counts.tally.batches, 8);
    for record in [first, second] {
        let events = &record.lock().unwrap().events;
        let got: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
        let want: Vec<&[u8]> = lines.iter().map(|line| line.as_bytes()).collect();
        assert_eq!(got, want);
    }
}

#[tokio::test]
async fn a_failing_sink_costs_only_its_own_events() {
    let record = Arc::default();
    let sinks = vec![
        AnySink::Memory(memory("healthy", &record)),
        AnySink::Memory(memory("flaky", &Arc::default()).failing_at(5)),
    ];
    let lines = ["a"; 20];
    let (counts, _) = run(&lines, 4, sinks).await;
    let tally = &counts.tally;
    assert_eq!(tally.sinks[0].written, 20);
    assert_eq!(
        tally.sinks[1].written, 17,
        "events 5 to 7, the rest of its second batch, failed"
    );
    assert_eq!(tally.sinks[1].failed, 3);
    assert_eq!(tally.dropped_for(DropReason::SinkError), 3);
    assert_eq!(tally.processed, 17, "the next batch is written normally");
}

#[tokio::test]
async fn sinks_close_in_reverse_order_and_a_failed_close_stops_none() {
    let record: Arc<Mutex<Record>> = Arc::default();
    let sinks = vec![
        AnySink::Memory(memory("first", &record)),
        AnySink::Memory(memory("second", &record).failing_close()),
        AnySink::Memory(memory("third", &record)),
    ];
    let (_, failures) = run(&["x"], 10, sinks).await;
    assert_eq!(record.lock().unwrap().closed, ["third", "second", "first"]);
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].sink, 1);
}

#[tokio::test(start_paused = true)]
async fn a_partial_batch_goes_out_after_the_timeout() {
    let record: Arc<Mutex<Record>> = Arc::default();
    let pipeline = Pipeline::start(
        &config(100),
        raw_encoder(),
        vec![AnySink::Memory(memory("m", &record))],
    );
    pipeline.queue().push(chunk_of(&["a", "b"])).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(pipeline.counts().tally.batches, 0, "not yet");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The write itself runs on a blocking thread, outside paused time.
    while pipeline.counts().tally.processed < 2 {
        tokio::task::yield_now().await;
    }
    assert_eq!(pipeline.counts().tally.batches, 1);
}
