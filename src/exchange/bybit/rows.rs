//! Bybit's wire structs (each with its doc page and a sample) and the rows they become.
//!
//! This module owns reading a message's `data` into [`Out`]: which rows a topic becomes,
//! what every row of a message shares, trades and liquidations; order-book data is read
//! in [`book`], merged tickers and funding in [`ticker`]. [`super`] reads the message
//! around it and owns the venue's plan and answers.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::super::scan::{Num, Sym, num};
use super::super::{DecodeError, Out, Venue, epoch_ns};
use super::parse_symbol;
use crate::tick::{self, Decimal, Liquidation, Symbol, Tick, TickData, Trade, TradeId};

mod book;
mod ticker;

use book::BookSeed;
pub(super) use book::{BookData, book_ticker, book_update};
use ticker::{WireTicker, tickers};
#[cfg(test)]
pub(super) use {book::is_zero, ticker::percent};

/// Which rows a topic's `data` becomes.
#[derive(Clone, Copy)]
pub(super) enum Rows {
    Trades,
    BookTicker,
    Book,
    Tickers,
    Liquidations,
}

impl Rows {
    /// `Some(None)` for a valid topic foxtrot does not normalize (kline, ...).
    pub(super) fn of(topic: &str) -> Option<Rows> {
        let (kind, rest) = topic.split_once('.')?;
        Some(match kind {
            "publicTrade" => Rows::Trades,
            "orderbook" if rest.starts_with("1.") => Rows::BookTicker,
            "orderbook" => Rows::Book,
            "tickers" => Rows::Tickers,
            "allLiquidation" => Rows::Liquidations,
            _ => return None,
        })
    }
}

/// Reads a message's `data` into rows.
pub(super) struct RowsSeed<'o> {
    pub(super) of: Rows,
    pub(super) frame: FrameInfo,
    pub(super) out: &'o mut Out,
    pub(super) failed: &'o mut Option<DecodeError>,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let RowsSeed {
            of,
            frame,
            out,
            failed,
        } = self;
        match of {
            Rows::Trades => {
                let mut run = (0u64, 0u16);
                let each = Each {
                    f: |t: WireTrade<'de>| trade(&frame, t, out, &mut run),
                    failed: &mut *failed,
                    item: PhantomData,
                };
                d.deserialize_any(each)
            }
            Rows::Liquidations => d.deserialize_any(Each {
                f: |l: WireLiquidation<'de>| liquidation(&frame, l, out),
                failed: &mut *failed,
                item: PhantomData,
            }),
            Rows::BookTicker => {
                let book = BookSeed {
                    levels: &mut out.levels,
                }
                .deserialize(d)?;
                keep(failed, book_ticker(&frame, book, out))
            }
            Rows::Book => {
                let book = BookSeed {
                    levels: &mut out.levels,
                }
                .deserialize(d)?;
                keep(failed, book_update(&frame, book, out))
            }
            Rows::Tickers => {
                let wire = WireTicker::deserialize(d)?;
                keep(failed, tickers(&frame, wire, out))
            }
        }
    }
}

/// Keeps the error of `result` in `failed` and tells serde to stop.
pub(super) fn keep<E: de::Error>(
    failed: &mut Option<DecodeError>,
    result: Result<(), DecodeError>,
) -> Result<(), E> {
    result.map_err(|e| {
        *failed = Some(e);
        E::custom("refused")
    })
}

/// Calls `f` with each element of an array (or with the one object, where the docs
/// disagree on which Bybit sends), without collecting them.
pub(super) struct Each<'f, T, F> {
    f: F,
    failed: &'f mut Option<DecodeError>,
    item: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>, F: FnMut(T) -> Result<(), DecodeError>> Visitor<'de>
    for Each<'_, T, F>
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<T>()? {
            if let Err(e) = (self.f)(item) {
                *self.failed = Some(e);
                return Err(de::Error::custom("refused"));
            }
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, map: A) -> Result<(), A::Error> {
        let item = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
        (self.f)(item).map_err(|e| {
            *self.failed = Some(e);
            de::Error::custom("refused")
        })
    }
}

/// What every row of one message shares.
pub(super) struct FrameInfo {
    pub(super) venue: Venue,
    pub(super) recv_ns: u64,
    pub(super) ts: u64,
    pub(super) snapshot: bool,
}

impl FrameInfo {
    fn tick(&self, symbol: Symbol, data: TickData) -> Tick {
        Tick {
            exchange: self.venue,
            symbol,
            recv_ns: self.recv_ns,
            exchange_ns: epoch_ns(self.ts),
            data,
        }
    }
}

pub(super) fn decimal(field: &'static str, text: &str) -> Result<Decimal, DecodeError> {
    Decimal::parse(text).map_err(|source| DecodeError::Decimal { field, source })
}

pub(super) fn symbol(text: &str) -> Result<Symbol, DecodeError> {
    Ok(parse_symbol(text)?)
}

/// A symbol as read: kept by the scanner, or checked now.
#[inline]
pub(super) fn sym(symbol: Sym<'_>) -> Result<Symbol, DecodeError> {
    Ok(symbol.or_parse(parse_symbol)?)
}

/// trade.mdx: one element of a `publicTrade` array.
///
/// ```json
/// {"T":1758841135823,"s":"BTCUSDT","S":"Buy","v":"0.020","p":"109378.90","L":"ZeroPlusTick","i":"2a74ac78-691c-5b54-9dbe-5aafe8364627","BT":false,"RPI":false,"seq":457514743450}
/// ```
///
/// Spot ids are digit strings (`"2290000000050703789"`), derivatives' are UUIDs.
#[derive(Deserialize)]
pub(super) struct WireTrade<'a> {
    #[serde(rename = "T")]
    pub(super) time: u64,
    #[serde(borrow, rename = "s")]
    pub(super) symbol: Sym<'a>,
    #[serde(borrow, rename = "S")]
    pub(super) side: &'a str,
    #[serde(borrow, rename = "v")]
    pub(super) qty: Num<'a>,
    #[serde(borrow, rename = "p")]
    pub(super) price: Num<'a>,
    #[serde(borrow, rename = "i")]
    pub(super) id: &'a str,
}

/// One `trade` row. UUID ids do not order trades; the key that de-duplicates them is the
/// trade time and the trade's place among the frame's trades of that millisecond (`run`).
pub(super) fn trade(
    frame: &FrameInfo,
    t: WireTrade<'_>,
    out: &mut Out,
    run: &mut (u64, u16),
) -> Result<(), DecodeError> {
    let buyer_is_maker = match t.side {
        "Sell" => true,
        "Buy" => false,
        _ => return Err(DecodeError::UnknownShape),
    };
    let trade_id = match integer(t.id) {
        Some(id) => TradeId::int(id),
        None => {
            let bytes = tick::parse_uuid(t.id).ok_or(DecodeError::UnknownShape)?;
            *run = if run.0 == t.time {
                (t.time, run.1.saturating_add(1))
            } else {
                (t.time, 0)
            };
            TradeId::Uuid { bytes, run: run.1 }
        }
    };
    let trade = Trade {
        event_time: frame.ts,
        trade_time: t.time,
        trade_id,
        price: num("p", t.price)?,
        qty: num("v", t.qty)?,
        buyer_is_maker,
    };
    out.ticks
        .push(frame.tick(sym(t.symbol)?, TickData::Trade(trade)));
    Ok(())
}

/// Digit text that reads back the same as an integer (no sign, no leading zero).
pub(super) fn integer(text: &str) -> Option<u64> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// all-liquidation.mdx: one element of an `allLiquidation` array.
///
/// ```json
/// {"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}
/// ```
#[derive(Deserialize)]
pub(super) struct WireLiquidation<'a> {
    #[serde(rename = "T")]
    time: u64,
    #[serde(borrow, rename = "s")]
    symbol: &'a str,
    #[serde(borrow, rename = "S")]
    side: &'a str,
    #[serde(borrow, rename = "v")]
    qty: &'a str,
    #[serde(borrow, rename = "p")]
    price: &'a str,
}

/// One `liquidation` row. Bybit's side names the liquidated position: a long (`Buy`) is
/// closed by selling.
pub(super) fn liquidation(
    frame: &FrameInfo,
    l: WireLiquidation<'_>,
    out: &mut Out,
) -> Result<(), DecodeError> {
    let sell = match l.side {
        "Buy" => true,
        "Sell" => false,
        _ => return Err(DecodeError::UnknownShape),
    };
    let liquidation = Liquidation {
        event_time: frame.ts,
        trade_time: l.time,
        sell,
        price: decimal("p", l.price)?,
        avg_price: Decimal::EMPTY,
        qty: decimal("v", l.qty)?,
    };
    out.ticks
        .push(frame.tick(symbol(l.symbol)?, TickData::Liquidation(liquidation)));
    Ok(())
}
