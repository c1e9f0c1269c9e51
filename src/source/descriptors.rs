//! File descriptors: shipper's limit raised as far as it goes at start,
//! and the files that wait for a descriptor once it is reached.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use serde_json::json;

use crate::diagnostics;

/// Files that could not be opened for want of a descriptor, and are tried
/// again at each look.
static WAITING: Mutex<Waiting> = Mutex::new(Waiting {
    paths: BTreeSet::new(),
    told: 0,
    error: None,
});

/// The files waiting for a descriptor, and what was last said of them.
struct Waiting {
    /// The files waiting now.
    paths: BTreeSet<PathBuf>,
    /// How many were waiting when the last warning was given.
    told: usize,
    /// The error of the last open that failed for want of a descriptor.
    error: Option<i32>,
}

fn waiting() -> std::sync::MutexGuard<'static, Waiting> {
    WAITING.lock().expect("descriptors lock poisoned")
}

/// Names listed when the run ends with files still waiting.
const NAMES_SHOWN: usize = 10;

/// Raises the soft limit on open files to the hard one: following many
/// files needs a descriptor each, and the soft limit is often far below
/// what the system allows.
pub(crate) fn raise_limit() {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_err() {
        // A hard limit above what the kernel allows (nr_open): keep the
        // soft one.
        diagnostics::info(
            "source",
            format!("could not raise the open files limit from {soft} to {hard}"),
            json!({"soft": soft, "hard": hard}),
        );
    }
}

/// Whether an open failed because no descriptor was left.
pub(crate) fn ran_out(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(nix::libc::EMFILE | nix::libc::ENFILE)
    )
}

/// `path` could not be opened for want of a descriptor: it waits, and is
/// tried again at the next look.
pub(crate) fn wait_for_one(path: &Path, err: &std::io::Error) {
    let mut waiting = waiting();
    waiting.paths.insert(path.to_path_buf());
    waiting.error = err.raw_os_error();
}

/// After a look at the files: when more files wait than were last told
/// of, one warning (rate limited) says which limit stops shipper and how
/// many files wait.
pub(crate) fn tell_waiting() {
    let (count, error) = {
        let mut waiting = waiting();
        let count = waiting.paths.len();
        if count <= waiting.told {
            waiting.told = count;
            return;
        }
        waiting.told = count;
        (count, waiting.error)
    };
    diagnostics::warn("source", "descriptors", || {
        let limit = limit_text(error);
        (
            format!(
                "{count} files wait to be opened: {limit}; each is opened as soon as a \
                 descriptor is free (a rotated file released, a deleted one closed)"
            ),
            json!({"waiting": count, "limit": limit}),
        )
    });
}

/// Which limit was met, in words.
fn limit_text(error: Option<i32>) -> String {
    if error == Some(nix::libc::ENFILE) {
        return "the system's limit on open files was reached (fs.file-max)".into();
    }
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => format!(
            "shipper may hold {soft} open files (RLIMIT_NOFILE, `ulimit -n`; hard limit \
             {hard}), and holds them all"
        ),
        Err(_) => "shipper holds as many open files as it may (RLIMIT_NOFILE)".into(),
    }
}

/// `path` was opened: it no longer waits.
pub(crate) fn opened(path: &Path) {
    let mut waiting = waiting();
    if !waiting.paths.is_empty() {
        waiting.paths.remove(path);
    }
}

/// At the end of a run: names the files that never got a descriptor, whose
/// lines were not read.
pub(crate) fn report_waiting() {
    let waiting = waiting().paths.clone();
    if waiting.is_empty() {
        return;
    }
    let names: Vec<String> = waiting
        .iter()
        .take(NAMES_SHOWN)
        .map(|path| diagnostics::shown(path))
        .collect();
    let more = waiting.len().saturating_sub(NAMES_SHOWN);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    diagnostics::warn("source", "never_opened", || {
        (
            format!(
                "{} files were never opened for want of a file descriptor, and not read: {}{more}",
                waiting.len(),
                names.join(", ")
            ),
            json!({"files": waiting.len(), "names": names}),
        )
    });
}
