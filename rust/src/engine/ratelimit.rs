//! `min_interval` for one handler (kube-proxy's minSyncPeriod), as pure logic over instants.

use std::time::{Duration, Instant};

/// Spaces calls at least `min_interval` apart, measured from the start of the previous call.
///
/// It never drops work: the caller keeps its pending changes and calls again once
/// [`RateLimiter::wait_before`] says the interval is over, so the last change inside an interval
/// is delivered at its end.
#[derive(Debug, Clone, Copy)]
pub struct RateLimiter {
    min_interval: Duration,
    last_call: Option<Instant>,
}

impl RateLimiter {
    /// A limiter; a zero interval never makes anyone wait.
    pub fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            last_call: None,
        }
    }

    /// How long to wait from `now` before the next call may start, or `None` to call now.
    pub fn wait_before(&self, now: Instant) -> Option<Duration> {
        let last = self.last_call?;
        let next = last + self.min_interval;
        (next > now).then(|| next - now)
    }

    /// Note that a call started at `at`.
    pub fn record(&mut self, at: Instant) {
        self.last_call = Some(at);
    }
}

/// Where a delivery thread reads the time; tests drive a manual clock.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_call_is_immediate_then_spaced() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Duration::from_secs(1));
        assert_eq!(rl.wait_before(t0), None);
        rl.record(t0);
        assert_eq!(
            rl.wait_before(t0 + Duration::from_millis(250)),
            Some(Duration::from_millis(750))
        );
        assert_eq!(rl.wait_before(t0 + Duration::from_secs(1)), None);
        assert_eq!(rl.wait_before(t0 + Duration::from_secs(5)), None);
    }

    #[test]
    fn zero_interval_never_waits() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(Duration::ZERO);
        rl.record(t0);
        assert_eq!(rl.wait_before(t0), None);
    }
}
