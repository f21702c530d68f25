//! The live terminal view of `foxtrot stream` on a TTY: one row per symbol and channel.
//!
//! This module owns the view's state (the latest tick of each row and whether its prices
//! moved) and the ANSI text that redraws the whole view in place. It does no I/O and reads
//! no clock: the caller decides how often to render, passes the current time and writes
//! the bytes. It is not a line format ([`Encode`](crate::sink::Encode)): each frame
//! overwrites the previous one, so it is for people, never for pipes or files.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::Write as _;

use crate::tick::{Channel, Decimal, DecimalText, Symbol, Tick, TickData};

mod ladder;

/// Spaces between columns.
const GAP: usize = 2;

/// Narrowest age column: fits `AGE` and every age below ten minutes (`9.9s`, `59s`).
const AGE_WIDTH: usize = 4;

const BOLD: &[u8] = b"\x1b[1m";
const GREEN: &[u8] = b"\x1b[32m";
const RED: &[u8] = b"\x1b[31m";
const RESET: &[u8] = b"\x1b[0m";
/// Clears the whole line the cursor is on.
const CLEAR_LINE: &[u8] = b"\x1b[2K";
/// Clears from the cursor to the end of the screen, removing what a taller frame left.
const CLEAR_BELOW: &[u8] = b"\x1b[J";
/// Clears from the cursor to the end of the line.
const CLEAR_TO_END: &[u8] = b"\x1b[K";

/// The live table: feed it every tick with [`Table::update`], draw it now and then with
/// [`Table::render`], and call [`Table::finish`] once at the end.
///
/// Rows are sorted by symbol, then by channel in [`Channel::ALL`] order. Columns are
/// SYMBOL, CHANNEL, then those of PRICE, QTY, SIDE, BID, BID QTY, ASK, ASK QTY, CHG%,
/// VOLUME that a shown channel fills (a `ticker` row shows its last price under PRICE),
/// then AGE. Decimals are the exchange's text verbatim, placed so that decimal points
/// line up. The cursor is never hidden, so a killed process cannot leave the terminal
/// without one.
pub struct Table {
    color: bool,
    /// Terminal columns and lines, when known; a frame never exceeds them, because a
    /// wrapped or scrolled line would break the cursor arithmetic of the next redraw.
    width: Option<usize>,
    height: Option<usize>,
    rows: BTreeMap<(Symbol, Channel), Row>,
    layout: Layout,
    /// Lines the previous frame drew, which the next one moves up over.
    drawn: usize,
    /// A line under the rows: what the run is doing when that is not streaming (connecting,
    /// stopping).
    note: Option<String>,
    /// Log lines (each ending in `\n`) to print above the next frame, where they scroll
    /// away like a log instead of tearing the frame.
    above: Vec<u8>,
    /// The order books of `depth`/`book` rows (see `ladder`).
    books: ladder::Books,
}

/// The latest state of one (symbol, channel).
struct Row {
    /// The row's channel (a `book` row shows its best levels as a `bookTicker` would).
    channel: Channel,
    tick: Tick,
    /// Per [`Column`], how its value compares with the previous update (prices only).
    moved: [Ordering; Column::ALL.len()],
}

impl Table {
    /// An empty table; `color` enables bold headers and green/red price moves.
    pub fn new(color: bool) -> Table {
        Table {
            color,
            width: None,
            height: None,
            rows: BTreeMap::new(),
            layout: Layout::default(),
            drawn: 0,
            note: None,
            above: Vec::new(),
            books: ladder::Books::default(),
        }
    }

    /// Limits frames to a terminal of `width` columns and `height` lines; call it again
    /// when the terminal is resized.
    ///
    /// Columns that do not fit are left out whole, the least important first (volume,
    /// change, side, quantities; prices and AGE stay longest), because a price cut short
    /// would be a wrong price; rows that do not fit are counted in a last `… N more` line.
    /// No line is ever wider than the terminal, so none wraps and the in-place redraw
    /// stays exact. Without a size, frames are unbounded.
    pub fn set_size(&mut self, width: usize, height: usize) {
        self.width = Some(width);
        self.height = Some(height);
    }

    /// Shows `note` on a line under the rows (`None` removes it), cut to the width.
    pub fn set_note(&mut self, note: Option<&str>) {
        if self.note.as_deref() != note {
            self.note = note.map(str::to_owned);
        }
    }

    /// Queues complete log lines to be printed above the next frame.
    pub fn print_above(&mut self, lines: &[u8]) {
        self.above.extend_from_slice(lines);
        if !self.above.ends_with(b"\n") {
            self.above.push(b'\n');
        }
    }

    /// Records `tick` as the latest of its row. Cheap: no rendering happens here.
    pub fn update(&mut self, tick: &Tick) {
        self.update_as(tick.channel(), tick);
    }

    fn update_as(&mut self, channel: Channel, tick: &Tick) {
        let key = (tick.symbol.clone(), channel);
        match self.rows.get_mut(&key) {
            Some(row) => {
                for &column in Column::of(key.1) {
                    if let (true, Some(Cell::Decimal(new)), Some(Cell::Decimal(old))) = (
                        column.is_price(),
                        cell(&tick.data, column),
                        cell(&row.tick.data, column),
                    ) {
                        row.moved[column as usize] = compare_decimal(&new, &old);
                    }
                }
                row.tick.clone_from(tick);
            }
            None => {
                let moved = [Ordering::Equal; Column::ALL.len()];
                let tick = tick.clone();
                self.rows.insert(
                    key,
                    Row {
                        channel,
                        tick,
                        moved,
                    },
                );
            }
        }
    }

    /// Appends the ANSI text that redraws the whole view over the previous frame.
    ///
    /// `now_ns` (ns since the Unix epoch, like `recv_ns`) dates the AGE column.
    pub fn render(&mut self, now_ns: u64, out: &mut Vec<u8>) {
        if self.render_ladder(now_ns, out) {
            return;
        }
        let mut shown = [false; Column::ALL.len()];
        for ((symbol, channel), row) in &self.rows {
            self.layout.fit_row(symbol, *channel, &row.tick.data);
            for &column in Column::of(*channel) {
                shown[column as usize] = true;
            }
        }

        if self.drawn > 0 {
            out.extend_from_slice(b"\x1b[");
            out.extend_from_slice(itoa::Buffer::new().format(self.drawn).as_bytes());
            out.extend_from_slice(b"A\r");
        }
        // Log lines go where the frame was, and scroll up out of its way.
        for line in self.above.split_inclusive(|&b| b == b'\n') {
            out.extend_from_slice(CLEAR_LINE);
            out.extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
            // A line that wrapped leaves the rest of the old frame's next line: clear it.
            out.extend_from_slice(CLEAR_TO_END);
            out.push(b'\n');
        }
        self.above.clear();

        let limit = self.width.unwrap_or(usize::MAX);
        // One line stays free for the cursor below the frame, so the frame never scrolls.
        let max_lines = self
            .height
            .map_or(usize::MAX, |h| h.saturating_sub(1).max(2));
        let note = usize::from(self.note.is_some());
        let total = self.rows.len();
        let (drawn_rows, hidden) = if 1 + total + note <= max_lines {
            (total, 0)
        } else {
            let fit = max_lines.saturating_sub(2 + note);
            (fit, total - fit)
        };
        let age_width = self
            .rows
            .values()
            .take(drawn_rows)
            .map(|row| {
                let mut buf = [0; 24];
                age_text(now_ns.saturating_sub(row.tick.recv_ns), &mut buf).len()
            })
            .fold(AGE_WIDTH, usize::max);
        self.layout.drop_to_fit(&mut shown, age_width, limit);

        self.draw_header(&shown, age_width, limit, out);
        for row in self.rows.values().take(drawn_rows) {
            self.draw_row(row, &shown, age_width, now_ns, limit, out);
        }
        if hidden > 0 {
            out.extend_from_slice(CLEAR_LINE);
            let more = format!("… {hidden} more");
            out.extend_from_slice(cut(&more, limit).as_bytes());
            out.push(b'\n');
        }
        if let Some(note) = &self.note {
            out.extend_from_slice(CLEAR_LINE);
            out.extend_from_slice(cut(note, limit).as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(CLEAR_BELOW);
        self.drawn = 1 + drawn_rows + usize::from(hidden > 0) + note;
    }

    /// Appends what leaves the last frame on screen with the cursor at the start of a
    /// clean line below it, ready for the shell prompt.
    ///
    /// Every frame already ends with a newline; this also wipes whatever landed on the
    /// cursor's line since (the terminal's `^C` echo), and the note line ("stopping…"),
    /// which is news only while the run lasts. A later render starts a new frame below
    /// instead of overwriting this one.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.drawn > 0 {
            out.push(b'\r');
            out.extend_from_slice(CLEAR_LINE);
            if self.note.is_some() {
                out.extend_from_slice(b"\x1b[A");
                out.extend_from_slice(CLEAR_LINE);
            }
        }
        self.drawn = 0;
    }

    fn draw_header(&self, shown: &[bool], age_width: usize, limit: usize, out: &mut Vec<u8>) {
        let layout = &self.layout;
        let mut line = Line::start(out, limit);
        if self.color {
            line.out.extend_from_slice(BOLD);
        }
        if line.cell(layout.symbol) {
            left(line.out, "SYMBOL", layout.symbol);
        }
        if line.cell(layout.channel) {
            left(line.out, "CHANNEL", layout.channel);
        }
        for column in Column::ALL.into_iter().filter(|&c| shown[c as usize]) {
            let width = layout.width(column);
            if line.cell(width) {
                match column {
                    Column::Side => left(line.out, column.label(), width),
                    _ => right(line.out, column.label(), width),
                }
            }
        }
        if line.cell(age_width) {
            right(line.out, "AGE", age_width);
        }
        if self.color {
            line.out.extend_from_slice(RESET);
        }
        line.end();
    }

    fn draw_row(
        &self,
        row: &Row,
        shown: &[bool],
        age_width: usize,
        now_ns: u64,
        limit: usize,
        out: &mut Vec<u8>,
    ) {
        let layout = &self.layout;
        let (symbol, channel) = (&row.tick.symbol, row.channel);
        let mut line = Line::start(out, limit);
        if line.cell(layout.symbol) {
            left(line.out, symbol.as_str(), layout.symbol);
        }
        if line.cell(layout.channel) {
            left(line.out, channel.as_str(), layout.channel);
        }
        for column in Column::ALL.into_iter().filter(|&c| shown[c as usize]) {
            let width = layout.width(column);
            if !line.cell(width) {
                continue;
            }
            match cell(&row.tick.data, column) {
                Some(Cell::Decimal(text)) => {
                    let colour = match row.moved[column as usize] {
                        _ if !self.color || !column.is_price() => None,
                        Ordering::Greater => Some(GREEN),
                        Ordering::Less => Some(RED),
                        Ordering::Equal => None,
                    };
                    decimal(line.out, &text, layout.fits[column as usize], width, colour);
                }
                Some(Cell::Text(text)) => left(line.out, text, width),
                None => pad(line.out, width),
            }
        }
        let mut buf = [0; 24];
        let age = age_text(now_ns.saturating_sub(row.tick.recv_ns), &mut buf);
        if line.cell(age_width) {
            right(line.out, age, age_width);
        }
        line.end();
    }
}

/// One line of a frame being drawn: cleared first, cut to `limit` columns whole cells at
/// a time.
struct Line<'o> {
    out: &'o mut Vec<u8>,
    used: usize,
    limit: usize,
    full: bool,
}

impl<'o> Line<'o> {
    fn start(out: &'o mut Vec<u8>, limit: usize) -> Line<'o> {
        out.extend_from_slice(CLEAR_LINE);
        Line {
            out,
            used: 0,
            limit,
            full: false,
        }
    }

    /// Whether a cell `width` wide fits; if so, writes the gap before it.
    ///
    /// Once one cell is refused, all later ones are too, so no value lands under
    /// another column's header.
    fn cell(&mut self, width: usize) -> bool {
        let gap = if self.used == 0 { 0 } else { GAP };
        if self.full || self.used + gap + width > self.limit {
            self.full = true;
            return false;
        }
        pad(self.out, gap);
        self.used += gap + width;
        true
    }

    fn end(self) {
        self.out.push(b'\n');
    }
}

/// Column widths, grown as wider values are seen and never shrunk, so the view does not
/// jitter when a long value comes and goes.
struct Layout {
    symbol: usize,
    channel: usize,
    /// Per [`Column`], the widest integer part and fraction seen.
    fits: [Fit; Column::ALL.len()],
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            symbol: "SYMBOL".len(),
            channel: "CHANNEL".len(),
            fits: [Fit::default(); Column::ALL.len()],
        }
    }
}

impl Layout {
    fn fit_row(&mut self, symbol: &Symbol, channel: Channel, data: &TickData) {
        self.symbol = self.symbol.max(symbol.as_str().len());
        self.channel = self.channel.max(channel.as_str().len());
        for &column in Column::of(channel) {
            let fit = &mut self.fits[column as usize];
            match cell(data, column) {
                Some(Cell::Decimal(text)) => {
                    let (int, frac) = split_point(&text);
                    fit.int = fit.int.max(int.len());
                    fit.frac = fit.frac.max(frac.map_or(0, str::len));
                }
                Some(Cell::Text(text)) => fit.int = fit.int.max(text.len()),
                None => {}
            }
        }
    }

    fn width(&self, column: Column) -> usize {
        column.label().len().max(self.fits[column as usize].body())
    }

    /// Unmarks `shown` columns, the least important first ([`Column::DROP_ORDER`]), until
    /// a line of the frame fits in `limit` columns. Prices are never dropped here: if even
    /// they do not fit, [`Line`] leaves out whole cells from the right.
    fn drop_to_fit(&self, shown: &mut [bool; Column::ALL.len()], age_width: usize, limit: usize) {
        let width = |shown: &[bool; Column::ALL.len()]| {
            let values: usize = Column::ALL
                .into_iter()
                .filter(|&c| shown[c as usize])
                .map(|c| GAP + self.width(c))
                .sum();
            self.symbol + GAP + self.channel + values + GAP + age_width
        };
        for column in Column::DROP_ORDER {
            if width(shown) <= limit {
                return;
            }
            shown[column as usize] = false;
        }
    }
}

/// `text` cut to `limit` characters, with `…` marking the cut.
fn cut(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= limit {
        return text.into();
    }
    let kept: String = text.chars().take(limit.saturating_sub(1)).collect();
    format!("{kept}…").into()
}

/// The widest integer part (sign included) and fraction of a decimal column.
#[derive(Clone, Copy, Default)]
struct Fit {
    int: usize,
    frac: usize,
}

impl Fit {
    /// Width of the aligned values, without the header.
    fn body(self) -> usize {
        if self.frac == 0 {
            self.int
        } else {
            self.int + 1 + self.frac
        }
    }
}

/// The value columns, in display order. `as usize` indexes per-column arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Price,
    Qty,
    Side,
    Bid,
    BidQty,
    Ask,
    AskQty,
    ChangePct,
    Volume,
}

impl Column {
    const ALL: [Column; 9] = [
        Column::Price,
        Column::Qty,
        Column::Side,
        Column::Bid,
        Column::BidQty,
        Column::Ask,
        Column::AskQty,
        Column::ChangePct,
        Column::Volume,
    ];

    /// The order in which columns are left out when the terminal is too narrow: what a
    /// glance at a live table needs least goes first; prices stay.
    const DROP_ORDER: [Column; 6] = [
        Column::Volume,
        Column::ChangePct,
        Column::Side,
        Column::AskQty,
        Column::BidQty,
        Column::Qty,
    ];

    fn label(self) -> &'static str {
        match self {
            Column::Price => "PRICE",
            Column::Qty => "QTY",
            Column::Side => "SIDE",
            Column::Bid => "BID",
            Column::BidQty => "BID QTY",
            Column::Ask => "ASK",
            Column::AskQty => "ASK QTY",
            Column::ChangePct => "CHG%",
            Column::Volume => "VOLUME",
        }
    }

    /// Prices are coloured by their move; quantities move too much to mean anything.
    fn is_price(self) -> bool {
        matches!(self, Column::Price | Column::Bid | Column::Ask)
    }

    /// The columns `channel` fills, in display order.
    fn of(channel: Channel) -> &'static [Column] {
        use Column::*;
        match channel {
            Channel::BookTicker | Channel::Depth | Channel::Book => &[Bid, BidQty, Ask, AskQty],
            Channel::Trade | Channel::AggTrade => &[Price, Qty, Side],
            Channel::Ticker => &[Price, Bid, Ask, ChangePct, Volume],
            Channel::Funding => &[Price],
            Channel::Liquidation => &[Price, Qty, Side],
            _ => &[Price, Volume],
        }
    }
}

/// What a row shows in one column.
enum Cell {
    Decimal(DecimalText),
    Text(&'static str),
}

/// The value of `column` in `data`, if its channel fills that column.
fn cell(data: &TickData, column: Column) -> Option<Cell> {
    fn d(value: &Decimal) -> Option<Cell> {
        Some(Cell::Decimal(value.to_text()))
    }
    // The buyer being the maker means the taker, who moved the market, sold.
    let side = |buyer_is_maker: bool| Some(Cell::Text(if buyer_is_maker { "sell" } else { "buy" }));
    match (data, column) {
        (TickData::BookTicker(t), Column::Bid) => d(&t.bid),
        (TickData::BookTicker(t), Column::BidQty) => d(&t.bid_qty),
        (TickData::BookTicker(t), Column::Ask) => d(&t.ask),
        (TickData::BookTicker(t), Column::AskQty) => d(&t.ask_qty),
        (TickData::Trade(t), Column::Price) => d(&t.price),
        (TickData::Trade(t), Column::Qty) => d(&t.qty),
        (TickData::Trade(t), Column::Side) => side(t.buyer_is_maker),
        (TickData::AggTrade(t), Column::Price) => d(&t.price),
        (TickData::AggTrade(t), Column::Qty) => d(&t.qty),
        (TickData::AggTrade(t), Column::Side) => side(t.buyer_is_maker),
        (TickData::Ticker(t), Column::Price) => d(&t.last),
        (TickData::Ticker(t), Column::Bid) => d(&t.bid),
        (TickData::Ticker(t), Column::Ask) => d(&t.ask),
        (TickData::Ticker(t), Column::ChangePct) => d(&t.change_pct),
        (TickData::Ticker(t), Column::Volume) => d(&t.volume),
        (TickData::Funding(t), Column::Price) => d(&t.mark_price),
        (TickData::Liquidation(t), Column::Price) => d(&t.price),
        (TickData::Liquidation(t), Column::Qty) => d(&t.qty),
        (TickData::Liquidation(t), Column::Side) => {
            Some(Cell::Text(if t.sell { "sell" } else { "buy" }))
        }
        (TickData::Kline(t), Column::Price) => d(&t.close),
        (TickData::Kline(t), Column::Volume) => d(&t.volume),
        _ => None,
    }
}

/// Splits decimal text at its point: `("-12", Some("50"))` for `-12.50`.
fn split_point(text: &str) -> (&str, Option<&str>) {
    match text.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (text, None),
    }
}

/// Writes `text` verbatim in a `width`-wide cell with its point at the column's point.
fn decimal(out: &mut Vec<u8>, text: &str, fit: Fit, width: usize, colour: Option<&[u8]>) {
    let (int, frac) = split_point(text);
    // `fit` was grown over every shown value, so none of these subtractions underflow.
    pad(out, width - fit.body() + fit.int - int.len());
    if let Some(colour) = colour {
        out.extend_from_slice(colour);
    }
    out.extend_from_slice(text.as_bytes());
    if colour.is_some() {
        out.extend_from_slice(RESET);
    }
    let after = match frac {
        Some(frac) => fit.frac - frac.len(),
        None if fit.frac > 0 => fit.frac + 1,
        None => 0,
    };
    pad(out, after);
}

fn left(out: &mut Vec<u8>, text: &str, width: usize) {
    out.extend_from_slice(text.as_bytes());
    pad(out, width.saturating_sub(text.len()));
}

fn right(out: &mut Vec<u8>, text: &str, width: usize) {
    pad(out, width.saturating_sub(text.len()));
    out.extend_from_slice(text.as_bytes());
}

fn pad(out: &mut Vec<u8>, n: usize) {
    out.resize(out.len() + n, b' ');
}

/// A short age such as `0.3s`, `42s`, `5m`, `3h` or `2d`, written into `buf`.
fn age_text(age_ns: u64, buf: &mut [u8; 24]) -> &str {
    let secs = age_ns / 1_000_000_000;
    let len = {
        let mut rest = &mut buf[..];
        let written = match secs {
            0..10 => write!(rest, "{secs}.{}s", age_ns / 100_000_000 % 10),
            10..60 => write!(rest, "{secs}s"),
            60..3_600 => write!(rest, "{}m", secs / 60),
            3_600..86_400 => write!(rest, "{}h", secs / 3_600),
            _ => write!(rest, "{}d", secs / 86_400),
        };
        written.expect("24 bytes hold any u64 age");
        24 - rest.len()
    };
    std::str::from_utf8(&buf[..len]).expect("ages are ASCII")
}

/// Compares two plain decimal texts (as [`Decimal`] validates them) by value, exactly:
/// no floating point, so `0.10000001` and `0.1` never compare equal.
fn compare_decimal(a: &str, b: &str) -> Ordering {
    /// Whether `text` is below zero (`-0` is not), and its digits without the sign.
    fn sign(text: &str) -> (bool, &str) {
        let magnitude = text.strip_prefix('-').unwrap_or(text);
        let zero = magnitude.bytes().all(|b| b == b'0' || b == b'.');
        (text.starts_with('-') && !zero, magnitude)
    }
    let ((a_neg, a), (b_neg, b)) = (sign(a), sign(b));
    match (a_neg, b_neg) {
        (false, false) => compare_magnitude(a, b),
        (true, true) => compare_magnitude(b, a),
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

fn compare_magnitude(a: &str, b: &str) -> Ordering {
    let (a_int, a_frac) = split_point(a);
    let (b_int, b_frac) = split_point(b);
    let (a_int, b_int) = (a_int.trim_start_matches('0'), b_int.trim_start_matches('0'));
    fn frac(f: Option<&str>) -> &str {
        f.unwrap_or("").trim_end_matches('0')
    }
    // Without leading zeros, a longer integer part is larger, and digit strings of equal
    // length compare like their values; so do fractions without trailing zeros.
    a_int
        .len()
        .cmp(&b_int.len())
        .then_with(|| a_int.cmp(b_int))
        .then_with(|| frac(a_frac).cmp(frac(b_frac)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tick::{AggTrade, BookTicker, Ticker, Trade};

    const NOW: u64 = 1_723_161_260_000_000_000;
    const CLEAR_LINE_STR: &str = "\x1b[2K";

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    fn tick(symbol: &str, age_ms: u64, data: TickData) -> Tick {
        Tick {
            exchange: crate::exchange::Venue::Binance,
            exchange_ns: 0,
            symbol: Symbol::parse(symbol).unwrap(),
            recv_ns: NOW - age_ms * 1_000_000,
            data,
        }
    }

    fn book(symbol: &str, bid: &str, ask: &str) -> Tick {
        let data = TickData::BookTicker(BookTicker {
            update_id: 50_093_239_212,
            bid: d(bid),
            bid_qty: d("3.78826000"),
            ask: d(ask),
            ask_qty: d("1.54698000"),
        });
        tick(symbol, 300, data)
    }

    fn trade(symbol: &str, price: &str, buyer_is_maker: bool) -> Tick {
        let data = TickData::Trade(Trade {
            event_time: 1_617_566_591_315,
            trade_time: 1_617_566_591_314,
            trade_id: crate::tick::TradeId::int(745_522_877),
            price: d(price),
            qty: d("0.08620500"),
            buyer_is_maker,
        });
        tick(symbol, 42_000, data)
    }

    fn agg_trade(symbol: &str, price: &str) -> Tick {
        let data = TickData::AggTrade(AggTrade {
            event_time: 1_617_566_591_349,
            trade_time: 1_617_566_591_348,
            agg_id: 665_076_761,
            first_trade_id: 745_522_878,
            last_trade_id: 745_522_878,
            price: d(price),
            qty: d("0.02627600"),
            buyer_is_maker: false,
        });
        tick(symbol, 0, data)
    }

    fn ticker(symbol: &str, last: &str) -> Tick {
        let data = TickData::Ticker(Box::new(Ticker {
            event_time: 1_672_515_782_136,
            last: d(last),
            last_qty: d("10"),
            bid: d("0.0024"),
            bid_qty: d("10"),
            ask: d("0.0026"),
            ask_qty: d("100"),
            open: d("0.0010"),
            high: d("0.0025"),
            low: d("0.0010"),
            volume: d("10000"),
            quote_volume: d("18"),
            change: d("-0.0094"),
            change_pct: d("-95.960"),
        }));
        tick(symbol, 5_000, data)
    }

    fn frame(table: &mut Table) -> String {
        let mut out = Vec::new();
        table.render(NOW, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// The frame as it looks on screen: escape sequences and `\r` removed.
    fn visible(frame: &str) -> Vec<String> {
        let mut text = String::new();
        let mut chars = frame.chars();
        while let Some(c) = chars.next() {
            match c {
                '\x1b' => {
                    chars.next(); // '['
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
                '\r' => {}
                c => text.push(c),
            }
        }
        text.lines().map(str::to_owned).collect()
    }

    /// Whether `frame` holds an SGR (colour or weight) sequence: `ESC [ digits;... m`.
    fn has_sgr(frame: &str) -> bool {
        frame.split("\x1b[").skip(1).any(|rest| {
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|end| rest[end..].starts_with('m'))
        })
    }

    fn filled() -> Table {
        let mut table = Table::new(false);
        table.update(&trade("ETHUSDT", "2043.1", true));
        table.update(&book("BTCUSDT", "61837.63000000", "61837.64000000"));
        table.update(&ticker("BNBUSDT", "0.0025"));
        table.update(&agg_trade("BTCUSDT", "58001.04000000"));
        table.update(&trade("BTCUSDT", "61837.64000000", false));
        table
    }

    #[test]
    fn second_frame_moves_up_over_the_first() {
        let mut table = filled();
        let first = frame(&mut table);
        assert!(
            first.starts_with(CLEAR_LINE_STR),
            "the first frame must not move up: {first:?}"
        );
        let lines = first.matches('\n').count();
        assert_eq!(lines, 1 + 5);
        let second = frame(&mut table);
        assert!(
            second.starts_with(&format!("\x1b[{lines}A\r")),
            "{second:?}"
        );
        assert_eq!(second.matches('\n').count(), lines);
        // Every line is cleared before it is drawn, so nothing of the old frame shows.
        assert_eq!(second.matches(CLEAR_LINE_STR).count(), lines);

        table.update(&book("ADAUSDT", "0.3", "0.4"));
        let third = frame(&mut table);
        assert!(third.starts_with(&format!("\x1b[{lines}A\r")), "{third:?}");
        assert_eq!(third.matches('\n').count(), lines + 1);
    }

    #[test]
    fn rows_are_sorted_by_symbol_then_channel() {
        let mut table = filled();
        let lines = visible(&frame(&mut table));
        let keys: Vec<(&str, &str)> = lines[1..]
            .iter()
            .map(|l| {
                let mut words = l.split_whitespace();
                (words.next().unwrap(), words.next().unwrap())
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("BNBUSDT", "ticker"),
                ("BTCUSDT", "bookTicker"),
                ("BTCUSDT", "trade"),
                ("BTCUSDT", "aggTrade"),
                ("ETHUSDT", "trade"),
            ]
        );
        let header: Vec<&str> = lines[0]
            .split("  ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(
            header,
            [
                "SYMBOL", "CHANNEL", "PRICE", "QTY", "SIDE", "BID", "BID QTY", "ASK", "ASK QTY",
                "CHG%", "VOLUME", "AGE"
            ]
        );
    }

    #[test]
    fn no_colour_codes_without_colour() {
        let mut table = filled();
        table.update(&book("BTCUSDT", "61837.64000000", "61837.60000000"));
        let text = frame(&mut table);
        assert!(!has_sgr(&text), "{text:?}");
        assert!(text.contains(CLEAR_LINE_STR));
    }

    #[test]
    fn colour_marks_price_moves_and_bold_header() {
        let mut table = Table::new(true);
        table.update(&book("BTCUSDT", "61837.63000000", "61837.64000000"));
        let first = frame(&mut table);
        assert!(first.contains("\x1b[1mSYMBOL"), "{first:?}");
        assert!(!first.contains("\x1b[32m") && !first.contains("\x1b[31m"));

        table.update(&book("BTCUSDT", "61837.64000000", "61837.6"));
        let moved = frame(&mut table);
        assert!(moved.contains("\x1b[32m61837.64000000\x1b[0m"), "{moved:?}");
        assert!(moved.contains("\x1b[31m61837.6\x1b[0m"), "{moved:?}");

        // Equal values in other spellings are not moves.
        table.update(&book("BTCUSDT", "61837.640", "61837.60000000"));
        let still = frame(&mut table);
        assert!(
            !still.contains("\x1b[32m") && !still.contains("\x1b[31m"),
            "{still:?}"
        );
    }

    #[test]
    fn decimals_are_verbatim_with_points_aligned() {
        let mut table = Table::new(false);
        table.update(&trade("ETHUSDT", "2043.1", true));
        table.update(&trade("BTCUSDT", "61837.64000000", false));
        table.update(&trade("PEPEUSDT", "7", false));
        let lines = visible(&frame(&mut table));
        let eth = lines.iter().find(|l| l.starts_with("ETHUSDT")).unwrap();
        let btc = lines.iter().find(|l| l.starts_with("BTCUSDT")).unwrap();
        let pepe = lines.iter().find(|l| l.starts_with("PEPEUSDT")).unwrap();
        let point = |line: &str, text: &str| {
            line.find(text).unwrap() + text.find('.').unwrap_or(text.len())
        };
        assert_eq!(point(eth, "2043.1 "), point(btc, "61837.64000000"));
        assert_eq!(point(pepe, " 7 "), point(btc, "61837.64000000") + 1);
        assert!(eth.contains(" sell ") && btc.contains(" buy "));
        assert!(btc.contains("0.08620500"));
    }

    #[test]
    fn age_counts_from_receive_time() {
        let mut table = filled();
        let lines = visible(&frame(&mut table));
        let age = |prefix: &str| {
            let line = lines.iter().find(|l| l.starts_with(prefix)).unwrap();
            line.split_whitespace().last().unwrap().to_owned()
        };
        assert_eq!(age("BTCUSDT  bookTicker"), "0.3s");
        assert_eq!(age("ETHUSDT"), "42s");
        assert_eq!(age("BNBUSDT"), "5.0s");
        let mut buf = [0; 24];
        assert_eq!(age_text(0, &mut buf), "0.0s");
        assert_eq!(age_text(9_990_000_000, &mut buf), "9.9s");
        assert_eq!(age_text(61_000_000_000, &mut buf), "1m");
        assert_eq!(age_text(7_200_000_000_000, &mut buf), "2h");
        assert_eq!(age_text(u64::MAX, &mut buf), "213503d");
    }

    #[test]
    fn size_cuts_whole_columns_and_rows() {
        let mut table = filled();
        table.set_size(60, 4);
        let text = frame(&mut table);
        let lines = visible(&text);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines.iter().all(|l| l.len() <= 60), "{lines:?}");
        assert_eq!(lines[2], "… 4 more");
        assert!(lines[1].starts_with("BNBUSDT"));
        // Cells are left out whole: every value shown is a complete value.
        assert!(
            lines[1]
                .split_whitespace()
                .all(|w| ["BNBUSDT", "ticker", "0.0025", "0.0024", "0.0026"].contains(&w))
        );
        let again = frame(&mut table);
        assert!(again.starts_with("\x1b[3A\r"));
    }

    #[test]
    fn narrow_terminals_drop_the_least_important_columns_first() {
        let header = |table: &mut Table| {
            let lines = visible(&frame(table));
            let width = table.width.unwrap();
            assert!(
                lines.iter().all(|l| l.chars().count() <= width),
                "{lines:#?}"
            );
            lines[0]
                .split("  ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        // bookTicker and trade: 115 columns wide unbounded.
        let mut table = Table::new(false);
        table.update(&book("BTCUSDT", "61837.63000000", "61837.64000000"));
        table.update(&trade("BTCUSDT", "61837.64000000", false));
        table.update(&book("ETHUSDT", "2043.10000000", "2043.11000000"));
        table.set_size(80, 24);
        assert_eq!(
            header(&mut table),
            ["SYMBOL", "CHANNEL", "PRICE", "BID", "ASK", "AGE"]
        );
        // Wider: quantities come back before the side.
        table.set_size(100, 24);
        assert_eq!(
            header(&mut table),
            [
                "SYMBOL", "CHANNEL", "PRICE", "QTY", "BID", "BID QTY", "ASK", "AGE"
            ]
        );
        // All five channels' columns on 80: prices and AGE stay, VOLUME and CHG% go first.
        let mut all = filled();
        all.set_size(80, 24);
        assert_eq!(
            header(&mut all),
            ["SYMBOL", "CHANNEL", "PRICE", "BID", "ASK", "AGE"]
        );
    }

    #[test]
    fn a_note_line_and_log_lines_above_stay_inside_the_frame_arithmetic() {
        let mut table = filled();
        table.set_size(40, 24);
        table.set_note(Some(
            "connecting to stream.binance.com:9443 (attempt 3, last: Connection refused)",
        ));
        let first = frame(&mut table);
        let lines = visible(&first);
        assert_eq!(lines.len(), 1 + 5 + 1, "{lines:#?}");
        assert!(lines[6].starts_with("connecting to stream.binance") && lines[6].ends_with('…'));
        assert_eq!(lines[6].chars().count(), 40);
        table.print_above(b"WARN something happened\n");
        let second = frame(&mut table);
        // Up over the old frame, the log line, then the whole frame again below it.
        assert!(
            second.starts_with("\x1b[7A\r\x1b[2KWARN something happened\x1b[K\n"),
            "{second:?}"
        );
        assert_eq!(second.matches('\n').count(), 1 + 7);
        let third = frame(&mut table);
        assert!(
            third.starts_with("\x1b[7A\r"),
            "the log line is not redrawn: {third:?}"
        );
        // At the end the note goes: the summary takes its line.
        let mut out = Vec::new();
        table.finish(&mut out);
        assert_eq!(out, b"\r\x1b[2K\x1b[A\x1b[2K");
    }

    #[test]
    fn finish_leaves_the_frame_and_a_clean_line() {
        let mut table = filled();
        let mut out = Vec::new();
        table.finish(&mut out);
        assert!(out.is_empty(), "nothing drawn, nothing to finish");
        let drawn = frame(&mut table);
        assert!(drawn.ends_with(&format!("\n{}", "\x1b[J")));
        table.finish(&mut out);
        assert_eq!(out, b"\r\x1b[2K");
        let next = frame(&mut table);
        assert!(
            next.starts_with(CLEAR_LINE_STR),
            "a new frame below, not over: {next:?}"
        );
    }

    #[test]
    fn decimals_compare_by_value() {
        use Ordering::{Equal, Greater, Less};
        for (a, b, expected) in [
            ("1", "1.000", Equal),
            ("0.5", "0.49", Greater),
            ("0.05", "0.5", Less),
            ("0.5", "0.51", Less),
            ("10", "9.99", Greater),
            ("007", "7", Equal),
            ("-1", "1", Less),
            ("-1.5", "-1.25", Less),
            ("-0", "0.0", Equal),
            ("61837.64000000", "61837.63000000", Greater),
        ] {
            assert_eq!(compare_decimal(a, b), expected, "{a} vs {b}");
            assert_eq!(compare_decimal(b, a), expected.reverse(), "{b} vs {a}");
        }
    }
}
