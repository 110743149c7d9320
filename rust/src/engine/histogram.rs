//! A lock-free, fixed-bucket histogram for metrics, and the bucket layouts the package exports.
//!
//! Observing is a few relaxed atomic adds, so delivery threads record every call without a lock;
//! a scrape reads the counters once and accumulates them, which keeps the cumulative counts
//! monotonic even while observations land concurrently.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Upper bounds (seconds) of `handler_duration_seconds`: 1 and 3 per decade from 100 µs to 30 s,
/// so sub-millisecond Python handlers and multi-second rule syncs both resolve. Few buckets on
/// purpose: a scrape writes them for every handler.
pub const HANDLER_DURATION_BUCKETS: [f64; 12] = [
    0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0,
];

/// Upper bounds (seconds) of `network_programming_duration_seconds`: kube-proxy's layout, 0.25 s
/// and 0.5 s, then every second to 59 s, every 5 s to 115 s, every 30 s to 300 s.
pub static NETWORK_PROGRAMMING_BUCKETS: [f64; 80] = network_programming_buckets();

const fn network_programming_buckets() -> [f64; 80] {
    let mut out = [0.0; 80];
    out[0] = 0.25;
    out[1] = 0.5;
    let mut i = 0;
    while i < 59 {
        out[2 + i] = (i + 1) as f64;
        i += 1;
    }
    let mut j = 0;
    while j < 12 {
        out[61 + j] = 60.0 + 5.0 * j as f64;
        j += 1;
    }
    let mut k = 0;
    while k < 7 {
        out[73 + k] = 120.0 + 30.0 * k as f64;
        k += 1;
    }
    out
}

/// Counts of observations per bucket (the last one is `+Inf`) and their sum.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One counter per bound plus one for values above the last bound.
    counts: Box<[AtomicU64]>,
    /// Sum of the observed values in nanoseconds (negative values, a clock ahead of ours, count
    /// as they are, as Prometheus histograms allow).
    sum_nanos: AtomicI64,
}

/// What a scrape reads of a [`Histogram`].
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Cumulative counts, one per bound then `+Inf` (which equals the total count).
    pub cumulative: Vec<u64>,
    /// Sum of the observed values, in seconds.
    pub sum: f64,
}

impl HistogramSnapshot {
    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }
}

impl Histogram {
    /// An empty histogram over `bounds` (ascending upper bounds, in seconds).
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicI64::new(0),
        }
    }

    /// The bucket bounds.
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    /// Record one value, in seconds.
    pub fn observe(&self, seconds: f64) {
        let bucket = self.bounds.partition_point(|&b| b < seconds);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "saturating float-to-int: 292 years of nanoseconds fit in an i64"
        )]
        let nanos = (seconds * 1e9) as i64;
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The counts, accumulated, and the sum.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0;
        let cumulative = self
            .counts
            .iter()
            .map(|c| {
                total += c.load(Ordering::Relaxed);
                total
            })
            .collect();
        #[allow(clippy::cast_precision_loss, reason = "a sum of seconds for a metric")]
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        HistogramSnapshot { cumulative, sum }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_the_first_bucket_whose_bound_is_not_below_them() {
        static BOUNDS: [f64; 3] = [1.0, 2.0, 5.0];
        let h = Histogram::new(&BOUNDS);
        for v in [0.5, 1.0, 1.5, 5.0, 7.0, -1.0] {
            h.observe(v);
        }
        let snap = h.snapshot();
        // <=1: 0.5, 1.0, -1.0; <=2: +1.5; <=5: +5.0; +Inf: +7.0
        assert_eq!(snap.cumulative, vec![3, 4, 5, 6]);
        assert_eq!(snap.count(), 6);
        assert!((snap.sum - 14.0).abs() < 1e-6);
    }

    #[test]
    #[allow(
        clippy::float_cmp,
        reason = "the bounds are exact small binary fractions"
    )]
    fn network_programming_buckets_are_kube_proxys() {
        let b = &NETWORK_PROGRAMMING_BUCKETS;
        assert_eq!(&b[..4], &[0.25, 0.5, 1.0, 2.0]);
        assert_eq!(b[60], 59.0);
        assert_eq!(&b[61..63], &[60.0, 65.0]);
        assert_eq!(b[72], 115.0);
        assert_eq!(&b[73..], &[120.0, 150.0, 180.0, 210.0, 240.0, 270.0, 300.0]);
        assert!(b.windows(2).all(|w| w[0] < w[1]));
        assert!(HANDLER_DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
