//! What a run knows about connecting before its first connection: the host being dialed,
//! the attempt, and the last failure's cause.
//!
//! Connection tasks write it (a few times per attempt, never per tick); the status line and
//! the live table read it to say `connecting to HOST (attempt N, last: CAUSE)` instead of
//! showing counters that stay at zero; the end of a run reads it to fail a run that never
//! connected ([`NeverConnected`]) with the one-line cause. Once any connection is made it
//! says nothing more: reconnects have their own counters and log lines.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Failed attempts after which, still never connected, a warning is logged at the default
/// verbosity (the first failures are often a slow network and only logged with `-v`).
pub const WARN_AFTER_FAILURES: u32 = 3;

/// What to check when nothing connects, said by every error about it.
pub const WHAT_TO_CHECK: &str = "check the network, the --endpoint URL and any proxy or firewall";

/// The connecting state of one run (see the module docs).
#[derive(Debug, Default)]
pub struct Dialing {
    /// Set by the first successful handshake of any connection.
    connected: AtomicBool,
    /// The rest, written only while connecting.
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// `host:port` of the URL being dialed.
    host: Option<String>,
    /// The highest attempt number of any connection (1 is the first).
    attempt: u32,
    /// Why the latest attempt failed.
    last_cause: Option<String>,
}

/// A run that ended without ever connecting: exit 1, with this one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "never connected to {host} ({attempts} attempt{}, last: {cause}); {}",
    if *attempts == 1 { "" } else { "s" },
    WHAT_TO_CHECK
)]
pub struct NeverConnected {
    /// `host:port` dialed.
    pub host: String,
    /// Attempts started.
    pub attempts: u32,
    /// The last failure, or why there was none.
    pub cause: String,
}

impl Dialing {
    /// Attempt number `attempt` (1-based, per connection) to `url` starts.
    pub fn attempt(&self, url: &str, attempt: u32) {
        let mut state = self.lock();
        if state.host.is_none() {
            state.host = Some(host_of(url).to_owned());
        }
        state.attempt = state.attempt.max(attempt);
    }

    /// The latest attempt failed because of `cause`.
    pub fn failed(&self, cause: &str) {
        self.lock().last_cause = Some(cause.to_owned());
    }

    /// A connection was made.
    pub fn connected(&self) {
        self.connected.store(true, Ordering::Relaxed);
    }

    /// Whether any connection was ever made.
    pub fn ever_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// `connecting to HOST (attempt N, last: CAUSE)` until the first connection; `None`
    /// after it, and before the first attempt.
    pub fn status(&self) -> Option<String> {
        if self.ever_connected() {
            return None;
        }
        let state = self.lock();
        let host = state.host.as_deref()?;
        Some(match &state.last_cause {
            Some(cause) => format!(
                "connecting to {host} (attempt {}, last: {cause})",
                state.attempt
            ),
            None => format!("connecting to {host} (attempt {})", state.attempt),
        })
    }

    /// The error of a run that ended without a connection; `None` if one was made.
    pub fn never_connected(&self, endpoint: &str) -> Option<NeverConnected> {
        if self.ever_connected() {
            return None;
        }
        let state = self.lock();
        Some(NeverConnected {
            host: state
                .host
                .clone()
                .unwrap_or_else(|| host_of(endpoint).to_owned()),
            attempts: state.attempt,
            cause: state
                .last_cause
                .clone()
                .unwrap_or_else(|| "stopped before any attempt completed".to_owned()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The warning logged (without `-v`) after [`WARN_AFTER_FAILURES`] failed attempts.
pub fn still_trying(url: &str, failures: u32, cause: &str, timeout: Duration) -> String {
    format!(
        "cannot connect to {} yet ({failures} attempts, last: {cause}); retrying until --connect-timeout {} ({}; -v logs each attempt)",
        host_of(url),
        humantime::format_duration(timeout),
        WHAT_TO_CHECK
    )
}

/// `host:port` of a `ws://` or `wss://` URL: what a person recognizes in a message.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_it_is_doing_until_the_first_connection() {
        let dialing = Dialing::default();
        assert_eq!(dialing.status(), None);
        dialing.attempt("ws://127.0.0.1:1/stream?streams=btcusdt@trade", 1);
        assert_eq!(
            dialing.status().as_deref(),
            Some("connecting to 127.0.0.1:1 (attempt 1)")
        );
        dialing.failed("Connection refused (os error 111)");
        dialing.attempt("ws://127.0.0.1:1/stream?streams=btcusdt@trade", 2);
        assert_eq!(
            dialing.status().as_deref(),
            Some("connecting to 127.0.0.1:1 (attempt 2, last: Connection refused (os error 111))")
        );
        let error = dialing.never_connected("ws://127.0.0.1:1").unwrap();
        assert_eq!(
            error.to_string(),
            format!(
                "never connected to 127.0.0.1:1 (2 attempts, last: Connection refused (os error 111)); {WHAT_TO_CHECK}"
            )
        );
        dialing.connected();
        assert_eq!(dialing.status(), None);
        assert_eq!(dialing.never_connected("ws://127.0.0.1:1"), None);
    }

    #[test]
    fn hosts_are_cut_from_urls() {
        assert_eq!(
            host_of("wss://stream.binance.com:9443/stream?streams=a"),
            "stream.binance.com:9443"
        );
        assert_eq!(host_of("ws://[::1]:80"), "[::1]:80");
        assert_eq!(host_of("ws://h?x"), "h");
    }
}
