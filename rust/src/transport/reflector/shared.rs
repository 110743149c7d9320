//! The state a loop's thread shares with its controller: counters, flags waited on, versions
//! and the times data last arrived.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::transport::conn::Canceller;

/// The names of the counters, in `stats` order.
pub const COUNTERS: [&str; 13] = [
    "lists",
    "relists",
    "pages",
    "watches",
    "watch_restarts",
    "events",
    "errors",
    "rejected",
    "watch_lists",
    "watch_list_fallbacks",
    "audits",
    "audit_drift",
    "oversized",
];

#[derive(Clone, Copy)]
pub(super) enum Counter {
    Lists,
    Relists,
    Pages,
    Watches,
    WatchRestarts,
    Events,
    Errors,
    Rejected,
    WatchLists,
    WatchListFallbacks,
    Audits,
    AuditDrift,
    Oversized,
}

/// A boolean that threads wait for.
#[derive(Default)]
pub(super) struct Flag {
    value: Mutex<bool>,
    changed: Condvar,
}

impl Flag {
    pub(super) fn get(&self) -> bool {
        *self.value.lock()
    }

    pub(super) fn set(&self) {
        *self.value.lock() = true;
        self.changed.notify_all();
    }

    /// Wake the waiters without setting the value, so they check their `give_up` again; taking
    /// the lock first orders this after any waiter's check.
    pub(super) fn notify(&self) {
        drop(self.value.lock());
        self.changed.notify_all();
    }

    /// Wait until set, `give_up` holds (checked at each wake), or `deadline`; the value then.
    pub(super) fn wait(&self, deadline: Option<Instant>, give_up: impl Fn() -> bool) -> bool {
        let mut value = self.value.lock();
        while !*value && !give_up() {
            match deadline {
                Some(at) => {
                    if self.changed.wait_until(&mut value, at).timed_out() {
                        break;
                    }
                }
                None => self.changed.wait(&mut value),
            }
        }
        *value
    }
}

/// State shared between the loop's thread and its controller.
pub(super) struct Shared {
    pub(super) stop: Flag,
    pub(super) cancel: Arc<Canceller>,
    pub(super) counters: [AtomicU64; COUNTERS.len()],
    pub(super) synced: Flag,
    pub(super) done: Flag,
    pub(super) resource_version: Mutex<Option<String>>,
    /// When data last arrived on a watch or list (for staleness metrics).
    pub(super) last_data: Mutex<Option<Instant>>,
    /// When an event other than a bookmark (or a list) last arrived.
    pub(super) last_event: Mutex<Option<Instant>>,
    /// When a bookmark last arrived.
    pub(super) last_bookmark: Mutex<Option<Instant>>,
}

impl Shared {
    pub(super) fn count(&self, counter: Counter, n: u64) {
        self.counters[counter as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn stopped(&self) -> bool {
        self.stop.get()
    }

    /// Sleep until `until` or a stop; true if stopped.
    pub(super) fn sleep_until(&self, until: Instant) -> bool {
        self.stop.wait(Some(until), || false)
    }
}

pub(super) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.map(|t| Instant::now() + t)
}
