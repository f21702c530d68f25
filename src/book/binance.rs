//! Binance's REST depth snapshot, read into the sync's [`Snapshot`].
//!
//! This module owns the JSON of `GET /api/v3/depth` and `GET /fapi/v1/depth`. Decimal text
//! is borrowed from the body and kept exactly. It does no I/O and decides nothing about
//! sequence (see [`super::sync`]). The diff-depth stream event is read by
//! `crate::exchange::binance_depth` (the decoder recording uses), not here.
//!
//! Snapshot (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints>):
//! `{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"],...],"asks":[...]}`
//! (futures add `"E"` and `"T"`).

use serde::Deserialize;

use super::sync::Snapshot;
use super::{Change, LevelError};

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
    fn reads_every_fixture_snapshot() {
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
        let bad_price = r#"{"lastUpdateId":1,"bids":[["1e5","1"]],"asks":[]}"#;
        assert!(matches!(snapshot(bad_price, 0), Err(WireError::Level(_))));
        assert!(matches!(snapshot("{}", 0), Err(WireError::Json(_))));
    }
}
