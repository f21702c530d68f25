//! Run-wide counters, shared by the connection tasks, the sink and the final report.
//!
//! Plain relaxed atomics: they are read for reporting, never used to synchronize data.
//! Reporters (status line, stats JSON, metrics) read them a few times a second; the data
//! path only adds to them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use rustc_hash::FxBuildHasher;

use crate::exchange::{StreamId, Venue};
use crate::tick::{Channel, Symbol};

/// Counters of one run.
#[derive(Debug, Default)]
pub struct Stats {
    /// Ticks decoded and admitted into the run (past `--limit` they are not admitted).
    /// Added to once per tick by the connections, so it has a cache line of its own: the
    /// sink adds to `written` beside it on every flush.
    pub received: Padded<AtomicU64>,
    /// Ticks dropped because the channel was full (`--on-full drop-newest`).
    pub dropped: AtomicU64,
    /// Ticks the sink handed to the OS (or showed, for the table).
    pub written: AtomicU64,
    /// The sink stopped taking rows and is ending its files: a stop past its deadline waits
    /// for it, not for an output stuck writing a row.
    pub sink_finishing: std::sync::atomic::AtomicBool,
    /// The same of the raw writer.
    pub raw_finishing: std::sync::atomic::AtomicBool,
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
    /// Bytes the sink handed to the OS (headers included; 0 for the table).
    pub bytes_written: AtomicU64,
    /// Errors a broker output met: failed connections, refused or timed-out publishes.
    pub broker_errors: AtomicU64,
    /// Records a broker output handed over and the broker has not yet acknowledged (a gauge).
    pub broker_inflight: AtomicU64,
    /// Until the first connection: what is being dialed and why it failed (issue 13).
    pub dialing: crate::dialing::Dialing,
    /// Our clock minus each venue's (see [`crate::skew`]).
    pub skew: crate::skew::Skew,
    /// Order-book re-syncs per venue: a symbol's book broke (a sequence break, a failed
    /// checksum, a snapshot later than the buffer bound) and is built again.
    resyncs: PerVenue,
    /// Per-stream counters, in the order of [`Stats::new`]'s streams.
    streams: Box<[StreamCounters]>,
    /// The streams, in the same order.
    ids: Box<[StreamId]>,
    /// Where each market's streams are in `streams`, by position in [`Channel::ALL`]: the
    /// same symbol on two venues is two markets.
    index: HashMap<(Venue, Symbol), [u32; Channel::ALL.len()], FxBuildHasher>,
}

/// A value alone on its cache line, so a thread writing it does not slow down threads
/// writing its neighbours (false sharing).
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct Padded<T>(pub T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The counters of one stream, on a cache line of their own: streams of different
/// connections are counted by different threads.
#[derive(Debug, Default)]
#[repr(align(64))]
struct StreamCounters {
    /// Ticks admitted on this stream.
    received: AtomicU64,
    /// `recv_ns` of its latest tick; 0 before the first.
    last_recv_ns: AtomicU64,
    /// Order-book re-syncs of its symbol (`depth` and `book` streams only).
    resyncs: AtomicU64,
}

/// One counter per venue, indexed by `Venue as usize`.
#[derive(Debug)]
struct PerVenue(Box<[AtomicU64]>);

impl Default for PerVenue {
    fn default() -> PerVenue {
        PerVenue(Venue::ALL.iter().map(|_| AtomicU64::new(0)).collect())
    }
}

/// One stream's counters at a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSnapshot<'a> {
    /// Which stream.
    pub id: &'a StreamId,
    /// Ticks admitted on it.
    pub received: u64,
    /// Receive time of its latest tick (ns since the Unix epoch), if any came.
    pub last_recv_ns: Option<u64>,
    /// Order-book re-syncs of its symbol (always 0 for channels other than `depth`, `book`).
    pub resyncs: u64,
}

/// Where a stream's counters are in a [`Stats`]; see [`Stats::position`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamIndex(u32);

/// No stream at this position of a symbol's index entry.
const NONE: u32 = u32::MAX;

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
    /// Order-book re-syncs of every venue (see [`Stats::resyncs`]).
    pub resyncs: u64,
    /// See [`Stats::replacements`].
    pub replacements: u64,
    /// See [`Stats::bytes_written`].
    pub bytes_written: u64,
    /// See [`Stats::broker_errors`].
    pub broker_errors: u64,
    /// See [`Stats::broker_inflight`].
    pub broker_inflight: u64,
}

impl Stats {
    /// Counters for a run over `streams`, each also counted on its own.
    pub fn new(streams: &[StreamId]) -> Stats {
        let mut index: HashMap<(Venue, Symbol), [u32; Channel::ALL.len()], _> = HashMap::default();
        for (i, id) in streams.iter().enumerate() {
            let slots = index
                .entry((id.venue, id.symbol.clone()))
                .or_insert([NONE; Channel::ALL.len()]);
            slots[id.channel.index()] = u32::try_from(i).expect("fewer than 2^32 streams");
        }
        Stats {
            sink_finishing: Default::default(),
            raw_finishing: Default::default(),
            streams: streams.iter().map(|_| StreamCounters::default()).collect(),
            ids: streams.into(),
            index,
            ..Stats::default()
        }
    }

    /// Where `id` is counted, for [`Stats::stream_received`]; `None` for a stream this
    /// run was not started with. Looked up once per connection, not per tick.
    pub fn position(&self, id: &StreamId) -> Option<StreamIndex> {
        let slot = self.index.get(&(id.venue, id.symbol.clone()))?[id.channel.index()];
        (slot != NONE).then_some(StreamIndex(slot))
    }

    /// Counts one admitted tick, in total and, when its stream is known, on its stream.
    /// Called once per tick: relaxed atomics, no lookup, no clock (the tick carries its time).
    pub fn tick_received(&self, stream: Option<StreamIndex>, recv_ns: u64) {
        self.received.fetch_add(1, Relaxed);
        if let Some(counters) = stream.and_then(|s| self.streams.get(s.0 as usize)) {
            counters.received.fetch_add(1, Relaxed);
            counters.last_recv_ns.store(recv_ns, Relaxed);
        }
    }

    /// Each stream's counters, in the order given to [`Stats::new`].
    pub fn streams(&self) -> impl ExactSizeIterator<Item = StreamSnapshot<'_>> {
        self.ids
            .iter()
            .zip(&self.streams)
            .map(|(id, counters)| StreamSnapshot {
                id,
                received: counters.received.load(Relaxed),
                last_recv_ns: Some(counters.last_recv_ns.load(Relaxed)).filter(|&ns| ns > 0),
                resyncs: counters.resyncs.load(Relaxed),
            })
    }

    /// Counts one order-book re-sync of a symbol of `venue`: once for the venue and once
    /// on each of the symbol's `streams` that are counted (its `depth` and `book` streams,
    /// each of which gets a gap record). Rare: called once per book break.
    pub fn book_resynced(&self, venue: Venue, streams: &[Option<StreamIndex>]) {
        self.resyncs.0[venue as usize].fetch_add(1, Relaxed);
        for counters in streams
            .iter()
            .flatten()
            .filter_map(|s| self.streams.get(s.0 as usize))
        {
            counters.resyncs.fetch_add(1, Relaxed);
        }
    }

    /// Order-book re-syncs per venue: every venue this run keeps books of (its `depth`
    /// or `book` streams), zeros included, so a series exists from the start; plus any
    /// other venue that counted one.
    pub fn resyncs(&self) -> Vec<(Venue, u64)> {
        Venue::ALL
            .iter()
            .map(|&venue| (venue, self.resyncs.0[venue as usize].load(Relaxed)))
            .filter(|&(venue, count)| {
                count > 0
                    || self.ids.iter().any(|id| {
                        id.venue == venue && matches!(id.channel, Channel::Depth | Channel::Book)
                    })
            })
            .collect()
    }

    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Copies the counters.
    pub fn snapshot(&self) -> Snapshot {
        // Later stages first: a tick is received before it is written or dropped, so
        // reading in this order never shows more written than received.
        let written = self.written.load(Relaxed);
        let dropped = self.dropped.load(Relaxed);
        let received = self.received.load(Relaxed);
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
            resyncs: self.resyncs.0.iter().map(|c| c.load(Relaxed)).sum(),
            replacements: self.replacements.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            broker_errors: self.broker_errors.load(Relaxed),
            broker_inflight: self.broker_inflight.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(symbol: &str, channel: Channel) -> StreamId {
        StreamId::new(Venue::Binance, Symbol::parse(symbol).unwrap(), channel)
    }

    #[test]
    fn the_same_symbol_on_two_venues_is_counted_apart() {
        let spot = id("BTCUSDT", Channel::Trade);
        let futures = StreamId {
            venue: Venue::BinanceFutures,
            ..spot.clone()
        };
        let stats = Stats::new(&[spot.clone(), futures.clone()]);
        stats.tick_received(stats.position(&futures), 5);
        let received: Vec<(Venue, u64)> =
            stats.streams().map(|s| (s.id.venue, s.received)).collect();
        assert_eq!(received, [(Venue::Binance, 0), (Venue::BinanceFutures, 1)]);
    }

    #[test]
    fn ticks_count_in_total_and_on_their_stream() {
        let stats = Stats::new(&[
            id("BTCUSDT", Channel::BookTicker),
            id("BTCUSDT", Channel::Trade),
            id("ETHUSDT", Channel::Trade),
        ]);
        for (symbol, recv_ns) in [
            ("BTCUSDT", 10),
            ("BTCUSDT", 20),
            ("ETHUSDT", 30),
            ("XRPUSDT", 40),
        ] {
            let at = stats.position(&id(symbol, Channel::Trade));
            stats.tick_received(at, recv_ns);
        }
        // A stream nobody subscribed to counts only in the total.
        assert_eq!(stats.position(&id("XRPUSDT", Channel::Trade)), None);
        assert_eq!(stats.position(&id("ETHUSDT", Channel::BookTicker)), None);
        assert_eq!(stats.snapshot().received, 4);
        let streams: Vec<_> = stats
            .streams()
            .map(|s| {
                (
                    format!("{}@{}", s.id.symbol, s.id.channel),
                    s.received,
                    s.last_recv_ns,
                )
            })
            .collect();
        assert_eq!(
            streams,
            [
                ("BTCUSDT@bookTicker".to_owned(), 0, None),
                ("BTCUSDT@trade".to_owned(), 2, Some(20)),
                ("ETHUSDT@trade".to_owned(), 1, Some(30)),
            ]
        );
    }

    #[test]
    fn resyncs_count_per_venue_and_on_the_symbols_book_streams() {
        let depth = id("ETHUSDT", Channel::Depth);
        let book = id("ETHUSDT", Channel::Book);
        let other = id("BTCUSDT", Channel::Depth);
        let stats = Stats::new(&[depth.clone(), book.clone(), other.clone()]);
        // Only venues with books are listed, from the start.
        assert_eq!(stats.resyncs(), [(Venue::Binance, 0)]);
        let at = [stats.position(&depth), stats.position(&book)];
        stats.book_resynced(Venue::Binance, &at);
        stats.book_resynced(Venue::Binance, &at[..1]);
        stats.book_resynced(Venue::Okx, &[None]);
        assert_eq!(
            stats.resyncs(),
            [(Venue::Binance, 2), (Venue::Okx, 1)],
            "a venue that counted one is listed"
        );
        assert_eq!(stats.snapshot().resyncs, 3);
        let per_stream: Vec<u64> = stats.streams().map(|s| s.resyncs).collect();
        assert_eq!(per_stream, [2, 1, 0]);
    }

    #[test]
    fn default_stats_count_only_totals() {
        let stats = Stats::default();
        stats.tick_received(stats.position(&id("BTCUSDT", Channel::Trade)), 10);
        assert_eq!(stats.snapshot().received, 1);
        assert_eq!(stats.streams().len(), 0);
    }
}
