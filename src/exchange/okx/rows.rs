//! OKX's wire structs (each with a sample payload) and the rows they become.
//!
//! This module owns reading a push's `data` array into [`Out`], by channel: trades, best
//! bid and ask, tickers, funding rates, liquidations and `books` updates with their levels.
//! Each hot channel's elements are read by [`super::scan`] or by serde (`Reader`) into the
//! same wire struct, and the same code makes the rows. [`super`] splits the frame and owns
//! the venue's plan and answers.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::super::scan::{Num, decimal, num};
use super::super::{DecodeError, Decoded, DepthUpdate, Level, Out, Venue, epoch_ns};
use super::{Arg, Reader, parse_symbol, scan};
use crate::tick::{self, Decimal, Symbol, Tick, TickData, TradeId};

/// One trade (`trades`).
/// `{"instId":"BTC-USDT","tradeId":"674510826","px":"95634.9","sz":"0.00011186","side":"buy","ts":"1740394561685","count":"1"}`
#[derive(Deserialize)]
pub(super) struct TradeWire<'a> {
    #[serde(rename = "tradeId")]
    pub(super) trade_id: &'a str,
    #[serde(borrow)]
    pub(super) px: Num<'a>,
    #[serde(borrow)]
    pub(super) sz: Num<'a>,
    pub(super) side: &'a str,
    pub(super) ts: &'a str,
}

/// Best bid and ask, tick by tick (`bbo-tbt`); a level is `[px, sz, "0", orders]`.
/// `{"asks":[["31774.7","0.14368878","0","3"]],"bids":[["31774.6","0.3392211","0","3"]],"ts":"1654032991947","seqId":363996337}`
#[derive(Deserialize)]
pub(super) struct BboWire<'a> {
    #[serde(borrow)]
    pub(super) asks: Best<'a>,
    #[serde(borrow)]
    pub(super) bids: Best<'a>,
    pub(super) ts: &'a str,
    #[serde(rename = "seqId")]
    pub(super) seq_id: Option<u64>,
}

/// The 24 h ticker (`tickers`); all values are strings.
/// `{"instType":"SPOT","instId":"BTC-USDT","last":"30236","lastSz":"0.0002","askPx":"30228.7",...,"ts":"1652459224956"}`
#[derive(Deserialize)]
struct TickerWire<'a> {
    last: &'a str,
    #[serde(rename = "lastSz")]
    last_sz: &'a str,
    #[serde(rename = "askPx")]
    ask_px: &'a str,
    #[serde(rename = "askSz")]
    ask_sz: &'a str,
    #[serde(rename = "bidPx")]
    bid_px: &'a str,
    #[serde(rename = "bidSz")]
    bid_sz: &'a str,
    #[serde(rename = "open24h")]
    open: &'a str,
    #[serde(rename = "high24h")]
    high: &'a str,
    #[serde(rename = "low24h")]
    low: &'a str,
    /// Base currency for spot, contracts for derivatives.
    #[serde(rename = "vol24h")]
    volume: &'a str,
    /// Quote currency for spot, base currency for derivatives.
    #[serde(rename = "volCcy24h")]
    quote_volume: &'a str,
    ts: &'a str,
}

/// The funding rate of a perpetual swap (`funding-rate`).
/// `{"fundingRate":"0.0001515","fundingTime":"1622822400000","instId":"BTC-USD-SWAP","nextFundingTime":"1622851200000",...,"ts":"1622822400100"}`
#[derive(Deserialize)]
struct FundingWire<'a> {
    #[serde(rename = "fundingRate")]
    funding_rate: &'a str,
    /// The settlement `fundingRate` applies at.
    #[serde(rename = "fundingTime")]
    funding_time: &'a str,
    ts: &'a str,
}

/// The liquidations of one instrument (`liquidation-orders`); `details` is read after
/// `instId`, which OKX writes later in the object.
/// `{"details":[{"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],"instId":"IOST-USDT-SWAP",...}`
#[derive(Deserialize)]
struct LiquidationsWire<'a> {
    #[serde(rename = "instId")]
    inst_id: &'a str,
    #[serde(borrow)]
    details: &'a RawValue,
}

/// One liquidation order: the bankruptcy price, size and the order's side.
#[derive(Deserialize)]
struct LiquidationWire<'a> {
    #[serde(rename = "bkPx")]
    price: &'a str,
    sz: &'a str,
    side: &'a str,
    ts: &'a str,
}

/// One `books` message: a snapshot or an update of the 400-level book.
/// `{"asks":[["8476.98","415","0","13"]],"bids":[...],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}`
#[derive(Deserialize)]
struct BookWire<'a> {
    #[serde(borrow)]
    asks: &'a RawValue,
    #[serde(borrow)]
    bids: &'a RawValue,
    ts: &'a str,
    checksum: Option<i64>,
    #[serde(rename = "prevSeqId")]
    prev_seq_id: Option<i64>,
    #[serde(rename = "seqId")]
    seq_id: Option<u64>,
}

/// A `books` message with its levels read into [`Out::levels`], by either reader.
pub(super) struct BookParts<'a> {
    pub(super) ts: &'a str,
    pub(super) checksum: Option<i64>,
    pub(super) prev_seq_id: Option<i64>,
    pub(super) seq_id: Option<u64>,
    pub(super) bids: std::ops::Range<u32>,
    pub(super) asks: std::ops::Range<u32>,
}

/// Reads the `data` array of a push of `arg`'s channel into `out`.
pub(super) fn push(
    arg: &Arg<'_>,
    action: Option<&str>,
    data: &str,
    recv_ns: u64,
    out: &mut Out,
    reader: Reader,
) -> Result<Decoded, DecodeError> {
    let inst = || arg.inst_id.ok_or(DecodeError::UnknownShape);
    match arg.channel {
        "trades" => {
            let symbol = parse_symbol(inst()?)?;
            let trade = |w: TradeWire<'_>, out: &mut Out| {
                let ts = int(w.ts)?;
                out.ticks.push(row(
                    &symbol,
                    recv_ns,
                    ts,
                    TickData::Trade(tick::Trade {
                        event_time: ts,
                        trade_time: ts,
                        trade_id: TradeId::int(int(w.trade_id)?),
                        price: num("px", w.px)?,
                        qty: num("sz", w.sz)?,
                        buyer_is_maker: side_is_sell(w.side)?,
                    }),
                ));
                Ok(())
            };
            match reader {
                Reader::Scan => scan::each(data, out, scan::trade, trade)?,
                Reader::Serde => each(data, |w| trade(w, out))?,
            }
        }
        "bbo-tbt" => {
            let symbol = parse_symbol(inst()?)?;
            let bbo = |w: BboWire<'_>, out: &mut Out| {
                let ts = int(w.ts)?;
                let (bid, bid_qty) = w.bids.decimals("bids")?;
                let (ask, ask_qty) = w.asks.decimals("asks")?;
                out.ticks.push(row(
                    &symbol,
                    recv_ns,
                    ts,
                    TickData::BookTicker(tick::BookTicker {
                        update_id: w.seq_id.unwrap_or(ts),
                        bid,
                        bid_qty,
                        ask,
                        ask_qty,
                    }),
                ));
                Ok(())
            };
            match reader {
                Reader::Scan => scan::each(data, out, scan::bbo, bbo)?,
                Reader::Serde => each(data, |w| bbo(w, out))?,
            }
        }
        "tickers" => {
            let symbol = parse_symbol(inst()?)?;
            each(data, |w: TickerWire<'_>| {
                let ts = int(w.ts)?;
                let ticker = tick::Ticker {
                    event_time: ts,
                    last: decimal_or_empty("last", w.last)?,
                    last_qty: decimal_or_empty("lastSz", w.last_sz)?,
                    bid: decimal_or_empty("bidPx", w.bid_px)?,
                    bid_qty: decimal_or_empty("bidSz", w.bid_sz)?,
                    ask: decimal_or_empty("askPx", w.ask_px)?,
                    ask_qty: decimal_or_empty("askSz", w.ask_sz)?,
                    open: decimal_or_empty("open24h", w.open)?,
                    high: decimal_or_empty("high24h", w.high)?,
                    low: decimal_or_empty("low24h", w.low)?,
                    volume: decimal_or_empty("vol24h", w.volume)?,
                    quote_volume: decimal_or_empty("volCcy24h", w.quote_volume)?,
                    change: Decimal::EMPTY,
                    change_pct: Decimal::EMPTY,
                };
                out.ticks.push(row(
                    &symbol,
                    recv_ns,
                    ts,
                    TickData::Ticker(Box::new(ticker)),
                ));
                Ok(())
            })?
        }
        "funding-rate" => {
            let symbol = parse_symbol(inst()?)?;
            each(data, |w: FundingWire<'_>| {
                let ts = int(w.ts)?;
                out.ticks.push(row(
                    &symbol,
                    recv_ns,
                    ts,
                    TickData::Funding(tick::Funding {
                        event_time: ts,
                        mark_price: Decimal::EMPTY,
                        index_price: Decimal::EMPTY,
                        funding_rate: decimal("fundingRate", w.funding_rate)?,
                        next_funding_time: int(w.funding_time)?,
                    }),
                ));
                Ok(())
            })?
        }
        "liquidation-orders" => each(data, |w: LiquidationsWire<'_>| {
            let symbol = parse_symbol(w.inst_id)?;
            each(w.details.get(), |d: LiquidationWire<'_>| {
                let ts = int(d.ts)?;
                out.ticks.push(row(
                    &symbol,
                    recv_ns,
                    ts,
                    TickData::Liquidation(tick::Liquidation {
                        event_time: ts,
                        trade_time: ts,
                        sell: side_is_sell(d.side)?,
                        price: decimal("bkPx", d.price)?,
                        avg_price: Decimal::EMPTY,
                        qty: decimal("sz", d.sz)?,
                    }),
                ));
                Ok(())
            })
        })?,
        "books" | "books-l2-tbt" | "books50-l2-tbt" => {
            let symbol = parse_symbol(inst()?)?;
            let snapshot = match action {
                Some("snapshot") => true,
                Some("update") => false,
                _ => return Err(DecodeError::UnknownShape),
            };
            let book = |w: BookParts<'_>, out: &mut Out| {
                let ts = int(w.ts)?;
                out.depth.push(DepthUpdate {
                    symbol: symbol.clone(),
                    snapshot,
                    first_update_id: None,
                    last_update_id: w.seq_id.unwrap_or(0),
                    // A snapshot's prevSeqId is -1: nothing before it.
                    prev_update_id: w.prev_seq_id.and_then(|p| u64::try_from(p).ok()),
                    checksum: w.checksum,
                    exchange_ns: epoch_ns(ts),
                    recv_ns,
                    bids: w.bids,
                    asks: w.asks,
                });
                Ok(())
            };
            match reader {
                Reader::Scan => scan::each(data, out, scan::book, book)?,
                Reader::Serde => each(data, |w: BookWire<'_>| {
                    let bids = levels(w.bids.get(), &mut out.levels)?;
                    let asks = levels(w.asks.get(), &mut out.levels)?;
                    let parts = BookParts {
                        ts: w.ts,
                        checksum: w.checksum,
                        prev_seq_id: w.prev_seq_id,
                        seq_id: w.seq_id,
                        bids,
                        asks,
                    };
                    book(parts, out)
                })?,
            }
        }
        _ => return Ok(Decoded::Unsupported),
    }
    Ok(Decoded::Data)
}

/// A tick of OKX's `symbol` stamped with OKX's `ts` (ms).
#[inline]
fn row(symbol: &Symbol, recv_ns: u64, ts: u64, data: TickData) -> Tick {
    Tick {
        exchange: Venue::Okx,
        symbol: symbol.clone(),
        recv_ns,
        exchange_ns: epoch_ns(ts),
        data,
    }
}

/// An integer sent as text (OKX writes times and ids as strings).
#[inline]
fn int(text: &str) -> Result<u64, DecodeError> {
    text.parse().map_err(|_| DecodeError::UnknownShape)
}

/// Tickers of quiet instruments leave fields empty (`"bidPx":""`).
#[inline]
fn decimal_or_empty(field: &'static str, text: &str) -> Result<Decimal, DecodeError> {
    if text.is_empty() {
        Ok(Decimal::EMPTY)
    } else {
        decimal(field, text)
    }
}

/// `sell` or `buy`: the taker's side (trades) or the order's (liquidations).
#[inline]
fn side_is_sell(side: &str) -> Result<bool, DecodeError> {
    match side {
        "sell" => Ok(true),
        "buy" => Ok(false),
        _ => Err(DecodeError::UnknownShape),
    }
}

/// Calls `f` with each element of the JSON array `data`, read straight from the text
/// (no `Vec` of elements); the first error `f` returns is the result.
fn each<'a, T: Deserialize<'a>>(
    data: &'a str,
    f: impl FnMut(T) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut failed = None;
    let mut de = serde_json::Deserializer::from_str(data);
    let seed = Each {
        f,
        failed: &mut failed,
        _t: PhantomData,
    };
    match seed.deserialize(&mut de).and_then(|()| de.end()) {
        Ok(()) => Ok(()),
        Err(e) => Err(failed.take().unwrap_or(DecodeError::Json(e))),
    }
}

struct Each<'e, T, F> {
    f: F,
    failed: &'e mut Option<DecodeError>,
    _t: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>, F: FnMut(T) -> Result<(), DecodeError>> DeserializeSeed<'de>
    for Each<'_, T, F>
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
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
                return Err(de::Error::custom("element refused"));
            }
        }
        Ok(())
    }
}

/// The first `[px, sz, ...]` level of a side (`bbo-tbt` has at most one), if any.
pub(super) struct Best<'a>(pub(super) Option<(Num<'a>, Num<'a>)>);

impl Best<'_> {
    /// Price and quantity, empty when the side is.
    fn decimals(&self, field: &'static str) -> Result<(Decimal, Decimal), DecodeError> {
        match self.0 {
            Some((px, sz)) => Ok((num(field, px)?, num(field, sz)?)),
            None => Ok((Decimal::EMPTY, Decimal::EMPTY)),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Best<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Side<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Side<'a> {
            type Value = Best<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of levels")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Best<'a>, A::Error> {
                let first = seq.next_element::<LevelWire<'a>>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Best(first.map(|l| (l.px, l.sz))))
            }
        }
        deserializer.deserialize_seq(Side(PhantomData))
    }
}

/// One level `[px, sz, "0", orders]`: the price and size; the rest is skipped.
struct LevelWire<'a> {
    px: Num<'a>,
    sz: Num<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for LevelWire<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = LevelWire<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a level [price, size, ...]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LevelWire<'a>, A::Error> {
                let px = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let sz = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LevelWire { px, sz })
            }
        }
        deserializer.deserialize_seq(V(PhantomData))
    }
}

/// Appends the levels of one side to `levels`; returns their range.
fn levels(side: &str, levels: &mut Vec<Level>) -> Result<std::ops::Range<u32>, DecodeError> {
    let start = levels.len() as u32;
    each(side, |l: LevelWire<'_>| {
        levels.push(Level {
            price: num("px", l.px)?,
            qty: num("sz", l.sz)?,
        });
        Ok(())
    })?;
    Ok(start..levels.len() as u32)
}
