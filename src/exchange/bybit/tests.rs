//! Bybit's decoder and plan on the real fixtures (`tests/data/bybit/`).

use super::rows::{is_zero, percent};
use super::*;
use crate::book::{Book, Change, Side};
use crate::exchange::Level;
use crate::tick::{self, BookTicker, Decimal, TradeId};

fn fixture(name: &str) -> Vec<String> {
    let path = format!("{}/tests/data/bybit/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn venue_of(file: &str) -> &'static Bybit {
    if file.starts_with("spot") {
        &SPOT
    } else {
        &LINEAR
    }
}

fn decode_line(exchange: &Bybit, line: &str, out: &mut Out) -> Decoded {
    out.clear();
    exchange
        .decode(line, 7, out)
        .unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// Every decimal of every row sits in its frame byte for byte as `"key":"text"`.
fn assert_text_kept(tick: &Tick, line: &str) {
    let mut found = 0;
    tick.data.visit(|name, value| {
        // `change_pct` is derived (percent of Bybit's fraction): checked on its own.
        if let tick::Value::Decimal(d) = value
            && !d.is_empty()
            && name != "change_pct"
        {
            let text = d.to_string();
            assert!(
                [":", "[", ","]
                    .iter()
                    .any(|before| line.contains(&format!("{before}\"{text}\""))),
                "{name} {text} not in {line}"
            );
            found += 1;
        }
    });
    assert!(found > 0, "no decimal in {tick:?}");
}

#[test]
fn every_data_line_of_every_fixture_decodes_keeping_its_text() {
    let files = [
        ("spot_publicTrade.jsonl", 5),
        ("linear_publicTrade.jsonl", 2),
        ("inverse_publicTrade.jsonl", 3),
        ("spot_orderbook_1.jsonl", 141),
        ("linear_orderbook_1.jsonl", 202),
        ("spot_tickers.jsonl", 1),
        // 4 ticker rows, 4 funding rows (both snapshots and the delta carry markPrice).
        ("linear_tickers.jsonl", 8),
        ("inverse_tickers.jsonl", 10),
        ("spot_orderbook_50.jsonl", 0),
        ("linear_orderbook_50.jsonl", 0),
    ];
    let mut out = Out::default();
    for (file, rows) in files {
        let exchange = venue_of(file);
        let mut ticks = 0;
        // A ticker delta's row holds fields of the snapshot before it.
        let mut seen = String::new();
        for line in fixture(file) {
            seen.push_str(&line);
            assert_eq!(decode_line(exchange, &line, &mut out), Decoded::Data);
            for tick in &out.ticks {
                assert_eq!(tick.exchange, exchange.venue);
                assert_text_kept(
                    tick,
                    if file.contains("tickers") {
                        &seen
                    } else {
                        &line
                    },
                );
                let ts = line.split("\"ts\":").nth(1).unwrap();
                let ts: u64 = ts[..13].parse().unwrap();
                assert_eq!(tick.exchange_ns, ts * 1_000_000, "{line}");
                assert!(line.contains(&format!("\"{}\"", tick.symbol)));
            }
            ticks += out.ticks.len();
        }
        assert_eq!(ticks, rows, "{file}");
    }
}

#[test]
fn a_trade_frame_is_one_row_per_trade_with_ids_as_sent() {
    let mut out = Out::default();
    let lines = fixture("spot_publicTrade.jsonl");
    decode_line(&SPOT, &lines[0], &mut out);
    let ids: Vec<u64> = out
        .ticks
        .iter()
        .map(|t| match &t.data {
            TickData::Trade(t) => {
                assert!(t.buyer_is_maker, "Sell: the taker sold");
                assert_eq!(t.trade_time, 1680652847524);
                assert_eq!(t.event_time, 1680652847526);
                t.sequence()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ids,
        [
            2290000000050703789,
            2290000000050703790,
            2290000000050703791,
            2290000000050703792
        ]
    );

    let lines = fixture("inverse_publicTrade.jsonl");
    decode_line(&LINEAR, &lines[0], &mut out);
    let mut keys = Vec::new();
    for (tick, want) in out.ticks.iter().zip([
        "0cbf2330-952d-5d03-a462-4bf826c867af",
        "912e56de-9ed6-5f4f-9421-f0ff5a42d84a",
        "cb558b74-cf72-5157-b53b-93944db336ad",
    ]) {
        let TickData::Trade(t) = &tick.data else {
            panic!()
        };
        let TradeId::Uuid { bytes, .. } = t.trade_id else {
            panic!("{t:?}")
        };
        let mut text = Vec::new();
        tick::append_uuid(&bytes, &mut text);
        assert_eq!(text, want.as_bytes());
        assert!(!t.buyer_is_maker);
        keys.push(tick.data.sequence());
    }
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
}

#[test]
fn book_ticker_rows_come_from_level_one() {
    let mut out = Out::default();
    let lines = fixture("spot_orderbook_1.jsonl");
    decode_line(&SPOT, &lines[0], &mut out);
    let want = BookTicker {
        update_id: 1399781,
        bid: Decimal::parse("0.579").unwrap(),
        bid_qty: Decimal::parse("3886.45").unwrap(),
        ask: Decimal::parse("0.58").unwrap(),
        ask_qty: Decimal::parse("4043.62").unwrap(),
    };
    assert_eq!(out.ticks[0].data, TickData::BookTicker(want));
    assert_eq!(out.ticks[0].symbol.as_str(), "OPUSDC");
    assert!(out.levels.is_empty() && out.depth.is_empty());

    // A 2023 level-1 delta with removals: the side's remaining level is the best.
    let lines = fixture("linear_orderbook_1.jsonl");
    decode_line(&LINEAR, &lines[201], &mut out);
    let TickData::BookTicker(t) = &out.ticks[0].data else {
        panic!()
    };
    assert!(!is_zero(&t.bid_qty) && !is_zero(&t.ask_qty), "{t:?}");
}

#[test]
fn linear_ticker_deltas_merge_into_whole_rows_and_spot_has_no_bid() {
    let mut out = Out::default();
    let lines = fixture("linear_tickers.jsonl");
    decode_line(&LINEAR, &lines[0], &mut out);
    decode_line(&LINEAR, &lines[1], &mut out);
    let [ticker, funding] = &out.ticks[..] else {
        panic!("{:?}", out.ticks)
    };
    let TickData::Ticker(t) = &ticker.data else {
        panic!()
    };
    let d = |s: &str| Decimal::parse(s).unwrap();
    // From the delta.
    assert_eq!((t.bid, t.bid_qty), (d("61873.90"), d("3.543")));
    // Kept from the snapshot.
    assert_eq!((t.last, t.ask_qty), (d("61874.00"), d("16.278")));
    assert_eq!(t.change_pct, d("-0.9772"));
    assert_eq!(t.event_time, 1715748763063);
    let TickData::Funding(f) = &funding.data else {
        panic!()
    };
    assert_eq!(f.mark_price, d("61875.06"));
    assert_eq!(f.funding_rate, d("0.00008055"));
    assert_eq!(f.next_funding_time, 1715760000000);

    let lines = fixture("spot_tickers.jsonl");
    decode_line(&SPOT, &lines[0], &mut out);
    let [ticker] = &out.ticks[..] else {
        panic!("{:?}", out.ticks)
    };
    let TickData::Ticker(t) = &ticker.data else {
        panic!()
    };
    assert!(t.bid.is_empty() && t.ask.is_empty() && t.bid_qty.is_empty());
    assert_eq!(t.last, d("21109.77"));
    assert_eq!(t.change_pct, d("1.96"));
}

#[test]
fn fractions_become_percent_by_moving_the_point() {
    for (fraction, pct) in [
        ("0.0196", "1.96"),
        ("-0.009772", "-0.9772"),
        ("0.017103", "1.7103"),
        ("1", "100"),
        ("0.5", "50"),
        ("-0.000096", "-0.0096"),
        ("12.3456", "1234.56"),
    ] {
        assert_eq!(percent(fraction).unwrap().to_string(), pct, "{fraction}");
    }
    assert!(percent("x").is_none());
}

#[test]
fn liquidations_name_the_order_side() {
    let doc = r#"{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"},{"T":1739502302930,"s":"ROSEUSDT","S":"Buy","v":"1","p":"0.045"}]}"#;
    let mut out = Out::default();
    decode_line(&LINEAR, doc, &mut out);
    let sides: Vec<bool> = out
        .ticks
        .iter()
        .map(|t| match &t.data {
            TickData::Liquidation(l) => {
                assert!(l.avg_price.is_empty());
                l.sell
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sides, [false, true], "a Buy position is closed by selling");
}

#[test]
fn answers_are_acks_errors_and_pongs() {
    let mut out = Out::default();
    let lines = fixture("control.jsonl");
    let text = |s: &str| Some(AckKey::Text(s.to_owned()));
    let want = [
        (2, Control::Ack { key: None }),
        (4, Control::Ack { key: None }),
        (5, Control::Pong),
        (7, Control::Pong),
        (8, Control::Pong),
        (9, Control::Pong),
        (12, Control::Ack { key: text("10001") }),
        (13, Control::Ack { key: None }),
    ];
    for (line, control) in want {
        let got = LINEAR.decode(&lines[line - 1], 0, &mut out).unwrap();
        assert_eq!(got, Decoded::Control(control), "line {line}");
    }
    let refused = r#"{"success":false,"ret_msg":"Invalid symbol :[publicTrade.NOPE]","conn_id":"x","req_id":"3","op":"subscribe"}"#;
    assert_eq!(
        SPOT.decode(refused, 0, &mut out).unwrap(),
        Decoded::Control(Control::Error {
            code: 0,
            msg: "Invalid symbol :[publicTrade.NOPE]".to_owned(),
            key: text("3"),
        })
    );
    for bad in [
        "[]",
        "{}",
        "nope",
        r#"{"topic":"publicTrade.X","ts":1,"data":[]}"#,
    ] {
        assert!(SPOT.decode(bad, 0, &mut out).is_err(), "{bad}");
    }
    let kline = r#"{"topic":"kline.5.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#;
    assert_eq!(
        SPOT.decode(kline, 0, &mut out).unwrap(),
        Decoded::Unsupported
    );
}

fn id(venue: Venue, symbol: &str, channel: Channel) -> StreamId {
    StreamId::new(venue, parse_symbol(symbol).unwrap(), channel)
}

#[test]
fn spot_subscribes_ten_args_a_request_and_topics_are_shared() {
    let streams: Vec<StreamId> = (0..12)
        .map(|i| id(Venue::Bybit, &format!("A{i}USDT"), Channel::Trade))
        .collect();
    let plan = SPOT.plan("ws://127.0.0.1:9/", &streams);
    assert_eq!(plan.url, "ws://127.0.0.1:9/v5/public/spot");
    assert_eq!(plan.subscribes.len(), 2);
    let first: serde_json::Value = serde_json::from_str(&plan.subscribes[0].message).unwrap();
    assert_eq!(first["op"], "subscribe");
    assert_eq!(first["args"].as_array().unwrap().len(), 10);
    assert_eq!(first["args"][0], "publicTrade.A0USDT");
    assert_eq!(first["req_id"], "1");
    assert_eq!(plan.subscribes[1].acks[0].0, AckKey::Text("2".to_owned()));

    let streams = [
        id(Venue::BybitLinear, "BTCUSDT", Channel::Ticker),
        id(Venue::BybitLinear, "BTCUSDT", Channel::Funding),
        id(Venue::BybitLinear, "BTCUSDT", Channel::BookTicker),
        id(Venue::BybitLinear, "BTCUSDT", Channel::Liquidation),
    ];
    let plan = LINEAR.plan(DEFAULT_ENDPOINT, &streams);
    assert_eq!(plan.url, "wss://stream.bybit.com/v5/public/linear");
    let message: serde_json::Value = serde_json::from_str(&plan.subscribes[0].message).unwrap();
    assert_eq!(
        message["args"],
        serde_json::json!([
            "tickers.BTCUSDT",
            "orderbook.1.BTCUSDT",
            "allLiquidation.BTCUSDT"
        ])
    );
    assert_eq!(
        plan.subscribes[0].acks[0].1.len(),
        4,
        "one ack confirms all four"
    );
}

#[test]
fn a_full_connection_of_the_longest_topics_stays_under_bybits_21000_characters() {
    // "For one public connection, you cannot have length of "args" array over 21,000
    // characters": the most streams foxtrot puts on one connection, with 20-character
    // symbols on the longest topic, as one JSON array.
    let max = LINEAR.limits().max_streams_per_connection;
    let topics: Vec<String> = (0..max)
        .map(|i| {
            let stream = id(
                Venue::BybitLinear,
                &format!("{i:0>16}USDT"),
                Channel::Liquidation,
            );
            topic(&stream)
        })
        .collect();
    assert_eq!(topics[0].len(), "allLiquidation.".len() + 20);
    let chars = serde_json::to_string(&topics).unwrap().len();
    assert!(chars <= 21_000, "{chars} characters of args");
}

#[test]
fn symbols_follow_bybits_spelling() {
    assert_eq!(parse_symbol("btcusdt").unwrap().as_str(), "BTCUSDT");
    assert_eq!(
        parse_symbol("BTCUSDT-26DEC25").unwrap().as_str(),
        "BTCUSDT-26DEC25"
    );
    assert!(parse_symbol("BTC/USDT").is_err());
    assert!(parse_symbol("").is_err());
}

#[test]
fn the_heartbeat_pings_well_inside_the_servers_limit() {
    let heartbeat = SPOT.heartbeat();
    assert_eq!(heartbeat.ping, Some(r#"{"op":"ping"}"#));
    assert_eq!(heartbeat.every, Duration::from_secs(20));
    assert!(heartbeat.stale_after > heartbeat.every);
    assert!(heartbeat.stale_after < Duration::from_secs(600));
}

/// Applies `out`'s depth updates to `book`.
fn apply(book: &mut Book, out: &Out) {
    for update in &out.depth {
        let (bids, asks) = out.levels_of(update);
        let change =
            |l: &Level| Change::parse(&l.price.to_string(), &l.qty.to_string()).expect("level");
        let bids: Vec<Change> = bids.iter().map(change).collect();
        let asks: Vec<Change> = asks.iter().map(change).collect();
        if update.snapshot {
            book.replace(&bids, &asks);
        } else {
            for c in &bids {
                book.apply(Side::Bid, c);
            }
            for c in &asks {
                book.apply(Side::Ask, c);
            }
        }
    }
}

#[test]
fn a_book_from_spot_orderbook_50_snapshot_and_delta_and_a_new_snapshot_replaces_it() {
    let lines = fixture("spot_orderbook_50.jsonl");
    let mut out = Out::default();
    let mut book = Book::new();
    decode_line(&SPOT, &lines[0], &mut out);
    assert!(out.ticks.is_empty());
    let update = &out.depth[0];
    assert!(update.snapshot);
    assert_eq!(update.last_update_id, 2876700);
    assert_eq!(update.exchange_ns, 1731035685326 * 1_000_000);
    apply(&mut book, &out);
    assert_eq!((book.len(Side::Bid), book.len(Side::Ask)), (50, 50));
    decode_line(&SPOT, &lines[1], &mut out);
    assert!(!out.depth[0].snapshot);
    assert_eq!(out.depth[0].last_update_id, 2876701);
    apply(&mut book, &out);
    assert_eq!((book.len(Side::Bid), book.len(Side::Ask)), (50, 50));
    let best_bid = book.bids().next().unwrap().price.to_string();
    let best_ask = book.asks().next().unwrap().price.to_string();
    assert_eq!(
        (best_bid.as_str(), best_ask.as_str()),
        ("75848.74", "75848.75")
    );

    // Another capture's snapshot arrives mid-stream: it replaces the book.
    decode_line(&SPOT, &lines[2], &mut out);
    assert!(out.depth[0].snapshot);
    apply(&mut book, &out);
    assert_eq!((book.len(Side::Bid), book.len(Side::Ask)), (1, 1));

    // A delta with `u` = 1 (the service restarted) is a snapshot too.
    let restart = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["1.5","2"]],"a":[],"u":1,"seq":9}}"#;
    decode_line(&SPOT, restart, &mut out);
    assert!(out.depth[0].snapshot);
}
