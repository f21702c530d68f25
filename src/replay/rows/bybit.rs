//! Bybit spot (`bybit`) and linear (`bybit-linear`) rows turned back into Bybit v5 public
//! messages, in the shapes Bybit documents and sends (the captured fixtures in
//! `tests/data/bybit/` show each, key order included; spot writes `ts` before `type`,
//! linear after it).
//!
//! - `trade` rows of one frame: one `publicTrade.S` message, `data` an array of
//!   `{"i","T","p","v","S","s","BT"}` (spot) or `{"T","s","S","v","p","L","i","BT"}`
//!   (linear); `S` is the taker's side (`Sell` where the buyer was the maker).
//! - `bookTicker`: `orderbook.1.S` as a snapshot, `b`/`a` the best level or empty, `u`.
//! - `ticker` (with the `funding` row the same frame made, on linear): `tickers.S` as a
//!   snapshot holding every field the row has (a row is the merged state, so each one is
//!   whole); `price24hPcnt` is the row's `change_pct` as a fraction again.
//! - `liquidation` rows of one frame: `allLiquidation.S`, `S` the liquidated position
//!   (`Buy` for a `SELL` order).
//! - `depth`: `orderbook.50.S`, a snapshot or a delta with the row's levels and `u`.
//!
//! What the rows do not hold is left out rather than made up: the cross sequences (`cs`,
//! `seq`), `cts`, `RPI`, spot's `usdIndexPrice` and linear's open interest and 1 h price.
//! Linear trades' tick direction `L` is derived from the previous trade of the recording
//! (`ZeroPlusTick` for a symbol's first).
//! <https://bybit-exchange.github.io/docs/v5/websocket/public/trade>, `.../orderbook`,
//! `.../ticker`, `.../all-liquidation`.

use std::collections::HashMap;

use super::{Obj, Row, array, get, ms};
use crate::book::Price;

/// The tick direction of each linear symbol's last trade: its price and direction.
#[derive(Debug, Default)]
pub(super) struct State {
    last: HashMap<String, (Price, &'static str)>,
}

impl State {
    /// `L` of a trade at `price`: up, down, or unchanged after an up or a down.
    fn direction(&mut self, symbol: &str, price: &str) -> &'static str {
        let Ok(price) = Price::parse(price) else {
            return "ZeroPlusTick";
        };
        let direction = match self.last.get(symbol) {
            None => "ZeroPlusTick",
            Some(&(last, _)) if price > last => "PlusTick",
            Some(&(last, _)) if price < last => "MinusTick",
            Some(&(_, "PlusTick" | "ZeroPlusTick")) => "ZeroPlusTick",
            Some(_) => "ZeroMinusTick",
        };
        self.last.insert(symbol.to_owned(), (price, direction));
        direction
    }

    /// One `publicTrade` message of the `trade` rows of one frame.
    pub(super) fn trades(&mut self, rows: &[Row]) -> Option<String> {
        let first = rows.first()?;
        let linear = is_linear(first);
        let symbol = get(first, "symbol")?;
        let mut data = Vec::with_capacity(rows.len());
        for row in rows {
            let (time, id) = (get(row, "trade_time")?, get(row, "trade_id")?);
            let (price, qty) = (get(row, "price")?, get(row, "qty")?);
            let side = taker_side(row)?;
            let mut trade = Obj::new();
            if linear {
                let direction = self.direction(symbol, price);
                trade
                    .raw("T", time)
                    .text("s", symbol)
                    .text("S", side)
                    .text("v", qty)
                    .text("p", price)
                    .text("L", direction)
                    .text("i", id);
            } else {
                trade
                    .text("i", id)
                    .raw("T", time)
                    .text("p", price)
                    .text("v", qty)
                    .text("S", side)
                    .text("s", symbol);
            }
            data.push(trade.raw("BT", "false").end());
        }
        let ts = get(first, "event_time")?;
        Some(message(first, "publicTrade", ts, "snapshot", &array(data)))
    }
}

/// Whether a row is of `bybit-linear` (its messages' shapes differ from spot's a little).
fn is_linear(row: &Row) -> bool {
    get(row, "exchange") == Some("bybit-linear")
}

/// `Sell` when the buyer was the maker, else `Buy`.
fn taker_side(row: &Row) -> Option<&'static str> {
    match get(row, "buyer_is_maker")? {
        "true" => Some("Sell"),
        "false" => Some("Buy"),
        _ => None,
    }
}

/// `{"topic":"<prefix>.<symbol>",...}` around `data`, in the category's key order.
fn message(row: &Row, prefix: &str, ts: &str, kind: &str, data: &str) -> String {
    let topic = format!("{prefix}.{}", get(row, "symbol").unwrap_or_default());
    let mut out = Obj::new();
    out.text("topic", &topic);
    if is_linear(row) {
        out.text("type", kind).raw("ts", ts);
    } else {
        out.raw("ts", ts).text("type", kind);
    }
    out.raw("data", data).end()
}

/// One `tickers` snapshot of a `ticker` row, of a `ticker` row and the `funding` row its
/// frame also made, or of a `funding` row alone.
pub(super) fn tickers(rows: &[Row]) -> Option<String> {
    let first = rows.first()?;
    let ticker = rows.iter().find(|r| get(r, "channel") == Some("ticker"));
    let funding = rows.iter().find(|r| get(r, "channel") == Some("funding"));
    let mut data = Obj::new();
    data.text("symbol", get(first, "symbol")?);
    let put = |data: &mut Obj, key: &str, row: Option<&Row>, field: &str| {
        if let Some(value) = row.and_then(|r| get(r, field)) {
            data.text(key, value);
        }
    };
    let pcnt = match ticker.and_then(|t| get(t, "change_pct")) {
        Some(percent) => Some(fraction(percent)?),
        None => None,
    };
    let put_pcnt = |data: &mut Obj| {
        if let Some(pcnt) = &pcnt {
            data.text("price24hPcnt", pcnt);
        }
    };
    if is_linear(first) {
        put_pcnt(&mut data);
        for (key, field) in [
            ("lastPrice", "last"),
            ("prevPrice24h", "open"),
            ("highPrice24h", "high"),
            ("lowPrice24h", "low"),
        ] {
            put(&mut data, key, ticker, field);
        }
        if let Some(funding) = funding {
            // Every funding field is written (empty as `""`, as dated futures send them):
            // a funding row stands for the whole funding state.
            data.text("markPrice", get(funding, "mark_price").unwrap_or_default())
                .text(
                    "indexPrice",
                    get(funding, "index_price").unwrap_or_default(),
                );
        }
        put(&mut data, "turnover24h", ticker, "quote_volume");
        put(&mut data, "volume24h", ticker, "volume");
        if let Some(funding) = funding {
            let next = get(funding, "next_funding_time").filter(|t| *t != "0");
            data.text("nextFundingTime", next.unwrap_or_default()).text(
                "fundingRate",
                get(funding, "funding_rate").unwrap_or_default(),
            );
        }
    } else {
        for (key, field) in [
            ("lastPrice", "last"),
            ("highPrice24h", "high"),
            ("lowPrice24h", "low"),
            ("prevPrice24h", "open"),
            ("volume24h", "volume"),
            ("turnover24h", "quote_volume"),
        ] {
            put(&mut data, key, ticker, field);
        }
        put_pcnt(&mut data);
    }
    // Spot tickers carry no best bid or ask; a row that has them gets them back.
    for (key, field) in [
        ("bid1Price", "bid"),
        ("bid1Size", "bid_qty"),
        ("ask1Price", "ask"),
        ("ask1Size", "ask_qty"),
    ] {
        put(&mut data, key, ticker, field);
    }
    let ts = get(first, "event_time")?;
    Some(message(first, "tickers", ts, "snapshot", &data.end()))
}

/// One `allLiquidation` message of the `liquidation` rows of one frame.
pub(super) fn liquidations(rows: &[Row]) -> Option<String> {
    let first = rows.first()?;
    let mut data = Vec::with_capacity(rows.len());
    for row in rows {
        // Bybit names the position: a long (`Buy`) is closed by a sell order.
        let side = match get(row, "side")? {
            "SELL" => "Buy",
            "BUY" => "Sell",
            _ => return None,
        };
        data.push(
            Obj::new()
                .raw("T", get(row, "trade_time")?)
                .text("s", get(row, "symbol")?)
                .text("S", side)
                .text("v", get(row, "qty")?)
                .text("p", get(row, "price")?)
                .end(),
        );
    }
    let ts = get(first, "event_time")?;
    Some(message(
        first,
        "allLiquidation",
        ts,
        "snapshot",
        &array(data),
    ))
}

/// `[[price, qty]]`, or `[]` where the row's side is empty.
fn best(row: &Row, price: &str, qty: &str) -> Option<String> {
    let Some(price) = get(row, price) else {
        return Some("[]".to_owned());
    };
    let level = array([price, get(row, qty)?].map(|t| {
        let mut text = String::new();
        super::push_json_string(&mut text, t);
        text
    }));
    Some(array([level]))
}

/// One `orderbook.1` snapshot of a `bookTicker` row.
pub(super) fn book_ticker(row: &Row) -> Option<String> {
    let data = Obj::new()
        .text("s", get(row, "symbol")?)
        .raw("b", &best(row, "bid", "bid_qty")?)
        .raw("a", &best(row, "ask", "ask_qty")?)
        .raw("u", get(row, "update_id")?)
        .end();
    Some(message(row, "orderbook.1", &ms(row)?, "snapshot", &data))
}

/// One `orderbook.50` snapshot or delta of a `depth` row.
pub(super) fn depth(row: &Row) -> Option<String> {
    let kind = match get(row, "is_snapshot")? {
        "true" => "snapshot",
        "false" => "delta",
        _ => return None,
    };
    let data = Obj::new()
        .text("s", get(row, "symbol")?)
        .raw("b", get(row, "bids")?)
        .raw("a", get(row, "asks")?)
        .raw("u", get(row, "update_id")?)
        .end();
    Some(message(row, "orderbook.50", &ms(row)?, kind, &data))
}

/// A percentage (`1.96`) as the fraction Bybit sends (`0.0196`), by moving the decimal
/// point two places in the text: the inverse of the decoder's `percent`.
pub(super) fn fraction(percent: &str) -> Option<String> {
    let (sign, digits) = match percent.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", percent),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{int:0>3}");
    let (whole, moved) = padded.split_at(padded.len() - 2);
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    Some(format!("{sign}{whole}.{moved}{frac}"))
}
