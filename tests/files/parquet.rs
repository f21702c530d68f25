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
import json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
md = pq.ParquetFile(sys.argv[1]).metadata
print(json.dumps({"row_groups": md.num_row_groups, "compression": md.row_group(0).column(0).compression}))
for row in t.to_pylist():
    print(json.dumps(row))
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
