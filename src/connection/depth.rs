//! The order-book side of a connection: `depth` and `book` streams.
//!
//! A venue's decoder puts order-book messages in [`Out::depth`]; this module keeps each
//! symbol's book in sync with them (Binance: [`DepthFeeds`], a REST snapshot per symbol
//! fetched beside the stream; Bybit and OKX: [`PushedBook`], books the venue pushes) and
//! turns what that yields into `depth` rows, `book` rows and gap records, sent like ticks.
//! Only frames that carry order-book messages come here: the hot path of the other
//! channels never does. A re-sync writes one gap record per stream of the symbol
//! (`depth`, `book`), reason `sequence` (or `checksum`, `buffer_overflow`), and is
//! counted once for the venue and once on each of those streams ([`Stats::book_resynced`]).

use std::sync::Mutex;

use crate::book::budget::WeightBudget;
use crate::book::feed::{DepthFeeds, FeedConfig, FeedOutput, Fetched};
use crate::book::fetch::{RestAnswer, SnapshotClient};
use crate::book::pushed::{Message as BookMessage, Outcome, PushedBook};
use crate::book::row::{BookData, BookInterval, BookLine, BookRecord, DepthRow};
use crate::book::sync::{GapReason, Limits as SyncLimits};
use crate::book::{BookRow, LevelError};
use crate::exchange::{BookSync, Venue};

use super::*;

/// A venue's snapshot budget, shared by its connections.
type SharedBudget = Arc<Mutex<WeightBudget>>;

/// The run's order-book settings (`--book-levels`, `--book-interval`, `--rest-endpoint`),
/// and the request-weight budgets every connection of a venue shares.
#[derive(Clone, Debug)]
pub struct BookSettings {
    /// Levels a side of each `book` row.
    pub levels: usize,
    /// `book` rows every this much exchange time (0: after every update).
    pub interval: Duration,
    /// The REST base URL of each venue that needs one.
    pub rest_endpoints: Vec<(Venue, String)>,
    /// The deadline of one snapshot request.
    pub snapshot_timeout: Duration,
    /// How much is buffered while a snapshot is awaited.
    pub limits: SyncLimits,
    /// One budget per venue, made at first use.
    budgets: Arc<Mutex<Vec<(Venue, SharedBudget)>>>,
}

impl Default for BookSettings {
    fn default() -> BookSettings {
        BookSettings::new(20, Duration::ZERO, Vec::new())
    }
}

impl BookSettings {
    /// Settings with the default snapshot deadline and buffer bounds.
    pub fn new(levels: usize, interval: Duration, rest_endpoints: Vec<(Venue, String)>) -> Self {
        BookSettings {
            levels,
            interval,
            rest_endpoints,
            snapshot_timeout: Duration::from_secs(30),
            limits: SyncLimits::default(),
            budgets: Arc::default(),
        }
    }

    fn budget(&self, venue: Venue, per_minute: u64) -> Arc<Mutex<WeightBudget>> {
        let mut budgets = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, budget)) = budgets.iter().find(|(v, _)| *v == venue) {
            return Arc::clone(budget);
        }
        let budget = Arc::new(Mutex::new(WeightBudget::new(per_minute, Instant::now())));
        budgets.push((venue, Arc::clone(&budget)));
        budget
    }

    fn rest_endpoint(&self, venue: Venue) -> Option<&str> {
        self.rest_endpoints
            .iter()
            .find(|(v, _)| *v == venue)
            .map(|(_, url)| url.as_str())
            .or(venue.exchange().default_rest_endpoint())
    }
}

/// What one symbol's pushed book holds besides the book.
pub struct Pushed {
    book: PushedBook,
    interval: BookInterval,
    row: BookRow,
}

/// The order books of one connection (and of one connection task of a raw capture, in
/// `foxtrot convert`).
pub enum Books {
    /// Binance: diff events and REST snapshots.
    Rest(Box<DepthFeeds>),
    /// Bybit, OKX: books pushed over the socket.
    Pushed {
        rules: crate::book::pushed::Continuity,
        levels: usize,
        interval: Duration,
        symbols: FxHashMap<Symbol, Pushed>,
    },
}

/// Rows waiting to be sent: `(symbol, recv_ns, row)`.
pub type Pending = Vec<(Symbol, u64, FeedOutput)>;

impl Books {
    /// The books of a connection carrying `streams`, if any is `depth` or `book`.
    pub(super) fn of(streams: &[StreamId], settings: &BookSettings) -> Option<Books> {
        Books::build(streams, settings, false)
    }

    /// [`Books::of`] for `foxtrot convert`: Binance's fetch nothing; the snapshots come
    /// from the capture ([`Books::apply_captured`]).
    pub fn offline(streams: &[StreamId], settings: &BookSettings) -> Option<Books> {
        Books::build(streams, settings, true)
    }

    fn build(streams: &[StreamId], settings: &BookSettings, offline: bool) -> Option<Books> {
        let venue = streams.first()?.venue;
        let wants = |channel| streams.iter().any(|s| s.channel == channel);
        if !wants(Channel::Depth) && !wants(Channel::Book) {
            return None;
        }
        match venue.exchange().book_sync() {
            BookSync::None => None,
            BookSync::RestSnapshot {
                rules,
                path,
                limit,
                weight,
                weight_per_minute,
            } => {
                let config = FeedConfig {
                    rules,
                    snapshot_path: path,
                    snapshot_limit: limit,
                    snapshot_weight: weight,
                    limits: settings.limits,
                    depth_rows: wants(Channel::Depth),
                    book_levels: wants(Channel::Book).then_some(settings.levels),
                    book_interval: settings.interval,
                };
                if offline {
                    return Some(Books::Rest(Box::new(DepthFeeds::offline(config))));
                }
                let endpoint = settings.rest_endpoint(venue)?;
                let client = match SnapshotClient::new(endpoint, settings.snapshot_timeout) {
                    Ok(client) => client,
                    Err(e) => {
                        // The plan checks the URL before the run; this is the backstop.
                        error!("{e}: no order book for {venue}");
                        return None;
                    }
                };
                let budget = settings.budget(venue, weight_per_minute);
                Some(Books::Rest(Box::new(DepthFeeds::new(
                    config, client, budget,
                ))))
            }
            BookSync::Pushed(rules) => Some(Books::Pushed {
                rules,
                levels: settings.levels,
                interval: settings.interval,
                symbols: FxHashMap::default(),
            }),
        }
    }

    /// The stream restarted (a reconnect): every book is built again. The connection
    /// writes the reconnect's gap records itself.
    pub fn restart(&mut self) {
        match self {
            Books::Rest(feeds) => feeds.restart(),
            Books::Pushed { symbols, .. } => symbols.clear(),
        }
    }

    /// Applies the order-book messages of `out`; what to write goes to `pending`, and the
    /// symbols whose pushed book broke (to subscribe again) to `resync`.
    ///
    /// An update with a level the book cannot key (a negative size, a price past the
    /// book's precision) is not applied, never applied in part: its error is returned for
    /// the caller to count. A Binance book then breaks at the next update, whose ids no
    /// longer follow; a pushed book breaks here, with a `sequence` gap and a re-subscribe.
    pub fn on_frame(
        &mut self,
        out: &Out,
        pending: &mut Pending,
        resync: &mut Vec<Symbol>,
        refused: &mut Vec<(Symbol, LevelError)>,
    ) {
        for update in &out.depth {
            let (bids, asks) = match out.changes_of(update) {
                Ok(changes) => changes,
                Err(e) => {
                    if let Books::Pushed { symbols, .. } = self {
                        // Rebuilt from the snapshot the re-subscribe brings.
                        symbols.remove(&update.symbol);
                        let reason = GapReason::Sequence;
                        pending.push((
                            update.symbol.clone(),
                            update.recv_ns,
                            FeedOutput::Gap(reason),
                        ));
                        resync.push(update.symbol.clone());
                    }
                    refused.push((update.symbol.clone(), e));
                    continue;
                }
            };
            match self {
                Books::Rest(feeds) => {
                    let event = update.event((bids, asks));
                    feeds.on_event(&update.symbol, event, &mut |s, r, o| {
                        pending.push((s.clone(), r, o))
                    });
                }
                Books::Pushed {
                    rules,
                    levels,
                    interval,
                    symbols,
                } => {
                    let entry = symbols
                        .entry(update.symbol.clone())
                        .or_insert_with(|| Pushed {
                            book: PushedBook::new(*rules),
                            interval: BookInterval::new(interval.as_nanos() as u64),
                            row: BookRow::default(),
                        });
                    // A repeat (the other socket of a make-before-break) changes nothing.
                    // Id 0 is no id (OKX frames before `seqId` existed).
                    if !update.snapshot
                        && update.last_update_id != 0
                        && entry
                            .book
                            .update_id()
                            .is_some_and(|last| update.last_update_id <= last)
                    {
                        continue;
                    }
                    let message = BookMessage {
                        snapshot: update.snapshot,
                        update_id: update.last_update_id,
                        prev_update_id: update.prev_update_id,
                        checksum: update.checksum,
                        bids: &bids,
                        asks: &asks,
                    };
                    let outcome = entry.book.apply(&message);
                    let (symbol, recv_ns) = (&update.symbol, update.recv_ns);
                    let depth = match outcome {
                        Outcome::Ignored => continue,
                        Outcome::Gap(reason) => {
                            entry.interval.reset();
                            pending.push((symbol.clone(), recv_ns, FeedOutput::Gap(gap(reason))));
                            resync.push(symbol.clone());
                            continue;
                        }
                        Outcome::Snapshot => {
                            entry.interval.reset();
                            DepthRow::snapshot(
                                entry.book.book(),
                                update.last_update_id,
                                update.exchange_ns,
                            )
                        }
                        Outcome::Applied => DepthRow {
                            exchange_ns: update.exchange_ns,
                            is_snapshot: false,
                            synthetic: false,
                            first_update_id: update.first_update_id,
                            update_id: update.last_update_id,
                            prev_update_id: update.prev_update_id,
                            bids: bids.iter().map(|c| c.level).collect(),
                            asks: asks.iter().map(|c| c.level).collect(),
                        },
                    };
                    pending.push((symbol.clone(), recv_ns, FeedOutput::Depth(depth)));
                    if entry.interval.due(update.exchange_ns) {
                        entry.row.fill(entry.book.book(), *levels);
                        let line = BookLine {
                            exchange_ns: update.exchange_ns,
                            update_id: update.last_update_id,
                            levels: entry.row.clone(),
                        };
                        pending.push((symbol.clone(), recv_ns, FeedOutput::Book(line)));
                    }
                }
            }
        }
    }
}

impl Books {
    /// A snapshot fetch as a raw capture holds it, applied where the run applied it.
    pub fn apply_captured(&mut self, fetched: Fetched, pending: &mut Pending) {
        if let Books::Rest(feeds) = self {
            feeds.apply_fetched(fetched, &mut |s, r, o| pending.push((s.clone(), r, o)));
        }
    }
}

/// What a pending output writes: a `depth` or `book` row, or (`Err`) the reason the
/// symbol's book broke (see [`resync_gaps`]).
pub fn book_data(output: FeedOutput) -> Result<(Channel, BookData), GapReason> {
    match output {
        FeedOutput::Gap(reason) => Err(reason),
        FeedOutput::Depth(row) => Ok((Channel::Depth, BookData::Depth(row))),
        FeedOutput::Book(line) => Ok((Channel::Book, BookData::Book(line))),
    }
}

/// The gap records of a book that broke at `recv_ns`: one per stream of the symbol the
/// connection carries (`carries`), `depth` then `book`, from and to `recv_ns`.
pub fn resync_gaps(
    venue: Venue,
    symbol: &Symbol,
    recv_ns: u64,
    reason: GapReason,
    mut carries: impl FnMut(Channel) -> bool,
) -> Vec<Gap> {
    [Channel::Depth, Channel::Book]
        .into_iter()
        .filter(|c| carries(*c))
        .map(|channel| Gap {
            exchange: venue,
            symbol: symbol.clone(),
            channel,
            from_ns: recv_ns,
            to_ns: recv_ns,
            reason: reason.as_str(),
        })
        .collect()
}

/// A pushed book's break reason as the sync's (for the gap record's `reason`).
fn gap(reason: &'static str) -> crate::book::sync::GapReason {
    match reason {
        "checksum" => crate::book::sync::GapReason::Checksum,
        _ => crate::book::sync::GapReason::Sequence,
    }
}

/// Waits for the next snapshot fetch of `books` to end and applies it; pending while
/// there is none (Bybit, OKX, or no fetch in flight). Cancel-safe. Returns the answer for
/// the raw capture.
pub(super) async fn next_snapshot(
    books: &mut Option<Books>,
    pending: &mut Pending,
) -> Option<RestAnswer> {
    match books {
        Some(Books::Rest(feeds)) => {
            let mut fetched = feeds.next_fetched().await;
            let answer = fetched.answer();
            feeds.apply_fetched(fetched, &mut |s, r, o| pending.push((s.clone(), r, o)));
            answer
        }
        _ => std::future::pending().await,
    }
}

impl Connection {
    /// Sends the rows in `self.book_pending`: each `depth`/`book` row of a stream this
    /// connection carries (admitted under `--limit`, counted as received), and one gap
    /// record per stream of a symbol whose book broke.
    pub(super) async fn send_book_rows(&mut self) -> Next {
        let pending = std::mem::take(&mut self.book_pending);
        let mut stopped = false;
        for (symbol, recv_ns, output) in pending {
            if stopped {
                break;
            }
            let (channel, data) = match book_data(output) {
                Err(reason) => {
                    let counted = [Channel::Depth, Channel::Book]
                        .map(|c| self.slot(&symbol, c).and_then(|seen| seen.counted_at));
                    self.shared
                        .stats
                        .book_resynced(self.exchange.venue(), &counted);
                    let venue = self.exchange.venue();
                    let gaps = resync_gaps(venue, &symbol, recv_ns, reason, |c| {
                        self.slot(&symbol, c).is_some()
                    });
                    for gap in gaps {
                        if self.emit_gap(gap).await.is_err() {
                            stopped = true;
                        }
                    }
                    continue;
                }
                Ok(row) => row,
            };
            let Some(seen) = self.slot(&symbol, channel) else {
                continue;
            };
            seen.last_ns = recv_ns;
            seen.warned = false;
            let counted_at = seen.counted_at;
            if !self.shared.admission.admit() {
                continue;
            }
            self.shared.stats.tick_received(counted_at, recv_ns);
            let record = BookRecord {
                exchange: self.exchange.venue(),
                symbol,
                recv_ns,
                data,
            };
            if self.outbox.push(Event::Book(Box::new(record)))
                && let Next::Stop = self.flush().await
            {
                stopped = true;
            }
        }
        if stopped {
            return Next::Stop;
        }
        self.flush().await
    }

    /// Asks the venue for a fresh snapshot of each symbol whose pushed book broke (its
    /// requests to subscribe again, sent on `link`).
    pub(super) async fn resubscribe(&mut self, symbols: Vec<Symbol>, link: &mut Link) -> Next {
        for symbol in symbols {
            let Some(stream) = self.streams.iter().find(|s| {
                s.symbol == symbol && matches!(s.channel, Channel::Depth | Channel::Book)
            }) else {
                continue;
            };
            let requests = self.exchange.resubscribe(stream);
            if !requests.is_empty() {
                warn!(url = %self.dialer.url, "the {symbol} book broke; subscribing again for a new snapshot");
            }
            for request in requests {
                link.tap(clock::now_ns(), || {
                    crate::raw::Event::Send(bytes::Bytes::from(request.clone().into_bytes()))
                });
                if let Err(e) = link.ws.send(Message::text(request)).await {
                    return Next::Lost(Loss {
                        why: describe(&e),
                        reason: "disconnected",
                    });
                }
            }
        }
        Next::Continue
    }

    fn slot(&mut self, symbol: &Symbol, channel: Channel) -> Option<&mut dedup::Seen> {
        self.seen
            .get_mut(symbol)
            .and_then(|slots| slots[channel.index()].as_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::pushed::Continuity;
    use crate::book::sync::GapReason;
    use crate::decimal::Decimal;
    use crate::exchange::{DepthUpdate, Level, Out};

    fn frame(symbol: &Symbol, snapshot: bool, id: u64, bids: &[(&str, &str)]) -> Out {
        let mut out = Out::default();
        for (price, qty) in bids {
            out.levels.push(Level {
                price: Decimal::parse(price).unwrap(),
                qty: Decimal::parse(qty).unwrap(),
            });
        }
        out.depth.push(DepthUpdate {
            symbol: symbol.clone(),
            snapshot,
            first_update_id: None,
            last_update_id: id,
            prev_update_id: None,
            checksum: None,
            exchange_ns: 0,
            recv_ns: id,
            bids: 0..bids.len() as u32,
            asks: 0..0,
        });
        out
    }

    #[test]
    fn an_update_with_a_level_the_book_cannot_key_breaks_the_book_not_silently() {
        let symbol = Symbol::parse("BTCUSDT").unwrap();
        let mut books = Books::Pushed {
            rules: Continuity::Bybit,
            levels: 5,
            interval: Duration::ZERO,
            symbols: FxHashMap::default(),
        };
        let (mut pending, mut resync, mut refused) = (Vec::new(), Vec::new(), Vec::new());
        let snapshot = frame(&symbol, true, 1, &[("100.5", "2")]);
        books.on_frame(&snapshot, &mut pending, &mut resync, &mut refused);
        assert!(
            matches!(pending.as_slice(), [(_, 1, FeedOutput::Depth(_)), ..]),
            "{pending:?}"
        );
        assert!(refused.is_empty() && resync.is_empty());
        pending.clear();

        // A negative size: nothing of the update is applied, the error is handed back,
        // and the book breaks (a gap, a re-subscribe) instead of going on without a level.
        let bad = frame(&symbol, false, 2, &[("100.4", "1"), ("100.5", "-1")]);
        books.on_frame(&bad, &mut pending, &mut resync, &mut refused);
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(refused[0].0, symbol);
        assert_eq!(resync, std::slice::from_ref(&symbol));
        assert!(
            matches!(
                pending.as_slice(),
                [(_, 2, FeedOutput::Gap(GapReason::Sequence))]
            ),
            "{pending:?}"
        );
    }
}
