//! Templates, compression and several outputs through the real binary: what a stopped run
//! leaves is complete files that `gzip -t`/`zstd -t` accept, with every row in each.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::util::*;

/// Every file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The text of a file, decompressed by its extension (also an unfinished `.partial`, as far
/// as it decodes).
pub fn decoded(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let name = path.to_str().unwrap().trim_end_matches(".partial");
    let mut out = Vec::new();
    let complete = !path.to_str().unwrap().ends_with(".partial");
    let result = if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(bytes.as_slice()).read_to_end(&mut out)
    } else if name.ends_with(".zst") {
        zstd::stream::read::Decoder::new(bytes.as_slice())
            .unwrap()
            .read_to_end(&mut out)
    } else {
        out = bytes;
        Ok(0)
    };
    if complete {
        result.unwrap_or_else(|e| panic!("{} does not decode: {e}", path.display()));
    }
    String::from_utf8(out).unwrap()
}

/// Whether the system tool (`gzip`, `zstd`) accepts `path` (`None` when it is not installed).
pub fn system_test(path: &Path) -> Option<bool> {
    let tool = if path.extension()? == "gz" {
        "gzip"
    } else {
        "zstd"
    };
    let status = std::process::Command::new(tool)
        .args(["-t", "-q"])
        .arg(path)
        .status()
        .ok()?;
    Some(status.success())
}

async fn record(args: &[&str], limit: &str) -> Finished {
    let mut config = replay_config(&["bookTicker.jsonl", "trade.jsonl"]);
    config.behavior.looped = true;
    let server = start_replay(config).await;
    let mut all = vec![
        "record",
        "BTCUSDT",
        "ETHUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--limit",
        limit,
        "-q",
    ];
    all.extend(args);
    let out = run(&all).await;
    server.shutdown().await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_writes_finished_compressed_files_per_channel_and_symbol() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir
        .path()
        .join("data/{exchange}/{channel}/{date}/{symbol}.csv.gz");
    let out = record(&["--out", template.to_str().unwrap()], "400").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let files = files_under(dir.path());
    assert!(!files.is_empty());
    let mut rows = 0;
    for file in &files {
        let rel = file.strip_prefix(dir.path()).unwrap().to_str().unwrap();
        let parts: Vec<&str> = rel.split('/').collect();
        assert_eq!(parts[0..2], ["data", "binance"], "{rel}");
        assert!(["bookTicker", "trade"].contains(&parts[2]), "{rel}");
        assert_eq!(parts[3].len(), 10, "a UTC date in {rel}");
        assert!(
            rel.ends_with(".csv.gz"),
            "{rel}: no .partial after a clean stop"
        );
        assert_ne!(system_test(file), Some(false), "gzip -t {rel}");
        let text = decoded(file);
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("exchange,symbol,channel,recv_ns")
        );
        for line in lines {
            assert!(line.contains(&format!(",{},", parts[2])), "{rel}: {line}");
            assert!(
                line.starts_with(&format!("binance,{}", &parts[4][..7])),
                "{rel}: {line}"
            );
            rows += 1;
        }
    }
    assert_eq!(rows, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_outputs_get_every_row_each() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("ticks.ndjson");
    let zst = dir.path().join("ticks.ndjson.zst");
    let csv = dir.path().join("ticks.csv");
    let out = record(
        &[
            "--out",
            plain.to_str().unwrap(),
            "--out",
            zst.to_str().unwrap(),
            "--out",
            csv.to_str().unwrap(),
            "--zstd-level",
            "9",
        ],
        "300",
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_ne!(system_test(&zst), Some(false), "zstd -t");
    let plain = std::fs::read_to_string(&plain).unwrap();
    assert_eq!(parse_ndjson(&plain).len(), 300);
    assert_eq!(decoded(&zst), plain, "the same rows, byte for byte");
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap().lines().count(),
        1 + 300
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_file_flags_are_refused_with_one_line() {
    let cases = [
        (&["--out", "x-{day}.csv"][..], "unknown placeholder {day}"),
        (&["--out", "x.csv", "--rotate", "soon"], "invalid --rotate"),
        (&["--out", "x.csv", "--fsync", "always"], "invalid --fsync"),
        (
            &["--out", "x.csv.zst", "--zstd-level", "30"],
            "--zstd-level",
        ),
        (&["--out", "x.txt.gz"], "cannot tell the format"),
    ];
    for (args, want) in cases {
        let mut all = vec!["record", "BTCUSDT"];
        all.extend(args);
        let mut cmd = foxtrot(&all);
        cmd.env("RUST_BACKTRACE", "0");
        let out = finish(cmd.spawn().unwrap()).await;
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
    }
}
