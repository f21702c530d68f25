//! Flood mode (`foxtrot replay --flood N`): generated market data as fast as the socket
//! takes it, or at a fixed `--rate` per connection, for benchmarks.
//!
//! This module owns generating realistic Binance payloads (`bookTicker`, `trade`,
//! `aggTrade`) for the streams a client asked for in its URL, and writing them. Values
//! vary from message to message, ids only increase, and prices and quantities keep
//! Binance's eight decimals. Event times are the server's clock (shifted by
//! `--clock-shift`), read once per burst of frames, never going back; in microseconds when
//! the URL asks `timeUnit=MICROSECOND`, as the replay does. After `N` messages the session
//! sends a normal Close frame; `--limit`, `--close-after`, `--stall-after` and
//! `--drop-after` end it sooner, as they end a replayed session (idle, close, go silent,
//! drop the TCP connection). It ignores the library and Binance's requests; the command
//! line refuses the replay's other faults and pacing (`--inject`, `--max-age`, `--loop`,
//! ...) with `--flood` rather than let them be ignored. Unpaced, it sends no pings (a flood
//! is over long before one would be due); paced, or with nothing to generate, it pings
//! every `--ping-interval`, as Binance does, so a live-rate or idle benchmark sees what a
//! quiet live connection sees.
//!
//! The data path bypasses tungstenite's per-message framing: complete text frames
//! (server frames are unmasked, so a frame is two or four header bytes and the payload)
//! are generated straight into one buffer that is written with one `write_all`. Between
//! buffers the session looks at incoming frames through tungstenite and flushes whatever
//! tungstenite queued (a pong, a close reply), so the two never interleave inside a frame.
//!
//! On Bybit's and OKX's paths the flood speaks their dialect instead (`venue`): it answers
//! the client's subscribe request, then generates those venues' payloads for the streams
//! subscribed. The path chooses, so one flood server serves every venue at once.

mod venue;

use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::behavior::{Behavior, Pacer, Step};
use super::endpoint::Framing;
use super::stats::Stats;
use super::wait::{PING_PAYLOAD, drain, ping_timer, tick};
pub(crate) use venue::Protocol;
use venue::{Format, Requests};

/// Bytes of frames generated before each write; about 500 book tickers.
const CHUNK: usize = 64 * 1024;

/// How long to wait for the client's side of the closing handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// One generated stream: what it is called and where its values stand.
struct Generator {
    /// The stream name as the client wrote it (combined frames repeat it).
    name: String,
    /// Upper-case symbol, as Binance writes it in payloads.
    symbol: String,
    kind: Kind,
    /// Last price, in units of 1e-8.
    price: u64,
    /// Order-book update id (`bookTicker`) or trade id (`trade`, aggregate id for `aggTrade`).
    id: u64,
    /// Trade id of the last trade in an aggregate (`aggTrade` only).
    trade_id: u64,
    /// Event time since the Unix epoch, in the connection's unit (ms, or µs under
    /// `timeUnit=MICROSECOND`); set by [`Flood::stamp`].
    time: u64,
    /// Whose payloads it writes.
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    BookTicker,
    Trade,
    AggTrade,
}

/// A cent in units of 1e-8.
const CENT: u64 = 1_000_000;

impl Generator {
    /// A generator for `name` (such as `btcusdt@bookTicker`), or `None` for channels
    /// the flood does not generate.
    fn new(name: &str, rng: &mut fastrand::Rng) -> Option<Generator> {
        let (symbol, channel) = name.split_once('@')?;
        let kind = match channel {
            "bookTicker" => Kind::BookTicker,
            "trade" => Kind::Trade,
            "aggTrade" => Kind::AggTrade,
            _ => return None,
        };
        if symbol.is_empty() {
            return None;
        }
        Some(Generator {
            name: name.to_owned(),
            symbol: symbol.to_ascii_uppercase(),
            kind,
            // Between 10.00 and 100000.00, fixed per stream by the seed.
            price: rng.u64(1_000..10_000_000) * CENT,
            id: rng.u64(1_000_000_000..60_000_000_000),
            trade_id: rng.u64(1_000_000_000..4_000_000_000),
            time: 0,
            format: Format::Binance,
        })
    }

    /// Moves the market on by one event and appends its payload to `out`.
    fn next(&mut self, rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
        // A random walk of a few cents that never reaches zero.
        let step = rng.u64(0..=8) * CENT;
        self.price = if rng.bool() {
            self.price + step
        } else {
            self.price.saturating_sub(step).max(CENT)
        };
        match (self.format, self.kind) {
            (Format::Binance, Kind::BookTicker) => self.book_ticker(rng, out),
            (Format::Binance, Kind::Trade) => self.trade(rng, out),
            (Format::Binance | Format::Bybit | Format::Okx, Kind::AggTrade) => {
                self.agg_trade(rng, out)
            }
            (Format::Bybit, Kind::BookTicker) => self.bybit_book_ticker(rng, out),
            (Format::Bybit, Kind::Trade) => self.bybit_trade(rng, out),
            (Format::Okx, Kind::BookTicker) => self.okx_book_ticker(rng, out),
            (Format::Okx, Kind::Trade) => self.okx_trade(rng, out),
        }
    }

    fn book_ticker(&mut self, rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
        self.id += rng.u64(1..=20);
        let spread = rng.u64(1..=3) * CENT;
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b"{\"u\":");
        out.extend_from_slice(num.format(self.id).as_bytes());
        out.extend_from_slice(b",\"s\":\"");
        out.extend_from_slice(self.symbol.as_bytes());
        out.extend_from_slice(b"\",\"b\":\"");
        decimal(out, self.price);
        out.extend_from_slice(b"\",\"B\":\"");
        decimal(out, quantity(rng));
        out.extend_from_slice(b"\",\"a\":\"");
        decimal(out, self.price + spread);
        out.extend_from_slice(b"\",\"A\":\"");
        decimal(out, quantity(rng));
        out.extend_from_slice(b"\"}");
    }

    fn trade(&mut self, rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
        self.id += 1;
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b"{\"e\":\"trade\",\"E\":");
        out.extend_from_slice(num.format(self.time).as_bytes());
        out.extend_from_slice(b",\"s\":\"");
        out.extend_from_slice(self.symbol.as_bytes());
        out.extend_from_slice(b"\",\"t\":");
        out.extend_from_slice(num.format(self.id).as_bytes());
        out.extend_from_slice(b",\"p\":\"");
        decimal(out, self.price);
        out.extend_from_slice(b"\",\"q\":\"");
        decimal(out, quantity(rng));
        out.extend_from_slice(b"\",\"T\":");
        out.extend_from_slice(num.format(self.time - 1).as_bytes());
        out.extend_from_slice(if rng.bool() {
            b",\"m\":true,\"M\":true}"
        } else {
            b",\"m\":false,\"M\":true}"
        });
    }

    fn agg_trade(&mut self, rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
        self.id += 1;
        let first = self.trade_id + 1;
        self.trade_id += rng.u64(1..=3);
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b"{\"e\":\"aggTrade\",\"E\":");
        out.extend_from_slice(num.format(self.time).as_bytes());
        out.extend_from_slice(b",\"s\":\"");
        out.extend_from_slice(self.symbol.as_bytes());
        out.extend_from_slice(b"\",\"a\":");
        out.extend_from_slice(num.format(self.id).as_bytes());
        out.extend_from_slice(b",\"p\":\"");
        decimal(out, self.price);
        out.extend_from_slice(b"\",\"q\":\"");
        decimal(out, quantity(rng));
        out.extend_from_slice(b"\",\"f\":");
        out.extend_from_slice(num.format(first).as_bytes());
        out.extend_from_slice(b",\"l\":");
        out.extend_from_slice(num.format(self.trade_id).as_bytes());
        out.extend_from_slice(b",\"T\":");
        out.extend_from_slice(num.format(self.time - 1).as_bytes());
        out.extend_from_slice(if rng.bool() {
            b",\"m\":true,\"M\":true}"
        } else {
            b",\"m\":false,\"M\":true}"
        });
    }
}

/// A quantity between 0.00001000 and about 10 (units of 1e-8), mostly small, as on Binance.
fn quantity(rng: &mut fastrand::Rng) -> u64 {
    let lots = rng.u64(1..=1_000_000) >> rng.u32(0..=12);
    lots.max(1) * 1_000
}

/// Appends `units` (1e-8) as decimal text with exactly eight decimals.
fn decimal(out: &mut Vec<u8>, units: u64) {
    let mut num = itoa::Buffer::new();
    out.extend_from_slice(num.format(units / 100_000_000).as_bytes());
    out.push(b'.');
    // 1xxxxxxxx: the leading 1 keeps the zeros, then is cut off.
    out.extend_from_slice(&num.format(units % 100_000_000 + 100_000_000).as_bytes()[1..]);
}

/// Appends one unmasked, final text frame holding `payload`.
fn push_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.push(0x81);
    match payload.len() {
        len @ 0..=125 => out.push(len as u8),
        len @ 126..=65535 => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

/// How a flood connection stamps its event times.
#[derive(Clone, Copy, Debug, Default)]
struct Clock {
    /// Microseconds (`timeUnit=MICROSECOND` on Binance), else milliseconds.
    micros: bool,
    /// `--clock-shift`: ms added to the server's clock (a venue whose clock is off).
    shift_ms: i64,
}

/// The streams the flood generates, round-robin, each with its own values.
struct Flood {
    generators: Vec<Generator>,
    framing: Framing,
    clock: Clock,
    rng: fastrand::Rng,
    /// Index of the generator that goes next.
    turn: usize,
    /// One payload, reused.
    payload: Vec<u8>,
}

impl Flood {
    /// The flood of the streams `names` (as `protocol` spells them), framed as `framing`,
    /// its times stamped by `clock`.
    fn new(protocol: Protocol, names: &[String], framing: Framing, clock: Clock) -> Flood {
        // Fixed seed: every run of a benchmark sends the same bytes, times aside.
        let mut rng = fastrand::Rng::with_seed(0x5EED_F0C5);
        let generators = names
            .iter()
            .filter_map(|name| Generator::for_venue(protocol, name, &mut rng))
            .collect();
        let mut flood = Flood {
            generators,
            framing,
            clock,
            rng,
            turn: 0,
            payload: Vec::with_capacity(512),
        };
        flood.stamp();
        flood
    }

    /// Sets every stream's event time to the clock now (never back): once per burst, so a
    /// message costs no clock read.
    fn stamp(&mut self) {
        let now_ns = crate::clock::now_ns();
        let shift_ns = i128::from(self.clock.shift_ms) * 1_000_000;
        let ns = (i128::from(now_ns) + shift_ns).clamp(0, i128::from(u64::MAX)) as u64;
        // Trade times are one unit before the event time: keep it above zero.
        let time = if self.clock.micros {
            ns / 1_000
        } else {
            ns / 1_000_000
        }
        .max(1);
        for generator in &mut self.generators {
            generator.time = generator.time.max(time);
        }
    }

    /// Appends the next message as one frame to `out`.
    fn push(&mut self, out: &mut Vec<u8>) {
        let turn = self.turn;
        self.turn = (turn + 1) % self.generators.len();
        let generator = &mut self.generators[turn];
        self.payload.clear();
        if self.framing == Framing::Combined {
            self.payload.extend_from_slice(b"{\"stream\":\"");
            self.payload.extend_from_slice(generator.name.as_bytes());
            self.payload.extend_from_slice(b"\",\"data\":");
        }
        generator.next(&mut self.rng, &mut self.payload);
        if self.framing == Framing::Combined {
            self.payload.push(b'}');
        }
        push_frame(out, &self.payload);
    }
}

type Ws = WebSocketStream<TcpStream>;

/// How the flood ended.
enum End {
    /// All `total` messages went out: close normally.
    Done,
    /// `drop_after` messages went out: drop the TCP connection without a Close frame.
    Dropped,
    /// `stall_after` messages went out: send nothing more, read and discard until the
    /// client goes away or the server stops.
    Stalled,
    /// `limit` messages went out: idle with the connection open (pings and replies only).
    Limited,
    /// The server is stopping.
    Stopped,
    /// The client closed; its Close was answered.
    PeerClosed,
    /// The connection broke.
    Gone,
}

/// What a flood connection asked for: its protocol, and (Binance) the streams in its URL and
/// their framing.
pub(crate) struct Request<'a> {
    /// The venue protocol, from the path.
    pub(crate) protocol: Protocol,
    /// The streams named in the URL (Binance; the others subscribe).
    pub(crate) streams: &'a [String],
    /// The framing of data messages.
    pub(crate) framing: Framing,
    /// Times in microseconds (`timeUnit=MICROSECOND` in a Binance URL).
    pub(crate) micros: bool,
}

/// Sends `total` generated messages for the streams asked for (in the URL, or by the first
/// successful subscribe), as fast as the socket takes them or at `behavior.rate` per
/// second, then a normal Close frame; when `behavior`'s `limit`, `close_after`,
/// `stall_after` or `drop_after` comes first, it ends there as a replayed session does
/// (idle, close, stall, drop). Returns how many were sent.
pub(crate) async fn run(
    mut ws: Ws,
    request: Request<'_>,
    total: u64,
    behavior: &Behavior,
    stats: &Stats,
    stop: &CancellationToken,
) -> u64 {
    let protocol = request.protocol;
    let mut requests = Requests::default();
    let names = if protocol == Protocol::Binance {
        Ok(request.streams.to_vec())
    } else {
        venue::subscribed(&mut ws, protocol, &mut requests, stats, stop).await
    };
    let clock = Clock {
        micros: request.micros && protocol == Protocol::Binance,
        shift_ms: behavior.clock_shift_ms.unwrap_or(0),
    };
    let mut flood = Flood::new(
        protocol,
        names.as_deref().unwrap_or_default(),
        request.framing,
        clock,
    );
    // The count that ends the flood, and how: the first of `--limit`, `--close-after`,
    // `--stall-after` and `--drop-after` reached (ranked at one count as the replay's
    // sessions rank them), else all `total` sent.
    let last = [
        behavior.limit,
        behavior.close_after,
        behavior.stall_after,
        behavior.drop_after,
    ]
    .into_iter()
    .flatten()
    .fold(total, u64::min);
    let at_last = match behavior.after_sent(last) {
        Step::Drop => End::Dropped,
        Step::Stall => End::Stalled,
        Step::Idle => End::Limited,
        Step::Close | Step::Continue => End::Done,
    };
    let mut peer = Peer {
        protocol,
        requests: &mut requests,
    };
    let mut sent = 0;
    let end = if let Err(end) = names {
        end
    } else if flood.generators.is_empty() {
        debug!("flood: no bookTicker, trade or aggTrade stream requested; idling");
        idle(&mut ws, &mut peer, behavior.ping_interval, stats, stop).await
    } else if behavior.rate > 0 {
        paced(
            &mut ws, &mut peer, &mut flood, last, behavior, &mut sent, stats, stop,
        )
        .await
        .unwrap_or(at_last)
    } else {
        let mut chunk = Vec::with_capacity(CHUNK + 1024);
        loop {
            if stop.is_cancelled() {
                break End::Stopped;
            }
            // Before looking in: a stall answers nothing that came after its last message.
            if sent == last {
                break at_last;
            }
            if let Some(end) = look_in(&mut ws, &mut peer, stats).await {
                break end;
            }
            chunk.clear();
            flood.stamp();
            let before = sent;
            while sent < last && chunk.len() < CHUNK {
                flood.push(&mut chunk);
                sent += 1;
            }
            if let Err(e) = ws.get_mut().write_all(&chunk).await {
                debug!(error = %e, "flood write failed");
                break End::Gone;
            }
            stats.sent(sent - before);
        }
    };
    let end = match end {
        End::Limited => idle(&mut ws, &mut peer, behavior.ping_interval, stats, stop).await,
        end => end,
    };
    match end {
        End::Done => close(&mut ws, stats, CloseCode::Normal, "").await,
        End::Stopped => close(&mut ws, stats, CloseCode::Away, "server shutting down").await,
        End::Dropped => {
            // A FIN without a Close frame, after what was sent.
            if let Err(e) = ws.get_mut().shutdown().await {
                debug!(error = %e, "shutdown failed");
            }
        }
        // Everything written went straight to the socket or was flushed: nothing of
        // tungstenite's is left to send.
        End::Stalled => drain(ws.into_inner(), stop).await,
        End::Limited | End::PeerClosed | End::Gone => {}
    }
    sent
}

/// Sends at `behavior.rate` messages a second: at each due time, every message that has
/// come due since, in one write (a 1 ms timer paces high rates in small bursts, as a venue's
/// batching does); pings every `behavior.ping_interval` in between. `None` once `last`
/// messages went out, else how the connection ended first.
#[allow(clippy::too_many_arguments)]
async fn paced(
    ws: &mut Ws,
    peer: &mut Peer<'_>,
    flood: &mut Flood,
    last: u64,
    behavior: &Behavior,
    sent: &mut u64,
    stats: &Stats,
    stop: &CancellationToken,
) -> Option<End> {
    let mut pacer = Pacer::new(behavior.rate, Instant::now());
    let mut ping = ping_timer(behavior.ping_interval);
    let mut chunk = Vec::with_capacity(CHUNK + 1024);
    loop {
        if *sent == last {
            return None;
        }
        let due = pacer.due().expect("paced");
        tokio::select! {
            biased;
            () = stop.cancelled() => return Some(End::Stopped),
            frame = ws.next() => {
                if let Some(end) = answer(ws, peer, frame, stats).await {
                    return Some(end);
                }
                continue;
            }
            () = tick(&mut ping) => {
                // `send` writes the whole frame, so no raw frame lands inside it.
                if ws.send(Message::Ping(Bytes::from_static(PING_PAYLOAD))).await.is_err() {
                    return Some(End::Gone);
                }
                continue;
            }
            () = tokio::time::sleep_until(due) => {}
        }
        let allowed = pacer.allowance(Instant::now()) as u64;
        let n = allowed.min(last - *sent);
        chunk.clear();
        flood.stamp();
        for _ in 0..n {
            flood.push(&mut chunk);
        }
        if let Err(e) = ws.get_mut().write_all(&chunk).await {
            debug!(error = %e, "flood write failed");
            return Some(End::Gone);
        }
        pacer.consumed(n as usize);
        *sent += n;
        stats.sent(n);
    }
}

/// The client side of a flood connection: its protocol and request state.
struct Peer<'a> {
    protocol: Protocol,
    requests: &'a mut Requests,
}

impl Peer<'_> {
    /// Queues the dialect's replies to a client text frame (none on Binance's flood).
    async fn reply(&mut self, ws: &mut Ws, text: &str, stats: &Stats) -> Option<End> {
        if self.protocol == Protocol::Binance {
            return None;
        }
        stats.request();
        let (replies, _) = self.requests.answer(self.protocol, text);
        for reply in replies {
            if ws.feed(Message::text(reply)).await.is_err() {
                return Some(End::Gone);
            }
        }
        None
    }
}

/// Handles one frame the client sent while the flood waited; `Some` when the session is
/// over. What tungstenite queued in answer is written before returning.
async fn answer(
    ws: &mut Ws,
    peer: &mut Peer<'_>,
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    stats: &Stats,
) -> Option<End> {
    let end = match frame {
        Some(Ok(Message::Close(_))) => {
            stats.close_received();
            Some(End::PeerClosed)
        }
        Some(Ok(Message::Pong(_))) => {
            stats.pong();
            None
        }
        Some(Ok(Message::Text(text))) => peer.reply(ws, text.as_str(), stats).await,
        Some(Ok(_)) => None,
        Some(Err(e)) => {
            debug!(error = %e, "flood read failed");
            return Some(End::Gone);
        }
        None => return Some(End::Gone),
    };
    match tokio::time::timeout(CLOSE_GRACE, ws.flush()).await {
        Ok(Ok(())) => end,
        _ => Some(End::Gone),
    }
}

/// Handles whatever the client has sent without waiting; `Some` when the session is over.
/// Anything tungstenite queued in answer (a pong, a close reply) is written before
/// returning, so the next raw frame cannot land inside one of its frames.
async fn look_in(ws: &mut Ws, peer: &mut Peer<'_>, stats: &Stats) -> Option<End> {
    let mut answered = false;
    let end = loop {
        // Polling once is cancel-safe: a partial frame stays in tungstenite's buffer.
        match ws.next().now_or_never() {
            None => break None,
            Some(Some(Ok(Message::Close(_)))) => {
                stats.close_received();
                answered = true;
                break Some(End::PeerClosed);
            }
            Some(Some(Ok(Message::Pong(_)))) => stats.pong(),
            Some(Some(Ok(Message::Text(text)))) => {
                answered = true;
                if let Some(end) = peer.reply(ws, text.as_str(), stats).await {
                    return Some(end);
                }
            }
            Some(Some(Ok(_))) => answered = true,
            Some(Some(Err(e))) => {
                debug!(error = %e, "flood read failed");
                return Some(End::Gone);
            }
            Some(None) => return Some(End::Gone),
        }
    };
    if answered {
        match tokio::time::timeout(CLOSE_GRACE, ws.flush()).await {
            Ok(Ok(())) => {}
            _ => return Some(End::Gone),
        }
    }
    end
}

/// Waits until the client leaves or the server stops, sending only pings (every
/// `ping_interval`; none when it is zero).
async fn idle(
    ws: &mut Ws,
    peer: &mut Peer<'_>,
    ping_interval: Duration,
    stats: &Stats,
    stop: &CancellationToken,
) -> End {
    let mut ping = ping_timer(ping_interval);
    loop {
        tokio::select! {
            () = stop.cancelled() => return End::Stopped,
            frame = ws.next() => {
                if let Some(end) = answer(ws, peer, frame, stats).await {
                    return end;
                }
            }
            () = tick(&mut ping) => {
                if ws.send(Message::Ping(Bytes::from_static(PING_PAYLOAD))).await.is_err() {
                    return End::Gone;
                }
            }
        }
    }
}

/// Sends a Close frame, then reads until the client's reply (briefly).
async fn close(ws: &mut Ws, stats: &Stats, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let closing = async {
        ws.send(Message::Close(Some(frame))).await?;
        while let Some(message) = ws.next().await {
            if let Message::Close(_) = message? {
                stats.close_received();
            }
        }
        Ok::<(), tokio_tungstenite::tungstenite::Error>(())
    };
    match tokio::time::timeout(CLOSE_GRACE, closing).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => debug!(error = %e, "flood: closing handshake failed"),
        Err(_) => debug!("flood: client did not answer the Close frame in time"),
    }
}

#[cfg(test)]
pub(super) mod tests;
