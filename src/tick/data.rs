//! The channel-specific part of each kind of tick.

use super::{Channel, Decimal};

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
