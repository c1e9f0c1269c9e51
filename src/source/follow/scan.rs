//! A look at the files: the patterns expanded again, new files opened,
//! files no longer found at their paths marked rotated away or deleted,
//! and shipper's own output left out.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use super::FileReader;
use super::file::{Fate, Identity, OpenFile};
use crate::diagnostics;
use crate::source::descriptors;

/// What a look found at the paths the patterns match.
#[derive(Default)]
struct Found {
    /// Every regular file found, each once however many paths lead to it.
    seen: HashSet<Identity>,
    /// Which file each path found leads to.
    holders: HashMap<PathBuf, Identity>,
    /// Files found that are not open yet, at the first path found to them.
    fresh: Vec<(PathBuf, Identity)>,
}

impl FileReader {
    /// Expands the globs: new files are opened, and files no longer found
    /// at their path are marked rotated away or deleted. Files rotated
    /// away since the last look are read before the new files at their
    /// names, so each name's lines keep their order.
    pub(super) fn scan(&mut self, at_start: bool) {
        let looked = coarse_now();
        let Some(paths) = self.matching() else {
            self.mark_unlinked();
            self.next_scan = Instant::now() + self.config.glob_interval;
            return;
        };
        let mut found = self.sort_found(paths);
        self.mark_gone(&found.seen);
        let rotated = self.rotated_names(&found.holders, at_start);
        if at_start {
            self.recover(&found.seen);
        }
        for path in rotated {
            self.catch_up(&path, &found.seen, self.last_look);
        }
        let settled = self.open_fresh(std::mem::take(&mut found.fresh), at_start);
        self.watch();
        descriptors::tell_waiting();
        self.settle(settled, found.holders, looked);
    }

    /// Sorts the paths found: files open already are marked still there
    /// (under another name, if moved), the others are fresh.
    fn sort_found(&mut self, paths: Vec<PathBuf>) -> Found {
        let mut found = Found::default();
        for path in paths {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let identity = Identity::of(&meta);
            found.holders.insert(path.clone(), identity);
            // A second path to a file already found (a link) is not a
            // second file.
            if !found.seen.insert(identity) {
                continue;
            }
            match self.files.iter_mut().find(|file| file.identity == identity) {
                Some(file) => {
                    file.fate = Fate::Live;
                    file.moved |= file.path != path;
                }
                None => found.fresh.push((path, identity)),
            }
        }
        found
    }

    /// Opens the files found that are not open yet. Returns whether the
    /// look is settled: `false` when a name changed hands while it went
    /// on.
    fn open_fresh(&mut self, fresh: Vec<(PathBuf, Identity)>, at_start: bool) -> bool {
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
        settled
    }

    /// Remembers a settled look, and when to look next: at once when the
    /// look was not settled.
    fn settle(&mut self, settled: bool, holders: HashMap<PathBuf, Identity>, looked: SystemTime) {
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

    /// Opens a file found by a look, saying so, or why it could not.
    pub(super) fn open_found(&mut self, path: &Path, at_start: bool) -> Option<OpenFile> {
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
                    Err(err) if descriptors::ran_out(err.error()) => return None,
                    _ => {}
                }
            }
        }
        Some(paths)
    }

    /// Whether `path` is one of shipper's own output files, one of their
    /// rotations (`out.log.1`), or the checkpoint and its temporary file.
    pub(super) fn is_output(&self, path: &Path) -> bool {
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
}

/// A file is followed from now on: it no longer waits for a descriptor.
fn tell_following(path: &Path) {
    descriptors::opened(path);
    diagnostics::info(
        "source",
        format!("following {}", path.display()),
        json!({"path": path.display().to_string()}),
    );
}

/// A file found could not be opened: it waits for a descriptor, or is
/// tried again at the next look.
fn warn_open(path: &Path, err: &std::io::Error) {
    if descriptors::ran_out(err) {
        return descriptors::wait_for_one(path, err);
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
pub(super) fn coarse_now() -> SystemTime {
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
        Err(_) => SystemTime::now() - Duration::from_millis(10),
    }
}

/// The directory a path is in (`.` for a bare name).
pub(super) fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A path's directory, resolved, and its name: how output files are told
/// from the files followed, whatever the spelling of their paths.
pub(super) fn place(path: &Path) -> Option<(PathBuf, OsString)> {
    let dir = std::fs::canonicalize(dir_of(path)).ok()?;
    Some((dir, path.file_name()?.to_owned()))
}
