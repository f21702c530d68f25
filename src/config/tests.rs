//! Config from flags, file and defaults: precedence, validation messages and what each
//! command accepts.

use super::*;
use crate::cli::{Cli, Command};
use clap::Parser;

fn record(args: &[&str]) -> Result<Config, ConfigError> {
    let cli = Cli::try_parse_from(["foxtrot", "record"].iter().chain(args)).unwrap();
    match cli.command {
        Command::Record(r) => Config::for_record(&r, false),
        _ => unreachable!(),
    }
}

/// `record` gathers ticks for 10 ms, `stream` for 1 ms; sockets rest only when
/// `--read-interval` asks, whatever the flush interval.
#[test]
fn flush_and_read_intervals_are_set_apart() {
    let recorded = record(&["BTCUSDT", "--out", "t.ndjson"]).unwrap();
    assert_eq!(recorded.flush_interval, Duration::from_millis(10));
    assert_eq!(recorded.connection.read_every, Duration::ZERO);
    let cli = Cli::try_parse_from(["foxtrot", "stream", "BTCUSDT"]).unwrap();
    let Command::Stream(args) = cli.command else {
        unreachable!()
    };
    let streamed = Config::for_stream_on(&args, true, false).unwrap();
    assert_eq!(streamed.flush_interval, Duration::from_millis(1));
    let slow = record(&["BTCUSDT", "--out", "t.ndjson", "--flush-interval", "50ms"]).unwrap();
    assert_eq!(slow.connection.read_every, Duration::ZERO);
    let resting = record(&["BTCUSDT", "--out", "t.ndjson", "--read-interval", "20ms"]).unwrap();
    assert_eq!(resting.connection.read_every, Duration::from_millis(20));
    assert_eq!(resting.flush_interval, Duration::from_millis(10));
    for bad in ["1ms", "2s", "soon"] {
        let parsed = Cli::try_parse_from(["foxtrot", "record", "--read-interval", bad]);
        assert!(parsed.is_err(), "--read-interval {bad} was taken");
    }
}

#[test]
fn formats_follow_the_extension() {
    let cases = [
        ("t.csv", Some(Format::Csv)),
        ("t.CSV", Some(Format::Csv)),
        ("t.ndjson", Some(Format::Ndjson)),
        ("t.jsonl", Some(Format::Ndjson)),
        ("t.json", None),
        ("t.parquet", Some(Format::Parquet)),
        ("t.parquet.gz", None),
        ("t", None),
    ];
    for (path, want) in cases {
        let got = record(&["BTCUSDT", "--out", path]);
        match (got, want) {
            (Ok(c), Some(f)) => {
                assert!(matches!(c.output, Output::File { format, .. } if format == f))
            }
            (Err(ConfigError::OutExtension(_)), None) => {}
            (got, want) => panic!("{path}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn streams_are_symbols_times_channels_without_duplicates() {
    let c = record(&[
        "btcusdt",
        "ETHUSDT",
        "BTCUSDT",
        "--channel",
        "trade",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--out",
        "x.csv",
    ])
    .unwrap();
    let names: Vec<String> = c
        .streams
        .iter()
        .map(|s| format!("{}@{}", s.symbol, s.channel))
        .collect();
    assert_eq!(
        names,
        [
            "BTCUSDT@trade",
            "BTCUSDT@bookTicker",
            "ETHUSDT@trade",
            "ETHUSDT@bookTicker"
        ]
    );
    assert_eq!(c.channels, [Channel::Trade, Channel::BookTicker]);
}

#[test]
fn refusals() {
    assert!(matches!(
        record(&["BTC-USDT", "--out", "x.csv"]),
        Err(ConfigError::Symbol(_))
    ));
    assert!(matches!(
        record(&["BTCUSDT", "--out", "x.csv", "--endpoint", "http://x"]),
        Err(ConfigError::Endpoint(_))
    ));
    let c = record(&["BTCUSDT", "--out", "-"]).unwrap();
    assert_eq!(c.output, Output::Stdout(Format::Ndjson));
}

#[test]
fn file_policies_and_raw_come_from_the_file_unless_typed() {
    use crate::sink::rotate::{Fsync, Rotate};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.toml");
    std::fs::write(
        &path,
        "[output]\npath = \"t.ndjson.zst\"\nraw = \"raw-{date}.jsonl.zst\"\n\
         rotate = \"1h\"\nfsync = \"never\"\nzstd-level = 9\nrow-group-rows = 10\n\
         parquet-decimal = true\n",
    )
    .unwrap();
    let file = path.to_str().unwrap();
    let c = record(&["BTCUSDT", "--config", file]).unwrap();
    assert_eq!(c.raw, Some(PathBuf::from("raw-{date}.jsonl.zst")));
    assert_eq!(
        c.files.rotate,
        Some(Rotate::Every(Duration::from_secs(3600)))
    );
    assert_eq!(
        (c.files.fsync, c.files.zstd_level, c.files.row_group_rows),
        (Fsync::Never, 9, 10)
    );
    assert!(c.files.parquet_decimal);
    let typed = record(&[
        "BTCUSDT",
        "--config",
        file,
        "--zstd-level",
        "2",
        "--fsync",
        "rotate",
        "--raw",
        "r.jsonl",
    ])
    .unwrap();
    assert_eq!(
        (typed.files.zstd_level, typed.files.fsync),
        (2, Fsync::Rotate)
    );
    assert_eq!(typed.raw, Some(PathBuf::from("r.jsonl")));
    std::fs::write(&path, "[output]\nzstd-level = 23\n").unwrap();
    let err = record(&["BTCUSDT", "--config", file])
        .unwrap_err()
        .to_string();
    assert!(err.contains("out of range 1..=22"), "{err}");
}

#[test]
fn raw_alone_records_without_an_output() {
    let c = record(&["BTCUSDT", "--raw", "raw.jsonl"]).unwrap();
    assert_eq!(c.output, Output::Discard);
    assert!(c.more_outputs.is_empty());
}

#[test]
fn compressed_outputs_get_a_shallower_channel_unless_one_is_asked_for() {
    let buffer = |args: &[&str]| {
        let mut all = vec!["BTCUSDT"];
        all.extend_from_slice(args);
        record(&all).unwrap().buffer
    };
    assert_eq!(buffer(&["--out", "t.ndjson"]), DEFAULT_BUFFER as usize);
    assert_eq!(
        buffer(&["--out", "t.ndjson.zst"]),
        COMPRESSED_BUFFER as usize
    );
    assert_eq!(
        buffer(&["--out", "t.ndjson", "--out", "t.csv.gz"]),
        COMPRESSED_BUFFER as usize
    );
    assert_eq!(
        buffer(&["--out", "t.ndjson.zst", "--buffer", "65536"]),
        65536
    );
}

/// Connection-attempt limits per venue: attempts per window.
type Limits = Vec<(Venue, (usize, Duration))>;

/// Writes `text` as a config file in `dir` and returns its path.
fn config_file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("f.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The default `--connect-limit` follows the venues the streams are on, not `--venue`: a
/// file of OKX streams gets OKX's limit with `--venue` absent or `binance`; a mix gives each
/// venue a limiter at its own limit; a typed limit sets every venue's; `config check` plans
/// the same.
#[test]
fn each_venue_dialed_gets_its_own_connect_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = Duration::from_secs;
    let okx = "[[streams]]\nvenue = \"okx\"\nsymbols = [\"BTC-USDT\"]\nchannels = [\"trade\"]\n";
    let binance = "[[streams]]\nsymbols = [\"BTCUSDT\"]\n";
    let bybit = "[[streams]]\nvenue = \"bybit\"\nsymbols = [\"BTCUSDT\"]\n";
    let futures = "[[streams]]\nvenue = \"binance-futures\"\nsymbols = [\"BTCUSDT\"]\n";
    let (b, f, o, y) = (
        Venue::Binance,
        Venue::BinanceFutures,
        Venue::Okx,
        Venue::Bybit,
    );
    let cases: [(&[&str], &[&str], Limits); 7] = [
        (&[okx], &[], vec![(o, (3, s(1)))]),
        (&[okx], &["--venue", "binance"], vec![(o, (3, s(1)))]),
        (&[bybit], &[], vec![(y, (500, s(300)))]),
        (
            &[binance, bybit],
            &[],
            vec![(b, (300, s(300))), (y, (500, s(300)))],
        ),
        (
            &[futures, bybit],
            &[],
            vec![(f, (300, s(300))), (y, (500, s(300)))],
        ),
        (
            &[binance, okx],
            &[],
            vec![(b, (300, s(300))), (o, (3, s(1)))],
        ),
        (
            &[okx, binance],
            &["--connect-limit", "10/1m"],
            vec![(o, (10, s(60))), (b, (10, s(60)))],
        ),
    ];
    for (groups, flags, want) in cases {
        let file = config_file(&dir, &groups.concat());
        let mut args = vec!["--config", file.as_str(), "--out", "t.csv"];
        args.extend_from_slice(flags);
        assert_eq!(
            record(&args).unwrap().connect_limits,
            want,
            "{groups:?} {flags:?}"
        );
        if flags.is_empty() {
            let checked = Config::for_file(Path::new(&file), None).unwrap();
            assert_eq!(checked.connect_limits, want, "config check of {groups:?}");
        }
    }
    // The file's [tuning] still wins over the venues'.
    let file = config_file(&dir, &format!("{okx}[tuning]\nconnect-limit = \"5/10s\"\n"));
    let c = record(&["--config", &file, "--out", "t.csv"]).unwrap();
    assert_eq!(c.connect_limits, vec![(o, (5, s(10)))]);
    // Symbols typed are on --venue.
    let c = record(&["BTC-USDT", "--venue", "okx", "--out", "t.csv"]).unwrap();
    assert_eq!(c.connect_limits, vec![(o, (3, s(1)))]);
}
