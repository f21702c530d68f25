//! Tests of the tick types: symbols, channels, stream ids and the scanners' readers.

use super::*;
use proptest::prelude::*;

proptest! {
    #[test]
    fn symbols_are_read_in_words_as_byte_by_byte(
        text in "[A-Z0-9]{0,26}",
        tail in "[\"a-z_A-Z0-9,:]{0,30}",
    ) {
        let bytes = format!("{text}{tail}").into_bytes();
        for cut in 0..=bytes.len() {
            prop_assert_eq!(
                Symbol::read_prefix(&bytes[..cut]),
                Symbol::read_prefix_near_end(&bytes[..cut]),
                "{:?}", String::from_utf8_lossy(&bytes[..cut])
            );
        }
    }
}

#[test]
fn symbols_of_every_length_are_read_in_words() {
    for len in 0..=26 {
        for end in [b'"', b'a', 0, 0xC3] {
            let mut bytes = vec![b'Q'; len];
            bytes.push(end);
            bytes.extend_from_slice(&[b'X'; 30]);
            let read = Symbol::read_prefix(&bytes);
            assert_eq!(read, Symbol::read_prefix_near_end(&bytes), "{len} {end}");
            assert_eq!(read.is_some(), (1..=MAX_SYMBOL_LEN).contains(&len), "{len}");
        }
    }
}

#[test]
fn symbols_are_validated_and_upper_cased() {
    assert_eq!(Symbol::parse("btcusdt").unwrap().as_str(), "BTCUSDT");
    assert_eq!(
        Symbol::parse("1000SATSUSDT").unwrap().as_str(),
        "1000SATSUSDT"
    );
    for bad in [
        "",
        "BTC-USDT",
        "BTC/USDT",
        "btc usdt",
        "ÄBC",
        "A23456789012345678901",
    ] {
        assert!(Symbol::parse(bad).is_err(), "{bad:?} should be refused");
    }
    assert!(Symbol::parse("A2345678901234567890").is_ok());
}

#[test]
fn symbols_are_read_up_to_their_end() {
    let (symbol, len) = Symbol::read_prefix(b"BTCUSDT\",\"b\"").unwrap();
    assert_eq!((symbol.as_str(), len), ("BTCUSDT", 7));
    assert_eq!(Symbol::read_prefix(b"\""), None);
    assert_eq!(
        Symbol::read_prefix(b"A2345678901234567890\"").map(|s| s.1),
        Some(20)
    );
    assert_eq!(Symbol::read_prefix(b"A23456789012345678901\""), None);
    assert_eq!(
        Symbol::read_prefix(b"A2345678901234567890"),
        None,
        "no end in sight"
    );
}

#[test]
fn visit_follows_the_documented_field_order() {
    let d = |s: &str| Decimal::parse(s).unwrap();
    let datas = [
        TickData::BookTicker(BookTicker {
            update_id: 1,
            bid: d("1"),
            bid_qty: d("2"),
            ask: d("3"),
            ask_qty: d("4"),
        }),
        TickData::Trade(Trade {
            event_time: 1,
            trade_time: 2,
            trade_id: TradeId::int(3),
            price: d("4"),
            qty: d("5"),
            buyer_is_maker: true,
        }),
    ];
    for data in datas {
        let mut names = Vec::new();
        data.visit(|name, _| names.push(name));
        assert_eq!(names, data.channel().fields());
    }
}

#[test]
fn index_is_the_position_in_all() {
    for (i, channel) in Channel::ALL.into_iter().enumerate() {
        assert_eq!(channel.index(), i);
    }
}

#[test]
fn events_stay_small() {
    // The channel holds up to --buffer events: at 128 bytes, 8 MiB at the default.
    assert!(
        std::mem::size_of::<Event>() <= 128,
        "{}",
        std::mem::size_of::<Event>()
    );
}
