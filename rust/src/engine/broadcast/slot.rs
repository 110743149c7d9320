//! One handler's latest-value slot: what its delivery thread takes next, folded by the merger.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::ThreadId;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::engine::handler_stats::HandlerStats;
use crate::engine::object::{Notes, Object};
use crate::engine::snapshot::{ChangeSet, Changes, Snapshot};

#[allow(
    clippy::struct_excessive_bools,
    reason = "independent flags of one handler's state machine"
)]
pub(super) struct SlotState<T: Object> {
    pub(super) latest: Arc<Snapshot<T>>,
    pub(super) pending: ChangeSet<T>,
    /// The notes of every version folded in since the last call.
    pub(super) notes: T::Notes,
    /// The next call carries everything as `added` (first delivery of this handler).
    pub(super) first: bool,
    /// Versions folded in since the last call (more than one means a coalesced delivery).
    pub(super) folded: u64,
    /// A delivery has been taken (set when taken, not when the call returns, so that becoming
    /// synced during the first call does not schedule a second "first" delivery).
    pub(super) ever_delivered: bool,
    /// Version at which the config became synced, once it has.
    pub(super) synced_at: Option<u64>,
    pub(super) synced_done: bool,
    pub(super) stopped: bool,
}

pub(super) struct Slot<T: Object> {
    pub(super) id: u64,
    /// Guards this handler's pending delivery. Last in the lock order (see [`super::Broadcaster`]): taken
    /// under `slots` by `publish` and `mark_synced`, and its thread must let go of it before it
    /// takes `progress`.
    pub(super) state: Mutex<SlotState<T>>,
    /// The delivery thread sleeps here (on `state`) until work arrives or it is stopped.
    pub(super) wake: Condvar,
    /// Version whose state this handler has fully received (read by flush without the slot lock).
    pub(super) delivered: AtomicU64,
    /// Set (under the slot lock) when work arrives, cleared by the thread only once it has
    /// nothing left to do: a first delivery, changes, or a due `on_synced` all keep it set.
    pub(super) busy: AtomicBool,
    pub(super) finished: AtomicBool,
    /// The delivery thread, so a flush from inside this handler does not wait for itself.
    pub(super) thread: OnceLock<ThreadId>,
    /// Counters, lag and durations for metrics (atomics, read without any lock).
    pub(super) stats: Arc<HandlerStats>,
}

impl<T: Object> Slot<T> {
    pub(super) fn fold(&self, snap: &Arc<Snapshot<T>>, now: Instant) {
        let mut st = self.state.lock();
        if st.stopped || snap.version <= st.latest.version {
            return;
        }
        self.stats.queued(now);
        if !st.first {
            st.pending.absorb(&snap.changes);
        }
        st.notes.absorb(&snap.notes);
        st.latest = Arc::clone(snap);
        st.folded += 1;
        self.busy.store(true, Ordering::Release);
    }

    pub(super) fn mark_synced(&self, version: u64, now: Instant) {
        let mut st = self.state.lock();
        if st.synced_at.is_none() {
            st.synced_at = Some(version);
            if !st.ever_delivered {
                // Tell a handler that has seen nothing yet the (possibly empty) synced state.
                st.first = true;
                self.stats.queued(now);
            }
            self.busy.store(true, Ordering::Release);
        }
        drop(st);
        self.wake.notify_one();
    }

    pub(super) fn stop(&self) {
        self.state.lock().stopped = true;
        self.wake.notify_one();
    }
}

pub(super) enum Work<T: Object> {
    Update((Snapshot<T>, bool), Instant),
    Synced,
}

pub(super) fn take_update<T: Object>(st: &mut SlotState<T>) -> Option<(Snapshot<T>, bool)> {
    let latest = Arc::clone(&st.latest);
    let first = st.first;
    let changes = if first {
        st.pending = ChangeSet::default();
        Changes::all_added(&latest.items)
    } else {
        st.pending.take()
    };
    // A handler's first call is "first" for its notes even when it registered before any state
    // existed (its first delivery then carries changes, not everything as added).
    let notes = std::mem::take(&mut st.notes).resolve(first || !st.ever_delivered);
    st.first = false;
    let coalesced = st.folded > 1;
    st.folded = 0;
    if !first && changes.is_empty() && notes.is_empty() {
        return None;
    }
    st.ever_delivered = true;
    let snapshot = Snapshot {
        version: latest.version,
        items: latest.items.clone(),
        changes: Arc::new(changes),
        notes: Arc::new(notes),
    };
    Some((snapshot, coalesced))
}
