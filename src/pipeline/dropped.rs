//! The one list of reasons an event is dropped, and the count of dropped
//! events by reason. The summary (text and JSON), the stats lines and
//! `/metrics` are all written from this list, in its order: a new reason
//! is one more entry in `drop_reasons!` below.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Declares `DropReason` from a list of `Variant => "name"` entries, each
/// with its doc comment: the variants, `DropReason::ALL` in the order
/// given, and the name each is reported under.
macro_rules! drop_reasons {
    ($($(#[doc = $doc:literal])+ $variant:ident => $name:literal,)+) => {
        /// Why an event was dropped. Each dropped event has exactly one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum DropReason {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl DropReason {
            /// Every reason, in the order every output lists them.
            pub(crate) const ALL: [DropReason; [$($name),+].len()] = [$(DropReason::$variant),+];

            /// The name the reason is reported under: a key of the
            /// summary's `dropped_by_reason`, a `reason` label on
            /// `/metrics`.
            pub(crate) const fn name(self) -> &'static str {
                match self {
                    $(DropReason::$variant => $name,)+
                }
            }
        }
    };
}

drop_reasons! {
    /// The queue was full and `--drop-on-full` was set.
    QueueFull => "queue_full",
    /// Strict mode rejected the line.
    Invalid => "invalid",
    /// At least one sink failed to write it.
    SinkError => "sink_error",
    /// Still in flight when the drain ran out of time.
    ShutdownTimeout => "shutdown_timeout",
    /// Read as shipper stopped, or still in flight when a second signal
    /// cut the drain short.
    Shutdown => "shutdown",
}

/// Dropped events, counted by reason (one count per entry of
/// `DropReason::ALL`). Serialized as an object with every reason's name as
/// a key, in the list's order, zero or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Dropped([u64; DropReason::ALL.len()]);

impl Dropped {
    pub(crate) fn add(&mut self, reason: DropReason, count: u64) {
        self.0[reason as usize] += count;
    }

    /// Events dropped for `reason`.
    pub(crate) fn of(&self, reason: DropReason) -> u64 {
        self.0[reason as usize]
    }

    /// Events dropped, whatever the reason.
    pub(crate) fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Each reason with its count, in the list's order.
    pub(crate) fn by_reason(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .into_iter()
            .map(|reason| (reason, self.of(reason)))
    }
}

impl Serialize for Dropped {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(DropReason::ALL.len()))?;
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
    fn each_reason_stands_at_its_own_index_under_its_own_name() {
        for (index, reason) in DropReason::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, index, "{reason:?}");
        }
        let mut names: Vec<&str> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::ALL.len(), "names are distinct");
    }

    #[test]
    fn every_reason_is_a_key_in_the_list_order_zero_or_not() {
        let mut dropped = Dropped::default();
        dropped.add(DropReason::SinkError, 3);
        dropped.add(DropReason::Invalid, 2);
        dropped.add(DropReason::SinkError, 1);
        assert_eq!(dropped.of(DropReason::SinkError), 4);
        assert_eq!(dropped.total(), 6);
        assert_eq!(
            serde_json::to_string(&dropped).unwrap(),
            r#"{"queue_full":0,"invalid":2,"sink_error":4,"shutdown_timeout":0,"shutdown":0}"#
        );
    }
}
