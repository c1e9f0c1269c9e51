//! The one list of reasons an event is filtered, and the count of filtered
//! events by reason, reported the way dropped events are: every reason a
//! key, in the list's order, zero or not.

use crate::reasons::reasons;

reasons! {
    /// Why the user's own rules set an event aside. Each has exactly one:
    /// the first rule, in this order, that refused it.
    enum FilterReason, counted as Filtered {
        /// Below `--min-level`.
        Level => "level",
        /// Its message matched no `--include` pattern.
        Include => "include",
        /// Its message matched an `--exclude` pattern.
        Exclude => "exclude",
        /// Not the one kept of every `--sample` events.
        Sample => "sample",
        /// Over its source's `--rate-limit`.
        RateLimit => "rate_limit",
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
