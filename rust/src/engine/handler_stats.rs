//! Per-handler counters, lag and call durations, kept by its delivery thread and read by scrapes.
//!
//! Everything is an atomic: the delivery thread and the merger update them while holding only
//! the slot lock they already hold (or none, around the handler call), and a scrape reads them
//! holding no lock at all, so metrics never delay delivery.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::histogram::{Histogram, HistogramSnapshot, HANDLER_DURATION_BUCKETS};

/// Counters of one registration.
#[derive(Debug)]
pub struct HandlerStats {
    /// The handler's name as given at registration (a Python qualified name, say).
    pub name: String,
    /// Lowest index not used by another live registration of the same name: with `name`, a
    /// label that stays the same for the registration's life and is bounded under churn.
    pub index: usize,
    /// Handler calls with new state.
    pub deliveries: AtomicU64,
    /// Calls that covered more than one version.
    pub coalesced: AtomicU64,
    /// Calls (updates or `on_synced`) that raised.
    pub errors: AtomicU64,
    /// Duration of update calls.
    pub duration: Histogram,
    /// When the oldest version not yet taken by the handler arrived (see [`Ticks`]; 0: none).
    pending_since: AtomicU64,
    /// When the oldest version in the call in progress arrived (0: no call in progress).
    in_call_since: AtomicU64,
    epoch: Instant,
}

/// A copy of one registration's figures, as a scrape reports them.
#[derive(Debug, Clone)]
pub struct HandlerReport {
    /// `name#index`: stable for the registration's life, bounded under churn.
    pub label: String,
    /// Handler calls with new state.
    pub deliveries: u64,
    /// Calls that covered more than one version.
    pub coalesced: u64,
    /// Calls that raised.
    pub errors: u64,
    /// Age of the oldest version not yet delivered (zero when caught up).
    pub lag: Duration,
    /// Duration of update calls.
    pub duration: HistogramSnapshot,
}

impl HandlerStats {
    /// Counters at zero; instants are stored relative to `epoch` (from the config's clock).
    pub fn new(name: String, index: usize, epoch: Instant) -> Self {
        Self {
            name,
            index,
            deliveries: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            duration: Histogram::new(&HANDLER_DURATION_BUCKETS),
            pending_since: AtomicU64::new(0),
            in_call_since: AtomicU64::new(0),
            epoch,
        }
    }

    /// The lowest index that no registration in `live` named `name` uses: with the name, a label
    /// that is stable while the registration lives and bounded however often handlers come and go.
    pub fn free_index<'a>(
        name: &str,
        live: impl Iterator<Item = &'a HandlerStats> + Clone,
    ) -> usize {
        // Among n live registrations, one of 0..=n is free.
        let n = live.clone().count();
        (0..=n)
            .find(|i| !live.clone().any(|s| s.index == *i && s.name == name))
            .unwrap_or(n)
    }

    /// A version for this handler arrived at `now`; the oldest waiting one keeps its instant.
    /// Called under the slot lock, like [`HandlerStats::taken`] and [`HandlerStats::caught_up`],
    /// so the three never interleave.
    pub fn queued(&self, now: Instant) {
        if self.pending_since.load(Ordering::Relaxed) == 0 {
            self.pending_since
                .store(Ticks::of(self.epoch, now), Ordering::Relaxed);
        }
    }

    /// The handler took everything waiting into a call (under the slot lock): those versions
    /// stay counted as waiting until [`HandlerStats::returned`].
    pub fn taken(&self) {
        let since = self.pending_since.swap(0, Ordering::Relaxed);
        self.in_call_since.store(since, Ordering::Relaxed);
    }

    /// Nothing is waiting any more: what arrived changed nothing for this handler.
    pub fn caught_up(&self) {
        self.pending_since.store(0, Ordering::Relaxed);
    }

    /// The call that started at `started` returned at `ended`.
    pub fn returned(&self, started: Instant, ended: Instant, coalesced: bool) {
        self.in_call_since.store(0, Ordering::Relaxed);
        self.deliveries.fetch_add(1, Ordering::Relaxed);
        if coalesced {
            self.coalesced.fetch_add(1, Ordering::Relaxed);
        }
        self.duration
            .observe(ended.saturating_duration_since(started).as_secs_f64());
    }

    /// Age at `now` of the oldest version not yet delivered: one inside a call in progress, else
    /// one still waiting, else zero.
    pub fn lag(&self, now: Instant) -> Duration {
        let in_call = self.in_call_since.load(Ordering::Relaxed);
        let since = if in_call == 0 {
            self.pending_since.load(Ordering::Relaxed)
        } else {
            in_call
        };
        if since == 0 {
            return Duration::ZERO;
        }
        now.saturating_duration_since(self.epoch)
            .saturating_sub(Ticks::duration(since))
    }

    /// Everything a scrape shows, read at `now`.
    pub fn report(&self, now: Instant) -> HandlerReport {
        HandlerReport {
            label: format!("{}#{}", self.name, self.index),
            deliveries: self.deliveries.load(Ordering::Relaxed),
            coalesced: self.coalesced.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            lag: self.lag(now),
            duration: self.duration.snapshot(),
        }
    }
}

/// Instants as nanoseconds after an epoch, plus one, so that 0 can mean "none" in an atomic.
struct Ticks;

impl Ticks {
    fn of(epoch: Instant, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(epoch).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1
    }

    fn duration(ticks: u64) -> Duration {
        Duration::from_nanos(ticks - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_oldest_undelivered_version() {
        let t0 = Instant::now();
        let s = HandlerStats::new("h".into(), 0, t0);
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(s.lag(at(5)), Duration::ZERO);
        s.queued(at(10));
        s.queued(at(20)); // a later version does not make the wait younger
        assert_eq!(s.lag(at(50)), Duration::from_millis(40));
        s.taken();
        s.queued(at(60)); // arrives during the call
        assert_eq!(s.lag(at(70)), Duration::from_millis(60));
        s.returned(at(55), at(80), true);
        assert_eq!(s.lag(at(90)), Duration::from_millis(30));
        s.caught_up();
        assert_eq!(s.lag(at(100)), Duration::ZERO);
        let report = s.report(at(100));
        assert_eq!(report.label, "h#0");
        assert_eq!((report.deliveries, report.coalesced), (1, 1));
        assert_eq!(report.duration.count(), 1);
        assert!((report.duration.sum - 0.025).abs() < 1e-9);
    }

    #[test]
    fn a_version_at_the_epoch_is_still_waiting() {
        let t0 = Instant::now();
        let s = HandlerStats::new("h".into(), 0, t0);
        s.queued(t0);
        assert_eq!(s.lag(t0 + Duration::from_secs(1)), Duration::from_secs(1));
    }
}
