//! Counters of one config, shared by its producers, merger and delivery threads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::histogram::{Histogram, NETWORK_PROGRAMMING_BUCKETS};
use super::object::Notes;

/// Monotonic counters; relaxed atomics because each is read on its own.
#[derive(Debug)]
pub struct Stats {
    /// Operations applied by the merger (each SET / ADD / UPDATE / REMOVE call).
    pub updates: AtomicU64,
    /// Objects or keys carried by applied operations.
    pub objects_merged: AtomicU64,
    /// Versions published (updates that changed the merged state).
    pub versions: AtomicU64,
    /// Handler calls with new state.
    pub deliveries: AtomicU64,
    /// Handler calls that covered more than one version.
    pub coalesced_deliveries: AtomicU64,
    /// Handler calls that raised.
    pub handler_errors: AtomicU64,
    /// Objects stored by a source while another source held the same key.
    pub conflicts: AtomicU64,
    /// Seconds from each trigger time a handler was told about to the end of that handler's
    /// call (kube-proxy's `network_programming_duration_seconds`).
    pub network_programming: Histogram,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            updates: AtomicU64::new(0),
            objects_merged: AtomicU64::new(0),
            versions: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            coalesced_deliveries: AtomicU64::new(0),
            handler_errors: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            network_programming: Histogram::new(&NETWORK_PROGRAMMING_BUCKETS),
        }
    }
}

impl Stats {
    /// A handler returned normally from a call carrying `notes`: what they describe is now
    /// programmed, so each trigger time yields one sample. Wall clock, since trigger times are
    /// wall-clock times written by another machine.
    pub fn observe_programmed<N: Notes>(&self, notes: &N) {
        let mut now = None;
        notes.each_trigger_time(&mut |at| {
            let now = *now.get_or_insert_with(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64())
            });
            self.network_programming.observe(now - at);
        });
    }

    /// All counters by name, for `stats()`.
    pub fn to_pairs(&self) -> [(&'static str, u64); 7] {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            ("updates", get(&self.updates)),
            ("objects_merged", get(&self.objects_merged)),
            ("versions", get(&self.versions)),
            ("deliveries", get(&self.deliveries)),
            ("coalesced_deliveries", get(&self.coalesced_deliveries)),
            ("handler_errors", get(&self.handler_errors)),
            ("conflicts", get(&self.conflicts)),
        ]
    }
}
