//! Rebuilding books from a `depth` NDJSON file: what a user of the file does.
//!
//! This module owns reading foxtrot's own `depth` rows back (one JSON object per line, as
//! `row` writes them) and applying them per `(exchange, symbol)`: a snapshot row replaces
//! the book, any other row applies on top. It checks what makes the file self-sufficient:
//! a symbol's first row is a snapshot, and a gap record is followed by a snapshot before
//! any more events. Tests use it to prove a recorded file rebuilds the venue's book.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Book, Change, LevelError, Side};

/// Why a line could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// Not a JSON object of foxtrot's shape.
    #[error("line {line}: {source}")]
    Json {
        /// 1-based line number.
        line: usize,
        /// What serde said.
        source: serde_json::Error,
    },
    /// A level that is not a price and a quantity.
    #[error("line {line}: {source}")]
    Level {
        /// 1-based line number.
        line: usize,
        /// The refused level.
        source: LevelError,
    },
    /// An event with no snapshot before it (at the start, or after a gap).
    #[error("line {line}: a depth event for {symbol} before any snapshot")]
    NoSnapshot {
        /// 1-based line number.
        line: usize,
        /// The symbol.
        symbol: String,
    },
}

#[derive(Deserialize)]
struct Row<'a> {
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    exchange: &'a str,
    symbol: &'a str,
    channel: Option<&'a str>,
    #[serde(default)]
    is_snapshot: bool,
    #[serde(default)]
    update_id: u64,
    #[serde(default, borrow)]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(default, borrow)]
    asks: Vec<(&'a str, &'a str)>,
}

/// A symbol's rebuilt book and where it stands.
#[derive(Clone, Debug, Default)]
pub struct Rebuilt {
    /// The book after the last row.
    pub book: Book,
    /// The last row's `update_id`.
    pub update_id: u64,
    /// Snapshot rows seen.
    pub snapshots: u64,
    /// Gap records seen.
    pub gaps: u64,
    /// A gap was seen and no snapshot since: events cannot apply.
    broken: bool,
}

impl Rebuilt {
    /// A gap was seen and no snapshot since: the book is unknown until the next one.
    pub fn broken(&self) -> bool {
        self.broken
    }
}

/// Books rebuilt from `depth` rows, by `(exchange, symbol)`.
#[derive(Debug, Default)]
pub struct Rebuilder {
    books: HashMap<(String, String), Rebuilt>,
}

impl Rebuilder {
    /// No book yet.
    pub fn new() -> Rebuilder {
        Rebuilder::default()
    }

    /// Applies one line (1-based number `line`): a `depth` row or a gap record; other
    /// channels' rows are skipped.
    pub fn apply_line(&mut self, line: usize, text: &str) -> Result<(), RebuildError> {
        let row: Row<'_> =
            serde_json::from_str(text).map_err(|source| RebuildError::Json { line, source })?;
        let key = (row.exchange.to_owned(), row.symbol.to_owned());
        if row.kind == Some("gap") {
            if row.channel == Some("depth") {
                let rebuilt = self.books.entry(key).or_default();
                rebuilt.gaps += 1;
                rebuilt.broken = true;
            }
            return Ok(());
        }
        if row.channel != Some("depth") {
            return Ok(());
        }
        let parse = |levels: &[(&str, &str)]| -> Result<Vec<Change>, RebuildError> {
            levels
                .iter()
                .map(|(p, q)| {
                    Change::parse(p, q).map_err(|source| RebuildError::Level { line, source })
                })
                .collect()
        };
        let (bids, asks) = (parse(&row.bids)?, parse(&row.asks)?);
        let fresh = !self.books.contains_key(&key);
        let rebuilt = self.books.entry(key).or_default();
        if row.is_snapshot {
            rebuilt.book.replace(&bids, &asks);
            rebuilt.snapshots += 1;
            rebuilt.broken = false;
        } else if fresh || rebuilt.broken {
            return Err(RebuildError::NoSnapshot {
                line,
                symbol: row.symbol.to_owned(),
            });
        } else {
            bids.iter().for_each(|c| rebuilt.book.apply(Side::Bid, c));
            asks.iter().for_each(|c| rebuilt.book.apply(Side::Ask, c));
        }
        rebuilt.update_id = row.update_id;
        Ok(())
    }

    /// Applies every line of an NDJSON text.
    pub fn apply_text(&mut self, text: &str) -> Result<(), RebuildError> {
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            self.apply_line(i + 1, line)?;
        }
        Ok(())
    }

    /// The rebuilt book of `symbol` on `exchange`.
    pub fn get(&self, exchange: &str, symbol: &str) -> Option<&Rebuilt> {
        self.books.get(&(exchange.to_owned(), symbol.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = r#"{"exchange":"binance","symbol":"BTCUSDT","channel":"depth","recv_ns":1,"exchange_ns":1,"is_snapshot":true,"first_update_id":null,"update_id":10,"bids":[["100","1"],["99","2"]],"asks":[["101","3"]]}"#;
    const EVENT: &str = r#"{"exchange":"binance","symbol":"BTCUSDT","channel":"depth","recv_ns":2,"exchange_ns":2,"is_snapshot":false,"first_update_id":11,"update_id":12,"bids":[["100","0"]],"asks":[["102","4"]]}"#;
    const GAP: &str = r#"{"type":"gap","exchange":"binance","symbol":"BTCUSDT","channel":"depth","from_ns":2,"to_ns":3,"reason":"sequence"}"#;

    fn texts(book: &Book, side: Side) -> Vec<String> {
        book.levels(side)
            .map(|l| format!("{}:{}", l.price, l.qty))
            .collect()
    }

    #[test]
    fn a_snapshot_then_events_rebuild_the_book() {
        let mut r = Rebuilder::new();
        r.apply_text(&format!("{SNAPSHOT}\n{EVENT}\n")).unwrap();
        let b = r.get("binance", "BTCUSDT").unwrap();
        assert_eq!(texts(&b.book, Side::Bid), ["99:2"]);
        assert_eq!(texts(&b.book, Side::Ask), ["101:3", "102:4"]);
        assert_eq!((b.update_id, b.snapshots), (12, 1));
    }

    #[test]
    fn events_need_a_snapshot_first_and_after_a_gap() {
        let mut r = Rebuilder::new();
        assert!(matches!(
            r.apply_line(1, EVENT),
            Err(RebuildError::NoSnapshot { line: 1, .. })
        ));
        let mut r = Rebuilder::new();
        r.apply_text(&format!("{SNAPSHOT}\n{GAP}\n")).unwrap();
        assert!(matches!(
            r.apply_line(3, EVENT),
            Err(RebuildError::NoSnapshot { line: 3, .. })
        ));
        r.apply_line(4, SNAPSHOT).unwrap();
        r.apply_line(5, EVENT).unwrap();
        assert_eq!(r.get("binance", "BTCUSDT").unwrap().gaps, 1);
        assert!(matches!(
            r.apply_line(6, "{"),
            Err(RebuildError::Json { line: 6, .. })
        ));
    }
}
