//! Small helpers shared by the integration tests: the replay server on 127.0.0.1:0, the real
//! binary as a child process, fixture data, and waits with generous limits.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use foxtrot::replay::{Library, ReplayConfig, RunningServer, Server};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The limit for any single wait on an event. Generous: CI is a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A fixture file shipped in `tests/data/binance/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/binance")
        .join(name)
}

/// The lines of a fixture file.
pub fn fixture_lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// A replay-server configuration over fixture files, sending as fast as possible.
pub fn replay_config(files: &[&str]) -> ReplayConfig {
    venue_replay_config("binance", files)
}

/// A replay-server configuration over the fixture files of `tests/data/{venue}/`.
pub fn venue_replay_config(venue: &str, files: &[&str]) -> ReplayConfig {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(venue);
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    ReplayConfig::new(Library::load(&paths).unwrap())
}

/// Reconnect flags that keep fault tests short: fast backoff, no connection-rate limit.
pub const FAST: [&str; 6] = [
    "--backoff-initial",
    "1ms",
    "--backoff-max",
    "10ms",
    "--connect-limit",
    "100000/1m",
];

/// Starts the replay server in this process on a fresh port.
pub async fn start_replay(config: ReplayConfig) -> RunningServer {
    Server::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
        .spawn()
}

/// The real binary with its output captured and stdin closed.
pub fn foxtrot(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foxtrot"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("FOXTROT_ENDPOINT")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    cmd
}

/// What a finished child left.
#[derive(Debug)]
pub struct Finished {
    /// The exit code (None when killed by a signal).
    pub code: Option<i32>,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

impl Finished {
    /// Asserts that stderr carries no panic or backtrace.
    pub fn assert_no_panic(&self) {
        for bad in ["panicked", "backtrace", "RUST_BACKTRACE"] {
            assert!(
                !self.stderr.contains(bad),
                "stderr shows {bad:?}:\n{}",
                self.stderr
            );
        }
    }
}

/// Waits for a child with output, within [`PATIENCE`].
pub async fn finish(child: Child) -> Finished {
    let output = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("foxtrot did not exit in time")
        .unwrap();
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Runs the binary to completion.
pub async fn run(args: &[&str]) -> Finished {
    finish(foxtrot(args).spawn().unwrap()).await
}

/// `foxtrot convert RAW --out OUT`, with `flags` after them.
pub async fn convert(raw: &Path, out: &Path, flags: &[&str]) -> Finished {
    let mut args = vec![
        "convert",
        raw.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(flags);
    run(&args).await
}

/// Sends a signal (`INT`, `TERM`) to a child.
pub fn signal(child: &Child, name: &str) {
    let pid = child.id().expect("child already reaped").to_string();
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Reads a child's stderr until a line containing `needle` appears; returns the lines read.
pub async fn stderr_until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    needle: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let hit = line.contains(needle);
            seen.push(line);
            if hit {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        found,
        Ok(true),
        "no stderr line with {needle:?}; saw {seen:?}"
    );
    seen
}

/// Wraps a child's stderr for [`stderr_until`].
pub fn stderr_lines(child: &mut Child) -> tokio::io::Lines<BufReader<tokio::process::ChildStderr>> {
    BufReader::new(child.stderr.take().unwrap()).lines()
}

/// A `ws://` endpoint whose port is bound but not listening, so connections to it are
/// refused for as long as the returned socket lives (and no other test can take the port).
pub fn refused_endpoint() -> (String, tokio::net::TcpSocket) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    (format!("ws://127.0.0.1:{port}"), socket)
}

/// Parses NDJSON output lines, failing on any that is not a JSON object.
pub fn parse_ndjson(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}"));
            assert!(v.is_object(), "not an object: {l}");
            v
        })
        .collect()
}

/// A count from the summary line, such as `lost` in `..., lost 3, ...`.
pub fn summary_count(stderr: &str, name: &str) -> u64 {
    let line = stderr
        .lines()
        .rfind(|l| l.starts_with("foxtrot: ") && l.contains(" received "))
        .or_else(|| {
            stderr
                .lines()
                .rfind(|l| l.starts_with("foxtrot: received "))
        })
        .unwrap_or_else(|| panic!("no summary line in {stderr:?}"));
    line.split(&format!("{name} "))
        .nth(1)
        .and_then(|rest| rest.split([',', ' ']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name} count in {line:?}"))
}

/// One venue as the resilience tests exercise it: one stream served by its replay dialect
/// from a fixture of `tests/data/{name}/`.
#[derive(Debug)]
pub struct Venue {
    /// `--venue`, and the rows' `exchange`.
    pub name: &'static str,
    /// The symbol as typed and as rows spell it.
    pub symbol: &'static str,
    /// The channel recorded.
    pub channel: &'static str,
    /// The fixture holding the stream (among other streams the server must not send).
    pub file: &'static str,
    /// The row key of the stream's id (`update_id`, `trade_id`), an integer.
    pub id: &'static str,
    /// The venue pushes an unchanged message again with the same id (Bybit's level 1).
    pub repeats_ids: bool,
}

/// Binance spot book tickers (40, every line one).
pub const BINANCE: Venue = Venue {
    name: "binance",
    symbol: "BTCUSDT",
    channel: "bookTicker",
    file: "bookTicker.jsonl",
    id: "update_id",
    repeats_ids: false,
};

/// Bybit spot level-1 books of OPUSDC (30 of the file's 141 frames).
pub const BYBIT: Venue = Venue {
    name: "bybit",
    symbol: "OPUSDC",
    channel: "bookTicker",
    file: "spot_orderbook_1.jsonl",
    id: "update_id",
    repeats_ids: true,
};

/// OKX BTC-USDT trades (72 of the file's 81 frames, one trade each).
pub const OKX: Venue = Venue {
    name: "okx",
    symbol: "BTC-USDT",
    channel: "trade",
    file: "trades.jsonl",
    id: "trade_id",
    repeats_ids: false,
};

impl Venue {
    /// A replay server configuration serving this venue's fixture as fast as possible.
    pub fn replay_config(&self) -> ReplayConfig {
        venue_replay_config(self.name, &[self.file])
    }

    /// The fixture's frames, in file order.
    pub fn frames(&self) -> Vec<serde_json::Value> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(self.name)
            .join(self.file);
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The ids of this venue's stream in the order the fixture serves them.
    pub fn fixture_ids(&self) -> Vec<u64> {
        let frames = self.frames();
        let number = |v: &serde_json::Value| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or_else(|| panic!("not an id: {v}"))
        };
        frames
            .iter()
            .flat_map(|f| match self.name {
                "binance" if f["s"] == self.symbol => vec![number(&f["u"])],
                "bybit" if f["topic"] == format!("orderbook.1.{}", self.symbol) => {
                    vec![number(&f["data"]["u"])]
                }
                "okx" if f["arg"]["instId"] == self.symbol => f["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| number(&t["tradeId"]))
                    .collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// `foxtrot stream SYMBOL --venue V --channel C --format ndjson --endpoint URL` with
    /// fast reconnects (see [`FAST`]).
    pub fn stream_args<'a>(&'a self, url: &'a str) -> Vec<&'a str> {
        let mut args = vec![
            "stream",
            self.symbol,
            "--venue",
            self.name,
            "--channel",
            self.channel,
            "--format",
            "ndjson",
            "--endpoint",
            url,
        ];
        args.extend(FAST);
        args
    }
}
