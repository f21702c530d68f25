//! Recordings of foxtrot's own rows (NDJSON or CSV, `record --out`) turned back into the
//! venue messages they came from, so `foxtrot replay` serves them.
//!
//! This module owns reading a row (an NDJSON line, or a CSV record by its header), deciding
//! which message a row becomes, and grouping the rows that came from one message: the
//! trades (and liquidations) of one frame, a Bybit linear ticker and the funding row its
//! frame also made, the CSV lines of one `depth` row. Each venue's messages are built in
//! its file ([`binance`], [`bybit`], [`okx`]) in the shape the venue documents, so that
//! recording the replay gives back the same rows (receive times aside). Gap records are
//! skipped. A `book` row is the top of a rebuilt book, not a venue message: it is served
//! by the `depth` rows of the same symbol when the file holds them, and refused otherwise.
//! Rows no message can be rebuilt from are refused ([`Unservable`]): Binance `depth` (its
//! books start from REST snapshots), klines, Binance funding and liquidations.

mod binance;
mod bybit;
mod okx;

use std::collections::HashMap;

use super::library::push_json_string;

/// A row's fields as text (a decimal without its quotes, a level array as its JSON text),
/// by column name.
pub(crate) type Row = HashMap<String, String>;

/// Whether a line is a row of foxtrot's NDJSON output (or a gap record).
pub(crate) fn is_ndjson_row(line: &str) -> bool {
    line.starts_with("{\"exchange\":") || line.starts_with("{\"type\":\"gap\"")
}

/// Whether a line is the header of foxtrot's CSV output.
pub(crate) fn is_csv_header(line: &str) -> bool {
    line.starts_with("exchange,symbol,channel,recv_ns")
}

/// The fields of an NDJSON row as text; `None` for a gap record or a line of another shape.
pub(crate) fn ndjson_row(line: &str) -> Option<Row> {
    let value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).ok()?;
    if value.contains_key("type") {
        return None;
    }
    Some(
        value
            .into_iter()
            .filter_map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => return None,
                    other => other.to_string(),
                };
                Some((k, text))
            })
            .collect(),
    )
}

/// A field of a row; `None` when absent or empty.
pub(super) fn get<'a>(row: &'a Row, key: &str) -> Option<&'a str> {
    row.get(key).filter(|v| !v.is_empty()).map(String::as_str)
}

/// A row of a venue and channel replay cannot rebuild a message from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unservable {
    /// The row's venue.
    pub(crate) exchange: String,
    /// The row's channel.
    pub(crate) channel: String,
    /// Why, in a few words.
    pub(crate) why: &'static str,
}

/// What replay serves from rows, for the refusal of anything else.
const SERVED: &str = "replay rebuilds Binance trade, aggTrade, bookTicker and ticker rows, and Bybit and OKX trade, bookTicker, ticker, funding, liquidation and depth rows";
const BINANCE_DEPTH: &str =
    "a Binance book starts from a REST snapshot, which replay does not serve from rows";
const BOOK: &str = "book rows are the top of the rebuilt book, not venue messages; they replay only beside the depth rows of the same symbol";

/// Which message a row becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Binance,
    BybitTrades,
    BybitTickers,
    BybitLiquidations,
    BybitBookTicker,
    BybitDepth,
    OkxTrades,
    OkxLiquidations,
    OkxBbo,
    OkxTicker,
    OkxFunding,
    OkxDepth,
    /// A `book` row of a pushed book: served by the symbol's `depth` rows.
    Book,
}

impl Kind {
    /// The kind of `row`, or why it cannot be served.
    fn of(row: &Row) -> Result<Kind, Unservable> {
        let exchange = get(row, "exchange").unwrap_or_default();
        let channel = get(row, "channel").unwrap_or_default();
        let kind = match (exchange, channel) {
            ("binance" | "binance-futures", "trade" | "aggTrade" | "bookTicker" | "ticker") => {
                Ok(Kind::Binance)
            }
            ("binance" | "binance-futures", "depth") => Err(BINANCE_DEPTH),
            ("binance" | "binance-futures", "book") => Err(BOOK),
            ("bybit" | "bybit-linear", "trade") => Ok(Kind::BybitTrades),
            ("bybit" | "bybit-linear", "ticker" | "funding") => Ok(Kind::BybitTickers),
            ("bybit" | "bybit-linear", "liquidation") => Ok(Kind::BybitLiquidations),
            ("bybit" | "bybit-linear", "bookTicker") => Ok(Kind::BybitBookTicker),
            ("bybit" | "bybit-linear", "depth") => Ok(Kind::BybitDepth),
            ("okx", "trade") => Ok(Kind::OkxTrades),
            ("okx", "liquidation") => Ok(Kind::OkxLiquidations),
            ("okx", "bookTicker") => Ok(Kind::OkxBbo),
            ("okx", "ticker") => Ok(Kind::OkxTicker),
            ("okx", "funding") => Ok(Kind::OkxFunding),
            ("okx", "depth") => Ok(Kind::OkxDepth),
            ("bybit" | "bybit-linear" | "okx", "book") => Ok(Kind::Book),
            _ => Err(SERVED),
        };
        kind.map_err(|why| Unservable {
            exchange: exchange.to_owned(),
            channel: channel.to_owned(),
            why,
        })
    }

    /// The fields that rows of one message share, for kinds whose message holds several
    /// rows; `None` for a message per row.
    fn group_fields(self) -> Option<&'static [&'static str]> {
        match self {
            Kind::BybitTrades | Kind::BybitTickers | Kind::BybitLiquidations => {
                Some(&["exchange", "symbol", "recv_ns", "exchange_ns"])
            }
            // OKX stamps each trade and liquidation with its own time.
            Kind::OkxTrades | Kind::OkxLiquidations => Some(&["exchange", "symbol", "recv_ns"]),
            _ => None,
        }
    }
}

/// The values of the fields that rows of one `kind` of message share.
fn group_key(kind: Kind, row: &Row) -> Vec<String> {
    kind.group_fields()
        .unwrap_or_default()
        .iter()
        .map(|f| row.get(*f).cloned().unwrap_or_default())
        .collect()
}

/// The CSV columns of a `depth` line that are the same on every line of one row.
const DEPTH_ROW_FIELDS: [&str; 9] = [
    "exchange",
    "symbol",
    "recv_ns",
    "exchange_ns",
    "is_snapshot",
    "first_update_id",
    "update_id",
    "prev_update_id",
    "channel",
];

/// A rebuilt message and the receive time of its first row (`--speed` paces by it).
pub(crate) type Frame = (String, Option<u64>);

/// Turns a recording's rows, in file order, into venue messages.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    /// Rows of one message still open, and their kind.
    pending: Vec<Row>,
    pending_kind: Option<Kind>,
    /// CSV lines of one `depth` row still open, and the line of the first.
    csv_depth: Vec<Row>,
    csv_depth_line: usize,
    /// Messages built and not yet taken.
    out: Vec<Frame>,
    /// Rows that became no message (a field missing).
    skipped: u64,
    /// Per venue and symbol: the first `book` row's line, and whether `depth` rows came.
    books: HashMap<(String, String), (Option<usize>, bool)>,
    /// Per venue and symbol: the last Bybit `tickers` message built of a `ticker` row
    /// alone (its shared fields, its place in `out`, the row), which a `funding` row of
    /// the same frame written later (rows of another connection between) still joins.
    lone_tickers: HashMap<(String, String), (Vec<String>, usize, Row)>,
    bybit: bybit::State,
    okx: okx::State,
}

impl Frames {
    /// Adds one row; a refusal comes with the line it names (`line` is the row's place in
    /// the file).
    pub(crate) fn push(&mut self, line: usize, row: Row) -> Result<(), (usize, Unservable)> {
        if row.contains_key("side") && get(&row, "channel") == Some("depth") {
            Kind::of(&row).map_err(|e| (line, e))?;
            return self.push_csv_depth(line, row);
        }
        self.flush_csv_depth()?;
        self.push_row(line, row).map_err(|e| (line, e))
    }

    fn push_row(&mut self, line: usize, row: Row) -> Result<(), Unservable> {
        let kind = Kind::of(&row)?;
        let venue_symbol = || {
            (
                get(&row, "exchange").unwrap_or_default().to_owned(),
                get(&row, "symbol").unwrap_or_default().to_owned(),
            )
        };
        match kind {
            Kind::Book => {
                let entry = self.books.entry(venue_symbol()).or_default();
                entry.0.get_or_insert(line);
                self.skipped += 1;
                return Ok(());
            }
            Kind::BybitDepth | Kind::OkxDepth => {
                self.books.entry(venue_symbol()).or_default().1 = true;
            }
            _ => {}
        }
        if kind == Kind::BybitTickers && self.joins_lone_ticker(&row) {
            return Ok(());
        }
        let joins = self.pending_kind == Some(kind)
            && kind.group_fields().is_some_and(|fields| {
                fields
                    .iter()
                    .all(|f| row.get(*f) == self.pending[0].get(*f))
            })
            && (kind != Kind::BybitTickers || self.joins_ticker(&row));
        if !joins {
            self.flush();
        }
        self.pending.push(row);
        self.pending_kind = Some(kind);
        if kind.group_fields().is_none() {
            self.flush();
        }
        Ok(())
    }

    /// Whether a `ticker`/`funding` row belongs with the open one: a funding row after its
    /// ticker (one frame of Bybit's `tickers` makes both, in that order).
    fn joins_ticker(&self, row: &Row) -> bool {
        get(row, "channel") == Some("funding")
            && self.pending.len() == 1
            && get(&self.pending[0], "channel") == Some("ticker")
    }

    /// Puts a `funding` row into the message already built of its frame's `ticker` row,
    /// when the two are not next to each other in the file; whether it did.
    fn joins_lone_ticker(&mut self, row: &Row) -> bool {
        let open = self.pending_kind == Some(Kind::BybitTickers) && self.joins_ticker(row);
        if open || get(row, "channel") != Some("funding") {
            return false;
        }
        let key = (
            get(row, "exchange").unwrap_or_default().to_owned(),
            get(row, "symbol").unwrap_or_default().to_owned(),
        );
        let Some((shared, index, ticker)) = self.lone_tickers.remove(&key) else {
            return false;
        };
        let same_frame = shared == group_key(Kind::BybitTickers, row);
        match bybit::tickers(&[ticker.clone(), row.clone()]).filter(|_| same_frame) {
            Some(frame) => {
                self.out[index].0 = frame;
                true
            }
            None => {
                self.lone_tickers.insert(key, (shared, index, ticker));
                false
            }
        }
    }

    /// Adds one CSV line of a `depth` row: a row is the consecutive lines that share its
    /// columns but the level.
    fn push_csv_depth(&mut self, line: usize, row: Row) -> Result<(), (usize, Unservable)> {
        let same = self.csv_depth.first().is_some_and(|first| {
            DEPTH_ROW_FIELDS
                .iter()
                .all(|f| row.get(*f) == first.get(*f))
        });
        if !same {
            self.flush_csv_depth()?;
            self.csv_depth_line = line;
        }
        self.csv_depth.push(row);
        Ok(())
    }

    /// Turns the open CSV `depth` lines into one row with level arrays, as NDJSON has it.
    fn flush_csv_depth(&mut self) -> Result<(), (usize, Unservable)> {
        let lines = std::mem::take(&mut self.csv_depth);
        let Some(first) = lines.first() else {
            return Ok(());
        };
        let mut row: Row = DEPTH_ROW_FIELDS
            .iter()
            .filter_map(|f| Some((f.to_string(), first.get(*f)?.clone())))
            .collect();
        for (key, side) in [("bids", "bid"), ("asks", "ask")] {
            let levels = lines
                .iter()
                .filter(|l| get(l, "side") == Some(side))
                .map(|l| {
                    let mut level = String::from("[");
                    push_json_string(&mut level, get(l, "price").unwrap_or_default());
                    level.push(',');
                    push_json_string(&mut level, get(l, "qty").unwrap_or_default());
                    level.push(']');
                    level
                });
            row.insert(key.to_owned(), array(levels));
        }
        let line = self.csv_depth_line;
        self.push_row(line, row).map_err(|e| (line, e))
    }

    /// Builds the message of the open rows.
    fn flush(&mut self) {
        let rows = std::mem::take(&mut self.pending);
        let Some(kind) = self.pending_kind.take() else {
            return;
        };
        let Some(first) = rows.first() else {
            return;
        };
        let frame = match kind {
            Kind::Binance => binance::frame(first),
            Kind::BybitTrades => self.bybit.trades(&rows),
            Kind::BybitTickers => bybit::tickers(&rows),
            Kind::BybitLiquidations => bybit::liquidations(&rows),
            Kind::BybitBookTicker => bybit::book_ticker(first),
            Kind::BybitDepth => bybit::depth(first),
            Kind::OkxTrades => okx::trades(&rows),
            Kind::OkxLiquidations => okx::liquidations(&rows),
            Kind::OkxBbo => okx::bbo(first),
            Kind::OkxTicker => okx::ticker(first),
            Kind::OkxFunding => okx::funding(first),
            Kind::OkxDepth => self.okx.depth(first),
            Kind::Book => None,
        };
        match frame {
            Some(frame) => {
                let recv_ns = get(first, "recv_ns").and_then(|v| v.parse().ok());
                if kind == Kind::BybitTickers
                    && rows.len() == 1
                    && get(first, "channel") == Some("ticker")
                {
                    let key = (
                        get(first, "exchange").unwrap_or_default().to_owned(),
                        get(first, "symbol").unwrap_or_default().to_owned(),
                    );
                    let shared = group_key(kind, first);
                    self.lone_tickers
                        .insert(key, (shared, self.out.len(), first.clone()));
                }
                self.out.push((frame, recv_ns));
            }
            None => self.skipped += rows.len() as u64,
        }
    }

    /// Ends the file: builds the open message, and refuses `book` rows of a symbol whose
    /// `depth` rows the file does not hold (with the line of the first).
    pub(crate) fn finish(&mut self) -> Result<(), (usize, Unservable)> {
        self.flush_csv_depth()?;
        self.flush();
        let mut orphans: Vec<(usize, &(String, String))> = self
            .books
            .iter()
            .filter_map(|(key, (line, depth))| Some((*line.as_ref()?, key)).filter(|_| !depth))
            .collect();
        orphans.sort();
        match orphans.first() {
            Some(&(line, (exchange, _))) => Err((
                line,
                Unservable {
                    exchange: exchange.clone(),
                    channel: "book".to_owned(),
                    why: BOOK,
                },
            )),
            None => Ok(()),
        }
    }

    /// The messages built, in order (call after [`Frames::finish`]: a later row may still
    /// complete a message built earlier).
    pub(crate) fn take(&mut self) -> Vec<Frame> {
        self.lone_tickers.clear();
        std::mem::take(&mut self.out)
    }

    /// Rows that became no message, counted once each (taken: counted only once).
    pub(crate) fn take_skipped(&mut self) -> u64 {
        std::mem::take(&mut self.skipped)
    }
}

/// A JSON object written key by key, in the order given.
pub(super) struct Obj(String);

impl Obj {
    pub(super) fn new() -> Obj {
        Obj(String::from("{"))
    }

    fn key(&mut self, key: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        push_json_string(&mut self.0, key);
        self.0.push(':');
    }

    /// `"key":"value"`.
    pub(super) fn text(&mut self, key: &str, value: &str) -> &mut Obj {
        self.key(key);
        push_json_string(&mut self.0, value);
        self
    }

    /// `"key":value`, with `value` JSON text already (a number, `true`, an array).
    pub(super) fn raw(&mut self, key: &str, value: &str) -> &mut Obj {
        self.key(key);
        self.0.push_str(value);
        self
    }

    pub(super) fn end(&mut self) -> String {
        let mut text = std::mem::take(&mut self.0);
        text.push('}');
        text
    }
}

/// `[a,b,...]` of JSON texts.
pub(super) fn array(items: impl IntoIterator<Item = String>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
    out.push(']');
    out
}

/// Milliseconds of a row's `exchange_ns`, as text.
pub(super) fn ms(row: &Row) -> Option<String> {
    let ns: u64 = get(row, "exchange_ns")?.parse().ok()?;
    Some((ns / 1_000_000).to_string())
}

/// A row's level array (`bids`, `asks`): `[price, qty]` texts.
pub(super) fn levels(row: &Row, key: &str) -> Option<Vec<[String; 2]>> {
    serde_json::from_str(row.get(key)?).ok()
}

#[cfg(test)]
mod tests;
