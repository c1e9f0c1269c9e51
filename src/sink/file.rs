//! The file sink: appends JSON lines, one write per batch, rotates by size,
//! and never leaves a torn line behind a failed write.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::{Sink, WriteOutcome, write_counting};
use crate::config::FileOptions;
use crate::pipeline::batch::Batch;

pub(crate) struct FileSink {
    name: String,
    path: PathBuf,
    file: File,
    /// Bytes in the live file, for rotation and for cutting a torn write.
    size: u64,
    /// A regular file can be rotated, cut back and fsynced; a device or a
    /// FIFO cannot.
    regular: bool,
    options: FileOptions,
}

impl FileSink {
    pub(crate) fn open(path: &Path, options: FileOptions) -> io::Result<FileSink> {
        let file = open_append(path)?;
        let metadata = file.metadata()?;
        Ok(FileSink {
            name: format!("file:{}", path.display()),
            path: path.to_path_buf(),
            regular: metadata.is_file(),
            size: metadata.len(),
            file,
            options,
        })
    }

    fn needs_rotation(&self, incoming: usize) -> bool {
        match self.options.max_bytes {
            Some(max) => self.regular && self.size > 0 && self.size + incoming as u64 > max,
            None => false,
        }
    }

    /// `PATH.N-1` becomes `PATH.N` (the oldest falls off), ..., `PATH`
    /// becomes `PATH.1`, and a fresh `PATH` is opened.
    fn rotate(&mut self) -> io::Result<()> {
        self.file.sync_all()?;
        let keep = self.options.max_files;
        if keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            for n in (1..keep).rev() {
                match fs::rename(self.rotated(n), self.rotated(n + 1)) {
                    Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                    _ => {}
                }
            }
            fs::rename(&self.path, self.rotated(1))?;
        }
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).create(true).open(path)
}

impl Sink for FileSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write_batch(&mut self, batch: &Batch) -> WriteOutcome {
        if self.needs_rotation(batch.bytes().len())
            && let Err(error) = self.rotate()
        {
            return WriteOutcome {
                written: 0,
                error: Some(error),
            };
        }
        let (bytes, error) = write_counting(&mut self.file, batch.bytes());
        let written = batch.events_within(bytes);
        let whole = batch.bytes_of(written) as u64;
        if self.regular && (bytes as u64) > whole {
            // A write that failed part-way left the start of an event: cut
            // it off so the file holds whole lines only.
            if self.file.set_len(self.size + whole).is_err() {
                self.size += bytes as u64;
                return WriteOutcome { written, error };
            }
        }
        self.size += whole;
        WriteOutcome { written, error }
    }

    fn close(&mut self) -> io::Result<()> {
        if self.regular {
            self.file.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::batch::BatchBuilder;

    fn batch(events: &[&str]) -> Batch {
        let mut builder = BatchBuilder::new(events.len().max(1));
        for event in events {
            builder.push(|out| {
                out.extend_from_slice(event.as_bytes());
                true
            });
        }
        builder.take(1)
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
        let mut sink = FileSink::open(&path, options(None, 5)).unwrap();
        let outcome = sink.write_batch(&batch(&["a", "b"]));
        assert_eq!(outcome.written, 2);
        assert!(outcome.error.is_none());
        sink.close().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\na\nb\n");
    }

    #[test]
    fn rotates_before_a_batch_would_pass_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let mut sink = FileSink::open(&path, options(Some(6), 2)).unwrap();
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
    fn a_full_device_fails_the_batch_and_the_next_is_tried() {
        let mut sink = FileSink::open(Path::new("/dev/full"), options(Some(1), 1)).unwrap();
        for _ in 0..2 {
            let outcome = sink.write_batch(&batch(&["a", "b"]));
            assert_eq!(outcome.written, 0);
            let error = outcome.error.expect("ENOSPC");
            assert_eq!(error.kind(), io::ErrorKind::StorageFull);
        }
        sink.close().expect("a device is not fsynced");
    }
}
