//! OKX v5 public WebSocket (`{endpoint}/ws/v5/public`): subscribe requests, the text
//! heartbeat, and the decoder from one frame to ticks.
//!
//! OKX names each stream by an `arg` object (`{"channel":"trades","instId":"BTC-USDT"}`):
//! a connection sends `{"op":"subscribe","args":[...]}`, and the server answers each arg
//! with `{"event":"subscribe","arg":{...}}` (so acks are matched by the echoed arg,
//! [`AckKey::Arg`]) or with `{"event":"error","code":"600xx","msg":...}`. Data frames carry
//! the arg and a `data` array; trades and liquidations may batch several rows in one frame,
//! and each row becomes a tick in the caller's [`Out`] without an allocation per row.
//! Instruments keep OKX's spelling (`BTC-USDT`, `BTC-USDT-SWAP`, `BTC-USD-220527`).
//! OKX closes a connection that has carried no data for 30 s, so the client sends the text
//! `ping` after 25 s without a frame and the server answers `pong`.
//!
//! Order books (`books`: a snapshot, then updates with a CRC32 checksum of the top 25
//! levels and `seqId`/`prevSeqId`) decode into [`Out::depth`]; [`BookSync`] applies them
//! to a [`Book`] and says when the book must be re-synced. This module does no I/O.
//!
//! Docs: <https://www.okx.com/docs-v5/en/#overview-websocket> and the public channels under
//! <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-trades-channel>.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::scan::{Num, decimal, num};
use super::{
    AckKey, Control, DecodeError, Decoded, DepthUpdate, Exchange, Heartbeat, Level, Limits, Out,
    Plan, StreamId, Subscribe, Venue, epoch_ns,
};
use crate::book::{Book, Change, Side, checksum};
use crate::tick::{self, Channel, Decimal, Symbol, SymbolError, Tick, TickData, TradeId};

mod scan;

const DEFAULT_ENDPOINT: &str = "wss://ws.okx.com:8443";

/// The path of public market data.
pub const PATH: &str = "/ws/v5/public";

/// The OKX venue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Okx;

/// The channels foxtrot records from OKX (`funding` exists for perpetual swaps only).
const CHANNELS: &[Channel] = &[
    Channel::Ticker,
    Channel::BookTicker,
    Channel::Trade,
    Channel::Depth,
    Channel::Book,
    Channel::Funding,
    Channel::Liquidation,
];

/// OKX "WebSocket" overview, "Connection limit": 3 connection requests per second per IP;
/// 480 `subscribe`/`unsubscribe`/`login` requests per hour per connection; the args of one
/// request at most 64 KB. No documented cap on channels per connection or on its age: 100
/// streams by default (up to 500, ~25 KB of args in a request of 100) and a replacement
/// after a day keep well inside.
pub const LIMITS: Limits = Limits {
    streams_per_connection: 100,
    max_streams_per_connection: 500,
    subscribe_batch: 100,
    messages_per_second: 3,
    connect_attempts: (3, Duration::from_secs(1)),
    max_connection_age: Duration::from_secs(23 * 3600 + 50 * 60),
    max_url_len: 8000,
};

/// After this long without a frame, send `ping` (OKX: "less than 30 seconds").
pub const PING_WHEN_IDLE: Duration = Duration::from_secs(25);

/// OKX closes a connection that carried no data for this long.
pub const SERVER_IDLE_LIMIT: Duration = Duration::from_secs(30);

/// The notice OKX sends before closing a connection for a service upgrade.
const NOTICE_UPGRADE: i64 = 64008;

impl Exchange for Okx {
    fn venue(&self) -> Venue {
        Venue::Okx
    }

    fn default_endpoint(&self) -> &'static str {
        DEFAULT_ENDPOINT
    }

    fn default_rest_endpoint(&self) -> Option<&'static str> {
        Some("https://www.okx.com")
    }

    fn channels(&self) -> &'static [Channel] {
        CHANNELS
    }

    fn parse_symbol(&self, text: &str) -> Result<Symbol, SymbolError> {
        parse_symbol(text)
    }

    fn limits(&self) -> Limits {
        LIMITS
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            ping: Some("ping"),
            every: PING_WHEN_IDLE,
            when_idle: true,
            // The ping goes out at 25 s of silence; its pong is due well before 35 s.
            stale_after: PING_WHEN_IDLE + Duration::from_secs(10),
        }
    }

    fn plan(&self, endpoint: &str, streams: &[StreamId]) -> Plan {
        plan(endpoint, streams, &LIMITS)
    }

    fn book_sync(&self) -> super::BookSync {
        super::BookSync::Pushed(crate::book::pushed::Continuity::Okx)
    }

    fn resubscribe(&self, stream: &StreamId) -> Vec<String> {
        // OKX sends a new snapshot when a channel is subscribed again.
        let (text, _) = arg(stream);
        ["unsubscribe", "subscribe"]
            .map(|op| format!(r#"{{"op":"{op}","args":[{text}]}}"#))
            .to_vec()
    }

    fn decode(&self, frame: &str, recv_ns: u64, out: &mut Out) -> Result<Decoded, DecodeError> {
        decode(frame, recv_ns, out)
    }
}

/// An instrument id as OKX spells it: upper-case letters and digits in parts joined by
/// single dashes (`BTC-USDT`, `BTC-USDT-SWAP`, `BTC-USD-220624-50000-C`), up to 24 bytes;
/// lower case is accepted and upper-cased.
pub fn parse_symbol(text: &str) -> Result<Symbol, SymbolError> {
    const EXPECTED: &str = "an OKX instrument id of letters and digits joined by single dashes, \
                            like BTC-USDT or BTC-USDT-SWAP (up to 24 bytes)";
    if text.split('-').any(str::is_empty) {
        return Err(SymbolError {
            text: text.to_owned(),
            expected: EXPECTED,
        });
    }
    Symbol::parse_up_to(tick::MAX_VENUE_SYMBOL_LEN, text, EXPECTED, |c| {
        c.is_ascii_alphanumeric() || c == '-'
    })
}

/// OKX's channel name for `channel`.
pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Trade => "trades",
        Channel::BookTicker => "bbo-tbt",
        Channel::Ticker => "tickers",
        Channel::Funding => "funding-rate",
        Channel::Liquidation => "liquidation-orders",
        // Both read the 400-level book with its checksum (`books`).
        Channel::Depth | Channel::Book => "books",
        _ => "",
    }
}

/// The instrument type of an instrument id, as `liquidation-orders` is subscribed by:
/// `...-SWAP` swaps, `...-YYMMDD` futures, `...-YYMMDD-STRIKE-C|P` options, else margin.
pub fn inst_type(inst_id: &str) -> &'static str {
    let parts: Vec<&str> = inst_id.split('-').collect();
    let is_date = |p: &str| p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [.., "SWAP"] => "SWAP",
        [_, _, date] if is_date(date) => "FUTURES",
        [_, _, date, _, "C" | "P"] if is_date(date) => "OPTION",
        _ => "MARGIN",
    }
}

/// One subscribe arg: its JSON text and the key its ack echoes (`channel:instId`, or
/// `channel:instType` for liquidations, which OKX pushes per instrument type).
fn arg(stream: &StreamId) -> (String, String) {
    let channel = channel_name(stream.channel);
    let inst = stream.symbol.as_str();
    if stream.channel == Channel::Liquidation {
        let kind = inst_type(inst);
        (
            format!(r#"{{"channel":"{channel}","instType":"{kind}"}}"#),
            format!("{channel}:{kind}"),
        )
    } else {
        (
            format!(r#"{{"channel":"{channel}","instId":"{inst}"}}"#),
            format!("{channel}:{inst}"),
        )
    }
}

/// The plan of one OKX connection: `{endpoint}/ws/v5/public`, then subscribe requests of at
/// most `limits.subscribe_batch` args, each arg acked on its own. Streams that share an
/// arg (liquidations of one instrument type) are subscribed once.
pub fn plan(endpoint: &str, streams: &[StreamId], limits: &Limits) -> Plan {
    let mut args: Vec<(String, AckKey, Vec<StreamId>)> = Vec::new();
    for stream in streams {
        let (text, key) = arg(stream);
        let key = AckKey::Arg(key);
        match args.iter_mut().find(|(_, k, _)| *k == key) {
            Some((_, _, covered)) => covered.push(stream.clone()),
            None => args.push((text, key, vec![stream.clone()])),
        }
    }
    let subscribes = args
        .chunks(limits.subscribe_batch.max(1))
        .map(|chunk| {
            let mut message = String::from(r#"{"op":"subscribe","args":["#);
            for (i, (text, _, _)) in chunk.iter().enumerate() {
                if i > 0 {
                    message.push(',');
                }
                message.push_str(text);
            }
            message.push_str("]}");
            Subscribe {
                message,
                acks: chunk
                    .iter()
                    .map(|(_, key, streams)| (key.clone(), streams.clone()))
                    .collect(),
            }
        })
        .collect();
    Plan {
        url: format!("{}{PATH}", endpoint.trim_end_matches('/')),
        subscribes,
    }
}

/// The envelope of every JSON frame; `data` is read afterwards by its channel.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow)]
    arg: Option<Arg<'a>>,
    #[serde(borrow)]
    event: Option<&'a str>,
    #[serde(borrow)]
    code: Option<&'a RawValue>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Option<&'a str>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

/// A subscription arg, as pushed with data and echoed in acks.
#[derive(Deserialize)]
struct Arg<'a> {
    channel: &'a str,
    #[serde(rename = "instId")]
    inst_id: Option<&'a str>,
    #[serde(rename = "instType")]
    inst_type: Option<&'a str>,
}

impl Arg<'_> {
    /// The key [`plan`] gave this arg.
    fn key(&self) -> AckKey {
        let what = self.inst_id.or(self.inst_type).unwrap_or_default();
        AckKey::Arg(format!("{}:{what}", self.channel))
    }
}

/// One trade (`trades`).
/// `{"instId":"BTC-USDT","tradeId":"674510826","px":"95634.9","sz":"0.00011186","side":"buy","ts":"1740394561685","count":"1"}`
#[derive(Deserialize)]
struct TradeWire<'a> {
    #[serde(rename = "tradeId")]
    trade_id: &'a str,
    #[serde(borrow)]
    px: Num<'a>,
    #[serde(borrow)]
    sz: Num<'a>,
    side: &'a str,
    ts: &'a str,
}

/// Best bid and ask, tick by tick (`bbo-tbt`); a level is `[px, sz, "0", orders]`.
/// `{"asks":[["31774.7","0.14368878","0","3"]],"bids":[["31774.6","0.3392211","0","3"]],"ts":"1654032991947","seqId":363996337}`
#[derive(Deserialize)]
struct BboWire<'a> {
    #[serde(borrow)]
    asks: Best<'a>,
    #[serde(borrow)]
    bids: Best<'a>,
    ts: &'a str,
    #[serde(rename = "seqId")]
    seq_id: Option<u64>,
}

/// The 24 h ticker (`tickers`); all values are strings.
/// `{"instType":"SPOT","instId":"BTC-USDT","last":"30236","lastSz":"0.0002","askPx":"30228.7",...,"ts":"1652459224956"}`
#[derive(Deserialize)]
struct TickerWire<'a> {
    last: &'a str,
    #[serde(rename = "lastSz")]
    last_sz: &'a str,
    #[serde(rename = "askPx")]
    ask_px: &'a str,
    #[serde(rename = "askSz")]
    ask_sz: &'a str,
    #[serde(rename = "bidPx")]
    bid_px: &'a str,
    #[serde(rename = "bidSz")]
    bid_sz: &'a str,
    #[serde(rename = "open24h")]
    open: &'a str,
    #[serde(rename = "high24h")]
    high: &'a str,
    #[serde(rename = "low24h")]
    low: &'a str,
    /// Base currency for spot, contracts for derivatives.
    #[serde(rename = "vol24h")]
    volume: &'a str,
    /// Quote currency for spot, base currency for derivatives.
    #[serde(rename = "volCcy24h")]
    quote_volume: &'a str,
    ts: &'a str,
}

/// The funding rate of a perpetual swap (`funding-rate`).
/// `{"fundingRate":"0.0001515","fundingTime":"1622822400000","instId":"BTC-USD-SWAP","nextFundingTime":"1622851200000",...,"ts":"1622822400100"}`
#[derive(Deserialize)]
struct FundingWire<'a> {
    #[serde(rename = "fundingRate")]
    funding_rate: &'a str,
    /// The settlement `fundingRate` applies at.
    #[serde(rename = "fundingTime")]
    funding_time: &'a str,
    ts: &'a str,
}

/// The liquidations of one instrument (`liquidation-orders`); `details` is read after
/// `instId`, which OKX writes later in the object.
/// `{"details":[{"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],"instId":"IOST-USDT-SWAP",...}`
#[derive(Deserialize)]
struct LiquidationsWire<'a> {
    #[serde(rename = "instId")]
    inst_id: &'a str,
    #[serde(borrow)]
    details: &'a RawValue,
}

/// One liquidation order: the bankruptcy price, size and the order's side.
#[derive(Deserialize)]
struct LiquidationWire<'a> {
    #[serde(rename = "bkPx")]
    price: &'a str,
    sz: &'a str,
    side: &'a str,
    ts: &'a str,
}

/// One `books` message: a snapshot or an update of the 400-level book.
/// `{"asks":[["8476.98","415","0","13"]],"bids":[...],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}`
#[derive(Deserialize)]
struct BookWire<'a> {
    #[serde(borrow)]
    asks: &'a RawValue,
    #[serde(borrow)]
    bids: &'a RawValue,
    ts: &'a str,
    checksum: Option<i64>,
    #[serde(rename = "prevSeqId")]
    prev_seq_id: Option<i64>,
    #[serde(rename = "seqId")]
    seq_id: Option<u64>,
}

/// A `books` message with its levels read into [`Out::levels`], by either reader.
struct BookParts<'a> {
    ts: &'a str,
    checksum: Option<i64>,
    prev_seq_id: Option<i64>,
    seq_id: Option<u64>,
    bids: std::ops::Range<u32>,
    asks: std::ops::Range<u32>,
}

/// Which reader takes a push's arg and hot channels' `data`: the shared scanner, or serde.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reader {
    Scan,
    Serde,
}

/// Decodes one OKX frame into `out`.
pub fn decode(frame: &str, recv_ns: u64, out: &mut Out) -> Result<Decoded, DecodeError> {
    decode_with(Reader::Scan, frame, recv_ns, out)
}

/// Decodes one OKX frame by serde alone, as [`decode`] does what its scanner declines: for
/// benchmarks and tests that compare the two.
#[doc(hidden)]
pub fn decode_serde(frame: &str, recv_ns: u64, out: &mut Out) -> Result<Decoded, DecodeError> {
    decode_with(Reader::Serde, frame, recv_ns, out)
}

fn decode_with(
    reader: Reader,
    frame: &str,
    recv_ns: u64,
    out: &mut Out,
) -> Result<Decoded, DecodeError> {
    if frame == "pong" {
        return Ok(Decoded::Control(Control::Pong));
    }
    if let Some(decoded) = fast(reader, frame, recv_ns, out) {
        return Ok(decoded);
    }
    let envelope: Frame<'_> = serde_json::from_str(frame)?;
    if let Some(event) = envelope.event {
        return Ok(control(event, &envelope));
    }
    let (Some(arg), Some(data)) = (envelope.arg, envelope.data) else {
        return Err(DecodeError::UnknownShape);
    };
    push(
        &arg,
        envelope.action,
        data.get(),
        recv_ns,
        out,
        Reader::Serde,
    )
}

/// The hot path: a push split by its fixed text, so `data` is read once, by its channel
/// and `reader`. `None` (and `out` as it was) for anything else, or for a push that fails
/// to decode: the general path reads it again, for the result or the error.
fn fast(reader: Reader, frame: &str, recv_ns: u64, out: &mut Out) -> Option<Decoded> {
    let (arg, action, data) = split_push(frame)?;
    let arg = match reader {
        Reader::Scan => scan::arg(arg)?,
        Reader::Serde => serde_json::from_str::<Arg<'_>>(arg).ok()?,
    };
    let marks = (out.ticks.len(), out.depth.len(), out.levels.len());
    let decoded = push(&arg, action, data, recv_ns, out, reader).ok();
    if decoded.is_none() {
        out.ticks.truncate(marks.0);
        out.depth.truncate(marks.1);
        out.levels.truncate(marks.2);
    }
    decoded
}

/// A push in the layout OKX writes, `{"arg":{...}[,"action":"..."],"data":[...]}`, as
/// (arg text, action, data text); `None` for anything else (acks, errors, other layouts),
/// which the general path reads. The arg object is flat, so its first `}` ends it; a data
/// text that is not exactly one array fails when read.
fn split_push(frame: &str) -> Option<(&str, Option<&str>, &str)> {
    let rest = frame.strip_prefix(r#"{"arg":{"#)?;
    let end = rest.find('}')? + 1;
    let (arg, rest) = (&frame[7..7 + end + 1], &rest[end..]);
    let (action, rest) = match rest.strip_prefix(r#","action":""#) {
        Some(after) => {
            let quote = after.find('"')?;
            (Some(&after[..quote]), &after[quote + 1..])
        }
        None => (None, rest),
    };
    let data = rest.strip_prefix(r#","data":"#)?.strip_suffix('}')?;
    Some((arg, action, data))
}

/// Reads the `data` array of a push of `arg`'s channel into `out`.
fn push(
    arg: &Arg<'_>,
    action: Option<&str>,
    data: &str,
    recv_ns: u64,
    out: &mut Out,
    reader: Reader,
) -> Result<Decoded, DecodeError> {
    let inst = || arg.inst_id.ok_or(DecodeError::UnknownShape);
    match arg.channel {
        "trades" => {
            let symbol = parse_symbol(inst()?)?;
            let trade = |w: TradeWire<'_>, out: &mut Out| {
                let ts = int(w.ts)?;
                out.ticks.push(row(
                    &symbol,
                    recv_ns,
                    ts,
                    TickData::Trade(tick::Trade {
                        event_time: ts,
                        trade_time: ts,
                        trade_id: TradeId::int(int(w.trade_id)?),
                        price: num("px", w.px)?,
                        qty: num("sz", w.sz)?,
                        buyer_is_maker: side_is_sell(w.side)?,
                    }),
                ));
                Ok(())
            };
            match reader {
                Reader::Scan => scan::each(data, out, scan::trade, trade)?,
                Reader::Serde => each(data, |w| trade(w, out))?,
            }
        }
        "bbo-tbt" => {
            let symbol = parse_symbol(inst()?)?;
            let bbo = |w: BboWire<'_>, out: &mut Out| {
                let ts = int(w.ts)?;
                let (bid, bid_qty) = w.bids.decimals("bids")?;
                let (ask, ask_qty) = w.asks.decimals("asks")?;
                out.ticks.push(row(
                    &symbol,
                    recv_ns,
                    ts,
                    TickData::BookTicker(tick::BookTicker {
                        update_id: w.seq_id.unwrap_or(ts),
                        bid,
                        bid_qty,
                        ask,
                        ask_qty,
                    }),
                ));
                Ok(())
            };
            match reader {
                Reader::Scan => scan::each(data, out, scan::bbo, bbo)?,
                Reader::Serde => each(data, |w| bbo(w, out))?,
            }
        }
        "tickers" => {
            let symbol = parse_symbol(inst()?)?;
            each(data, |w: TickerWire<'_>| {
                let ts = int(w.ts)?;
                let ticker = tick::Ticker {
                    event_time: ts,
                    last: decimal_or_empty("last", w.last)?,
                    last_qty: decimal_or_empty("lastSz", w.last_sz)?,
                    bid: decimal_or_empty("bidPx", w.bid_px)?,
                    bid_qty: decimal_or_empty("bidSz", w.bid_sz)?,
                    ask: decimal_or_empty("askPx", w.ask_px)?,
                    ask_qty: decimal_or_empty("askSz", w.ask_sz)?,
                    open: decimal_or_empty("open24h", w.open)?,
                    high: decimal_or_empty("high24h", w.high)?,
                    low: decimal_or_empty("low24h", w.low)?,
                    volume: decimal_or_empty("vol24h", w.volume)?,
                    quote_volume: decimal_or_empty("volCcy24h", w.quote_volume)?,
                    change: Decimal::EMPTY,
                    change_pct: Decimal::EMPTY,
                };
                out.ticks.push(row(
                    &symbol,
                    recv_ns,
                    ts,
                    TickData::Ticker(Box::new(ticker)),
                ));
                Ok(())
            })?
        }
        "funding-rate" => {
            let symbol = parse_symbol(inst()?)?;
            each(data, |w: FundingWire<'_>| {
                let ts = int(w.ts)?;
                out.ticks.push(row(
                    &symbol,
                    recv_ns,
                    ts,
                    TickData::Funding(tick::Funding {
                        event_time: ts,
                        mark_price: Decimal::EMPTY,
                        index_price: Decimal::EMPTY,
                        funding_rate: decimal("fundingRate", w.funding_rate)?,
                        next_funding_time: int(w.funding_time)?,
                    }),
                ));
                Ok(())
            })?
        }
        "liquidation-orders" => each(data, |w: LiquidationsWire<'_>| {
            let symbol = parse_symbol(w.inst_id)?;
            each(w.details.get(), |d: LiquidationWire<'_>| {
                let ts = int(d.ts)?;
                out.ticks.push(row(
                    &symbol,
                    recv_ns,
                    ts,
                    TickData::Liquidation(tick::Liquidation {
                        event_time: ts,
                        trade_time: ts,
                        sell: side_is_sell(d.side)?,
                        price: decimal("bkPx", d.price)?,
                        avg_price: Decimal::EMPTY,
                        qty: decimal("sz", d.sz)?,
                    }),
                ));
                Ok(())
            })
        })?,
        "books" | "books-l2-tbt" | "books50-l2-tbt" => {
            let symbol = parse_symbol(inst()?)?;
            let snapshot = match action {
                Some("snapshot") => true,
                Some("update") => false,
                _ => return Err(DecodeError::UnknownShape),
            };
            let book = |w: BookParts<'_>, out: &mut Out| {
                let ts = int(w.ts)?;
                out.depth.push(DepthUpdate {
                    symbol: symbol.clone(),
                    snapshot,
                    first_update_id: None,
                    last_update_id: w.seq_id.unwrap_or(0),
                    // A snapshot's prevSeqId is -1: nothing before it.
                    prev_update_id: w.prev_seq_id.and_then(|p| u64::try_from(p).ok()),
                    checksum: w.checksum,
                    exchange_ns: epoch_ns(ts),
                    recv_ns,
                    bids: w.bids,
                    asks: w.asks,
                });
                Ok(())
            };
            match reader {
                Reader::Scan => scan::each(data, out, scan::book, book)?,
                Reader::Serde => each(data, |w: BookWire<'_>| {
                    let bids = levels(w.bids.get(), &mut out.levels)?;
                    let asks = levels(w.asks.get(), &mut out.levels)?;
                    let parts = BookParts {
                        ts: w.ts,
                        checksum: w.checksum,
                        prev_seq_id: w.prev_seq_id,
                        seq_id: w.seq_id,
                        bids,
                        asks,
                    };
                    book(parts, out)
                })?,
            }
        }
        _ => return Ok(Decoded::Unsupported),
    }
    Ok(Decoded::Data)
}

/// A tick of OKX's `symbol` stamped with OKX's `ts` (ms).
#[inline]
fn row(symbol: &Symbol, recv_ns: u64, ts: u64, data: TickData) -> Tick {
    Tick {
        exchange: Venue::Okx,
        symbol: symbol.clone(),
        recv_ns,
        exchange_ns: epoch_ns(ts),
        data,
    }
}

/// An `event` frame: an ack, an error, or a notice.
fn control(event: &str, frame: &Frame<'_>) -> Decoded {
    let code = frame.code.map_or(0, |raw| {
        raw.get().trim_matches('"').parse::<i64>().unwrap_or(0)
    });
    match event {
        "subscribe" | "unsubscribe" => Decoded::Control(Control::Ack {
            key: frame.arg.as_ref().map(Arg::key),
        }),
        "error" => {
            let msg = frame.msg.as_deref().unwrap_or_default();
            Decoded::Control(Control::Error {
                code,
                msg: msg.to_owned(),
                key: frame
                    .arg
                    .as_ref()
                    .map(Arg::key)
                    .or_else(|| key_in_message(msg)),
            })
        }
        "notice" if code == NOTICE_UPGRADE => {
            Decoded::Control(Control::ServerShutdown { event_time: 0 })
        }
        _ => Decoded::Unsupported,
    }
}

/// The arg an error message names, when it names one: OKX writes a refused arg as
/// `channel:trades,instId:BTC-XYZ` (or `instType:...`) inside its message.
fn key_in_message(msg: &str) -> Option<AckKey> {
    let rest = &msg[msg.find("channel:")? + "channel:".len()..];
    let (channel, rest) = rest.split_once(',')?;
    let rest = rest.trim_start();
    let value = rest
        .strip_prefix("instId:")
        .or_else(|| rest.strip_prefix("instType:"))?;
    let end = value
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(value.len());
    (!channel.is_empty() && end > 0)
        .then(|| AckKey::Arg(format!("{}:{}", channel.trim(), &value[..end])))
}

/// An integer sent as text (OKX writes times and ids as strings).
#[inline]
fn int(text: &str) -> Result<u64, DecodeError> {
    text.parse().map_err(|_| DecodeError::UnknownShape)
}

/// Tickers of quiet instruments leave fields empty (`"bidPx":""`).
#[inline]
fn decimal_or_empty(field: &'static str, text: &str) -> Result<Decimal, DecodeError> {
    if text.is_empty() {
        Ok(Decimal::EMPTY)
    } else {
        decimal(field, text)
    }
}

/// `sell` or `buy`: the taker's side (trades) or the order's (liquidations).
#[inline]
fn side_is_sell(side: &str) -> Result<bool, DecodeError> {
    match side {
        "sell" => Ok(true),
        "buy" => Ok(false),
        _ => Err(DecodeError::UnknownShape),
    }
}

/// Calls `f` with each element of the JSON array `data`, read straight from the text
/// (no `Vec` of elements); the first error `f` returns is the result.
fn each<'a, T: Deserialize<'a>>(
    data: &'a str,
    f: impl FnMut(T) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut failed = None;
    let mut de = serde_json::Deserializer::from_str(data);
    let seed = Each {
        f,
        failed: &mut failed,
        _t: PhantomData,
    };
    match seed.deserialize(&mut de).and_then(|()| de.end()) {
        Ok(()) => Ok(()),
        Err(e) => Err(failed.take().unwrap_or(DecodeError::Json(e))),
    }
}

struct Each<'e, T, F> {
    f: F,
    failed: &'e mut Option<DecodeError>,
    _t: PhantomData<fn() -> T>,
}

impl<'de, T: Deserialize<'de>, F: FnMut(T) -> Result<(), DecodeError>> DeserializeSeed<'de>
    for Each<'_, T, F>
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(T) -> Result<(), DecodeError>> Visitor<'de>
    for Each<'_, T, F>
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<T>()? {
            if let Err(e) = (self.f)(item) {
                *self.failed = Some(e);
                return Err(de::Error::custom("element refused"));
            }
        }
        Ok(())
    }
}

/// The first `[px, sz, ...]` level of a side (`bbo-tbt` has at most one), if any.
struct Best<'a>(Option<(Num<'a>, Num<'a>)>);

impl Best<'_> {
    /// Price and quantity, empty when the side is.
    fn decimals(&self, field: &'static str) -> Result<(Decimal, Decimal), DecodeError> {
        match self.0 {
            Some((px, sz)) => Ok((num(field, px)?, num(field, sz)?)),
            None => Ok((Decimal::EMPTY, Decimal::EMPTY)),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Best<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Side<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Side<'a> {
            type Value = Best<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of levels")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Best<'a>, A::Error> {
                let first = seq.next_element::<LevelWire<'a>>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Best(first.map(|l| (l.px, l.sz))))
            }
        }
        deserializer.deserialize_seq(Side(PhantomData))
    }
}

/// One level `[px, sz, "0", orders]`: the price and size; the rest is skipped.
struct LevelWire<'a> {
    px: Num<'a>,
    sz: Num<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for LevelWire<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = LevelWire<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a level [price, size, ...]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LevelWire<'a>, A::Error> {
                let px = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let sz = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LevelWire { px, sz })
            }
        }
        deserializer.deserialize_seq(V(PhantomData))
    }
}

/// Appends the levels of one side to `levels`; returns their range.
fn levels(side: &str, levels: &mut Vec<Level>) -> Result<std::ops::Range<u32>, DecodeError> {
    let start = levels.len() as u32;
    each(side, |l: LevelWire<'_>| {
        levels.push(Level {
            price: num("px", l.px)?,
            qty: num("sz", l.sz)?,
        });
        Ok(())
    })?;
    Ok(start..levels.len() as u32)
}

/// Why a book must be re-synced (re-subscribed, with a gap record).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Resync {
    /// An update came before any snapshot.
    #[error("an update before the snapshot")]
    NoSnapshot,
    /// `prevSeqId` is not the previous message's `seqId`.
    #[error("sequence break: prevSeqId {prev} after seqId {last}")]
    Sequence {
        /// The previous message's `seqId`.
        last: u64,
        /// This message's `prevSeqId`.
        prev: u64,
    },
    /// The book's checksum differs from the one OKX sent.
    #[error("checksum mismatch: ours {ours}, OKX's {theirs}")]
    Checksum {
        /// Computed from the book after applying the message.
        ours: i64,
        /// Sent with the message.
        theirs: i64,
    },
    /// A level's text could not be keyed.
    #[error("bad level: {0}")]
    Level(String),
}

/// One instrument's `books` state: the book, and the last `seqId` applied.
#[derive(Debug, Default)]
pub struct BookSync {
    /// The book as OKX holds it, once a snapshot arrived.
    pub book: Book,
    synced: bool,
    last_seq: Option<u64>,
}

impl BookSync {
    /// Applies `update` (decoded into `out`): a snapshot replaces the book; an update must
    /// follow the previous `seqId` (when OKX sends `prevSeqId`) and leave the book with OKX's
    /// checksum. On `Err` the book is cleared: the caller re-subscribes the instrument and
    /// writes a gap record; the next snapshot syncs it again.
    pub fn apply(&mut self, out: &Out, update: &DepthUpdate) -> Result<(), Resync> {
        let result = self.try_apply(out, update);
        if result.is_err() {
            self.book.clear();
            self.synced = false;
            self.last_seq = None;
        }
        result
    }

    fn try_apply(&mut self, out: &Out, update: &DepthUpdate) -> Result<(), Resync> {
        let (bids, asks) = out.levels_of(update);
        let change = |l: &Level| {
            Change::parse(&l.price.to_text(), &l.qty.to_text())
                .map_err(|e| Resync::Level(e.to_string()))
        };
        let bids = bids.iter().map(change).collect::<Result<Vec<_>, _>>()?;
        let asks = asks.iter().map(change).collect::<Result<Vec<_>, _>>()?;
        if update.snapshot {
            self.book.replace(&bids, &asks);
            self.synced = true;
        } else {
            if !self.synced {
                return Err(Resync::NoSnapshot);
            }
            if let (Some(prev), Some(last)) = (update.prev_update_id, self.last_seq)
                && prev != last
            {
                return Err(Resync::Sequence { last, prev });
            }
            bids.iter().for_each(|c| self.book.apply(Side::Bid, c));
            asks.iter().for_each(|c| self.book.apply(Side::Ask, c));
        }
        if update.last_update_id != 0 {
            self.last_seq = Some(update.last_update_id);
        }
        if let Some(theirs) = update.checksum {
            let ours = i64::from(checksum::okx(&self.book));
            if ours != theirs {
                return Err(Resync::Checksum { ours, theirs });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::testdata::lines;
    use serde_json::Value;

    fn id(symbol: &str, channel: Channel) -> StreamId {
        StreamId::new(Venue::Okx, parse_symbol(symbol).unwrap(), channel)
    }

    fn decode_line(line: &str) -> (Result<Decoded, DecodeError>, Out) {
        let mut out = Out::default();
        let decoded = decode(line, 7, &mut out);
        (decoded, out)
    }

    fn text(d: &Decimal) -> String {
        d.to_string()
    }

    fn s<'a>(v: &'a Value, key: &str) -> &'a str {
        v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
    }

    fn ms(v: &Value, key: &str) -> u64 {
        s(v, key).parse().unwrap()
    }

    #[test]
    fn every_trade_line_decodes_with_its_exact_text() {
        for line in lines("okx/trades.jsonl") {
            let frame: Value = serde_json::from_str(&line).unwrap();
            let (decoded, out) = decode_line(&line);
            assert_eq!(decoded.unwrap(), Decoded::Data, "{line}");
            let rows = frame["data"].as_array().unwrap();
            assert_eq!(out.ticks.len(), rows.len());
            for (tick, row) in out.ticks.iter().zip(rows) {
                let TickData::Trade(t) = &tick.data else {
                    panic!("{line}")
                };
                assert_eq!(tick.exchange, Venue::Okx);
                assert_eq!(tick.symbol.as_str(), s(row, "instId"));
                assert_eq!(tick.recv_ns, 7);
                assert_eq!(tick.exchange_ns, ms(row, "ts") * 1_000_000);
                assert_eq!(t.trade_id, TradeId::int(s(row, "tradeId").parse().unwrap()));
                assert_eq!(text(&t.price), s(row, "px"));
                assert_eq!(text(&t.qty), s(row, "sz"));
                assert_eq!(t.buyer_is_maker, s(row, "side") == "sell");
                assert_eq!(t.trade_time, ms(row, "ts"));
            }
        }
    }

    #[test]
    fn every_bbo_line_decodes_with_its_exact_text() {
        for line in lines("okx/bbo-tbt.jsonl") {
            let frame: Value = serde_json::from_str(&line).unwrap();
            let (decoded, out) = decode_line(&line);
            assert_eq!(decoded.unwrap(), Decoded::Data, "{line}");
            let row = &frame["data"][0];
            let [tick] = out.ticks.as_slice() else {
                panic!("{line}")
            };
            let TickData::BookTicker(b) = &tick.data else {
                panic!("{line}")
            };
            assert_eq!(tick.symbol.as_str(), s(&frame["arg"], "instId"));
            assert_eq!(tick.exchange_ns, ms(row, "ts") * 1_000_000);
            let best =
                |side: &str, i: usize| row[side][0][i].as_str().unwrap_or_default().to_owned();
            assert_eq!(text(&b.bid), best("bids", 0));
            assert_eq!(text(&b.bid_qty), best("bids", 1));
            assert_eq!(text(&b.ask), best("asks", 0));
            assert_eq!(text(&b.ask_qty), best("asks", 1));
        }
        // The option on line 6 had no bids: those columns stay empty.
        let (_, out) = decode_line(&lines("okx/bbo-tbt.jsonl")[5]);
        let TickData::BookTicker(b) = &out.ticks[0].data else {
            panic!()
        };
        assert!(b.bid.is_empty() && b.bid_qty.is_empty() && !b.ask.is_empty());
        assert_eq!(out.ticks[0].symbol.as_str(), "BTC-USD-220624-50000-C");
    }

    #[test]
    fn every_ticker_line_decodes_with_its_exact_text() {
        for line in lines("okx/tickers.jsonl") {
            let frame: Value = serde_json::from_str(&line).unwrap();
            let (decoded, out) = decode_line(&line);
            assert_eq!(decoded.unwrap(), Decoded::Data, "{line}");
            let row = &frame["data"][0];
            let TickData::Ticker(t) = &out.ticks[0].data else {
                panic!("{line}")
            };
            assert_eq!(out.ticks[0].symbol.as_str(), s(row, "instId"));
            assert_eq!(out.ticks[0].exchange_ns, ms(row, "ts") * 1_000_000);
            for (ours, key) in [
                (&t.last, "last"),
                (&t.last_qty, "lastSz"),
                (&t.bid, "bidPx"),
                (&t.bid_qty, "bidSz"),
                (&t.ask, "askPx"),
                (&t.ask_qty, "askSz"),
                (&t.open, "open24h"),
                (&t.high, "high24h"),
                (&t.low, "low24h"),
                (&t.volume, "vol24h"),
                (&t.quote_volume, "volCcy24h"),
            ] {
                assert_eq!(text(ours), s(row, key), "{key} in {line}");
            }
            assert!(t.change.is_empty() && t.change_pct.is_empty());
        }
    }

    #[test]
    fn every_books_line_decodes_into_depth_updates() {
        for file in [
            "okx/books.jsonl",
            "okx/books-l2-tbt.jsonl",
            "okx/books_doc_example.jsonl",
        ] {
            for line in lines(file) {
                let frame: Value = serde_json::from_str(&line).unwrap();
                let (decoded, out) = decode_line(&line);
                assert_eq!(decoded.unwrap(), Decoded::Data, "{line}");
                assert!(out.ticks.is_empty());
                let [update] = out.depth.as_slice() else {
                    panic!("{line}")
                };
                let row = &frame["data"][0];
                assert_eq!(update.snapshot, frame["action"] == "snapshot");
                assert_eq!(update.checksum, row["checksum"].as_i64());
                assert_eq!(update.exchange_ns, ms(row, "ts") * 1_000_000);
                let (bids, asks) = out.levels_of(update);
                for (ours, side) in [(bids, "bids"), (asks, "asks")] {
                    let theirs = row[side].as_array().unwrap();
                    assert_eq!(ours.len(), theirs.len());
                    for (l, t) in ours.iter().zip(theirs) {
                        assert_eq!(text(&l.price), t[0].as_str().unwrap());
                        assert_eq!(text(&l.qty), t[1].as_str().unwrap());
                    }
                }
            }
        }
        let (_, out) = decode_line(&lines("okx/books_doc_example.jsonl")[0]);
        assert_eq!(out.depth[0].last_update_id, 123456);
        assert_eq!(
            out.depth[0].prev_update_id, None,
            "prevSeqId -1: a snapshot"
        );
    }

    #[test]
    fn batched_frames_give_one_row_each_in_order() {
        // Lines 80 and 81 of trades.jsonl (real, one trade each) as OKX batches them.
        let frame = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"674510826","px":"95634.9","sz":"0.00011186","side":"buy","ts":"1740394561685","count":"1"},{"instId":"BTC-USDT","tradeId":"674510827","px":"95635.3","sz":"0.00011194","side":"sell","ts":"1740394561686","count":"1"}]}"#;
        let mut out = Out::default();
        decode(frame, 1, &mut out).unwrap();
        let ids: Vec<u64> = out.ticks.iter().map(|t| t.data.sequence()).collect();
        assert_eq!(ids, [674510826, 674510827]);
        for line in lines("okx/liquidation-orders.jsonl") {
            let frame: Value = serde_json::from_str(&line).unwrap();
            out.clear();
            assert_eq!(decode(&line, 1, &mut out).unwrap(), Decoded::Data);
            let mut want = Vec::new();
            for row in frame["data"].as_array().unwrap() {
                for d in row["details"].as_array().unwrap() {
                    want.push((
                        s(row, "instId").to_owned(),
                        s(d, "bkPx").to_owned(),
                        s(d, "sz").to_owned(),
                        s(d, "side") == "sell",
                        ms(d, "ts"),
                    ));
                }
            }
            let got: Vec<_> = out
                .ticks
                .iter()
                .map(|t| {
                    let TickData::Liquidation(l) = &t.data else {
                        panic!()
                    };
                    assert_eq!(t.exchange_ns, l.event_time * 1_000_000);
                    (
                        t.symbol.to_string(),
                        text(&l.price),
                        text(&l.qty),
                        l.sell,
                        l.event_time,
                    )
                })
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn funding_rows_keep_the_rate_text_and_settlement_time() {
        for line in lines("okx/funding-rate.jsonl") {
            let frame: Value = serde_json::from_str(&line).unwrap();
            let (decoded, out) = decode_line(&line);
            assert_eq!(decoded.unwrap(), Decoded::Data);
            let row = &frame["data"][0];
            let TickData::Funding(f) = &out.ticks[0].data else {
                panic!()
            };
            assert_eq!(text(&f.funding_rate), s(row, "fundingRate"));
            assert_eq!(f.next_funding_time, ms(row, "fundingTime"));
            assert_eq!(out.ticks[0].exchange_ns, ms(row, "ts") * 1_000_000);
            assert!(f.mark_price.is_empty() && f.index_price.is_empty());
        }
    }

    #[test]
    fn control_frames() {
        let control = lines("okx/control.jsonl");
        let ack = |line: &str| decode_line(line).0.unwrap();
        // Client requests (lines 1 and 3) are not something a server sends.
        assert!(decode_line(&control[0]).0.is_err());
        let key = |k: &str| Some(AckKey::Arg(k.to_owned()));
        assert_eq!(
            ack(&control[1]),
            Decoded::Control(Control::Ack {
                key: key("tickers:BTC-USD-220527")
            })
        );
        assert_eq!(
            ack(&control[5]),
            Decoded::Control(Control::Ack {
                key: key("instruments:SPOT")
            })
        );
        let Decoded::Control(Control::Error { code, msg, key: k }) = ack(&control[6]) else {
            panic!()
        };
        assert_eq!((code, k), (60012, None));
        assert!(
            msg.starts_with("Invalid request: {\"op\": \"subscribe\""),
            "{msg}"
        );
        let named = r#"{"event":"error","code":"60018","msg":"Wrong URL or channel:trades,instId:BTC-XYZ doesn't exist. Please use the correct URL, channel and parameters referring to API document.","connId":"a4d3ae55"}"#;
        let Decoded::Control(Control::Error { code, key: k, .. }) = ack(named) else {
            panic!()
        };
        assert_eq!((code, k), (60018, key("trades:BTC-XYZ")));
        // A request's `id` is echoed first (OKX adds it when the request carried one).
        assert_eq!(
            ack(
                r#"{"id":"1512","event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#
            ),
            Decoded::Control(Control::Ack {
                key: key("trades:BTC-USDT")
            })
        );
        let Decoded::Control(Control::Error { code, .. }) = ack(
            r#"{"id":"1512","event":"error","code":"60019","msg":"Invalid op: login","connId":"a4d3ae55"}"#,
        ) else {
            panic!()
        };
        assert_eq!(code, 60019);
        assert_eq!(ack("pong"), Decoded::Control(Control::Pong));
        assert_eq!(
            ack(
                r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#
            ),
            Decoded::Control(Control::ServerShutdown { event_time: 0 })
        );
        assert_eq!(
            ack(r#"{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[]}"#),
            Decoded::Unsupported
        );
        for bad in ["ping", "", "{", r#"{"arg":{"channel":"trades"},"data":[]}"#] {
            assert!(decode_line(bad).0.is_err(), "{bad:?}");
        }
        let bad_px = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"1","px":"1e5","sz":"1","side":"buy","ts":"1"}]}"#;
        assert_eq!(decode_line(bad_px).0.unwrap_err().kind(), "bad_decimal");
    }

    #[test]
    fn a_plan_subscribes_each_arg_and_expects_its_echo() {
        let streams = [
            id("BTC-USDT", Channel::Trade),
            id("eth-usdt", Channel::BookTicker),
            id("BTC-USDT-SWAP", Channel::Liquidation),
            id("ETH-USDT-SWAP", Channel::Liquidation),
            id("BTC-USDT-SWAP", Channel::Funding),
        ];
        let plan = Okx.plan("ws://127.0.0.1:9/", &streams);
        assert_eq!(plan.url, "ws://127.0.0.1:9/ws/v5/public");
        let [subscribe] = plan.subscribes.as_slice() else {
            panic!("{plan:?}")
        };
        assert_eq!(
            subscribe.message,
            r#"{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},{"channel":"bbo-tbt","instId":"ETH-USDT"},{"channel":"liquidation-orders","instType":"SWAP"},{"channel":"funding-rate","instId":"BTC-USDT-SWAP"}]}"#
        );
        let keys: Vec<(String, usize)> = subscribe
            .acks
            .iter()
            .map(|(k, s)| match k {
                AckKey::Arg(k) => (k.clone(), s.len()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("trades:BTC-USDT".to_owned(), 1),
                ("bbo-tbt:ETH-USDT".to_owned(), 1),
                ("liquidation-orders:SWAP".to_owned(), 2),
                ("funding-rate:BTC-USDT-SWAP".to_owned(), 1),
            ]
        );
        // The ack OKX sends for each arg settles exactly that key.
        let mut out = Out::default();
        for arg in serde_json::from_str::<Value>(&subscribe.message).unwrap()["args"]
            .as_array()
            .unwrap()
        {
            let ack = format!(r#"{{"event":"subscribe","arg":{arg},"connId":"1"}}"#);
            let Decoded::Control(Control::Ack { key: Some(key) }) =
                decode(&ack, 0, &mut out).unwrap()
            else {
                panic!("{ack}")
            };
            assert!(subscribe.acks.iter().any(|(k, _)| *k == key), "{key:?}");
        }
        let many: Vec<StreamId> = (0..250)
            .map(|i| id(&format!("C{i}-USDT"), Channel::Trade))
            .collect();
        let plan = Okx.plan(DEFAULT_ENDPOINT, &many);
        assert_eq!(plan.subscribes.len(), 3);
        assert!(plan.subscribes.iter().all(|s| s.message.len() < 64 * 1024));
    }

    #[test]
    fn instruments_are_validated_in_okx_spelling() {
        for good in [
            "BTC-USDT",
            "btc-usdt-swap",
            "BTC-USD-220527",
            "BTC-USD-220624-50000-C",
            "1INCH-USDT",
        ] {
            let symbol = parse_symbol(good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(symbol.as_str(), good.to_ascii_uppercase());
        }
        for bad in [
            "",
            "BTC--USDT",
            "-BTC",
            "BTC-",
            "BTC_USDT",
            "BTC/USDT",
            "BTC USDT",
            "A234567890123456789012345",
        ] {
            let err = parse_symbol(bad).unwrap_err().to_string();
            assert!(err.contains("like BTC-USDT"), "{bad}: {err}");
        }
        assert_eq!(inst_type("BTC-USDT-SWAP"), "SWAP");
        assert_eq!(inst_type("BTC-USD-220527"), "FUTURES");
        assert_eq!(inst_type("BTC-USD-220624-50000-C"), "OPTION");
        assert_eq!(inst_type("BTC-USDT"), "MARGIN");
    }

    #[test]
    fn the_heartbeat_is_a_text_ping_when_idle_before_okx_closes() {
        let hb = Okx.heartbeat();
        assert_eq!(hb.ping, Some("ping"));
        assert!(hb.when_idle);
        assert!(hb.every < SERVER_IDLE_LIMIT);
        assert!(hb.stale_after > hb.every);
    }

    /// Every `books` frame of the real capture through the decoder and [`BookSync`]: all 290
    /// checksums verify; a corrupted level fails the next checksum and asks for a re-sync;
    /// the next snapshot syncs again.
    fn sync_books(corrupt_at: Option<usize>) -> (usize, Vec<(usize, Resync)>) {
        let mut books: std::collections::HashMap<Symbol, BookSync> = Default::default();
        let (mut verified, mut resyncs) = (0, Vec::new());
        let mut out = Out::default();
        for (i, line) in lines("okx/books.jsonl").iter().enumerate() {
            out.clear();
            decode(line, 0, &mut out).unwrap();
            let update = &out.depth[0];
            let sync = books.entry(update.symbol.clone()).or_default();
            match sync.apply(&out, update) {
                Ok(()) => verified += 1,
                Err(why) => resyncs.push((i, why)),
            }
            if corrupt_at == Some(i) {
                let best = *sync.book.bids().nth(5).unwrap();
                let qty = format!("{}1", best.qty);
                sync.book.apply(
                    Side::Bid,
                    &Change::parse(&best.price.to_string(), &qty).unwrap(),
                );
            }
        }
        (verified, resyncs)
    }

    #[test]
    fn all_290_captured_checksums_verify_through_the_decoder() {
        assert_eq!(sync_books(None), (290, vec![]));
    }

    #[test]
    fn a_corrupted_level_fails_the_checksum_and_asks_for_a_resync() {
        let (verified, resyncs) = sync_books(Some(9));
        let (first, why) = &resyncs[0];
        assert!(*first > 9, "{resyncs:?}");
        assert!(matches!(why, Resync::Checksum { .. }), "{why}");
        // Cleared after the failure: the instrument's later updates wait for a snapshot.
        assert!(resyncs[1..].iter().all(|(_, w)| *w == Resync::NoSnapshot));
        assert_eq!(verified + resyncs.len(), 290);
    }

    #[test]
    fn a_sequence_break_asks_for_a_resync() {
        let snapshot = &lines("okx/books_doc_example.jsonl")[0];
        let mut out = Out::default();
        decode(snapshot, 0, &mut out).unwrap();
        let mut sync = BookSync::default();
        // The docs' example checksum was not computed from its levels: drop it.
        out.depth[0].checksum = None;
        sync.apply(&out, &out.depth[0]).unwrap();
        let update = |prev: i64, seq: u64| {
            format!(
                r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{{"asks":[],"bids":[["8476.97","0","0","0"]],"ts":"1597026383086","prevSeqId":{prev},"seqId":{seq}}}]}}"#
            )
        };
        out.clear();
        decode(&update(123456, 123457), 0, &mut out).unwrap();
        sync.apply(&out, &out.depth[0]).unwrap();
        assert_eq!(
            sync.book.bids().next().unwrap().price.to_string(),
            "8475.55"
        );
        out.clear();
        decode(&update(123458, 123459), 0, &mut out).unwrap();
        assert_eq!(
            sync.apply(&out, &out.depth[0]),
            Err(Resync::Sequence {
                last: 123457,
                prev: 123458
            })
        );
        assert!(sync.book.is_empty());
    }
}
