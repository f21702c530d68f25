//! Binance spot and USD-M rows (`trade`, `aggTrade`, `bookTicker`, `ticker`) turned back
//! into the Binance messages they came from.
//!
//! A row holds every field the Binance decoders read, so the message rebuilt from it
//! decodes to the same row: the decimal text as recorded, ids, times in the unit recorded
//! (a spot recording's are microseconds, which the server leaves alone).

use super::{Row, get};

/// The Binance message a row came from; `None` for a row missing a field it needs, or of
/// a channel served otherwise.
pub(super) fn frame(row: &Row) -> Option<String> {
    let get = |k: &str| get(row, k);
    let mut out = String::with_capacity(256);
    let mut field = |key: &str, value: &str, quoted: bool| {
        out.push(if out.is_empty() { '{' } else { ',' });
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        if quoted {
            out.push('"');
            out.push_str(value);
            out.push('"');
        } else {
            out.push_str(value);
        }
    };
    let symbol = get("symbol")?;
    match get("channel")? {
        "trade" => {
            field("e", "trade", true);
            field("E", get("event_time")?, false);
            field("s", symbol, true);
            field("t", get("trade_id")?, false);
            field("p", get("price")?, true);
            field("q", get("qty")?, true);
            field("T", get("trade_time")?, false);
            field("m", get("buyer_is_maker")?, false);
            field("M", "true", false);
        }
        "aggTrade" => {
            field("e", "aggTrade", true);
            field("E", get("event_time")?, false);
            field("s", symbol, true);
            field("a", get("agg_id")?, false);
            field("p", get("price")?, true);
            field("q", get("qty")?, true);
            field("f", get("first_trade_id")?, false);
            field("l", get("last_trade_id")?, false);
            field("T", get("trade_time")?, false);
            field("m", get("buyer_is_maker")?, false);
            field("M", "true", false);
        }
        "bookTicker" => {
            // USD-M tags its book ticker and stamps it; spot's has neither.
            let event_ms = get("exchange_ns")
                .and_then(|ns| ns.parse::<u64>().ok())
                .map(|ns| (ns / 1_000_000).to_string());
            if let Some(ms) = &event_ms {
                field("e", "bookTicker", true);
                field("E", ms, false);
            }
            field("u", get("update_id")?, false);
            field("s", symbol, true);
            field("b", get("bid")?, true);
            field("B", get("bid_qty")?, true);
            field("a", get("ask")?, true);
            field("A", get("ask_qty")?, true);
            if let Some(ms) = &event_ms {
                field("T", ms, false);
            }
        }
        "ticker" => {
            field("e", "24hrTicker", true);
            field("E", get("event_time")?, false);
            field("s", symbol, true);
            for (key, name) in [
                ("p", "change"),
                ("P", "change_pct"),
                ("c", "last"),
                ("Q", "last_qty"),
                ("b", "bid"),
                ("B", "bid_qty"),
                ("a", "ask"),
                ("A", "ask_qty"),
                ("o", "open"),
                ("h", "high"),
                ("l", "low"),
                ("v", "volume"),
                ("q", "quote_volume"),
            ] {
                field(key, get(name)?, true);
            }
        }
        _ => return None,
    }
    out.push('}');
    Some(out)
}
