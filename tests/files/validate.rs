//! What `record` refuses about its outputs before it connects: `--append` where no file can
//! be added to, `--rotate` values that are no rotation, one file named twice, `--raw` paths
//! that are no capture, directories in the way; each one line, exit 2, nothing dialed and
//! nothing created. And the messages that name the right thing: `convert`'s own advice, the
//! real name of a salvaged capture, a NATS password as `***`.

use std::net::TcpListener;
use std::path::Path;

use crate::util::*;

/// A listener standing in for the venue: whether anyone dialed it shows in its backlog.
fn venue() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `record BTCUSDT ARGS` run in `dir` against `endpoint`.
async fn record_in(dir: &Path, endpoint: &str, args: &[&str]) -> Finished {
    let mut all = vec!["record", "BTCUSDT", "--endpoint", endpoint];
    all.extend(args);
    let mut cmd = foxtrot(&all);
    cmd.current_dir(dir).env("RUST_BACKTRACE", "0");
    finish(cmd.spawn().unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_mistakes_are_one_line_and_exit_2_before_connecting_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d.csv")).unwrap();
    std::fs::create_dir(dir.path().join("d.jsonl")).unwrap();
    std::fs::write(dir.path().join("f"), "").unwrap();
    std::fs::write(dir.path().join("old.csv.gz"), "").unwrap();
    let nats_wide = "nats://127.0.0.1:4222/{symbol}";
    let cases: &[(&[&str], &str)] = &[
        // 1: --append where files cannot be added to (it wrote numbered new files).
        (
            &["--out", "a.csv.gz", "--append"],
            "a compressed file cannot be appended to (--out a.csv.gz): drop --append",
        ),
        (
            &["--out", "a.ndjson.zst", "--append"],
            "a compressed file cannot be appended to",
        ),
        (
            &["--out", "a.parquet", "--append"],
            "Parquet files cannot be appended to (--out a.parquet)",
        ),
        (
            &["--out", "t-{date}.parquet", "--append"],
            "Parquet files cannot be appended to",
        ),
        // An existing compressed file: --append is not offered.
        (
            &["--out", "old.csv.gz"],
            "already exists, and a compressed or Parquet file cannot be appended to: pass --force",
        ),
        // 2: sizes are sizes, periods are s/min/h/d, and not beyond a year.
        (&["--out", "a.csv", "--rotate", "100M"], "write 100MB"),
        (&["--out", "a.csv", "--rotate", "1M"], "1min for minutes"),
        (
            &["--out", "a.csv", "--rotate", "2months"],
            "not weeks, months or years",
        ),
        (
            &["--out", "a.csv", "--rotate", "1y"],
            "not weeks, months or years",
        ),
        (
            &["--out", "a.csv", "--rotate", "99999999999999h"],
            "the period must be at most 366d",
        ),
        // 3: one file named twice.
        (
            &["--out", "x.jsonl", "--raw", "x.jsonl"],
            "--out and --raw both name x.jsonl",
        ),
        (
            &["--out", "a.csv", "--out", "./a.csv", "--append"],
            "--out ./a.csv is given twice",
        ),
        (&["--out", "-", "--out", "-"], "--out - is given twice"),
        (
            &["--out", "t-{date}.csv", "--out", "t-{date}.csv"],
            "--out t-{date}.csv is given twice",
        ),
        (
            &["--out", "a.csv", "--stats-file", "a.csv"],
            "--out and --stats-file both name a.csv",
        ),
        // A template that renders another output's name for one of the run's streams.
        (
            &["--out", "{symbol}.ndjson", "--out", "BTCUSDT.ndjson"],
            "--out {symbol}.ndjson and --out BTCUSDT.ndjson both name BTCUSDT.ndjson (for BTCUSDT@",
        ),
        (
            &[
                "--out",
                "{exchange}-{date}.ndjson",
                "--raw",
                "binance-{date}.ndjson",
            ],
            "and --out {exchange}-{date}.ndjson both name binance-",
        ),
        // 4: a raw capture is a file of JSON lines.
        (&["--raw", "-"], "--raw cannot go to stdout (-)"),
        (&["--raw", "r.csv"], "a raw capture is JSON lines"),
        (&["--raw", "r.parquet"], "a raw capture is JSON lines"),
        (&["--raw", "r.csv.gz"], "a raw capture is JSON lines"),
        (&["--raw", "d.jsonl"], "--raw d.jsonl is a directory"),
        // 7: the nits.
        (
            &["--out", "a-date}.csv"],
            "unmatched } in --out \"a-date}.csv\"",
        ),
        (&["--out", "d.csv"], "--out d.csv is a directory"),
        (&["--out", "d.csv", "--force"], "--out d.csv is a directory"),
        (
            &["--out", "-", "--rotate", "1h"],
            "--rotate applies to files, and --out - (stdout)",
        ),
        (
            &["--out", nats_wide, "--nats-create-stream"],
            "would create a stream over \"*\"",
        ),
    ];
    let before = names(dir.path());
    let (listener, url) = venue();
    for (args, needle) in cases {
        let out = record_in(dir.path(), &url, args).await;
        out.assert_no_panic();
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(needle),
            "{args:?}: want {needle:?} in {}",
            out.stderr
        );
        if args.contains(&"old.csv.gz") {
            assert!(!out.stderr.contains("--append"), "{}", out.stderr);
        }
        assert!(
            listener.accept().is_err(),
            "{args:?}: dialed the venue before refusing"
        );
        assert_eq!(names(dir.path()), before, "{args:?}: created a file");
    }
}

/// Outputs that make their directories and open their files at the first row (raw
/// captures, templates): a place where no file can be made fails before connecting, with
/// one line naming the directory and why (exit 1, as a plain file's failed open).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_where_no_file_can_be_made_fails_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f"), "").unwrap();
    let cases: &[(&[&str], &str)] = &[
        // /proc takes no new file, even for root.
        (
            &["--out", "t.csv", "--raw", "/proc/r.jsonl"],
            "--raw /proc/r.jsonl: cannot create files in directory /proc",
        ),
        (
            &["--out", "/proc/x/{symbol}.csv"],
            "--out /proc/x/{symbol}.csv: cannot create files in directory /proc",
        ),
        (
            &["--out", "t.csv", "--raw", "f/r.jsonl"],
            "--raw f/r.jsonl: f is a file, not a directory",
        ),
        (
            &["--out", "f/x/{symbol}.csv"],
            "--out f/x/{symbol}.csv: f is a file, not a directory",
        ),
    ];
    let (listener, url) = venue();
    for (args, needle) in cases {
        let out = record_in(dir.path(), &url, args).await;
        out.assert_no_panic();
        assert_eq!(out.code, Some(1), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(listener.accept().is_err(), "{args:?}: dialed the venue");
        assert_eq!(names(dir.path()), ["f"], "{args:?}: t.csv left behind");
    }
}

#[tokio::test]
async fn convert_advises_its_own_flags_for_an_existing_output() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.jsonl");
    std::fs::write(&raw, "").unwrap();
    for name in ["out.csv", "out.csv.gz"] {
        let existing = dir.path().join(name);
        std::fs::write(&existing, "").unwrap();
        let out = convert(&raw, &existing, &[]).await;
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("pass --force to overwrite it, or choose another name")
                && !out.stderr.contains("--append"),
            "{}",
            out.stderr
        );
    }
    // Onto itself, --force would truncate the capture being read.
    let out = convert(&raw, &raw, &["--force"]).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("is one of the captures being converted"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_nats_password_is_never_shown() {
    let (refused, _held) = refused_endpoint();
    let port = refused.rsplit(':').next().unwrap().to_owned();
    let url = format!("nats://me:s3cret@127.0.0.1:{port}/md.{{symbol}}");
    let dir = tempfile::tempdir().unwrap();
    let (_venue, endpoint) = venue();
    let out = record_in(
        dir.path(),
        &endpoint,
        &["--out", &url, "--connect-timeout", "2s"],
    )
    .await;
    out.assert_no_panic();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("NATS at me:***@127.0.0.1:") && !out.stderr.contains("s3cret"),
        "{}",
        out.stderr
    );
    let plan = record_in(dir.path(), &endpoint, &["--out", &url, "--dry-run"]).await;
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    assert!(
        plan.stdout.contains("on me:***@127.0.0.1:") && !plan.stdout.contains("s3cret"),
        "{}",
        plan.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_names_the_plain_capture_by_its_real_name() {
    let disk = match super::full_disk::SmallDisk::mount("256k") {
        Ok(disk) => disk,
        Err(why) => {
            println!("skipped: cannot mount a small tmpfs ({why})");
            return;
        }
    };
    let mut config = replay_config(&["bookTicker.jsonl", "trade.jsonl"]);
    config.behavior.looped = true;
    let server = start_replay(config).await;
    let raw = disk.dir.join("r.jsonl");
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--raw",
        raw.to_str().unwrap(),
    ])
    .await;
    server.shutdown().await.unwrap();
    out.assert_no_panic();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let want = format!(
        "foxtrot: cannot write output {} (No space left on device",
        raw.display()
    );
    assert!(
        out.stderr.lines().any(|l| l.starts_with(&want)),
        "want a line starting {want:?} in:\n{}",
        out.stderr
    );
    assert!(raw.exists(), "the salvaged capture is {}", raw.display());
}
