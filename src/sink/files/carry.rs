//! The `depth` books a rotating output carries from one file to the next.
//!
//! A `depth` file is self-sufficient: per symbol it starts with a snapshot event, and
//! replaying it rebuilds the venue's book. A rotated output (`--rotate`, a `{date}` or
//! `{hour}` template) cuts the stream into files; so that each of them rebuilds on its
//! own, the sink keeps, per file slot and `(exchange, symbol)`, the book that the `depth`
//! rows it wrote build (a snapshot row replaces it, an event applies on top, a `depth` gap
//! record breaks it until the next snapshot) and opens every next file with one synthetic
//! snapshot event per book in sync: `is_snapshot: true` (NDJSON adds `"synthetic": true`),
//! with the update id and times of the last row applied. A book that is broken when the
//! file opens gets none: its next row is the venue's new snapshot anyway.
//!
//! Only `depth` rows and gap records of rotating outputs come here, never ticks: the other
//! channels pay nothing. It owns no file; `files` writes what [`Carried::opening`] gives.

use rustc_hash::FxHashMap;

use crate::book::row::{BookData, BookRecord, DepthRow};
use crate::book::{Book, Change, Level, Side};
use crate::tick::{Channel, Gap, Symbol, Venue};

/// The books of one file slot's `depth` streams.
#[derive(Debug, Default)]
pub(super) struct Carried {
    /// Where each stream's book is in `books`.
    index: FxHashMap<(Venue, Symbol), usize>,
    /// In the order the streams first came, so every file opens in the same order.
    books: Vec<Carry>,
}

/// One `(exchange, symbol)`'s book as the rows written so far build it.
#[derive(Debug)]
struct Carry {
    exchange: Venue,
    symbol: Symbol,
    book: Book,
    /// A snapshot row came and no gap record since: the book is the venue's.
    synced: bool,
    /// The last row's `update_id`, `exchange_ns` and `recv_ns`.
    update_id: u64,
    exchange_ns: u64,
    recv_ns: u64,
}

impl Carried {
    /// A `depth` row was written to the slot's file: the book follows it.
    pub(super) fn on_depth(&mut self, record: &BookRecord) {
        let BookData::Depth(row) = &record.data else {
            return;
        };
        let carry = self.entry(record.exchange, &record.symbol);
        if row.is_snapshot {
            carry.book.clear();
            carry.synced = true;
        } else if !carry.synced {
            // An event without a snapshot before it cannot be applied (the file has none
            // either); the next snapshot row syncs the book.
            return;
        }
        apply(&mut carry.book, Side::Bid, &row.bids);
        apply(&mut carry.book, Side::Ask, &row.asks);
        carry.update_id = row.update_id;
        carry.exchange_ns = row.exchange_ns;
        carry.recv_ns = record.recv_ns;
    }

    /// A gap record was written to the slot: a `depth` stream's book is unknown until
    /// its next snapshot row.
    pub(super) fn on_gap(&mut self, gap: &Gap) {
        if gap.channel != Channel::Depth {
            return;
        }
        if let Some(&i) = self.index.get(&(gap.exchange, gap.symbol.clone())) {
            self.books[i].synced = false;
        }
    }

    /// The synthetic snapshot events that open the slot's next file: one per book in sync.
    pub(super) fn opening(&self) -> impl Iterator<Item = BookRecord> + '_ {
        self.books.iter().filter(|c| c.synced).map(|c| BookRecord {
            exchange: c.exchange,
            symbol: c.symbol.clone(),
            recv_ns: c.recv_ns,
            data: BookData::Depth(DepthRow::carried(&c.book, c.update_id, c.exchange_ns)),
        })
    }

    fn entry(&mut self, exchange: Venue, symbol: &Symbol) -> &mut Carry {
        let books = &mut self.books;
        let i = *self
            .index
            .entry((exchange, symbol.clone()))
            .or_insert_with(|| {
                books.push(Carry {
                    exchange,
                    symbol: symbol.clone(),
                    book: Book::new(),
                    synced: false,
                    update_id: 0,
                    exchange_ns: 0,
                    recv_ns: 0,
                });
                books.len() - 1
            });
        &mut self.books[i]
    }
}

/// Applies a row's levels to one side (a zero quantity removes the level).
fn apply(book: &mut Book, side: Side, levels: &[Level]) {
    for level in levels {
        // The levels came through `Change` on their way in: they always parse again.
        if let Ok(change) = Change::from_decimals(level.price, level.qty) {
            book.apply(side, &change);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(symbol: &str, row: DepthRow) -> BookRecord {
        BookRecord {
            exchange: Venue::Binance,
            symbol: Symbol::parse(symbol).unwrap(),
            recv_ns: row.update_id * 10,
            data: BookData::Depth(row),
        }
    }

    fn levels(pairs: &[(&str, &str)]) -> Vec<Level> {
        pairs
            .iter()
            .map(|(p, q)| Change::parse(p, q).unwrap().level)
            .collect()
    }

    fn event(id: u64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> DepthRow {
        DepthRow {
            exchange_ns: id,
            first_update_id: Some(id),
            update_id: id,
            bids: levels(bids),
            asks: levels(asks),
            ..DepthRow::default()
        }
    }

    fn snapshot(id: u64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> DepthRow {
        DepthRow {
            is_snapshot: true,
            first_update_id: None,
            ..event(id, bids, asks)
        }
    }

    fn opening_lines(carried: &Carried) -> Vec<String> {
        carried
            .opening()
            .map(|r| {
                let mut line = Vec::new();
                r.write_ndjson_line(&mut line);
                String::from_utf8(line).unwrap()
            })
            .collect()
    }

    #[test]
    fn the_opening_snapshot_is_the_book_the_rows_built() {
        let mut carried = Carried::default();
        carried.on_depth(&record(
            "BTCUSDT",
            snapshot(10, &[("100", "1"), ("99", "2")], &[("101", "3")]),
        ));
        carried.on_depth(&record(
            "BTCUSDT",
            event(11, &[("100", "0"), ("98.5", "4")], &[("101", "5")]),
        ));
        // Another symbol's event before its snapshot is not applied, and opens nothing.
        carried.on_depth(&record("ETHUSDT", event(3, &[("1", "1")], &[])));
        let lines = opening_lines(&carried);
        assert_eq!(
            lines,
            [
                "{\"exchange\":\"binance\",\"symbol\":\"BTCUSDT\",\"channel\":\"depth\",\"recv_ns\":110,\
                 \"exchange_ns\":11,\"is_snapshot\":true,\"synthetic\":true,\"first_update_id\":null,\
                 \"update_id\":11,\"bids\":[[\"99\",\"2\"],[\"98.5\",\"4\"]],\"asks\":[[\"101\",\"5\"]]}\n"
            ]
        );
    }

    #[test]
    fn a_gap_breaks_a_book_until_its_next_snapshot() {
        let mut carried = Carried::default();
        carried.on_depth(&record("BTCUSDT", snapshot(10, &[("100", "1")], &[])));
        carried.on_depth(&record("ETHUSDT", snapshot(20, &[("5", "1")], &[])));
        let gap = |channel| Gap {
            exchange: Venue::Binance,
            symbol: Symbol::parse("ETHUSDT").unwrap(),
            channel,
            from_ns: 1,
            to_ns: 2,
            reason: "sequence",
        };
        carried.on_gap(&gap(Channel::Book));
        assert_eq!(
            carried.opening().count(),
            2,
            "a book row's gap is not depth's"
        );
        carried.on_gap(&gap(Channel::Depth));
        let symbols: Vec<String> = carried.opening().map(|r| r.symbol.to_string()).collect();
        assert_eq!(symbols, ["BTCUSDT"]);
        // Events after the gap and before the snapshot change nothing; the snapshot syncs.
        carried.on_depth(&record("ETHUSDT", event(21, &[("6", "1")], &[])));
        carried.on_depth(&record("ETHUSDT", snapshot(30, &[("7", "1")], &[])));
        let lines = opening_lines(&carried);
        assert_eq!(lines.len(), 2);
        assert!(
            lines[1].contains("\"update_id\":30,\"bids\":[[\"7\",\"1\"]]"),
            "{}",
            lines[1]
        );
    }
}
