//! Binance's decoder and plan on the real fixtures (`tests/data/binance/`), and its
//! scanner against serde. This file holds the fixtures, the field-by-field check and the
//! decoding of every captured tick, combined frame and control; refusals are in `errors`,
//! the URL and SUBSCRIBE in `plan`, the scanner against serde and fuzzing in `scan`.

use super::*;
use crate::tick::Value as Field;
use serde_json::Value as Json;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/binance/",
            $name
        ))
    };
}

const BOOK_TICKER: &str = fixture!("bookTicker.jsonl");
const TRADE: &str = fixture!("trade.jsonl");
const TRADE_LEGACY: &str = fixture!("trade_legacy_2019.jsonl");
const AGG_TRADE: &str = fixture!("aggTrade.jsonl");
const TICKER: &str = fixture!("ticker.jsonl");
const FUTURES_BOOK_TICKER: &str = fixture!("futures_usdm_bookTicker.jsonl");
const FUTURES_TRADE: &str = fixture!("futures_usdm_trade.jsonl");
const FUTURES_DEPTH: &str = fixture!("futures_usdm_depth.jsonl");
const COMBINED: &str = fixture!("combined.jsonl");
const CONTROL: &str = fixture!("control.jsonl");
const DEPTH: &str = fixture!("depth.jsonl");
const DEPTH_PARTIAL: &str = fixture!("depth_partial.jsonl");
const KLINE: &str = fixture!("kline.jsonl");
const MINI_TICKER: &str = fixture!("miniTicker.jsonl");
const FUTURES_MARK_PRICE: &str = fixture!("futures_usdm_markPrice.jsonl");
const FUTURES_FORCE_ORDER: &str = fixture!("futures_usdm_forceOrder.jsonl");

/// The raw-payload fixtures that must become ticks, with their channel.
const TICK_FIXTURES: [(&str, &str, Channel); 10] = [
    ("kline", KLINE, Channel::Kline1m),
    (
        "futures_usdm_markPrice",
        FUTURES_MARK_PRICE,
        Channel::Funding,
    ),
    (
        "futures_usdm_forceOrder",
        FUTURES_FORCE_ORDER,
        Channel::Liquidation,
    ),
    ("bookTicker", BOOK_TICKER, Channel::BookTicker),
    ("trade", TRADE, Channel::Trade),
    ("trade_legacy_2019", TRADE_LEGACY, Channel::Trade),
    ("aggTrade", AGG_TRADE, Channel::AggTrade),
    ("ticker", TICKER, Channel::Ticker),
    (
        "futures_usdm_bookTicker",
        FUTURES_BOOK_TICKER,
        Channel::BookTicker,
    ),
    ("futures_usdm_trade", FUTURES_TRADE, Channel::Trade),
];

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|line| !line.trim().is_empty())
}

fn decode(frame: &str) -> Result<One, DecodeError> {
    super::decode(Venue::Binance, frame, 42)
}

fn wrap(stream: &str, data: &str) -> String {
    format!(r#"{{"stream":"{stream}","data":{data}}}"#)
}

/// The wire key each normalized field is copied from.
fn wire_key(channel: Channel, field: &str) -> &'static str {
    if channel.is_kline() {
        return match field {
            "event_time" => "E",
            "open_time" => "t",
            "close_time" => "T",
            "first_trade_id" => "f",
            "last_trade_id" => "L",
            "open" => "o",
            "high" => "h",
            "low" => "l",
            "close" => "c",
            "volume" => "v",
            "quote_volume" => "q",
            "trades" => "n",
            "closed" => "x",
            _ => panic!("no wire key for {channel} {field}"),
        };
    }
    match (channel, field) {
        (Channel::Funding, "mark_price") => "p",
        (Channel::Funding, "index_price") => "i",
        (Channel::Funding, "funding_rate") => "r",
        (Channel::Funding, "next_funding_time") => "T",
        (Channel::Liquidation, "side") => "S",
        (Channel::Liquidation, "avg_price") => "ap",
        (_, "event_time") => "E",
        (_, "trade_time") => "T",
        (_, "buyer_is_maker") => "m",
        (_, "price") => "p",
        (_, "qty") => "q",
        (Channel::BookTicker, "update_id") => "u",
        (_, "bid") => "b",
        (_, "bid_qty") => "B",
        (_, "ask") => "a",
        (_, "ask_qty") => "A",
        (Channel::Trade, "trade_id") => "t",
        (Channel::AggTrade, "agg_id") => "a",
        (Channel::AggTrade, "first_trade_id") => "f",
        (Channel::AggTrade, "last_trade_id") => "l",
        (Channel::Ticker, "last") => "c",
        (Channel::Ticker, "last_qty") => "Q",
        (Channel::Ticker, "open") => "o",
        (Channel::Ticker, "high") => "h",
        (Channel::Ticker, "low") => "l",
        (Channel::Ticker, "volume") => "v",
        (Channel::Ticker, "quote_volume") => "q",
        (Channel::Ticker, "change") => "p",
        (Channel::Ticker, "change_pct") => "P",
        _ => panic!("no wire key for {channel} {field}"),
    }
}

/// Checks that `decoded` is a tick of `channel` whose every field equals the payload's.
fn assert_tick_matches(payload: &str, decoded: One, channel: Channel) {
    let One::Tick(tick) = decoded else {
        panic!("expected a {channel} tick from {payload}, got {decoded:?}");
    };
    let top: Json = serde_json::from_str(payload).unwrap();
    assert_eq!(tick.channel(), channel, "{payload}");
    assert_eq!(tick.exchange, "binance");
    let event_time = top["E"].as_u64().unwrap_or(0);
    assert_eq!(tick.exchange_ns, epoch_ns(event_time), "{payload}");
    assert_eq!(tick.recv_ns, 42);
    // Liquidations nest the order, klines the candle.
    let nested = match channel {
        Channel::Liquidation => top["o"].clone(),
        kline if kline.is_kline() => top["k"].clone(),
        _ => top.clone(),
    };
    assert_eq!(
        Some(tick.symbol.as_str()),
        nested["s"].as_str(),
        "{payload}"
    );
    let mut seen = Vec::new();
    tick.data.visit(|name, value| {
        let key = wire_key(channel, name);
        let raw = if name == "event_time" { &top } else { &nested };
        match value {
            Field::Text(text) => assert_eq!(Some(text), raw[key].as_str(), "{name}"),
            Field::Decimal(text) => {
                assert_eq!(
                    Some(&*text.to_text()),
                    raw[key].as_str(),
                    "{name} in {payload}"
                );
                // Byte for byte, as it sits in the frame, not merely the same number.
                let needle = format!(r#""{key}":"{text}""#);
                assert!(payload.contains(&needle), "{needle} not in {payload}");
            }
            Field::Int(n) => assert_eq!(Some(n), raw[key].as_u64(), "{name} in {payload}"),
            Field::Uuid(_) => panic!("Binance ids are integers"),
            Field::Bool(b) => assert_eq!(Some(b), raw[key].as_bool(), "{name} in {payload}"),
        }
        seen.push(name);
    });
    assert_eq!(seen, channel.fields());
}

#[test]
fn raw_payload_fixtures_decode_to_exact_ticks() {
    for (file, text, channel) in TICK_FIXTURES {
        let mut count = 0;
        for line in lines(text) {
            let decoded = decode(line).unwrap_or_else(|e| panic!("{file}: {e}: {line}"));
            assert_tick_matches(line, decoded, channel);
            count += 1;
        }
        assert!(count > 0, "{file} is empty");
    }
}

#[test]
fn raw_payload_fixtures_decode_the_same_inside_a_combined_frame() {
    for (file, text, channel) in TICK_FIXTURES {
        for line in lines(text) {
            let raw: Json = serde_json::from_str(line).unwrap();
            let symbol = raw["s"]
                .as_str()
                .or(raw["o"]["s"].as_str())
                .unwrap()
                .to_ascii_lowercase();
            let frame = wrap(&format!("{symbol}@{}", wire_channel(channel)), line);
            let combined = decode(&frame).unwrap_or_else(|e| panic!("{file}: {e}: {frame}"));
            assert_eq!(combined, decode(line).unwrap(), "{frame}");
            assert_tick_matches(line, combined, channel);
        }
    }
}

#[test]
fn combined_fast_path_agrees_with_the_general_path() {
    let mut fast = 0;
    for line in lines(COMBINED) {
        // A space after the opening brace is valid JSON the fast path does not take.
        let spaced = line.replacen('{', "{ ", 1);
        assert!(split_combined(&spaced).is_none());
        fast += usize::from(split_combined(line).is_some());
        match (decode(line), decode(&spaced)) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{line}"),
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{line}"),
            (a, b) => panic!("{line}: fast {a:?}, general {b:?}"),
        }
    }
    assert!(fast > 0, "no combined fixture line took the fast path");
    for (name, text, _) in TICK_FIXTURES {
        for payload in lines(text) {
            let stream = format!(
                "x@{}",
                if name.contains("bookTicker") {
                    "bookTicker"
                } else {
                    "trade"
                }
            );
            let framed = wrap(&stream, payload);
            let spaced = framed.replacen('{', "{ ", 1);
            assert_eq!(decode(&framed).ok(), decode(&spaced).ok(), "{framed}");
        }
    }
}

#[test]
fn combined_fast_path_answers_odd_frames_as_the_general_path_does() {
    let bt = lines(BOOK_TICKER).next().unwrap();
    for odd in [
        format!(r#"{{"stream":"btcusdt@bookTicker","data":{bt}}}}}"#),
        format!(r#"{{"stream":"btcusdt@bookTicker","data":{bt},"data":{bt}}}"#),
        format!(r#"{{"stream":"btcusdt@bookTicker","data":{bt},"x":1}}"#),
        format!(r#"{{"stream":"btcusdt@bookTicker","data":{bt} }}"#),
        format!(r#"{{"stream":"btc"usdt@bookTicker","data":{bt}}}"#),
        r#"{"stream":"btcusdt@bookTicker","data":{"u":1}}"#.to_owned(),
        r#"{"stream":"btcusdt@bookTicker","data":[1,2]}"#.to_owned(),
        r#"{"stream":"btcusdt@depth","data":{"x":}}"#.to_owned(),
    ] {
        let spaced = odd.replacen('{', "{ ", 1);
        match (decode(&odd), decode(&spaced)) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{odd}"),
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{odd}"),
            (a, b) => panic!("{odd}: {a:?} but the general path says {b:?}"),
        }
    }
}

#[test]
fn combined_fixture_decodes_every_line() {
    let mut ticks = std::collections::BTreeMap::new();
    let mut unsupported = std::collections::BTreeMap::new();
    let mut depth = std::collections::BTreeMap::<String, u32>::new();
    for line in lines(COMBINED) {
        let raw: Json = serde_json::from_str(line).unwrap();
        let stream = raw["stream"].as_str().unwrap().to_owned();
        match decode(line).unwrap_or_else(|e| panic!("{e}: {line}")) {
            One::Tick(tick) => {
                let channel = tick.channel();
                let symbol = tick.symbol.as_str().to_ascii_lowercase();
                assert_eq!(stream, format!("{symbol}@{}", wire_channel(channel)));
                let data = raw["data"].to_string();
                let payload = &line[line.find(r#""data":"#).unwrap() + 7..line.len() - 1];
                assert_eq!(
                    serde_json::from_str::<Json>(payload).unwrap().to_string(),
                    data
                );
                assert_tick_matches(payload, One::Tick(tick), channel);
                *ticks.entry(channel).or_insert(0) += 1;
            }
            One::Unsupported => *unsupported.entry(stream).or_insert(0) += 1,
            One::Depth => *depth.entry(stream).or_insert(0) += 1,
            One::Control(c) => panic!("unexpected control {c:?} from {line}"),
        }
    }
    let ticks: Vec<_> = ticks.into_iter().collect();
    assert_eq!(
        ticks,
        [
            (Channel::BookTicker, 37),
            (Channel::Trade, 1),
            (Channel::AggTrade, 3),
            (Channel::Kline1m, 3)
        ]
    );
    let unsupported: Vec<_> = unsupported.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    assert_eq!(unsupported, [("!bookTicker", 1), ("!ticker@arr", 1),]);
    // Diff depth is read by `binance_depth` (its own tests).
    assert_eq!(
        depth.into_iter().collect::<Vec<_>>(),
        [("btcusdt@depth@100ms".to_owned(), 5)]
    );
}

#[test]
fn unsupported_market_data_is_recognised_raw_and_combined() {
    let cases = [
        ("depth_partial", DEPTH_PARTIAL, "btcusdt@depth20@100ms"),
        ("miniTicker", MINI_TICKER, "btcusdt@miniTicker"),
    ];
    // Diff depth is recognised, and read by `binance_depth`.
    for (text, stream) in [
        (DEPTH, "btcusdt@depth@100ms"),
        (FUTURES_DEPTH, "btcusdt@depth@0ms"),
    ] {
        for line in lines(text) {
            assert_eq!(decode(line).unwrap(), One::Depth, "{line}");
            assert_eq!(decode(&wrap(stream, line)).unwrap(), One::Depth, "{line}");
        }
    }
    for (file, text, stream) in cases {
        let mut count = 0;
        for line in lines(text) {
            let raw = decode(line).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(raw, One::Unsupported, "{file}: {line}");
            let combined = decode(&wrap(stream, line)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(combined, One::Unsupported, "{file}: {line}");
            count += 1;
        }
        assert!(count > 0, "{file} is empty");
    }
}

#[test]
fn control_fixture_gives_the_right_controls() {
    let error = |code, msg: &str, id: Option<u64>| Control::Error {
        code,
        msg: msg.to_owned(),
        key: id.map(AckKey::Id),
    };
    let expected = [
        Control::Ack {
            key: Some(AckKey::Id(1)),
        },
        Control::Ack {
            key: Some(AckKey::Id(312)),
        },
        Control::Ack {
            key: Some(AckKey::Id(3)),
        },
        Control::Ack {
            key: Some(AckKey::Id(5)),
        },
        Control::Ack {
            key: Some(AckKey::Id(2)),
        },
        error(2, "Invalid request: invalid stream", Some(2)),
        error(3, "Invalid JSON: expected value at line 1 column 1", None),
        Control::ServerShutdown {
            event_time: 1770123456789,
        },
        Control::ServerShutdown {
            event_time: 1770123456789,
        },
    ];
    let got: Vec<_> = lines(CONTROL).map(|l| decode(l).unwrap()).collect();
    let expected: Vec<_> = expected.into_iter().map(One::Control).collect();
    assert_eq!(got, expected);
}

#[test]
fn documented_control_variants_decode() {
    let cases = [
        (
            r#"{"code":2,"msg":"Invalid request: invalid stream","id":2}"#,
            Control::Error {
                code: 2,
                msg: "Invalid request: invalid stream".to_owned(),
                key: Some(AckKey::Id(2)),
            },
        ),
        (
            r#"{"code":-1,"msg":"say \"hi\""}"#,
            Control::Error {
                code: -1,
                msg: "say \"hi\"".to_owned(),
                key: None,
            },
        ),
        (r#"{"result":null}"#, Control::Ack { key: None }),
        (
            r#" {"id":7,"result":[]}"#,
            Control::Ack {
                key: Some(AckKey::Id(7)),
            },
        ),
    ];
    for (frame, expected) in cases {
        assert_eq!(decode(frame).unwrap(), One::Control(expected), "{frame}");
    }
}

mod errors;
mod plan;
mod scan;
