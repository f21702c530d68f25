//! The CSV line format: one header row, then one row per tick.
//!
//! This module owns the column layout (the common fields, then the union of the recorded
//! channels' fields), the mapping of each channel's fields onto it, and the bytes of a
//! row. It does no I/O: rows are appended to the caller's buffer, and it allocates nothing
//! per tick.
//!
//! No cell ever needs quoting, so rows are written directly rather than through a general
//! CSV writer (which cost three times the NDJSON encoder): column names are our literals,
//! the exchange and channel names are constants, `Symbol` is letters and digits, `Decimal`
//! plain decimal text, and the rest are integers and `true`/`false`. None can hold a comma,
//! a quote or a line break.

use std::sync::OnceLock;

use crate::book::Level;
use crate::book::row::{BookData, BookRecord};
use crate::sink::Encode;
use crate::tick::{COMMON_FIELDS, Channel, Tick, Value};

/// `--book-levels` at most: the `book` CSV columns are named up to this many a side.
pub const MAX_BOOK_LEVELS: usize = 1000;

/// `--book-levels` by default.
pub const DEFAULT_BOOK_LEVELS: usize = 20;

/// The most fields one channel has (the 24 h ticker's).
const MAX_FIELDS: usize = 14;

/// Writes ticks of one or more channels as CSV rows under one shared header.
///
/// Columns are [`COMMON_FIELDS`], then each given channel's
/// [`fields`](Channel::fields) in the order the channels were given, each name once:
/// channels that share a field (such as `bid` in `ticker` and `bookTicker`) share its
/// column. A row has empty cells in the columns its channel lacks. Decimals are written
/// verbatim, integers plainly, flags as `true`/`false`.
pub struct Csv {
    columns: Vec<&'static str>,
    /// Per channel (indexed by [`channel_index`]) and per column after the common ones,
    /// which of the channel's fields (in `visit` order) fills it; `None` leaves it empty.
    field_at: [Vec<Option<usize>>; Channel::ALL.len()],
    /// What fills each column after the common ones in a `depth` line and a `book` line.
    depth_cells: Vec<BookCell>,
    book_cells: Vec<BookCell>,
}

/// A column of an order-book row (see [`Csv::encode_book`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BookCell {
    Empty,
    IsSnapshot,
    FirstId,
    UpdateId,
    PrevId,
    Side,
    Price,
    Qty,
    /// `{bid,ask}_{i}_{price,qty}` of a `book` row.
    Level {
        ask: bool,
        i: usize,
        qty: bool,
    },
}

/// The `book` columns' names, `bid_0_price` ..., made once for [`MAX_BOOK_LEVELS`] a side:
/// `[side][level][price, qty]` flattened.
fn book_columns() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names = Vec::with_capacity(4 * MAX_BOOK_LEVELS);
        for side in ["bid", "ask"] {
            for i in 0..MAX_BOOK_LEVELS {
                for field in ["price", "qty"] {
                    let name: &'static str =
                        Box::leak(format!("{side}_{i}_{field}").into_boxed_str());
                    names.push(name);
                }
            }
        }
        names
    })
}

fn book_column(ask: bool, i: usize, qty: bool) -> &'static str {
    book_columns()[usize::from(ask) * 2 * MAX_BOOK_LEVELS + i * 2 + usize::from(qty)]
}

impl Csv {
    /// Lays out the columns for ticks of `channels`, in that order.
    ///
    /// A tick of a channel not listed still makes one complete row, holding those of its
    /// fields that have a column (a `ticker` tick under `bookTicker` columns fills
    /// `bid`, `bid_qty`, `ask`, `ask_qty`), so a wrong call loses fields, never the row.
    pub fn new(channels: &[Channel]) -> Csv {
        Csv::with_book_levels(channels, DEFAULT_BOOK_LEVELS)
    }

    /// As [`Csv::new`], with `book_levels` levels a side in the `book` columns
    /// (`bid_0_price, bid_0_qty, ..., ask_0_price, ...`; at most [`MAX_BOOK_LEVELS`]).
    pub fn with_book_levels(channels: &[Channel], book_levels: usize) -> Csv {
        let book_levels = book_levels.min(MAX_BOOK_LEVELS);
        let mut columns = COMMON_FIELDS.to_vec();
        let mut add = |field: &'static str| {
            if !columns.contains(&field) {
                columns.push(field);
            }
        };
        for channel in channels {
            for &field in channel.fields() {
                add(field);
            }
            if *channel == Channel::Book {
                for ask in [false, true] {
                    for i in 0..book_levels {
                        add(book_column(ask, i, false));
                        add(book_column(ask, i, true));
                    }
                }
            }
        }
        let field_columns = &columns[COMMON_FIELDS.len()..];
        let field_at = Channel::ALL.map(|channel| {
            field_columns
                .iter()
                .map(|column| channel.fields().iter().position(|f| f == column))
                .collect()
        });
        let depth_cells = field_columns
            .iter()
            .map(|column| match *column {
                "is_snapshot" => BookCell::IsSnapshot,
                "first_update_id" => BookCell::FirstId,
                "update_id" => BookCell::UpdateId,
                "prev_update_id" => BookCell::PrevId,
                "side" => BookCell::Side,
                "price" => BookCell::Price,
                "qty" => BookCell::Qty,
                _ => BookCell::Empty,
            })
            .collect();
        let book_cells = field_columns
            .iter()
            .map(|column| {
                if *column == "update_id" {
                    return BookCell::UpdateId;
                }
                for ask in [false, true] {
                    for i in 0..book_levels {
                        for qty in [false, true] {
                            if *column == book_column(ask, i, qty) {
                                return BookCell::Level { ask, i, qty };
                            }
                        }
                    }
                }
                BookCell::Empty
            })
            .collect();
        Csv {
            columns,
            field_at,
            depth_cells,
            book_cells,
        }
    }

    /// The column names, in order, as written by [`Encode::header`].
    pub fn columns(&self) -> &[&'static str] {
        &self.columns
    }
}

/// The position of `channel` in [`Channel::ALL`].
fn channel_index(channel: Channel) -> usize {
    channel.index()
}

impl Encode for Csv {
    fn header(&mut self, out: &mut Vec<u8>) {
        for (i, column) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(column.as_bytes());
        }
        out.push(b'\n');
    }

    fn encode(&mut self, tick: &Tick, out: &mut Vec<u8>) {
        let mut values = [Value::Bool(false); MAX_FIELDS];
        let mut count = 0;
        tick.data.visit(|_, value| {
            values[count] = value;
            count += 1;
        });
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(tick.exchange.as_bytes());
        out.push(b',');
        tick.symbol.append_to(out);
        out.push(b',');
        out.extend_from_slice(tick.channel().as_str().as_bytes());
        out.push(b',');
        out.extend_from_slice(num.format(tick.recv_ns).as_bytes());
        out.push(b',');
        if let Some(ns) = tick.exchange_ns() {
            out.extend_from_slice(num.format(ns).as_bytes());
        }
        for field in &self.field_at[channel_index(tick.channel())] {
            out.push(b',');
            match field.map(|i| values[i]) {
                Some(Value::Decimal(text)) => text.append_to(out),
                Some(Value::Int(n)) => out.extend_from_slice(num.format(n).as_bytes()),
                Some(Value::Bool(true)) => out.extend_from_slice(b"true"),
                Some(Value::Bool(false)) => out.extend_from_slice(b"false"),
                Some(Value::Text(text)) => out.extend_from_slice(text.as_bytes()),
                Some(Value::Uuid(uuid)) => crate::tick::append_uuid(&uuid, out),
                None => {}
            }
        }
        out.push(b'\n');
    }

    /// A `depth` row is one line per level change (one line with `side`, `price` and
    /// `qty` empty when it has none, so no snapshot goes unseen); a `book` row one line.
    fn encode_book(&mut self, record: &BookRecord, out: &mut Vec<u8>) {
        let mut num = itoa::Buffer::new();
        let mut prefix = Vec::with_capacity(96);
        prefix.extend_from_slice(record.exchange.as_bytes());
        prefix.push(b',');
        record.symbol.append_to(&mut prefix);
        prefix.push(b',');
        prefix.extend_from_slice(record.channel().as_str().as_bytes());
        prefix.push(b',');
        prefix.extend_from_slice(num.format(record.recv_ns).as_bytes());
        prefix.push(b',');
        if record.exchange_ns() != 0 {
            prefix.extend_from_slice(num.format(record.exchange_ns()).as_bytes());
        }
        match &record.data {
            BookData::Depth(row) => {
                let mut line = |side: &'static str, level: Option<&Level>| {
                    out.extend_from_slice(&prefix);
                    for cell in &self.depth_cells {
                        out.push(b',');
                        match cell {
                            BookCell::IsSnapshot => out.extend_from_slice(if row.is_snapshot {
                                b"true"
                            } else {
                                b"false"
                            }),
                            BookCell::FirstId => {
                                if let Some(id) = row.first_update_id {
                                    out.extend_from_slice(num.format(id).as_bytes());
                                }
                            }
                            BookCell::UpdateId => {
                                out.extend_from_slice(num.format(row.update_id).as_bytes())
                            }
                            BookCell::PrevId => {
                                if let Some(id) = row.prev_update_id {
                                    out.extend_from_slice(num.format(id).as_bytes());
                                }
                            }
                            BookCell::Side => out.extend_from_slice(side.as_bytes()),
                            BookCell::Price => {
                                if let Some(level) = level {
                                    level.price.append_to(out);
                                }
                            }
                            BookCell::Qty => {
                                if let Some(level) = level {
                                    level.qty.append_to(out);
                                }
                            }
                            BookCell::Empty | BookCell::Level { .. } => {}
                        }
                    }
                    out.push(b'\n');
                };
                for level in &row.bids {
                    line("bid", Some(level));
                }
                for level in &row.asks {
                    line("ask", Some(level));
                }
                if row.bids.is_empty() && row.asks.is_empty() {
                    line("", None);
                }
            }
            BookData::Book(book) => {
                out.extend_from_slice(&prefix);
                for cell in &self.book_cells {
                    out.push(b',');
                    match *cell {
                        BookCell::UpdateId => {
                            out.extend_from_slice(num.format(book.update_id).as_bytes())
                        }
                        BookCell::Level { ask, i, qty } => {
                            let side = if ask {
                                &book.levels.asks
                            } else {
                                &book.levels.bids
                            };
                            if let Some(level) = side.get(i) {
                                if qty {
                                    level.qty.append_to(out);
                                } else {
                                    level.price.append_to(out);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                out.push(b'\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::ndjson::tests::samples;

    /// Encodes a header and `ticks` for `channels`, then reads it all back.
    fn round_trip(channels: &[Channel], ticks: &[Tick]) -> (Vec<String>, Vec<Vec<String>>) {
        let mut csv = Csv::new(channels);
        let mut out = Vec::new();
        csv.header(&mut out);
        for tick in ticks {
            let before = out.len();
            csv.encode(tick, &mut out);
            assert_eq!(out.last(), Some(&b'\n'));
            assert_eq!(out[before..].iter().filter(|&&b| b == b'\n').count(), 1);
        }
        let mut reader = ::csv::Reader::from_reader(out.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, csv.columns());
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    fn sample(channel: Channel) -> Tick {
        samples()
            .into_iter()
            .find(|t| t.channel() == channel)
            .unwrap()
    }

    /// The tick's values as CSV text, keyed by field name.
    fn expected_cells(tick: &Tick) -> Vec<(&'static str, String)> {
        let mut cells = vec![
            ("exchange", tick.exchange.name().to_owned()),
            ("symbol", tick.symbol.as_str().to_owned()),
            ("channel", tick.channel().as_str().to_owned()),
            ("recv_ns", tick.recv_ns.to_string()),
            (
                "exchange_ns",
                tick.exchange_ns()
                    .map_or(String::new(), |ns| ns.to_string()),
            ),
        ];
        tick.data.visit(|name, value| {
            let text = match value {
                Value::Decimal(text) => text.to_string(),
                Value::Int(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Text(text) => text.to_owned(),
                Value::Uuid(uuid) => {
                    let mut text = Vec::new();
                    crate::tick::append_uuid(&uuid, &mut text);
                    String::from_utf8(text).expect("hex")
                }
            };
            cells.push((name, text));
        });
        cells
    }

    fn assert_row(header: &[String], row: &[String], tick: &Tick) {
        assert_eq!(row.len(), header.len());
        let expected = expected_cells(tick);
        for (column, cell) in header.iter().zip(row) {
            match expected.iter().find(|(name, _)| name == column) {
                Some((_, text)) => assert_eq!(cell, text, "{column}"),
                None => assert_eq!(cell, "", "{column} should be empty"),
            }
        }
    }

    #[test]
    fn single_channel_has_its_documented_header_and_exact_values() {
        for tick in samples() {
            let channel = tick.channel();
            let (header, rows) = round_trip(&[channel], std::slice::from_ref(&tick));
            let mut documented: Vec<&str> = COMMON_FIELDS.to_vec();
            documented.extend_from_slice(channel.fields());
            assert_eq!(header, documented);
            assert_eq!(rows.len(), 1);
            assert_row(&header, &rows[0], &tick);
        }
    }

    #[test]
    fn book_ticker_row_is_the_plain_documented_one() {
        let mut csv = Csv::new(&[Channel::BookTicker]);
        let mut out = Vec::new();
        csv.header(&mut out);
        csv.encode(&sample(Channel::BookTicker), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "exchange,symbol,channel,recv_ns,exchange_ns,update_id,bid,bid_qty,ask,ask_qty\n\
             binance,BTCUSDT,bookTicker,1723161255343000000,,50093239212,\
             61837.63000000,3.78826000,61837.64000000,1.54698000\n"
        );
    }

    #[test]
    fn ticker_and_book_ticker_share_quote_columns() {
        let ticks = [sample(Channel::Ticker), sample(Channel::BookTicker)];
        let (header, rows) = round_trip(&[Channel::Ticker, Channel::BookTicker], &ticks);
        let mut union: Vec<&str> = COMMON_FIELDS.to_vec();
        union.extend_from_slice(Channel::Ticker.fields());
        union.push("update_id");
        assert_eq!(header, union);
        assert_eq!(rows.len(), 2);
        for (row, tick) in rows.iter().zip(&ticks) {
            assert_row(&header, row, tick);
        }
        let column = |name: &str| header.iter().position(|c| c == name).unwrap();
        assert_eq!(rows[1][column("bid")], "61837.63000000");
        assert_eq!(rows[1][column("last")], "");
        assert_eq!(rows[0][column("update_id")], "");
    }

    #[test]
    fn trade_and_agg_trade_share_trade_columns() {
        let ticks = [sample(Channel::Trade), sample(Channel::AggTrade)];
        let (header, rows) = round_trip(&[Channel::Trade, Channel::AggTrade], &ticks);
        let mut union: Vec<&str> = COMMON_FIELDS.to_vec();
        union.extend_from_slice(Channel::Trade.fields());
        union.extend_from_slice(&["agg_id", "first_trade_id", "last_trade_id"]);
        assert_eq!(header, union);
        for (row, tick) in rows.iter().zip(&ticks) {
            assert_row(&header, row, tick);
        }
        let column = |name: &str| header.iter().position(|c| c == name).unwrap();
        assert_eq!(rows[0][column("buyer_is_maker")], "true");
        assert_eq!(rows[1][column("buyer_is_maker")], "false");
        assert_eq!(rows[0][column("agg_id")], "");
        assert_eq!(rows[1][column("trade_id")], "");
    }

    #[test]
    fn unlisted_channel_still_makes_one_complete_row() {
        let tick = sample(Channel::Ticker);
        let (header, rows) = round_trip(&[Channel::BookTicker], std::slice::from_ref(&tick));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].len(), header.len());
        assert_eq!(rows[0][2], "ticker");
        assert_eq!(rows[0][5], "", "update_id");
        assert_eq!(rows[0][6..], ["0.0024", "10", "0.0026", "100"]);
    }

    #[test]
    fn buffer_stops_growing_after_warm_up() {
        // The proof that encoding allocates nothing lives in tests/alloc.rs (a counting
        // global allocator would affect every test in this binary). Here: after one pass
        // over every channel, further passes never grow the output buffer.
        let ticks = samples();
        let mut csv = Csv::new(&Channel::ALL);
        let mut out = Vec::new();
        for tick in &ticks {
            csv.encode(tick, &mut out);
        }
        let warm = out.capacity();
        for _ in 0..1000 {
            out.clear();
            for tick in &ticks {
                csv.encode(tick, &mut out);
            }
            assert_eq!(out.capacity(), warm);
        }
    }

    #[test]
    fn every_channel_fits_the_value_array() {
        assert!(Channel::ALL.iter().all(|c| c.fields().len() <= MAX_FIELDS));
    }

    #[test]
    fn no_cell_needs_quoting() {
        // What the module docs promise: the csv crate, reading the rows back, sees exactly
        // the text we wrote in every cell, for every channel and every sample.
        let ticks = samples();
        let mut csv = Csv::new(&Channel::ALL);
        let mut out = Vec::new();
        csv.header(&mut out);
        for tick in &ticks {
            csv.encode(tick, &mut out);
        }
        let text = String::from_utf8(out).unwrap();
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        for (record, line) in reader.records().zip(text.lines().skip(1)) {
            let record = record.unwrap();
            assert_eq!(record.iter().collect::<Vec<_>>().join(","), line);
        }
        assert!(!text.contains('"'));
    }

    /// Order-book rows in a file that also holds trades: the shared columns (`update_id`,
    /// `price`, `qty`) are shared, the rest empty, and every line has every column.
    #[test]
    fn book_rows_fill_their_columns_beside_other_channels() {
        use crate::book::row::{BookData, BookLine, BookRecord, DepthRow};
        use crate::book::{BookRow, Change};
        let level = |p: &str, q: &str| Change::parse(p, q).unwrap().level;
        let mut csv = Csv::with_book_levels(&[Channel::Trade, Channel::Depth, Channel::Book], 1);
        let mut header = Vec::new();
        csv.header(&mut header);
        let header = String::from_utf8(header).unwrap();
        assert_eq!(
            header.trim_end(),
            "exchange,symbol,channel,recv_ns,exchange_ns,event_time,trade_time,trade_id,price,qty,\
             buyer_is_maker,is_snapshot,first_update_id,update_id,prev_update_id,side,\
             bid_0_price,bid_0_qty,ask_0_price,ask_0_qty"
        );
        let record = |data| BookRecord {
            exchange: crate::exchange::Venue::BinanceFutures,
            symbol: crate::tick::Symbol::parse("BTCUSDT").unwrap(),
            recv_ns: 9,
            data,
        };
        let mut out = Vec::new();
        let depth = DepthRow {
            exchange_ns: 8,
            is_snapshot: false,
            synthetic: false,
            first_update_id: Some(5),
            update_id: 6,
            prev_update_id: Some(4),
            bids: vec![level("100.10", "0")],
            asks: vec![level("101", "2.5")],
        };
        csv.encode_book(&record(BookData::Depth(depth)), &mut out);
        let line = BookLine {
            exchange_ns: 8,
            update_id: 6,
            levels: BookRow {
                bids: vec![],
                asks: vec![level("101", "2.5")],
            },
        };
        csv.encode_book(&record(BookData::Book(line)), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "binance-futures,BTCUSDT,depth,9,8,,,,100.10,0,,false,5,6,4,bid,,,,\n\
             binance-futures,BTCUSDT,depth,9,8,,,,101,2.5,,false,5,6,4,ask,,,,\n\
             binance-futures,BTCUSDT,book,9,8,,,,,,,,,6,,,,,101,2.5\n"
        );
    }
}
