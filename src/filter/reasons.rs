//! The one list of reasons an event is filtered, and the count of filtered
//! events by reason, reported the way dropped events are: every reason a
//! key, in the list's order, zero or not.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Why the user's own rules set an event aside. Each has exactly one: the
/// first rule, in this order, that refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterReason {
    /// Below `--min-level`.
    Level,
    /// Its message matched no `--include` pattern.
    Include,
    /// Its message matched an `--exclude` pattern.
    Exclude,
    /// Not the one kept of every `--sample` events.
    Sample,
    /// Over its source's `--rate-limit`.
    RateLimit,
}

impl FilterReason {
    /// Every reason, in the order every output lists them.
    pub(crate) const ALL: [FilterReason; 5] = [
        FilterReason::Level,
        FilterReason::Include,
        FilterReason::Exclude,
        FilterReason::Sample,
        FilterReason::RateLimit,
    ];

    /// The name the reason is reported under: a key of the summary's
    /// `filtered_by_reason`, a `reason` label on `/metrics`.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            FilterReason::Level => "level",
            FilterReason::Include => "include",
            FilterReason::Exclude => "exclude",
            FilterReason::Sample => "sample",
            FilterReason::RateLimit => "rate_limit",
        }
    }
}

/// Filtered events, counted by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Filtered([u64; FilterReason::ALL.len()]);

impl Filtered {
    pub(crate) fn add(&mut self, reason: FilterReason, count: u64) {
        self.0[reason as usize] += count;
    }

    /// Events filtered for `reason`.
    pub(crate) fn of(&self, reason: FilterReason) -> u64 {
        self.0[reason as usize]
    }

    /// Events filtered, whatever the reason.
    pub(crate) fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Adds every count of `other`.
    pub(crate) fn merge(&mut self, other: &Filtered) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    /// Each reason with its count, in the list's order.
    pub(crate) fn by_reason(&self) -> impl Iterator<Item = (FilterReason, u64)> + '_ {
        FilterReason::ALL
            .into_iter()
            .map(|reason| (reason, self.of(reason)))
    }
}

impl Serialize for Filtered {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(FilterReason::ALL.len()))?;
        for (reason, count) in self.by_reason() {
            map.serialize_entry(reason.name(), &count)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_a_key_in_the_list_order_zero_or_not() {
        for (index, reason) in FilterReason::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, index, "{reason:?}");
        }
        let mut filtered = Filtered::default();
        filtered.add(FilterReason::Sample, 3);
        let mut more = Filtered::default();
        more.add(FilterReason::Level, 2);
        filtered.merge(&more);
        assert_eq!(filtered.total(), 5);
        assert_eq!(
            serde_json::to_string(&filtered).unwrap(),
            r#"{"level":2,"include":0,"exclude":0,"sample":3,"rate_limit":0}"#
        );
    }
}
