//! Binance depth over connections the replay server drops: every drop is a gap record per
//! stream, the client connects again, fetches a new REST snapshot and writes the synced
//! book again; the file still rebuilds the server's books, and `convert` of the raw capture
//! gives the run's rows line for line.

use super::*;

/// Spot depth of two symbols over a connection the server drops (no Close frame) after
/// every 400 messages: each drop is one `disconnected` gap record for `depth` and one for
/// `book` of each symbol; the new connection syncs again from a new REST snapshot (a `rest`
/// record in the capture) written as a snapshot event; the books end as the server's, and
/// `convert` of the raw capture equals the run's NDJSON line for line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_depth_connection_resyncs_and_converts_line_for_line() {
    let feed = DepthFeed {
        interval: Duration::from_millis(3),
        ..feed(false, 1500)
    };
    let drops = Behavior {
        drop_after: Some(400),
        ..Behavior::default()
    };
    let (server, rest) = servers_behaving(&feed, drops).await;
    let dir = tempfile::tempdir().unwrap();
    let (out, raw) = (
        dir.path().join("depth.ndjson"),
        dir.path().join("raw.jsonl"),
    );
    let symbols = ["BTCUSDT", "ETHUSDT"];
    let mut extra = vec!["--raw", raw.to_str().unwrap()];
    extra.extend(util::FAST);
    let args = record_args(&server, &rest, "binance", &symbols, &out, &extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let want: HashMap<&str, u64> = symbols
        .iter()
        .map(|s| (*s, feed.book_after(s, 1500).last_id()))
        .collect();
    run_until_caught_up(&args, &out, &want).await;
    server.shutdown().await.unwrap();
    rest.shutdown().await;

    let text = std::fs::read_to_string(&out).unwrap();
    let seen = check(&feed, &symbols, &text);
    for symbol in symbols {
        let s = &seen[symbol];
        let gaps = |channel: &str| s.gaps.iter().filter(|(c, _)| c == channel).count() as u64;
        let (depth_gaps, book_gaps) = (gaps("depth"), gaps("book"));
        assert!(depth_gaps >= 2, "{symbol}: a gap per drop: {s:?}");
        assert_eq!(
            book_gaps, depth_gaps,
            "{symbol}: a gap record per stream: {s:?}"
        );
        assert!(s.gaps.iter().all(|(_, r)| r == "disconnected"), "{s:?}");
        // A re-sync after a drop, though not after every one: a connection dropped while
        // its snapshots wait for the weight budget (50 a spot snapshot, about one a second
        // once the burst is spent) has none.
        assert!(
            (2..=depth_gaps + 1).contains(&s.snapshots),
            "{symbol}: the first sync and re-syncs: {s:?}"
        );
    }
    let captured = std::fs::read_to_string(&raw).unwrap();
    let rests = captured
        .lines()
        .filter(|l| l.contains("\"event\":\"rest\""))
        .count() as u64;
    let snapshots: u64 = seen.values().map(|s| s.snapshots).sum();
    assert!(
        rests >= snapshots,
        "a REST snapshot per re-sync: {rests} < {snapshots}"
    );

    let converted = outputs::convert_capture(&raw).await;
    assert!(converted.lines().count() > 1000);
    if converted != text {
        let first = converted
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(converted.lines().count().min(text.lines().count()));
        panic!(
            "convert differs from the run at line {}: {:?} vs {:?} ({} vs {} lines)",
            first + 1,
            converted.lines().nth(first),
            text.lines().nth(first),
            converted.lines().count(),
            text.lines().count()
        );
    }
}
