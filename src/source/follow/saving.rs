//! The file reader's positions handed to the checkpoint: once before
//! anything is read, every `SAVE_INTERVAL` while files are read, and when
//! reading stops.

use std::time::{Duration, Instant};

use serde_json::json;

use super::FileReader;
use super::file::Fate;
use crate::config::ReadMode;
use crate::diagnostics;
use crate::source::checkpoint::Position;

/// How often the checkpoint is saved while files are read.
pub(super) const SAVE_INTERVAL: Duration = Duration::from_secs(1);

impl FileReader {
    /// Saved once before reading: a checkpoint that cannot be written stops
    /// the run now, not after hours of reading.
    pub(super) fn save_first(&self) -> anyhow::Result<()> {
        if let Some(checkpoint) = &self.checkpoint {
            self.hand_over();
            checkpoint.save(&Default::default(), false)?;
        }
        Ok(())
    }

    /// Saves the checkpoint when a save is due, forgetting released files
    /// whose events are all settled. A save that fails is reported, and
    /// tried again at the next.
    pub(super) fn save_if_due(&mut self) {
        let Some(checkpoint) = &self.checkpoint else {
            return;
        };
        if Instant::now() < self.next_save {
            return;
        }
        self.next_save = Instant::now() + SAVE_INTERVAL;
        let settled = self.intake.settled_to();
        self.released.retain(|position| !position.settled(&settled));
        self.hand_over();
        if let Err(err) = checkpoint.save(&settled, false) {
            diagnostics::error("checkpoint", "save", || {
                (format!("{err:#}"), json!({"error": format!("{err:#}")}))
            });
        }
    }

    /// Tells the checkpoint the files' positions, and those of released
    /// files not settled yet.
    pub(super) fn hand_over(&self) {
        if let Some(checkpoint) = &self.checkpoint {
            checkpoint.looked(self.last_look);
            // Reading once, a file rotated away before the run is done with
            // once read: kept only until its events are settled.
            let once = self.config.mode == ReadMode::Once;
            let open = self.files.iter().map(|file| Position {
                released: once && file.fate != Fate::Live && file.at_end,
                ..file.position()
            });
            checkpoint.update(open.chain(self.released.iter().cloned()).collect());
        }
    }
}
