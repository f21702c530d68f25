//! Venues as values: one run over two venues, USD-M routing, per-venue refusals, and the
//! stale window that fits a venue's ping interval.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::util::{fixture_lines, parse_ndjson, replay_config, run, start_replay, summary_count};

const FUTURES: [&str; 4] = [
    "futures_usdm_bookTicker.jsonl",
    "futures_usdm_trade.jsonl",
    "futures_usdm_markPrice.jsonl",
    "futures_usdm_forceOrder.jsonl",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_config_file_records_two_venues_each_tick_once_on_its_route() {
    let spot = start_replay(replay_config(&["bookTicker.jsonl", "trade.jsonl"])).await;
    let futures = start_replay(replay_config(&FUTURES)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("venues.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[streams]]
venue = "binance"
endpoint = "{}"
symbols = ["BTCUSDT"]
channels = ["bookTicker", "trade"]

[[streams]]
venue = "binance-futures"
endpoint = "{}"
symbols = ["BTCUSDT"]
channels = ["bookTicker", "trade", "funding", "liquidation"]
"#,
            spot.url(),
            futures.url()
        ),
    )
    .unwrap();
    let count = |file: &str| fixture_lines(file).len();
    let want: BTreeMap<(&str, &str), usize> = [
        (("binance", "bookTicker"), count("bookTicker.jsonl")),
        (("binance", "trade"), count("trade.jsonl")),
        (("binance-futures", "bookTicker"), count(FUTURES[0])),
        (("binance-futures", "trade"), count(FUTURES[1])),
        (("binance-futures", "funding"), count(FUTURES[2])),
        (("binance-futures", "liquidation"), count(FUTURES[3])),
    ]
    .into_iter()
    .collect();
    let total: usize = want.values().sum();
    let out_path = dir.path().join("ticks.ndjson");
    let out = run(&[
        "record",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
        "--limit",
        &total.to_string(),
    ])
    .await;
    out.assert_no_panic();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let ticks = parse_ndjson(&std::fs::read_to_string(&out_path).unwrap());
    let mut got: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for tick in &ticks {
        let key = (
            tick["exchange"].as_str().unwrap(),
            tick["channel"].as_str().unwrap(),
        );
        let key = *want
            .keys()
            .find(|k| **k == key)
            .unwrap_or_else(|| panic!("unexpected {key:?}"));
        *got.entry(key).or_default() += 1;
    }
    assert_eq!(got, want, "every tick once, with its venue");
    // Exact text, and the venue's event time in ns on every futures row.
    let funding: Vec<&Value> = ticks.iter().filter(|t| t["channel"] == "funding").collect();
    for (tick, line) in funding.iter().zip(fixture_lines(FUTURES[2])) {
        let wire: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(tick["mark_price"], wire["p"]);
        assert_eq!(tick["funding_rate"], wire["r"]);
        assert_eq!(tick["next_funding_time"], wire["T"]);
        assert_eq!(tick["exchange_ns"], wire["E"].as_u64().unwrap() * 1_000_000);
    }
    let liquidation = ticks
        .iter()
        .find(|t| t["channel"] == "liquidation")
        .unwrap();
    assert_eq!(liquidation["side"], "SELL");
    assert_eq!(liquidation["qty"], "0.014");
    // USD-M: book tickers on /public, the rest on /market; nothing unrouted.
    let stats = futures.stats();
    assert_eq!(
        stats.messages_on_route("public") as usize,
        count(FUTURES[0])
    );
    assert_eq!(
        stats.messages_on_route("market") as usize,
        count(FUTURES[1]) + count(FUTURES[2]) + count(FUTURES[3])
    );
    assert_eq!(spot.stats().messages_on_route("public"), 0);
    spot.shutdown().await.unwrap();
    futures.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_the_wrong_route_is_not_delivered() {
    use futures_util::StreamExt;
    let futures = start_replay(replay_config(&FUTURES)).await;
    // A market stream asked for on the public route: accepted, never delivered.
    let url = format!("{}/public/stream?streams=btcusdt@trade", futures.url());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let quiet = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
    assert!(quiet.is_err(), "delivered: {quiet:?}");
    assert_eq!(futures.stats().messages_sent(), 0);
    futures.shutdown().await.unwrap();
}

#[tokio::test]
async fn venue_refusals_are_one_line_and_exit_2() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["stream", "BTCUSDT", "--channel", "funding"],
            "binance has no channel funding: its channels are ticker, bookTicker, trade, aggTrade, depth, book, kline_1s",
        ),
        (
            &[
                "stream",
                "BTCUSDT",
                "--venue",
                "binance-futures",
                "--channel",
                "kline_1s",
            ],
            "binance-futures has no channel kline_1s",
        ),
        (
            &["stream", "BTC-USDT", "--venue", "binance-futures"],
            "invalid symbol \"BTC-USDT\": expected 1 to 20 bytes of letters (any script) or digits",
        ),
        (
            &["stream", "BTCUSDT", "--venue", "kraken"],
            "unknown venue \"kraken\": expected one of binance, binance-futures",
        ),
        (
            &["record", "BTCUSDT", "--out", "x.csv", "--venue", "Binance"],
            "unknown venue \"Binance\"",
        ),
    ];
    for (args, needle) in cases {
        let out = run(args).await;
        out.assert_no_panic();
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", out.stderr);
        assert!(lines[0].starts_with("foxtrot: "), "{}", lines[0]);
        assert!(lines[0].contains(needle), "{:?} lacks {needle:?}", lines[0]);
    }
}

#[tokio::test]
async fn venues_lists_every_venue_with_its_channels() {
    let out = run(&["venues"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for needle in [
        "binance ",
        "wss://stream.binance.com:9443",
        "binance-futures ",
        "wss://fstream.binance.com",
        "funding, liquidation",
        "kline_1m",
    ] {
        assert!(
            out.stdout.contains(needle),
            "{needle} missing in {}",
            out.stdout
        );
    }
}

/// USD-M pings every 3 minutes: the venue's default stale window is 1.5 ping intervals.
/// The same ratio at a short scale (pings every 400 ms, `--stale-after 600ms`) keeps a
/// connection that carries no data up, with neither a stall nor a reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_futures_connection_stays_up_on_pings_alone() {
    let mut config = replay_config(&FUTURES);
    config.behavior.ping_interval = Duration::from_millis(400);
    let futures = start_replay(config).await;
    let out = run(&[
        "record",
        "ETHUSDT",
        "--venue",
        "binance-futures",
        "--channel",
        "aggTrade",
        "--endpoint",
        futures.url(),
        "--out",
        "-",
        "--stale-after",
        "600ms",
        "--duration",
        "3s",
    ])
    .await;
    out.assert_no_panic();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(summary_count(&out.stderr, "stalls"), 0, "{}", out.stderr);
    assert_eq!(
        summary_count(&out.stderr, "reconnects"),
        0,
        "{}",
        out.stderr
    );
    assert_eq!(futures.stats().connections_accepted(), 1);
    futures.shutdown().await.unwrap();
}

/// A venue whose clock runs 2 s ahead of ours, then 2 s behind: the estimate (summary and
/// stats JSON) is within 50 ms of the shift on loopback, and only the ahead case warns,
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_offset_estimate_follows_a_shifted_venue_clock() {
    let trades = fixture_lines("trade.jsonl").len();
    for (shift_ms, ahead) in [(2_000i64, true), (-2_000, false)] {
        let mut config = replay_config(&["trade.jsonl"]);
        config.behavior.clock_shift_ms = Some(shift_ms);
        let server = start_replay(config).await;
        let dir = tempfile::tempdir().unwrap();
        let stats = dir.path().join("stats.jsonl");
        let out = run(&[
            "record",
            "BTCUSDT",
            "--channel",
            "trade",
            "--endpoint",
            server.url(),
            "--out",
            "-",
            "--limit",
            &trades.to_string(),
            "--stats-file",
            stats.to_str().unwrap(),
            "--stats-interval",
            "1h",
        ])
        .await;
        out.assert_no_panic();
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let want = -(shift_ms as f64) / 1000.0;
        let summary: f64 = out
            .stderr
            .split("clock offset binance ")
            .nth(1)
            .and_then(|rest| rest.trim_end().strip_suffix('s'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no clock offset in {}", out.stderr));
        assert!((summary - want).abs() < 0.05, "{summary} vs {want}");
        let last = std::fs::read_to_string(&stats).unwrap();
        let last: Value = serde_json::from_str(last.lines().last().unwrap()).unwrap();
        let json = last["clock_offset_s"]["binance"].as_f64().unwrap();
        assert!((json - want).abs() < 0.05, "{json} vs {want}");
        let warnings = out.stderr.matches("ahead of ours").count();
        assert_eq!(warnings, usize::from(ahead), "{}", out.stderr);
        server.shutdown().await.unwrap();
    }
}
