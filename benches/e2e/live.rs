//! Live rates: CPU per message when messages trickle in, not when they flood.
//!
//! For each fixed rate (1,000, 10,000 and 50,000 messages a second by default) and each of
//! two shapes, a flood server paced with `--rate` (per connection) feeds `rate × seconds`
//! messages to `foxtrot record --out file.ndjson` and to the minimal loop in `live` mode
//! (`baseline.rs`: the same NDJSON lines, flushed whenever no frame is waiting), one after
//! the other, each reaped with `wait4`:
//! - 1 connection: `bookTicker` of 2 symbols;
//! - 15 connections carrying 3000 streams: 1500 symbols × (`bookTicker`, `trade`), 200
//!   streams a connection, each connection paced at `rate / 15`.
//!
//! Reported per run: CPU per message (the child's user + sys, start-up and connecting
//! included), the share of one core over the run, context switches (voluntary +
//! involuntary, all threads: the wake-ups) per message, and peak RSS; then foxtrot's CPU per
//! message over the loop's. Last, the idle case: `record` on 15 connections whose streams the
//! flood never generates, so they carry only the server's pings (every 20 s), for `--idle`
//! seconds; the same run for 1 s gives what start-up and stop cost, and the difference is
//! what idling cost.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::{FOXTROT, Sample, Server, baseline, lines_in, machine, measure, median};

/// Streams a connection carries in the many-connection shape (foxtrot's default).
const PER_CONNECTION: usize = 200;
/// Symbols of the many-connection shape: with two channels each, 3000 streams.
const MANY_SYMBOLS: usize = 1500;

/// One shape of subscription.
#[derive(Clone, Copy)]
struct Shape {
    label: &'static str,
    connections: u64,
    /// The symbols, the channels for each, and foxtrot's streams per connection.
    symbols: fn() -> Vec<String>,
    channels: &'static [&'static str],
}

const SHAPES: [Shape; 2] = [
    Shape {
        label: "1 connection, 2 streams",
        connections: 1,
        symbols: || crate::SYMBOLS.iter().map(|s| (*s).to_owned()).collect(),
        channels: &["bookTicker"],
    },
    Shape {
        label: "15 connections, 3000 streams",
        connections: 15,
        symbols: || (0..MANY_SYMBOLS).map(|i| format!("S{i:04}USDT")).collect(),
        channels: &["bookTicker", "trade"],
    },
];

impl Shape {
    /// The streams in foxtrot's order (symbol by symbol, its channels in turn).
    fn streams(&self) -> Vec<String> {
        let mut streams = Vec::new();
        for symbol in (self.symbols)() {
            for channel in self.channels {
                streams.push(format!("{}@{channel}", symbol.to_ascii_lowercase()));
            }
        }
        streams
    }

    /// The URLs the loop opens: foxtrot's split of the same streams.
    fn urls(&self, base: &str) -> String {
        let urls: Vec<String> = self
            .streams()
            .chunks(PER_CONNECTION)
            .map(|chunk| format!("{base}/stream?streams={}", chunk.join("/")))
            .collect();
        assert_eq!(urls.len() as u64, self.connections);
        urls.join(" ")
    }

    /// `foxtrot record` on these streams; `extra` sets how it stops.
    fn record(&self, url: &str, out: &Path, extra: &[String]) -> Command {
        let mut cmd = Command::new(FOXTROT);
        cmd.arg("record")
            .args((self.symbols)())
            .args(self.channels.iter().flat_map(|c| ["--channel", c]))
            .args(["--endpoint", url, "-q", "--force"])
            .arg("--streams-per-connection")
            .arg(PER_CONNECTION.to_string())
            .args(extra)
            .arg("--out")
            .arg(out);
        cmd
    }
}

/// A run's figures for `n` messages.
struct Figures {
    us_per_msg: f64,
    core_share: f64,
    switches_per_msg: f64,
    rss_mib: f64,
}

impl Figures {
    fn of(samples: &[Sample], n: u64) -> Figures {
        let mut cpu: Vec<f64> = samples.iter().map(|s| s.cpu.as_secs_f64()).collect();
        let mut share: Vec<f64> = samples
            .iter()
            .map(|s| s.cpu.as_secs_f64() / s.wall.as_secs_f64())
            .collect();
        let mut switches: Vec<f64> = samples.iter().map(|s| s.switches as f64).collect();
        let rss = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0);
        Figures {
            us_per_msg: median(&mut cpu) * 1e6 / n as f64,
            core_share: median(&mut share),
            switches_per_msg: median(&mut switches) / n as f64,
            rss_mib: rss as f64 / 1024.0,
        }
    }
}

pub fn bench(rates: &[u64], seconds: u64, rounds: usize, idle: u64) {
    println!("machine: {}", machine());
    println!(
        "live rates: {rates:?} msg/s, {seconds} s of messages a run, {rounds} round(s), median; \
         NDJSON to a file; CPU = child user+sys incl. start-up\n"
    );
    let dir = tempfile::tempdir().unwrap();
    println!(
        "| {:<28} | {:>7} | {:<24} | {:>8} | {:>7} | {:>10} | {:>8} |",
        "shape", "msg/s", "contender", "µs/msg", "% core", "switch/msg", "RSS MiB"
    );
    println!(
        "|{:-<30}|{:->9}|{:-<26}|{:->10}|{:->9}|{:->12}|{:->10}|",
        "", "", "", "", "", "", ""
    );
    let mut ratios = Vec::new();
    for shape in SHAPES {
        for &rate in rates {
            let n = rate * seconds;
            let per_connection_rate = rate.div_ceil(shape.connections);
            // Enough for the whole run on every connection: the client stops at `n`.
            let server = Server::paced(n, per_connection_rate);
            let out = dir.path().join("live.ndjson");
            let (mut foxtrot, mut minimal) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let limit = ["--limit".to_owned(), n.to_string()];
                foxtrot.push(measure(shape.record(&server.url, &out, &limit)));
                assert_eq!(lines_in(&out), n, "foxtrot record, {}", shape.label);
                minimal.push(measure(loop_command(&shape.urls(&server.url), &out, n)));
                assert_eq!(lines_in(&out), n, "minimal loop, {}", shape.label);
                std::fs::remove_file(&out).unwrap();
                // Let the server notice the clients left.
                std::thread::sleep(Duration::from_millis(200));
            }
            let (f, m) = (Figures::of(&foxtrot, n), Figures::of(&minimal, n));
            for (label, fig) in [("foxtrot record", &f), ("minimal loop (live)", &m)] {
                println!(
                    "| {:<28} | {:>7} | {:<24} | {:>8.2} | {:>6.1}% | {:>10.3} | {:>8.1} |",
                    shape.label,
                    rate,
                    label,
                    fig.us_per_msg,
                    fig.core_share * 100.0,
                    fig.switches_per_msg,
                    fig.rss_mib
                );
            }
            ratios.push((shape.label, rate, f.us_per_msg / m.us_per_msg, f.core_share));
        }
    }
    println!();
    for (label, rate, ratio, share) in ratios {
        println!(
            "{label}, {rate} msg/s: foxtrot / loop CPU per message {ratio:.2}x; foxtrot used \
             {:.1}% of a core",
            share * 100.0
        );
    }
    if idle > 0 {
        println!();
        idle_case(idle, dir.path());
    }
}

fn loop_command(urls: &str, out: &Path, n: u64) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--child", baseline::Mode::Live.as_str(), urls])
        .arg(out)
        .arg(n.to_string());
    cmd
}

/// `record` on 15 connections that carry only pings, for `seconds` and for 1 s.
fn idle_case(seconds: u64, dir: &Path) {
    // The flood generates no `ticker`: these connections idle, pinged every 20 s.
    let shape = Shape {
        label: "idle",
        connections: 15,
        symbols: || {
            (0..15 * PER_CONNECTION)
                .map(|i| format!("S{i:04}USDT"))
                .collect()
        },
        channels: &["ticker"],
    };
    let server = Server::paced(1, 0);
    let out = dir.join("idle.ndjson");
    let run = |secs: u64| {
        let duration = ["--duration".to_owned(), format!("{secs}s")];
        let sample = measure(shape.record(&server.url, &out, &duration));
        std::thread::sleep(Duration::from_millis(200));
        sample
    };
    let (long, short) = (run(seconds), run(1));
    let idle_cpu = long.cpu.saturating_sub(short.cpu);
    println!(
        "idle, 15 connections, pings only: {seconds} s cost {:.3} CPU-s and {} context switches; \
         1 s cost {:.3} CPU-s and {} (start-up and stop); idling {} s more cost {:.3} CPU-s \
         (target < 0.05), {:.0} wake-ups a second",
        long.cpu.as_secs_f64(),
        long.switches,
        short.cpu.as_secs_f64(),
        short.switches,
        seconds - 1,
        idle_cpu.as_secs_f64(),
        long.switches.saturating_sub(short.switches) as f64 / (seconds - 1).max(1) as f64
    );
}

/// Under `cargo test`: a short paced run of each shape through foxtrot and the loop.
pub fn smoke(dir: &Path) {
    for (shape, rate, n) in [(SHAPES[0], 2000u64, 1000), (SHAPES[1], 3000, 1500)] {
        let server = Server::paced(n, rate.div_ceil(shape.connections));
        let out = dir.join("live.ndjson");
        let limit = ["--limit".to_owned(), n.to_string()];
        measure(shape.record(&server.url, &out, &limit));
        assert_eq!(lines_in(&out), n, "foxtrot record, {}", shape.label);
        measure(loop_command(&shape.urls(&server.url), &out, n));
        assert_eq!(lines_in(&out), n, "minimal loop, {}", shape.label);
    }
}
