//! Telling that a file read was cut short (copytruncate) or rewritten in
//! place, and reading it again from its start as a new stream.

use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use serde_json::json;

use super::{OpenFile, TAIL_BYTES, fresh_id};
use crate::chunk::Stream;
use crate::diagnostics;
use crate::source::checkpoint::FINGERPRINT_BYTES;
use crate::source::lines::LineSplitter;

impl OpenFile {
    /// Whether the file was cut short or rewritten: it is shorter than
    /// before, or its first bytes changed (cut, then written past the old
    /// length), or, rewritten to the same size, the bytes before the read
    /// position changed. Learns its first bytes as they are written.
    pub(super) fn truncated(
        &mut self,
        size: u64,
        modified: Option<std::time::SystemTime>,
    ) -> io::Result<bool> {
        if size < self.size_seen || size < self.splitter.read_to() {
            return Ok(true);
        }
        let want = (size as usize).min(FINGERPRINT_BYTES);
        let touched = modified != self.modified_seen;
        if size == self.size_seen && want == self.head.len() && !touched {
            return Ok(false);
        }
        let mut head = vec![0; want];
        self.file.read_exact_at(&mut head, 0)?;
        if !head.starts_with(&self.head) {
            return Ok(true);
        }
        self.head = head;
        Ok(touched && size == self.size_seen && self.tail_now()? != self.tail)
    }

    /// The bytes just before the read position, as the file holds them now.
    pub(super) fn tail_now(&self) -> io::Result<Vec<u8>> {
        let end = self.splitter.read_to();
        let start = end.saturating_sub(TAIL_BYTES as u64);
        let mut tail = vec![0; (end - start) as usize];
        let mut filled = 0;
        while filled < tail.len() {
            match self
                .file
                .read_at(&mut tail[filled..], start + filled as u64)?
            {
                0 => {
                    tail.truncate(filled);
                    break;
                }
                n => filled += n,
            }
        }
        Ok(tail)
    }

    /// Reads a truncated file again from its start, as a new stream, and
    /// says what may have been lost.
    pub(super) fn restart(&mut self, size: u64) {
        self.warn_truncated(size);
        let stream = Stream::new(&*self.stream.name, fresh_id(self.identity));
        self.splitter = LineSplitter::new(Arc::clone(&stream), self.split.clone());
        self.stream = stream;
        self.head.clear();
        self.tail.clear();
        self.size_seen = size;
        self.start = 0;
        self.accepted_to = 0;
        self.events_to = 0;
        if let Err(err) = self.file.seek(SeekFrom::Start(0)) {
            let path = self.path.display().to_string();
            diagnostics::error("source", &format!("seek:{path}"), || {
                (
                    format!("could not read {path} again: {err}"),
                    json!({"path": path, "error": err.to_string()}),
                )
            });
        }
    }

    /// Says the file was truncated, and what may have been lost: what was
    /// written past the read position before the cut, and the start of an
    /// unfinished line.
    fn warn_truncated(&self, size: u64) {
        let read_to = self.splitter.read_to();
        let known_unread = self.size_seen.saturating_sub(read_to);
        let unfinished = self.splitter.unfinished();
        let path = self.path.display().to_string();
        diagnostics::warn("source", &format!("truncated:{path}"), || {
            (
                format!(
                    "{path} was truncated (read to byte {read_to}, now {size} bytes): reading it again from the start; \
                     whatever was written after byte {read_to} before the truncation was not read \
                     ({known_unread} bytes known){}",
                    if unfinished > 0 {
                        format!(", and {unfinished} bytes of an unfinished line are dropped")
                    } else {
                        String::new()
                    }
                ),
                json!({"path": path, "read_to": read_to, "size": size, "known_unread": known_unread, "unfinished": unfinished}),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::Start;
    use super::super::tests::{file_with, open};
    use super::*;
    use crate::pipeline::Intake;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn a_truncation_is_seen_by_length_or_by_first_bytes() {
        let (temp, _) = file_with(b"line one\nline two\n");
        let mut file = open(temp.path(), Start::Beginning);
        let unchanged = file.modified_seen;
        assert!(
            !file.truncated(18, unchanged).unwrap(),
            "learns its first bytes"
        );
        assert_eq!(file.head, b"line one\nline two\n");
        std::fs::write(temp.path(), b"other\n").unwrap();
        assert!(file.truncated(6, unchanged).unwrap(), "shorter than seen");
        file.size_seen = 0;
        file.head = b"line".to_vec();
        std::fs::write(temp.path(), b"a new file, longer than the old one\n").unwrap();
        assert!(file.truncated(36, unchanged).unwrap(), "other first bytes");
    }

    /// Rewritten to the same size: seen by its first bytes, or, when those
    /// are the same, by the bytes before the read position; a touch that
    /// changes nothing is no rewrite.
    #[test]
    fn a_rewrite_to_the_same_size_is_a_truncation() {
        let header = "h".repeat(FINGERPRINT_BYTES);
        let (temp, _) = file_with(format!("{header}\naaaa\n").as_bytes());
        let mut file = open(temp.path(), Start::Beginning);
        let intake = Intake::waiting(100);
        file.turn(&intake, 1 << 20, &AtomicU64::new(0)).unwrap();
        let size = file.size_seen;
        let later = file
            .modified_seen
            .map(|at| at + std::time::Duration::from_secs(1));
        assert!(!file.truncated(size, later).unwrap(), "only touched");
        std::fs::write(temp.path(), format!("{header}\nbbbb\n")).unwrap();
        assert!(
            file.truncated(size, later).unwrap(),
            "same head, other tail"
        );

        let (temp, _) = file_with(b"aaaa\n");
        let mut file = open(temp.path(), Start::Beginning);
        file.turn(&intake, 1 << 20, &AtomicU64::new(0)).unwrap();
        std::fs::write(temp.path(), b"bbbb\n").unwrap();
        let later = file
            .modified_seen
            .map(|at| at + std::time::Duration::from_secs(1));
        assert!(file.truncated(5, later).unwrap(), "other first bytes");
    }
}
