//! Bybit v5 public streams: spot (`bybit`) and USDT/USDC perpetuals (`bybit-linear`).
//!
//! This module owns everything Bybit-specific: the URL (`{endpoint}/v5/public/spot` or
//! `/linear`), the subscribe requests (`{"op":"subscribe","args":[topics],"req_id":"n"}`,
//! at most 10 args per request on spot), the acks (`success`, matched by the echoed
//! `req_id`), the heartbeat (`{"op":"ping"}` every 20 s, answered with a `pong`), and the
//! wire structs that mirror Bybit's JSON with their conversion to [`Tick`]s. It does no I/O.
//!
//! How rows are produced, where Bybit's messages differ from one-row-per-event:
//! - `publicTrade` frames hold an array of trades: one `trade` row each, in order.
//! - `orderbook.1` (`bookTicker`): one row per message from its first bid and ask. Since
//!   2025 level 1 is pushed as snapshots only; a (2023-style) delta carries only the side
//!   that changed, and the side it does not carry is written empty rather than guessed.
//! - `tickers` on linear is a snapshot followed by deltas holding only the fields that
//!   changed. The decoder keeps the last full state per symbol (in [`Out::state`], one per
//!   connection) and merges each delta into it, so every `ticker` row is whole; a `funding`
//!   row (mark price, index price, funding rate, next funding time) is written for a
//!   snapshot and for every delta that carries one of those fields. Spot tickers are
//!   snapshots without bid or ask: those columns are empty. Bybit sends the 24 h change as
//!   a fraction (`price24hPcnt` `0.0196`); `change_pct` is in percent as on Binance
//!   (`1.96`), the decimal point moved two places in the text (no floating point).
//! - `allLiquidation`: one `liquidation` row per entry. Bybit's side names the position
//!   (`Buy`: a long was liquidated, so the order sells); the price is the bankruptcy price;
//!   Bybit has no average price (empty).
//! - `orderbook.50`/`.200`: snapshots and deltas go to [`Out::depth`] with `u` as the
//!   update id (the book code applies them; a snapshot, also one with `u` = 1 after a
//!   service restart, replaces the book).
//!
//! `exchange_ns` is the message's `ts` (ms) in ns. Trade ids: spot's are digit strings,
//! kept as integers; linear's are UUIDs, kept as their text ([`TradeId::Uuid`]).
//!
//! Docs: <https://bybit-exchange.github.io/docs/v5/ws/connect>,
//! <https://bybit-exchange.github.io/docs/v5/websocket/public/trade>, `.../orderbook`,
//! `.../ticker`, `.../all-liquidation`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{
    AckKey, Control, DecodeError, Decoded, DepthUpdate, Exchange, Heartbeat, Level, Limits, Out,
    Plan, StreamId, Subscribe, Venue, epoch_ns,
};
use crate::tick::{
    self, BookTicker, Channel, Decimal, Funding, Liquidation, Symbol, SymbolError, Tick, TickData,
    Ticker, Trade, TradeId,
};

const DEFAULT_ENDPOINT: &str = "wss://stream.bybit.com";

/// One Bybit market category: a URL path, its channels and limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bybit {
    venue: Venue,
    path: &'static str,
    channels: &'static [Channel],
    limits: Limits,
}

/// Spot (`/v5/public/spot`).
pub const SPOT: Bybit = Bybit {
    venue: Venue::Bybit,
    path: "/v5/public/spot",
    channels: &[Channel::Ticker, Channel::BookTicker, Channel::Trade],
    limits: Limits {
        // "Spot can input up to 10 args for each subscription request".
        subscribe_batch: 10,
        ..LIMITS
    },
};

/// USDT and USDC perpetuals and futures (`/v5/public/linear`).
pub const LINEAR: Bybit = Bybit {
    venue: Venue::BybitLinear,
    path: "/v5/public/linear",
    channels: &[
        Channel::Ticker,
        Channel::BookTicker,
        Channel::Trade,
        Channel::Funding,
        Channel::Liquidation,
    ],
    limits: LIMITS,
};

/// "Connect": no more than 500 connections per 5 minutes per domain; the args of one
/// connection at most 21,000 characters (200 topics stay well under it); no documented
/// message rate (ten a second is what foxtrot allows itself); no documented maximum age.
const LIMITS: Limits = Limits {
    streams_per_connection: 200,
    max_streams_per_connection: 200,
    subscribe_batch: 100,
    messages_per_second: 10,
    connect_attempts: (500, Duration::from_secs(300)),
    max_connection_age: Duration::from_secs(23 * 3600 + 50 * 60),
    max_url_len: 8000,
};

/// "How to Send the Heartbeat Packet": ping every 20 s. Without ping and data the server
/// cuts the connection after 10 minutes.
pub const PING_EVERY: Duration = Duration::from_secs(20);

/// The ping foxtrot sends.
pub const PING: &str = r#"{"op":"ping"}"#;

impl Exchange for Bybit {
    fn venue(&self) -> Venue {
        self.venue
    }

    fn default_endpoint(&self) -> &'static str {
        DEFAULT_ENDPOINT
    }

    fn channels(&self) -> &'static [Channel] {
        self.channels
    }

    fn parse_symbol(&self, text: &str) -> Result<Symbol, SymbolError> {
        parse_symbol(text)
    }

    fn limits(&self) -> Limits {
        self.limits
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            ping: Some(PING),
            every: PING_EVERY,
            when_idle: false,
            // A quiet symbol may send nothing between pongs: two pings and a bit.
            stale_after: PING_EVERY * 2 + Duration::from_secs(5),
        }
    }

    fn plan(&self, endpoint: &str, streams: &[StreamId]) -> Plan {
        let url = format!("{}{}", endpoint.trim_end_matches('/'), self.path);
        // `ticker` and `funding` share a topic: one arg confirms both.
        let mut topics: Vec<(String, Vec<StreamId>)> = Vec::new();
        for stream in streams {
            let topic = topic(stream);
            match topics.iter_mut().find(|(t, _)| *t == topic) {
                Some((_, ids)) => ids.push(stream.clone()),
                None => topics.push((topic, vec![stream.clone()])),
            }
        }
        let subscribes = topics
            .chunks(self.limits.subscribe_batch.max(1))
            .zip(1u64..)
            .map(|(chunk, id)| {
                let req_id = id.to_string();
                let args: Vec<&str> = chunk.iter().map(|(t, _)| t.as_str()).collect();
                let message =
                    serde_json::json!({"op": "subscribe", "args": args, "req_id": req_id})
                        .to_string();
                let streams = chunk
                    .iter()
                    .flat_map(|(_, ids)| ids.iter().cloned())
                    .collect();
                Subscribe {
                    message,
                    acks: vec![(AckKey::Text(req_id), streams)],
                }
            })
            .collect();
        Plan { url, subscribes }
    }

    fn decode(&self, frame: &str, recv_ns: u64, out: &mut Out) -> Result<Decoded, DecodeError> {
        decode(self.venue, frame, recv_ns, out)
    }
}

/// A symbol as Bybit lists it: ASCII letters and digits, and `-` in dated futures
/// (`BTCUSDT-26DEC25`), stored upper case.
pub fn parse_symbol(text: &str) -> Result<Symbol, SymbolError> {
    Symbol::parse_with(
        text,
        "1 to 20 ASCII letters, digits or '-', like BTCUSDT",
        |c| c.is_ascii_alphanumeric() || c == '-',
    )
}

/// Bybit's topic for `stream`: `publicTrade.BTCUSDT`, `orderbook.1.BTCUSDT`, ...
pub fn topic(stream: &StreamId) -> String {
    let prefix = match stream.channel {
        Channel::Trade => "publicTrade",
        Channel::BookTicker => "orderbook.1",
        Channel::Ticker | Channel::Funding => "tickers",
        Channel::Liquidation => "allLiquidation",
        // Not in any Bybit venue's channel list; the connection checks before planning.
        other => other.as_str(),
    };
    format!("{prefix}.{}", stream.symbol)
}

/// The answer fields of a Bybit message (`success`, `ret_msg`, `op`, `req_id`).
#[derive(Default)]
struct Answer<'a> {
    success: Option<bool>,
    ret_msg: Option<Cow<'a, str>>,
    op: Option<&'a str>,
    req_id: Option<Cow<'a, str>>,
}

/// What a message turned out to be, once read.
enum Parsed<'a> {
    /// Rows were added; `ts` is the message's time, stamped on them at the end.
    Data { ts: u64 },
    /// A topic foxtrot does not normalize.
    Unsupported,
    /// No topic: an answer to a request.
    Answer(Answer<'a>),
}

/// Decodes one frame in one pass: the message is read as a map and its `data` straight
/// into rows by the topic read before it (Bybit writes `topic` and `type` first), so no
/// part of the frame is read twice or held as raw text. (Capturing `data` as raw text or
/// skipping a nested value would cost serde_json an allocation per frame.)
fn decode(venue: Venue, frame: &str, recv_ns: u64, out: &mut Out) -> Result<Decoded, DecodeError> {
    if !frame.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<IgnoredAny>(frame) {
            Ok(_) => DecodeError::UnknownShape,
            Err(e) => DecodeError::Json(e),
        });
    }
    let (ticks, depth) = (out.ticks.len(), out.depth.len());
    let mut failed = None;
    let mut de = serde_json::Deserializer::from_str(frame);
    let result = de.deserialize_map(Message {
        venue,
        recv_ns,
        out: &mut *out,
        failed: &mut failed,
    });
    let parsed = match (failed, result) {
        (Some(e), _) => return Err(e),
        (None, Err(e)) => return Err(DecodeError::Json(e)),
        (None, Ok(parsed)) => parsed,
    };
    de.end()?;
    match parsed {
        Parsed::Answer(answer) => control(answer),
        Parsed::Unsupported => Ok(Decoded::Unsupported),
        Parsed::Data { ts } => {
            // `ts` may follow `data` (linear tickers): stamp it now.
            for tick in &mut out.ticks[ticks..] {
                stamp(tick, ts);
            }
            for update in &mut out.depth[depth..] {
                update.exchange_ns = epoch_ns(ts);
            }
            Ok(Decoded::Data)
        }
    }
}

/// Sets a row's exchange time to the message's `ts` (ms).
fn stamp(tick: &mut Tick, ts: u64) {
    tick.exchange_ns = epoch_ns(ts);
    match &mut tick.data {
        TickData::Trade(t) => t.event_time = ts,
        TickData::Ticker(t) => t.event_time = ts,
        TickData::Funding(t) => t.event_time = ts,
        TickData::Liquidation(t) => t.event_time = ts,
        _ => {}
    }
}

/// Reads one message (see [`decode`]); a [`DecodeError`] met on the way is put in `failed`.
struct Message<'o> {
    venue: Venue,
    recv_ns: u64,
    out: &'o mut Out,
    failed: &'o mut Option<DecodeError>,
}

impl<'de> Visitor<'de> for Message<'_> {
    type Value = Parsed<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Bybit message")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed<'de>, A::Error> {
        let (mut topic, mut kind, mut ts, mut rows) = (None, None, None, None);
        let mut answer = Answer::default();
        let refuse = |failed: &mut Option<DecodeError>, e: DecodeError| {
            *failed = Some(e);
            de::Error::custom("refused")
        };
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "topic" => topic = Some(map.next_value::<&'de str>()?),
                "type" => kind = Some(map.next_value::<&'de str>()?),
                "ts" => ts = Some(map.next_value::<u64>()?),
                "data" => {
                    let snapshot = match kind {
                        Some("snapshot") => true,
                        Some("delta") => false,
                        _ => return Err(refuse(self.failed, DecodeError::UnknownShape)),
                    };
                    let Some(rows_of) = topic.map(Rows::of) else {
                        return Err(refuse(self.failed, DecodeError::UnknownShape));
                    };
                    let frame = FrameInfo {
                        venue: self.venue,
                        recv_ns: self.recv_ns,
                        ts: ts.unwrap_or(0),
                        snapshot,
                    };
                    match rows_of {
                        Some(of) => map.next_value_seed(RowsSeed {
                            of,
                            frame,
                            out: &mut *self.out,
                            failed: &mut *self.failed,
                        })?,
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                    rows = Some(rows_of.is_some());
                }
                "success" => answer.success = Some(map.next_value()?),
                "ret_msg" => answer.ret_msg = Some(map.next_value()?),
                "op" => answer.op = Some(map.next_value()?),
                "req_id" => answer.req_id = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match (topic, rows, ts) {
            (None, _, _) => Ok(Parsed::Answer(answer)),
            (Some(_), Some(true), Some(ts)) => Ok(Parsed::Data { ts }),
            (Some(_), Some(false), _) => Ok(Parsed::Unsupported),
            _ => Err(refuse(self.failed, DecodeError::UnknownShape)),
        }
    }
}

/// Which rows a topic's `data` becomes.
#[derive(Clone, Copy)]
enum Rows {
    Trades,
    BookTicker,
    Book,
    Tickers,
    Liquidations,
}

impl Rows {
    /// `Some(None)` for a valid topic foxtrot does not normalize (kline, ...).
    fn of(topic: &str) -> Option<Rows> {
        let (kind, rest) = topic.split_once('.')?;
        Some(match kind {
            "publicTrade" => Rows::Trades,
            "orderbook" if rest.starts_with("1.") => Rows::BookTicker,
            "orderbook" => Rows::Book,
            "tickers" => Rows::Tickers,
            "allLiquidation" => Rows::Liquidations,
            _ => return None,
        })
    }
}

/// Reads a message's `data` into rows.
struct RowsSeed<'o> {
    of: Rows,
    frame: FrameInfo,
    out: &'o mut Out,
    failed: &'o mut Option<DecodeError>,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let RowsSeed {
            of,
            frame,
            out,
            failed,
        } = self;
        match of {
            Rows::Trades => {
                let mut run = (0u64, 0u16);
                let each = Each {
                    f: |t: WireTrade<'de>| trade(&frame, t, out, &mut run),
                    failed: &mut *failed,
                    item: PhantomData,
                };
                d.deserialize_any(each)
            }
            Rows::Liquidations => d.deserialize_any(Each {
                f: |l: WireLiquidation<'de>| liquidation(&frame, l, out),
                failed: &mut *failed,
                item: PhantomData,
            }),
            Rows::BookTicker => {
                let book = BookSeed {
                    levels: &mut out.levels,
                }
                .deserialize(d)?;
                keep(failed, book_ticker(&frame, book, out))
            }
            Rows::Book => {
                let book = BookSeed {
                    levels: &mut out.levels,
                }
                .deserialize(d)?;
                keep(failed, book_update(&frame, book, out))
            }
            Rows::Tickers => {
                let wire = WireTicker::deserialize(d)?;
                keep(failed, tickers(&frame, wire, out))
            }
        }
    }
}

/// Keeps the error of `result` in `failed` and tells serde to stop.
fn keep<E: de::Error>(
    failed: &mut Option<DecodeError>,
    result: Result<(), DecodeError>,
) -> Result<(), E> {
    result.map_err(|e| {
        *failed = Some(e);
        E::custom("refused")
    })
}

/// Calls `f` with each element of an array (or with the one object, where the docs
/// disagree on which Bybit sends), without collecting them.
struct Each<'f, T, F> {
    f: F,
    failed: &'f mut Option<DecodeError>,
    item: PhantomData<T>,
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
                return Err(de::Error::custom("refused"));
            }
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, map: A) -> Result<(), A::Error> {
        let item = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
        (self.f)(item).map_err(|e| {
            *self.failed = Some(e);
            de::Error::custom("refused")
        })
    }
}

/// An answer to a request: a subscribe ack or refusal, or a pong.
fn control(answer: Answer<'_>) -> Result<Decoded, DecodeError> {
    let key = answer
        .req_id
        .filter(|id| !id.is_empty())
        .map(|id| AckKey::Text(id.into_owned()));
    let control = match (answer.op, answer.success) {
        // Spot and linear: {"success":true,"ret_msg":"pong",...,"op":"ping"}; option and
        // private: {"op":"pong","args":[...]}.
        (Some("ping"), Some(true)) | (Some("pong"), _) => Control::Pong,
        (Some(_), Some(true)) => Control::Ack { key },
        (Some(_), Some(false)) => Control::Error {
            // Bybit's answers carry no code, only the message.
            code: 0,
            msg: answer.ret_msg.map(|m| m.into_owned()).unwrap_or_default(),
            key,
        },
        _ => return Err(DecodeError::UnknownShape),
    };
    Ok(Decoded::Control(control))
}

/// What every row of one message shares.
struct FrameInfo {
    venue: Venue,
    recv_ns: u64,
    ts: u64,
    snapshot: bool,
}

impl FrameInfo {
    fn tick(&self, symbol: Symbol, data: TickData) -> Tick {
        Tick {
            exchange: self.venue,
            symbol,
            recv_ns: self.recv_ns,
            exchange_ns: epoch_ns(self.ts),
            data,
        }
    }
}

fn decimal(field: &'static str, text: &str) -> Result<Decimal, DecodeError> {
    Decimal::parse(text).map_err(|source| DecodeError::Decimal { field, source })
}

fn symbol(text: &str) -> Result<Symbol, DecodeError> {
    Ok(parse_symbol(text)?)
}

/// trade.mdx: one element of a `publicTrade` array.
///
/// ```json
/// {"T":1758841135823,"s":"BTCUSDT","S":"Buy","v":"0.020","p":"109378.90","L":"ZeroPlusTick","i":"2a74ac78-691c-5b54-9dbe-5aafe8364627","BT":false,"RPI":false,"seq":457514743450}
/// ```
///
/// Spot ids are digit strings (`"2290000000050703789"`), derivatives' are UUIDs.
#[derive(Deserialize)]
struct WireTrade<'a> {
    #[serde(rename = "T")]
    time: u64,
    #[serde(borrow, rename = "s")]
    symbol: &'a str,
    #[serde(borrow, rename = "S")]
    side: &'a str,
    #[serde(borrow, rename = "v")]
    qty: &'a str,
    #[serde(borrow, rename = "p")]
    price: &'a str,
    #[serde(borrow, rename = "i")]
    id: &'a str,
}

/// One `trade` row. UUID ids do not order trades; the key that de-duplicates them is the
/// trade time and the trade's place among the frame's trades of that millisecond (`run`).
fn trade(
    frame: &FrameInfo,
    t: WireTrade<'_>,
    out: &mut Out,
    run: &mut (u64, u16),
) -> Result<(), DecodeError> {
    let buyer_is_maker = match t.side {
        "Sell" => true,
        "Buy" => false,
        _ => return Err(DecodeError::UnknownShape),
    };
    let trade_id = match integer(t.id) {
        Some(id) => TradeId::int(id),
        None => {
            let bytes = tick::parse_uuid(t.id).ok_or(DecodeError::UnknownShape)?;
            *run = if run.0 == t.time {
                (t.time, run.1.saturating_add(1))
            } else {
                (t.time, 0)
            };
            TradeId::Uuid { bytes, run: run.1 }
        }
    };
    let trade = Trade {
        event_time: frame.ts,
        trade_time: t.time,
        trade_id,
        price: decimal("p", t.price)?,
        qty: decimal("v", t.qty)?,
        buyer_is_maker,
    };
    out.ticks
        .push(frame.tick(symbol(t.symbol)?, TickData::Trade(trade)));
    Ok(())
}

/// Digit text that reads back the same as an integer (no sign, no leading zero).
fn integer(text: &str) -> Option<u64> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// orderbook.mdx: the `data` of an order-book message.
///
/// ```json
/// {"s":"BANDUSDT","b":[["0.6131","17.9"]],"a":[["0.6134","35.4"]],"u":24042997,"seq":209972815373}
/// ```
///
/// Read by hand so the levels go straight into the caller's [`Out::levels`].
struct BookData<'a> {
    symbol: &'a str,
    bids: std::ops::Range<u32>,
    asks: std::ops::Range<u32>,
    update_id: u64,
}

/// Reads [`BookData`], appending levels to `levels`.
struct BookSeed<'o> {
    levels: &'o mut Vec<Level>,
}

impl<'de> DeserializeSeed<'de> for BookSeed<'_> {
    type Value = BookData<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<BookData<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BookSeed<'_> {
    type Value = BookData<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an order-book object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BookData<'de>, A::Error> {
        let (mut symbol, mut bids, mut asks, mut update_id) = (None, None, None, None);
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "s" => symbol = Some(map.next_value::<&'de str>()?),
                "b" | "a" => {
                    let start = self.levels.len() as u32;
                    map.next_value_seed(LevelsSeed {
                        levels: &mut *self.levels,
                    })?;
                    let range = start..self.levels.len() as u32;
                    if key == "b" {
                        bids = Some(range);
                    } else {
                        asks = Some(range);
                    }
                }
                "u" => update_id = Some(map.next_value::<u64>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = |name| de::Error::missing_field(name);
        Ok(BookData {
            symbol: symbol.ok_or_else(|| missing("s"))?,
            bids: bids.ok_or_else(|| missing("b"))?,
            asks: asks.ok_or_else(|| missing("a"))?,
            update_id: update_id.ok_or_else(|| missing("u"))?,
        })
    }
}

/// Reads `[["price","size"],...]` into `levels`.
struct LevelsSeed<'o> {
    levels: &'o mut Vec<Level>,
}

impl<'de> DeserializeSeed<'de> for LevelsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LevelsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of [price, size] pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some([price, qty]) = seq.next_element::<[&'de str; 2]>()? {
            let parse = |field, text| {
                Decimal::parse(text).map_err(|e| de::Error::custom(format!("{field}: {e}")))
            };
            self.levels.push(Level {
                price: parse("price", price)?,
                qty: parse("size", qty)?,
            });
        }
        Ok(())
    }
}

/// `orderbook.1`: the best bid and ask as a `bookTicker` row.
fn book_ticker(frame: &FrameInfo, book: BookData<'_>, out: &mut Out) -> Result<(), DecodeError> {
    let best = |range: &std::ops::Range<u32>| {
        out.levels[range.start as usize..range.end as usize]
            .iter()
            .find(|l| !is_zero(&l.qty))
            .map_or((Decimal::EMPTY, Decimal::EMPTY), |l| (l.price, l.qty))
    };
    let ((bid, bid_qty), (ask, ask_qty)) = (best(&book.bids), best(&book.asks));
    let symbol = symbol(book.symbol)?;
    out.levels.clear();
    out.ticks.push(frame.tick(
        symbol,
        TickData::BookTicker(BookTicker {
            update_id: book.update_id,
            bid,
            bid_qty,
            ask,
            ask_qty,
        }),
    ));
    Ok(())
}

fn is_zero(qty: &Decimal) -> bool {
    qty.to_text().bytes().all(|b| b == b'0' || b == b'.')
}

/// `orderbook.50`/`.200`/`.500`: a snapshot or delta for the book code.
fn book_update(frame: &FrameInfo, book: BookData<'_>, out: &mut Out) -> Result<(), DecodeError> {
    let update = DepthUpdate {
        symbol: symbol(book.symbol)?,
        // A snapshot (and `u` = 1: the service restarted) replaces the book.
        snapshot: frame.snapshot || book.update_id == 1,
        first_update_id: None,
        last_update_id: book.update_id,
        prev_update_id: None,
        checksum: None,
        exchange_ns: epoch_ns(frame.ts),
        recv_ns: frame.recv_ns,
        bids: book.bids,
        asks: book.asks,
    };
    out.depth.push(update);
    Ok(())
}

/// ticker.mdx: the `data` of a `tickers` message; a delta holds only what changed.
///
/// ```json
/// {"symbol":"BTCUSDT","markPrice":"61875.06","indexPrice":"61903.59","bid1Price":"61873.90","bid1Size":"3.543"}
/// ```
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireTicker<'a> {
    #[serde(borrow)]
    symbol: &'a str,
    #[serde(borrow)]
    last_price: Option<&'a str>,
    #[serde(borrow)]
    prev_price24h: Option<&'a str>,
    #[serde(borrow)]
    high_price24h: Option<&'a str>,
    #[serde(borrow)]
    low_price24h: Option<&'a str>,
    #[serde(borrow)]
    volume24h: Option<&'a str>,
    #[serde(borrow)]
    turnover24h: Option<&'a str>,
    #[serde(borrow)]
    price24h_pcnt: Option<&'a str>,
    #[serde(borrow, rename = "bid1Price")]
    bid: Option<&'a str>,
    #[serde(borrow, rename = "bid1Size")]
    bid_qty: Option<&'a str>,
    #[serde(borrow, rename = "ask1Price")]
    ask: Option<&'a str>,
    #[serde(borrow, rename = "ask1Size")]
    ask_qty: Option<&'a str>,
    #[serde(borrow)]
    mark_price: Option<&'a str>,
    #[serde(borrow)]
    index_price: Option<&'a str>,
    #[serde(borrow)]
    funding_rate: Option<&'a str>,
    #[serde(borrow)]
    next_funding_time: Option<&'a str>,
}

/// The merged state of one symbol's ticker.
#[derive(Clone, Copy, Debug)]
struct TickerState {
    last: Decimal,
    open: Decimal,
    high: Decimal,
    low: Decimal,
    volume: Decimal,
    quote_volume: Decimal,
    change_pct: Decimal,
    bid: Decimal,
    bid_qty: Decimal,
    ask: Decimal,
    ask_qty: Decimal,
    mark_price: Decimal,
    index_price: Decimal,
    funding_rate: Decimal,
    next_funding_time: u64,
}

impl Default for TickerState {
    fn default() -> TickerState {
        let e = Decimal::EMPTY;
        TickerState {
            last: e,
            open: e,
            high: e,
            low: e,
            volume: e,
            quote_volume: e,
            change_pct: e,
            bid: e,
            bid_qty: e,
            ask: e,
            ask_qty: e,
            mark_price: e,
            index_price: e,
            funding_rate: e,
            next_funding_time: 0,
        }
    }
}

/// The tickers of one connection, by symbol (kept in [`Out::state`]).
type Tickers = HashMap<Symbol, TickerState>;

fn tickers(frame: &FrameInfo, wire: WireTicker<'_>, out: &mut Out) -> Result<(), DecodeError> {
    let symbol = symbol(wire.symbol)?;
    let state = out
        .state
        .get_or_insert_with(|| Box::new(Tickers::new()))
        .downcast_mut::<Tickers>()
        .expect("only Bybit's decoder keeps state in a Bybit connection");
    let held = state.entry(symbol.clone()).or_default();
    if frame.snapshot {
        *held = TickerState::default();
    }
    let set = |slot: &mut Decimal, field, text: Option<&str>| -> Result<(), DecodeError> {
        if let Some(text) = text {
            // Dated futures send `""` for funding fields they do not have.
            *slot = if text.is_empty() {
                Decimal::EMPTY
            } else {
                decimal(field, text)?
            };
        }
        Ok(())
    };
    set(&mut held.last, "lastPrice", wire.last_price)?;
    set(&mut held.open, "prevPrice24h", wire.prev_price24h)?;
    set(&mut held.high, "highPrice24h", wire.high_price24h)?;
    set(&mut held.low, "lowPrice24h", wire.low_price24h)?;
    set(&mut held.volume, "volume24h", wire.volume24h)?;
    set(&mut held.quote_volume, "turnover24h", wire.turnover24h)?;
    if let Some(fraction) = wire.price24h_pcnt {
        held.change_pct = percent(fraction).ok_or_else(|| DecodeError::Decimal {
            field: "price24hPcnt",
            source: tick::DecimalError(fraction.to_owned()),
        })?;
    }
    set(&mut held.bid, "bid1Price", wire.bid)?;
    set(&mut held.bid_qty, "bid1Size", wire.bid_qty)?;
    set(&mut held.ask, "ask1Price", wire.ask)?;
    set(&mut held.ask_qty, "ask1Size", wire.ask_qty)?;
    set(&mut held.mark_price, "markPrice", wire.mark_price)?;
    set(&mut held.index_price, "indexPrice", wire.index_price)?;
    set(&mut held.funding_rate, "fundingRate", wire.funding_rate)?;
    if let Some(time) = wire.next_funding_time {
        held.next_funding_time = match time {
            "" => 0,
            time => integer(time).ok_or(DecodeError::UnknownShape)?,
        };
    }
    let held = *held;
    out.ticks.push(frame.tick(
        symbol.clone(),
        TickData::Ticker(Box::new(Ticker {
            event_time: frame.ts,
            last: held.last,
            last_qty: Decimal::EMPTY,
            bid: held.bid,
            bid_qty: held.bid_qty,
            ask: held.ask,
            ask_qty: held.ask_qty,
            open: held.open,
            high: held.high,
            low: held.low,
            volume: held.volume,
            quote_volume: held.quote_volume,
            change: Decimal::EMPTY,
            change_pct: held.change_pct,
        })),
    ));
    let funding_changed = wire.mark_price.is_some()
        || wire.index_price.is_some()
        || wire.funding_rate.is_some()
        || wire.next_funding_time.is_some();
    if funding_changed {
        out.ticks.push(frame.tick(
            symbol,
            TickData::Funding(Funding {
                event_time: frame.ts,
                mark_price: held.mark_price,
                index_price: held.index_price,
                funding_rate: held.funding_rate,
                next_funding_time: held.next_funding_time,
            }),
        ));
    }
    Ok(())
}

/// `fraction` (`-0.009772`) times 100 (`-0.9772`), by moving the decimal point in the text.
fn percent(fraction: &str) -> Option<Decimal> {
    Decimal::parse(fraction).ok()?;
    let (sign, digits) = match fraction.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", fraction),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let moved = frac.len().min(2);
    let mut whole = String::with_capacity(int.len() + 2);
    whole.push_str(int);
    whole.push_str(&frac[..moved]);
    for _ in moved..2 {
        whole.push('0');
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let rest = &frac[moved..];
    let mut text = String::with_capacity(fraction.len() + 2);
    text.push_str(sign);
    text.push_str(whole);
    if !rest.is_empty() {
        text.push('.');
        text.push_str(rest);
    }
    Decimal::parse(&text).ok()
}

/// all-liquidation.mdx: one element of an `allLiquidation` array.
///
/// ```json
/// {"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}
/// ```
#[derive(Deserialize)]
struct WireLiquidation<'a> {
    #[serde(rename = "T")]
    time: u64,
    #[serde(borrow, rename = "s")]
    symbol: &'a str,
    #[serde(borrow, rename = "S")]
    side: &'a str,
    #[serde(borrow, rename = "v")]
    qty: &'a str,
    #[serde(borrow, rename = "p")]
    price: &'a str,
}

/// One `liquidation` row. Bybit's side names the liquidated position: a long (`Buy`) is
/// closed by selling.
fn liquidation(
    frame: &FrameInfo,
    l: WireLiquidation<'_>,
    out: &mut Out,
) -> Result<(), DecodeError> {
    let sell = match l.side {
        "Buy" => true,
        "Sell" => false,
        _ => return Err(DecodeError::UnknownShape),
    };
    let liquidation = Liquidation {
        event_time: frame.ts,
        trade_time: l.time,
        sell,
        price: decimal("p", l.price)?,
        avg_price: Decimal::EMPTY,
        qty: decimal("v", l.qty)?,
    };
    out.ticks
        .push(frame.tick(symbol(l.symbol)?, TickData::Liquidation(liquidation)));
    Ok(())
}

#[cfg(test)]
mod tests;
