//! `--checkpoint PATH`: where each followed file was delivered up to, so a
//! restart resumes there. Saved atomically (a temporary file, fsync, rename,
//! fsync of the directory) with a checksum; a file that cannot be trusted is
//! moved aside with a warning and never stops a run. Something that is not
//! a regular file, or is larger than any checkpoint, is refused untouched.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::chunk::Stream;
use crate::config::ShowFormat;
use crate::diagnostics::{self, shown};
use crate::files::{self, Unreadable};

/// The format written; a file of another version is not read.
const VERSION: u32 = 1;

/// Largest checkpoint read: about 250,000 files' positions.
const MAX_BYTES: u64 = 64 << 20;

/// The first bytes of a file, which tell apart two files that had the same
/// device and inode at different times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    /// How many first bytes were hashed: fewer than `FINGERPRINT_BYTES`
    /// while the file is shorter.
    pub bytes: usize,
    pub crc32: u32,
}

/// Bytes a full fingerprint covers.
pub(crate) const FINGERPRINT_BYTES: usize = 256;

impl Fingerprint {
    pub(crate) fn of(head: &[u8]) -> Fingerprint {
        Fingerprint {
            bytes: head.len(),
            crc32: crc32fast::hash(head),
        }
    }

    /// Whether `file` still begins with the bytes this was taken of.
    pub(crate) fn matches(&self, file: &File) -> io::Result<bool> {
        let mut head = vec![0; self.bytes];
        let mut filled = 0;
        while filled < head.len() {
            match file.read_at(&mut head[filled..], filled as u64)? {
                0 => return Ok(false),
                n => filled += n,
            }
        }
        Ok(Fingerprint::of(&head) == *self)
    }
}

/// One file's saved position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Where the file was found, absolute (see `absolute`), so that a run
    /// from another directory finds it; shown to people and named by
    /// --reset-checkpoint, not used to match.
    pub path: String,
    pub device: u64,
    pub inode: u64,
    pub fingerprint: Fingerprint,
    /// The stream identity its events carried, kept so a resumed file's
    /// events are named as before.
    pub stream: String,
    /// Every line before this byte was delivered (or dropped with a reason).
    pub offset: u64,
    /// The file's size when saved: with `offset`, what was left to read.
    /// Absent from checkpoints written before sizes were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// When the file was born, in nanoseconds since the epoch: a
    /// generation of its path born later, and not in the checkpoint, was
    /// never seen, and is read on restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub born: Option<u64>,
}

impl Entry {
    /// Bytes written to the file past its saved position, when known.
    pub(crate) fn unread(&self) -> Option<u64> {
        self.size.map(|size| size.saturating_sub(self.offset))
    }
}

/// The file as written.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    version: u32,
    files: Vec<Entry>,
    /// CRC-32 of `files` as serialized: a torn or edited file is caught.
    checksum: u32,
    /// When shipper last looked for files, in nanoseconds since the epoch
    /// on the kernel's coarse clock (the one files are born by): a file
    /// born at a followed name later was never seen, and is read on
    /// restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    looked: Option<u64>,
}

/// A file being read, as the follower last told it.
#[derive(Debug, Clone)]
pub(crate) struct Position {
    pub path: String,
    pub device: u64,
    pub inode: u64,
    pub fingerprint: Fingerprint,
    pub stream: Arc<Stream>,
    /// Where this run started reading it.
    pub start: u64,
    /// Just past the last line the queue took: once a drain finishes,
    /// everything before it is settled.
    pub accepted_to: u64,
    /// Just past the last event the queue took.
    pub events_to: u64,
    /// The file is read to its end and closed (rotated away or deleted);
    /// its position is kept until its last event is settled, so a crash
    /// before then finds it again.
    pub released: bool,
    /// The file's size when last looked at.
    pub size: u64,
    /// When the file was born.
    pub born: std::time::SystemTime,
}

impl Position {
    /// Whether every event of this run's reading is settled.
    pub(crate) fn settled(&self, settled: &HashMap<Arc<Stream>, u64>) -> bool {
        self.events_to
            <= self
                .start
                .max(settled.get(&self.stream).copied().unwrap_or(0))
    }
}

/// The checkpoint file of a run that reads files: what it held at the
/// start, the positions handed to it since, and the lock that keeps it
/// this run's alone.
pub(crate) struct Checkpoint {
    /// Where it is saved.
    path: PathBuf,
    /// What the file held when shipper started.
    loaded: Vec<Entry>,
    /// The files being read now.
    positions: Mutex<Vec<Position>>,
    /// Entries of files not read this run, saved again as they were.
    carried: Mutex<Vec<Entry>>,
    /// What the last save wrote (a save that would write the same is
    /// skipped), held while saving so saves do not interleave.
    saved: Mutex<Option<Vec<Entry>>>,
    /// Saves that failed this run, periodic ones included.
    failed_saves: AtomicU64,
    /// When the run that saved the file last looked for files.
    looked_before: Option<std::time::SystemTime>,
    /// When this run last looked for files.
    looked: Mutex<Option<std::time::SystemTime>>,
    /// Each path read this run as it is saved (absolute), resolved once.
    absolute: Mutex<HashMap<String, String>>,
    /// Held for the whole run: no other shipper uses this checkpoint.
    _lock: File,
}

impl Checkpoint {
    /// Takes the checkpoint at `path` for this run and reads it. A missing
    /// file is an empty one; one that cannot be trusted is moved aside with
    /// a warning. Fails when another shipper is using it.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Checkpoint> {
        let lock = lock(path)?;
        let (loaded, looked_before) = match read_saved(path) {
            Ok(saved) => (saved.files, saved.looked.map(from_nanos)),
            Err(Unusable::Missing) => (Vec::new(), None),
            Err(Unusable::Bad(why)) => {
                set_aside(path, &why);
                (Vec::new(), None)
            }
            Err(Unusable::Refused(why)) => (refuse(path, &why)?, None),
        };
        Ok(Checkpoint {
            path: path.to_owned(),
            loaded,
            positions: Mutex::new(Vec::new()),
            carried: Mutex::new(Vec::new()),
            saved: Mutex::new(None),
            failed_saves: AtomicU64::new(0),
            looked_before,
            looked: Mutex::new(None),
            absolute: Mutex::new(HashMap::new()),
            _lock: lock,
        })
    }

    /// When the checkpoint file was last written, if it is there.
    pub(crate) fn modified(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(&self.path).ok()?.modified().ok()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// What the file holds now, as far as this run knows: what it last
    /// saved, or what it found.
    pub(crate) fn on_disk(&self) -> Vec<Entry> {
        let saved = self.saved.lock().expect("checkpoint lock poisoned");
        saved.clone().unwrap_or_else(|| self.loaded.clone())
    }

    /// Saves that failed this run.
    pub(crate) fn failed_saves(&self) -> u64 {
        self.failed_saves.load(Ordering::Relaxed)
    }

    /// The entries the file held when shipper started.
    pub(crate) fn loaded(&self) -> &[Entry] {
        &self.loaded
    }

    /// Keeps entries of files this run does not read, as they are. An
    /// entry for a file that is read is dropped when saving.
    pub(crate) fn carry(&self, entries: impl IntoIterator<Item = Entry>) {
        self.carried
            .lock()
            .expect("checkpoint lock poisoned")
            .extend(entries);
    }

    /// Where to resume `file` (found at `path` with this device and inode),
    /// if the checkpoint knows it: the offset and the stream identity.
    pub(crate) fn resume_point(
        &self,
        device: u64,
        inode: u64,
        file: &File,
    ) -> Option<(u64, String)> {
        // A deleted file not yet delivered and a new file on its inode can
        // both have entries: the first bytes tell which is this one.
        let mut known = self
            .loaded
            .iter()
            .filter(|entry| entry.device == device && entry.inode == inode)
            .peekable();
        let first = known.peek().copied()?;
        if let Some(entry) = known.find(|entry| matches!(entry.fingerprint.matches(file), Ok(true)))
        {
            return Some((entry.offset, entry.stream.clone()));
        }
        diagnostics::info(
            "checkpoint",
            format!("{} is a new file on a known inode: read as new", first.path),
            json!({"path": first.path, "inode": inode}),
        );
        None
    }

    /// Records the files being read now.
    pub(crate) fn update(&self, positions: Vec<Position>) {
        *self.positions.lock().expect("checkpoint lock poisoned") = positions;
    }

    /// Records when the files were last looked for, saved with the next
    /// change of positions.
    pub(crate) fn looked(&self, at: std::time::SystemTime) {
        *self.looked.lock().expect("checkpoint lock poisoned") = Some(at);
    }

    /// When the run that saved the checkpoint last looked for files, if
    /// it said.
    pub(crate) fn looked_before(&self) -> Option<std::time::SystemTime> {
        self.looked_before
    }

    /// Saves each file's position: where its events are settled, or, once a
    /// drain has `finished`, everything the queue took.
    pub(crate) fn save(
        &self,
        settled: &HashMap<Arc<Stream>, u64>,
        finished: bool,
    ) -> anyhow::Result<()> {
        let entries = self.entries(settled, finished);
        let mut saved = self.saved.lock().expect("checkpoint lock poisoned");
        if saved.as_ref() == Some(&entries) {
            return Ok(());
        }
        let looked = *self.looked.lock().expect("checkpoint lock poisoned");
        if let Err(err) = write(&self.path, &entries, looked.and_then(nanos)) {
            self.failed_saves.fetch_add(1, Ordering::Relaxed);
            return Err(err).with_context(|| {
                format!(
                    "could not save checkpoint '{}'",
                    diagnostics::shown(&self.path)
                )
            });
        }
        *saved = Some(entries);
        Ok(())
    }

    /// What a save writes: an entry per file read (a released one only
    /// until its events are settled), and the entries carried of files not
    /// read this run.
    fn entries(&self, settled: &HashMap<Arc<Stream>, u64>, finished: bool) -> Vec<Entry> {
        let (mut entries, read): (Vec<Entry>, Vec<(u64, u64)>) = {
            let positions = self.positions.lock().expect("checkpoint lock poisoned");
            let mut resolved = self.absolute.lock().expect("checkpoint lock poisoned");
            let entries = positions
                .iter()
                .filter(|position| !(position.released && (finished || position.settled(settled))))
                .map(|position| {
                    let path = resolved
                        .entry(position.path.clone())
                        .or_insert_with(|| absolute(&position.path));
                    Entry {
                        path: path.clone(),
                        ..entry(position, settled, finished)
                    }
                })
                .collect();
            let read = positions.iter().map(|p| (p.device, p.inode)).collect();
            (entries, read)
        };
        // A carried entry of a file read this run is replaced by its
        // position, or dropped with it once the file is done with.
        let carried = self.carried.lock().expect("checkpoint lock poisoned");
        for old in carried.iter() {
            if !read.contains(&(old.device, old.inode)) {
                entries.push(old.clone());
            }
        }
        entries
    }
}

/// The entry a position is saved as: at its settled offset, or, once a
/// drain has `finished`, just past what the queue took.
fn entry(position: &Position, settled: &HashMap<Arc<Stream>, u64>, finished: bool) -> Entry {
    let settled = settled.get(&position.stream).copied().unwrap_or(0);
    let offset = if finished {
        position.accepted_to
    } else {
        settled.max(position.start)
    };
    Entry {
        path: position.path.clone(),
        device: position.device,
        inode: position.inode,
        fingerprint: position.fingerprint,
        stream: position.stream.id.to_string(),
        offset,
        size: Some(position.size),
        born: nanos(position.born),
    }
}

/// `path` as a checkpoint keeps it: absolute, with its directory resolved
/// through links and `..` (the file's own name is kept, a link
/// included). A relative path is taken from the directory shipper runs
/// in; a directory that cannot be resolved (gone) is kept as written.
pub(crate) fn absolute(path: &str) -> String {
    let Ok(written) = std::path::absolute(path) else {
        return path.to_owned();
    };
    let resolved = match (written.parent(), written.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir).map(|dir| dir.join(name)),
        _ => Ok(written.clone()),
    };
    resolved.unwrap_or(written).to_string_lossy().into_owned()
}

/// Whether `entry` is one of the files `paths` names (as saved, or any
/// spelling of it from here); every entry when `paths` is empty.
fn named(entry: &Entry, paths: &[String]) -> bool {
    paths.is_empty()
        || paths
            .iter()
            .any(|path| *path == entry.path || absolute(path) == entry.path)
}

/// Takes the lock beside the checkpoint (`PATH.lock`, holding the pid of
/// the shipper that has it). Two runs sharing one checkpoint would each
/// overwrite the other's positions, so the second is refused. The kernel
/// lets go of the lock when its holder exits, however it exits.
/// The file is opened without following a link and written only once it
/// is known to be a regular file.
fn lock(path: &Path) -> anyhow::Result<File> {
    let name = files::lock_path(path);
    let mut file = files::open_lock(&name)
        .with_context(|| format!("could not open '{}'", diagnostics::shown(&name)))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&name).unwrap_or_default();
            let holder = match holder.trim() {
                "" => String::new(),
                pid => format!(" (pid {pid})"),
            };
            anyhow::bail!(
                "checkpoint '{}' is in use by another shipper{holder}: two runs sharing one \
                 checkpoint would overwrite each other's positions",
                path.display()
            );
        }
        Err(std::fs::TryLockError::Error(err)) => {
            return Err(err).with_context(|| format!("could not lock '{}'", shown(&name)));
        }
    }
    file.set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .with_context(|| format!("could not write its pid to '{}'", shown(&name)))?;
    Ok(file)
}

/// Why a checkpoint file could not be used.
enum Unusable {
    Missing,
    /// Not a checkpoint: moved aside, and the run goes on.
    Bad(String),
    /// Not a regular file, or larger than any checkpoint: left as it is,
    /// and the run stops.
    Refused(String),
}

fn read(path: &Path) -> Result<Vec<Entry>, Unusable> {
    read_saved(path).map(|saved| saved.files)
}

fn read_saved(path: &Path) -> Result<Saved, Unusable> {
    // A second name would let another run share it past the lock.
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.nlink() > 1
    {
        return Err(Unusable::Refused(files::hard_linked(meta.nlink())));
    }
    let bytes = match files::read_bounded(path, MAX_BYTES, false) {
        Ok(bytes) => bytes,
        Err(Unreadable::Missing) => return Err(Unusable::Missing),
        Err(Unreadable::Io(err)) => return Err(Unusable::Bad(format!("could not read it: {err}"))),
        Err(why) => return Err(Unusable::Refused(why.to_string())),
    };
    let saved: Saved = serde_json::from_slice(&bytes)
        .map_err(|err| Unusable::Bad(format!("not a checkpoint: {err}")))?;
    if saved.version != VERSION {
        return Err(Unusable::Bad(format!(
            "version {} is not {VERSION}",
            saved.version
        )));
    }
    if checksum(&saved.files) != saved.checksum {
        return Err(Unusable::Bad("its checksum does not match".into()));
    }
    Ok(Saved {
        files: saved.files.into_iter().map(made_absolute).collect(),
        ..saved
    })
}

/// An entry of a checkpoint written before paths were kept absolute,
/// whose path may be relative: taken from the directory shipper runs in,
/// as the run that wrote it took it when started from the same place.
fn made_absolute(entry: Entry) -> Entry {
    match Path::new(&entry.path).is_absolute() {
        true => entry,
        false => Entry {
            path: absolute(&entry.path),
            ..entry
        },
    }
}

/// A time as nanoseconds since the epoch, as saved.
fn nanos(at: std::time::SystemTime) -> Option<u64> {
    let since = at.duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(since.as_nanos()).ok()
}

fn from_nanos(nanos: u64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos)
}

fn checksum(files: &[Entry]) -> u32 {
    crc32fast::hash(&serde_json::to_vec(files).expect("entries serialize"))
}

/// A checkpoint shipper will not touch stops the run.
fn refuse(path: &Path, why: &str) -> anyhow::Result<Vec<Entry>> {
    anyhow::bail!(
        "checkpoint '{}' is refused ({why}); it was left as it is",
        diagnostics::shown(path)
    )
}

/// Moves an unusable checkpoint out of the way, keeping it for a person to
/// look at, and says so; reading then starts per `--read-from`. Only a
/// regular file is moved, and only to a free name (`PATH.corrupt`, else
/// `PATH.corrupt.1`, ...): nothing is replaced.
fn set_aside(path: &Path, why: &str) {
    let moved = files::move_aside(path, "corrupt");
    let shown = path.display().to_string();
    diagnostics::warn("checkpoint", "unusable", || {
        let what = match &moved {
            Ok(aside) => format!("moved to '{}'", aside.display()),
            Err(err) => format!("could not be moved aside ({err}); it will be replaced"),
        };
        (
            format!(
                "checkpoint '{shown}' is unusable ({why}): {what}; files are read per --read-from"
            ),
            json!({"path": shown, "reason": why, "moved_to": moved.as_ref().ok().map(|aside| aside.display().to_string())}),
        )
    });
}

/// Writes `entries` so that the file at `path` is always either the old
/// checkpoint or the new one, whole, even across a crash or power loss.
fn write(path: &Path, entries: &[Entry], looked: Option<u64>) -> io::Result<()> {
    let saved = Saved {
        version: VERSION,
        checksum: checksum(entries),
        files: entries.to_vec(),
        looked,
    };
    let mut text = serde_json::to_vec_pretty(&saved).expect("a checkpoint serializes");
    text.push(b'\n');
    files::replace(path, &text)
}

/// What `--show-checkpoint=json` prints (docs/summary.md).
#[derive(Debug, Serialize)]
struct Shown {
    /// The checkpoint file, as given.
    checkpoint: String,
    files: Vec<ShownFile>,
}

/// One saved file against the file at its path now.
#[derive(Debug, Serialize)]
struct ShownFile {
    path: String,
    offset: u64,
    /// Null when nothing is at the path.
    size_now: Option<u64>,
    /// `ok`, `shorter`, `replaced` or `missing`.
    state: &'static str,
}

/// `--show-checkpoint`: each saved file's position against its size now,
/// as a table or as JSON; only the files named in `paths`, when there are
/// any.
pub(crate) fn show(path: &Path, paths: &[String], format: ShowFormat) -> anyhow::Result<()> {
    let entries = match read(path) {
        Ok(entries) => entries,
        Err(Unusable::Missing) => anyhow::bail!("no checkpoint at '{}'", shown(path)),
        Err(Unusable::Bad(why) | Unusable::Refused(why)) => {
            anyhow::bail!("checkpoint '{}' is unusable: {why}", shown(path))
        }
    };
    let files = entries
        .iter()
        .filter(|entry| named(entry, paths))
        .map(|entry| {
            let (size_now, state) = now(entry);
            ShownFile {
                path: entry.path.clone(),
                offset: entry.offset,
                size_now,
                state,
            }
        })
        .collect();
    let shown = Shown {
        checkpoint: path.to_string_lossy().into_owned(),
        files,
    };
    let mut out = io::stdout().lock();
    match format {
        ShowFormat::Text => write_table(&mut out, &shown)?,
        ShowFormat::Json => writeln!(out, "{}", serde_json::to_string(&shown)?)?,
    }
    Ok(())
}

/// The saved files as a table for a person.
fn write_table(out: &mut impl Write, shown: &Shown) -> io::Result<()> {
    writeln!(
        out,
        "{:>14}  {:>14}  {:<8}  PATH",
        "OFFSET", "SIZE NOW", "STATE"
    )?;
    for file in &shown.files {
        let size = file.size_now.map_or("-".into(), |size| size.to_string());
        writeln!(
            out,
            "{:>14}  {:>14}  {:<8}  {}",
            file.offset,
            size,
            file.state,
            crate::diagnostics::escape(&file.path)
        )?;
    }
    Ok(())
}

/// The file's size now and whether the entry still applies to it.
fn now(entry: &Entry) -> (Option<u64>, &'static str) {
    use std::os::unix::fs::MetadataExt;
    let Ok(file) = super::open_without_waiting(&entry.path) else {
        return (None, "missing");
    };
    let Ok(meta) = file.metadata() else {
        return (None, "missing");
    };
    let same = meta.dev() == entry.device
        && meta.ino() == entry.inode
        && entry.fingerprint.matches(&file).unwrap_or(false);
    match (same, meta.len() >= entry.offset) {
        (false, _) => (Some(meta.len()), "replaced"),
        (true, false) => (Some(meta.len()), "shorter"),
        (true, true) => (Some(meta.len()), "ok"),
    }
}

/// `--reset-checkpoint`: forgets the positions of the files named (their
/// paths as saved), or of every file when none is named.
pub(crate) fn reset(path: &Path, paths: &[String]) -> anyhow::Result<usize> {
    if !path.exists() {
        return Ok(0);
    }
    let _lock = lock(path)?;
    let entries = match read(path) {
        Ok(entries) => entries,
        Err(Unusable::Missing) => return Ok(0),
        Err(Unusable::Bad(_)) if paths.is_empty() => Vec::new(),
        Err(Unusable::Bad(why) | Unusable::Refused(why)) => {
            anyhow::bail!("checkpoint '{}' is unusable: {why}", shown(path))
        }
    };
    let before = entries.len();
    let kept: Vec<Entry> = entries
        .into_iter()
        .filter(|entry| !named(entry, paths))
        .collect();
    let forgotten = before - kept.len();
    write(path, &kept, None)
        .with_context(|| format!("could not save checkpoint '{}'", shown(path)))?;
    Ok(forgotten)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, offset: u64) -> Entry {
        Entry {
            path: path.into(),
            device: 1,
            inode: 2,
            fingerprint: Fingerprint::of(b"first line\n"),
            stream: "1.2.abc".into(),
            offset,
            size: None,
            born: None,
        }
    }

    #[test]
    fn a_saved_checkpoint_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let saved = [entry("/var/log/a.log", 10), entry("/var/log/b.log", 20)];
        write(&path, &saved, None).unwrap();
        let Ok(entries) = read(&path) else {
            panic!("a checkpoint just written is usable")
        };
        assert_eq!(entries, saved);
        let names = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names, 1, "the temporary file was renamed");
    }

    #[test]
    fn an_edited_checkpoint_fails_its_checksum_and_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write(&path, &[entry("a.log", 10)], None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"offset\": 10", "\"offset\": 99")).unwrap();
        assert!(matches!(read(&path), Err(Unusable::Bad(why)) if why.contains("checksum")));
        let checkpoint = Checkpoint::load(&path).unwrap();
        assert!(checkpoint.loaded.is_empty());
        assert!(dir.path().join("state.json.corrupt").exists());
        assert!(!path.exists());
    }

    #[test]
    fn a_fingerprint_tells_a_new_file_from_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, b"first line\nsecond\n").unwrap();
        let fingerprint = Fingerprint::of(b"first line\n");
        assert!(fingerprint.matches(&File::open(&path).unwrap()).unwrap());
        std::fs::write(&path, b"other line\nsecond\n").unwrap();
        assert!(!fingerprint.matches(&File::open(&path).unwrap()).unwrap());
        std::fs::write(&path, b"first").unwrap();
        assert!(
            !fingerprint.matches(&File::open(&path).unwrap()).unwrap(),
            "too short"
        );
    }

    #[test]
    fn resetting_forgets_the_named_files_or_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (a, b) = (entry("/var/log/a.log", 10), entry("/var/log/b.log", 20));
        write(&path, &[a, b.clone()], None).unwrap();
        assert_eq!(reset(&path, &["/var/log/a.log".into()]).unwrap(), 1);
        assert!(matches!(read(&path), Ok(entries) if entries == [b]));
        assert_eq!(reset(&path, &[]).unwrap(), 1);
        assert!(matches!(read(&path), Ok(entries) if entries.is_empty()));
    }

    /// A checkpoint written before paths were kept absolute is read with
    /// its relative paths taken from the directory shipper runs in, and
    /// --show-checkpoint and --reset-checkpoint name them either way.
    #[test]
    fn a_relative_path_of_an_older_checkpoint_reads_back_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write(&path, &[entry("a.log", 10)], None).unwrap();
        let here = std::fs::canonicalize(std::env::current_dir().unwrap()).unwrap();
        let expected = here.join("a.log").to_string_lossy().into_owned();
        let Ok(entries) = read(&path) else {
            panic!("an older checkpoint is usable")
        };
        assert_eq!(entries[0].path, expected);
        assert!(named(&entries[0], &["a.log".into()]));
        assert!(named(&entries[0], std::slice::from_ref(&expected)));
        assert!(!named(&entries[0], &["b.log".into()]));
        assert_eq!(reset(&path, &["a.log".into()]).unwrap(), 1);
    }

    #[test]
    fn a_path_is_kept_absolute_through_its_resolved_directory() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(real.join("logs")).unwrap();
        std::os::unix::fs::symlink(real.join("logs"), real.join("link")).unwrap();
        let through_link = real.join("link/../link/app.log");
        assert_eq!(
            absolute(through_link.to_str().unwrap()),
            real.join("logs/app.log").to_string_lossy()
        );
        let gone = real.join("gone/app.log");
        assert_eq!(absolute(gone.to_str().unwrap()), gone.to_string_lossy());
    }

    /// `a.log` of `stream`, read this run from `start`, taken by the queue
    /// to 40 and its last event ending at `events_to`.
    fn position(stream: &Arc<Stream>, start: u64, events_to: u64, released: bool) -> Position {
        Position {
            path: "a.log".into(),
            device: 1,
            inode: 2,
            fingerprint: Fingerprint::of(b"first line\n"),
            stream: Arc::clone(stream),
            start,
            accepted_to: 40,
            events_to,
            released,
            size: 40,
            born: std::time::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_position_saves_what_is_settled_or_after_a_clean_drain_all_taken() {
        let stream = Stream::named("1.2.abc");
        let position = position(&stream, 5, 38, false);
        let mut settled = HashMap::new();
        assert_eq!(
            super::entry(&position, &settled, false).offset,
            5,
            "nothing settled yet"
        );
        settled.insert(Arc::clone(&stream), 30);
        assert_eq!(super::entry(&position, &settled, false).offset, 30);
        assert_eq!(super::entry(&position, &settled, true).offset, 40);
        assert!(!position.settled(&settled));
        settled.insert(stream, 38);
        assert!(
            position.settled(&settled),
            "blank lines after the last event"
        );
    }

    /// A file released before its events were settled stays in the
    /// checkpoint until they are, or until a drain finishes.
    #[test]
    fn a_released_file_is_saved_until_its_last_event_is_settled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let checkpoint = Checkpoint::load(&path).unwrap();
        let stream = Stream::named("1.2.abc");
        checkpoint.update(vec![position(&stream, 0, 40, true)]);
        let saved = |settled: &HashMap<Arc<Stream>, u64>, finished| {
            checkpoint.save(settled, finished).unwrap();
            read(&path).ok().unwrap()
        };
        let mut settled = HashMap::from([(Arc::clone(&stream), 20)]);
        assert_eq!(saved(&settled, false)[0].offset, 20);
        settled.insert(stream, 40);
        assert!(saved(&settled, false).is_empty());
        assert!(saved(&HashMap::new(), true).is_empty());
    }

    /// A new file on the inode of a deleted one still kept in the
    /// checkpoint resumes from its own entry, whichever comes first.
    #[test]
    fn of_two_entries_on_one_inode_the_first_bytes_choose() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        std::fs::write(&log, "new\n").unwrap();
        let meta = std::fs::metadata(&log).unwrap();
        let at = |offset, head: &[u8]| Entry {
            path: "a.log".into(),
            device: meta.dev(),
            inode: meta.ino(),
            fingerprint: Fingerprint::of(head),
            stream: format!("s{offset}"),
            offset,
            size: None,
            born: None,
        };
        let path = dir.path().join("state.json");
        write(&path, &[at(90, b"old\n"), at(2, b"new\n")], None).unwrap();
        let checkpoint = Checkpoint::load(&path).unwrap();
        let file = File::open(&log).unwrap();
        let resume = checkpoint.resume_point(meta.dev(), meta.ino(), &file);
        assert_eq!(resume, Some((2, "s2".into())));
    }
}
