//! The files shipper keeps for itself (the checkpoint and its lock, the
//! summary file, the config file): replaced whole or not at all through a
//! new temporary file, never written through a symbolic link or over
//! something that is not a regular file, and read with a bound.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::libc;

/// Mode of the files shipper creates for itself: they may hold paths and
/// positions that are nobody else's business.
const MODE: u32 = 0o600;

/// Tries at a free temporary name before giving up.
const NAME_TRIES: usize = 64;

/// What is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Missing,
    Regular,
    Directory,
    Symlink,
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
}

impl Kind {
    /// What `path` names, a symbolic link itself (not followed).
    pub(crate) fn at(path: &Path) -> io::Result<Kind> {
        Kind::looked_up(std::fs::symlink_metadata(path))
    }

    /// What `path` leads to, symbolic links followed.
    pub(crate) fn behind(path: &Path) -> io::Result<Kind> {
        Kind::looked_up(std::fs::metadata(path))
    }

    fn looked_up(meta: io::Result<std::fs::Metadata>) -> io::Result<Kind> {
        match meta {
            Ok(meta) => Ok(Kind::of(meta.file_type())),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Kind::Missing),
            Err(err) => Err(err),
        }
    }

    pub(crate) fn of(file_type: std::fs::FileType) -> Kind {
        match file_type {
            t if t.is_file() => Kind::Regular,
            t if t.is_dir() => Kind::Directory,
            t if t.is_symlink() => Kind::Symlink,
            t if t.is_fifo() => Kind::Fifo,
            t if t.is_char_device() => Kind::CharDevice,
            t if t.is_block_device() => Kind::BlockDevice,
            _ => Kind::Socket,
        }
    }

    /// As in "it is {name}".
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Missing => "missing",
            Kind::Regular => "a regular file",
            Kind::Directory => "a directory",
            Kind::Symlink => "a symbolic link",
            Kind::Fifo => "a FIFO",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Socket => "a socket",
        }
    }

    /// Written in place, never replaced: writing to it creates nothing.
    pub(crate) fn is_stream(self) -> bool {
        matches!(self, Kind::Fifo | Kind::CharDevice)
    }
}

/// `PATH.lock`: held by the run that uses the file at `PATH`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The error for something shipper will not touch as a file of its own.
pub(crate) fn not_regular(kind: Kind) -> io::Error {
    io::Error::other(format!("it is {}, not a regular file", kind.name()))
}

/// Writes `bytes` so that `path` holds either what it held before or all of
/// `bytes`, even across a crash or power loss: a new file of mode 0600
/// under an unpredictable name beside it (created with O_EXCL|O_NOFOLLOW,
/// so nothing planted there is written through), fsync, rename over
/// `path`, fsync of the directory. Anything at `path` that is not a
/// regular file is left alone and the write fails.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replaceable(path)?;
    let (mut file, temporary) = create_temporary(path)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| replaceable(path))
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    sync_directory(path)
}

/// Only a regular file, or nothing, may be replaced.
fn replaceable(path: &Path) -> io::Result<()> {
    match Kind::at(path)? {
        Kind::Missing | Kind::Regular => Ok(()),
        kind => Err(not_regular(kind)),
    }
}

/// A new, empty file beside `path`: `NAME.RANDOM.tmp`.
fn create_temporary(path: &Path) -> io::Result<(File, PathBuf)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    for _ in 0..NAME_TRIES {
        let mut temporary = name.to_owned();
        temporary.push(format!(".{}.tmp", random_suffix()));
        let temporary = path.with_file_name(temporary);
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temporary);
        match created {
            Ok(file) => return Ok((file, temporary)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary name beside it",
    ))
}

fn random_suffix() -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(12)
        .collect()
}

/// Makes a rename in `path`'s directory survive a power loss.
fn sync_directory(path: &Path) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}

/// Names tried after `PATH.SUFFIX` (`PATH.SUFFIX.1`, ...) before giving up.
const ASIDE_TRIES: usize = 100;

/// Moves the regular file at `path` to `PATH.SUFFIX`, or to the first of
/// `PATH.SUFFIX.1`, `PATH.SUFFIX.2`, ... that is free, and returns where it
/// went. Nothing already there is replaced (the rename is
/// RENAME_NOREPLACE), whatever it is.
pub(crate) fn move_aside(path: &Path, suffix: &str) -> io::Result<PathBuf> {
    match Kind::at(path)? {
        Kind::Regular => {}
        kind => return Err(not_regular(kind)),
    }
    for n in 0..ASIDE_TRIES {
        let aside = aside_name(path, suffix, n);
        match rename_no_replace(path, &aside) {
            Ok(()) => return Ok(aside),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "no free name among '{}' and the next {ASIDE_TRIES}",
            aside_name(path, suffix, 0).display()
        ),
    ))
}

/// `PATH.SUFFIX` for `n` 0, else `PATH.SUFFIX.n`.
pub(crate) fn aside_name(path: &Path, suffix: &str, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{suffix}"));
    if n > 0 {
        name.push(format!(".{n}"));
    }
    PathBuf::from(name)
}

/// Renames `from` to `to` unless something is at `to` (EEXIST).
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE).map_err(io::Error::from)
}

/// Opens the lock file at `path`, creating it (mode 0600) if missing,
/// never through a symbolic link, and only if it is a regular file: it is
/// neither truncated nor written before that is known. A file with more
/// than one hard link is refused: truncating it would reach another name.
pub(crate) fn open_lock(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(explain_link)?;
    match Kind::of(file.metadata()?.file_type()) {
        Kind::Regular => only_name(&file).map(|()| file),
        kind => Err(not_regular(kind)),
    }
}

/// Why a file with `links` hard links is not taken as shipper's own.
pub(crate) fn hard_linked(links: u64) -> String {
    format!(
        "has {links} hard links: another name reaches the same file, so shipper will not \
         take it as its own (remove the other names, or give another path)"
    )
}

/// A file reached by one name only.
fn only_name(file: &File) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    match file.metadata()?.nlink() {
        0 | 1 => Ok(()),
        links => Err(io::Error::other(hard_linked(links))),
    }
}

/// O_NOFOLLOW's ELOOP, in words.
pub(crate) fn explain_link(err: io::Error) -> io::Error {
    if err.raw_os_error() == Some(libc::ELOOP) {
        return not_regular(Kind::Symlink);
    }
    err
}

/// Why a file could not be read with `read_bounded`.
#[derive(Debug)]
pub(crate) enum Unreadable {
    Missing,
    /// Refused before anything was read.
    NotRegular(Kind),
    /// Larger than the bound: refused after reading one byte past it.
    TooLarge(u64),
    Io(io::Error),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::Missing => f.write_str("it does not exist"),
            Unreadable::NotRegular(kind) => write!(f, "{}", not_regular(*kind)),
            Unreadable::TooLarge(limit) => {
                write!(f, "it is larger than {} MiB", limit >> 20)
            }
            Unreadable::Io(err) => write!(f, "{err}"),
        }
    }
}

/// Reads the regular file at `path` whole. Anything else is refused
/// before it is opened for reading (a FIFO never hangs the read, a device
/// is never read), and a file larger than `limit` bytes after reading at
/// most one byte past it. `follow`: whether a symbolic link at `path` is
/// followed or refused.
pub(crate) fn read_bounded(path: &Path, limit: u64, follow: bool) -> Result<Vec<u8>, Unreadable> {
    let kind = if follow {
        Kind::behind(path)
    } else {
        Kind::at(path)
    };
    match kind.map_err(Unreadable::Io)? {
        Kind::Missing => return Err(Unreadable::Missing),
        Kind::Regular => {}
        kind => return Err(Unreadable::NotRegular(kind)),
    }
    let flags = libc::O_NONBLOCK | if follow { 0 } else { libc::O_NOFOLLOW };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|err| match err.kind() {
            io::ErrorKind::NotFound => Unreadable::Missing,
            _ if err.raw_os_error() == Some(libc::ELOOP) => Unreadable::NotRegular(Kind::Symlink),
            _ => Unreadable::Io(err),
        })?;
    // It may have changed between the look and the open.
    match Kind::of(file.metadata().map_err(Unreadable::Io)?.file_type()) {
        Kind::Regular => {}
        kind => return Err(Unreadable::NotRegular(kind)),
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(Unreadable::Io)?;
    if bytes.len() as u64 > limit {
        return Err(Unreadable::TooLarge(limit));
    }
    Ok(bytes)
}

/// Writes `bytes` to the FIFO or character device at `path` as `tee`
/// would: nothing is created, truncated or replaced. A FIFO nobody reads
/// is an error, not a hang.
pub(crate) fn write_in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ENXIO) => io::Error::other("it is a FIFO that nobody reads"),
            _ => err,
        })?;
    let kind = Kind::of(file.metadata()?.file_type());
    if !kind.is_stream() {
        return Err(io::Error::other(format!(
            "it is now {}, no longer a FIFO or character device",
            kind.name()
        )));
    }
    // Blocking again: a slow reader is waited for, as by any writer.
    nix::fcntl::fcntl(
        &file,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
    )
    .map_err(io::Error::from)?;
    (&file).write_all(bytes)
}

/// Just past the last newline within a file's first `size` bytes (0 when
/// there is none): where its last complete line ends.
pub(crate) fn after_last_line(file: &File, size: u64) -> io::Result<u64> {
    const STEP: u64 = 64 * 1024;
    let mut end = size;
    let mut block = vec![0; STEP as usize];
    while end > 0 {
        let start = end.saturating_sub(STEP);
        let block = &mut block[..(end - start) as usize];
        file.read_exact_at(block, start)?;
        if let Some(newline) = memchr::memrchr(b'\n', block) {
            return Ok(start + newline as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_with(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut temp = tempfile::NamedTempFile::new().unwrap();
        temp.write_all(bytes).unwrap();
        let file = File::open(temp.path()).unwrap();
        (temp, file)
    }

    #[test]
    fn the_end_is_just_past_the_last_complete_line() {
        let (_temp, file) = temp_with(b"a\nbb\npartial");
        assert_eq!(after_last_line(&file, 12).unwrap(), 5);
        let (_temp, file) = temp_with(b"no newline at all");
        assert_eq!(after_last_line(&file, 17).unwrap(), 0);
        let mut long = b"first\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', 200_000));
        let (_temp, file) = temp_with(&long);
        assert_eq!(
            after_last_line(&file, long.len() as u64).unwrap(),
            6,
            "found across several blocks"
        );
    }

    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_replaced_file_is_whole_private_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "old").unwrap();
        replace(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_symbolic_link_is_neither_replaced_nor_read_unless_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(replace(&link, b"x").is_err());
        assert!(open_lock(&link).is_err());
        assert!(matches!(
            read_bounded(&link, 10, false),
            Err(Unreadable::NotRegular(Kind::Symlink))
        ));
        assert_eq!(read_bounded(&link, 10, true).unwrap(), b"keep");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    }

    #[test]
    fn a_read_stops_one_byte_past_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, [b'x'; 11]).unwrap();
        assert!(matches!(
            read_bounded(&path, 10, false),
            Err(Unreadable::TooLarge(10))
        ));
        assert_eq!(read_bounded(&path, 11, false).unwrap().len(), 11);
        assert!(matches!(
            read_bounded(Path::new("/dev/zero"), 10, true),
            Err(Unreadable::NotRegular(Kind::CharDevice))
        ));
    }
}
