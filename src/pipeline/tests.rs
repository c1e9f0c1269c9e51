//! The pipeline run in-process with memory sinks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::chunk::{Chunk, Span};
use crate::config::{EnvelopeConfig, EnvelopeMode, WhenFull};
use crate::sink::memory::{Gate, MemorySink, Record};

fn config(batch_size: usize) -> PipelineConfig {
    PipelineConfig {
        queue_capacity: 100,
        queue_max_bytes: 1 << 20,
        when_full: WhenFull::Block,
        batch_size,
        batch_timeout: Duration::from_millis(250),
        shutdown_timeout: Duration::from_secs(10),
        gap_markers: false,
    }
}

fn raw_encoder() -> Encoder {
    let config = EnvelopeConfig {
        mode: EnvelopeMode::Raw,
        max_line_bytes: 1 << 20,
        fields: Vec::new(),
        guess_levels: true,
        format: crate::config::Format::Auto,
        message_key: None,
        level_key: None,
        timestamp_key: None,
    };
    Encoder::new(&config, "test")
}

/// A chunk holding `lines`, as the splitter would make it.
pub(crate) fn chunk_of<L: AsRef<[u8]>>(lines: &[L]) -> Chunk {
    let mut data = Vec::new();
    let mut spans = Vec::new();
    let mut end = 0;
    for line in lines {
        let line = line.as_ref();
        end += line.len() as u64 + 1;
        spans.push(Span {
            start: data.len() as u32,
            len: line.len() as u32,
            cut_from: None,
            end,
            lines: 1,
        });
        data.extend_from_slice(line);
    }
    Chunk {
        data: Arc::new(data),
        spans,
        blank: 0,
        joined: 0,
        read_at: std::time::SystemTime::now(),
        stream: crate::chunk::Stream::named("test"),
    }
}

/// How long a test waits for what it expects before it fails saying so.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// Awaits `future`; fails naming `what` if it takes longer than `PATIENCE`.
pub(crate) async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: still waiting after {PATIENCE:?}"),
    }
}

/// Checks `done` from a thread, yielding between looks; fails naming `what`
/// if it does not hold within `PATIENCE`.
pub(crate) fn spin_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: still waiting after {PATIENCE:?}"
        );
        std::thread::yield_now();
    }
}

fn assert_invariant(counts: &Counts) {
    let settled = &counts.settled;
    assert_eq!(
        counts.intake.submitted,
        settled.processed + settled.dropped_total(),
        "submitted == processed + dropped: {counts:?}"
    );
    assert!(counts.intake.high_watermark <= counts.queue_capacity);
}

/// Pushes `lines` through a pipeline with the given sinks and drains it.
async fn run(lines: &[&str], batch_size: usize, sinks: Vec<Sink>) -> (Counts, Vec<CloseFailure>) {
    let mut pipeline = Pipeline::start(&config(batch_size), raw_encoder, sinks, None);
    let intake = pipeline.intake();
    let chunk = chunk_of(lines);
    let pushed = tokio::task::spawn_blocking(move || intake.push(chunk));
    within("the chunk pushed", pushed).await.unwrap().unwrap();
    pipeline.intake().close();
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
        blocking(memory("one", &first)),
        blocking(memory("two", &second)),
    ];
    let lines: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (counts, failures) = run(&lines, 7, sinks).await;
    assert!(failures.is_empty());
    assert_eq!(counts.settled.processed, 50);
    assert_eq!(counts.settled.batches, 8);
    for record in [first, second] {
        let events = &record.lock().unwrap().events;
        let got: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
        let want: Vec<&[u8]> = lines.iter().map(|line| line.as_bytes()).collect();
        assert_eq!(got, want);
    }
}

#[tokio::test]
async fn a_chunk_split_across_batches_is_settled_to_its_last_line() {
    let mut pipeline = Pipeline::start(
        &config(3),
        raw_encoder,
        vec![blocking(memory("one", &Arc::default()))],
        None,
    );
    let chunk = chunk_of(&["a", "bb", "ccc", "dddd", "eeeee"]);
    let stream = Arc::clone(&chunk.stream);
    let intake = pipeline.intake();
    let pushed = tokio::task::spawn_blocking(move || intake.push(chunk));
    within("the chunk pushed", pushed).await.unwrap().unwrap();
    pipeline.intake().close();
    pipeline.drain().await;
    assert_eq!(pipeline.counts().settled.batches, 2);
    assert_eq!(
        pipeline.settled_to()[&stream],
        20,
        "five lines and their newlines"
    );
}

#[tokio::test]
async fn a_failing_sink_costs_only_its_own_events() {
    let record = Arc::default();
    let sinks = vec![
        blocking(memory("healthy", &record)),
        blocking(memory("flaky", &Arc::default()).failing_at(5)),
    ];
    let lines = ["a"; 20];
    let (counts, _) = run(&lines, 4, sinks).await;
    let settled = &counts.settled;
    assert_eq!(settled.sinks[0].written, 20);
    assert_eq!(
        settled.sinks[1].written, 17,
        "events 5 to 7, the rest of its second batch, failed"
    );
    assert_eq!(settled.sinks[1].failed, 3);
    assert_eq!(settled.dropped_for(DropReason::SinkError), 3);
    assert_eq!(settled.processed, 17, "the next batch is written normally");
}

#[tokio::test]
async fn an_event_a_receiver_turned_away_is_dropped_and_the_rest_of_its_batch_processed() {
    let sinks = vec![
        blocking(memory("healthy", &Arc::default())),
        blocking(memory("picky", &Arc::default()).refusing("no")),
    ];
    let lines = ["ok", "no", "ok", "ok", "no", "ok", "ok"];
    let (counts, _) = run(&lines, 4, sinks).await;
    let settled = &counts.settled;
    assert_eq!((settled.sinks[0].written, settled.sinks[0].failed), (7, 0));
    assert_eq!((settled.sinks[1].written, settled.sinks[1].failed), (5, 2));
    assert_eq!(settled.dropped_for(DropReason::SinkError), 2);
    assert_eq!(settled.processed, 5);
    assert_eq!(
        counts.intake.submitted,
        settled.processed + settled.dropped_total()
    );
}

#[tokio::test]
async fn sinks_close_in_reverse_order_and_a_failed_close_stops_none() {
    let record: Arc<Mutex<Record>> = Arc::default();
    let sinks = vec![
        blocking(memory("first", &record)),
        blocking(memory("second", &record).failing_close()),
        blocking(memory("third", &record)),
    ];
    let (_, failures) = run(&["x"], 10, sinks).await;
    assert_eq!(record.lock().unwrap().closed, ["third", "second", "first"]);
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].sink, 1);
}

#[tokio::test]
async fn a_partial_batch_goes_out_after_the_timeout() {
    let record: Arc<Mutex<Record>> = Arc::default();
    let timeout = Duration::from_millis(300);
    let config = PipelineConfig {
        batch_timeout: timeout,
        ..config(100)
    };
    let pipeline = Pipeline::start(
        &config,
        raw_encoder,
        vec![blocking(memory("m", &record))],
        None,
    );
    let pushed = std::time::Instant::now();
    pipeline.intake().push(chunk_of(&["a", "b"])).unwrap();
    within("the partial batch written", async {
        while pipeline.counts().settled.processed < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        pushed.elapsed() >= timeout,
        "a partial batch waits for its timeout"
    );
    assert_eq!(pipeline.counts().settled.batches, 1);
    assert_eq!(record.lock().unwrap().events.len(), 2);
}

#[tokio::test]
async fn block_mode_waits_as_long_as_a_sink_hangs_and_loses_nothing() {
    let record = Arc::default();
    let gate = Arc::new(Gate::default());
    let sink = memory("hanging", &record).held_at(Arc::clone(&gate));
    let config = PipelineConfig {
        queue_capacity: 5,
        ..config(2)
    };
    let mut pipeline = Pipeline::start(&config, raw_encoder, vec![blocking(sink)], None);
    let intake = pipeline.intake();
    let lines: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    let chunk = chunk_of(&lines.iter().map(String::as_str).collect::<Vec<_>>());
    let pusher = std::thread::spawn(move || intake.push(chunk));
    within("the queue full", async {
        while pipeline.counts().intake.high_watermark < 5 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!pusher.is_finished(), "intake waits while the sink hangs");
    assert_eq!(pipeline.counts().settled.dropped_total(), 0);
    gate.open();
    let pushed = tokio::task::spawn_blocking(move || pusher.join().unwrap().unwrap());
    within("the intake let go once the sink ran", pushed)
        .await
        .unwrap();
    pipeline.intake().close();
    pipeline.drain().await;
    let counts = pipeline.counts();
    assert_invariant(&counts);
    assert_eq!(counts.settled.processed, 50);
    assert_eq!(record.lock().unwrap().events.len(), 50);
}

#[tokio::test]
async fn a_gap_marker_stands_where_invalid_lines_were_dropped() {
    let record: Arc<Mutex<Record>> = Arc::default();
    let config = PipelineConfig {
        gap_markers: true,
        ..config(10)
    };
    let envelope = EnvelopeConfig {
        mode: EnvelopeMode::Strict,
        max_line_bytes: 1 << 20,
        fields: Vec::new(),
        guess_levels: true,
        format: crate::config::Format::Auto,
        message_key: None,
        level_key: None,
        timestamp_key: None,
    };
    let sinks = vec![blocking(memory("m", &record))];
    let mut pipeline = Pipeline::start(
        &config,
        move || Encoder::new(&envelope, "test"),
        sinks,
        None,
    );
    let chunk = chunk_of(&[
        r#"{"message":"a"}"#,
        "bad",
        "[]",
        r#"{"message":"b"}"#,
        "trailing bad",
    ]);
    pipeline.intake().push(chunk).unwrap();
    pipeline.intake().close();
    pipeline.drain().await;
    let counts = pipeline.counts();
    assert_invariant(&counts);
    assert_eq!(counts.settled.processed, 2);
    assert_eq!(counts.settled.markers, 2);
    assert_eq!(counts.settled.sinks[0].written, 2, "markers are not events");
    let events: Vec<serde_json::Value> = record
        .lock()
        .unwrap()
        .events
        .iter()
        .map(|event| serde_json::from_slice(event).unwrap())
        .collect();
    let messages: Vec<&str> = events
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "a",
            "shipper dropped 2 events here (queue_full 0, invalid 2)",
            "b",
            "shipper dropped 1 events here (queue_full 0, invalid 1)",
        ]
    );
    assert_eq!(events[1]["diagnostics"]["gap_marker"], true);
    assert_eq!(events[1]["data"]["dropped_by_reason"]["invalid"], 2);
}

#[test]
fn drop_mode_waits_out_the_backpressure_wait_before_dropping() {
    let ledger = Arc::new(Ledger::new(1));
    let wait = Duration::from_millis(80);
    let queue = Queue::new(
        1,
        usize::MAX,
        WhenFull::DropNewest {
            wait,
            protect: None,
        },
        crate::envelope::Levels::guessing(),
        Arc::clone(&ledger),
    );
    queue.push(chunk_of(&["first"])).unwrap();
    let started = std::time::Instant::now();
    queue.push(chunk_of(&["second"])).unwrap();
    assert!(started.elapsed() >= wait, "it waited for room first");
    assert_eq!(ledger.snapshot().dropped_for(DropReason::QueueFull), 1);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A line: valid JSON events, plain text, invalid UTF-8, JSON arrays.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "[a-z ]{1,20}"
                .prop_map(|m| format!(r#"{{"message":"{m}","level":"warn"}}"#).into_bytes()),
            "[a-z ]{1,20}".prop_map(String::into_bytes),
            proptest::collection::vec(
                any::<u8>().prop_filter("no newline", |b| *b != b'\n'),
                1..30
            ),
            Just(b"[1,2]".to_vec()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the lines, sizes, policy and sink failures, every
        /// event is settled once: processed, or dropped with one reason.
        #[test]
        fn every_event_is_settled_exactly_once(
            chunks in proptest::collection::vec(proptest::collection::vec(line(), 1..40), 1..8),
            batch_size in 1usize..20,
            capacity in 1usize..50,
            drop_when_full in any::<bool>(),
            strict in any::<bool>(),
            failures in proptest::collection::vec(proptest::option::of(0usize..200), 1..4),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let counts = runtime.block_on(async {
                let config = PipelineConfig {
                    queue_capacity: capacity,
                    when_full: if drop_when_full { WhenFull::DropNewest { wait: Duration::ZERO, protect: None } } else { WhenFull::Block },
                    ..config(batch_size)
                };
                let envelope = EnvelopeConfig {
                    mode: if strict { EnvelopeMode::Strict } else { EnvelopeMode::BestEffort },
                    max_line_bytes: 1 << 20,
                    fields: Vec::new(),
                    guess_levels: true,
                    format: crate::config::Format::Auto,
                    message_key: None,
                    level_key: None,
                    timestamp_key: None,
                };
                let sinks = failures.iter().enumerate().map(|(i, fail_at)| {
                    let sink = memory(&format!("sink{i}"), &Arc::default());
                    blocking(match fail_at { Some(k) => sink.failing_at(*k), None => sink })
                }).collect();
                let mut pipeline = Pipeline::start(&config, move || Encoder::new(&envelope, "test"), sinks, None);
                let intake = pipeline.intake();
                let chunks: Vec<Chunk> = chunks.iter().map(|lines| chunk_of(lines)).collect();
                let pushed = tokio::task::spawn_blocking(move || {
                    for chunk in chunks {
                        intake.push(chunk).unwrap();
                    }
                    intake.close();
                });
                within("every chunk pushed", pushed).await.unwrap();
                pipeline.drain().await;
                pipeline.counts()
            });
            let submitted: usize = chunks.iter().map(Vec::len).sum();
            prop_assert_eq!(counts.intake.submitted, submitted as u64);
            prop_assert_eq!(counts.intake.submitted, counts.settled.processed + counts.settled.dropped_total());
            prop_assert!(counts.intake.high_watermark <= capacity);
            for sink in &counts.settled.sinks {
                prop_assert!(sink.written >= counts.settled.processed);
            }
        }
    }
}

fn blocking(sink: MemorySink) -> Sink {
    Sink::Blocking(Box::new(sink))
}
