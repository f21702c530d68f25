//! How a session behaves apart from answering requests: pacing, looping, when to stop
//! sending, when to close, how often to ping.
//!
//! This module owns [`Behavior`] (the knobs, faults included) and the two small decisions
//! made from it: [`Behavior::after_sent`] (what to do after the n-th data message) and
//! [`Pacer`] (how many messages are due now). What a fault puts on the wire is built in
//! `fault`. It does no I/O.

use std::time::Duration;

use tokio::time::Instant;

use super::fault::{DEFAULT_OVERSIZED_BYTES, Injection, Refusal};

/// The default interval between server pings, as on Binance spot.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(20);

/// The most data messages queued before one flush; bounds the work between two looks at
/// incoming frames and the shutdown token.
pub(crate) const MAX_BATCH: usize = 256;

/// What every session of a server does, apart from answering requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behavior {
    /// Data messages per second on each connection; 0 sends as fast as the socket takes them.
    pub rate: u64,
    /// Start over at the end of the library instead of going idle.
    pub looped: bool,
    /// Send at most this many data messages, then idle with the connection open (requests
    /// are still answered and pings still sent).
    pub limit: Option<u64>,
    /// After this many data messages, send a normal Close frame and end the connection.
    pub close_after: Option<u64>,
    /// Time between server pings; zero sends none.
    pub ping_interval: Duration,
    /// After this many data messages, drop the TCP connection without a Close frame (what
    /// a crashed server or a broken link looks like to the client).
    pub drop_after: Option<u64>,
    /// After this many data messages, send nothing more (no data, pings, pongs or Close
    /// replies; `max_age` and `pong_timeout` no longer apply) while reading and discarding
    /// what arrives; the connection ends only when the client goes away or the server stops.
    pub stall_after: Option<u64>,
    /// Answer handshakes with an HTTP error instead of upgrading them.
    pub refuse: Option<Refusal>,
    /// Frames slipped in between data messages, each once per connection.
    pub injections: Vec<Injection>,
    /// The length in bytes of an `oversized` injection.
    pub oversized_bytes: usize,
    /// Close each connection with a normal Close frame (reason "max age") once it is this
    /// old, as Binance does after 24 h.
    pub max_age: Option<Duration>,
    /// Close a connection (code 1008, reason "pong timeout") when no Pong arrives this long
    /// after a Ping, as Binance does after a minute. Needs a nonzero `ping_interval`.
    pub pong_timeout: Option<Duration>,
    /// One timeline for all connections, like a live venue: message `i` of the library is
    /// published at server start + `i / rate`, and a connection receives what is published
    /// after it connected, not the library from its start. Needs a nonzero `rate`.
    pub live: bool,
    /// Benchmark mode: instead of the library, send this many generated messages for the
    /// streams in the URL as fast as the socket takes them, then close (see `flood.rs`).
    pub flood: Option<u64>,
    /// Depth mode: serve generated order books as diff-depth streams (see `depth.rs`).
    pub depth: Option<std::sync::Arc<super::depth::DepthMarkets>>,
    /// Close a connection of a venue that drops silent ones once nothing kept it alive for
    /// this long: on OKX nothing pushed (data or a `pong` to the client's `ping`), on Bybit
    /// neither a client ping nor data. `None` is the venue's own limit (OKX 30 s, Bybit
    /// 10 minutes: `okx::IDLE_LIMIT`, `bybit::IDLE_LIMIT`); zero never closes. Binance
    /// connections are closed by `pong_timeout` and `max_age` instead.
    pub idle_limit: Option<Duration>,
    /// Stamp every message's times with this server's clock shifted by this many ms (a
    /// venue whose clock is ahead, positive, or behind, negative).
    pub clock_shift_ms: Option<i64>,
    /// `--speed X` in thousandths (1000: the original pacing): a raw capture's messages go
    /// out at their receive times' distances, divided by X, from the first one sent. `None`
    /// (or a library without receive times) sends as `rate` says.
    pub speed_milli: Option<u64>,
    /// One update of an OKX or Bybit order-book stream goes wrong on the wire, once per
    /// connection (see `dialect::books`).
    pub book_fault: Option<super::dialect::books::BookFault>,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            rate: 0,
            looped: false,
            limit: None,
            close_after: None,
            ping_interval: DEFAULT_PING_INTERVAL,
            drop_after: None,
            stall_after: None,
            refuse: None,
            injections: Vec::new(),
            oversized_bytes: DEFAULT_OVERSIZED_BYTES,
            max_age: None,
            pong_timeout: None,
            live: false,
            flood: None,
            depth: None,
            idle_limit: None,
            clock_shift_ms: None,
            speed_milli: None,
            book_fault: None,
        }
    }
}

impl Behavior {
    /// The idle limit of a venue whose own limit is `venue_limit`; `None` never closes.
    pub(crate) fn idle_limit_or(&self, venue_limit: Duration) -> Option<Duration> {
        let limit = self.idle_limit.unwrap_or(venue_limit);
        (!limit.is_zero()).then_some(limit)
    }
}

/// What a session does next, decided after each data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Keep sending.
    Continue,
    /// Stop sending data but keep the connection (the `limit` was reached).
    Idle,
    /// Close the connection with a normal Close frame.
    Close,
    /// Drop the TCP connection without a Close frame.
    Drop,
    /// Go silent, keeping the connection open.
    Stall,
}

impl Behavior {
    /// The step after `sent` data messages on one connection (also asked with 0 at start).
    /// When several counts are reached at once, the most abrupt step wins: drop, stall,
    /// close, idle.
    pub(crate) fn after_sent(&self, sent: u64) -> Step {
        let reached = |count: Option<u64>| count.is_some_and(|n| sent >= n);
        if reached(self.drop_after) {
            Step::Drop
        } else if reached(self.stall_after) {
            Step::Stall
        } else if reached(self.close_after) {
            Step::Close
        } else if reached(self.limit) {
            Step::Idle
        } else {
            Step::Continue
        }
    }
}

/// Spaces data messages at a fixed rate without a timer per message: at each due time it
/// allows every message that has come due since, so high rates survive a 1 ms timer.
#[derive(Clone, Debug)]
pub(crate) struct Pacer {
    /// Time per message; `None` sends without pause.
    period: Option<Duration>,
    /// When the next message is due.
    next: Instant,
}

impl Pacer {
    /// A pacer for `rate` messages per second (0: unpaced), starting now.
    pub(crate) fn new(rate: u64, now: Instant) -> Pacer {
        let period = (rate > 0).then(|| Duration::from_nanos((1_000_000_000 / rate).max(1)));
        Pacer { period, next: now }
    }

    /// A pacer whose next message is due at `next` (for the live timeline).
    pub(crate) fn starting_at(rate: u64, next: Instant) -> Pacer {
        Pacer {
            next,
            ..Pacer::new(rate, next)
        }
    }

    /// The time per message, `None` when unpaced.
    pub(crate) fn period(&self) -> Option<Duration> {
        self.period
    }

    /// When the next message is due, or `None` when it always is.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.period.map(|_| self.next)
    }

    /// How many messages may be sent at `now` (at most [`MAX_BATCH`]).
    pub(crate) fn allowance(&self, now: Instant) -> usize {
        let Some(period) = self.period else {
            return MAX_BATCH;
        };
        if now < self.next {
            return 0;
        }
        let late = now.duration_since(self.next).as_nanos() / period.as_nanos();
        usize::try_from(late.saturating_add(1))
            .unwrap_or(MAX_BATCH)
            .min(MAX_BATCH)
    }

    /// Records that `n` messages were sent.
    pub(crate) fn consumed(&mut self, n: usize) {
        if let Some(period) = self.period {
            self.next += period * u32::try_from(n).unwrap_or(u32::MAX);
        }
    }

    /// Starts the schedule afresh, so time spent paused is not paid back in a burst.
    pub(crate) fn restart(&mut self, now: Instant) {
        self.next = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_sent_steps() {
        let b = Behavior {
            limit: Some(5),
            close_after: Some(8),
            ..Behavior::default()
        };
        let steps: Vec<Step> = [0, 4, 5, 7, 8, 9].map(|n| b.after_sent(n)).to_vec();
        use Step::{Close, Continue, Idle};
        assert_eq!(steps, [Continue, Continue, Idle, Idle, Close, Close]);
        assert_eq!(Behavior::default().after_sent(u64::MAX), Continue);
        let close_first = Behavior {
            close_after: Some(0),
            ..Behavior::default()
        };
        assert_eq!(close_first.after_sent(0), Close);
        let faults = Behavior {
            limit: Some(2),
            close_after: Some(3),
            stall_after: Some(4),
            drop_after: Some(4),
            ..Behavior::default()
        };
        let steps: Vec<Step> = [1, 2, 3, 4, 5].map(|n| faults.after_sent(n)).to_vec();
        assert_eq!(steps, [Continue, Idle, Close, Step::Drop, Step::Drop]);
        let stall = Behavior {
            stall_after: Some(1),
            close_after: Some(1),
            ..Behavior::default()
        };
        assert_eq!(
            (stall.after_sent(0), stall.after_sent(1)),
            (Continue, Step::Stall)
        );
    }

    #[test]
    fn one_idle_limit_defaults_to_each_venues_own() {
        let venue = Duration::from_secs(30);
        assert_eq!(Behavior::default().idle_limit_or(venue), Some(venue));
        let short = Behavior {
            idle_limit: Some(Duration::from_millis(400)),
            ..Behavior::default()
        };
        assert_eq!(short.idle_limit_or(venue), Some(Duration::from_millis(400)));
        let never = Behavior {
            idle_limit: Some(Duration::ZERO),
            ..Behavior::default()
        };
        assert_eq!(never.idle_limit_or(venue), None);
    }

    #[test]
    fn unpaced_always_allows_a_full_batch() {
        let now = Instant::now();
        let p = Pacer::new(0, now);
        assert_eq!((p.due(), p.allowance(now)), (None, MAX_BATCH));
    }

    #[test]
    fn paced_allows_what_came_due() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut p = Pacer::new(100, start); // one per 10 ms
        assert_eq!(p.allowance(start), 1);
        p.consumed(1);
        assert_eq!(p.due(), Some(start + ms(10)));
        assert_eq!(p.allowance(start + ms(5)), 0);
        assert_eq!(p.allowance(start + ms(35)), 3);
        p.consumed(3);
        assert_eq!(p.due(), Some(start + ms(40)));
        assert_eq!(p.allowance(start + ms(100_000)), MAX_BATCH);
        p.restart(start + ms(100_000));
        assert_eq!(p.allowance(start + ms(100_000)), 1);
        assert_eq!(Pacer::new(u64::MAX, start).allowance(start), 1);
    }
}
