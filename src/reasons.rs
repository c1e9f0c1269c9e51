//! Counts of events by reason, for every list of reasons shipper reports
//! (why events were dropped, why they were filtered): `reasons!` declares
//! a list's enum, its order and names, and its count as `ByReason`, which
//! the summary (text and JSON), the stats lines and `/metrics` all read in
//! the list's order, every reason a key, zero or not.

use std::marker::PhantomData;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// One list of reasons: every reason in the order outputs list them, each
/// with the name it is reported under.
pub(crate) trait Reason: Copy + 'static {
    /// Every reason, in the order every output lists them.
    const ALL: &'static [Self];

    /// The name the reason is reported under: a key of the summary's
    /// counts by reason, a `reason` label on `/metrics`.
    fn name(self) -> &'static str;

    /// Where the reason stands in `ALL`.
    fn index(self) -> usize;
}

/// Declares an enum of reasons from `Variant => "name"` entries, each
/// with its doc comment, its `Reason` list in the order given, and `$count`
/// as the `ByReason` that counts it.
macro_rules! reasons {
    (
        $(#[doc = $enum_doc:literal])+
        enum $reason:ident, counted as $count:ident {
            $($(#[doc = $doc:literal])+ $variant:ident => $name:literal,)+
        }
    ) => {
        $(#[doc = $enum_doc])+
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $reason {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl $reason {
            /// Every reason, in the order every output lists them.
            pub(crate) const ALL: [$reason; [$($name),+].len()] = [$($reason::$variant),+];

            /// The name the reason is reported under.
            pub(crate) const fn name(self) -> &'static str {
                match self {
                    $($reason::$variant => $name,)+
                }
            }
        }

        impl $crate::reasons::Reason for $reason {
            const ALL: &'static [$reason] = &$reason::ALL;

            fn name(self) -> &'static str {
                $reason::name(self)
            }

            fn index(self) -> usize {
                self as usize
            }
        }

        /// Events counted by reason, one count per entry of the list.
        pub(crate) type $count = $crate::reasons::ByReason<$reason, { $reason::ALL.len() }>;
    };
}

pub(crate) use reasons;

/// Events counted by reason (one count per reason of `R`, which are `N`).
/// Serialized as an object with every reason's name as a key, in the
/// list's order, zero or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByReason<R, const N: usize>([u64; N], PhantomData<R>);

impl<R: Reason, const N: usize> Default for ByReason<R, N> {
    fn default() -> Self {
        ByReason([0; N], PhantomData)
    }
}

impl<R: Reason, const N: usize> ByReason<R, N> {
    pub(crate) fn add(&mut self, reason: R, count: u64) {
        self.0[reason.index()] += count;
    }

    /// Events counted for `reason`.
    pub(crate) fn of(&self, reason: R) -> u64 {
        self.0[reason.index()]
    }

    /// Events counted, whatever the reason.
    pub(crate) fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Adds every count of `other`.
    pub(crate) fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    /// Each reason with its count, in the list's order.
    pub(crate) fn by_reason(&self) -> impl Iterator<Item = (R, u64)> + '_ {
        R::ALL.iter().map(|&reason| (reason, self.of(reason)))
    }
}

impl<R: Reason, const N: usize> Serialize for ByReason<R, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(N))?;
        for (reason, count) in self.by_reason() {
            map.serialize_entry(reason.name(), &count)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    reasons! {
        /// Reasons for a test.
        enum Why, counted as Whys {
            /// The first.
            First => "first",
            /// The second.
            Second => "second_one",
        }
    }

    #[test]
    fn each_reason_stands_at_its_own_index_and_every_one_is_a_key() {
        for (index, reason) in Why::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, index, "{reason:?}");
        }
        let mut whys = Whys::default();
        whys.add(Why::Second, 3);
        let mut more = Whys::default();
        more.add(Why::Second, 1);
        whys.merge(&more);
        assert_eq!((whys.of(Why::Second), whys.total()), (4, 4));
        assert_eq!(
            serde_json::to_string(&whys).unwrap(),
            r#"{"first":0,"second_one":4}"#
        );
    }
}
