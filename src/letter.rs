//! What a dead letter is, read back: one line of a `--dead-letter` file,
//! holding an event a sink gave up on and where it was read. The pipeline
//! writes them (`pipeline::dead_letters`); a run given such files sends
//! their events again (`source::replay`).

use std::io::Read;
use std::path::Path;

use serde_json::value::RawValue;

/// What every letter opens with: how a file of them is known.
pub(crate) const MARK: &[u8] = b"{\"dead_letter\":1,";

/// An event kept in a letter.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Letter<'a> {
    /// The event's bytes as the sink was given them.
    pub event: std::borrow::Cow<'a, [u8]>,
    /// Its stream's identity and the position just past it, when it was
    /// read from one.
    pub origin: Option<(String, u64)>,
}

/// Reads one letter, or says why the line is none.
pub(crate) fn read(line: &[u8]) -> Result<Letter<'_>, String> {
    #[derive(serde::Deserialize)]
    struct Read<'a> {
        dead_letter: u8,
        #[serde(borrow)]
        event: Option<&'a RawValue>,
        line: Option<String>,
        stream: Option<String>,
        offset: Option<u64>,
    }
    if !line.starts_with(MARK) {
        return Err("it does not open as a dead letter".into());
    }
    let read: Read =
        serde_json::from_slice(line).map_err(|err| format!("it is no dead letter: {err}"))?;
    if read.dead_letter != 1 {
        return Err("it is a dead letter of another version".into());
    }
    let event = match (read.event, read.line) {
        (Some(event), None) => std::borrow::Cow::Borrowed(event.get().as_bytes()),
        (None, Some(line)) => std::borrow::Cow::Owned(line.into_bytes()),
        _ => return Err("it holds no event, or two".into()),
    };
    Ok(Letter {
        event,
        origin: read.stream.zip(read.offset),
    })
}

/// Whether the regular file at `path` opens with a dead letter. Anything
/// else (a FIFO, a device, a file that cannot be read) is not looked into.
pub(crate) fn is_letters(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    if !metadata.is_file() {
        return false;
    }
    let mut start = [0; MARK.len()];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    file.read_exact(&mut start).is_ok() && start == MARK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letter_gives_its_event_and_origin_and_anything_else_says_why_not() {
        let letter = read(
            br#"{"dead_letter":1,"sink":"s","stream":"h.stdin.1","offset":7,"event":{"a": [1, 2]}}"#,
        )
        .unwrap();
        assert_eq!(&*letter.event, br#"{"a": [1, 2]}"#, "byte for byte");
        assert_eq!(letter.origin, Some(("h.stdin.1".to_owned(), 7)));
        let raw = read(br#"{"dead_letter":1,"line":"plain \"x\""}"#).unwrap();
        assert_eq!(&*raw.event, b"plain \"x\"");
        assert_eq!(raw.origin, None);
        for line in [
            &br#"{"message":"dead_letter"}"#[..],
            br#"{"dead_letter":1,"sink":"x"}"#,
            br#"{"dead_letter":1,"event":{},"line":"x"}"#,
            br#"{"dead_letter":1,"event":{"#,
            b"",
        ] {
            assert!(read(line).is_err(), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn only_a_regular_file_opening_with_a_letter_is_one_of_letters() {
        let dir = tempfile::tempdir().unwrap();
        let letters = dir.path().join("dead.jsonl");
        std::fs::write(&letters, b"{\"dead_letter\":1,\"line\":\"x\"}\n").unwrap();
        assert!(is_letters(&letters));
        let log = dir.path().join("app.log");
        std::fs::write(&log, b"{\"dead_letter\":2}\n").unwrap();
        assert!(!is_letters(&log));
        assert!(!is_letters(&dir.path().join("missing")));
        assert!(!is_letters(Path::new("/dev/zero")));
        assert!(!is_letters(dir.path()));
    }
}
