//! One task per WebSocket connection (a shard of the streams), for the program's whole life:
//! connect, subscribe, read, decode, send; reconnect with backoff inside the same task;
//! replace the socket before it ages out; close with a close frame when intake stops.
//!
//! A reconnect or a replacement never spawns anything: this task's one loop reads at most
//! two sockets (the old one and its replacement, during a make-before-break), so there is
//! never a stray reader or heartbeat. Pongs are sent by tungstenite on the next read, and
//! this loop always reads. While sending into a full channel the task waits on the abort
//! token, not on intake: during the drain the sink is still reading, so nothing deadlocks.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
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
use crate::limiter::ConnectLimiter;
use crate::pipe::OnFull;
use crate::pipe::{self, Flushed, Outbox, SendError};
use crate::stats::{Stats, StreamIndex};
use crate::tick::{Channel, Event, Gap, Symbol, Tick};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long to wait for the server's reply to our close frame before giving up on it.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// The largest message accepted; Binance's are a few hundred bytes.
pub const MAX_MESSAGE_SIZE: usize = 1 << 20;
/// Frames handled per turn of the session loop when they are already buffered: the loop's
/// timers and tokens are set up once per batch instead of once per frame.
const FRAME_BATCH: usize = 64;
/// Wait after an HTTP 418 (IP ban) that names no time.
const BAN_WAIT: Duration = Duration::from_secs(120);

/// Why a connection task gave up. Each ends the run with exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No handshake succeeded within `--connect-timeout`.
    #[error(
        "could not connect to {url} within {timeout} ({cause}); {}",
        crate::dialing::WHAT_TO_CHECK
    )]
    NeverConnected {
        /// The URL tried.
        url: String,
        /// The timeout, as typed.
        timeout: humantime::FormattedDuration,
        /// The last failure.
        cause: String,
    },
    /// The server refused in a way retrying cannot fix (bad certificate, HTTP 404, ...).
    #[error("cannot connect to {url} ({cause})")]
    Refused {
        /// The URL tried.
        url: String,
        /// What the server or TLS said.
        cause: String,
    },
    /// `--max-retries` consecutive attempts failed.
    #[error("gave up on {url} after {attempts} failed attempts in a row ({cause})")]
    GaveUp {
        /// The URL tried.
        url: String,
        /// Consecutive failures.
        attempts: u32,
        /// The last failure.
        cause: String,
    },
}

/// Admits ticks up to `--limit` across all connections and says when the limit is reached.
#[derive(Debug)]
pub struct Admission {
    /// The limit, if any.
    limit: Option<u64>,
    /// Ticks admitted so far (may run past the limit; those are refused).
    admitted: AtomicU64,
    /// Cancelled when the limit is reached: the run's cue to stop.
    pub reached: CancellationToken,
}

impl Admission {
    /// Admits everything when `limit` is `None`.
    pub fn new(limit: Option<u64>) -> Admission {
        Admission {
            limit,
            admitted: AtomicU64::new(0),
            reached: CancellationToken::new(),
        }
    }

    /// Whether one more tick may enter the run.
    pub fn admit(&self) -> bool {
        let Some(limit) = self.limit else { return true };
        let n = self.admitted.fetch_add(1, Relaxed) + 1;
        if n == limit {
            self.reached.cancel();
        }
        n <= limit
    }
}

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
    /// The attempt limit, shared by all connections.
    pub limiter: Arc<ConnectLimiter>,
    /// Tunables.
    pub settings: Settings,
}

/// One WebSocket connection's task and its state.
pub struct Connection {
    /// What every connection shares.
    shared: Shared,
    /// The venue of every stream of this connection.
    exchange: &'static dyn Exchange,
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
}

/// What the connection remembers about one stream.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    /// Where the run counts this stream, found once here instead of once per tick.
    counted_at: Option<StreamIndex>,
    /// The sequence of the last tick delivered (see `TickData::sequence`).
    last_seq: Option<u64>,
    /// When the stream last delivered (or its connection opened), for silence warnings.
    last_ns: u64,
    /// After a replacement: drop ticks at or below `last_seq` until the new socket delivers
    /// a newer one, so the overlap yields neither a hole nor a duplicate.
    dedupe: bool,
    /// A silence warning was logged and the stream has not delivered since.
    warned: bool,
}

/// One open socket and what is known about it.
struct Link {
    ws: Ws,
    /// When the handshake completed.
    opened: Instant,
    /// When the last frame of any kind arrived.
    last_frame: Instant,
    /// Wall-clock time of the last frame (gap records start here).
    last_frame_ns: u64,
    /// Whether any data frame arrived.
    delivered: bool,
    /// Subscriptions sent and not yet answered, by what their answer names.
    pending: HashMap<AckKey, Vec<StreamId>>,
    /// When the last application-level ping went out (or the socket opened).
    last_ping: Instant,
}

/// What [`Connection::fresh`] found.
enum Fresh {
    /// A new tick, counted at this position of the run's stats (`None`: a stream this
    /// connection did not subscribe to, counted in the total only).
    New(Option<StreamIndex>),
    /// Already delivered by the other socket of a make-before-break.
    Repeat,
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
    },
}

/// A retiring socket during a make-before-break.
struct Retiring {
    link: Link,
    /// When the close frame was sent; `None` while waiting for the new socket's first data.
    closing_since: Option<Instant>,
}

type Dial = Pin<Box<dyn Future<Output = Result<Link, tungstenite::Error>> + Send>>;

/// Opens sockets by the venue's plan: dial the URL, then send the subscribe requests.
#[derive(Clone)]
struct Dialer {
    url: Arc<str>,
    /// The subscribe requests, in order.
    subscribes: Arc<[crate::exchange::Subscribe]>,
    /// Space between client messages, under the venue's rate.
    spacing: Duration,
}

impl Dialer {
    fn new(exchange: &dyn Exchange, endpoint: &str, streams: &[StreamId]) -> Dialer {
        let Plan { url, subscribes } = exchange.plan(endpoint, streams);
        Dialer {
            url: url.into(),
            subscribes: subscribes.into(),
            spacing: exchange.limits().message_spacing(),
        }
    }

    /// A handshake plus the SUBSCRIBE batches, as a future that owns what it needs. The
    /// caller takes its turn at the attempt limiter first.
    fn dial(&self) -> Dial {
        let dialer = self.clone();
        Box::pin(async move {
            let config = WebSocketConfig::default()
                .max_message_size(Some(MAX_MESSAGE_SIZE))
                .max_frame_size(Some(MAX_MESSAGE_SIZE));
            let (mut ws, _response) =
                tokio_tungstenite::connect_async_with_config(&*dialer.url, Some(config), true)
                    .await?;
            let mut pending = HashMap::new();
            for (i, subscribe) in dialer.subscribes.iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(dialer.spacing).await;
                }
                ws.send(Message::text(subscribe.message.as_str())).await?;
                pending.extend(subscribe.acks.iter().cloned());
            }
            let now = Instant::now();
            Ok(Link {
                ws,
                opened: now,
                last_frame: now,
                last_frame_ns: clock::now_ns(),
                delivered: false,
                pending,
                last_ping: now,
            })
        })
    }
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
        let dialer = Dialer::new(exchange, endpoint, &streams);
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
                _ = self.shared.limiter.acquire() => {}
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
                    if let Some((since_ns, reason)) = open_gap.take()
                        && self.gaps(since_ns, clock::now_ns(), reason).await.is_err()
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
                        } => {
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
            let _ = self.gaps(since_ns, clock::now_ns(), reason).await;
        }
        Ok(())
    }

    /// One gap record per stream of this connection.
    async fn gaps(&mut self, from_ns: u64, to_ns: u64, reason: &'static str) -> Result<(), ()> {
        for i in 0..self.streams.len() {
            let stream = &self.streams[i];
            let gap = Gap {
                exchange: self.exchange.venue(),
                symbol: stream.symbol.clone(),
                channel: stream.channel,
                from_ns,
                to_ns,
                reason,
            };
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

    async fn session(&mut self, mut primary: Link) -> SessionEnd {
        let settings = self.shared.settings.clone();
        let now_ns = clock::now_ns();
        for seen in self.seen.values_mut().flatten().flatten() {
            seen.last_ns = seen.last_ns.max(now_ns);
            seen.warned = false;
        }
        let mut retiring: Option<Retiring> = None;
        let mut replacement: Option<Dial> = None;
        let mut replace_at = primary.opened + self.max_age;
        let mut replace_backoff = Backoff::new(settings.backoff_initial, settings.backoff_max);
        let mut silence =
            tokio::time::interval(settings.silent_stream_after.max(Duration::from_millis(10)));
        silence.tick().await;
        loop {
            self.overlapping = retiring.is_some();
            let stale_at = primary.last_frame + self.stale_after;
            let retire_at = retiring.as_ref().map(|r| match r.closing_since {
                None => r.link.opened.max(primary.opened) + self.stale_after,
                Some(since) => since + CLOSE_WAIT,
            });
            let heartbeat = self.exchange.heartbeat();
            let ping_at = heartbeat.ping.map(|_| {
                let since = if heartbeat.when_idle {
                    primary.last_frame.max(primary.last_ping)
                } else {
                    primary.last_ping
                };
                since + heartbeat.every
            });
            tokio::select! {
                biased;
                _ = self.shared.intake.cancelled() => {
                    if let Some(mut old) = retiring.take() {
                        let _ = old.link.ws.close(normal_close()).await;
                    }
                    self.close(&mut primary).await;
                    return SessionEnd::Stopped;
                }
                frame = primary.ws.next() => match self.on_frames(frame, &mut primary).await {
                    Next::Continue => {
                        // The new socket delivers: the old one can go.
                        if primary.delivered
                            && let Some(old) = retiring.as_mut()
                            && old.closing_since.is_none()
                        {
                            let _ = old.link.ws.close(normal_close()).await;
                            old.closing_since = Some(Instant::now());
                        }
                    }
                    Next::Replace => {
                        if replacement.is_none() && retiring.is_none() {
                            replace_at = Instant::now();
                        }
                    }
                    Next::Stop => return SessionEnd::Stopped,
                    Next::Lost(loss) => {
                        if let Some(mut old) = retiring.take() {
                            // The replacement failed early: fall back to the old socket.
                            info!(url = %self.dialer.url, "replacement lost ({}); keeping the old connection", loss.why);
                            old.link.delivered = false;
                            primary = old.link;
                            continue;
                        }
                        return SessionEnd::Lost {
                            since_ns: primary.last_frame_ns,
                            delivered: primary.delivered,
                            loss,
                        };
                    }
                },
                frame = next_frame(&mut retiring), if retiring.is_some() => {
                    let Some(old) = retiring.as_mut() else { continue };
                    match self.on_frame(frame, &mut old.link, Role::Retiring).await {
                        Next::Continue | Next::Replace => {}
                        Next::Stop => return SessionEnd::Stopped,
                        Next::Lost(_) => retiring = None,
                    }
                }
                _ = sleep_until_opt(retire_at), if retire_at.is_some() => {
                    if let Some(mut old) = retiring.take() {
                        if old.closing_since.is_none() {
                            // The new socket has been quiet; close the old one anyway.
                            let _ = old.link.ws.close(normal_close()).await;
                            old.closing_since = Some(Instant::now());
                            retiring = Some(old);
                        } else {
                            debug!(url = %self.dialer.url, "no close reply from the replaced connection");
                        }
                    }
                }
                link = async { replacement.as_mut().expect("guarded").await }, if replacement.is_some() => {
                    replacement = None;
                    match link {
                        Ok(new) => {
                            info!(url = %self.dialer.url, "replacement connected; retiring the old connection");
                            Stats::bump(&self.shared.stats.replacements);
                            for seen in self.seen.values_mut().flatten().flatten() {
                                seen.dedupe = seen.last_seq.is_some();
                            }
                            let old = std::mem::replace(&mut primary, new);
                            retiring = Some(Retiring { link: old, closing_since: None });
                            replace_at = primary.opened + self.max_age;
                        }
                        Err(e) => {
                            let delay = replace_backoff.next_delay();
                            warn!(url = %self.dialer.url, "replacement failed ({}); retrying in {delay:?}", describe(&e));
                            replace_at = Instant::now() + delay;
                        }
                    }
                }
                _ = tokio::time::sleep_until(replace_at), if replacement.is_none() && retiring.is_none() => {
                    info!(url = %self.dialer.url, "opening a replacement connection");
                    let (limiter, dial) = (self.shared.limiter.clone(), self.dialer.dial());
                    replacement = Some(Box::pin(async move {
                        limiter.acquire().await;
                        dial.await
                    }));
                }
                _ = tokio::time::sleep_until(stale_at) => {
                    Stats::bump(&self.shared.stats.stalls);
                    let why = format!(
                        "no frame for {}: the connection is stalled",
                        humantime::format_duration(self.stale_after)
                    );
                    return SessionEnd::Lost {
                        since_ns: primary.last_frame_ns,
                        delivered: primary.delivered,
                        loss: Loss { why, reason: "stalled" },
                    };
                }
                _ = sleep_until_opt(ping_at), if ping_at.is_some() => {
                    primary.last_ping = Instant::now();
                    let ping = heartbeat.ping.unwrap_or_default();
                    if let Err(e) = primary.ws.send(Message::text(ping)).await {
                        return SessionEnd::Lost {
                            since_ns: primary.last_frame_ns,
                            delivered: primary.delivered,
                            loss: Loss { why: describe(&e), reason: "disconnected" },
                        };
                    }
                }
                _ = silence.tick() => self.warn_silent_streams(),
            }
        }
    }

    /// Handles a frame of the primary socket and then the frames already buffered behind it
    /// (up to [`FRAME_BATCH`]) without a trip through the session's `select!`, reading the
    /// clock once for all of them; stops early when intake stops or a frame needs the loop.
    async fn on_frames(
        &mut self,
        mut frame: Option<Result<Message, tungstenite::Error>>,
        link: &mut Link,
    ) -> Next {
        let (now, now_ns) = (Instant::now(), clock::now_ns());
        let mut handled = 0;
        let next = loop {
            let next = match frame {
                // The hot path: a data frame decoded and offered with no await, so no
                // future is built per frame; only what needs waiting goes the async way.
                Some(Ok(Message::Text(text))) => {
                    link.last_frame = now;
                    link.last_frame_ns = now_ns;
                    match self.deliver_now(text.as_str(), link, Role::Primary) {
                        Offer::Done(next) => next,
                        offer => self.settle(offer, link, Role::Primary).await,
                    }
                }
                // Anything else may wait (a close frame waits for the close reply): the
                // burst's ticks go out first.
                other => match self.flush().await {
                    Next::Continue => {
                        self.on_frame_at(other, link, Role::Primary, now, now_ns)
                            .await
                    }
                    stop => stop,
                },
            };
            handled += 1;
            // Check the budget before polling: a frame polled is a frame to handle.
            if !matches!(next, Next::Continue)
                || handled == FRAME_BATCH
                || self.shared.intake.is_cancelled()
            {
                break next;
            }
            // Poll once with this task's own waker (a no-op waker would replace it and
            // leave the socket unable to wake the task).
            let polled = std::future::poll_fn(|cx| Poll::Ready(link.ws.poll_next_unpin(cx))).await;
            match polled {
                Poll::Ready(more) => frame = more,
                Poll::Pending => break Next::Continue,
            }
        };
        // The burst is over: send its ticks before waiting for anything else.
        match self.flush().await {
            Next::Continue => next,
            stop => stop,
        }
    }

    /// Handles one frame (or the end) of a socket, received now.
    async fn on_frame(
        &mut self,
        frame: Option<Result<Message, tungstenite::Error>>,
        link: &mut Link,
        role: Role,
    ) -> Next {
        self.on_frame_at(frame, link, role, Instant::now(), clock::now_ns())
            .await
    }

    /// Handles one frame (or the end) of a socket, received at `now` / `now_ns`.
    async fn on_frame_at(
        &mut self,
        frame: Option<Result<Message, tungstenite::Error>>,
        link: &mut Link,
        role: Role,
        now: Instant,
        now_ns: u64,
    ) -> Next {
        let lost = |why: String, reason| Next::Lost(Loss { why, reason });
        let frame = match frame {
            Some(Ok(frame)) => frame,
            Some(Err(tungstenite::Error::Capacity(CapacityError::MessageTooLong {
                size,
                max_size,
            }))) => {
                Stats::bump(&self.shared.stats.decode_errors);
                self.count_failure("oversized", || {
                    format!("a {size}-byte message, more than {max_size}")
                });
                return lost(
                    format!("the server sent a {size}-byte message (limit {max_size})"),
                    "oversized",
                );
            }
            Some(Err(e)) => return lost(describe(&e), "disconnected"),
            None => return lost("connection ended".to_owned(), "disconnected"),
        };
        link.last_frame = now;
        match frame {
            Message::Text(text) => {
                link.last_frame_ns = now_ns;
                self.deliver(text.as_str(), link, role).await
            }
            Message::Close(frame) => {
                // Poll on so tungstenite sends the close reply, briefly.
                let _ = tokio::time::timeout(CLOSE_WAIT, async {
                    while let Some(Ok(_)) = link.ws.next().await {}
                })
                .await;
                let why = match frame {
                    Some(f) => format!("server closed the connection ({} {})", f.code, f.reason),
                    None => "server closed the connection".to_owned(),
                };
                lost(why, "disconnected")
            }
            // Issue 13: a binary frame never vanishes. UTF-8 bytes are read as text (some
            // servers send JSON as binary); anything else is counted and logged.
            Message::Binary(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => {
                    link.last_frame_ns = now_ns;
                    self.deliver(text, link, role).await
                }
                Err(_) => {
                    Stats::bump(&self.shared.stats.decode_errors);
                    self.count_failure("binary", || {
                        format!("a {}-byte binary frame that is not UTF-8 text", bytes.len())
                    });
                    Next::Continue
                }
            },
            // tungstenite queues the pong itself; it goes out with the next read.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Next::Continue,
        }
    }

    async fn deliver(&mut self, text: &str, link: &mut Link, role: Role) -> Next {
        // Decoding and handing over happen without an await in between, so the tick is
        // built on the stack and moved once, into the batch; then the batch goes out.
        let offer = self.deliver_now(text, link, role);
        match self.settle(offer, link, role).await {
            Next::Continue => self.flush().await,
            other => other,
        }
    }

    /// Finishes what [`Connection::deliver_now`] could not: waits for room, or handles a
    /// control message.
    async fn settle(&mut self, offer: Offer, link: &mut Link, role: Role) -> Next {
        match offer {
            Offer::Done(next) => next,
            Offer::Flush => loop {
                // A frame's ticks filled the batch: send it, then offer the rest.
                match self.flush().await {
                    Next::Continue => {}
                    stop => break stop,
                }
                match self.offer_rest(role) {
                    Offer::Flush => continue,
                    Offer::Done(next) => break next,
                    Offer::Control(_) => unreachable!("only ticks are offered"),
                }
            },
            Offer::Control(control) => self.on_control(control, link, role).await,
        }
    }

    /// Decodes `text` and adds its new ticks to the batch (see [`Outbox`]).
    fn deliver_now(&mut self, text: &str, link: &mut Link, role: Role) -> Offer {
        self.out.clear();
        match self
            .exchange
            .decode(text, link.last_frame_ns, &mut self.out)
        {
            Ok(Decoded::Data) => {
                link.delivered = true;
                if self.out.ticks.len() > 1 {
                    self.out.ticks.reverse();
                }
                self.offer_rest(role)
            }
            Ok(Decoded::Control(control)) => Offer::Control(control),
            Ok(Decoded::Unsupported) => Offer::Done(Next::Continue),
            Err(e) => {
                Stats::bump(&self.shared.stats.decode_errors);
                self.count_failure(e.kind(), || e.to_string());
                Offer::Done(Next::Continue)
            }
        }
    }

    /// Offers the decoded ticks not yet offered, until the batch is full.
    #[inline]
    fn offer_rest(&mut self, role: Role) -> Offer {
        // Taken out and put back, so the buffer keeps its memory and `self` stays free.
        // The ticks are in reverse order (see `deliver_now`): each is moved out, not cloned.
        let mut ticks = std::mem::take(&mut self.out.ticks);
        let mut offer = Offer::Done(Next::Continue);
        while let Some(tick) = ticks.pop() {
            let Fresh::New(counted_at) = self.fresh(&tick, role) else {
                continue;
            };
            offer = self.offer(tick, counted_at);
            if !matches!(offer, Offer::Done(Next::Continue)) {
                break;
            }
        }
        self.out.ticks = ticks;
        offer
    }

    /// Whether a tick is new (not a repeat from the overlap of a replacement), and records
    /// it: the one lookup of its stream per tick.
    fn fresh(&mut self, tick: &Tick, role: Role) -> Fresh {
        let seq = tick.data.sequence();
        let slot = self
            .seen
            .get_mut(&tick.symbol)
            .and_then(|slots| slots[tick.channel().index()].as_mut());
        let Some(seen) = slot else {
            return Fresh::New(None);
        };
        seen.last_ns = tick.recv_ns;
        seen.warned = false;
        if seen.dedupe || self.overlapping || role == Role::Retiring {
            if seen.last_seq.is_some_and(|last| seq <= last) {
                return Fresh::Repeat;
            }
            if role == Role::Primary {
                seen.dedupe = false;
            }
        }
        seen.last_seq = Some(seq);
        Fresh::New(seen.counted_at)
    }

    async fn on_control(&mut self, control: Control, link: &mut Link, role: Role) -> Next {
        match control {
            Control::Ack { key } => {
                if let Some(key) = key {
                    link.pending.remove(&key);
                }
                Next::Continue
            }
            Control::Pong => Next::Continue,
            Control::Error { code, msg, key } => {
                let rejected = match key {
                    Some(key) => link.pending.remove(&key),
                    // An error that names no request refuses what is still pending (OKX
                    // answers a bad subscribe with a bare error).
                    None if !link.pending.is_empty() => {
                        Some(link.pending.drain().flat_map(|(_, s)| s).collect())
                    }
                    None => None,
                };
                let Some(streams) = rejected else {
                    warn!(url = %self.dialer.url, "server error {code}: {msg}");
                    return Next::Continue;
                };
                let names: Vec<String> = streams
                    .iter()
                    .map(|s| format!("{}@{}", s.symbol, s.channel))
                    .collect();
                error!(url = %self.dialer.url, "the server rejected {} ({code}: {msg})", names.join(", "));
                if role == Role::Primary {
                    let now = clock::now_ns();
                    for stream in streams {
                        let gap = Gap {
                            exchange: self.exchange.venue(),
                            symbol: stream.symbol,
                            channel: stream.channel,
                            from_ns: now,
                            to_ns: now,
                            reason: "rejected",
                        };
                        if self.emit_gap(gap).await.is_err() {
                            return Next::Stop;
                        }
                    }
                }
                Next::Continue
            }
            Control::ServerShutdown { .. } if role == Role::Primary => {
                info!(url = %self.dialer.url, "the server announced its shutdown; replacing the connection");
                Next::Replace
            }
            Control::ServerShutdown { .. } => Next::Continue,
        }
    }

    fn count_failure(&mut self, kind: &'static str, describe: impl FnOnce() -> String) {
        let seen = self.decode_failures.entry(kind).or_default();
        *seen += 1;
        // The first of each kind, then every power of ten: visible, never a flood.
        if is_power_of_ten(*seen) {
            warn!(url = %self.dialer.url, count = *seen, "skipped a frame: {}", describe());
        }
    }

    fn warn_silent_streams(&mut self) {
        let now = clock::now_ns();
        let limit = self.shared.settings.silent_stream_after.as_nanos() as u64;
        for (symbol, slots) in &mut self.seen {
            for (channel, seen) in Channel::ALL.iter().zip(slots.iter_mut()) {
                let Some(seen) = seen else { continue };
                if seen.warned || now.saturating_sub(seen.last_ns) < limit {
                    continue;
                }
                seen.warned = true;
                warn!(
                    "no {channel} data for {symbol} for {} while the connection is alive: is {symbol} listed on {}?",
                    humantime::format_duration(self.shared.settings.silent_stream_after),
                    self.exchange.name()
                );
            }
        }
    }

    /// Sends a close frame, then keeps reading until the server's reply: whatever the
    /// server sent before it saw our close is still delivered.
    async fn close(&mut self, link: &mut Link) {
        let abort = self.shared.abort.clone();
        let url = self.dialer.url.clone();
        let closing = async {
            if let Err(e) = link.ws.close(normal_close()).await {
                debug!(%url, "close frame not sent: {e}");
                return;
            }
            while let Some(Ok(frame)) = link.ws.next().await {
                // Text, or binary that is UTF-8 text (see `on_frame_at`).
                let text = match &frame {
                    Message::Text(text) => Some(text.as_str()),
                    Message::Binary(bytes) => std::str::from_utf8(bytes).ok(),
                    _ => None,
                };
                if let Some(text) = text {
                    link.last_frame_ns = clock::now_ns();
                    if let Next::Stop = self.deliver(text, link, Role::Primary).await {
                        return;
                    }
                }
            }
        };
        tokio::select! {
            _ = closing => {}
            _ = abort.cancelled() => {}
            _ = tokio::time::sleep(CLOSE_WAIT) => debug!(%url, "no close reply from the server"),
        }
    }

    /// Admits `tick` under `--limit` and adds it to the batch; a full batch is sent before
    /// the next frame.
    fn offer(&mut self, tick: Tick, counted_at: Option<StreamIndex>) -> Offer {
        if !self.shared.admission.admit() {
            return Offer::Done(Next::Continue);
        }
        self.shared.stats.tick_received(counted_at, tick.recv_ns);
        self.skew.sample(tick.recv_ns, tick.exchange_ns);
        if self.outbox.push(Event::Tick(tick)) {
            Offer::Flush
        } else {
            Offer::Done(Next::Continue)
        }
    }
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

/// Whether retrying cannot help: a bad URL, a TLS failure, or an HTTP refusal other than
/// "slow down" (408, 418, 429) or a server-side error (5xx).
fn is_permanent(e: &tungstenite::Error) -> bool {
    use tungstenite::Error;
    match e {
        Error::Url(_) | Error::Tls(_) => true,
        Error::Http(response) => {
            let status = response.status().as_u16();
            (400..500).contains(&status) && ![408, 418, 429].contains(&status)
        }
        Error::Io(io) => tls_cause(io).is_some(),
        _ => false,
    }
}

fn tls_cause(io: &std::io::Error) -> Option<&rustls::Error> {
    io.get_ref()?.downcast_ref::<rustls::Error>()
}

/// One line for a handshake or read failure, without tungstenite's prefixes.
fn describe(e: &tungstenite::Error) -> String {
    use tungstenite::Error;
    match e {
        Error::Http(response) => format!("HTTP {}", response.status()),
        Error::Io(io) => match tls_cause(io) {
            Some(tls) => format!("TLS: {tls}"),
            None => io.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::binance::Binance;

    #[test]
    fn admission_stops_at_the_limit() {
        let a = Admission::new(Some(3));
        assert_eq!(
            (0..5).map(|_| a.admit()).collect::<Vec<_>>(),
            [true, true, true, false, false]
        );
        assert!(a.reached.is_cancelled());
        let unlimited = Admission::new(None);
        assert!((0..1000).all(|_| unlimited.admit()));
        assert!(!unlimited.reached.is_cancelled());
    }

    #[test]
    fn decode_failures_are_logged_at_powers_of_ten() {
        let logged: Vec<u64> = (1..=2000).filter(|&n| is_power_of_ten(n)).collect();
        assert_eq!(logged, [1, 10, 100, 1000]);
    }

    fn streams(n: usize) -> Vec<StreamId> {
        (0..n)
            .map(|i| {
                StreamId::new(
                    crate::exchange::Venue::Binance,
                    Symbol::parse(&format!("SYMBOL{i:06}USDT")).unwrap(),
                    Channel::BookTicker,
                )
            })
            .collect()
    }

    #[test]
    fn long_stream_lists_spill_into_subscribe_batches() {
        use crate::exchange::binance::SPOT_LIMITS as LIMITS;
        let short = Dialer::new(&Binance, "ws://h", &streams(10));
        assert!(short.subscribes.is_empty());
        let all = streams(1024);
        let long = Dialer::new(&Binance, "ws://h", &all);
        assert!(long.url.len() <= LIMITS.max_url_len, "{}", long.url.len());
        let in_url = long.url.matches('@').count();
        let acks: Vec<_> = long.subscribes.iter().flat_map(|s| &s.acks).collect();
        let subscribed: usize = acks.iter().map(|(_, s)| s.len()).sum();
        assert_eq!(in_url + subscribed, all.len());
        assert!(acks.iter().all(|(_, s)| s.len() <= LIMITS.subscribe_batch));
        let ids: Vec<AckKey> = acks.iter().map(|(key, _)| key.clone()).collect();
        assert_eq!(
            ids,
            (1..=ids.len() as u64).map(AckKey::Id).collect::<Vec<_>>()
        );
    }
}
