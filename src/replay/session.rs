//! One client connection replaying the recording, from the upgraded WebSocket to close.
//!
//! This module owns a session's loop: one `select!` over the shutdown token, incoming
//! frames (requests, pings, pongs, close), flushing, the age and pong deadlines, the ping
//! timer and the send pacing. Every branch's future is cancel-safe (nothing is half-sent
//! when another branch wins): data is queued with `feed` in handlers and written by the
//! separate flush branch. Faults that leave the WebSocket protocol (dropping the TCP
//! connection, stalling) happen after the loop, on the bare socket. It does not do the
//! handshake or choose the kind of session (see `accept`).

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::accept::Shared;
use super::behavior::{Behavior, MAX_BATCH, Pacer, Step};
use super::dialect::books::Spoiled;
use super::endpoint::{Dialect, Endpoint, Framing};
use super::fault::{self, InjectionKind};
use super::library::{Library, frame_combined};
use super::request::{self, Request as ClientRequest, RequestError};
use super::stats::Stats;
use super::streams::Subscriptions;
use super::wait::{PING_PAYLOAD, at, drain, ping_timer, tick, wait_until};

/// How long to wait for the client's side of a closing handshake. Shorter than the
/// server's shutdown grace, so a silent client never needs the abort.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The most library entries looked at per loop turn when few match, so a sparse
/// subscription still lets requests and shutdown through.
const SCAN_BUDGET: usize = 4096;

pub(super) type Ws = WebSocketStream<TcpStream>;

/// Why a session is not sending data right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sending {
    /// Walking the library.
    Active,
    /// Reached `limit`: idle until the client leaves.
    Limit,
    /// Reached the end of the library without looping: idle until the client leaves.
    Exhausted,
    /// A whole lap of a looped library matched nothing: wait for a subscription change
    /// instead of spinning.
    NoMatch,
}

/// How a loop turn ended.
enum Flow {
    Continue,
    /// Close the connection with this code.
    Close(CloseCode, &'static str),
    /// The client closed; its Close is answered, nothing more to do.
    PeerClosed,
    /// The connection is gone or broken.
    Gone,
    /// Drop the TCP connection without a Close frame.
    Drop,
    /// Go silent on an open connection.
    Stall,
}

/// The state of one open connection.
pub(super) struct Session {
    library: Arc<Library>,
    behavior: Behavior,
    stats: Arc<Stats>,
    /// The venue protocol of requests and heartbeats.
    dialect: Dialect,
    framing: Framing,
    /// The route connected to (USD-M); streams of other routes are not delivered.
    route: Option<&'static str>,
    /// Rewrite millisecond times to microseconds (`timeUnit=MICROSECOND`).
    micros: bool,
    subscriptions: Subscriptions,
    /// For each library stream, the subscription that selects it (see `Subscriptions::select`).
    selection: Vec<Option<usize>>,
    /// Index of the next library message to look at.
    cursor: usize,
    /// Messages looked at since the last match; a full lap of them means nothing matches.
    unmatched: usize,
    /// Data messages sent on this connection.
    sent: u64,
    sending: Sending,
    pacer: Pacer,
    sink: SplitSink<Ws, Message>,
    stream: SplitStream<Ws>,
    /// Frames were queued with `feed` and await the flush branch.
    dirty: bool,
    /// Index into `behavior.injections` (sorted by when they fall due) of the next to send.
    next_injection: usize,
    /// Whether an injection builds on the last data frame, so it must be kept.
    keep_last: bool,
    /// The last data frame sent, when `keep_last`.
    last_frame: Option<Utf8Bytes>,
    /// When the connection reaches `behavior.max_age`.
    expires: Option<Instant>,
    /// When the oldest unanswered Ping times out; `None` while none is unanswered or
    /// there is no `pong_timeout`.
    pong_due: Option<Instant>,
    /// When a venue that closes silent connections (OKX) closes this one: its idle limit
    /// after the last write; `None` for other venues.
    idle_due: Option<Instant>,
    /// That idle limit (`Behavior::idle_limit`, or OKX's own).
    idle_limit: Option<Duration>,
    /// `--speed`: when the first message went out and its receive time.
    timeline: Option<(Instant, u64)>,
    /// Updates of `behavior.book_fault`'s stream sent so far.
    fault_count: super::dialect::books::FaultCount,
}

impl Session {
    pub(super) fn new(shared: &Shared, endpoint: Endpoint, ws: Ws) -> Session {
        let (sink, stream) = ws.split();
        let mut behavior = shared.behavior.clone();
        // Stable, so injections due at the same count go out in the order given.
        behavior.injections.sort_by_key(|i| i.after);
        let keep_last = behavior
            .injections
            .iter()
            .any(|i| matches!(i.kind, InjectionKind::Truncated | InjectionKind::Oversized));
        let now = Instant::now();
        let idle_limit = (endpoint.dialect == Dialect::Okx)
            .then(|| behavior.idle_limit_or(super::dialect::okx::IDLE_LIMIT))
            .flatten();
        let mut session = Session {
            library: Arc::clone(&shared.library),
            stats: Arc::clone(&shared.stats),
            dialect: endpoint.dialect,
            framing: endpoint.framing,
            route: endpoint.route,
            micros: endpoint.micros,
            subscriptions: Subscriptions::default(),
            selection: Vec::new(),
            cursor: 0,
            unmatched: 0,
            sent: 0,
            sending: Sending::Active,
            pacer: Pacer::new(behavior.rate, now),
            sink,
            stream,
            dirty: false,
            next_injection: 0,
            keep_last,
            last_frame: None,
            expires: behavior.max_age.map(|age| now + age),
            pong_due: None,
            idle_due: idle_limit.map(|limit| now + limit),
            idle_limit,
            timeline: None,
            fault_count: Default::default(),
            behavior,
        };
        if session.behavior.live
            && let Some(period) = session.pacer.period()
        {
            // Join the shared timeline where it is now.
            let len = session.library.messages().len().max(1) as u128;
            // Message i is published at `started + i * period`; the next one is due next.
            let next_index = now.duration_since(shared.started).as_nanos() / period.as_nanos() + 1;
            session.cursor = if session.behavior.looped {
                (next_index % len) as usize
            } else {
                next_index.min(len) as usize
            };
            let next = shared.started + period * u32::try_from(next_index).unwrap_or(u32::MAX);
            session.pacer = Pacer::starting_at(session.behavior.rate, next);
        }
        // More streams in a URL than a SUBSCRIBE may add: keep the first MAX_STREAMS.
        let mut names = endpoint.streams;
        names.truncate(super::streams::MAX_STREAMS);
        if session.subscriptions.add(&names).is_ok() {
            session.reselect();
        }
        if session.behavior.after_sent(0) == Step::Idle {
            session.sending = Sending::Limit;
        }
        session
    }

    /// Runs the connection to its end; returns the number of data messages sent.
    pub(super) async fn run(mut self, stop: &CancellationToken) -> u64 {
        // OKX's server does not ping: its clients do.
        let mut ping = match self.dialect {
            Dialect::Binance => ping_timer(self.behavior.ping_interval),
            Dialect::Okx => None,
        };
        let mut flow = self.inject_due().await;
        if let Flow::Continue = flow {
            flow = match self.behavior.after_sent(0) {
                Step::Continue | Step::Idle => Flow::Continue,
                Step::Close => Flow::Close(CloseCode::Normal, ""),
                Step::Drop => Flow::Drop,
                Step::Stall => Flow::Stall,
            };
        }
        while let Flow::Continue = flow {
            let may_send =
                self.sending == Sending::Active && !self.subscriptions.is_empty() && !self.dirty;
            let due = self.recording_due().or_else(|| self.pacer.due());
            flow = tokio::select! {
                biased;
                () = stop.cancelled() => Flow::Close(CloseCode::Away, "server shutting down"),
                frame = self.stream.next() => self.on_frame(frame).await,
                flushed = self.sink.flush(), if self.dirty => {
                    self.dirty = false;
                    // OKX: "if the subscription is not established or data has not been
                    // pushed for more than 30 seconds": until a subscription stands, answers
                    // (pongs, errors) keep nothing alive.
                    if let (Some(due), Some(limit), false) =
                        (self.idle_due.as_mut(), self.idle_limit, self.subscriptions.is_empty())
                    {
                        *due = Instant::now() + limit;
                    }
                    ok_or_gone(flushed)
                }
                () = at(self.idle_due) => {
                    self.stats.idle_closed();
                    Flow::Close(CloseCode::Policy, "no data pushed within the idle limit")
                }
                () = at(self.expires) => Flow::Close(CloseCode::Normal, "max age"),
                () = at(self.pong_due) => {
                    self.stats.pong_timed_out();
                    Flow::Close(CloseCode::Policy, "pong timeout")
                }
                () = tick(&mut ping) => {
                    self.dirty = true;
                    if let (Some(timeout), None) = (self.behavior.pong_timeout, self.pong_due) {
                        self.pong_due = Some(Instant::now() + timeout);
                    }
                    ok_or_gone(self.sink.feed(Message::Ping(Bytes::from_static(PING_PAYLOAD))).await)
                }
                () = wait_until(due), if may_send => self.send_batch().await,
            };
        }
        let sent = self.sent;
        match flow {
            Flow::Close(code, reason) => self.close(code, reason).await,
            Flow::PeerClosed => {
                // tungstenite queued the Close reply (after any data already queued).
                let _ = tokio::time::timeout(CLOSE_GRACE, self.sink.flush()).await;
            }
            Flow::Drop => {
                if let Some(mut tcp) = self.into_tcp(stop).await {
                    // A FIN without a Close frame; unread input makes the drop a reset.
                    if let Err(e) = tcp.shutdown().await {
                        debug!(error = %e, "shutdown failed");
                    }
                }
            }
            Flow::Stall => {
                if let Some(tcp) = self.into_tcp(stop).await {
                    drain(tcp, stop).await;
                }
            }
            Flow::Continue | Flow::Gone => {}
        }
        sent
    }

    async fn on_frame(&mut self, frame: Option<Result<Message, WsError>>) -> Flow {
        let message = match frame {
            Some(Ok(message)) => message,
            Some(Err(e)) => {
                debug!(error = %e, "read failed");
                return Flow::Gone;
            }
            None => return Flow::Gone,
        };
        match message {
            Message::Text(text) => {
                self.stats.request();
                self.dirty = true;
                if self.dialect == Dialect::Okx {
                    let answer =
                        super::dialect::okx::answer(text.as_str(), &mut self.subscriptions);
                    if answer.changed {
                        self.reselect();
                    }
                    // A book subscription starts with the book as it stands (see `books`).
                    let snapshots: Vec<String> = answer
                        .subscribed
                        .iter()
                        .filter_map(|name| {
                            let stream = self.library.streams().iter().position(|s| s == name)?;
                            super::dialect::books::fresh_snapshot(
                                &self.library,
                                stream,
                                self.cursor,
                            )
                        })
                        .collect();
                    let data = snapshots.len() as u64;
                    for reply in answer.replies.into_iter().chain(snapshots) {
                        if let Err(e) = self.sink.feed(Message::text(reply)).await {
                            debug!(error = %e, "write failed");
                            return Flow::Gone;
                        }
                    }
                    self.sent += data;
                    self.stats.sent(data);
                    return Flow::Continue;
                }
                let reply = self.answer(text.as_str());
                ok_or_gone(self.sink.feed(Message::text(reply)).await)
            }
            // tungstenite queued the pong; the flush branch writes it promptly.
            Message::Ping(_) => {
                self.dirty = true;
                Flow::Continue
            }
            Message::Pong(_) => {
                self.stats.pong();
                self.pong_due = None;
                Flow::Continue
            }
            Message::Close(_) => {
                self.stats.close_received();
                Flow::PeerClosed
            }
            Message::Binary(_) | Message::Frame(_) => Flow::Continue,
        }
    }

    /// Applies one request and returns the reply text.
    fn answer(&mut self, text: &str) -> String {
        let request = match request::parse(text) {
            Ok(request) => request,
            Err(e) => return e.reply(),
        };
        match request {
            ClientRequest::Subscribe { streams, id } => {
                if self.subscriptions.add(&streams).is_err() {
                    return RequestError::Invalid {
                        detail: format!(
                            "too many streams (at most {})",
                            super::streams::MAX_STREAMS
                        ),
                        id: Some(id),
                    }
                    .reply();
                }
                self.reselect();
                request::reply("null", &id)
            }
            ClientRequest::Unsubscribe { streams, id } => {
                self.subscriptions.remove(&streams);
                self.reselect();
                request::reply("null", &id)
            }
            ClientRequest::ListSubscriptions { id } => {
                request::reply(&request::name_list(self.subscriptions.names()), &id)
            }
            ClientRequest::SetCombined { combined, id } => {
                self.framing = if combined {
                    Framing::Combined
                } else {
                    Framing::Raw
                };
                request::reply("null", &id)
            }
            ClientRequest::GetCombined { id } => {
                let combined = self.framing == Framing::Combined;
                request::reply(if combined { "true" } else { "false" }, &id)
            }
        }
    }

    /// Recomputes which library streams to send after the subscriptions changed.
    fn reselect(&mut self) {
        self.selection = self.subscriptions.select(self.library.streams());
        // A stream of another route is held but never delivered, as on Binance USD-M.
        for (selected, stream) in self.selection.iter_mut().zip(self.library.streams()) {
            if !super::dialect::delivers(self.route, stream) {
                *selected = None;
            }
        }
        self.unmatched = 0;
        if self.sending == Sending::NoMatch {
            self.sending = Sending::Active;
            self.pacer.restart(Instant::now());
        }
    }

    /// `--speed`: when the message at the cursor is due, if the recording paces it.
    fn recording_due(&self) -> Option<Instant> {
        let library = Arc::clone(&self.library);
        let message = library.messages().get(self.cursor)?;
        self.due_at(message.recv_ns)
    }

    /// `--speed`: when a message received at `recv_ns` is due: as far after the first
    /// message sent as it was received after it, divided by the speed.
    /// Until the first message went out, every message is due.
    fn due_at(&self, recv_ns: Option<u64>) -> Option<Instant> {
        self.behavior.speed_milli.filter(|&s| s > 0)?;
        let speed = self.behavior.speed_milli?;
        let recv_ns = recv_ns?;
        let (start, first) = self.timeline?;
        let offset = u128::from(recv_ns.saturating_sub(first)) * 1000 / u128::from(speed);
        Some(start + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX)))
    }

    /// Queues the messages that are due and match, walking the library from the cursor.
    async fn send_batch(&mut self) -> Flow {
        // Subscribed to nothing the library has (yet): wait without consuming it, so a
        // SUBSCRIBE that comes later still gets the recording from here.
        if self.selection.iter().all(Option::is_none) {
            self.sending = Sending::NoMatch;
            return Flow::Continue;
        }
        let library = Arc::clone(&self.library);
        let messages = library.messages();
        let allowance = self.pacer.allowance(Instant::now()).min(MAX_BATCH);
        let (mut queued, mut scanned) = (0, 0);
        let mut flow = Flow::Continue;
        while queued < allowance && scanned < SCAN_BUDGET {
            if self.cursor >= messages.len() {
                if self.behavior.looped && !messages.is_empty() {
                    self.cursor = 0;
                    self.timeline = None;
                } else {
                    self.sending = Sending::Exhausted;
                    break;
                }
            }
            let message = &messages[self.cursor];
            if self
                .due_at(message.recv_ns)
                .is_some_and(|due| due > Instant::now())
            {
                break;
            }
            if let (None, Some(recv_ns), Some(_)) =
                (self.timeline, message.recv_ns, self.behavior.speed_milli)
            {
                self.timeline = Some((Instant::now(), recv_ns));
            }
            self.cursor += 1;
            scanned += 1;
            let Some(subscription) = self.selection.get(message.stream).copied().flatten() else {
                self.unmatched += 1;
                if self.unmatched >= messages.len() {
                    self.sending = Sending::NoMatch;
                    break;
                }
                continue;
            };
            self.unmatched = 0;
            let spoiled = self.fault_count.spoil(
                self.behavior.book_fault.as_ref(),
                &library,
                self.cursor - 1,
            );
            let text = match (spoiled, self.framing) {
                (Spoiled::Withheld, _) => continue,
                (Spoiled::Text(text), _) => Utf8Bytes::from(text),
                (Spoiled::Unchanged, framing) => match framing {
                    Framing::Raw => message.raw.clone(),
                    Framing::Combined => {
                        let requested = &self.subscriptions.names()[subscription];
                        // Binance names the stream as the client asked for it.
                        if *requested == library.streams()[message.stream] {
                            message.combined.clone()
                        } else {
                            frame_combined(requested, message.raw.as_str()).0
                        }
                    }
                },
            };
            let text = match (self.micros, self.behavior.clock_shift_ms) {
                (false, None) => text,
                (micros, shift) => {
                    let now_ms = shift.map(|shift| {
                        (crate::clock::now_ns() / 1_000_000).saturating_add_signed(shift)
                    });
                    Utf8Bytes::from(super::dialect::binance::rewrite_times(
                        text.as_str(),
                        micros,
                        now_ms,
                    ))
                }
            };
            if self.keep_last {
                self.last_frame = Some(text.clone());
            }
            if let Err(e) = self.sink.feed(Message::Text(text)).await {
                debug!(error = %e, "send failed");
                flow = Flow::Gone;
                break;
            }
            queued += 1;
            self.sent += 1;
            if self.injection_due() {
                flow = self.inject_due().await;
                if !matches!(flow, Flow::Continue) {
                    break;
                }
            }
            match self.behavior.after_sent(self.sent) {
                Step::Continue => {}
                Step::Idle => {
                    self.sending = Sending::Limit;
                    break;
                }
                Step::Close => {
                    flow = Flow::Close(CloseCode::Normal, "");
                    break;
                }
                Step::Drop => {
                    flow = Flow::Drop;
                    break;
                }
                Step::Stall => {
                    flow = Flow::Stall;
                    break;
                }
            }
        }
        self.pacer.consumed(queued);
        self.stats.sent(queued as u64);
        if let Some(route) = self.route {
            self.stats.sent_on_route(route, queued as u64);
        }
        if queued > 0 {
            self.dirty = true;
        } else if scanned >= SCAN_BUDGET {
            // Nothing was written, so no I/O gave the scheduler a turn.
            tokio::task::yield_now().await;
        }
        flow
    }

    /// Whether an injection falls due after the data messages sent so far.
    fn injection_due(&self) -> bool {
        self.behavior
            .injections
            .get(self.next_injection)
            .is_some_and(|i| i.after <= self.sent)
    }

    /// Queues every injection due after the data messages sent so far.
    async fn inject_due(&mut self) -> Flow {
        while self.injection_due() {
            let kind = self.behavior.injections[self.next_injection].kind;
            self.next_injection += 1;
            let now_ms = crate::clock::now_ns() / 1_000_000;
            let text = fault::injected_text(
                kind,
                self.framing,
                self.last_frame.as_deref(),
                self.behavior.oversized_bytes,
                now_ms,
            );
            if let Err(e) = self.sink.feed(Message::text(text)).await {
                debug!(error = %e, "send failed");
                return Flow::Gone;
            }
            self.stats.injection();
            self.dirty = true;
        }
        Flow::Continue
    }

    /// Writes out what is queued, then takes the TCP socket back from the WebSocket layer,
    /// for faults that must bypass the protocol. `None` when the server stopped first or
    /// the connection broke.
    async fn into_tcp(mut self, stop: &CancellationToken) -> Option<TcpStream> {
        let flushed = tokio::select! {
            flushed = self.sink.flush() => flushed,
            () = stop.cancelled() => return None,
        };
        if let Err(e) = flushed {
            debug!(error = %e, "write failed");
            return None;
        }
        match self.sink.reunite(self.stream) {
            Ok(ws) => Some(ws.into_inner()),
            Err(e) => {
                debug!(error = %e, "cannot reunite the WebSocket halves");
                None
            }
        }
    }

    /// Sends a Close frame after everything queued, then waits briefly for the client's.
    async fn close(&mut self, code: CloseCode, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let stats = Arc::clone(&self.stats);
        let closing = async {
            self.sink.send(Message::Close(Some(frame))).await?;
            // Reading drives tungstenite to completion; it ends when the client's Close
            // arrives (or the client goes away).
            while let Some(message) = self.stream.next().await {
                match message? {
                    Message::Close(_) => stats.close_received(),
                    Message::Pong(_) => stats.pong(),
                    _ => {}
                }
            }
            Ok::<(), WsError>(())
        };
        match tokio::time::timeout(CLOSE_GRACE, closing).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => debug!(error = %e, "closing handshake failed"),
            Err(_) => debug!("client did not answer the Close frame in time"),
        }
    }
}

fn ok_or_gone(result: Result<(), WsError>) -> Flow {
    match result {
        Ok(()) => Flow::Continue,
        Err(e) => {
            debug!(error = %e, "write failed");
            Flow::Gone
        }
    }
}
