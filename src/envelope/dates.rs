//! Dates as log lines write them, turned into milliseconds since the Unix
//! epoch: month names, a time without a zone taken as local time (`TZ`),
//! and a date without a year given the year that puts it closest before
//! now.

use std::cell::Cell;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// The local time zone and the time now, for the dates of one batch of
/// lines (the zone is read once).
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    zone: TimeZone,
    /// Milliseconds since the epoch: "now", for dates without a year.
    now_ms: i64,
    /// The last local minute read, and its start in UTC milliseconds: the
    /// lines of a log share their minute, and the zone's rules are then
    /// looked up once a minute rather than once a line. (Zones change
    /// their offset on a minute's boundary.)
    minute: Cell<(i64, i64)>,
}

/// A date and time as a line wrote it, fields unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millisecond: u32,
}

impl Clock {
    /// The system's zone (`TZ`, else /etc/localtime, else UTC).
    pub(crate) fn local(now_ms: i64) -> Clock {
        Clock {
            zone: TimeZone::system(),
            now_ms,
            minute: Cell::new((i64::MIN, 0)),
        }
    }

    /// A clock in `zone`: one read once a run, not once a line.
    pub(crate) fn in_zone(zone: TimeZone, now_ms: i64) -> Clock {
        Clock {
            zone,
            now_ms,
            minute: Cell::new((i64::MIN, 0)),
        }
    }

    /// A clock in a fixed zone, `offset_seconds` east of UTC: for tests.
    #[cfg(test)]
    pub(crate) fn fixed(offset_seconds: i32, now_ms: i64) -> Clock {
        Clock {
            zone: TimeZone::fixed(
                jiff::tz::Offset::from_seconds(offset_seconds).expect("an offset in range"),
            ),
            now_ms,
            minute: Cell::new((i64::MIN, 0)),
        }
    }

    /// Moves "now" on (a new batch of lines).
    pub(crate) fn set_now(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
    }

    /// `civil` in the local zone; `None` when a field is out of range. A
    /// time skipped by a DST change reads as the one after the gap, a
    /// repeated one as its first occurrence.
    pub(crate) fn local_ms(&self, civil: Civil) -> Option<i64> {
        let days = civil.days()?;
        let key = (days * 24 + i64::from(civil.hour)) * 60 + i64::from(civil.minute);
        let within = i64::from(civil.second) * 1000 + i64::from(civil.millisecond);
        let (known, start) = self.minute.get();
        if known == key {
            return Some(start + within);
        }
        let minute = Civil {
            second: 0,
            millisecond: 0,
            ..civil
        };
        let start = self
            .zone
            .to_timestamp(minute.to_datetime()?)
            .ok()?
            .as_millisecond();
        self.minute.set((key, start));
        Some(start + within)
    }

    /// `civil` at `offset_seconds` east of UTC (a zone the line wrote).
    pub(crate) fn offset_ms(civil: Civil, offset_seconds: i32) -> Option<i64> {
        let days = civil.days()?;
        let seconds = ((days * 24 + i64::from(civil.hour)) * 60 + i64::from(civil.minute)) * 60
            + i64::from(civil.second)
            - i64::from(offset_seconds);
        Some(seconds * 1000 + i64::from(civil.millisecond))
    }

    /// A date without a year (`Oct 11 22:14:15`, local time): the year
    /// that puts it closest before now (February 29th: the last leap year), allowing it a day ahead of now for
    /// clocks a little apart (so late December read in early January is
    /// last year's, and early January read in late December next year's
    /// only when it is less than a day ahead).
    pub(crate) fn yearless_ms(&self, civil: Civil) -> Option<i64> {
        const DAY_MS: i64 = 86_400_000;
        let now_year = jiff::Timestamp::from_millisecond(self.now_ms)
            .ok()?
            .to_zoned(self.zone.clone())
            .year() as i32;
        // Down to four years back, for February 29th.
        (now_year - 4..=now_year + 1)
            .rev()
            .filter_map(|year| self.local_ms(Civil { year, ..civil }))
            .find(|&ms| ms <= self.now_ms + DAY_MS)
    }
}

impl Civil {
    /// Days from 1970-01-01 to the date, with every field checked (years 1
    /// to 9999, the time of day included); `None` when one is out of range.
    fn days(self) -> Option<i64> {
        let leap = self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0);
        let month_days = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        let fits = (1..=9999).contains(&self.year)
            && (1..=month_days).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
            && self.millisecond < 1000;
        if !fits {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year =
            (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        Some(era * 146_097 + day_of_era - 719_468)
    }

    fn to_datetime(self) -> Option<DateTime> {
        self.days()?;
        let small = |value: u32| i8::try_from(value).ok();
        DateTime::new(
            i16::try_from(self.year).ok()?,
            small(self.month)?,
            small(self.day)?,
            small(self.hour)?,
            small(self.minute)?,
            small(self.second)?,
            i32::try_from(self.millisecond * 1_000_000).ok()?,
        )
        .ok()
    }
}

/// The number of a month named by its English abbreviation or full name,
/// in any case (`Oct`, `october`): 1 to 12.
pub(crate) fn month(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let position = |names: &[&str; 12]| {
        names
            .iter()
            .position(|known| known.eq_ignore_ascii_case(name))
    };
    position(&MONTHS)
        .or_else(|| position(&FULL))
        .or_else(|| name.eq_ignore_ascii_case("sept").then_some(8))
        .map(|index| index as u32 + 1)
}

/// Digits at `at`, exactly `count` of them.
pub(super) fn digits(bytes: &[u8], at: usize, count: usize) -> Option<u32> {
    let field = bytes.get(at..at + count)?;
    field.iter().try_fold(0u32, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

/// A time of day as a line wrote it, fields unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Time {
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millisecond: u32,
}

impl Civil {
    /// The date `(year, month, day)` at `time`.
    pub(super) fn on((year, month, day): (i32, u32, u32), time: Time) -> Civil {
        Civil {
            year,
            month,
            day,
            hour: time.hour,
            minute: time.minute,
            second: time.second,
            millisecond: time.millisecond,
        }
    }
}

/// `HH:MM:SS` at `at`, then an optional `.fff` or `,fff` (any number of
/// digits, milliseconds kept): the time and where it ends.
pub(super) fn clock_time(bytes: &[u8], at: usize) -> Option<(Time, usize)> {
    let hour = digits(bytes, at, 2)?;
    let minute = (bytes.get(at + 2) == Some(&b':')).then(|| digits(bytes, at + 3, 2))??;
    let second = (bytes.get(at + 5) == Some(&b':')).then(|| digits(bytes, at + 6, 2))??;
    let mut end = at + 8;
    let mut millisecond = 0;
    if matches!(bytes.get(end), Some(b'.' | b','))
        && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
    {
        end += 1;
        let start = end;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let fraction = &bytes[start..end.min(start + 3)];
        millisecond = fraction
            .iter()
            .fold(0, |value, &byte| value * 10 + u32::from(byte - b'0'))
            * 10u32.pow(3 - fraction.len() as u32);
    }
    let time = Time {
        hour,
        minute,
        second,
        millisecond,
    };
    Some((time, end))
}

/// A zone after a time: `Z`, `+HH:MM`, `+HHMM`, `+HH` (or `-`), possibly
/// after a space: seconds east of UTC, and where it ends.
pub(super) fn zone(bytes: &[u8], at: usize) -> Option<(i32, usize)> {
    let at = if bytes.get(at) == Some(&b' ') && matches!(bytes.get(at + 1), Some(b'+' | b'-')) {
        at + 1
    } else {
        at
    };
    match bytes.get(at)? {
        b'Z' => Some((0, at + 1)),
        sign @ (b'+' | b'-') => {
            let hours = digits(bytes, at + 1, 2)? as i32;
            let (minutes, end) = match bytes.get(at + 3) {
                Some(b':') => (digits(bytes, at + 4, 2)? as i32, at + 6),
                Some(b'0'..=b'9') => (digits(bytes, at + 3, 2)? as i32, at + 5),
                _ => (0, at + 3),
            };
            let seconds = hours * 3600 + minutes * 60;
            Some((if *sign == b'-' { -seconds } else { seconds }, end))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: i64 = 3_600_000;

    fn civil(year: i32, month: u32, day: u32, hour: u32) -> Civil {
        Civil {
            year,
            month,
            day,
            hour,
            minute: 0,
            second: 0,
            millisecond: 0,
        }
    }

    /// 2026-11-30T18:00:00Z.
    const NOW: i64 = 1_796_061_600_000;

    #[test]
    fn local_time_is_read_in_the_zone() {
        let utc = Clock::fixed(0, NOW);
        assert_eq!(utc.local_ms(civil(2026, 11, 30, 18)), Some(NOW));
        let paris = Clock::fixed(3600, NOW);
        assert_eq!(paris.local_ms(civil(2026, 11, 30, 19)), Some(NOW));
        assert_eq!(
            Clock::offset_ms(civil(2026, 11, 30, 13), -5 * 3600),
            Some(NOW)
        );
        assert_eq!(utc.local_ms(civil(2026, 2, 30, 0)), None);
        assert_eq!(utc.local_ms(civil(2026, 13, 1, 0)), None);
        assert_eq!(
            utc.local_ms(Civil {
                hour: 24,
                ..civil(2026, 1, 1, 0)
            }),
            None
        );
    }

    #[test]
    fn a_date_without_a_year_is_the_latest_before_now() {
        let clock = Clock::fixed(0, NOW);
        // Earlier this year.
        assert_eq!(
            clock.yearless_ms(civil(0, 10, 11, 22)),
            clock.local_ms(civil(2026, 10, 11, 22))
        );
        // Later in the year than now: last year's.
        assert_eq!(
            clock.yearless_ms(civil(0, 12, 25, 0)),
            clock.local_ms(civil(2025, 12, 25, 0))
        );
        // A few hours ahead: a clock a little fast, this year's.
        assert_eq!(
            clock.yearless_ms(civil(0, 11, 30, 21)),
            Some(NOW + 3 * HOUR_MS)
        );
        // Late December read in early January.
        let january = Clock::fixed(0, clock.local_ms(civil(2027, 1, 2, 0)).unwrap());
        assert_eq!(
            january.yearless_ms(civil(0, 12, 31, 23)),
            clock.local_ms(civil(2026, 12, 31, 23))
        );
        // February 29th, in the leap year before a year without one.
        let march = Clock::fixed(0, clock.local_ms(civil(2029, 3, 1, 0)).unwrap());
        assert_eq!(
            march.yearless_ms(civil(0, 2, 29, 12)),
            clock.local_ms(civil(2028, 2, 29, 12))
        );
    }

    #[test]
    fn days_agree_with_the_zone_rules() {
        let utc = Clock::fixed(0, NOW);
        for (year, month, day) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2026, 11, 30),
            (1900, 1, 1),
            (9999, 12, 30),
            (1969, 12, 31),
        ] {
            let civil = Civil {
                year,
                month,
                day,
                hour: 13,
                minute: 7,
                second: 9,
                millisecond: 5,
            };
            let by_zone = utc
                .zone
                .to_timestamp(civil.to_datetime().unwrap())
                .unwrap()
                .as_millisecond();
            assert_eq!(Clock::offset_ms(civil, 0), Some(by_zone), "{civil:?}");
            assert_eq!(utc.local_ms(civil), Some(by_zone), "{civil:?}");
        }
        assert_eq!(Clock::offset_ms(civil(2026, 2, 29, 0), 0), None);
        assert_eq!(Clock::offset_ms(civil(2026, 11, 31, 0), 0), None);
    }

    #[test]
    fn the_minute_remembered_is_the_one_asked_for() {
        let clock = Clock::fixed(3600, NOW);
        let first = clock.local_ms(civil(2026, 11, 30, 19)).unwrap();
        let later = Civil {
            second: 30,
            millisecond: 250,
            ..civil(2026, 11, 30, 19)
        };
        assert_eq!(clock.local_ms(later), Some(first + 30_250));
        let next_day = clock.local_ms(civil(2026, 12, 1, 19)).unwrap();
        assert_eq!(next_day - first, 86_400_000);
    }

    #[test]
    fn months_are_named_in_english() {
        assert_eq!(month("Oct"), Some(10));
        assert_eq!(month("JAN"), Some(1));
        assert_eq!(month("september"), Some(9));
        assert_eq!(month("Sept"), Some(9));
        assert_eq!(month("Okt"), None);
    }
}
