//! The request-weight budget of REST snapshots, shared by every symbol of a venue.
//!
//! This module owns when a snapshot request may go out: a token bucket of request weight
//! that refills at a share of the venue's per-minute limit and holds at most a tenth of a
//! minute's worth, so that many symbols starting together are spread over time instead of
//! spending the minute's budget in one burst; and a pause that a 429 or 418 imposes
//! (their `Retry-After`, or a minute when the venue gives none). It is pure logic over
//! instants the caller passes in.

use std::time::Duration;

use tokio::time::Instant;

/// A minute, the venues' rate-limit window.
const MINUTE: Duration = Duration::from_secs(60);

/// Request weight to spend on snapshots.
#[derive(Clone, Debug)]
pub struct WeightBudget {
    /// Weight per minute this client allows itself.
    per_minute: u64,
    /// Weight available now, in thousandths (refill is fractional).
    milli_tokens: u64,
    /// When `milli_tokens` was last brought up to date.
    refilled: Instant,
    /// No request before this (set by a 429 or 418).
    paused_until: Option<Instant>,
}

impl WeightBudget {
    /// A budget of `per_minute` weight (use a share of the venue's limit: other clients
    /// may share the IP), full at `now`.
    pub fn new(per_minute: u64, now: Instant) -> WeightBudget {
        let per_minute = per_minute.max(1);
        WeightBudget {
            per_minute,
            milli_tokens: Self::capacity(per_minute) * 1000,
            refilled: now,
            paused_until: None,
        }
    }

    /// The most weight held: a tenth of a minute's, but never less than one 5000-level
    /// spot snapshot (250), so every request can go out eventually.
    fn capacity(per_minute: u64) -> u64 {
        (per_minute / 10).max(250)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled);
        let earned = elapsed.as_millis() as u64 * self.per_minute / 60;
        let cap = Self::capacity(self.per_minute) * 1000;
        self.milli_tokens = (self.milli_tokens + earned).min(cap);
        self.refilled = now;
    }

    /// Takes `weight` if it may go out at `now`; otherwise the instant to try again.
    pub fn take(&mut self, weight: u64, now: Instant) -> Result<(), Instant> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(until);
            }
            self.paused_until = None;
        }
        self.refill(now);
        let needed = weight.min(Self::capacity(self.per_minute)) * 1000;
        if self.milli_tokens >= needed {
            self.milli_tokens -= needed;
            return Ok(());
        }
        let missing = needed - self.milli_tokens;
        let wait_ms = (missing * 60).div_ceil(self.per_minute);
        Err(now + Duration::from_millis(wait_ms))
    }

    /// The venue refused a request (429 or 418): nothing goes out for `retry_after` (a
    /// minute when the venue did not say), and the bucket starts empty after that.
    pub fn refused(&mut self, retry_after: Option<Duration>, now: Instant) {
        let until = now + retry_after.unwrap_or(MINUTE);
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
        self.milli_tokens = 0;
        self.refilled = until;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_a_burst_over_time() {
        let t0 = Instant::now();
        // 3000 a minute: 300 held, 50 a second.
        let mut budget = WeightBudget::new(3000, t0);
        for _ in 0..6 {
            assert_eq!(budget.take(50, t0), Ok(()));
        }
        let next = budget.take(50, t0).unwrap_err();
        assert_eq!(next, t0 + Duration::from_secs(1));
        assert_eq!(budget.take(50, next), Ok(()));
        // Over a minute at most 300 + 3000 goes out.
        let mut spent = 300 + 50;
        let mut now = next;
        while now < t0 + MINUTE {
            match budget.take(50, now) {
                Ok(()) => spent += 50,
                Err(at) => now = at,
            }
        }
        assert!(spent <= 300 + 3000, "{spent}");
        assert!(spent >= 3000, "{spent}");
    }

    #[test]
    fn a_refusal_pauses_everything_for_retry_after() {
        let t0 = Instant::now();
        let mut budget = WeightBudget::new(6000, t0);
        budget.refused(Some(Duration::from_secs(5)), t0);
        assert_eq!(
            budget.take(5, t0 + Duration::from_secs(1)),
            Err(t0 + Duration::from_secs(5))
        );
        // Then the bucket refills from empty: 100 a second.
        let at = t0 + Duration::from_secs(5);
        assert_eq!(budget.take(50, at), Err(at + Duration::from_millis(500)));
        assert_eq!(budget.take(50, at + Duration::from_millis(500)), Ok(()));
        budget.refused(None, at);
        assert_eq!(budget.take(5, at).unwrap_err(), at + MINUTE);
    }

    #[test]
    fn a_request_larger_than_the_bucket_still_goes_out() {
        let t0 = Instant::now();
        let mut budget = WeightBudget::new(100, t0);
        assert_eq!(budget.take(250, t0), Ok(()));
        assert!(budget.take(250, t0).is_err());
    }
}
