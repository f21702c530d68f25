//! Binance's depth wire formats, read into the sync's [`DepthEvent`] and [`Snapshot`].
//!
//! This module owns the two JSON shapes the sync needs: the diff-depth stream event
//! (`<symbol>@depth@100ms`, spot and USD-M futures) and the REST depth snapshot
//! (`GET /api/v3/depth`, `GET /fapi/v1/depth`). Decimal text is borrowed from the frame and
//! kept exactly. It does no I/O and decides nothing about sequence (see [`super::sync`]).
//!
//! Spot event (<https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#diff-depth-stream>):
//! `{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"]],"a":[...]}`;
//! futures events add `"T"` (transaction time) and `"pu"` (the previous event's `u`).
//! Snapshot: `{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"],...],"asks":[...]}`
//! (futures add `"E"` and `"T"`).

use serde::Deserialize;

use super::sync::{DepthEvent, Snapshot};
use super::{Change, LevelError};
use crate::tick::{Symbol, SymbolError};

const NS_PER_MS: u64 = 1_000_000;

/// Why a depth message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not JSON of the expected shape.
    #[error("malformed depth message: {0}")]
    Json(#[from] serde_json::Error),
    /// A level that is not a price and a quantity.
    #[error("depth level: {0}")]
    Level(#[from] LevelError),
    /// The event's symbol.
    #[error(transparent)]
    Symbol(#[from] SymbolError),
}

#[derive(Deserialize)]
struct WireEvent<'a> {
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

#[derive(Deserialize)]
struct WireSnapshot<'a> {
    #[serde(rename = "lastUpdateId")]
    last_update_id: u64,
    #[serde(rename = "T")]
    transaction_time: Option<u64>,
    #[serde(borrow)]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(borrow)]
    asks: Vec<(&'a str, &'a str)>,
}

fn changes(levels: &[(&str, &str)]) -> Result<Vec<Change>, LevelError> {
    levels.iter().map(|(p, q)| Change::parse(p, q)).collect()
}

/// Reads a diff-depth event payload (the `data` of a combined frame) received at
/// `recv_ns`. `exchange_ns` is the transaction time where the event has one (futures),
/// else the event time.
pub fn depth_event(payload: &str, recv_ns: u64) -> Result<(Symbol, DepthEvent), WireError> {
    let wire: WireEvent<'_> = serde_json::from_str(payload)?;
    let symbol = Symbol::parse(wire.symbol)?;
    let event = DepthEvent {
        first_id: wire.first_id,
        last_id: wire.last_id,
        prev_id: wire.prev_id,
        exchange_ns: wire.transaction_time.unwrap_or(wire.event_time) * NS_PER_MS,
        recv_ns,
        bids: changes(&wire.bids)?,
        asks: changes(&wire.asks)?,
    };
    Ok((symbol, event))
}

/// Reads a REST depth snapshot body received at `recv_ns`.
pub fn snapshot(body: &str, recv_ns: u64) -> Result<Snapshot, WireError> {
    let wire: WireSnapshot<'_> = serde_json::from_str(body)?;
    Ok(Snapshot {
        last_update_id: wire.last_update_id,
        exchange_ns: wire
            .transaction_time
            .map_or(recv_ns, |ms| ms.saturating_mul(NS_PER_MS)),
        recv_ns,
        bids: changes(&wire.bids)?,
        asks: changes(&wire.asks)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::testdata;

    #[test]
    fn reads_every_fixture_event_and_snapshot() {
        for (file, futures) in [("depth.jsonl", false), ("futures_usdm_depth.jsonl", true)] {
            for line in testdata::lines(&format!("binance/{file}")) {
                let (symbol, event) = depth_event(&line, 7).unwrap();
                assert_eq!(symbol.as_str(), "BTCUSDT");
                assert_eq!(event.prev_id.is_some(), futures);
                assert!(event.first_id <= event.last_id);
                assert_eq!(event.recv_ns, 7);
                assert!(!event.bids.is_empty() || !event.asks.is_empty());
            }
        }
        let spot = snapshot(&testdata::lines("binance/depth_snapshot.jsonl")[0], 5).unwrap();
        assert_eq!(spot.last_update_id, 50093239218);
        assert_eq!((spot.bids.len(), spot.asks.len()), (1000, 1000));
        assert_eq!(spot.exchange_ns, 5);
        assert_eq!(spot.bids[0].level.price.to_string(), "61837.63000000");
        let fut = snapshot(
            &testdata::lines("binance/futures_usdm_depth_snapshot.jsonl")[0],
            5,
        )
        .unwrap();
        assert_eq!(fut.last_update_id, 5123107852948);
        assert_eq!(fut.exchange_ns, 1723161256493 * NS_PER_MS);
    }

    #[test]
    fn refuses_bad_levels_and_shapes() {
        let bad_price = r#"{"E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1e5","1"]],"a":[]}"#;
        assert!(matches!(
            depth_event(bad_price, 0),
            Err(WireError::Level(_))
        ));
        let no_ids = r#"{"E":1,"s":"BTCUSDT","b":[],"a":[]}"#;
        assert!(matches!(depth_event(no_ids, 0), Err(WireError::Json(_))));
        assert!(matches!(snapshot("{}", 0), Err(WireError::Json(_))));
    }
}
