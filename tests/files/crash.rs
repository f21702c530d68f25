//! What a stop at the hard deadline and a `kill -9` leave: finished files that decode
//! whole, at most one `.partial` per name that decodes up to its last complete line, and
//! `foxtrot recover` turning each `.partial` into a finished file.

use std::path::Path;
use std::time::Duration;

use super::layout::{decoded, files_under, system_test};
use crate::util::*;

/// Polls (within [`PATIENCE`]) until `ready` holds for the files under `dir`.
pub(super) async fn wait_for_files(dir: &Path, ready: impl Fn(&[std::path::PathBuf]) -> bool) {
    let waited = tokio::time::timeout(PATIENCE, async {
        loop {
            if ready(&files_under(dir)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "files never got ready: {:?}",
        files_under(dir)
    );
}

fn is_partial(path: &Path) -> bool {
    path.to_str().unwrap().ends_with(".partial")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hard_deadline_still_finishes_the_compressed_stream() {
    let mut config = replay_config(&["bookTicker.jsonl", "trade.jsonl"]);
    config.behavior.looped = true;
    // Silent after 60 messages, close frame unanswered: the stop runs into the deadline.
    config.behavior.stall_after = Some(60);
    let server = start_replay(config).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ticks.ndjson.gz");
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
        out.to_str().unwrap(),
        "--shutdown-timeout",
        "1s",
    ])
    .spawn()
    .unwrap();
    wait_for_files(dir.path(), |files| {
        files.len() == 1 && decoded(&files[0]).lines().count() == 60
    })
    .await;
    signal(&child, "TERM");
    let done = finish(child).await;
    done.assert_no_panic();
    assert!(done.stderr.contains("deadline"), "{}", done.stderr);
    assert_eq!(
        files_under(dir.path()),
        std::slice::from_ref(&out),
        "renamed, no .partial"
    );
    assert_ne!(system_test(&out), Some(false), "gzip -t");
    assert_eq!(parse_ndjson(&decoded(&out)).len(), 60);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_leaves_finished_files_and_recoverable_partials() {
    let mut config = replay_config(&["bookTicker.jsonl", "trade.jsonl"]);
    config.behavior.looped = true;
    config.behavior.rate = 3000;
    let server = start_replay(config).await;
    for (trial, ext) in ["ndjson.zst", "ndjson.gz", "csv.zst"].iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join(format!("{{symbol}}.{ext}"));
        let mut child = foxtrot(&[
            "record",
            "BTCUSDT",
            "ETHUSDT",
            "--channel",
            "bookTicker",
            "--channel",
            "trade",
            "--endpoint",
            server.url(),
            "--out",
            template.to_str().unwrap(),
            "--rotate",
            "1s",
            "-q",
        ])
        .spawn()
        .unwrap();
        wait_for_files(dir.path(), |files| files.iter().any(|f| !is_partial(f))).await;
        let delay = fastrand::u64(0..1500);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.start_kill().unwrap();
        child.wait().await.unwrap();

        let files = files_under(dir.path());
        let partials: Vec<_> = files.iter().filter(|f| is_partial(f)).collect();
        assert!(partials.len() <= 2, "trial {trial}: {files:?}");
        for file in &files {
            let text = decoded(file);
            let complete = match text.rfind('\n') {
                Some(i) => &text[..=i],
                None => "",
            };
            if is_partial(file) {
                assert!(!complete.is_empty() || text.is_empty());
            } else {
                assert_eq!(
                    complete,
                    text,
                    "trial {trial}: {} ends torn",
                    file.display()
                );
                assert_ne!(
                    system_test(file),
                    Some(false),
                    "trial {trial}: {}",
                    file.display()
                );
            }
            for line in complete.lines().filter(|l| !l.starts_with("exchange,")) {
                if ext.starts_with("ndjson") {
                    serde_json::from_str::<serde_json::Value>(line)
                        .unwrap_or_else(|e| panic!("trial {trial}: {line:?}: {e}"));
                } else {
                    assert!(line.starts_with("binance,"), "trial {trial}: {line:?}");
                }
            }
        }
        if partials.is_empty() {
            continue;
        }
        let mut args = vec!["recover"];
        args.extend(partials.iter().map(|p| p.to_str().unwrap()));
        let recovered = run(&args).await;
        assert_eq!(recovered.code, Some(0), "{}", recovered.stderr);
        for partial in partials {
            let done = Path::new(partial.to_str().unwrap().trim_end_matches(".partial"));
            assert!(!partial.exists());
            assert_ne!(system_test(done), Some(false), "{}", done.display());
            assert!(decoded(done).ends_with('\n') || decoded(done).is_empty());
        }
        println!(
            "trial {trial} ({ext}): killed {delay} ms after the first finished file; {} files",
            files.len()
        );
    }
    server.shutdown().await.unwrap();
}
