//! The file sink: appends JSON lines, one write per batch (one per file
//! when a batch spans a rotation), rotates by size so that no file passes
//! it, and never leaves a torn line behind a failed write.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, OFlag, fcntl};

use super::interface::{BlockingSink, WriteOutcome};
use super::output::Output;
use crate::batch::Batch;
use crate::config::file::FileOptions;
use crate::files::Kind;

pub(crate) struct FileSink {
    /// `file:PATH`, as diagnostics and the summary name it.
    name: String,
    /// The live file; its generations are `PATH.1` (newest) ... `PATH.N`.
    path: PathBuf,
    /// The live file, open for appending.
    out: Output,
    /// Set when reopening the path failed: `out` is the file that was
    /// moved away, and is no longer written; each batch tries the path
    /// again, and fails (counted) until it opens.
    lost: bool,
    /// When to rotate and how many generations to keep.
    options: FileOptions,
}

impl FileSink {
    /// Opens `path` for appending; `name` is how the sink is named
    /// (`file:PATH`, made where every sink's name is).
    pub(crate) fn open(path: &Path, name: String, options: FileOptions) -> io::Result<FileSink> {
        Ok(FileSink {
            name,
            path: path.to_path_buf(),
            out: open_output(path)?,
            lost: false,
            options,
        })
    }

    /// Lines `from..end` of `batch` fit in the live file without passing
    /// `--file-max-bytes`: returns `end` (`from` when none fits). A line
    /// larger than the bound fits into an empty file, alone.
    fn fitting(&self, batch: &Batch, from: usize) -> usize {
        let max = match self.options.max_bytes {
            Some(max) if self.out.is_regular() => max,
            _ => return batch.len(),
        };
        let room = max.saturating_sub(self.out.size());
        let room = usize::try_from(room).unwrap_or(usize::MAX);
        let end = batch.events_within(batch.bytes_of(from).saturating_add(room));
        match end.max(from) {
            end if end == from && self.out.size() == 0 => from + 1,
            end => end,
        }
    }

    /// Lines `from..` of a batch, rotating as often as it takes: one write
    /// per file. Returns the lines written and the error that stopped it.
    fn write_from(&mut self, batch: &Batch, mut from: usize) -> (usize, Option<io::Error>) {
        while from < batch.len() {
            let mut end = self.fitting(batch, from);
            if end == from {
                if let Err(error) = self.rotate() {
                    return (from, Some(error));
                }
                end = self.fitting(batch, from);
            }
            let (written, error) = self.out.write_lines(batch, from, end);
            from += written;
            if error.is_some() || from < end {
                return (from, error);
            }
        }
        (from, None)
    }

    /// `PATH.N-1` becomes `PATH.N` (the oldest falls off), ..., `PATH`
    /// becomes `PATH.1`, and a fresh `PATH` is opened. A step that finds
    /// its file missing (an earlier rotation failed half-way) moves on.
    /// Nothing is renamed unless every generation name holds a regular
    /// file or nothing: a link, FIFO or device planted there is never
    /// renamed over (nor moved), and the rotation fails naming it.
    fn rotate(&mut self) -> io::Result<()> {
        self.out.sync()?;
        let keep = self.options.max_files;
        for n in 1..=keep {
            renameable(&self.rotated(n))?;
        }
        let moves = (1..keep)
            .rev()
            .map(|n| (self.rotated(n), self.rotated(n + 1)));
        // At least one rotated file is kept (the configuration refuses 0):
        // nothing written is deleted.
        let last = (self.path.clone(), self.rotated(1));
        for (from, to) in moves.chain(std::iter::once(last)) {
            ignore_missing(fs::rename(from, to))?;
        }
        self.out = open_output(&self.path)?;
        Ok(())
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }
}

/// A generation name shipper may rename to or from: a regular file or
/// nothing.
fn renameable(path: &Path) -> io::Result<()> {
    match Kind::at(path)? {
        Kind::Missing | Kind::Regular => Ok(()),
        kind => Err(io::Error::other(format!(
            "could not rotate: '{}' is {}, not a regular file, and shipper renames only over \
             its own files; remove it to let rotation go on",
            crate::diagnostics::shown(path),
            kind.name()
        ))),
    }
}

fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Opens `path` for appending, so that the first event written starts a
/// line of its own.
fn open_output(path: &Path) -> io::Result<Output> {
    let file = open_append(path)?;
    if file.metadata()?.is_file() {
        repair_tail(&file, path)?;
    }
    Output::new(file)
}

/// A regular file whose last byte is not a newline ends in a line whose
/// write was cut short (shipper killed mid-write, a crash): its end will
/// never come, and appending to it would fuse it with the next event into
/// one invalid line. The fragment is cut back to the last newline and a
/// warning gives its size and its start. Cutting loses nothing counted: a
/// write that never finished was never acknowledged, so its events were
/// never processed. The file is shipper's output; a line another program
/// left unfinished there is cut the same way, and the warning shows it.
pub(crate) fn repair_tail(file: &File, path: &Path) -> io::Result<()> {
    let size = file.metadata()?.len();
    if size == 0 {
        return Ok(());
    }
    let reader = match same_file_for_reading(file, path) {
        Ok(reader) => reader,
        Err(err) => {
            warn_unchecked_tail(path, &err);
            return Ok(());
        }
    };
    let keep = crate::files::after_last_line(&reader, size)?;
    if keep == size {
        return Ok(());
    }
    let mut start = vec![0; (size - keep).min(80) as usize];
    reader.read_exact_at(&mut start, keep)?;
    file.set_len(keep)?;
    warn_cut_tail(path, size - keep, &start);
    Ok(())
}

/// The file at `path`, opened for reading, if it is still the one `file` is.
fn same_file_for_reading(file: &File, path: &Path) -> io::Result<File> {
    use std::os::unix::fs::MetadataExt;
    let reader = File::open(path)?;
    let (ours, theirs) = (file.metadata()?, reader.metadata()?);
    if (ours.dev(), ours.ino()) != (theirs.dev(), theirs.ino()) {
        return Err(io::Error::other("the path was replaced while it opened"));
    }
    Ok(reader)
}

fn warn_cut_tail(path: &Path, bytes: u64, start: &[u8]) {
    let start = String::from_utf8_lossy(start).into_owned();
    crate::diagnostics::warn("sink", "unfinished_tail", || {
        (
            format!(
                "'{}' ended in {bytes} bytes of an unfinished line (a write cut short); cut them \
                 off so that new events start a line of their own",
                crate::diagnostics::shown(path)
            ),
            serde_json::json!({"path": path.to_string_lossy(), "bytes": bytes, "start": start}),
        )
    });
}

fn warn_unchecked_tail(path: &Path, err: &io::Error) {
    crate::diagnostics::warn("sink", "unchecked_tail", || {
        (
            format!(
                "could not read '{}' to check that it ends a line ({err}); appending anyway",
                crate::diagnostics::shown(path)
            ),
            serde_json::json!({"path": path.to_string_lossy(), "error": err.to_string()}),
        )
    });
}

fn warn_unsynced(path: &Path, err: &io::Error) {
    crate::diagnostics::warn("sink", "unsynced_before_reopen", || {
        (
            format!(
                "could not sync '{}' before reopening it: {err}",
                crate::diagnostics::shown(path)
            ),
            serde_json::json!({"path": path.to_string_lossy(), "error": err.to_string()}),
        )
    });
}

/// Opens for appending without blocking: a FIFO with no reader is an error
/// now (ENXIO), not a hang. Writes then block as usual.
fn open_append(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(nix::libc::ENXIO) => {
                io::Error::new(err.kind(), "no process has this FIFO open for reading")
            }
            _ => err,
        })?;
    let flags = OFlag::from_bits_truncate(fcntl(&file, FcntlArg::F_GETFL)?);
    fcntl(&file, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK))?;
    Ok(file)
}

impl BlockingSink for FileSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write_batch(&mut self, batch: &Batch) -> WriteOutcome {
        if self.lost
            && let Err(error) = self.reopen()
        {
            return WriteOutcome::new(0, Some(error));
        }
        let (written, error) = self.write_from(batch, 0);
        WriteOutcome::new(written, error)
    }

    fn close(&mut self) -> io::Result<()> {
        self.out.sync()
    }

    fn failed_for_good(&self) -> bool {
        self.out.is_broken() && !self.lost
    }

    /// Opens the path afresh; what was written to the file that was there
    /// is made durable first (a failure to is said, and does not keep the
    /// path from opening).
    fn reopen(&mut self) -> io::Result<()> {
        if let Err(error) = self.out.sync() {
            warn_unsynced(&self.path, &error);
        }
        match open_output(&self.path) {
            Ok(out) => {
                self.out = out;
                self.lost = false;
                Ok(())
            }
            Err(error) => {
                self.lost = true;
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchBuilder;

    fn batch(events: &[&str]) -> Batch {
        let mut builder = BatchBuilder::new(events.len().max(1));
        for event in events {
            builder.push(0, |out| {
                out.extend_from_slice(event.as_bytes());
                true
            });
        }
        builder.take(1)
    }

    fn open(path: &Path, options: FileOptions) -> io::Result<FileSink> {
        FileSink::open(path, "file:test".to_owned(), options)
    }

    fn options(max_bytes: Option<u64>, max_files: usize) -> FileOptions {
        FileOptions {
            max_bytes,
            max_files,
        }
    }

    #[test]
    fn appends_to_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        fs::write(&path, "old\n").unwrap();
        let mut sink = open(&path, options(None, 5)).unwrap();
        let outcome = sink.write_batch(&batch(&["a", "b"]));
        assert_eq!(outcome.written, 2);
        assert!(outcome.error.is_none());
        sink.close().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\na\nb\n");
    }

    #[test]
    fn an_unfinished_last_line_is_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let long = "x".repeat(200_000);
        for (before, kept) in [
            ("old\n{\"half", "old\n"),
            ("no newline at all", ""),
            (long.as_str(), ""),
            ("whole\n", "whole\n"),
        ] {
            fs::write(&path, format!("one\n{before}")).unwrap();
            let mut sink = open(&path, options(None, 5)).unwrap();
            assert_eq!(sink.write_batch(&batch(&["a"])).written, 1);
            let text = fs::read_to_string(&path).unwrap();
            assert_eq!(text, format!("one\n{kept}a\n"));
        }
    }

    #[test]
    fn rotates_before_a_batch_would_pass_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut sink = open(&path, options(Some(4), 2)).unwrap();
        for events in [["1", "2"], ["3", "4"], ["5", "6"], ["7", "8"]] {
            assert_eq!(sink.write_batch(&batch(&events)).written, 2);
        }
        let read =
            |suffix: &str| fs::read_to_string(dir.path().join(format!("out.log{suffix}"))).unwrap();
        assert_eq!(read(""), "7\n8\n");
        assert_eq!(read(".1"), "5\n6\n");
        assert_eq!(read(".2"), "3\n4\n");
        assert!(
            !dir.path().join("out.log.3").exists(),
            "only two rotated files are kept"
        );
    }

    #[test]
    fn a_batch_is_split_across_rotations_so_no_file_passes_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut sink = open(&path, options(Some(5), 5)).unwrap();
        let outcome = sink.write_batch(&batch(&["1", "2", "toolong", "3", "4"]));
        assert_eq!(outcome.written, 5);
        let read =
            |suffix: &str| fs::read_to_string(dir.path().join(format!("out.log{suffix}"))).unwrap();
        assert_eq!(read(".2"), "1\n2\n");
        assert_eq!(read(".1"), "toolong\n", "alone in a file of its own");
        assert_eq!(read(""), "3\n4\n");
    }

    #[test]
    fn a_full_device_fails_the_batch_and_the_next_is_tried() {
        let mut sink = open(Path::new("/dev/full"), options(Some(1), 1)).unwrap();
        for _ in 0..2 {
            let outcome = sink.write_batch(&batch(&["a", "b"]));
            assert_eq!(outcome.written, 0);
            let error = outcome.error.expect("ENOSPC");
            assert_eq!(error.kind, "StorageFull");
        }
        sink.close().expect("a device is not fsynced");
    }

    #[test]
    fn a_fifo_without_a_reader_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let error = open(&path, options(None, 1)).err().expect("ENXIO");
        assert!(
            error.to_string().contains("no process has this FIFO open"),
            "{error}"
        );
    }

    #[test]
    fn rotation_recovers_when_the_live_file_went_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut sink = open(&path, options(Some(3), 2)).unwrap();
        assert_eq!(sink.write_batch(&batch(&["1"])).written, 1);
        fs::remove_file(&path).unwrap();
        assert_eq!(sink.write_batch(&batch(&["2", "3"])).written, 2);
        assert_eq!(
            fs::read_to_string(path.with_extension("log.1")).unwrap(),
            "2\n"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "3\n");
    }

    #[test]
    fn reopen_opens_the_path_again_after_the_file_was_moved_away() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut sink = open(&path, options(None, 5)).unwrap();
        assert_eq!(sink.write_batch(&batch(&["1", "2"])).written, 2);
        let moved = dir.path().join("out.log.1");
        fs::rename(&path, &moved).unwrap();
        sink.reopen().unwrap();
        assert_eq!(sink.write_batch(&batch(&["3"])).written, 1);
        sink.close().unwrap();
        assert_eq!(fs::read_to_string(&moved).unwrap(), "1\n2\n");
        assert_eq!(fs::read_to_string(&path).unwrap(), "3\n");
    }

    #[test]
    fn a_path_that_cannot_reopen_fails_each_batch_until_it_opens() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        fs::create_dir(&logs).unwrap();
        let path = logs.join("out.log");
        let mut sink = open(&path, options(None, 5)).unwrap();
        assert_eq!(sink.write_batch(&batch(&["1"])).written, 1);
        fs::rename(&logs, dir.path().join("logs.old")).unwrap();
        assert!(sink.reopen().is_err());
        let outcome = sink.write_batch(&batch(&["2"]));
        assert_eq!(outcome.written, 0, "not written to the file moved away");
        assert_eq!(outcome.error.expect("ENOENT").kind, "NotFound");
        fs::create_dir(&logs).unwrap();
        assert_eq!(sink.write_batch(&batch(&["3"])).written, 1);
        assert_eq!(fs::read_to_string(&path).unwrap(), "3\n");
        let old = dir.path().join("logs.old/out.log");
        assert_eq!(fs::read_to_string(old).unwrap(), "1\n");
    }
}
