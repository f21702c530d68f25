//! Order books in every output and entry point: rotated depth files, CSV, the `replay`
//! depth mode and book flags on the command line, the recorded fixtures through the binary,
//! and `convert` of a depth capture.

use super::*;

/// `depth` recorded onto stdout and, in the same run, into files rotated by size: every
/// rotated file starts with each symbol's book (a synthetic snapshot event) and rebuilds
/// on its own the server's book at its last update id, through ETHUSDT's forced re-syncs;
/// the file that ends the run ends on the single file's books.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_depth_files_each_rebuild_the_servers_book() {
    let feed = DepthFeed {
        gap_every: Some(700),
        gap_symbol: Some("ETHUSDT".to_owned()),
        interval: Duration::from_millis(3),
        ..feed(false, 1500)
    };
    let (server, rest) = servers(&feed).await;
    let dir = tempfile::tempdir().unwrap();
    let rotated = dir.path().join("rotated");
    let rotated_out = rotated.join("depth.ndjson");
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let mut args = vec!["record", "--channel", "depth"];
    args.extend(symbols);
    args.extend([
        "--endpoint",
        server.url(),
        "--rest-endpoint",
        rest.url(),
        // The single file: stdout (`--rotate` applies to every file output).
        "--out",
        "-",
        "--out",
        rotated_out.to_str().unwrap(),
        "--rotate",
        "150KB",
        // Stops before the feed ends (2 x 1500 events, some withheld).
        "--limit",
        "2400",
    ]);
    let done = util::run(&args).await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    server.shutdown().await.unwrap();
    rest.shutdown().await;

    let whole = done.stdout.clone();
    let mut whole_books = Rebuilder::new();
    whole_books
        .apply_text(&whole)
        .expect("the single file rebuilds");
    let names: Vec<_> = std::fs::read_dir(&rotated)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(names.len() >= 4, "a few files: {names:?}");
    assert!(
        names
            .iter()
            .all(|n| !n.to_str().unwrap().ends_with(".partial")),
        "every file finished: {names:?}"
    );
    let (mut compared, mut carried, mut last) = (0, 0, None);
    for name in &names {
        let text = std::fs::read_to_string(name).unwrap();
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(
            first["is_snapshot"], true,
            "{name:?} starts with a snapshot"
        );
        carried += text.matches("\"synthetic\":true").count();
        let mut books = Rebuilder::new();
        books
            .apply_text(&text)
            .unwrap_or_else(|e| panic!("{name:?} does not rebuild on its own: {e}"));
        for symbol in symbols {
            let rebuilt = books.get("binance", symbol).expect("every file has both");
            let what = name.file_name().unwrap().to_str().unwrap();
            compared += u64::from(assert_is_servers_book(&feed, symbol, rebuilt, what));
        }
        // The file with the run's last row (a file may end on a gap record, which has no
        // `recv_ns`: a re-sync's gap can fall just before a rotation).
        let last_recv = |t: &str| -> u64 {
            t.lines()
                .rev()
                .find_map(|l| serde_json::from_str::<Value>(l).unwrap()["recv_ns"].as_u64())
                .expect("a file holds rows")
        };
        if last.as_ref().is_none_or(|(ns, _)| last_recv(&text) > *ns) {
            last = Some((last_recv(&text), books));
        }
    }
    assert!(
        compared as usize >= names.len(),
        "{compared} books compared"
    );
    assert!(carried >= names.len(), "{carried} synthetic snapshots");
    let (_, last) = last.unwrap();
    for symbol in symbols {
        let (a, b) = (
            last.get("binance", symbol).unwrap(),
            whole_books.get("binance", symbol).unwrap(),
        );
        assert_eq!(a.update_id, b.update_id, "{symbol}");
        assert!(
            a.book == b.book,
            "{symbol}: the last file ends on the single file's book"
        );
    }
    // The single stream has venue snapshots only.
    assert!(!whole.contains("\"synthetic\""));
}

/// `depth` and `book` as CSV: the columns the issue gives, one line per level change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depth_and_book_as_csv() {
    // A feed of its own per run, long enough for a loaded machine (the runs stop at
    // `--limit`): a feed shared by both could be over before the second run synced.
    let feed = feed(false, 3000);
    let dir = tempfile::tempdir().unwrap();
    for (channel, file) in [("depth", "d.csv"), ("book", "b.csv")] {
        let (server, rest) = servers(&feed).await;
        let out = dir.path().join(file);
        let args = [
            "record",
            "BTCUSDT",
            "--channel",
            channel,
            "--book-levels",
            "2",
            "--book-interval",
            "0",
            "--endpoint",
            server.url(),
            "--rest-endpoint",
            rest.url(),
            "--out",
            out.to_str().unwrap(),
            "--limit",
            "50",
        ];
        let done = util::run(&args).await;
        done.assert_no_panic();
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let first = lines.next().unwrap();
        if channel == "depth" {
            assert_eq!(
                header,
                "exchange,symbol,channel,recv_ns,exchange_ns,is_snapshot,first_update_id,update_id,prev_update_id,side,price,qty"
            );
            // The snapshot comes first, one line per level.
            assert!(first.starts_with("binance,BTCUSDT,depth,"), "{first}");
            assert!(
                first.contains(",true,,") && first.contains(",bid,"),
                "{first}"
            );
        } else {
            assert_eq!(
                header,
                "exchange,symbol,channel,recv_ns,exchange_ns,update_id,bid_0_price,bid_0_qty,bid_1_price,bid_1_qty,ask_0_price,ask_0_qty,ask_1_price,ask_1_qty"
            );
            assert_eq!(first.split(',').count(), 14, "{first}");
        }
        server.shutdown().await.unwrap();
        rest.shutdown().await;
    }
}

/// The replay server's depth mode from its command line: `foxtrot replay --depth` prints
/// its WebSocket and REST URLs, and a `stream` against them writes a snapshot and events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_depth_mode_from_the_command_line() {
    use tokio::io::AsyncBufReadExt;
    let mut replay = util::foxtrot(&[
        "replay",
        "--depth",
        "--listen",
        "127.0.0.1:0",
        "--depth-levels",
        "100",
        "--depth-interval",
        "5ms",
        "--rest-stale-first",
        "1",
    ])
    .spawn()
    .unwrap();
    let mut stdout = tokio::io::BufReader::new(replay.stdout.take().unwrap()).lines();
    let ws = stdout.next_line().await.unwrap().unwrap();
    let rest = stdout.next_line().await.unwrap().unwrap();
    let ws = ws.strip_prefix("listening on ").unwrap().to_owned();
    let rest = rest.strip_prefix("rest on ").unwrap().to_owned();
    let done = util::run(&[
        "stream",
        "BTCUSDT",
        "--channel",
        "depth",
        "--endpoint",
        &ws,
        "--rest-endpoint",
        &rest,
        "--limit",
        "20",
    ])
    .await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let rows = util::parse_ndjson(&done.stdout);
    assert_eq!(rows.len(), 20);
    assert_eq!(rows[0]["is_snapshot"], true);
    assert!(rows[1..].iter().all(|r| r["is_snapshot"] == false));
    util::signal(&replay, "INT");
    let status = tokio::time::timeout(PATIENCE, replay.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

/// Bad order-book flags: one line, exit 2.
#[tokio::test]
async fn bad_book_flags_are_refused() {
    for (args, want) in [
        (
            vec![
                "stream",
                "BTCUSDT",
                "--channel",
                "depth",
                "--rest-endpoint",
                "ftp://x",
            ],
            "invalid --rest-endpoint",
        ),
        (
            vec![
                "stream",
                "BTCUSDT",
                "--venue",
                "binance-futures",
                "--channel",
                "book",
                "--depth-speed",
                "1000ms",
            ],
            "--depth-speed 1000ms",
        ),
        (
            vec![
                "stream",
                "BTCUSDT",
                "--channel",
                "depth",
                "--on-full",
                "drop-newest",
            ],
            "--on-full drop-newest cannot be used with the depth channel",
        ),
    ] {
        let done = util::run(&args).await;
        done.assert_no_panic();
        assert_eq!(done.code, Some(2), "{args:?}: {}", done.stderr);
        assert!(done.stderr.contains(want), "{args:?}: {}", done.stderr);
        assert_eq!(done.stderr.trim().lines().count(), 1, "{}", done.stderr);
    }
}

/// Issue 10's first test, end to end: the replay server serves Binance's captured
/// diff-depth events and answers the snapshot request with the captured REST snapshot.
/// The `depth` file starts with that snapshot, drops the events it already holds (spot:
/// events 1-2; USD-M: 1-4), applies event 3 (event 5) first, and rebuilds the book that
/// applying the diffs by hand gives (the numbers of `book::sync`'s fixture tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorded_fixtures_sync_as_documented_through_the_binary() {
    struct Case {
        venue: &'static str,
        events: &'static str,
        snapshot: &'static str,
        snapshot_id: u64,
        first_applied: (u64, u64),
        applied: usize,
        best: [&'static str; 4],
        levels: (usize, usize),
    }
    let cases = [
        Case {
            venue: "binance",
            events: "depth.jsonl",
            snapshot: "depth_snapshot.jsonl",
            snapshot_id: 50093239218,
            first_applied: (50093239208, 50093239224),
            applied: 38,
            best: [
                "61824.00000000",
                "4.34580000",
                "61824.01000000",
                "0.03557000",
            ],
            levels: (1007, 1073),
        },
        Case {
            venue: "binance-futures",
            events: "futures_usdm_depth.jsonl",
            snapshot: "futures_usdm_depth_snapshot.jsonl",
            snapshot_id: 5123107852948,
            first_applied: (5123107850310, 5123107853551),
            applied: 26,
            best: ["61800.00", "14.476", "61800.10", "4.066"],
            levels: (1083, 1059),
        },
    ];
    for case in cases {
        let server = util::start_replay(util::replay_config(&[case.events])).await;
        let body = util::fixture_lines(case.snapshot).remove(0);
        let markets = DepthMarkets::recorded(
            case.venue == "binance-futures",
            [("BTCUSDT".to_owned(), body)],
        );
        let rest = RestServer::bind("127.0.0.1:0".parse().unwrap(), Arc::new(markets))
            .await
            .unwrap()
            .spawn();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("depth.ndjson");
        let rows = (case.applied + 1).to_string();
        let done = util::run(&[
            "record",
            "BTCUSDT",
            "--venue",
            case.venue,
            "--channel",
            "depth",
            "--endpoint",
            server.url(),
            "--rest-endpoint",
            rest.url(),
            "--out",
            out.to_str().unwrap(),
            "--limit",
            &rows,
        ])
        .await;
        done.assert_no_panic();
        assert_eq!(done.code, Some(0), "{}: {}", case.venue, done.stderr);
        server.shutdown().await.unwrap();
        rest.shutdown().await;
        let text = std::fs::read_to_string(&out).unwrap();
        let rows = util::parse_ndjson(&text);
        assert_eq!(rows.len(), case.applied + 1, "{}", case.venue);
        assert_eq!(rows[0]["is_snapshot"], true);
        assert_eq!(rows[0]["update_id"], case.snapshot_id);
        assert_eq!(
            (
                rows[1]["first_update_id"].as_u64(),
                rows[1]["update_id"].as_u64()
            ),
            (Some(case.first_applied.0), Some(case.first_applied.1)),
            "{}: the first applied event",
            case.venue
        );
        assert!(rows[1..].iter().all(|r| r["is_snapshot"] == false));
        let mut rebuilder = Rebuilder::new();
        rebuilder.apply_text(&text).unwrap();
        let book = &rebuilder.get(case.venue, "BTCUSDT").unwrap().book;
        let (bid, ask) = (book.bids().next().unwrap(), book.asks().next().unwrap());
        assert_eq!(
            [bid.price, bid.qty, ask.price, ask.qty].map(|d| d.to_string()),
            case.best,
            "{}",
            case.venue
        );
        assert_eq!(
            (
                book.len(foxtrot::book::Side::Bid),
                book.len(foxtrot::book::Side::Ask)
            ),
            case.levels,
            "{}",
            case.venue
        );
    }
}

/// Converts the raw capture at `raw` with the `book` flags of [`record_args`]; the text.
pub(super) async fn convert_capture(raw: &Path) -> String {
    let out = raw.with_extension("converted.ndjson");
    let levels = LEVELS.to_string();
    let done = util::convert(
        raw,
        &out,
        &["--book-levels", &levels, "--book-interval", "0"],
    )
    .await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    std::fs::read_to_string(&out).unwrap()
}

/// `convert` of the raw capture of a depth run gives the run's `depth` and `book` rows
/// and gap records line for line: the capture holds each REST snapshot's answer (`rest`
/// records) where the run applied it, and convert drives the same sync with them. Spot
/// with forced gaps (re-syncs, each with a new snapshot), and futures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convert_of_a_depth_capture_gives_the_runs_rows() {
    let gappy = DepthFeed {
        gap_every: Some(300),
        gap_symbol: Some("ETHUSDT".to_owned()),
        max_events: Some(700),
        interval: Duration::from_millis(4),
        ..feed(false, 0)
    };
    for (feed, venue) in [(gappy, "binance"), (feed(true, 500), "binance-futures")] {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw.jsonl");
        let extra = ["--raw", raw.to_str().unwrap()];
        let symbols = ["BTCUSDT", "ETHUSDT"];
        let (text, _) = record_until_caught_up(&feed, venue, &symbols, &extra).await;
        let captured = std::fs::read_to_string(&raw).unwrap();
        let rests = captured
            .lines()
            .filter(|l| l.contains("\"event\":\"rest\""))
            .count();
        assert!(rests >= 2, "{venue}: a snapshot per symbol: {rests}");
        if venue == "binance" {
            assert!(text.contains("\"type\":\"gap\""), "forced re-syncs");
            assert!(rests >= 3, "a snapshot per re-sync too: {rests}");
        }
        let converted = convert_capture(&raw).await;
        assert!(converted.lines().count() > 1000, "{venue}");
        assert_eq!(converted, text, "{venue}: convert equals the run");

        // A capture from before `rest` records: no book starts, and convert says why.
        let old = dir.path().join("old.jsonl");
        let kept: String = captured
            .lines()
            .filter(|l| !l.contains("\"event\":\"rest\""))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&old, kept).unwrap();
        let out = dir.path().join("old.ndjson");
        let done = util::convert(&old, &out, &[]).await;
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        assert!(
            done.stderr.contains("holds no REST depth snapshots"),
            "{}",
            done.stderr
        );
        let rows = util::parse_ndjson(&std::fs::read_to_string(&out).unwrap());
        assert!(
            rows.iter()
                .all(|r| r["type"] == "gap" && r["reason"] == "buffer_overflow"),
            "{venue}: {:?}",
            rows.first()
        );
    }
}
