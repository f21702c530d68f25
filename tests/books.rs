//! Order books end to end (issue 10): the real binary records `depth` and `book` from the
//! replay server's generated books (spot and USD-M futures rules) and their REST
//! snapshots, and the files are checked against the server's own books: rebuilt from the
//! `depth` rows, every `book` row at its update id, forced gaps, snapshot faults, and a
//! stop in the middle of a sync.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use foxtrot::book::rebuild::Rebuilder;
use foxtrot::replay::{
    Behavior, DepthFeed, DepthMarkets, Library, ReplayConfig, RestFaults, RestServer, RunningRest,
    RunningServer,
};
use serde_json::Value;

use crate::util::{self, PATIENCE};

/// Levels of each side of the `book` rows compared.
const LEVELS: usize = 10;

/// A generated feed small and fast enough for CI: 300 levels a side (the 1000-level
/// snapshot covers them all), an event per symbol every 2 ms.
fn feed(futures: bool, events: u64) -> DepthFeed {
    DepthFeed {
        futures,
        levels: 300,
        interval: Duration::from_millis(2),
        max_events: Some(events),
        ..DepthFeed::default()
    }
}

/// The replay server in depth mode and its REST endpoint, on fresh ports.
async fn servers(feed: &DepthFeed) -> (RunningServer, RunningRest) {
    servers_behaving(feed, Behavior::default()).await
}

/// [`servers`], the replay server's `behavior` (faults) as given.
async fn servers_behaving(feed: &DepthFeed, behavior: Behavior) -> (RunningServer, RunningRest) {
    let markets = Arc::new(DepthMarkets::new(feed.clone()));
    let config = ReplayConfig {
        library: Arc::new(Library::from_lines(std::iter::empty()).unwrap()),
        behavior: Behavior {
            depth: Some(Arc::clone(&markets)),
            ..behavior
        },
    };
    let server = util::start_replay(config).await;
    let rest = RestServer::bind("127.0.0.1:0".parse().unwrap(), markets)
        .await
        .unwrap()
        .spawn();
    (server, rest)
}

/// The arguments of a `record` run against the servers.
fn record_args(
    server: &RunningServer,
    rest: &RunningRest,
    venue: &str,
    symbols: &[&str],
    out: &Path,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = ["record", "--venue", venue]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(symbols.iter().map(|s| s.to_string()));
    for arg in [
        "--channel",
        "depth",
        "--channel",
        "book",
        "--book-levels",
        &LEVELS.to_string(),
        "--book-interval",
        "0",
        "--endpoint",
        server.url(),
        "--rest-endpoint",
        rest.url(),
        "--out",
        out.to_str().unwrap(),
    ] {
        args.push(arg.to_owned());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The last `depth` update id written per symbol, and whether every line is whole.
fn last_ids(text: &str) -> HashMap<String, u64> {
    let mut ids = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["channel"] == "depth" && v["type"] != "gap" {
            ids.insert(
                v["symbol"].as_str().unwrap().to_owned(),
                v["update_id"].as_u64().unwrap(),
            );
        }
    }
    ids
}

/// Records until every symbol's `depth` rows reach the server's last event, then stops
/// the binary with SIGINT; returns the file's text and stderr.
async fn record_until_caught_up(
    feed: &DepthFeed,
    venue: &str,
    symbols: &[&str],
    extra: &[&str],
) -> (String, String) {
    let (server, rest) = servers(feed).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("depth.ndjson");
    let args = record_args(&server, &rest, venue, symbols, &out, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let max = feed.max_events.unwrap();
    let want: HashMap<&str, u64> = symbols
        .iter()
        .map(|s| (*s, feed.book_after(s, max).last_id()))
        .collect();
    let done = run_until_caught_up(&args, &out, &want).await;
    server.shutdown().await.unwrap();
    rest.shutdown().await;
    (std::fs::read_to_string(&out).unwrap(), done.stderr)
}

/// `price:qty` texts of the best `LEVELS` a side, bids then asks.
type Top = Vec<String>;

/// Runs foxtrot with `args` until every symbol's `depth` rows in `out` reach its update id
/// in `want`, then stops it with SIGINT; checks that it caught up and exited 0.
async fn run_until_caught_up(
    args: &[&str],
    out: &Path,
    want: &HashMap<&str, u64>,
) -> util::Finished {
    let child = util::foxtrot(args).spawn().unwrap();
    // Generous: 90 s for a few thousand events on a loaded 2-core machine.
    let caught_up = tokio::time::timeout(PATIENCE * 3, async {
        loop {
            let text = std::fs::read_to_string(out).unwrap_or_default();
            let ids = last_ids(&text);
            if want
                .iter()
                .all(|(s, id)| ids.get(*s).is_some_and(|got| got >= id))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    util::signal(&child, "INT");
    let done = util::finish(child).await;
    done.assert_no_panic();
    assert!(
        caught_up.is_ok(),
        "the rows never caught up: {}",
        done.stderr
    );
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    done
}

fn top(bids: &[(String, String)], asks: &[(String, String)]) -> Top {
    bids.iter()
        .take(LEVELS)
        .chain(asks.iter().take(LEVELS))
        .map(|(p, q)| format!("{p}:{q}"))
        .collect()
}

fn top_of_row(row: &Value) -> Top {
    let side = |k: &str| -> Vec<(String, String)> {
        row[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l[0].as_str().unwrap().into(), l[1].as_str().unwrap().into()))
            .collect()
    };
    top(&side("bids"), &side("asks"))
}

/// The server's book of `symbol` at every update id: by the last event's `u`, and by the
/// `lastUpdateId` a snapshot of that state carries.
fn server_states(feed: &DepthFeed, symbol: &str) -> HashMap<u64, Top> {
    let mut generator = feed.book_after(symbol, 0);
    let mut states = HashMap::new();
    for i in 0..=feed.max_events.unwrap() {
        if i > 0 {
            generator.next_event();
        }
        let (bids, asks) = generator.levels(LEVELS);
        states.insert(generator.last_id(), top(&bids, &asks));
        states
            .entry(generator.snapshot_id())
            .or_insert_with(|| top(&bids, &asks));
    }
    states
}

/// What the file says about one symbol.
#[derive(Debug, Default)]
struct Seen {
    snapshots: u64,
    gaps: Vec<(String, String)>,
    book_rows: u64,
}

/// Checks the file against the server: it rebuilds each symbol's whole book, every
/// `book` row is the server's book at its update id, and every line is whole.
fn check(feed: &DepthFeed, symbols: &[&str], text: &str) -> HashMap<String, Seen> {
    let mut rebuilder = Rebuilder::new();
    rebuilder
        .apply_text(text)
        .unwrap_or_else(|e| panic!("the file does not rebuild: {e}"));
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let states: HashMap<&str, HashMap<u64, Top>> = symbols
        .iter()
        .map(|s| (*s, server_states(feed, s)))
        .collect();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let symbol = v["symbol"].as_str().unwrap().to_owned();
        let s = seen.entry(symbol.clone()).or_default();
        if v["type"] == "gap" {
            s.gaps.push((
                v["channel"].as_str().unwrap().into(),
                v["reason"].as_str().unwrap().into(),
            ));
            continue;
        }
        match v["channel"].as_str().unwrap() {
            "depth" if v["is_snapshot"] == true => s.snapshots += 1,
            "book" => {
                s.book_rows += 1;
                let id = v["update_id"].as_u64().unwrap();
                assert_eq!(
                    states[symbol.as_str()].get(&id),
                    Some(&top_of_row(&v)),
                    "{symbol}: the book row at {id} is not the server's book"
                );
            }
            _ => {}
        }
    }
    let venue = if feed.futures {
        "binance-futures"
    } else {
        "binance"
    };
    for symbol in symbols {
        let server = feed.book_after(symbol, feed.max_events.unwrap());
        let (bids, asks) = server.levels(usize::MAX);
        let rebuilt = rebuilder.get(venue, symbol).expect("rows of every symbol");
        let texts = |it: &mut dyn Iterator<Item = &foxtrot::book::Level>| -> Vec<(String, String)> {
            it.map(|l| (l.price.to_string(), l.qty.to_string()))
                .collect()
        };
        assert_eq!(texts(&mut rebuilt.book.bids()), bids, "{symbol}: bids");
        assert_eq!(texts(&mut rebuilt.book.asks()), asks, "{symbol}: asks");
        assert!(seen[*symbol].book_rows > 0, "{symbol}: no book rows");
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spot_depth_of_two_symbols_rebuilds_the_servers_books() {
    let feed = feed(false, 1500);
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let (text, _) = record_until_caught_up(&feed, "binance", &symbols, &[]).await;
    let seen = check(&feed, &symbols, &text);
    for symbol in symbols {
        assert_eq!(seen[symbol].snapshots, 1, "{symbol}: {:?}", seen[symbol]);
        assert!(seen[symbol].gaps.is_empty(), "{symbol}: {:?}", seen[symbol]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_depth_of_two_symbols_rebuilds_the_servers_books() {
    let feed = feed(true, 1500);
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let (text, _) = record_until_caught_up(&feed, "binance-futures", &symbols, &[]).await;
    let seen = check(&feed, &symbols, &text);
    for symbol in symbols {
        assert_eq!(seen[symbol].snapshots, 1, "{symbol}: {:?}", seen[symbol]);
        assert!(seen[symbol].gaps.is_empty(), "{symbol}: {:?}", seen[symbol]);
    }
    assert!(
        text.contains("\"prev_update_id\":"),
        "futures rows carry pu"
    );
}

/// Each forced gap on ETHUSDT is one gap record per stream (depth, book), reason
/// `sequence`, and one new snapshot event; BTCUSDT is never re-synced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_gaps_resync_only_their_symbol() {
    let feed = DepthFeed {
        gap_every: Some(300),
        gap_symbol: Some("ETHUSDT".to_owned()),
        // Not a multiple of 300: the last event is not withheld, so the end is seen.
        max_events: Some(1100),
        // Slow enough that the client keeps up: a withheld event older than a snapshot
        // is covered by it and is no gap.
        interval: Duration::from_millis(4),
        ..feed(false, 0)
    };
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let stats_dir = tempfile::tempdir().unwrap();
    let stats_file = stats_dir.path().join("stats.ndjson");
    let extra = [
        "--stats-interval",
        "1h",
        "--stats-file",
        stats_file.to_str().unwrap(),
    ];
    let (text, stderr) = record_until_caught_up(&feed, "binance", &symbols, &extra).await;
    let seen = check(&feed, &symbols, &text);
    let (btc, eth) = (&seen["BTCUSDT"], &seen["ETHUSDT"]);
    assert_eq!((btc.snapshots, btc.gaps.len()), (1, 0), "{btc:?}");
    let depth_gaps = eth.gaps.iter().filter(|(c, _)| c == "depth").count() as u64;
    let book_gaps = eth.gaps.iter().filter(|(c, _)| c == "book").count() as u64;
    assert!((1..=3).contains(&depth_gaps), "{eth:?}");
    assert_eq!(book_gaps, depth_gaps, "one gap record per stream: {eth:?}");
    assert!(eth.gaps.iter().all(|(_, r)| r == "sequence"), "{eth:?}");
    assert_eq!(eth.snapshots, depth_gaps + 1, "{eth:?}");

    // Each re-sync is counted: in the summary, and in the final stats object per exchange
    // and on each stream of the symbol, as many as the gap records of reason `sequence`.
    assert_eq!(
        util::summary_count(&stderr, "resyncs"),
        depth_gaps,
        "{stderr}"
    );
    let stats = std::fs::read_to_string(&stats_file).unwrap();
    let last = util::parse_ndjson(&stats)
        .pop()
        .expect("a final stats object");
    assert_eq!(last["final"], true);
    assert_eq!(last["resyncs"], depth_gaps, "{last}");
    assert_eq!(last["resyncs_by_exchange"]["binance"], depth_gaps, "{last}");
    for stream in last["streams"].as_array().unwrap() {
        let want = if stream["symbol"] == "ETHUSDT" {
            depth_gaps
        } else {
            0
        };
        assert_eq!(stream["resyncs"], want, "{stream}");
    }
}

/// A 429 with Retry-After, then a stale `lastUpdateId` per symbol: retried as the venue
/// asks (after the pause the weight budget refills from empty: about a second per
/// snapshot), no gap, one snapshot each, and the books end right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_and_stale_snapshots_are_retried() {
    let feed = DepthFeed {
        rest: RestFaults {
            too_many_first: 1,
            retry_after_secs: 1,
            stale_first: 1,
            ..RestFaults::default()
        },
        // 1000 events (the buffer bound) take 10 s: time for the retries.
        interval: Duration::from_millis(10),
        ..feed(false, 1500)
    };
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let (text, stderr) = record_until_caught_up(&feed, "binance", &symbols, &["-v"]).await;
    let seen = check(&feed, &symbols, &text);
    for symbol in symbols {
        assert_eq!(seen[symbol].snapshots, 1, "{symbol}: {:?}", seen[symbol]);
        assert!(seen[symbol].gaps.is_empty(), "{symbol}: {:?}", seen[symbol]);
    }
    assert!(stderr.contains("429"), "the 429 is logged: {stderr}");
}

/// A snapshot later than the buffer bound (1000 events): the buffer overflows into one
/// gap record per stream (`buffer_overflow`), memory stays bounded, and the symbol
/// syncs on the next snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_snapshot_overflows_the_buffer_then_syncs() {
    let feed = DepthFeed {
        interval: Duration::from_millis(1),
        rest: RestFaults {
            delay: Some(Duration::from_secs(3)),
            delay_first: 1,
            ..RestFaults::default()
        },
        ..feed(false, 3000)
    };
    let symbols = ["BTCUSDT"];
    let (text, _) = record_until_caught_up(&feed, "binance", &symbols, &[]).await;
    let seen = check(&feed, &symbols, &text);
    let btc = &seen["BTCUSDT"];
    assert!(
        btc.gaps
            .iter()
            .any(|(c, r)| c == "depth" && r == "buffer_overflow"),
        "{btc:?}"
    );
    assert!(btc.snapshots >= 1, "{btc:?}");
}

/// SIGINT while books are being re-synced (every snapshot late, ETHUSDT losing events):
/// exit 0, every line whole, and the file rebuilds each book as the server had it at
/// the file's last update id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_sync_leaves_a_file_that_rebuilds() {
    let feed = DepthFeed {
        gap_every: Some(150),
        gap_symbol: Some("ETHUSDT".to_owned()),
        interval: Duration::from_millis(3),
        rest: RestFaults {
            delay: Some(Duration::from_millis(700)),
            ..RestFaults::default()
        },
        ..feed(false, 100_000)
    };
    let (server, rest) = servers(&feed).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("depth.ndjson");
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let args = record_args(&server, &rest, "binance", &symbols, &out, &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = util::foxtrot(&args).spawn().unwrap();
    // Until ETHUSDT has re-synced once (a gap, then a second snapshot): a sync is then
    // under way every few hundred ms.
    tokio::time::timeout(PATIENCE * 2, async {
        loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            let eth_snapshots = text
                .lines()
                .filter(|l| {
                    l.contains("\"symbol\":\"ETHUSDT\"") && l.contains("\"is_snapshot\":true")
                })
                .count();
            if eth_snapshots >= 2 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("ETHUSDT re-synced");
    util::signal(&child, "INT");
    let done = util::finish(child).await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    server.shutdown().await.unwrap();
    rest.shutdown().await;
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'), "the last line is whole");
    let mut rebuilder = Rebuilder::new();
    rebuilder.apply_text(&text).expect("the file rebuilds");
    for symbol in symbols {
        let rebuilt = rebuilder.get("binance", symbol).unwrap();
        assert_is_servers_book(&feed, symbol, rebuilt, "the file");
    }
}

/// Unless `rebuilt` ends broken (a gap and no snapshot since) or on a snapshot taken
/// between two events, it is the server's whole book at its last update id. Returns
/// whether it was compared.
fn assert_is_servers_book(
    feed: &DepthFeed,
    symbol: &str,
    rebuilt: &foxtrot::book::rebuild::Rebuilt,
    what: &str,
) -> bool {
    if rebuilt.broken() {
        return false;
    }
    let mut generator = feed.book_after(symbol, 0);
    while generator.last_id() < rebuilt.update_id {
        generator.next_event();
    }
    if generator.last_id() != rebuilt.update_id {
        return false;
    }
    let (bids, asks) = generator.levels(usize::MAX);
    let texts = |it: &mut dyn Iterator<Item = &foxtrot::book::Level>| -> Vec<(String, String)> {
        it.map(|l| (l.price.to_string(), l.qty.to_string()))
            .collect()
    };
    assert_eq!(
        texts(&mut rebuilt.book.bids()),
        bids,
        "{what}: {symbol} bids"
    );
    assert_eq!(
        texts(&mut rebuilt.book.asks()),
        asks,
        "{what}: {symbol} asks"
    );
    true
}

mod dropped;
mod outputs;
