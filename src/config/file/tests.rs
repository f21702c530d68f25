//! The config file: a full file parses; errors name the key, line and column; connection
//! tunables are checked.

use super::*;

fn check(text: &str) -> Result<ConfigFile, String> {
    let path = Path::new("f.toml");
    parse::<ConfigFile>(path, text)
        .and_then(|mut file| file.check_venues(path, text).map(|()| file))
        .map_err(|e| e.to_string())
}

#[test]
fn a_full_file_parses() {
    let file = check(
        r#"
endpoint = "ws://127.0.0.1:9443"

[[streams]]
channels = ["trade", "bookTicker"]
symbols = ["btcusdt", "ETHUSDT"]

[[streams]]
venue = "binance"
symbols = ["BNBUSDT"]

[output]
path = "ticks.csv"
existing = "append"
format = "csv"

[tuning]
buffer = 1024
on-full = "drop-newest"
shutdown-timeout = "2s"
connect-timeout = "1m"

[stop]
limit = 10
duration = "1h"

[monitoring]
stats-interval = "10s"
stats-file = "stats.jsonl"
metrics-addr = "127.0.0.1:9898"
"#,
    )
    .unwrap();
    assert_eq!(file.streams.len(), 2);
    assert_eq!(
        file.streams[0].symbols[0]
            .get_ref()
            .symbol
            .as_ref()
            .unwrap()
            .as_str(),
        "BTCUSDT"
    );
    let channels: Vec<_> = file.streams[1]
        .channels
        .iter()
        .map(|c| c.get_ref().0)
        .collect();
    assert_eq!(channels, [Channel::Ticker]);
    assert_eq!(file.tuning.on_full, Some(Choice(OnFull::DropNewest)));
    assert_eq!(file.stop.duration.unwrap().0, Duration::from_secs(3600));
}

#[test]
fn errors_name_the_key_and_the_line() {
    let cases = [
        ("[tuning]\nbufer = 3\n", "f.toml:2:1: unknown key `bufer`"),
        ("speed = 1\n", "f.toml:1:1: unknown key `speed`"),
        (
            "[[streams]]\nsymbols = [\"BTCUSDT\"]\nchanel = [\"trade\"]\n",
            "f.toml:3:1: unknown key `chanel`",
        ),
        (
            "[[streams]]\nchannels = [\"trade\"]\n",
            "missing key `symbols`",
        ),
        (
            "[[streams]]\nsymbols = [\"BTCUSDT\", \"BTC-USDT\"]\n",
            "f.toml:2:23: invalid symbol \"BTC-USDT\"",
        ),
        (
            "[[streams]]\nvenue = \"kraken\"\nsymbols = [\"A\"]\n",
            "f.toml:2:9: unknown venue \"kraken\": expected one of binance, binance-futures",
        ),
        (
            "[[streams]]\nsymbols = [\"A\"]\nchannels = [\"depths\"]\n",
            "f.toml:3:12: invalid value \"depths\": expected one of ticker, bookTicker",
        ),
        (
            "[tuning]\nbuffer = 0\n",
            "f.toml:2:10: buffer 0 is out of range",
        ),
        (
            "[tuning]\nshutdown-timeout = \"soon\"\n",
            "f.toml:2:20: invalid duration \"soon\"",
        ),
        ("[stop]\nlimit = 0\n", "f.toml:2:9: must be at least 1"),
        ("endpoint = \"http://x\"\n", "f.toml:1:12: invalid endpoint"),
        (
            "[output]\nexisting = \"keep\"\n",
            "f.toml:2:12: unknown variant `keep`",
        ),
        ("[tuning\n", "f.toml:1:"),
    ];
    for (text, want) in cases {
        let got = check(text).unwrap_err();
        assert!(got.contains(want), "{text:?}: {got:?} lacks {want:?}");
        assert!(!got.contains('\n'), "one line: {got:?}");
    }
}

#[test]
fn lines_and_columns_count_characters() {
    assert_eq!(locate("ab\ncd", 0), (1, 1));
    assert_eq!(locate("ab\ncd", 4), (2, 2));
    assert_eq!(locate("é\nx", 3), (2, 1));
}

#[test]
fn connection_tunables_are_read_and_checked() {
    let file = check(
        "[tuning]\nstreams-per-connection = 1024\nbackoff-initial = \"1ms\"\nconnect-limit = \"10/1m\"\nmax-retries = 3\n",
    )
    .unwrap();
    assert_eq!(file.tuning.streams_per_connection.map(|n| n.0), Some(1024));
    assert_eq!(
        file.tuning.connect_limit.map(|l| l.0),
        Some((10, Duration::from_secs(60)))
    );
    assert_eq!(file.tuning.max_retries, Some(3));
    let bad = check("[tuning]\n\nconnect-limit = \"lots\"\n").unwrap_err();
    assert!(bad.contains(":3:") && bad.contains("lots"), "{bad}");
    let bad = check("[tuning]\nstreams-per-connection = 2000\n").unwrap_err();
    assert!(bad.contains("out of range"), "{bad}");
}
