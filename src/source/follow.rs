//! Files as input: read once to their end (`shipper FILE...`), or followed
//! by name like `tail -F` (`--follow PATTERN`), across rotation,
//! truncation and deletion, with globs re-expanded as files come and go.
//!
//! One thread does the reading. It takes turns at the files, a bounded
//! number of bytes each, so one busy file cannot starve the others; when
//! there is nothing to read it sleeps until inotify (through `notify`)
//! says something changed, or until the next poll when watching is not
//! possible.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::ReaderHandle;
use super::checkpoint::{Checkpoint, Position};
use super::followed::{Fate, Followed, Identity, Start};
use crate::config::{InputConfig, ReadFrom};
use crate::diagnostics;
use crate::pipeline::Intake;

mod stopped;

/// Bytes one file may read in one turn before the next file's turn.
const TURN_BUDGET: u64 = 4 * 1024 * 1024;
/// How often files are looked at when changes cannot be watched.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How often the checkpoint is saved while files are read.
const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// Why the reading thread woke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// A file was written to.
    Written,
    /// A name in a watched directory came or went: look for files again.
    Names,
    /// Intake is stopping.
    Stop,
}

/// What the reading thread hands back through its handle.
pub(crate) struct Following {
    pub reader: ReaderHandle,
    /// Wakes the thread so it notices that intake stopped.
    pub waker: Sender<Wake>,
    /// Bytes read so far, and the bytes there were to read at the start
    /// (when reading files once): what a progress bar shows.
    pub read: Arc<AtomicU64>,
    pub total: Option<u64>,
}

struct Follower {
    config: InputConfig,
    max_line: usize,
    queue: Intake,
    checkpoint: Option<Arc<Checkpoint>>,
    files: Vec<Followed>,
    wakes: Receiver<Wake>,
    watcher: Option<Watcher>,
    /// Changes cannot be watched (`--poll`, or watching failed): files are
    /// looked at every `POLL_INTERVAL`.
    polling: bool,
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
}

/// Opens the input files and starts reading them. Reading once, a file
/// that cannot be opened stops the run before anything is read; following,
/// a missing file is waited for.
pub(crate) fn spawn(
    config: &InputConfig,
    max_line: usize,
    queue: Intake,
    checkpoint: Option<Arc<Checkpoint>>,
    outputs: &[PathBuf],
) -> anyhow::Result<Following> {
    let (waker, wakes) = std::sync::mpsc::channel();
    let watcher = if config.follow && !config.poll {
        Watcher::start(waker.clone())
    } else {
        None
    };
    let mut follower = Follower::new(config, max_line, queue, checkpoint, outputs, wakes);
    follower.polling = watcher.is_none();
    follower.watcher = watcher;
    let total = if config.follow {
        follower.scan(true);
        None
    } else {
        Some(follower.open_once()?)
    };
    // Saved once before reading: a checkpoint that cannot be written stops
    // the run now, not after hours of reading.
    if let Some(checkpoint) = &follower.checkpoint {
        follower.hand_over();
        checkpoint.save(&Default::default(), false)?;
    }
    let read = Arc::clone(&follower.read);
    let (tx, done) = tokio::sync::oneshot::channel();
    let unfinished = Arc::new(AtomicU64::new(0));
    let held = Arc::clone(&unfinished);
    let thread = std::thread::Builder::new()
        .name("follow".into())
        .spawn(move || {
            let result = if follower.config.follow {
                follower.follow()
            } else {
                follower.read_once()
            };
            held.store(follower.unfinished(), Ordering::Relaxed);
            follower.hand_over();
            follower.queue.close();
            let _ = tx.send(result);
        })
        .context("could not start the file reader")?;
    Ok(Following {
        reader: ReaderHandle {
            done,
            thread,
            unfinished,
        },
        waker,
        read,
        total,
    })
}

impl Follower {
    /// A follower that has opened nothing yet, and polls until given a
    /// watcher.
    fn new(
        config: &InputConfig,
        max_line: usize,
        queue: Intake,
        checkpoint: Option<Arc<Checkpoint>>,
        outputs: &[PathBuf],
        wakes: Receiver<Wake>,
    ) -> Follower {
        Follower {
            config: config.clone(),
            max_line,
            polling: true,
            queue,
            checkpoint,
            files: Vec::new(),
            wakes,
            watcher: None,
            read: Arc::default(),
            next_scan: Instant::now(),
            last_look: coarse_now(),
            next_save: Instant::now() + SAVE_INTERVAL,
            failed: None,
            resumes: HashMap::new(),
            released: Vec::new(),
            finished: Vec::new(),
            holders: HashMap::new(),
            outputs: outputs.iter().filter_map(|path| place(path)).collect(),
        }
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
        Ok(self.files.iter().map(Followed::unread).sum())
    }

    /// Opens a file found at `path`, resuming it from the checkpoint when
    /// it is known there. Files there at the start begin per `--read-from`;
    /// files that appear later are new, and read from their beginning.
    fn open(&mut self, path: &Path, at_start: bool) -> std::io::Result<Followed> {
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
        Followed::new(path, file, start, self.max_line)
    }

    /// Reads each file to its end, in order, as `cat` would, until intake
    /// stops. A file that fails is reported and the others are still read.
    fn read_once(&mut self) -> std::io::Result<()> {
        for index in 0..self.files.len() {
            while self.queue.may_read() && !self.files[index].at_end {
                self.take_turn(index);
                self.save_if_due();
            }
            if !self.queue.may_read() {
                break;
            }
            if self.files[index].fate != Fate::Failed {
                self.files[index].finish(&self.queue);
            }
        }
        self.result()
    }

    /// Follows the files until intake stops.
    fn follow(&mut self) -> std::io::Result<()> {
        while self.queue.may_read() {
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
        while index < self.files.len() && self.queue.may_read() {
            if !self.waits_for_predecessor(index) {
                busy |= self.take_turn(index);
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

    /// Whether the file at `index` must wait: a file that held the same
    /// name before it, since rotated away, is not read to its end yet.
    /// Lines written under one name ship in the order they were written,
    /// whichever of the files was found first.
    ///
    /// The file holding the name now comes after every file rotated away
    /// from it. Of two rotated away, the one born first came first; birth
    /// times come from a coarse clock, so two files created within a few
    /// milliseconds can share one, and then the one found first came first.
    fn waits_for_predecessor(&self, index: usize) -> bool {
        let file = &self.files[index];
        let gone = |file: &Followed| file.fate != Fate::Live || file.moved;
        self.files.iter().enumerate().any(|(at, other)| {
            let before =
                !gone(file) || other.born < file.born || (other.born == file.born && at < index);
            other.path == file.path && gone(other) && !other.at_end && before
        })
    }

    /// Reads what the file at `index` has; returns whether it had anything.
    /// A file that cannot be read is reported, and given up as if deleted.
    fn take_turn(&mut self, index: usize) -> bool {
        let file = &mut self.files[index];
        match file.turn(&self.queue, TURN_BUDGET, &self.read) {
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

    /// Whether the file at `index` is finished with: deleted and read to
    /// its end, or rotated away, read to its end, and left alone by its
    /// writer for `--rotate-wait`. A rotated file still being read after
    /// that is not given up: it is said to be behind, and read on.
    fn done_with(&mut self, index: usize) -> bool {
        let rotate_wait = self.config.rotate_wait;
        let file = &mut self.files[index];
        match file.fate {
            Fate::Live => false,
            Fate::Failed => true,
            Fate::Deleted => file.at_end,
            Fate::Rotated { since } if since.elapsed() < rotate_wait => false,
            Fate::Rotated { .. } if file.at_end => true,
            Fate::Rotated { .. } => {
                if !file.late {
                    file.late = true;
                    let (path, unread) = (file.path.display().to_string(), file.unread());
                    diagnostics::warn("source", &format!("late:{path}"), || {
                        (
                            format!(
                                "{path} was rotated away more than --rotate-wait ({}) ago and {unread} bytes of it are not read yet: reading on",
                                humantime::format_duration(rotate_wait)
                            ),
                            json!({"path": path, "unread": unread}),
                        )
                    });
                }
                false
            }
        }
    }

    /// Ships a released file's last line and closes it, saying what it left
    /// unread, if anything (a file that failed).
    fn release(&mut self, file: &mut Followed) {
        self.finished.push((file.identity, file.born));
        if file.fate == Fate::Failed {
            // Its unfinished line is not a line; a later look that finds
            // the file again goes on from what the queue took.
            self.resumes.insert(file.identity, file.resume_point());
        } else {
            file.finish(&self.queue);
            if self.checkpoint.is_some() {
                self.released.push(Position {
                    released: true,
                    ..file.position()
                });
            }
        }
        let path = file.path.display().to_string();
        let unread = file.unread();
        if unread > 0 {
            diagnostics::warn("source", &format!("unread:{path}"), || {
                (
                    format!("{path} released with {unread} bytes not read"),
                    json!({"path": path, "unread": unread}),
                )
            });
        }
        diagnostics::info("source", format!("released {path}"), json!({"path": path}));
    }

    /// Expands the globs: new files are opened, and files no longer found
    /// at their path are marked rotated away or deleted. Files rotated
    /// away since the last look are read before the new files at their
    /// names, so each name's lines keep their order.
    fn scan(&mut self, at_start: bool) {
        let looked = coarse_now();
        let mut fresh = Vec::new();
        let mut seen = HashSet::new();
        let mut holders = HashMap::new();
        let Some(found) = self.matching() else {
            self.mark_unlinked();
            self.next_scan = Instant::now() + self.config.glob_interval;
            return;
        };
        for path in found {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            // A second path to a file already found (a link) is not a
            // second file.
            if meta.is_file() {
                holders.insert(path.clone(), Identity::of(&meta));
            }
            if !meta.is_file() || !seen.insert(Identity::of(&meta)) {
                continue;
            }
            let identity = Identity::of(&meta);
            match self.files.iter_mut().find(|file| file.identity == identity) {
                Some(file) => {
                    file.fate = Fate::Live;
                    file.moved |= file.path != path;
                }
                None => fresh.push((path, identity)),
            }
        }
        for file in &mut self.files {
            if file.fate == Fate::Live && !seen.contains(&file.identity) {
                file.fate = if file.linked() {
                    Fate::Rotated {
                        since: file.renamed_at(),
                    }
                } else {
                    Fate::Deleted
                };
            }
        }
        // Every name rotated, now or at an earlier look, and every name
        // that changed hands since the last look (its file deleted, then
        // re-created): the file that took it after the last look may be
        // gone from it already.
        let mut rotated: Vec<PathBuf> = if at_start {
            Vec::new()
        } else {
            self.changed_hands(&holders)
        };
        for file in &self.files {
            if matches!(file.fate, Fate::Rotated { .. }) && !rotated.contains(&file.path) {
                rotated.push(file.path.clone());
            }
        }
        if at_start {
            self.recover(&seen);
        }
        for path in rotated {
            self.catch_up(&path, &seen, self.last_look);
        }
        let mut settled = true;
        for (path, identity) in fresh {
            let file = match self.open(&path, at_start) {
                Ok(file) => file,
                // Gone between finding and opening: the name is changing
                // hands too.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    settled = false;
                    continue;
                }
                Err(err) => {
                    warn_open(&path, &err);
                    continue;
                }
            };
            if file.identity == identity {
                tell_following(&path);
                self.files.push(file);
            } else {
                // The name changed hands while this look went on: look
                // again at once, from the last look's time, so a file that
                // held the name meanwhile is still caught up.
                settled = false;
            }
        }
        self.watch();
        super::descriptors::tell_waiting();
        if settled {
            self.holders = holders;
            self.last_look = looked;
            self.finished.retain(|(_, born)| *born >= looked);
            self.next_scan = Instant::now() + self.config.glob_interval;
        } else {
            self.next_scan = Instant::now();
        }
    }

    /// A look that could not list a directory (no descriptor left) still
    /// knows a file whose last link is gone is deleted: read to its end,
    /// it is released, and its descriptor goes to a file that waits.
    fn mark_unlinked(&mut self) {
        for file in &mut self.files {
            if file.fate == Fate::Live && !file.linked() {
                file.fate = Fate::Deleted;
            }
        }
    }

    /// The names whose file is not the one the last look found there.
    fn changed_hands(&self, holders: &HashMap<PathBuf, Identity>) -> Vec<PathBuf> {
        let came = holders
            .iter()
            .filter(|(path, identity)| self.holders.get(*path) != Some(identity))
            .map(|(path, _)| path);
        let went = self
            .holders
            .keys()
            .filter(|path| !holders.contains_key(*path));
        let mut names: Vec<PathBuf> = came.chain(went).cloned().collect();
        names.sort();
        names
    }

    /// A name was rotated: a file that took the name and was rotated away
    /// again since the last look (two rotations between two looks, or any
    /// number while shipper was stopped) would never be seen at it. Such
    /// files are found beside it, as generations of its name born `since`
    /// the last look, and read whole. Older generations renamed in the
    /// same rotation (`app.log.1` to `app.log.2`) were born long before:
    /// left alone.
    fn catch_up(&mut self, rotated: &Path, seen: &HashSet<Identity>, since: std::time::SystemTime) {
        let Some(name) = rotated.file_name() else {
            return;
        };
        let dir = dir_of(rotated);
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut missed: Vec<(i64, i64, std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|entry| {
                // The file at the name itself holds it now, whatever the
                // look saw there a moment ago: it is a fresh file, read
                // after the ones caught up here.
                stopped::is_generation(name, &entry.file_name())
            })
            .filter_map(|entry| {
                let meta = entry.metadata().ok()?;
                let identity = Identity::of(&meta);
                let born = super::followed::born(&meta);
                // A file on the inode of one deleted since is another file:
                // its birth tells.
                let known = seen.contains(&identity)
                    || self
                        .files
                        .iter()
                        .any(|file| file.identity == identity && file.born == born)
                    || self.finished.contains(&(identity, born));
                let path = dir.join(entry.file_name());
                let ours = self.is_output(&path);
                (meta.is_file() && !known && !ours && born >= since)
                    .then(|| (meta.mtime(), meta.mtime_nsec(), born, path))
            })
            .collect();
        // The file written to longest ago first: its lines came first.
        missed.sort();
        for (_, _, _, path) in missed {
            if let Some(mut file) = self.open_found(&path, false) {
                file.written_as(rotated);
                file.fate = Fate::Rotated {
                    since: file.renamed_at(),
                };
                self.files.push(file);
            }
        }
    }

    /// Opens a file found by a look, saying so, or why it could not.
    fn open_found(&mut self, path: &Path, at_start: bool) -> Option<Followed> {
        match self.open(path, at_start) {
            Ok(file) => {
                tell_following(path);
                Some(file)
            }
            Err(err) => {
                warn_open(path, &err);
                None
            }
        }
    }

    /// Watches the directories looked in, where watching is possible.
    fn watch(&mut self) {
        let Some(watcher) = &mut self.watcher else {
            return;
        };
        let dirs = self.config.paths.iter().map(|pattern| watch_dir(pattern));
        let parents = self
            .files
            .iter()
            .filter_map(|file| file.path.parent().map(Path::to_owned));
        if !watcher.watch(dirs.chain(parents)) {
            self.polling = true;
        }
    }

    /// The paths the patterns match now, each once, in pattern order,
    /// leaving out shipper's own output.
    /// `None` when a directory could not be listed for want of a file
    /// descriptor: such a look cannot tell which files are gone.
    fn matching(&self) -> Option<Vec<PathBuf>> {
        let mut paths = Vec::new();
        let mut seen = HashSet::new();
        for pattern in &self.config.paths {
            let Ok(matches) = glob::glob(pattern) else {
                continue;
            };
            for found in matches {
                match found {
                    Ok(path) if !self.is_output(&path) && seen.insert(path.clone()) => {
                        paths.push(path);
                    }
                    Err(err) if super::descriptors::ran_out(err.error()) => return None,
                    _ => {}
                }
            }
        }
        Some(paths)
    }

    /// Whether `path` is one of shipper's own output files, one of their
    /// rotations (`out.log.1`), or the checkpoint and its temporary file.
    fn is_output(&self, path: &Path) -> bool {
        let Some((dir, name)) = place(path) else {
            return false;
        };
        self.outputs.iter().any(|(out_dir, out_name)| {
            let mut rotation = out_name.clone();
            rotation.push(".");
            *out_dir == dir
                && (name == *out_name
                    || name
                        .as_encoded_bytes()
                        .starts_with(rotation.as_encoded_bytes()))
        })
    }

    /// Sleeps until something changes, a poll is due, or a deadline comes.
    fn wait(&mut self) {
        let polling = self.polling;
        let mut next = self.next_scan;
        if self.checkpoint.is_some() {
            next = next.min(self.next_save);
        }
        let mut timeout = next.saturating_duration_since(Instant::now());
        if polling {
            timeout = timeout.min(POLL_INTERVAL);
        }
        if self.files.iter().any(|file| file.fate != Fate::Live) {
            timeout = timeout.min(POLL_INTERVAL);
        }
        let mut names = false;
        match self.wakes.recv_timeout(timeout) {
            Ok(wake) => names |= wake == Wake::Names,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(timeout),
        }
        // Many changes may have come at once: one look serves them all.
        while let Ok(wake) = self.wakes.try_recv() {
            names |= wake == Wake::Names;
        }
        if names || polling {
            self.next_scan = Instant::now();
        }
    }

    fn save_if_due(&mut self) {
        let Some(checkpoint) = &self.checkpoint else {
            return;
        };
        if Instant::now() < self.next_save {
            return;
        }
        self.next_save = Instant::now() + SAVE_INTERVAL;
        let settled = self.queue.settled_to();
        self.released.retain(|position| !position.settled(&settled));
        self.hand_over();
        if let Err(err) = checkpoint.save(&settled, false) {
            diagnostics::error("checkpoint", "save", || {
                (format!("{err:#}"), json!({"error": format!("{err:#}")}))
            });
        }
    }

    /// Bytes of unfinished lines held when reading stopped.
    fn unfinished(&self) -> u64 {
        self.files.iter().map(Followed::unfinished).sum()
    }

    /// Tells the checkpoint the files' positions, and those of released
    /// files not settled yet.
    fn hand_over(&self) {
        if let Some(checkpoint) = &self.checkpoint {
            checkpoint.looked(self.last_look);
            // Reading once, a file rotated away before the run is done with
            // once read: kept only until its events are settled.
            let once = !self.config.follow;
            let open = self.files.iter().map(|file| Position {
                released: once && file.fate != Fate::Live && file.at_end,
                ..file.position()
            });
            checkpoint.update(open.chain(self.released.iter().cloned()).collect());
        }
    }
}

use std::os::unix::fs::MetadataExt;

/// inotify watches on the directories the patterns look in, through
/// `notify`. A directory that cannot be watched (not there yet, or the
/// watch limit reached) is looked at by polling instead.
struct Watcher {
    inner: notify::RecommendedWatcher,
    watched: HashSet<PathBuf>,
    /// Set once a watch failed for a reason other than a missing directory.
    failed: bool,
}

impl Watcher {
    fn start(waker: Sender<Wake>) -> Option<Watcher> {
        use notify::event::{EventKind, ModifyKind};
        let handler = move |event: notify::Result<notify::Event>| {
            let wake = match event.map(|event| event.kind) {
                Ok(
                    EventKind::Create(_)
                    | EventKind::Remove(_)
                    | EventKind::Modify(ModifyKind::Name(_)),
                ) => Wake::Names,
                Ok(EventKind::Access(_)) => return,
                _ => Wake::Written,
            };
            let _ = waker.send(wake);
        };
        match notify::recommended_watcher(handler) {
            Ok(inner) => Some(Watcher {
                inner,
                watched: HashSet::new(),
                failed: false,
            }),
            Err(err) => {
                warn_polling(&err.to_string());
                None
            }
        }
    }

    /// Watches each directory not watched yet; a directory not there yet
    /// is left for a later look. Returns `false` once a watch has failed.
    fn watch(&mut self, dirs: impl Iterator<Item = PathBuf>) -> bool {
        use notify::Watcher as _;
        for dir in dirs {
            if self.failed || self.watched.contains(&dir) || !dir.is_dir() {
                continue;
            }
            match self.inner.watch(&dir, notify::RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(dir);
                }
                Err(err) => {
                    self.failed = true;
                    warn_polling(&format!("{}: {err}", dir.display()));
                }
            }
        }
        !self.failed
    }
}

fn tell_following(path: &Path) {
    super::descriptors::opened(path);
    diagnostics::info(
        "source",
        format!("following {}", path.display()),
        json!({"path": path.display().to_string()}),
    );
}

fn warn_open(path: &Path, err: &std::io::Error) {
    if super::descriptors::ran_out(err) {
        return super::descriptors::wait_for_one(path, err);
    }
    diagnostics::warn("source", &format!("open:{}", path.display()), || {
        (
            format!("could not open {}: {err}; trying again", path.display()),
            json!({"path": path.display().to_string(), "error": err.to_string()}),
        )
    });
}

/// The time as the kernel stamps a new file's birth with it: its coarse
/// clock, which trails the fine one by up to a tick of its timer. A file
/// born after a look taken with it is never stamped earlier than the look;
/// one born in the same tick just before it is read again, not missed.
fn coarse_now() -> std::time::SystemTime {
    use nix::time::{ClockId, clock_gettime};
    match clock_gettime(ClockId::CLOCK_REALTIME_COARSE) {
        Ok(now) => {
            std::time::UNIX_EPOCH
                + Duration::new(
                    now.tv_sec().max(0) as u64,
                    now.tv_nsec().clamp(0, 999_999_999) as u32,
                )
        }
        // A tick is at most 10 ms.
        Err(_) => std::time::SystemTime::now() - Duration::from_millis(10),
    }
}

/// The directory a path is in (`.` for a bare name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A path's directory, resolved, and its name: how output files are told
/// from the files followed, whatever the spelling of their paths.
fn place(path: &Path) -> Option<(PathBuf, OsString)> {
    let dir = std::fs::canonicalize(dir_of(path)).ok()?;
    Some((dir, path.file_name()?.to_owned()))
}

fn warn_polling(why: &str) {
    diagnostics::warn("source", "watch", || {
        (
            format!(
                "cannot watch for changes ({why}): polling every {} ms instead",
                POLL_INTERVAL.as_millis()
            ),
            json!({"error": why}),
        )
    });
}

/// The directory whose entries a pattern matches: its parent, or the
/// nearest ancestor without glob characters.
fn watch_dir(pattern: &str) -> PathBuf {
    let mut dir = Path::new(pattern).parent();
    while let Some(candidate) = dir {
        if !candidate.to_string_lossy().contains(['*', '?', '[']) {
            break;
        }
        dir = candidate.parent();
    }
    match dir {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follower(pattern: &Path) -> Follower {
        follower_saving(pattern, None)
    }

    fn follower_saving(pattern: &Path, checkpoint: Option<PathBuf>) -> Follower {
        let config = InputConfig {
            paths: vec![pattern.display().to_string()],
            follow: true,
            read_from: ReadFrom::Beginning,
            glob_interval: Duration::from_secs(1),
            poll: true,
            rotate_wait: Duration::from_secs(30),
            checkpoint: checkpoint.clone(),
        };
        let queue = Intake::waiting(1000);
        let (_, wakes) = std::sync::mpsc::channel();
        let checkpoint = checkpoint.map(|path| Arc::new(Checkpoint::load(&path).unwrap()));
        Follower::new(&config, 1024, queue, checkpoint, &[], wakes)
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
            let mut follower = follower_saving(&log, checkpoint);
            follower.scan(true);
            std::fs::remove_file(&log).unwrap();
            follower.scan(false);
            follower.round();
            assert!(follower.files.is_empty(), "released");
            assert_eq!(follower.released.len(), usize::from(saving));
        }
    }

    fn identity(path: &Path) -> Identity {
        Identity::of(&std::fs::metadata(path).unwrap())
    }

    /// Two rotations between two looks, with the look's listing taken
    /// while the name changed hands: the file holding the name now is left
    /// to be found fresh, and it waits for the one that held the name
    /// before it, even when both were born in the same tick of the clock.
    #[test]
    fn a_name_changing_hands_twice_keeps_its_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let (first, second) = (dir.path().join("app.log.1"), dir.path().join("app.log.2"));
        std::fs::write(&log, "a\n").unwrap();
        let mut follower = follower(&log);
        follower.scan(true);
        std::fs::rename(&log, &first).unwrap();
        std::fs::write(&log, "b\n").unwrap();
        let b = identity(&log);
        std::fs::rename(&first, &second).unwrap();
        std::fs::rename(&log, &first).unwrap();
        std::fs::write(&log, "c\n").unwrap();
        let c = identity(&log);

        // The look saw the second file at the name; the third has it now.
        follower.files[0].fate = Fate::Rotated {
            since: Instant::now(),
        };
        follower.catch_up(&log, &HashSet::from([b]), follower.last_look);
        assert_eq!(follower.files.len(), 1, "the name's holder was caught up");

        follower.scan(false);
        let found: Vec<Identity> = follower.files.iter().map(|file| file.identity).collect();
        assert_eq!(found[1..], [b, c]);
        let born = follower.files[2].born;
        for file in &mut follower.files {
            file.born = born;
        }
        let waiting: Vec<bool> = (0..3)
            .map(|index| follower.waits_for_predecessor(index))
            .collect();
        assert_eq!(waiting, [false, true, true]);
        // Found before the file it follows, the name's holder still waits.
        follower.files[0].at_end = true;
        follower.files.swap(1, 2);
        let waiting: Vec<bool> = (0..3)
            .map(|index| follower.waits_for_predecessor(index))
            .collect();
        assert_eq!(waiting, [false, true, false]);
        follower.files[2].at_end = true;
        assert!(!follower.waits_for_predecessor(1));
    }

    #[test]
    fn a_pattern_is_watched_in_its_nearest_plain_directory() {
        assert_eq!(watch_dir("/var/log/app/*.log"), Path::new("/var/log/app"));
        assert_eq!(watch_dir("/var/log/*/app.log"), Path::new("/var/log"));
        assert_eq!(watch_dir("app.log"), Path::new("."));
        assert_eq!(watch_dir("logs/app.log"), Path::new("logs"));
    }
}
