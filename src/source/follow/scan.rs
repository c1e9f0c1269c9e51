//! A look at the files: the patterns expanded again, new files opened,
//! files no longer found at their paths marked rotated away or deleted,
//! and shipper's own output, the files excluded and compressed files left
//! out. A pattern that matches nothing at the start is told, and so is its
//! first match.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use super::FileReader;
use super::file::{Fate, Identity, OpenFile};
use crate::diagnostics;
use crate::source::{compressed, descriptors};

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
        let Some(paths) = self.matching(at_start) else {
            self.mark_unlinked();
            self.next_scan = Instant::now() + self.config.glob_interval;
            return;
        };
        let mut found = self.sort_found(paths);
        self.compressed_files
            .retain(|file| found.seen.contains(file));
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
                None if self.compressed_files.contains(&identity) => {}
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
                if let Some(file) = self.admit(file) {
                    tell_following(&path);
                    self.files.push(file);
                }
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
                let file = self.admit(file)?;
                tell_following(path);
                Some(file)
            }
            Err(err) => {
                warn_open(path, &err);
                None
            }
        }
    }

    /// A file just opened whose first bytes are a compressor's is passed
    /// over, said once, and not opened again while it is there.
    fn admit(&mut self, file: OpenFile) -> Option<OpenFile> {
        let Some(format) = file.compression() else {
            return Some(file);
        };
        self.compressed_files.insert(file.identity);
        tell_compressed(&file.path, format, "its first bytes");
        None
    }

    /// A file opened empty whose first bytes, come since, are a
    /// compressor's is passed over like one found so: said, and let go
    /// unread (a compressor creates its file, then writes it).
    pub(super) fn compressed_since_opened(&mut self, index: usize) -> bool {
        let file = &mut self.files[index];
        let Some(format) = file.compression_come() else {
            return false;
        };
        self.compressed_files.insert(file.identity);
        tell_compressed(&file.path, format, "its first bytes");
        true
    }

    /// The paths the patterns match now, each once, in pattern order,
    /// leaving out shipper's own output, the files excluded, and the files
    /// named as compressed (said once each). Tells a pattern that matches
    /// nothing at the start, and its first match later.
    /// `None` when a directory could not be listed for want of a file
    /// descriptor: such a look cannot tell which files are gone.
    fn matching(&mut self, at_start: bool) -> Option<Vec<PathBuf>> {
        let mut paths = Vec::new();
        let mut seen = HashSet::new();
        let mut compressed = HashSet::new();
        for (index, pattern) in self.config.paths.clone().iter().enumerate() {
            let Ok(matches) = glob::glob(pattern) else {
                continue;
            };
            let mut first = None;
            for found in matches {
                let path = match found {
                    Ok(path) => path,
                    Err(err) if descriptors::ran_out(err.error()) => return None,
                    Err(_) => continue,
                };
                if self.is_output(&path) || excluded(&self.config.exclude, &path) {
                    continue;
                }
                if let Some(format) = compressed::by_name(&path) {
                    if !self.compressed_names.contains(&path) {
                        tell_compressed(&path, format, "its name");
                    }
                    compressed.insert(path);
                    continue;
                }
                // Only a file is a match worth telling (`logs/*` may match
                // directories); the look costs a stat only while it is told.
                let telling = at_start || self.unmatched.contains(&index);
                if first.is_none() && telling && path.is_file() {
                    first = Some(path.clone());
                }
                if seen.insert(path.clone()) {
                    paths.push(path);
                }
            }
            self.tell_matches(index, first.as_deref(), at_start);
        }
        self.compressed_names = compressed;
        Some(paths)
    }

    /// At the start, a pattern that matches no file is said to be waited
    /// for; once one does, that is said too (with `-v`).
    fn tell_matches(&mut self, index: usize, first: Option<&Path>, at_start: bool) {
        let pattern = &self.config.paths[index];
        match first {
            None if at_start => {
                self.unmatched.insert(index);
                warn_unmatched(pattern);
            }
            Some(path) if self.unmatched.remove(&index) => diagnostics::info(
                "source",
                format!(
                    "pattern '{}' matches {} now",
                    diagnostics::escape(pattern),
                    path.display()
                ),
                json!({"pattern": pattern, "path": path.display().to_string()}),
            ),
            _ => {}
        }
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

/// Whether `path` is left out by one of the `--exclude-file` globs,
/// matched against its name and against its whole path, as found and
/// made absolute.
pub(super) fn excluded(globs: &[glob::Pattern], path: &Path) -> bool {
    if globs.is_empty() {
        return false;
    }
    let absolute = std::path::absolute(path).ok();
    let name = path.file_name().map(Path::new);
    let candidates = [name, Some(path), absolute.as_deref()];
    globs.iter().any(|glob| {
        candidates
            .iter()
            .flatten()
            .any(|candidate| glob.matches_path(candidate))
    })
}

/// A pattern matches no file at the start: it is watched, and said to be.
fn warn_unmatched(pattern: &str) {
    let shown = diagnostics::escape(pattern);
    diagnostics::warn("source", &format!("unmatched:{pattern}"), || {
        (
            format!("pattern '{shown}' matches no file yet; watching for one"),
            json!({"pattern": pattern}),
        )
    });
}

/// A compressed file a pattern matched is not read: its bytes are not
/// lines. Said once per file, and rate limited over all of them.
fn tell_compressed(path: &Path, format: &str, told_by: &str) {
    let shown = path.display().to_string();
    diagnostics::warn("source", "compressed", || {
        (
            format!(
                "{shown} is {format}-compressed (by {told_by}): not read; \
                 --follow reads lines of text"
            ),
            json!({"path": shown, "format": format}),
        )
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn globs(values: &[&str]) -> Vec<glob::Pattern> {
        values
            .iter()
            .map(|value| glob::Pattern::new(value).unwrap())
            .collect()
    }

    #[test]
    fn a_file_is_excluded_by_its_name_or_its_whole_path() {
        let by_name = globs(&["*.bak", "debug-?.log"]);
        assert!(excluded(&by_name, Path::new("logs/app.bak")));
        assert!(excluded(&by_name, Path::new("/var/log/debug-1.log")));
        assert!(!excluded(&by_name, Path::new("logs/app.log")));
        assert!(!excluded(&by_name, Path::new("logs/debug-10.log")));
        let by_path = globs(&["/var/log/app/*", "sub/*"]);
        assert!(excluded(&by_path, Path::new("/var/log/app/x.log")));
        assert!(excluded(&by_path, Path::new("sub/x.log")));
        assert!(!excluded(&by_path, Path::new("/var/log/other/x.log")));
        let here = std::env::current_dir().unwrap();
        let absolute = globs(&[&format!("{}/in/*", here.display())]);
        assert!(excluded(&absolute, Path::new("in/x.log")), "made absolute");
        assert!(!excluded(&[], Path::new("anything")));
    }
}
