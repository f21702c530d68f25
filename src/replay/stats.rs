//! Counters of what the replay server did, readable while it runs.
//!
//! This module owns [`Stats`]: plain atomics that sessions bump, plus awaitable
//! conditions so tests can wait for "3 connections open" without polling loops. It does
//! not decide anything; the server and sessions only report into it.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// What the server has done so far. Shared as `Arc<Stats>`; every method is cheap.
#[derive(Debug, Default)]
pub struct Stats {
    connections_accepted: AtomicU64,
    connections_open: AtomicU64,
    max_connections_open: AtomicU64,
    handshakes_refused: AtomicU64,
    messages_sent: AtomicU64,
    requests: AtomicU64,
    pongs_received: AtomicU64,
    closes_received: AtomicU64,
    injected: AtomicU64,
    pong_timeouts: AtomicU64,
    idle_closes: AtomicU64,
    /// Data messages sent on each route of a routed venue (USD-M `public`, `market`).
    routed: [AtomicU64; 2],
    /// Woken after every change, so waiters re-check their condition.
    changed: Notify,
}

/// A copy of every counter at one moment, for printing or comparing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// WebSocket handshakes completed.
    pub connections_accepted: u64,
    /// Sessions running now.
    pub connections_open: u64,
    /// The most sessions that ran at once.
    pub max_connections_open: u64,
    /// Handshakes answered with an HTTP error (unknown path, or `Behavior::refuse`).
    pub handshakes_refused: u64,
    /// Data messages sent, over all connections.
    pub messages_sent: u64,
    /// Text frames received from clients (each one a request, valid or not).
    pub requests: u64,
    /// Pong frames received from clients.
    pub pongs_received: u64,
    /// Close frames received from clients.
    pub closes_received: u64,
    /// Frames sent by `Behavior::injections` (not counted in `messages_sent`).
    pub injected: u64,
    /// Connections closed because a Ping went unanswered for `Behavior::pong_timeout`.
    pub pong_timeouts: u64,
    /// Connections closed because nothing kept them alive for `Behavior::idle_limit` (OKX, Bybit).
    pub idle_closes: u64,
}

impl Stats {
    /// WebSocket handshakes completed.
    pub fn connections_accepted(&self) -> u64 {
        self.connections_accepted.load(Ordering::Relaxed)
    }

    /// Sessions running now.
    pub fn connections_open(&self) -> u64 {
        self.connections_open.load(Ordering::Relaxed)
    }

    /// The most sessions that ran at once.
    pub fn max_connections_open(&self) -> u64 {
        self.max_connections_open.load(Ordering::Relaxed)
    }

    /// Handshakes answered with an HTTP error.
    pub fn handshakes_refused(&self) -> u64 {
        self.handshakes_refused.load(Ordering::Relaxed)
    }

    /// Data messages sent, over all connections.
    pub fn messages_sent(&self) -> u64 {
        self.messages_sent.load(Ordering::Relaxed)
    }

    /// Text frames received from clients.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Pong frames received from clients.
    pub fn pongs_received(&self) -> u64 {
        self.pongs_received.load(Ordering::Relaxed)
    }

    /// Close frames received from clients.
    pub fn closes_received(&self) -> u64 {
        self.closes_received.load(Ordering::Relaxed)
    }

    /// Frames sent by `Behavior::injections` (not counted in `messages_sent`).
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Connections closed because a Ping went unanswered for `Behavior::pong_timeout`.
    pub fn pong_timeouts(&self) -> u64 {
        self.pong_timeouts.load(Ordering::Relaxed)
    }

    /// Connections closed because nothing kept them alive for `Behavior::idle_limit` (OKX, Bybit).
    pub fn idle_closes(&self) -> u64 {
        self.idle_closes.load(Ordering::Relaxed)
    }

    /// Every counter at once (each read separately, so not one atomic cut).
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            connections_accepted: self.connections_accepted(),
            connections_open: self.connections_open(),
            max_connections_open: self.max_connections_open(),
            handshakes_refused: self.handshakes_refused(),
            messages_sent: self.messages_sent(),
            requests: self.requests(),
            pongs_received: self.pongs_received(),
            closes_received: self.closes_received(),
            injected: self.injected(),
            pong_timeouts: self.pong_timeouts(),
            idle_closes: self.idle_closes(),
        }
    }

    /// Resolves once `condition` holds. Re-checked after every counter change.
    pub async fn wait_until(&self, condition: impl Fn(&Stats) -> bool) {
        loop {
            // Register interest before checking, so a change between the check and the
            // await still wakes us (the documented `Notify::enable` pattern).
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if condition(self) {
                return;
            }
            notified.await;
        }
    }

    /// Resolves once at least `n` data messages have been sent in total.
    pub async fn wait_for_sent(&self, n: u64) {
        self.wait_until(|s| s.messages_sent() >= n).await;
    }

    /// Resolves once at least `n` connections have been accepted in total.
    pub async fn wait_for_connections(&self, n: u64) {
        self.wait_until(|s| s.connections_accepted() >= n).await;
    }

    /// Resolves once at least `n` sessions are open at the same time.
    pub async fn wait_for_open(&self, n: u64) {
        self.wait_until(|s| s.connections_open() >= n).await;
    }

    pub(crate) fn session_opened(&self) {
        self.connections_accepted.fetch_add(1, Ordering::Relaxed);
        let open = self.connections_open.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_connections_open.fetch_max(open, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    pub(crate) fn session_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    pub(crate) fn handshake_refused(&self) {
        self.bump(&self.handshakes_refused, 1);
    }

    /// Data messages sent on `route` (`public` or `market`, Binance USD-M's routes).
    pub fn messages_on_route(&self, route: &str) -> u64 {
        super::dialect::binance_futures::ROUTES
            .iter()
            .position(|r| *r == route)
            .map_or(0, |i| self.routed[i].load(Ordering::Relaxed))
    }

    pub(crate) fn sent_on_route(&self, route: &str, n: u64) {
        if let Some(i) = super::dialect::binance_futures::ROUTES
            .iter()
            .position(|r| *r == route)
        {
            self.bump(&self.routed[i], n);
        }
    }

    /// Called once per batch, not per message, to keep the data path cheap.
    pub(crate) fn sent(&self, n: u64) {
        if n > 0 {
            self.bump(&self.messages_sent, n);
        }
    }

    pub(crate) fn request(&self) {
        self.bump(&self.requests, 1);
    }

    pub(crate) fn pong(&self) {
        self.bump(&self.pongs_received, 1);
    }

    pub(crate) fn close_received(&self) {
        self.bump(&self.closes_received, 1);
    }

    pub(crate) fn injection(&self) {
        self.bump(&self.injected, 1);
    }

    pub(crate) fn pong_timed_out(&self) {
        self.bump(&self.pong_timeouts, 1);
    }

    pub(crate) fn idle_closed(&self) {
        self.bump(&self.idle_closes, 1);
    }

    fn bump(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
        self.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn waiters_wake_when_the_condition_is_reached() {
        let stats = Arc::new(Stats::default());
        let waiter = tokio::spawn({
            let stats = Arc::clone(&stats);
            async move { stats.wait_for_sent(5).await }
        });
        stats.sent(2);
        stats.sent(3);
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("waiter should wake")
            .expect("waiter task");
        assert_eq!(stats.messages_sent(), 5);
    }

    #[tokio::test]
    async fn an_already_true_condition_resolves_at_once() {
        let stats = Stats::default();
        stats.session_opened();
        stats.session_opened();
        stats.session_closed();
        stats.wait_for_connections(2).await;
        stats.wait_for_open(1).await;
        let snap = stats.snapshot();
        assert_eq!(
            (
                snap.connections_accepted,
                snap.connections_open,
                snap.max_connections_open
            ),
            (2, 1, 2)
        );
    }
}
