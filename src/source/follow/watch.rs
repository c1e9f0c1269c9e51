//! Waiting for changes: inotify watches (through `notify`) on the
//! directories the patterns look in, or, where watching is not possible,
//! a poll every `POLL_INTERVAL`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use serde_json::json;

use super::FileReader;
use super::file::{Fate, OpenFile};
use crate::diagnostics;

/// How often files are looked at when changes cannot be watched.
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(250);

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

/// inotify watches on the directories the patterns look in, through
/// `notify`. A directory that cannot be watched (not there yet, or the
/// watch limit reached) is looked at by polling instead.
pub(super) struct Watcher {
    /// The watches, which send a `Wake` for each change.
    inner: notify::RecommendedWatcher,
    /// The directories watched so far.
    watched: HashSet<PathBuf>,
    /// Set once a watch failed for a reason other than a missing directory.
    failed: bool,
}

impl Watcher {
    /// Starts watching nothing yet, sending a `Wake` through `waker` for
    /// each change; `None`, said with a warning, when inotify is not there.
    pub(super) fn start(waker: Sender<Wake>) -> Option<Watcher> {
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

impl FileReader {
    /// Watches the directories looked in, where watching is possible.
    pub(super) fn watch(&mut self) {
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

    /// Sleeps until something changes, a poll is due, or a deadline comes.
    pub(super) fn wait(&mut self) {
        let polling = self.polling;
        let timeout = self.wait_at_most(polling);
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

    /// How long a wait may last: until the next look, or the next save,
    /// and no longer than a poll while polling or while a file rotated
    /// away or deleted is still read (its writer's changes are not
    /// watched).
    fn wait_at_most(&self, polling: bool) -> Duration {
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
        // An event waiting for its next line ships when its time is up.
        if let Some(until) = self.files.iter().filter_map(OpenFile::held_until).min() {
            timeout = timeout.min(until.saturating_duration_since(Instant::now()));
        }
        timeout
    }
}

/// Changes cannot be watched: says so, and why.
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
    use super::super::tests::reader_woken;
    use super::*;

    /// A name that came or went in a watched directory asks for a look at
    /// once; a write only wakes the reader to read, and the look waits for
    /// its time. Wakes that came together are served by one wait.
    #[test]
    fn a_name_coming_or_going_asks_for_a_look_and_a_write_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (mut reader, waker) = reader_woken(&dir.path().join("app.log"));
        reader.polling = false;
        let later = Instant::now() + Duration::from_secs(60);
        reader.next_scan = later;
        waker.send(Wake::Written).unwrap();
        waker.send(Wake::Written).unwrap();
        reader.wait();
        assert_eq!(reader.next_scan, later, "a write alone");
        assert!(reader.wakes.try_recv().is_err(), "one wait served both");
        waker.send(Wake::Written).unwrap();
        waker.send(Wake::Names).unwrap();
        reader.wait();
        assert!(reader.next_scan <= Instant::now(), "a name came or went");
    }

    /// Polling, a wait lasts a poll at most, even with the next look far
    /// off and nothing to wake the reader, and then asks for a look.
    #[test]
    fn polling_every_wait_ends_in_a_look_within_a_poll() {
        let dir = tempfile::tempdir().unwrap();
        let (mut reader, waker) = reader_woken(&dir.path().join("app.log"));
        drop(waker);
        reader.polling = true;
        reader.next_scan = Instant::now() + Duration::from_secs(60);
        let started = Instant::now();
        reader.wait();
        let waited = started.elapsed();
        assert!(waited >= POLL_INTERVAL, "{waited:?}");
        assert!(waited < Duration::from_secs(30), "{waited:?}");
        assert!(reader.next_scan <= Instant::now(), "a look is due");
    }

    #[test]
    fn a_pattern_is_watched_in_its_nearest_plain_directory() {
        assert_eq!(watch_dir("/var/log/app/*.log"), Path::new("/var/log/app"));
        assert_eq!(watch_dir("/var/log/*/app.log"), Path::new("/var/log"));
        assert_eq!(watch_dir("app.log"), Path::new("."));
        assert_eq!(watch_dir("logs/app.log"), Path::new("logs"));
    }
}
