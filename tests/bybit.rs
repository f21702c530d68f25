//! Bybit end to end: the real binary against the replay server's Bybit dialect
//! (`/v5/public/spot`, `/v5/public/linear`) on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use foxtrot::replay::{Library, ReplayConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::util::{
    FAST, Finished, PATIENCE, foxtrot, parse_ndjson, run, start_replay, summary_count,
    venue_replay_config,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bybit")
        .join(name)
}

fn config(files: &[&str]) -> ReplayConfig {
    venue_replay_config("bybit", files)
}

fn lines(name: &str) -> Vec<Value> {
    std::fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ticks(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|v| v.get("type").is_none()).collect()
}

/// The rows the served frames must become, in order: (symbol, channel, id, price text).
fn expected(symbols: &[&str]) -> (Vec<(String, String, String, String)>, u64) {
    let mut rows = Vec::new();
    let mut frames = 0;
    for frame in lines("spot_publicTrade.jsonl") {
        let topic = frame["topic"].as_str().unwrap();
        if !symbols.iter().any(|s| topic == format!("publicTrade.{s}")) {
            continue;
        }
        frames += 1;
        for trade in frame["data"].as_array().unwrap() {
            rows.push((
                trade["s"].as_str().unwrap().to_owned(),
                "trade".to_owned(),
                trade["i"].as_str().unwrap().to_owned(),
                trade["p"].as_str().unwrap().to_owned(),
            ));
        }
    }
    for frame in lines("spot_orderbook_1.jsonl") {
        let topic = frame["topic"].as_str().unwrap();
        if !symbols.iter().any(|s| topic == format!("orderbook.1.{s}")) {
            continue;
        }
        frames += 1;
        let data = &frame["data"];
        rows.push((
            data["s"].as_str().unwrap().to_owned(),
            "bookTicker".to_owned(),
            data["u"].to_string(),
            data["b"][0][0].as_str().unwrap_or("").to_owned(),
        ));
    }
    (rows, frames)
}

fn row_key(v: &Value) -> (String, String, String, String) {
    let channel = v["channel"].as_str().unwrap().to_owned();
    let (id, price) = if channel == "trade" {
        (v["trade_id"].to_string(), v["price"].as_str().unwrap())
    } else {
        (v["update_id"].to_string(), v["bid"].as_str().unwrap())
    };
    (
        v["symbol"].as_str().unwrap().to_owned(),
        channel,
        id,
        price.to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_records_trades_and_book_tickers_of_two_instruments_exactly_once() {
    let server = start_replay(config(&[
        "spot_publicTrade.jsonl",
        "spot_orderbook_1.jsonl",
    ]))
    .await;
    let symbols = ["BTCUSDT", "OPUSDC"];
    let (want, frames) = expected(&symbols);
    assert!(want.iter().any(|r| r.0 == "BTCUSDT" && r.1 == "trade"));
    assert!(want.iter().any(|r| r.0 == "OPUSDC" && r.1 == "bookTicker"));
    let limit = want.len().to_string();
    let mut args = vec![
        "stream",
        "BTCUSDT",
        "opusdc",
        "--venue",
        "bybit",
        "--channel",
        "trade",
        "--channel",
        "bookTicker",
        "--format",
        "ndjson",
        "--limit",
        &limit,
        "--endpoint",
        server.url(),
    ];
    args.extend(FAST);
    let out = run(&args).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&out.stdout);
    let rows = ticks(&lines);
    for row in &rows {
        assert_eq!(row["exchange"], "bybit");
        assert!(row["exchange_ns"].as_u64().unwrap() > 1_600_000_000_000_000_000);
    }
    // Per stream, every row in the order served; across streams, the same multiset.
    let mut got: Vec<_> = rows.iter().map(|v| row_key(v)).collect();
    let mut want_sorted = want.clone();
    for stream in [
        ("BTCUSDT", "trade"),
        ("OPUSDC", "bookTicker"),
        ("BTCUSDT", "bookTicker"),
    ] {
        let pick = |rows: &[(String, String, String, String)]| -> Vec<_> {
            rows.iter()
                .filter(|r| r.0 == stream.0 && r.1 == stream.1)
                .cloned()
                .collect()
        };
        assert_eq!(pick(&got), pick(&want), "{stream:?}");
    }
    got.sort();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    let stats = server.stats();
    assert_eq!(
        stats.messages_sent(),
        frames,
        "only subscribed topics are served"
    );
    assert_eq!(stats.connections_accepted(), 1);
    assert_eq!(summary_count(&out.stderr, "gaps"), 0);
    server.shutdown().await.unwrap();
}

/// Connects a plain WebSocket client to the Bybit spot path and subscribes.
async fn raw_client(
    url: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{url}/v5/public/spot"))
        .await
        .unwrap();
    let subscribe = r#"{"op":"subscribe","args":["publicTrade.BTCUSDT"],"req_id":"a"}"#;
    ws.send(Message::text(subscribe)).await.unwrap();
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_server_closes_a_bybit_client_that_stops_pinging() {
    let mut config = config(&["spot_publicTrade.jsonl"]);
    config.behavior.idle_limit = Some(Duration::from_millis(400));
    let server = start_replay(config).await;

    // A client that pings every 100 ms outlives many limits without data.
    let mut pinging = raw_client(server.url()).await;
    let mut texts = Vec::new();
    let alive = async {
        for _ in 0..20 {
            pinging
                .send(Message::text(r#"{"op":"ping"}"#))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            while let Some(Ok(frame)) =
                tokio::time::timeout(Duration::from_millis(1), pinging.next())
                    .await
                    .ok()
                    .flatten()
            {
                match frame {
                    Message::Text(text) => texts.push(text.to_string()),
                    Message::Close(frame) => panic!("closed while pinging: {frame:?}"),
                    _ => {}
                }
            }
        }
    };
    tokio::time::timeout(PATIENCE, alive).await.unwrap();
    assert!(texts[0].contains(r#""success":true"#) && texts[0].contains(r#""req_id":"a""#));
    assert!(
        texts.iter().any(|t| t.contains(r#""ret_msg":"pong""#)),
        "{texts:?}"
    );
    assert_eq!(texts.iter().filter(|t| t.contains("\"topic\"")).count(), 1);
    // It leaves; it must not go quiet and be closed below as well.
    pinging.close(None).await.unwrap();

    // One that goes quiet is closed, by the server, with a reason.
    let mut quiet = raw_client(server.url()).await;
    let closed = tokio::time::timeout(PATIENCE, async {
        while let Some(frame) = quiet.next().await {
            if let Ok(Message::Close(frame)) = frame {
                return frame.map(|f| f.reason.to_string());
            }
        }
        None
    })
    .await
    .unwrap();
    assert_eq!(closed.as_deref(), Some("no ping"));
    assert!(server.stats().idle_closes() >= 1, "counted as OKX's are");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_server_refuses_more_than_ten_args_on_spot_and_bad_topics() {
    let server = start_replay(config(&["spot_publicTrade.jsonl"])).await;
    let mut ws = raw_client(server.url()).await;
    let _ack = ws.next().await;
    let args: Vec<String> = (0..11)
        .map(|i| format!("\"publicTrade.A{i}USDT\""))
        .collect();
    for (request, want) in [
        (
            format!(
                r#"{{"op":"subscribe","args":[{}],"req_id":"b"}}"#,
                args.join(",")
            ),
            r#""success":false,"ret_msg":"args size >10""#,
        ),
        (
            r#"{"op":"subscribe","args":["trade.BTCUSDT"],"req_id":"c"}"#.to_owned(),
            r#""success":false,"ret_msg":"Invalid topic""#,
        ),
    ] {
        ws.send(Message::text(request)).await.unwrap();
        let reply = loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(t) if !t.contains("\"topic\"") => break t.to_string(),
                _ => {}
            }
        };
        assert!(reply.contains(want), "{reply}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_server_refuses_args_beyond_21000_characters_per_connection() {
    // Linear has no count limit, only Bybit's 21,000 characters of args per connection:
    // topics of 32 characters are 35 in the array, so 599 fit and the 600th does not.
    let server = start_replay(config(&["linear_publicTrade.jsonl"])).await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{}/v5/public/linear", server.url()))
            .await
            .unwrap();
    let mut replies = Vec::new();
    for batch in 0..6 {
        let args: Vec<String> = (0..100)
            .map(|i| format!("\"publicTrade.A{:015}USDT\"", batch * 100 + i))
            .collect();
        let request = format!(
            r#"{{"op":"subscribe","args":[{}],"req_id":"{batch}"}}"#,
            args.join(",")
        );
        ws.send(Message::text(request)).await.unwrap();
        let reply = loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(t) if !t.contains("\"topic\"") => break t.to_string(),
                _ => {}
            }
        };
        replies.push(reply);
    }
    for reply in &replies[..5] {
        assert!(reply.contains(r#""success":true"#), "{reply}");
    }
    assert!(
        replies[5].contains(r#""success":false,"ret_msg":"args length exceeds 21000 characters""#),
        "{}",
        replies[5]
    );
    // A topic subscribed twice is refused, as Bybit does.
    let again =
        r#"{"op":"subscribe","args":["publicTrade.A000000000000000USDT"],"req_id":"again"}"#;
    ws.send(Message::text(again)).await.unwrap();
    let reply = loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) if !t.contains("\"topic\"") => break t.to_string(),
            _ => {}
        }
    };
    assert!(
        reply.contains(r#""success":false,"ret_msg":"error:already subscribed,topic:publicTrade.A000000000000000USDT""#),
        "{reply}"
    );
    server.shutdown().await.unwrap();
}

/// Runs the binary for a `--duration` longer than [`PATIENCE`] allows a plain run.
async fn run_for(args: &[&str], duration: Duration) -> Finished {
    let child = foxtrot(args).spawn().unwrap();
    let output = tokio::time::timeout(duration + PATIENCE, child.wait_with_output())
        .await
        .expect("foxtrot did not exit in time")
        .unwrap();
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Streams BTCUSDT trades from `server` on `bybit` for `seconds`.
async fn trades_for(url: &str, seconds: u64) -> Finished {
    let duration = format!("{seconds}s");
    let mut args = vec![
        "stream",
        "BTCUSDT",
        "--venue",
        "bybit",
        "--channel",
        "trade",
        "--format",
        "ndjson",
        "--endpoint",
        url,
        "--duration",
        &duration,
    ];
    args.extend(FAST);
    run_for(&args, Duration::from_secs(seconds)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foxtrots_bybit_heartbeat_keeps_a_connection_without_data_alive() {
    // Bybit's real interval (20 s) against a server that cuts after 25 s without a ping or
    // data: 50 s of no data after the first few messages, on one connection.
    let mut config = config(&["spot_publicTrade.jsonl"]);
    config.behavior.idle_limit = Some(Duration::from_secs(25));
    let server = start_replay(config).await;
    let out = trades_for(server.url(), 52).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(ticks(&parse_ndjson(&out.stdout)).len(), 4);
    assert_eq!(
        summary_count(&out.stderr, "reconnects"),
        0,
        "{}",
        out.stderr
    );
    assert_eq!(summary_count(&out.stderr, "stalls"), 0);
    let stats = server.stats();
    assert_eq!(stats.connections_accepted(), 1);
    assert!(
        stats.pongs_received() >= 2,
        "pings: {}",
        stats.pongs_received()
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stricter_than_foxtrots_heartbeat_cuts_it_and_the_gap_is_recorded() {
    // The same test fails when the pings are too rare for the server: proof that the
    // server's limit is what the test above survives.
    let mut config = config(&["spot_publicTrade.jsonl"]);
    config.behavior.idle_limit = Some(Duration::from_secs(2));
    let server = start_replay(config).await;
    let out = trades_for(server.url(), 5).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        summary_count(&out.stderr, "reconnects") >= 1,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("no ping"), "{}", out.stderr);
    let lines = parse_ndjson(&out.stdout);
    assert!(
        lines
            .iter()
            .any(|v| v["type"] == "gap" && v["exchange"] == "bybit")
    );
    assert!(server.stats().connections_accepted() >= 2);
    server.shutdown().await.unwrap();
}

/// bybit-exchange/docs `docs/v5/websocket/public/all-liquidation.mdx`, "Response Example"
/// (a documentation example: no capture of this channel was found; whitespace removed).
const LIQUIDATION_DOC: &str = r#"{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}"#;

/// A linear server: the captured tickers and the documented liquidation.
async fn linear_server() -> foxtrot::replay::RunningServer {
    let tickers = std::fs::read_to_string(fixture("linear_tickers.jsonl")).unwrap();
    let library = Library::from_lines(tickers.lines().chain([LIQUIDATION_DOC])).unwrap();
    start_replay(ReplayConfig::new(library)).await
}

async fn linear_stream(url: &str, channels: &[&str], limit: usize) -> Vec<Value> {
    let limit = limit.to_string();
    let mut args = vec!["stream", "BTCUSDT", "ROSEUSDT", "--venue", "bybit-linear"];
    for channel in channels {
        args.extend(["--channel", channel]);
    }
    args.extend(["--format", "ndjson", "--limit", &limit, "--endpoint", url]);
    args.extend(FAST);
    let out = run(&args).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    parse_ndjson(&out.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_linear_tickers_feed_ticker_and_funding_rows_only_as_subscribed() {
    let server = linear_server().await;
    // Three BTCUSDT ticker frames (snapshot, delta, snapshot): three whole rows.
    let rows = linear_stream(server.url(), &["ticker"], 3).await;
    assert!(rows.iter().all(|r| r["channel"] == "ticker"), "{rows:?}");
    assert_eq!(rows[1]["bid_qty"], "3.543", "from the delta");
    assert_eq!(rows[1]["last"], "61874.00", "kept from the snapshot");
    assert_eq!(
        rows[1]["exchange_ns"].as_u64(),
        Some(1715748763063 * 1_000_000)
    );

    let rows = linear_stream(server.url(), &["funding", "liquidation"], 4).await;
    let channels: Vec<&str> = rows
        .iter()
        .map(|r| r["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["funding", "funding", "funding", "liquidation"]);
    assert_eq!(rows[1]["mark_price"], "61875.06");
    assert_eq!(rows[1]["funding_rate"], "0.00008055");
    assert_eq!(rows[1]["next_funding_time"], 1715760000000u64);
    let liquidation = &rows[3];
    assert_eq!(liquidation["exchange"], "bybit-linear");
    assert_eq!(liquidation["symbol"], "ROSEUSDT");
    assert_eq!(
        liquidation["side"], "BUY",
        "a short position (Sell) is closed by buying"
    );
    assert_eq!(liquidation["price"], "0.04499");
    assert_eq!(liquidation["qty"], "20000");
    assert_eq!(server.stats().connections_accepted(), 2);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_linear_trade_ids_are_written_as_the_uuid_text_sent() {
    let server = start_replay(config(&["linear_publicTrade.jsonl"])).await;
    for format in ["ndjson", "csv"] {
        let mut args = vec![
            "stream",
            "BTCUSDT",
            "--venue",
            "bybit-linear",
            "--channel",
            "trade",
            "--format",
            format,
            "--limit",
            "1",
            "--endpoint",
            server.url(),
        ];
        args.extend(FAST);
        let out = run(&args).await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let id = "2a74ac78-691c-5b54-9dbe-5aafe8364627";
        if format == "ndjson" {
            let rows = parse_ndjson(&out.stdout);
            assert_eq!(rows[0]["trade_id"], id);
            assert_eq!(rows[0]["price"], "109378.90");
            assert_eq!(rows[0]["buyer_is_maker"], false);
        } else {
            assert!(out.stdout.contains(&format!(",{id},")), "{}", out.stdout);
        }
    }
    server.shutdown().await.unwrap();
}
