//! Sending dead letters again: `shipper DEAD_LETTERS --sink ...` reads a
//! `--dead-letter` file like any file named, and each letter becomes its
//! event again, byte for byte, named by where it was first read (its
//! stream's identity and position), so a sink that deduplicates by origin
//! (NATS JetStream's Msg-Id) drops what it already stored.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use crate::chunk::Stream;
use crate::chunk::{Chunk, Span};
use crate::letter;

/// Turns chunks of letters into chunks of their events; remembers the
/// streams it has named, so one stream is one `Stream` for the run.
pub(crate) struct Unwrap {
    streams: HashMap<String, Arc<Stream>>,
}

impl Unwrap {
    pub(crate) fn new() -> Unwrap {
        Unwrap {
            streams: HashMap::new(),
        }
    }

    /// The events of `chunk`'s letters, in order, in one chunk for each
    /// run of letters read from the same stream (a letter of no stream, a
    /// gap marker's, keeps the letters file's own stream and position).
    /// The first chunk carries the blank lines counted. A line that is no
    /// letter ends it: the chunks before it are given with the error.
    pub(crate) fn unwrap(&mut self, chunk: &Chunk) -> (Vec<Chunk>, Option<io::Error>) {
        let mut chunks: Vec<Chunk> = Vec::new();
        let mut data = Vec::new();
        let mut spans = Vec::new();
        let mut current: Option<Arc<Stream>> = None;
        let mut blank = chunk.blank;
        let mut failed = None;
        for span in &chunk.spans {
            let letter = match letter::read(chunk.line(span)) {
                Ok(letter) if span.cut_from.is_none() => letter,
                Ok(_) => {
                    failed = Some(not_a_letter(
                        chunk,
                        span,
                        "it is longer than a letter may be",
                    ));
                    break;
                }
                Err(why) => {
                    failed = Some(not_a_letter(chunk, span, &why));
                    break;
                }
            };
            let (stream, end) = match &letter.origin {
                Some((id, offset)) => (self.stream(&chunk.stream, id), *offset),
                None => (Arc::clone(&chunk.stream), span.end),
            };
            if current
                .as_ref()
                .is_some_and(|current| !Arc::ptr_eq(current, &stream))
            {
                let data = std::mem::take(&mut data);
                let spans = std::mem::take(&mut spans);
                let stream = current.take().expect("a stream for the letters so far");
                chunks.push(events(
                    chunk,
                    data,
                    spans,
                    stream,
                    std::mem::take(&mut blank),
                ));
            }
            current = Some(stream);
            spans.push(Span {
                start: data.len() as u32,
                len: letter.event.len() as u32,
                cut_from: None,
                end,
                lines: 1,
            });
            data.extend_from_slice(&letter.event);
        }
        let stream = current.unwrap_or_else(|| Arc::clone(&chunk.stream));
        if !spans.is_empty() || blank > 0 {
            chunks.push(events(chunk, data, spans, stream, blank));
        }
        (chunks, failed)
    }

    /// The stream of identity `id`, named as the letters file is.
    fn stream(&mut self, letters: &Arc<Stream>, id: &str) -> Arc<Stream> {
        let stream = self
            .streams
            .entry(id.to_owned())
            .or_insert_with(|| Stream::new(&*letters.name, id));
        Arc::clone(stream)
    }
}

fn events(read: &Chunk, data: Vec<u8>, spans: Vec<Span>, stream: Arc<Stream>, blank: u64) -> Chunk {
    Chunk {
        data: Arc::new(data),
        spans,
        blank,
        joined: 0,
        read_at: read.read_at,
        stream,
    }
}

/// Why reading stopped at a line that is no letter, and where it is.
fn not_a_letter(chunk: &Chunk, span: &Span, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the line ending at byte {} of '{}' is not a dead letter ({why}); stopped there",
            span.end, chunk.stream.name
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::tests::chunk_of;

    #[test]
    fn letters_become_their_events_named_by_where_they_were_first_read() {
        let chunk = chunk_of(&[
            br#"{"dead_letter":1,"stream":"a","offset":10,"event":{"n":1}}"#.as_slice(),
            br#"{"dead_letter":1,"stream":"a","offset":20,"event":{"n":2}}"#,
            br#"{"dead_letter":1,"stream":"b","offset":5,"line":"raw"}"#,
            br#"{"dead_letter":1,"stream":"a","offset":30,"event":{"n":3}}"#,
            br#"{"dead_letter":1,"event":{"gap":1}}"#,
        ]);
        let mut unwrap = Unwrap::new();
        let (chunks, failed) = unwrap.unwrap(&chunk);
        assert!(failed.is_none());
        type Seen<'a> = (&'a str, Vec<(&'a [u8], u64)>);
        let seen: Vec<Seen> = chunks
            .iter()
            .map(|chunk| {
                let lines = chunk.spans.iter().map(|span| (chunk.line(span), span.end));
                (&*chunk.stream.id, lines.collect())
            })
            .collect();
        let own_end = chunk.spans[4].end;
        assert_eq!(
            seen,
            [
                ("a", vec![(&b"{\"n\":1}"[..], 10), (b"{\"n\":2}", 20)]),
                ("b", vec![(&b"raw"[..], 5)]),
                ("a", vec![(&b"{\"n\":3}"[..], 30)]),
                ("test", vec![(&b"{\"gap\":1}"[..], own_end)]),
            ]
        );
        assert!(
            Arc::ptr_eq(&chunks[0].stream, &chunks[2].stream),
            "one stream a run"
        );
    }

    #[test]
    fn a_line_that_is_no_letter_stops_the_reading_after_the_letters_before_it() {
        let chunk = chunk_of(&[
            br#"{"dead_letter":1,"stream":"a","offset":10,"event":{"n":1}}"#.as_slice(),
            b"an ordinary line",
            br#"{"dead_letter":1,"stream":"a","offset":20,"event":{"n":2}}"#,
        ]);
        let (chunks, failed) = Unwrap::new().unwrap(&chunk);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].spans.len(), 1);
        let error = failed.unwrap().to_string();
        assert!(error.contains("not a dead letter"), "{error}");
    }
}
