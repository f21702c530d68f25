//! The order-book side of the live table: `depth` and `book` rows.
//!
//! This module owns what the table keeps of order books (the book a symbol's `depth` rows
//! rebuild, or its latest `book` row) and how it is shown: with several symbols (or other
//! channels), one row per symbol with its best bid and ask, like `bookTicker`; with one
//! symbol's book alone, a ladder of its best levels, bids beside asks, as many as the
//! terminal has lines for.

use super::*;
use crate::book::row::{BookData, BookLine, BookRecord};
use crate::book::{Book, Change, Level, Side};
use crate::tick::{BookTicker, Decimal};

/// Levels shown a side when the terminal's height is unknown.
const LADDER_LEVELS: usize = 20;

/// Every symbol's book, as its rows left it.
#[derive(Default)]
pub(super) struct Books {
    by_symbol: BTreeMap<Symbol, State>,
}

#[derive(Default)]
struct State {
    /// Rebuilt from `depth` rows.
    book: Book,
    /// The latest `book` row.
    line: Option<BookLine>,
    update_id: u64,
    recv_ns: u64,
}

impl State {
    /// The best `n` levels a side: the `book` row's, else the rebuilt book's.
    fn top(&self, n: usize) -> (Vec<Level>, Vec<Level>) {
        match &self.line {
            Some(line) => (
                line.levels.bids.iter().take(n).copied().collect(),
                line.levels.asks.iter().take(n).copied().collect(),
            ),
            None => (
                self.book.bids().take(n).copied().collect(),
                self.book.asks().take(n).copied().collect(),
            ),
        }
    }
}

impl Table {
    /// Records an order-book row. Cheap: no rendering happens here.
    pub fn update_book(&mut self, record: &BookRecord) {
        let state = self
            .books
            .by_symbol
            .entry(record.symbol.clone())
            .or_default();
        match &record.data {
            BookData::Depth(row) => {
                if row.is_snapshot {
                    state.book.clear();
                }
                for (side, levels) in [(Side::Bid, &row.bids), (Side::Ask, &row.asks)] {
                    for level in levels {
                        if let Ok(change) = Change::from_decimals(level.price, level.qty) {
                            state.book.apply(side, &change);
                        }
                    }
                }
                state.update_id = row.update_id;
            }
            BookData::Book(line) => {
                state.update_id = line.update_id;
                state.line = Some(line.clone());
            }
        }
        state.recv_ns = record.recv_ns;
        let (bids, asks) = state.top(1);
        let best = |levels: &[Level]| {
            levels
                .first()
                .map_or((Decimal::EMPTY, Decimal::EMPTY), |l| (l.price, l.qty))
        };
        let ((bid, bid_qty), (ask, ask_qty)) = (best(&bids), best(&asks));
        let tick = Tick {
            exchange: record.exchange,
            symbol: record.symbol.clone(),
            recv_ns: record.recv_ns,
            exchange_ns: record.exchange_ns(),
            data: TickData::BookTicker(BookTicker {
                update_id: state.update_id,
                bid,
                bid_qty,
                ask,
                ask_qty,
            }),
        };
        self.update_as(record.channel(), &tick);
    }

    /// Draws the ladder when every row is the order book of one symbol; `false` (nothing
    /// drawn) otherwise.
    pub(super) fn render_ladder(&mut self, now_ns: u64, out: &mut Vec<u8>) -> bool {
        let Some((symbol, _)) = self.rows.keys().next() else {
            return false;
        };
        if !self
            .rows
            .keys()
            .all(|(s, c)| s == symbol && matches!(c, Channel::Depth | Channel::Book))
        {
            return false;
        }
        let Some(state) = self.books.by_symbol.get(symbol) else {
            return false;
        };
        let note = usize::from(self.note.is_some());
        // Two lines of headings, one free for the cursor.
        let levels = self
            .height
            .map_or(LADDER_LEVELS, |h| h.saturating_sub(3 + note).max(1));
        let (bids, asks) = state.top(levels);
        let text = |l: Option<&Level>, qty: bool| {
            l.map_or(String::new(), |l| {
                if qty { l.qty } else { l.price }.to_string()
            })
        };
        let rows: Vec<[String; 4]> = (0..bids.len().max(asks.len()))
            .map(|i| {
                [
                    text(bids.get(i), true),
                    text(bids.get(i), false),
                    text(asks.get(i), false),
                    text(asks.get(i), true),
                ]
            })
            .collect();
        let labels = ["BID QTY", "BID", "ASK", "ASK QTY"];
        let widths: Vec<usize> = (0..4)
            .map(|c| {
                rows.iter()
                    .map(|r| r[c].len())
                    .fold(labels[c].len(), usize::max)
            })
            .collect();
        let mut age = [0; 24];
        let age = age_text(now_ns.saturating_sub(state.recv_ns), &mut age);
        let mut lines = vec![format!("{symbol}  update {}  age {age}", state.update_id)];
        let line = |cells: [&str; 4]| {
            format!(
                "{:>w0$}  {:>w1$}  {:<w2$}  {:<w3$}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )
        };
        lines.push(line(labels));
        for row in &rows {
            lines.push(line([&row[0], &row[1], &row[2], &row[3]]));
        }

        self.start_frame(out);
        let limit = self.width.unwrap_or(usize::MAX);
        if let Some(note) = &self.note {
            lines.push(note.clone());
        }
        for (i, line) in lines.iter().enumerate() {
            out.extend_from_slice(CLEAR_LINE);
            let bold = self.color && i == 1;
            if bold {
                out.extend_from_slice(BOLD);
            }
            out.extend_from_slice(cut(line, limit).as_bytes());
            if bold {
                out.extend_from_slice(RESET);
            }
            out.push(b'\n');
        }
        out.extend_from_slice(CLEAR_BELOW);
        self.drawn = lines.len();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::BookRow;
    use crate::book::row::DepthRow;
    use crate::exchange::Venue;

    fn level(p: &str, q: &str) -> Level {
        Change::parse(p, q).unwrap().level
    }

    fn record(symbol: &str, data: BookData) -> BookRecord {
        BookRecord {
            exchange: Venue::Binance,
            symbol: Symbol::parse(symbol).unwrap(),
            recv_ns: 1,
            data,
        }
    }

    fn text(out: &[u8]) -> String {
        String::from_utf8_lossy(out).into_owned()
    }

    #[test]
    fn one_symbols_book_is_a_ladder_and_several_are_rows() {
        let mut table = Table::new(false);
        let line = BookLine {
            exchange_ns: 1,
            update_id: 7,
            levels: BookRow {
                bids: vec![level("100.5", "1"), level("100", "2")],
                asks: vec![level("101", "3")],
            },
        };
        table.update_book(&record("BTCUSDT", BookData::Book(line)));
        let mut out = Vec::new();
        table.render(1, &mut out);
        let frame = text(&out);
        assert!(frame.contains("BTCUSDT  update 7"), "{frame}");
        assert!(
            frame.contains("BID QTY") && frame.contains("100.5  101"),
            "{frame}"
        );
        assert!(frame.contains("      2    100"), "{frame}");

        // Depth rows of a second symbol: one row per symbol with its best levels.
        let snapshot = DepthRow {
            exchange_ns: 1,
            is_snapshot: true,
            synthetic: false,
            first_update_id: None,
            update_id: 3,
            prev_update_id: None,
            bids: vec![level("5", "1"), level("4", "1")],
            asks: vec![level("6", "2")],
        };
        table.update_book(&record("ETHUSDT", BookData::Depth(snapshot)));
        let removal = DepthRow {
            is_snapshot: false,
            synthetic: false,
            first_update_id: Some(4),
            update_id: 4,
            bids: vec![level("5", "0")],
            asks: vec![],
            ..DepthRow::default()
        };
        table.update_book(&record("ETHUSDT", BookData::Depth(removal)));
        let mut out = Vec::new();
        table.render(1, &mut out);
        let frame = text(&out);
        assert!(frame.contains("CHANNEL"), "{frame}");
        let eth = frame.lines().find(|l| l.contains("ETHUSDT")).unwrap();
        assert!(
            eth.contains("depth") && eth.contains(" 4 ") && eth.contains('6'),
            "{eth}"
        );
        assert!(
            frame
                .lines()
                .any(|l| l.contains("BTCUSDT") && l.contains("book"))
        );
    }
}
