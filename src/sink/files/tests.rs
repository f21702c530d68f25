//! FileSink with an injected clock: rows carry the receive times that decide the files.

use std::io::Read;
use std::path::Path;

use super::*;
use crate::sink::csv::Csv;
use crate::sink::ndjson::Ndjson;
use crate::sink::ndjson::tests::samples;
use crate::sink::template::{DAY_NS, HOUR_NS};
use crate::tick::{Channel, Symbol, TickData};

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
    s.finish().unwrap();
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
fn size_rotation_and_names_that_would_repeat_get_suffixes() {
    let dir = tempfile::tempdir().unwrap();
    let settings = FileSettings {
        rotate: Some(Rotate::Size(300)),
        ..FileSettings::default()
    };
    let mut s = sink(dir.path(), "{symbol}-{date}.csv", settings);
    for i in 0..6 {
        s.write(&tick("BTCUSDT", MIDNIGHT + i)).unwrap();
        s.flush().unwrap();
    }
    s.finish().unwrap();
    let names = files(dir.path());
    assert!(names.len() > 1, "{names:?}");
    assert!(names.contains(&"BTCUSDT-2025-12-03.csv".to_owned()));
    for n in 1..names.len() {
        assert!(
            names.contains(&format!("BTCUSDT-2025-12-03-{n}.csv")),
            "{names:?}"
        );
    }
    let mut rows = 0;
    for name in &names {
        let t = text(&dir.path().join(name));
        assert!(t.starts_with("exchange,"), "{name} starts with its header");
        rows += t.lines().count() - 1;
    }
    assert_eq!(rows, 6);
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
        text(&dir.path().join("BTCUSDT-1.ndjson.gz"))
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
