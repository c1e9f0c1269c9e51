//! An event cut down to what a NATS server accepts (`max_payload`, the
//! headers included). A sink reports the first N events of a batch
//! written, so one event too large cannot fail alone: rather than fail the
//! rest of its batch, it is cut. A JSON event stays JSON: its message is
//! cut at a character boundary, and if that is not enough only its
//! timestamp, level and message are kept; `diagnostics` says it was cut
//! (`truncated`, `original_length`). A line that is no JSON object
//! (`--raw`) is cut at a character boundary. Every cut message carries a
//! `Shipper-Truncated: ORIGINAL-LENGTH` header.

use crate::envelope::fields::{Members, Raw, as_str, object_body, parse_object};

/// The header a cut message carries, its value the original length.
pub(super) const TRUNCATED_HEADER: &str = "Shipper-Truncated";

/// Members a cut event keeps when its other members do not fit.
const ESSENTIAL: [&str; 3] = ["timestamp", "level", "message"];

/// An event as it will be published.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Fitted<'a> {
    /// As it is.
    Whole(&'a [u8]),
    /// Cut, from this many bytes.
    Cut(Vec<u8>, usize),
    /// Not even its shortest form fits.
    Hopeless,
}

/// `payload` within `room` bytes (what `max_payload` leaves beside the
/// other headers), the truncation header counted when it is cut.
pub(super) fn fit(payload: &[u8], room: usize) -> Fitted<'_> {
    if payload.len() <= room {
        return Fitted::Whole(payload);
    }
    let original = payload.len();
    let header = TRUNCATED_HEADER.len() + ": \r\n".len() + original.to_string().len();
    let Some(room) = room.checked_sub(header) else {
        return Fitted::Hopeless;
    };
    let members = std::str::from_utf8(payload)
        .ok()
        .and_then(|text| parse_object(text).ok());
    let cut = match members {
        Some(members) => cut_event(&members, original, room),
        None => cut_bytes(payload, room),
    };
    match cut {
        Some(cut) => Fitted::Cut(cut, original),
        None => Fitted::Hopeless,
    }
}

/// The event with its message cut, or with its essential members only.
fn cut_event(members: &Members, original: usize, room: usize) -> Option<Vec<u8>> {
    let message = members
        .iter()
        .find(|(key, _)| key == "message")
        .and_then(|(_, raw)| as_str(*raw))
        .unwrap_or_default();
    for essential_only in [false, true] {
        let mut out = Vec::with_capacity(room);
        let at = write_event(members, original, essential_only, &mut out);
        let Some(left) = room.checked_sub(out.len()) else {
            continue;
        };
        let mut text = Vec::new();
        serde_json::to_writer(&mut text, cut_escaped(&message, left))
            .expect("writing to a Vec cannot fail");
        out.splice(at..at, text);
        return Some(out);
    }
    None
}

/// Writes the event with an empty place for its message (a string, put
/// at the returned offset): every member, or the essential ones only, and
/// in `diagnostics` the flags that it was cut.
fn write_event(
    members: &Members,
    original: usize,
    essential_only: bool,
    out: &mut Vec<u8>,
) -> usize {
    let mut message_at = None;
    let mut has_diagnostics = false;
    out.push(b'{');
    for &(ref key, raw) in members {
        let keep = match key.as_ref() {
            // Only the first: the message has one place.
            "message" => message_at.is_none(),
            "diagnostics" => true,
            other => !essential_only || ESSENTIAL.contains(&other),
        };
        if !keep {
            continue;
        }
        if out.len() > 1 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
        out.push(b':');
        match key.as_ref() {
            "message" => message_at = Some(out.len()),
            "diagnostics" if !essential_only && raw.get().starts_with('{') => {
                has_diagnostics = true;
                write_diagnostics(Some(raw), original, out);
            }
            "diagnostics" => {
                has_diagnostics = true;
                write_diagnostics(None, original, out);
            }
            _ => out.extend_from_slice(raw.get().as_bytes()),
        }
    }
    if message_at.is_none() {
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(b"\"message\":");
        message_at = Some(out.len());
    }
    if !has_diagnostics {
        out.extend_from_slice(b",\"diagnostics\":");
        write_diagnostics(None, original, out);
    }
    out.push(b'}');
    message_at.expect("a place for the message")
}

/// The given diagnostics (if kept) with `truncated` and `original_length`
/// added where absent: a line the envelope cut keeps its own length.
fn write_diagnostics(given: Option<Raw<'_>>, original: usize, out: &mut Vec<u8>) {
    let body = given.map(object_body).unwrap_or_default();
    let has = |key: &str| {
        given
            .and_then(crate::envelope::fields::members)
            .is_some_and(|members| members.iter().any(|(name, _)| name == key))
    };
    out.push(b'{');
    out.extend_from_slice(body.as_bytes());
    let mut flags: Vec<String> = Vec::new();
    if !has("truncated") {
        flags.push("\"truncated\":true".to_owned());
    }
    if !has("original_length") {
        flags.push(format!("\"original_length\":{original}"));
    }
    for flag in flags {
        if out.last() != Some(&b'{') {
            out.push(b',');
        }
        out.extend_from_slice(flag.as_bytes());
    }
    out.push(b'}');
}

/// The longest start of `text` whose JSON string (quotes included) takes
/// at most `room` bytes, ending on a character boundary.
fn cut_escaped(text: &str, room: usize) -> &str {
    let mut used = 2;
    for (at, c) in text.char_indices() {
        used += escaped_len(c);
        if used > room {
            return &text[..at];
        }
    }
    text
}

/// How many bytes serde_json writes for `c` inside a string.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
        c if c < ' ' => 6,
        c => c.len_utf8(),
    }
}

/// The first `room` bytes, not ending inside a UTF-8 character.
fn cut_bytes(payload: &[u8], room: usize) -> Option<Vec<u8>> {
    let mut end = room.min(payload.len());
    let continues = |at: usize| payload.get(at).is_some_and(|b| b & 0xc0 == 0x80);
    let start = end;
    while end > 0 && continues(end) && start - end < 3 {
        end -= 1;
    }
    (end > 0).then(|| payload[..end].to_vec())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn cut(payload: &str, room: usize) -> (Value, usize) {
        match fit(payload.as_bytes(), room) {
            Fitted::Cut(bytes, original) => {
                let header = TRUNCATED_HEADER.len() + 4 + original.to_string().len();
                assert!(bytes.len() + header <= room, "{} > {room}", bytes.len());
                (
                    serde_json::from_slice(&bytes).expect("still JSON"),
                    original,
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_fits_is_left_whole() {
        assert_eq!(
            fit(b"{\"message\":\"m\"}", 100),
            Fitted::Whole(b"{\"message\":\"m\"}")
        );
    }

    #[test]
    fn a_long_message_is_cut_and_the_event_flagged() {
        let long = format!("{}é\"\\\u{1}", "x".repeat(2000));
        let event = serde_json::json!({
            "timestamp": "2025-03-03T08:00:00.000Z",
            "level": "INFO",
            "message": long,
            "logger": "app",
            "diagnostics": {"host": "web-1"},
            "data": {"k": "v"},
        })
        .to_string();
        let (cut, original) = cut(&event, 1000);
        assert_eq!(original, event.len());
        let message = cut["message"].as_str().unwrap();
        assert!(
            message.len() > 700 && long.starts_with(message),
            "{}",
            message.len()
        );
        assert_eq!(cut["diagnostics"]["host"], "web-1");
        assert_eq!(cut["diagnostics"]["truncated"], true);
        assert_eq!(cut["diagnostics"]["original_length"], event.len());
        assert_eq!(cut["data"]["k"], "v");
        assert_eq!(cut["logger"], "app");
    }

    #[test]
    fn escapes_are_counted_as_written() {
        let text = "a\"b\\c\u{1}d\ne\u{7f}fé";
        let written = serde_json::to_string(text).unwrap().len();
        assert_eq!(cut_escaped(text, written), text);
        assert_eq!(cut_escaped(text, written - 1), "a\"b\\c\u{1}d\ne\u{7f}f");
        assert_eq!(cut_escaped(text, 9), "a\"b\\c");
    }

    #[test]
    fn members_too_large_are_left_out_and_essential_ones_kept() {
        let event = serde_json::json!({
            "timestamp": "2025-03-03T08:00:00.000Z",
            "level": "ERROR",
            "message": "short",
            "diagnostics": {"host": "web-1", "truncated": true, "original_length": 9_999_999},
            "data": {"big": "y".repeat(5000)},
        })
        .to_string();
        let (cut, _) = cut(&event, 400);
        assert_eq!(cut["message"], "short");
        assert_eq!(cut["level"], "ERROR");
        assert_eq!(cut["timestamp"], "2025-03-03T08:00:00.000Z");
        assert!(cut.get("data").is_none(), "{cut}");
        assert_eq!(
            cut["diagnostics"],
            serde_json::json!({"truncated": true, "original_length": event.len()})
        );
    }

    #[test]
    fn an_event_the_envelope_cut_keeps_its_own_flags() {
        let event = format!(
            r#"{{"message":"{}","diagnostics":{{"truncated":true,"original_length":5000000}}}}"#,
            "z".repeat(3000)
        );
        let (cut, _) = cut(&event, 1000);
        assert_eq!(cut["diagnostics"]["original_length"], 5_000_000);
        assert_eq!(cut["diagnostics"]["truncated"], true);
    }

    #[test]
    fn a_line_that_is_no_event_is_cut_on_a_character_boundary() {
        let line = "é".repeat(100);
        let Fitted::Cut(bytes, 200) = fit(line.as_bytes(), 60) else {
            panic!("cut");
        };
        let header = TRUNCATED_HEADER.len() + 4 + 3;
        assert_eq!(bytes.len(), (60 - header) / 2 * 2);
        assert!(std::str::from_utf8(&bytes).is_ok());
    }

    #[test]
    fn what_cannot_fit_at_all_is_hopeless() {
        let event = format!(r#"{{"message":"{}"}}"#, "x".repeat(100));
        assert_eq!(fit(event.as_bytes(), 30), Fitted::Hopeless);
        assert_eq!(fit(&[b'x'; 100], 10), Fitted::Hopeless);
    }
}
