//! `--out nats://`: JetStream publishing, read back with nats-py.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use foxtrot::replay::ReplayConfig;
use serde_json::Value;

use super::{DRAIN, Nats, outage_recorder, read_back, sigint_recorder, summary};
use crate::util::{PATIENCE, finish, foxtrot, replay_config, start_replay, stderr_lines};

const TEMPLATE: &str = "md.{exchange}.{channel}.{symbol}";

/// A flood server sending `per_connection` generated messages on each connection.
pub async fn flood(per_connection: u64) -> foxtrot::replay::RunningServer {
    paced_flood(per_connection, 0).await
}

/// A flood at most `rate` messages a second per connection (0: as fast as taken), so an
/// outage started early falls in the middle of the run however fast the machine is.
pub async fn paced_flood(per_connection: u64, rate: u64) -> foxtrot::replay::RunningServer {
    let mut config = ReplayConfig::new(foxtrot::replay::Library::load(&[]).unwrap());
    config.behavior.flood = Some(per_connection);
    config.behavior.rate = rate;
    start_replay(config).await
}

fn out(nats: &Nats) -> String {
    format!("nats://{}/{TEMPLATE}", nats.addr())
}

/// The stream's count and its messages, as nats-py reads them.
async fn stream(nats: &Nats) -> (u64, Vec<Value>) {
    let mut lines = read_back("read_nats.py", &[&nats.addr(), "md.>"]).await;
    let head = lines.remove(0);
    (head["messages"].as_u64().unwrap(), lines)
}

/// Checks every message: the subject and id follow from the payload, ids are unique and,
/// when `ordered` (no publish was retried), rise within each subject. Returns the ids.
fn check_messages(messages: &[Value], ordered: bool) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut last: HashMap<String, u64> = HashMap::new();
    for m in messages {
        let data: Value = serde_json::from_str(m["data"].as_str().unwrap()).unwrap();
        let (exchange, symbol, channel) = (
            data["exchange"].as_str().unwrap(),
            data["symbol"].as_str().unwrap(),
            data["channel"].as_str().unwrap(),
        );
        assert_eq!(m["subject"], format!("md.{exchange}.{channel}.{symbol}"));
        let id = m["id"].as_str().unwrap().to_owned();
        if data.get("type").is_none() {
            let seq = ["update_id", "trade_id", "agg_id"]
                .iter()
                .find_map(|k| data[k].as_u64())
                .unwrap();
            assert_eq!(id, format!("{exchange}:{symbol}:{channel}:{seq}"));
            let previous = last.insert(m["subject"].as_str().unwrap().to_owned(), seq);
            assert!(
                !ordered || previous.is_none_or(|p| p < seq),
                "{id} after {previous:?}"
            );
        }
        assert!(ids.insert(id.clone()), "{id} stored twice");
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_stream_holds_every_tick_once_under_its_subject_and_id() {
    let nats = Nats::start().await;
    let server = flood(30_000).await;
    let n = 20_000;
    let done = crate::util::run(&[
        "record",
        "BTCUSDT",
        "ETHUSDT",
        "BNBUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--limit",
        &n.to_string(),
        "--shutdown-timeout",
        DRAIN,
        "--nats-create-stream",
        "--out",
        &out(&nats),
    ])
    .await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(summary(&done.stderr, "written"), n);
    let (held, messages) = stream(&nats).await;
    assert_eq!(held, n);
    assert_eq!(messages.len() as u64, n);
    let ids = check_messages(&messages, true);
    assert_eq!(ids.len() as u64, n);
    let subjects: HashSet<&str> = messages
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects.len(), 6, "{subjects:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_drops_what_a_second_recorder_publishes_again() {
    let nats = Nats::start().await;
    // Recorded messages: every connection gets the same ones, so two recorders publish
    // the same ticks with the same ids.
    let server = start_replay(replay_config(&["trade.jsonl", "bookTicker.jsonl"])).await;
    let args = |extra: &'static str| {
        let mut args = vec![
            "record".to_owned(),
            "BTCUSDT".into(),
            "--channel".into(),
            "trade".into(),
            "--channel".into(),
            "bookTicker".into(),
            "--endpoint".into(),
            server.url().into(),
            "--limit".into(),
            "81".into(),
            "--shutdown-timeout".into(),
            DRAIN.into(),
            "--out".into(),
            out(&nats),
        ];
        if !extra.is_empty() {
            args.push(extra.into());
        }
        args
    };
    for extra in ["--nats-create-stream", ""] {
        let args = args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let done = crate::util::run(&args).await;
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        assert_eq!(summary(&done.stderr, "written"), 81, "{}", done.stderr);
    }
    let (held, messages) = stream(&nats).await;
    assert_eq!(held, 81, "JetStream kept the second recorder's copies");
    assert_eq!(check_messages(&messages, true).len(), 81);
}

#[tokio::test]
async fn nats_without_a_stream_says_how_to_make_one() {
    let nats = Nats::start().await;
    let done = crate::util::run(&[
        "record",
        "BTCUSDT",
        "--endpoint",
        "ws://127.0.0.1:9",
        "--out",
        &out(&nats),
    ])
    .await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
    for needle in [
        "md.binance.ticker.BTCUSDT",
        "nats stream add",
        "--nats-create-stream",
    ] {
        assert!(
            done.stderr.contains(needle),
            "{needle} not in {}",
            done.stderr
        );
    }
}

/// Reads the stats objects on stderr until one has `field` at least `at_least`.
pub(super) async fn wait_stats(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
    field: &str,
    at_least: u64,
) {
    tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Ok(stats) = serde_json::from_str::<Value>(&line)
                && stats[field].as_u64().unwrap_or(0) >= at_least
            {
                return;
            }
        }
        panic!("stderr ended before {field} reached {at_least}");
    })
    .await
    .unwrap_or_else(|_| panic!("{field} did not reach {at_least} in time"));
}

/// Reads the rest of stderr and returns the last stats object and all lines.
pub(super) async fn rest(
    mut lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
) -> (Value, String) {
    let mut text = String::new();
    let mut last = Value::Null;
    while let Ok(Some(line)) = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .unwrap()
    {
        if let Ok(stats) = serde_json::from_str::<Value>(&line) {
            last = stats;
        }
        text.push_str(&line);
        text.push('\n');
    }
    (last, text)
}

pub(super) const OUTAGE: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_for_5s_loses_nothing_with_block_and_counts_drops_with_drop_newest() {
    for policy in ["block", "drop-newest"] {
        let mut nats = Nats::start().await;
        // 20,000 at most 2,000 a second: 10 s or more, the outage starts at 1,000 written.
        let server = paced_flood(200_000, 2_000).await;
        let n: u64 = 20_000;
        let output = ["--nats-create-stream", "--out", &out(&nats)];
        let mut child = outage_recorder(server.url(), "bookTicker", n, policy, &output);
        let mut lines = stderr_lines(&mut child);
        wait_stats(&mut lines, "written", 1_000).await;
        nats.stop().await;
        // The outage is the scenario under test, not a wait for an event.
        tokio::time::sleep(OUTAGE).await;
        nats.resume().await;
        let (last, text) = rest(lines).await;
        let done = finish(child).await;
        assert_eq!(last["final"], true, "{text}");
        assert!(
            last["broker_errors"].as_u64().unwrap() > 0,
            "{policy}: outage not counted: {last}"
        );
        assert_eq!(
            last["gaps"], 0,
            "an outage of the broker is no gap in the market data"
        );
        let (received, written, dropped, lost) = (
            summary(&text, "received"),
            summary(&text, "written"),
            summary(&text, "dropped"),
            summary(&text, "lost"),
        );
        assert_eq!(received, n);
        assert_eq!(written + dropped + lost, n, "{policy}: {text}");
        match policy {
            "block" => {
                assert_eq!(done.code, Some(0), "{policy}: {text}");
                assert_eq!((dropped, lost), (0, 0), "{text}");
            }
            _ => {
                assert!(dropped > 0, "no drops during a 5 s outage: {text}");
                // Exit 3 when acknowledgements were still missing at the deadline: they are
                // reported, never silent.
                assert_eq!(done.code, Some(if lost > 0 { 3 } else { 0 }), "{text}");
            }
        }
        let (held, messages) = stream(&nats).await;
        // What was stored and not acknowledged in time is counted lost, but may be there.
        assert!(
            (written..=written + lost).contains(&held),
            "{policy}: {held} held"
        );
        // Retried publishes may follow later ones of their stream (see src/sink/nats.rs).
        assert_eq!(check_messages(&messages, false).len() as u64, held);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_sigint_with_the_broker_gone_reports_the_unacknowledged_as_lost() {
    let mut nats = Nats::start().await;
    // Paced, so records are still on their way when the broker goes.
    let server = paced_flood(200_000, 4_000).await;
    let output = ["--nats-create-stream", "--out", &out(&nats)];
    let mut child = sigint_recorder(server.url(), &output);
    let mut lines = stderr_lines(&mut child);
    wait_stats(&mut lines, "written", 1_000).await;
    nats.stop().await;
    wait_stats(&mut lines, "broker_errors", 1).await;
    super::sigint_reports_the_unacknowledged_as_lost(child, lines).await;
}

/// The first update id of [`live_books`].
const FIRST_ID: u64 = 1_000_000;

/// A live timeline (as from a venue: a connection receives what is published after it
/// connected) of `n` generated BTCUSDT book tickers, ids from [`FIRST_ID`] up by one, at
/// `rate` a second.
async fn live_books(n: u64, rate: u64) -> foxtrot::replay::RunningServer {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"u":{},"s":"BTCUSDT","b":"61837.{:02}000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#,
                FIRST_ID + i,
                i % 60
            )
        })
        .collect();
    let library = foxtrot::replay::Library::from_lines(lines.iter().map(String::as_str)).unwrap();
    let mut config = ReplayConfig::new(library);
    config.behavior.rate = rate;
    config.behavior.live = true;
    start_replay(config).await
}

/// The duplicates a run's log says JetStream acknowledged (`-v`).
fn duplicates_reported(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|l| l.split("JetStream already held ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_make_before_break_overlaps_are_stored_once() {
    // Two overlaps: each recorder replaces its connection every second (make-before-break
    // inside one process: foxtrot itself drops the repeats of the overlap), and a new
    // recorder takes over from a running one (make-before-break of a deployment: both
    // publish the overlap's ticks, with the same Nats-Msg-Id, and JetStream drops one copy).
    let nats = Nats::start().await;
    let server = live_books(6_000, 100).await;
    let out = out(&nats);
    let recorder = |create: bool| {
        let mut args = vec![
            "-v",
            "record",
            "BTCUSDT",
            "--channel",
            "bookTicker",
            "--endpoint",
            server.url(),
            "--max-connection-age",
            "1s",
            "--stats-interval",
            "100ms",
            "--shutdown-timeout",
            DRAIN,
            "--out",
            &out,
        ];
        if create {
            args.push("--nats-create-stream");
        }
        foxtrot(&args).spawn().unwrap()
    };
    let mut old = recorder(true);
    let mut old_lines = stderr_lines(&mut old);
    // Two seconds of ticks: past its first replacement.
    wait_stats(&mut old_lines, "written", 200).await;
    let mut new = recorder(false);
    let mut new_lines = stderr_lines(&mut new);
    // Both publish for a second, then the old one stops.
    wait_stats(&mut new_lines, "written", 100).await;
    crate::util::signal(&old, "INT");
    let (_, old_text) = rest(old_lines).await;
    let old_done = finish(old).await;
    assert_eq!(old_done.code, Some(0), "{old_text}");
    // The new one goes on alone for a while.
    wait_stats(&mut new_lines, "written", 400).await;
    crate::util::signal(&new, "INT");
    let (_, new_text) = rest(new_lines).await;
    let new_done = finish(new).await;
    assert_eq!(new_done.code, Some(0), "{new_text}");
    assert!(
        server.stats().connections_accepted() >= 4,
        "each recorder replaced its connection at least once: {} connections",
        server.stats().connections_accepted()
    );

    let (held, messages) = stream(&nats).await;
    assert_eq!(messages.len() as u64, held);
    // Each tick once, and no hole across the hand-over.
    let mut ids: Vec<u64> = messages
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(m["data"].as_str().unwrap()).unwrap()["update_id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as u64, held, "a tick stored twice");
    assert_eq!(
        ids[ids.len() - 1] - ids[0] + 1,
        held,
        "a hole in {:?}..{:?}",
        ids.first(),
        ids.last()
    );
    check_messages(&messages, false);
    // Published twice, stored once: the overlap's duplicates, as JetStream acknowledged them.
    let written = summary(&old_text, "written") + summary(&new_text, "written");
    let duplicates = written - held;
    assert!(duplicates > 0, "no overlap: {written} written, {held} held");
    assert_eq!(
        duplicates_reported(&old_text) + duplicates_reported(&new_text),
        duplicates,
        "{old_text}\n{new_text}"
    );
}
