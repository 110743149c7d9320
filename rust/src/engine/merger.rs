//! What a mux merges with: the store merge for input configs, other derivations (the proxy view)
//! for derived configs. Run under the mux's merge lock, by its merger thread or by a sender
//! merging a small operation itself (see [`Merger::inline`]).

use super::object::Object;
use super::snapshot::Snapshot;
use super::store::{Op, Store, StoreCounters};

/// Largest store operation a sender merges itself: a watch event or a few, never a list.
const INLINE_MAX_OBJECTS: usize = 16;

/// Applies queued inputs and publishes their net effect as versions.
pub trait Merger<T: Object>: Send + 'static {
    /// One queued message of one source.
    type Input: Send + 'static;

    /// Apply one input of `source`; changes accumulate until [`Merger::commit`].
    fn apply(&mut self, source: usize, input: Self::Input);

    /// True when `input` makes its source synced once applied (a SET).
    fn syncs(input: &Self::Input) -> bool;

    /// True when `input` is cheap enough for its sender to merge and publish itself when the
    /// merger has nothing queued (one thread hop less to the handlers).
    fn inline(_input: &Self::Input) -> bool {
        false
    }

    /// Publish what changed since the last commit as a new version, or `None` if nothing did.
    fn commit(&mut self) -> Option<Snapshot<T>>;

    /// The version of the last commit.
    fn version(&self) -> u64;

    /// Counters for `stats()`.
    fn counters(&self) -> StoreCounters;
}

impl<T: Object> Merger<T> for Store<T> {
    type Input = Op<T>;

    fn apply(&mut self, source: usize, input: Op<T>) {
        Store::apply(self, source, input);
    }

    fn syncs(input: &Op<T>) -> bool {
        matches!(input, Op::Set(_))
    }

    fn inline(input: &Op<T>) -> bool {
        input.len() <= INLINE_MAX_OBJECTS
    }

    fn commit(&mut self) -> Option<Snapshot<T>> {
        Store::commit(self)
    }

    fn version(&self) -> u64 {
        Store::version(self)
    }

    fn counters(&self) -> StoreCounters {
        Store::counters(self)
    }
}
