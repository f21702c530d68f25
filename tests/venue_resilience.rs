//! The resilience tests every venue must pass, run for each row of the venue table
//! (`util::{BINANCE, BYBIT, OKX}`) against its replay dialect: reconnects with gap records,
//! a stalled connection replaced, make-before-break replacements de-duplicated, and the
//! staged shutdown while reconnecting. Test names read `venue_resilience::<venue>::<test>`.

use serde_json::Value;

use crate::util::*;

/// One test function per venue, in a module named after the venue.
macro_rules! venue_tests {
    ($venue:ident, $row:ident, $($test:ident),*) => {
        mod $venue {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(&crate::util::$row).await;
                }
            )*
        }
    };
}

/// Every listed test, for every venue.
macro_rules! for_every_venue {
    ($($test:ident),* $(,)?) => {
        venue_tests!(binance, BINANCE, $($test),*);
        venue_tests!(bybit, BYBIT, $($test),*);
        venue_tests!(okx, OKX, $($test),*);
    };
}

for_every_venue!(
    every_close_is_followed_by_a_reconnect_and_a_gap_record,
    a_stalled_connection_is_replaced_and_the_gap_recorded,
    aged_connections_are_replaced_without_a_hole_or_a_repeat,
    shutdown_while_reconnecting_exits_cleanly_with_a_gap_record,
);

fn ticks(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|v| v.get("type").is_none()).collect()
}

fn gaps(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|v| v["type"] == "gap").collect()
}

/// Runs the venue's stream against `url` with `extra` flags.
async fn stream(venue: &Venue, url: &str, extra: &[&str]) -> Finished {
    let mut args = venue.stream_args(url);
    args.extend(extra);
    run(&args).await
}

/// Asserts a gap record names the venue's stream and `reason`, in order of time.
fn assert_gap(venue: &Venue, gap: &Value, reason: &str) {
    assert_eq!(
        (
            &gap["exchange"],
            &gap["symbol"],
            &gap["channel"],
            &gap["reason"]
        ),
        (
            &venue.name.into(),
            &venue.symbol.into(),
            &venue.channel.into(),
            &reason.into()
        ),
        "{gap}"
    );
    assert!(
        gap["from_ns"].as_u64().unwrap() <= gap["to_ns"].as_u64().unwrap(),
        "{gap}"
    );
}

async fn every_close_is_followed_by_a_reconnect_and_a_gap_record(venue: &Venue) {
    let mut config = venue.replay_config();
    config.behavior.close_after = Some(10);
    let server = start_replay(config).await;
    let out = stream(venue, server.url(), &["--limit", "50"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&out.stdout);
    assert_eq!(ticks(&lines).len(), 50);
    assert!(ticks(&lines).iter().all(|t| t["exchange"] == venue.name));
    // Five connections of ten ticks: a gap record between each two, in stream order.
    let kinds: String = lines
        .iter()
        .map(|v| if v["type"] == "gap" { 'g' } else { 't' })
        .collect();
    // The fifth close may come before the stop: its interruption is recorded too.
    let want = format!("{}{}", "ttttttttttg".repeat(4), "tttttttttt");
    assert!(kinds == want || kinds == format!("{want}g"), "{kinds}");
    for gap in gaps(&lines) {
        assert_gap(venue, gap, "disconnected");
    }
    let gap_lines = gaps(&lines).len() as u64;
    assert_eq!(summary_count(&out.stderr, "gaps"), gap_lines);
    // A gap at the very end was still open at shutdown: no reconnect closed it.
    let trailing = u64::from(kinds.ends_with('g'));
    assert_eq!(
        summary_count(&out.stderr, "reconnects") + trailing,
        gap_lines
    );
    assert_eq!(summary_count(&out.stderr, "stalls"), 0);
    let stats = server.stats();
    assert_eq!(stats.connections_accepted(), 5);
    assert_eq!(
        stats.max_connections_open(),
        1,
        "never two connections at once"
    );
    server.shutdown().await.unwrap();
}

async fn a_stalled_connection_is_replaced_and_the_gap_recorded(venue: &Venue) {
    let mut config = venue.replay_config();
    config.behavior.stall_after = Some(5);
    let server = start_replay(config).await;
    let out = stream(
        venue,
        server.url(),
        &["--limit", "10", "--stale-after", "1s"],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&out.stdout);
    assert_eq!(ticks(&lines).len(), 10);
    let gap = gaps(&lines);
    assert_eq!(gap.len(), 1, "{lines:?}");
    assert_gap(venue, gap[0], "stalled");
    let silent_ns = gap[0]["to_ns"].as_u64().unwrap() - gap[0]["from_ns"].as_u64().unwrap();
    assert!(
        silent_ns >= 1_000_000_000,
        "detected only after --stale-after: {silent_ns}"
    );
    assert_eq!(summary_count(&out.stderr, "stalls"), 1);
    assert_eq!(server.stats().max_connections_open(), 1);
    server.shutdown().await.unwrap();
}

/// The live timeline's rate, and how long the run records it.
const LIVE_RATE: u64 = 50;
const LIVE_SECONDS: f64 = 2.0;

async fn aged_connections_are_replaced_without_a_hole_or_a_repeat(venue: &Venue) {
    // A live timeline (50 messages/s shared by all connections, like a venue: a new
    // connection gets what is published after it connected) and connections replaced every
    // 250 ms: make-before-break bridges each, de-duplicating the overlap.
    let mut config = venue.replay_config();
    config.behavior.rate = LIVE_RATE;
    config.behavior.live = true;
    let library_seconds = venue.frames().len() as f64 / LIVE_RATE as f64;
    let server = start_replay(config).await;
    let out = stream(
        venue,
        server.url(),
        &["--duration", "2s", "--max-connection-age", "250ms"],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = parse_ndjson(&out.stdout);
    assert!(
        gaps(&lines).is_empty(),
        "a replacement is not a gap: {lines:?}"
    );
    let mut ids: Vec<u64> = ticks(&lines)
        .iter()
        .map(|t| t[venue.id].as_u64().unwrap())
        .collect();
    let mut all = venue.fixture_ids();
    if venue.repeats_ids {
        // An unchanged book pushed again keeps its id: compare the distinct ids.
        ids.dedup();
        all.dedup();
    }
    // A file joining captures of several days may step back to older ids, which
    // de-duplication (increasing ids per stream) rightly drops, or keeps when it reaches a
    // fresh replacement: compare the increasing ones only.
    let increasing: Vec<u64> = all
        .iter()
        .scan(0u64, |last, &id| {
            let keep = id > *last;
            *last = (*last).max(id);
            Some(keep.then_some(id))
        })
        .flatten()
        .collect();
    let ids: Vec<u64> = ids
        .into_iter()
        .filter(|id| increasing.binary_search(id).is_ok())
        .collect();
    assert!(ids.len() >= 5, "{ids:?}");
    let start = increasing
        .iter()
        .position(|id| Some(id) == ids.first())
        .expect("known ids");
    assert!(start <= 20, "joined late: at {start}");
    // The run may end before the timeline does: a contiguous run, each message once.
    let end = (start + ids.len()).min(increasing.len());
    assert_eq!(ids, increasing[start..end], "a hole or a repeat");
    if library_seconds + 0.5 < LIVE_SECONDS {
        assert_eq!(end, increasing.len(), "the timeline ended within the run");
    }
    let stats = server.stats();
    assert!(
        stats.connections_accepted() > 2,
        "{}",
        stats.connections_accepted()
    );
    assert!(
        stats.max_connections_open() <= 2,
        "make-before-break holds at most two"
    );
    server.shutdown().await.unwrap();
}

async fn shutdown_while_reconnecting_exits_cleanly_with_a_gap_record(venue: &Venue) {
    let mut config = venue.replay_config();
    config.behavior.limit = Some(5);
    let server = start_replay(config).await;
    let url = server.url().to_owned();
    let mut child = foxtrot(&[
        "stream",
        venue.symbol,
        "--venue",
        venue.name,
        "--channel",
        venue.channel,
        "--format",
        "ndjson",
        "--endpoint",
        &url,
        "--backoff-initial",
        "50ms",
        "--backoff-max",
        "200ms",
        "-v",
    ])
    .spawn()
    .unwrap();
    let mut stderr = stderr_lines(&mut child);
    tokio::time::timeout(PATIENCE, server.stats().wait_for_sent(5))
        .await
        .unwrap();
    // The server goes away: the client is now reconnecting, refused, in backoff.
    server.shutdown().await.unwrap();
    stderr_until(&mut stderr, "reconnecting in").await;
    signal(&child, "INT");
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stdout = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout)
        .await
        .unwrap();
    let lines = parse_ndjson(&stdout);
    assert_eq!(ticks(&lines).len(), 5, "nothing received was lost");
    let gap = gaps(&lines);
    assert_eq!(
        gap.len(),
        1,
        "the open interruption is recorded at shutdown"
    );
    assert_gap(venue, gap[0], "disconnected");
}
