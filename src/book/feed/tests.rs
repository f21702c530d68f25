//! Depth feeds against the replay server's generated books, over real sockets: the rows
//! written rebuild the server's book exactly, every `book` row equals the server's book at
//! its update id, and forced gaps re-sync only the symbol that had them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::*;
use crate::book::{Book, Change, Side};
use crate::exchange::binance_depth;
use crate::replay::{Behavior, DepthFeed, DepthMarkets, Library, ReplayConfig, RestServer, Server};

/// Generous: the point is the books, not the speed, on a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(90);

const LEVELS: usize = 10;

fn addr() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Top-`LEVELS` texts a side, as `price:qty`.
type Top = Vec<String>;

fn top_of_book(book: &Book) -> Top {
    book.bids()
        .take(LEVELS)
        .chain(book.asks().take(LEVELS))
        .map(|l| format!("{}:{}", l.price, l.qty))
        .collect()
}

fn top_of_line(line: &BookLine) -> Top {
    line.levels
        .bids
        .iter()
        .chain(&line.levels.asks)
        .map(|l| format!("{}:{}", l.price, l.qty))
        .collect()
}

/// The server's book of `symbol` at every update id: by the last event's `u`, and by
/// the `lastUpdateId` a snapshot of that state carries.
fn server_states(feed: &DepthFeed, symbol: &str) -> (HashMap<u64, Top>, HashMap<u64, Top>) {
    let mut generator = feed.book_after(symbol, 0);
    let (mut by_last, mut by_snapshot) = (HashMap::new(), HashMap::new());
    for i in 0..=feed.max_events.unwrap() {
        if i > 0 {
            generator.next_event();
        }
        let (bids, asks) = generator.levels(LEVELS);
        let top: Top = bids
            .iter()
            .chain(&asks)
            .map(|(p, q)| format!("{p}:{q}"))
            .collect();
        by_last.insert(generator.last_id(), top.clone());
        by_snapshot.insert(generator.snapshot_id(), top);
    }
    (by_last, by_snapshot)
}

/// What one symbol's rows say.
#[derive(Default)]
struct Written {
    /// The book rebuilt from the `depth` rows alone.
    rebuilt: Book,
    snapshots: u64,
    events: u64,
    gaps: Vec<&'static str>,
    book_rows: Vec<BookLine>,
    last_update_id: u64,
    /// The same rows as NDJSON lines, rebuilt the way a user of the file would.
    from_file: crate::book::rebuild::Rebuilder,
    lines: usize,
}

fn changes(levels: &[crate::book::Level]) -> Vec<Change> {
    levels
        .iter()
        .map(|l| Change::parse(&l.price.to_string(), &l.qty.to_string()).unwrap())
        .collect()
}

async fn record(feed: DepthFeed, symbols: &[&str]) -> HashMap<String, Written> {
    let markets = Arc::new(DepthMarkets::new(feed.clone()));
    let behavior = Behavior {
        depth: Some(Arc::clone(&markets)),
        ..Behavior::default()
    };
    let config = ReplayConfig {
        library: Arc::new(Library::from_lines(std::iter::empty()).unwrap()),
        behavior,
    };
    let server = Server::bind(addr(), config).await.unwrap().spawn();
    let rest = RestServer::bind(addr(), Arc::clone(&markets))
        .await
        .unwrap()
        .spawn();
    let (rules, path, limit) = if feed.futures {
        (Rules::UsdmFutures, "/fapi/v1/depth", 1000)
    } else {
        (Rules::Spot, "/api/v3/depth", 1000)
    };
    let config = FeedConfig {
        rules,
        snapshot_path: path,
        snapshot_limit: limit,
        snapshot_weight: crate::replay::rest_weight(feed.futures, limit),
        limits: Limits::default(),
        depth_rows: true,
        book_levels: Some(LEVELS),
        book_interval: Duration::ZERO,
    };
    let client = SnapshotClient::new(rest.url(), Duration::from_secs(20)).unwrap();
    let budget = Arc::new(Mutex::new(WeightBudget::new(3000, Instant::now())));
    let mut feeds = DepthFeeds::new(config, client, budget);
    let streams: Vec<String> = symbols
        .iter()
        .map(|s| format!("{}@depth@100ms", s.to_ascii_lowercase()))
        .collect();
    let url = format!("{}/stream?streams={}", server.url(), streams.join("/"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let max = feed.max_events.unwrap();
    let last_ids: HashMap<String, u64> = symbols
        .iter()
        .map(|s| (s.to_string(), feed.book_after(s, max).last_id()))
        .collect();
    let written: RefCell<HashMap<String, Written>> = RefCell::new(HashMap::new());
    let mut sink = |symbol: &Symbol, _recv_ns: u64, out: FeedOutput| {
        let mut all = written.borrow_mut();
        let w = all.entry(symbol.as_str().to_owned()).or_default();
        match out {
            FeedOutput::Depth(row) => {
                // The NDJSON line as written, read back by a file's user.
                let mut line = format!(
                    r#"{{"exchange":"binance","symbol":"{symbol}","channel":"depth","recv_ns":{_recv_ns}"#
                );
                let mut fields = Vec::new();
                row.write_ndjson(&mut fields);
                line.push_str(std::str::from_utf8(&fields).unwrap());
                line.push('}');
                w.lines += 1;
                w.from_file.apply_line(w.lines, &line).unwrap();
                let (bids, asks) = (changes(&row.bids), changes(&row.asks));
                if row.is_snapshot {
                    w.snapshots += 1;
                    w.rebuilt.replace(&bids, &asks);
                } else {
                    w.events += 1;
                    bids.iter().for_each(|c| w.rebuilt.apply(Side::Bid, c));
                    asks.iter().for_each(|c| w.rebuilt.apply(Side::Ask, c));
                }
                w.last_update_id = row.update_id;
            }
            FeedOutput::Book(line) => w.book_rows.push(line),
            FeedOutput::Gap(reason) => w.gaps.push(reason.as_str()),
        }
    };
    // Until every symbol's rows reach the server's last event (a futures snapshot names an
    // id past it when the server has stopped).
    let caught_up = || {
        let all = written.borrow();
        symbols.iter().all(|s| {
            all.get(*s)
                .is_some_and(|w| w.last_update_id >= last_ids[*s])
        })
    };
    let run = async {
        while !caught_up() {
            tokio::select! {
                frame = ws.next() => {
                    let Some(Ok(Message::Text(text))) = frame else { panic!("stream ended") };
                    let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                    let (symbol, event) =
                        binance_depth::depth_event(&frame["data"].to_string(), crate::clock::now_ns()).unwrap();
                    feeds.on_event(&symbol, event, &mut sink);
                }
                () = feeds.next_snapshot(&mut sink) => {}
            }
        }
    };
    tokio::time::timeout(DEADLINE, run)
        .await
        .expect("the rows caught up with the server");
    assert_eq!(feeds.fetching(), 0);
    drop(ws);
    server.shutdown().await.unwrap();
    rest.shutdown().await;
    written.into_inner()
}

fn feed(futures: bool) -> DepthFeed {
    DepthFeed {
        futures,
        levels: 300,
        interval: Duration::from_millis(1),
        max_events: Some(1200),
        ..DepthFeed::default()
    }
}

/// The `depth` rows rebuild the server's whole book; every `book` row (interval 0) is the
/// server's book at its update id, level for level and text for text.
fn check(feed: &DepthFeed, symbol: &str, w: &Written) {
    let server = feed.book_after(symbol, feed.max_events.unwrap());
    let (bids, asks) = server.levels(usize::MAX);
    let texts = |it: &mut dyn Iterator<Item = &crate::book::Level>| -> Vec<(String, String)> {
        it.map(|l| (l.price.to_string(), l.qty.to_string()))
            .collect()
    };
    assert_eq!(texts(&mut w.rebuilt.bids()), bids, "{symbol}: rebuilt bids");
    assert_eq!(texts(&mut w.rebuilt.asks()), asks, "{symbol}: rebuilt asks");
    let (by_last, by_snapshot) = server_states(feed, symbol);
    assert_eq!(w.book_rows.len() as u64, w.snapshots + w.events);
    for line in &w.book_rows {
        let top = top_of_line(line);
        assert!(
            by_last.get(&line.update_id) == Some(&top)
                || by_snapshot.get(&line.update_id) == Some(&top),
            "{symbol}: book row at {} differs from the server's",
            line.update_id
        );
    }
    assert_eq!(top_of_book(&w.rebuilt), by_last[&server.last_id()]);
    let from_file = w.from_file.get("binance", symbol).unwrap();
    assert_eq!(
        from_file.book, w.rebuilt,
        "{symbol}: the NDJSON lines rebuild the same book"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spot_rows_rebuild_the_servers_book() {
    let feed = feed(false);
    let written = record(feed.clone(), &["BTCUSDT", "ETHUSDT"]).await;
    for (symbol, w) in &written {
        check(&feed, symbol, w);
        assert_eq!(w.snapshots, 1, "{symbol}");
        assert!(w.gaps.is_empty(), "{symbol}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_rows_rebuild_the_servers_book() {
    let feed = feed(true);
    let written = record(feed.clone(), &["BTCUSDT"]).await;
    check(&feed, "BTCUSDT", &written["BTCUSDT"]);
}

/// Gaps forced on ETHUSDT only: each one it meets is one gap record and one new snapshot
/// row, BTCUSDT is never re-synced, and both end right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_gaps_resync_only_their_symbol() {
    let feed = DepthFeed {
        gap_every: Some(300),
        gap_symbol: Some("ETHUSDT".to_owned()),
        // Not a multiple of 300: the last event is not withheld, so the end is seen.
        max_events: Some(1100),
        // Slow enough that the client keeps up: a withheld event older than a snapshot is
        // covered by it and is no gap.
        interval: Duration::from_millis(3),
        ..feed(false)
    };
    let written = record(feed.clone(), &["BTCUSDT", "ETHUSDT"]).await;
    let (btc, eth) = (&written["BTCUSDT"], &written["ETHUSDT"]);
    check(&feed, "BTCUSDT", btc);
    check(&feed, "ETHUSDT", eth);
    assert_eq!((btc.snapshots, btc.gaps.len()), (1, 0));
    assert!(
        !eth.gaps.is_empty() && eth.gaps.len() <= 3,
        "{:?}",
        eth.gaps
    );
    assert!(eth.gaps.iter().all(|g| *g == "sequence"));
    assert_eq!(eth.snapshots, eth.gaps.len() as u64 + 1);
}
