//! Replay of foxtrot's own Bybit and OKX recordings (`record --out`, NDJSON and CSV): the
//! binary records the venues' captured frames, the replay server serves the recording back
//! as the venues' messages, and the binary records that again: the same rows, receive
//! times aside, per venue and channel; `--speed` paces such a recording; and a row no
//! message can be rebuilt from is refused with one line.

use std::path::Path;

use foxtrot::exchange::{Decoded, Out, Venue};
use foxtrot::replay::ReplayConfig;
use serde_json::Value;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::util::{
    PATIENCE, finish, foxtrot, parse_ndjson, run, signal, start_replay, venue_replay_config,
};

/// One venue's run: the fixture files served, and what is recorded from them.
struct Case {
    venue: &'static str,
    /// The folder under `tests/data/`.
    dir: &'static str,
    files: &'static [&'static str],
    symbols: &'static [&'static str],
    channels: &'static [&'static str],
}

const CASES: [Case; 3] = [
    Case {
        venue: "bybit",
        dir: "bybit",
        files: &[
            "spot_publicTrade.jsonl",
            "spot_orderbook_1.jsonl",
            "spot_tickers.jsonl",
            "spot_orderbook_50.jsonl",
        ],
        symbols: &["BTCUSDT", "OPUSDC"],
        channels: &["trade", "bookTicker", "ticker", "depth"],
    },
    Case {
        venue: "bybit-linear",
        dir: "bybit",
        files: &[
            "linear_publicTrade.jsonl",
            "linear_orderbook_1.jsonl",
            "linear_tickers.jsonl",
            "linear_orderbook_50.jsonl",
        ],
        symbols: &["BTCUSDT", "BTCPERP", "BANDUSDT"],
        channels: &["trade", "bookTicker", "ticker", "funding", "depth"],
    },
    Case {
        venue: "okx",
        dir: "okx",
        files: &[
            "trades.jsonl",
            "bbo-tbt.jsonl",
            "tickers.jsonl",
            "books.jsonl",
        ],
        symbols: &["BTC-USDT", "UNI-USD-SWAP", "BTC-USD-220527"],
        channels: &["trade", "bookTicker", "ticker", "depth"],
    },
];

/// The rows a run of `case` writes: the ticks of its symbols and channels its frames decode
/// to, and a `depth` row per book message from each symbol's first snapshot on (the
/// fixtures' books chain without a break).
fn expected_rows(case: &Case) -> usize {
    let venue = Venue::from_name(case.venue).unwrap();
    let exchange = venue.exchange();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(case.dir);
    let mut out = Out::default();
    let mut books = std::collections::HashSet::new();
    let mut rows = 0;
    for file in case.files {
        for frame in std::fs::read_to_string(dir.join(file)).unwrap().lines() {
            out.clear();
            if !matches!(exchange.decode(frame, 1, &mut out), Ok(Decoded::Data)) {
                continue;
            }
            rows += out
                .ticks
                .iter()
                .filter(|t| case.symbols.contains(&t.symbol.as_str()))
                .filter(|t| case.channels.contains(&t.channel().as_str()))
                .count();
            for update in &out.depth {
                let symbol = update.symbol.as_str().to_owned();
                if !case.symbols.contains(&symbol.as_str()) || !case.channels.contains(&"depth") {
                    continue;
                }
                if update.snapshot {
                    books.insert(symbol.clone());
                }
                rows += usize::from(books.contains(&symbol));
            }
        }
    }
    rows
}

/// Records `case`'s symbols and channels from `config`'s server until `limit` rows, into
/// `outs` (one run, every output gets every row).
async fn record(case: &Case, config: ReplayConfig, limit: usize, outs: &[&Path]) {
    let server = start_replay(config).await;
    let limit = limit.to_string();
    let mut args = vec!["record", "--venue", case.venue];
    args.extend(case.symbols);
    for channel in case.channels {
        args.extend(["--channel", channel]);
    }
    args.extend(["--endpoint", server.url(), "--limit", &limit]);
    for out in outs {
        args.extend(["--out", out.to_str().unwrap()]);
    }
    let done = run(&args).await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(0), "{}: {}", case.venue, done.stderr);
    server.shutdown().await.unwrap();
}

/// The rows of an NDJSON file without their receive times (which a second run cannot
/// repeat).
fn rows_without_recv_ns(path: &Path) -> Vec<Value> {
    let mut rows = parse_ndjson(&std::fs::read_to_string(path).unwrap());
    for row in &mut rows {
        row.as_object_mut().unwrap().remove("recv_ns");
    }
    rows
}

/// Per venue: the captured frames recorded to NDJSON and CSV; each recording served by
/// `foxtrot replay`'s server and recorded again gives the same rows in the same order,
/// every channel present.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_and_okx_recordings_replayed_record_the_same_rows() {
    for case in &CASES {
        let dir = tempfile::tempdir().unwrap();
        let (ndjson, csv) = (
            dir.path().join("first.ndjson"),
            dir.path().join("first.csv"),
        );
        let limit = expected_rows(case);
        let config = venue_replay_config(case.dir, case.files);
        record(case, config, limit, &[&ndjson, &csv]).await;
        let want = rows_without_recv_ns(&ndjson);
        assert_eq!(want.len(), limit, "{}", case.venue);
        for channel in case.channels {
            assert!(
                want.iter().any(|r| r["channel"] == *channel),
                "{}: no {channel} rows",
                case.venue
            );
        }
        for recording in [&ndjson, &csv] {
            let mut config = ReplayConfig::load(std::slice::from_ref(recording)).unwrap();
            config.behavior.speed_milli = Some(0);
            let again = dir.path().join("again.ndjson");
            let _ = std::fs::remove_file(&again);
            record(case, config, limit, &[&again]).await;
            let got = rows_without_recv_ns(&again);
            let first_difference = got.iter().zip(&want).position(|(a, b)| a != b);
            assert!(
                got.len() == want.len() && first_difference.is_none(),
                "{} from {}: {} rows of {}; first difference at row {first_difference:?}: {:?} vs {:?}",
                case.venue,
                recording.display(),
                got.len(),
                want.len(),
                first_difference.map(|i| &got[i]),
                first_difference.map(|i| &want[i]),
            );
        }
    }
}

/// Three trades received 0, 0.6 and 1.2 s apart, in a Bybit and an OKX NDJSON recording
/// served by `foxtrot replay`: `--speed 1` serves them with those gaps, `--speed 4` four
/// times faster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_speed_paces_bybit_and_okx_recordings() {
    let dir = tempfile::tempdir().unwrap();
    for (venue, symbol) in [("bybit", "BTCUSDT"), ("okx", "BTC-USDT")] {
        let recording = dir.path().join(format!("{venue}.ndjson"));
        let rows: String = (0..3u64)
            .map(|i| {
                let recv_ns = 1_764_748_800_000_000_000 + i * 600_000_000;
                let ms = 1_764_748_800_000 + i;
                format!(
                    "{{\"exchange\":\"{venue}\",\"symbol\":\"{symbol}\",\"channel\":\"trade\",\"recv_ns\":{recv_ns},\"exchange_ns\":{},\"event_time\":{ms},\"trade_time\":{ms},\"trade_id\":{},\"price\":\"100.5\",\"qty\":\"0.25\",\"buyer_is_maker\":true}}\n",
                    ms * 1_000_000,
                    7 + i
                )
            })
            .collect();
        std::fs::write(&recording, rows).unwrap();
        let mut spans = Vec::new();
        for speed in ["1", "4"] {
            let mut replay = foxtrot(&[
                "replay",
                recording.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
                "--speed",
                speed,
            ])
            .spawn()
            .unwrap();
            let mut stdout = BufReader::new(replay.stdout.take().unwrap()).lines();
            let first = stdout.next_line().await.unwrap().unwrap_or_default();
            let url = first.strip_prefix("listening on ").unwrap_or_default();
            let out = run(&[
                "stream",
                "--venue",
                venue,
                symbol,
                "--channel",
                "trade",
                "--endpoint",
                url,
                "--limit",
                "3",
                "--format",
                "ndjson",
            ])
            .await;
            signal(&replay, "INT");
            let status = tokio::time::timeout(PATIENCE, replay.wait()).await;
            assert!(
                status.is_ok_and(|s| s.is_ok_and(|s| s.success())),
                "{venue}"
            );
            assert_eq!(out.code, Some(0), "{venue}: {first}: {}", out.stderr);
            let rows = parse_ndjson(&out.stdout);
            let ns = |i: usize| rows[i]["recv_ns"].as_u64().unwrap();
            spans.push((ns(1) - ns(0), ns(2) - ns(0)));
        }
        // Lower bounds only, and on the second interval (the first may shrink when the
        // client reads the first frame late): a loaded machine may be late, never early.
        assert!(spans[0].1 - spans[0].0 >= 450_000_000, "{venue}: {spans:?}");
        assert!(spans[0].1 >= 900_000_000, "{venue}: {spans:?}");
        assert!(spans[1].1 - spans[1].0 >= 100_000_000, "{venue}: {spans:?}");
        assert!(
            spans[1].1 < spans[0].1,
            "{venue}: 4x is faster than 1x: {spans:?}"
        );
    }
}

/// Replay of an NDJSON or CSV recording refuses a row it cannot rebuild a message from
/// (a Binance kline or depth row, a `book` row without its symbol's `depth` rows) with one
/// line naming the file, line, venue and channel, and what to do instead (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_refuses_recorded_rows_it_cannot_serve_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let trade = r#"{"exchange":"binance","symbol":"BTCUSDT","channel":"trade","recv_ns":7,"exchange_ns":1723161255343000000,"event_time":1723161255343000,"trade_time":1723161255342000,"trade_id":3735683259,"price":"61837.63000000","qty":"0.02000000","buyer_is_maker":true}"#;
    let kline = trade.replace("\"trade\"", "\"kline_1m\"");
    let ndjson = dir.path().join("mixed.ndjson");
    std::fs::write(&ndjson, format!("{trade}\n{kline}\n")).unwrap();
    let book = dir.path().join("book.ndjson");
    std::fs::write(
        &book,
        "{\"exchange\":\"okx\",\"symbol\":\"BTC-USDT\",\"channel\":\"book\",\"recv_ns\":1,\"exchange_ns\":1,\"update_id\":1,\"bids\":[],\"asks\":[]}\n",
    )
    .unwrap();
    let csv = dir.path().join("depth.csv");
    std::fs::write(
        &csv,
        "exchange,symbol,channel,recv_ns,exchange_ns,is_snapshot,first_update_id,update_id,prev_update_id,side,price,qty\n\
         binance,BTCUSDT,depth,5,1,true,,9,,bid,1.0,2.0\n",
    )
    .unwrap();
    for (file, want) in [
        (
            &ndjson,
            "mixed.ndjson:2: replay cannot serve binance kline_1m rows",
        ),
        (&book, "book.ndjson:1: replay cannot serve okx book rows"),
        (&csv, "depth.csv:2: replay cannot serve binance depth rows"),
    ] {
        let mut cmd = foxtrot(&["replay", file.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
        cmd.env("RUST_BACKTRACE", "0");
        let out = finish(cmd.spawn().unwrap()).await;
        out.assert_no_panic();
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stderr.contains(want), "{}", out.stderr);
        assert!(out.stderr.contains("--raw"), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
}
