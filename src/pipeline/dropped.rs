//! The one list of reasons an event is dropped, and the count of dropped
//! events by reason. The summary (text and JSON), the stats lines and
//! `/metrics` are all written from this list, in its order: a new reason
//! is one more entry in the list below.

use crate::reasons::reasons;

reasons! {
    /// Why an event was dropped. Each dropped event has exactly one.
    enum DropReason, counted as Dropped {
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
