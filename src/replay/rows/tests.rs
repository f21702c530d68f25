//! Rows of the real decoders on the captured fixtures, rebuilt into messages and decoded
//! again: the same rows come back.

use super::*;
use crate::exchange::{Decoded, Out, Venue};

/// Rows the NDJSON encoder wrote from the Binance fixtures.
const BINANCE_ROWS: [&str; 3] = [
    r#"{"exchange":"binance","symbol":"BTCUSDT","channel":"trade","recv_ns":7,"exchange_ns":1723161255343000000,"event_time":1723161255343000,"trade_time":1723161255342000,"trade_id":3735683259,"price":"61837.63000000","qty":"0.02000000","buyer_is_maker":true}"#,
    r#"{"exchange":"binance","symbol":"BTCUSDT","channel":"bookTicker","recv_ns":8,"exchange_ns":null,"update_id":50093239212,"bid":"61837.63000000","bid_qty":"3.78826000","ask":"61837.64000000","ask_qty":"1.54698000"}"#,
    r#"{"exchange":"binance","symbol":"BTCUSDT","channel":"aggTrade","recv_ns":9,"exchange_ns":1617566591315000000,"event_time":1617566591315000,"trade_time":1617566591314000,"agg_id":665076760,"first_trade_id":745522877,"last_trade_id":745522877,"price":"58001.03000000","qty":"0.08620500","buyer_is_maker":false}"#,
];

/// Bybit's documented `allLiquidation` sample (no capture of it is in the fixtures).
const BYBIT_LIQUIDATION: &str = r#"{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"},{"T":1739502302929,"s":"ROSEUSDT","S":"Buy","v":"1","p":"0.045"}]}"#;

/// The NDJSON lines `venue`'s decoder makes of `frames` (one connection; frame `i` is
/// received at `1000 + i`).
fn rows_of<'a>(venue: Venue, frames: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let exchange = venue.exchange();
    let mut out = Out::default();
    let mut lines = Vec::new();
    for (i, frame) in frames.into_iter().enumerate() {
        out.clear();
        match exchange.decode(frame, 1000 + i as u64, &mut out) {
            Ok(Decoded::Data) => {}
            other => panic!("{frame}: {other:?}"),
        }
        for tick in &out.ticks {
            let mut line = Vec::new();
            crate::sink::Encode::encode(&mut crate::sink::ndjson::Ndjson, tick, &mut line);
            lines.push(String::from_utf8(line).unwrap());
        }
    }
    lines
}

/// The messages replay rebuilds from NDJSON `lines`.
fn frames_of(lines: &[String]) -> Vec<Frame> {
    let mut frames = Frames::default();
    for (i, line) in lines.iter().enumerate() {
        frames.push(i + 1, ndjson_row(line).unwrap()).unwrap();
    }
    frames.finish().unwrap();
    assert_eq!(frames.take_skipped(), 0, "every row is served");
    frames.take()
}

/// Rows → messages → rows, on one venue's fixture frames.
fn round_trip(venue: Venue, fixtures: &[&str]) {
    let frames: Vec<&str> = fixtures
        .iter()
        .flat_map(|f| f.lines())
        .filter(|l| !l.trim().is_empty())
        .collect();
    let rows = rows_of(venue, frames);
    assert!(!rows.is_empty(), "{venue:?}");
    let rebuilt = frames_of(&rows);
    // Each message decodes as received when its first row was (the rows keep that time).
    let exchange = venue.exchange();
    let mut out = Out::default();
    let mut again = Vec::new();
    for (frame, recv_ns) in &rebuilt {
        out.clear();
        let decoded = exchange.decode(frame, recv_ns.unwrap(), &mut out);
        assert!(matches!(decoded, Ok(Decoded::Data)), "{frame}: {decoded:?}");
        assert!(
            crate::replay::library::classify(frame).unwrap().is_some(),
            "served under a stream name: {frame}"
        );
        for tick in &out.ticks {
            let mut line = Vec::new();
            crate::sink::Encode::encode(&mut crate::sink::ndjson::Ndjson, tick, &mut line);
            again.push(String::from_utf8(line).unwrap());
        }
    }
    assert_eq!(again, rows, "{venue:?}");
}

#[test]
fn binance_rows_decode_to_the_same_rows() {
    let rows: Vec<String> = BINANCE_ROWS.iter().map(|r| format!("{r}\n")).collect();
    let frames = frames_of(&rows);
    assert_eq!(frames.len(), 3);
    for ((frame, recv_ns), line) in frames.iter().zip(&rows) {
        let mut out = Out::default();
        let decoded = Venue::Binance
            .exchange()
            .decode(frame, recv_ns.unwrap(), &mut out);
        assert!(matches!(decoded, Ok(Decoded::Data)), "{frame}");
        let mut encoded = Vec::new();
        crate::sink::Encode::encode(
            &mut crate::sink::ndjson::Ndjson,
            &out.ticks[0],
            &mut encoded,
        );
        assert_eq!(String::from_utf8(encoded).unwrap(), *line, "{frame}");
    }
}

#[test]
fn bybit_spot_rows_come_back_from_their_messages() {
    round_trip(
        Venue::Bybit,
        &[
            include_str!("../../../tests/data/bybit/spot_publicTrade.jsonl"),
            include_str!("../../../tests/data/bybit/spot_orderbook_1.jsonl"),
            include_str!("../../../tests/data/bybit/spot_tickers.jsonl"),
        ],
    );
}

#[test]
fn bybit_linear_rows_come_back_from_their_messages() {
    round_trip(
        Venue::BybitLinear,
        &[
            include_str!("../../../tests/data/bybit/linear_publicTrade.jsonl"),
            include_str!("../../../tests/data/bybit/linear_orderbook_1.jsonl"),
            include_str!("../../../tests/data/bybit/linear_tickers.jsonl"),
            BYBIT_LIQUIDATION,
        ],
    );
}

#[test]
fn okx_rows_come_back_from_their_messages() {
    round_trip(
        Venue::Okx,
        &[
            include_str!("../../../tests/data/okx/trades.jsonl"),
            include_str!("../../../tests/data/okx/bbo-tbt.jsonl"),
            include_str!("../../../tests/data/okx/tickers.jsonl"),
            include_str!("../../../tests/data/okx/funding-rate.jsonl"),
            include_str!("../../../tests/data/okx/liquidation-orders.jsonl"),
        ],
    );
}

#[test]
fn messages_take_the_venues_shapes() {
    let spot = rows_of(
        Venue::Bybit,
        include_str!("../../../tests/data/bybit/spot_publicTrade.jsonl").lines(),
    );
    let (first, _) = &frames_of(&spot)[0];
    // The captured frame, key for key (the captured `ts` is the send time; rows keep it).
    assert_eq!(
        first,
        r#"{"topic":"publicTrade.BTCUSDT","ts":1680652847526,"type":"snapshot","data":[{"i":"2290000000050703789","T":1680652847524,"p":"28165.38","v":"0.041732","S":"Sell","s":"BTCUSDT","BT":false},{"i":"2290000000050703790","T":1680652847524,"p":"28165.38","v":"0.008513","S":"Sell","s":"BTCUSDT","BT":false},{"i":"2290000000050703791","T":1680652847524,"p":"28165.38","v":"0.042384","S":"Sell","s":"BTCUSDT","BT":false},{"i":"2290000000050703792","T":1680652847524,"p":"28165.38","v":"0.055371","S":"Sell","s":"BTCUSDT","BT":false}]}"#
    );
    let okx = rows_of(
        Venue::Okx,
        include_str!("../../../tests/data/okx/trades.jsonl").lines(),
    );
    let (first, _) = &frames_of(&okx)[0];
    assert_eq!(
        first,
        include_str!("../../../tests/data/okx/trades.jsonl")
            .lines()
            .next()
            .unwrap()
    );
}

#[test]
fn percentages_become_bybit_fractions_again() {
    for (percent, fraction_text) in [
        ("1.96", "0.0196"),
        ("-0.9772", "-0.009772"),
        ("50", "0.50"),
        ("123.4", "1.234"),
        ("0", "0.00"),
        ("0.1", "0.001"),
    ] {
        assert_eq!(
            bybit::fraction(percent).as_deref(),
            Some(fraction_text),
            "{percent}"
        );
    }
    assert_eq!(bybit::fraction("1e3"), None);
}

#[test]
fn gap_records_are_skipped_and_unservable_rows_refused() {
    assert!(ndjson_row(r#"{"type":"gap","exchange":"binance"}"#).is_none());
    let refused = |line: &str| {
        let mut frames = Frames::default();
        let pushed = frames.push(3, ndjson_row(line).unwrap());
        pushed.and_then(|()| frames.finish()).unwrap_err()
    };
    let (line, depth) = refused(&BINANCE_ROWS[0].replace("\"trade\"", "\"depth\""));
    assert_eq!((line, depth.exchange.as_str()), (3, "binance"));
    assert_eq!(depth.why, BINANCE_DEPTH);
    let (_, kline) = refused(&BINANCE_ROWS[0].replace("\"trade\"", "\"kline_1m\""));
    assert_eq!(kline.why, SERVED);
    // A book row alone is refused at the end of the file; beside depth rows it is skipped.
    let book = r#"{"exchange":"okx","symbol":"BTC-USDT","channel":"book","recv_ns":1,"exchange_ns":1,"update_id":1,"bids":[],"asks":[]}"#;
    let (line, refusal) = refused(book);
    assert_eq!((line, refusal.channel.as_str()), (3, "book"));
    let depth = r#"{"exchange":"okx","symbol":"BTC-USDT","channel":"depth","recv_ns":1,"exchange_ns":1000000,"is_snapshot":true,"first_update_id":null,"update_id":0,"bids":[["1","2"]],"asks":[]}"#;
    let mut frames = Frames::default();
    frames.push(1, ndjson_row(depth).unwrap()).unwrap();
    frames.push(2, ndjson_row(book).unwrap()).unwrap();
    frames.finish().unwrap();
    assert_eq!(frames.take().len(), 1);
    assert_eq!(frames.take_skipped(), 1);
}

#[test]
fn a_funding_row_apart_from_its_ticker_still_joins_its_message() {
    // Rows of another connection can come between the two rows of one `tickers` frame.
    let mut rows = rows_of(
        Venue::BybitLinear,
        include_str!("../../../tests/data/bybit/linear_tickers.jsonl").lines(),
    );
    let trade = rows_of(
        Venue::BybitLinear,
        include_str!("../../../tests/data/bybit/linear_publicTrade.jsonl").lines(),
    );
    assert!(rows[1].contains("\"funding\""), "{}", rows[1]);
    rows.insert(1, trade[0].clone());
    let frames = frames_of(&rows);
    let mut out = Out::default();
    let mut again = Vec::new();
    for (frame, recv_ns) in &frames {
        out.clear();
        let decoded = Venue::BybitLinear
            .exchange()
            .decode(frame, recv_ns.unwrap(), &mut out);
        assert!(matches!(decoded, Ok(Decoded::Data)), "{frame}");
        for tick in &out.ticks {
            let mut line = Vec::new();
            crate::sink::Encode::encode(&mut crate::sink::ndjson::Ndjson, tick, &mut line);
            again.push(String::from_utf8(line).unwrap());
        }
    }
    // The same rows; only the trade comes after the pair now.
    let (mut want, mut got) = (rows.clone(), again.clone());
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(again[2], rows[1], "{again:#?}");
}
