//! The old platform's "daemon threads killed mid-write" failure, done right: run the app
//! in-process against the replay server, stop it, and check that tasks, threads, connections
//! and memory return to where they started, over ten start/stop cycles.

use std::sync::Arc;

use clap::Parser;
use foxtrot::cli::{Cli, Command};
use foxtrot::config::Config;

use crate::util::*;

/// Runs one `#[ignore]`d measuring test in a process of its own (thread counts and RSS are
/// per process, and other tests run beside this one) and echoes its figures.
fn run_isolated(test: &str) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            test,
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{test} failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("1 passed"), "{test} did not run:\n{stdout}");
    for line in stdout.lines().filter(|l| l.starts_with("lifecycle:")) {
        println!("{line}");
    }
}

#[test]
fn tasks_threads_and_memory_return_to_where_they_started() {
    run_isolated("lifecycle::measure");
}

#[test]
fn a_thousand_forced_disconnects_leak_nothing_and_lose_nothing() {
    run_isolated("lifecycle::measure_disconnects");
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|t| {
            std::fs::read_to_string(t.unwrap().path().join("comm"))
                .unwrap()
                .trim()
                .to_owned()
        })
        .collect()
}

/// Polls `done` for up to [`PATIENCE`]; for states that have no event to wait on.
fn settle(mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !done() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    true
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn record_config(url: &str, out: &std::path::Path, limit: Option<u64>) -> Config {
    record_config_with(url, out, limit, &[])
}

fn record_config_with(
    url: &str,
    out: &std::path::Path,
    limit: Option<u64>,
    extra: &[&str],
) -> Config {
    let mut args = vec![
        "foxtrot".to_owned(),
        "record".into(),
        "BTCUSDT".into(),
        "--channel".into(),
        "bookTicker".into(),
        "--endpoint".into(),
        url.into(),
        "--out".into(),
        out.to_str().unwrap().into(),
        "--quiet".into(),
    ];
    if let Some(n) = limit {
        args.extend(["--limit".into(), n.to_string()]);
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    match Cli::try_parse_from(args).unwrap().command {
        Command::Record(r) => Config::for_record(&r, true).unwrap(),
        _ => unreachable!(),
    }
}

#[test]
#[ignore = "run by tasks_threads_and_memory_return_to_where_they_started in its own process"]
fn measure() {
    const TICKS: u64 = 40;
    const CYCLES: u64 = 10;
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("replay-server")
        .enable_all()
        .build()
        .unwrap();
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.limit = Some(TICKS);
    let server = server_runtime.block_on(start_replay(config));
    let stats = server.stats();
    let dir = tempfile::tempdir().unwrap();

    let threads_before = threads();
    let mut rss_after_first = 0;
    for cycle in 0..CYCLES {
        let path = dir.path().join(format!("cycle{cycle}.ndjson"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("foxtrot-cycle")
            .enable_all()
            .build()
            .unwrap();
        // Half the cycles stop by --limit, half by an external signal once the server sent all.
        let by_limit = cycle % 2 == 0;
        let config = record_config(server.url(), &path, by_limit.then_some(TICKS));
        let sent_target = TICKS * (cycle + 1);
        let stats_for_signal = Arc::clone(&stats);
        let signal = async move {
            if by_limit {
                std::future::pending::<()>().await;
            }
            stats_for_signal.wait_for_sent(sent_target).await;
        };
        let report = runtime
            .block_on(async {
                tokio::time::timeout(PATIENCE, foxtrot::app::run(config, signal)).await
            })
            .expect("the run did not end")
            .unwrap();
        assert_eq!(report.exit_code(), 0, "{report:?}");
        assert_eq!(report.stats.written, TICKS, "{report:?}");
        // The tracker counts a task done just before tokio drops it, so on a loaded machine
        // the runtime's count can trail `run` by a moment; a task that never ends fails here.
        let ended = settle(|| runtime.metrics().num_alive_tasks() == 0);
        assert!(
            ended,
            "tasks left alive after cycle {cycle}: {}",
            runtime.metrics().num_alive_tasks()
        );
        drop(runtime);
        // A joined thread can stay listed in /proc for a moment after `join` returns (the
        // kernel reaps it just after it wakes the joiner): give the count a moment to settle.
        let settled = settle(|| threads() == threads_before);
        assert!(settled, "threads after cycle {cycle}: {:?}", thread_names());
        let lines = std::fs::read_to_string(&path).unwrap().lines().count() as u64;
        assert_eq!(lines, TICKS);
        server_runtime.block_on(async {
            tokio::time::timeout(PATIENCE, stats.wait_until(|s| s.connections_open() == 0))
                .await
                .expect("the server still sees an open connection")
        });
        if cycle == 0 {
            rss_after_first = rss_kib();
        }
    }
    let rss_after_last = rss_kib();
    let growth = rss_after_last.saturating_sub(rss_after_first);
    println!(
        "\nlifecycle: {CYCLES} cycles; threads {threads_before} -> {}; RSS {rss_after_first} KiB -> {rss_after_last} KiB",
        threads()
    );
    assert!(
        growth < 5 * 1024,
        "RSS grew by {growth} KiB over {CYCLES} cycles"
    );
    assert_eq!(stats.connections_accepted(), CYCLES);
    server_runtime.block_on(server.shutdown()).unwrap();
}

#[test]
#[ignore = "run by a_thousand_forced_disconnects_leak_nothing_and_lose_nothing in its own process"]
fn measure_disconnects() {
    const PER_CONNECTION: u64 = 2;
    const DISCONNECTS: u64 = 1000;
    const TICKS: u64 = PER_CONNECTION * (DISCONNECTS + 1);
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("replay-server")
        .enable_all()
        .build()
        .unwrap();
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.drop_after = Some(PER_CONNECTION);
    let server = server_runtime.block_on(start_replay(config));
    let stats = server.stats();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("soak.ndjson");
    let config = record_config_with(
        server.url(),
        &path,
        Some(TICKS),
        &[
            "--backoff-initial",
            "1ms",
            "--backoff-max",
            "5ms",
            "--connect-limit",
            "100000/1m",
        ],
    );

    let threads_before = threads();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("foxtrot-soak")
        .enable_all()
        .build()
        .unwrap();
    // RSS once warmed up (100 reconnects in), and at the end: the growth is what leaks.
    let warm = Arc::new(std::sync::Mutex::new(None));
    let watcher = {
        let (stats, warm) = (Arc::clone(&stats), Arc::clone(&warm));
        runtime.spawn(async move {
            stats.wait_for_connections(100).await;
            *warm.lock().unwrap() = Some(rss_kib());
        })
    };
    let report = runtime
        .block_on(async {
            tokio::time::timeout(
                PATIENCE * 4,
                foxtrot::app::run(config, std::future::pending()),
            )
            .await
        })
        .expect("the run did not end")
        .unwrap();
    runtime.block_on(watcher).unwrap();
    let rss_warm = warm.lock().unwrap().expect("warm-up RSS taken");
    let rss_end = rss_kib();
    let tasks_after = runtime.metrics().num_alive_tasks();
    drop(runtime);
    let settled = settle(|| threads() == threads_before);

    let sent = stats.messages_sent();
    let text = std::fs::read_to_string(&path).unwrap();
    let ticks = text
        .lines()
        .filter(|l| !l.starts_with("{\"type\":\"gap\""))
        .count() as u64;
    let gaps = text.lines().count() as u64 - ticks;
    println!(
        "\nlifecycle: {} connections, {DISCONNECTS}+ forced disconnects; tasks after {tasks_after}; threads {threads_before} -> {}; RSS {rss_warm} KiB (after 100 reconnects) -> {rss_end} KiB; ticks {ticks}, gap records {gaps}, server sent {sent}",
        stats.connections_accepted(),
        threads()
    );
    assert_eq!(report.exit_code(), 0, "{report:?}");
    assert_eq!(tasks_after, 0, "tasks left alive");
    assert!(settled, "threads after the run: {:?}", thread_names());
    assert_eq!(
        ticks, TICKS,
        "every tick the server sent before closing is in the output"
    );
    assert!(sent >= TICKS);
    assert!(gaps >= DISCONNECTS, "each interruption has its gap record");
    assert!(stats.connections_accepted() > DISCONNECTS);
    assert_eq!(
        stats.max_connections_open(),
        1,
        "never two connections at once"
    );
    let growth = rss_end.saturating_sub(rss_warm);
    assert!(
        growth < 1024,
        "RSS grew by {growth} KiB over the reconnects"
    );
    server_runtime.block_on(server.shutdown()).unwrap();
}
