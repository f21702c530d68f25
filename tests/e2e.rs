//! `stream` and `record` against the replay server: every tick arrives, in order per stream,
//! with the exchange's exact decimal text, in NDJSON and in CSV.

use serde_json::Value;

use crate::util::*;

/// The output fields of a channel and the Binance wire keys they come from.
fn wire_keys(channel: &str) -> &'static [(&'static str, &'static str)] {
    match channel {
        "bookTicker" => &[
            ("update_id", "u"),
            ("bid", "b"),
            ("bid_qty", "B"),
            ("ask", "a"),
            ("ask_qty", "A"),
        ],
        "trade" => &[
            ("event_time", "E"),
            ("trade_time", "T"),
            ("trade_id", "t"),
            ("price", "p"),
            ("qty", "q"),
            ("buyer_is_maker", "m"),
        ],
        "aggTrade" => &[
            ("event_time", "E"),
            ("trade_time", "T"),
            ("agg_id", "a"),
            ("first_trade_id", "f"),
            ("last_trade_id", "l"),
            ("price", "p"),
            ("qty", "q"),
            ("buyer_is_maker", "m"),
        ],
        "ticker" => &[
            ("event_time", "E"),
            ("last", "c"),
            ("last_qty", "Q"),
            ("bid", "b"),
            ("bid_qty", "B"),
            ("ask", "a"),
            ("ask_qty", "A"),
            ("open", "o"),
            ("high", "h"),
            ("low", "l"),
            ("volume", "v"),
            ("quote_volume", "q"),
            ("change", "p"),
            ("change_pct", "P"),
        ],
        other => panic!("unknown channel {other}"),
    }
}

/// Checks NDJSON ticks of one channel against the fixture payload lines, in order: every
/// field equals the wire value exactly (decimal text stays the same JSON string).
fn assert_ndjson_matches(ticks: &[&Value], channel: &str, lines: &[String]) {
    assert_eq!(ticks.len(), lines.len(), "{channel}: tick count");
    for (tick, line) in ticks.iter().zip(lines) {
        let wire: Value = serde_json::from_str(line).unwrap();
        assert_eq!(tick["exchange"], "binance");
        assert_eq!(tick["channel"], channel);
        assert_eq!(tick["symbol"], wire["s"]);
        assert!(tick["recv_ns"].as_u64().unwrap() > 1_600_000_000_000_000_000);
        for (field, key) in wire_keys(channel) {
            // Spot asks for microseconds (timeUnit=MICROSECOND); the fixtures hold ms.
            let want = match wire[key].as_u64() {
                Some(ms) if field.ends_with("_time") => Value::from(ms * 1000),
                _ => wire[key].clone(),
            };
            assert_eq!(tick[field], want, "{channel}.{field} in {tick}");
        }
        match wire["E"].as_u64() {
            Some(ms) => assert_eq!(tick["exchange_ns"], ms * 1_000_000, "{tick}"),
            None => assert!(tick["exchange_ns"].is_null(), "{tick}"),
        }
    }
}

/// A CSV cell's expected text for a wire value.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn by_channel<'a>(ticks: &'a [Value], channel: &str) -> Vec<&'a Value> {
    ticks.iter().filter(|t| t["channel"] == channel).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ndjson_delivers_every_tick_exactly() {
    let server = start_replay(replay_config(&[
        "bookTicker.jsonl",
        "trade.jsonl",
        "aggTrade.jsonl",
    ]))
    .await;
    let (books, trades, aggs) = (
        fixture_lines("bookTicker.jsonl"),
        fixture_lines("trade.jsonl"),
        fixture_lines("aggTrade.jsonl"),
    );
    let total = books.len() + trades.len() + aggs.len();
    let out = run(&[
        "stream",
        "btcusdt",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--channel",
        "aggTrade",
        "--endpoint",
        server.url(),
        "--limit",
        &total.to_string(),
        "--format",
        "ndjson",
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.assert_no_panic();
    let ticks = parse_ndjson(&out.stdout);
    assert_eq!(ticks.len(), total);
    assert_ndjson_matches(&by_channel(&ticks, "bookTicker"), "bookTicker", &books);
    assert_ndjson_matches(&by_channel(&ticks, "trade"), "trade", &trades);
    assert_ndjson_matches(&by_channel(&ticks, "aggTrade"), "aggTrade", &aggs);
    assert!(
        out.stderr.contains(&format!(
            "received {total}, written {total}, dropped 0, lost 0"
        )),
        "summary: {}",
        out.stderr
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_ndjson_to_a_file_with_several_symbols() {
    let server = start_replay(replay_config(&["ticker.jsonl"])).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ticks.jsonl");
    let out = run(&[
        "record",
        "ETHUSDT",
        "dogebnb",
        "BTCUSDT",
        "--out",
        path.to_str().unwrap(),
        "--endpoint",
        server.url(),
        "--limit",
        "3",
        "--quiet",
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stderr, "", "--quiet prints nothing on success");
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.ends_with('\n'));
    let ticks = parse_ndjson(&written);
    let refs: Vec<&Value> = ticks.iter().collect();
    assert_ndjson_matches(&refs, "ticker", &fixture_lines("ticker.jsonl"));
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_csv_keeps_exact_text_under_the_documented_header() {
    let server = start_replay(replay_config(&["bookTicker.jsonl"])).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ticks.csv");
    let books = fixture_lines("bookTicker.jsonl");
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--out",
        path.to_str().unwrap(),
        "--endpoint",
        server.url(),
        "--limit",
        &books.len().to_string(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "exchange",
            "symbol",
            "channel",
            "recv_ns",
            "exchange_ns",
            "update_id",
            "bid",
            "bid_qty",
            "ask",
            "ask_qty"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), books.len());
    for (row, line) in rows.iter().zip(&books) {
        let wire: Value = serde_json::from_str(line).unwrap();
        assert_eq!(&row[0], "binance");
        assert_eq!(&row[1], "BTCUSDT");
        assert_eq!(&row[2], "bookTicker");
        assert_eq!(&row[4], "", "spot bookTicker has no event time");
        for (i, (_, key)) in wire_keys("bookTicker").iter().enumerate() {
            assert_eq!(row[5 + i], cell(&wire[key]), "column {}", header[5 + i]);
        }
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_adds_to_an_existing_csv_without_a_second_header() {
    let server = start_replay(replay_config(&["trade.jsonl"])).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let path_arg = path.to_str().unwrap();
    for extra in [&[][..], &["--append"][..]] {
        let mut args = vec![
            "record",
            "BTCUSDT",
            "--channel",
            "trade",
            "--out",
            path_arg,
            "--endpoint",
        ];
        let url = server.url();
        args.push(url);
        args.extend(["--limit", "5", "--quiet"]);
        args.extend(extra);
        let out = run(&args).await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 1 + 10);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("exchange,")).count(),
        1
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_stdout_ends_quietly_with_zero() {
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.looped = true;
    let server = start_replay(config).await;
    let mut child = foxtrot(&[
        "stream",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--endpoint",
        server.url(),
    ])
    .spawn()
    .unwrap();
    // Like `| head -n 3`: read three lines, then close the pipe.
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    for _ in 0..3 {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .unwrap()
            .unwrap();
        serde_json::from_str::<Value>(&line.unwrap()).unwrap();
    }
    drop(lines);
    let out = finish(child).await;
    assert_eq!(out.code, Some(0));
    assert_eq!(
        out.stderr, "",
        "nothing on stderr when the reader goes away"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_command_serves_a_recording_to_the_stream_command() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/sample/binance-sample.jsonl");
    let mut server = foxtrot(&["replay", sample, "--listen", "127.0.0.1:0"])
        .spawn()
        .unwrap();
    let mut stdout =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(server.stdout.take().unwrap()));
    let first = tokio::time::timeout(PATIENCE, stdout.next_line())
        .await
        .unwrap()
        .unwrap()
        .expect("a first line");
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"));
    assert!(
        url.starts_with("ws://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let out = run(&[
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--out",
        "-",
        "--endpoint",
        url,
        "--limit",
        "80",
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let ticks = parse_ndjson(&out.stdout);
    assert_eq!(by_channel(&ticks, "bookTicker").len(), 40);
    assert_eq!(by_channel(&ticks, "trade").len(), 40);
    signal(&server, "TERM");
    let status = tokio::time::timeout(PATIENCE, server.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
