//! One file being read: its identity, its descriptor, where it was read to,
//! and what became of it (still at its path, rotated away, deleted).
//! Telling a truncation or a rewrite is in `truncation`.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::json;

use crate::chunk::{Chunk, Stream};
use crate::diagnostics;
use crate::multiline::Split;
use crate::pipeline::Intake;
use crate::source::checkpoint::{FINGERPRINT_BYTES, Fingerprint, Position};
use crate::source::compressed;
use crate::source::lines::LineSplitter;

mod truncation;

/// A file is known by its device and inode while it is open; its
/// fingerprint tells it from a later file on the same inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    pub device: u64,
    pub inode: u64,
}

impl Identity {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            device: meta.dev(),
            inode: meta.ino(),
        }
    }
}

/// Where reading a file starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    /// From its first byte.
    Beginning,
    /// After its last complete line: only what is written from now on.
    End,
    /// Where a checkpoint left it, under the identity its events had.
    Resume { offset: u64, stream: String },
}

/// What became of the file at the path it was found at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Still there: read as it grows.
    Live,
    /// Renamed away (rotation) at `since`: read on for `--rotate-wait`.
    Rotated { since: Instant },
    /// Removed: read to its end, then released.
    Deleted,
    /// A read failed: released, to be found and resumed by a later look.
    Failed,
}

/// One file open for reading, once or followed: what it is, where it was
/// read to, how far the queue took it, and what became of it since it was
/// found.
pub(crate) struct OpenFile {
    /// What its events name: the path its lines were written under, and
    /// the identity of its bytes.
    pub stream: Arc<Stream>,
    /// The path it was found at.
    pub path: PathBuf,
    /// Its device and inode.
    pub identity: Identity,
    /// When the file was created: of two files that held one name, the
    /// older one's lines come first.
    pub born: std::time::SystemTime,
    /// What became of it at the path it was found at.
    pub fate: Fate,
    /// The open descriptor, read from where the splitter left off.
    file: File,
    /// Splits what is read into lines.
    splitter: LineSplitter,
    /// The line limit, and how lines join into events.
    split: Split,
    /// The file's first bytes (up to a fingerprint's worth) as last seen.
    head: Vec<u8>,
    /// Largest size seen: how much was written that is not read yet.
    size_seen: u64,
    /// Its modification time when last looked at: a file rewritten to the
    /// same size changes it, and is then looked at more closely.
    modified_seen: Option<std::time::SystemTime>,
    /// The last bytes read (up to `TAIL_BYTES` before the read position),
    /// as read: a rewrite that keeps the size and the first bytes changes
    /// them.
    tail: Vec<u8>,
    /// Where this run started reading it.
    start: u64,
    /// Just past the last line the queue took.
    accepted_to: u64,
    /// Just past the last event the queue took (blank lines are not
    /// events): once it is settled, every event of the file is.
    events_to: u64,
    /// The last read found nothing more.
    pub at_end: bool,
    /// Found since under another name that is followed too (a rotation
    /// the patterns also match).
    pub moved: bool,
    /// Said to be behind after rotation (said once).
    pub late: bool,
    /// When a read last found something.
    last_data: Instant,
    /// Opened empty: its first bytes, once they come, tell whether it is
    /// compressed.
    unjudged: bool,
}

/// What one read handed the queue.
#[derive(Default)]
struct Handed {
    /// The queue refused a chunk: it is closed.
    refused: bool,
    /// Just past the last line the queue took in (not dropped as
    /// `queue_full`), if any was.
    events_to: Option<u64>,
}

impl Handed {
    /// Offers `chunk` to the queue, noting whether it was taken.
    fn push(&mut self, intake: &Intake, chunk: Chunk) {
        match intake.push(chunk) {
            Ok(taken_to) => self.events_to = taken_to.or(self.events_to),
            Err(_) => self.refused = true,
        }
    }
}

/// Longest one turn at a file lasts.
const TURN_TIME: std::time::Duration = std::time::Duration::from_millis(100);
/// A file idle this long gives its read buffer back.
const IDLE: std::time::Duration = std::time::Duration::from_secs(2);
/// A read buffer larger than this is given back as soon as the file is
/// read to its end.
const LARGE_BUFFER: usize = 64 * 1024;
/// Bytes before the read position kept to tell a rewrite.
const TAIL_BYTES: usize = 64;

impl OpenFile {
    /// Follows `file`, opened at `path`, from where `start` says. Its first
    /// bytes are read at once, so that even a checkpoint saved a moment
    /// later knows it by them.
    pub(crate) fn new(
        path: &Path,
        mut file: File,
        start: Start,
        split: impl Into<Split>,
    ) -> io::Result<OpenFile> {
        let split = split.into();
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        let identity = Identity::of(&meta);
        let (offset, id) = start_at(path, &file, meta.len(), start)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut head = vec![0; (meta.len() as usize).min(FINGERPRINT_BYTES)];
        file.read_exact_at(&mut head, 0)?;
        let id = id.unwrap_or_else(|| fresh_id(identity));
        let stream = Stream::new(path.to_string_lossy(), id);
        Ok(OpenFile {
            splitter: LineSplitter::resuming(Arc::clone(&stream), split.clone(), offset),
            stream,
            path: path.to_owned(),
            identity,
            born: born(&meta),
            fate: Fate::Live,
            file,
            split,
            size_seen: meta.len(),
            modified_seen: meta.modified().ok(),
            tail: Vec::new(),
            start: offset,
            accepted_to: offset,
            events_to: offset,
            at_end: false,
            moved: false,
            late: false,
            last_data: Instant::now(),
            unjudged: head.is_empty(),
            head,
        })
    }

    /// Reads what the file has, up to about `budget` bytes, and pushes its
    /// complete lines into the queue. Notices a truncation first. Returns
    /// the bytes read.
    pub(crate) fn turn(
        &mut self,
        intake: &Intake,
        budget: u64,
        read: &AtomicU64,
    ) -> io::Result<u64> {
        let meta = self.file.metadata()?;
        if self.truncated(meta.len(), meta.modified().ok())? {
            // What was read before the truncation ships whole.
            self.flush(intake);
            self.restart(meta.len());
        }
        self.size_seen = self.size_seen.max(meta.len());
        self.modified_seen = meta.modified().ok();
        self.at_end = false;
        self.splitter
            .expect(meta.len().saturating_sub(self.splitter.read_to()));
        let bytes = self.read_lines(intake, budget, read)?;
        if bytes > 0 {
            self.last_data = Instant::now();
            self.tail = self.tail_now()?;
        }
        // A large buffer goes back once the file is read to its end; a
        // small one once the file has been quiet for a while.
        if self.at_end
            && (self.splitter.buffered() > LARGE_BUFFER || self.last_data.elapsed() >= IDLE)
        {
            self.splitter.rest();
        }
        Ok(bytes)
    }

    /// Reads up to about `budget` bytes, or for `TURN_TIME`, pushing
    /// complete lines into the queue, until the file's end or intake
    /// stops. Returns the bytes read.
    fn read_lines(&mut self, intake: &Intake, budget: u64, read: &AtomicU64) -> io::Result<u64> {
        let mut bytes = 0;
        // Bounded in time too: a turn that waits on a full queue must not
        // keep the other files (and the look for rotations) waiting.
        let deadline = Instant::now() + TURN_TIME;
        while bytes < budget && intake.may_read() && Instant::now() < deadline {
            let mut handed = Handed::default();
            let n = self
                .splitter
                .read_some(&mut self.file, &mut |chunk| handed.push(intake, chunk))?;
            if n == 0 {
                self.at_end = true;
                break;
            }
            bytes += n as u64;
            read.fetch_add(n as u64, Ordering::Relaxed);
            self.took(handed);
        }
        Ok(bytes)
    }

    /// Where a later look may resume the file: just past the last line the
    /// queue took, under the same identity.
    pub(crate) fn resume_point(&self) -> Start {
        Start::Resume {
            offset: self.accepted_to,
            stream: self.stream.id.to_string(),
        }
    }

    /// The file is done (deleted, rotated away, or read once): a last line
    /// without a newline is a line too.
    pub(crate) fn finish(&mut self, intake: &Intake) {
        let mut handed = Handed::default();
        self.splitter
            .finish(&mut |chunk| handed.push(intake, chunk));
        self.took(handed);
    }

    /// Ships the event held for its next line, if any.
    pub(crate) fn flush(&mut self, intake: &Intake) {
        let mut handed = Handed::default();
        self.splitter.flush(&mut |chunk| handed.push(intake, chunk));
        self.took(handed);
    }

    /// Ships the event held for its next line once its time is up.
    pub(crate) fn flush_due(&mut self, intake: &Intake) {
        if self
            .held_until()
            .is_some_and(|until| until <= Instant::now())
        {
            self.flush(intake);
        }
    }

    /// Until when an event held for its next line waits, if one is.
    pub(crate) fn held_until(&self) -> Option<Instant> {
        self.splitter.held_until()
    }

    /// Notes how far the queue took the file.
    fn took(&mut self, handed: Handed) {
        if handed.refused {
            return;
        }
        self.accepted_to = self.splitter.complete_to();
        if let Some(end) = handed.events_to {
            self.events_to = end;
        }
    }

    /// Bytes written to the file that were not read.
    pub(crate) fn unread(&self) -> u64 {
        let size = self
            .file
            .metadata()
            .map_or(self.size_seen, |meta| meta.len());
        size.saturating_sub(self.splitter.read_to())
    }

    /// The compressor whose format its first bytes are in, if any.
    pub(crate) fn compression(&self) -> Option<&'static str> {
        compressed::by_magic(&self.head)
    }

    /// For a file opened empty, once its first bytes came: the compressor
    /// whose format they are in, if any. Each file is judged once.
    pub(crate) fn compression_come(&mut self) -> Option<&'static str> {
        if !self.unjudged {
            return None;
        }
        let mut head = [0; compressed::MAGIC_BYTES];
        let read = self.file.read_at(&mut head, 0).unwrap_or(0);
        if read == 0 {
            return None;
        }
        self.unjudged = false;
        compressed::by_magic(&head[..read])
    }

    /// Bytes of a line whose end has not come.
    pub(crate) fn unfinished(&self) -> u64 {
        self.splitter.unfinished()
    }

    /// Whether the file's name still leads to it: `false` once it was
    /// removed (no links left).
    pub(crate) fn linked(&self) -> bool {
        self.file.metadata().is_ok_and(|meta| meta.nlink() > 0)
    }

    /// Names the file by the name its lines were written under (a file
    /// found after it was rotated away), before anything is read.
    pub(crate) fn written_as(&mut self, name: &Path) {
        self.stream = Stream::new(name.to_string_lossy(), &*self.stream.id);
        self.splitter =
            LineSplitter::resuming(Arc::clone(&self.stream), self.split.clone(), self.start);
        self.path = name.to_owned();
    }

    /// When the file was renamed away, as near as can be told: its last
    /// change of status (a rename is one), not when the rename was noticed.
    pub(crate) fn renamed_at(&self) -> Instant {
        let changed = self.file.metadata().ok().and_then(|meta| {
            let at = std::time::UNIX_EPOCH
                + std::time::Duration::new(
                    meta.ctime().max(0) as u64,
                    meta.ctime_nsec().clamp(0, 999_999_999) as u32,
                );
            std::time::SystemTime::now().duration_since(at).ok()
        });
        let now = Instant::now();
        changed.and_then(|ago| now.checked_sub(ago)).unwrap_or(now)
    }

    /// What a checkpoint records of it now.
    pub(crate) fn position(&self) -> Position {
        Position {
            path: self.path.to_string_lossy().into_owned(),
            device: self.identity.device,
            inode: self.identity.inode,
            fingerprint: Fingerprint::of(&self.head),
            stream: Arc::clone(&self.stream),
            start: self.start,
            accepted_to: self.accepted_to,
            events_to: self.events_to,
            released: false,
            size: self.size_seen,
            born: self.born,
        }
    }
}

/// Where reading a file of `size` bytes starts, and the identity its
/// events keep when resumed; a resume point past its end starts over.
fn start_at(
    path: &Path,
    file: &File,
    size: u64,
    start: Start,
) -> io::Result<(u64, Option<String>)> {
    Ok(match start {
        Start::Beginning => (0, None),
        Start::End => (crate::files::after_last_line(file, size)?, None),
        Start::Resume { offset, stream } if offset <= size => (offset, Some(stream)),
        Start::Resume { offset, .. } => {
            warn_shorter(path, offset, size);
            (0, None)
        }
    })
}

/// When a file was created; where the filesystem does not keep that, its
/// last change of status (a rename is one).
pub(crate) fn born(meta: &std::fs::Metadata) -> std::time::SystemTime {
    meta.created().unwrap_or_else(|_| {
        std::time::UNIX_EPOCH
            + std::time::Duration::new(
                meta.ctime().max(0) as u64,
                meta.ctime_nsec().clamp(0, 999_999_999) as u32,
            )
    })
}

/// A new identity for a file's bytes: the host, the file's device and
/// inode, and 64 random bits, so that a later file on the same inode, the
/// same file read again after a truncation, or a file on another machine
/// cloned from the same image never shares it.
pub(super) fn fresh_id(identity: Identity) -> String {
    format!(
        "{}.{:x}.{:x}.{:016x}",
        crate::host::name(),
        identity.device,
        identity.inode,
        fastrand::u64(..)
    )
}

/// A checkpoint's position past a file's end: the file was truncated.
fn warn_shorter(path: &Path, offset: u64, size: u64) {
    let path = path.display().to_string();
    diagnostics::warn("source", &format!("shorter:{path}"), || {
        (
            format!(
                "{path} is shorter ({size} bytes) than its checkpoint ({offset}): it was truncated; read from the start"
            ),
            json!({"path": path, "offset": offset, "size": size}),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary file holding `bytes`, and the file opened.
    pub(super) fn file_with(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut temp = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut temp, bytes).unwrap();
        let file = File::open(temp.path()).unwrap();
        (temp, file)
    }

    /// `path` opened for reading from `start`, with lines up to 100 bytes.
    pub(super) fn open(path: &Path, start: Start) -> OpenFile {
        OpenFile::new(path, File::open(path).unwrap(), start, 100).unwrap()
    }

    #[test]
    fn a_resume_point_past_the_end_starts_over_with_a_new_identity() {
        let (temp, _) = file_with(b"one\ntwo\n");
        let resumed = open(
            temp.path(),
            Start::Resume {
                offset: 4,
                stream: "kept".into(),
            },
        );
        assert_eq!((resumed.start, &*resumed.stream.id), (4, "kept"));
        let shorter = open(
            temp.path(),
            Start::Resume {
                offset: 100,
                stream: "kept".into(),
            },
        );
        assert_eq!(shorter.start, 0);
        assert_ne!(&*shorter.stream.id, "kept");
    }
}
