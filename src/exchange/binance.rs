//! Binance spot: the stream URL and the decoder from one WebSocket text frame to a [`Decoded`].
//!
//! This module owns everything Binance-specific about reading market data: stream names,
//! classifying a frame, and handing its payload to the wire structs of `wire` (which mirror
//! Binance's JSON and convert to [`Tick`]s). It does no I/O. The hot path is a
//! combined-stream frame (`/stream?streams=...`): the wrapper is split by its fixed text,
//! the channel is taken from the stream name, and the payload is read into borrowed wire
//! structs, by the shared one-pass scanner (`super::scan`) when it has Binance's exact
//! layout and by serde otherwise. A frame costs no `serde_json::Value` and, for
//! book tickers and trades, no heap allocation (short symbols and decimals are stored
//! inline; only the rare 24 h ticker is boxed). Raw `/ws/<stream>` payloads, control
//! replies and USD-M futures payloads of the same channels are accepted too, at the price
//! of a second parse to classify them by shape.
//!
//! Text fields are borrowed from the frame, so a string written with JSON escapes (which
//! Binance never sends in these fields) is refused as malformed rather than copied.

use std::time::Duration;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};
use serde_json::value::RawValue;

use super::scan::ENDS_PLAIN_TEXT;
use super::{
    AckKey, Control, DecodeError, Decoded, Exchange, Heartbeat, Limits, Out, Plan, StreamId,
    Subscribe, Venue, epoch_ns,
};
use crate::tick::{Channel, Symbol, SymbolError, Tick, TickData};

const DEFAULT_ENDPOINT: &str = "wss://stream.binance.com:9443";

/// The Binance spot venue (`stream.binance.com`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Binance;

/// The channels of Binance spot.
const CHANNELS: &[Channel] = &[
    Channel::Ticker,
    Channel::BookTicker,
    Channel::Trade,
    Channel::AggTrade,
    Channel::Depth,
    Channel::Book,
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

/// web-socket-streams.md, "WebSocket Limits": 1024 streams per connection, 5 incoming
/// messages per second, 300 connection attempts per 5 minutes per IP, 24 h per connection.
pub const SPOT_LIMITS: Limits = Limits {
    streams_per_connection: 200,
    max_streams_per_connection: 1024,
    subscribe_batch: 200,
    messages_per_second: 5,
    connect_attempts: (300, Duration::from_secs(300)),
    max_connection_age: Duration::from_secs(23 * 3600 + 50 * 60),
    max_url_len: 8000,
};

impl Exchange for Binance {
    fn venue(&self) -> Venue {
        Venue::Binance
    }

    fn default_endpoint(&self) -> &'static str {
        DEFAULT_ENDPOINT
    }

    fn default_rest_endpoint(&self) -> Option<&'static str> {
        Some("https://api.binance.com")
    }

    fn channels(&self) -> &'static [Channel] {
        CHANNELS
    }

    fn book_sync(&self) -> super::BookSync {
        // Spot REST `GET /api/v3/depth`: weight 50 at limit 1000; 6000 a minute per IP,
        // of which foxtrot takes half (other clients may share the IP).
        super::BookSync::RestSnapshot {
            rules: crate::book::sync::Rules::Spot,
            path: "/api/v3/depth",
            limit: 1000,
            weight: 50,
            weight_per_minute: 3000,
        }
    }

    fn parse_symbol(&self, text: &str) -> Result<Symbol, SymbolError> {
        parse_symbol(text)
    }

    fn limits(&self) -> Limits {
        SPOT_LIMITS
    }

    fn heartbeat(&self) -> Heartbeat {
        // The server pings every 20 s.
        Heartbeat::server_pings(Duration::from_secs(20))
    }

    fn plan(&self, endpoint: &str, streams: &[StreamId]) -> Plan {
        // Microsecond times (event, trade, kline times): `exchange_ns` keeps µs precision.
        plan(endpoint, "/stream", MICROSECONDS, streams, &SPOT_LIMITS)
    }

    fn decode(&self, frame: &str, recv_ns: u64, out: &mut Out) -> Result<Decoded, DecodeError> {
        decode_into(Venue::Binance, frame, recv_ns, out)
    }

    fn is_data(&self, frame: &str) -> bool {
        is_data(frame)
    }
}

/// A combined-stream frame of a market stream: `{"stream":"<name>"` where the name is not
/// a `!`-stream (`!serverShutdown` is a notice). Answers and errors have no `stream` key.
pub fn is_data(frame: &str) -> bool {
    frame
        .strip_prefix(r#"{"stream":""#)
        .is_some_and(|rest| !rest.starts_with('!'))
}

/// A symbol as Binance lists it: letters (any script, since December 2025) and digits,
/// ASCII letters upper-cased.
pub fn parse_symbol(text: &str) -> Result<Symbol, SymbolError> {
    Symbol::parse_with(
        text,
        "1 to 20 bytes of letters (any script) or digits, like BTCUSDT",
        char::is_alphanumeric,
    )
}

/// The query parameter that asks Binance spot for times in microseconds.
pub const MICROSECONDS: &str = "&timeUnit=MICROSECOND";

/// The plan of one Binance connection: `{endpoint}{path}?streams=...{query}` carrying as
/// many streams as fit in `limits.max_url_len`; SUBSCRIBE requests (ids 1, 2, ...) carry
/// the rest. `query` is appended as is (empty, or `&name=value...`).
pub fn plan(
    endpoint: &str,
    path: &str,
    query: &str,
    streams: &[StreamId],
    limits: &Limits,
) -> Plan {
    // `depth` and `book` of a symbol read the same diff-depth stream: subscribe it once.
    let deduped: Vec<StreamId>;
    let streams = if streams.iter().any(|s| s.channel == Channel::Book) {
        deduped = streams
            .iter()
            .filter(|s| {
                s.channel != Channel::Book
                    || !streams
                        .iter()
                        .any(|d| d.channel == Channel::Depth && d.symbol == s.symbol)
            })
            .cloned()
            .collect();
        &deduped[..]
    } else {
        streams
    };
    let base = endpoint.trim_end_matches('/');
    let url = |streams: &[StreamId]| {
        let mut url = String::with_capacity(base.len() + 16 + streams.len() * 24);
        url.push_str(base);
        url.push_str(path);
        url.push_str("?streams=");
        for (i, id) in streams.iter().enumerate() {
            if i > 0 {
                url.push('/');
            }
            push_stream_name(&mut url, id);
        }
        url.push_str(query);
        url
    };
    let mut in_url = streams.len();
    while in_url > 1 && url(&streams[..in_url]).len() > limits.max_url_len {
        in_url = in_url * 3 / 4;
    }
    let subscribes = streams[in_url..]
        .chunks(limits.subscribe_batch.max(1))
        .zip(1..)
        .map(|(chunk, id)| Subscribe {
            message: subscribe_message(id, chunk),
            acks: vec![(AckKey::Id(id), chunk.to_vec())],
        })
        .collect();
    Plan {
        url: url(&streams[..in_url]),
        subscribes,
    }
}

/// The request that subscribes an open connection to `streams`, tagged with `id`.
pub fn subscribe_message(id: u64, streams: &[StreamId]) -> String {
    // web-socket-streams.md, "Subscribe to a stream":
    // {"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}
    let mut msg = String::from(r#"{"method":"SUBSCRIBE","params":["#);
    for (i, stream) in streams.iter().enumerate() {
        if i > 0 {
            msg.push(',');
        }
        msg.push('"');
        push_stream_name(&mut msg, stream);
        msg.push('"');
    }
    msg.push_str(r#"],"id":"#);
    msg.push_str(itoa::Buffer::new().format(id));
    msg.push('}');
    msg
}

/// What one frame decodes to before it is put in the caller's [`Out`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum One {
    Tick(Tick),
    Control(Control),
    Unsupported,
    /// A diff-depth event (`depthUpdate`): read again by [`super::binance_depth`].
    Depth,
}

/// Decodes one frame of a Binance venue (spot or USD-M: the same wire format) into `out`.
pub(crate) fn decode_into(
    venue: Venue,
    frame: &str,
    recv_ns: u64,
    out: &mut Out,
) -> Result<Decoded, DecodeError> {
    Ok(match decode(venue, frame, recv_ns)? {
        One::Tick(tick) => {
            out.ticks.push(tick);
            Decoded::Data
        }
        One::Control(control) => Decoded::Control(control),
        One::Unsupported => Decoded::Unsupported,
        One::Depth => return super::binance_depth::decode(frame, recv_ns, out),
    })
}

/// Binance's name for one stream: the lower-case symbol, `@`, and the channel, such as
/// `btcusdt@bookTicker`.
pub fn stream_name(id: &StreamId) -> String {
    let mut name = String::with_capacity(id.symbol.as_str().len() + 12);
    push_stream_name(&mut name, id);
    name
}

fn push_stream_name(out: &mut String, id: &StreamId) {
    // Binance rejects upper-case stream names, while `Symbol` is stored upper case; a
    // symbol in another script is URL-encoded.
    for c in id.symbol.as_str().chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push('%');
                out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
                out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
            }
        }
    }
    out.push('@');
    out.push_str(wire_channel(id.channel));
}

/// The channel part of a stream name. Spelled out here rather than borrowed from
/// [`Channel::as_str`], whose output names only happen to match Binance's today.
fn wire_channel(channel: Channel) -> &'static str {
    match channel {
        Channel::Ticker => "ticker",
        Channel::BookTicker => "bookTicker",
        Channel::Trade => "trade",
        Channel::AggTrade => "aggTrade",
        Channel::Funding => "markPrice",
        Channel::Liquidation => "forceOrder",
        // Both read the diff-depth stream, at the `--depth-speed` chosen.
        Channel::Depth | Channel::Book => super::binance_depth::stream_suffix(),
        // `kline_<interval>`, as Binance names them.
        kline => kline.as_str(),
    }
}

fn channel_from_wire(name: &str) -> Option<Channel> {
    match name {
        "ticker" => Some(Channel::Ticker),
        "bookTicker" => Some(Channel::BookTicker),
        "trade" => Some(Channel::Trade),
        "aggTrade" => Some(Channel::AggTrade),
        "markPrice" => Some(Channel::Funding),
        "forceOrder" => Some(Channel::Liquidation),
        _ => Channel::kline(name.strip_prefix("kline_")?),
    }
}

/// Event types (`e`) Binance sends on market streams that foxtrot does not normalize.
/// A raw payload with one of these is [`Decoded::Unsupported`]; any other `e` is an
/// unknown shape, so a new or renamed event shows up in the error counts.
const UNSUPPORTED_EVENTS: &[&str] = &[
    "depthUpdate",
    "24hrMiniTicker",
    "1hTicker",
    "4hTicker",
    "1dTicker",
    "avgPrice",
    // USD-M futures streams, which share this decoder for the channels above.
    "continuous_kline",
    "compositeIndex",
    "contractInfo",
    "assetIndexUpdate",
];

fn decode(venue: Venue, frame: &str, recv_ns: u64) -> Result<One, DecodeError> {
    if let Some((channel, data)) = split_combined(frame)
        && let Ok(decoded) = decode_channel(venue, channel, data, recv_ns)
    {
        return Ok(decoded);
    }
    // Serde would read a JSON array as a struct's fields in order; Binance never sends
    // top-level arrays, so refuse them before that can happen.
    if !frame.trim_start().starts_with('{') {
        return Err(not_an_object(frame));
    }
    let envelope: Envelope<'_> = serde_json::from_str(frame)?;
    if let Some(stream) = envelope.stream {
        let data = envelope.data.ok_or(DecodeError::UnknownShape)?;
        return decode_stream(venue, stream, data.get(), recv_ns);
    }
    if let Some(error) = envelope.error {
        return Ok(One::Control(Control::Error {
            code: error.code,
            msg: error.msg,
            key: envelope.id.map(AckKey::Id),
        }));
    }
    if let Some(code) = envelope.code
        && let Some(msg) = envelope.msg
    {
        return Ok(One::Control(Control::Error {
            code,
            msg,
            key: envelope.id.map(AckKey::Id),
        }));
    }
    if envelope.result {
        return Ok(One::Control(Control::Ack {
            key: envelope.id.map(AckKey::Id),
        }));
    }
    match envelope.event {
        Some("trade") => decode_channel(venue, Channel::Trade, frame, recv_ns),
        Some("aggTrade") => decode_channel(venue, Channel::AggTrade, frame, recv_ns),
        Some("24hrTicker") => decode_channel(venue, Channel::Ticker, frame, recv_ns),
        // USD-M futures tags its book ticker; spot does not (handled below).
        Some("bookTicker") => decode_channel(venue, Channel::BookTicker, frame, recv_ns),
        Some("markPriceUpdate") => decode_channel(venue, Channel::Funding, frame, recv_ns),
        Some("forceOrder") => decode_channel(venue, Channel::Liquidation, frame, recv_ns),
        // The interval is read from the payload.
        Some("kline") => decode_channel(venue, Channel::Kline1m, frame, recv_ns),
        Some("depthUpdate") => Ok(One::Depth),
        Some("serverShutdown") => {
            let event_time = envelope.event_time.ok_or(DecodeError::UnknownShape)?;
            Ok(One::Control(Control::ServerShutdown { event_time }))
        }
        Some(event) if UNSUPPORTED_EVENTS.contains(&event) => Ok(One::Unsupported),
        Some(_) => Err(DecodeError::UnknownShape),
        None if envelope.is_spot_book_ticker() => {
            decode_channel(venue, Channel::BookTicker, frame, recv_ns)
        }
        None if envelope.is_partial_depth() => Ok(One::Unsupported),
        None => Err(DecodeError::UnknownShape),
    }
}

/// The hot path: a combined frame of a normalized channel exactly as Binance writes it,
/// `{"stream":"<name>","data":<payload>}`, split by its fixed text instead of parsed, so
/// the payload is read once rather than twice (once to find its end, once to decode it).
///
/// Anything else (other key order, whitespace, an escape in the name, a channel foxtrot
/// does not normalize) is `None`, and a payload that fails to decode is decoded again by
/// the general path, so errors and edge cases are exactly the general path's.
fn split_combined(frame: &str) -> Option<(Channel, &str)> {
    let rest = frame.strip_prefix(r#"{"stream":""#)?;
    let end = rest.bytes().position(|b| ENDS_PLAIN_TEXT[usize::from(b)])?;
    let (stream, rest) = rest.split_at(end);
    let data = rest.strip_prefix(r#"","data":"#)?.strip_suffix('}')?;
    // The first `@`, as `decode_stream` splits.
    let at = stream.bytes().position(|b| b == b'@')?;
    let channel = channel_from_wire(&stream[at + 1..])?;
    Some((channel, data))
}

/// Tells invalid JSON (malformed) from valid JSON that is not an object (unknown shape).
fn not_an_object(frame: &str) -> DecodeError {
    match serde_json::from_str::<IgnoredAny>(frame) {
        Ok(_) => DecodeError::UnknownShape,
        Err(e) => DecodeError::Json(e),
    }
}

/// Decodes the `data` of a combined-stream frame, choosing the channel by stream name.
fn decode_stream(venue: Venue, stream: &str, data: &str, recv_ns: u64) -> Result<One, DecodeError> {
    match stream.split_once('@') {
        Some((_, name)) => match channel_from_wire(name) {
            Some(channel) => decode_channel(venue, channel, data, recv_ns),
            None if super::binance_depth::is_diff_depth(name) => Ok(One::Depth),
            // depth@100ms, depth20, kline_1m, miniTicker, !ticker@arr, ...
            None => Ok(One::Unsupported),
        },
        None if stream == "!serverShutdown" => {
            let event: ServerShutdown<'_> = serde_json::from_str(data)?;
            if event.event != "serverShutdown" {
                return Err(DecodeError::UnknownShape);
            }
            Ok(One::Control(Control::ServerShutdown {
                event_time: event.event_time,
            }))
        }
        // All-market streams without a channel suffix, such as the retired `!bookTicker`.
        None => Ok(One::Unsupported),
    }
}

/// Parses one payload as `channel`'s wire struct and normalizes it.
fn decode_channel(
    venue: Venue,
    channel: Channel,
    data: &str,
    recv_ns: u64,
) -> Result<One, DecodeError> {
    if !data.starts_with('{') {
        return Err(DecodeError::UnknownShape);
    }
    // The canonical layout is read by `Scan`; whatever it does not take, serde reads, so
    // both end in the same wire struct and the same `normalize`.
    let mut event_time = 0;
    let (symbol, data) = match channel {
        Channel::BookTicker => {
            let wire = match BookTicker::scan(data) {
                Some(wire) => wire,
                None => serde_json::from_str::<BookTicker<'_>>(data)?,
            };
            event_time = wire.event_time.unwrap_or(0);
            wire.normalize()?
        }
        Channel::Trade => match Trade::scan(data) {
            Some(wire) => wire.normalize()?,
            None => serde_json::from_str::<Trade<'_>>(data)?.normalize()?,
        },
        Channel::AggTrade => match AggTrade::scan(data) {
            Some(wire) => wire.normalize()?,
            None => serde_json::from_str::<AggTrade<'_>>(data)?.normalize()?,
        },
        Channel::Ticker => serde_json::from_str::<Ticker<'_>>(data)?.normalize()?,
        Channel::Funding => serde_json::from_str::<MarkPrice<'_>>(data)?.normalize()?,
        Channel::Liquidation => serde_json::from_str::<ForceOrder<'_>>(data)?.normalize()?,
        _ => serde_json::from_str::<KlineEvent<'_>>(data)?.normalize()?,
    };
    match &data {
        TickData::Ticker(t) => event_time = t.event_time,
        TickData::Trade(t) => event_time = t.event_time,
        TickData::AggTrade(t) => event_time = t.event_time,
        TickData::Funding(t) => event_time = t.event_time,
        TickData::Liquidation(t) => event_time = t.event_time,
        TickData::Kline(t) => event_time = t.event_time,
        TickData::BookTicker(_) => {}
    }
    Ok(One::Tick(Tick {
        exchange: venue,
        symbol,
        recv_ns,
        exchange_ns: epoch_ns(event_time),
        data,
    }))
}

/// Every top-level key the decoder looks at, to classify a frame in one parse.
///
/// Combined frames fill only `stream` and `data`; control replies fill `result`, `id`,
/// `error`, `code` and `msg`; raw payloads fill `e` and the presence flags. Keys whose
/// type differs between payloads (`b` is a price in a book ticker, a list in depth and an
/// order id in a 2019 trade) are only checked for presence.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    stream: Option<&'a str>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    /// `{"result":null,"id":1}` acknowledges, so presence, not the value, is what counts.
    #[serde(default, deserialize_with = "present")]
    result: bool,
    /// Binance echoes the id foxtrot sent, always an unsigned integer; any other type is
    /// refused as malformed rather than guessed at.
    id: Option<u64>,
    error: Option<ErrorBody>,
    code: Option<i64>,
    msg: Option<String>,
    #[serde(borrow, rename = "e")]
    event: Option<&'a str>,
    #[serde(rename = "E")]
    event_time: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    u: bool,
    #[serde(default, deserialize_with = "present")]
    s: bool,
    #[serde(default, deserialize_with = "present")]
    b: bool,
    #[serde(default, deserialize_with = "present", rename = "B")]
    b_qty: bool,
    #[serde(default, deserialize_with = "present")]
    a: bool,
    #[serde(default, deserialize_with = "present", rename = "A")]
    a_qty: bool,
    #[serde(default, deserialize_with = "present", rename = "lastUpdateId")]
    last_update_id: bool,
    #[serde(default, deserialize_with = "present")]
    bids: bool,
    #[serde(default, deserialize_with = "present")]
    asks: bool,
}

impl Envelope<'_> {
    fn is_spot_book_ticker(&self) -> bool {
        self.u && self.s && self.b && self.b_qty && self.a && self.a_qty
    }

    /// Partial book depth (`<symbol>@depth20`) has neither `e` nor `s`.
    fn is_partial_depth(&self) -> bool {
        self.last_update_id && self.bids && self.asks
    }
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The nested form of an error reply, as seen in real logs.
///
/// ```json
/// {"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}
/// ```
///
/// web-socket-streams.md, "Error Messages" writes the same fields flat
/// (`{"code":2,"msg":"..."}`); [`Envelope`] accepts both.
#[derive(Deserialize)]
struct ErrorBody {
    code: i64,
    msg: String,
}

/// web-socket-streams.md, "Server Shutdown": the server will close this connection soon.
///
/// ```json
/// {"e":"serverShutdown","E":1770123456789}
/// ```
#[derive(Deserialize)]
struct ServerShutdown<'a> {
    #[serde(rename = "e")]
    event: &'a str,
    #[serde(rename = "E")]
    event_time: u64,
}

mod wire;

use wire::{AggTrade, BookTicker, ForceOrder, KlineEvent, MarkPrice, Ticker, Trade};

#[cfg(test)]
mod tests;
