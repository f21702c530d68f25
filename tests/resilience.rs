//! The network misbehaves, on Binance: liveness on pings, quiet streams, server-shutdown
//! bridging, rate limits, bad frames, and shutdown mid-handshake. What every venue must pass
//! (reconnects, stalls, make-before-break, shutdown while reconnecting) is in
//! `venue_resilience`, run per venue.

use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;

use foxtrot::replay::ReplayConfig;

use crate::util::*;

/// Runs `foxtrot stream BTCUSDT --channel bookTicker --format ndjson` against `url` with
/// fast reconnects (see [`FAST`]; harmless where nothing reconnects) and `extra` flags.
async fn book_stream(url: &str, extra: &[&str]) -> Finished {
    let mut args = vec![
        "stream",
        "BTCUSDT",
        "--channel",
        "bookTicker",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_keep_a_quiet_connection_alive_and_a_silent_stream_is_named() {
    // The server sends its 40 ticks and then only pings; XYZUSDT never delivers anything.
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.ping_interval = Duration::from_millis(200);
    let server = start_replay(config).await;
    let out = run(&[
        "stream",
        "BTCUSDT",
        "XYZUSDT",
        "--channel",
        "bookTicker",
        "--format",
        "ndjson",
        "--endpoint",
        server.url(),
        "--stale-after",
        "1s",
        "--silent-stream-after",
        "1s",
        "--duration",
        "3s",
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(ticks(&parse_ndjson(&out.stdout)).len(), 40);
    assert!(
        out.stderr.contains("reconnects 0, stalls 0, gaps 0"),
        "{}",
        out.stderr
    );
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("XYZUSDT"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning for the silent stream: {}",
        out.stderr
    );
    assert!(
        warnings[0].contains("is XYZUSDT listed on binance"),
        "{}",
        warnings[0]
    );
    assert!(
        server.stats().pongs_received() > 0,
        "the client answered pings"
    );
    assert_eq!(server.stats().connections_accepted(), 1);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_an_aged_connection_repeats_nothing() {
    // Each new connection replays the recording from its start, so a replacement repeats
    // everything the old one sent: the output must still hold each tick exactly once.
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.rate = 80;
    let server = start_replay(config).await;
    let books = fixture_lines("bookTicker.jsonl");
    let out = book_stream(
        server.url(),
        &["--max-connection-age", "1s", "--duration", "2500ms"],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&out.stdout);
    assert!(gaps(&lines).is_empty(), "a replacement is not a gap");
    let ids: Vec<u64> = ticks(&lines)
        .iter()
        .map(|t| t["update_id"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = books
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["u"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, want, "every tick once, in order");
    let stats = server.stats();
    assert!(
        stats.connections_accepted() >= 2,
        "at least one replacement happened"
    );
    assert!(
        stats.max_connections_open() <= 2,
        "make-before-break holds at most two"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_during_a_handshake_that_never_completes_is_prompt() {
    // A listener that accepts TCP but never answers the WebSocket upgrade.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted_tx, mut accepted) = tokio::sync::mpsc::channel(4);
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = accepted_tx.send(()).await;
        }
    });
    let child = foxtrot(&[
        "stream",
        "BTCUSDT",
        "--format",
        "ndjson",
        "--endpoint",
        &format!("ws://127.0.0.1:{port}"),
        "--shutdown-timeout",
        "10s",
    ])
    .spawn()
    .unwrap();
    tokio::time::timeout(PATIENCE, accepted.recv())
        .await
        .unwrap();
    let signalled = std::time::Instant::now();
    signal(&child, "TERM");
    let out = finish(child).await;
    hold.abort();
    // Never connected: exit 1 with the cause (issue 13).
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.lines().last().unwrap().starts_with(&format!(
            "foxtrot: never connected to 127.0.0.1:{port} (1 attempt, last: stopped before any attempt completed)"
        )),
        "{}",
        out.stderr
    );
    // Well inside the 10 s deadline: the pending handshake gets a short grace, not the deadline.
    assert!(
        signalled.elapsed() < Duration::from_secs(8),
        "{:?}",
        signalled.elapsed()
    );
}

/// The fixture's bookTicker update ids, in order.
fn book_ids() -> Vec<u64> {
    fixture_lines("bookTicker.jsonl")
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["u"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

/// Asserts the ticks are a contiguous run of the recording up to its end: nothing missing,
/// nothing repeated (a live stream is joined wherever it is when the client connects).
fn assert_contiguous_tail(lines: &[Value]) {
    let ids: Vec<u64> = ticks(lines)
        .iter()
        .map(|t| t["update_id"].as_u64().unwrap())
        .collect();
    let all = book_ids();
    let start = all
        .iter()
        .position(|&id| Some(&id) == ids.first())
        .expect("known ids");
    assert!(start <= 20, "joined late: at {start}");
    assert_eq!(ids, all[start..], "a contiguous tail, each tick once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pongs_go_out_while_no_data_flows() {
    // No data at all; the server drops clients that leave a ping unanswered for 1 s.
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.limit = Some(0);
    config.behavior.ping_interval = Duration::from_millis(200);
    config.behavior.pong_timeout = Some(Duration::from_secs(1));
    let server = start_replay(config).await;
    let out = book_stream(server.url(), &["--duration", "3s"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stats = server.stats();
    assert_eq!(stats.pong_timeouts(), 0, "every ping was answered in time");
    assert!(
        stats.pongs_received() >= 5,
        "pongs: {}",
        stats.pongs_received()
    );
    assert_eq!(stats.connections_accepted(), 1, "no reconnects");
    assert_eq!(summary_count(&out.stderr, "reconnects"), 0);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_and_bans_are_waited_out() {
    for (status, wait, needle) in [
        (
            foxtrot::replay::RefusalStatus::TooManyRequests,
            1,
            "HTTP 429",
        ),
        (
            foxtrot::replay::RefusalStatus::Banned,
            2,
            "banned this IP (HTTP 418)",
        ),
    ] {
        let mut config = replay_config(&["bookTicker.jsonl"]);
        config.behavior.refuse = Some(foxtrot::replay::Refusal {
            status,
            retry_after: Some(wait),
            first: Some(1),
        });
        let server = start_replay(config).await;
        let started = std::time::Instant::now();
        let out = book_stream(server.url(), &["--limit", "1", "-v"]).await;
        let took = started.elapsed();
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
        // A lower bound only: the second attempt cannot come before the stated wait.
        assert!(
            took >= Duration::from_secs(wait),
            "{needle}: retried after {took:?}"
        );
        let stats = server.stats();
        assert_eq!(
            (stats.handshakes_refused(), stats.connections_accepted()),
            (1, 1)
        );
        server.shutdown().await.unwrap();
    }
}

/// A server that answers every handshake with HTTP 503.
fn refusing_every_handshake() -> ReplayConfig {
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.refuse = Some(foxtrot::replay::Refusal::new(
        foxtrot::replay::RefusalStatus::Unavailable,
    ));
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_storm_stays_under_the_attempt_limit() {
    let server = start_replay(refusing_every_handshake()).await;
    let out = run(&[
        "stream",
        "BTCUSDT",
        "--format",
        "ndjson",
        "--endpoint",
        server.url(),
        "--backoff-initial",
        "1ms",
        "--backoff-max",
        "1ms",
        "--connect-limit",
        "4/1s",
        "--duration",
        "2500ms",
    ])
    .await;
    // Never connected: not a success, whatever ended the run (issue 13).
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .lines()
            .last()
            .unwrap()
            .contains("never connected to 127.0.0.1:"),
        "{}",
        out.stderr
    );
    // Windows start at 0 s, 1 s and 2 s: never more than 4 attempts in each.
    let attempts = server.stats().handshakes_refused();
    assert!((4..=12).contains(&attempts), "{attempts} attempts in 2.5 s");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_retries_gives_up_with_one_line() {
    let server = start_replay(refusing_every_handshake()).await;
    let mut args = vec![
        "stream",
        "BTCUSDT",
        "--format",
        "ndjson",
        "--max-retries",
        "3",
        "--endpoint",
        server.url(),
    ];
    args.extend(FAST);
    let out = run(&args).await;
    out.assert_no_panic();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    // One error line, after the warning logged while still trying (issue 13).
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.contains(" WARN cannot connect to 127.0.0.1:"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains("gave up on ws://127.0.0.1:"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("after 4 failed attempts in a row (HTTP 503"),
        "{}",
        lines[0]
    );
    assert_eq!(server.stats().handshakes_refused(), 4);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_are_counted_logged_once_per_kind_and_skipped() {
    use foxtrot::replay::{Injection, InjectionKind};
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.injections = vec![
        Injection {
            kind: InjectionKind::Malformed,
            after: 3,
        },
        Injection {
            kind: InjectionKind::Truncated,
            after: 6,
        },
        Injection {
            kind: InjectionKind::Oversized,
            after: 9,
        },
    ];
    let server = start_replay(config).await;
    let out = book_stream(server.url(), &["--limit", "20"]).await;
    out.assert_no_panic();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&out.stdout);
    // Nine ticks per connection: the oversized frame ends each connection.
    assert_eq!(ticks(&lines).len(), 20);
    let gap = gaps(&lines);
    assert_eq!(gap.len(), 2, "{lines:?}");
    assert!(gap.iter().all(|g| g["reason"] == "oversized"));
    let logged: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("skipped a frame"))
        .collect();
    assert_eq!(
        logged.len(),
        2,
        "one line per kind (malformed, oversized): {logged:?}"
    );
    server.shutdown().await.unwrap();
}

/// Streams a live timeline (50 ticks/s) for 2 s with `extra` flags and checks that the
/// connection was replaced at least `replaced` times without a hole, a repeat or a gap.
async fn assert_seamless_replacements(mut config: ReplayConfig, extra: &[&str], replaced: u64) {
    config.behavior.rate = 50;
    config.behavior.live = true;
    let server = start_replay(config).await;
    let out = book_stream(
        server.url(),
        &[["--duration", "2s"].as_slice(), extra].concat(),
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&out.stdout);
    assert!(
        gaps(&lines).is_empty(),
        "a replacement is not a gap: {lines:?}"
    );
    assert_contiguous_tail(&lines);
    let stats = server.stats();
    assert!(
        stats.connections_accepted() > replaced,
        "{}",
        stats.connections_accepted()
    );
    assert!(
        stats.max_connections_open() <= 2,
        "make-before-break holds at most two"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_shutdown_is_bridged_without_a_hole_or_a_repeat() {
    use foxtrot::replay::{Injection, InjectionKind};
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.injections = vec![Injection {
        kind: InjectionKind::ServerShutdown,
        after: 10,
    }];
    assert_seamless_replacements(config, &[], 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_recordings_keep_gaps_in_a_side_file() {
    let mut config = replay_config(&["trade.jsonl"]);
    config.behavior.drop_after = Some(5);
    let server = start_replay(config).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.csv");
    let mut args = vec![
        "record",
        "BTCUSDT",
        "--channel",
        "trade",
        "--limit",
        "15",
        "--out",
        path.to_str().unwrap(),
        "--endpoint",
        server.url(),
    ];
    args.extend(FAST);
    let out = run(&args).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let ticks = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        ticks.lines().count(),
        1 + 15,
        "the tick file holds only ticks"
    );
    let side = dir.path().join("trades.csv.gaps.csv");
    let mut reader = csv::Reader::from_path(&side).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "exchange", "symbol", "channel", "from_ns", "to_ns", "reason"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "two interruptions before the 15th tick");
    for row in &rows {
        assert_eq!(
            (&row[1], &row[2], &row[5]),
            ("BTCUSDT", "trade", "disconnected")
        );
        assert!(row[3].parse::<u64>().unwrap() <= row[4].parse::<u64>().unwrap());
    }
    assert_eq!(summary_count(&out.stderr, "gaps"), 2);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_beyond_the_url_are_subscribed_in_batches() {
    // 600 symbols on one connection: the URL carries what fits in ~8000 characters, and
    // SUBSCRIBE requests carry the rest, BTCUSDT (the only one with data) among them.
    let server = start_replay(replay_config(&["bookTicker.jsonl"])).await;
    let mut symbols: Vec<String> = (0..599).map(|i| format!("QUIET{i:04}USDT")).collect();
    symbols.push("BTCUSDT".to_owned());
    let mut args: Vec<&str> = vec!["stream"];
    args.extend(symbols.iter().map(String::as_str));
    args.extend([
        "--channel",
        "bookTicker",
        "--format",
        "ndjson",
        "--streams-per-connection",
        "1000",
        "--limit",
        "40",
        "--endpoint",
        server.url(),
    ]);
    let out = run(&args).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(ticks(&parse_ndjson(&out.stdout)).len(), 40);
    let stats = server.stats();
    assert_eq!(stats.connections_accepted(), 1);
    assert!(
        stats.requests() >= 2,
        "SUBSCRIBE batches: {}",
        stats.requests()
    );
    assert!(!out.stderr.contains("rejected"), "{}", out.stderr);
    server.shutdown().await.unwrap();
}
