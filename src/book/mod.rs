//! L2 order books: price levels keyed by an exact fixed-point price, holding the venue's text.
//!
//! This module owns one instrument's book ([`Book`]): applying a level change (a zero
//! quantity removes the level), replacing the whole book with a snapshot, and reading the
//! best N levels ([`BookRow`]). Levels are ordered by [`Price`], parsed from the venue's
//! text and never through floating point; the text of price and quantity is kept and is
//! what output shows. Sequence rules (which event applies when) are not here: Binance's
//! snapshot sync is in [`sync`], OKX's checksum in [`checksum`]; venues own the rest.

pub mod binance;
pub mod budget;
pub mod checksum;
pub mod feed;
pub mod fetch;
pub mod price;
pub mod pushed;
pub mod rebuild;
pub mod row;
pub mod sync;

use std::collections::BTreeMap;

use crate::decimal::{Decimal, DecimalError};

pub use price::{Price, PriceError};

/// A side of the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy orders, best (highest) first.
    Bid,
    /// Sell orders, best (lowest) first.
    Ask,
}

impl Side {
    /// The side's name as written in output (`bid`, `ask`).
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Bid => "bid",
            Side::Ask => "ask",
        }
    }
}

/// One price level as the venue wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// The price's text.
    pub price: Decimal,
    /// The quantity's text.
    pub qty: Decimal,
}

/// One level change of a venue event: the new quantity at a price (zero removes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// The key the book orders by.
    pub key: Price,
    /// The texts.
    pub level: Level,
    /// The quantity is zero: the level goes.
    pub removes: bool,
}

/// Why a level could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LevelError {
    /// The price text.
    #[error(transparent)]
    Price(#[from] PriceError),
    /// The quantity text.
    #[error("quantity: {0}")]
    Qty(#[from] DecimalError),
}

impl Change {
    /// Reads a `[price, qty]` pair of decimal texts.
    #[inline]
    pub fn parse(price: &str, qty: &str) -> Result<Change, LevelError> {
        let key = Price::parse(price)?;
        let price = Decimal::parse(price).map_err(|_| PriceError(price.to_owned()))?;
        let qty_text = Decimal::parse(qty)?;
        if qty.starts_with('-') {
            return Err(LevelError::Qty(DecimalError(qty.to_owned())));
        }
        Ok(Change {
            key,
            level: Level {
                price,
                qty: qty_text,
            },
            removes: price::is_zero(qty),
        })
    }
}

impl Change {
    /// A change from texts a decoder already checked as plain decimal text (the venues'
    /// `Level`): only the key is computed, and whether the quantity is zero.
    #[inline]
    pub fn from_decimals(price: Decimal, qty: Decimal) -> Result<Change, LevelError> {
        let price_text = price.to_text();
        let qty_text = qty.to_text();
        if qty_text.starts_with('-') {
            return Err(LevelError::Qty(DecimalError(qty_text.to_string())));
        }
        Ok(Change {
            key: Price::parse(&price_text)?,
            level: Level { price, qty },
            removes: price::is_zero(&qty_text),
        })
    }
}

/// One instrument's L2 book.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Book {
    bids: BTreeMap<Price, Level>,
    asks: BTreeMap<Price, Level>,
}

impl Book {
    /// An empty book.
    pub fn new() -> Book {
        Book::default()
    }

    /// Applies one level change: sets the level's quantity (and its texts), or removes the
    /// level when the quantity is zero. Removing a level the book does not hold is normal
    /// (Binance says so) and changes nothing.
    #[inline]
    pub fn apply(&mut self, side: Side, change: &Change) {
        let levels = self.side_mut(side);
        if change.removes {
            levels.remove(&change.key);
        } else {
            levels.insert(change.key, change.level);
        }
    }

    /// Replaces the whole book with a snapshot's levels (zero quantities are skipped).
    pub fn replace<'a>(
        &mut self,
        bids: impl IntoIterator<Item = &'a Change>,
        asks: impl IntoIterator<Item = &'a Change>,
    ) {
        self.clear();
        for change in bids {
            self.apply(Side::Bid, change);
        }
        for change in asks {
            self.apply(Side::Ask, change);
        }
    }

    /// Removes every level.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// The levels of `side`, best first.
    pub fn levels(&self, side: Side) -> Box<dyn Iterator<Item = &Level> + '_> {
        match side {
            Side::Bid => Box::new(self.bids()),
            Side::Ask => Box::new(self.asks()),
        }
    }

    /// The bids, highest first.
    pub fn bids(&self) -> impl DoubleEndedIterator<Item = &Level> + ExactSizeIterator {
        self.bids.values().rev()
    }

    /// The asks, lowest first.
    pub fn asks(&self) -> impl DoubleEndedIterator<Item = &Level> + ExactSizeIterator {
        self.asks.values()
    }

    /// The number of levels on `side`.
    pub fn len(&self, side: Side) -> usize {
        match side {
            Side::Bid => self.bids.len(),
            Side::Ask => self.asks.len(),
        }
    }

    /// No level on either side.
    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    /// The level at `price` on `side`, if the book holds one.
    pub fn get(&self, side: Side, price: Price) -> Option<&Level> {
        match side {
            Side::Bid => self.bids.get(&price),
            Side::Ask => self.asks.get(&price),
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<Price, Level> {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }
}

/// The best N levels of a book, best first: what a `book` row holds. Reused from row to
/// row, so producing one allocates nothing once it has grown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookRow {
    /// The best bids, highest first.
    pub bids: Vec<Level>,
    /// The best asks, lowest first.
    pub asks: Vec<Level>,
}

impl BookRow {
    /// Takes the best `depth` levels of each side of `book` (fewer where the book is shorter).
    #[inline]
    pub fn fill(&mut self, book: &Book, depth: usize) {
        self.bids.clear();
        self.bids.extend(book.bids().take(depth));
        self.asks.clear();
        self.asks.extend(book.asks().take(depth));
    }
}

/// Appends `levels` as a JSON array of `[price, qty]` text pairs (`[["61837.63","3.7"],...]`),
/// the shape of `bids` and `asks` in NDJSON output. Decimal text needs no escaping.
#[inline]
pub fn write_levels_json(levels: &[Level], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, level) in levels.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"[\"" } else { b",[\"" });
        level.price.append_to(out);
        out.extend_from_slice(b"\",\"");
        level.qty.append_to(out);
        out.extend_from_slice(b"\"]");
    }
    out.push(b']');
}

#[cfg(test)]
pub(crate) mod testdata {
    //! Reading the copied fixtures in `tests/data/` for the book tests.

    use std::path::PathBuf;

    /// The lines of `tests/data/<rel>`.
    pub(crate) fn lines(rel: &str) -> Vec<String> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(rel);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(price: &str, qty: &str) -> Change {
        Change::parse(price, qty).unwrap()
    }

    fn texts<'a>(levels: impl Iterator<Item = &'a Level>) -> Vec<(String, String)> {
        levels
            .map(|l| (l.price.to_string(), l.qty.to_string()))
            .collect()
    }

    #[test]
    fn orders_sides_best_first_and_keeps_text() {
        let mut book = Book::new();
        for (p, q) in [("100.5", "1"), ("99", "2.50"), ("100.10", "3")] {
            book.apply(Side::Bid, &change(p, q));
        }
        for (p, q) in [("101", "1"), ("100.9", "0.1"), ("102.00", "7")] {
            book.apply(Side::Ask, &change(p, q));
        }
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            texts(book.bids()),
            pairs(&[("100.5", "1"), ("100.10", "3"), ("99", "2.50")])
        );
        assert_eq!(
            texts(book.asks()),
            pairs(&[("100.9", "0.1"), ("101", "1"), ("102.00", "7")])
        );
    }

    #[test]
    fn a_zero_quantity_removes_and_a_new_text_replaces() {
        let mut book = Book::new();
        book.apply(Side::Ask, &change("30316", "81"));
        book.apply(Side::Ask, &change("30316.0", "82"));
        assert_eq!(book.len(Side::Ask), 1);
        assert_eq!(
            texts(book.asks()),
            vec![("30316.0".to_owned(), "82".to_owned())]
        );
        book.apply(Side::Ask, &change("30316.00", "0.000"));
        assert!(book.is_empty());
        // Removing what is not there is normal.
        book.apply(Side::Bid, &change("1", "0"));
        assert!(book.is_empty());
    }

    #[test]
    fn a_change_from_checked_decimals_is_the_same() {
        let d = |s| Decimal::parse(s).unwrap();
        assert_eq!(
            Change::from_decimals(d("61837.63000000"), d("0.00000000")).unwrap(),
            change("61837.63000000", "0.00000000")
        );
        assert!(Change::from_decimals(d("-1"), d("1")).is_err());
        assert!(Change::from_decimals(d("1"), d("-1")).is_err());
    }

    #[test]
    fn refuses_bad_levels() {
        assert!(matches!(
            Change::parse("abc", "1"),
            Err(LevelError::Price(_))
        ));
        assert!(matches!(Change::parse("1", "1e3"), Err(LevelError::Qty(_))));
        assert!(matches!(Change::parse("1", "-1"), Err(LevelError::Qty(_))));
    }

    #[test]
    fn a_row_holds_the_best_n_or_fewer() {
        let mut book = Book::new();
        for i in 0..30u32 {
            book.apply(Side::Bid, &change(&format!("{}", 100 - i), "1"));
            book.apply(Side::Ask, &change(&format!("{}", 101 + i), "1"));
        }
        book.apply(Side::Ask, &change("200", "0"));
        let mut row = BookRow::default();
        row.fill(&book, 3);
        assert_eq!(
            row.bids
                .iter()
                .map(|l| l.price.to_string())
                .collect::<Vec<_>>(),
            ["100", "99", "98"]
        );
        assert_eq!(
            row.asks
                .iter()
                .map(|l| l.price.to_string())
                .collect::<Vec<_>>(),
            ["101", "102", "103"]
        );
        row.fill(&book, 100);
        assert_eq!((row.bids.len(), row.asks.len()), (30, 30));
        row.fill(&book, 2);
        let mut json = Vec::new();
        write_levels_json(&row.bids, &mut json);
        assert_eq!(json, br#"[["100","1"],["99","1"]]"#);
        json.clear();
        write_levels_json(&[], &mut json);
        assert_eq!(json, b"[]");
    }

    /// Bybit spot `orderbook.50`: the snapshot then its consecutive delta (fixture lines
    /// 1-2) leave 50 levels a side and an uncrossed book, as the provenance says.
    #[test]
    fn bybit_snapshot_and_delta_rebuild_fifty_levels() {
        let lines = testdata::lines("bybit/spot_orderbook_50.jsonl");
        let side = |v: &serde_json::Value, k: &str| -> Vec<Change> {
            v["data"][k]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| change(l[0].as_str().unwrap(), l[1].as_str().unwrap()))
                .collect()
        };
        let snapshot: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        let delta: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(snapshot["type"], "snapshot");
        assert_eq!(delta["type"], "delta");
        let mut book = Book::new();
        book.replace(&side(&snapshot, "b"), &side(&snapshot, "a"));
        assert_eq!((book.len(Side::Bid), book.len(Side::Ask)), (50, 50));
        let (bids, asks) = (side(&delta, "b"), side(&delta, "a"));
        // Every removal in the delta removes a level the book holds.
        for (s, changes) in [(Side::Bid, &bids), (Side::Ask, &asks)] {
            for c in changes.iter().filter(|c| c.removes) {
                assert!(book.get(s, c.key).is_some(), "{c:?}");
            }
        }
        for c in &bids {
            book.apply(Side::Bid, c);
        }
        for c in &asks {
            book.apply(Side::Ask, c);
        }
        assert_eq!((book.len(Side::Bid), book.len(Side::Ask)), (50, 50));
        let best_bid = book.bids().next().unwrap();
        let best_ask = book.asks().next().unwrap();
        assert_eq!(best_bid.price.to_string(), "75848.74");
        assert_eq!(best_ask.price.to_string(), "75848.75");
        let key = |l: &Level| Price::parse(&l.price.to_string()).unwrap();
        assert!(key(best_bid) < key(best_ask));
    }
}
