//! Raw capture (`record --raw`) and `foxtrot convert` through the real binary: the capture
//! holds every frame the replay server sent, with the socket's connect and disconnect, and
//! converting it gives the NDJSON of the same run byte for byte.

use std::path::Path;

use foxtrot::raw::format;
use foxtrot::raw::{Event, Record};

use super::layout::{decoded, files_under, system_test};
use crate::util::*;

const FILES: [&str; 3] = ["trade.jsonl", "bookTicker.jsonl", "aggTrade.jsonl"];

/// Every record of a finished capture.
fn records(path: &Path) -> Vec<Record> {
    decoded(path)
        .lines()
        .map(|l| format::parse(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Records `FILES` (every line of them: `--limit` is their count) as NDJSON, as
/// `ticks.csv.gz` and as a raw capture at `raw` (relative to `dir`); returns the NDJSON path.
async fn record_with_raw(dir: &Path, raw: &str) -> std::path::PathBuf {
    let want: usize = FILES.iter().map(|f| fixture_lines(f).len()).sum();
    let server = start_replay(replay_config(&FILES)).await;
    let ndjson = dir.join("ticks.ndjson");
    let raw = dir.join(raw);
    let limit = want.to_string();
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "trade",
        "--channel",
        "bookTicker",
        "--channel",
        "aggTrade",
        "--endpoint",
        server.url(),
        "--limit",
        &limit,
        "--out",
        ndjson.to_str().unwrap(),
        "--out",
        dir.join("ticks.csv.gz").to_str().unwrap(),
        "--raw",
        raw.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains(" (dropped 0)"),
        "the summary counts raw records: {}",
        out.stderr
    );
    server.shutdown().await.unwrap();
    ndjson
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_capture_holds_every_frame_and_converts_to_the_ndjson_of_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let ndjson = record_with_raw(dir.path(), "raw-{date}.jsonl.zst").await;
    let files = files_under(dir.path());
    let raws: Vec<_> = files
        .iter()
        .filter(|p| p.to_str().unwrap().ends_with(".jsonl.zst"))
        .collect();
    assert_eq!(
        raws.len(),
        1,
        "one finished capture, no .partial: {files:?}"
    );
    let raw = raws[0];
    if let Some(ok) = system_test(raw) {
        assert!(ok, "zstd -t refuses {}", raw.display());
    }
    let records = records(raw);
    let Event::Connect { url, streams } = &records[0].event else {
        panic!("the capture starts with the connect: {:?}", records[0]);
    };
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    assert_eq!(streams.len(), 3);
    assert_eq!(
        records.last().unwrap().event,
        Event::Disconnect { lost: None }
    );
    assert!(records.iter().all(|r| r.conn == 1 && r.venue == "binance"));
    assert!(
        records.windows(2).all(|w| w[0].recv_ns <= w[1].recv_ns),
        "in receive order"
    );
    // Every fixture line was sent once, in a combined-stream envelope (with the times in
    // the microseconds foxtrot asks for), and is held whole.
    let texts: Vec<serde_json::Value> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Text(b) => Some(serde_json::from_slice(b).unwrap()),
            _ => None,
        })
        .collect();
    let want: usize = FILES.iter().map(|f| fixture_lines(f).len()).sum();
    assert_eq!(texts.len(), want);
    for file in FILES {
        for line in fixture_lines(file) {
            let sent: serde_json::Value = serde_json::from_str(&line).unwrap();
            let id = ["t", "u", "a"].iter().find_map(|k| sent.get(*k)).unwrap();
            let held = texts
                .iter()
                .filter(|t| {
                    let data = &t["data"];
                    ["t", "u", "a"].iter().any(|k| data.get(*k) == Some(id))
                        && data.get("p").or(data.get("b")) == sent.get("p").or(sent.get("b"))
                })
                .count();
            assert!(held >= 1, "{file}: {line}");
        }
    }

    let converted = dir.path().join("converted.ndjson");
    let out = convert(raw, &converted, &[]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.assert_no_panic();
    let want = std::fs::read_to_string(&ndjson).unwrap();
    assert_eq!(want.lines().count(), texts.len());
    assert_eq!(
        std::fs::read_to_string(&converted).unwrap(),
        want,
        "convert of the raw capture equals the NDJSON of the run, line for line"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_only_run_keeps_the_capture_and_convert_makes_csv() {
    let server = start_replay(replay_config(&["trade.jsonl"])).await;
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.jsonl.gz");
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--limit",
        "41",
        "--raw",
        raw.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        files_under(dir.path()),
        std::slice::from_ref(&raw),
        "the capture only"
    );
    if let Some(ok) = system_test(&raw) {
        assert!(ok, "gzip -t refuses {}", raw.display());
    }
    let frames = records(&raw)
        .iter()
        .filter(|r| matches!(r.event, Event::Text(_)))
        .count();
    assert_eq!(frames, 41);

    let csv = dir.path().join("trades.csv");
    let out = convert(&raw, &csv, &[]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("exchange,symbol,channel,recv_ns"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 42, "the header and every trade");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_raw_paths_and_captures_get_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let templated = dir.path().join("raw-{symbol}.jsonl");
    let mut cmd = foxtrot(&[
        "record",
        "BTCUSDT",
        "--endpoint",
        "ws://127.0.0.1:9",
        "--raw",
        templated.to_str().unwrap(),
    ]);
    cmd.env("RUST_BACKTRACE", "0");
    let out = finish(cmd.spawn().unwrap()).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("{exchange}, {date}"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);

    // An existing file (a device too): `--append`/`--force` are --out's, not offered.
    let device = dir.path().join("full.jsonl");
    std::os::unix::fs::symlink("/dev/full", &device).unwrap();
    for existing in [
        device.to_str().unwrap(),
        dir.path().join("old.jsonl").to_str().unwrap(),
    ] {
        std::fs::write(dir.path().join("old.jsonl"), "").unwrap();
        let out = run(&[
            "record",
            "BTCUSDT",
            "--endpoint",
            "ws://127.0.0.1:9",
            "--raw",
            existing,
            "--force",
        ])
        .await;
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(
            out.stderr.contains("never overwrites") && !out.stderr.contains("--append"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }

    let not_raw = dir.path().join("ticks.ndjson");
    std::fs::write(&not_raw, "{\"exchange\":\"binance\"}\n").unwrap();
    let out = convert(&not_raw, &dir.path().join("out.csv"), &[]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("ticks.ndjson:1: not a raw capture record"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    out.assert_no_panic();
}

/// The rows of an NDJSON recording without their receive times (which a second run
/// cannot repeat).
fn rows_without_recv_ns(path: &Path) -> Vec<serde_json::Value> {
    let mut rows = parse_ndjson(&std::fs::read_to_string(path).unwrap());
    for row in &mut rows {
        row.as_object_mut().unwrap().remove("recv_ns");
    }
    rows
}

/// Serves `recording` with the replay server and records it again as NDJSON at `again`.
async fn record_replayed(recording: &Path, again: &Path, limit: usize) {
    let mut config = foxtrot::replay::ReplayConfig::load(&[recording.to_path_buf()]).unwrap();
    config.behavior.speed_milli = Some(0);
    let server = start_replay(config).await;
    let limit = limit.to_string();
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "trade",
        "--channel",
        "bookTicker",
        "--channel",
        "aggTrade",
        "--endpoint",
        server.url(),
        "--limit",
        &limit,
        "--out",
        again.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}: {}", recording.display(), out.stderr);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_of_the_raw_ndjson_and_csv_recordings_recorded_again_equal_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let first = record_with_raw(dir.path(), "raw.jsonl.zst").await;
    let want = rows_without_recv_ns(&first);
    for recording in ["raw.jsonl.zst", "ticks.ndjson", "ticks.csv.gz"] {
        let again = dir.path().join(format!("again-{recording}.ndjson"));
        record_replayed(&dir.path().join(recording), &again, want.len()).await;
        assert_eq!(rows_without_recv_ns(&again), want, "{recording}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_speed_keeps_the_recorded_pacing_scaled() {
    // Three trades received 0, 0.6 and 1.2 s apart.
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("paced.jsonl");
    let mut text = Vec::new();
    for (i, line) in fixture_lines("trade.jsonl").iter().take(3).enumerate() {
        let record = Record {
            recv_ns: 1_764_748_800_000_000_000 + i as u64 * 600_000_000,
            venue: foxtrot::exchange::Venue::Binance,
            conn: 1,
            event: Event::Text(bytes::Bytes::from(format!(
                "{{\"stream\":\"btcusdt@trade\",\"data\":{line}}}"
            ))),
        };
        format::encode(&record, &mut text);
    }
    std::fs::write(&raw, text).unwrap();
    let mut spans = Vec::new();
    for speed in [1.0, 4.0] {
        let mut config = foxtrot::replay::ReplayConfig::load(std::slice::from_ref(&raw)).unwrap();
        config.behavior.speed_milli = Some((speed * 1000.0) as u64);
        let server = start_replay(config).await;
        let out = run(&[
            "stream",
            "BTCUSDT",
            "--channel",
            "trade",
            "--endpoint",
            server.url(),
            "--limit",
            "3",
            "--format",
            "ndjson",
        ])
        .await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let rows = parse_ndjson(&out.stdout);
        let ns = |i: usize| rows[i]["recv_ns"].as_u64().unwrap();
        spans.push((ns(1) - ns(0), ns(2) - ns(0)));
        server.shutdown().await.unwrap();
    }
    // Lower bounds only, and on the second interval (the first may shrink when the
    // client reads the first frame late): a loaded machine may be late, never early.
    assert!(spans[0].1 - spans[0].0 >= 450_000_000, "{spans:?}");
    assert!(spans[0].1 >= 900_000_000, "{spans:?}");
    assert!(spans[1].1 - spans[1].0 >= 100_000_000, "{spans:?}");
    assert!(spans[1].1 < spans[0].1, "4x is faster than 1x: {spans:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hard_deadline_still_finishes_the_raw_capture() {
    let mut config = replay_config(&["bookTicker.jsonl", "trade.jsonl"]);
    config.behavior.looped = true;
    // Silent after 60 messages, close frame unanswered: the stop runs into the deadline.
    config.behavior.stall_after = Some(60);
    let server = start_replay(config).await;
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("ticks.ndjson");
    let raw = dir.path().join("raw.jsonl.zst");
    let child = foxtrot(&[
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--out",
        ndjson.to_str().unwrap(),
        "--raw",
        raw.to_str().unwrap(),
        "--shutdown-timeout",
        "1s",
    ])
    .spawn()
    .unwrap();
    let waited = tokio::time::timeout(PATIENCE, async {
        while std::fs::read_to_string(&ndjson).map_or(0, |t| t.lines().count()) < 60 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "60 rows never came");
    signal(&child, "TERM");
    let done = finish(child).await;
    done.assert_no_panic();
    assert!(done.stderr.contains("deadline"), "{}", done.stderr);
    assert!(raw.exists(), "renamed: {:?}", files_under(dir.path()));
    assert_ne!(system_test(&raw), Some(false), "zstd -t");
    let frames = records(&raw)
        .iter()
        .filter(|r| matches!(r.event, Event::Text(_)))
        .count();
    assert_eq!(frames, 60);
    server.shutdown().await.unwrap();
}

/// `record --raw` alone against a flood, compressed so the writer is the slower side:
/// under `--on-full block` (the default) the capture pushes back on the socket and drops
/// nothing (every trade id is there, in order), and its frames count as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_only_capture_behind_a_flood_pushes_back_and_drops_nothing() {
    const N: u64 = 50_000;
    let mut config =
        foxtrot::replay::ReplayConfig::new(foxtrot::replay::Library::load(&[]).unwrap());
    config.behavior.flood = Some(N + 1_000);
    let server = start_replay(config).await;
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.jsonl.zst");
    let limit = N.to_string();
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--limit",
        &limit,
        "--zstd-level",
        "9",
        "--raw",
        raw.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("received {N}, written {N}, dropped 0, lost 0")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(" (dropped 0)"), "{}", out.stderr);
    let ids: Vec<u64> = records(&raw)
        .iter()
        .filter_map(|r| match &r.event {
            Event::Text(b) => {
                let v: serde_json::Value = serde_json::from_slice(b).unwrap();
                v["data"]["t"].as_u64()
            }
            _ => None,
        })
        .collect();
    assert!(ids.len() as u64 >= N, "{} frames", ids.len());
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "no frame is missing"
    );
    server.shutdown().await.unwrap();
}

/// A run whose connection is lost twice over (the server drops it, or stalls and the
/// client gives up on it) writes gap records; the raw capture names each loss in its
/// disconnect record, and `convert` rebuilds the same gap records, so the conversion still
/// equals the NDJSON of the run line for line. The gap runs from the lost socket's last
/// data frame to the next socket's connect record (its handshake), exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convert_rebuilds_the_gap_records_of_a_lost_connection() {
    for (reason, stall) in [("disconnected", false), ("stalled", true)] {
        let mut config = replay_config(&["trade.jsonl"]);
        if stall {
            config.behavior.stall_after = Some(15);
        } else {
            config.behavior.drop_after = Some(15);
        }
        let server = start_replay(config).await;
        let dir = tempfile::tempdir().unwrap();
        let (ndjson, raw) = (dir.path().join("run.ndjson"), dir.path().join("raw.jsonl"));
        let mut args = vec![
            "record",
            "BTCUSDT",
            "--channel",
            "trade",
            "--endpoint",
            server.url(),
            "--limit",
            "30",
            "--stale-after",
            "1s",
            "--out",
            ndjson.to_str().unwrap(),
            "--raw",
            raw.to_str().unwrap(),
        ];
        args.extend(FAST);
        let out = run(&args).await;
        assert_eq!(out.code, Some(0), "{reason}: {}", out.stderr);
        server.shutdown().await.unwrap();

        let want = std::fs::read_to_string(&ndjson).unwrap();
        let rows = parse_ndjson(&want);
        let gaps: Vec<_> = rows.iter().filter(|r| r["type"] == "gap").collect();
        assert_eq!(gaps.len(), 1, "{reason}: {want}");
        assert_eq!(gaps[0]["reason"], reason);
        assert_eq!(rows.len(), 31, "30 trades and the gap");

        let records = records(&raw);
        let lost: Vec<_> = records
            .iter()
            .filter(|r| matches!(r.event, Event::Disconnect { lost: Some(_) }))
            .collect();
        assert_eq!(lost.len(), 1, "{reason}: {records:?}");
        assert_eq!(lost[0].event, Event::Disconnect { lost: Some(reason) });
        let last_text = records
            .iter()
            .filter(|r| r.conn == lost[0].conn && matches!(r.event, Event::Text(_)))
            .map(|r| r.recv_ns)
            .max()
            .unwrap();
        let next_connect = records
            .iter()
            .find(|r| r.conn == lost[0].conn + 1 && matches!(r.event, Event::Connect { .. }))
            .unwrap()
            .recv_ns;
        assert_eq!(gaps[0]["from_ns"].as_u64(), Some(last_text), "{reason}");
        assert_eq!(gaps[0]["to_ns"].as_u64(), Some(next_connect), "{reason}");

        let converted = dir.path().join("converted.ndjson");
        let out = convert(&raw, &converted, &[]).await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(
            out.stderr
                .contains("into 30 ticks, 0 order-book rows and 1 gap records"),
            "{}",
            out.stderr
        );
        assert_eq!(
            std::fs::read_to_string(&converted).unwrap(),
            want,
            "{reason}: convert equals the run, gaps included"
        );
    }
}

/// A capture written before disconnect records named their loss: the disconnect of the
/// only socket, after data, followed by a new connect, is a `disconnected` gap; the last
/// socket's disconnect (the end of the run) is none.
#[tokio::test]
async fn captures_without_loss_reasons_still_get_their_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("old.jsonl");
    let trade = fixture_lines("trade.jsonl");
    let connect = |conn: u32, ns: u64| {
        format!(
            "{{\"recv_ns\":{ns},\"exchange\":\"binance\",\"conn\":{conn},\"event\":\"connect\",\"url\":\"ws://h/stream\",\"streams\":[\"BTCUSDT@trade\"]}}\n"
        )
    };
    let text = |conn: u32, ns: u64, line: &str| {
        let mut out = Vec::new();
        format::encode(
            &Record {
                recv_ns: ns,
                venue: foxtrot::exchange::Venue::Binance,
                conn,
                event: Event::Text(bytes::Bytes::from(format!(
                    "{{\"stream\":\"btcusdt@trade\",\"data\":{line}}}"
                ))),
            },
            &mut out,
        );
        String::from_utf8(out).unwrap()
    };
    let disconnect = |conn: u32, ns: u64| {
        format!(
            "{{\"recv_ns\":{ns},\"exchange\":\"binance\",\"conn\":{conn},\"event\":\"disconnect\"}}\n"
        )
    };
    let capture = [
        connect(1, 100),
        text(1, 110, &trade[0]),
        text(1, 120, &trade[1]),
        disconnect(1, 130),
        connect(2, 200),
        text(2, 210, &trade[2]),
        disconnect(2, 300),
    ]
    .concat();
    std::fs::write(&raw, capture).unwrap();
    let converted = dir.path().join("converted.ndjson");
    let out = convert(&raw, &converted, &[]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rows = parse_ndjson(&std::fs::read_to_string(&converted).unwrap());
    let kinds: Vec<_> = rows
        .iter()
        .map(|r| r["type"].as_str().unwrap_or("tick"))
        .collect();
    assert_eq!(kinds, ["tick", "tick", "gap", "tick"], "{rows:?}");
    let gap = &rows[2];
    assert_eq!(
        (gap["from_ns"].as_u64(), gap["to_ns"].as_u64()),
        (Some(120), Some(200))
    );
    assert_eq!(gap["reason"], "disconnected");

    // A loss the capture names, and the run's end before the reconnect: the `stop` record
    // ends the gap (the live run wrote the same time).
    let lost = |conn: u32, ns: u64| {
        format!(
            "{{\"recv_ns\":{ns},\"exchange\":\"binance\",\"conn\":{conn},\"event\":\"disconnect\",\"reason\":\"stalled\"}}\n"
        )
    };
    let stop = "{\"recv_ns\":900,\"exchange\":\"binance\",\"conn\":1,\"event\":\"stop\"}\n";
    std::fs::write(
        &raw,
        [
            connect(1, 100),
            text(1, 110, &trade[0]),
            lost(1, 400),
            stop.to_owned(),
        ]
        .concat(),
    )
    .unwrap();
    let out = convert(&raw, &converted, &["--force"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rows = parse_ndjson(&std::fs::read_to_string(&converted).unwrap());
    assert_eq!(rows.len(), 2, "{rows:?}");
    let gap = &rows[1];
    assert_eq!(
        (
            gap["from_ns"].as_u64(),
            gap["to_ns"].as_u64(),
            gap["reason"].as_str()
        ),
        (Some(110), Some(900), Some("stalled"))
    );
}
