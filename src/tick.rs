//! The normalized market-data vocabulary: symbols, channels, exact decimal text and ticks.
//!
//! This module owns the types every other module speaks; it does no I/O and knows no venue.
//! Prices and quantities stay the exchange's decimal text ([`Decimal`]): nothing here parses
//! them into floating point.

use std::fmt;
use std::str::FromStr;

use crate::short_text::{self, ShortText};
use crate::swar;

pub use crate::exchange::Venue;

/// The longest symbol accepted, in characters.
pub const MAX_SYMBOL_LEN: usize = 20;

/// The longest symbol a venue's own rule may accept ([`Symbol::parse_up_to`]): what a
/// symbol's inline storage holds.
pub const MAX_VENUE_SYMBOL_LEN: usize = crate::short_text::CAPACITY;

/// A market symbol such as `BTCUSDT`: 1 to 20 ASCII letters or digits, stored upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(ShortText);

/// Why a symbol was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid symbol {text:?}: expected {expected}")]
pub struct SymbolError {
    /// The refused text.
    pub text: String,
    /// What the venue's symbols look like.
    pub expected: &'static str,
}

impl SymbolError {
    /// `text` refused by the default rule (ASCII letters and digits).
    pub fn new(text: &str) -> SymbolError {
        SymbolError {
            text: text.to_owned(),
            expected: "1 to 20 ASCII letters or digits, like BTCUSDT",
        }
    }
}

impl Symbol {
    /// Validates `text` and stores it upper case (`btcusdt` becomes `BTCUSDT`).
    pub fn parse(text: &str) -> Result<Symbol, SymbolError> {
        if text.is_empty() || text.len() > MAX_SYMBOL_LEN {
            return Err(SymbolError::new(text));
        }
        // Every market message names its symbol, already upper case: check for that first.
        let stored = if text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            ShortText::new(text.as_bytes())
        } else if text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            let mut upper = [0; MAX_SYMBOL_LEN];
            upper[..text.len()].copy_from_slice(text.as_bytes());
            upper.make_ascii_uppercase();
            ShortText::new(&upper[..text.len()])
        } else {
            None
        };
        stored.map(Symbol).ok_or_else(|| SymbolError::new(text))
    }

    /// Validates `text` by a venue's rule: 1 to [`MAX_SYMBOL_LEN`] bytes of characters
    /// `allowed` accepts, ASCII letters stored upper case; `expected` describes the rule
    /// in the error. Whatever the rule, characters that
    /// output formats would have to escape (quotes, backslashes, commas, whitespace and
    /// control characters) are refused, so encoders copy symbols verbatim.
    pub fn parse_with(
        text: &str,
        expected: &'static str,
        allowed: impl Fn(char) -> bool,
    ) -> Result<Symbol, SymbolError> {
        Symbol::parse_up_to(MAX_SYMBOL_LEN, text, expected, allowed)
    }

    /// As [`Symbol::parse_with`], for a venue whose symbols may be up to `max_len` bytes
    /// (at most [`MAX_VENUE_SYMBOL_LEN`]), such as OKX option ids
    /// (`BTC-USD-220624-50000-C`, 22 bytes).
    pub fn parse_up_to(
        max_len: usize,
        text: &str,
        expected: &'static str,
        allowed: impl Fn(char) -> bool,
    ) -> Result<Symbol, SymbolError> {
        let refused = || SymbolError {
            text: text.to_owned(),
            expected,
        };
        if text.is_empty()
            || text.len() > max_len.min(MAX_VENUE_SYMBOL_LEN)
            || text.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | ',') || !allowed(c)
            })
        {
            return Err(refused());
        }
        let mut upper = [0; MAX_VENUE_SYMBOL_LEN];
        upper[..text.len()].copy_from_slice(text.as_bytes());
        upper.make_ascii_uppercase();
        ShortText::new(&upper[..text.len()])
            .map(Symbol)
            .ok_or_else(refused)
    }

    /// Reads the symbol at the start of `bytes` as venues write it, upper-case letters and
    /// digits, up to the first other byte (such as a closing quote): the decoder's scanner
    /// keeps a symbol while it looks for its end. The symbol and its length; `None` when
    /// there is none or it is longer than [`MAX_SYMBOL_LEN`].
    #[inline]
    pub fn read_prefix(bytes: &[u8]) -> Option<(Symbol, usize)> {
        // Eight bytes a step, as words (see `swar`), while 24 are left to read.
        let Some(head) = bytes.first_chunk::<{ short_text::CAPACITY }>() else {
            return Symbol::read_prefix_near_end(bytes);
        };
        let mut words = [0u64; short_text::CAPACITY / 8];
        let mut len = 0;
        for (i, word) in words.iter_mut().enumerate() {
            let w = u64::from_le_bytes(head[8 * i..8 * i + 8].try_into().expect("8"));
            let symbol = swar::in_range(w, b'A', b'[') | swar::in_range(w, b'0', b':');
            let (keep, n) = swar::before_first(!symbol & swar::HIGH);
            *word = w & keep;
            len += n;
            if n < 8 {
                break;
            }
        }
        if len == 0 || len > MAX_SYMBOL_LEN {
            return None;
        }
        Some((Symbol(ShortText::from_words(words)), len))
    }

    /// [`Symbol::read_prefix`] with fewer than 24 bytes left.
    #[cold]
    fn read_prefix_near_end(bytes: &[u8]) -> Option<(Symbol, usize)> {
        let len = bytes
            .iter()
            .take(MAX_SYMBOL_LEN + 1)
            .position(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit()))?;
        if len == 0 {
            return None;
        }
        ShortText::new(&bytes[..len]).map(|text| (Symbol(text), len))
    }

    /// The upper-case text of the symbol.
    pub fn as_str(&self) -> &str {
        self.0.to_str().expect("symbols are UTF-8")
    }

    /// The upper-case text of the symbol, as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Appends the text to `out` (what encoders do, without a variable-length copy).
    #[inline]
    pub fn append_to(&self, out: &mut Vec<u8>) {
        self.0.append_to(out);
    }
}

impl FromStr for Symbol {
    type Err = SymbolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Symbol::parse(s)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Defines [`Channel`]: variant, output name (also typed on the command line), fields.
macro_rules! channels {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)+) => {
        /// A market-data channel foxtrot normalizes. The names are Binance's stream names
        /// where Binance has the channel; a venue lists the channels it has.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Channel {
            $(
                $(#[$doc])*
                $variant,
            )+
        }

        impl Channel {
            /// Every channel, in the order the documentation lists them.
            pub const ALL: [Channel; [$(Channel::$variant),+].len()] = [$(Channel::$variant),+];

            /// The channel's name as written in output and on the command line.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Channel::$variant => $name,)+
                }
            }
        }
    };
}

channels! {
    /// The 24 h rolling ticker: last price, best bid/ask, open/high/low, volume.
    Ticker = "ticker",
    /// Best bid and ask, on every change.
    BookTicker = "bookTicker",
    /// Every trade.
    Trade = "trade",
    /// Trades aggregated by taker order and price.
    AggTrade = "aggTrade",
    /// Mark price, index price and funding rate of a perpetual (Binance `markPrice`).
    Funding = "funding",
    /// Liquidation orders (Binance `forceOrder`).
    Liquidation = "liquidation",
    /// Incremental L2 order book: a synced snapshot event, then every level change.
    Depth = "depth",
    /// The best N levels of the order book, after updates (`--book-levels`, `--book-interval`).
    Book = "book",
    /// 1-second klines (candlesticks).
    Kline1s = "kline_1s",
    /// 1-minute klines.
    Kline1m = "kline_1m",
    /// 3-minute klines.
    Kline3m = "kline_3m",
    /// 5-minute klines.
    Kline5m = "kline_5m",
    /// 15-minute klines.
    Kline15m = "kline_15m",
    /// 30-minute klines.
    Kline30m = "kline_30m",
    /// 1-hour klines.
    Kline1h = "kline_1h",
    /// 2-hour klines.
    Kline2h = "kline_2h",
    /// 4-hour klines.
    Kline4h = "kline_4h",
    /// 6-hour klines.
    Kline6h = "kline_6h",
    /// 8-hour klines.
    Kline8h = "kline_8h",
    /// 12-hour klines.
    Kline12h = "kline_12h",
    /// 1-day klines.
    Kline1d = "kline_1d",
    /// 3-day klines.
    Kline3d = "kline_3d",
    /// 1-week klines.
    Kline1w = "kline_1w",
    /// 1-month klines.
    Kline1M = "kline_1M",
}

impl Channel {
    /// The kline channels, shortest interval first.
    pub const KLINES: [Channel; 16] = [
        Channel::Kline1s,
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

    /// The channel's position in [`Channel::ALL`], for per-channel slots.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether this is a kline channel.
    pub fn is_kline(self) -> bool {
        self >= Channel::Kline1s
    }

    /// The kline interval (`1m`), for kline channels.
    pub fn kline_interval(self) -> Option<&'static str> {
        self.as_str().strip_prefix("kline_")
    }

    /// The kline channel of `interval` (`1m`, ...).
    pub fn kline(interval: &str) -> Option<Channel> {
        Channel::KLINES
            .into_iter()
            .find(|c| c.kline_interval() == Some(interval))
    }

    /// The names of the channel's own fields, in output order (after the common ones).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Channel::Ticker => &[
                "event_time",
                "last",
                "last_qty",
                "bid",
                "bid_qty",
                "ask",
                "ask_qty",
                "open",
                "high",
                "low",
                "volume",
                "quote_volume",
                "change",
                "change_pct",
            ],
            Channel::BookTicker => &["update_id", "bid", "bid_qty", "ask", "ask_qty"],
            Channel::Trade => &[
                "event_time",
                "trade_time",
                "trade_id",
                "price",
                "qty",
                "buyer_is_maker",
            ],
            Channel::AggTrade => &[
                "event_time",
                "trade_time",
                "agg_id",
                "first_trade_id",
                "last_trade_id",
                "price",
                "qty",
                "buyer_is_maker",
            ],
            Channel::Funding => &[
                "event_time",
                "mark_price",
                "index_price",
                "funding_rate",
                "next_funding_time",
            ],
            Channel::Liquidation => &[
                "event_time",
                "trade_time",
                "side",
                "price",
                "avg_price",
                "qty",
            ],
            // NDJSON keys are `crate::book::row::DEPTH_FIELDS`; these are the CSV columns
            // (one row per level change).
            Channel::Depth => &[
                "is_snapshot",
                "first_update_id",
                "update_id",
                "prev_update_id",
                "side",
                "price",
                "qty",
            ],
            // And `bid_0_price`, ..., `ask_0_price`, ... per `--book-levels` (see `sink::csv`).
            Channel::Book => &["update_id"],
            _ => &[
                "event_time",
                "open_time",
                "close_time",
                "first_trade_id",
                "last_trade_id",
                "open",
                "high",
                "low",
                "close",
                "volume",
                "quote_volume",
                "trades",
                "closed",
            ],
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// Mark price and funding of a perpetual contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Funding {
    /// Exchange event time, ms since the Unix epoch.
    pub event_time: u64,
    /// Mark price.
    pub mark_price: Decimal,
    /// Index price.
    pub index_price: Decimal,
    /// The funding rate of the coming settlement.
    pub funding_rate: Decimal,
    /// The next funding settlement, ms since the Unix epoch.
    pub next_funding_time: u64,
}

/// A liquidation order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Liquidation {
    /// Exchange event time, ms since the Unix epoch.
    pub event_time: u64,
    /// Order trade time, ms since the Unix epoch.
    pub trade_time: u64,
    /// The order sells (a long was liquidated); written `SELL` or `BUY`.
    pub sell: bool,
    /// Order price.
    pub price: Decimal,
    /// Average fill price.
    pub avg_price: Decimal,
    /// Order quantity.
    pub qty: Decimal,
}

/// One update of a kline (candlestick); `closed` on the final update of its interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kline {
    /// The kline channel, which names the interval.
    pub channel: Channel,
    /// Exchange event time, ms since the Unix epoch.
    pub event_time: u64,
    /// Start of the interval, ms since the Unix epoch.
    pub open_time: u64,
    /// End of the interval, ms since the Unix epoch.
    pub close_time: u64,
    /// First trade id in the kline.
    pub first_trade_id: u64,
    /// Last trade id in the kline.
    pub last_trade_id: u64,
    /// Open price.
    pub open: Decimal,
    /// High price.
    pub high: Decimal,
    /// Low price.
    pub low: Decimal,
    /// Close (latest) price.
    pub close: Decimal,
    /// Base-asset volume.
    pub volume: Decimal,
    /// Quote-asset volume.
    pub quote_volume: Decimal,
    /// Number of trades.
    pub trades: u64,
    /// Whether the kline is final.
    pub closed: bool,
}

/// The 24 h rolling-window ticker of one symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticker {
    /// Exchange event time, ms since the Unix epoch.
    pub event_time: u64,
    /// Last trade price.
    pub last: Decimal,
    /// Last trade quantity.
    pub last_qty: Decimal,
    /// Best bid price.
    pub bid: Decimal,
    /// Best bid quantity.
    pub bid_qty: Decimal,
    /// Best ask price.
    pub ask: Decimal,
    /// Best ask quantity.
    pub ask_qty: Decimal,
    /// Open price of the window.
    pub open: Decimal,
    /// High price of the window.
    pub high: Decimal,
    /// Low price of the window.
    pub low: Decimal,
    /// Base-asset volume of the window.
    pub volume: Decimal,
    /// Quote-asset volume of the window.
    pub quote_volume: Decimal,
    /// Price change over the window.
    pub change: Decimal,
    /// Price change over the window, in percent.
    pub change_pct: Decimal,
}

/// Best bid and ask of one symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookTicker {
    /// Order-book update id; increases with every change.
    pub update_id: u64,
    /// Best bid price.
    pub bid: Decimal,
    /// Best bid quantity.
    pub bid_qty: Decimal,
    /// Best ask price.
    pub ask: Decimal,
    /// Best ask quantity.
    pub ask_qty: Decimal,
}

/// One trade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trade {
    /// Exchange event time, ms since the Unix epoch.
    pub event_time: u64,
    /// Trade time, ms since the Unix epoch.
    pub trade_time: u64,
    /// Trade id.
    pub trade_id: TradeId,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// Whether the buyer was the maker (the taker sold).
    pub buyer_is_maker: bool,
}

impl Trade {
    /// The number that orders the stream's trades: the id where it is an integer; for UUID
    /// ids (which order nothing) the trade time and the trade's place among the frame's
    /// trades of that millisecond.
    #[inline]
    pub fn sequence(&self) -> u64 {
        match self.trade_id {
            TradeId::Int(id) => id.get(),
            TradeId::Uuid { run, .. } => self
                .trade_time
                .saturating_mul(1 << 16)
                .saturating_add(u64::from(run)),
        }
    }
}

/// A trade id as the venue gives it. Integers are kept as two 32-bit halves so that a
/// [`Trade`] (and so an [`Event`]) stays within its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradeId {
    /// An integer id (Binance, Bybit spot), written as a JSON number.
    Int(SplitU64),
    /// A UUID (Bybit derivatives), written as its canonical lower-case text.
    Uuid {
        /// The 16 bytes.
        bytes: [u8; 16],
        /// The trade's place among the frame's trades of the same millisecond.
        run: u16,
    },
}

impl TradeId {
    /// The integer id `id`.
    #[inline]
    pub const fn int(id: u64) -> TradeId {
        TradeId::Int(SplitU64::new(id))
    }
}

/// A `u64` stored as two `u32` halves (4-byte alignment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitU64([u32; 2]);

impl SplitU64 {
    /// Splits `n`.
    #[inline]
    pub const fn new(n: u64) -> SplitU64 {
        SplitU64([n as u32, (n >> 32) as u32])
    }

    /// The value.
    #[inline]
    pub const fn get(self) -> u64 {
        self.0[0] as u64 | (self.0[1] as u64) << 32
    }
}

/// Trades of one taker order at one price, aggregated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggTrade {
    /// Exchange event time, ms since the Unix epoch.
    pub event_time: u64,
    /// Trade time, ms since the Unix epoch.
    pub trade_time: u64,
    /// Aggregate trade id.
    pub agg_id: u64,
    /// First trade id in the aggregate.
    pub first_trade_id: u64,
    /// Last trade id in the aggregate.
    pub last_trade_id: u64,
    /// Price.
    pub price: Decimal,
    /// Quantity.
    pub qty: Decimal,
    /// Whether the buyer was the maker (the taker sold).
    pub buyer_is_maker: bool,
}

#[cfg(test)]
mod tests {
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
}
