//! One connection's Binance depth streams: sync per symbol, snapshots fetched beside the
//! stream, and the `depth` and `book` rows to write.
//!
//! This module owns driving [`DepthSync`] for every symbol of a connection: it starts a
//! snapshot fetch when a symbol wants one (never two at once for a symbol), waits for the
//! shared [`WeightBudget`] before each, backs off after a failed one, and turns the sync's
//! outputs into [`FeedOutput`]s (a snapshot row, a row per applied event, `book` rows on
//! the [`BookInterval`] grid, gap records). Fetches are futures held here, not spawned
//! tasks: the connection task polls [`DepthFeeds::next_snapshot`] in its `select!` (it is
//! cancel-safe), so they end when the connection does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::time::Instant;
use tracing::warn;

use super::BookRow;
use super::budget::WeightBudget;
use super::fetch::{FetchError, RestAnswer, SnapshotClient};
use super::row::{BookInterval, BookLine, DepthRow};
use super::sync::{Counters, DepthEvent, DepthSync, GapReason, Limits, Output, Rules, Snapshot};
use crate::tick::Symbol;

/// The first pause after a failed fetch (not a 429/418, which the budget handles);
/// doubled per failure in a row up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// What the connection's depth streams produce and how snapshots are fetched.
#[derive(Clone, Debug)]
pub struct FeedConfig {
    /// Spot or USD-M futures sequence rules.
    pub rules: Rules,
    /// The snapshot path (`/api/v3/depth` or `/fapi/v1/depth`).
    pub snapshot_path: &'static str,
    /// Levels per side asked of the snapshot.
    pub snapshot_limit: usize,
    /// The request weight of one snapshot.
    pub snapshot_weight: u64,
    /// The buffer bound while a snapshot is awaited.
    pub limits: Limits,
    /// Write `depth` rows.
    pub depth_rows: bool,
    /// Write `book` rows of this many levels a side (none when `None`).
    pub book_levels: Option<usize>,
    /// `book` rows every this much exchange time (0: after every update).
    pub book_interval: Duration,
}

/// What to write for a symbol.
#[derive(Debug)]
pub enum FeedOutput {
    /// A `depth` row (the snapshot row or an applied event).
    Depth(DepthRow),
    /// A `book` row.
    Book(BookLine),
    /// The book broke: a gap record; a new snapshot row follows once re-synced.
    Gap(GapReason),
}

/// Receives `(symbol, recv_ns, output)`.
pub type Sink<'s> = dyn FnMut(&Symbol, u64, FeedOutput) + 's;

struct SymbolFeed {
    sync: DepthSync,
    interval: BookInterval,
    row: BookRow,
    /// Failed fetches in a row (for the back-off).
    failures: u32,
}

type Fetch = BoxFuture<'static, (Symbol, Result<Snapshot, FetchError>, Option<RestAnswer>)>;

/// A snapshot fetch that ended, to apply with [`DepthFeeds::apply_fetched`].
pub struct Fetched((Symbol, Result<Snapshot, FetchError>, Option<RestAnswer>));

impl Fetched {
    /// A fetch as a raw capture holds it (`foxtrot convert`): the answer's body read at
    /// its receive time, or the error the run saw.
    pub fn captured(symbol: Symbol, recv_ns: u64, body: Result<&[u8], &str>) -> Fetched {
        let result = match body {
            Ok(body) => super::fetch::snapshot_of(body, recv_ns),
            Err(e) => Err(FetchError::Transport(e.to_owned())),
        };
        Fetched((symbol, result, None))
    }

    /// The answer as the raw capture keeps it (`None` for one read from a capture).
    pub fn answer(&mut self) -> Option<RestAnswer> {
        self.0.2.take()
    }
}

/// Every depth stream of one connection.
pub struct DepthFeeds {
    config: FeedConfig,
    /// `None` offline (`foxtrot convert`): snapshots come from the capture.
    client: Option<SnapshotClient>,
    budget: Arc<Mutex<WeightBudget>>,
    symbols: HashMap<Symbol, SymbolFeed>,
    fetches: FuturesUnordered<Fetch>,
}

impl DepthFeeds {
    /// Feeds that fetch snapshots with `client`, within the venue-wide `budget`.
    pub fn new(
        config: FeedConfig,
        client: SnapshotClient,
        budget: Arc<Mutex<WeightBudget>>,
    ) -> DepthFeeds {
        DepthFeeds {
            config,
            client: Some(client),
            budget,
            symbols: HashMap::new(),
            fetches: FuturesUnordered::new(),
        }
    }

    /// Feeds that fetch nothing: the snapshots a symbol wants are handed in with
    /// [`DepthFeeds::apply_fetched`] (`foxtrot convert`, from a raw capture's `rest`
    /// records, in the order the run applied them).
    pub fn offline(config: FeedConfig) -> DepthFeeds {
        DepthFeeds {
            config,
            client: None,
            // Never drawn from: nothing is fetched.
            budget: Arc::new(Mutex::new(WeightBudget::new(1, Instant::now()))),
            symbols: HashMap::new(),
            fetches: FuturesUnordered::new(),
        }
    }

    /// A symbol's counters, if it has had an event.
    pub fn counters(&self, symbol: &Symbol) -> Option<Counters> {
        self.symbols.get(symbol).map(|s| s.sync.counters())
    }

    /// Snapshot fetches in flight.
    pub fn fetching(&self) -> usize {
        self.fetches.len()
    }

    /// One diff-depth event of `symbol`.
    pub fn on_event(&mut self, symbol: &Symbol, event: DepthEvent, sink: &mut Sink<'_>) {
        let config = &self.config;
        let feed = self
            .symbols
            .entry(symbol.clone())
            .or_insert_with(|| SymbolFeed {
                sync: DepthSync::new(config.rules, config.limits),
                interval: BookInterval::new(config.book_interval.as_nanos() as u64),
                row: BookRow::default(),
                failures: 0,
            });
        let recv_ns = event.recv_ns;
        let SymbolFeed {
            sync,
            interval,
            row,
            ..
        } = feed;
        sync.on_event(event, &mut |out, book| {
            emit(config, symbol, recv_ns, out, book, interval, row, sink);
        });
        self.fetch_if_wanted(symbol);
    }

    /// Waits for the next snapshot fetch to end and applies it (pending while none is in
    /// flight). Cancel-safe: a fetch that has not ended stays in flight.
    pub async fn next_snapshot(&mut self, sink: &mut Sink<'_>) {
        let fetched = self.next_fetched().await;
        self.apply_fetched(fetched, sink);
    }

    /// Waits for the next snapshot fetch to end (pending while none is in flight), for
    /// [`DepthFeeds::apply_fetched`]. Cancel-safe. Split from applying, so that the
    /// caller's sink is not held across the wait.
    pub async fn next_fetched(&mut self) -> Fetched {
        match self.fetches.next().await {
            Some(fetched) => Fetched(fetched),
            None => std::future::pending().await,
        }
    }

    /// Applies a fetch that ended (see [`DepthFeeds::next_fetched`]).
    pub fn apply_fetched(&mut self, fetched: Fetched, sink: &mut Sink<'_>) {
        let Fetched((symbol, result, _)) = fetched;
        let config = &self.config;
        let Some(feed) = self.symbols.get_mut(&symbol) else {
            return;
        };
        match result {
            Ok(snapshot) => {
                feed.failures = 0;
                let recv_ns = snapshot.recv_ns;
                let SymbolFeed {
                    sync,
                    interval,
                    row,
                    ..
                } = feed;
                interval.reset();
                sync.on_snapshot(snapshot, &mut |out, book| {
                    emit(config, &symbol, recv_ns, out, book, interval, row, sink);
                });
            }
            Err(e) => {
                if let FetchError::RateLimited { retry_after, .. } = &e {
                    lock(&self.budget).refused(*retry_after, Instant::now());
                } else {
                    feed.failures += 1;
                }
                warn!(symbol = %symbol, error = %e, "depth snapshot failed; retrying");
                feed.sync.snapshot_failed();
            }
        }
        self.fetch_if_wanted(&symbol);
    }

    /// The connection was replaced or restarted: every book is built again from a new
    /// snapshot (the connection writes its own gap records).
    pub fn restart(&mut self) {
        for feed in self.symbols.values_mut() {
            feed.sync.restart();
        }
    }

    fn fetch_if_wanted(&mut self, symbol: &Symbol) {
        let Some(feed) = self.symbols.get_mut(symbol) else {
            return;
        };
        if !feed.sync.wants_snapshot() {
            return;
        }
        feed.sync.snapshot_started();
        let Some(client) = self.client.clone() else {
            return;
        };
        let delay = match feed.failures {
            0 => Duration::ZERO,
            n => FIRST_RETRY_DELAY
                .saturating_mul(1 << (n - 1).min(10))
                .min(MAX_RETRY_DELAY),
        };
        let (budget, symbol) = (Arc::clone(&self.budget), symbol.clone());
        let (path, limit, weight) = (
            self.config.snapshot_path,
            self.config.snapshot_limit,
            self.config.snapshot_weight,
        );
        self.fetches.push(Box::pin(async move {
            tokio::time::sleep(delay).await;
            loop {
                let at = match lock(&budget).take(weight, Instant::now()) {
                    Ok(()) => break,
                    Err(at) => at,
                };
                tokio::time::sleep_until(at).await;
            }
            let (result, answer) = client
                .depth_answer(path, symbol.as_str(), limit, crate::clock::now_ns)
                .await;
            (symbol, result, Some(answer))
        }));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[allow(clippy::too_many_arguments)]
fn emit(
    config: &FeedConfig,
    symbol: &Symbol,
    recv_ns: u64,
    out: Output<'_>,
    book: &super::Book,
    interval: &mut BookInterval,
    row: &mut BookRow,
    sink: &mut Sink<'_>,
) {
    let (exchange_ns, update_id) = match out {
        Output::Gap(reason) => {
            interval.reset();
            sink(symbol, recv_ns, FeedOutput::Gap(reason));
            return;
        }
        Output::Snapshot(snapshot) => {
            if config.depth_rows {
                let depth = DepthRow::snapshot(book, snapshot.last_update_id, snapshot.exchange_ns);
                sink(symbol, recv_ns, FeedOutput::Depth(depth));
            }
            (snapshot.exchange_ns, snapshot.last_update_id)
        }
        Output::Applied(event) => {
            if config.depth_rows {
                sink(symbol, recv_ns, FeedOutput::Depth(DepthRow::event(event)));
            }
            (event.exchange_ns, event.last_id)
        }
    };
    if let Some(levels) = config.book_levels {
        if interval.due(exchange_ns) {
            row.fill(book, levels);
            let line = BookLine {
                exchange_ns,
                update_id,
                levels: row.clone(),
            };
            sink(symbol, recv_ns, FeedOutput::Book(line));
        }
    }
}

#[cfg(test)]
mod tests;
