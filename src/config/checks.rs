//! Checks that settings of several sections share.

use std::path::PathBuf;
use std::time::Duration;

/// Longest line the reader accepts as a setting; lines are indexed with u32.
pub(super) const MAX_LINE_LIMIT: u64 = 1 << 30;

/// A timeout of 0 would fail every request, after `--check-config` had
/// passed it.
pub(super) fn longer_than_zero(flag: &str, value: Duration) -> Result<(), String> {
    if value.is_zero() {
        Err(format!("{flag} must be longer than 0"))
    } else {
        Ok(())
    }
}

/// Largest CA or creds file: PEM certificates and NATS creds take a few
/// kilobytes.
pub(crate) const MAX_KEY_FILE: u64 = 1 << 20;

/// A CA or creds file, checked as `--config` is: a regular file (or a
/// link to one) of at most `MAX_KEY_FILE`, refused at start rather than
/// hanging on a FIFO or reading a device without end.
pub(super) fn small_file(flag: &str, path: &Option<PathBuf>) -> Result<(), String> {
    let Some(path) = path else {
        return Ok(());
    };
    crate::files::read_bounded(path, MAX_KEY_FILE, true).map_err(|why| {
        format!(
            "could not read {flag} '{}': {why}",
            crate::diagnostics::shown(path)
        )
    })?;
    Ok(())
}

pub(super) fn positive(flag: &str, value: u64) -> Result<(), String> {
    if value == 0 {
        Err(format!("{flag} must be greater than 0"))
    } else {
        Ok(())
    }
}
