//! `--config FILE` and `foxtrot config check`: a TOML file holds the streams, the output and
//! the tunables; flags override it; every mistake in it is one line naming the key and line.

use std::path::Path;

use crate::util::*;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn config_check_prints_which_connection_carries_which_streams() {
    let dir = tempfile::tempdir().unwrap();
    let symbols: Vec<String> = (0..250).map(|i| format!("\"SYM{i}USDT\"")).collect();
    let file = write(
        dir.path(),
        "many.toml",
        &format!(
            "[[streams]]\nchannels = [\"trade\", \"bookTicker\"]\nsymbols = [{}]\n\n\
             [[streams]]\nsymbols = [\"BTCUSDT\"]\n\n\
             [output]\npath = \"ticks.csv\"\n\n[tuning]\non-full = \"drop-newest\"\n",
            symbols.join(", ")
        ),
    );
    let out = run(&["config", "check", &file]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let text = &out.stdout;
    for needle in [
        "501 (251 symbols; channels trade, bookTicker, ticker) on 3 connections",
        "connection 1 of 3: 200 streams",
        "connection 3 of 3: 101 streams",
        "when full: drop-newest",
        " SYM0USDT@trade SYM0USDT@bookTicker",
        " BTCUSDT@ticker",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
    // Relative paths in the file are relative to the file.
    let csv = dir.path().join("ticks.csv");
    assert!(text.contains(&format!("{} (csv; refused if it exists)", csv.display())));
    assert!(!csv.exists(), "checking creates nothing");
}

#[tokio::test]
async fn config_file_errors_name_the_key_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "[[streams]]\nsymbols = [\"BTCUSDT\"]\n\n[tuning]\nbufer = 10\n",
            ":5:1: unknown key `bufer`",
        ),
        ("verbose = true\n", ":1:1: unknown key `verbose`"),
        (
            "[[streams]]\nsymbols = [\"BTCUSDT\"]\nchanels = [\"trade\"]\n",
            ":3:1: unknown key `chanels`",
        ),
        (
            "[monitoring]\nmetrics-address = \"127.0.0.1:9898\"\n",
            ":2:1: unknown key `metrics-address`",
        ),
        (
            "[outputs]\npath = \"x.csv\"\n",
            ":1:2: unknown key `outputs`",
        ),
        (
            "[[streams]]\nsymbols = [\"BTCUSDT\"]\nchannels = [\"depth5\"]\n",
            ":3:12: invalid value \"depth5\"",
        ),
        (
            "[[streams]]\nsymbols = [\"BTC/USDT\"]\n",
            ":2:12: invalid symbol \"BTC/USDT\"",
        ),
        (
            "[[streams]]\nvenue = \"kraken\"\nsymbols = [\"BTCUSDT\"]\n",
            ":2:9: unknown venue \"kraken\": expected one of binance, binance-futures",
        ),
        (
            "[[streams]]\nsymbols = [\"BTCUSDT\"]\n[stop]\nduration = \"forever\"\n",
            ":4:12: invalid duration \"forever\"",
        ),
        (
            "[[streams]]\nsymbols = \"BTCUSDT\"\n",
            ":2:11: invalid type",
        ),
        ("[[streams]\n", ":1:"),
        ("", "no streams"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let file = write(dir.path(), &format!("bad{i}.toml"), text);
        for args in [
            vec!["config", "check", &file],
            vec!["stream", "--config", &file, "--format", "ndjson"],
        ] {
            let out = run(&args).await;
            out.assert_no_panic();
            assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
            assert_eq!(out.stdout, "");
            let lines: Vec<&str> = out.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{args:?}: {}", out.stderr);
            assert!(lines[0].starts_with("foxtrot: "), "{}", lines[0]);
            assert!(lines[0].contains(needle), "{:?} lacks {needle:?}", lines[0]);
            if needle.starts_with(':') {
                assert!(
                    lines[0].contains(&format!("{file}{needle}")),
                    "{}",
                    lines[0]
                );
            }
        }
    }
    let missing = dir.path().join("missing.toml");
    let out = run(&["config", "check", missing.to_str().unwrap()]).await;
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("cannot read config file"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_from_a_config_file_with_flags_overriding_it() {
    let server = start_replay(replay_config(&["bookTicker.jsonl", "trade.jsonl"])).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "foxtrot.toml",
        &format!(
            "endpoint = \"{}\"\n\n\
             [[streams]]\nchannels = [\"bookTicker\", \"trade\"]\nsymbols = [\"btcusdt\"]\n\n\
             [output]\npath = \"ticks.ndjson\"\n\n\
             [tuning]\nbuffer = 1000\nconnect-timeout = \"20s\"\n\n\
             [stop]\nlimit = 100000\n",
            server.url()
        ),
    );
    // The server sends the book tickers first, then the trades: take some of each.
    let limit = (fixture_lines("bookTicker.jsonl").len() + 2).to_string();
    let plan = run(&["record", "--config", &file, "--limit", &limit, "--dry-run"]).await;
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    assert!(
        plan.stdout.contains(&format!("after {limit} ticks")),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("1000 ticks"), "{}", plan.stdout);
    assert!(
        !dir.path().join("ticks.ndjson").exists(),
        "a dry run writes nothing"
    );

    let out = run(&["record", "--config", &file, "--limit", &limit]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.assert_no_panic();
    let written = std::fs::read_to_string(dir.path().join("ticks.ndjson")).unwrap();
    let ticks = parse_ndjson(&written);
    assert_eq!(ticks.len().to_string(), limit);
    assert!(ticks.iter().all(|t| t["symbol"] == "BTCUSDT"));
    assert!(ticks.iter().any(|t| t["channel"] == "trade"));
    assert!(ticks.iter().any(|t| t["channel"] == "bookTicker"));
    server.shutdown().await.unwrap();
}

/// The TOML block of the README's "Config file" section, and `sample/foxtrot.toml`, are
/// valid: the documented example cannot rot.
#[tokio::test]
async fn the_documented_config_files_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## Config file")
        .nth(1)
        .expect("a Config file section");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block in the Config file section");
    let dir = tempfile::tempdir().unwrap();
    let documented = write(dir.path(), "readme.toml", block);
    let sample = root.join("sample/foxtrot.toml");
    for file in [documented.as_str(), sample.to_str().unwrap()] {
        let out = run(&["config", "check", file]).await;
        assert_eq!(out.code, Some(0), "{file}: {}", out.stderr);
        assert!(out.stdout.contains("connection 1 of 1"), "{}", out.stdout);
    }
}
