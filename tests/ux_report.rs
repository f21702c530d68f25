//! The machine-readable reports: `--stats-interval` JSON (on stderr or a file) and the
//! `--metrics-addr` Prometheus endpoint, checked against what the output really holds.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::*;

/// A looping replay server of BTCUSDT book tickers and trades at `rate` messages/s.
async fn looping_server(rate: u64) -> foxtrot::replay::RunningServer {
    let mut config = replay_config(&["bookTicker.jsonl", "trade.jsonl"]);
    config.behavior.looped = true;
    config.behavior.rate = rate;
    start_replay(config).await
}

/// Parses stats lines and checks what holds for every run: one object per line, counters
/// that never go down, exactly one final object and it comes last.
fn parse_stats(lines: &[&str]) -> Vec<Value> {
    let objects: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad stats line {l:?}: {e}")))
        .collect();
    assert!(objects.len() >= 2, "expected several objects: {lines:?}");
    for pair in objects.windows(2) {
        for key in ["received", "written", "bytes_written", "ts_ns"] {
            assert!(
                pair[0][key].as_u64() <= pair[1][key].as_u64(),
                "{key} went down"
            );
        }
        assert_eq!(pair[0]["final"], false);
    }
    let last = objects.last().unwrap();
    assert_eq!(last["final"], true);
    for object in &objects {
        let streams = object["streams"].as_array().unwrap();
        let sum: u64 = streams
            .iter()
            .map(|s| s["received"].as_u64().unwrap())
            .sum();
        assert_eq!(sum, object["received"].as_u64().unwrap(), "{object}");
        assert!(object["written"].as_u64() <= object["received"].as_u64());
        assert!(object["rate"].as_f64().unwrap() >= 0.0);
    }
    objects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_file_totals_equal_the_output() {
    let server = looping_server(400).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, stats) = (dir.path().join("t.ndjson"), dir.path().join("stats.jsonl"));
    let run = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--out",
        out.to_str().unwrap(),
        "--endpoint",
        server.url(),
        "--limit",
        "200",
        "--stats-interval",
        "100ms",
        "--stats-file",
        stats.to_str().unwrap(),
    ])
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    run.assert_no_panic();
    assert!(
        !run.stderr.contains('{'),
        "stats go to the file: {}",
        run.stderr
    );
    let written = std::fs::read_to_string(&out).unwrap();
    let text = std::fs::read_to_string(&stats).unwrap();
    let objects = parse_stats(&text.lines().collect::<Vec<_>>());
    let last = objects.last().unwrap();
    assert_eq!(last["written"], written.lines().count() as u64);
    assert_eq!(last["received"], 200);
    assert_eq!(last["queued"], 0);
    assert_eq!(last["dropped"], 0);
    assert_eq!(last["connects"], 1);
    assert_eq!(last["bytes_written"], written.len() as u64);
    let names: Vec<String> = last["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}@{}",
                s["symbol"].as_str().unwrap(),
                s["channel"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, ["BTCUSDT@bookTicker", "BTCUSDT@trade"]);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_on_stderr_leave_stdout_to_the_data() {
    let server = looping_server(400).await;
    let run = run(&[
        "stream",
        "BTCUSDT",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--limit",
        "120",
        "--stats-interval",
        "100ms",
        "--format",
        "ndjson",
    ])
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let ticks = parse_ndjson(&run.stdout);
    assert_eq!(ticks.len(), 120);
    assert!(ticks.iter().all(|t| t["exchange"] == "binance"));
    let lines: Vec<&str> = run.stderr.lines().collect();
    let (summary, stats) = lines.split_last().unwrap();
    assert!(
        summary.starts_with("foxtrot: received 120, written 120"),
        "{summary}"
    );
    let objects = parse_stats(stats);
    assert_eq!(objects.last().unwrap()["written"], 120);
    server.shutdown().await.unwrap();
}

/// One HTTP/1.1 GET over a fresh connection: the status line, headers (lower-case names)
/// and body.
pub(crate) async fn get(addr: &str, path: &str) -> (String, BTreeMap<String, String>, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut response))
        .await
        .expect("the metrics endpoint did not answer in time")
        .unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

/// The samples of a scrape: `name{labels}` to value; and each family's type.
pub(crate) fn parse_metrics(body: &str) -> (BTreeMap<String, f64>, BTreeMap<String, String>) {
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_owned(), kind.to_owned());
        } else if !line.starts_with('#') {
            let (series, value) = line.rsplit_once(' ').unwrap();
            samples.insert(series.to_owned(), value.parse().unwrap());
        }
    }
    assert!(body.ends_with("# EOF\n"), "not a complete exposition");
    (samples, types)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_answers_during_a_run() {
    let server = looping_server(200).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.csv");
    let mut child = foxtrot(&[
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--out",
        out.to_str().unwrap(),
        "--endpoint",
        server.url(),
        "--metrics-addr",
        "127.0.0.1:0",
    ])
    .spawn()
    .unwrap();
    let mut stderr = stderr_lines(&mut child);
    let seen = stderr_until(&mut stderr, "serving metrics on http://").await;
    let url = seen.last().unwrap().rsplit(' ').next().unwrap().to_owned();
    let addr = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix("/metrics"))
        .unwrap()
        .to_owned();

    // Scrape until ticks flow (the counters are read at scrape time, nothing to wait for).
    let first = tokio::time::timeout(PATIENCE, async {
        loop {
            let (status, headers, body) = get(&addr, "/metrics").await;
            assert_eq!(status, "HTTP/1.1 200 OK");
            assert!(headers["content-type"].starts_with("application/openmetrics-text"));
            let (samples, types) = parse_metrics(&body);
            if samples["foxtrot_ticks_written_total"] >= 10.0 {
                return (samples, types);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("no ticks were written");
    let (samples, types) = first;
    for (family, kind) in [
        ("foxtrot_ticks_received", "counter"),
        ("foxtrot_ticks_written", "counter"),
        ("foxtrot_ticks_dropped", "counter"),
        ("foxtrot_reconnects", "counter"),
        ("foxtrot_gaps", "counter"),
        ("foxtrot_output_bytes", "counter"),
        ("foxtrot_queue_depth", "gauge"),
        ("foxtrot_last_message_age_seconds", "gauge"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    let received = |s: &BTreeMap<String, f64>, channel: &str| {
        s[&format!(
            "foxtrot_ticks_received_total{{exchange=\"binance\",symbol=\"BTCUSDT\",channel=\"{channel}\"}}"
        )]
    };
    let total = |s: &BTreeMap<String, f64>| received(s, "bookTicker") + received(s, "trade");
    assert!(total(&samples) >= samples["foxtrot_ticks_written_total"]);
    assert!(samples["foxtrot_queue_depth"] <= samples["foxtrot_queue_capacity"]);
    assert_eq!(samples["foxtrot_queue_capacity"], 65536.0);
    assert_eq!(samples["foxtrot_ticks_dropped_total"], 0.0);
    assert!(samples["foxtrot_output_bytes_total"] > 0.0);
    let age = "foxtrot_last_message_age_seconds{exchange=\"binance\",symbol=\"BTCUSDT\",channel=\"trade\"}";
    assert!(samples[age] >= 0.0 && samples[age] < 30.0);

    // Counters only grow from one scrape to the next.
    let (_, _, body) = get(&addr, "/metrics").await;
    let (later, _) = parse_metrics(&body);
    for (series, value) in &samples {
        if series.contains("_total") {
            assert!(later[series] >= *value, "{series} went down");
        }
    }
    let (status, _, _) = get(&addr, "/other").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");

    signal(&child, "TERM");
    let tail = stderr_until(&mut stderr, "foxtrot: received ").await;
    let rest = finish(child).await;
    assert_eq!(rest.code, Some(0), "{tail:?}");
    let rows = std::fs::read_to_string(&out).unwrap().lines().count() as u64 - 1;
    assert!(rows as f64 >= later["foxtrot_ticks_written_total"]);
    let summary = tail.last().unwrap();
    assert!(
        summary.contains(&format!("written {rows},")),
        "summary vs file: {summary}"
    );
    // The endpoint ended with the run.
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn reporters_that_cannot_start_are_one_line_errors() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/stats.jsonl");
    let (endpoint, _reserved) = refused_endpoint();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["--metrics-addr", &taken], 1, "cannot serve metrics on"),
        (&["--metrics-addr", "localhost"], 2, "--metrics-addr"),
        (
            &["--stats-interval", "0s"],
            2,
            "--stats-interval must be above zero",
        ),
        (&["--stats-interval", "often"], 2, "often"),
        (
            &["--stats-file", missing.to_str().unwrap()],
            1,
            "cannot open stats file",
        ),
    ];
    let out_file = dir.path().join("ticks.csv");
    for (extra, code, needle) in cases {
        let args = [
            &["record", "BTCUSDT", "--endpoint", &endpoint, "--out"][..],
            &[out_file.to_str().unwrap()][..],
            extra,
        ]
        .concat();
        let out = run(&args).await;
        out.assert_no_panic();
        assert_eq!(out.code, Some(*code), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("foxtrot: ") && out.stderr.contains(needle),
            "{}",
            out.stderr
        );
        assert_eq!(out.stdout, "");
        assert!(!out_file.exists(), "{args:?} left {out_file:?} behind");
    }
}
