//! Bybit's order-book `data` (`orderbook.{depth}`), read by hand so levels go straight
//! into [`Out::levels`], and the rows it becomes: a `bookTicker` row from `orderbook.1`,
//! a snapshot or delta for the book code from the deeper books.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::super::super::scan::Sym;
use super::super::super::{DecodeError, DepthUpdate, Level, Out, epoch_ns};
use super::{FrameInfo, sym};
use crate::tick::{BookTicker, Decimal, TickData};

/// orderbook.mdx: the `data` of an order-book message.
///
/// ```json
/// {"s":"BANDUSDT","b":[["0.6131","17.9"]],"a":[["0.6134","35.4"]],"u":24042997,"seq":209972815373}
/// ```
///
/// Read by hand so the levels go straight into the caller's [`Out::levels`].
pub(in crate::exchange::bybit) struct BookData<'a> {
    pub(in crate::exchange::bybit) symbol: Sym<'a>,
    pub(in crate::exchange::bybit) bids: std::ops::Range<u32>,
    pub(in crate::exchange::bybit) asks: std::ops::Range<u32>,
    pub(in crate::exchange::bybit) update_id: u64,
}

/// Reads [`BookData`], appending levels to `levels`.
pub(in crate::exchange::bybit) struct BookSeed<'o> {
    pub(super) levels: &'o mut Vec<Level>,
}

impl<'de> DeserializeSeed<'de> for BookSeed<'_> {
    type Value = BookData<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<BookData<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BookSeed<'_> {
    type Value = BookData<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an order-book object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BookData<'de>, A::Error> {
        let (mut symbol, mut bids, mut asks, mut update_id) = (None, None, None, None);
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "s" => symbol = Some(map.next_value::<Sym<'de>>()?),
                "b" | "a" => {
                    let start = self.levels.len() as u32;
                    map.next_value_seed(LevelsSeed {
                        levels: &mut *self.levels,
                    })?;
                    let range = start..self.levels.len() as u32;
                    if key == "b" {
                        bids = Some(range);
                    } else {
                        asks = Some(range);
                    }
                }
                "u" => update_id = Some(map.next_value::<u64>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = |name| de::Error::missing_field(name);
        Ok(BookData {
            symbol: symbol.ok_or_else(|| missing("s"))?,
            bids: bids.ok_or_else(|| missing("b"))?,
            asks: asks.ok_or_else(|| missing("a"))?,
            update_id: update_id.ok_or_else(|| missing("u"))?,
        })
    }
}

/// Reads `[["price","size"],...]` into `levels`.
pub(in crate::exchange::bybit) struct LevelsSeed<'o> {
    levels: &'o mut Vec<Level>,
}

impl<'de> DeserializeSeed<'de> for LevelsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LevelsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of [price, size] pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some([price, qty]) = seq.next_element::<[&'de str; 2]>()? {
            let parse = |field, text| {
                Decimal::parse(text).map_err(|e| de::Error::custom(format!("{field}: {e}")))
            };
            self.levels.push(Level {
                price: parse("price", price)?,
                qty: parse("size", qty)?,
            });
        }
        Ok(())
    }
}

/// `orderbook.1`: the best bid and ask as a `bookTicker` row.
pub(in crate::exchange::bybit) fn book_ticker(
    frame: &FrameInfo,
    book: BookData<'_>,
    out: &mut Out,
) -> Result<(), DecodeError> {
    let best = |range: &std::ops::Range<u32>| {
        out.levels[range.start as usize..range.end as usize]
            .iter()
            .find(|l| !is_zero(&l.qty))
            .map_or((Decimal::EMPTY, Decimal::EMPTY), |l| (l.price, l.qty))
    };
    let ((bid, bid_qty), (ask, ask_qty)) = (best(&book.bids), best(&book.asks));
    let symbol = sym(book.symbol)?;
    out.levels.clear();
    out.ticks.push(frame.tick(
        symbol,
        TickData::BookTicker(BookTicker {
            update_id: book.update_id,
            bid,
            bid_qty,
            ask,
            ask_qty,
        }),
    ));
    Ok(())
}

pub(in crate::exchange::bybit) fn is_zero(qty: &Decimal) -> bool {
    qty.is_zero()
}

/// `orderbook.50`/`.200`/`.500`: a snapshot or delta for the book code.
pub(in crate::exchange::bybit) fn book_update(
    frame: &FrameInfo,
    book: BookData<'_>,
    out: &mut Out,
) -> Result<(), DecodeError> {
    let update = DepthUpdate {
        symbol: sym(book.symbol)?,
        // A snapshot (and `u` = 1: the service restarted) replaces the book.
        snapshot: frame.snapshot || book.update_id == 1,
        first_update_id: None,
        last_update_id: book.update_id,
        prev_update_id: None,
        checksum: None,
        exchange_ns: epoch_ns(frame.ts),
        recv_ns: frame.recv_ns,
        bids: book.bids,
        asks: book.asks,
    };
    out.depth.push(update);
    Ok(())
}
