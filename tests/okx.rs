//! The `okx` venue end to end: the real binary against the replay server's OKX dialect
//! (subscribe args acked by their echo, the text heartbeat, idle connections closed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use foxtrot::replay::ReplayConfig;

use crate::util::*;

fn okx_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/okx")
        .join(name)
}

fn okx_config(files: &[&str]) -> ReplayConfig {
    venue_replay_config("okx", files)
}

/// Runs `foxtrot stream BTC-USDT --venue okx --channel trade --format ndjson` against
/// `url` with fast reconnects (see [`FAST`]) and `extra` flags.
async fn okx_trades(url: &str, extra: &[&str]) -> Finished {
    let mut args = vec![
        "stream",
        "BTC-USDT",
        "--venue",
        "okx",
        "--channel",
        "trade",
        "--format",
        "ndjson",
        "--endpoint",
        url,
    ];
    args.extend(FAST);
    args.extend(extra);
    run(&args).await
}

fn ticks(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|v| v.get("type").is_none()).collect()
}

fn gaps(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|v| v["type"] == "gap").collect()
}

/// What identifies a row exactly: symbol, channel and the decimal texts with its id.
type Row = (String, String, String);

/// The rows the fixture frames of `instruments` should become, by channel, as text.
fn expected_rows(instruments: &[&str]) -> Vec<Row> {
    let mut rows = Vec::new();
    for (file, channel) in [("trades.jsonl", "trade"), ("bbo-tbt.jsonl", "bookTicker")] {
        for line in std::fs::read_to_string(okx_fixture(file)).unwrap().lines() {
            let frame: Value = serde_json::from_str(line).unwrap();
            let inst = frame["arg"]["instId"].as_str().unwrap();
            if !instruments.contains(&inst) {
                continue;
            }
            for d in frame["data"].as_array().unwrap() {
                let text = if channel == "trade" {
                    format!("{} {} {} {}", d["tradeId"], d["px"], d["sz"], d["ts"])
                } else {
                    format!(
                        "{} {} {} {} {}",
                        d["bids"][0][0], d["bids"][0][1], d["asks"][0][0], d["asks"][0][1], d["ts"]
                    )
                };
                rows.push((inst.to_owned(), channel.to_owned(), text.replace('"', "")));
            }
        }
    }
    rows.sort();
    rows
}

fn row(tick: &Value) -> Row {
    let s = |k: &str| tick[k].as_str().unwrap_or_default().to_owned();
    let ts = tick["exchange_ns"].as_u64().unwrap() / 1_000_000;
    let text = if tick["channel"] == "trade" {
        assert_eq!(tick["trade_time"].as_u64(), Some(ts));
        format!("{} {} {} {ts}", tick["trade_id"], s("price"), s("qty"))
    } else {
        format!(
            "{} {} {} {} {ts}",
            s("bid"),
            s("bid_qty"),
            s("ask"),
            s("ask_qty")
        )
    };
    (s("symbol"), s("channel"), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_records_trades_and_book_tickers_of_two_instruments_exactly_once() {
    // Every instrument's frames are in the library; only the two subscribed are served.
    let server = start_replay(okx_config(&["trades.jsonl", "bbo-tbt.jsonl"])).await;
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("okx.ndjson");
    let want = expected_rows(&["BTC-USDT", "BTC-USDT-SWAP"]);
    assert_eq!(want.len(), 75);
    let limit = want.len().to_string();
    let out = run(&[
        "record",
        "BTC-USDT",
        "btc-usdt-swap",
        "--venue",
        "okx",
        "--channel",
        "trade",
        "--channel",
        "bookTicker",
        "--endpoint",
        server.url(),
        "--out",
        out_path.to_str().unwrap(),
        "--limit",
        &limit,
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.assert_no_panic();
    let lines = parse_ndjson(&std::fs::read_to_string(&out_path).unwrap());
    assert!(gaps(&lines).is_empty(), "{lines:?}");
    assert!(lines.iter().all(|t| t["exchange"] == "okx"));
    let mut got: Vec<Row> = ticks(&lines).into_iter().map(row).collect();
    got.sort();
    assert_eq!(got, want, "every message served arrives once, exact");
    let stats = server.stats();
    assert_eq!(
        stats.messages_sent(),
        75,
        "only subscribed streams are served"
    );
    assert_eq!(stats.connections_accepted(), 1);
    // One subscribe request carrying the four args.
    assert_eq!(stats.requests(), 1);
    server.shutdown().await.unwrap();
}

/// A quiet connection: 72 trades at once, then nothing; the server closes connections that
/// were pushed nothing for 5 s (OKX: 30 s). `stale_after` sets foxtrot's heartbeat: with
/// 3.5 s it pings after 2.5 s of silence (the venue's 25 s of 35 s, scaled); without it,
/// after 25 s.
async fn quiet_okx(
    stale_after: Option<&str>,
    duration: &str,
) -> (Finished, foxtrot::replay::StatsSnapshot) {
    let mut config = okx_config(&["trades.jsonl"]);
    config.behavior.idle_limit = Some(Duration::from_secs(5));
    let server = start_replay(config).await;
    let mut extra = vec!["--duration", duration];
    if let Some(stale) = stale_after {
        extra.extend(["--stale-after", stale]);
    }
    let out = okx_trades(server.url(), &extra).await;
    let stats = server.stats().snapshot();
    server.shutdown().await.unwrap();
    (out, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_heartbeat_keeps_a_quiet_connection_alive() {
    // 20 s of no data is eight heartbeat rounds: the scaled equivalent of OKX's 25 s
    // pings over more than 3 minutes.
    let (out, stats) = quiet_okx(Some("3500ms"), "20s").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(ticks(&parse_ndjson(&out.stdout)).len(), 72);
    assert!(
        out.stderr.contains("reconnects 0, stalls 0, gaps 0"),
        "{}",
        out.stderr
    );
    assert_eq!(stats.idle_closes, 0);
    assert_eq!(stats.connections_accepted, 1);
    // The subscribe request, then a ping every 2.5 s of silence (at least six).
    assert!(stats.requests > 6, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_client_without_a_timely_heartbeat_is_disconnected() {
    // The same quiet connection with the venue's 25 s heartbeat: the server's 5 s limit
    // closes it, foxtrot reconnects and records the gap.
    let (out, stats) = quiet_okx(None, "8s").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(stats.idle_closes >= 1, "{stats:?}");
    assert!(stats.connections_accepted >= 2, "{stats:?}");
    let lines = parse_ndjson(&out.stdout);
    let gap = gaps(&lines);
    assert!(!gap.is_empty(), "{}", out.stderr);
    assert_eq!(gap[0]["symbol"], "BTC-USDT");
    assert_eq!(gap[0]["exchange"], "okx");
    assert_eq!(gap[0]["reason"], "disconnected");
    assert!(summary_count(&out.stderr, "reconnects") >= 1);
}

#[tokio::test]
async fn okx_instruments_are_checked_before_connecting() {
    let (url, _socket) = refused_endpoint();
    for bad in ["BTC_USDT", "BTC--USDT", "BTC-USDT-"] {
        let out = run(&["stream", bad, "--venue", "okx", "--endpoint", &url]).await;
        assert_eq!(out.code, Some(2), "{bad}: {}", out.stderr);
        assert!(out.stderr.contains("like BTC-USDT"), "{}", out.stderr);
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    }
    let out = run(&[
        "stream",
        "BTC-USDT",
        "--venue",
        "okx",
        "--channel",
        "aggTrade",
        "--endpoint",
        &url,
    ])
    .await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_a_refused_arg_rejects_only_its_stream_with_a_gap_record() {
    // Funding rates exist for swaps only: OKX refuses the spot instrument's arg by name.
    let server = start_replay(okx_config(&["trades.jsonl", "funding-rate.jsonl"])).await;
    let out = run(&[
        "stream",
        "BTC-USDT",
        "--venue",
        "okx",
        "--channel",
        "trade",
        "--channel",
        "funding",
        "--format",
        "ndjson",
        "--endpoint",
        server.url(),
        "--limit",
        "72",
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&out.stdout);
    let gap = gaps(&lines);
    assert_eq!(gap.len(), 1, "{lines:?}");
    assert_eq!(
        (&gap[0]["channel"], &gap[0]["reason"]),
        (&"funding".into(), &"rejected".into())
    );
    assert!(out.stderr.contains("60018"), "{}", out.stderr);
    assert_eq!(ticks(&lines).len(), 72, "the trades still flow");
    assert!(ticks(&lines).iter().all(|t| t["channel"] == "trade"));
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_pings_only_when_the_connection_is_idle() {
    // Trades every 25 ms for 1.5 s, a ping due after 1 s of silence: none goes out.
    let mut config = okx_config(&["trades.jsonl"]);
    config.behavior.rate = 40;
    let server = start_replay(config).await;
    let out = okx_trades(
        server.url(),
        &["--duration", "1500ms", "--stale-after", "1400ms"],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(ticks(&parse_ndjson(&out.stdout)).len() > 20);
    assert_eq!(server.stats().requests(), 1, "the subscribe request only");
    server.shutdown().await.unwrap();
}

/// A raw client on OKX's path that sends `ping` every 100 ms for up to 3 s, subscribing to
/// `subscribe` first when given; returns the server's close reason, if it closed.
async fn pinging_client(url: &str, subscribe: Option<&str>) -> Option<String> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{url}/ws/v5/public"))
        .await
        .unwrap();
    if let Some(request) = subscribe {
        ws.send(Message::text(request)).await.unwrap();
    }
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        ws.send(Message::text("ping")).await.ok()?;
        let until = tokio::time::Instant::now() + Duration::from_millis(100);
        while let Ok(frame) = tokio::time::timeout_at(until, ws.next()).await {
            match frame {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.reason.to_string()),
                Some(Ok(_)) => {}
                _ => return Some(String::new()),
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_closes_a_connection_that_pings_but_never_subscribes() {
    // OKX: "The connection will break automatically if the subscription is not established
    // or data has not been pushed for more than 30 seconds" (here 1 s): pongs alone
    // keep only a subscribed connection alive.
    let mut config = okx_config(&["trades.jsonl"]);
    config.behavior.idle_limit = Some(Duration::from_secs(1));
    config.behavior.limit = Some(0);
    let server = start_replay(config).await;
    let closed = pinging_client(server.url(), None).await;
    assert_eq!(
        closed.as_deref(),
        Some("no data pushed within the idle limit")
    );
    let subscribed = pinging_client(
        server.url(),
        Some(r#"{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}"#),
    )
    .await;
    assert_eq!(
        subscribed, None,
        "a subscribed connection lives on its pongs"
    );
    assert_eq!(server.stats().idle_closes(), 1);
    server.shutdown().await.unwrap();
}
