//! `--out kafka://`: publishing to tansu, read back with confluent-kafka (PyPI).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::nats::{OUTAGE, flood, paced_flood, rest, wait_stats};
use super::{DRAIN, Tansu, metric, outage_recorder, read_back, scrape, sigint_recorder, summary};
use crate::util::{finish, replay_config, start_replay, stderr_lines, stderr_until};

/// Reads `topic` back, expecting `n` records.
pub(super) async fn records(tansu: &Tansu, topic: &str, n: u64) -> Vec<Value> {
    read_back(
        "read_kafka.py",
        &[&tansu.addr(), topic, &n.to_string(), "3"],
    )
    .await
}

/// Checks every record: key and headers follow from the value; a stream's records are in
/// one partition; when `once` (the source sends every tick once), in rising id order and
/// no tick twice. Returns the number of ticks and gaps.
fn check_records(records: &[Value], once: bool) -> (u64, u64) {
    let mut partition_of: HashMap<String, u64> = HashMap::new();
    let mut last: HashMap<String, (u64, u64)> = HashMap::new();
    let mut ticks = HashSet::new();
    let (mut count, mut gaps) = (0, 0);
    for r in records {
        let value: Value = serde_json::from_str(r["value"].as_str().unwrap()).unwrap();
        let (exchange, symbol, channel) = (
            value["exchange"].as_str().unwrap(),
            value["symbol"].as_str().unwrap(),
            value["channel"].as_str().unwrap(),
        );
        let key = format!("{exchange}:{symbol}:{channel}");
        assert_eq!(r["key"], key);
        let headers = &r["headers"];
        assert_eq!(headers["exchange"], exchange);
        assert_eq!(headers["channel"], channel);
        let partition = r["partition"].as_u64().unwrap();
        assert_eq!(
            *partition_of.entry(key.clone()).or_insert(partition),
            partition,
            "{key}"
        );
        if value.get("type").is_some() {
            assert_eq!(headers["type"], "gap");
            assert_eq!(
                headers["recv_ns"].as_str().unwrap(),
                value["to_ns"].to_string()
            );
            gaps += 1;
            continue;
        }
        assert_eq!(
            headers["recv_ns"].as_str().unwrap(),
            value["recv_ns"].to_string()
        );
        let seq = ["update_id", "trade_id", "agg_id"]
            .iter()
            .find_map(|k| value[k].as_u64())
            .unwrap();
        count += 1;
        if !once {
            continue;
        }
        let offset = r["offset"].as_u64().unwrap();
        if let Some((previous, at)) = last.insert(key.clone(), (seq, offset)) {
            // Records of one partition arrive in offset order.
            assert!(
                at < offset && previous < seq,
                "{key}: {seq}@{offset} after {previous}@{at}"
            );
        }
        assert!(ticks.insert((key, seq)), "a tick twice: {value}");
    }
    (count, gaps)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_topic_holds_100000_ticks_once_keyed_and_in_stream_order() {
    let tansu = Tansu::start().await;
    tansu.create_topic("marketdata", 3).await;
    let server = flood(150_000).await;
    let n: u64 = 100_000;
    let done = crate::util::run(&[
        "record",
        "BTCUSDT",
        "ETHUSDT",
        "BNBUSDT",
        "SOLUSDT",
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
        "--out",
        &format!("kafka://{}/marketdata", tansu.addr()),
    ])
    .await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(summary(&done.stderr, "written"), n);
    let records = records(&tansu, "marketdata", n).await;
    assert_eq!(records.len() as u64, n, "records read back");
    assert_eq!(check_records(&records, true), (n, 0));
    let partitions: HashSet<u64> = records
        .iter()
        .map(|r| r["partition"].as_u64().unwrap())
        .collect();
    assert!(
        partitions.len() > 1,
        "8 streams all in one partition: {partitions:?}"
    );
    // The Java client's partition for the key (librdkafka's murmur2_random), as the
    // README promises.
    for r in &records {
        let key = r["key"].as_str().unwrap();
        let expected = foxtrot::sink::kafka::partition_of(key.as_bytes(), 3);
        assert_eq!(r["partition"].as_i64(), Some(i64::from(expected)), "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_topic_holds_the_gap_records_of_forced_disconnects() {
    let tansu = Tansu::start().await;
    tansu.create_topic("gaps", 1).await;
    let mut config = replay_config(&["trade.jsonl"]);
    // The socket dies (no close frame) every 15 messages: foxtrot reconnects, skips what
    // it already has, and writes a gap record for each interruption.
    config.behavior.drop_after = Some(15);
    let server = start_replay(config).await;
    let done = crate::util::run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--limit",
        "41",
        "--shutdown-timeout",
        DRAIN,
        "--backoff-initial",
        "10ms",
        "--out",
        &format!("kafka://{}/gaps", tansu.addr()),
    ])
    .await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let gaps = summary(&done.stderr, "gaps");
    assert!(gaps >= 2, "{}", done.stderr);
    let records = records(&tansu, "gaps", 41 + gaps).await;
    // Every connection replays the file from its start, so ids repeat across reconnects.
    assert_eq!(check_records(&records, false), (41, gaps));
    // One partition keeps the write order: each gap record sits between ticks.
    let is_gap = |r: &Value| r["headers"]["type"] == "gap";
    assert!(!is_gap(&records[0]) && !is_gap(records.last().unwrap()));
}

#[tokio::test]
async fn kafka_without_the_topic_says_how_to_create_it() {
    let tansu = Tansu::start().await;
    let done = crate::util::run(&[
        "record",
        "BTCUSDT",
        "--endpoint",
        "ws://127.0.0.1:9",
        "--out",
        &format!("kafka://{}/nosuchtopic", tansu.addr()),
    ])
    .await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    for needle in ["nosuchtopic", "does not exist", "tansu topic create"] {
        assert!(
            done.stderr.contains(needle),
            "{needle} not in {}",
            done.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_broker_down_for_5s_loses_nothing_with_block_and_counts_drops_with_drop_newest() {
    for policy in ["block", "drop-newest"] {
        broker_down_for_5s(policy).await;
    }
}

async fn broker_down_for_5s(policy: &str) {
    let mut tansu = Tansu::start().await;
    tansu.create_topic("restart", 3).await;
    // 40,000 at most 4,000 a second: 10 s or more, the outage starts at 1,000 written.
    let server = paced_flood(200_000, 4_000).await;
    let n: u64 = 40_000;
    // Trades: the flood numbers each stream's trades one by one, so a hole would show.
    let out = format!("kafka://{}/restart", tansu.addr());
    let mut child = outage_recorder(server.url(), "trade", n, policy, &["--out", &out]);
    let mut lines = stderr_lines(&mut child);
    wait_stats(&mut lines, "written", 1_000).await;
    tansu.stop().await;
    // The outage is the scenario under test, not a wait for an event.
    tokio::time::sleep(OUTAGE).await;
    // Memory storage comes back empty: the topic is made again, and only what was
    // published after the restart can be read back; the counts say the rest.
    tansu.resume().await;
    tansu.create_topic("restart", 3).await;
    let (last, text) = rest(lines).await;
    let done = finish(child).await;
    assert!(
        last["broker_errors"].as_u64().unwrap() > 0,
        "{policy}: outage not counted: {last}"
    );
    assert_eq!(
        last["gaps"], 0,
        "an outage of the broker is no gap in the market data"
    );
    let (written, dropped) = (
        last["written"].as_u64().unwrap(),
        last["dropped"].as_u64().unwrap(),
    );
    assert_eq!(summary(&text, "received"), n, "{text}");
    if policy == "block" {
        assert_eq!(done.code, Some(0), "{text}");
        assert_eq!((written, dropped), (n, 0), "{last}");
    } else {
        assert_eq!(done.code, Some(0), "{text}");
        assert!(dropped > 0, "no drops during a 5 s outage: {last}");
        assert_eq!(written + dropped, n, "{last}");
    }
    // What the restarted broker holds (its memory storage lost the rest): every record
    // once, keyed, in stream order; with `block`, for each stream every trade from the
    // first it got to the last of the run, without a hole.
    let records = records(&tansu, "restart", 1).await;
    assert!(!records.is_empty() && records.len() as u64 <= written);
    check_records(&records, true);
    if policy != "block" {
        return;
    }
    let mut ids: HashMap<String, Vec<u64>> = HashMap::new();
    for r in &records {
        let value: Value = serde_json::from_str(r["value"].as_str().unwrap()).unwrap();
        ids.entry(r["key"].as_str().unwrap().to_owned())
            .or_default()
            .push(value["trade_id"].as_u64().unwrap());
    }
    assert_eq!(ids.len(), 2, "{:?}", ids.keys());
    for (key, mut ids) in ids {
        ids.sort_unstable();
        assert!(
            ids.windows(2).all(|w| w[1] == w[0] + 1),
            "{key}: a hole after the restart"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_sigint_with_the_broker_gone_reports_the_unacknowledged_as_lost() {
    let mut tansu = Tansu::start().await;
    tansu.create_topic("sigint", 1).await;
    // Paced, so records are still on their way when the broker goes.
    let server = paced_flood(200_000, 4_000).await;
    let out = format!("kafka://{}/sigint", tansu.addr());
    let output = ["--metrics-addr", "127.0.0.1:0", "--out", &out];
    let mut child = sigint_recorder(server.url(), &output);
    let mut lines = stderr_lines(&mut child);
    let seen = stderr_until(&mut lines, "serving metrics on http://").await;
    let addr = seen.last().unwrap().rsplit("http://").next().unwrap();
    let addr = addr.trim_end_matches("/metrics").to_owned();
    wait_stats(&mut lines, "written", 1_000).await;
    tansu.stop().await;
    wait_stats(&mut lines, "broker_errors", 1).await;
    // The outage is in the metrics too: errors counted, records waiting for the broker.
    let metrics = scrape(&addr).await;
    assert!(
        metric(&metrics, "foxtrot_broker_errors_total") >= 1.0,
        "{metrics}"
    );
    assert!(
        metric(&metrics, "foxtrot_broker_inflight") >= 1.0,
        "{metrics}"
    );
    super::sigint_reports_the_unacknowledged_as_lost(child, lines).await;
}

#[tokio::test]
async fn config_file_names_the_topic_its_settings_and_the_shard() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k.toml");
    let write = |settings: &str| {
        std::fs::write(
            &file,
            format!(
                "[[streams]]\nsymbols = [\"BTCUSDT\", \"ETHUSDT\", \"BNBUSDT\"]\nchannels = [\"trade\"]\n\
                 [output]\npath = \"kafka://127.0.0.1:9/md\"\n[output.kafka]\n{settings}\n\
                 [shard]\nindex = 1\ncount = 2\n"
            ),
        )
        .unwrap();
    };
    write("\"linger.ms\" = 20");
    let file_arg = file.to_str().unwrap();
    let plan = crate::util::run(&["config", "check", file_arg]).await;
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    for needle in [
        "kafka topic md on 127.0.0.1:9",
        "settings linger.ms",
        "shard             1/2: 1 stream of 3",
        "BNBUSDT@trade",
    ] {
        assert!(
            plan.stdout.contains(needle),
            "{needle} not in {}",
            plan.stdout
        );
    }
    assert!(!plan.stdout.contains("files "), "{}", plan.stdout);
    // A bad value or an unknown property is a usage error, before connecting: `config
    // check` refuses it too, naming the setting.
    for (setting, name) in [
        ("\"linger.ms\" = \"soon\"", "linger.ms"),
        ("\"lingr.ms\" = 5", "lingr.ms"),
    ] {
        write(setting);
        for args in [
            vec!["record", "--config", file_arg],
            vec!["config", "check", file_arg],
        ] {
            let done = crate::util::run(&args).await;
            done.assert_no_panic();
            assert_eq!(done.code, Some(2), "{args:?}: {}", done.stderr);
            assert!(done.stderr.contains("[output.kafka]"), "{}", done.stderr);
            assert!(done.stderr.contains(name), "{}", done.stderr);
            assert_eq!(done.stderr.trim().lines().count(), 1, "{}", done.stderr);
        }
    }
}
