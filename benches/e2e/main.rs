//! End-to-end throughput, CPU and memory: `cargo bench --bench e2e`.
//!
//! Starts `foxtrot replay --flood` on 127.0.0.1 and, in rounds, runs each contender
//! against it as a child process until it has taken N messages (2 book-ticker streams):
//! foxtrot (`record` to NDJSON, CSV, zstd and gzip NDJSON, `record --raw` (the raw capture alone, against the
//! parse-free passthrough), `stream --format ndjson` to /dev/null; `record` to
//! NDJSON from the flood's Bybit and OKX dialects, the same two book tickers subscribed on
//! `/v5/public/spot` and `/ws/v5/public`) and the yardsticks in `baseline.rs` (this binary started again with `--child`). Each child is
//! reaped with `wait4`, which gives its own user+sys CPU time and peak RSS. Prints msgs/s
//! (median, min, max), CPU seconds per million messages, peak RSS and ratios, then whether
//! memory stays flat over a long run and the time an idle run takes to stop after SIGINT.
//!
//! Flatness is judged by resident memory, not by the peak: a peak RSS records the deepest
//! momentary backlog of the channel between the connections and the sink (how long the sink
//! thread was kept off a core, on a busy box), not growth. So `stream --format ndjson` runs
//! against a flood server of its own until it has written N messages (and again for M); then
//! the server is stopped (SIGSTOP), foxtrot drains its queue and idles, and its `VmRSS` is
//! read from `/proc/<pid>/status`. Resident after N against resident after M is the growth;
//! `VmHWM` (the peak so far) is printed beside it.
//!
//! Then the broker section (`brokers.rs`): `record --out kafka://` (tansu) and `--out
//! nats://` (nats-server -js), each broker started by the bench on a free port, beside
//! `record --out file.ndjson` and a minimal rdkafka producer (tansu's ceiling on this box).
//!
//! Then the live-rate section (`live.rs`): fixed rates over 1 and over 15 connections, CPU
//! per message, wake-ups and peak RSS of `record` and of the minimal loop, and the idle case.
//!
//! Options after `--`: `--rounds R` (3), `--messages N` (1000000), `--long M` (10000000; 0
//! skips), `--only TEXT` (only contenders whose label contains TEXT); `--live-only` (skip
//! the flood and broker sections), `--brokers-only` (only the broker section), `--flood-only` (skip the live-rate section), `--rates R,R,..` (1000,10000,50000), `--live-seconds S` (10: each
//! live run takes `rate × S` messages), `--live-rounds R` (1), `--idle S` (60; 0 skips).
//! Under `cargo test` (no `--bench` argument) it only runs a quick smoke check.
//!
//! This file owns the flood server, the contenders and the flood section's table;
//! `measure.rs` measures one child run, `memory.rs` the flatness and stop sections.

mod baseline;
mod brokers;
mod live;
mod measure;
mod memory;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use measure::{Sample, lines_in, measure, measure_websocat, median};
use memory::{idle_stop, resident_after};

const FOXTROT: &str = env!("CARGO_BIN_EXE_foxtrot");
const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let mode = baseline::Mode::parse(&args[1]).expect("child mode");
        baseline::run(mode, &args[2], &args[3], args[4].parse().expect("count"));
        return;
    }
    if args.first().map(String::as_str) == Some("--child-count") {
        println!("{}", measure::decoded_lines_in(Path::new(&args[1])));
        return;
    }
    if args.first().map(String::as_str) == Some("--child-kafka") {
        brokers::child(&args[1..]);
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        smoke();
        return;
    }
    let option = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |v| v.parse().expect("a number"))
    };
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map_or(String::new(), String::clone);
    if args.iter().any(|a| a == "--brokers-only") {
        brokers::bench(
            option("--rounds", 3) as usize,
            option("--messages", 1_000_000),
            &only,
        );
        return;
    }
    if !args.iter().any(|a| a == "--live-only") {
        bench(
            option("--rounds", 3) as usize,
            option("--messages", 1_000_000),
            option("--long", 10_000_000),
            &only,
        );
        println!();
        brokers::bench(
            option("--rounds", 3) as usize,
            option("--messages", 1_000_000),
            &only,
        );
        println!();
    }
    if args.iter().any(|a| a == "--flood-only") {
        return;
    }
    let rates: Vec<u64> = args
        .iter()
        .position(|a| a == "--rates")
        .and_then(|i| args.get(i + 1))
        .map_or("1000,10000,50000", String::as_str)
        .split(',')
        .map(|r| r.parse().expect("--rates R,R,..."))
        .collect();
    live::bench(
        &rates,
        option("--live-seconds", 10),
        option("--live-rounds", 1) as usize,
        option("--idle", 60),
    );
}

/// The flood server, killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts a server that floods each connection with `per_connection` messages.
    fn start(per_connection: u64) -> Server {
        Server::paced(per_connection, 0)
    }

    /// Starts a server that sends each connection `per_connection` messages at `rate` a
    /// second (0: as fast as the socket takes them), pinging every 20 s as Binance does.
    fn paced(per_connection: u64, rate: u64) -> Server {
        let mut child = Command::new(FOXTROT)
            .args(["-q", "replay", "--listen", "127.0.0.1:0", "--flood"])
            .arg(per_connection.to_string())
            .arg("--rate")
            .arg(rate.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the flood server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("server's first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening on ws://...")
            .to_owned();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One contender: a way to run it for `n` messages into `out`.
struct Contender {
    label: &'static str,
    /// Written to this file (`None`: stdout to /dev/null, or nothing).
    extension: Option<&'static str>,
    run: Run,
}

/// How a contender runs.
#[derive(Clone, Copy)]
enum Run {
    /// A command that takes `n` messages and exits 0.
    Command(fn(url: &str, out: &Path, n: u64) -> Command),
    /// `websocat URL | head -n N > out`, if websocat is installed (it has no flag to stop
    /// after N messages by itself; it ends on the broken pipe once `head` has its lines).
    Websocat,
}

impl Contender {
    fn available(&self) -> bool {
        match self.run {
            Run::Command(_) => true,
            Run::Websocat => on_path("websocat"),
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The source every foxtrot contender reads: both symbols' book tickers from `url`, quietly.
fn foxtrot_source(cmd: &mut Command, url: &str) {
    cmd.args(SYMBOLS)
        .args(["--channel", "bookTicker", "--endpoint", url])
        .arg("-q");
}

/// [`foxtrot_source`], stopping after `n` messages.
fn foxtrot_args(cmd: &mut Command, url: &str, n: u64) {
    foxtrot_source(cmd, url);
    cmd.arg("--limit").arg(n.to_string());
}

fn child(mode: baseline::Mode, url: &str, out: &Path, n: u64) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--child", mode.as_str(), &stream_url(url)])
        .arg(out)
        .arg(n.to_string());
    cmd
}

fn record(url: &str, out: &Path, n: u64) -> Command {
    let mut cmd = Command::new(FOXTROT);
    cmd.arg("record");
    foxtrot_args(&mut cmd, url, n);
    cmd.arg("--out").arg(out);
    cmd
}

/// `record` of two book tickers on another venue's flood dialect, to NDJSON.
fn record_venue(venue: &str, symbols: [&str; 2], url: &str, out: &Path, n: u64) -> Command {
    let mut cmd = Command::new(FOXTROT);
    cmd.args(["record", "--venue", venue])
        .args(symbols)
        .args(["--channel", "bookTicker", "--endpoint", url, "-q"])
        .arg("--limit")
        .arg(n.to_string())
        .arg("--out")
        .arg(out);
    cmd
}

fn record_bybit(url: &str, out: &Path, n: u64) -> Command {
    record_venue("bybit", SYMBOLS, url, out, n)
}

fn record_okx(url: &str, out: &Path, n: u64) -> Command {
    record_venue("okx", ["BTC-USDT", "ETH-USDT"], url, out, n)
}

/// `record` with the raw capture only (`--raw`, no `--out`): every frame kept as received.
fn record_raw(url: &str, out: &Path, n: u64) -> Command {
    let mut cmd = Command::new(FOXTROT);
    cmd.arg("record");
    foxtrot_args(&mut cmd, url, n);
    cmd.arg("--raw").arg(out);
    cmd
}

fn stream(url: &str, _: &Path, n: u64) -> Command {
    let mut cmd = Command::new(FOXTROT);
    cmd.args(["stream", "--format", "ndjson"]);
    foxtrot_args(&mut cmd, url, n);
    cmd.stdout(std::fs::File::create("/dev/null").unwrap());
    cmd
}

/// The URL foxtrot builds for the two streams; the yardsticks connect to the same.
fn stream_url(base: &str) -> String {
    let streams: Vec<String> = SYMBOLS
        .iter()
        .map(|s| format!("{}@bookTicker", s.to_ascii_lowercase()))
        .collect();
    format!("{base}/stream?streams={}", streams.join("/"))
}

const DISCARD: &str = "discard (read frames, no parse)";
const PASSTHROUGH: &str = "passthrough (no parse) > file";
const WEBSOCAT: &str = "websocat | head -n N > file";
const LOOP: &str = "minimal loop > file.ndjson";
const RECORD_NDJSON: &str = "foxtrot record --out file.ndjson";
const RECORD_CSV: &str = "foxtrot record --out file.csv";
const RECORD_ZST: &str = "foxtrot record --out file.ndjson.zst";
const RECORD_GZ: &str = "foxtrot record --out file.ndjson.gz";
const RECORD_RAW: &str = "foxtrot record --raw file.jsonl";
const RAW_FLOOR: &str = "raw capture's floor (one thread)";
const LOOP_NULL: &str = "minimal loop > /dev/null";
const STREAM_NULL: &str = "foxtrot stream --format ndjson >/dev/null";
const RECORD_BYBIT: &str = "foxtrot record --venue bybit -o f.ndjson";
const RECORD_OKX: &str = "foxtrot record --venue okx -o f.ndjson";

const CONTENDERS: &[Contender] = &[
    Contender {
        label: DISCARD,
        extension: None,
        run: Run::Command(|url, out, n| child(baseline::Mode::Discard, url, out, n)),
    },
    Contender {
        label: PASSTHROUGH,
        extension: Some("txt"),
        run: Run::Command(|url, out, n| child(baseline::Mode::Passthrough, url, out, n)),
    },
    Contender {
        label: WEBSOCAT,
        extension: Some("txt"),
        run: Run::Websocat,
    },
    Contender {
        label: LOOP,
        extension: Some("ndjson"),
        run: Run::Command(|url, out, n| child(baseline::Mode::Loop, url, out, n)),
    },
    Contender {
        label: RECORD_NDJSON,
        extension: Some("ndjson"),
        run: Run::Command(record),
    },
    Contender {
        label: RECORD_CSV,
        extension: Some("csv"),
        run: Run::Command(record),
    },
    Contender {
        label: RECORD_ZST,
        extension: Some("ndjson.zst"),
        run: Run::Command(record),
    },
    Contender {
        label: RECORD_GZ,
        extension: Some("ndjson.gz"),
        run: Run::Command(record),
    },
    Contender {
        label: RECORD_RAW,
        extension: Some("jsonl"),
        run: Run::Command(record_raw),
    },
    Contender {
        label: RAW_FLOOR,
        extension: Some("jsonl"),
        run: Run::Command(|url, out, n| child(baseline::Mode::RawFloor, url, out, n)),
    },
    Contender {
        label: LOOP_NULL,
        extension: None,
        run: Run::Command(|url, _, n| child(baseline::Mode::Loop, url, Path::new("/dev/null"), n)),
    },
    Contender {
        label: STREAM_NULL,
        extension: None,
        run: Run::Command(stream),
    },
    Contender {
        label: RECORD_BYBIT,
        extension: Some("ndjson"),
        run: Run::Command(record_bybit),
    },
    Contender {
        label: RECORD_OKX,
        extension: Some("ndjson"),
        run: Run::Command(record_okx),
    },
];

/// Runs `contender` once for `n` messages and checks its output.
fn run_once(contender: &Contender, server: &Server, dir: &Path, n: u64) -> Sample {
    let out = dir.join(format!("out.{}", contender.extension.unwrap_or("none")));
    let sample = match contender.run {
        Run::Command(command) => measure(command(&server.url, &out, n)),
        Run::Websocat => measure_websocat(&server.url, &out, n),
    };
    if contender.extension.is_some() {
        let header = u64::from(contender.extension == Some("csv"));
        if contender.extension == Some("jsonl") {
            // A raw capture holds its connects, requests and answers beside the frames; its
            // writer pushes back under the default `--on-full block`, so none is dropped.
            let kept = lines_in(&out);
            assert!(kept > 0, "{}", contender.label);
            eprintln!("  raw capture kept {kept} lines for {n} frames");
        } else {
            assert_eq!(lines_in(&out), n + header, "{}", contender.label);
        }
        std::fs::remove_file(&out).unwrap();
    }
    // Let the server notice the client left before the next one connects.
    std::thread::sleep(Duration::from_millis(200));
    sample
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("unknown CPU", |m| m.trim_start_matches([' ', '\t', ':']))
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("{model}, {cores} cores, load average {}", load.join(" "))
}

fn bench(rounds: usize, n: u64, long: u64, only: &str) {
    println!("machine: {}", machine());
    println!("flood: {n} bookTicker messages over 2 streams per run, {rounds} rounds, 127.0.0.1\n");
    let server = Server::start(2 * n);
    let dir = tempfile::tempdir().unwrap();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); CONTENDERS.len()];
    for round in 0..rounds {
        for (i, contender) in CONTENDERS.iter().enumerate() {
            if !contender.label.contains(only) || !contender.available() {
                continue;
            }
            let s = run_once(contender, &server, dir.path(), n);
            eprintln!(
                "round {}: {:<42} {:>6.0} k msgs/s",
                round + 1,
                contender.label,
                n as f64 / s.wall.as_secs_f64() / 1e3
            );
            samples[i].push(s);
        }
    }
    let mut medians = Vec::new();
    println!(
        "| {:<42} | {:>14} | {:>17} | {:>8} | {:>12} |",
        "contender", "msgs/s median", "min – max", "CPU s/M", "peak RSS MiB"
    );
    println!(
        "|{:-<44}|{:->16}|{:->19}|{:->10}|{:->14}|",
        "", "", "", "", ""
    );
    for (contender, runs) in CONTENDERS.iter().zip(&samples) {
        if runs.is_empty() {
            medians.push((f64::NAN, f64::NAN));
            continue;
        }
        let mut rates: Vec<f64> = runs
            .iter()
            .map(|s| n as f64 / s.wall.as_secs_f64())
            .collect();
        let mut cpu: Vec<f64> = runs
            .iter()
            .map(|s| s.cpu.as_secs_f64() * 1e6 / n as f64)
            .collect();
        let rss = runs.iter().map(|s| s.max_rss_kib).max().unwrap_or(0);
        let rate = median(&mut rates);
        let cpu = median(&mut cpu);
        medians.push((rate, cpu));
        println!(
            "| {:<42} | {:>12.2} M | {:>7.2} – {:>5.2} M | {:>8.2} | {:>12.1} |",
            contender.label,
            rate / 1e6,
            rates[0] / 1e6,
            rates[rates.len() - 1] / 1e6,
            cpu,
            rss as f64 / 1024.0
        );
    }
    let at = |label: &str| CONTENDERS.iter().position(|c| c.label == label).unwrap();
    let ratio = |a: &str, b: &str| medians[at(a)].0 / medians[at(b)].0;
    let cpu_ratio = |a: &str, b: &str| medians[at(a)].1 / medians[at(b)].1;
    println!();
    println!(
        "record ndjson / minimal loop:      {:.2}x rate, {:.2}x CPU",
        ratio(RECORD_NDJSON, LOOP),
        cpu_ratio(RECORD_NDJSON, LOOP)
    );
    if medians[at(WEBSOCAT)].0.is_nan() {
        println!("record ndjson / websocat:          (websocat not on PATH)");
    } else {
        println!(
            "record ndjson / websocat:          {:.2}x rate, {:.2}x CPU",
            ratio(RECORD_NDJSON, WEBSOCAT),
            cpu_ratio(RECORD_NDJSON, WEBSOCAT)
        );
    }
    println!(
        "record ndjson / passthrough:       {:.2}x rate",
        ratio(RECORD_NDJSON, PASSTHROUGH)
    );
    println!(
        "record zst / record ndjson:        {:.2}x rate, {:.2}x CPU (goal: rate >= 0.8x; gzip {:.2}x, {:.2}x)",
        ratio(RECORD_ZST, RECORD_NDJSON),
        cpu_ratio(RECORD_ZST, RECORD_NDJSON),
        ratio(RECORD_GZ, RECORD_NDJSON),
        cpu_ratio(RECORD_GZ, RECORD_NDJSON)
    );
    println!(
        "record --raw / passthrough:        {:.2}x rate, {:.2}x CPU (goal: rate >= 0.8x)",
        ratio(RECORD_RAW, PASSTHROUGH),
        cpu_ratio(RECORD_RAW, PASSTHROUGH)
    );
    println!(
        "raw floor (one thread) / passthrough: {:.2}x rate, {:.2}x CPU (the same lines from one thread, no channel)",
        ratio(RAW_FLOOR, PASSTHROUGH),
        cpu_ratio(RAW_FLOOR, PASSTHROUGH)
    );
    println!(
        "record ndjson / discard:           {:.2}x rate",
        ratio(RECORD_NDJSON, DISCARD)
    );
    println!(
        "record csv / record ndjson:        {:.2}x rate, {:.2}x CPU",
        ratio(RECORD_CSV, RECORD_NDJSON),
        cpu_ratio(RECORD_CSV, RECORD_NDJSON)
    );
    println!(
        "stream >/dev/null / minimal loop >/dev/null: {:.2}x rate, {:.2}x CPU",
        ratio(STREAM_NULL, LOOP_NULL),
        cpu_ratio(STREAM_NULL, LOOP_NULL)
    );
    for (venue, label) in [("bybit", RECORD_BYBIT), ("okx", RECORD_OKX)] {
        println!(
            "record ndjson {venue:<5} / binance:      {:.2}x rate, {:.2}x CPU (goal: rate within 30 %)",
            ratio(label, RECORD_NDJSON),
            cpu_ratio(label, RECORD_NDJSON)
        );
    }

    if long > 0 {
        // The channel holds up to --buffer ticks, and how deep it gets depends on how long the
        // sink thread is kept off a core: the peak RSS records that deepest momentary backlog,
        // not growth. Resident memory once the queue has drained does show growth, so it is
        // compared after N and after M messages; the peaks are printed as a second figure.
        println!();
        let (short, long_run) = (resident_after(n), resident_after(long));
        let mib = |kib: u64| kib as f64 / 1024.0;
        println!(
            "resident memory of `stream >/dev/null`-like run after its queue drained: {:.1} MiB \
             after {n} messages, {:.1} MiB after {long} ({:+.1} MiB; flat means <= 1 MiB); \
             peak {:.1} / {:.1} MiB",
            mib(short.rss_kib),
            mib(long_run.rss_kib),
            mib(long_run.rss_kib) - mib(short.rss_kib),
            mib(short.hwm_kib),
            mib(long_run.hwm_kib)
        );
    }
    let mut stops: Vec<f64> = (0..3)
        .map(|_| idle_stop(&server, dir.path()).as_secs_f64() * 1e3)
        .collect();
    let median_stop = median(&mut stops);
    println!(
        "idle `record` stop after SIGINT: median {median_stop:.0} ms, max {:.0} ms",
        stops[stops.len() - 1]
    );
}

/// Under `cargo test`: one tiny flood through foxtrot and through the minimal loop.
fn smoke() {
    let n = 2_000;
    let server = Server::start(2 * n);
    let dir = tempfile::tempdir().unwrap();
    for label in [
        LOOP,
        RECORD_NDJSON,
        RECORD_CSV,
        RECORD_ZST,
        RECORD_GZ,
        RECORD_BYBIT,
        RECORD_OKX,
    ] {
        let contender = CONTENDERS.iter().find(|c| c.label == label).unwrap();
        run_once(contender, &server, dir.path(), n);
    }
    live::smoke(dir.path());
    brokers::smoke(dir.path());
    println!("e2e smoke: 9 passed, 0 failed (run `cargo bench --bench e2e` to measure)");
}
