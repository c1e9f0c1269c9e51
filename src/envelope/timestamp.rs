//! Timestamps: read from RFC 3339 text or epoch numbers, written as RFC 3339
//! UTC with milliseconds (`2024-05-01T12:00:00.123Z`).

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::dates::{Civil, Clock, clock_time, digits};
use super::fields::{Raw, as_str};

/// Length of `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) const TEXT_LEN: usize = 24;

/// A JSON timestamp value written as `YYYY-MM-DDTHH:MM:SS.mmmZ`. Text
/// already in that form (what fapilog writes) is checked and kept as it
/// is, without a round trip through a date type. (The encoder reads with
/// `read` and formats as it writes.)
#[cfg(test)]
pub(crate) fn normalise(raw: Raw<'_>) -> Option<[u8; TEXT_LEN]> {
    match read(raw)? {
        Time::Text(text) => Some(text),
        Time::Millis(ms) => Some(format(ms)),
    }
}

/// A JSON timestamp value, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Time {
    /// Written as the envelope writes it already: copied as it is.
    Text([u8; TEXT_LEN]),
    /// Any other form, in milliseconds since the epoch: the writer
    /// formats it, from the second it formatted last (the lines of a log
    /// share their second).
    Millis(i64),
}

/// A JSON timestamp value as `normalise` reads it, not yet formatted.
pub(crate) fn read(raw: Raw<'_>) -> Option<Time> {
    let text = raw.get().as_bytes();
    if let [b'"', inner @ .., b'"'] = text
        && let Ok(canonical) = <[u8; TEXT_LEN]>::try_from(inner)
        && is_canonical(&canonical)
    {
        return Some(Time::Text(canonical));
    }
    parse(raw).map(Time::Millis)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` with every field in range.
fn is_canonical(text: &[u8; TEXT_LEN]) -> bool {
    let shape = text.iter().enumerate().all(|(i, &byte)| match i {
        4 | 7 => byte == b'-',
        10 => byte == b'T',
        13 | 16 => byte == b':',
        19 => byte == b'.',
        23 => byte == b'Z',
        _ => byte.is_ascii_digit(),
    });
    if !shape {
        return false;
    }
    let number = |range: std::ops::Range<usize>| {
        text[range]
            .iter()
            .fold(0u32, |n, &digit| n * 10 + u32::from(digit - b'0'))
    };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
        && number(11..13) < 24
        && number(14..16) < 60
        && number(17..19) < 60
}

/// Milliseconds since the Unix epoch of a JSON timestamp value: an RFC 3339
/// string, or an epoch number (or numeric string) in seconds, milliseconds,
/// microseconds or nanoseconds, told apart by magnitude.
pub(crate) fn parse(raw: Raw<'_>) -> Option<i64> {
    let text = raw.get();
    if text.starts_with('"') {
        return parse_text(&as_str(raw)?);
    }
    from_epoch(text.parse::<f64>().ok()?)
}

/// Milliseconds since the Unix epoch of a timestamp written as text, not
/// JSON (a logfmt value): RFC 3339, or an epoch number as `parse` reads
/// one.
pub(crate) fn parse_text(text: &str) -> Option<i64> {
    if let Some(ms) = usual_rfc3339(text) {
        return Some(ms);
    }
    match text.parse::<f64>() {
        Ok(number) => from_epoch(number),
        Err(_) => parse_rfc3339(text),
    }
}

/// RFC 3339 in the form loggers write it, read without the time crate's
/// parser (which costs several hundred instructions a line): a date, `T`,
/// `t` or a space, `hh:mm:ss`, a `.` and one to nine digits of fraction
/// or none, then `Z`, `z` or `+hh:mm`/`-hh:mm`. `None` for anything else
/// (the time crate then reads it), and for a value out of range.
fn usual_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes[19] == b',' {
        return None;
    }
    let date = (
        digits(bytes, 0, 4)? as i32,
        digits(bytes, 5, 2)?,
        digits(bytes, 8, 2)?,
    );
    let (time, at) = clock_time(bytes, 11)?;
    if at - 19 > 10 {
        return None;
    }
    let offset = match &bytes[at..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (digits(&[*h1, *h2], 0, 2)?, digits(&[*m1, *m2], 0, 2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = (hours * 3600 + minutes * 60) as i32;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    Clock::offset_ms(Civil::on(date, time), offset).filter(|&ms| in_range(ms))
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    // RFC 3339 lets a space stand for the `T`.
    let parsed = match text.as_bytes().get(10) {
        Some(b' ') => {
            let mut fixed = text.to_owned();
            fixed.replace_range(10..11, "T");
            OffsetDateTime::parse(&fixed, &Rfc3339)
        }
        _ => OffsetDateTime::parse(text, &Rfc3339),
    };
    let nanos = parsed.ok()?.unix_timestamp_nanos();
    i64::try_from(nanos.div_euclid(1_000_000))
        .ok()
        .filter(|&ms| in_range(ms))
}

fn from_epoch(number: f64) -> Option<i64> {
    if !number.is_finite() {
        return None;
    }
    let magnitude = number.abs();
    let ms = if magnitude < 1e11 {
        number * 1e3
    } else if magnitude < 1e14 {
        number
    } else if magnitude < 1e17 {
        number / 1e3
    } else {
        number / 1e6
    };
    Some(ms.floor() as i64).filter(|&ms| in_range(ms))
}

/// Years 0000 to 9999: what the text form can hold.
fn in_range(ms: i64) -> bool {
    const YEAR_0: i64 = -62_167_219_200_000;
    const YEAR_10000: i64 = 253_402_300_800_000;
    (YEAR_0..YEAR_10000).contains(&ms)
}

pub(crate) fn millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_millis() as i64,
        Err(before) => -(before.duration().as_millis() as i64),
    }
}

/// `time` as RFC 3339 in UTC with milliseconds, as the envelope writes
/// timestamps: `2026-12-01T01:02:03.456Z`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    String::from_utf8_lossy(&format(millis(time))).into_owned()
}

/// Writes `ms` as `YYYY-MM-DDTHH:MM:SS.mmmZ`; `ms` must be in range.
pub(crate) fn format(ms: i64) -> [u8; TEXT_LEN] {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let mut text = *b"0000-00-00T00:00:00.000Z";
    put_digits(&mut text[0..4], year as u64);
    put_digits(&mut text[5..7], month as u64);
    put_digits(&mut text[8..10], day as u64);
    put_digits(&mut text[11..13], (in_day / 3_600_000) as u64);
    put_digits(&mut text[14..16], (in_day / 60_000 % 60) as u64);
    put_digits(&mut text[17..19], (in_day / 1000 % 60) as u64);
    put_digits(&mut text[20..23], (in_day % 1000) as u64);
    text
}

fn put_digits(slot: &mut [u8], mut value: u64) {
    for digit in slot.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day);
/// Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The quick reader of the usual RFC 3339 form reads what the time
        /// crate reads, to the millisecond, and refuses what it refuses.
        #[test]
        fn the_usual_rfc3339_form_reads_as_the_time_crate_reads_it(
            year in 0u32..10000, month in 0u32..14, day in 0u32..33,
            hour in 0u32..26, minute in 0u32..62, second in 0u32..62,
            fraction in proptest::option::of("[0-9]{1,11}"),
            separator in prop_oneof![Just('T'), Just('t'), Just(' ')],
            zone in prop_oneof![
                Just("Z".to_owned()), Just("z".to_owned()),
                (0u32..26, 0u32..62, any::<bool>()).prop_map(|(h, m, east)| {
                    format!("{}{h:02}:{m:02}", if east { '+' } else { '-' })
                }),
            ],
        ) {
            let fraction = fraction.map(|digits| format!(".{digits}")).unwrap_or_default();
            let text = format!(
                "{year:04}-{month:02}-{day:02}{separator}{hour:02}:{minute:02}:{second:02}{fraction}{zone}"
            );
            if let Some(quick) = usual_rfc3339(&text) {
                prop_assert_eq!(Some(quick), parse_rfc3339(&text), "{}", text);
            }
            prop_assert_eq!(parse_text(&text), parse_rfc3339(&text), "{}", text);
        }
    }

    fn raw(json: &str) -> Raw<'_> {
        serde_json::from_str::<&serde_json::value::RawValue>(json).unwrap();
        Raw(json)
    }

    fn normalised(json: &str) -> Option<String> {
        normalise(raw(json)).map(|text| String::from_utf8(text.to_vec()).unwrap())
    }

    #[test]
    fn rfc3339_is_written_in_utc_with_milliseconds() {
        assert_eq!(
            normalised(r#""2024-05-01T12:00:00.123Z""#).as_deref(),
            Some("2024-05-01T12:00:00.123Z")
        );
        assert_eq!(
            normalised(r#""2024-05-01T14:00:00.5+02:00""#).as_deref(),
            Some("2024-05-01T12:00:00.500Z")
        );
        assert_eq!(
            normalised(r#""2024-05-01 12:00:00.123456Z""#).as_deref(),
            Some("2024-05-01T12:00:00.123Z")
        );
    }

    #[test]
    fn epoch_numbers_are_told_apart_by_magnitude() {
        let want = Some("2024-05-01T12:00:00.000Z");
        assert_eq!(normalised("1714564800").as_deref(), want);
        assert_eq!(normalised("1714564800000").as_deref(), want);
        assert_eq!(normalised("1714564800000000").as_deref(), want);
        assert_eq!(normalised("1714564800000000000").as_deref(), want);
        assert_eq!(normalised(r#""1714564800""#).as_deref(), want);
        assert_eq!(
            normalised("1714564800.25").as_deref(),
            Some("2024-05-01T12:00:00.250Z")
        );
    }

    #[test]
    fn nonsense_is_not_a_timestamp() {
        for bad in [
            r#""yesterday""#,
            r#""2024-13-01T00:00:00Z""#,
            "true",
            "{}",
            "[]",
            "null",
            r#""""#,
        ] {
            assert_eq!(parse(raw(bad)), None, "{bad}");
        }
    }

    #[test]
    fn text_reads_as_a_json_string_does() {
        for text in [
            "2024-05-01T14:00:00.5+02:00",
            "1714564800.5",
            "1714564800500",
        ] {
            assert_eq!(
                parse_text(text),
                parse(raw(&format!("\"{text}\""))),
                "{text}"
            );
        }
        assert_eq!(parse_text("2024-05-01T12:00:00Z"), Some(1_714_564_800_000));
        assert_eq!(parse_text("yesterday"), None);
        assert_eq!(parse_text("NaN"), None);
        assert_eq!(parse_text(""), None);
    }

    #[test]
    fn dates_before_the_epoch_format() {
        assert_eq!(&format(-1), b"1969-12-31T23:59:59.999Z");
        assert_eq!(&format(0), b"1970-01-01T00:00:00.000Z");
    }

    proptest! {
        #[test]
        fn format_agrees_with_the_time_crate(ms in -62_167_219_200_000i64..253_402_300_799_999) {
            let expected = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
            let ours = String::from_utf8(format(ms).to_vec()).unwrap();
            let back = OffsetDateTime::parse(&ours, &Rfc3339).unwrap();
            prop_assert_eq!(back, expected);
        }
    }
}
