//! Binance's diff-depth stream (spot and USD-M futures): its stream name at the chosen
//! speed, and the decoder of its events into [`Out::depth`].
//!
//! This module owns `<symbol>@depth@100ms` (or `@depth`, the 1000 ms stream of spot): the
//! name a `depth` or `book` stream subscribes to, and reading a `depthUpdate` event (in a
//! combined frame or raw) into one [`DepthUpdate`] whose levels keep Binance's decimal
//! text. The sync with the REST snapshot is the connection's (see `crate::book::sync`);
//! [`depth_event`] reads an event through the same decoder into the sync's
//! [`DepthEvent`], for the sync's tests, the replay server's tests and the book bench.
//! Depth frames are rare next to trades and book tickers (ten a second per symbol), so
//! they are read by serde on their own path; the hot path of the other channels does not
//! see them.
//!
//! Docs: <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#diff-depth-stream>,
//! <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Diff-Book-Depth-Streams>.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{DecodeError, Decoded, DepthUpdate, Level, Out, epoch_ns};
use crate::book::LevelError;
use crate::book::sync::DepthEvent;
use crate::tick::{Decimal, Symbol};

/// Whether `depth`/`book` streams use spot's 1000 ms stream (`@depth`) rather than
/// `@depth@100ms`. Set once by the plan of the run (`--depth-speed`), before any
/// connection dials.
static SLOW: AtomicBool = AtomicBool::new(false);

/// The diff-depth speeds Binance offers on spot (`--depth-speed`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DepthSpeed {
    /// `@depth@100ms`.
    #[default]
    Fast,
    /// `@depth` (every 1000 ms; spot only).
    Slow,
}

/// Chooses the speed of every `depth`/`book` stream subscribed from now on.
pub fn set_speed(speed: DepthSpeed) {
    SLOW.store(speed == DepthSpeed::Slow, Relaxed);
}

/// The channel part of a `depth`/`book` stream name.
pub fn stream_suffix() -> &'static str {
    if SLOW.load(Relaxed) {
        "depth"
    } else {
        "depth@100ms"
    }
}

/// Whether a stream name's channel part (after `@`) is a diff-depth stream (`depth`,
/// `depth@100ms`, `depth@0ms`, ...), not a partial book (`depth20@100ms`).
pub fn is_diff_depth(name: &str) -> bool {
    name == "depth" || name.starts_with("depth@")
}

#[derive(Deserialize)]
struct Combined<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(rename = "T")]
    transaction_time: Option<u64>,
    #[serde(rename = "s", borrow)]
    symbol: &'a str,
    #[serde(rename = "U")]
    first_id: u64,
    #[serde(rename = "u")]
    last_id: u64,
    #[serde(rename = "pu")]
    prev_id: Option<u64>,
    #[serde(rename = "b", borrow)]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(rename = "a", borrow)]
    asks: Vec<(&'a str, &'a str)>,
}

/// Reads one `depthUpdate` frame (combined `{"stream":...,"data":{...}}` or the raw event)
/// received at `recv_ns` into `out.depth`. `exchange_ns` is the transaction time where the
/// event has one (futures), else the event time.
pub fn decode(frame: &str, recv_ns: u64, out: &mut Out) -> Result<Decoded, DecodeError> {
    let payload = if frame.trim_start().starts_with("{\"stream\"") {
        serde_json::from_str::<Combined<'_>>(frame)?.data.get()
    } else {
        frame
    };
    let wire: Wire<'_> = serde_json::from_str(payload)?;
    let symbol = Symbol::parse(wire.symbol)?;
    let mark = out.levels.len();
    let result = (|| {
        let bids = push_levels(&wire.bids, &mut out.levels)?;
        let asks = push_levels(&wire.asks, &mut out.levels)?;
        Ok::<_, DecodeError>((bids, asks))
    })();
    let (bids, asks) = match result {
        Ok(ranges) => ranges,
        Err(e) => {
            out.levels.truncate(mark);
            return Err(e);
        }
    };
    out.depth.push(DepthUpdate {
        symbol,
        snapshot: false,
        first_update_id: Some(wire.first_id),
        last_update_id: wire.last_id,
        prev_update_id: wire.prev_id,
        checksum: None,
        exchange_ns: epoch_ns(wire.transaction_time.unwrap_or(wire.event_time)),
        recv_ns,
        bids,
        asks,
    });
    Ok(Decoded::Data)
}

/// Why [`depth_event`] could not read an event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The frame, as [`decode`] refuses it.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A level the book cannot key (a negative quantity, a price out of range).
    #[error("depth level: {0}")]
    Level(#[from] LevelError),
    /// A frame that is not one diff-depth event.
    #[error("not one depthUpdate event")]
    NotOneEvent,
}

/// Reads one `depthUpdate` frame (combined or raw) received at `recv_ns` with [`decode`],
/// the decoder recording uses, into the sync's [`DepthEvent`] and its symbol.
pub fn depth_event(frame: &str, recv_ns: u64) -> Result<(Symbol, DepthEvent), EventError> {
    let mut out = Out::default();
    decode(frame, recv_ns, &mut out)?;
    let [update] = out.depth.as_slice() else {
        return Err(EventError::NotOneEvent);
    };
    let event = update.event(out.changes_of(update)?);
    Ok((update.symbol.clone(), event))
}

fn push_levels(
    levels: &[(&str, &str)],
    out: &mut Vec<Level>,
) -> Result<std::ops::Range<u32>, DecodeError> {
    let start = out.len() as u32;
    for (price, qty) in levels {
        let decimal = |field, text: &str| {
            Decimal::parse(text).map_err(|source| DecodeError::Decimal { field, source })
        };
        out.push(Level {
            price: decimal("price", price)?,
            qty: decimal("qty", qty)?,
        });
    }
    Ok(start..out.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Venue;

    fn lines(name: &str) -> Vec<String> {
        crate::book::testdata::lines(&format!("binance/{name}"))
    }

    /// Every captured diff-depth event decodes, raw and combined, on both venues, with
    /// its ids and exact level text.
    #[test]
    fn every_fixture_event_decodes_raw_and_combined() {
        for (file, venue, stream) in [
            ("depth.jsonl", Venue::Binance, "btcusdt@depth@100ms"),
            (
                "futures_usdm_depth.jsonl",
                Venue::BinanceFutures,
                "btcusdt@depth@0ms",
            ),
        ] {
            for line in lines(file) {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                let combined = format!(r#"{{"stream":"{stream}","data":{line}}}"#);
                for frame in [line.as_str(), combined.as_str()] {
                    let mut out = Out::default();
                    let decoded = venue.exchange().decode(frame, 9, &mut out).unwrap();
                    assert_eq!(decoded, Decoded::Data);
                    let [update] = out.depth.as_slice() else {
                        panic!("one update: {frame}")
                    };
                    assert_eq!(update.first_update_id, v["U"].as_u64());
                    assert_eq!(update.last_update_id, v["u"].as_u64().unwrap());
                    assert_eq!(update.prev_update_id, v["pu"].as_u64());
                    assert_eq!(update.recv_ns, 9);
                    let (bids, _) = out.levels_of(update);
                    assert_eq!(bids.len(), v["b"].as_array().unwrap().len());
                    if let Some(first) = bids.first() {
                        assert_eq!(first.price.to_string(), v["b"][0][0].as_str().unwrap());
                        assert_eq!(first.qty.to_string(), v["b"][0][1].as_str().unwrap());
                    }
                    assert!(out.ticks.is_empty());
                }
            }
        }
    }

    /// Every captured event reads into the sync's event: ids, both times and every level.
    #[test]
    fn every_fixture_event_reads_into_the_sync_event() {
        for (file, futures) in [("depth.jsonl", false), ("futures_usdm_depth.jsonl", true)] {
            for line in lines(file) {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                let (symbol, event) = depth_event(&line, 7).unwrap();
                assert_eq!(symbol.as_str(), "BTCUSDT");
                assert_eq!(event.first_id, v["U"].as_u64().unwrap());
                assert_eq!(event.last_id, v["u"].as_u64().unwrap());
                assert_eq!(event.prev_id.is_some(), futures);
                assert_eq!(event.recv_ns, 7);
                let ms = if futures { &v["T"] } else { &v["E"] };
                assert_eq!(event.exchange_ns, ms.as_u64().unwrap() * 1_000_000);
                assert_eq!(event.bids.len(), v["b"].as_array().unwrap().len());
                assert_eq!(event.asks.len(), v["a"].as_array().unwrap().len());
                for (change, level) in event.bids.iter().zip(v["b"].as_array().unwrap()) {
                    assert_eq!(change.level.price.to_string(), level[0].as_str().unwrap());
                    assert_eq!(change.level.qty.to_string(), level[1].as_str().unwrap());
                    assert_eq!(
                        change.removes,
                        change.level.qty.to_string().parse::<f64>().unwrap() == 0.0
                    );
                }
            }
        }
    }

    #[test]
    fn depth_event_refuses_what_the_book_cannot_key() {
        let negative = r#"{"E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1","-1"]],"a":[]}"#;
        assert!(matches!(
            depth_event(negative, 0),
            Err(EventError::Level(_))
        ));
        let no_ids = r#"{"E":1,"s":"BTCUSDT","b":[],"a":[]}"#;
        assert!(matches!(
            depth_event(no_ids, 0),
            Err(EventError::Decode(DecodeError::Json(_)))
        ));
    }

    #[test]
    fn stream_names_follow_the_speed() {
        assert!(is_diff_depth("depth@100ms") && is_diff_depth("depth"));
        assert!(!is_diff_depth("depth20@100ms") && !is_diff_depth("depth5"));
    }

    #[test]
    fn a_bad_level_is_refused_and_leaves_nothing() {
        let mut out = Out::default();
        let bad = r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1","1"]],"a":[["x","1"]]}"#;
        assert!(decode(bad, 0, &mut out).is_err());
        assert!(out.levels.is_empty() && out.depth.is_empty());
    }
}
