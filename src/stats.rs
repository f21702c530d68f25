//! Run-wide counters, shared by the connection tasks, the sink and the final report.
//!
//! Plain relaxed atomics: they are read for reporting, never used to synchronize data.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters of one run.
#[derive(Debug, Default)]
pub struct Stats {
    /// Ticks decoded and admitted into the run (past `--limit` they are not admitted).
    pub received: AtomicU64,
    /// Ticks dropped because the channel was full (`--on-full drop-newest`).
    pub dropped: AtomicU64,
    /// Ticks the sink handed to the OS (or showed, for the table).
    pub written: AtomicU64,
    /// Frames that could not be decoded.
    pub decode_errors: AtomicU64,
    /// Successful WebSocket handshakes.
    pub connects: AtomicU64,
    /// Handshakes that re-established a lost connection.
    pub reconnects: AtomicU64,
    /// Connections declared stalled (no frame for `--stale-after`).
    pub stalls: AtomicU64,
    /// Gap records emitted (one per stream per interruption).
    pub gaps: AtomicU64,
    /// Make-before-break replacements (max age or `serverShutdown`).
    pub replacements: AtomicU64,
}

/// A point-in-time copy of [`Stats`] with the derived loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// See [`Stats::received`].
    pub received: u64,
    /// See [`Stats::dropped`].
    pub dropped: u64,
    /// See [`Stats::written`].
    pub written: u64,
    /// Received but neither written nor knowingly dropped: what a forced stop lost.
    pub lost: u64,
    /// See [`Stats::decode_errors`].
    pub decode_errors: u64,
    /// See [`Stats::connects`].
    pub connects: u64,
    /// See [`Stats::reconnects`].
    pub reconnects: u64,
    /// See [`Stats::stalls`].
    pub stalls: u64,
    /// See [`Stats::gaps`].
    pub gaps: u64,
    /// See [`Stats::replacements`].
    pub replacements: u64,
}

impl Stats {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Copies the counters.
    pub fn snapshot(&self) -> Snapshot {
        let received = self.received.load(Relaxed);
        let dropped = self.dropped.load(Relaxed);
        let written = self.written.load(Relaxed);
        Snapshot {
            received,
            dropped,
            written,
            lost: received.saturating_sub(written + dropped),
            decode_errors: self.decode_errors.load(Relaxed),
            connects: self.connects.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            stalls: self.stalls.load(Relaxed),
            gaps: self.gaps.load(Relaxed),
            replacements: self.replacements.load(Relaxed),
        }
    }
}
