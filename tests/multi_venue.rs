//! One run over Binance, Bybit and OKX: one config file, one replay server per dialect,
//! one NDJSON file; rows, the stats JSON and the metrics carry each venue apart.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;
use crate::ux_report::{get, parse_metrics};

/// What identifies a trade row exactly: venue, symbol, trade id text, price text, qty text.
type Trade = (String, String, String, String, String);

/// The trades each venue's fixture holds for `symbol`, as foxtrot must write them.
fn fixture_trades(venue: &str, file: &str, symbol: &str) -> Vec<Trade> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(venue)
        .join(file);
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let frame: Value = serde_json::from_str(line).unwrap();
        let items: Vec<(String, &Value, &Value)> = match venue {
            "binance" if frame["s"] == symbol => {
                vec![(frame["t"].to_string(), &frame["p"], &frame["q"])]
            }
            "bybit" if frame["topic"] == format!("publicTrade.{symbol}") => frame["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| (t["i"].as_str().unwrap().to_owned(), &t["p"], &t["v"]))
                .collect(),
            "okx" if frame["arg"]["instId"] == symbol => frame["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    (
                        t["tradeId"].as_str().unwrap().to_owned(),
                        &t["px"],
                        &t["sz"],
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        for (id, price, qty) in items {
            rows.push((
                venue.to_owned(),
                symbol.to_owned(),
                id,
                price.as_str().unwrap().to_owned(),
                qty.as_str().unwrap().to_owned(),
            ));
        }
    }
    rows
}

fn trade_of(row: &Value) -> Trade {
    let text = |key: &str| row[key].as_str().unwrap().to_owned();
    // Integer ids are JSON numbers, Bybit's are text of digits: compare the digits.
    let id = match &row["trade_id"] {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    };
    (
        text("exchange"),
        text("symbol"),
        id,
        text("price"),
        text("qty"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_config_records_binance_bybit_and_okx_into_one_file_with_a_series_per_venue() {
    let binance = start_replay(venue_replay_config("binance", &["trade.jsonl"])).await;
    let bybit = start_replay(venue_replay_config("bybit", &["spot_publicTrade.jsonl"])).await;
    let okx = start_replay(venue_replay_config("okx", &["trades.jsonl"])).await;
    let venues = [
        ("binance", "BTCUSDT", "trade.jsonl", binance.url()),
        ("bybit", "BTCUSDT", "spot_publicTrade.jsonl", bybit.url()),
        ("okx", "BTC-USDT", "trades.jsonl", okx.url()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("three.toml");
    let mut toml = String::new();
    for (venue, symbol, _, url) in &venues {
        toml.push_str(&format!(
            "[[streams]]\nvenue = \"{venue}\"\nendpoint = \"{url}\"\nsymbols = [\"{symbol}\"]\nchannels = [\"trade\"]\n\n"
        ));
    }
    std::fs::write(&config, toml).unwrap();
    let mut want: Vec<Trade> = venues
        .iter()
        .flat_map(|(venue, symbol, file, _)| fixture_trades(venue, file, symbol))
        .collect();
    let per_venue: BTreeMap<&str, usize> = venues
        .iter()
        .map(|(venue, symbol, file, _)| (*venue, fixture_trades(venue, file, symbol).len()))
        .collect();
    assert!(per_venue.values().all(|&n| n > 1), "{per_venue:?}");

    let out_path = dir.path().join("ticks.ndjson");
    let stats_path = dir.path().join("stats.jsonl");
    let mut child = foxtrot(&[
        "record",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
        "--metrics-addr",
        "127.0.0.1:0",
        "--stats-file",
        stats_path.to_str().unwrap(),
        "--stats-interval",
        "1h",
    ])
    .spawn()
    .unwrap();
    let mut stderr = stderr_lines(&mut child);
    let seen = stderr_until(&mut stderr, "serving metrics on http://").await;
    let addr = seen
        .last()
        .unwrap()
        .rsplit(' ')
        .next()
        .and_then(|u| u.strip_prefix("http://"))
        .and_then(|u| u.strip_suffix("/metrics"))
        .unwrap()
        .to_owned();

    // Every fixture trade has been written (the servers then idle with the connections open).
    let series = |venue: &str, symbol: &str| {
        format!(
            "foxtrot_ticks_received_total{{exchange=\"{venue}\",symbol=\"{symbol}\",channel=\"trade\"}}"
        )
    };
    let samples = tokio::time::timeout(PATIENCE, async {
        loop {
            let (_, _, body) = get(&addr, "/metrics").await;
            let (samples, _) = parse_metrics(&body);
            if samples.get("foxtrot_ticks_written_total") == Some(&(want.len() as f64)) {
                return samples;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("not every trade was written");
    for (venue, symbol, _, _) in &venues {
        assert_eq!(
            samples.get(&series(venue, symbol)),
            Some(&(per_venue[venue] as f64)),
            "{venue}: {samples:?}"
        );
        let offset = format!("foxtrot_clock_offset_seconds{{exchange=\"{venue}\"}}");
        assert!(samples.contains_key(&offset), "{offset}: {samples:?}");
    }
    let received: Vec<&String> = samples
        .keys()
        .filter(|k| k.starts_with("foxtrot_ticks_received_total{"))
        .collect();
    assert_eq!(received.len(), 3, "one series per venue: {received:?}");

    signal(&child, "TERM");
    let out = finish(child).await;
    out.assert_no_panic();
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    let lines = parse_ndjson(&std::fs::read_to_string(&out_path).unwrap());
    assert!(
        lines.iter().all(|l| l.get("type").is_none()),
        "no gaps: {lines:?}"
    );
    let mut got: Vec<Trade> = lines.iter().map(trade_of).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "every trade once, exact, with its venue");
    for line in &lines {
        let venue = line["exchange"].as_str().unwrap();
        let symbol = venues.iter().find(|v| v.0 == venue).unwrap().1;
        assert_eq!(line["symbol"], symbol, "{line}");
    }

    let stats = std::fs::read_to_string(&stats_path).unwrap();
    let last: Value = serde_json::from_str(stats.lines().last().unwrap()).unwrap();
    assert_eq!(last["final"], true);
    assert_eq!(last["written"], want.len());
    let streams: BTreeMap<String, u64> = last["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["channel"], "trade");
            (
                format!(
                    "{} {}",
                    s["exchange"].as_str().unwrap(),
                    s["symbol"].as_str().unwrap()
                ),
                s["received"].as_u64().unwrap(),
            )
        })
        .collect();
    let want_streams: BTreeMap<String, u64> = venues
        .iter()
        .map(|(venue, symbol, _, _)| (format!("{venue} {symbol}"), per_venue[venue] as u64))
        .collect();
    assert_eq!(streams, want_streams, "one stats series per venue");
    let offsets: Vec<&String> = last["clock_offset_s"].as_object().unwrap().keys().collect();
    assert_eq!(offsets, ["binance", "bybit", "okx"]);
    for server in [binance, bybit, okx] {
        assert_eq!(server.stats().connections_accepted(), 1);
        server.shutdown().await.unwrap();
    }
}
