//! The normalized market-data vocabulary: symbols, channels, exact decimal text and ticks.
//!
//! This module owns the types every other module speaks; it does no I/O and knows no venue.
//! Prices and quantities stay the exchange's decimal text ([`Decimal`]): nothing here parses
//! them into floating point.

mod channel;
mod data;
mod symbol;

pub use channel::*;
pub use data::*;
pub use symbol::*;

pub use crate::exchange::Venue;

/// The fields every tick has, in output order, before the channel's own.
///
/// `exchange_ns` is the venue's event time in ns (null in NDJSON, empty in CSV, where the
/// channel has none, such as Binance spot's `bookTicker`).
pub const COMMON_FIELDS: [&str; 5] = ["exchange", "symbol", "channel", "recv_ns", "exchange_ns"];

pub use crate::decimal::{Decimal, DecimalError, DecimalText, MAX_DECIMAL_LEN};

/// One normalized market-data message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tick {
    /// The venue, written in output as its name (`binance`, `binance-futures`).
    pub exchange: Venue,
    /// The market.
    pub symbol: Symbol,
    /// Wall-clock receive time, nanoseconds since the Unix epoch.
    pub recv_ns: u64,
    /// The venue's event time, nanoseconds since the Unix epoch; 0 when the venue gives
    /// none (see [`Tick::exchange_ns`]).
    pub exchange_ns: u64,
    /// The channel's fields.
    pub data: TickData,
}

impl Tick {
    /// The venue's event time in ns since the Unix epoch, if the venue gave one.
    pub fn exchange_ns(&self) -> Option<u64> {
        (self.exchange_ns != 0).then_some(self.exchange_ns)
    }

    /// The channel this tick came from.
    pub fn channel(&self) -> Channel {
        self.data.channel()
    }
}

/// What flows through the channel from the connections to the sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Market data.
    Tick(Tick),
    /// A stretch of time in which a stream's data may be missing.
    Gap(Gap),
    /// An order-book row (`depth` or `book`); boxed: large, and off the hot path.
    Book(Box<crate::book::row::BookRecord>),
}

/// A stream's data was interrupted between `from_ns` and `to_ns`: the output says so, so that
/// no hole goes unnoticed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The venue, as in ticks.
    pub exchange: Venue,
    /// The market.
    pub symbol: Symbol,
    /// The channel.
    pub channel: Channel,
    /// The last moment data is known to have arrived (ns since the Unix epoch).
    pub from_ns: u64,
    /// The moment data could flow again (ns since the Unix epoch).
    pub to_ns: u64,
    /// Why: `disconnected`, `stalled`, `rejected`, `oversized`, ...
    pub reason: &'static str,
}

/// The names of a gap record's fields, in output order (after `type`).
pub const GAP_FIELDS: [&str; 6] = [
    "exchange", "symbol", "channel", "from_ns", "to_ns", "reason",
];

/// The channel-specific part of a tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TickData {
    /// See [`Ticker`]; boxed because it is large and rare.
    Ticker(Box<Ticker>),
    /// See [`BookTicker`].
    BookTicker(BookTicker),
    /// See [`Trade`].
    Trade(Trade),
    /// See [`AggTrade`].
    AggTrade(AggTrade),
    /// See [`Funding`].
    Funding(Funding),
    /// See [`Liquidation`].
    Liquidation(Liquidation),
    /// See [`Kline`]; boxed because it is large and rare (one update per second or two).
    Kline(Box<Kline>),
}

/// A field's value, borrowed from a tick, for encoders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// Exact decimal text (write it as a JSON string).
    Decimal(&'a Decimal),
    /// An integer id or a time in milliseconds.
    Int(u64),
    /// A flag.
    Bool(bool),
    /// A word from a fixed set, such as a side (`BUY`, `SELL`): JSON string, plain CSV cell.
    Text(&'static str),
    /// A UUID id (Bybit derivatives' trade ids): JSON string, plain CSV cell.
    Uuid([u8; 16]),
}

/// Appends `uuid` in canonical lower-case form (`8-4-4-4-12` hex digits).
pub fn append_uuid(uuid: &[u8; 16], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// Reads a UUID in canonical lower-case form; `None` for anything else (which could not
/// be written back as the same text).
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut uuid = [0u8; 16];
    let mut n = 0;
    let mut i = 0;
    while i < 36 {
        if matches!(i, 8 | 13 | 18 | 23) {
            if bytes[i] != b'-' {
                return None;
            }
            i += 1;
            continue;
        }
        let nibble = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        };
        uuid[n] = (nibble(bytes[i])? << 4) | nibble(bytes[i + 1])?;
        n += 1;
        i += 2;
    }
    Some(uuid)
}

impl TickData {
    /// The channel this data belongs to.
    pub fn channel(&self) -> Channel {
        match self {
            TickData::Ticker(_) => Channel::Ticker,
            TickData::BookTicker(_) => Channel::BookTicker,
            TickData::Trade(_) => Channel::Trade,
            TickData::AggTrade(_) => Channel::AggTrade,
            TickData::Funding(_) => Channel::Funding,
            TickData::Liquidation(_) => Channel::Liquidation,
            TickData::Kline(k) => k.channel,
        }
    }

    /// The number that orders this stream's messages and tells a repeat from a new one:
    /// `update_id` (bookTicker), `trade_id` (trade), `agg_id` (aggTrade), `event_time` (ticker).
    pub fn sequence(&self) -> u64 {
        match self {
            TickData::Ticker(t) => t.event_time,
            TickData::BookTicker(t) => t.update_id,
            TickData::Trade(t) => t.sequence(),
            TickData::AggTrade(t) => t.agg_id,
            TickData::Funding(t) => t.event_time,
            TickData::Liquidation(t) => t.event_time,
            TickData::Kline(t) => t.event_time,
        }
    }

    /// Calls `f` with each field, named and ordered as in [`Channel::fields`].
    pub fn visit<'a>(&'a self, mut f: impl FnMut(&'static str, Value<'a>)) {
        use Value::{Bool, Decimal as D, Int};
        match self {
            TickData::Ticker(t) => {
                f("event_time", Int(t.event_time));
                f("last", D(&t.last));
                f("last_qty", D(&t.last_qty));
                f("bid", D(&t.bid));
                f("bid_qty", D(&t.bid_qty));
                f("ask", D(&t.ask));
                f("ask_qty", D(&t.ask_qty));
                f("open", D(&t.open));
                f("high", D(&t.high));
                f("low", D(&t.low));
                f("volume", D(&t.volume));
                f("quote_volume", D(&t.quote_volume));
                f("change", D(&t.change));
                f("change_pct", D(&t.change_pct));
            }
            TickData::BookTicker(t) => {
                f("update_id", Int(t.update_id));
                f("bid", D(&t.bid));
                f("bid_qty", D(&t.bid_qty));
                f("ask", D(&t.ask));
                f("ask_qty", D(&t.ask_qty));
            }
            TickData::Trade(t) => {
                f("event_time", Int(t.event_time));
                f("trade_time", Int(t.trade_time));
                match t.trade_id {
                    TradeId::Int(id) => f("trade_id", Int(id.get())),
                    TradeId::Uuid { bytes, .. } => f("trade_id", Value::Uuid(bytes)),
                }
                f("price", D(&t.price));
                f("qty", D(&t.qty));
                f("buyer_is_maker", Bool(t.buyer_is_maker));
            }
            TickData::AggTrade(t) => {
                f("event_time", Int(t.event_time));
                f("trade_time", Int(t.trade_time));
                f("agg_id", Int(t.agg_id));
                f("first_trade_id", Int(t.first_trade_id));
                f("last_trade_id", Int(t.last_trade_id));
                f("price", D(&t.price));
                f("qty", D(&t.qty));
                f("buyer_is_maker", Bool(t.buyer_is_maker));
            }
            TickData::Funding(t) => {
                f("event_time", Int(t.event_time));
                f("mark_price", D(&t.mark_price));
                f("index_price", D(&t.index_price));
                f("funding_rate", D(&t.funding_rate));
                f("next_funding_time", Int(t.next_funding_time));
            }
            TickData::Liquidation(t) => {
                f("event_time", Int(t.event_time));
                f("trade_time", Int(t.trade_time));
                f("side", Value::Text(if t.sell { "SELL" } else { "BUY" }));
                f("price", D(&t.price));
                f("avg_price", D(&t.avg_price));
                f("qty", D(&t.qty));
            }
            TickData::Kline(t) => {
                f("event_time", Int(t.event_time));
                f("open_time", Int(t.open_time));
                f("close_time", Int(t.close_time));
                f("first_trade_id", Int(t.first_trade_id));
                f("last_trade_id", Int(t.last_trade_id));
                f("open", D(&t.open));
                f("high", D(&t.high));
                f("low", D(&t.low));
                f("close", D(&t.close));
                f("volume", D(&t.volume));
                f("quote_volume", D(&t.quote_volume));
                f("trades", Int(t.trades));
                f("closed", Bool(t.closed));
            }
        }
    }
}

#[cfg(test)]
mod tests;
