//! Binance spot: the stream URL and the decoder from one WebSocket text frame to a [`Decoded`].
//!
//! This module owns everything Binance-specific about reading market data: stream names,
//! the wire structs that mirror Binance's JSON, and their conversion to [`Tick`]s. It does
//! no I/O. The hot path is a combined-stream frame (`/stream?streams=...`): the wrapper is
//! split by its fixed text, the channel is taken from the stream name, and the payload is
//! read into borrowed wire structs, by a strict one-pass scanner when it has Binance's exact
//! layout (`Scan`) and by serde otherwise. A frame costs no `serde_json::Value` and, for
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

use super::scan::{ENDS_PLAIN_TEXT, Num, Scan, Sym, decimal, num};
use super::{
    AckKey, Control, DecodeError, Decoded, Exchange, Heartbeat, Limits, Out, Plan, StreamId,
    Subscribe, Venue, epoch_ns,
};
use crate::tick::{self, Channel, Symbol, SymbolError, Tick, TickData};

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

/// web-socket-streams.md, "Individual Symbol Book Ticker Streams" (`<symbol>@bookTicker`).
///
/// ```json
/// {"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}
/// ```
///
/// USD-M futures adds `"e":"bookTicker"`, the event time `E` (kept as the tick's
/// `exchange_ns`) and the transaction time `T` (ignored).
#[derive(Deserialize)]
struct BookTicker<'a> {
    #[serde(default, rename = "E")]
    event_time: Option<u64>,
    #[serde(rename = "u")]
    update_id: u64,
    #[serde(borrow, rename = "s")]
    symbol: Sym<'a>,
    #[serde(borrow, rename = "b")]
    bid: Num<'a>,
    #[serde(borrow, rename = "B")]
    bid_qty: Num<'a>,
    #[serde(borrow, rename = "a")]
    ask: Num<'a>,
    #[serde(borrow, rename = "A")]
    ask_qty: Num<'a>,
}

impl<'a> BookTicker<'a> {
    /// The layout above, exactly; `None` for anything else (such as USD-M's).
    fn scan(payload: &'a str) -> Option<BookTicker<'a>> {
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

    fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
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
struct Trade<'a> {
    #[serde(borrow, rename = "e")]
    event: &'a str,
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(borrow, rename = "s")]
    symbol: Sym<'a>,
    #[serde(rename = "t")]
    trade_id: u64,
    #[serde(borrow, rename = "p")]
    price: Num<'a>,
    #[serde(borrow, rename = "q")]
    qty: Num<'a>,
    #[serde(rename = "T")]
    trade_time: u64,
    #[serde(rename = "m")]
    buyer_is_maker: bool,
}

impl<'a> Trade<'a> {
    /// The current spot layout above, exactly; `None` for anything else.
    fn scan(payload: &'a str) -> Option<Trade<'a>> {
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

    fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
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
struct AggTrade<'a> {
    #[serde(borrow, rename = "e")]
    event: &'a str,
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(borrow, rename = "s")]
    symbol: Sym<'a>,
    #[serde(rename = "a")]
    agg_id: u64,
    #[serde(borrow, rename = "p")]
    price: Num<'a>,
    #[serde(borrow, rename = "q")]
    qty: Num<'a>,
    #[serde(rename = "f")]
    first_trade_id: u64,
    #[serde(rename = "l")]
    last_trade_id: u64,
    #[serde(rename = "T")]
    trade_time: u64,
    #[serde(rename = "m")]
    buyer_is_maker: bool,
}

impl<'a> AggTrade<'a> {
    /// The spot layout above, exactly; `None` for anything else.
    fn scan(payload: &'a str) -> Option<AggTrade<'a>> {
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

    fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
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
struct Ticker<'a> {
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
    fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
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
struct MarkPrice<'a> {
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
    fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
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
struct ForceOrder<'a> {
    #[serde(borrow, rename = "e")]
    event: &'a str,
    #[serde(rename = "E")]
    event_time: u64,
    #[serde(borrow, rename = "o")]
    order: ForceOrderBody<'a>,
}

#[derive(Deserialize)]
struct ForceOrderBody<'a> {
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
    fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
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
struct KlineEvent<'a> {
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
struct KlineBody<'a> {
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
    fn normalize(self) -> Result<(Symbol, TickData), DecodeError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tick::Value as Field;
    use proptest::prelude::*;
    use serde_json::Value as Json;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/binance/",
                $name
            ))
        };
    }

    const BOOK_TICKER: &str = fixture!("bookTicker.jsonl");
    const TRADE: &str = fixture!("trade.jsonl");
    const TRADE_LEGACY: &str = fixture!("trade_legacy_2019.jsonl");
    const AGG_TRADE: &str = fixture!("aggTrade.jsonl");
    const TICKER: &str = fixture!("ticker.jsonl");
    const FUTURES_BOOK_TICKER: &str = fixture!("futures_usdm_bookTicker.jsonl");
    const FUTURES_TRADE: &str = fixture!("futures_usdm_trade.jsonl");
    const FUTURES_DEPTH: &str = fixture!("futures_usdm_depth.jsonl");
    const COMBINED: &str = fixture!("combined.jsonl");
    const CONTROL: &str = fixture!("control.jsonl");
    const DEPTH: &str = fixture!("depth.jsonl");
    const DEPTH_PARTIAL: &str = fixture!("depth_partial.jsonl");
    const KLINE: &str = fixture!("kline.jsonl");
    const MINI_TICKER: &str = fixture!("miniTicker.jsonl");
    const FUTURES_MARK_PRICE: &str = fixture!("futures_usdm_markPrice.jsonl");
    const FUTURES_FORCE_ORDER: &str = fixture!("futures_usdm_forceOrder.jsonl");

    /// The raw-payload fixtures that must become ticks, with their channel.
    const TICK_FIXTURES: [(&str, &str, Channel); 10] = [
        ("kline", KLINE, Channel::Kline1m),
        (
            "futures_usdm_markPrice",
            FUTURES_MARK_PRICE,
            Channel::Funding,
        ),
        (
            "futures_usdm_forceOrder",
            FUTURES_FORCE_ORDER,
            Channel::Liquidation,
        ),
        ("bookTicker", BOOK_TICKER, Channel::BookTicker),
        ("trade", TRADE, Channel::Trade),
        ("trade_legacy_2019", TRADE_LEGACY, Channel::Trade),
        ("aggTrade", AGG_TRADE, Channel::AggTrade),
        ("ticker", TICKER, Channel::Ticker),
        (
            "futures_usdm_bookTicker",
            FUTURES_BOOK_TICKER,
            Channel::BookTicker,
        ),
        ("futures_usdm_trade", FUTURES_TRADE, Channel::Trade),
    ];

    fn lines(text: &str) -> impl Iterator<Item = &str> {
        text.lines().filter(|line| !line.trim().is_empty())
    }

    fn decode(frame: &str) -> Result<One, DecodeError> {
        super::decode(Venue::Binance, frame, 42)
    }

    fn wrap(stream: &str, data: &str) -> String {
        format!(r#"{{"stream":"{stream}","data":{data}}}"#)
    }

    /// The wire key each normalized field is copied from.
    fn wire_key(channel: Channel, field: &str) -> &'static str {
        if channel.is_kline() {
            return match field {
                "event_time" => "E",
                "open_time" => "t",
                "close_time" => "T",
                "first_trade_id" => "f",
                "last_trade_id" => "L",
                "open" => "o",
                "high" => "h",
                "low" => "l",
                "close" => "c",
                "volume" => "v",
                "quote_volume" => "q",
                "trades" => "n",
                "closed" => "x",
                _ => panic!("no wire key for {channel} {field}"),
            };
        }
        match (channel, field) {
            (Channel::Funding, "mark_price") => "p",
            (Channel::Funding, "index_price") => "i",
            (Channel::Funding, "funding_rate") => "r",
            (Channel::Funding, "next_funding_time") => "T",
            (Channel::Liquidation, "side") => "S",
            (Channel::Liquidation, "avg_price") => "ap",
            (_, "event_time") => "E",
            (_, "trade_time") => "T",
            (_, "buyer_is_maker") => "m",
            (_, "price") => "p",
            (_, "qty") => "q",
            (Channel::BookTicker, "update_id") => "u",
            (_, "bid") => "b",
            (_, "bid_qty") => "B",
            (_, "ask") => "a",
            (_, "ask_qty") => "A",
            (Channel::Trade, "trade_id") => "t",
            (Channel::AggTrade, "agg_id") => "a",
            (Channel::AggTrade, "first_trade_id") => "f",
            (Channel::AggTrade, "last_trade_id") => "l",
            (Channel::Ticker, "last") => "c",
            (Channel::Ticker, "last_qty") => "Q",
            (Channel::Ticker, "open") => "o",
            (Channel::Ticker, "high") => "h",
            (Channel::Ticker, "low") => "l",
            (Channel::Ticker, "volume") => "v",
            (Channel::Ticker, "quote_volume") => "q",
            (Channel::Ticker, "change") => "p",
            (Channel::Ticker, "change_pct") => "P",
            _ => panic!("no wire key for {channel} {field}"),
        }
    }

    /// Checks that `decoded` is a tick of `channel` whose every field equals the payload's.
    fn assert_tick_matches(payload: &str, decoded: One, channel: Channel) {
        let One::Tick(tick) = decoded else {
            panic!("expected a {channel} tick from {payload}, got {decoded:?}");
        };
        let top: Json = serde_json::from_str(payload).unwrap();
        assert_eq!(tick.channel(), channel, "{payload}");
        assert_eq!(tick.exchange, "binance");
        let event_time = top["E"].as_u64().unwrap_or(0);
        assert_eq!(tick.exchange_ns, epoch_ns(event_time), "{payload}");
        assert_eq!(tick.recv_ns, 42);
        // Liquidations nest the order, klines the candle.
        let nested = match channel {
            Channel::Liquidation => top["o"].clone(),
            kline if kline.is_kline() => top["k"].clone(),
            _ => top.clone(),
        };
        assert_eq!(
            Some(tick.symbol.as_str()),
            nested["s"].as_str(),
            "{payload}"
        );
        let mut seen = Vec::new();
        tick.data.visit(|name, value| {
            let key = wire_key(channel, name);
            let raw = if name == "event_time" { &top } else { &nested };
            match value {
                Field::Text(text) => assert_eq!(Some(text), raw[key].as_str(), "{name}"),
                Field::Decimal(text) => {
                    assert_eq!(
                        Some(&*text.to_text()),
                        raw[key].as_str(),
                        "{name} in {payload}"
                    );
                    // Byte for byte, as it sits in the frame, not merely the same number.
                    let needle = format!(r#""{key}":"{text}""#);
                    assert!(payload.contains(&needle), "{needle} not in {payload}");
                }
                Field::Int(n) => assert_eq!(Some(n), raw[key].as_u64(), "{name} in {payload}"),
                Field::Uuid(_) => panic!("Binance ids are integers"),
                Field::Bool(b) => assert_eq!(Some(b), raw[key].as_bool(), "{name} in {payload}"),
            }
            seen.push(name);
        });
        assert_eq!(seen, channel.fields());
    }

    #[test]
    fn raw_payload_fixtures_decode_to_exact_ticks() {
        for (file, text, channel) in TICK_FIXTURES {
            let mut count = 0;
            for line in lines(text) {
                let decoded = decode(line).unwrap_or_else(|e| panic!("{file}: {e}: {line}"));
                assert_tick_matches(line, decoded, channel);
                count += 1;
            }
            assert!(count > 0, "{file} is empty");
        }
    }

    #[test]
    fn raw_payload_fixtures_decode_the_same_inside_a_combined_frame() {
        for (file, text, channel) in TICK_FIXTURES {
            for line in lines(text) {
                let raw: Json = serde_json::from_str(line).unwrap();
                let symbol = raw["s"]
                    .as_str()
                    .or(raw["o"]["s"].as_str())
                    .unwrap()
                    .to_ascii_lowercase();
                let frame = wrap(&format!("{symbol}@{}", wire_channel(channel)), line);
                let combined = decode(&frame).unwrap_or_else(|e| panic!("{file}: {e}: {frame}"));
                assert_eq!(combined, decode(line).unwrap(), "{frame}");
                assert_tick_matches(line, combined, channel);
            }
        }
    }

    #[test]
    fn combined_fast_path_agrees_with_the_general_path() {
        let mut fast = 0;
        for line in lines(COMBINED) {
            // A space after the opening brace is valid JSON the fast path does not take.
            let spaced = line.replacen('{', "{ ", 1);
            assert!(split_combined(&spaced).is_none());
            fast += usize::from(split_combined(line).is_some());
            match (decode(line), decode(&spaced)) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{line}"),
                (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{line}"),
                (a, b) => panic!("{line}: fast {a:?}, general {b:?}"),
            }
        }
        assert!(fast > 0, "no combined fixture line took the fast path");
        for (name, text, _) in TICK_FIXTURES {
            for payload in lines(text) {
                let stream = format!(
                    "x@{}",
                    if name.contains("bookTicker") {
                        "bookTicker"
                    } else {
                        "trade"
                    }
                );
                let framed = wrap(&stream, payload);
                let spaced = framed.replacen('{', "{ ", 1);
                assert_eq!(decode(&framed).ok(), decode(&spaced).ok(), "{framed}");
            }
        }
    }

    #[test]
    fn combined_fast_path_answers_odd_frames_as_the_general_path_does() {
        let bt = lines(BOOK_TICKER).next().unwrap();
        for odd in [
            format!(r#"{{"stream":"btcusdt@bookTicker","data":{bt}}}}}"#),
            format!(r#"{{"stream":"btcusdt@bookTicker","data":{bt},"data":{bt}}}"#),
            format!(r#"{{"stream":"btcusdt@bookTicker","data":{bt},"x":1}}"#),
            format!(r#"{{"stream":"btcusdt@bookTicker","data":{bt} }}"#),
            format!(r#"{{"stream":"btc"usdt@bookTicker","data":{bt}}}"#),
            r#"{"stream":"btcusdt@bookTicker","data":{"u":1}}"#.to_owned(),
            r#"{"stream":"btcusdt@bookTicker","data":[1,2]}"#.to_owned(),
            r#"{"stream":"btcusdt@depth","data":{"x":}}"#.to_owned(),
        ] {
            let spaced = odd.replacen('{', "{ ", 1);
            match (decode(&odd), decode(&spaced)) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{odd}"),
                (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{odd}"),
                (a, b) => panic!("{odd}: {a:?} but the general path says {b:?}"),
            }
        }
    }

    #[test]
    fn combined_fixture_decodes_every_line() {
        let mut ticks = std::collections::BTreeMap::new();
        let mut unsupported = std::collections::BTreeMap::new();
        let mut depth = std::collections::BTreeMap::<String, u32>::new();
        for line in lines(COMBINED) {
            let raw: Json = serde_json::from_str(line).unwrap();
            let stream = raw["stream"].as_str().unwrap().to_owned();
            match decode(line).unwrap_or_else(|e| panic!("{e}: {line}")) {
                One::Tick(tick) => {
                    let channel = tick.channel();
                    let symbol = tick.symbol.as_str().to_ascii_lowercase();
                    assert_eq!(stream, format!("{symbol}@{}", wire_channel(channel)));
                    let data = raw["data"].to_string();
                    let payload = &line[line.find(r#""data":"#).unwrap() + 7..line.len() - 1];
                    assert_eq!(
                        serde_json::from_str::<Json>(payload).unwrap().to_string(),
                        data
                    );
                    assert_tick_matches(payload, One::Tick(tick), channel);
                    *ticks.entry(channel).or_insert(0) += 1;
                }
                One::Unsupported => *unsupported.entry(stream).or_insert(0) += 1,
                One::Depth => *depth.entry(stream).or_insert(0) += 1,
                One::Control(c) => panic!("unexpected control {c:?} from {line}"),
            }
        }
        let ticks: Vec<_> = ticks.into_iter().collect();
        assert_eq!(
            ticks,
            [
                (Channel::BookTicker, 37),
                (Channel::Trade, 1),
                (Channel::AggTrade, 3),
                (Channel::Kline1m, 3)
            ]
        );
        let unsupported: Vec<_> = unsupported.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        assert_eq!(unsupported, [("!bookTicker", 1), ("!ticker@arr", 1),]);
        // Diff depth is read by `binance_depth` (its own tests).
        assert_eq!(
            depth.into_iter().collect::<Vec<_>>(),
            [("btcusdt@depth@100ms".to_owned(), 5)]
        );
    }

    #[test]
    fn unsupported_market_data_is_recognised_raw_and_combined() {
        let cases = [
            ("depth_partial", DEPTH_PARTIAL, "btcusdt@depth20@100ms"),
            ("miniTicker", MINI_TICKER, "btcusdt@miniTicker"),
        ];
        // Diff depth is recognised, and read by `binance_depth`.
        for (text, stream) in [
            (DEPTH, "btcusdt@depth@100ms"),
            (FUTURES_DEPTH, "btcusdt@depth@0ms"),
        ] {
            for line in lines(text) {
                assert_eq!(decode(line).unwrap(), One::Depth, "{line}");
                assert_eq!(decode(&wrap(stream, line)).unwrap(), One::Depth, "{line}");
            }
        }
        for (file, text, stream) in cases {
            let mut count = 0;
            for line in lines(text) {
                let raw = decode(line).unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_eq!(raw, One::Unsupported, "{file}: {line}");
                let combined =
                    decode(&wrap(stream, line)).unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_eq!(combined, One::Unsupported, "{file}: {line}");
                count += 1;
            }
            assert!(count > 0, "{file} is empty");
        }
    }

    #[test]
    fn control_fixture_gives_the_right_controls() {
        let error = |code, msg: &str, id: Option<u64>| Control::Error {
            code,
            msg: msg.to_owned(),
            key: id.map(AckKey::Id),
        };
        let expected = [
            Control::Ack {
                key: Some(AckKey::Id(1)),
            },
            Control::Ack {
                key: Some(AckKey::Id(312)),
            },
            Control::Ack {
                key: Some(AckKey::Id(3)),
            },
            Control::Ack {
                key: Some(AckKey::Id(5)),
            },
            Control::Ack {
                key: Some(AckKey::Id(2)),
            },
            error(2, "Invalid request: invalid stream", Some(2)),
            error(3, "Invalid JSON: expected value at line 1 column 1", None),
            Control::ServerShutdown {
                event_time: 1770123456789,
            },
            Control::ServerShutdown {
                event_time: 1770123456789,
            },
        ];
        let got: Vec<_> = lines(CONTROL).map(|l| decode(l).unwrap()).collect();
        let expected: Vec<_> = expected.into_iter().map(One::Control).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn documented_control_variants_decode() {
        let cases = [
            (
                r#"{"code":2,"msg":"Invalid request: invalid stream","id":2}"#,
                Control::Error {
                    code: 2,
                    msg: "Invalid request: invalid stream".to_owned(),
                    key: Some(AckKey::Id(2)),
                },
            ),
            (
                r#"{"code":-1,"msg":"say \"hi\""}"#,
                Control::Error {
                    code: -1,
                    msg: "say \"hi\"".to_owned(),
                    key: None,
                },
            ),
            (r#"{"result":null}"#, Control::Ack { key: None }),
            (
                r#" {"id":7,"result":[]}"#,
                Control::Ack {
                    key: Some(AckKey::Id(7)),
                },
            ),
        ];
        for (frame, expected) in cases {
            assert_eq!(decode(frame).unwrap(), One::Control(expected), "{frame}");
        }
    }

    #[test]
    fn bad_frames_give_the_right_error_kind() {
        let book = lines(BOOK_TICKER).next().unwrap();
        let trade = lines(TRADE).next().unwrap();
        let ticker = lines(TICKER).next().unwrap();
        let with = |line: &str, from: &str, to: &str| {
            assert!(line.contains(from), "{from} not in {line}");
            line.replacen(from, to, 1)
        };
        let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let nested_object = format!(r#"{}1{}"#, r#"{"x":"#.repeat(100_000), "}".repeat(100_000));
        let nested_data = wrap("btcusdt@depth@100ms", &"[".repeat(100_000));
        let cases: Vec<(&str, String, &str)> = vec![
            ("empty", String::new(), "malformed"),
            ("whitespace", "  \n".into(), "malformed"),
            ("open brace", "{".into(), "malformed"),
            ("trailing garbage", format!("{book}x"), "malformed"),
            ("empty array", "[]".into(), "unknown_shape"),
            ("null", "null".into(), "unknown_shape"),
            ("number", "42".into(), "unknown_shape"),
            ("string", r#""bookTicker""#.into(), "unknown_shape"),
            ("empty object", "{}".into(), "unknown_shape"),
            (
                "foreign object",
                r#"{"type":"ticker"}"#.into(),
                "unknown_shape",
            ),
            (
                "unknown event",
                r#"{"e":"mystery","E":1}"#.into(),
                "unknown_shape",
            ),
            (
                "shutdown without time",
                r#"{"e":"serverShutdown"}"#.into(),
                "unknown_shape",
            ),
            (
                "stream without data",
                r#"{"stream":"btcusdt@trade"}"#.into(),
                "unknown_shape",
            ),
            (
                "array data",
                wrap("btcusdt@trade", "[1,2]"),
                "unknown_shape",
            ),
            (
                "half a book ticker",
                r#"{"u":1,"s":"BTCUSDT","b":"1"}"#.into(),
                "unknown_shape",
            ),
            (
                "event mismatch",
                wrap(
                    "btcusdt@trade",
                    &with(trade, r#""e":"trade""#, r#""e":"fake""#),
                ),
                "unknown_shape",
            ),
            ("truncated 1", book[..book.len() - 1].into(), "malformed"),
            ("truncated 2", book[..book.len() / 2].into(), "malformed"),
            ("truncated 3", trade[..trade.len() - 10].into(), "malformed"),
            (
                "truncated combined",
                wrap("btcusdt@trade", trade)[..trade.len()].into(),
                "malformed",
            ),
            (
                "price as number",
                with(book, r#""b":"61837.63000000""#, r#""b":61837.63"#),
                "malformed",
            ),
            (
                "price as number, combined",
                wrap(
                    "btcusdt@bookTicker",
                    &with(book, r#""b":"61837.63000000""#, r#""b":61837.63"#),
                ),
                "malformed",
            ),
            (
                "id as string",
                with(trade, r#""t":3735683259"#, r#""t":"3735683259""#),
                "malformed",
            ),
            (
                "maker as string",
                with(trade, r#""m":true"#, r#""m":"true""#),
                "malformed",
            ),
            (
                "negative update id",
                with(book, r#""u":50093239212"#, r#""u":-1"#),
                "malformed",
            ),
            (
                "missing field",
                with(trade, r#""t":3735683259,"#, ""),
                "malformed",
            ),
            (
                "escaped symbol",
                with(book, "BTCUSDT", r"BTC\u0055SDT"),
                "malformed",
            ),
            // Valid JSON, however deep, is not malformed; serde_json skips it without recursing.
            ("deeply nested array", nested, "unknown_shape"),
            ("deeply nested object", nested_object, "unknown_shape"),
            ("deeply nested data", nested_data, "malformed"),
            (
                "price with comma",
                with(book, "61837.63000000", "61837,63000000"),
                "bad_decimal",
            ),
            (
                "price with exponent",
                with(trade, "61837.63000000", "6.1e4"),
                "bad_decimal",
            ),
            (
                "empty qty",
                with(trade, r#""q":"0.02000000""#, r#""q":"""#),
                "bad_decimal",
            ),
            (
                "ticker bad pct",
                with(ticker, r#""P":"1.600""#, r#""P":"1.6%""#),
                "bad_decimal",
            ),
            (
                "symbol with dash",
                with(book, r#""BTCUSDT""#, r#""BTC-USDT""#),
                "bad_symbol",
            ),
            (
                "empty symbol",
                with(trade, r#""BTCUSDT""#, r#""""#),
                "bad_symbol",
            ),
            (
                "symbol with dash, combined",
                wrap(
                    "btcusdt@trade",
                    &with(trade, r#""BTCUSDT""#, r#""BTC-USDT""#),
                ),
                "bad_symbol",
            ),
        ];
        for (name, frame, kind) in cases {
            match decode(&frame) {
                Ok(decoded) => panic!("{name}: expected {kind}, got {decoded:?}"),
                Err(e) => assert_eq!(e.kind(), kind, "{name}: {e}"),
            }
        }
    }

    #[test]
    fn bad_decimal_names_the_wire_field() {
        let book = lines(BOOK_TICKER).next().unwrap();
        let frame = book.replacen("1.54698000", "1,5", 1);
        match decode(&frame) {
            Err(DecodeError::Decimal { field, source }) => {
                assert_eq!(field, "A");
                assert_eq!(source.0, "1,5");
            }
            other => panic!("expected a bad decimal, got {other:?}"),
        }
    }

    #[test]
    fn huge_frame_with_an_ignored_field_still_decodes() {
        let book = lines(BOOK_TICKER).next().unwrap();
        let padding = "x".repeat(4 << 20);
        let frame = book.replacen('{', &format!(r#"{{"pad":"{padding}","#), 1);
        assert_tick_matches(book, decode(&frame).unwrap(), Channel::BookTicker);
        let combined = wrap("btcusdt@bookTicker", &frame);
        assert_tick_matches(book, decode(&combined).unwrap(), Channel::BookTicker);
    }

    #[test]
    fn stream_url_joins_lower_case_stream_names() {
        let id = |symbol: &str, channel| {
            StreamId::new(Venue::Binance, parse_symbol(symbol).unwrap(), channel)
        };
        let url = |endpoint: &str, streams: &[StreamId]| Binance.plan(endpoint, streams).url;
        let streams = [
            id("BTCUSDT", Channel::Ticker),
            id("ethusdt", Channel::BookTicker),
            id("1000SATSUSDT", Channel::Trade),
            id("BnbBtc", Channel::AggTrade),
        ];
        let want = "wss://stream.binance.com:9443/stream?streams=\
            btcusdt@ticker/ethusdt@bookTicker/1000satsusdt@trade/bnbbtc@aggTrade\
            &timeUnit=MICROSECOND";
        for endpoint in [
            "wss://stream.binance.com:9443",
            "wss://stream.binance.com:9443/",
            "wss://stream.binance.com:9443//",
        ] {
            assert_eq!(url(endpoint, &streams), want);
        }
        assert_eq!(
            url(Binance.default_endpoint(), &streams[1..2]),
            "wss://stream.binance.com:9443/stream?streams=ethusdt@bookTicker&timeUnit=MICROSECOND"
        );
        assert_eq!(
            url("ws://127.0.0.1:9000/", &[]),
            "ws://127.0.0.1:9000/stream?streams=&timeUnit=MICROSECOND"
        );
        assert_eq!(stream_name(&streams[0]), "btcusdt@ticker");
        // Symbols in other scripts are URL-encoded (UTF-8), ASCII letters lower-cased.
        assert_eq!(
            stream_name(&id("币安USDT", Channel::Trade)),
            "%E5%B8%81%E5%AE%89usdt@trade"
        );
        assert_eq!(Binance.name(), "binance");
        for channel in Channel::ALL {
            if matches!(channel, Channel::Depth | Channel::Book) {
                // Both read the diff-depth stream (see `binance_depth`).
                assert!(crate::exchange::binance_depth::is_diff_depth(wire_channel(
                    channel
                )));
                continue;
            }
            assert_eq!(channel_from_wire(wire_channel(channel)), Some(channel));
        }
    }

    /// Every fixture line, for mutation.
    fn all_fixture_lines() -> Vec<&'static str> {
        [
            BOOK_TICKER,
            TRADE,
            TRADE_LEGACY,
            AGG_TRADE,
            TICKER,
            FUTURES_BOOK_TICKER,
            FUTURES_TRADE,
            COMBINED,
            CONTROL,
            DEPTH_PARTIAL,
            MINI_TICKER,
        ]
        .into_iter()
        .flat_map(|text| text.lines())
        .collect()
    }

    /// A normalized payload, or the kind of error.
    type Normalized = Result<(Symbol, TickData), String>;

    /// What `Scan` and serde make of one payload, normalized; `None` where `Scan` declines.
    fn scan_and_serde(channel: Channel, payload: &str) -> Option<(Normalized, Normalized)> {
        fn both<'a, W: Deserialize<'a>>(
            scanned: Option<W>,
            payload: &'a str,
            normalize: fn(W) -> Result<(Symbol, TickData), DecodeError>,
        ) -> Option<(Normalized, Normalized)> {
            let kind = |e: DecodeError| e.kind().to_owned();
            let scanned = normalize(scanned?).map_err(kind);
            let parsed = serde_json::from_str::<W>(payload)
                .map_err(DecodeError::from)
                .and_then(normalize)
                .map_err(kind);
            Some((scanned, parsed))
        }
        match channel {
            Channel::BookTicker => both(BookTicker::scan(payload), payload, BookTicker::normalize),
            Channel::Trade => both(Trade::scan(payload), payload, Trade::normalize),
            Channel::AggTrade => both(AggTrade::scan(payload), payload, AggTrade::normalize),
            _ => None,
        }
    }

    #[test]
    fn scan_takes_the_spot_fixtures_and_agrees_with_serde() {
        for (text, channel, scanned_all) in [
            (BOOK_TICKER, Channel::BookTicker, true),
            (TRADE, Channel::Trade, true),
            (AGG_TRADE, Channel::AggTrade, true),
            // Older and USD-M layouts go to serde.
            (TRADE_LEGACY, Channel::Trade, false),
            (FUTURES_BOOK_TICKER, Channel::BookTicker, false),
            (FUTURES_TRADE, Channel::Trade, false),
        ] {
            for payload in lines(text) {
                match scan_and_serde(channel, payload) {
                    Some((scanned, parsed)) => {
                        assert!(scanned_all, "scanned {payload}");
                        assert!(scanned.is_ok(), "{payload}: {scanned:?}");
                        assert_eq!(scanned, parsed, "{payload}");
                    }
                    None => assert!(!scanned_all, "not scanned: {payload}"),
                }
            }
        }
    }

    #[test]
    fn scan_declines_what_it_cannot_vouch_for() {
        let bt = r#"{"u":1,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#;
        assert!(BookTicker::scan(bt).is_some());
        for odd in [
            r#"{"u":01,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
            r#"{"u":1.5,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
            r#"{"u":1e3,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
            r#"{"u":-1,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
            r#"{"u":18446744073709551616,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
            r#"{"u":1,"s":"BTC\u0055SDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
            r#"{"u":1,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"} "#,
            r#"{"u":1,"s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4","x":5}"#,
            r#"{"u":1, "s":"BTCUSDT","b":"1.0","B":"2","a":"3","A":"4"}"#,
            r#"{"s":"BTCUSDT","u":1,"b":"1.0","B":"2","a":"3","A":"4"}"#,
        ] {
            assert!(BookTicker::scan(odd).is_none(), "{odd}");
        }
        assert!(BookTicker::scan(&bt.replace("BTCUSDT", "BTC\tUSDT")).is_none());
        assert!(BookTicker::scan(&bt.replace("BTCUSDT", "BTC\u{1}USDT")).is_none());
        assert_eq!(
            BookTicker::scan(&bt.replace(r#""u":1"#, r#""u":18446744073709551615"#))
                .map(|w| w.update_id),
            Some(u64::MAX)
        );
    }

    proptest! {
        #[test]
        fn scan_accepts_only_what_serde_reads_the_same(
            pick in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..3),
        ) {
            let fixtures = [
                (BOOK_TICKER, Channel::BookTicker),
                (TRADE, Channel::Trade),
                (AGG_TRADE, Channel::AggTrade),
            ];
            let (text, channel) = fixtures[pick.index(fixtures.len())];
            let line = lines(text).nth(pick.index(40) % lines(text).count()).unwrap();
            let mut bytes = line.as_bytes().to_vec();
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                // Bytes JSON gives meaning to, so edits often stay well-formed.
                bytes[at] = b"0189.,:\"e-tfu \\x"[usize::from(byte) % 16];
            }
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            if let Some((scanned, parsed)) = scan_and_serde(channel, &text) {
                prop_assert_eq!(scanned, parsed, "{}", text);
            }
        }

        #[test]
        fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn decode_never_panics_on_damaged_fixture_lines(
            pick in any::<prop::sample::Index>(),
            cut in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        ) {
            let lines = all_fixture_lines();
            let line = lines[pick.index(lines.len())];
            let mut bytes = line.as_bytes().to_vec();
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            bytes.truncate(cut.index(bytes.len() + 1));
            let text = String::from_utf8_lossy(&bytes);
            let _ = decode(&text);
            let _ = decode(&wrap("btcusdt@bookTicker", &text));
        }
    }

    #[test]
    fn subscribe_message_is_binances_request() {
        let streams = [
            StreamId::new(
                Venue::Binance,
                Symbol::parse("BTCUSDT").unwrap(),
                Channel::Trade,
            ),
            StreamId::new(
                Venue::Binance,
                Symbol::parse("ethusdt").unwrap(),
                Channel::BookTicker,
            ),
        ];
        assert_eq!(
            subscribe_message(7, &streams),
            r#"{"method":"SUBSCRIBE","params":["btcusdt@trade","ethusdt@bookTicker"],"id":7}"#
        );
    }
}
