//! The raw capture under a full disk and `kill -9`: what was written stays readable, every
//! finished file decodes whole and every `.partial` up to its last complete line, and
//! each complete line is a raw capture record.

use std::path::Path;
use std::time::Duration;

use foxtrot::raw::format;

use super::full_disk::SmallDisk;
use super::layout::{decoded, files_under, system_test};
use crate::util::*;

fn is_partial(path: &Path) -> bool {
    path.to_str().unwrap().ends_with(".partial")
}

/// The complete lines of a file (up to its last newline), each checked to be a record;
/// a finished file must not end in a torn line.
fn complete_records(file: &Path, what: &str) -> usize {
    let text = decoded(file);
    let complete = text.rfind('\n').map_or("", |i| &text[..=i]);
    if !is_partial(file) {
        assert_eq!(complete, text, "{what}: {} ends torn", file.display());
        let compressed = [".gz", ".zst"]
            .iter()
            .any(|e| file.to_str().unwrap().ends_with(e));
        if compressed {
            assert_ne!(system_test(file), Some(false), "{what}: {}", file.display());
        }
    }
    for line in complete.lines() {
        format::parse(line).unwrap_or_else(|e| panic!("{what}: {line:?}: {e}"));
    }
    complete.lines().count()
}

/// Looped fixture frames, fast, from a fresh replay server.
async fn looped_server(rate: u64) -> foxtrot::replay::RunningServer {
    let mut config = replay_config(&["bookTicker.jsonl", "trade.jsonl"]);
    config.behavior.looped = true;
    config.behavior.rate = rate;
    start_replay(config).await
}

fn raw_args<'a>(server: &'a foxtrot::replay::RunningServer, raw: &'a str) -> Vec<&'a str> {
    vec![
        "record",
        "BTCUSDT",
        "ETHUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--raw",
        raw,
        "-q",
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_raw_capture_with_one_line_and_whole_records() {
    for (size, name) in [("256k", "raw.jsonl"), ("64k", "raw-{start}.jsonl.zst")] {
        let disk = match SmallDisk::mount(size) {
            Ok(disk) => disk,
            Err(why) => {
                println!("skipped: cannot mount a small tmpfs ({why})");
                return;
            }
        };
        let server = looped_server(0).await;
        let raw = disk.dir.join(name);
        let mut cmd = foxtrot(&raw_args(&server, raw.to_str().unwrap()));
        cmd.env("RUST_BACKTRACE", "0");
        let out = finish(cmd.spawn().unwrap()).await;
        server.shutdown().await.unwrap();
        out.assert_no_panic();
        assert_eq!(out.code, Some(1), "{name}: {}", out.stderr);
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("foxtrot: cannot write output "))
            .unwrap_or_else(|| panic!("{name}: no error line in {}", out.stderr));
        assert!(line.contains("No space left on device"), "{line}");
        assert!(
            line.contains(disk.dir.to_str().unwrap()),
            "names the file: {line}"
        );
        let files = files_under(&disk.dir);
        assert!(!files.is_empty(), "{name}");
        let records: usize = files.iter().map(|f| complete_records(f, name)).sum();
        assert!(records > 10, "{name}: only {records} records kept");
        println!("{name} on a {size} tmpfs: {records} records kept, {}", line);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_compressed_raw_capture_leaves_decodable_files() {
    let server = looped_server(3000).await;
    for (trial, ext) in ["jsonl.zst", "jsonl.gz", "jsonl.zst", "jsonl.gz"]
        .iter()
        .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join(format!("raw.{ext}"));
        let mut args = raw_args(&server, raw.to_str().unwrap());
        args.extend(["--rotate", "1s"]);
        let mut child = foxtrot(&args).spawn().unwrap();
        // Until a first file is finished (renamed), then a random moment later.
        let waited = tokio::time::timeout(PATIENCE, async {
            while !files_under(dir.path()).iter().any(|f| !is_partial(f)) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "trial {trial}: no file finished");
        let delay = fastrand::u64(0..1500);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.start_kill().unwrap();
        child.wait().await.unwrap();

        let files = files_under(dir.path());
        let partials = files.iter().filter(|f| is_partial(f)).count();
        assert!(partials <= 1, "trial {trial}: {files:?}");
        let records: usize = files
            .iter()
            .map(|f| complete_records(f, &format!("trial {trial}")))
            .sum();
        assert!(records > 0, "trial {trial}");
        println!(
            "trial {trial} ({ext}): killed {delay} ms after the first finished file; {} files, {records} records",
            files.len()
        );
    }
    server.shutdown().await.unwrap();
}
