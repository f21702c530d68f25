//! `--shard I/N`: N instances over the same streams record each exactly once.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use serde_json::Value;

use super::Tansu;
use super::kafka::records;
use crate::util::{run, start_replay};

const SYMBOLS: usize = 20;
const PER_STREAM: usize = 25;

fn symbol(i: usize) -> String {
    format!("SYM{i:02}USDT")
}

/// Writes recorded-style Binance messages for 20 symbols x {trade, bookTicker} (40
/// streams, 25 messages each) and a config file naming them; returns the config's path.
fn write_fixture(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut lines = String::new();
    for n in 0..PER_STREAM {
        for i in 0..SYMBOLS {
            let (s, t, id) = (symbol(i), 1_723_161_255_000 + n as u64, 1_000_000 + n);
            lines.push_str(&format!(
                "{{\"e\":\"trade\",\"E\":{t},\"s\":\"{s}\",\"t\":{id},\"p\":\"{i}.{n:08}\",\"q\":\"0.50000000\",\"T\":{t},\"m\":true,\"M\":true}}\n"
            ));
            lines.push_str(&format!(
                "{{\"u\":{id},\"s\":\"{s}\",\"b\":\"{i}.{n:08}\",\"B\":\"1.00000000\",\"a\":\"{i}.9{n:07}\",\"A\":\"2.00000000\"}}\n"
            ));
        }
    }
    let data = dir.join("forty.jsonl");
    std::fs::write(&data, lines).unwrap();
    let symbols: Vec<String> = (0..SYMBOLS).map(|i| format!("{:?}", symbol(i))).collect();
    let config = dir.join("all.toml");
    std::fs::write(
        &config,
        format!(
            "[[streams]]\nsymbols = [{}]\nchannels = [\"trade\", \"bookTicker\"]\n",
            symbols.join(", ")
        ),
    )
    .unwrap();
    (config, data)
}

/// The streams `config check --shard` lists (`SYMBOL@channel` words).
async fn planned(config: &Path, shard: Option<&str>) -> BTreeSet<String> {
    let mut args = vec!["config", "check", config.to_str().unwrap()];
    if let Some(shard) = shard {
        args.extend(["--shard", shard]);
    }
    let done = run(&args).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    if let Some(shard) = shard {
        let row = done
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with("shard "));
        assert!(
            row.is_some_and(|r| r.contains(&format!(" {shard}: "))),
            "{}",
            done.stdout
        );
    }
    done.stdout
        .split_whitespace()
        .filter(|w| w.contains('@'))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn config_check_shard_prints_each_instance_its_own_streams() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = write_fixture(dir.path());
    let all = planned(&config, None).await;
    assert_eq!(all.len(), 2 * SYMBOLS);
    let mut union = BTreeSet::new();
    for i in 0..4 {
        let part = planned(&config, Some(&format!("{i}/4"))).await;
        assert!(
            !part.is_empty() && part.len() < all.len(),
            "shard {i}: {part:?}"
        );
        assert!(union.is_disjoint(&part), "shard {i} repeats a stream");
        union.extend(part);
    }
    assert_eq!(union, all);
    let refused = run(&[
        "config",
        "check",
        config.to_str().unwrap(),
        "--shard",
        "4/4",
    ])
    .await;
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("I/N"), "{}", refused.stderr);
}

/// A record's value without its receive time, which differs between recorders.
fn content(value: &str) -> String {
    let mut json: Value = serde_json::from_str(value).unwrap();
    json.as_object_mut().unwrap().remove("recv_ns");
    json.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_into_one_topic_equal_one_instance_recording_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = write_fixture(dir.path());
    let server = start_replay(foxtrot::replay::ReplayConfig::load(&[data]).unwrap()).await;
    let tansu = Tansu::start().await;
    tansu.create_topic("sharded", 4).await;
    let out = format!("kafka://{}/sharded", tansu.addr());
    let config = config.to_str().unwrap();

    let mut instances = Vec::new();
    for i in 0..4 {
        let shard = format!("{i}/4");
        let streams = planned(Path::new(config), Some(&shard)).await.len();
        let limit = (streams * PER_STREAM).to_string();
        let args: Vec<String> = [
            "record",
            "--config",
            config,
            "--shard",
            &shard,
            "--endpoint",
            server.url(),
            "--limit",
            &limit,
            "--shutdown-timeout",
            super::DRAIN,
            "--out",
            &out,
        ]
        .map(str::to_owned)
        .into();
        instances.push(tokio::spawn(async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&args).await
        }));
    }
    let single = dir.path().join("single.ndjson");
    let total = (2 * SYMBOLS * PER_STREAM).to_string();
    let alone = run(&[
        "record",
        "--config",
        config,
        "--endpoint",
        server.url(),
        "--limit",
        &total,
        "--out",
        single.to_str().unwrap(),
    ])
    .await;
    assert_eq!(alone.code, Some(0), "{}", alone.stderr);
    for instance in instances {
        let done = instance.await.unwrap();
        assert_eq!(done.code, Some(0), "{}", done.stderr);
    }

    let n = (2 * SYMBOLS * PER_STREAM) as u64;
    let records = records(&tansu, "sharded", n).await;
    assert_eq!(records.len() as u64, n);
    let sharded: HashSet<String> = records
        .iter()
        .map(|r| content(r["value"].as_str().unwrap()))
        .collect();
    let expected: HashSet<String> = std::fs::read_to_string(&single)
        .unwrap()
        .lines()
        .map(content)
        .collect();
    assert_eq!(sharded.len() as u64, n, "a record twice across shards");
    assert_eq!(sharded, expected);
}
