//! The network misbehaves: reconnects without proliferation, visible gaps, liveness on pings,
//! quiet streams, make-before-break, and shutdown while reconnecting or mid-handshake.

use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;

use crate::util::*;

/// Flags that make reconnects fast enough for tests (the defaults suit Binance).
const FAST: [&str; 6] = [
    "--backoff-initial",
    "1ms",
    "--backoff-max",
    "10ms",
    "--connect-limit",
    "100000/1m",
];

fn ticks(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|v| v.get("type").is_none()).collect()
}

fn gaps(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|v| v["type"] == "gap").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_close_is_followed_by_a_reconnect_and_a_gap_record() {
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.close_after = Some(10);
    let server = start_replay(config).await;
    let mut args = vec![
        "stream",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--format",
        "ndjson",
        "--limit",
        "50",
        "--endpoint",
        server.url(),
    ];
    args.extend(FAST);
    let out = run(&args).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&out.stdout);
    assert_eq!(ticks(&lines).len(), 50);
    // Five connections of ten ticks: a gap record between each two, in stream order.
    let kinds: String = lines
        .iter()
        .map(|v| if v["type"] == "gap" { 'g' } else { 't' })
        .collect();
    // The fifth close may come before the stop: its interruption is recorded too.
    let want = format!("{}{}", "ttttttttttg".repeat(4), "tttttttttt");
    assert!(kinds == want || kinds == format!("{want}g"), "{kinds}");
    for gap in gaps(&lines) {
        assert_eq!(gap["symbol"], "BTCUSDT");
        assert_eq!(gap["channel"], "bookTicker");
        assert_eq!(gap["reason"], "disconnected");
        assert!(
            gap["from_ns"].as_u64().unwrap() <= gap["to_ns"].as_u64().unwrap(),
            "{gap}"
        );
    }
    let gap_lines = gaps(&lines).len() as u64;
    assert_eq!(summary_count(&out.stderr, "gaps"), gap_lines);
    // A gap at the very end was still open at shutdown: no reconnect closed it.
    let trailing = u64::from(kinds.ends_with('g'));
    assert_eq!(
        summary_count(&out.stderr, "reconnects") + trailing,
        gap_lines
    );
    assert_eq!(summary_count(&out.stderr, "stalls"), 0);
    let stats = server.stats();
    assert_eq!(stats.connections_accepted(), 5);
    assert_eq!(
        stats.max_connections_open(),
        1,
        "never two connections at once"
    );
    server.shutdown().await.unwrap();
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
    let out = run(&[
        "stream",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--format",
        "ndjson",
        "--endpoint",
        server.url(),
        "--max-connection-age",
        "1s",
        "--duration",
        "2500ms",
    ])
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
async fn shutdown_while_reconnecting_exits_cleanly_with_a_gap_record() {
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.limit = Some(5);
    let server = start_replay(config).await;
    let url = server.url().to_owned();
    let mut child = foxtrot(&[
        "stream",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--format",
        "ndjson",
        "--endpoint",
        &url,
        "--backoff-initial",
        "50ms",
        "--backoff-max",
        "200ms",
        "-v",
    ])
    .spawn()
    .unwrap();
    let mut stderr = stderr_lines(&mut child);
    tokio::time::timeout(PATIENCE, server.stats().wait_for_sent(5))
        .await
        .unwrap();
    // The server goes away: the client is now reconnecting, refused, in backoff.
    server.shutdown().await.unwrap();
    stderr_until(&mut stderr, "reconnecting in").await;
    signal(&child, "INT");
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stdout = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout)
        .await
        .unwrap();
    let lines = parse_ndjson(&stdout);
    assert_eq!(ticks(&lines).len(), 5, "nothing received was lost");
    let gap = gaps(&lines);
    assert_eq!(
        gap.len(),
        1,
        "the open interruption is recorded at shutdown"
    );
    assert_eq!(gap[0]["reason"], "disconnected");
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
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("received 0, written 0, dropped 0, lost 0"),
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
