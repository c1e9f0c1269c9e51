//! Telling what became of a file no longer found at its path (rotated
//! away, or deleted), catching up with files that held a name between two
//! looks, and keeping each name's lines in the order they were written.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::FileReader;
use super::file::{Fate, Identity, OpenFile, born};
use super::scan::dir_of;
use crate::source::compressed;

impl FileReader {
    /// Marks the files open and live that the look did not find: rotated
    /// away while a name still leads to them, deleted once none does.
    pub(super) fn mark_gone(&mut self, seen: &HashSet<Identity>) {
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
    }

    /// Every name rotated, now or at an earlier look, and every name that
    /// changed hands since the last look (its file deleted, then
    /// re-created): the file that took it after the last look may be gone
    /// from it already. At the start there is no last look to compare.
    pub(super) fn rotated_names(
        &self,
        holders: &HashMap<PathBuf, Identity>,
        at_start: bool,
    ) -> Vec<PathBuf> {
        let mut rotated: Vec<PathBuf> = if at_start {
            Vec::new()
        } else {
            self.changed_hands(holders)
        };
        for file in &self.files {
            if matches!(file.fate, Fate::Rotated { .. }) && !rotated.contains(&file.path) {
                rotated.push(file.path.clone());
            }
        }
        rotated
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
    pub(super) fn catch_up(&mut self, rotated: &Path, seen: &HashSet<Identity>, since: SystemTime) {
        for path in self.missed(rotated, seen, since) {
            if let Some(mut file) = self.open_found(&path, false) {
                file.written_as(rotated);
                file.fate = Fate::Rotated {
                    since: file.renamed_at(),
                };
                self.files.push(file);
            }
        }
    }

    /// The generations of the name `rotated` born `since`, not seen by the
    /// look nor read already, the file written to longest ago first: its
    /// lines came first.
    fn missed(&self, rotated: &Path, seen: &HashSet<Identity>, since: SystemTime) -> Vec<PathBuf> {
        let Some(name) = rotated.file_name() else {
            return Vec::new();
        };
        let dir = dir_of(rotated);
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut missed: Vec<(i64, i64, SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|entry| {
                // The file at the name itself holds it now, whatever the
                // look saw there a moment ago: it is a fresh file, read
                // after the ones caught up here.
                is_generation(name, &entry.file_name())
            })
            .filter_map(|entry| {
                let meta = entry.metadata().ok()?;
                let born = born(&meta);
                let known = self.knows(Identity::of(&meta), born, seen);
                let path = dir.join(entry.file_name());
                let ours = self.is_output(&path);
                (meta.is_file() && !known && !ours && born >= since)
                    .then(|| (meta.mtime(), meta.mtime_nsec(), born, path))
            })
            .collect();
        missed.sort();
        missed.into_iter().map(|(_, _, _, path)| path).collect()
    }

    /// Whether the file of `identity` born at `born` was seen by the look,
    /// is open, or was released lately. A file on the inode of one deleted
    /// since is another file: its birth tells.
    fn knows(&self, identity: Identity, born: SystemTime, seen: &HashSet<Identity>) -> bool {
        seen.contains(&identity)
            || self
                .files
                .iter()
                .any(|file| file.identity == identity && file.born == born)
            || self.finished.contains(&(identity, born))
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
    pub(super) fn waits_for_predecessor(&self, index: usize) -> bool {
        let file = &self.files[index];
        let gone = |file: &OpenFile| file.fate != Fate::Live || file.moved;
        self.files.iter().enumerate().any(|(at, other)| {
            let before =
                !gone(file) || other.born < file.born || (other.born == file.born && at < index);
            let unfinished = !other.at_end || other.held_until().is_some();
            other.path == file.path && gone(other) && unfinished && before
        })
    }
}

/// Whether `candidate` names a generation of the file named `name`: a
/// numbered or dated rotation (`app.log.1`, `app.log-20261130`,
/// `app.log.2026-11-30`), or a dated one that keeps the extension last
/// (`app-20261130.log`, logrotate's `dateext` with `extension`); not a
/// compressed one (`app.log.2.gz`), whose bytes cannot be read as lines.
pub(super) fn is_generation(name: &std::ffi::OsStr, candidate: &std::ffi::OsStr) -> bool {
    let compressed = compressed::by_name(Path::new(candidate)).is_some();
    let (name, candidate) = (name.as_encoded_bytes(), candidate.as_encoded_bytes());
    let numbered = candidate
        .strip_prefix(name)
        .is_some_and(|suffix| matches!(suffix.first(), Some(b'.' | b'-' | b'_')));
    numbered && !compressed || dated_keeping_extension(name, candidate)
}

/// `app-20261130.log` for `app.log`: the stem, a separator, only digits
/// and separators (a date, a number), then the same extension.
fn dated_keeping_extension(name: &[u8], candidate: &[u8]) -> bool {
    let Some(dot) = memchr::memrchr(b'.', name).filter(|&dot| dot > 0) else {
        return false;
    };
    let (stem, extension) = name.split_at(dot);
    let middle = candidate
        .strip_prefix(stem)
        .and_then(|rest| rest.strip_suffix(extension));
    middle.is_some_and(|middle| {
        matches!(middle.first(), Some(b'.' | b'-' | b'_'))
            && middle.iter().any(u8::is_ascii_digit)
            && middle
                .iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::time::Instant;

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
        let mut reader = super::super::tests::reader_saving(&log, None);
        reader.scan(true);
        std::fs::rename(&log, &first).unwrap();
        std::fs::write(&log, "b\n").unwrap();
        let b = identity(&log);
        std::fs::rename(&first, &second).unwrap();
        std::fs::rename(&log, &first).unwrap();
        std::fs::write(&log, "c\n").unwrap();
        let c = identity(&log);

        // The look saw the second file at the name; the third has it now.
        reader.files[0].fate = Fate::Rotated {
            since: Instant::now(),
        };
        reader.catch_up(&log, &HashSet::from([b]), reader.last_look);
        assert_eq!(reader.files.len(), 1, "the name's holder was caught up");

        reader.scan(false);
        let found: Vec<Identity> = reader.files.iter().map(|file| file.identity).collect();
        assert_eq!(found[1..], [b, c]);
        let born = reader.files[2].born;
        for file in &mut reader.files {
            file.born = born;
        }
        let waiting: Vec<bool> = (0..3)
            .map(|index| reader.waits_for_predecessor(index))
            .collect();
        assert_eq!(waiting, [false, true, true]);
        // Found before the file it follows, the name's holder still waits.
        reader.files[0].at_end = true;
        reader.files.swap(1, 2);
        let waiting: Vec<bool> = (0..3)
            .map(|index| reader.waits_for_predecessor(index))
            .collect();
        assert_eq!(waiting, [false, true, false]);
        reader.files[2].at_end = true;
        assert!(!reader.waits_for_predecessor(1));
    }

    #[test]
    fn generations_are_numbered_or_dated_and_not_compressed() {
        let name = OsStr::new("app.log");
        for yes in [
            "app.log.1",
            "app.log.12",
            "app.log-20261130",
            "app.log.2026-11-30",
            "app.log_old",
            "app-20261130.log",
            "app-2026-11-30.log",
        ] {
            assert!(is_generation(name, OsStr::new(yes)), "{yes}");
        }
        for no in [
            "app.log",
            "app.log.2.gz",
            "app.log-20261130.zst",
            "app.logger",
            "other.log.1",
            "app.lo",
            "app-worker.log",
            "app-20261130.log.gz",
            "app.txt",
        ] {
            assert!(!is_generation(name, OsStr::new(no)), "{no}");
        }
    }
}
