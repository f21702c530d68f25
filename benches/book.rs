//! Order-book micro-benchmarks: `cargo bench --bench book`.
//!
//! The book is the replay server's generator's (`foxtrot::replay::BookGenerator`, spot
//! BTCUSDT-like text): 5000 levels a side. `apply_diff_20` applies one 20-level diff event
//! from the generator and then its inverse, so the book stays the same from iteration to
//! iteration (throughput: 40 level changes); `parse_levels_20` reads 20 `[price, qty]`
//! texts into changes; `book_row_25` takes the best 25 levels a side into a reused row, and
//! `book_row_25_ndjson` also writes them as NDJSON `bids`/`asks` arrays;
//! `okx_checksum` is OKX's CRC32 over the best 25; `sync_1000_events` feeds 1000 generated
//! events through the Binance spot sync (the first, with the snapshot, outside the timing;
//! throughput: level changes of the other 999). Times are the benchmark thread's own CPU
//! time (`CLOCK_THREAD_CPUTIME_ID`), so other processes on a shared machine do not count.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use foxtrot::book::sync::{DepthEvent, DepthSync, Limits, Rules, Snapshot};
use foxtrot::book::{Book, BookRow, Change, Side, binance, checksum, write_levels_json};
use foxtrot::exchange::binance_depth;
use foxtrot::replay::{BookGenerator, GenConfig};

const LEVELS: usize = 5000;

/// CPU time of this thread: on a shared machine, wall time counts other processes' turns
/// on the core; the thread's own CPU time does not.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec to the pointer it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `routine` `iters` times and returns the thread CPU time it took.
fn cpu_time(iters: u64, mut routine: impl FnMut()) -> Duration {
    let start = thread_cpu();
    for _ in 0..iters {
        routine();
    }
    thread_cpu() - start
}

/// A generator whose book holds 5000 levels a side, after some churn.
fn generator() -> BookGenerator {
    let mut g = BookGenerator::new(GenConfig {
        levels: LEVELS,
        ..GenConfig::spot(42)
    });
    for _ in 0..1000 {
        g.next_event();
    }
    g
}

fn snapshot_of(g: &BookGenerator) -> Snapshot {
    let mut body = String::new();
    g.write_snapshot(LEVELS, g.snapshot_id(), 0, &mut body);
    binance::snapshot(&body, 0).unwrap()
}

/// The next event of `g` with exactly 20 level changes, parsed; the generator moves on.
fn diff_20(g: &mut BookGenerator) -> (DepthEvent, String) {
    loop {
        let event = g.next_event();
        if event.bids.len() + event.asks.len() == 20 {
            let mut json = String::new();
            g.write_event(&event, "BTCUSDT", 0, &mut json);
            return (binance_depth::depth_event(&json, 0).unwrap().1, json);
        }
    }
}

fn apply(book: &mut Book, bids: &[Change], asks: &[Change]) {
    for c in bids {
        book.apply(Side::Bid, c);
    }
    for c in asks {
        book.apply(Side::Ask, c);
    }
}

/// The changes that undo `changes` on `book` (the old level, or a removal).
fn inverse(book: &Book, side: Side, changes: &[Change]) -> Vec<Change> {
    changes
        .iter()
        .map(|c| match book.get(side, c.key) {
            Some(old) => Change::parse(&old.price.to_string(), &old.qty.to_string()).unwrap(),
            None => Change::parse(&c.level.price.to_string(), "0").unwrap(),
        })
        .collect()
}

fn book_ops(c: &mut Criterion) {
    let mut g = generator();
    let snapshot = snapshot_of(&g);
    let mut book = Book::new();
    book.replace(&snapshot.bids, &snapshot.asks);
    let (event, json) = diff_20(&mut g);
    let undo_bids = inverse(&book, Side::Bid, &event.bids);
    let undo_asks = inverse(&book, Side::Ask, &event.asks);
    let before = book.clone();
    apply(&mut book, &event.bids, &event.asks);
    apply(&mut book, &undo_bids, &undo_asks);
    assert_eq!(book, before, "the inverse restores the book");
    assert_eq!(book.len(Side::Bid), LEVELS);

    let mut group = c.benchmark_group("book");
    group.throughput(Throughput::Elements(40));
    group.bench_function("apply_diff_20", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                apply(&mut book, black_box(&event.bids), black_box(&event.asks));
                apply(&mut book, black_box(&undo_bids), black_box(&undo_asks));
            })
        })
    });

    let texts: Vec<(String, String)> = serde_json::from_str::<serde_json::Value>(&json)
        .unwrap()
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k == "b" || *k == "a")
        .flat_map(|(_, v)| v.as_array().unwrap().clone())
        .map(|l| {
            (
                l[0].as_str().unwrap().to_owned(),
                l[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(texts.len(), 20);
    group.throughput(Throughput::Elements(20));
    group.bench_function("parse_levels_20", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                for (p, q) in &texts {
                    black_box(Change::parse(black_box(p), black_box(q)).unwrap());
                }
            })
        })
    });

    group.throughput(Throughput::Elements(1));
    let mut row = BookRow::default();
    group.bench_function("book_row_25", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                row.fill(black_box(&book), 25);
                black_box(&row);
            })
        })
    });
    let mut out = Vec::with_capacity(4096);
    group.bench_function("book_row_25_ndjson", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                row.fill(black_box(&book), 25);
                out.clear();
                out.extend_from_slice(b"\"bids\":");
                write_levels_json(&row.bids, &mut out);
                out.extend_from_slice(b",\"asks\":");
                write_levels_json(&row.asks, &mut out);
                black_box(&out);
            })
        })
    });
    group.bench_function("okx_checksum", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                black_box(checksum::okx(black_box(&book)));
            })
        })
    });

    let mut events = Vec::new();
    let mut changes = 0;
    let snapshot = snapshot_of(&g);
    for i in 0..1000 {
        let event = g.next_event();
        let mut json = String::new();
        g.write_event(&event, "BTCUSDT", 0, &mut json);
        let parsed = binance_depth::depth_event(&json, 0).unwrap().1;
        if i > 0 {
            changes += parsed.bids.len() + parsed.asks.len();
        }
        events.push(parsed);
    }
    group.throughput(Throughput::Elements(changes as u64));
    group.bench_function("sync_1000_events", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut sync = DepthSync::new(Rules::Spot, Limits::default());
                let mut rest = events.clone().into_iter();
                sync.on_event(rest.next().unwrap(), &mut |_, _| {});
                sync.snapshot_started();
                sync.on_snapshot(snapshot.clone(), &mut |_, _| {});
                let mut applied = 0u32;
                let start = thread_cpu();
                for event in rest {
                    sync.on_event(event, &mut |_, _| applied += 1);
                }
                total += thread_cpu() - start;
                assert_eq!(applied, 999);
                drop(black_box(sync));
            }
            total
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = book_ops
}
criterion_main!(benches);
