//! OKX's `books` sync: applying decoded snapshots and updates to one instrument's book,
//! checking `prevSeqId` and OKX's CRC32 checksum of the top 25 levels, and saying when the
//! book must be re-synced ([`Resync`]). It reads nothing from the wire (`rows` does).

use super::super::{DepthUpdate, Level, Out};
use crate::book::{Book, Change, Side, checksum};

/// Why a book must be re-synced (re-subscribed, with a gap record).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Resync {
    /// An update came before any snapshot.
    #[error("an update before the snapshot")]
    NoSnapshot,
    /// `prevSeqId` is not the previous message's `seqId`.
    #[error("sequence break: prevSeqId {prev} after seqId {last}")]
    Sequence {
        /// The previous message's `seqId`.
        last: u64,
        /// This message's `prevSeqId`.
        prev: u64,
    },
    /// The book's checksum differs from the one OKX sent.
    #[error("checksum mismatch: ours {ours}, OKX's {theirs}")]
    Checksum {
        /// Computed from the book after applying the message.
        ours: i64,
        /// Sent with the message.
        theirs: i64,
    },
    /// A level's text could not be keyed.
    #[error("bad level: {0}")]
    Level(String),
}

/// One instrument's `books` state: the book, and the last `seqId` applied.
#[derive(Debug, Default)]
pub struct BookSync {
    /// The book as OKX holds it, once a snapshot arrived.
    pub book: Book,
    synced: bool,
    last_seq: Option<u64>,
}

impl BookSync {
    /// Applies `update` (decoded into `out`): a snapshot replaces the book; an update must
    /// follow the previous `seqId` (when OKX sends `prevSeqId`) and leave the book with OKX's
    /// checksum. On `Err` the book is cleared: the caller re-subscribes the instrument and
    /// writes a gap record; the next snapshot syncs it again.
    pub fn apply(&mut self, out: &Out, update: &DepthUpdate) -> Result<(), Resync> {
        let result = self.try_apply(out, update);
        if result.is_err() {
            self.book.clear();
            self.synced = false;
            self.last_seq = None;
        }
        result
    }

    fn try_apply(&mut self, out: &Out, update: &DepthUpdate) -> Result<(), Resync> {
        let (bids, asks) = out.levels_of(update);
        let change = |l: &Level| {
            Change::parse(&l.price.to_text(), &l.qty.to_text())
                .map_err(|e| Resync::Level(e.to_string()))
        };
        let bids = bids.iter().map(change).collect::<Result<Vec<_>, _>>()?;
        let asks = asks.iter().map(change).collect::<Result<Vec<_>, _>>()?;
        if update.snapshot {
            self.book.replace(&bids, &asks);
            self.synced = true;
        } else {
            if !self.synced {
                return Err(Resync::NoSnapshot);
            }
            if let (Some(prev), Some(last)) = (update.prev_update_id, self.last_seq)
                && prev != last
            {
                return Err(Resync::Sequence { last, prev });
            }
            bids.iter().for_each(|c| self.book.apply(Side::Bid, c));
            asks.iter().for_each(|c| self.book.apply(Side::Ask, c));
        }
        if update.last_update_id != 0 {
            self.last_seq = Some(update.last_update_id);
        }
        if let Some(theirs) = update.checksum {
            let ours = i64::from(checksum::okx(&self.book));
            if ours != theirs {
                return Err(Resync::Checksum { ours, theirs });
            }
        }
        Ok(())
    }
}
