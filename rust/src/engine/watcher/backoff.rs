//! Capped exponential backoff with "equal jitter", on an injected random source.

use std::time::Duration;

/// Delays that double from `initial` up to `maximum`, each scaled by a random factor in
/// [0.5, 1.0] so that many clients retrying together spread out. `reset` after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    maximum: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff from `initial` doubling to `maximum` (raised to `initial` if lower).
    pub fn new(initial: Duration, maximum: Duration) -> Self {
        Self {
            initial,
            maximum: maximum.max(initial),
            attempt: 0,
        }
    }

    /// How many delays were handed out since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next retry, given `unit` drawn uniformly from [0, 1).
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        // 2^31 × initial already exceeds any sane maximum: cap the exponent there.
        let factor = 2f64.powi(self.attempt.min(31) as i32);
        let base = self
            .initial
            .mul_f64(factor)
            .min(self.maximum)
            .max(self.initial.min(self.maximum));
        self.attempt = self.attempt.saturating_add(1);
        base.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
    }

    /// Start again from `initial`.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;

    fn secs(d: Duration) -> f64 {
        (d.as_secs_f64() * 1000.0).round() / 1000.0
    }

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(800), Duration::from_secs(30));
        let top: Vec<f64> = (0..8).map(|_| secs(b.next_delay(1.0))).collect();
        assert_eq!(top, [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]);
        b.reset();
        assert_eq!(secs(b.next_delay(1.0)), 0.8);
    }

    #[test]
    fn jitter_halves_at_most() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(4));
        let low: Vec<f64> = (0..4).map(|_| secs(b.next_delay(0.0))).collect();
        assert_eq!(low, [0.5, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn survives_many_attempts() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(100));
        for _ in 0..200 {
            assert!(b.next_delay(0.5) <= Duration::from_millis(100));
        }
        assert_eq!(b.attempt(), 200);
    }
}
