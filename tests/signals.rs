//! Ctrl-C and SIGTERM: the staged stop writes every tick the server sent, a sink that cannot
//! write does not hold the exit past the deadline, and a second Ctrl-C exits 130 at once.

use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_after_n_ticks_leaves_exactly_n_complete_lines() {
    const N: u64 = 30;
    for (signal_name, file) in [("INT", "ticks.ndjson"), ("TERM", "ticks.csv")] {
        let mut config = replay_config(&["bookTicker.jsonl"]);
        config.behavior.limit = Some(N);
        let server = start_replay(config).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file);
        let child = foxtrot(&[
            "record",
            "BTCUSDT",
            "--channel",
            "bookTicker",
            "--out",
            path.to_str().unwrap(),
            "--endpoint",
            server.url(),
        ])
        .spawn()
        .unwrap();
        tokio::time::timeout(PATIENCE, server.stats().wait_for_sent(N))
            .await
            .expect("the server never sent N ticks");
        // The ticks may still be in flight: the close handshake must deliver them anyway.
        signal(&child, signal_name);
        let out = finish(child).await;
        assert_eq!(out.code, Some(0), "SIG{signal_name}: {}", out.stderr);
        out.assert_no_panic();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'), "the last line is complete");
        let header = usize::from(file.ends_with(".csv"));
        assert_eq!(
            text.lines().count(),
            N as usize + header,
            "SIG{signal_name}"
        );
        if header == 0 {
            assert_eq!(parse_ndjson(&text).len(), N as usize);
        }
        assert!(
            out.stderr
                .contains(&format!("received {N}, written {N}, dropped 0, lost 0")),
            "{}",
            out.stderr
        );
        server.shutdown().await.unwrap();
    }
}

/// Starts `stream` with stdout into a pipe nobody reads, and waits until the server has sent
/// more than the pipe and the channel can hold, so the sink is bound to block.
async fn stuck_stream(
    server: &foxtrot::replay::RunningServer,
    deadline: &str,
) -> (tokio::process::Child, tokio::process::ChildStdout) {
    let mut child = foxtrot(&[
        "stream",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--format",
        "ndjson",
        "--buffer",
        "100",
        "--shutdown-timeout",
        deadline,
        "--endpoint",
        server.url(),
    ])
    .spawn()
    .unwrap();
    let unread = child.stdout.take().unwrap();
    // 64 KiB of pipe holds ~350 lines; 2000 ticks are more than pipe + channel.
    tokio::time::timeout(PATIENCE, server.stats().wait_for_sent(2000))
        .await
        .expect("the server never sent 2000 ticks");
    (child, unread)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_cannot_write_does_not_hold_the_exit_past_the_deadline() {
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.looped = true;
    let server = start_replay(config).await;
    let (mut child, unread) = stuck_stream(&server, "2s").await;
    let mut stderr = child.stderr.take().unwrap();
    let signalled = Instant::now();
    signal(&child, "INT");
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .unwrap()
        .unwrap();
    let took = signalled.elapsed();
    let mut text = String::new();
    stderr.read_to_string(&mut text).await.unwrap();
    drop(unread);
    assert_eq!(status.code(), Some(3), "stderr: {text}");
    assert!(text.contains("shutdown deadline of 2s passed"), "{text}");
    let lost = summary_count(&text, "lost");
    assert!(lost > 0, "{text}");
    assert!(!text.contains("panicked"), "{text}");
    // The bound: the deadline plus one second.
    assert!(
        took <= Duration::from_secs(3),
        "exit took {took:?} after SIGINT"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_exits_130_at_once() {
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.looped = true;
    let server = start_replay(config).await;
    // A deadline far beyond PATIENCE: only the second Ctrl-C can end this run in time.
    let (mut child, unread) = stuck_stream(&server, "10m").await;
    let mut stderr = stderr_lines(&mut child);
    signal(&child, "INT");
    stderr_until(&mut stderr, "stopping").await;
    signal(&child, "INT");
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .unwrap()
        .unwrap();
    drop(unread);
    assert_eq!(status.code(), Some(130));
    stderr_until(&mut stderr, "interrupted").await;
    server.shutdown().await.unwrap();
}
