//! The NATS JetStream sink: each event is published on the sink's subject
//! and counts as written only once JetStream has acknowledged storing it.
//! Many publishes are in flight at once; each carries a `Nats-Msg-Id` made
//! from the subject and the event's origin, so that an event published
//! again after a lost ack is dropped by the stream's duplicate window
//! instead of being stored twice. An event larger than the server takes is
//! cut to fit (see `fit`).
//!
//! Built on async-nats, the official client: it reconnects on its own
//! (with our backoff policy), on the same tokio runtime as the pipeline.

mod fit;

use std::collections::VecDeque;

use anyhow::{Context as _, bail};
use async_nats::jetstream::context::{PublishAckFuture, PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::{self, stream};
use async_nats::{ConnectOptions, Event, Subject};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use serde_json::json;

use super::interface::{NetworkSink, SinkError, WriteOutcome};
use super::retry::{self, Attempt, Delivery, Health};
use crate::batch::Batch;
use crate::config::nats::{NatsAuth, NatsOptions, Target};
use crate::config::retry::RetryPolicy;
use crate::diagnostics;
use fit::Fitted;

/// Publishes awaiting their ack at once, at most.
const IN_FLIGHT: usize = 1024;

/// The connect options of a `.creds` file, read as a regular file of at
/// most `MAX_KEY_FILE` bytes.
fn creds(path: &std::path::Path) -> anyhow::Result<ConnectOptions> {
    let bytes = crate::files::read_bounded(path, crate::config::MAX_KEY_FILE, true)
        .map_err(|why| anyhow::anyhow!("{why}"))?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("it is not UTF-8 text"))?;
    Ok(ConnectOptions::with_credentials(&text)?)
}

pub(crate) struct NatsSink {
    /// The target's label, for diagnostics and the summary.
    name: String,
    subject: Subject,
    jetstream: jetstream::Context,
    retry: RetryPolicy,
    /// What its failures have been told so far.
    health: Health,
    ids: MsgIds,
}

/// Why one event was not acknowledged in a round.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    error: SinkError,
    /// Another round cannot help.
    hopeless: bool,
}

impl NatsSink {
    /// Connects, and checks that a stream captures the subject (creating
    /// `--nats-stream` if none does): a sink that could only fail does not
    /// open.
    pub(crate) async fn open(
        target: &Target,
        name: String,
        options: &NatsOptions,
    ) -> anyhow::Result<NatsSink> {
        let client = connect_options(options, &name, target.tls)
            .await?
            .connect(target.servers.as_slice())
            .await
            // The error's text already holds its cause: no chain to repeat.
            .map_err(|error| {
                anyhow::anyhow!("could not connect to {}: {error}", target.servers.join(","))
            })?;
        tell_if_events_can_be_too_large(&name, options, client.max_payload());
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(options.timeout)
            .max_ack_inflight(IN_FLIGHT)
            .build(client);
        let stream = find_stream(&jetstream, &target.subject, options.stream.as_deref()).await?;
        diagnostics::info(
            "sink",
            format!("{name}: JetStream stream '{stream}' captures the subject"),
            json!({"sink": name, "stream": stream}),
        );
        Ok(NatsSink {
            health: Health::new(name.clone()),
            name,
            subject: Subject::from(target.subject.as_str()),
            jetstream,
            retry: options.retry,
            ids: MsgIds::new(&target.subject),
        })
    }

    /// Publishes a batch, retrying what was not acknowledged as the policy
    /// allows (telling `retrying` each time). The events written are those
    /// acknowledged before the first that never was.
    async fn deliver(&mut self, batch: &Batch, retrying: &(dyn Fn() + Sync)) -> WriteOutcome {
        let ids = self.ids.for_batch(batch);
        let lines: Vec<&[u8]> = batch.lines().collect();
        let mut pending = Pending::new(lines.len());
        let mut rounds = Rounds {
            sink: self,
            lines: &lines,
            ids: &ids,
            pending: &mut pending,
        };
        let error = retry::deliver(self.retry, &self.health, retrying, &mut rounds).await;
        let written = pending.events.front().copied().unwrap_or(lines.len());
        WriteOutcome {
            written,
            error,
            ..WriteOutcome::default()
        }
    }

    /// One round: publishes the pending events in order, up to `IN_FLIGHT`
    /// awaiting their ack at once, and keeps in `pending` those that were
    /// not acknowledged. Stops publishing at the first failure. Delivered
    /// when every pending event was acknowledged; a failure for good when
    /// the first still pending can never be stored (not even cut down does
    /// it fit the server's limit).
    async fn publish(&self, lines: &[&[u8]], ids: &[String], pending: &mut Pending) -> Attempt {
        let limit = self.max_payload();
        let mut acks = FuturesOrdered::new();
        let mut unacked = VecDeque::new();
        let mut failures = Vec::new();
        while failures.is_empty() {
            if acks.len() >= IN_FLIGHT {
                pending.settle(acks.next().await, &mut unacked, &mut failures);
                continue;
            }
            let Some(index) = pending.events.pop_front() else {
                break;
            };
            let first = !std::mem::replace(&mut pending.tried[index], true);
            match self.send(lines[index], &ids[index], limit).await {
                Ok((ack, cut)) => {
                    pending.cut += usize::from(cut && first);
                    acks.push_back(async move { (index, first, ack.await) });
                }
                Err(failure) => {
                    unacked.push_back(index);
                    failures.push((index, failure));
                }
            }
        }
        while let Some(acked) = acks.next().await {
            pending.settle(Some(acked), &mut unacked, &mut failures);
        }
        unacked.extend(pending.events.drain(..));
        unacked.make_contiguous().sort_unstable();
        pending.events = unacked;
        verdict(pending.events.front().copied(), failures)
    }

    /// Publishes one event, cut to fit within `limit` bytes if it must be;
    /// returns its ack to come, and whether it was cut.
    async fn send(
        &self,
        line: &[u8],
        id: &str,
        limit: usize,
    ) -> Result<(PublishAckFuture, bool), Failure> {
        let message = PublishMessage::build().message_id(id);
        let (message, cut) = match fit::fit(line, limit.saturating_sub(id_header_len(id))) {
            Fitted::Whole(bytes) => (message.payload(Bytes::copy_from_slice(bytes)), false),
            Fitted::Cut(bytes, original) => {
                let message = message
                    .payload(bytes.into())
                    .header(fit::TRUNCATED_HEADER, original.to_string().as_str());
                (message, true)
            }
            Fitted::Hopeless => return Err(too_large(line.len(), limit)),
        };
        let ack = self
            .jetstream
            .send_publish(self.subject.clone(), message)
            .await
            .map_err(|error| judge(&error))?;
        Ok((ack, cut))
    }

    /// The largest message the server takes, headers included: read from
    /// the connection each time, since a reconnection to another server of
    /// a cluster may change it.
    fn max_payload(&self) -> usize {
        self.jetstream.client().max_payload()
    }

    /// Tells of the events cut and of the duplicates a round met.
    fn report(&self, ids: &[String], pending: &mut Pending) {
        report_duplicates(&self.name, ids, &mut pending.duplicates);
        let cut = std::mem::take(&mut pending.cut);
        if cut > 0 {
            let (name, limit) = (&self.name, self.max_payload());
            diagnostics::warn("sink", &format!("truncated:{name}"), || {
                (
                    format!(
                        "{name}: {cut} events cut to fit the server's max_payload of {limit} \
                         bytes (flagged: diagnostics.truncated, header {})",
                        fit::TRUNCATED_HEADER
                    ),
                    json!({"sink": name, "truncated": cut, "max_payload": limit}),
                )
            });
        }
    }
}

/// A batch's rounds of publishes: each publishes what the ones before it
/// left unacknowledged.
struct Rounds<'a> {
    sink: &'a NatsSink,
    lines: &'a [&'a [u8]],
    ids: &'a [String],
    pending: &'a mut Pending,
}

impl Delivery for Rounds<'_> {
    async fn attempt(&mut self) -> Attempt {
        let verdict = self.sink.publish(self.lines, self.ids, self.pending).await;
        self.sink.report(self.ids, self.pending);
        verdict
    }
}

impl NetworkSink for NatsSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write<'a>(
        &'a mut self,
        batch: &'a Batch,
        retrying: &'a (dyn Fn() + Sync),
    ) -> BoxFuture<'a, WriteOutcome> {
        Box::pin(self.deliver(batch, retrying))
    }
}

/// The bytes the `Nats-Msg-Id` header takes on the wire, with the header
/// block's own framing: `NATS/1.0\r\nNats-Msg-Id: ID\r\n\r\n`.
fn id_header_len(id: &str) -> usize {
    "NATS/1.0\r\nNats-Msg-Id: \r\n\r\n".len() + id.len()
}

/// The verdict on a round: the fate of the first event still pending
/// decides, since only the events before it count as written. A later
/// event that can never fit does not stop an earlier one that timed out
/// from being retried.
fn verdict(front: Option<usize>, failures: Vec<(usize, Failure)>) -> Attempt {
    let Some(front) = front else {
        return Attempt::Delivered;
    };
    let failure = failures
        .into_iter()
        .min_by_key(|(index, _)| (*index != front, *index))
        .map(|(_, failure)| failure)
        .unwrap_or_else(|| Failure {
            error: SinkError {
                kind: "Publish".to_owned(),
                message: "JetStream did not acknowledge every event".to_owned(),
                status: None,
            },
            hopeless: false,
        });
    if failure.hopeless {
        Attempt::Fail(failure.error)
    } else {
        Attempt::Retry {
            error: failure.error,
            after: None,
        }
    }
}

fn too_large(length: usize, limit: usize) -> Failure {
    Failure {
        error: SinkError {
            kind: "TooLarge".to_owned(),
            message: format!(
                "an event of {length} bytes cannot be cut to fit the server's max_payload \
                 of {limit} bytes"
            ),
            status: None,
        },
        hopeless: true,
    }
}

/// Says at the start when an event may be larger than the server takes.
/// A warning when a line `--max-line-bytes` allows cannot fit even bare (a
/// server with a low `max_payload`, or a raised limit); only with `-v`
/// when just the envelope around the longest lines can be too much, as
/// with the defaults. Events that are cut are counted in a warning anyway.
fn tell_if_events_can_be_too_large(name: &str, options: &NatsOptions, max_payload: usize) {
    let max_event = options.max_event_bytes;
    if max_event <= max_payload {
        return;
    }
    let message = format!(
        "{name}: an event can take up to about {max_event} bytes (--max-line-bytes \
         and the envelope), more than the server's max_payload of {max_payload}: \
         larger events will be cut to fit; lower --max-line-bytes or raise max_payload"
    );
    let fields = json!({"sink": name, "max_event_bytes": max_event, "max_payload": max_payload});
    if options.max_line_bytes > max_payload {
        diagnostics::warn("sink", &format!("max_payload:{name}"), || (message, fields));
    } else {
        diagnostics::info("sink", message, fields);
    }
}

type AckResult = Result<PublishAck, PublishError>;

/// The events of a batch not acknowledged yet, and what is known of them.
struct Pending {
    /// Their places in the batch, in order.
    events: VecDeque<usize>,
    /// Whether each event of the batch was published before: only then may
    /// JetStream rightly call it a duplicate (its first ack was lost).
    tried: Vec<bool>,
    /// Events JetStream already held when they were first published here.
    duplicates: Vec<usize>,
    /// Events cut to fit, not yet told.
    cut: usize,
}

impl Pending {
    fn new(events: usize) -> Pending {
        Pending {
            events: (0..events).collect(),
            tried: vec![false; events],
            duplicates: Vec::new(),
            cut: 0,
        }
    }

    /// Notes one ack: an event not acknowledged goes back to `unacked`,
    /// with its failure.
    fn settle(
        &mut self,
        acked: Option<(usize, bool, AckResult)>,
        unacked: &mut VecDeque<usize>,
        failures: &mut Vec<(usize, Failure)>,
    ) {
        let Some((index, first, result)) = acked else {
            return;
        };
        match result {
            Ok(ack) => {
                if ack.duplicate && first {
                    self.duplicates.push(index);
                }
            }
            Err(error) => {
                unacked.push_back(index);
                failures.push((index, judge(&error)));
            }
        }
    }
}

/// Warns of events JetStream already held when they were first published
/// here: read again after a restart, or published by another sink (or
/// shipper) with the same ids. They are not stored twice.
fn report_duplicates(name: &str, ids: &[String], duplicates: &mut Vec<usize>) {
    let Some(&first) = duplicates.first() else {
        return;
    };
    let count = std::mem::take(duplicates).len();
    diagnostics::warn("sink", &format!("duplicate:{name}"), || {
        (
            format!(
                "{name}: JetStream already held {count} events published here for the first \
                 time (the same Nats-Msg-Id within its duplicate window), and did not store \
                 them again: read again after a restart, or another sink publishes the same \
                 events to this stream"
            ),
            json!({"sink": name, "duplicates": count, "first_id": ids[first]}),
        )
    });
}

/// A failed publish: another round may store the event. (One too large
/// for a server that lowered its limit since it was cut is cut again.)
fn judge(error: &PublishError) -> Failure {
    let kind = match error.kind() {
        PublishErrorKind::TimedOut => "Timeout",
        PublishErrorKind::StreamNotFound => "NoStream",
        PublishErrorKind::BrokenPipe => "Disconnected",
        PublishErrorKind::MaxPayloadExceeded => "TooLarge",
        _ => "Publish",
    };
    Failure {
        error: SinkError {
            kind: kind.to_owned(),
            message: format!("JetStream publish: {error}"),
            status: None,
        },
        hopeless: false,
    }
}

/// The client's settings: credentials, TLS, timeouts, reconnects with our
/// backoff, and its connection events as diagnostics.
async fn connect_options(
    options: &NatsOptions,
    name: &str,
    tls: bool,
) -> anyhow::Result<ConnectOptions> {
    let mut connect = match &options.auth {
        NatsAuth::None => ConnectOptions::new(),
        NatsAuth::UserPassword { user, password } => {
            ConnectOptions::with_user_and_password(user.clone(), password.clone())
        }
        NatsAuth::Token(token) => ConnectOptions::with_token(token.clone()),
        NatsAuth::CredsFile(path) => creds(path).with_context(|| {
            format!("could not read --nats-creds '{}'", diagnostics::shown(path))
        })?,
    };
    // A server that requires TLS gets it whatever the scheme. The client's
    // own settings would trust a CA file instead of the system's roots:
    // shipper's trust both.
    if tls || options.ca_file.is_some() {
        let config = super::tls::client_config(options.ca_file.as_deref(), "--nats-ca-file")?;
        connect = connect.tls_client_config(config);
    }
    let policy = options.retry;
    connect = connect
        .require_tls(tls)
        .name(concat!("shipper/", env!("CARGO_PKG_VERSION")))
        .connection_timeout(options.timeout)
        .request_timeout(Some(options.timeout))
        .reconnect_delay_callback(move |attempts| {
            policy.delay(u32::try_from(attempts).unwrap_or(u32::MAX), None)
        });
    let name = name.to_owned();
    Ok(connect.event_callback(move |event| {
        report_event(&name, &event);
        async {}
    }))
}

/// A lost connection is worth a warning; its return, a routine note.
fn report_event(name: &str, event: &Event) {
    match event {
        Event::Connected => diagnostics::info(
            "sink",
            format!("{name}: connected"),
            json!({"sink": name, "event": "connected"}),
        ),
        Event::Disconnected | Event::LameDuckMode | Event::ServerError(_) => {
            diagnostics::warn("sink", &format!("nats:{name}"), || {
                (
                    format!("{name}: {event}; publishes are retried"),
                    json!({"sink": name, "event": event.to_string()}),
                )
            })
        }
        _ => {}
    }
}

/// The stream that captures `subject`, created as `create` if none does.
async fn find_stream(
    jetstream: &jetstream::Context,
    subject: &str,
    create: Option<&str>,
) -> anyhow::Result<String> {
    use async_nats::jetstream::context::GetStreamByNameErrorKind as Kind;
    let error = match jetstream.stream_by_subject(subject).await {
        Ok(name) => return Ok(name),
        Err(error) => error,
    };
    if error.kind() != Kind::NotFound {
        return Err(error).context(
            "could not ask JetStream which stream captures the subject (is JetStream \
             enabled on the server, `nats-server -js`?)",
        );
    }
    let Some(name) = create else {
        bail!(
            "no JetStream stream captures subject '{subject}': create one \
             (`nats stream add`), or pass --nats-stream NAME to have shipper create it"
        );
    };
    create_stream(jetstream, name, subject).await
}

async fn create_stream(
    jetstream: &jetstream::Context,
    name: &str,
    subject: &str,
) -> anyhow::Result<String> {
    if jetstream.get_stream(name).await.is_ok() {
        bail!("stream '{name}' (--nats-stream) exists but does not capture subject '{subject}'");
    }
    let config = stream::Config {
        name: name.to_owned(),
        subjects: vec![subject.to_owned()],
        storage: stream::StorageType::File,
        ..Default::default()
    };
    jetstream
        .create_stream(config)
        .await
        .with_context(|| format!("could not create stream '{name}' for subject '{subject}'"))?;
    diagnostics::info(
        "sink",
        format!("created JetStream stream '{name}' for subject '{subject}'"),
        json!({"stream": name, "subject": subject}),
    );
    Ok(name.to_owned())
}

/// Each event's `Nats-Msg-Id`: the same for every attempt at it, and
/// different from every other event's, in this sink and in any other
/// publishing on another subject into the same stream.
struct MsgIds {
    /// The sink's subject, or a hash of a long one.
    subject: String,
    /// Different for each run: names the gap markers, which were not read.
    run: String,
    /// Batches this sink was given so far.
    batches: u64,
}

/// Longest subject written whole into an id; a longer one is hashed, so
/// that the id stays short (JetStream keeps every id of its duplicate
/// window in memory, and the header counts against `max_payload`).
const MAX_SUBJECT_IN_ID: usize = 64;

impl MsgIds {
    fn new(subject: &str) -> MsgIds {
        let subject = if subject.len() <= MAX_SUBJECT_IN_ID {
            subject.to_owned()
        } else {
            format!("#{:016x}", fnv1a(subject.as_bytes()))
        };
        MsgIds {
            subject,
            run: format!("{:016x}", fastrand::u64(..)),
            batches: 0,
        }
    }

    /// The ids of a batch's lines, made once for all its attempts.
    fn for_batch(&mut self, batch: &Batch) -> Vec<String> {
        self.batches += 1;
        (0..batch.len())
            .map(|line| self.msg_id(batch, line))
            .collect()
    }

    /// An event is named by the subject and where it was read: its
    /// stream's identity and the position just past it, so that the same
    /// line sent again (a retry, or a restart from a checkpoint) carries
    /// the same id, and the same line sent by another sink to another
    /// subject of the same stream does not. A gap marker, made by the
    /// pipeline, is named by the run, the batch and its place in it.
    fn msg_id(&self, batch: &Batch, line: usize) -> String {
        match batch.origin(line) {
            Some(origin) => format!("{}:{}:{}", self.subject, origin.stream, origin.offset),
            None => format!("{}:marker:{}:{line}", self.run, self.batches),
        }
    }
}

/// The 64-bit FNV-1a hash: short, stable across runs and builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_named_by_its_origin_and_a_marker_by_the_run() {
        use crate::batch::BatchBuilder;
        use crate::chunk::Stream;
        let mut builder = BatchBuilder::new(10);
        builder.reading(&Stream::named("file-8:1234"));
        builder.push(17, |out| {
            out.push(b'a');
            true
        });
        builder.push_marker(|out| out.push(b'm'));
        let batch = builder.take(1);
        let mut ids = MsgIds::new("logs.app");
        let first = ids.for_batch(&batch);
        assert_eq!(first[0], "logs.app:file-8:1234:17");
        assert_eq!(first[1], format!("{}:marker:1:1", ids.run));
        let again = ids.for_batch(&batch);
        assert_eq!(again[0], first[0], "the same event, the same id");
        assert_ne!(
            again[1], first[1],
            "another batch's marker is another marker"
        );
    }

    #[test]
    fn the_subject_is_part_of_the_id_and_a_long_one_is_hashed() {
        use crate::batch::BatchBuilder;
        use crate::chunk::Stream;
        let mut builder = BatchBuilder::new(10);
        builder.reading(&Stream::named("stdin-1"));
        builder.push(5, |out| {
            out.push(b'a');
            true
        });
        let batch = builder.take(1);
        let app = MsgIds::new("logs.app").for_batch(&batch);
        let audit = MsgIds::new("logs.audit").for_batch(&batch);
        assert_ne!(app[0], audit[0]);
        let long = format!("logs.{}", "x".repeat(100));
        let hashed = MsgIds::new(&long).for_batch(&batch);
        assert_eq!(
            hashed[0],
            format!("#{:016x}:stdin-1:5", fnv1a(long.as_bytes()))
        );
        assert_eq!(hashed[0].len(), 17 + ":stdin-1:5".len());
        assert_ne!(
            MsgIds::new(&format!("{long}y")).for_batch(&batch)[0],
            hashed[0]
        );
    }

    #[test]
    fn the_first_pending_event_decides_the_verdict() {
        let failure = |kind: &str, hopeless| Failure {
            error: SinkError {
                kind: kind.to_owned(),
                message: kind.to_owned(),
                status: None,
            },
            hopeless,
        };
        let (timeout, too_large) = (failure("Timeout", false), failure("TooLarge", true));
        // A later event that can never fit, failing first, does not condemn
        // an earlier one whose ack merely timed out.
        assert_eq!(
            verdict(Some(2), vec![(5, too_large.clone()), (2, timeout.clone())]),
            Attempt::Retry {
                error: timeout.error.clone(),
                after: None
            }
        );
        assert_eq!(
            verdict(Some(5), vec![(5, too_large.clone())]),
            Attempt::Fail(too_large.error.clone())
        );
        assert_eq!(
            verdict(Some(3), vec![(7, timeout.clone()), (4, too_large.clone())]),
            Attempt::Fail(too_large.error),
            "with none for the first, the earliest failure"
        );
        assert_eq!(verdict(None, Vec::new()), Attempt::Delivered);
        assert!(matches!(
            verdict(Some(0), Vec::new()),
            Attempt::Retry { after: None, .. }
        ));
    }
}
