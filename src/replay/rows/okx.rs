//! OKX rows turned back into OKX v5 public pushes, in the shapes OKX documents and sends
//! (`{"arg":{...},"data":[...]}`, every number but `seqId`/`prevSeqId`/`checksum` a
//! string; the captured fixtures in `tests/data/okx/` show each).
//!
//! - `trade` rows of one frame: one `trades` push, each `{"instId","tradeId","px","sz",
//!   "side","ts"}`, `side` the taker's (`sell` where the buyer was the maker).
//! - `bookTicker`: `bbo-tbt`, a level being `[px, sz, "0", orders]`; `seqId` is the row's
//!   `update_id` unless that is the `ts` the decoder falls back to.
//! - `ticker`: `tickers` with `instType` (from the instrument id) and every field the row
//!   has (empty ones as `""`, as OKX sends them for quiet instruments).
//! - `funding`: `funding-rate` with `fundingRate` and `fundingTime`.
//! - `liquidation` rows of one frame: one `liquidation-orders` push per instrument type
//!   with their `details` (`posSide` follows from the order's side).
//! - `depth`: `books`, `action` `snapshot` or `update`, `seqId`/`prevSeqId` (a snapshot's
//!   `prevSeqId` is -1) where the row has them, and the CRC32 `checksum` of the book after
//!   the message, which this module keeps per instrument from the rows it served.
//!
//! Left out, as the rows do not hold them: a trade's `count`, tickers' `sodUtc0`/`sodUtc8`,
//! the other funding fields, `bkLoss`. The order count of a level (the fourth element) is
//! not recorded either: it is written `1`, or `0` for a level the message removes.
//! <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-trades-channel>

use std::collections::HashMap;

use super::{Obj, Row, array, get, levels, ms};
use crate::book::{Book, Change, Side, checksum};
use crate::exchange::okx::inst_type;

/// `{"arg":{"channel":..,"instId":..},"data":[items]}` (or `instType` for liquidations).
fn push(channel: &str, key: &str, value: &str, action: Option<&str>, items: Vec<String>) -> String {
    let arg = Obj::new().text("channel", channel).text(key, value).end();
    let mut out = Obj::new();
    out.raw("arg", &arg);
    if let Some(action) = action {
        out.text("action", action);
    }
    out.raw("data", &array(items)).end()
}

/// `sell` when the buyer was the maker, else `buy`.
fn taker_side(row: &Row) -> Option<&'static str> {
    match get(row, "buyer_is_maker")? {
        "true" => Some("sell"),
        "false" => Some("buy"),
        _ => None,
    }
}

/// One `trades` push of the `trade` rows of one frame.
pub(super) fn trades(rows: &[Row]) -> Option<String> {
    let inst = get(rows.first()?, "symbol")?;
    let mut data = Vec::with_capacity(rows.len());
    for row in rows {
        data.push(
            Obj::new()
                .text("instId", inst)
                .text("tradeId", get(row, "trade_id")?)
                .text("px", get(row, "price")?)
                .text("sz", get(row, "qty")?)
                .text("side", taker_side(row)?)
                .text("ts", get(row, "trade_time")?)
                .end(),
        );
    }
    Some(push("trades", "instId", inst, None, data))
}

/// `[[px, sz, "0", "1"]]`, or `[]` where the row's side is empty.
fn best(row: &Row, price: &str, qty: &str) -> Option<String> {
    let Some(price) = get(row, price) else {
        return Some("[]".to_owned());
    };
    Some(array([level(price, get(row, qty)?)]))
}

/// `[px, sz, "0", orders]`: one order for a level, none for a removal.
fn level(price: &str, qty: &str) -> String {
    let removes = Change::parse(price, qty).is_ok_and(|c| c.removes);
    let orders = if removes { "0" } else { "1" };
    array([price, qty, "0", orders].map(|t| {
        let mut text = String::new();
        super::push_json_string(&mut text, t);
        text
    }))
}

/// One `bbo-tbt` push of a `bookTicker` row.
pub(super) fn bbo(row: &Row) -> Option<String> {
    let ts = ms(row)?;
    let mut data = Obj::new();
    data.raw("asks", &best(row, "ask", "ask_qty")?)
        .raw("bids", &best(row, "bid", "bid_qty")?)
        .text("ts", &ts);
    let id = get(row, "update_id")?;
    if id != ts {
        data.raw("seqId", id);
    }
    Some(push(
        "bbo-tbt",
        "instId",
        get(row, "symbol")?,
        None,
        vec![data.end()],
    ))
}

/// One `tickers` push of a `ticker` row.
pub(super) fn ticker(row: &Row) -> Option<String> {
    let inst = get(row, "symbol")?;
    let mut data = Obj::new();
    data.text("instType", kind(inst)).text("instId", inst);
    for (key, field) in [
        ("last", "last"),
        ("lastSz", "last_qty"),
        ("askPx", "ask"),
        ("askSz", "ask_qty"),
        ("bidPx", "bid"),
        ("bidSz", "bid_qty"),
        ("open24h", "open"),
        ("high24h", "high"),
        ("low24h", "low"),
        ("volCcy24h", "quote_volume"),
        ("vol24h", "volume"),
    ] {
        data.text(key, get(row, field).unwrap_or_default());
    }
    data.text("ts", get(row, "event_time")?);
    Some(push("tickers", "instId", inst, None, vec![data.end()]))
}

/// The `instType` of an instrument as tickers name it (`SPOT` where subscriptions say
/// `MARGIN`).
fn kind(inst: &str) -> &'static str {
    match inst_type(inst) {
        "MARGIN" => "SPOT",
        other => other,
    }
}

/// One `funding-rate` push of a `funding` row.
pub(super) fn funding(row: &Row) -> Option<String> {
    let inst = get(row, "symbol")?;
    let data = Obj::new()
        .text("instType", kind(inst))
        .text("instId", inst)
        .text("fundingRate", get(row, "funding_rate")?)
        .text("fundingTime", get(row, "next_funding_time")?)
        .text("ts", get(row, "event_time")?)
        .end();
    Some(push("funding-rate", "instId", inst, None, vec![data]))
}

/// One `liquidation-orders` push of the `liquidation` rows of one frame (one instrument).
pub(super) fn liquidations(rows: &[Row]) -> Option<String> {
    let inst = get(rows.first()?, "symbol")?;
    let mut details = Vec::with_capacity(rows.len());
    for row in rows {
        // The order closes the position: a sell closes a long.
        let (side, pos_side) = match get(row, "side")? {
            "SELL" => ("sell", "long"),
            "BUY" => ("buy", "short"),
            _ => return None,
        };
        details.push(
            Obj::new()
                .text("bkPx", get(row, "price")?)
                .text("posSide", pos_side)
                .text("side", side)
                .text("sz", get(row, "qty")?)
                .text("ts", get(row, "trade_time")?)
                .end(),
        );
    }
    let family = inst.split('-').take(2).collect::<Vec<_>>().join("-");
    let kind = inst_type(inst);
    let data = Obj::new()
        .raw("details", &array(details))
        .text("instFamily", &family)
        .text("instId", inst)
        .text("instType", kind)
        .text("uly", &family)
        .end();
    Some(push(
        "liquidation-orders",
        "instType",
        kind,
        None,
        vec![data],
    ))
}

/// The books of the `depth` rows served so far, per instrument, for the checksums.
#[derive(Debug, Default)]
pub(super) struct State {
    books: HashMap<String, Book>,
}

impl State {
    /// One `books` push of a `depth` row; the instrument's book takes the row's levels.
    pub(super) fn depth(&mut self, row: &Row) -> Option<String> {
        let inst = get(row, "symbol")?;
        let snapshot = match get(row, "is_snapshot")? {
            "true" => true,
            "false" => false,
            _ => return None,
        };
        let (bids, asks) = (levels(row, "bids")?, levels(row, "asks")?);
        let changes = |side: &[[String; 2]]| -> Option<Vec<Change>> {
            side.iter().map(|[p, q]| Change::parse(p, q).ok()).collect()
        };
        let (bid_changes, ask_changes) = (changes(&bids)?, changes(&asks)?);
        let book = self.books.entry(inst.to_owned()).or_default();
        if snapshot {
            book.replace(&bid_changes, &ask_changes);
        } else {
            for change in &bid_changes {
                book.apply(Side::Bid, change);
            }
            for change in &ask_changes {
                book.apply(Side::Ask, change);
            }
        }
        let side = |levels: &[[String; 2]]| array(levels.iter().map(|[p, q]| level(p, q)));
        let mut data = Obj::new();
        data.raw("asks", &side(&asks))
            .raw("bids", &side(&bids))
            .text("ts", &ms(row)?)
            .raw("checksum", &checksum::okx(book).to_string());
        // Frames from before OKX sent sequence ids have none (the row's id is 0).
        let id = get(row, "update_id")?;
        if id != "0" {
            match (snapshot, get(row, "prev_update_id")) {
                (true, _) => {
                    data.raw("prevSeqId", "-1");
                }
                (false, Some(prev)) => {
                    data.raw("prevSeqId", prev);
                }
                (false, None) => {}
            }
            data.raw("seqId", id);
        }
        let action = if snapshot { "snapshot" } else { "update" };
        Some(push(
            "books",
            "instId",
            inst,
            Some(action),
            vec![data.end()],
        ))
    }
}
