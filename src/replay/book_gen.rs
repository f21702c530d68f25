//! A synthetic order book that moves, and the Binance diff-depth events that describe it.
//!
//! This module owns the replay server's book generator: a random walk of price levels
//! around a mid price, thousands of levels a side, where every generated event is exactly
//! the change between the book before and after it (so a client that syncs correctly holds
//! the generator's book at every update id). Update ids follow spot's rule (`U` = previous
//! `u` + 1) or USD-M futures' (ids shared with other symbols, so `U` jumps; `pu` = previous
//! `u`). It is deterministic for a seed: a test regenerates the server's book at any id.
//! Serving the events and snapshots is in `depth` and `rest`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenConfig {
    /// The random seed: the same seed gives the same events.
    pub seed: u64,
    /// Levels per side the book keeps (far levels are removed beyond this).
    pub levels: usize,
    /// Level changes per event at most (at least one).
    pub max_changes: usize,
    /// USD-M futures id rules (global ids, `pu`) instead of spot's.
    pub futures: bool,
    /// Digits after the point in price text (8 on spot, 2 on BTCUSDT futures).
    pub price_decimals: u32,
    /// Digits after the point in quantity text (8 on spot, 3 on BTCUSDT futures).
    pub qty_decimals: u32,
    /// The price step between levels, in units of the last price digit.
    pub tick_units: u64,
    /// The starting mid price, in ticks.
    pub start_ticks: u64,
    /// The first update id.
    pub start_id: u64,
}

impl GenConfig {
    /// Spot BTCUSDT-like text (`61837.63000000`, `0.01570000`) and ids.
    pub fn spot(seed: u64) -> GenConfig {
        GenConfig {
            seed,
            levels: 5000,
            max_changes: 20,
            futures: false,
            price_decimals: 8,
            qty_decimals: 8,
            tick_units: 1_000_000,
            start_ticks: 6_183_763,
            start_id: 50_093_239_000,
        }
    }

    /// USD-M BTCUSDT-like text (`61800.20`, `0.014`) and ids.
    pub fn futures(seed: u64) -> GenConfig {
        GenConfig {
            seed,
            levels: 1000,
            max_changes: 20,
            futures: true,
            price_decimals: 2,
            qty_decimals: 3,
            tick_units: 10,
            start_ticks: 618_002,
            start_id: 5_123_107_830_000,
        }
    }
}

/// Levels as `(price, qty)` text, best first.
pub type TextLevels = Vec<(String, String)>;

/// One generated diff-depth event; prices in ticks, quantities in units of the last digit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenEvent {
    /// `U`.
    pub first_id: u64,
    /// `u`.
    pub last_id: u64,
    /// `pu` (futures only).
    pub prev_id: Option<u64>,
    /// `(price ticks, qty units)`; qty 0 removes.
    pub bids: Vec<(u64, u64)>,
    /// `(price ticks, qty units)`; qty 0 removes.
    pub asks: Vec<(u64, u64)>,
}

/// The generator: its book and the last update id.
#[derive(Clone, Debug)]
pub struct BookGenerator {
    config: GenConfig,
    rng: fastrand::Rng,
    /// Price ticks to quantity units.
    bids: BTreeMap<u64, u64>,
    asks: BTreeMap<u64, u64>,
    last_id: u64,
    /// The next event's `U`, drawn ahead (futures snapshots name an id inside it).
    next_first_id: u64,
}

impl BookGenerator {
    /// A full book of `config.levels` levels a side around the start price; its update id
    /// is `config.start_id`.
    pub fn new(config: GenConfig) -> BookGenerator {
        let mut rng = fastrand::Rng::with_seed(config.seed);
        let (mut bids, mut asks) = (BTreeMap::new(), BTreeMap::new());
        let (mut bid, mut ask) = (config.start_ticks - 1, config.start_ticks);
        for _ in 0..config.levels {
            bids.insert(bid, random_qty(&mut rng));
            asks.insert(ask, random_qty(&mut rng));
            bid = bid.saturating_sub(rng.u64(1..=3)).max(1);
            ask += rng.u64(1..=3);
        }
        BookGenerator {
            last_id: config.start_id,
            next_first_id: config.start_id + 1,
            config,
            rng,
            bids,
            asks,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GenConfig {
        &self.config
    }

    /// The id of the last update the book includes.
    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    /// The `lastUpdateId` a snapshot of the book as it stands carries. Spot: the last
    /// update's id. USD-M futures: ids are global and an event spans every id of its
    /// interval, so the venue's snapshot names an id inside the next event's span (the
    /// captures show it: `U <= lastUpdateId <= u`); absolute quantities make that exact.
    pub fn snapshot_id(&self) -> u64 {
        if self.config.futures {
            self.next_first_id
        } else {
            self.last_id
        }
    }

    /// Changes the book and returns the event describing the change.
    pub fn next_event(&mut self) -> GenEvent {
        let mut event = GenEvent {
            first_id: 0,
            last_id: 0,
            prev_id: None,
            bids: Vec::new(),
            asks: Vec::new(),
        };
        let changes = self.rng.usize(1..=self.config.max_changes.max(1));
        // Now and then the price moves a tick: the best level of one side goes, and the
        // other side improves into the room.
        if self.rng.u8(..4) == 0 {
            if self.rng.bool() {
                if let Some((&best_ask, _)) = self.asks.first_key_value() {
                    self.set(true, best_ask, 0, &mut event);
                    let improved = self.best_bid() + 1;
                    if improved < self.best_ask() {
                        let qty = random_qty(&mut self.rng);
                        self.set(false, improved, qty, &mut event);
                    }
                }
            } else if let Some((&best_bid, _)) = self.bids.last_key_value() {
                self.set(false, best_bid, 0, &mut event);
                let improved = self.best_ask() - 1;
                if improved > self.best_bid() {
                    let qty = random_qty(&mut self.rng);
                    self.set(true, improved, qty, &mut event);
                }
            }
        }
        while event.bids.len() + event.asks.len() < changes {
            let ask = self.rng.bool();
            // Most activity near the top: a depth below a random bound.
            let bound = self.rng.u64(1..=self.config.levels as u64 * 2);
            let depth = self.rng.u64(..bound);
            let price = if ask {
                self.best_bid() + 1 + depth
            } else {
                match (self.best_ask() - 1).checked_sub(depth) {
                    Some(p) if p > 0 => p,
                    _ => continue,
                }
            };
            let book = if ask { &self.asks } else { &self.bids };
            let qty = if book.contains_key(&price) && self.rng.u8(..3) == 0 {
                0
            } else {
                random_qty(&mut self.rng)
            };
            self.set(ask, price, qty, &mut event);
        }
        // Keep the depth: levels past it are removed (the venue says so too).
        while self.bids.len() > self.config.levels {
            let (&worst, _) = self.bids.first_key_value().expect("not empty");
            self.set(false, worst, 0, &mut event);
        }
        while self.asks.len() > self.config.levels {
            let (&worst, _) = self.asks.last_key_value().expect("not empty");
            self.set(true, worst, 0, &mut event);
        }
        // One update id per change, plus some that changed a level twice within the event.
        let updates = (event.bids.len() + event.asks.len()) as u64 + self.rng.u64(0..3);
        event.first_id = self.next_first_id;
        if self.config.futures {
            event.prev_id = Some(self.last_id);
        }
        event.last_id = event.first_id + updates - 1;
        self.last_id = event.last_id;
        // On futures, other symbols' updates take ids in between.
        self.next_first_id = self.last_id
            + 1
            + if self.config.futures {
                self.rng.u64(0..200)
            } else {
                0
            };
        event
    }

    fn best_bid(&self) -> u64 {
        self.bids.last_key_value().map_or(0, |(&p, _)| p)
    }

    fn best_ask(&self) -> u64 {
        self.asks
            .first_key_value()
            .map_or(self.best_bid() + 2, |(&p, _)| p)
    }

    /// Sets a level in the book and in the event (a later change of the same price in one
    /// event replaces the earlier, as the venue's compression does).
    fn set(&mut self, ask: bool, price: u64, qty: u64, event: &mut GenEvent) {
        let (book, changes) = if ask {
            (&mut self.asks, &mut event.asks)
        } else {
            (&mut self.bids, &mut event.bids)
        };
        if qty == 0 {
            book.remove(&price);
        } else {
            book.insert(price, qty);
        }
        match changes.iter_mut().find(|(p, _)| *p == price) {
            Some(change) => change.1 = qty,
            None => changes.push((price, qty)),
        }
    }

    /// The best `limit` levels a side as text, best first: what a snapshot holds.
    pub fn levels(&self, limit: usize) -> (TextLevels, TextLevels) {
        let text = |(&p, &q): (&u64, &u64)| (self.price_text(p), self.qty_text(q));
        (
            self.bids.iter().rev().take(limit).map(text).collect(),
            self.asks.iter().take(limit).map(text).collect(),
        )
    }

    /// The event as Binance sends it (`depthUpdate`), with event time `time_ms`.
    pub fn write_event(&self, event: &GenEvent, symbol: &str, time_ms: u64, out: &mut String) {
        let _ = write!(out, r#"{{"e":"depthUpdate","E":{time_ms},"#);
        if self.config.futures {
            let _ = write!(out, r#""T":{time_ms},"#);
        }
        let _ = write!(
            out,
            r#""s":"{symbol}","U":{},"u":{},"#,
            event.first_id, event.last_id
        );
        if let Some(prev) = event.prev_id {
            let _ = write!(out, r#""pu":{prev},"#);
        }
        out.push_str(r#""b":"#);
        self.write_levels(event.bids.iter().map(|&(p, q)| (p, q)), out);
        out.push_str(r#","a":"#);
        self.write_levels(event.asks.iter().map(|&(p, q)| (p, q)), out);
        out.push('}');
    }

    /// A REST depth snapshot body (`limit` levels a side) as Binance answers it; `last_id`
    /// is written as `lastUpdateId` (a server may lie, to test clients).
    pub fn write_snapshot(&self, limit: usize, last_id: u64, time_ms: u64, out: &mut String) {
        let _ = write!(out, r#"{{"lastUpdateId":{last_id},"#);
        if self.config.futures {
            let _ = write!(out, r#""E":{time_ms},"T":{time_ms},"#);
        }
        out.push_str(r#""bids":"#);
        self.write_levels(
            self.bids.iter().rev().take(limit).map(|(&p, &q)| (p, q)),
            out,
        );
        out.push_str(r#","asks":"#);
        self.write_levels(self.asks.iter().take(limit).map(|(&p, &q)| (p, q)), out);
        out.push('}');
    }

    fn write_levels(&self, levels: impl Iterator<Item = (u64, u64)>, out: &mut String) {
        out.push('[');
        for (i, (p, q)) in levels.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("[\"");
            fixed(p * self.config.tick_units, self.config.price_decimals, out);
            out.push_str("\",\"");
            fixed(q, self.config.qty_decimals, out);
            out.push_str("\"]");
        }
        out.push(']');
    }

    fn price_text(&self, ticks: u64) -> String {
        let mut s = String::new();
        fixed(
            ticks * self.config.tick_units,
            self.config.price_decimals,
            &mut s,
        );
        s
    }

    fn qty_text(&self, units: u64) -> String {
        let mut s = String::new();
        fixed(units, self.config.qty_decimals, &mut s);
        s
    }
}

/// A quantity in units of the last digit: mostly small, sometimes large.
fn random_qty(rng: &mut fastrand::Rng) -> u64 {
    let bound = rng.u64(1..=10_000_000);
    rng.u64(1..=bound)
}

/// `units / 10^decimals` as plain decimal text with exactly `decimals` digits after the point.
fn fixed(units: u64, decimals: u32, out: &mut String) {
    let scale = 10u64.pow(decimals);
    let _ = write!(out, "{}", units / scale);
    if decimals > 0 {
        let _ = write!(out, ".{:0width$}", units % scale, width = decimals as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::sync::{DepthSync, Limits, Output, Rules};
    use crate::book::{Book, binance};
    use crate::exchange::binance_depth;

    fn book_of(levels: &(TextLevels, TextLevels)) -> Vec<String> {
        levels
            .0
            .iter()
            .chain(&levels.1)
            .map(|(p, q)| format!("{p}:{q}"))
            .collect()
    }

    fn texts(book: &Book, limit: usize) -> Vec<String> {
        book.bids()
            .take(limit)
            .chain(book.asks().take(limit))
            .map(|l| format!("{}:{}", l.price, l.qty))
            .collect()
    }

    /// Every event, read back through foxtrot's Binance reader and sync, keeps the client's
    /// book equal to the generator's, level for level and text for text, never crossed.
    #[test]
    fn events_describe_the_generators_book_exactly() {
        for (config, rules) in [
            (GenConfig::spot(7), Rules::Spot),
            (GenConfig::futures(8), Rules::UsdmFutures),
        ] {
            let config = GenConfig {
                levels: 300,
                ..config
            };
            let mut server = BookGenerator::new(config);
            let mut sync = DepthSync::new(rules, Limits::default());
            // The snapshot is taken before the first event, and used once that is buffered.
            let mut body = String::new();
            server.write_snapshot(1000, server.snapshot_id(), 1, &mut body);
            let mut applied = 0;
            let mut check = |out: Output<'_>, book: &Book| {
                if let Output::Snapshot(_) = out {
                    return;
                }
                assert!(matches!(out, Output::Applied(_)), "{out:?}");
                applied += 1;
                let (bid, ask) = (book.bids().next().unwrap(), book.asks().next().unwrap());
                let key = |d: &crate::decimal::Decimal| {
                    crate::book::Price::parse(&d.to_string()).unwrap()
                };
                assert!(key(&bid.price) < key(&ask.price), "crossed");
            };
            for i in 0..3000 {
                let event = server.next_event();
                if let Some(prev) = event.prev_id {
                    assert!(event.first_id > prev);
                }
                let mut json = String::new();
                server.write_event(&event, "BTCUSDT", i, &mut json);
                let (_, parsed) = binance_depth::depth_event(&json, 0).unwrap();
                sync.on_event(parsed, &mut check);
                if i == 0 {
                    assert!(sync.wants_snapshot());
                    sync.snapshot_started();
                    sync.on_snapshot(binance::snapshot(&body, 0).unwrap(), &mut check);
                }
                if i % 500 == 0 {
                    assert_eq!(texts(sync.book(), 300), book_of(&server.levels(300)));
                }
            }
            assert_eq!(applied, 3000);
            assert_eq!(sync.book().len(crate::book::Side::Bid), 300);
            assert_eq!(texts(sync.book(), 300), book_of(&server.levels(300)));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_events() {
        let mut a = BookGenerator::new(GenConfig::spot(1));
        let mut b = BookGenerator::new(GenConfig::spot(1));
        for _ in 0..100 {
            assert_eq!(a.next_event(), b.next_event());
        }
        assert_eq!(a.levels(5000), b.levels(5000));
        let mut c = BookGenerator::new(GenConfig::spot(2));
        assert_ne!(a.next_event(), c.next_event());
    }

    #[test]
    fn text_has_the_venues_decimals() {
        let mut s = String::new();
        fixed(6_183_763_000_000, 8, &mut s);
        assert_eq!(s, "61837.63000000");
        s.clear();
        fixed(14, 3, &mut s);
        assert_eq!(s, "0.014");
        let g = BookGenerator::new(GenConfig::futures(3));
        let (bids, asks) = g.levels(1);
        assert_eq!(asks[0].0, "61800.20");
        assert_eq!(bids[0].0, "61800.10");
    }
}
