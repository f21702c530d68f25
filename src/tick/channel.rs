//! The channels a stream can carry: their output names and their fields.

use std::fmt;

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
