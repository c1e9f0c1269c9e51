//! The user's own rules for which events ship (`--min-level`, `--include`,
//! `--exclude`, `--sample`, `--rate-limit`), and the count of the events
//! they set aside, by reason. Filtered is not dropped: an event set aside
//! was not lost against anyone's wish, so it never makes the exit status 3.

mod reasons;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use regex::RegexSet;

use crate::level::Level;
pub(crate) use reasons::{FilterReason, Filtered};

/// The filters a run applies, as the flags gave them.
#[derive(Debug, Clone, Default)]
pub(crate) struct FilterConfig {
    /// Events below this level are set aside.
    pub min_level: Option<Level>,
    /// An event ships only if its message matches one of these (if any).
    pub include: Option<RegexSet>,
    /// An event whose message matches one of these is set aside.
    pub exclude: Option<RegexSet>,
    /// Keep one event in this many, per source.
    pub sample: Option<u64>,
    /// Most events a second, per source, with a burst of as many.
    pub rate_limit: Option<u32>,
}

impl FilterConfig {
    /// Whether any filter is set: without one, nothing is looked at.
    pub(crate) fn is_active(&self) -> bool {
        self.min_level.is_some()
            || self.include.is_some()
            || self.exclude.is_some()
            || self.sample.is_some()
            || self.rate_limit.is_some()
    }

    /// Whether the filters read the message.
    pub(crate) fn reads_message(&self) -> bool {
        self.include.is_some() || self.exclude.is_some()
    }
}

/// A source unheard of for this long is forgotten even in the middle of
/// a sampling round: its next event starts a new round (ships).
const IDLE_FORGET: Duration = Duration::from_secs(600);

/// Most sources remembered at once: past it, those heard of least
/// recently are forgotten first.
const MOST_SOURCES: usize = 16_384;

/// The fewest sources remembered before a sweep looks for ones to forget.
const FIRST_SWEEP: usize = 64;

/// Applies the filters, event by event, keeping each source's count for
/// sampling and its bucket for the rate limit.
#[derive(Debug)]
pub(crate) struct Filter {
    config: FilterConfig,
    sources: HashMap<String, SourceState>,
    /// How many sources may be remembered before the next sweep: twice
    /// what the last one kept, so sweeping costs O(1) an event.
    sweep_at: usize,
    /// When the last sweep ran: an idle run sweeps at least this often.
    swept: Option<Instant>,
    /// Events seen so far: tells which of two sources was heard of last.
    events: u64,
}

/// What the sampling and the rate limit remember of one source.
#[derive(Debug)]
struct SourceState {
    /// Events that reached sampling so far.
    seen: u64,
    /// Events the bucket still allows now (a burst of the rate at most).
    tokens: f64,
    /// When the bucket was last filled.
    filled: Instant,
    /// When the source last sent an event.
    used: Instant,
    /// The filter's event count then.
    last_event: u64,
}

impl Filter {
    pub(crate) fn new(config: FilterConfig) -> Filter {
        Filter {
            config,
            sources: HashMap::new(),
            sweep_at: FIRST_SWEEP,
            swept: None,
            events: 0,
        }
    }

    pub(crate) fn config(&self) -> &FilterConfig {
        &self.config
    }

    /// Why the event from `source`, at `level`, with `message`, is set
    /// aside; `None` when it ships. `message` is read only when an include
    /// or exclude pattern needs it.
    pub(crate) fn check(
        &mut self,
        level: Level,
        message: impl FnOnce() -> String,
        source: &str,
        now: impl FnOnce() -> Instant,
    ) -> Option<FilterReason> {
        let config = &self.config;
        if config.min_level.is_some_and(|min| level < min) {
            return Some(FilterReason::Level);
        }
        if config.reads_message() {
            let message = message();
            if config
                .include
                .as_ref()
                .is_some_and(|include| !include.is_match(&message))
            {
                return Some(FilterReason::Include);
            }
            if config
                .exclude
                .as_ref()
                .is_some_and(|exclude| exclude.is_match(&message))
            {
                return Some(FilterReason::Exclude);
            }
        }
        if config.sample.is_none() && config.rate_limit.is_none() {
            return None;
        }
        let (sample, rate) = (config.sample, config.rate_limit);
        let now = now();
        let state = self.state(source, now);
        if let Some(every) = sample {
            state.seen += 1;
            // The first of every `every` events ships: deterministic.
            if !(state.seen - 1).is_multiple_of(every) {
                return Some(FilterReason::Sample);
            }
        }
        if let Some(rate) = rate
            && !state.take_token(rate, now)
        {
            return Some(FilterReason::RateLimit);
        }
        None
    }

    fn state(&mut self, source: &str, now: Instant) -> &mut SourceState {
        if !self.sources.contains_key(source) {
            self.sweep(now);
            let burst = f64::from(self.config.rate_limit.unwrap_or(0));
            self.sources.insert(
                source.to_owned(),
                SourceState {
                    seen: 0,
                    tokens: burst,
                    filled: now,
                    used: now,
                    last_event: 0,
                },
            );
        }
        self.events += 1;
        let state = self.sources.get_mut(source).expect("inserted above");
        state.used = now;
        state.last_event = self.events;
        state
    }

    /// Before a new source is remembered, when there are many or a while
    /// has passed: forgets each source whose state a new one would equal
    /// (at the start of a sampling round, its bucket full again), so
    /// forgetting changes nothing; then those idle past `IDLE_FORGET`; then,
    /// past `MOST_SOURCES`, the least recently heard of.
    fn sweep(&mut self, now: Instant) {
        let due = self
            .swept
            .is_none_or(|swept| now.saturating_duration_since(swept) >= IDLE_FORGET);
        if self.sources.len() < self.sweep_at && !due {
            return;
        }
        self.swept = Some(now);
        let (sample, rate) = (self.config.sample, self.config.rate_limit);
        self.sources.retain(|_, state| {
            !state.as_new(sample, rate, now)
                && now.saturating_duration_since(state.used) < IDLE_FORGET
        });
        if self.sources.len() >= MOST_SOURCES {
            let mut last: Vec<u64> = self
                .sources
                .values()
                .map(|state| state.last_event)
                .collect();
            last.sort_unstable();
            let keep_from = last[self.sources.len() - MOST_SOURCES / 2];
            self.sources
                .retain(|_, state| state.last_event >= keep_from);
        }
        self.sweep_at = (2 * self.sources.len()).max(FIRST_SWEEP);
    }
}

impl SourceState {
    /// Whether a source seen for the first time at `now` would behave as
    /// this one: its next event starts a sampling round, and its bucket
    /// has refilled to a whole burst.
    fn as_new(&self, sample: Option<u64>, rate: Option<u32>, now: Instant) -> bool {
        let round_start = sample.is_none_or(|every| self.seen.is_multiple_of(every));
        let refilled = rate.is_none_or(|rate| {
            let elapsed = now.saturating_duration_since(self.filled).as_secs_f64();
            self.tokens + elapsed * f64::from(rate) >= f64::from(rate)
        });
        round_start && refilled
    }

    /// Refills the bucket for the time since it was last filled (never
    /// past a burst of `rate`), then takes one event's token if there is
    /// one.
    fn take_token(&mut self, rate: u32, now: Instant) -> bool {
        let rate = f64::from(rate);
        let elapsed = now.saturating_duration_since(self.filled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.filled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn filter(config: FilterConfig) -> Filter {
        Filter::new(config)
    }

    fn set(patterns: &[&str]) -> Option<RegexSet> {
        Some(RegexSet::new(patterns).unwrap())
    }

    #[test]
    fn the_first_rule_that_sets_an_event_aside_is_its_reason() {
        let mut filter = filter(FilterConfig {
            min_level: Some(Level::Info),
            include: set(&["login", "logout"]),
            exclude: set(&["health"]),
            ..FilterConfig::default()
        });
        let now = Instant::now();
        let mut check = |level, message: &str| filter.check(level, || message.into(), "s", || now);
        assert_eq!(check(Level::Debug, "login"), Some(FilterReason::Level));
        assert_eq!(check(Level::Info, "started"), Some(FilterReason::Include));
        assert_eq!(
            check(Level::Error, "login health"),
            Some(FilterReason::Exclude)
        );
        assert_eq!(check(Level::Warning, "logout"), None);
    }

    #[test]
    fn sampling_keeps_the_first_of_every_n_per_source() {
        let mut filter = filter(FilterConfig {
            sample: Some(3),
            ..FilterConfig::default()
        });
        let now = Instant::now();
        let kept = |filter: &mut Filter, source| {
            (0..9)
                .filter(|_| {
                    filter
                        .check(Level::Info, String::new, source, || now)
                        .is_none()
                })
                .count()
        };
        assert_eq!(kept(&mut filter, "a"), 3);
        assert_eq!(kept(&mut filter, "b"), 3, "each source samples apart");
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_the_rate() {
        let mut filter = filter(FilterConfig {
            rate_limit: Some(4),
            ..FilterConfig::default()
        });
        let start = Instant::now();
        let mut shipped = |at: Instant, source| {
            (0..10)
                .filter(|_| {
                    filter
                        .check(Level::Info, String::new, source, || at)
                        .is_none()
                })
                .count()
        };
        assert_eq!(shipped(start, "a"), 4, "a burst of the rate");
        assert_eq!(shipped(start, "b"), 4, "each source has its own bucket");
        assert_eq!(shipped(start + Duration::from_millis(500), "a"), 2);
        assert_eq!(
            shipped(start + Duration::from_secs(60), "a"),
            4,
            "never more than a burst"
        );
    }

    /// Which of `events` (source, seconds since `start`) `filter` ships.
    fn shipped(filter: &mut Filter, start: Instant, events: &[(String, u64)]) -> Vec<bool> {
        events
            .iter()
            .map(|(source, at)| {
                let now = start + Duration::from_secs(*at);
                filter
                    .check(Level::Info, String::new, source, || now)
                    .is_none()
            })
            .collect()
    }

    #[test]
    fn many_short_lived_sources_are_forgotten() {
        let mut filter = filter(FilterConfig {
            sample: Some(3),
            rate_limit: Some(100),
            ..FilterConfig::default()
        });
        let start = Instant::now();
        // Each file sends one event and is never heard of again: each
        // stays in the middle of its sampling round. Ten files a second:
        // 6,000 heard of within the idle limit at any time.
        let once: Vec<(String, u64)> = (0..50_000)
            .map(|n| (format!("/var/log/job-{n}.log"), n / 10))
            .collect();
        shipped(&mut filter, start, &once);
        assert!(
            filter.sources.len() <= 2 * 6_000 + FIRST_SWEEP,
            "{}",
            filter.sources.len()
        );
        let later = [("/var/log/new.log".to_owned(), 10_000)];
        shipped(&mut filter, start, &later);
        assert_eq!(filter.sources.len(), 1, "all idle past the limit");
    }

    #[test]
    fn the_number_of_sources_remembered_is_bounded() {
        let mut filter = filter(FilterConfig {
            sample: Some(2),
            ..FilterConfig::default()
        });
        let start = Instant::now();
        let burst: Vec<(String, u64)> = (0..3 * MOST_SOURCES)
            .map(|n| (format!("s{n}"), 0))
            .collect();
        shipped(&mut filter, start, &burst);
        assert!(
            filter.sources.len() <= MOST_SOURCES,
            "{}",
            filter.sources.len()
        );
    }

    #[test]
    fn forgetting_sources_never_changes_what_is_sampled() {
        let config = FilterConfig {
            sample: Some(4),
            rate_limit: Some(1_000),
            ..FilterConfig::default()
        };
        let start = Instant::now();
        // Files that come and go, most sending whole sampling rounds, some
        // not, beside one that never stops.
        let mut events = Vec::new();
        for file in 0..2_000u64 {
            for event in 0..(4 + file % 3 / 2) {
                events.push((format!("f{file}"), file));
                if event % 2 == 0 {
                    events.push(("steady".to_owned(), file));
                }
            }
        }
        let mut pruned = filter(config.clone());
        let mut kept = filter(config);
        kept.sweep_at = usize::MAX;
        kept.swept = Some(start + Duration::from_secs(1_000_000));
        assert_eq!(
            shipped(&mut pruned, start, &events),
            shipped(&mut kept, start, &events)
        );
        assert!(
            pruned.sources.len() < kept.sources.len(),
            "{} {}",
            pruned.sources.len(),
            kept.sources.len()
        );
    }

    #[test]
    fn no_filter_reads_nothing() {
        let mut filter = filter(FilterConfig::default());
        assert!(!filter.config().is_active());
        let reason = filter.check(
            Level::Debug,
            || panic!("the message is not read"),
            "s",
            Instant::now,
        );
        assert_eq!(reason, None);
    }
}
