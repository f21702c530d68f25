//! OKX's decoder, plan and book sync on the real fixtures (`tests/data/okx/`).

use super::*;
use crate::book::testdata::lines;
use crate::book::{Change, Side};
use crate::tick::{Decimal, TickData, TradeId};
use serde_json::Value;

fn id(symbol: &str, channel: Channel) -> StreamId {
    StreamId::new(Venue::Okx, parse_symbol(symbol).unwrap(), channel)
}

fn decode_line(line: &str) -> (Result<Decoded, DecodeError>, Out) {
    let mut out = Out::default();
    let decoded = decode(line, 7, &mut out);
    (decoded, out)
}

fn text(d: &Decimal) -> String {
    d.to_string()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn ms(v: &Value, key: &str) -> u64 {
    s(v, key).parse().unwrap()
}

#[test]
fn every_trade_line_decodes_with_its_exact_text() {
    for line in lines("okx/trades.jsonl") {
        let frame: Value = serde_json::from_str(&line).unwrap();
        let (decoded, out) = decode_line(&line);
        assert_eq!(decoded.unwrap(), Decoded::Data, "{line}");
        let rows = frame["data"].as_array().unwrap();
        assert_eq!(out.ticks.len(), rows.len());
        for (tick, row) in out.ticks.iter().zip(rows) {
            let TickData::Trade(t) = &tick.data else {
                panic!("{line}")
            };
            assert_eq!(tick.exchange, Venue::Okx);
            assert_eq!(tick.symbol.as_str(), s(row, "instId"));
            assert_eq!(tick.recv_ns, 7);
            assert_eq!(tick.exchange_ns, ms(row, "ts") * 1_000_000);
            assert_eq!(t.trade_id, TradeId::int(s(row, "tradeId").parse().unwrap()));
            assert_eq!(text(&t.price), s(row, "px"));
            assert_eq!(text(&t.qty), s(row, "sz"));
            assert_eq!(t.buyer_is_maker, s(row, "side") == "sell");
            assert_eq!(t.trade_time, ms(row, "ts"));
        }
    }
}

#[test]
fn every_bbo_line_decodes_with_its_exact_text() {
    for line in lines("okx/bbo-tbt.jsonl") {
        let frame: Value = serde_json::from_str(&line).unwrap();
        let (decoded, out) = decode_line(&line);
        assert_eq!(decoded.unwrap(), Decoded::Data, "{line}");
        let row = &frame["data"][0];
        let [tick] = out.ticks.as_slice() else {
            panic!("{line}")
        };
        let TickData::BookTicker(b) = &tick.data else {
            panic!("{line}")
        };
        assert_eq!(tick.symbol.as_str(), s(&frame["arg"], "instId"));
        assert_eq!(tick.exchange_ns, ms(row, "ts") * 1_000_000);
        let best = |side: &str, i: usize| row[side][0][i].as_str().unwrap_or_default().to_owned();
        assert_eq!(text(&b.bid), best("bids", 0));
        assert_eq!(text(&b.bid_qty), best("bids", 1));
        assert_eq!(text(&b.ask), best("asks", 0));
        assert_eq!(text(&b.ask_qty), best("asks", 1));
    }
    // The option on line 6 had no bids: those columns stay empty.
    let (_, out) = decode_line(&lines("okx/bbo-tbt.jsonl")[5]);
    let TickData::BookTicker(b) = &out.ticks[0].data else {
        panic!()
    };
    assert!(b.bid.is_empty() && b.bid_qty.is_empty() && !b.ask.is_empty());
    assert_eq!(out.ticks[0].symbol.as_str(), "BTC-USD-220624-50000-C");
}

#[test]
fn every_ticker_line_decodes_with_its_exact_text() {
    for line in lines("okx/tickers.jsonl") {
        let frame: Value = serde_json::from_str(&line).unwrap();
        let (decoded, out) = decode_line(&line);
        assert_eq!(decoded.unwrap(), Decoded::Data, "{line}");
        let row = &frame["data"][0];
        let TickData::Ticker(t) = &out.ticks[0].data else {
            panic!("{line}")
        };
        assert_eq!(out.ticks[0].symbol.as_str(), s(row, "instId"));
        assert_eq!(out.ticks[0].exchange_ns, ms(row, "ts") * 1_000_000);
        for (ours, key) in [
            (&t.last, "last"),
            (&t.last_qty, "lastSz"),
            (&t.bid, "bidPx"),
            (&t.bid_qty, "bidSz"),
            (&t.ask, "askPx"),
            (&t.ask_qty, "askSz"),
            (&t.open, "open24h"),
            (&t.high, "high24h"),
            (&t.low, "low24h"),
            (&t.volume, "vol24h"),
            (&t.quote_volume, "volCcy24h"),
        ] {
            assert_eq!(text(ours), s(row, key), "{key} in {line}");
        }
        assert!(t.change.is_empty() && t.change_pct.is_empty());
    }
}

#[test]
fn every_books_line_decodes_into_depth_updates() {
    for file in [
        "okx/books.jsonl",
        "okx/books-l2-tbt.jsonl",
        "okx/books_doc_example.jsonl",
    ] {
        for line in lines(file) {
            let frame: Value = serde_json::from_str(&line).unwrap();
            let (decoded, out) = decode_line(&line);
            assert_eq!(decoded.unwrap(), Decoded::Data, "{line}");
            assert!(out.ticks.is_empty());
            let [update] = out.depth.as_slice() else {
                panic!("{line}")
            };
            let row = &frame["data"][0];
            assert_eq!(update.snapshot, frame["action"] == "snapshot");
            assert_eq!(update.checksum, row["checksum"].as_i64());
            assert_eq!(update.exchange_ns, ms(row, "ts") * 1_000_000);
            let (bids, asks) = out.levels_of(update);
            for (ours, side) in [(bids, "bids"), (asks, "asks")] {
                let theirs = row[side].as_array().unwrap();
                assert_eq!(ours.len(), theirs.len());
                for (l, t) in ours.iter().zip(theirs) {
                    assert_eq!(text(&l.price), t[0].as_str().unwrap());
                    assert_eq!(text(&l.qty), t[1].as_str().unwrap());
                }
            }
        }
    }
    let (_, out) = decode_line(&lines("okx/books_doc_example.jsonl")[0]);
    assert_eq!(out.depth[0].last_update_id, 123456);
    assert_eq!(
        out.depth[0].prev_update_id, None,
        "prevSeqId -1: a snapshot"
    );
}

#[test]
fn batched_frames_give_one_row_each_in_order() {
    // Lines 80 and 81 of trades.jsonl (real, one trade each) as OKX batches them.
    let frame = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"674510826","px":"95634.9","sz":"0.00011186","side":"buy","ts":"1740394561685","count":"1"},{"instId":"BTC-USDT","tradeId":"674510827","px":"95635.3","sz":"0.00011194","side":"sell","ts":"1740394561686","count":"1"}]}"#;
    let mut out = Out::default();
    decode(frame, 1, &mut out).unwrap();
    let ids: Vec<u64> = out.ticks.iter().map(|t| t.data.sequence()).collect();
    assert_eq!(ids, [674510826, 674510827]);
    for line in lines("okx/liquidation-orders.jsonl") {
        let frame: Value = serde_json::from_str(&line).unwrap();
        out.clear();
        assert_eq!(decode(&line, 1, &mut out).unwrap(), Decoded::Data);
        let mut want = Vec::new();
        for row in frame["data"].as_array().unwrap() {
            for d in row["details"].as_array().unwrap() {
                want.push((
                    s(row, "instId").to_owned(),
                    s(d, "bkPx").to_owned(),
                    s(d, "sz").to_owned(),
                    s(d, "side") == "sell",
                    ms(d, "ts"),
                ));
            }
        }
        let got: Vec<_> = out
            .ticks
            .iter()
            .map(|t| {
                let TickData::Liquidation(l) = &t.data else {
                    panic!()
                };
                assert_eq!(t.exchange_ns, l.event_time * 1_000_000);
                (
                    t.symbol.to_string(),
                    text(&l.price),
                    text(&l.qty),
                    l.sell,
                    l.event_time,
                )
            })
            .collect();
        assert_eq!(got, want);
    }
}

#[test]
fn funding_rows_keep_the_rate_text_and_settlement_time() {
    for line in lines("okx/funding-rate.jsonl") {
        let frame: Value = serde_json::from_str(&line).unwrap();
        let (decoded, out) = decode_line(&line);
        assert_eq!(decoded.unwrap(), Decoded::Data);
        let row = &frame["data"][0];
        let TickData::Funding(f) = &out.ticks[0].data else {
            panic!()
        };
        assert_eq!(text(&f.funding_rate), s(row, "fundingRate"));
        assert_eq!(f.next_funding_time, ms(row, "fundingTime"));
        assert_eq!(out.ticks[0].exchange_ns, ms(row, "ts") * 1_000_000);
        assert!(f.mark_price.is_empty() && f.index_price.is_empty());
    }
}

#[test]
fn control_frames() {
    let control = lines("okx/control.jsonl");
    let ack = |line: &str| decode_line(line).0.unwrap();
    // Client requests (lines 1 and 3) are not something a server sends.
    assert!(decode_line(&control[0]).0.is_err());
    let key = |k: &str| Some(AckKey::Arg(k.to_owned()));
    assert_eq!(
        ack(&control[1]),
        Decoded::Control(Control::Ack {
            key: key("tickers:BTC-USD-220527")
        })
    );
    assert_eq!(
        ack(&control[5]),
        Decoded::Control(Control::Ack {
            key: key("instruments:SPOT")
        })
    );
    let Decoded::Control(Control::Error { code, msg, key: k }) = ack(&control[6]) else {
        panic!()
    };
    assert_eq!((code, k), (60012, None));
    assert!(
        msg.starts_with("Invalid request: {\"op\": \"subscribe\""),
        "{msg}"
    );
    let named = r#"{"event":"error","code":"60018","msg":"Wrong URL or channel:trades,instId:BTC-XYZ doesn't exist. Please use the correct URL, channel and parameters referring to API document.","connId":"a4d3ae55"}"#;
    let Decoded::Control(Control::Error { code, key: k, .. }) = ack(named) else {
        panic!()
    };
    assert_eq!((code, k), (60018, key("trades:BTC-XYZ")));
    // A request's `id` is echoed first (OKX adds it when the request carried one).
    assert_eq!(
        ack(
            r#"{"id":"1512","event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#
        ),
        Decoded::Control(Control::Ack {
            key: key("trades:BTC-USDT")
        })
    );
    let Decoded::Control(Control::Error { code, .. }) = ack(
        r#"{"id":"1512","event":"error","code":"60019","msg":"Invalid op: login","connId":"a4d3ae55"}"#,
    ) else {
        panic!()
    };
    assert_eq!(code, 60019);
    assert_eq!(ack("pong"), Decoded::Control(Control::Pong));
    assert_eq!(
        ack(
            r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#
        ),
        Decoded::Control(Control::ServerShutdown { event_time: 0 })
    );
    assert_eq!(
        ack(r#"{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[]}"#),
        Decoded::Unsupported
    );
    for bad in ["ping", "", "{", r#"{"arg":{"channel":"trades"},"data":[]}"#] {
        assert!(decode_line(bad).0.is_err(), "{bad:?}");
    }
    let bad_px = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"1","px":"1e5","sz":"1","side":"buy","ts":"1"}]}"#;
    assert_eq!(decode_line(bad_px).0.unwrap_err().kind(), "bad_decimal");
}

#[test]
fn a_plan_subscribes_each_arg_and_expects_its_echo() {
    let streams = [
        id("BTC-USDT", Channel::Trade),
        id("eth-usdt", Channel::BookTicker),
        id("BTC-USDT-SWAP", Channel::Liquidation),
        id("ETH-USDT-SWAP", Channel::Liquidation),
        id("BTC-USDT-SWAP", Channel::Funding),
    ];
    let plan = Okx.plan("ws://127.0.0.1:9/", &streams);
    assert_eq!(plan.url, "ws://127.0.0.1:9/ws/v5/public");
    let [subscribe] = plan.subscribes.as_slice() else {
        panic!("{plan:?}")
    };
    assert_eq!(
        subscribe.message,
        r#"{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},{"channel":"bbo-tbt","instId":"ETH-USDT"},{"channel":"liquidation-orders","instType":"SWAP"},{"channel":"funding-rate","instId":"BTC-USDT-SWAP"}]}"#
    );
    let keys: Vec<(String, usize)> = subscribe
        .acks
        .iter()
        .map(|(k, s)| match k {
            AckKey::Arg(k) => (k.clone(), s.len()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("trades:BTC-USDT".to_owned(), 1),
            ("bbo-tbt:ETH-USDT".to_owned(), 1),
            ("liquidation-orders:SWAP".to_owned(), 2),
            ("funding-rate:BTC-USDT-SWAP".to_owned(), 1),
        ]
    );
    // The ack OKX sends for each arg settles exactly that key.
    let mut out = Out::default();
    for arg in serde_json::from_str::<Value>(&subscribe.message).unwrap()["args"]
        .as_array()
        .unwrap()
    {
        let ack = format!(r#"{{"event":"subscribe","arg":{arg},"connId":"1"}}"#);
        let Decoded::Control(Control::Ack { key: Some(key) }) = decode(&ack, 0, &mut out).unwrap()
        else {
            panic!("{ack}")
        };
        assert!(subscribe.acks.iter().any(|(k, _)| *k == key), "{key:?}");
    }
    let many: Vec<StreamId> = (0..250)
        .map(|i| id(&format!("C{i}-USDT"), Channel::Trade))
        .collect();
    let plan = Okx.plan(DEFAULT_ENDPOINT, &many);
    assert_eq!(plan.subscribes.len(), 3);
    assert!(plan.subscribes.iter().all(|s| s.message.len() < 64 * 1024));
}

#[test]
fn instruments_are_validated_in_okx_spelling() {
    for good in [
        "BTC-USDT",
        "btc-usdt-swap",
        "BTC-USD-220527",
        "BTC-USD-220624-50000-C",
        "1INCH-USDT",
    ] {
        let symbol = parse_symbol(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(symbol.as_str(), good.to_ascii_uppercase());
    }
    for bad in [
        "",
        "BTC--USDT",
        "-BTC",
        "BTC-",
        "BTC_USDT",
        "BTC/USDT",
        "BTC USDT",
        "A234567890123456789012345",
    ] {
        let err = parse_symbol(bad).unwrap_err().to_string();
        assert!(err.contains("like BTC-USDT"), "{bad}: {err}");
    }
    assert_eq!(inst_type("BTC-USDT-SWAP"), "SWAP");
    assert_eq!(inst_type("BTC-USD-220527"), "FUTURES");
    assert_eq!(inst_type("BTC-USD-220624-50000-C"), "OPTION");
    assert_eq!(inst_type("BTC-USDT"), "MARGIN");
}

#[test]
fn the_heartbeat_is_a_text_ping_when_idle_before_okx_closes() {
    let hb = Okx.heartbeat();
    assert_eq!(hb.ping, Some("ping"));
    assert!(hb.when_idle);
    assert!(hb.every < SERVER_IDLE_LIMIT);
    assert!(hb.stale_after > hb.every);
}

/// Every `books` frame of the real capture through the decoder and [`BookSync`]: all 290
/// checksums verify; a corrupted level fails the next checksum and asks for a re-sync;
/// the next snapshot syncs again.
fn sync_books(corrupt_at: Option<usize>) -> (usize, Vec<(usize, Resync)>) {
    let mut books: std::collections::HashMap<Symbol, BookSync> = Default::default();
    let (mut verified, mut resyncs) = (0, Vec::new());
    let mut out = Out::default();
    for (i, line) in lines("okx/books.jsonl").iter().enumerate() {
        out.clear();
        decode(line, 0, &mut out).unwrap();
        let update = &out.depth[0];
        let sync = books.entry(update.symbol.clone()).or_default();
        match sync.apply(&out, update) {
            Ok(()) => verified += 1,
            Err(why) => resyncs.push((i, why)),
        }
        if corrupt_at == Some(i) {
            let best = *sync.book.bids().nth(5).unwrap();
            let qty = format!("{}1", best.qty);
            sync.book.apply(
                Side::Bid,
                &Change::parse(&best.price.to_string(), &qty).unwrap(),
            );
        }
    }
    (verified, resyncs)
}

#[test]
fn all_290_captured_checksums_verify_through_the_decoder() {
    assert_eq!(sync_books(None), (290, vec![]));
}

#[test]
fn a_corrupted_level_fails_the_checksum_and_asks_for_a_resync() {
    let (verified, resyncs) = sync_books(Some(9));
    let (first, why) = &resyncs[0];
    assert!(*first > 9, "{resyncs:?}");
    assert!(matches!(why, Resync::Checksum { .. }), "{why}");
    // Cleared after the failure: the instrument's later updates wait for a snapshot.
    assert!(resyncs[1..].iter().all(|(_, w)| *w == Resync::NoSnapshot));
    assert_eq!(verified + resyncs.len(), 290);
}

#[test]
fn a_sequence_break_asks_for_a_resync() {
    let snapshot = &lines("okx/books_doc_example.jsonl")[0];
    let mut out = Out::default();
    decode(snapshot, 0, &mut out).unwrap();
    let mut sync = BookSync::default();
    // The docs' example checksum was not computed from its levels: drop it.
    out.depth[0].checksum = None;
    sync.apply(&out, &out.depth[0]).unwrap();
    let update = |prev: i64, seq: u64| {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{{"asks":[],"bids":[["8476.97","0","0","0"]],"ts":"1597026383086","prevSeqId":{prev},"seqId":{seq}}}]}}"#
        )
    };
    out.clear();
    decode(&update(123456, 123457), 0, &mut out).unwrap();
    sync.apply(&out, &out.depth[0]).unwrap();
    assert_eq!(
        sync.book.bids().next().unwrap().price.to_string(),
        "8475.55"
    );
    out.clear();
    decode(&update(123458, 123459), 0, &mut out).unwrap();
    assert_eq!(
        sync.apply(&out, &out.depth[0]),
        Err(Resync::Sequence {
            last: 123457,
            prev: 123458
        })
    );
    assert!(sync.book.is_empty());
}
