//! Books the venue pushes (issues 10 and 11), end to end: the real binary records OKX
//! `books` and Bybit `orderbook.50` from the replay server's dialects, serving the real
//! captures in `tests/data/{okx,bybit}/` (see their PROVENANCE.md). The `depth` rows
//! rebuild books whose OKX checksums match the venue's; a corrupted level is one gap
//! record per stream and a new subscription; Bybit's mid-stream snapshot replaces the book.

use std::collections::HashMap;
use std::path::Path;

use foxtrot::book::rebuild::Rebuilder;
use foxtrot::book::{Book, Change, Side, checksum};
use foxtrot::replay::{Behavior, BookFault, BookGenerator, GenConfig, Library, ReplayConfig};
use serde_json::Value;

use crate::util;

fn data(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn lines(rel: &str) -> Vec<Value> {
    std::fs::read_to_string(data(rel))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `record` of `symbols` of `venue` (`depth`, and `book` after every update, 5 levels)
/// from the server at `url` into `out`.
fn record_args<'a>(
    venue: &'a str,
    symbols: &[&'a str],
    url: &'a str,
    out: &'a Path,
) -> Vec<&'a str> {
    let mut args = vec!["record", "--venue", venue];
    args.extend(symbols);
    args.extend([
        "--channel",
        "depth",
        "--channel",
        "book",
        "--book-interval",
        "0",
        "--book-levels",
        "5",
        "--endpoint",
        url,
        "--out",
        out.to_str().unwrap(),
    ]);
    args
}

/// Records `symbols` of `venue` (`depth` and `book` after every update) from `files` and
/// returns the NDJSON file's text and stderr.
async fn record(
    files: &[std::path::PathBuf],
    venue: &str,
    symbols: &[&str],
    stop: &[&str],
) -> (String, String) {
    let server = util::start_replay(ReplayConfig::new(Library::load(files).unwrap())).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("depth.ndjson");
    let mut args = record_args(venue, symbols, server.url(), &out);
    args.extend(stop);
    let done = util::run(&args).await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    server.shutdown().await.unwrap();
    (std::fs::read_to_string(&out).unwrap(), done.stderr)
}

fn rows(text: &str) -> Vec<Value> {
    util::parse_ndjson(text)
}

/// Every captured OKX `books` frame of three instruments becomes one `depth` row and one
/// `book` row; the rebuilt books' CRC32 checksums are the ones OKX sent last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_books_rebuild_with_the_venues_checksums() {
    let frames = lines("okx/books.jsonl");
    let (text, _) = record(
        &[data("okx/books.jsonl")],
        "okx",
        &["BTC-USDT", "UNI-USD-SWAP", "BTC-USD-220527"],
        &["--limit", &(2 * frames.len()).to_string()],
    )
    .await;
    let rows = rows(&text);
    assert!(rows.iter().all(|r| r["type"] != "gap"), "no gap");
    let depth = rows.iter().filter(|r| r["channel"] == "depth").count();
    assert_eq!(depth, frames.len(), "one depth row per frame");
    let mut rebuilder = Rebuilder::new();
    rebuilder.apply_text(&text).unwrap();
    let mut last: HashMap<String, i64> = HashMap::new();
    for frame in &frames {
        let inst = frame["arg"]["instId"].as_str().unwrap().to_owned();
        last.insert(inst, frame["data"][0]["checksum"].as_i64().unwrap());
    }
    for (inst, want) in last {
        let rebuilt = rebuilder.get("okx", &inst).unwrap();
        assert_eq!(i64::from(checksum::okx(&rebuilt.book)), want, "{inst}");
        assert_eq!(rebuilt.snapshots, 1, "{inst}");
    }
}

/// One corrupted level in a BTC-USDT update: its checksum fails, one gap record per
/// stream (`depth`, `book`, reason `checksum`) for BTC-USDT only, foxtrot subscribes
/// again for a new snapshot, and the file still rebuilds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_checksum_mismatch_resubscribes_that_instrument() {
    let frames = lines("okx/books.jsonl");
    // The fifth BTC-USDT update.
    let at = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| f["arg"]["instId"] == "BTC-USDT" && f["action"] == "update")
        .nth(4)
        .unwrap()
        .0;
    let dir = tempfile::tempdir().unwrap();
    let tampered = dir.path().join("books.jsonl");
    // The raw lines, edited as text (the replay server serves them as written).
    let mut raw: Vec<String> = std::fs::read_to_string(data("okx/books.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let frame = &frames[at];
    assert_eq!(frame["arg"]["instId"], "BTC-USDT");
    let side = if frame["data"][0]["asks"].as_array().unwrap().is_empty() {
        "bids"
    } else {
        "asks"
    };
    let level = &frame["data"][0][side][0];
    let (price, qty) = (level[0].as_str().unwrap(), level[1].as_str().unwrap());
    let from = format!(r#"["{price}","{qty}""#);
    assert!(raw[at].contains(&from));
    raw[at] = raw[at].replacen(&from, &format!(r#"["{price}","{qty}1""#), 1);
    let text: String = raw.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&tampered, text).unwrap();
    let (text, stderr) = record(
        &[tampered],
        "okx",
        &["BTC-USDT", "UNI-USD-SWAP"],
        &["--duration", "3s"],
    )
    .await;
    let rows = rows(&text);
    let gaps: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| r["type"] == "gap")
        .map(|r| {
            (
                r["symbol"].as_str().unwrap(),
                r["channel"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        gaps,
        [
            ("BTC-USDT", "depth", "checksum"),
            ("BTC-USDT", "book", "checksum")
        ]
    );
    assert!(
        stderr.contains("the BTC-USDT book broke; subscribing again"),
        "{stderr}"
    );
    let mut rebuilder = Rebuilder::new();
    rebuilder
        .apply_text(&rows_text(&rows))
        .expect("the file rebuilds");
    // UNI-USD-SWAP never broke: every one of its frames is a row.
    let uni = frames
        .iter()
        .filter(|f| f["arg"]["instId"] == "UNI-USD-SWAP")
        .count();
    let uni_rows = rows
        .iter()
        .filter(|r| r["symbol"] == "UNI-USD-SWAP" && r["channel"] == "depth")
        .count();
    assert_eq!(uni_rows, uni);
}

fn rows_text(rows: &[Value]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

fn changes(levels: &Value) -> Vec<Change> {
    levels
        .as_array()
        .unwrap()
        .iter()
        .map(|l| Change::parse(l[0].as_str().unwrap(), l[1].as_str().unwrap()).unwrap())
        .collect()
}

/// Bybit spot `orderbook.50`: a snapshot and a delta, then a new snapshot mid-stream and
/// its delta. The new snapshot replaces the book and is written as a snapshot event; the
/// file rebuilds the book the last two messages make.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_mid_stream_snapshot_replaces_the_book() {
    let frames = lines("bybit/spot_orderbook_50.jsonl");
    let (text, _) = record(
        &[data("bybit/spot_orderbook_50.jsonl")],
        "bybit",
        &["BTCUSDT"],
        &["--limit", &(2 * frames.len()).to_string()],
    )
    .await;
    let rows = rows(&text);
    let depth: Vec<&Value> = rows.iter().filter(|r| r["channel"] == "depth").collect();
    let kinds: Vec<bool> = depth.iter().map(|r| r["is_snapshot"] == true).collect();
    let want: Vec<bool> = frames.iter().map(|f| f["type"] == "snapshot").collect();
    assert_eq!(kinds, want);
    assert!(
        kinds.iter().filter(|k| **k).count() >= 2,
        "a mid-stream snapshot"
    );
    for (row, frame) in depth.iter().zip(&frames) {
        assert_eq!(row["update_id"], frame["data"]["u"]);
    }
    // The book by hand: the last snapshot, then what follows it.
    let from = frames
        .iter()
        .rposition(|f| f["type"] == "snapshot")
        .unwrap();
    let mut book = Book::new();
    book.replace(
        &changes(&frames[from]["data"]["b"]),
        &changes(&frames[from]["data"]["a"]),
    );
    for frame in &frames[from + 1..] {
        changes(&frame["data"]["b"])
            .iter()
            .for_each(|c| book.apply(Side::Bid, c));
        changes(&frame["data"]["a"])
            .iter()
            .for_each(|c| book.apply(Side::Ask, c));
    }
    let mut rebuilder = Rebuilder::new();
    rebuilder.apply_text(&text).unwrap();
    assert_eq!(rebuilder.get("bybit", "BTCUSDT").unwrap().book, book);
    assert!(rows.iter().all(|r| r["type"] != "gap"));
}

/// Records `symbols` of `venue` (`depth` and `book`) from a replay server with `behavior`
/// over `library` until the NDJSON file satisfies `done`, then stops foxtrot with SIGINT;
/// returns the file's text and stderr. The run keeps a raw capture too, and `convert` of
/// it gives the file's text line for line (the re-syncs' gap records and fresh snapshots
/// included).
async fn record_until(
    library: Library,
    behavior: Behavior,
    venue: &str,
    symbols: &[&str],
    done: impl Fn(&str) -> bool,
) -> (String, String) {
    let server = util::start_replay(ReplayConfig {
        library: std::sync::Arc::new(library),
        behavior,
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("depth.ndjson");
    let raw = dir.path().join("raw.jsonl.gz");
    let mut args = record_args(venue, symbols, server.url(), &out);
    args.extend(["--raw", raw.to_str().unwrap()]);
    let child = util::foxtrot(&args).spawn().unwrap();
    let reached = tokio::time::timeout(util::PATIENCE * 2, async {
        loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            // Whole lines only: the sink writes whole lines, but a read may race a write.
            let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
            if done(whole) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    util::signal(&child, "INT");
    let finished = util::finish(child).await;
    finished.assert_no_panic();
    assert!(reached.is_ok(), "never done: {}", finished.stderr);
    assert_eq!(finished.code, Some(0), "{}", finished.stderr);
    server.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let converted = dir.path().join("converted.ndjson");
    let done = util::convert(
        &raw,
        &converted,
        &["--book-interval", "0", "--book-levels", "5"],
    )
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        std::fs::read_to_string(&converted).unwrap(),
        text,
        "{venue}: convert of the raw capture equals the run"
    );
    (text, finished.stderr)
}

/// Gap records as `(symbol, channel, reason)`.
fn gaps(rows: &[Value]) -> Vec<(String, String, String)> {
    rows.iter()
        .filter(|r| r["type"] == "gap")
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_owned();
            (s("symbol"), s("channel"), s("reason"))
        })
        .collect()
}

/// `depth` snapshot rows of `symbol`.
fn snapshots(rows: &[Value], symbol: &str) -> usize {
    rows.iter()
        .filter(|r| r["symbol"] == symbol && r["channel"] == "depth" && r["is_snapshot"] == true)
        .count()
}

/// OKX, served at a venue-like pace: the server spoils the fifth BTC-USDT update on the
/// wire (its best level at a wrong size). foxtrot writes one gap record per stream
/// (`checksum`), subscribes BTC-USDT again, the server answers with a fresh snapshot of
/// its book, every later update's checksum matches again, and the file's BTC-USDT book
/// ends on OKX's last checksum. UNI-USD-SWAP is never touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okx_corruption_resubscribes_and_the_fresh_snapshot_makes_the_book_right() {
    let frames = lines("okx/books.jsonl");
    let last_checksum = |inst: &str| {
        frames
            .iter()
            .rfind(|f| f["arg"]["instId"] == inst)
            .map(|f| f["data"][0]["checksum"].as_i64().unwrap())
            .unwrap()
    };
    let (btc_last, uni_last) = (last_checksum("BTC-USDT"), last_checksum("UNI-USD-SWAP"));
    let uni_frames = frames
        .iter()
        .filter(|f| f["arg"]["instId"] == "UNI-USD-SWAP")
        .count();
    let behavior = Behavior {
        // 290 frames in about 1.5 s: the re-subscription lands mid-recording.
        rate: 200,
        book_fault: Some(BookFault {
            stream: "books:BTC-USDT".into(),
            update: 5,
        }),
        ..Behavior::default()
    };
    let rebuilt_checksum = |text: &str, inst: &str| -> Option<i64> {
        let mut rebuilder = Rebuilder::new();
        rebuilder.apply_text(text).ok()?;
        let rebuilt = rebuilder.get("okx", inst)?;
        (!rebuilt.broken()).then(|| i64::from(checksum::okx(&rebuilt.book)))
    };
    let (text, stderr) = record_until(
        Library::load(&[data("okx/books.jsonl")]).unwrap(),
        behavior,
        "okx",
        &["BTC-USDT", "UNI-USD-SWAP"],
        |text| {
            rebuilt_checksum(text, "BTC-USDT") == Some(btc_last)
                && rebuilt_checksum(text, "UNI-USD-SWAP") == Some(uni_last)
        },
    )
    .await;
    let rows = rows(&text);
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        gaps(&rows),
        [
            s("BTC-USDT", "depth", "checksum"),
            s("BTC-USDT", "book", "checksum")
        ],
        "{stderr}"
    );
    assert!(stderr.contains("the BTC-USDT book broke; subscribing again"));
    // The recording's snapshot, then the fresh one after the gap.
    assert_eq!(snapshots(&rows, "BTC-USDT"), 2);
    let gap_at = rows.iter().position(|r| r["type"] == "gap").unwrap();
    let fresh = rows[gap_at..]
        .iter()
        .position(|r| r["symbol"] == "BTC-USDT" && r["channel"] == "depth" && r["type"] != "gap")
        .map(|i| &rows[gap_at + i])
        .unwrap();
    assert_eq!(fresh["is_snapshot"], true, "the next BTC-USDT row: {fresh}");
    // Updates applied after it: checked against OKX's checksums, and none failed.
    let after = rows[gap_at..]
        .iter()
        .filter(|r| r["symbol"] == "BTC-USDT" && r["channel"] == "depth" && r["type"] != "gap")
        .count();
    assert!(after > 10, "{after} BTC-USDT rows after the re-sync");
    assert_eq!(snapshots(&rows, "UNI-USD-SWAP"), 1);
    let uni_rows = rows
        .iter()
        .filter(|r| r["symbol"] == "UNI-USD-SWAP" && r["channel"] == "depth")
        .count();
    assert_eq!(uni_rows, uni_frames);
}

/// A Bybit `orderbook.50` recording generated from a consistent book: a snapshot with
/// `u` = 1, then `deltas` deltas raising `u` by one.
fn bybit_book_lines(symbol: &str, seed: u64, deltas: u64) -> (Vec<String>, BookGenerator) {
    let mut generator = BookGenerator::new(GenConfig {
        levels: 50,
        start_id: 0,
        ..GenConfig::spot(seed)
    });
    let topic = format!("orderbook.50.{symbol}");
    let json = |v: &Value| serde_json::to_string(v).unwrap();
    let as_json = |levels: &[(String, String)]| -> Value {
        levels
            .iter()
            .map(|(p, q)| serde_json::json!([p, q]))
            .collect()
    };
    let (bids, asks) = generator.levels(usize::MAX);
    let mut lines = vec![format!(
        r#"{{"topic":"{topic}","ts":1000,"type":"snapshot","data":{{"s":"{symbol}","b":{},"a":{},"u":1,"seq":100}},"cts":999}}"#,
        json(&as_json(&bids)),
        json(&as_json(&asks))
    )];
    for u in 2..deltas + 2 {
        let event = generator.next_event();
        let mut binance = String::new();
        generator.write_event(&event, symbol, 0, &mut binance);
        let binance: Value = serde_json::from_str(&binance).unwrap();
        lines.push(format!(
            r#"{{"topic":"{topic}","ts":{},"type":"delta","data":{{"s":"{symbol}","b":{},"a":{},"u":{u},"seq":{}}},"cts":{}}}"#,
            1000 + u,
            json(&binance["b"]),
            json(&binance["a"]),
            100 + u,
            999 + u
        ));
    }
    (lines, generator)
}

/// Bybit: the server withholds BTCUSDT's 20th delta, so the next `u` jumps. foxtrot writes
/// one gap record per stream (`sequence`), subscribes again, the server's fresh snapshot
/// (its book where the recording is, with that `u`) rebuilds the book, later deltas chain
/// on it, and the file's book ends as the generator's. ETHUSDT is never touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_lost_delta_resubscribes_and_the_fresh_snapshot_makes_the_book_right() {
    const DELTAS: u64 = 200;
    let (btc, btc_book) = bybit_book_lines("BTCUSDT", 7, DELTAS);
    let (eth, eth_book) = bybit_book_lines("ETHUSDT", 8, DELTAS);
    let interleaved: Vec<&str> = btc
        .iter()
        .zip(&eth)
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    let behavior = Behavior {
        rate: 200,
        book_fault: Some(BookFault {
            stream: "orderbook.50.BTCUSDT".into(),
            update: 20,
        }),
        ..Behavior::default()
    };
    let last_u = DELTAS + 1;
    let (text, stderr) = record_until(
        Library::from_lines(interleaved).unwrap(),
        behavior,
        "bybit",
        &["BTCUSDT", "ETHUSDT"],
        |text| {
            let mut rebuilder = Rebuilder::new();
            rebuilder.apply_text(text).is_ok()
                && ["BTCUSDT", "ETHUSDT"].iter().all(|s| {
                    rebuilder
                        .get("bybit", s)
                        .is_some_and(|r| !r.broken() && r.update_id == last_u)
                })
        },
    )
    .await;
    let rows = rows(&text);
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        gaps(&rows),
        [
            s("BTCUSDT", "depth", "sequence"),
            s("BTCUSDT", "book", "sequence")
        ],
        "{stderr}"
    );
    assert_eq!(snapshots(&rows, "BTCUSDT"), 2);
    assert_eq!(snapshots(&rows, "ETHUSDT"), 1);
    let mut rebuilder = Rebuilder::new();
    rebuilder.apply_text(&text).unwrap();
    for (symbol, generator) in [("BTCUSDT", &btc_book), ("ETHUSDT", &eth_book)] {
        let (bids, asks) = generator.levels(usize::MAX);
        let rebuilt = &rebuilder.get("bybit", symbol).unwrap().book;
        let texts = |it: &mut dyn Iterator<Item = &foxtrot::book::Level>| -> Vec<(String, String)> {
            it.map(|l| (l.price.to_string(), l.qty.to_string()))
                .collect()
        };
        assert_eq!(texts(&mut rebuilt.bids()), bids, "{symbol} bids");
        assert_eq!(texts(&mut rebuilt.asks()), asks, "{symbol} asks");
    }
    // The fresh snapshot carries the `u` of the last delta before it; deltas chain on.
    let btc_depth: Vec<&Value> = rows
        .iter()
        .filter(|r| r["symbol"] == "BTCUSDT" && r["channel"] == "depth" && r["type"] != "gap")
        .collect();
    let fresh = btc_depth
        .iter()
        .skip(1)
        .position(|r| r["is_snapshot"] == true)
        .unwrap()
        + 1;
    let fresh_u = btc_depth[fresh]["update_id"].as_u64().unwrap();
    assert!(fresh_u > 20, "{}", btc_depth[fresh]);
    assert_eq!(btc_depth[fresh + 1]["update_id"], fresh_u + 1);
}

/// Bybit books over a connection the server drops every 100 messages: each reconnect is
/// one `disconnected` gap record per stream, the books are built again from the snapshot
/// the new subscription brings, and (checked in [`record_until`]) `convert` of the raw
/// capture gives the same rows and gap records line for line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bybit_books_over_a_dropped_connection_convert_line_for_line() {
    let (btc, _) = bybit_book_lines("BTCUSDT", 7, 100);
    let (eth, _) = bybit_book_lines("ETHUSDT", 8, 100);
    let interleaved: Vec<&str> = btc
        .iter()
        .zip(&eth)
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    let behavior = Behavior {
        drop_after: Some(100),
        ..Behavior::default()
    };
    let disconnects = |text: &str| text.matches("\"reason\":\"disconnected\"").count();
    let (text, stderr) = record_until(
        Library::from_lines(interleaved).unwrap(),
        behavior,
        "bybit",
        &["BTCUSDT", "ETHUSDT"],
        |text| disconnects(text) >= 8,
    )
    .await;
    let rows = rows(&text);
    assert!(disconnects(&text) >= 8, "{stderr}");
    assert!(
        snapshots(&rows, "BTCUSDT") >= 3,
        "a snapshot per connection"
    );
    let mut rebuilder = Rebuilder::new();
    rebuilder.apply_text(&text).unwrap();
}
