//! Binance frames that must be refused: each damage gives its error kind, a bad decimal
//! names its wire field, and a huge ignored field is no refusal.

use super::*;

#[test]
fn bad_frames_give_the_right_error_kind() {
    let book = lines(BOOK_TICKER).next().unwrap();
    let trade = lines(TRADE).next().unwrap();
    let ticker = lines(TICKER).next().unwrap();
    let with = |line: &str, from: &str, to: &str| {
        assert!(line.contains(from), "{from} not in {line}");
        line.replacen(from, to, 1)
    };
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested_object = format!(r#"{}1{}"#, r#"{"x":"#.repeat(100_000), "}".repeat(100_000));
    let nested_data = wrap("btcusdt@depth@100ms", &"[".repeat(100_000));
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), "malformed"),
        ("whitespace", "  \n".into(), "malformed"),
        ("open brace", "{".into(), "malformed"),
        ("trailing garbage", format!("{book}x"), "malformed"),
        ("empty array", "[]".into(), "unknown_shape"),
        ("null", "null".into(), "unknown_shape"),
        ("number", "42".into(), "unknown_shape"),
        ("string", r#""bookTicker""#.into(), "unknown_shape"),
        ("empty object", "{}".into(), "unknown_shape"),
        (
            "foreign object",
            r#"{"type":"ticker"}"#.into(),
            "unknown_shape",
        ),
        (
            "unknown event",
            r#"{"e":"mystery","E":1}"#.into(),
            "unknown_shape",
        ),
        (
            "shutdown without time",
            r#"{"e":"serverShutdown"}"#.into(),
            "unknown_shape",
        ),
        (
            "stream without data",
            r#"{"stream":"btcusdt@trade"}"#.into(),
            "unknown_shape",
        ),
        (
            "array data",
            wrap("btcusdt@trade", "[1,2]"),
            "unknown_shape",
        ),
        (
            "half a book ticker",
            r#"{"u":1,"s":"BTCUSDT","b":"1"}"#.into(),
            "unknown_shape",
        ),
        (
            "event mismatch",
            wrap(
                "btcusdt@trade",
                &with(trade, r#""e":"trade""#, r#""e":"fake""#),
            ),
            "unknown_shape",
        ),
        ("truncated 1", book[..book.len() - 1].into(), "malformed"),
        ("truncated 2", book[..book.len() / 2].into(), "malformed"),
        ("truncated 3", trade[..trade.len() - 10].into(), "malformed"),
        (
            "truncated combined",
            wrap("btcusdt@trade", trade)[..trade.len()].into(),
            "malformed",
        ),
        (
            "price as number",
            with(book, r#""b":"61837.63000000""#, r#""b":61837.63"#),
            "malformed",
        ),
        (
            "price as number, combined",
            wrap(
                "btcusdt@bookTicker",
                &with(book, r#""b":"61837.63000000""#, r#""b":61837.63"#),
            ),
            "malformed",
        ),
        (
            "id as string",
            with(trade, r#""t":3735683259"#, r#""t":"3735683259""#),
            "malformed",
        ),
        (
            "maker as string",
            with(trade, r#""m":true"#, r#""m":"true""#),
            "malformed",
        ),
        (
            "negative update id",
            with(book, r#""u":50093239212"#, r#""u":-1"#),
            "malformed",
        ),
        (
            "missing field",
            with(trade, r#""t":3735683259,"#, ""),
            "malformed",
        ),
        (
            "escaped symbol",
            with(book, "BTCUSDT", r"BTC\u0055SDT"),
            "malformed",
        ),
        // Valid JSON, however deep, is not malformed; serde_json skips it without recursing.
        ("deeply nested array", nested, "unknown_shape"),
        ("deeply nested object", nested_object, "unknown_shape"),
        ("deeply nested data", nested_data, "malformed"),
        (
            "price with comma",
            with(book, "61837.63000000", "61837,63000000"),
            "bad_decimal",
        ),
        (
            "price with exponent",
            with(trade, "61837.63000000", "6.1e4"),
            "bad_decimal",
        ),
        (
            "empty qty",
            with(trade, r#""q":"0.02000000""#, r#""q":"""#),
            "bad_decimal",
        ),
        (
            "ticker bad pct",
            with(ticker, r#""P":"1.600""#, r#""P":"1.6%""#),
            "bad_decimal",
        ),
        (
            "symbol with dash",
            with(book, r#""BTCUSDT""#, r#""BTC-USDT""#),
            "bad_symbol",
        ),
        (
            "empty symbol",
            with(trade, r#""BTCUSDT""#, r#""""#),
            "bad_symbol",
        ),
        (
            "symbol with dash, combined",
            wrap(
                "btcusdt@trade",
                &with(trade, r#""BTCUSDT""#, r#""BTC-USDT""#),
            ),
            "bad_symbol",
        ),
    ];
    for (name, frame, kind) in cases {
        match decode(&frame) {
            Ok(decoded) => panic!("{name}: expected {kind}, got {decoded:?}"),
            Err(e) => assert_eq!(e.kind(), kind, "{name}: {e}"),
        }
    }
}

#[test]
fn bad_decimal_names_the_wire_field() {
    let book = lines(BOOK_TICKER).next().unwrap();
    let frame = book.replacen("1.54698000", "1,5", 1);
    match decode(&frame) {
        Err(DecodeError::Decimal { field, source }) => {
            assert_eq!(field, "A");
            assert_eq!(source.0, "1,5");
        }
        other => panic!("expected a bad decimal, got {other:?}"),
    }
}

#[test]
fn huge_frame_with_an_ignored_field_still_decodes() {
    let book = lines(BOOK_TICKER).next().unwrap();
    let padding = "x".repeat(4 << 20);
    let frame = book.replacen('{', &format!(r#"{{"pad":"{padding}","#), 1);
    assert_tick_matches(book, decode(&frame).unwrap(), Channel::BookTicker);
    let combined = wrap("btcusdt@bookTicker", &frame);
    assert_tick_matches(book, decode(&combined).unwrap(), Channel::BookTicker);
}
