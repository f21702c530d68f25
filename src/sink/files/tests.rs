//! FileSink with an injected clock: rows carry the receive times that decide the files.

use std::io::Read;
use std::path::Path;

use super::*;
use crate::sink::Encode;
use crate::sink::csv::Csv;
use crate::sink::ndjson::Ndjson;
use crate::sink::ndjson::tests::samples;
use crate::sink::template::{DAY_NS, HOUR_NS};
use crate::tick::{Channel, Event, Symbol, TickData};

/// 2025-12-03T00:00:00Z
const MIDNIGHT: u64 = 1_764_720_000_000_000_000;

/// A bookTicker tick of `symbol` received at `recv_ns`.
fn tick(symbol: &str, recv_ns: u64) -> Tick {
    let mut t = samples()
        .into_iter()
        .find(|t| matches!(t.data, TickData::BookTicker(_)))
        .unwrap();
    t.symbol = Symbol::parse(symbol).unwrap();
    t.recv_ns = recv_ns;
    t
}

fn sink(dir: &Path, template: &str, settings: FileSettings) -> FileSink {
    let text = dir.join(template).to_str().unwrap().to_owned();
    let csv = template.contains(".csv");
    let encoder: Box<dyn Encode> = if csv {
        Box::new(Csv::new(&[Channel::BookTicker]))
    } else {
        Box::new(Ndjson)
    };
    let mut sink = FileSink::new(
        &text,
        Form::Lines(encoder),
        csv,
        Existing::Refuse,
        &settings,
    )
    .unwrap();
    // Wall-clock time stands still at the first row's day: only rows move periods on.
    sink.clock = || MIDNIGHT;
    sink
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_str().unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

fn text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let name = path.to_str().unwrap();
    if name.ends_with(".gz") {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_string(&mut s)
            .unwrap();
        s
    } else if name.ends_with(".zst") {
        String::from_utf8(zstd::decode_all(bytes.as_slice()).unwrap()).unwrap()
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

#[test]
fn a_template_files_rows_by_symbol_and_date_and_rotates_at_midnight() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sink(
        dir.path(),
        "{exchange}/{date}/{symbol}.csv.gz",
        FileSettings::default(),
    );
    s.write(&tick("BTCUSDT", MIDNIGHT - 1)).unwrap();
    s.write(&tick("ETHUSDT", MIDNIGHT - 1)).unwrap();
    assert_eq!(s.flush().unwrap(), 2);
    // Still being written: only .partial names exist.
    assert!(files(dir.path()).iter().all(|f| f.ends_with(".partial")));
    s.write(&tick("BTCUSDT", MIDNIGHT)).unwrap();
    s.write(&tick("BTCUSDT", MIDNIGHT + 5)).unwrap();
    // The day before is finished by the first row after midnight.
    assert!(files(dir.path()).contains(&"binance/2025-12-02/BTCUSDT.csv.gz".to_owned()));
    assert_eq!(s.finish().unwrap(), 2);
    assert_eq!(
        files(dir.path()),
        [
            "binance/2025-12-02/BTCUSDT.csv.gz",
            "binance/2025-12-02/ETHUSDT.csv.gz",
            "binance/2025-12-03/BTCUSDT.csv.gz",
        ]
    );
    for (file, rows) in [
        ("binance/2025-12-02/BTCUSDT.csv.gz", 1),
        ("binance/2025-12-03/BTCUSDT.csv.gz", 2),
    ] {
        let t = text(&dir.path().join(file));
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].starts_with("exchange,symbol,channel,recv_ns"),
            "{file}"
        );
        assert_eq!(lines.len(), 1 + rows, "{file}");
    }
}

#[test]
fn hourly_rotation_without_a_time_placeholder_names_files_by_start() {
    let dir = tempfile::tempdir().unwrap();
    let settings = FileSettings {
        rotate: Some(Rotate::Every(Duration::from_secs(3600))),
        ..FileSettings::default()
    };
    let mut s = sink(dir.path(), "trades.ndjson.zst", settings);
    for ns in [
        MIDNIGHT + 10,
        MIDNIGHT + HOUR_NS - 1,
        MIDNIGHT + HOUR_NS + 7,
        MIDNIGHT + DAY_NS,
    ] {
        s.write(&tick("BTCUSDT", ns)).unwrap();
    }
    // Every tick counts as written, those of the files that rows of a later hour finished
    // (before any flush) too.
    assert_eq!(s.finish().unwrap(), 4);
    assert_eq!(
        files(dir.path()),
        [
            "trades-20251203T000000Z.ndjson.zst",
            "trades-20251203T010000Z.ndjson.zst",
            "trades-20251204T000000Z.ndjson.zst",
        ]
    );
    let first = text(&dir.path().join("trades-20251203T000000Z.ndjson.zst"));
    assert_eq!(first.lines().count(), 2);
}

#[test]
fn size_rotation_numbers_every_file_of_a_name_in_sorting_order_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    // A file a row.
    let settings = FileSettings {
        rotate: Some(Rotate::Size(1)),
        ..FileSettings::default()
    };
    let run = |from: u64, rows: u64| {
        let mut s = sink(dir.path(), "{symbol}-{date}.csv", settings);
        for i in from..from + rows {
            s.write(&tick("BTCUSDT", MIDNIGHT + i)).unwrap();
            s.flush().unwrap();
        }
        s.finish().unwrap();
    };
    run(0, 12);
    let names = files(dir.path());
    assert_eq!(names.len(), 12, "{names:?}");
    // Every file is numbered from the first, so byte order (`ls`, `sort`) is write order,
    // past 9 files too.
    let numbered: Vec<String> = (1..=names.len())
        .map(|n| format!("BTCUSDT-2025-12-03-{n:04}.csv"))
        .collect();
    assert_eq!(names, numbered);
    // A second run goes on after the highest number, even with a hole in the series.
    std::fs::remove_file(dir.path().join(&names[1])).unwrap();
    run(12, 1);
    let after = files(dir.path());
    assert_eq!(
        after.last().unwrap(),
        &format!("BTCUSDT-2025-12-03-{:04}.csv", names.len() + 1)
    );
    let mut rows = Vec::new();
    for name in &after {
        let t = text(&dir.path().join(name));
        assert!(t.starts_with("exchange,"), "{name} starts with its header");
        rows.extend(
            t.lines()
                .skip(1)
                .map(|l| l.split(',').nth(3).unwrap().to_owned()),
        );
    }
    let mut sorted = rows.clone();
    sorted.sort_by_key(|ns| ns.parse::<u64>().unwrap());
    assert_eq!(rows, sorted, "files in name order hold rows in time order");
    assert_eq!(
        rows.len(),
        12,
        "11 of the first run (one file removed) and 1"
    );
}

#[test]
fn an_existing_file_is_never_overwritten_by_a_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("BTCUSDT.ndjson.gz"), b"keep").unwrap();
    let mut s = sink(dir.path(), "{symbol}.ndjson.gz", FileSettings::default());
    s.write(&tick("BTCUSDT", MIDNIGHT)).unwrap();
    s.finish().unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("BTCUSDT.ndjson.gz")).unwrap(),
        b"keep"
    );
    assert_eq!(
        text(&dir.path().join("BTCUSDT-0001.ndjson.gz"))
            .lines()
            .count(),
        1
    );
}

#[test]
fn fsync_interval_syncs_open_files_and_never_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let every = FileSettings {
        fsync: Fsync::Interval(Duration::from_millis(1)),
        ..FileSettings::default()
    };
    let mut s = sink(dir.path(), "a.ndjson.gz", every);
    for i in 0..3 {
        s.write(&tick("BTCUSDT", MIDNIGHT + i)).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        s.flush().unwrap();
    }
    assert!(s.fsyncs() >= 3, "{} syncs", s.fsyncs());
    let never = FileSettings {
        fsync: Fsync::Never,
        ..FileSettings::default()
    };
    let mut s = sink(dir.path(), "b.ndjson.gz", never);
    s.write(&tick("BTCUSDT", MIDNIGHT)).unwrap();
    s.flush().unwrap();
    s.finish().unwrap();
    assert_eq!(s.fsyncs(), 0);
}

#[test]
fn a_compressed_partial_decodes_up_to_the_last_flush() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sink(dir.path(), "a.ndjson.zst", FileSettings::default());
    s.write(&tick("BTCUSDT", MIDNIGHT)).unwrap();
    s.flush().unwrap();
    // A crash now: the stream has no frame end, yet its first line decodes.
    let partial = dir.path().join("a.ndjson.zst.partial");
    let bytes = std::fs::read(&partial).unwrap();
    let mut out = Vec::new();
    let _ = zstd::stream::read::Decoder::new(bytes.as_slice())
        .unwrap()
        .read_to_end(&mut out);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
    s.finish().unwrap();
    assert!(!partial.exists());
}

/// `depth` rows of two symbols: a snapshot each, then events that move levels around; a
/// gap on ETHUSDT at row 120 and its new snapshot at 130. Row `n` is received at
/// `MIDNIGHT + n s`.
fn depth_records() -> Vec<Event> {
    use crate::book::Change;
    use crate::book::row::{BookData, BookRecord, DepthRow};
    let level = |p: String, q: String| Change::parse(&p, &q).unwrap().level;
    let mut out = Vec::new();
    for n in 0..200u64 {
        let symbol = if n % 2 == 0 { "BTCUSDT" } else { "ETHUSDT" };
        let recv_ns = MIDNIGHT + n * 1_000_000_000;
        if symbol == "ETHUSDT" && n == 121 {
            out.push(Event::Gap(Gap {
                exchange: crate::tick::Venue::Binance,
                symbol: Symbol::parse(symbol).unwrap(),
                channel: Channel::Depth,
                from_ns: recv_ns,
                to_ns: recv_ns,
                reason: "sequence",
            }));
        }
        if (121..131).contains(&n) && symbol == "ETHUSDT" {
            continue;
        }
        let snapshot = n < 2 || (n == 131);
        let row = if snapshot {
            DepthRow {
                is_snapshot: true,
                update_id: n,
                exchange_ns: n,
                bids: (0..20)
                    .map(|i| level(format!("{}", 100 - i), format!("{}", i + 1)))
                    .collect(),
                asks: (0..20)
                    .map(|i| level(format!("{}", 101 + i), format!("{}", i + 1)))
                    .collect(),
                ..DepthRow::default()
            }
        } else {
            DepthRow {
                first_update_id: Some(n),
                update_id: n,
                exchange_ns: n,
                bids: vec![
                    level(format!("{}", 100 - n % 25), format!("{}", n % 3)),
                    level(format!("{}.5", 90 - n % 7), format!("{}", n)),
                ],
                asks: vec![level(format!("{}", 101 + n % 30), format!("{}", n % 4))],
                ..DepthRow::default()
            }
        };
        out.push(Event::Book(Box::new(BookRecord {
            exchange: crate::tick::Venue::Binance,
            symbol: Symbol::parse(symbol).unwrap(),
            recv_ns,
            data: BookData::Depth(row),
        })));
    }
    out
}

/// What the rebuilt books of `text` are, per symbol, as `price:qty` texts.
fn rebuilt(text: &str) -> Vec<(String, Vec<String>, bool)> {
    let mut r = crate::book::rebuild::Rebuilder::new();
    r.apply_text(text)
        .unwrap_or_else(|e| panic!("does not rebuild alone: {e}\n{text}"));
    ["BTCUSDT", "ETHUSDT"]
        .iter()
        .filter_map(|s| {
            let b = r.get("binance", s)?;
            let levels = b
                .book
                .bids()
                .chain(b.book.asks())
                .map(|l| format!("{}:{}", l.price, l.qty))
                .collect();
            Some((s.to_string(), levels, b.broken()))
        })
        .collect()
}

#[test]
fn every_rotated_depth_file_starts_with_its_books_and_rebuilds_alone() {
    let dir = tempfile::tempdir().unwrap();
    let settings = FileSettings {
        rotate: Some(Rotate::Size(3_000)),
        ..FileSettings::default()
    };
    let mut s = sink(dir.path(), "depth.ndjson", settings);
    for (n, event) in depth_records().iter().enumerate() {
        match event {
            Event::Book(record) => s.book(record).unwrap(),
            Event::Gap(gap) => s.gap(gap).unwrap(),
            _ => unreachable!(),
        }
        if n % 5 == 4 {
            s.flush().unwrap();
        }
    }
    s.finish().unwrap();
    // Files are numbered: they sort in order.
    let names = files(dir.path());
    assert!(names.len() >= 5, "{names:?}");
    let mut whole = String::new();
    for (k, name) in names.iter().enumerate() {
        let t = text(&dir.path().join(name));
        whole.push_str(&t);
        // Alone, the file rebuilds what the whole recording up to its end rebuilds.
        assert_eq!(rebuilt(&t), rebuilt(&whole), "{name}");
        if k > 0 {
            let first: serde_json::Value = serde_json::from_str(t.lines().next().unwrap()).unwrap();
            assert_eq!(first["is_snapshot"], true, "{name}");
            assert_eq!(first["synthetic"], true, "{name}");
        }
    }
    // The venue's snapshots are not marked; ETHUSDT's book, broken by the gap, is carried
    // into no file until its new snapshot.
    let carried = whole
        .lines()
        .filter(|l| l.contains("\"synthetic\":true"))
        .count();
    let snapshots = whole
        .lines()
        .filter(|l| l.contains("\"is_snapshot\":true"))
        .count();
    assert_eq!(
        snapshots - carried,
        3,
        "two first snapshots and ETHUSDT's re-sync"
    );
    assert!(
        carried >= 2 * (names.len() - 1) - 2,
        "{carried} carried in {names:?}"
    );
}

#[test]
fn a_depth_file_of_each_hour_starts_with_the_book_in_csv_too() {
    let dir = tempfile::tempdir().unwrap();
    let text_of = |s: &mut FileSink, events: &[Event]| {
        for event in events {
            match event {
                Event::Book(record) => s.book(record).unwrap(),
                Event::Gap(gap) => s.gap(gap).unwrap(),
                _ => unreachable!(),
            }
        }
        s.finish().unwrap();
    };
    // Rows a minute apart: 200 minutes make 4 hours.
    let events: Vec<Event> = depth_records()
        .into_iter()
        .map(|mut e| {
            if let Event::Book(r) = &mut e {
                r.recv_ns = MIDNIGHT + (r.recv_ns - MIDNIGHT) * 60;
            }
            e
        })
        .collect();
    let text = dir
        .path()
        .join("d-{date}T{hour}.csv")
        .to_str()
        .unwrap()
        .to_owned();
    let mut s = FileSink::new(
        &text,
        Form::Lines(Box::new(Csv::new(&[Channel::Depth]))),
        true,
        Existing::Refuse,
        &FileSettings::default(),
    )
    .unwrap();
    s.clock = || MIDNIGHT;
    text_of(&mut s, &events);
    let names: Vec<String> = files(dir.path())
        .into_iter()
        .filter(|n| !n.ends_with(".gaps.csv"))
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    for name in &names[1..] {
        let t = self::text(&dir.path().join(name));
        let mut lines = t.lines().skip(1);
        let first = lines.next().unwrap();
        assert!(
            first.starts_with("binance,BTCUSDT,depth,") && first.contains(",true,,"),
            "{name}: {first}"
        );
    }
}
