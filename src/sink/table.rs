//! The live terminal view of `foxtrot stream` on a TTY: one row per symbol and channel.
//!
//! This module owns the view's state (the latest tick of each row and whether its prices
//! moved) and the ANSI text that redraws the whole view in place. It does no I/O and reads
//! no clock: the caller decides how often to render, passes the current time and writes
//! the bytes. It is not a line format ([`Encode`](crate::sink::Encode)): each frame
//! overwrites the previous one, so it is for people, never for pipes or files.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::tick::{Channel, Symbol, Tick, TickData};

mod columns;
mod ladder;
mod text;

use columns::{Cell, Column, Layout, cell};
use text::{Line, age_text, compare_decimal, cut, decimal, left, pad, right};

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

    /// Starts a frame: moves the cursor up over the previous one and writes the queued log
    /// lines where it was, so they scroll up out of the new frame's way.
    fn start_frame(&mut self, out: &mut Vec<u8>) {
        if self.drawn > 0 {
            out.extend_from_slice(b"\x1b[");
            out.extend_from_slice(itoa::Buffer::new().format(self.drawn).as_bytes());
            out.extend_from_slice(b"A\r");
        }
        for line in self.above.split_inclusive(|&b| b == b'\n') {
            out.extend_from_slice(CLEAR_LINE);
            out.extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
            // A line that wrapped leaves the rest of the old frame's next line: clear it.
            out.extend_from_slice(CLEAR_TO_END);
            out.push(b'\n');
        }
        self.above.clear();
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

        self.start_frame(out);

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

#[cfg(test)]
mod tests;
