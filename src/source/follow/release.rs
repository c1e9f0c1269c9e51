//! Letting a file go: when it is done with (deleted and read to its end,
//! rotated away and quiet for `--rotate-wait`, or failed), its last line
//! shipped, its position kept for the checkpoint until settled, and what
//! it left unread said.

use serde_json::json;

use super::FileReader;
use super::file::{Fate, OpenFile};
use crate::diagnostics;
use crate::source::checkpoint::Position;

impl FileReader {
    /// Whether the file at `index` is finished with: deleted and read to
    /// its end, or rotated away, read to its end, and left alone by its
    /// writer for `--rotate-wait`. A rotated file still being read after
    /// that is not given up: it is said to be behind, and read on.
    pub(super) fn done_with(&mut self, index: usize) -> bool {
        let rotate_wait = self.config.rotate_wait;
        let file = &mut self.files[index];
        match file.fate {
            Fate::Live => false,
            Fate::Failed => true,
            Fate::Deleted => file.at_end,
            Fate::Rotated { since } if since.elapsed() < rotate_wait => false,
            Fate::Rotated { .. } if file.at_end => true,
            Fate::Rotated { .. } => {
                if !file.late {
                    file.late = true;
                    warn_late(file, rotate_wait);
                }
                false
            }
        }
    }

    /// Ships a released file's last line and closes it, saying what it left
    /// unread, if anything (a file that failed).
    pub(super) fn release(&mut self, file: &mut OpenFile) {
        self.finished.push((file.identity, file.born));
        if file.fate == Fate::Failed {
            // Its unfinished line is not a line; a later look that finds
            // the file again goes on from what the queue took.
            self.resumes.insert(file.identity, file.resume_point());
        } else {
            file.finish(&self.intake);
            if self.checkpoint.is_some() {
                self.released.push(Position {
                    released: true,
                    ..file.position()
                });
            }
        }
        let path = file.path.display().to_string();
        let unread = file.unread();
        if unread > 0 {
            diagnostics::warn("source", &format!("unread:{path}"), || {
                (
                    format!("{path} released with {unread} bytes not read"),
                    json!({"path": path, "unread": unread}),
                )
            });
        }
        diagnostics::info("source", format!("released {path}"), json!({"path": path}));
    }
}

/// A file rotated away longer than `--rotate-wait` ago still has bytes to
/// read: it is read on, and said to be behind.
fn warn_late(file: &OpenFile, rotate_wait: std::time::Duration) {
    let (path, unread) = (file.path.display().to_string(), file.unread());
    diagnostics::warn("source", &format!("late:{path}"), || {
        (
            format!(
                "{path} was rotated away more than --rotate-wait ({}) ago and {unread} bytes of it are not read yet: reading on",
                humantime::format_duration(rotate_wait)
            ),
            json!({"path": path, "unread": unread}),
        )
    });
}
