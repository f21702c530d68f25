//! Clock skew per venue: a running estimate of our clock minus the venue's.
//!
//! Every tick with a venue event time gives `recv_ns - exchange_ns`: the skew plus the
//! network and queueing delay, so the smallest value over a window bounds the skew from
//! above and comes close to it on a quiet link. Connections keep their own minimum per
//! burst (no shared write per tick) and publish it here; the estimate is the minimum of
//! the current and the previous window, so it follows a clock that is corrected. A venue
//! whose clock is ahead of ours by more than [`AHEAD_WARNING_NS`] gets one warning.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

use tracing::warn;

use crate::exchange::Venue;

/// The length of one window.
pub const WINDOW_NS: u64 = 10_000_000_000;
/// Warn when a venue's clock is this far ahead of ours (its times after our receive times).
pub const AHEAD_WARNING_NS: i64 = 100_000_000;
/// No sample in the window.
const NONE: i64 = i64::MAX;

/// One venue's windows.
#[derive(Debug)]
struct Windows {
    /// When the current window started (ns since the Unix epoch).
    started_ns: AtomicU64,
    /// The smallest sample of the current window.
    current: AtomicI64,
    /// The smallest sample of the previous window.
    previous: AtomicI64,
    /// The ahead-of-us warning was given.
    warned: AtomicBool,
}

impl Default for Windows {
    fn default() -> Windows {
        Windows {
            started_ns: AtomicU64::new(0),
            current: AtomicI64::new(NONE),
            previous: AtomicI64::new(NONE),
            warned: AtomicBool::new(false),
        }
    }
}

/// The estimates of every venue.
#[derive(Debug)]
pub struct Skew {
    venues: Box<[Windows]>,
}

impl Default for Skew {
    fn default() -> Skew {
        Skew {
            venues: Venue::ALL.iter().map(|_| Windows::default()).collect(),
        }
    }
}

impl Skew {
    /// Takes a connection's smallest `recv_ns - exchange_ns` seen since it last published,
    /// at `now_ns`.
    pub fn publish(&self, venue: Venue, min_ns: i64, now_ns: u64) {
        let w = &self.venues[venue as usize];
        let started = w.started_ns.load(Relaxed);
        if now_ns.saturating_sub(started) >= WINDOW_NS
            && w.started_ns
                .compare_exchange(started, now_ns, Relaxed, Relaxed)
                .is_ok()
        {
            w.previous.store(w.current.swap(min_ns, Relaxed), Relaxed);
        } else {
            w.current.fetch_min(min_ns, Relaxed);
        }
        if let Some(offset) = self.estimate_ns(venue)
            && offset < -AHEAD_WARNING_NS
            && !w.warned.swap(true, Relaxed)
        {
            warn!(
                "{venue}'s clock is {:.3}s ahead of ours (its event times are later than our receive times): check this machine's clock (use NTP)",
                -offset as f64 / 1e9
            );
        }
    }

    /// Our clock minus `venue`'s, in ns (an upper bound: network delay included), if any
    /// tick of the venue carried an event time.
    pub fn estimate_ns(&self, venue: Venue) -> Option<i64> {
        let w = &self.venues[venue as usize];
        let min = w.current.load(Relaxed).min(w.previous.load(Relaxed));
        (min != NONE).then_some(min)
    }

    /// Every venue with an estimate, in seconds, in registry order.
    pub fn estimates_s(&self) -> Vec<(Venue, f64)> {
        Venue::ALL
            .iter()
            .filter_map(|&v| Some((v, self.estimate_ns(v)? as f64 / 1e9)))
            .collect()
    }
}

/// A connection's minimum since it last published, and the receive time of its sample.
#[derive(Debug, Clone, Copy)]
pub struct Local(i64, u64);

impl Default for Local {
    fn default() -> Local {
        Local(NONE, 0)
    }
}

impl Local {
    /// Takes one tick's times; `exchange_ns` 0 (none) is ignored.
    #[inline]
    pub fn sample(&mut self, recv_ns: u64, exchange_ns: u64) {
        if exchange_ns != 0 {
            let d = recv_ns as i64 - exchange_ns as i64;
            if d < self.0 {
                self.0 = d;
                self.1 = recv_ns;
            }
        }
    }

    /// Publishes the minimum (if any), dated by its receive time, and starts over.
    #[inline]
    pub fn publish(&mut self, skew: &Skew, venue: Venue) {
        if self.0 != NONE {
            skew.publish(venue, self.0, self.1);
            self.0 = NONE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_is_the_smallest_difference_over_two_windows() {
        let skew = Skew::default();
        assert_eq!(skew.estimate_ns(Venue::Binance), None);
        let mut local = Local::default();
        for (recv, exch) in [(1_000, 900), (2_000, 1_950), (3_000, 0)] {
            local.sample(recv, exch);
        }
        local.publish(&skew, Venue::Binance);
        assert_eq!(skew.estimate_ns(Venue::Binance), Some(50));
        assert_eq!(skew.estimate_ns(Venue::BinanceFutures), None);
        // Two windows later the old minimum is gone.
        skew.publish(Venue::Binance, 70, 2 * WINDOW_NS + 1);
        assert_eq!(skew.estimate_ns(Venue::Binance), Some(50));
        skew.publish(Venue::Binance, 80, 3 * WINDOW_NS + 2);
        assert_eq!(skew.estimate_ns(Venue::Binance), Some(70));
        assert_eq!(skew.estimates_s(), [(Venue::Binance, 70e-9)]);
    }
}
