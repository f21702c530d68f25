//! Bybit v5 public streams: spot (`bybit`) and USDT/USDC perpetuals (`bybit-linear`).
//!
//! This module owns everything Bybit-specific: the URL (`{endpoint}/v5/public/spot` or
//! `/linear`), the subscribe requests (`{"op":"subscribe","args":[topics],"req_id":"n"}`,
//! at most 10 args per request on spot), the acks (`success`, matched by the echoed
//! `req_id`), the heartbeat (`{"op":"ping"}` every 20 s, answered with a `pong`), and the
//! reading of each message in one pass: by `scan` (the shared scanner) for the hot topics as
//! Bybit writes them, by serde for everything else and whatever the scanner declines; the
//! wire structs that mirror Bybit's JSON and their conversion to rows are in `rows`. It
//! does no I/O.
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
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{
    AckKey, Control, DecodeError, Decoded, Exchange, Heartbeat, Limits, Out, Plan, StreamId,
    Subscribe, Venue, epoch_ns,
};
use crate::tick::{Channel, Symbol, SymbolError, Tick, TickData};
use rows::{FrameInfo, Rows, RowsSeed};

mod rows;
mod scan;

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
    channels: &[
        Channel::Ticker,
        Channel::BookTicker,
        Channel::Trade,
        Channel::Depth,
        Channel::Book,
    ],
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
        Channel::Depth,
        Channel::Book,
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

    fn is_data(&self, frame: &str) -> bool {
        // Pushes lead with their topic; answers and pongs (`success`, `op`) have none.
        frame.starts_with(r#"{"topic":""#)
    }

    fn book_sync(&self) -> super::BookSync {
        super::BookSync::Pushed(crate::book::pushed::Continuity::Bybit)
    }

    fn resubscribe(&self, stream: &StreamId) -> Vec<String> {
        // A new subscription starts with a snapshot.
        let topic = topic(stream);
        ["unsubscribe", "subscribe"]
            .map(|op| {
                serde_json::json!({"op": op, "args": [topic], "req_id": format!("resync-{op}")})
                    .to_string()
            })
            .to_vec()
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
        // Both read the 50-level book (a snapshot, then deltas), one topic.
        Channel::Depth | Channel::Book => "orderbook.50",
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

/// Decodes one frame: the hot messages (trades, level 1 and book updates) as Bybit writes
/// them are read by [`scan`]; whatever it declines, and every other message, by serde.
fn decode(venue: Venue, frame: &str, recv_ns: u64, out: &mut Out) -> Result<Decoded, DecodeError> {
    let marks = (out.ticks.len(), out.depth.len(), out.levels.len());
    if scan::message(venue, frame, recv_ns, out).is_some() {
        return Ok(Decoded::Data);
    }
    out.ticks.truncate(marks.0);
    out.depth.truncate(marks.1);
    out.levels.truncate(marks.2);
    decode_serde(venue, frame, recv_ns, out)
}

impl Bybit {
    /// Decodes one frame by serde alone, as [`Exchange::decode`] does what its scanner
    /// declines: for benchmarks and tests that compare the two.
    #[doc(hidden)]
    pub fn decode_serde(
        &self,
        frame: &str,
        recv_ns: u64,
        out: &mut Out,
    ) -> Result<Decoded, DecodeError> {
        decode_serde(self.venue, frame, recv_ns, out)
    }
}

/// Decodes one frame by serde in one pass: the message is read as a map and its `data`
/// straight into rows by the topic read before it (Bybit writes `topic` and `type` first),
/// so no part of the frame is read twice or held as raw text. (Capturing `data` as raw text
/// or skipping a nested value would cost serde_json an allocation per frame.)
fn decode_serde(
    venue: Venue,
    frame: &str,
    recv_ns: u64,
    out: &mut Out,
) -> Result<Decoded, DecodeError> {
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
            stamp_rows(out, (ticks, depth), ts);
            Ok(Decoded::Data)
        }
    }
}

/// Stamps the rows a message added (from `marks`: ticks, depth updates) with its `ts`,
/// which may follow `data` (linear tickers).
fn stamp_rows(out: &mut Out, marks: (usize, usize), ts: u64) {
    for tick in &mut out.ticks[marks.0..] {
        stamp(tick, ts);
    }
    for update in &mut out.depth[marks.1..] {
        update.exchange_ns = epoch_ns(ts);
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

#[cfg(test)]
mod tests;
