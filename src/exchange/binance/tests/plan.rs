//! Binance's connection plan: the combined-stream URL and the SUBSCRIBE request.

use super::*;

#[test]
fn stream_url_joins_lower_case_stream_names() {
    let id = |symbol: &str, channel| {
        StreamId::new(Venue::Binance, parse_symbol(symbol).unwrap(), channel)
    };
    let url = |endpoint: &str, streams: &[StreamId]| Binance.plan(endpoint, streams).url;
    let streams = [
        id("BTCUSDT", Channel::Ticker),
        id("ethusdt", Channel::BookTicker),
        id("1000SATSUSDT", Channel::Trade),
        id("BnbBtc", Channel::AggTrade),
    ];
    let want = "wss://stream.binance.com:9443/stream?streams=\
        btcusdt@ticker/ethusdt@bookTicker/1000satsusdt@trade/bnbbtc@aggTrade\
        &timeUnit=MICROSECOND";
    for endpoint in [
        "wss://stream.binance.com:9443",
        "wss://stream.binance.com:9443/",
        "wss://stream.binance.com:9443//",
    ] {
        assert_eq!(url(endpoint, &streams), want);
    }
    assert_eq!(
        url(Binance.default_endpoint(), &streams[1..2]),
        "wss://stream.binance.com:9443/stream?streams=ethusdt@bookTicker&timeUnit=MICROSECOND"
    );
    assert_eq!(
        url("ws://127.0.0.1:9000/", &[]),
        "ws://127.0.0.1:9000/stream?streams=&timeUnit=MICROSECOND"
    );
    assert_eq!(stream_name(&streams[0]), "btcusdt@ticker");
    // Symbols in other scripts are URL-encoded (UTF-8), ASCII letters lower-cased.
    assert_eq!(
        stream_name(&id("币安USDT", Channel::Trade)),
        "%E5%B8%81%E5%AE%89usdt@trade"
    );
    assert_eq!(Binance.name(), "binance");
    for channel in Channel::ALL {
        if matches!(channel, Channel::Depth | Channel::Book) {
            // Both read the diff-depth stream (see `binance_depth`).
            assert!(crate::exchange::binance_depth::is_diff_depth(wire_channel(
                channel
            )));
            continue;
        }
        assert_eq!(channel_from_wire(wire_channel(channel)), Some(channel));
    }
}

#[test]
fn subscribe_message_is_binances_request() {
    let streams = [
        StreamId::new(
            Venue::Binance,
            Symbol::parse("BTCUSDT").unwrap(),
            Channel::Trade,
        ),
        StreamId::new(
            Venue::Binance,
            Symbol::parse("ethusdt").unwrap(),
            Channel::BookTicker,
        ),
    ];
    assert_eq!(
        subscribe_message(7, &streams),
        r#"{"method":"SUBSCRIBE","params":["btcusdt@trade","ethusdt@bookTicker"],"id":7}"#
    );
}
