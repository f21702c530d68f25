//! Parquet through the real binary, read back by pyarrow (installed from PyPI into a venv
//! the test creates under the target dir, reused by later runs): the rows equal the NDJSON
//! output of the same run.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::layout::files_under;
use crate::util::*;

/// A venv with pyarrow, created once per target dir.
fn pyarrow_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pyarrow-venv");
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import pyarrow.parquet"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv: python3 is needed for this test");
        assert!(made.success(), "python3 -m venv failed");
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "pyarrow"])
            .status()
            .unwrap();
        assert!(
            pip.success(),
            "pip install pyarrow failed (PyPI must be reachable)"
        );
        assert!(ready());
    }
    python
}

const READ_BACK: &str = r#"
import decimal, json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
md = pq.ParquetFile(sys.argv[1]).metadata
print(json.dumps({"row_groups": md.num_row_groups, "compression": md.row_group(0).column(0).compression}))
plain = lambda v: format(v, "f") if isinstance(v, decimal.Decimal) else str(v)
for row in t.to_pylist():
    print(json.dumps(row, default=plain))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_files_read_back_by_pyarrow_equal_the_ndjson_of_the_run() {
    let python = pyarrow_python();
    let mut config = replay_config(&["bookTicker.jsonl", "trade.jsonl"]);
    config.behavior.looped = true;
    let server = start_replay(config).await;
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("ticks.ndjson");
    let parquet = dir.path().join("ticks-{channel}.parquet");
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--limit",
        "500",
        "--row-group-rows",
        "100",
        "-q",
        "--out",
        ndjson.to_str().unwrap(),
        "--out",
        parquet.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&std::fs::read_to_string(&ndjson).unwrap());
    let mut total = 0;
    for channel in ["bookTicker", "trade"] {
        let file = dir.path().join(format!("ticks-{channel}.parquet"));
        let (meta, rows) = read_back(&python, &file);
        assert_eq!(meta["compression"], "ZSTD");
        let want: Vec<_> = lines
            .iter()
            .filter(|l| l["channel"] == channel)
            .map(trade_id_as_text)
            .collect();
        assert_eq!(
            rows, want,
            "{channel}: the rows of the NDJSON output, in order"
        );
        assert_eq!(
            meta["row_groups"].as_u64().unwrap() as usize,
            want.len().div_ceil(100),
            "{channel}: a row group per 100 rows"
        );
        total += rows.len();
    }
    assert_eq!(total, 500);
    assert_eq!(files_under(dir.path()).len(), 3, "no .partial left");
    server.shutdown().await.unwrap();
}

/// At the hard deadline the outputs still end their files, even when that takes longer than
/// the stop's grace: Parquet encodes its whole row group and the footer at the end (here
/// about 1 s of a debug build for 150,000 rows), and the gzip stream beside it gets its
/// trailer. Without the wait the run exited with both still `.partial`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hard_deadline_waits_for_the_parquet_footer_and_the_gzip_trailer() {
    let python = pyarrow_python();
    // A flood goes on after the close frame: the stop runs into the deadline.
    let mut config =
        foxtrot::replay::ReplayConfig::new(foxtrot::replay::Library::load(&[]).unwrap());
    config.behavior.flood = Some(100_000_000);
    let server = start_replay(config).await;
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("ticks.ndjson.gz");
    let mut args = vec![
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--shutdown-timeout",
        "100ms",
        "--out",
        ndjson.to_str().unwrap(),
    ];
    // Three of them, each finishing after the other.
    let parquets: Vec<String> = (0..3)
        .map(|i| dir.path().join(format!("{i}-{{channel}}.parquet")))
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    for parquet in &parquets {
        args.extend(["--out", parquet]);
    }
    let child = foxtrot(&args).spawn().unwrap();
    // Enough rows buffered that Parquet's finish outlasts the deadline and its grace.
    let growing = dir.path().join("ticks.ndjson.gz.partial");
    let waited = tokio::time::timeout(PATIENCE, async {
        while std::fs::metadata(&growing).map_or(0, |m| m.len()) < 2_000_000 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{:?}", files_under(dir.path()));
    signal(&child, "TERM");
    let done = finish(child).await;
    done.assert_no_panic();
    assert!(done.stderr.contains("deadline"), "{}", done.stderr);
    assert_eq!(done.code, Some(3), "{}", done.stderr);
    let files = files_under(dir.path());
    assert_eq!(
        files.len(),
        7,
        "every file finished, none .partial: {files:?}"
    );
    let lines = parse_ndjson(&super::layout::decoded(&ndjson));
    assert!(lines.len() > 100_000, "{}", lines.len());
    for (i, channel) in (0..3).flat_map(|i| [(i, "bookTicker"), (i, "trade")]) {
        let file = dir.path().join(format!("{i}-{channel}.parquet"));
        let (_, rows) = read_back(&python, &file);
        let want = lines.iter().filter(|l| l["channel"] == channel).count();
        assert_eq!(
            rows.len(),
            want,
            "{i}-{channel}: the rows of the gzip output"
        );
    }
    server.shutdown().await.unwrap();
}

/// An NDJSON row as Parquet holds it: `trade_id` is text there for every venue (NDJSON
/// writes an integer id as a number).
fn trade_id_as_text(row: &serde_json::Value) -> serde_json::Value {
    let mut row = row.clone();
    if let Some(id) = row.get_mut("trade_id").filter(|id| id.is_u64()) {
        *id = serde_json::Value::String(id.to_string());
    }
    row
}

/// Reads `file` back with pyarrow: its metadata line, then its rows.
fn read_back(python: &Path, file: &Path) -> (serde_json::Value, Vec<serde_json::Value>) {
    let read = Command::new(python)
        .args(["-c", READ_BACK])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let mut rows = parse_ndjson(std::str::from_utf8(&read.stdout).unwrap());
    let meta = rows.remove(0);
    (meta, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_keeps_bybit_uuid_trade_ids_as_their_text() {
    let python = pyarrow_python();
    let server = start_replay(venue_replay_config("bybit", &["linear_publicTrade.jsonl"])).await;
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("trades.ndjson");
    let parquet = dir.path().join("trades.parquet");
    let mut args = vec![
        "record",
        "BTCUSDT",
        "LTCUSDT",
        "--venue",
        "bybit-linear",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--limit",
        "2",
        "-q",
        "--out",
        ndjson.to_str().unwrap(),
        "--out",
        parquet.to_str().unwrap(),
    ];
    args.extend(FAST);
    let out = run(&args).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&std::fs::read_to_string(&ndjson).unwrap());
    assert_eq!(lines.len(), 2);
    assert!(
        lines
            .iter()
            .all(|l| l["trade_id"].as_str().is_some_and(|id| id.len() == 36)),
        "the capture's linear trade ids are UUIDs"
    );
    let (_, rows) = read_back(&python, &parquet);
    assert_eq!(rows, lines, "UUID trade ids read back as the text sent");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_of_several_channels_needs_a_channel_template() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ticks.parquet");
    let mut cmd = foxtrot(&[
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--endpoint",
        "ws://127.0.0.1:9",
        "--out",
        path.to_str().unwrap(),
    ]);
    cmd.env("RUST_BACKTRACE", "0");
    let out = finish(cmd.spawn().unwrap()).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("add {channel} to --out"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_decimal_columns_read_back_by_pyarrow_as_decimals() {
    let python = pyarrow_python();
    let server = start_replay(replay_config(&["trade.jsonl"])).await;
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("trades.parquet");
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--limit",
        "41",
        "-q",
        "--parquet-decimal",
        "--out",
        parquet.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let script = r#"
import sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(t.schema.field("price_decimal").type)
for text, dec in zip(t.column("price").to_pylist(), t.column("price_decimal").to_pylist()):
    print(text, dec)
"#;
    let read = Command::new(&python)
        .args(["-c", script])
        .arg(&parquet)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let text = String::from_utf8(read.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("decimal128(38, 8)"));
    let rows: Vec<_> = lines.collect();
    assert_eq!(rows.len(), 41);
    for row in rows {
        let (text, decimal) = row.split_once(' ').unwrap();
        assert_eq!(text, decimal, "the DECIMAL value is the text's");
    }
    server.shutdown().await.unwrap();
}

/// `depth` and `book` to Parquet beside NDJSON, with the raw capture the issue's example
/// adds and `--parquet-decimal`: the Parquet rows are the NDJSON rows in the CSV's shape (a
/// `depth` row per level change, a `book` row with flat level columns), every DECIMAL
/// value its text's number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_and_book_parquet_read_back_by_pyarrow_equal_the_ndjson_of_the_run() {
    use foxtrot::replay::{Behavior, DepthFeed, DepthMarkets, Library, ReplayConfig, RestServer};
    use std::sync::Arc;
    let python = pyarrow_python();
    let feed = DepthFeed {
        levels: 40,
        interval: std::time::Duration::from_millis(2),
        max_events: Some(2000),
        ..DepthFeed::default()
    };
    let markets = Arc::new(DepthMarkets::new(feed));
    let server = start_replay(ReplayConfig {
        library: Arc::new(Library::from_lines(std::iter::empty()).unwrap()),
        behavior: Behavior {
            depth: Some(Arc::clone(&markets)),
            ..Behavior::default()
        },
    })
    .await;
    let rest = RestServer::bind("127.0.0.1:0".parse().unwrap(), markets)
        .await
        .unwrap()
        .spawn();
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("d.ndjson");
    let parquet = dir.path().join("d-{channel}.parquet");
    let raw = dir.path().join("raw-{date}.jsonl.zst");
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "depth",
        "--channel",
        "book",
        "--book-levels",
        "3",
        "--book-interval",
        "0",
        "--endpoint",
        server.url(),
        "--rest-endpoint",
        rest.url(),
        "--limit",
        "300",
        "--row-group-rows",
        "1000",
        "--parquet-decimal",
        "-q",
        "--out",
        ndjson.to_str().unwrap(),
        "--out",
        parquet.to_str().unwrap(),
        "--raw",
        raw.to_str().unwrap(),
    ])
    .await;
    out.assert_no_panic();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&std::fs::read_to_string(&ndjson).unwrap());
    let rows_of = |channel: &str| -> Vec<serde_json::Value> {
        lines
            .iter()
            .filter(|l| l["channel"] == channel && l.get("type").is_none())
            .flat_map(|l| match channel {
                "depth" => depth_as_parquet(l),
                _ => vec![book_as_parquet(l, 3)],
            })
            .collect()
    };
    for channel in ["depth", "book"] {
        let file = dir.path().join(format!("d-{channel}.parquet"));
        let (meta, mut rows) = read_back(&python, &file);
        assert_eq!(meta["compression"], "ZSTD");
        let mut decimals = 0;
        for row in &mut rows {
            decimals += take_decimals(row);
        }
        let want = rows_of(channel);
        assert!(!want.is_empty(), "{channel}: rows recorded");
        assert_eq!(rows.len(), want.len(), "{channel}: as many rows");
        for (i, (got, want)) in rows.iter().zip(&want).enumerate() {
            assert_eq!(got, want, "{channel}: row {i}");
        }
        assert!(decimals > 0, "{channel}: DECIMAL columns hold values");
        assert_eq!(
            meta["row_groups"].as_u64().unwrap() as usize,
            rows.len().div_ceil(1000),
            "{channel}: a row group per 1000 rows"
        );
    }
    // The capture of the run rebuilds the books: convert gives the run's rows (and, past
    // --limit, the rows of the frames the capture kept after it).
    let capture = super::layout::files_under(dir.path())
        .into_iter()
        .find(|f| f.to_str().unwrap().ends_with(".jsonl.zst"))
        .expect("the raw capture");
    let c = dir.path().join("c.ndjson");
    let converted = convert(
        &capture,
        &c,
        &["--book-levels", "3", "--book-interval", "0"],
    )
    .await;
    converted.assert_no_panic();
    assert_eq!(converted.code, Some(0), "{}", converted.stderr);
    let text = std::fs::read_to_string(&c).unwrap();
    let want = std::fs::read_to_string(&ndjson).unwrap();
    assert!(
        !want.is_empty() && text.starts_with(&want),
        "convert gives the run's depth and book rows: {}",
        converted.stderr
    );
    server.shutdown().await.unwrap();
    rest.shutdown().await;
}

/// An NDJSON `depth` row as Parquet rows: one per level change, bids first; an empty one
/// as one row with no side.
fn depth_as_parquet(line: &serde_json::Value) -> Vec<serde_json::Value> {
    use serde_json::{Value, json};
    let mut head = serde_json::Map::new();
    for key in [
        "exchange",
        "symbol",
        "channel",
        "recv_ns",
        "exchange_ns",
        "is_snapshot",
        "first_update_id",
        "update_id",
        "prev_update_id",
    ] {
        head.insert(key.into(), line.get(key).cloned().unwrap_or(Value::Null));
    }
    let mut rows = Vec::new();
    for side in ["bids", "asks"] {
        for level in line[side].as_array().unwrap() {
            let mut row = head.clone();
            row.insert("side".into(), json!(&side[..3]));
            row.insert("price".into(), level[0].clone());
            row.insert("qty".into(), level[1].clone());
            rows.push(Value::Object(row));
        }
    }
    if rows.is_empty() {
        for key in ["side", "price", "qty"] {
            head.insert(key.into(), Value::Null);
        }
        rows.push(Value::Object(head));
    }
    rows
}

/// An NDJSON `book` row as its Parquet row: `bid_0_price` ... for `levels` a side.
fn book_as_parquet(line: &serde_json::Value, levels: usize) -> serde_json::Value {
    use serde_json::Value;
    let mut row = serde_json::Map::new();
    for key in [
        "exchange",
        "symbol",
        "channel",
        "recv_ns",
        "exchange_ns",
        "update_id",
    ] {
        row.insert(key.into(), line[key].clone());
    }
    for (side, name) in [("bids", "bid"), ("asks", "ask")] {
        let have = line[side].as_array().unwrap();
        for i in 0..levels {
            for (k, field) in ["price", "qty"].into_iter().enumerate() {
                let value = have.get(i).map_or(Value::Null, |l| l[k].clone());
                row.insert(format!("{name}_{i}_{field}"), value);
            }
        }
    }
    Value::Object(row)
}

/// Removes the `NAME_decimal` columns of a row read back, checking each value equals its
/// text column's number; returns how many were not null.
fn take_decimals(row: &mut serde_json::Value) -> usize {
    let map = row.as_object_mut().unwrap();
    let names: Vec<String> = map
        .keys()
        .filter(|k| k.ends_with("_decimal"))
        .cloned()
        .collect();
    let mut count = 0;
    for name in names {
        let decimal = map.remove(&name).unwrap();
        let text = &map[name.trim_end_matches("_decimal")];
        if let (Some(d), Some(t)) = (decimal.as_str(), text.as_str()) {
            assert_eq!(number(d), number(t), "{name}");
            count += 1;
        }
    }
    count
}

/// Decimal text without trailing zeros after the point.
fn number(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text.to_owned()
    }
}
