//! Broker outputs against real brokers on 127.0.0.1: `nats-server -js` (Debian package
//! `nats-server`) and the Kafka-API broker `tansu` (`cargo install tansu --locked
//! --features dynostore`), each started here on a free port and stopped on drop. Records
//! are read back with independent clients (confluent-kafka, nats-py) from a venv made once
//! under `target/`. A missing broker fails the test with what to install: never a skip.

mod kafka;
mod nats;
mod shard;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::util::{PATIENCE, foxtrot};

/// `--shutdown-timeout` of runs that must publish everything: a debug build on a loaded
/// 2-core machine publishes a few thousand records a second, and the backlog at `--limit`
/// is drained within it (speed is the benchmark's business, not the tests').
pub const DRAIN: &str = "60s";

/// Starts the recorder of a broker-outage run: `n` messages of BTCUSDT's and ETHUSDT's
/// `channel` from the flood at `endpoint`, through a 2000-message buffer that is full by
/// `policy` while the broker is down, with stats every 100 ms on stderr and a drain of
/// [`DRAIN`]; `output` is `--out` and whatever the broker needs beside it.
pub fn outage_recorder(
    endpoint: &str,
    channel: &str,
    n: u64,
    policy: &str,
    output: &[&str],
) -> Child {
    let n = n.to_string();
    let mut args = vec![
        "record",
        "BTCUSDT",
        "ETHUSDT",
        "--channel",
        channel,
        "--endpoint",
        endpoint,
        "--limit",
        &n,
        "--shutdown-timeout",
        DRAIN,
        "--buffer",
        "2000",
        "--on-full",
        policy,
        "--stats-interval",
        "100ms",
    ];
    args.extend_from_slice(output);
    foxtrot(&args).spawn().unwrap()
}

/// The path of `program` on PATH, or a failure naming how to install it.
pub fn require(program: &str, install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([home_cargo_bin()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{program} is not installed; these tests need it: {install} (.ci/run does this)")
        })
}

fn home_cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_default()
        .join("bin")
}

/// A port nobody listens on right now (bound and released; brokers need a number up front).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port`.
async fn wait_listening(port: u16, what: &str, child: &mut Child) {
    let ready = tokio::time::timeout(PATIENCE, async {
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{what} exited at start with {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(ready.is_ok(), "{what} did not listen on {port}");
}

/// A `nats-server -js` with its store in a temp dir, on a fixed port so it can restart.
pub struct Nats {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Nats {
    /// Starts a server on a free port.
    pub async fn start() -> Nats {
        let mut nats = Nats {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        nats.resume().await;
        nats
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port and store.
    pub async fn resume(&mut self) {
        let program = require("nats-server", "apt-get install nats-server");
        let mut child = Command::new(program)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        wait_listening(self.port, "nats-server", &mut child).await;
        self.child = Some(child);
    }

    /// Stops it (SIGKILL: an outage, not a goodbye).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }
}

/// A `tansu` broker with memory storage.
pub struct Tansu {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
}

impl Tansu {
    /// Starts a broker on a free port.
    pub async fn start() -> Tansu {
        let mut tansu = Tansu {
            child: None,
            port: free_port(),
        };
        tansu.resume().await;
        tansu
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port (memory storage starts empty).
    pub async fn resume(&mut self) {
        let program = require("tansu", "cargo install tansu --locked --features dynostore");
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut child = Command::new(program)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        wait_listening(self.port, "tansu", &mut child).await;
        self.child = Some(child);
    }

    /// Stops it (SIGKILL).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// Creates `topic` with `partitions` partitions.
    pub async fn create_topic(&self, topic: &str, partitions: u32) {
        let program = require("tansu", "cargo install tansu --locked --features dynostore");
        let out = tokio::time::timeout(
            PATIENCE,
            Command::new(program)
                .args(["topic", "create", topic, "--broker"])
                .arg(format!("tcp://127.0.0.1:{}", self.port))
                .args(["--partitions", &partitions.to_string()])
                .output(),
        )
        .await
        .expect("tansu topic create hung")
        .unwrap();
        assert!(
            out.status.success(),
            "tansu topic create {topic}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The independent readers' packages, pinned; the venv's name changes with them.
const READERS: [&str; 2] = ["confluent-kafka==2.16.1", "nats-py==2.16.0"];

/// A Python with confluent-kafka and nats-py: a venv made once per target dir (pip from
/// PyPI), built under a temporary name and renamed when complete.
pub fn python() -> PathBuf {
    static VENV: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut venv = VENV.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(python) = &*venv {
        return python.clone();
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = target.join("broker-venv-1");
    let python = dir.join("bin/python");
    if !dir.join("ready").exists() {
        let building = target.join(format!("broker-venv-1.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&building);
        let python3 = require("python3", "apt-get install python3 python3-venv");
        let run = |cmd: &mut std::process::Command| {
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{cmd:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(std::process::Command::new(python3)
            .args(["-m", "venv"])
            .arg(&building));
        run(std::process::Command::new(building.join("bin/python"))
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(READERS));
        std::fs::write(building.join("ready"), "").unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&building, &dir).unwrap();
    }
    *venv = Some(python.clone());
    python
}

/// Runs one of the reader scripts beside this file and returns its stdout lines as JSON.
pub async fn read_back(script: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let python = tokio::task::spawn_blocking(python).await.unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/brokers")
        .join(script);
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        Command::new(python)
            .arg(script)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the reader hung")
    .unwrap();
    assert!(
        out.status.success(),
        "reader {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The counts of the summary line `received N, written N, dropped N, lost N, ...`.
pub fn summary(stderr: &str, field: &str) -> u64 {
    let line = stderr
        .lines()
        .rfind(|l| l.contains(" received "))
        .unwrap_or_else(|| panic!("no summary line in {stderr}"));
    let at = line
        .find(&format!("{field} "))
        .unwrap_or_else(|| panic!("no {field} in {line}"));
    line[at + field.len() + 1..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The body of `GET /metrics` from `addr` (`host:port`).
pub async fn scrape(addr: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::time::timeout(PATIENCE, tokio::net::TcpStream::connect(addr))
        .await
        .expect("metrics connect hung")
        .unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut response))
        .await
        .expect("metrics read hung")
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// The value of the unlabelled series `name` in a metrics body.
pub fn metric(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        .trim()
        .parse()
        .unwrap()
}

/// Starts the recorder of a SIGINT-with-the-broker-gone run: BTCUSDT's book tickers from
/// the flood at `endpoint`, stats every 100 ms on stderr, a 2 s shutdown deadline; `output`
/// is `--out` and whatever the broker (or the run) needs beside it.
pub fn sigint_recorder(endpoint: &str, output: &[&str]) -> Child {
    let mut args = vec![
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--endpoint",
        endpoint,
        "--stats-interval",
        "100ms",
        "--shutdown-timeout",
        "2s",
    ];
    args.extend_from_slice(output);
    foxtrot(&args).spawn().unwrap()
}

/// Sends SIGINT to a recorder whose broker is gone, then checks that it stops within 10 s,
/// exits 3, reports what was not acknowledged as lost, and counted the broker errors.
pub async fn sigint_reports_the_unacknowledged_as_lost(
    child: Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
) {
    let stopped = std::time::Instant::now();
    crate::util::signal(&child, "INT");
    let (last, text) = nats::rest(lines).await;
    let done = crate::util::finish(child).await;
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "took {:?}",
        stopped.elapsed()
    );
    assert_eq!(done.code, Some(3), "{text}");
    let lost = summary(&text, "lost");
    assert!(lost > 0, "{text}");
    assert!(text.contains("not acknowledged"), "{text}");
    assert_eq!(
        summary(&text, "received"),
        summary(&text, "written") + lost,
        "{text}"
    );
    assert!(last["broker_errors"].as_u64().unwrap() > 0, "{last}");
}
