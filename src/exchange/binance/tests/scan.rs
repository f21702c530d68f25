//! Binance's fast scanner against serde on the fixtures and on mutated lines, and the
//! decoder on damaged lines and arbitrary bytes (proptest): never a panic.

use proptest::prelude::*;

use super::*;

/// Every fixture line, for mutation.
fn all_fixture_lines() -> Vec<&'static str> {
    [
        BOOK_TICKER,
        TRADE,
        TRADE_LEGACY,
        AGG_TRADE,
        TICKER,
        FUTURES_BOOK_TICKER,
        FUTURES_TRADE,
        COMBINED,
        CONTROL,
        DEPTH_PARTIAL,
        MINI_TICKER,
    ]
    .into_iter()
    .flat_map(|text| text.lines())
    .collect()
}

/// A normalized payload, or the kind of error.
type Normalized = Result<(Symbol, TickData), String>;

/// What `Scan` and serde make of one payload, normalized; `None` where `Scan` declines.
fn scan_and_serde(channel: Channel, payload: &str) -> Option<(Normalized, Normalized)> {
    fn both<'a, W: Deserialize<'a>>(
        scanned: Option<W>,
        payload: &'a str,
        normalize: fn(W) -> Result<(Symbol, TickData), DecodeError>,
    ) -> Option<(Normalized, Normalized)> {
        let kind = |e: DecodeError| e.kind().to_owned();
        let scanned = normalize(scanned?).map_err(kind);
        let parsed = serde_json::from_str::<W>(payload)
            .map_err(DecodeError::from)
            .and_then(normalize)
            .map_err(kind);
        Some((scanned, parsed))
    }
    match channel {
        Channel::BookTicker => both(BookTicker::scan(payload), payload, BookTicker::normalize),
        Channel::Trade => both(Trade::scan(payload), payload, Trade::normalize),
        Channel::AggTrade => both(AggTrade::scan(payload), payload, AggTrade::normalize),
        _ => None,
    }
}

#[test]
fn scan_takes_the_spot_fixtures_and_agrees_with_serde() {
    for (text, channel, scanned_all) in [
        (BOOK_TICKER, Channel::BookTicker, true),
        (TRADE, Channel::Trade, true),
        (AGG_TRADE, Channel::AggTrade, true),
        // Older and USD-M layouts go to serde.
        (TRADE_LEGACY, Channel::Trade, false),
        (FUTURES_BOOK_TICKER, Channel::BookTicker, false),
        (FUTURES_TRADE, Channel::Trade, false),
    ] {
        for payload in lines(text) {
            match scan_and_serde(channel, payload) {
                Some((scanned, parsed)) => {
                    assert!(scanned_all, "scanned {payload}");
                    assert!(scanned.is_ok(), "{payload}: {scanned:?}");
                    assert_eq!(scanned, parsed, "{payload}");
                }
                None => assert!(!scanned_all, "not scanned: {payload}"),
            }
        }
    }
}

#[test]
fn scan_declines_what_it_cannot_vouch_for() {
    let bt = r#"{"u":1,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#;
    assert!(BookTicker::scan(bt).is_some());
    for odd in [
        r#"{"u":01,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
        r#"{"u":1.5,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
        r#"{"u":1e3,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
        r#"{"u":-1,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
        r#"{"u":18446744073709551616,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
        r#"{"u":1,"s":"BTC\u0055SDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
        r#"{"u":1,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"} "#,
        r#"{"u":1,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4","x":5}"#,
        r#"{"u":1, "s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
        r#"{"s":"BTCUSDT","u":1,"b":"1.0","B":"2","a":"3","A":"4"}"#,
    ] {
        assert!(BookTicker::scan(odd).is_none(), "{odd}");
    }
    assert!(BookTicker::scan(&bt.replace("BTCUSDT", "BTC\tUSDT")).is_none());
    assert!(BookTicker::scan(&bt.replace("BTCUSDT", "BTC\u{1}USDT")).is_none());
    assert_eq!(
        BookTicker::scan(&bt.replace(r#""u":1"#, r#""u":18446744073709551615"#))
            .map(|w| w.update_id),
        Some(u64::MAX)
    );
}

proptest! {
    #[test]
    fn scan_accepts_only_what_serde_reads_the_same(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..3),
    ) {
        let fixtures = [
            (BOOK_TICKER, Channel::BookTicker),
            (TRADE, Channel::Trade),
            (AGG_TRADE, Channel::AggTrade),
        ];
        let (text, channel) = fixtures[pick.index(fixtures.len())];
        let line = lines(text).nth(pick.index(40) % lines(text).count()).unwrap();
        let mut bytes = line.as_bytes().to_vec();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            // Bytes JSON gives meaning to, so edits often stay well-formed.
            bytes[at] = b"0189.,:\"e-tfu \\x"[usize::from(byte) % 16];
        }
        let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
        if let Some((scanned, parsed)) = scan_and_serde(channel, &text) {
            prop_assert_eq!(scanned, parsed, "{}", text);
        }
    }

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn decode_never_panics_on_damaged_fixture_lines(
        pick in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let lines = all_fixture_lines();
        let line = lines[pick.index(lines.len())];
        let mut bytes = line.as_bytes().to_vec();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let text = String::from_utf8_lossy(&bytes);
        let _ = decode(&text);
        let _ = decode(&wrap("btcusdt@bookTicker", &text));
    }
}
