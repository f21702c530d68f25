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
//! to a [`crate::book::Book`] and says when the book must be re-synced. This module does
//! no I/O.
//!
//! Layout: this file owns the venue (plan, heartbeat, answers) and splits a push by its
//! fixed text; `rows` reads a push's `data` into rows by channel; `scan` reads the hot
//! channels (`trades`, `bbo-tbt`, `books`) and every push's arg in one pass, with serde as
//! the fallback for whatever it declines; `book` keeps the `books` sync.
//!
//! Docs: <https://www.okx.com/docs-v5/en/#overview-websocket> and the public channels under
//! <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-trades-channel>.

use std::borrow::Cow;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    AckKey, Control, DecodeError, Decoded, Exchange, Heartbeat, Limits, Out, Plan, StreamId,
    Subscribe, Venue,
};
use crate::tick::{self, Channel, Symbol, SymbolError};

mod book;
mod rows;
mod scan;

pub use book::{BookSync, Resync};
use rows::push;

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

    fn is_data(&self, frame: &str) -> bool {
        // Pushes lead with their arg; events (acks, errors, notices) with `event`.
        frame.starts_with(r#"{"arg":{"#)
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

#[cfg(test)]
mod tests;
