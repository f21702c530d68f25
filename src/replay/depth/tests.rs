//! Depth mode over real sockets: a client that follows Binance's procedure with foxtrot's
//! sync ends with the server's own book, level for level and text for text, through
//! forced gaps, 429s, stale and late snapshots.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use super::*;
use crate::book::binance;
use crate::book::sync::{DepthSync, Limits, Output, Rules};
use crate::exchange::binance_depth;
use crate::replay::{Behavior, Library, ReplayConfig, RestServer, Server};

/// Generous: the point is the books, not the speed, on a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(90);

fn addr() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A plain HTTP/1.1 GET: status, headers (lower case), body.
async fn get(base: &str, path: &str) -> (u16, HashMap<String, String>, String) {
    let host = base.strip_prefix("http://").unwrap();
    let mut tcp = TcpStream::connect(host).await.unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

/// What a client saw for one symbol.
#[derive(Default, Debug)]
struct Seen {
    snapshots: u64,
    applied: u64,
    gaps: Vec<&'static str>,
    too_many: u64,
    /// The most events the sync held while waiting for a snapshot.
    max_buffered: usize,
}

fn record(seen: &mut Seen, out: Output<'_>) {
    match out {
        Output::Snapshot(_) => seen.snapshots += 1,
        Output::Applied(_) => seen.applied += 1,
        Output::Gap(reason) => seen.gaps.push(reason.as_str()),
    }
}

/// Follows `symbols` on a depth server the way foxtrot does (buffer, snapshot once an
/// event is buffered, retry stale ones, honour Retry-After, re-sync after a gap) until
/// every book holds the server's last event; returns the syncs and what was seen.
async fn follow(
    feed: DepthFeed,
    symbols: &[&str],
    limits: Limits,
) -> (Arc<DepthMarkets>, HashMap<String, (DepthSync, Seen)>) {
    let markets = Arc::new(DepthMarkets::new(feed.clone()));
    let behavior = Behavior {
        depth: Some(Arc::clone(&markets)),
        ..Behavior::default()
    };
    let library = Library::from_lines(std::iter::empty()).unwrap();
    let server = Server::bind(
        addr(),
        ReplayConfig {
            library: Arc::new(library),
            behavior,
        },
    )
    .await
    .unwrap()
    .spawn();
    let rest = RestServer::bind(addr(), Arc::clone(&markets))
        .await
        .unwrap()
        .spawn();
    let streams: Vec<String> = symbols
        .iter()
        .map(|s| format!("{}@depth@100ms", s.to_ascii_lowercase()))
        .collect();
    let url = format!("{}/stream?streams={}", server.url(), streams.join("/"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let rules = if feed.futures {
        Rules::UsdmFutures
    } else {
        Rules::Spot
    };
    let (path, limit) = if feed.futures {
        ("/fapi/v1/depth", 1000)
    } else {
        ("/api/v3/depth", 5000)
    };
    let max = feed.max_events.unwrap();
    let expected: HashMap<String, u64> = symbols
        .iter()
        .map(|s| (s.to_string(), feed.book_after(s, max).last_id()))
        .collect();
    let mut syncs: HashMap<String, (DepthSync, Seen)> = symbols
        .iter()
        .map(|s| {
            (
                s.to_string(),
                (DepthSync::new(rules, limits), Seen::default()),
            )
        })
        .collect();
    // Snapshots are fetched beside the stream, as foxtrot does: events keep arriving and
    // are buffered while one is in flight.
    let (done_tx, mut done_rx) =
        tokio::sync::mpsc::unbounded_channel::<(String, (u16, HashMap<String, String>, String))>();
    let rest_url = rest.url().to_owned();
    let run = async {
        while syncs
            .iter()
            // Futures snapshots name an id inside the next event's span: past the last `u`
            // when the server has stopped generating.
            .any(|(s, (sync, _))| sync.update_id().is_none_or(|id| id < expected[s]))
        {
            let symbol = tokio::select! {
                frame = ws.next() => {
                    let Some(Ok(Message::Text(text))) = frame else {
                        panic!("the stream ended");
                    };
                    let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                    let data = frame["data"].to_string();
                    let (symbol, event) =
                        binance_depth::depth_event(&data, now_ms() * 1_000_000).unwrap();
                    let (sync, seen) = syncs.get_mut(symbol.as_str()).unwrap();
                    sync.on_event(event, &mut |out, _| record(seen, out));
                    seen.max_buffered = seen.max_buffered.max(sync.buffered());
                    symbol.as_str().to_owned()
                }
                Some((symbol, (status, headers, body))) = done_rx.recv() => {
                    let (sync, seen) = syncs.get_mut(&symbol).unwrap();
                    if status == 429 {
                        seen.too_many += 1;
                        sync.snapshot_failed();
                    } else {
                        assert_eq!(status, 200, "{body}");
                        assert!(headers.contains_key("x-mbx-used-weight-1m"));
                        let snapshot = binance::snapshot(&body, now_ms() * 1_000_000).unwrap();
                        sync.on_snapshot(snapshot, &mut |out, _| record(seen, out));
                    }
                    symbol
                }
            };
            let (sync, _) = syncs.get_mut(&symbol).unwrap();
            if sync.wants_snapshot() {
                sync.snapshot_started();
                let (done, base) = (done_tx.clone(), rest_url.clone());
                let query = format!("{path}?symbol={symbol}&limit={limit}");
                tokio::spawn(async move {
                    let answer = get(&base, &query).await;
                    if answer.0 == 429 {
                        let secs: u64 = answer.1["retry-after"].parse().unwrap();
                        tokio::time::sleep(Duration::from_secs(secs)).await;
                    }
                    let _ = done.send((symbol, answer));
                });
            }
        }
    };
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("the client caught up with the server");
    drop(ws);
    server.shutdown().await.unwrap();
    rest.shutdown().await;
    (markets, syncs)
}

/// The client's whole book equals the server's, text for text.
fn assert_books_equal(feed: &DepthFeed, symbol: &str, sync: &DepthSync) {
    let server = feed.book_after(symbol, feed.max_events.unwrap());
    let (bids, asks) = server.levels(usize::MAX);
    let book = sync.book();
    let texts = |it: &mut dyn Iterator<Item = &crate::book::Level>| -> Vec<(String, String)> {
        it.map(|l| (l.price.to_string(), l.qty.to_string()))
            .collect()
    };
    assert_eq!(texts(&mut book.bids()), bids, "{symbol} bids");
    assert_eq!(texts(&mut book.asks()), asks, "{symbol} asks");
}

fn feed(futures: bool) -> DepthFeed {
    DepthFeed {
        futures,
        levels: 400,
        interval: Duration::from_millis(1),
        max_events: Some(1500),
        ..DepthFeed::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spot_books_rebuild_exactly_for_two_symbols() {
    let feed = feed(false);
    let (markets, syncs) = follow(feed.clone(), &["BTCUSDT", "ETHUSDT"], Limits::default()).await;
    for (symbol, (sync, seen)) in &syncs {
        assert_books_equal(&feed, symbol, sync);
        assert_eq!(seen.snapshots, 1, "{symbol}: {seen:?}");
        assert!(seen.gaps.is_empty(), "{symbol}: {seen:?}");
        assert_eq!(markets.generated(symbol), Some(1500));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_books_rebuild_exactly() {
    let feed = feed(true);
    let (_, syncs) = follow(feed.clone(), &["BTCUSDT"], Limits::default()).await;
    let (sync, seen) = &syncs["BTCUSDT"];
    assert_books_equal(&feed, "BTCUSDT", sync);
    assert_eq!(seen.snapshots, 1, "{seen:?}");
}

/// Every 400th event is withheld: each break the client meets is one gap record and one
/// new snapshot for that symbol, and the books end right. (A client that lags can meet
/// fewer breaks: a withheld event older than a re-sync's snapshot is covered by it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_gaps_resync_and_end_right() {
    for futures in [false, true] {
        let feed = DepthFeed {
            gap_every: Some(400),
            // Slow enough that the client keeps up (see the note above).
            interval: Duration::from_millis(3),
            ..feed(futures)
        };
        let (_, syncs) = follow(feed.clone(), &["BTCUSDT", "ETHUSDT"], Limits::default()).await;
        for (symbol, (sync, seen)) in &syncs {
            assert_books_equal(&feed, symbol, sync);
            // Events 400, 800 and 1200 are withheld (1500 generated).
            let gaps = seen.gaps.len() as u64;
            assert!(
                (1..=3).contains(&gaps),
                "{symbol} futures={futures} {seen:?}"
            );
            assert!(seen.gaps.iter().all(|g| *g == "sequence"), "{seen:?}");
            assert_eq!(seen.snapshots, gaps + 1, "{symbol}: {seen:?}");
            assert_eq!(sync.counters().gaps, gaps);
        }
    }
}

/// The first request is refused with 429 and `Retry-After: 1`, the next one per symbol
/// is stale (older than every streamed event): the client waits, retries, refuses the
/// stale one, and still ends with the server's book.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_and_stale_snapshots_are_retried() {
    let feed = DepthFeed {
        rest: RestFaults {
            too_many_first: 1,
            retry_after_secs: 1,
            stale_first: 1,
            ..RestFaults::default()
        },
        ..feed(false)
    };
    // Room for the second of Retry-After (1000 events).
    let limits = Limits {
        max_events: 10_000,
        ..Limits::default()
    };
    let (_, syncs) = follow(feed.clone(), &["BTCUSDT"], limits).await;
    let (sync, seen) = &syncs["BTCUSDT"];
    assert_books_equal(&feed, "BTCUSDT", sync);
    assert_eq!(seen.too_many, 1);
    assert_eq!(sync.counters().stale_snapshots, 1);
    assert_eq!(seen.snapshots, 1);
    assert!(seen.gaps.is_empty());
}

/// A snapshot answered later than the buffer's bound: the buffer overflows (one gap
/// record, never more than the bound held), the late snapshot is refused if it is too old
/// for what is buffered by then (it is unless the client lags), and the book ends right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_snapshot_overflows_the_bounded_buffer_once() {
    let feed = DepthFeed {
        rest: RestFaults {
            delay: Some(Duration::from_millis(400)),
            delay_first: 1,
            ..RestFaults::default()
        },
        ..feed(false)
    };
    let limits = Limits {
        max_events: 50,
        max_wait: Duration::from_secs(30),
    };
    let (_, syncs) = follow(feed.clone(), &["BTCUSDT"], limits).await;
    let (sync, seen) = &syncs["BTCUSDT"];
    assert_books_equal(&feed, "BTCUSDT", sync);
    assert_eq!(seen.gaps, ["buffer_overflow"]);
    assert!(sync.counters().overflows >= 1);
    assert!(seen.max_buffered <= 50, "{seen:?}");
    assert!(sync.counters().stale_snapshots <= 1);
    assert_eq!(seen.snapshots, 1);
}

#[tokio::test]
async fn the_endpoint_answers_as_strictly_as_the_venue() {
    let markets = Arc::new(DepthMarkets::new(DepthFeed {
        levels: 50,
        ..DepthFeed::default()
    }));
    let rest = RestServer::bind(addr(), markets).await.unwrap().spawn();
    let (status, headers, body) = get(rest.url(), "/api/v3/depth?symbol=BTCUSDT&limit=10").await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-mbx-used-weight-1m"], "5");
    let snapshot = binance::snapshot(&body, 0).unwrap();
    assert_eq!((snapshot.bids.len(), snapshot.asks.len()), (10, 10));
    let (status, _, body) = get(rest.url(), "/api/v3/depth?symbol=BTCUSDT&limit=0").await;
    assert_eq!(status, 400);
    assert!(body.contains("-1100"), "{body}");
    let (status, _, _) = get(rest.url(), "/fapi/v1/depth?symbol=BTCUSDT").await;
    assert_eq!(status, 404, "a spot server has no futures path");
    let (status, _, body) = get(rest.url(), "/api/v3/depth").await;
    assert_eq!((status, body.contains("-1102")), (400, true));
    // 6000 a minute: 24 requests of weight 250 fit, the 25th is refused.
    for _ in 0..23 {
        let (status, _, _) = get(rest.url(), "/api/v3/depth?symbol=BTCUSDT&limit=5000").await;
        assert_eq!(status, 200);
    }
    let (status, headers, _) = get(rest.url(), "/api/v3/depth?symbol=BTCUSDT&limit=5000").await;
    assert_eq!(status, 429);
    assert!(headers["retry-after"].parse::<u64>().unwrap() >= 1);
    rest.shutdown().await;
}
