//! Bybit's wire structs (each with its doc page and a sample) and the rows they become.
//!
//! This module owns reading a message's `data` into [`Out`]: trades, level-1 book tickers,
//! order-book updates, merged tickers and funding, liquidations. [`super`] reads the
//! message around it and owns the venue's plan and answers.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::super::scan::{Num, Sym, num};
use super::super::{DecodeError, DepthUpdate, Level, Out, Venue, epoch_ns};
use super::parse_symbol;
use crate::tick::{
    self, BookTicker, Decimal, Funding, Liquidation, Symbol, Tick, TickData, Ticker, Trade, TradeId,
};

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

/// orderbook.mdx: the `data` of an order-book message.
///
/// ```json
/// {"s":"BANDUSDT","b":[["0.6131","17.9"]],"a":[["0.6134","35.4"]],"u":24042997,"seq":209972815373}
/// ```
///
/// Read by hand so the levels go straight into the caller's [`Out::levels`].
pub(super) struct BookData<'a> {
    pub(super) symbol: Sym<'a>,
    pub(super) bids: std::ops::Range<u32>,
    pub(super) asks: std::ops::Range<u32>,
    pub(super) update_id: u64,
}

/// Reads [`BookData`], appending levels to `levels`.
pub(super) struct BookSeed<'o> {
    levels: &'o mut Vec<Level>,
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
pub(super) struct LevelsSeed<'o> {
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
pub(super) fn book_ticker(
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

pub(super) fn is_zero(qty: &Decimal) -> bool {
    qty.is_zero()
}

/// `orderbook.50`/`.200`/`.500`: a snapshot or delta for the book code.
pub(super) fn book_update(
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

/// ticker.mdx: the `data` of a `tickers` message; a delta holds only what changed.
///
/// ```json
/// {"symbol":"BTCUSDT","markPrice":"61875.06","indexPrice":"61903.59","bid1Price":"61873.90","bid1Size":"3.543"}
/// ```
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireTicker<'a> {
    #[serde(borrow)]
    symbol: &'a str,
    #[serde(borrow)]
    last_price: Option<&'a str>,
    #[serde(borrow)]
    prev_price24h: Option<&'a str>,
    #[serde(borrow)]
    high_price24h: Option<&'a str>,
    #[serde(borrow)]
    low_price24h: Option<&'a str>,
    #[serde(borrow)]
    volume24h: Option<&'a str>,
    #[serde(borrow)]
    turnover24h: Option<&'a str>,
    #[serde(borrow)]
    price24h_pcnt: Option<&'a str>,
    #[serde(borrow, rename = "bid1Price")]
    bid: Option<&'a str>,
    #[serde(borrow, rename = "bid1Size")]
    bid_qty: Option<&'a str>,
    #[serde(borrow, rename = "ask1Price")]
    ask: Option<&'a str>,
    #[serde(borrow, rename = "ask1Size")]
    ask_qty: Option<&'a str>,
    #[serde(borrow)]
    mark_price: Option<&'a str>,
    #[serde(borrow)]
    index_price: Option<&'a str>,
    #[serde(borrow)]
    funding_rate: Option<&'a str>,
    #[serde(borrow)]
    next_funding_time: Option<&'a str>,
}

/// The merged state of one symbol's ticker.
#[derive(Clone, Copy, Debug)]
pub(super) struct TickerState {
    last: Decimal,
    open: Decimal,
    high: Decimal,
    low: Decimal,
    volume: Decimal,
    quote_volume: Decimal,
    change_pct: Decimal,
    bid: Decimal,
    bid_qty: Decimal,
    ask: Decimal,
    ask_qty: Decimal,
    mark_price: Decimal,
    index_price: Decimal,
    funding_rate: Decimal,
    next_funding_time: u64,
}

impl Default for TickerState {
    fn default() -> TickerState {
        let e = Decimal::EMPTY;
        TickerState {
            last: e,
            open: e,
            high: e,
            low: e,
            volume: e,
            quote_volume: e,
            change_pct: e,
            bid: e,
            bid_qty: e,
            ask: e,
            ask_qty: e,
            mark_price: e,
            index_price: e,
            funding_rate: e,
            next_funding_time: 0,
        }
    }
}

/// The tickers of one connection, by symbol (kept in [`Out::state`]).
pub(super) type Tickers = HashMap<Symbol, TickerState>;

pub(super) fn tickers(
    frame: &FrameInfo,
    wire: WireTicker<'_>,
    out: &mut Out,
) -> Result<(), DecodeError> {
    let symbol = symbol(wire.symbol)?;
    let state = out
        .state
        .get_or_insert_with(|| Box::new(Tickers::new()))
        .downcast_mut::<Tickers>()
        .expect("only Bybit's decoder keeps state in a Bybit connection");
    let held = state.entry(symbol.clone()).or_default();
    if frame.snapshot {
        *held = TickerState::default();
    }
    let set = |slot: &mut Decimal, field, text: Option<&str>| -> Result<(), DecodeError> {
        if let Some(text) = text {
            // Dated futures send `""` for funding fields they do not have.
            *slot = if text.is_empty() {
                Decimal::EMPTY
            } else {
                decimal(field, text)?
            };
        }
        Ok(())
    };
    set(&mut held.last, "lastPrice", wire.last_price)?;
    set(&mut held.open, "prevPrice24h", wire.prev_price24h)?;
    set(&mut held.high, "highPrice24h", wire.high_price24h)?;
    set(&mut held.low, "lowPrice24h", wire.low_price24h)?;
    set(&mut held.volume, "volume24h", wire.volume24h)?;
    set(&mut held.quote_volume, "turnover24h", wire.turnover24h)?;
    if let Some(fraction) = wire.price24h_pcnt {
        held.change_pct = percent(fraction).ok_or_else(|| DecodeError::Decimal {
            field: "price24hPcnt",
            source: tick::DecimalError(fraction.to_owned()),
        })?;
    }
    set(&mut held.bid, "bid1Price", wire.bid)?;
    set(&mut held.bid_qty, "bid1Size", wire.bid_qty)?;
    set(&mut held.ask, "ask1Price", wire.ask)?;
    set(&mut held.ask_qty, "ask1Size", wire.ask_qty)?;
    set(&mut held.mark_price, "markPrice", wire.mark_price)?;
    set(&mut held.index_price, "indexPrice", wire.index_price)?;
    set(&mut held.funding_rate, "fundingRate", wire.funding_rate)?;
    if let Some(time) = wire.next_funding_time {
        held.next_funding_time = match time {
            "" => 0,
            time => integer(time).ok_or(DecodeError::UnknownShape)?,
        };
    }
    let held = *held;
    out.ticks.push(frame.tick(
        symbol.clone(),
        TickData::Ticker(Box::new(Ticker {
            event_time: frame.ts,
            last: held.last,
            last_qty: Decimal::EMPTY,
            bid: held.bid,
            bid_qty: held.bid_qty,
            ask: held.ask,
            ask_qty: held.ask_qty,
            open: held.open,
            high: held.high,
            low: held.low,
            volume: held.volume,
            quote_volume: held.quote_volume,
            change: Decimal::EMPTY,
            change_pct: held.change_pct,
        })),
    ));
    let funding_changed = wire.mark_price.is_some()
        || wire.index_price.is_some()
        || wire.funding_rate.is_some()
        || wire.next_funding_time.is_some();
    if funding_changed {
        out.ticks.push(frame.tick(
            symbol,
            TickData::Funding(Funding {
                event_time: frame.ts,
                mark_price: held.mark_price,
                index_price: held.index_price,
                funding_rate: held.funding_rate,
                next_funding_time: held.next_funding_time,
            }),
        ));
    }
    Ok(())
}

/// `fraction` (`-0.009772`) times 100 (`-0.9772`), by moving the decimal point in the text.
pub(super) fn percent(fraction: &str) -> Option<Decimal> {
    Decimal::parse(fraction).ok()?;
    let (sign, digits) = match fraction.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", fraction),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let moved = frac.len().min(2);
    let mut whole = String::with_capacity(int.len() + 2);
    whole.push_str(int);
    whole.push_str(&frac[..moved]);
    for _ in moved..2 {
        whole.push('0');
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let rest = &frac[moved..];
    let mut text = String::with_capacity(fraction.len() + 2);
    text.push_str(sign);
    text.push_str(whole);
    if !rest.is_empty() {
        text.push('.');
        text.push_str(rest);
    }
    Decimal::parse(&text).ok()
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
