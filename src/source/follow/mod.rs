//! Files as input: read once to their end (`shipper FILE...`), or followed
//! by name like `tail -F` (`--follow PATTERN`), across rotation,
//! truncation and deletion, with globs re-expanded as files come and go.
//!
//! One thread, the file reader, does the reading. It takes turns at the
//! files, a bounded number of bytes each, so one busy file cannot starve
//! the others; when there is nothing to read it sleeps until inotify
//! (through `notify`) says something changed, or until the next poll when
//! watching is not possible.
//!
//! This file holds the reader and its loops; one open file's reading is in
//! `file/`, expanding the patterns in `scan`, telling rotations in
//! `rotation`, letting files go in `release`, saving positions in
//! `saving`, waiting for changes in `watch`, and what happened while
//! shipper was stopped in `stopped`.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use super::checkpoint::{Checkpoint, Position};
use super::{ReaderThread, Unfinished};
use crate::chunk::Stream;
use crate::config::{InputConfig, ReadFrom, ReadMode};
use crate::diagnostics;
use crate::multiline::Split;
use crate::pipeline::Intake;
use file::{Fate, Identity, OpenFile, Start};
pub(crate) use watch::Wake;
use watch::Watcher;

mod file;
mod release;
mod rotation;
mod saving;
mod scan;
mod stopped;
mod watch;

/// Bytes one file may read in one turn before the next file's turn.
const TURN_BUDGET: u64 = 4 * 1024 * 1024;

/// What starting the file reader hands back to the run.
pub(crate) struct Started {
    /// The thread reading the files.
    pub reader: ReaderThread,
    /// Wakes the thread so it notices that intake stopped.
    pub waker: Sender<Wake>,
    /// Bytes read so far: what a progress bar shows.
    pub read: Arc<AtomicU64>,
    /// The bytes there were to read at the start, when reading files
    /// once; following, there is no end to measure against.
    pub total: Option<u64>,
}

/// The file reader: everything its thread knows of the files it reads,
/// from the first look to the last position handed to the checkpoint.
struct FileReader {
    /// The files or patterns, and how to read them.
    config: InputConfig,
    /// The line limit, and how lines join into events.
    split: Split,
    /// Where lines go.
    intake: Intake,
    /// Where positions are saved, with `--checkpoint`.
    checkpoint: Option<Arc<Checkpoint>>,
    /// The files open now, in the order their lines are read.
    files: Vec<OpenFile>,
    /// Why the thread should wake: a change watched, or intake stopping.
    wakes: Receiver<Wake>,
    /// inotify watches on the directories looked in, when watching works.
    watcher: Option<Watcher>,
    /// Changes cannot be watched (`--poll`, or watching failed): files are
    /// looked at every `POLL_INTERVAL`.
    polling: bool,
    /// Bytes read so far, shared with the progress bar.
    read: Arc<AtomicU64>,
    /// When the globs are next expanded.
    next_scan: Instant,
    /// When they were last expanded.
    last_look: std::time::SystemTime,
    /// When the checkpoint is next saved.
    next_save: Instant,
    /// The first read error, which decides the exit status.
    failed: Option<std::io::Error>,
    /// Where files that failed a read resume if a later look finds them.
    resumes: HashMap<Identity, Start>,
    /// Files released before their last events were settled: saved in the
    /// checkpoint until they are.
    released: Vec<Position>,
    /// Files released lately, with their births: one born in the tick of
    /// the last look is still a catch-up's candidate, and must not be read
    /// again.
    finished: Vec<(Identity, std::time::SystemTime)>,
    /// Which file each followed name led to at the last look: a name that
    /// changed hands since may have had a file in between.
    holders: HashMap<PathBuf, Identity>,
    /// shipper's own output files and checkpoint (directory and name):
    /// never read, or shipper would ship what it writes, forever.
    outputs: Vec<(PathBuf, OsString)>,
    /// The patterns (by index) that matched no file at the start, until
    /// one does.
    unmatched: HashSet<usize>,
    /// Files the patterns match that are named as compressed, as of the
    /// last look: said once each.
    compressed_names: HashSet<PathBuf>,
    /// Files found compressed by their first bytes, while a look still
    /// finds them: passed over without being opened again.
    compressed_files: HashSet<Identity>,
}

/// Opens the input files and starts reading them. Reading once, a file
/// that cannot be opened stops the run before anything is read; following,
/// a missing file is waited for.
pub(crate) fn spawn(
    config: &InputConfig,
    split: Split,
    intake: Intake,
    checkpoint: Option<Arc<Checkpoint>>,
    outputs: &[PathBuf],
) -> anyhow::Result<Started> {
    let (waker, wakes) = std::sync::mpsc::channel();
    let watcher = match config.mode {
        ReadMode::Follow if !config.poll => Watcher::start(waker.clone()),
        _ => None,
    };
    let mut reader = FileReader::new(config, split, intake, checkpoint, outputs, wakes);
    reader.polling = watcher.is_none();
    reader.watcher = watcher;
    let total = reader.open_first()?;
    reader.save_first()?;
    let read = Arc::clone(&reader.read);
    Ok(Started {
        reader: reader.run_on_thread()?,
        waker,
        read,
        total,
    })
}

impl FileReader {
    /// A reader that has opened nothing yet, and polls until given a
    /// watcher.
    fn new(
        config: &InputConfig,
        split: impl Into<Split>,
        intake: Intake,
        checkpoint: Option<Arc<Checkpoint>>,
        outputs: &[PathBuf],
        wakes: Receiver<Wake>,
    ) -> FileReader {
        FileReader {
            config: config.clone(),
            split: split.into(),
            polling: true,
            intake,
            checkpoint,
            files: Vec::new(),
            wakes,
            watcher: None,
            read: Arc::default(),
            next_scan: Instant::now(),
            last_look: scan::coarse_now(),
            next_save: Instant::now() + saving::SAVE_INTERVAL,
            failed: None,
            resumes: HashMap::new(),
            released: Vec::new(),
            finished: Vec::new(),
            holders: HashMap::new(),
            outputs: outputs
                .iter()
                .filter_map(|path| scan::place(path))
                .collect(),
            unmatched: HashSet::new(),
            compressed_names: HashSet::new(),
            compressed_files: HashSet::new(),
        }
    }

    /// Opens the files there are at the start. Returns the bytes there are
    /// to read when reading once.
    fn open_first(&mut self) -> anyhow::Result<Option<u64>> {
        Ok(match self.config.mode {
            ReadMode::Follow => {
                self.scan(true);
                None
            }
            ReadMode::Once => Some(self.open_once()?),
        })
    }

    /// Starts the thread that reads until the files end (reading once) or
    /// intake stops, then ships what is left and closes the queue.
    fn run_on_thread(mut self) -> anyhow::Result<ReaderThread> {
        let (tx, done) = tokio::sync::oneshot::channel();
        let unfinished = Unfinished::default();
        let held = unfinished.clone();
        let thread = std::thread::Builder::new()
            .name("follow".into())
            .spawn(move || {
                let result = match self.config.mode {
                    ReadMode::Follow => self.follow(),
                    ReadMode::Once => self.read_once(),
                };
                // Events waiting for their next line are whole: they ship.
                for file in &mut self.files {
                    file.flush(&self.intake);
                }
                held.set(self.unfinished());
                self.hand_over();
                self.intake.close();
                let _ = tx.send(result);
            })
            .context("could not start the file reader")?;
        Ok(ReaderThread {
            done,
            thread,
            unfinished,
        })
    }

    /// Reading once: opens every file named, in order, after what the
    /// checkpoint says is left of earlier files at those names (rotated
    /// since the last run). Returns the bytes there are to read.
    fn open_once(&mut self) -> anyhow::Result<u64> {
        let names = self.config.paths.clone();
        let seen: HashSet<Identity> = names
            .iter()
            .filter_map(|name| std::fs::metadata(name).ok())
            .map(|meta| Identity::of(&meta))
            .collect();
        self.recover(&seen);
        for name in &names {
            let file = self.open(Path::new(name), true).with_context(|| {
                format!("could not open '{}'", crate::diagnostics::escape(name))
            })?;
            self.files.push(file);
        }
        Ok(self.files.iter().map(OpenFile::unread).sum())
    }

    /// Opens a file found at `path`, resuming it from the checkpoint when
    /// it is known there. Files there at the start begin per `--read-from`;
    /// files that appear later are new, and read from their beginning.
    fn open(&mut self, path: &Path, at_start: bool) -> std::io::Result<OpenFile> {
        let file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        let identity = Identity::of(&meta);
        let known = self
            .checkpoint
            .as_ref()
            .and_then(|checkpoint| checkpoint.resume_point(identity.device, identity.inode, &file));
        let start = match (self.resumes.remove(&identity), known) {
            (Some(start), _) => start,
            (None, Some((offset, stream))) => Start::Resume { offset, stream },
            (None, None) if at_start && self.config.read_from == ReadFrom::End => Start::End,
            (None, None) => Start::Beginning,
        };
        OpenFile::new(path, file, start, self.split.clone())
    }

    /// Reads each file to its end, in order, as `cat` would, until intake
    /// stops. A file that fails is reported and the others are still read.
    fn read_once(&mut self) -> std::io::Result<()> {
        for index in 0..self.files.len() {
            while self.intake.may_read() && !self.files[index].at_end {
                self.take_turn(index);
                self.save_if_due();
            }
            if !self.intake.may_read() {
                break;
            }
            if self.files[index].fate != Fate::Failed {
                self.files[index].finish(&self.intake);
            }
        }
        self.result()
    }

    /// Follows the files until intake stops.
    fn follow(&mut self) -> std::io::Result<()> {
        while self.intake.may_read() {
            if Instant::now() >= self.next_scan {
                self.scan(false);
            }
            let busy = self.round();
            self.save_if_due();
            if !busy {
                self.wait();
            }
        }
        self.result()
    }

    /// How reading ended: the first read error, if any.
    fn result(&mut self) -> std::io::Result<()> {
        match self.failed.take() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// One turn at each file, releasing those done with. Returns whether
    /// any of them had something.
    fn round(&mut self) -> bool {
        let mut busy = false;
        let mut index = 0;
        while index < self.files.len() && self.intake.may_read() {
            if self.compressed_since_opened(index) {
                self.files.remove(index);
                continue;
            }
            if !self.waits_for_predecessor(index) {
                busy |= self.take_turn(index);
            }
            let file = &mut self.files[index];
            if file.at_end && (file.fate != Fate::Live || file.moved) {
                // Rotated away or deleted, and read to its end: the lines
                // that follow come from its successor.
                file.flush(&self.intake);
            } else {
                file.flush_due(&self.intake);
            }
            if self.done_with(index) {
                let mut file = self.files.remove(index);
                self.release(&mut file);
                continue;
            }
            index += 1;
        }
        busy
    }

    /// Reads what the file at `index` has; returns whether it had anything.
    /// A file that cannot be read is reported, and given up as if deleted.
    fn take_turn(&mut self, index: usize) -> bool {
        let file = &mut self.files[index];
        match file.turn(&self.intake, TURN_BUDGET, &self.read) {
            Ok(bytes) => bytes > 0,
            Err(err) => {
                let path = file.path.display().to_string();
                let err = std::io::Error::new(err.kind(), format!("{path}: {err}"));
                diagnostics::error("source", &format!("read:{path}"), || {
                    (
                        format!("could not read {err}"),
                        json!({"path": path, "error": err.to_string()}),
                    )
                });
                self.failed.get_or_insert(err);
                file.fate = Fate::Failed;
                file.at_end = true;
                false
            }
        }
    }

    /// Bytes of unfinished lines held when reading stopped, by file.
    fn unfinished(&self) -> impl Iterator<Item = (Arc<Stream>, u64)> + '_ {
        self.files
            .iter()
            .map(|file| (Arc::clone(&file.stream), file.unfinished()))
    }
}

/// Following reads regular files by name, from saved positions, across
/// rotation: a FIFO named to follow is passed over, and says so.
pub(crate) fn warn_fifos_not_followed(patterns: &[String]) {
    for pattern in patterns {
        let path = Path::new(pattern);
        if super::is_pipe(path) {
            crate::diagnostics::warn("source", "not_followed", || {
                (
                    format!(
                        "'{}' is a pipe or FIFO, not followed: --follow reads regular files; \
                         name it without --follow to read it like standard input",
                        crate::diagnostics::shown(path)
                    ),
                    serde_json::json!({"path": path.to_string_lossy()}),
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader following `pattern` by polling, from the beginning of the
    /// files, saving positions in `checkpoint` if given.
    pub(super) fn reader_saving(pattern: &Path, checkpoint: Option<PathBuf>) -> FileReader {
        let config = InputConfig {
            paths: vec![pattern.display().to_string()],
            mode: ReadMode::Follow,
            read_from: ReadFrom::Beginning,
            glob_interval: std::time::Duration::from_secs(1),
            poll: true,
            rotate_wait: std::time::Duration::from_secs(30),
            checkpoint: checkpoint.clone(),
            exclude: Vec::new(),
        };
        let intake = Intake::waiting(1000);
        let (_, wakes) = std::sync::mpsc::channel();
        let checkpoint = checkpoint.map(|path| Arc::new(Checkpoint::load(&path).unwrap()));
        FileReader::new(&config, 1024, intake, checkpoint, &[], wakes)
    }

    /// A reader following `pattern` by polling, and what wakes it.
    pub(super) fn reader_woken(pattern: &Path) -> (FileReader, Sender<Wake>) {
        let mut reader = reader_saving(pattern, None);
        let (waker, wakes) = std::sync::mpsc::channel();
        reader.wakes = wakes;
        (reader, waker)
    }

    /// A deleted file read to its end is released; its position is kept
    /// while its lines are in flight only when there is a checkpoint to
    /// save it in, so a long run without one does not grow.
    #[test]
    fn released_positions_are_kept_only_for_a_checkpoint() {
        for saving in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join("app.log");
            std::fs::write(&log, "a\nb\n").unwrap();
            let checkpoint = saving.then(|| dir.path().join("state.json"));
            let mut reader = reader_saving(&log, checkpoint);
            reader.scan(true);
            std::fs::remove_file(&log).unwrap();
            reader.scan(false);
            reader.round();
            assert!(reader.files.is_empty(), "released");
            assert_eq!(reader.released.len(), usize::from(saving));
        }
    }
}
