//! Binance's diff-depth sync: a REST snapshot plus the stream's events, as pure logic.
//!
//! This module owns the decisions of Binance's "how to manage a local order book
//! correctly" for spot and USD-M futures (as corrected in November 2025), for one symbol:
//! buffer events while the snapshot is in flight (bounded by a count and by time), retry
//! the snapshot while its `lastUpdateId` is older than the first buffered `U`, drop stale
//! events, check the first applied event brackets the snapshot and every later one
//! continues the previous, and on any break report a gap and start over (this symbol
//! only). It does no I/O: the caller feeds events and snapshots in, asks
//! [`DepthSync::wants_snapshot`] when to fetch one, and is told through a callback what
//! to write: a snapshot event, each applied event (with the book after it), and gaps.
//!
//! | | drop | first applied | then |
//! |---|---|---|---|
//! | spot | `u <= lastUpdateId` | `U <= lastUpdateId+1 <= u` | `U == previous u + 1` |
//! | USD-M futures | `u < lastUpdateId` | `U <= lastUpdateId <= u` | `pu == previous u` |

use std::collections::VecDeque;
use std::time::Duration;

use super::{Book, Change, Side};

/// Which of Binance's procedures applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rules {
    /// Spot (`/api/v3/depth`): update ids are per symbol and consecutive.
    Spot,
    /// USD-M futures (`/fapi/v1/depth`): update ids are global; events chain by `pu`.
    UsdmFutures,
}

/// One diff-depth event of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepthEvent {
    /// `U`: the first update id in the event.
    pub first_id: u64,
    /// `u`: the last update id in the event.
    pub last_id: u64,
    /// `pu`: the previous event's `u` (futures only).
    pub prev_id: Option<u64>,
    /// The venue's time of the event, ns since the Unix epoch.
    pub exchange_ns: u64,
    /// When it was received, ns since the Unix epoch.
    pub recv_ns: u64,
    /// Bid levels to set (zero quantity removes).
    pub bids: Vec<Change>,
    /// Ask levels to set (zero quantity removes).
    pub asks: Vec<Change>,
}

/// A REST depth snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// `lastUpdateId`: the last update the snapshot includes.
    pub last_update_id: u64,
    /// The venue's time of the snapshot where it gives one (futures `T`), else when it
    /// was received; ns since the Unix epoch.
    pub exchange_ns: u64,
    /// When it was received, ns since the Unix epoch.
    pub recv_ns: u64,
    /// Every bid level, best first.
    pub bids: Vec<Change>,
    /// Every ask level, best first.
    pub asks: Vec<Change>,
}

/// How much may be buffered while a snapshot is awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Events buffered at most; one more overflows the buffer.
    pub max_events: usize,
    /// Receive time spanned by the buffer at most; an event later than this after the
    /// first buffered one overflows it.
    pub max_wait: Duration,
}

impl Default for Limits {
    /// 1000 events (100 s of `@100ms` events) or 30 s.
    fn default() -> Self {
        Limits {
            max_events: 1000,
            max_wait: Duration::from_secs(30),
        }
    }
}

/// Why the book stopped following the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapReason {
    /// An event did not continue the previous one (or the snapshot).
    Sequence,
    /// The buffer filled (by count or time) before a usable snapshot arrived.
    Overflow,
    /// The venue's checksum of the book did not match (OKX).
    Checksum,
}

impl GapReason {
    /// The reason as written in a gap record.
    pub fn as_str(self) -> &'static str {
        match self {
            GapReason::Sequence => "sequence",
            GapReason::Overflow => "buffer_overflow",
            GapReason::Checksum => "checksum",
        }
    }
}

/// What the caller writes, in order.
#[derive(Debug)]
pub enum Output<'a> {
    /// The book was built from this snapshot: write it as a snapshot event.
    Snapshot(&'a Snapshot),
    /// This event was applied on top.
    Applied(&'a DepthEvent),
    /// The book broke: write a gap record. A new snapshot event follows once re-synced.
    Gap(GapReason),
}

/// What happened so far, for stats and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Snapshots the book was built from.
    pub snapshots: u64,
    /// Snapshots refused because they were older than the first buffered event.
    pub stale_snapshots: u64,
    /// Events applied.
    pub applied: u64,
    /// Events dropped as already contained in the snapshot (or seen before).
    pub dropped: u64,
    /// Sequence breaks.
    pub gaps: u64,
    /// Buffer overflows.
    pub overflows: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No book: events are buffered until a usable snapshot arrives.
    Buffering,
    /// The book follows the stream; `last` is the last applied `u` (none yet after the
    /// snapshot `snapshot_id`).
    Synced { snapshot_id: u64, last: Option<u64> },
}

enum Step {
    Apply,
    Drop,
    Gap,
}

/// One symbol's book and its sync with the venue.
#[derive(Debug)]
pub struct DepthSync {
    rules: Rules,
    limits: Limits,
    book: Book,
    state: State,
    buffer: VecDeque<DepthEvent>,
    in_flight: bool,
    /// A gap record has been asked for since the book was last synced: one per outage.
    outage_reported: bool,
    counters: Counters,
}

/// Receives what to write, with the book as it stands after it.
pub type Emit<'e> = dyn FnMut(Output<'_>, &Book) + 'e;

impl DepthSync {
    /// A symbol with no book yet: it buffers events, and wants a snapshot once it has one.
    pub fn new(rules: Rules, limits: Limits) -> DepthSync {
        DepthSync {
            rules,
            limits,
            book: Book::new(),
            state: State::Buffering,
            buffer: VecDeque::new(),
            in_flight: false,
            outage_reported: false,
            counters: Counters::default(),
        }
    }

    /// The book (empty while buffering).
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// The book follows the stream.
    pub fn is_synced(&self) -> bool {
        matches!(self.state, State::Synced { .. })
    }

    /// The id of the last update the book includes (`u`, or the snapshot's id), when synced.
    pub fn update_id(&self) -> Option<u64> {
        match self.state {
            State::Synced { snapshot_id, last } => Some(last.unwrap_or(snapshot_id)),
            State::Buffering => None,
        }
    }

    /// Events waiting for a snapshot.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// What happened so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// A snapshot should be fetched now: the book is not synced, at least one event is
    /// buffered (its `U` is what the snapshot is checked against, as Binance's procedure
    /// says) and no snapshot is in flight.
    pub fn wants_snapshot(&self) -> bool {
        self.state == State::Buffering && !self.in_flight && !self.buffer.is_empty()
    }

    /// The caller started fetching a snapshot (never more than one at a time).
    pub fn snapshot_started(&mut self) {
        self.in_flight = true;
    }

    /// The fetch failed (HTTP error, 429, timeout): [`DepthSync::wants_snapshot`] again.
    pub fn snapshot_failed(&mut self) {
        self.in_flight = false;
    }

    /// The stream restarted (a reconnect): the book is dropped and built again from a
    /// new snapshot. The caller reports the reconnect's gap itself, so none is emitted.
    pub fn restart(&mut self) {
        self.book.clear();
        self.buffer.clear();
        self.state = State::Buffering;
        self.outage_reported = true;
    }

    /// One event from the stream.
    pub fn on_event(&mut self, event: DepthEvent, emit: &mut Emit<'_>) {
        let State::Synced { snapshot_id, last } = self.state else {
            self.buffer_event(event, emit);
            return;
        };
        match self.step(&event, snapshot_id, last) {
            Step::Drop => self.counters.dropped += 1,
            Step::Apply => {
                for change in &event.bids {
                    self.book.apply(Side::Bid, change);
                }
                for change in &event.asks {
                    self.book.apply(Side::Ask, change);
                }
                self.state = State::Synced {
                    snapshot_id,
                    last: Some(event.last_id),
                };
                self.counters.applied += 1;
                emit(Output::Applied(&event), &self.book);
            }
            Step::Gap => {
                self.counters.gaps += 1;
                self.book.clear();
                self.state = State::Buffering;
                self.report(GapReason::Sequence, emit);
                // The breaking event may well be part of the next sync.
                self.buffer_event(event, emit);
            }
        }
    }

    /// A snapshot arrived. Used when the book is not synced and it is not older than the
    /// first buffered event; an older one is refused and wanted again (as is one that
    /// finds nothing buffered to check it against, after a restart).
    pub fn on_snapshot(&mut self, snapshot: Snapshot, emit: &mut Emit<'_>) {
        self.in_flight = false;
        if self.is_synced() {
            return;
        }
        let Some(first) = self.buffer.front() else {
            self.counters.stale_snapshots += 1;
            return;
        };
        let older = match self.rules {
            Rules::Spot => snapshot.last_update_id.saturating_add(1) < first.first_id,
            Rules::UsdmFutures => snapshot.last_update_id < first.first_id,
        };
        if older {
            self.counters.stale_snapshots += 1;
            return;
        }
        self.book.replace(&snapshot.bids, &snapshot.asks);
        self.state = State::Synced {
            snapshot_id: snapshot.last_update_id,
            last: None,
        };
        self.outage_reported = false;
        self.counters.snapshots += 1;
        emit(Output::Snapshot(&snapshot), &self.book);
        for event in std::mem::take(&mut self.buffer) {
            self.on_event(event, emit);
        }
    }

    fn step(&self, event: &DepthEvent, snapshot_id: u64, last: Option<u64>) -> Step {
        let (first, final_id) = (event.first_id, event.last_id);
        match (self.rules, last) {
            (_, Some(last)) if final_id <= last => Step::Drop,
            (Rules::Spot, None) if final_id <= snapshot_id => Step::Drop,
            (Rules::Spot, None) => {
                let next = snapshot_id + 1;
                if first <= next && next <= final_id {
                    Step::Apply
                } else {
                    Step::Gap
                }
            }
            (Rules::Spot, Some(last)) if first == last + 1 => Step::Apply,
            (Rules::UsdmFutures, None) if final_id < snapshot_id => Step::Drop,
            (Rules::UsdmFutures, None) => {
                if first <= snapshot_id && snapshot_id <= final_id {
                    Step::Apply
                } else {
                    Step::Gap
                }
            }
            (Rules::UsdmFutures, Some(last)) if event.prev_id == Some(last) => Step::Apply,
            (_, Some(_)) => Step::Gap,
        }
    }

    fn buffer_event(&mut self, event: DepthEvent, emit: &mut Emit<'_>) {
        if let Some(first) = self.buffer.front() {
            let waited = event.recv_ns.saturating_sub(first.recv_ns);
            if self.buffer.len() >= self.limits.max_events
                || u128::from(waited) > self.limits.max_wait.as_nanos()
            {
                self.counters.overflows += 1;
                self.buffer.clear();
                self.report(GapReason::Overflow, emit);
            }
        }
        self.buffer.push_back(event);
    }

    fn report(&mut self, reason: GapReason, emit: &mut Emit<'_>) {
        if !self.outage_reported {
            self.outage_reported = true;
            emit(Output::Gap(reason), &self.book);
        }
    }
}

#[cfg(test)]
mod tests;
