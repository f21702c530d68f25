//! One task per WebSocket connection (a shard of the streams), for the program's whole life:
//! connect, subscribe, read, decode, send; reconnect with backoff inside the same task;
//! replace the socket before it ages out; close with a close frame when intake stops.
//!
//! A reconnect or a replacement never spawns anything: this task's one loop reads at most
//! two sockets (the old one and its replacement, during a make-before-break), so there is
//! never a stray reader or heartbeat. Pongs are sent by tungstenite on the next read, and
//! this loop always reads. While sending into a full channel the task waits on the abort
//! token, not on intake: during the drain the sink is still reading, so nothing deadlocks.
//!
//! Files: `dial.rs` (the plan dialed, the open socket), `session.rs` (the `select!` over the
//! sockets, timers and tokens), `frame.rs` (the one entry point for a received frame),
//! `dedup.rs` (what each stream last delivered, repeats across a make-before-break),
//! `errors.rs` (why a connection gives up, which failures are final), `raw_only.rs` (frames
//! read for a raw capture alone, not decoded).

mod dedup;
mod depth;
mod dial;
mod errors;
mod frame;
mod raw_only;
mod read_ahead;
mod session;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::Poll;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustc_hash::FxHashMap;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::backoff::Backoff;
use crate::clock;
use crate::exchange::{AckKey, Control, Decoded, Exchange, Out, Plan, StreamId};
use crate::limiter::{ConnectLimiter, Limiters};
use crate::pipe::OnFull;
use crate::pipe::{self, Flushed, Outbox, SendError};
use crate::stats::{Stats, StreamIndex};
use crate::tick::{Channel, Event, Gap, Symbol, Tick};

use dedup::{Fresh, Seen};
use dial::{Dial, Dialer, Link};
use errors::{describe, is_permanent};
use read_ahead::ReadAhead;

pub use crate::admission::Admission;
pub use depth::{BookSettings, Books, Pending, book_data, resync_gaps};
pub use errors::ConnectionError;

type Ws = WebSocketStream<MaybeTlsStream<ReadAhead<TcpStream>>>;

/// How long to wait for the server's reply to our close frame before giving up on it.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// The largest message accepted; Binance's are a few hundred bytes.
pub const MAX_MESSAGE_SIZE: usize = 1 << 20;
/// Frames handled per turn of the session loop when they are already buffered: the loop's
/// timers and tokens are set up once per batch instead of once per frame.
const FRAME_BATCH: usize = 64;
/// A wake-up that handled fewer frames than this (the socket then had nothing more) is a
/// trickle: the socket rests until the next read instant (see `Settings::read_every`). A
/// flood brings more per wake-up, so it never rests.
const SMALL_BURST: usize = FRAME_BATCH;
/// The shortest `--read-interval` at which sockets rest after a trickle: at 1 ms, with a
/// venue that sends every millisecond, the rest's timer wake-up costs as much as it saves;
/// from a few milliseconds on it saves most wake-ups (README, "At live rates").
pub const REST_FROM: Duration = Duration::from_millis(2);
/// Wait after an HTTP 418 (IP ban) that names no time.
const BAN_WAIT: Duration = Duration::from_secs(120);

/// The tunables of every connection.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Give up when no handshake succeeded for this long since start.
    pub connect_timeout: Duration,
    /// No frame at all (data or ping) for this long: the connection is stalled. `None`: the
    /// venue's default, which outlasts its ping interval ([`crate::exchange::Heartbeat`]).
    pub stale_after: Option<Duration>,
    /// Warn about a stream that delivered nothing for this long.
    pub silent_stream_after: Duration,
    /// Replace the connection (make-before-break) once it is this old. `None`: the venue's
    /// default, before the venue's own limit ([`crate::exchange::Limits`]).
    pub max_connection_age: Option<Duration>,
    /// Exit after this many consecutive failed attempts; `None` retries for ever.
    pub max_retries: Option<u32>,
    /// The first reconnect delay's ceiling.
    pub backoff_initial: Duration,
    /// No reconnect delay is longer.
    pub backoff_max: Duration,
    /// After a small burst (see [`SMALL_BURST`]), leave the socket unread until the next
    /// multiple of this on the wall clock, so frames that trickle in are read together, and
    /// every connection reads at the same instants (one wake-up of the runtime for all);
    /// zero reads each frame as it comes (the default). `--read-interval` sets it (zero or
    /// [`REST_FROM`] and more): resting delays reading (and so `recv_ns`) by up to this much.
    pub read_every: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            connect_timeout: Duration::from_secs(30),
            stale_after: None,
            silent_stream_after: Duration::from_secs(300),
            max_connection_age: None,
            max_retries: None,
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            read_every: Duration::ZERO,
        }
    }
}

/// Everything a connection task shares with the rest of the run.
#[derive(Clone)]
pub struct Shared {
    /// Run-wide counters.
    pub stats: Arc<Stats>,
    /// Stage 1 of shutdown: close the socket, stop reading, drop the sender.
    pub intake: CancellationToken,
    /// The hard deadline passed: stop whatever is being waited on.
    pub abort: CancellationToken,
    /// What to do when the channel is full.
    pub on_full: OnFull,
    /// The `--limit` gate, shared by all connections.
    pub admission: Arc<Admission>,
    /// The attempt limits, one per venue, each shared by that venue's connections.
    pub limiters: Arc<Limiters>,
    /// Tunables.
    pub settings: Settings,
    /// Order books (`depth`, `book`): levels, interval, REST endpoints and budgets.
    pub books: BookSettings,
    /// `--raw`: where every frame, request and connect/disconnect is copied; `None` (one
    /// branch per burst of frames) when off.
    pub raw: Option<crate::raw::Tap>,
    /// `record --raw` without `--out`: no output needs ticks, so connections that keep no
    /// order book do not decode data frames (see `raw_only.rs`).
    pub raw_only: bool,
}

/// One WebSocket connection's task and its state.
pub struct Connection {
    /// What every connection shares.
    shared: Shared,
    /// The venue of every stream of this connection.
    exchange: &'static dyn Exchange,
    /// The venue's attempt limit, shared with its other connections.
    limiter: Arc<ConnectLimiter>,
    /// `--stale-after`, or the venue's default.
    stale_after: Duration,
    /// `--max-connection-age`, or the venue's default.
    max_age: Duration,
    /// The buffer frames are decoded into, reused frame after frame.
    out: Out,
    /// The smallest `recv_ns - exchange_ns` since the last flush (clock skew).
    skew: crate::skew::Local,

    /// The streams this connection carries.
    streams: Vec<StreamId>,
    /// Opens sockets for these streams.
    dialer: Dialer,
    /// Where events go, a burst at a time; dropped when the task ends, which is how the
    /// sink learns intake is over.
    outbox: Outbox,
    /// Per symbol and channel slot ([`Channel::index`]): last sequence, receive time,
    /// de-duplication and silence state of each stream this connection carries.
    seen: FxHashMap<Symbol, [Option<Seen>; Channel::ALL.len()]>,
    /// Decode failures per kind, for rate-limited logging.
    decode_failures: HashMap<&'static str, u64>,
    /// Two sockets deliver the same streams (a make-before-break): check every tick.
    overlapping: bool,
    /// The order books of this connection's `depth`/`book` streams, if it has any.
    books: Option<depth::Books>,
    /// Order-book rows and gaps not yet sent.
    book_pending: depth::Pending,
    /// Frames the primary socket delivered since it was last found empty, and whether it
    /// was found empty after the last one (the burst is over).
    burst: (usize, bool),
    /// Only the raw capture needs this connection's frames (and it keeps no book): data
    /// frames are counted, not decoded.
    raw_only: bool,
    /// `--raw`: the number of the last socket lost, whose gap a `stop` record ends when
    /// the run ends before a reconnect.
    lost_conn: Option<u32>,
}

/// Which socket a frame came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Primary,
    Retiring,
}

/// What the loop does after a frame.
enum Next {
    Continue,
    /// The server announced it will close: replace the socket now.
    Replace,
    /// Intake is over from the sink's side, or the deadline passed.
    Stop,
    /// The socket is gone.
    Lost(Loss),
}

/// What became of a decoded frame without waiting.
enum Offer {
    /// Handled (batched, skipped, or the run is over).
    Done(Next),
    /// The frame carried order-book messages (in `out.depth`): applied asynchronously.
    Depth,
    /// The batch is full: send it before the next frame.
    Flush,
    /// A control message, handled asynchronously (it may emit gap records).
    Control(Control),
}

/// How a socket was lost.
struct Loss {
    /// For the log.
    why: String,
    /// For the gap record.
    reason: &'static str,
}

/// How one connected session ended.
enum SessionEnd {
    Stopped,
    Lost {
        loss: Loss,
        /// Wall-clock time of the last frame before the loss.
        since_ns: u64,
        /// Whether the lost socket delivered data (resets the backoff).
        delivered: bool,
        /// The lost socket's raw capture, whose disconnect record is written when this
        /// is dropped: with the loss reason when the task opens a gap. Boxed: a socket's
        /// tap holds its burst's buffers.
        raw: Option<Box<crate::raw::SocketTap>>,
    },
}

/// A retiring socket during a make-before-break.
struct Retiring {
    link: Link,
    /// When the close frame was sent; `None` while waiting for the new socket's first data.
    closing_since: Option<Instant>,
}

impl Connection {
    /// A task for `streams` (all of one venue and route) at `endpoint`; nothing happens
    /// until [`Connection::run`].
    pub fn new(
        shared: Shared,
        endpoint: &str,
        streams: Vec<StreamId>,
        tx: pipe::Sender,
    ) -> Connection {
        let venue = streams.first().map(|s| s.venue).unwrap_or_default();
        debug_assert!(
            streams.iter().all(|s| s.venue == venue),
            "one venue per connection"
        );
        let exchange = venue.exchange();
        let mut dialer = Dialer::new(exchange, endpoint, &streams);
        dialer.raw = shared
            .raw
            .clone()
            .map(|tap| (tap, venue, Arc::from(streams.as_slice())));
        let books = depth::Books::of(&streams, &shared.books);
        let raw_only = shared.raw_only && shared.raw.is_some() && books.is_none();
        let mut seen: FxHashMap<Symbol, [Option<Seen>; Channel::ALL.len()]> = FxHashMap::default();
        for stream in &streams {
            seen.entry(stream.symbol.clone()).or_default()[stream.channel.index()] = Some(Seen {
                counted_at: shared.stats.position(stream),
                ..Seen::default()
            });
        }
        Connection {
            stale_after: shared
                .settings
                .stale_after
                .unwrap_or(exchange.heartbeat().stale_after),
            max_age: shared
                .settings
                .max_connection_age
                .unwrap_or(exchange.limits().max_connection_age),
            limiter: shared.limiters.of(venue),
            shared,
            exchange,
            out: Out::default(),
            skew: crate::skew::Local::default(),
            streams,
            dialer,
            outbox: Outbox::new(tx, FRAME_BATCH),
            seen,
            decode_failures: HashMap::new(),
            overlapping: false,
            books,
            book_pending: Vec::new(),
            burst: (0, false),
            raw_only,
            lost_conn: None,
        }
    }

    /// Connects and reads until intake stops; reconnects with backoff when the connection
    /// is lost. Fails only when it never connected within the timeout, was refused for good,
    /// or `--max-retries` attempts in a row failed.
    pub async fn run(mut self) -> Result<(), ConnectionError> {
        let settings = self.shared.settings.clone();
        let mut backoff = Backoff::new(settings.backoff_initial, settings.backoff_max);
        // Until the first handshake succeeds, failing for `connect_timeout` ends the run.
        let mut first_deadline = Some(Instant::now() + settings.connect_timeout);
        let mut last_cause = None;
        let mut failures = 0u32;
        // An interruption not yet covered by a gap record: (since_ns, reason). Until the
        // first connection, a run that ends records its streams as never connected.
        let mut open_gap: Option<(u64, &'static str)> = Some((clock::now_ns(), "never_connected"));
        let stats = self.shared.stats.clone();
        let dialing = &stats.dialing;
        loop {
            tokio::select! {
                _ = self.limiter.acquire() => {}
                _ = self.shared.intake.cancelled() => return self.end(open_gap).await,
            }
            if first_deadline.is_some() {
                dialing.attempt(&self.dialer.url, failures + 1);
            }
            let limit = first_deadline.unwrap_or_else(|| Instant::now() + settings.connect_timeout);
            let attempt = {
                let connecting = tokio::time::timeout_at(limit, self.dialer.dial());
                tokio::pin!(connecting);
                tokio::select! {
                    biased;
                    attempt = &mut connecting => attempt,
                    _ = self.shared.intake.cancelled() => {
                        // The server may have finished its side and be sending already: let the
                        // handshake finish (briefly) so the close handshake delivers what it sent.
                        tokio::select! {
                            attempt = &mut connecting => attempt,
                            _ = tokio::time::sleep(CLOSE_WAIT) => return self.end(open_gap).await,
                            _ = self.shared.abort.cancelled() => return self.end(open_gap).await,
                        }
                    }
                }
            };
            let (cause, wait_at_least) = match attempt {
                Ok(Ok(link)) => {
                    if first_deadline.take().is_none() {
                        Stats::bump(&self.shared.stats.reconnects);
                    } else {
                        // Connected at last: the time before was the run's start, not a gap.
                        dialing.connected();
                        open_gap = None;
                    }
                    failures = 0;
                    Stats::bump(&self.shared.stats.connects);
                    info!(url = %self.dialer.url, "connected");
                    // The gap ends when the new socket's handshake completed (the raw
                    // capture's connect record has the same time).
                    if let Some((since_ns, reason)) = open_gap.take()
                        && self.gaps(since_ns, link.opened_ns, reason).await.is_err()
                    {
                        return Ok(());
                    }
                    match self.session(link).await {
                        SessionEnd::Stopped => return Ok(()),
                        // Past --limit nothing more is wanted: neither a reconnect nor a gap.
                        SessionEnd::Lost { .. } if self.shared.admission.reached.is_cancelled() => {
                            return Ok(());
                        }
                        SessionEnd::Lost {
                            loss,
                            since_ns,
                            delivered,
                            raw,
                        } => {
                            if let Some(mut raw) = raw {
                                raw.lost(loss.reason);
                                self.lost_conn = Some(raw.conn());
                            }
                            if delivered {
                                backoff.reset();
                            }
                            open_gap = Some((since_ns, loss.reason));
                            (loss.why, Duration::ZERO)
                        }
                    }
                }
                Ok(Err(e)) if is_permanent(&e) => {
                    return Err(ConnectionError::Refused {
                        url: self.dialer.url.to_string(),
                        cause: describe(&e),
                    });
                }
                Ok(Err(e)) => {
                    failures += 1;
                    (describe(&e), self.server_wait(&e))
                }
                // Cut short by the first-connect deadline: the previous failure says more.
                Err(_) => {
                    failures += 1;
                    let cause = last_cause.take();
                    (
                        cause.unwrap_or_else(|| "handshake timed out".to_owned()),
                        Duration::ZERO,
                    )
                }
            };
            if first_deadline.is_some() {
                dialing.failed(&cause);
                if failures == crate::dialing::WARN_AFTER_FAILURES {
                    let timeout = settings.connect_timeout;
                    warn!(
                        "{}",
                        crate::dialing::still_trying(&self.dialer.url, failures, &cause, timeout)
                    );
                }
            }
            if let Some(max) = settings.max_retries
                && failures > max
            {
                return Err(ConnectionError::GaveUp {
                    url: self.dialer.url.to_string(),
                    attempts: failures,
                    cause,
                });
            }
            let mut delay = backoff.next_delay().max(wait_at_least);
            if let Some(deadline) = first_deadline {
                let now = Instant::now();
                if now >= deadline {
                    return Err(ConnectionError::NeverConnected {
                        url: self.dialer.url.to_string(),
                        timeout: humantime::format_duration(settings.connect_timeout),
                        cause,
                    });
                }
                delay = delay.min(deadline - now);
                // The final error names the cause; until then retries are not news.
                info!(url = %self.dialer.url, "{cause}; retrying in {delay:?}");
            } else {
                warn!(url = %self.dialer.url, "{cause}; reconnecting in {delay:?}");
            }
            last_cause = Some(cause);
            tokio::select! {
                _ = self.shared.intake.cancelled() => return self.end(open_gap).await,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// How long the server asked us to wait (HTTP 429 and 418 with `Retry-After`).
    fn server_wait(&self, e: &tungstenite::Error) -> Duration {
        let tungstenite::Error::Http(response) = e else {
            return Duration::ZERO;
        };
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match response.status().as_u16() {
            429 => retry_after.unwrap_or_default(),
            418 => {
                let wait = retry_after.unwrap_or(BAN_WAIT);
                error!(
                    url = %self.dialer.url,
                    "the server banned this IP (HTTP 418); no attempt for {}",
                    humantime::format_duration(wait)
                );
                wait
            }
            _ => Duration::ZERO,
        }
    }

    /// Ends the task; an interruption still open at shutdown gets its gap record.
    async fn end(&mut self, open_gap: Option<(u64, &'static str)>) -> Result<(), ConnectionError> {
        if let Some((since_ns, reason)) = open_gap {
            let to_ns = clock::now_ns();
            // The raw capture says when (so `foxtrot convert` ends the gap at the same time),
            // and keeps the gap of a connection that never opened a socket, which no frame
            // tells.
            if let Some(tap) = &self.shared.raw {
                let (conn, event) = match self.lost_conn {
                    Some(conn) if reason != "never_connected" => (conn, crate::raw::Event::Stop),
                    _ => (
                        0,
                        crate::raw::Event::Gap {
                            streams: Arc::from(self.streams.as_slice()),
                            from_ns: since_ns,
                            reason,
                        },
                    ),
                };
                tap.record(crate::raw::Record {
                    recv_ns: to_ns,
                    venue: self.exchange.venue(),
                    conn,
                    event,
                });
            }
            let _ = self.gaps(since_ns, to_ns, reason).await;
        }
        Ok(())
    }

    /// One gap record per stream of this connection (see [`stream_gaps`]).
    async fn gaps(&mut self, from_ns: u64, to_ns: u64, reason: &'static str) -> Result<(), ()> {
        let gaps: Vec<Gap> = stream_gaps(&self.streams, from_ns, to_ns, reason).collect();
        for gap in gaps {
            self.emit_gap(gap).await?;
        }
        Ok(())
    }

    async fn emit_gap(&mut self, gap: Gap) -> Result<(), ()> {
        Stats::bump(&self.shared.stats.gaps);
        // Gaps are never dropped, whatever --on-full says: a hole must stay visible.
        let sent = self
            .outbox
            .send_now(Event::Gap(gap), self.shared.on_full, &self.shared.abort)
            .await;
        self.count_flushed(sent).map_err(|_| ())
    }

    /// Sends the ticks gathered so far (see [`Outbox`]): after every burst of frames, and
    /// before anything that waits.
    async fn flush(&mut self) -> Next {
        self.skew
            .publish(&self.shared.stats.skew, self.exchange.venue());
        let flushed = self
            .outbox
            .flush(self.shared.on_full, &self.shared.abort)
            .await;
        match self.count_flushed(flushed) {
            Ok(()) => Next::Continue,
            Err(_) => Next::Stop,
        }
    }

    /// Counts what a flush dropped; passes on why sending ended.
    fn count_flushed(&self, flushed: Result<Flushed, SendError>) -> Result<(), SendError> {
        let dropped = flushed?.dropped as u64;
        if dropped > 0 {
            self.shared.stats.dropped.fetch_add(dropped, Relaxed);
        }
        Ok(())
    }
}

/// The gap records of a connection whose socket was lost (or never opened) from `from_ns`
/// to `to_ns`: one per stream, in the connection's order. `foxtrot convert` rebuilds a
/// capture's gaps with it.
pub fn stream_gaps<'a>(
    streams: &'a [StreamId],
    from_ns: u64,
    to_ns: u64,
    reason: &'static str,
) -> impl Iterator<Item = Gap> + 'a {
    streams.iter().map(move |stream| Gap {
        exchange: stream.venue,
        symbol: stream.symbol.clone(),
        channel: stream.channel,
        from_ns,
        to_ns,
        reason,
    })
}

async fn next_frame(
    retiring: &mut Option<Retiring>,
) -> Option<Result<Message, tungstenite::Error>> {
    match retiring {
        Some(old) => old.link.ws.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The close frame foxtrot sends: 1000 Normal Closure (RFC 6455, 7.4.1). A close frame
/// without a code reads as 1005 "no status received" on the server's side (issue 13).
fn normal_close() -> Option<tungstenite::protocol::CloseFrame> {
    Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "".into(),
    })
}

fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_failures_are_logged_at_powers_of_ten() {
        let logged: Vec<u64> = (1..=2000).filter(|&n| is_power_of_ten(n)).collect();
        assert_eq!(logged, [1, 10, 100, 1000]);
    }
}
