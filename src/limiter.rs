//! The limits on connection attempts, one per venue (Binance: 300 per 5 minutes per IP).
//!
//! Every connection of a venue asks its venue's limiter before each handshake, so a
//! reconnect storm across many connections stays under the venue's limit instead of ending
//! in an HTTP 418 ban. Venues count an IP's attempts against themselves only, so one
//! venue's reconnects never wait on another's.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::exchange::Venue;

/// The limiter of each venue a run dials.
#[derive(Debug, Default)]
pub struct Limiters(Vec<(Venue, Arc<ConnectLimiter>)>);

impl Limiters {
    /// A limiter for each `(venue, (attempts, window))`.
    pub fn new(limits: &[(Venue, (usize, Duration))]) -> Limiters {
        Limiters(
            limits
                .iter()
                .map(|&(venue, (max, window))| (venue, Arc::new(ConnectLimiter::new(max, window))))
                .collect(),
        )
    }

    /// `venue`'s limiter; a venue the run was not planned with gets one of its own at its
    /// documented limit.
    pub fn of(&self, venue: Venue) -> Arc<ConnectLimiter> {
        match self.0.iter().find(|(v, _)| *v == venue) {
            Some((_, limiter)) => limiter.clone(),
            None => {
                let (max, window) = venue.exchange().limits().connect_attempts;
                Arc::new(ConnectLimiter::new(max, window))
            }
        }
    }
}

/// A sliding-window limit: at most `max` attempts in any `window`.
#[derive(Debug)]
pub struct ConnectLimiter {
    /// Attempts allowed per window.
    max: usize,
    /// The window.
    window: Duration,
    /// When the attempts of the current window were made, oldest first.
    attempts: Mutex<VecDeque<Instant>>,
}

/// Why a `--connect-limit` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected attempts per duration, such as 300/5m")]
pub struct LimitError;

impl ConnectLimiter {
    /// At most `max` (at least 1) attempts in any `window`.
    pub fn new(max: usize, window: Duration) -> ConnectLimiter {
        ConnectLimiter {
            max: max.max(1),
            window,
            attempts: Mutex::new(VecDeque::new()),
        }
    }

    /// Parses `300/5m` into (300, 5 minutes).
    pub fn parse(text: &str) -> Result<(usize, Duration), LimitError> {
        let (count, window) = text.split_once('/').ok_or(LimitError)?;
        let count: usize = count.trim().parse().map_err(|_| LimitError)?;
        let window = humantime::parse_duration(window.trim()).map_err(|_| LimitError)?;
        if count == 0 || window.is_zero() {
            return Err(LimitError);
        }
        Ok((count, window))
    }

    /// Waits until one more attempt fits in the window, then records it.
    pub async fn acquire(&self) {
        loop {
            let wait_until = {
                let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                while attempts
                    .front()
                    .is_some_and(|&t| now.duration_since(t) >= self.window)
                {
                    attempts.pop_front();
                }
                if attempts.len() < self.max {
                    attempts.push_back(now);
                    return;
                }
                attempts[0] + self.window
            };
            tokio::time::sleep_until(wait_until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_max_in_any_window() {
        let limiter = ConnectLimiter::new(3, Duration::from_secs(10));
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..7 {
            limiter.acquire().await;
            at.push(start.elapsed().as_secs());
        }
        assert_eq!(at, [0, 0, 0, 10, 10, 10, 20]);
    }

    #[tokio::test(start_paused = true)]
    async fn shared_by_concurrent_callers() {
        let limiter = Arc::new(ConnectLimiter::new(2, Duration::from_secs(60)));
        let start = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move {
                    l.acquire().await;
                    start.elapsed().as_secs()
                })
            })
            .collect();
        let mut at = Vec::new();
        for t in tasks {
            at.push(t.await.unwrap());
        }
        at.sort();
        assert_eq!(at, [0, 0, 60, 60]);
    }

    /// OKX's 3/1s does not hold Binance's connections back, nor Binance's window OKX's.
    #[tokio::test(start_paused = true)]
    async fn each_venue_waits_on_its_own_limit_only() {
        let s = Duration::from_secs;
        let limiters = Limiters::new(&[(Venue::Okx, (3, s(1))), (Venue::Binance, (300, s(300)))]);
        let (okx, binance) = (limiters.of(Venue::Okx), limiters.of(Venue::Binance));
        assert!(
            Arc::ptr_eq(&okx, &limiters.of(Venue::Okx)),
            "one limiter a venue"
        );
        let start = Instant::now();
        for _ in 0..20 {
            binance.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "Binance's 20 at once");
        for _ in 0..7 {
            okx.acquire().await;
        }
        assert_eq!(start.elapsed(), s(2), "OKX 3 a second: 3, 3, then 1");
    }

    #[test]
    fn parses_counts_per_duration() {
        assert_eq!(
            ConnectLimiter::parse("300/5m"),
            Ok((300, Duration::from_secs(300)))
        );
        for bad in ["300", "0/5m", "x/5m", "3/0s", "3/soon"] {
            assert_eq!(ConnectLimiter::parse(bad), Err(LimitError), "{bad}");
        }
    }
}
