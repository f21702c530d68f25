//! Micro-benchmarks of the per-message work: `cargo bench --bench codec`.
//!
//! `decode/<channel>` decodes every line of that channel's real Binance fixture
//! (`tests/data/binance/`) framed as a combined-stream frame, as foxtrot receives it;
//! `decode_raw/<channel>` the bare `/ws` payloads. `encode/<format>/<channel>` encodes the
//! resulting ticks into a reused buffer. `decode_okx/<channel>/<decoder>` decodes every line
//! of OKX's real `trades`, `bbo-tbt` and `books` fixtures (`tests/data/okx/`) as OKX sends
//! them; `decode_bybit/<channel>/<decoder>` Bybit's real frames (`tests/data/bybit/`: `trade`
//! from spot `publicTrade`, several trades a frame; `bookTicker` from spot and linear
//! `orderbook.1`; `depth` from `orderbook.50`). The decoder is `scan` (the venue's decoder:
//! its one-pass scanner, serde for what it declines) or `serde` (serde alone, as before the
//! scanner), so one run gives both. Throughput is per message.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use foxtrot::exchange::binance::Binance;
use foxtrot::exchange::bybit;
use foxtrot::exchange::okx::{self, Okx};
use foxtrot::exchange::{Decoded, Exchange, Out};
use foxtrot::sink::Encode;
use foxtrot::sink::csv::Csv;
use foxtrot::sink::ndjson::Ndjson;
use foxtrot::tick::{Channel, Tick};

const RECV_NS: u64 = 1_723_161_255_343_000_000;

/// The payload lines of one fixture, and the same lines in combined frames.
fn fixture(channel: Channel) -> (Vec<String>, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/binance")
        .join(format!("{}.jsonl", channel.as_str()));
    let raw: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let combined = raw
        .iter()
        .map(|payload| {
            let symbol = serde_json::from_str::<serde_json::Value>(payload).unwrap()["s"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase();
            format!(
                r#"{{"stream":"{symbol}@{}","data":{payload}}}"#,
                channel.as_str()
            )
        })
        .collect();
    (raw, combined)
}

/// The channels with a fixture file each.
const CHANNELS: [Channel; 4] = [
    Channel::Ticker,
    Channel::BookTicker,
    Channel::Trade,
    Channel::AggTrade,
];

fn ticks(frames: &[String]) -> Vec<Tick> {
    frames
        .iter()
        .map(|f| {
            let mut out = Out::default();
            match Binance.decode(f, RECV_NS, &mut out) {
                Ok(Decoded::Data) if out.ticks.len() == 1 => out.ticks.remove(0),
                other => panic!("{f}: {other:?}"),
            }
        })
        .collect()
}

fn decode(c: &mut Criterion) {
    for (group, combined) in [("decode", true), ("decode_raw", false)] {
        let mut g = c.benchmark_group(group);
        for channel in CHANNELS {
            let (raw, framed) = fixture(channel);
            let frames = if combined { framed } else { raw };
            g.throughput(Throughput::Elements(frames.len() as u64));
            let mut out = Out::default();
            g.bench_function(channel.as_str(), |b| {
                b.iter(|| {
                    for frame in &frames {
                        out.clear();
                        black_box(Binance.decode(black_box(frame), RECV_NS, &mut out).unwrap());
                    }
                })
            });
        }
        g.finish();
    }
}

/// A decoder under test: the venue's own (`scan`: its scanner, serde for the rest) or
/// serde alone (`serde`), the per-message cost the scanner is measured against.
type Decode = fn(&str, &mut Out) -> Result<Decoded, foxtrot::exchange::DecodeError>;

/// Benchmarks `decoders` on `frames`, as `<channel>/<decoder>`.
fn decode_each(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    channel: &str,
    frames: &[String],
    decoders: [(&str, Decode); 2],
) {
    g.throughput(Throughput::Elements(frames.len() as u64));
    for (name, decode) in decoders {
        let mut out = Out::default();
        g.bench_function(format!("{channel}/{name}"), |b| {
            b.iter(|| {
                for frame in frames {
                    out.clear();
                    black_box(decode(black_box(frame), &mut out).unwrap());
                }
            })
        });
    }
}

/// The lines of fixture files of one venue.
fn venue_frames(venue: &str, files: &[&str]) -> Vec<String> {
    files
        .iter()
        .flat_map(|file| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(venue)
                .join(file);
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn decode_okx(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode_okx");
    let decoders: [(&str, Decode); 2] = [
        ("scan", |f, out| Okx.decode(f, RECV_NS, out)),
        ("serde", |f, out| okx::decode_serde(f, RECV_NS, out)),
    ];
    for (channel, file) in [
        ("trade", "trades.jsonl"),
        ("bookTicker", "bbo-tbt.jsonl"),
        ("depth", "books.jsonl"),
    ] {
        decode_each(&mut g, channel, &venue_frames("okx", &[file]), decoders);
    }
    g.finish();
}

fn decode_bybit(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode_bybit");
    let decoders: [(&str, Decode); 2] = [
        ("scan", |f, out| bybit::SPOT.decode(f, RECV_NS, out)),
        ("serde", |f, out| bybit::SPOT.decode_serde(f, RECV_NS, out)),
    ];
    let cases = [
        ("trade", &["spot_publicTrade.jsonl"][..]),
        (
            "bookTicker",
            &["spot_orderbook_1.jsonl", "linear_orderbook_1.jsonl"][..],
        ),
        (
            "depth",
            &["spot_orderbook_50.jsonl", "linear_orderbook_50.jsonl"][..],
        ),
    ];
    for (channel, files) in cases {
        decode_each(&mut g, channel, &venue_frames("bybit", files), decoders);
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    for channel in CHANNELS {
        let ticks = ticks(&fixture(channel).1);
        g.throughput(Throughput::Elements(ticks.len() as u64));
        let encoders: [(&str, Box<dyn Encode>); 2] = [
            ("ndjson", Box::new(Ndjson)),
            ("csv", Box::new(Csv::new(&[channel]))),
        ];
        for (format, mut encoder) in encoders {
            let mut out = Vec::with_capacity(64 * 1024);
            g.bench_function(format!("{format}/{}", channel.as_str()), |b| {
                b.iter(|| {
                    out.clear();
                    for tick in &ticks {
                        encoder.encode(black_box(tick), &mut out);
                    }
                    black_box(&out);
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, decode, decode_okx, decode_bybit, encode);
criterion_main!(benches);
