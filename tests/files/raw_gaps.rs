//! The gap records no frame tells again: a subscription the server refused (`rejected`) and
//! a connection that never opened a socket (`never_connected`). The capture keeps them as
//! `gap` records, so `foxtrot convert` of the capture still equals the run's NDJSON.

use std::path::Path;

use foxtrot::raw::format;
use foxtrot::raw::{Event, Record};

use super::layout::decoded;
use crate::util::*;

fn gap_records(path: &Path) -> Vec<Record> {
    decoded(path)
        .lines()
        .map(|l| format::parse(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .filter(|r| matches!(r.event, Event::Gap { .. }))
        .collect()
}

/// Converts `raw` and checks the result is `ndjson`, line for line.
async fn converts_to_the_run(raw: &Path, ndjson: &Path, gaps: usize) {
    let converted = raw.with_file_name("converted.ndjson");
    let out = convert(raw, &converted, &[]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(" {gaps} gap records")),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&converted).unwrap(),
        std::fs::read_to_string(ndjson).unwrap(),
        "convert equals the run, gaps included"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_subscription_converts_to_the_runs_gap_record() {
    // OKX refuses a spot instrument's funding-rate arg by name; the trades flow.
    let server = start_replay(venue_replay_config(
        "okx",
        &["trades.jsonl", "funding-rate.jsonl"],
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (ndjson, raw) = (dir.path().join("run.ndjson"), dir.path().join("raw.jsonl"));
    let out = run(&[
        "record",
        "BTC-USDT",
        "--venue",
        "okx",
        "--channel",
        "trade",
        "--channel",
        "funding",
        "--endpoint",
        server.url(),
        "--limit",
        "72",
        "--out",
        ndjson.to_str().unwrap(),
        "--raw",
        raw.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    server.shutdown().await.unwrap();
    let rows = parse_ndjson(&std::fs::read_to_string(&ndjson).unwrap());
    let gaps: Vec<_> = rows.iter().filter(|r| r["type"] == "gap").collect();
    assert_eq!(gaps.len(), 1, "{rows:?}");
    assert_eq!(gaps[0]["reason"], "rejected");

    let kept = gap_records(&raw);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let Event::Gap {
        streams, reason, ..
    } = &kept[0].event
    else {
        unreachable!()
    };
    assert_eq!(*reason, "rejected");
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].channel.as_str(), "funding");
    assert_eq!(gaps[0]["from_ns"].as_u64(), Some(kept[0].recv_ns));
    converts_to_the_run(&raw, &ndjson, 1).await;
}

#[tokio::test]
async fn a_run_that_never_connected_converts_to_its_gap_records() {
    let (endpoint, _reserved) = refused_endpoint();
    let dir = tempfile::tempdir().unwrap();
    let (ndjson, raw) = (dir.path().join("run.ndjson"), dir.path().join("raw.jsonl"));
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "trade",
        "--channel",
        "bookTicker",
        "--endpoint",
        &endpoint,
        "--duration",
        "1s",
        "--backoff-initial",
        "10ms",
        "--backoff-max",
        "50ms",
        "--out",
        ndjson.to_str().unwrap(),
        "--raw",
        raw.to_str().unwrap(),
    ])
    .await;
    out.assert_no_panic();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let rows = parse_ndjson(&std::fs::read_to_string(&ndjson).unwrap());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r["reason"] == "never_connected"));

    let kept = gap_records(&raw);
    assert_eq!(kept.len(), 1, "one record for the connection: {kept:?}");
    assert_eq!(kept[0].conn, 0, "no socket");
    let Event::Gap {
        streams, from_ns, ..
    } = &kept[0].event
    else {
        unreachable!()
    };
    assert_eq!(streams.len(), 2);
    assert_eq!(rows[0]["from_ns"].as_u64(), Some(*from_ns));
    assert_eq!(rows[0]["to_ns"].as_u64(), Some(kept[0].recv_ns));
    converts_to_the_run(&raw, &ndjson, 2).await;
}
