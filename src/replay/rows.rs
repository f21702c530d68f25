//! Recordings of foxtrot's own rows (NDJSON or CSV, `record --out`) turned back into the
//! Binance messages they came from, so `foxtrot replay` serves them.
//!
//! A row holds every field the Binance decoders read, so the message rebuilt from it
//! decodes to the same row: the decimal text as recorded, ids, times in the unit recorded
//! (a spot recording's are microseconds, which the server leaves alone). Gap records are
//! skipped. Rows of other venues and channels are refused ([`unservable`]): a Bybit or OKX
//! row does not hold what their messages carry (OKX's checksums, Bybit's trade direction
//! and sequence), and `depth`/`book` rows are the rebuilt book, not the venue's events;
//! a raw capture (`record --raw`) is what replays those.

use std::collections::HashMap;

/// A row's fields as text (a decimal without its quotes), by column name.
pub(crate) type Row = HashMap<String, String>;

/// Whether a line is a row of foxtrot's NDJSON output (or a gap record).
pub(crate) fn is_ndjson_row(line: &str) -> bool {
    line.starts_with("{\"exchange\":") || line.starts_with("{\"type\":\"gap\"")
}

/// Whether a line is the header of foxtrot's CSV output.
pub(crate) fn is_csv_header(line: &str) -> bool {
    line.starts_with("exchange,symbol,channel,recv_ns")
}

/// The fields of an NDJSON row as text; `None` for a gap record or a line of another shape.
pub(crate) fn ndjson_row(line: &str) -> Option<Row> {
    let value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).ok()?;
    if value.contains_key("type") {
        return None;
    }
    Some(
        value
            .into_iter()
            .filter_map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => return None,
                    other => other.to_string(),
                };
                Some((k, text))
            })
            .collect(),
    )
}

/// The venue and channel of a row that has no Binance message to rebuild: not Binance
/// spot or USD-M, or not `trade`, `aggTrade`, `bookTicker` or `ticker`.
pub(crate) fn unservable(row: &Row) -> Option<(String, String)> {
    let exchange = row.get("exchange")?;
    let channel = row.get("channel")?;
    let servable = matches!(exchange.as_str(), "binance" | "binance-futures")
        && matches!(
            channel.as_str(),
            "trade" | "aggTrade" | "bookTicker" | "ticker"
        );
    (!servable).then(|| (exchange.clone(), channel.clone()))
}

/// The Binance message a row came from, and its receive time; `None` for a row of another
/// venue or channel.
pub(crate) fn message(row: &Row) -> Option<(String, Option<u64>)> {
    let get = |k: &str| row.get(k).filter(|v| !v.is_empty()).map(String::as_str);
    let exchange = get("exchange")?;
    if exchange != "binance" && exchange != "binance-futures" {
        return None;
    }
    let recv_ns = get("recv_ns").and_then(|v| v.parse().ok());
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
    Some((out, recv_ns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{Decoded, Out, Venue};

    /// Rows the NDJSON encoder wrote from the Binance fixtures.
    const ROWS: [&str; 3] = [
        r#"{"exchange":"binance","symbol":"BTCUSDT","channel":"trade","recv_ns":7,"exchange_ns":1723161255343000000,"event_time":1723161255343000,"trade_time":1723161255342000,"trade_id":3735683259,"price":"61837.63000000","qty":"0.02000000","buyer_is_maker":true}"#,
        r#"{"exchange":"binance","symbol":"BTCUSDT","channel":"bookTicker","recv_ns":8,"exchange_ns":null,"update_id":50093239212,"bid":"61837.63000000","bid_qty":"3.78826000","ask":"61837.64000000","ask_qty":"1.54698000"}"#,
        r#"{"exchange":"binance","symbol":"BTCUSDT","channel":"aggTrade","recv_ns":9,"exchange_ns":1617566591315000000,"event_time":1617566591315000,"trade_time":1617566591314000,"agg_id":665076760,"first_trade_id":745522877,"last_trade_id":745522877,"price":"58001.03000000","qty":"0.08620500","buyer_is_maker":false}"#,
    ];

    #[test]
    fn rebuilt_messages_decode_to_the_same_rows() {
        for line in ROWS {
            let row = ndjson_row(line).unwrap();
            let (frame, recv_ns) = message(&row).unwrap();
            let recv_ns = recv_ns.unwrap();
            let mut out = Out::default();
            let decoded = Venue::Binance
                .exchange()
                .decode(&frame, recv_ns, &mut out)
                .unwrap_or_else(|e| panic!("{frame}: {e}"));
            assert!(matches!(decoded, Decoded::Data), "{frame}");
            let mut encoded = Vec::new();
            crate::sink::Encode::encode(
                &mut crate::sink::ndjson::Ndjson,
                &out.ticks[0],
                &mut encoded,
            );
            assert_eq!(
                String::from_utf8(encoded).unwrap(),
                format!("{line}\n"),
                "{frame}"
            );
        }
    }

    #[test]
    fn gap_records_are_skipped_and_other_venues_and_channels_refused() {
        assert!(ndjson_row(r#"{"type":"gap","exchange":"binance"}"#).is_none());
        let okx = ndjson_row(&ROWS[0].replace("\"binance\"", "\"okx\"")).unwrap();
        assert_eq!(unservable(&okx), Some(("okx".into(), "trade".into())));
        let depth = ndjson_row(&ROWS[0].replace("\"trade\"", "\"depth\"")).unwrap();
        assert_eq!(unservable(&depth), Some(("binance".into(), "depth".into())));
        for line in ROWS {
            assert_eq!(unservable(&ndjson_row(line).unwrap()), None, "{line}");
        }
    }
}
