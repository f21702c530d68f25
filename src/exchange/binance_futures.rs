//! Binance USD-M futures (`fstream.binance.com`): routes, limits and heartbeat.
//!
//! The wire format is Binance's (combined streams, the same payload layouts with a few more
//! fields), so decoding is shared with [`super::binance`]; what differs is where streams
//! live. Since 2026-04-23 the unrouted URLs are retired: high-frequency public data
//! (`bookTicker`, `depth`) is on `{endpoint}/public/stream?streams=...`, regular market data
//! (`aggTrade`, `trade`, `markPrice`, `kline_*`, `ticker`, `forceOrder`) on
//! `{endpoint}/market/stream?streams=...`, and a stream on the wrong route is silently not
//! delivered. One connection therefore never mixes routes ([`Exchange::route`]).
//!
//! Docs: <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams>

use std::time::Duration;

use super::binance;
use super::{DecodeError, Decoded, Exchange, Heartbeat, Limits, Out, Plan, StreamId, Venue};
use crate::tick::{Channel, Symbol, SymbolError};

const DEFAULT_ENDPOINT: &str = "wss://fstream.binance.com";

/// The route of high-frequency public data.
pub const PUBLIC: u8 = 0;
/// The route of regular market data.
pub const MARKET: u8 = 1;

/// The Binance USD-M futures venue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinanceFutures;

/// The channels of USD-M futures.
const CHANNELS: &[Channel] = &[
    Channel::Ticker,
    Channel::BookTicker,
    Channel::Trade,
    Channel::AggTrade,
    Channel::Depth,
    Channel::Book,
    Channel::Funding,
    Channel::Liquidation,
    Channel::Kline1m,
    Channel::Kline3m,
    Channel::Kline5m,
    Channel::Kline15m,
    Channel::Kline30m,
    Channel::Kline1h,
    Channel::Kline2h,
    Channel::Kline4h,
    Channel::Kline6h,
    Channel::Kline8h,
    Channel::Kline12h,
    Channel::Kline1d,
    Channel::Kline3d,
    Channel::Kline1w,
    Channel::Kline1M,
];

/// "Websocket Market Streams": at most 200 streams per connection, 10 incoming messages
/// per second, 24 h per connection.
pub const LIMITS: Limits = Limits {
    streams_per_connection: 200,
    max_streams_per_connection: 200,
    subscribe_batch: 200,
    messages_per_second: 10,
    connect_attempts: (300, Duration::from_secs(300)),
    max_connection_age: Duration::from_secs(23 * 3600 + 50 * 60),
    max_url_len: 8000,
};

/// The URL path of `route`.
pub fn route_path(route: u8) -> &'static str {
    if route == PUBLIC {
        "/public/stream"
    } else {
        "/market/stream"
    }
}

/// The route a channel's streams live on.
pub fn channel_route(channel: Channel) -> u8 {
    match channel {
        Channel::BookTicker | Channel::Depth | Channel::Book => PUBLIC,
        _ => MARKET,
    }
}

impl Exchange for BinanceFutures {
    fn venue(&self) -> Venue {
        Venue::BinanceFutures
    }

    fn default_endpoint(&self) -> &'static str {
        DEFAULT_ENDPOINT
    }

    fn default_rest_endpoint(&self) -> Option<&'static str> {
        Some("https://fapi.binance.com")
    }

    fn channels(&self) -> &'static [Channel] {
        CHANNELS
    }

    fn book_sync(&self) -> super::BookSync {
        // USD-M REST `GET /fapi/v1/depth`: weight 20 at limit 1000; 2400 a minute per IP,
        // of which foxtrot takes half.
        super::BookSync::RestSnapshot {
            rules: crate::book::sync::Rules::UsdmFutures,
            path: "/fapi/v1/depth",
            limit: 1000,
            weight: 20,
            weight_per_minute: 1200,
        }
    }

    fn parse_symbol(&self, text: &str) -> Result<Symbol, SymbolError> {
        binance::parse_symbol(text)
    }

    fn limits(&self) -> Limits {
        LIMITS
    }

    fn heartbeat(&self) -> Heartbeat {
        // The server pings every 3 minutes and waits 10 minutes for the pong.
        Heartbeat::server_pings(Duration::from_secs(180))
    }

    fn route(&self, stream: &StreamId) -> u8 {
        channel_route(stream.channel)
    }

    fn plan(&self, endpoint: &str, streams: &[StreamId]) -> Plan {
        let route = streams.first().map_or(MARKET, |s| self.route(s));
        debug_assert!(streams.iter().all(|s| self.route(s) == route));
        binance::plan(endpoint, route_path(route), "", streams, &LIMITS)
    }

    fn decode(&self, frame: &str, recv_ns: u64, out: &mut Out) -> Result<Decoded, DecodeError> {
        binance::decode_into(Venue::BinanceFutures, frame, recv_ns, out)
    }

    fn is_data(&self, frame: &str) -> bool {
        binance::is_data(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(symbol: &str, channel: Channel) -> StreamId {
        StreamId::new(
            Venue::BinanceFutures,
            Symbol::parse(symbol).unwrap(),
            channel,
        )
    }

    #[test]
    fn streams_go_to_their_documented_route() {
        let public = [id("BTCUSDT", Channel::BookTicker)];
        assert_eq!(
            BinanceFutures.plan(DEFAULT_ENDPOINT, &public).url,
            "wss://fstream.binance.com/public/stream?streams=btcusdt@bookTicker"
        );
        let market = [
            id("BTCUSDT", Channel::AggTrade),
            id("ETHUSDT", Channel::Trade),
        ];
        assert_eq!(
            BinanceFutures.plan("ws://127.0.0.1:9/", &market).url,
            "ws://127.0.0.1:9/market/stream?streams=btcusdt@aggTrade/ethusdt@trade"
        );
        let shards = super::super::shard(&[public[0].clone(), market[0].clone()], 200);
        assert_eq!(shards.len(), 2, "one connection never mixes routes");
    }

    #[test]
    fn the_default_stale_window_outlasts_the_servers_ping_interval() {
        assert!(BinanceFutures.heartbeat().stale_after > Duration::from_secs(180));
    }
}
