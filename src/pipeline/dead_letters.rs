//! The dead-letter file (`--dead-letter PATH`): every event a sink gave up
//! on, its retries spent or turned away by its receiver, kept as one JSON
//! line saying which sink, why and after how many attempts, with the event
//! itself byte for byte. Letters are made durable (fsync) before the
//! events are settled, so a checkpoint never moves past an event that was
//! neither delivered nor kept. What a letter is, read back: `letter`. `shipper PATH --sink ...` sends them again.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::batch::Batch;
use crate::sink::SinkError;

/// Mode of a dead-letter file shipper creates: it holds events.
const MODE: u32 = 0o600;

/// The open dead-letter file, shared by every sink's task.
pub(crate) struct DeadLetters {
    file: Mutex<File>,
}

/// Why a sink gave up on some of a batch's lines.
pub(crate) struct Loss<'a> {
    /// The sink's name.
    pub sink: &'a str,
    /// Attempts made at the batch, the first included.
    pub attempts: u32,
    /// The lines given up on, each with the error that cost it.
    pub lines: Vec<(usize, &'a SinkError)>,
}

/// What a letter says before the event.
#[derive(Serialize)]
struct Header<'a> {
    dead_letter: u8,
    at: String,
    sink: &'a str,
    error_kind: &'a str,
    error: &'a str,
    status: Option<u16>,
    attempts: u32,
    /// The stream the event was read from (its identity), and the
    /// position just past it there: what names it for good.
    stream: Option<&'a str>,
    offset: Option<u64>,
}

impl DeadLetters {
    /// Opens `path` for appending, creating it (mode 0600) if missing. Only
    /// a regular file is taken, never through a symbolic link: a letter
    /// must be durable, and must not be written where the link points. A
    /// last line cut short by a crash is cut off first.
    pub(crate) fn open(path: &Path) -> io::Result<DeadLetters> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(MODE)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(path)
            .map_err(crate::files::explain_link)?;
        let metadata = file.metadata()?;
        if !metadata.is_file() {
            return Err(crate::files::not_regular(crate::files::Kind::of(
                metadata.file_type(),
            )));
        }
        crate::sink::file::repair_tail(&file, path)?;
        Ok(DeadLetters {
            file: Mutex::new(file),
        })
    }

    /// Writes one letter per line of `loss` that is an event (a gap
    /// marker is no event) and makes them durable. Returns how many were
    /// kept: all, or none when the write or the fsync failed.
    pub(crate) fn keep(&self, batch: &Batch, loss: &Loss) -> io::Result<u64> {
        let at = crate::envelope::timestamp::rfc3339(std::time::SystemTime::now());
        let mut letters = Vec::new();
        let mut kept = 0;
        for &(line, error) in &loss.lines {
            let Some(event) = batch.line(line).filter(|_| !batch.is_marker(line)) else {
                continue;
            };
            let origin = batch.origin(line);
            let header = Header {
                dead_letter: 1,
                at: at.clone(),
                sink: loss.sink,
                error_kind: &error.kind,
                error: &error.message,
                status: error.status,
                attempts: loss.attempts,
                stream: origin.map(|origin| origin.stream),
                offset: origin.map(|origin| origin.offset),
            };
            write_letter(&mut letters, &header, event);
            kept += 1;
        }
        if kept == 0 {
            return Ok(0);
        }
        let mut file = self.file.lock().expect("dead-letter lock poisoned");
        file.write_all(&letters)?;
        file.sync_data()?;
        Ok(kept)
    }
}

/// One letter: the header's members, then the event as it was written,
/// `"event"` when it is JSON and `"line"` (a string) when it is not (a
/// `--raw` line).
fn write_letter(out: &mut Vec<u8>, header: &Header, event: &[u8]) {
    serde_json::to_writer(&mut *out, header).expect("a header always serializes");
    out.pop(); // its closing brace
    if serde_json::from_slice::<&RawValue>(event).is_ok() {
        out.extend_from_slice(b",\"event\":");
        out.extend_from_slice(event);
    } else {
        out.extend_from_slice(b",\"line\":");
        let line = String::from_utf8_lossy(event);
        serde_json::to_writer(&mut *out, &line).expect("a string always serializes");
    }
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchBuilder;
    use crate::chunk::Stream;
    use crate::letter;

    fn error(message: &str) -> SinkError {
        SinkError {
            kind: "HttpStatus".to_owned(),
            message: message.to_owned(),
            status: Some(500),
        }
    }

    #[test]
    fn a_letter_keeps_the_event_byte_for_byte_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead.jsonl");
        let letters = DeadLetters::open(&path).unwrap();
        let mut builder = BatchBuilder::new(10);
        builder.reading(&Stream::named("app.log"));
        let json = br#"{"message":"a \u00e9 \"b\"","n":1.50}"#;
        for (end, line) in [(40, &json[..]), (50, b"raw \xff line"), (60, b"{not json")] {
            builder.push(end, |out| {
                out.extend_from_slice(line);
                true
            });
        }
        builder.push_marker(|out| out.extend_from_slice(b"{\"gap\":1}"));
        let batch = builder.take(1);
        let refused = error("HTTP 500: busy");
        let loss = Loss {
            sink: "http://collector/",
            attempts: 3,
            lines: (0..4).map(|line| (line, &refused)).collect(),
        };
        assert_eq!(
            letters.keep(&batch, &loss).unwrap(),
            3,
            "the marker is no event"
        );
        let written = std::fs::read(&path).unwrap();
        let lines: Vec<&[u8]> = written
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 3);
        let first: serde_json::Value = serde_json::from_slice(lines[0]).unwrap();
        assert_eq!(first["sink"], "http://collector/");
        assert_eq!(first["status"], 500);
        assert_eq!(first["attempts"], 3);
        assert_eq!(first["offset"], 40);
        assert!(lines.iter().all(|line| line.starts_with(letter::MARK)));
        let read = letter::read(lines[0]).unwrap();
        assert_eq!(&*read.event, json, "byte for byte");
        assert_eq!(read.origin, Some(("app.log".to_owned(), 40)));
        let raw = letter::read(lines[1]).unwrap();
        assert_eq!(&*raw.event, "raw \u{fffd} line".as_bytes());
        assert_eq!(&*letter::read(lines[2]).unwrap().event, b"{not json");
    }

    #[test]
    fn a_link_or_a_device_is_no_dead_letter_file_and_a_cut_line_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert!(DeadLetters::open(&link).is_err());
        assert!(DeadLetters::open(Path::new("/dev/null")).is_err());
        let path = dir.path().join("dead.jsonl");
        std::fs::write(&path, b"{\"dead_letter\":1}\n{\"dead_le").unwrap();
        DeadLetters::open(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"dead_letter\":1}\n");
    }
}
