//! The paths a run writes to (file sinks, the summary file, the checkpoint
//! and its lock), checked before anything is written: each is something
//! shipper may write, no two are the same file, and each can be opened
//! now (what `--check-config` checks as well).

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::unistd::AccessFlags;

use crate::config::{Config, Input, SinkSpec, Task, sink_label};
use crate::diagnostics::{escape, shown};
use crate::files::{Kind, lock_path};

/// Symbolic links followed on the way to a file before giving up.
const MAX_LINKS: usize = 40;

/// Refuses (as a usage error) a summary file or checkpoint that shipper
/// may not write, and two outputs that are the same file.
pub(crate) fn check(config: &Config) -> Result<(), String> {
    if let Some(path) = &config.summary.file {
        summary_file(path)?;
    }
    if let Some(path) = &config.dead_letter {
        own_file(path, "--dead-letter")?;
    }
    if let Some(path) = checkpoint(config) {
        checkpoint_file(path, "--checkpoint")?;
        checkpoint_file(&lock_path(path), "the checkpoint's lock")?;
    }
    distinct(&outputs(config))
}

/// The checkpoint a run or a task uses.
fn checkpoint(config: &Config) -> Option<&Path> {
    match (&config.task, &config.input) {
        (Task::ShowCheckpoint(path, _, _) | Task::ResetCheckpoint(path, _), _) => Some(path),
        (Task::Ship, Input::Files(files)) => files.checkpoint.as_deref(),
        (Task::Ship, Input::Stdin | Input::Letters(_)) => None,
    }
}

/// A regular file (replaced whole), nothing yet, or a FIFO or character
/// device (written in place, like `tee`). A symbolic link only when it
/// leads to a FIFO or character device (`/dev/stdout`) and belongs to the
/// user or to its directory's owner, so a link planted in a shared
/// directory is never followed.
fn summary_file(path: &Path) -> Result<(), String> {
    let refuse = |why: String| {
        Err(format!(
            "--summary-file '{}' {why}; give a regular file, a FIFO or a character device",
            shown(path)
        ))
    };
    match kind(path)? {
        Kind::Missing | Kind::Regular | Kind::Fifo | Kind::CharDevice => Ok(()),
        Kind::Symlink => match Kind::behind(path) {
            Ok(kind) if kind.is_stream() && trusted_link(path) => Ok(()),
            Ok(kind) if kind.is_stream() => {
                refuse("is a symbolic link owned by another user".into())
            }
            _ => refuse(
                "is a symbolic link: shipper replaces a summary file, never a link's target".into(),
            ),
        },
        kind => refuse(format!("is {}", kind.name())),
    }
}

/// A checkpoint (and its lock) is a regular file or nothing yet, and a
/// file of one name only: through a hard link, a second name would let two
/// runs share it past the lock, or a lock's truncation reach another file.
fn checkpoint_file(path: &Path, role: &str) -> Result<(), String> {
    own_file(path, role).map_err(|why| why.replace("it must be", "a checkpoint must be"))
}

/// A file shipper keeps for itself (a checkpoint, the dead letters): a
/// regular file of one name only, or nothing yet.
fn own_file(path: &Path, role: &str) -> Result<(), String> {
    match kind(path)? {
        Kind::Missing => Ok(()),
        Kind::Regular => one_name(path, role),
        kind => Err(format!(
            "{role} '{}' is {}; it must be a regular file (or not exist yet)",
            shown(path),
            kind.name()
        )),
    }
}

/// Refuses a file with more than one hard link.
fn one_name(path: &Path, role: &str) -> Result<(), String> {
    let links = std::fs::symlink_metadata(path)
        .map_err(|err| format!("could not look at '{}': {err}", shown(path)))?
        .nlink();
    if links > 1 {
        return Err(format!(
            "{role} '{}' {}",
            shown(path),
            crate::files::hard_linked(links)
        ));
    }
    Ok(())
}

fn kind(path: &Path) -> Result<Kind, String> {
    Kind::at(path).map_err(|err| format!("could not look at '{}': {err}", shown(path)))
}

/// Whether the link at `path` belongs to the user, or to the owner of its
/// directory (the kernel's rule for following links in shared directories).
fn trusted_link(path: &Path) -> bool {
    let Ok(link) = std::fs::symlink_metadata(path) else {
        return false;
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let owner = std::fs::metadata(directory).map(|meta| meta.uid()).ok();
    link.uid() == nix::unistd::geteuid().as_raw() || Some(link.uid()) == owner
}

/// Each file written, with how to name it in a message.
fn outputs(config: &Config) -> Vec<(String, PathBuf)> {
    let mut outputs = Vec::new();
    for sink in &config.sinks {
        if let SinkSpec::File(path) = sink {
            let label = escape(&sink_label(sink)).into_owned();
            outputs.push((format!("sink {label}"), path.clone()));
            outputs.extend(rotations(path, config).map(|rotation| {
                let role = format!("sink {label}'s rotation '{}'", shown(&rotation));
                (role, rotation)
            }));
        }
    }
    if let Some(path) = &config.summary.file {
        outputs.push((format!("--summary-file '{}'", shown(path)), path.clone()));
    }
    if let Some(path) = &config.dead_letter {
        outputs.push((format!("--dead-letter '{}'", shown(path)), path.clone()));
    }
    if let Some(path) = checkpoint(config) {
        outputs.push((format!("--checkpoint '{}'", shown(path)), path.to_owned()));
        let lock = lock_path(path);
        outputs.push((format!("the checkpoint's lock '{}'", shown(&lock)), lock));
        // Where an unusable checkpoint is moved (a later free name when taken).
        let aside = crate::files::aside_name(path, "corrupt", 0);
        let role = format!(
            "the place an unusable checkpoint is moved to '{}'",
            shown(&aside)
        );
        outputs.push((role, aside));
    }
    outputs
}

/// `PATH.1`, ... `PATH.N`: the files a rotating file sink renames its
/// file to (none unless it rotates).
fn rotations<'a>(path: &'a Path, config: &Config) -> impl Iterator<Item = PathBuf> + 'a {
    let kept = match config.file.max_bytes {
        Some(_) => config.file.max_files,
        None => 0,
    };
    (1..=kept).map(move |n| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    })
}

/// No two outputs are one file: the same path once resolved, or the same
/// device and inode. FIFOs and devices are written in place and may be
/// shared.
fn distinct(outputs: &[(String, PathBuf)]) -> Result<(), String> {
    let mut by_path: HashMap<PathBuf, &str> = HashMap::new();
    let mut by_inode: HashMap<(u64, u64), &str> = HashMap::new();
    for (role, path) in outputs {
        let Some(identity) = Identity::of(path) else {
            continue;
        };
        let earlier = by_path
            .get(&identity.resolved)
            .or_else(|| by_inode.get(&identity.inode?));
        if let Some(earlier) = earlier {
            return Err(format!(
                "{earlier} and {role} are the same file ('{}'): one would overwrite the other",
                shown(&identity.resolved)
            ));
        }
        if let Some(inode) = identity.inode {
            by_inode.insert(inode, role);
        }
        by_path.insert(identity.resolved, role);
    }
    Ok(())
}

/// What makes two paths one file.
#[derive(Debug)]
struct Identity {
    /// The path made absolute, its directory and any links resolved.
    resolved: PathBuf,
    /// Device and inode, when the file exists.
    inode: Option<(u64, u64)>,
}

impl Identity {
    /// `None` for a FIFO or device.
    fn of(path: &Path) -> Option<Identity> {
        let meta = std::fs::metadata(path).ok();
        if meta
            .as_ref()
            .is_some_and(|meta| Kind::of(meta.file_type()).is_stream())
        {
            return None;
        }
        Some(Identity {
            resolved: resolve(path),
            inode: meta.map(|meta| (meta.dev(), meta.ino())),
        })
    }
}

/// Where `path` leads: absolute, its directory canonical, and a link at
/// its end followed even when its target does not exist yet.
fn resolve(path: &Path) -> PathBuf {
    let mut path = absolute(path);
    for _ in 0..MAX_LINKS {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return path;
        };
        let parent = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_owned());
        let joined = parent.join(name);
        match std::fs::read_link(&joined) {
            Ok(target) => path = absolute(&parent.join(target)),
            Err(_) => return joined,
        }
    }
    path
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Why a run could not open one of its outputs.
#[derive(Debug)]
pub(crate) enum Unopenable {
    /// The summary file.
    Summary(String),
    /// The checkpoint or its lock.
    Checkpoint(String),
    /// A file sink.
    Sink(String),
}

/// Whether a run could open what it writes, looked at without creating or
/// changing anything: each file sink appended to, the summary file and
/// the checkpoint replaced through a new file beside them. A run checks
/// this before it opens anything, and `--check-config` checks the same.
pub(crate) fn openable(config: &Config) -> Result<(), Unopenable> {
    if config.task != Task::Ship {
        return Ok(());
    }
    if let Some(path) = &config.summary.file {
        replaceable(path).map_err(|err| {
            let shown = shown(path);
            Unopenable::Summary(format!("could not write the summary to '{shown}': {err}"))
        })?;
    }
    if let Some(path) = checkpoint(config) {
        for path in [path.to_owned(), lock_path(path)] {
            replaceable(&path).map_err(|err| {
                let shown = shown(&path);
                Unopenable::Checkpoint(format!("could not use the checkpoint '{shown}': {err}"))
            })?;
        }
    }
    if let Some(path) = &config.dead_letter {
        appendable(path, false).map_err(|err| {
            let shown = shown(path);
            Unopenable::Sink(format!("could not keep dead letters in '{shown}': {err}"))
        })?;
    }
    let rotates = config.file.max_bytes.is_some();
    for sink in &config.sinks {
        if let SinkSpec::File(path) = sink {
            appendable(path, rotates).map_err(|err| {
                let label = escape(&sink_label(sink)).into_owned();
                Unopenable::Sink(format!("could not open sink '{label}': {err}"))
            })?;
        }
    }
    Ok(())
}

impl std::fmt::Display for Unopenable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unopenable::Summary(why) | Unopenable::Checkpoint(why) | Unopenable::Sink(why) => {
                f.write_str(why)
            }
        }
    }
}

/// A file sink's path, as opening it for appending would find it (links
/// followed): a file or device it may write, or a directory that takes a
/// new file; a directory that takes the renamed files when it rotates.
fn appendable(path: &Path, rotates: bool) -> io::Result<()> {
    match Kind::behind(path)? {
        Kind::Missing => directory_takes_files(path),
        Kind::Regular if rotates => {
            may_access(path, AccessFlags::W_OK)?;
            directory_takes_files(path)
        }
        Kind::Regular | Kind::Fifo | Kind::CharDevice | Kind::BlockDevice => {
            may_access(path, AccessFlags::W_OK)
        }
        Kind::Directory => Err(io::Error::from(nix::errno::Errno::EISDIR)),
        Kind::Socket | Kind::Symlink => Err(io::Error::from(nix::errno::Errno::ENXIO)),
    }
}

/// A file shipper keeps for itself, as replacing it would find it: a FIFO
/// or device it may write in place, or a directory that takes the new
/// file (and a file there now that it may read and write). What may not
/// be there at all, `check` refuses.
fn replaceable(path: &Path) -> io::Result<()> {
    match Kind::behind(path)? {
        kind if kind.is_stream() => may_access(path, AccessFlags::W_OK),
        Kind::Regular => {
            may_access(path, AccessFlags::R_OK | AccessFlags::W_OK)?;
            directory_takes_files(path)
        }
        _ => directory_takes_files(path),
    }
}

/// The directory of `path` exists and new files may be made in it.
fn directory_takes_files(path: &Path) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let in_directory = |err: io::Error| {
        io::Error::new(
            err.kind(),
            format!("its directory '{}': {err}", shown(directory)),
        )
    };
    match Kind::behind(directory).map_err(in_directory)? {
        Kind::Directory => {}
        Kind::Missing => return Err(in_directory(io::Error::from(nix::errno::Errno::ENOENT))),
        _ => return Err(in_directory(io::Error::from(nix::errno::Errno::ENOTDIR))),
    }
    may_access(directory, AccessFlags::W_OK | AccessFlags::X_OK).map_err(in_directory)
}

/// Whether this process may use `path` so, by its effective ids.
fn may_access(path: &Path, how: AccessFlags) -> io::Result<()> {
    nix::unistd::faccessat(
        nix::fcntl::AT_FDCWD,
        path,
        how,
        nix::fcntl::AtFlags::AT_EACCESS,
    )
    .map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_to_one_file_resolve_alike() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("via")).unwrap();
        let one = Identity::of(&real.join("out.log")).unwrap();
        let other = Identity::of(&dir.path().join("via/./out.log")).unwrap();
        assert_eq!(one.resolved, other.resolved);
        let third = Identity::of(&dir.path().join("via/other.log")).unwrap();
        assert_ne!(one.resolved, third.resolved);
    }

    #[test]
    fn openable_looks_without_creating_anything() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.log");
        std::fs::write(&old, "kept\n").unwrap();
        let new = dir.path().join("new.log");
        assert!(appendable(&old, true).is_ok());
        assert!(appendable(&new, false).is_ok());
        assert!(replaceable(&new).is_ok());
        assert!(!new.exists(), "nothing created");
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "kept\n");
        let missing = dir.path().join("no/such.log");
        let why = appendable(&missing, false).unwrap_err().to_string();
        assert!(
            why.ends_with("no': No such file or directory (os error 2)"),
            "{why}"
        );
        assert_eq!(
            appendable(dir.path(), false).unwrap_err().to_string(),
            "Is a directory (os error 21)"
        );
        assert!(replaceable(&missing).is_err());
    }

    #[test]
    fn a_hard_link_is_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("a");
        std::fs::write(&one, "").unwrap();
        std::fs::hard_link(&one, dir.path().join("b")).unwrap();
        let outputs = [
            ("first".to_string(), one),
            ("second".to_string(), dir.path().join("b")),
        ];
        let refused = distinct(&outputs).unwrap_err();
        assert!(
            refused.contains("first and second are the same file"),
            "{refused}"
        );
    }
}
