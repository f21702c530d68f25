//! What each stream of a connection last delivered: counters found once, the last
//! sequence, silence; and the check that drops repeats while two sockets overlap.

use super::*;

/// What the connection remembers about one stream.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Seen {
    /// Where the run counts this stream, found once here instead of once per tick.
    pub(super) counted_at: Option<StreamIndex>,
    /// The sequence of the last tick delivered (see `TickData::sequence`).
    pub(super) last_seq: Option<u64>,
    /// When the stream last delivered (or its connection opened), for silence warnings.
    pub(super) last_ns: u64,
    /// After a replacement: drop ticks at or below `last_seq` until the new socket delivers
    /// a newer one, so the overlap yields neither a hole nor a duplicate.
    pub(super) dedupe: bool,
    /// A silence warning was logged and the stream has not delivered since.
    pub(super) warned: bool,
}

/// What [`Connection::fresh`] found.
pub(super) enum Fresh {
    /// A new tick, counted at this position of the run's stats (`None`: counted in the
    /// total only).
    New(Option<StreamIndex>),
    /// Already delivered by the other socket of a make-before-break.
    Repeat,
}

impl Connection {
    /// Whether a tick is new (not a repeat from the overlap of a replacement), and records
    /// it: the one lookup of its stream per tick.
    pub(super) fn fresh(&mut self, tick: &Tick, role: Role) -> Fresh {
        let seq = tick.data.sequence();
        let slot = self
            .seen
            .get_mut(&tick.symbol)
            .and_then(|slots| slots[tick.channel().index()].as_mut());
        let Some(seen) = slot else {
            // Not subscribed here: one venue topic may feed two channels (Bybit's tickers
            // carry `ticker` and `funding`), and only the streams asked for are kept.
            return Fresh::Repeat;
        };
        seen.last_ns = tick.recv_ns;
        seen.warned = false;
        if seen.dedupe || self.overlapping || role == Role::Retiring {
            if seen.last_seq.is_some_and(|last| seq <= last) {
                return Fresh::Repeat;
            }
            if role == Role::Primary {
                seen.dedupe = false;
            }
        }
        seen.last_seq = Some(seq);
        Fresh::New(seen.counted_at)
    }
}
