//! Reconnect delays: capped exponential backoff with full jitter.
//!
//! Full jitter (a uniform draw in `[0, min(cap, base * 2^n)]`) spreads the reconnects of
//! many shards and many users instead of having them retry in lock step.

use std::time::Duration;

/// The delay schedule of one connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The ceiling of the first delay.
    base: Duration,
    /// The ceiling no delay exceeds.
    cap: Duration,
    /// Failures since the last reset.
    failures: u32,
}

impl Backoff {
    /// A schedule starting at `base` and never above `cap`.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// The next delay to wait, drawn with full jitter.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        ceiling.mul_f64(fastrand::f64())
    }

    /// The upper bound of the next delay.
    pub fn ceiling(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.failures.min(20));
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Starts over at `base` (a connection delivered data).
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            ceilings.push(b.ceiling().as_millis());
            let d = b.next_delay();
            assert!(d <= Duration::from_secs(30));
        }
        assert_eq!(
            ceilings,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(250));
    }

    #[test]
    fn never_overflows() {
        let mut b = Backoff::default();
        for _ in 0..1000 {
            assert!(b.next_delay() <= Duration::from_secs(30));
        }
    }
}
