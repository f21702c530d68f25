//! Depth mode: generated order books served as Binance diff-depth streams and snapshots.
//!
//! This module owns the books the server holds ([`DepthMarkets`]: one generated book per
//! symbol, created when first asked for) and the sessions that stream them
//! (`<symbol>@depth@100ms`, `<symbol>@depth` / `@depth@1000ms` merged tenfold). Time
//! drives the books, not a background task: event `k` of a symbol is due `k + 1`
//! intervals after the symbol was first asked for, and whoever looks (a session, a
//! snapshot request) first generates what is due. Every generated event changes the
//! server's book; `gap_every` withholds some from the streams (a forced gap). The REST
//! snapshot endpoint that reads the same books is in `rest`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::book_gen::{BookGenerator, GenConfig, GenEvent};
use super::endpoint::{Endpoint, Framing};
use super::request::{self, Request};
use super::stats::Stats;

/// Events kept per symbol for sessions that fall behind; older ones are gone (a session
/// that far behind sees a gap, as a slow client of the venue would).
const HISTORY: usize = 100_000;

/// Unpublished events generated when a symbol's book is created, so that the book has
/// moved on from the stale snapshot kept for `RestFaults::stale_first`.
const WARM_UP: u64 = 50;

/// How long to wait for the client's side of a closing handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What depth mode generates, and its faults.
#[derive(Clone, Debug)]
pub struct DepthFeed {
    /// USD-M futures ids and text (served on `/fapi/v1/depth`) instead of spot's.
    pub futures: bool,
    /// The seed; each symbol's generator is seeded from it and the symbol.
    pub seed: u64,
    /// Levels per side of each book.
    pub levels: usize,
    /// Time between `@100ms` events of one symbol (100 ms on the venue; tests go faster).
    pub interval: Duration,
    /// Events generated per symbol at most; then the book stands still.
    pub max_events: Option<u64>,
    /// Withhold every Nth event of a symbol from the streams (the book still changes).
    pub gap_every: Option<u64>,
    /// Withhold only this symbol's events (upper case); every symbol's when `None`.
    pub gap_symbol: Option<String>,
    /// Faults of the snapshot endpoint.
    pub rest: RestFaults,
}

impl Default for DepthFeed {
    fn default() -> Self {
        DepthFeed {
            futures: false,
            seed: 0x000B_00C5,
            levels: 5000,
            interval: Duration::from_millis(100),
            max_events: None,
            gap_every: None,
            gap_symbol: None,
            rest: RestFaults::default(),
        }
    }
}

/// How the snapshot endpoint misbehaves.
#[derive(Clone, Debug, Default)]
pub struct RestFaults {
    /// Answer snapshot requests this late (the snapshot is taken when asked).
    pub delay: Option<Duration>,
    /// Delay only the first N requests (over all symbols); 0 delays every one.
    pub delay_first: u64,
    /// Answer the first N requests (over all symbols) with 429 and a `Retry-After`.
    pub too_many_first: u64,
    /// The `Retry-After` of those answers, in whole seconds.
    pub retry_after_secs: u64,
    /// Answer the first N snapshot requests of each symbol with the book as it was
    /// before the warm-up: a `lastUpdateId` older than any streamed event.
    pub stale_first: u64,
}

impl DepthFeed {
    /// The generator configuration of `symbol` (upper case), as the server uses it.
    pub fn generator_config(&self, symbol: &str) -> GenConfig {
        // FNV-1a of the symbol, so each symbol has its own book, reproducibly.
        let hash = symbol.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let base = if self.futures {
            GenConfig::futures(self.seed ^ hash)
        } else {
            GenConfig::spot(self.seed ^ hash)
        };
        GenConfig {
            levels: self.levels,
            ..base
        }
    }

    /// The server's book of `symbol` after `events` generated events (warm-up included
    /// in neither): what a test compares a client's book with.
    pub fn book_after(&self, symbol: &str, events: u64) -> BookGenerator {
        let mut generator = BookGenerator::new(self.generator_config(symbol));
        for _ in 0..WARM_UP + events {
            generator.next_event();
        }
        generator
    }
}

/// One published event: its place in the symbol's sequence and its payload.
#[derive(Debug)]
pub(crate) struct Published {
    /// 0 for the first generated event after the warm-up.
    pub(crate) seq: u64,
    pub(crate) event: GenEvent,
}

/// One symbol's book and what was published of it.
#[derive(Debug)]
pub(crate) struct Market {
    /// Upper case, as payloads write it.
    pub(crate) symbol: String,
    created: Instant,
    state: Mutex<MarketState>,
}

#[derive(Debug)]
pub(crate) struct MarketState {
    pub(crate) generator: BookGenerator,
    /// Events generated since the warm-up.
    generated: u64,
    /// The last published events, oldest first.
    history: VecDeque<Arc<Published>>,
    /// The book before the warm-up, served by `RestFaults::stale_first`.
    pub(crate) stale: BookGenerator,
    /// Snapshot requests answered so far.
    pub(crate) snapshot_requests: u64,
}

/// Every symbol's book; shared by sessions and the snapshot endpoint.
#[derive(Debug)]
pub struct DepthMarkets {
    feed: DepthFeed,
    markets: Mutex<HashMap<String, Arc<Market>>>,
    /// 429 answers given so far (for `RestFaults::too_many_first`).
    pub(crate) refused: Mutex<u64>,
    /// Snapshot requests answered so far, over all symbols (for `RestFaults::delay_first`).
    pub(crate) answered: Mutex<u64>,
    /// Recorded REST snapshot bodies by symbol, answered instead of generated ones (the
    /// captured fixtures, served beside their recorded diff-depth events).
    recorded: HashMap<String, String>,
}

/// Two handles are equal when they are the same markets (a `Behavior` is compared).
impl PartialEq for DepthMarkets {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for DepthMarkets {}

impl DepthMarkets {
    /// No book yet; each symbol's starts when first asked for.
    pub fn new(feed: DepthFeed) -> DepthMarkets {
        DepthMarkets {
            feed,
            markets: Mutex::new(HashMap::new()),
            refused: Mutex::new(0),
            answered: Mutex::new(0),
            recorded: HashMap::new(),
        }
    }

    /// Markets whose snapshot endpoint answers each symbol of `bodies` with its recorded
    /// body, as captured (whatever the `limit`), for the recorded diff-depth events a
    /// library serves; spot's path, or USD-M's when `futures`. Weight and 429s as always.
    pub fn recorded(futures: bool, bodies: impl IntoIterator<Item = (String, String)>) -> Self {
        DepthMarkets {
            recorded: bodies.into_iter().collect(),
            ..DepthMarkets::new(DepthFeed {
                futures,
                ..DepthFeed::default()
            })
        }
    }

    /// The recorded snapshot body of `symbol`, if these markets serve recordings.
    pub(crate) fn recorded_snapshot(&self, symbol: &str) -> Option<&str> {
        self.recorded.get(symbol).map(String::as_str)
    }

    /// What is generated.
    pub fn feed(&self) -> &DepthFeed {
        &self.feed
    }

    /// Events generated so far for `symbol` (upper case), if it was asked for.
    pub fn generated(&self, symbol: &str) -> Option<u64> {
        let market = lock(&self.markets).get(symbol).cloned()?;
        let generated = lock(&market.state).generated;
        Some(generated)
    }

    /// The book of `symbol` (upper case), created now if new.
    pub(crate) fn market(&self, symbol: &str) -> Arc<Market> {
        let mut markets = lock(&self.markets);
        let market = markets.entry(symbol.to_owned()).or_insert_with(|| {
            let stale = BookGenerator::new(self.feed.generator_config(symbol));
            let mut generator = stale.clone();
            for _ in 0..WARM_UP {
                generator.next_event();
            }
            Arc::new(Market {
                symbol: symbol.to_owned(),
                created: Instant::now(),
                state: Mutex::new(MarketState {
                    generator,
                    generated: 0,
                    history: VecDeque::new(),
                    stale,
                    snapshot_requests: 0,
                }),
            })
        });
        Arc::clone(market)
    }
}

impl Market {
    /// The book brought up to now: every event due is generated (and published unless
    /// withheld). The guard lets a snapshot read the book with no event in between.
    pub(crate) fn advance(&self, feed: &DepthFeed) -> MutexGuard<'_, MarketState> {
        let mut state = lock(&self.state);
        let interval = feed.interval.max(Duration::from_micros(1));
        let due = (self.created.elapsed().as_nanos() / interval.as_nanos()) as u64;
        let due = feed.max_events.map_or(due, |max| due.min(max));
        while state.generated < due {
            let seq = state.generated;
            let event = state.generator.next_event();
            state.generated += 1;
            let gapped = feed.gap_symbol.as_ref().is_none_or(|s| *s == self.symbol);
            if gapped && feed.gap_every.is_some_and(|n| n > 0 && (seq + 1) % n == 0) {
                continue;
            }
            if state.history.len() == HISTORY {
                state.history.pop_front();
            }
            state.history.push_back(Arc::new(Published { seq, event }));
        }
        state
    }

    /// Published events with `seq >= *cursor`, appended to `out`; moves the cursor on.
    fn since(&self, feed: &DepthFeed, cursor: &mut u64, out: &mut Vec<Arc<Published>>) {
        let state = self.advance(feed);
        let start = state.history.partition_point(|p| p.seq < *cursor);
        out.extend(state.history.range(start..).cloned());
        *cursor = state.generated;
    }

    /// When the next event is due.
    fn next_due(&self, feed: &DepthFeed, cursor: u64) -> Option<Instant> {
        if feed.max_events.is_some_and(|max| cursor >= max) {
            return None;
        }
        let nanos = feed.interval.as_nanos().max(1000) * u128::from(cursor + 1);
        Some(self.created + Duration::from_nanos(nanos.min(u128::from(u64::MAX)) as u64))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One subscribed depth stream of a session.
struct Subscription {
    /// The stream name as the client wrote it.
    name: String,
    market: Arc<Market>,
    /// The next `seq` to send.
    cursor: u64,
    /// Events merged into one (1 for `@100ms`, 10 for the 1000 ms streams).
    every: u64,
    /// Events merged so far for the next message.
    pending: Option<GenEvent>,
    pending_count: u64,
}

/// What a stream name asks for: the symbol and how many events one message merges.
fn depth_stream(name: &str, futures: bool) -> Option<(String, u64)> {
    let (symbol, kind) = name.split_once('@')?;
    let every = match (kind, futures) {
        ("depth@100ms", _) => 1,
        ("depth" | "depth@1000ms", false) => 10,
        ("depth", true) => 2, // 250 ms
        ("depth@500ms", true) => 5,
        _ => return None,
    };
    let ok = !symbol.is_empty() && symbol.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then(|| (symbol.to_ascii_uppercase(), every))
}

/// Merges `next` into `into` as the venue's aggregation does: first `U` and `pu`, last
/// `u`, the last quantity of each price.
fn merge(into: &mut GenEvent, next: &GenEvent) {
    into.last_id = next.last_id;
    for (side, changes) in [(&mut into.bids, &next.bids), (&mut into.asks, &next.asks)] {
        for &(price, qty) in changes {
            match side.iter_mut().find(|(p, _)| *p == price) {
                Some(level) => level.1 = qty,
                None => side.push((price, qty)),
            }
        }
    }
}

type Ws = WebSocketStream<TcpStream>;

/// Streams the depth streams of `endpoint` (and any subscribed later) until the client
/// leaves or the server stops, or drops the TCP connection without a Close frame after
/// `drop_after` messages (a broken link, as `Behavior::drop_after` on other sessions);
/// returns how many messages were sent.
pub(crate) async fn run(
    mut ws: Ws,
    endpoint: &Endpoint,
    markets: &DepthMarkets,
    stats: &Stats,
    stop: &CancellationToken,
    drop_after: Option<u64>,
) -> u64 {
    let feed = markets.feed();
    let framing = endpoint.framing;
    let mut subs: Vec<Subscription> = Vec::new();
    let subscribe = |names: &[String], subs: &mut Vec<Subscription>| {
        for name in names {
            let Some((symbol, every)) = depth_stream(name, feed.futures) else {
                debug!(name, "depth mode serves only depth streams; ignored");
                continue;
            };
            if subs.iter().any(|s| s.name == *name) {
                continue;
            }
            let market = markets.market(&symbol);
            // A new subscriber starts with what is published from now on.
            let cursor = market.advance(feed).generated;
            subs.push(Subscription {
                name: name.clone(),
                market,
                cursor,
                every,
                pending: None,
                pending_count: 0,
            });
        }
    };
    subscribe(&endpoint.streams, &mut subs);
    let mut sent = 0;
    let mut batch = Vec::new();
    let mut payload = String::new();
    loop {
        let due = subs
            .iter()
            .filter_map(|s| s.market.next_due(feed, s.cursor))
            .min();
        let sleep = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stop.cancelled() => {
                close(&mut ws, stats, CloseCode::Away, "server shutting down").await;
                break;
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Close(_))) => {
                    stats.close_received();
                    let _ = tokio::time::timeout(CLOSE_GRACE, ws.flush()).await;
                    break;
                }
                Some(Ok(Message::Pong(_))) => stats.pong(),
                Some(Ok(Message::Text(text))) => {
                    stats.request();
                    let reply = match request::parse(&text) {
                        Ok(Request::Subscribe { streams, id }) => {
                            subscribe(&streams, &mut subs);
                            request::reply("null", &id)
                        }
                        Ok(Request::Unsubscribe { streams, id }) => {
                            subs.retain(|s| !streams.contains(&s.name));
                            request::reply("null", &id)
                        }
                        Ok(Request::ListSubscriptions { id }) => {
                            let names: Vec<String> = subs.iter().map(|s| s.name.clone()).collect();
                            request::reply(&request::name_list(&names), &id)
                        }
                        Ok(Request::SetCombined { id, .. }) => request::reply("null", &id),
                        Ok(Request::GetCombined { id }) => {
                            request::reply(if framing == Framing::Combined { "true" } else { "false" }, &id)
                        }
                        Err(e) => e.reply(),
                    };
                    if ws.send(Message::text(reply)).await.is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {
                    // Pings are answered by tungstenite on the next write or flush.
                    if ws.flush().await.is_err() {
                        break;
                    }
                }
                Some(Err(_)) | None => break,
            },
            () = sleep => {
                let (mut failed, mut dropped) = (false, false);
                for sub in &mut subs {
                    batch.clear();
                    sub.market.since(feed, &mut sub.cursor, &mut batch);
                    for published in &batch {
                        match &mut sub.pending {
                            Some(pending) => merge(pending, &published.event),
                            None => sub.pending = Some(published.event.clone()),
                        }
                        sub.pending_count += 1;
                        if sub.pending_count < sub.every {
                            continue;
                        }
                        sub.pending_count = 0;
                        let event = sub.pending.take().expect("just set");
                        payload.clear();
                        if framing == Framing::Combined {
                            payload.push_str(r#"{"stream":""#);
                            payload.push_str(&sub.name);
                            payload.push_str(r#"","data":"#);
                        }
                        let time_ms = now_ms();
                        lock(&sub.market.state).generator.write_event(
                            &event,
                            &sub.market.symbol,
                            time_ms,
                            &mut payload,
                        );
                        if framing == Framing::Combined {
                            payload.push('}');
                        }
                        if ws.feed(Message::text(payload.clone())).await.is_err() {
                            failed = true;
                            break;
                        }
                        sent += 1;
                        stats.sent(1);
                        if drop_after.is_some_and(|n| sent >= n) {
                            dropped = true;
                            break;
                        }
                    }
                    if failed || dropped {
                        break;
                    }
                }
                if failed || ws.flush().await.is_err() {
                    break;
                }
                if dropped {
                    // A FIN without a Close frame, after what was sent.
                    if let Err(e) = ws.get_mut().shutdown().await {
                        debug!(error = %e, "shutdown failed");
                    }
                    break;
                }
            }
        }
    }
    sent
}

/// Wall-clock ms since the Unix epoch, for event times.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
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
    let _ = tokio::time::timeout(CLOSE_GRACE, closing).await;
}

#[cfg(test)]
mod tests;
