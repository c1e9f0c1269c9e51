//! The file sinks' rotation settings.

use crate::cli::Args;

#[derive(Debug, Clone, Copy)]
pub(crate) struct FileOptions {
    /// Rotate before a write would take the file past this many bytes.
    pub max_bytes: Option<u64>,
    /// Rotated files kept beside the live one.
    pub max_files: usize,
}

/// `--file-max-bytes` and `--file-max-files`.
pub(crate) fn options(args: &Args) -> Result<FileOptions, String> {
    if args.file_max_bytes == Some(0) {
        return Err("--file-max-bytes must be greater than 0".into());
    }
    if args.file_max_files == 0 {
        // Rotating into no kept file would delete events already
        // counted as processed.
        return Err(
            "--file-max-files must be at least 1: rotation keeps the file it moves aside".into(),
        );
    }
    Ok(FileOptions {
        max_bytes: args.file_max_bytes,
        max_files: args.file_max_files,
    })
}
