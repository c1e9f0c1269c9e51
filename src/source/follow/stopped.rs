//! What happened to the files while shipper was stopped, found at the
//! start from the checkpoint: a file rotated away (once or several times),
//! cut short by copytruncate, or rewritten. Whatever is still there to read
//! is read, oldest first, before the file that holds the name now; what
//! can no longer be read is reported with its path and its size.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::json;

use super::FileReader;
use super::file::{Fate, Identity, OpenFile, Start, born};
use super::rotation::is_generation;
use super::scan::dir_of;
use crate::config::ReadMode;
use crate::diagnostics;
use crate::source::checkpoint::{Checkpoint, Entry};

impl FileReader {
    /// At the start: each checkpointed file is found where it was, beside
    /// its old path (rotated), or not at all (gone: reported). One still at
    /// its path but cut short or rewritten has its copy looked for beside
    /// it. Then every generation of a checkpointed path born since the
    /// newest file the checkpoint knows there (rotated while shipper was
    /// stopped, however many times) is read whole. Entries of files this
    /// run does not read (another pattern, a file read once by another
    /// run) are kept as they are.
    pub(super) fn recover(&mut self, seen: &HashSet<Identity>) {
        let Some(checkpoint) = self.checkpoint.clone() else {
            return;
        };
        for entry in checkpoint.loaded() {
            self.find_again(&checkpoint, entry, seen);
        }
        for (path, since) in self.newest_known(&checkpoint) {
            self.new_at_known_path(&path);
            self.catch_up(&path, seen, since);
        }
    }

    /// Finds one checkpointed file again: its entry is kept as it is when
    /// this run does not read it, or when the file is still where it was,
    /// untouched, though the look did not see it; a file the look saw is
    /// checked for a cut; one rotated away is read from beside its old
    /// path; one gone is reported.
    fn find_again(&mut self, checkpoint: &Checkpoint, entry: &Entry, seen: &HashSet<Identity>) {
        let identity = Identity {
            device: entry.device,
            inode: entry.inode,
        };
        let saved_path = Path::new(&entry.path);
        if !self.reads(&entry.path) || (!seen.contains(&identity) && same_file(saved_path, entry)) {
            checkpoint.carry([entry.clone()]);
        } else if seen.contains(&identity) {
            self.check_cut_short(entry, identity, seen);
        } else if let Some(path) = self.moved_to(saved_path, entry, true) {
            tell_rotated(entry, &path);
            self.resume_moved(entry, &path);
        } else if let Some(path) = self.moved_to(saved_path, entry, false) {
            // Its inode is there, with other first bytes: rewritten (or a
            // new file on the inode), and rotated.
            let size = std::fs::metadata(&path).map_or(0, |meta| meta.len());
            tell_cut_short(entry, size);
            self.read_moved(entry, &path, Start::Beginning);
        } else {
            tell_gone(entry);
        }
    }

    /// A checkpointed file still at a followed path, but shorter than its
    /// saved position or with other first bytes: cut short (copytruncate)
    /// or rewritten while shipper was stopped. Its copy, if one is beside
    /// it, is read from the saved position; the file itself from its start.
    fn check_cut_short(&mut self, entry: &Entry, identity: Identity, seen: &HashSet<Identity>) {
        let path = Path::new(&entry.path);
        let Some((file, meta)) = open_regular(path) else {
            return;
        };
        if Identity::of(&meta) != identity {
            // At another followed path now: resumed there.
            return;
        }
        let intact =
            meta.len() >= entry.offset && entry.fingerprint.matches(&file).unwrap_or(false);
        if intact {
            return;
        }
        self.resumes.insert(identity, Start::Beginning);
        let copy = self.beside(path, |candidate, meta| {
            !seen.contains(&Identity::of(meta))
                && meta.len() >= entry.offset
                && open_regular(candidate)
                    .is_some_and(|(file, _)| entry.fingerprint.matches(&file).unwrap_or(false))
        });
        match copy {
            Some(copy) => {
                tell_copied(entry, &copy);
                self.resume_moved(entry, &copy);
            }
            None => tell_cut_short(entry, meta.len()),
        }
    }

    /// Reads a checkpointed file found at `path`, away from its saved path,
    /// from its saved position, before the file now at the saved path.
    fn resume_moved(&mut self, entry: &Entry, path: &Path) {
        let start = Start::Resume {
            offset: entry.offset,
            stream: entry.stream.clone(),
        };
        self.read_moved(entry, path, start);
    }

    /// Reads the file at `path`, away from the entry's saved path, from
    /// `start`, as the name's file before the one there now.
    fn read_moved(&mut self, entry: &Entry, path: &Path, start: Start) {
        let opened = open_regular(path)
            .ok_or_else(|| std::io::Error::other("not a regular file"))
            .and_then(|(file, _)| OpenFile::new(path, file, start, self.split.clone()));
        let Ok(mut file) = opened else {
            tell_gone(entry);
            return;
        };
        file.written_as(Path::new(&entry.path));
        file.fate = Fate::Rotated {
            since: file.renamed_at(),
        };
        self.files.push(file);
    }

    /// The file at a checkpointed path that the checkpoint does not know
    /// took the name while shipper was stopped: read from its start,
    /// whatever `--read-from` says of files found at the start.
    fn new_at_known_path(&mut self, path: &Path) {
        let Some((_, meta)) = open_regular(path) else {
            return;
        };
        let identity = Identity::of(&meta);
        let known = self.checkpoint.as_ref().is_some_and(|checkpoint| {
            checkpoint
                .loaded()
                .iter()
                .any(|entry| (entry.device, entry.inode) == (identity.device, identity.inode))
        });
        if !known {
            self.resumes.entry(identity).or_insert(Start::Beginning);
        }
    }

    /// The names read now that may have had files while shipper was
    /// stopped (the checkpointed paths, and the names given without glob
    /// characters), each with when shipper last looked for files: a
    /// generation born since was never seen. Births and looks come from
    /// one clock; a file born in the look's own tick may have come first,
    /// and is read again rather than missed. A checkpoint that does not
    /// say when it looked stands for each path on the birth of the newest
    /// file it knows there, or on when it was saved.
    fn newest_known(&self, checkpoint: &Checkpoint) -> Vec<(PathBuf, SystemTime)> {
        let saved_at = checkpoint.modified();
        let mut looked: HashMap<&str, Option<SystemTime>> = HashMap::new();
        for entry in checkpoint.loaded() {
            let at = entry
                .born
                .map(|nanos| SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos));
            let latest = looked.entry(&entry.path).or_default();
            *latest = (*latest).max(at);
        }
        if checkpoint.looked_before().is_some() {
            let plain = self
                .config
                .paths
                .iter()
                .filter(|pattern| !pattern.contains(['*', '?', '[']));
            for name in plain {
                looked.entry(name).or_default();
            }
        }
        let mut paths: Vec<(PathBuf, SystemTime)> = looked
            .into_iter()
            .filter(|(path, _)| self.reads(path))
            .filter_map(|(path, born)| {
                let since = checkpoint.looked_before().or(born).or(saved_at)?;
                Some((PathBuf::from(path), since))
            })
            .collect();
        paths.sort();
        paths
    }

    /// Whether this run reads the file saved at `path`: a file named, or
    /// one a pattern matches, however either is spelled (relative or
    /// absolute, through a linked directory).
    fn reads(&self, path: &str) -> bool {
        let resolved = resolve(path);
        self.config.paths.iter().any(|pattern| {
            let spellings = [
                (pattern.clone(), path.to_owned()),
                (resolve(pattern), resolved.clone()),
            ];
            spellings.iter().any(|(pattern, path)| {
                pattern == path
                    || (self.config.mode == ReadMode::Follow
                        && glob::Pattern::new(pattern).is_ok_and(|pattern| pattern.matches(path)))
            })
        })
    }

    /// Where a checkpointed file no longer at its path went: anywhere in
    /// its directory (`app.log.1`, `app-20261130.log`) or a directory in
    /// it (logrotate's `olddir`), found by device and inode, and by its
    /// first bytes when `same_start`.
    fn moved_to(&self, saved_path: &Path, entry: &Entry, same_start: bool) -> Option<PathBuf> {
        let dir = dir_of(saved_path);
        let mut dirs = vec![dir.to_owned()];
        if let Ok(found) = std::fs::read_dir(dir) {
            let below = found.flatten().map(|found| found.path());
            dirs.extend(below.filter(|path| path.is_dir()));
        }
        dirs.iter().find_map(|dir| {
            std::fs::read_dir(dir).ok()?.flatten().find_map(|found| {
                let path = found.path();
                let same = found
                    .metadata()
                    .is_ok_and(|meta| (meta.dev(), meta.ino()) == (entry.device, entry.inode));
                let fits = !same_start || same_file(&path, entry);
                (same && found.path().is_file() && !self.is_output(&path) && fits).then_some(path)
            })
        })
    }

    /// The first file beside `path` (a generation of its name, not shipper's
    /// own, not followed already) that `fits`; of several, the oldest.
    fn beside(
        &self,
        path: &Path,
        mut fits: impl FnMut(&Path, &std::fs::Metadata) -> bool,
    ) -> Option<PathBuf> {
        let name = path.file_name()?;
        let dir = dir_of(path);
        let mut found: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .filter(|candidate| is_generation(name, &candidate.file_name()))
            .filter_map(|candidate| {
                let path = dir.join(candidate.file_name());
                let meta = std::fs::metadata(&path).ok()?;
                let known = self
                    .files
                    .iter()
                    .any(|file| file.identity == Identity::of(&meta));
                (meta.is_file() && !known && !self.is_output(&path) && fits(&path, &meta))
                    .then(|| (born(&meta), path))
            })
            .collect();
        found.sort();
        found.into_iter().next().map(|(_, path)| path)
    }
}

/// `path` made absolute through its directory's real path, so that two
/// spellings of one file compare equal; as it is when that directory
/// cannot be resolved (or holds glob characters).
fn resolve(path: &str) -> String {
    let path = Path::new(path);
    let (Some(name), Ok(dir)) = (path.file_name(), std::fs::canonicalize(dir_of(path))) else {
        return path.to_string_lossy().into_owned();
    };
    dir.join(name).to_string_lossy().into_owned()
}

/// Opens `path` if it is a regular file, without waiting: a FIFO put where
/// a file was is not opened for reading, which would block until a writer
/// came.
fn open_regular(path: &Path) -> Option<(File, std::fs::Metadata)> {
    let file = crate::source::open_without_waiting(path).ok()?;
    let meta = file.metadata().ok()?;
    meta.is_file().then_some((file, meta))
}

/// Whether the file at `path` is the one a checkpoint entry names.
fn same_file(path: &Path, entry: &Entry) -> bool {
    open_regular(path).is_some_and(|(file, meta)| {
        meta.dev() == entry.device
            && meta.ino() == entry.inode
            && entry.fingerprint.matches(&file).unwrap_or(false)
    })
}

/// A checkpointed file rotated while shipper was stopped, found beside its
/// old path.
fn tell_rotated(entry: &Entry, now: &Path) {
    diagnostics::info(
        "source",
        format!(
            "{} was rotated to {} while shipper was stopped: reading it from byte {}",
            diagnostics::escape(&entry.path),
            diagnostics::shown(now),
            entry.offset
        ),
        json!({"path": entry.path, "now": now.to_string_lossy(), "offset": entry.offset}),
    );
}

/// What a file may have held past its saved position, for a message:
/// whatever was written to it after that byte, of which the checkpoint
/// knew some when it was saved.
fn unread_text(entry: &Entry) -> String {
    let offset = entry.offset;
    match entry.unread() {
        Some(known) if known > 0 => {
            format!("whatever was written after byte {offset} ({known} bytes when last saved)")
        }
        _ => format!("whatever was written after byte {offset}"),
    }
}

/// A checkpointed file is nowhere to be found: what was written to it
/// after its saved position, while shipper was stopped or not yet read, is
/// lost.
fn tell_gone(entry: &Entry) {
    let path = diagnostics::escape(&entry.path).into_owned();
    let unread = unread_text(entry);
    diagnostics::warn("checkpoint", &format!("gone:{}", entry.path), || {
        (
            format!("{path} (in the checkpoint) is gone: {unread} was not read"),
            json!({"path": entry.path, "offset": entry.offset, "unread": entry.unread()}),
        )
    });
}

/// A checkpointed file was cut short or rewritten while shipper was
/// stopped, and no copy of it is beside it.
fn tell_cut_short(entry: &Entry, size: u64) {
    let path = diagnostics::escape(&entry.path).into_owned();
    let unread = unread_text(entry);
    diagnostics::warn("checkpoint", &format!("cut:{}", entry.path), || {
        (
            format!(
                "{path} was cut short or rewritten while shipper was stopped (now {size} bytes) \
                 and no copy of it is beside it: {unread} was not read; reading it from its start"
            ),
            json!({"path": entry.path, "offset": entry.offset, "size": size, "unread": entry.unread()}),
        )
    });
}

/// copytruncate while shipper was stopped: the copy has the lines.
fn tell_copied(entry: &Entry, copy: &Path) {
    let path = diagnostics::escape(&entry.path).into_owned();
    let copy = diagnostics::shown(copy);
    diagnostics::warn("checkpoint", &format!("copied:{}", entry.path), || {
        (
            format!(
                "{path} was copied to {copy} and truncated while shipper was stopped: reading the \
                 copy from byte {}, then {path} from its start; lines written between the copy \
                 and the truncation, if any, are in neither",
                entry.offset
            ),
            json!({"path": entry.path, "copy": copy, "offset": entry.offset}),
        )
    });
}
