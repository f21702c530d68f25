//! The replay library on captured lines: how each is classified, what is skipped, and how
//! bad files and lines are reported.

use super::*;

// Lines copied verbatim from the project's Binance fixtures (see sample/README.md).
const BOOK_TICKER: &str = r#"{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}"#;
const FUTURES_BOOK_TICKER: &str = r#"{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}"#;
const TRADE: &str = r#"{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}"#;
const AGG_TRADE: &str = r#"{"e":"aggTrade","E":1617566591315,"s":"BTCUSDT","a":665076760,"p":"58001.03000000","q":"0.08620500","f":745522877,"l":745522877,"T":1617566591314,"m":true,"M":true}"#;
const TICKER: &str = r#"{"e":"24hrTicker","E":1653812650349,"s":"ETHUSDT","p":"28.23000000","P":"1.600","w":"1781.16275609","x":"1764.61000000","c":"1792.84000000","Q":"0.55720000","b":"1792.83000000","B":"1.62740000","a":"1792.84000000","A":"20.29140000","o":"1764.61000000","h":"1808.98000000","l":"1748.94000000","v":"471703.53110000","q":"840180761.51358100","O":1653726250344,"C":1653812650344,"F":841094172,"L":841646650,"n":552479}"#;
const MINI_TICKER: &str = r#"{"e":"24hrMiniTicker","E":1762578803031,"s":"BTCUSDT","c":"102571.17000000","o":"102339.76000000","h":"104096.36000000","l":"99260.86000000","v":"30195.39867000","q":"3065280135.28113970"}"#;
const DEPTH: &str = r#"{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61839.85000000","0.00000000"]]}"#;
const KLINE: &str = r#"{"e":"kline","E":1617566591776,"s":"ETHUSDT","k":{"t":1617566580000,"T":1617566639999,"s":"ETHUSDT","i":"1m","f":346711017,"L":346711087,"o":"2063.88000000","c":"2064.73000000","h":"2065.00000000","l":"2063.88000000","v":"70.86425000","n":71,"x":false,"q":"146321.71560700","V":"46.98201000","Q":"97009.77617410","B":"0"}}"#;
const COMBINED_TRADE: &str = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;
const COMBINED_ARRAY: &str = r#"{"stream":"!ticker@arr","data":[{"e":"24hrTicker","E":1653812650349,"s":"ETHUSDT","c":"1792.84000000"}]}"#;

#[test]
fn classifies_each_fixture_kind() {
    let cases = [
        (BOOK_TICKER, "btcusdt@bookTicker"),
        (FUTURES_BOOK_TICKER, "btcusdt@bookTicker"),
        (TRADE, "btcusdt@trade"),
        (AGG_TRADE, "btcusdt@aggTrade"),
        (TICKER, "ethusdt@ticker"),
        (MINI_TICKER, "btcusdt@miniTicker"),
        (DEPTH, "btcusdt@depth"),
        (KLINE, "ethusdt@kline_1m"),
    ];
    for (line, want) in cases {
        let (name, payload) = classify(line).expect("valid").expect("classified");
        assert_eq!(name, want, "{line}");
        assert_eq!(payload, line, "raw payloads are kept whole");
    }
}

#[test]
fn combined_frames_keep_their_stream_name_and_data_text() {
    let (name, payload) = classify(COMBINED_TRADE).unwrap().unwrap();
    assert_eq!((name.as_ref(), payload), ("btcusdt@trade", TRADE));
    let (name, payload) = classify(COMBINED_ARRAY).unwrap().unwrap();
    assert_eq!(name, "!ticker@arr");
    assert!(payload.starts_with(r#"[{"e":"24hrTicker""#));
}

#[test]
fn control_frames_snapshots_and_arrays_are_skipped() {
    for line in [
        r#"{"result":null,"id":1}"#,
        r#"{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}}"#,
        r#"{"e":"serverShutdown","E":1770123456789}"#,
        r#"{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"]],"asks":[]}"#,
        r#"[1,2,3]"#,
        r#""text""#,
        r#"{"e":"trade","s":42}"#,
    ] {
        assert!(classify(line).expect("valid JSON").is_none(), "{line}");
    }
}

#[test]
fn library_counts_skips_ignores_blank_lines_and_keeps_order() {
    let lib = Library::from_lines([
        BOOK_TICKER,
        "",
        "   ",
        r#"{"result":null,"id":1}"#,
        TRADE,
        COMBINED_TRADE,
    ])
    .unwrap();
    assert_eq!(lib.len(), 3);
    assert_eq!(lib.skipped(), 1);
    let got: Vec<_> = lib.iter().collect();
    assert_eq!(
        got,
        [
            ("btcusdt@bookTicker", BOOK_TICKER),
            ("btcusdt@trade", TRADE),
            ("btcusdt@trade", TRADE),
        ]
    );
    assert_eq!(
        lib.stream_names().collect::<Vec<_>>(),
        ["btcusdt@bookTicker", "btcusdt@trade"]
    );
    let combined = lib.messages()[1].combined.as_str();
    assert_eq!(
        combined,
        format!(r#"{{"stream":"btcusdt@trade","data":{TRADE}}}"#)
    );
}

#[test]
fn malformed_line_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.jsonl");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&good, format!("{TRADE}\n")).unwrap();
    std::fs::write(&bad, format!("{TRADE}\n\n{{\"e\":\"trade\",\n{TRADE}\n")).unwrap();
    let err = Library::load(&[good, bad.clone()]).unwrap_err();
    assert!(
        matches!(err, LoadError::Malformed { line: 3, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:3: malformed JSON", bad.display())),
        "{text}"
    );

    let err = Library::from_lines([TRADE, "1761 {\"e\":1}"]).unwrap_err();
    assert_eq!(err.to_string().split(": ").next(), Some("<memory>:2"));
}

#[test]
fn unreadable_and_non_utf8_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    let err = Library::load(std::slice::from_ref(&missing)).unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }));
    assert!(err.to_string().contains("missing.jsonl"));

    let latin1 = dir.path().join("latin1.jsonl");
    std::fs::write(&latin1, b"{\"a\":1}\n{\"a\":\"\xe9\"}\n").unwrap();
    let err = Library::load(&[latin1]).unwrap_err();
    assert!(matches!(err, LoadError::NotUtf8 { line: 2, .. }), "{err:?}");
}

#[test]
fn sample_recording_loads_whole() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample/binance-sample.jsonl");
    let lib = Library::load(std::slice::from_ref(&path)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(lib.skipped(), 0);
    assert_eq!(lib.len(), text.lines().count());
    for ((_, payload), line) in lib.iter().zip(text.lines()) {
        assert_eq!(payload, line);
    }
    let names: Vec<_> = lib.stream_names().collect();
    for want in [
        "btcusdt@bookTicker",
        "btcusdt@trade",
        "btcusdt@aggTrade",
        "ethusdt@ticker",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
}
