//! Counters of one config, shared by its producers, merger and delivery threads.

use std::sync::atomic::{AtomicU64, Ordering};

/// Monotonic counters; relaxed atomics because each is read on its own.
#[derive(Debug, Default)]
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
}

impl Stats {
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
