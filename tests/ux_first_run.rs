//! What a new user meets first (issue 13): refusals that make sense, feedback while
//! offline, a run that never connected failing loudly, binary frames, install steps, and
//! the repository's own promises (provenance, README options, release profile).

use crate::util::*;

#[tokio::test]
async fn zero_durations_are_refused_with_one_line() {
    let (endpoint, _reserved) = refused_endpoint();
    for flag in [
        "--duration",
        "--connect-timeout",
        "--stale-after",
        "--silent-stream-after",
        "--max-connection-age",
    ] {
        let out = run(&[
            "stream",
            "BTCUSDT",
            "--format",
            "ndjson",
            "--endpoint",
            &endpoint,
            flag,
            "0s",
        ])
        .await;
        out.assert_no_panic();
        assert_eq!(out.code, Some(2), "{flag} 0s: {}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{flag} 0s: {lines:?}");
        assert!(
            lines[0].starts_with(&format!("foxtrot: {flag} must be above zero")),
            "{lines:?}"
        );
        assert_eq!(out.stdout, "", "{flag} 0s wrote data");
    }
}

/// A one-connection WebSocket server on 127.0.0.1:0 that sends `frames` once the client
/// connected, then reads until the client's close frame and returns its code.
struct OneShot {
    url: String,
    done: tokio::task::JoinHandle<Option<u16>>,
}

impl OneShot {
    async fn start(frames: Vec<tokio_tungstenite::tungstenite::Message>) -> OneShot {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let done = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            for frame in frames {
                ws.send(frame).await.unwrap();
            }
            while let Some(Ok(frame)) = ws.next().await {
                if let Message::Close(close) = frame {
                    return close.map(|c| u16::from(c.code));
                }
            }
            None
        });
        OneShot { url, done }
    }

    async fn close_code(self) -> Option<u16> {
        tokio::time::timeout(PATIENCE, self.done)
            .await
            .expect("the client never closed")
            .unwrap()
    }
}

/// The first bookTicker fixture line as a combined-stream frame.
fn book_ticker_frame() -> String {
    let payload = fixture_lines("bookTicker.jsonl").remove(0);
    format!(r#"{{"stream":"btcusdt@bookTicker","data":{payload}}}"#)
}

#[tokio::test]
async fn binary_frames_are_read_as_text_or_counted() {
    use tokio_tungstenite::tungstenite::Message;
    let frame = book_ticker_frame();
    let server = OneShot::start(vec![
        Message::binary(vec![0xff, 0xfe, 0x00, 0x01]),
        Message::binary(frame.clone().into_bytes()),
        Message::text(frame),
    ])
    .await;
    let out = run(&[
        "stream",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--format",
        "ndjson",
        "--endpoint",
        &server.url,
        "--limit",
        "2",
        "--stats-interval",
        "1h",
    ])
    .await;
    out.assert_no_panic();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // The JSON sent as a binary frame is a tick like the one sent as text.
    let ticks = parse_ndjson(&out.stdout);
    assert_eq!(ticks.len(), 2, "{}", out.stdout);
    assert_eq!(ticks[0]["bid"], ticks[1]["bid"]);
    // The frame that is not text is counted and logged without -v.
    let last = out
        .stderr
        .lines()
        .rfind(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no stats object: {}", out.stderr));
    let stats: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(stats["decode_errors"], 1, "{last}");
    assert!(
        out.stderr.contains("binary frame that is not UTF-8"),
        "{}",
        out.stderr
    );
    server.close_code().await;
}

#[tokio::test]
async fn the_close_frame_says_normal_closure() {
    let server = OneShot::start(vec![tokio_tungstenite::tungstenite::Message::text(
        book_ticker_frame(),
    )])
    .await;
    let out = run(&[
        "stream",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--format",
        "ndjson",
        "--endpoint",
        &server.url,
        "--limit",
        "1",
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        server.close_code().await,
        Some(1000),
        "RFC 6455 Normal Closure"
    );
}

#[tokio::test]
async fn generate_dir_creates_its_folder() {
    let home = tempfile::tempdir().unwrap();
    let man1 = home.path().join(".local/share/man/man1");
    let completions = home.path().join(".local/share/bash-completion/completions");
    for args in [
        ["generate", "man", "--dir", man1.to_str().unwrap()].as_slice(),
        [
            "generate",
            "completions",
            "bash",
            "--dir",
            completions.to_str().unwrap(),
        ]
        .as_slice(),
    ] {
        let out = run(args).await;
        out.assert_no_panic();
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
    }
    assert!(man1.join("foxtrot.1").is_file());
    assert!(man1.join("foxtrot-record.1").is_file());
    assert!(completions.join("foxtrot.bash").is_file());
}

/// The README's install commands, run as pasted with HOME set to an empty folder.
#[tokio::test]
async fn readme_install_commands_work_on_a_fresh_account() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let commands: Vec<String> = readme
        .lines()
        .filter_map(|l| {
            let start = l
                .find("`foxtrot generate ")
                .or_else(|| l.find("`mkdir -p "))?;
            let rest = &l[start + 1..];
            Some(rest[..rest.find('`')?].to_owned())
        })
        .chain(readme.lines().filter_map(|l| {
            let l = l.trim_start();
            (l.starts_with("foxtrot generate man --dir ~"))
                .then(|| l.split("  #").next().unwrap().trim().to_owned())
        }))
        .filter(|c| c.contains('~') && !c.contains("$PROFILE"))
        .collect();
    assert!(
        commands.iter().any(|c| c.contains("generate man")) && commands.len() >= 4,
        "{commands:?}"
    );
    let home = tempfile::tempdir().unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_foxtrot"))
        .parent()
        .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for command in &commands {
        let out = std::process::Command::new("sh")
            .args(["-c", command])
            .env("HOME", home.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{command}` failed on a fresh account: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        home.path()
            .join(".local/share/man/man1/foxtrot.1")
            .is_file()
    );
}

/// Provenance is self-contained: every data file is described, its upstream source named,
/// and nothing points at a folder outside the repository.
#[test]
fn provenance_names_the_upstream_sources() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let provenance =
        std::fs::read_to_string(root.join("tests/data/binance/PROVENANCE.md")).unwrap();
    let sample = std::fs::read_to_string(root.join("sample/README.md")).unwrap();
    for (name, text) in [
        ("PROVENANCE.md", &provenance),
        ("sample/README.md", &sample),
    ] {
        assert!(
            !text.contains("shared/fixtures"),
            "{name} points at a folder that is not in the repository"
        );
        for upstream in [
            "nkaz001/hftbacktest",
            "bmoscon/cryptofeed",
            "tardis-dev/tardis-node",
        ] {
            assert!(text.contains(upstream), "{name} does not name {upstream}");
        }
    }
    for entry in std::fs::read_dir(root.join("tests/data/binance")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".jsonl") {
            assert!(
                provenance.contains(&format!("`{name}`")),
                "PROVENANCE.md does not describe {name}"
            );
        }
    }
    // The sample is made of fixture lines, byte for byte, as its README says.
    let fixtures: std::collections::HashSet<String> = [
        "bookTicker.jsonl",
        "trade.jsonl",
        "aggTrade.jsonl",
        "ticker.jsonl",
    ]
    .iter()
    .flat_map(|f| fixture_lines(f))
    .collect();
    let lines = std::fs::read_to_string(root.join("sample/binance-sample.jsonl")).unwrap();
    for line in lines.lines().filter(|l| !l.is_empty()) {
        assert!(
            fixtures.contains(line),
            "a sample line from nowhere: {line}"
        );
    }
}

/// The README's options table names every flag of `stream` and `record`, short forms too.
#[test]
fn readme_options_table_lists_every_flag() {
    use clap::CommandFactory;
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let usage = &readme[readme.find("## Usage").unwrap()..];
    let table: Vec<&str> = usage
        .lines()
        .skip_while(|l| !l.starts_with("| flag"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    let first_cells: Vec<&str> = table
        .iter()
        .map(|l| l.split(" | ").next().unwrap())
        .collect();
    let cli = foxtrot::cli::Cli::command();
    for sub in ["stream", "record"] {
        let cmd = cli.find_subcommand(sub).unwrap();
        for arg in cmd.get_arguments().chain(cli.get_arguments()) {
            if arg.is_hide_set() || arg.get_id() == "help" || arg.get_id() == "version" {
                continue;
            }
            let names = arg
                .get_long()
                .map(|l| format!("`--{l}"))
                .into_iter()
                .chain(arg.get_short().map(|s| format!("`-{s}`")));
            for name in names {
                assert!(
                    first_cells.iter().any(|c| c.contains(&name)),
                    "README's options table lacks {name}` ({sub})"
                );
            }
        }
    }
    // The global flags come first: they go before or after the subcommand.
    assert!(
        first_cells[2].contains("`-q`") && first_cells[3].contains("`-v`"),
        "{first_cells:?}"
    );
}

/// The shipped build is stripped; benchmarks and profiling keep line tables.
#[test]
fn release_is_stripped_and_profiling_keeps_line_tables() {
    let manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"),
    )
    .unwrap();
    let manifest: toml::Table = toml::from_str(&manifest).unwrap();
    let profile = |name: &str| {
        manifest["profile"][name]
            .as_table()
            .unwrap_or_else(|| panic!("no [profile.{name}]"))
            .clone()
    };
    let release = profile("release");
    assert_eq!(release.get("strip").and_then(|v| v.as_bool()), Some(true));
    assert!(
        release
            .get("debug")
            .is_none_or(|d| d.as_bool() == Some(false)),
        "the release profile keeps debug info: {release:?}"
    );
    for name in ["bench", "profiling"] {
        let p = profile(name);
        assert_eq!(
            p.get("debug").and_then(|v| v.as_str()),
            Some("line-tables-only"),
            "{name}"
        );
        assert_eq!(
            p.get("strip").and_then(|v| v.as_str()),
            Some("none"),
            "{name}"
        );
    }
    assert_eq!(
        profile("profiling")
            .get("inherits")
            .and_then(|v| v.as_str()),
        Some("release")
    );
}

/// Reconnect flags that keep offline tests short.
const QUICK_RETRIES: [&str; 4] = ["--backoff-initial", "10ms", "--backoff-max", "50ms"];

#[tokio::test]
async fn a_recording_that_never_connected_fails_with_its_cause_and_a_gap_record() {
    let (endpoint, _reserved) = refused_endpoint();
    let host = endpoint.trim_start_matches("ws://");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("x.csv");
    let mut args = vec![
        "record",
        "BTCUSDT",
        "--out",
        csv.to_str().unwrap(),
        "--endpoint",
        &endpoint,
        "--duration",
        "2s",
    ];
    args.extend(QUICK_RETRIES);
    let out = run(&args).await;
    out.assert_no_panic();
    assert_eq!(
        out.code,
        Some(1),
        "a run that recorded nothing is no success: {}",
        out.stderr
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    // Without -v: one warning after the first failed attempts, then the one-line cause.
    let warning = lines
        .iter()
        .find(|l| l.contains(&format!("cannot connect to {host} yet (3 attempts, last: ")))
        .unwrap_or_else(|| panic!("no warning without -v: {lines:?}"));
    assert!(warning.contains("WARN"), "{warning}");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with(&format!("foxtrot: never connected to {host} ("))
            && last.contains("last: Connection refused")
            && last.contains("check the network, the --endpoint URL and any proxy"),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
    // The output says why it is empty.
    let gaps = std::fs::read_to_string(dir.path().join("x.csv.gaps.csv")).unwrap();
    let gap_lines: Vec<&str> = gaps.lines().collect();
    assert_eq!(gap_lines.len(), 2, "{gaps}");
    assert!(
        gap_lines[1].starts_with("binance,BTCUSDT,ticker,")
            && gap_lines[1].ends_with(",never_connected"),
        "{gaps}"
    );
}

#[tokio::test]
async fn a_stream_stopped_before_any_connection_exits_1_with_never_connected_gaps() {
    let (endpoint, _reserved) = refused_endpoint();
    let mut args = vec![
        "stream",
        "BTCUSDT",
        "--channel",
        "trade",
        "--channel",
        "bookTicker",
        "--format",
        "ndjson",
        "--endpoint",
        &endpoint,
    ];
    args.extend(QUICK_RETRIES);
    let mut child = foxtrot(&args).spawn().unwrap();
    let mut stderr = stderr_lines(&mut child);
    let mut seen = stderr_until(&mut stderr, "cannot connect to").await;
    signal(&child, "INT");
    while let Ok(Some(line)) = stderr.next_line().await {
        seen.push(line);
    }
    let out = finish(child).await;
    assert_eq!(out.code, Some(1), "{seen:?}");
    assert!(
        seen.last()
            .unwrap()
            .starts_with("foxtrot: never connected to "),
        "{seen:?}"
    );
    let lines = parse_ndjson(&out.stdout);
    let mut gaps: Vec<(&str, &str)> = lines
        .iter()
        .map(|g| {
            (
                g["channel"].as_str().unwrap(),
                g["reason"].as_str().unwrap(),
            )
        })
        .collect();
    gaps.sort();
    assert_eq!(
        gaps,
        [
            ("bookTicker", "never_connected"),
            ("trade", "never_connected")
        ]
    );
    for gap in &lines {
        assert!(gap["from_ns"].as_u64().unwrap() < gap["to_ns"].as_u64().unwrap());
    }
}

#[tokio::test]
async fn the_connect_timeout_says_what_to_check() {
    let (endpoint, _reserved) = refused_endpoint();
    let mut args = vec![
        "stream",
        "BTCUSDT",
        "--format",
        "ndjson",
        "--endpoint",
        &endpoint,
        "--connect-timeout",
        "500ms",
    ];
    args.extend(QUICK_RETRIES);
    let out = run(&args).await;
    assert_eq!(out.code, Some(1));
    let last = out.stderr.lines().last().unwrap();
    assert!(
        last.contains("could not connect to ")
            && last.ends_with("check the network, the --endpoint URL and any proxy or firewall"),
        "{last}"
    );
}
