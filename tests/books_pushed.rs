//! Books the venue pushes (issues 10 and 11), end to end: the real binary records OKX
//! `books` and Bybit `orderbook.50` from the replay server's dialects, serving the real
//! captures in `tests/data/{okx,bybit}/` (see their PROVENANCE.md). The `depth` rows
//! rebuild books whose OKX checksums match the venue's; a corrupted level is one gap
//! record per stream and a new subscription; Bybit's mid-stream snapshot replaces the book.

use std::collections::HashMap;

use foxtrot::book::rebuild::Rebuilder;
use foxtrot::book::{Book, Change, Side, checksum};
use foxtrot::replay::{Library, ReplayConfig};
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
        server.url(),
        "--out",
        out.to_str().unwrap(),
    ]);
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
