//! Binance's market payloads: the wire structs that mirror Binance's JSON (each with its
//! doc section and a sample), their strict one-pass readers for the canonical layouts
//! (`scan`, on the shared [`Scan`]) and their conversion to [`TickData`] (`normalize`).
//! Choosing the struct for a frame is [`super`]'s job; this module does no I/O.

use serde::Deserialize;

use super::super::DecodeError;
use super::super::scan::{Num, Scan, Sym, decimal, num};
use super::parse_symbol;
use crate::tick::{self, Channel, Symbol, TickData};

#[inline(always)]
fn sym(sym: Sym<'_>) -> Result<Symbol, DecodeError> {
    Ok(sym.or_parse(parse_symbol)?)
}

fn check_event(event: &str, expected: &str) -> Result<(), DecodeError> {
    if event == expected {
        Ok(())
    } else {
        Err(DecodeError::UnknownShape)
    }
}

/// web-socket-streams.md, "Individual Symbol Book Ticker Streams" (`<symbol>@bookTicker`).
///
/// ```json
/// {"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}
/// ```
///
/// USD-M futures adds `"e":"bookTicker"`, the event time `E` (kept as the tick's
/// `exchange_ns`) and the transaction time `T` (ignored).
#[derive(Deserialize)]
pub(super) struct BookTicker<'a> {
    #[serde(default, rename = "E")]
    pub(super) event_time: Option<u64>,
    #[serde(rename = "u")]
    pub(super) update_id: u64,
    #[serde(borrow, rename = "s")]
    pub(super) symbol: Sym<'a>,
    #[serde(borrow, rename = "b")]
    pub(super) bid: Num<'a>,
    #[serde(borrow, rename = "B")]
    pub(super) bid_qty: Num<'a>,
    #[serde(borrow, rename = "a")]
    pub(super) ask: Num<'a>,
    #[serde(borrow, rename = "A")]
    pub(super) ask_qty: Num<'a>,
}

impl<'a> BookTicker<'a> {
    /// The layout above, exactly; `None` for anything else (such as USD-M's).
    pub(super) fn scan(payload: &'a str) -> Option<BookTicker<'a>> {
        let mut s = Scan::new(payload);
        s.lit(r#"{"u":"#)?;
        let update_id = s.u64()?;
        s.lit(r#","s":""#)?;
        let symbol = s.symbol()?;
        s.lit(r#","b":""#)?;
        let bid = s.decimal()?;
        s.lit(r#","B":""#)?;
        let bid_qty = s.decimal()?;
        s.lit(r#","a":""#)?;
        let ask = s.decimal()?;
        s.lit(r#","A":""#)?;
        let ask_qty = s.decimal()?;
        s.lit("}")?;
        s.end()?;
        Some(BookTicker {
            event_time: None,
            update_id,
            symbol,
            bid,
            bid_qty,
            ask,
            ask_qty,
        })
    }

    pub(super) fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
        Ok((
            sym(self.symbol)?,
            TickData::BookTicker(tick::BookTicker {
                update_id: self.update_id,
                bid: num("b", self.bid)?,
                bid_qty: num("B", self.bid_qty)?,
                ask: num("a", self.ask)?,
                ask_qty: num("A", self.ask_qty)?,
            }),
        ))
    }
}

/// web-socket-streams.md, "Trade Streams" (`<symbol>@trade`).
///
/// ```json
/// {"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}
/// ```
///
/// Frames before 2024-06-18 also carry the order ids `b` and `a`; USD-M futures adds `X`
/// and drops `M`. Those fields are ignored.
#[derive(Deserialize)]
pub(super) struct Trade<'a> {
    #[serde(borrow, rename = "e")]
    pub(super) event: &'a str,
    #[serde(rename = "E")]
    pub(super) event_time: u64,
    #[serde(borrow, rename = "s")]
    pub(super) symbol: Sym<'a>,
    #[serde(rename = "t")]
    pub(super) trade_id: u64,
    #[serde(borrow, rename = "p")]
    pub(super) price: Num<'a>,
    #[serde(borrow, rename = "q")]
    pub(super) qty: Num<'a>,
    #[serde(rename = "T")]
    pub(super) trade_time: u64,
    #[serde(rename = "m")]
    pub(super) buyer_is_maker: bool,
}

impl<'a> Trade<'a> {
    /// The current spot layout above, exactly; `None` for anything else.
    pub(super) fn scan(payload: &'a str) -> Option<Trade<'a>> {
        let mut s = Scan::new(payload);
        s.lit(r#"{"e":"trade","E":"#)?;
        let event_time = s.u64()?;
        s.lit(r#","s":""#)?;
        let symbol = s.symbol()?;
        s.lit(r#","t":"#)?;
        let trade_id = s.u64()?;
        s.lit(r#","p":""#)?;
        let price = s.decimal()?;
        s.lit(r#","q":""#)?;
        let qty = s.decimal()?;
        s.lit(r#","T":"#)?;
        let trade_time = s.u64()?;
        s.lit(r#","m":"#)?;
        let buyer_is_maker = s.bool()?;
        s.lit(r#","M":"#)?;
        s.bool()?;
        s.lit("}")?;
        s.end()?;
        Some(Trade {
            event: "trade",
            event_time,
            symbol,
            trade_id,
            price,
            qty,
            trade_time,
            buyer_is_maker,
        })
    }

    pub(super) fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
        check_event(self.event, "trade")?;
        Ok((
            sym(self.symbol)?,
            TickData::Trade(tick::Trade {
                event_time: self.event_time,
                trade_time: self.trade_time,
                trade_id: tick::TradeId::int(self.trade_id),
                price: num("p", self.price)?,
                qty: num("q", self.qty)?,
                buyer_is_maker: self.buyer_is_maker,
            }),
        ))
    }
}

/// web-socket-streams.md, "Aggregate Trade Streams" (`<symbol>@aggTrade`).
///
/// ```json
/// {"e":"aggTrade","E":1617566591315,"s":"BTCUSDT","a":665076760,"p":"58001.03000000","q":"0.08620500","f":745522877,"l":745522877,"T":1617566591314,"m":true,"M":true}
/// ```
#[derive(Deserialize)]
pub(super) struct AggTrade<'a> {
    #[serde(borrow, rename = "e")]
    pub(super) event: &'a str,
    #[serde(rename = "E")]
    pub(super) event_time: u64,
    #[serde(borrow, rename = "s")]
    pub(super) symbol: Sym<'a>,
    #[serde(rename = "a")]
    pub(super) agg_id: u64,
    #[serde(borrow, rename = "p")]
    pub(super) price: Num<'a>,
    #[serde(borrow, rename = "q")]
    pub(super) qty: Num<'a>,
    #[serde(rename = "f")]
    pub(super) first_trade_id: u64,
    #[serde(rename = "l")]
    pub(super) last_trade_id: u64,
    #[serde(rename = "T")]
    pub(super) trade_time: u64,
    #[serde(rename = "m")]
    pub(super) buyer_is_maker: bool,
}

impl<'a> AggTrade<'a> {
    /// The spot layout above, exactly; `None` for anything else.
    pub(super) fn scan(payload: &'a str) -> Option<AggTrade<'a>> {
        let mut s = Scan::new(payload);
        s.lit(r#"{"e":"aggTrade","E":"#)?;
        let event_time = s.u64()?;
        s.lit(r#","s":""#)?;
        let symbol = s.symbol()?;
        s.lit(r#","a":"#)?;
        let agg_id = s.u64()?;
        s.lit(r#","p":""#)?;
        let price = s.decimal()?;
        s.lit(r#","q":""#)?;
        let qty = s.decimal()?;
        s.lit(r#","f":"#)?;
        let first_trade_id = s.u64()?;
        s.lit(r#","l":"#)?;
        let last_trade_id = s.u64()?;
        s.lit(r#","T":"#)?;
        let trade_time = s.u64()?;
        s.lit(r#","m":"#)?;
        let buyer_is_maker = s.bool()?;
        s.lit(r#","M":"#)?;
        s.bool()?;
        s.lit("}")?;
        s.end()?;
        Some(AggTrade {
            event: "aggTrade",
            event_time,
            symbol,
            agg_id,
            price,
            qty,
            first_trade_id,
            last_trade_id,
            trade_time,
            buyer_is_maker,
        })
    }

    pub(super) fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
        check_event(self.event, "aggTrade")?;
        Ok((
            sym(self.symbol)?,
            TickData::AggTrade(tick::AggTrade {
                event_time: self.event_time,
                trade_time: self.trade_time,
                agg_id: self.agg_id,
                first_trade_id: self.first_trade_id,
                last_trade_id: self.last_trade_id,
                price: num("p", self.price)?,
                qty: num("q", self.qty)?,
                buyer_is_maker: self.buyer_is_maker,
            }),
        ))
    }
}

/// web-socket-streams.md, "Individual Symbol Ticker Streams" (`<symbol>@ticker`).
///
/// ```json
/// {"e":"24hrTicker","E":1653812650349,"s":"ETHUSDT","p":"28.23000000","P":"1.600","w":"1781.16275609","x":"1764.61000000","c":"1792.84000000","Q":"0.55720000","b":"1792.83000000","B":"1.62740000","a":"1792.84000000","A":"20.29140000","o":"1764.61000000","h":"1808.98000000","l":"1748.94000000","v":"471703.53110000","q":"840180761.51358100","O":1653726250344,"C":1653812650344,"F":841094172,"L":841646650,"n":552479}
/// ```
///
/// The weighted average `w`, previous close `x`, window bounds `O`/`C`, trade ids `F`/`L`
/// and count `n` are not part of [`tick::Ticker`] and are ignored.
#[derive(Deserialize)]
pub(super) struct Ticker<'a> {
    #[serde(borrow, rename = "e")]
    event: &'a str,
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(borrow, rename = "s")]
    symbol: &'a str,
    #[serde(borrow, rename = "p")]
    change: &'a str,
    #[serde(borrow, rename = "P")]
    change_pct: &'a str,
    #[serde(borrow, rename = "c")]
    last: &'a str,
    #[serde(borrow, rename = "Q")]
    last_qty: &'a str,
    #[serde(borrow, rename = "b")]
    bid: &'a str,
    #[serde(borrow, rename = "B")]
    bid_qty: &'a str,
    #[serde(borrow, rename = "a")]
    ask: &'a str,
    #[serde(borrow, rename = "A")]
    ask_qty: &'a str,
    #[serde(borrow, rename = "o")]
    open: &'a str,
    #[serde(borrow, rename = "h")]
    high: &'a str,
    #[serde(borrow, rename = "l")]
    low: &'a str,
    #[serde(borrow, rename = "v")]
    volume: &'a str,
    #[serde(borrow, rename = "q")]
    quote_volume: &'a str,
}

impl Ticker<'_> {
    pub(super) fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
        check_event(self.event, "24hrTicker")?;
        Ok((
            parse_symbol(self.symbol)?,
            TickData::Ticker(Box::new(tick::Ticker {
                event_time: self.event_time,
                last: decimal("c", self.last)?,
                last_qty: decimal("Q", self.last_qty)?,
                bid: decimal("b", self.bid)?,
                bid_qty: decimal("B", self.bid_qty)?,
                ask: decimal("a", self.ask)?,
                ask_qty: decimal("A", self.ask_qty)?,
                open: decimal("o", self.open)?,
                high: decimal("h", self.high)?,
                low: decimal("l", self.low)?,
                volume: decimal("v", self.volume)?,
                quote_volume: decimal("q", self.quote_volume)?,
                change: decimal("p", self.change)?,
                change_pct: decimal("P", self.change_pct)?,
            })),
        ))
    }
}

/// USD-M "Mark Price Stream" (`<symbol>@markPrice`), the `funding` channel.
///
/// ```json
/// {"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}
/// ```
///
/// The estimated settle price `P` is ignored.
#[derive(Deserialize)]
pub(super) struct MarkPrice<'a> {
    #[serde(borrow, rename = "e")]
    event: &'a str,
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(borrow, rename = "s")]
    symbol: &'a str,
    #[serde(borrow, rename = "p")]
    mark_price: &'a str,
    #[serde(borrow, rename = "i")]
    index_price: &'a str,
    #[serde(borrow, rename = "r")]
    funding_rate: &'a str,
    #[serde(rename = "T")]
    next_funding_time: u64,
}

impl MarkPrice<'_> {
    pub(super) fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
        check_event(self.event, "markPriceUpdate")?;
        Ok((
            parse_symbol(self.symbol)?,
            TickData::Funding(tick::Funding {
                event_time: self.event_time,
                mark_price: decimal("p", self.mark_price)?,
                index_price: decimal("i", self.index_price)?,
                funding_rate: decimal("r", self.funding_rate)?,
                next_funding_time: self.next_funding_time,
            }),
        ))
    }
}

/// USD-M "Liquidation Order Streams" (`<symbol>@forceOrder`), the `liquidation` channel.
///
/// ```json
/// {"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}
/// ```
///
/// Order type `o`, time in force `f`, status `X` and the filled quantities `l`/`z` are
/// ignored.
#[derive(Deserialize)]
pub(super) struct ForceOrder<'a> {
    #[serde(borrow, rename = "e")]
    event: &'a str,
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(borrow, rename = "o")]
    order: ForceOrderBody<'a>,
}

#[derive(Deserialize)]
pub(super) struct ForceOrderBody<'a> {
    #[serde(borrow, rename = "s")]
    symbol: &'a str,
    #[serde(borrow, rename = "S")]
    side: &'a str,
    #[serde(borrow, rename = "q")]
    qty: &'a str,
    #[serde(borrow, rename = "p")]
    price: &'a str,
    #[serde(borrow, rename = "ap")]
    avg_price: &'a str,
    #[serde(rename = "T")]
    trade_time: u64,
}

impl ForceOrder<'_> {
    pub(super) fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
        check_event(self.event, "forceOrder")?;
        let o = self.order;
        let sell = match o.side {
            "SELL" => true,
            "BUY" => false,
            _ => return Err(DecodeError::UnknownShape),
        };
        Ok((
            parse_symbol(o.symbol)?,
            TickData::Liquidation(tick::Liquidation {
                event_time: self.event_time,
                trade_time: o.trade_time,
                sell,
                price: decimal("p", o.price)?,
                avg_price: decimal("ap", o.avg_price)?,
                qty: decimal("q", o.qty)?,
            }),
        ))
    }
}

/// web-socket-streams.md, "Kline/Candlestick Streams for UTC" (`<symbol>@kline_<interval>`;
/// USD-M's is the same).
///
/// ```json
/// {"e":"kline","E":1617566591776,"s":"ETHUSDT","k":{"t":1617566580000,"T":1617566639999,"s":"ETHUSDT","i":"1m","f":346711017,"L":346711087,"o":"2063.88000000","c":"2064.73000000","h":"2065.00000000","l":"2063.88000000","v":"70.86425000","n":71,"x":false,"q":"146321.71560700","V":"46.98201000","Q":"97009.77617410","B":"0"}}
/// ```
///
/// The taker-buy volumes `V`/`Q` and the ignored field `B` are not kept.
#[derive(Deserialize)]
pub(super) struct KlineEvent<'a> {
    #[serde(borrow, rename = "e")]
    event: &'a str,
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(borrow, rename = "s")]
    symbol: &'a str,
    #[serde(borrow, rename = "k")]
    kline: KlineBody<'a>,
}

#[derive(Deserialize)]
pub(super) struct KlineBody<'a> {
    #[serde(rename = "t")]
    open_time: u64,
    #[serde(rename = "T")]
    close_time: u64,
    #[serde(borrow, rename = "i")]
    interval: &'a str,
    #[serde(rename = "f")]
    first_trade_id: i64,
    #[serde(rename = "L")]
    last_trade_id: i64,
    #[serde(borrow, rename = "o")]
    open: &'a str,
    #[serde(borrow, rename = "c")]
    close: &'a str,
    #[serde(borrow, rename = "h")]
    high: &'a str,
    #[serde(borrow, rename = "l")]
    low: &'a str,
    #[serde(borrow, rename = "v")]
    volume: &'a str,
    #[serde(rename = "n")]
    trades: u64,
    #[serde(rename = "x")]
    closed: bool,
    #[serde(borrow, rename = "q")]
    quote_volume: &'a str,
}

impl KlineEvent<'_> {
    /// The channel is the payload's own interval.
    pub(super) fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
        check_event(self.event, "kline")?;
        let k = self.kline;
        let channel = Channel::kline(k.interval).ok_or(DecodeError::UnknownShape)?;
        // Binance writes -1 for "no trade in this kline".
        let id = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok((
            parse_symbol(self.symbol)?,
            TickData::Kline(Box::new(tick::Kline {
                channel,
                event_time: self.event_time,
                open_time: k.open_time,
                close_time: k.close_time,
                first_trade_id: id(k.first_trade_id),
                last_trade_id: id(k.last_trade_id),
                open: decimal("o", k.open)?,
                high: decimal("h", k.high)?,
                low: decimal("l", k.low)?,
                close: decimal("c", k.close)?,
                volume: decimal("v", k.volume)?,
                quote_volume: decimal("q", k.quote_volume)?,
                trades: k.trades,
                closed: k.closed,
            })),
        ))
    }
}
