//! Bybit's `tickers` `data`: a snapshot or a delta holding only what changed, merged per
//! symbol into the state the connection keeps, and the `ticker` and `funding` rows that
//! state becomes.

use std::collections::HashMap;

use serde::Deserialize;

use super::super::super::{DecodeError, Out};
use super::{FrameInfo, decimal, integer, symbol};
use crate::tick::{self, Decimal, Funding, Symbol, TickData, Ticker};

/// ticker.mdx: the `data` of a `tickers` message; a delta holds only what changed.
///
/// ```json
/// {"symbol":"BTCUSDT","markPrice":"61875.06","indexPrice":"61903.59","bid1Price":"61873.90","bid1Size":"3.543"}
/// ```
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(in crate::exchange::bybit) struct WireTicker<'a> {
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
pub(in crate::exchange::bybit) struct TickerState {
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
pub(in crate::exchange::bybit) type Tickers = HashMap<Symbol, TickerState>;

pub(in crate::exchange::bybit) fn tickers(
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
pub(in crate::exchange::bybit) fn percent(fraction: &str) -> Option<Decimal> {
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
