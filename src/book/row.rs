//! The `depth` and `book` rows, and their NDJSON and CSV text.
//!
//! This module owns what a depth row holds (one venue event, or the synced book as a
//! snapshot event) and a book row (the best N levels), the byte layout of their
//! channel-specific fields in NDJSON and CSV, and when a `book` row is due
//! ([`BookInterval`]). The common fields (`exchange`, `symbol`, `channel`, `recv_ns`) are
//! the sink's; it passes them in as a ready prefix. No text here needs escaping: decimal
//! text is digits, a point and a minus.

use super::sync::DepthEvent;
use super::{Book, BookRow, Level, write_levels_json};
use crate::tick::{Channel, Symbol, Venue};

/// One order-book row as it travels to the sink: whose it is, and the row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookRecord {
    /// The venue.
    pub exchange: Venue,
    /// The market.
    pub symbol: Symbol,
    /// When the event (or snapshot) that produced the row was received, ns since the epoch.
    pub recv_ns: u64,
    /// The row.
    pub data: BookData,
}

/// A `depth` or a `book` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BookData {
    /// A `depth` row.
    Depth(DepthRow),
    /// A `book` row.
    Book(BookLine),
}

impl BookRecord {
    /// `depth` or `book`.
    pub fn channel(&self) -> Channel {
        match self.data {
            BookData::Depth(_) => Channel::Depth,
            BookData::Book(_) => Channel::Book,
        }
    }

    /// The venue's time of the row, ns since the epoch.
    pub fn exchange_ns(&self) -> u64 {
        match &self.data {
            BookData::Depth(row) => row.exchange_ns,
            BookData::Book(line) => line.exchange_ns,
        }
    }

    /// The whole NDJSON line, `\n` included.
    pub fn write_ndjson_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"exchange\":\"");
        out.extend_from_slice(self.exchange.as_bytes());
        out.extend_from_slice(b"\",\"symbol\":\"");
        self.symbol.append_to(out);
        out.extend_from_slice(b"\",\"channel\":\"");
        out.extend_from_slice(self.channel().as_str().as_bytes());
        out.extend_from_slice(b"\",\"recv_ns\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.recv_ns).as_bytes());
        match &self.data {
            BookData::Depth(row) => row.write_ndjson(out),
            BookData::Book(line) => line.write_ndjson(out),
        }
        out.extend_from_slice(b"}\n");
    }
}

/// A `depth` row: one venue event, or the synced book as `is_snapshot`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepthRow {
    /// The venue's time, ns since the Unix epoch.
    pub exchange_ns: u64,
    /// The whole book, replacing what came before.
    pub is_snapshot: bool,
    /// A snapshot foxtrot wrote itself at the start of a rotated file: the book as the
    /// previous file's rows left it, not a venue message (NDJSON `"synthetic":true` after
    /// `is_snapshot`; the key is absent on every other row).
    pub synthetic: bool,
    /// The event's first update id (Binance `U`); none on a snapshot.
    pub first_update_id: Option<u64>,
    /// The last update the row includes (Binance `u` or `lastUpdateId`, Bybit `u`, OKX
    /// `seqId`).
    pub update_id: u64,
    /// The previous event's id where the venue sends one (Binance futures `pu`, OKX
    /// `prevSeqId`).
    pub prev_update_id: Option<u64>,
    /// Bid levels (quantity zero removes).
    pub bids: Vec<Level>,
    /// Ask levels (quantity zero removes).
    pub asks: Vec<Level>,
}

/// A `depth` row's own NDJSON keys, in order (`prev_update_id` only where present).
pub const DEPTH_FIELDS: [&str; 7] = [
    "exchange_ns",
    "is_snapshot",
    "first_update_id",
    "update_id",
    "prev_update_id",
    "bids",
    "asks",
];

/// A `depth` row's own CSV columns: one CSV row per level change.
pub const DEPTH_CSV_FIELDS: [&str; 8] = [
    "exchange_ns",
    "is_snapshot",
    "first_update_id",
    "update_id",
    "prev_update_id",
    "side",
    "price",
    "qty",
];

impl DepthRow {
    /// The row of an applied event.
    pub fn event(event: &DepthEvent) -> DepthRow {
        DepthRow {
            exchange_ns: event.exchange_ns,
            is_snapshot: false,
            synthetic: false,
            first_update_id: Some(event.first_id),
            update_id: event.last_id,
            prev_update_id: event.prev_id,
            bids: event.bids.iter().map(|c| c.level).collect(),
            asks: event.asks.iter().map(|c| c.level).collect(),
        }
    }

    /// The snapshot row of a freshly synced `book`, whose last update is `update_id`.
    pub fn snapshot(book: &Book, update_id: u64, exchange_ns: u64) -> DepthRow {
        DepthRow {
            exchange_ns,
            is_snapshot: true,
            synthetic: false,
            first_update_id: None,
            update_id,
            prev_update_id: None,
            bids: book.bids().copied().collect(),
            asks: book.asks().copied().collect(),
        }
    }

    /// The synthetic snapshot row that opens a rotated file: `book` as the rows before
    /// left it, the last of which had `update_id` (see [`DepthRow::synthetic`]).
    pub fn carried(book: &Book, update_id: u64, exchange_ns: u64) -> DepthRow {
        DepthRow {
            synthetic: true,
            ..DepthRow::snapshot(book, update_id, exchange_ns)
        }
    }

    /// Appends the row's own NDJSON fields, each after a comma:
    /// `,"exchange_ns":1,"is_snapshot":false,"first_update_id":2,"update_id":3,"bids":[...],"asks":[...]`.
    pub fn write_ndjson(&self, out: &mut Vec<u8>) {
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b",\"exchange_ns\":");
        out.extend_from_slice(num.format(self.exchange_ns).as_bytes());
        out.extend_from_slice(if self.synthetic {
            b",\"is_snapshot\":true,\"synthetic\":true,\"first_update_id\":"
        } else if self.is_snapshot {
            b",\"is_snapshot\":true,\"first_update_id\":"
        } else {
            b",\"is_snapshot\":false,\"first_update_id\":"
        });
        match self.first_update_id {
            Some(id) => out.extend_from_slice(num.format(id).as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"update_id\":");
        out.extend_from_slice(num.format(self.update_id).as_bytes());
        if let Some(prev) = self.prev_update_id {
            out.extend_from_slice(b",\"prev_update_id\":");
            out.extend_from_slice(num.format(prev).as_bytes());
        }
        out.extend_from_slice(b",\"bids\":");
        write_levels_json(&self.bids, out);
        out.extend_from_slice(b",\"asks\":");
        write_levels_json(&self.asks, out);
    }

    /// Appends one CSV line per level change, each starting with `prefix` (the common
    /// columns, each followed by a comma). A row with no level (an empty snapshot) still
    /// writes one line, with `side`, `price` and `qty` empty, so no snapshot goes unseen.
    pub fn write_csv(&self, prefix: &[u8], out: &mut Vec<u8>) {
        let mut num = itoa::Buffer::new();
        let mut head = Vec::with_capacity(64);
        head.extend_from_slice(num.format(self.exchange_ns).as_bytes());
        head.extend_from_slice(if self.is_snapshot {
            b",true,"
        } else {
            b",false,"
        });
        if let Some(id) = self.first_update_id {
            head.extend_from_slice(num.format(id).as_bytes());
        }
        head.push(b',');
        head.extend_from_slice(num.format(self.update_id).as_bytes());
        head.push(b',');
        if let Some(prev) = self.prev_update_id {
            head.extend_from_slice(num.format(prev).as_bytes());
        }
        head.push(b',');
        let mut line = |side: &[u8], level: Option<&Level>| {
            out.extend_from_slice(prefix);
            out.extend_from_slice(&head);
            out.extend_from_slice(side);
            if let Some(level) = level {
                out.push(b',');
                level.price.append_to(out);
                out.push(b',');
                level.qty.append_to(out);
            } else {
                out.extend_from_slice(b",,");
            }
            out.push(b'\n');
        };
        for level in &self.bids {
            line(b"bid", Some(level));
        }
        for level in &self.asks {
            line(b"ask", Some(level));
        }
        if self.bids.is_empty() && self.asks.is_empty() {
            line(b"", None);
        }
    }
}

/// A `book` row: the best levels after an update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookLine {
    /// The venue's time of the last update applied, ns since the Unix epoch.
    pub exchange_ns: u64,
    /// The venue's id of the last update applied.
    pub update_id: u64,
    /// The best levels, best first.
    pub levels: BookRow,
}

impl BookLine {
    /// Appends the row's own NDJSON fields:
    /// `,"exchange_ns":1,"update_id":2,"bids":[["p","q"],...],"asks":[...]`.
    pub fn write_ndjson(&self, out: &mut Vec<u8>) {
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b",\"exchange_ns\":");
        out.extend_from_slice(num.format(self.exchange_ns).as_bytes());
        out.extend_from_slice(b",\"update_id\":");
        out.extend_from_slice(num.format(self.update_id).as_bytes());
        out.extend_from_slice(b",\"bids\":");
        write_levels_json(&self.levels.bids, out);
        out.extend_from_slice(b",\"asks\":");
        write_levels_json(&self.levels.asks, out);
    }

    /// Appends the row's own CSV header columns for `depth` levels, each after a comma:
    /// `,exchange_ns,update_id,bid_0_price,bid_0_qty,...,ask_0_price,...`.
    pub fn write_csv_header(depth: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(b",exchange_ns,update_id");
        for side in ["bid", "ask"] {
            for i in 0..depth {
                for field in ["price", "qty"] {
                    out.extend_from_slice(format!(",{side}_{i}_{field}").as_bytes());
                }
            }
        }
    }

    /// Appends the row's own CSV columns for `depth` levels, each after a comma (empty
    /// where the book is shorter).
    pub fn write_csv(&self, depth: usize, out: &mut Vec<u8>) {
        let mut num = itoa::Buffer::new();
        out.push(b',');
        out.extend_from_slice(num.format(self.exchange_ns).as_bytes());
        out.push(b',');
        out.extend_from_slice(num.format(self.update_id).as_bytes());
        for levels in [&self.levels.bids, &self.levels.asks] {
            for i in 0..depth {
                out.push(b',');
                if let Some(level) = levels.get(i) {
                    level.price.append_to(out);
                    out.push(b',');
                    level.qty.append_to(out);
                } else {
                    out.push(b',');
                }
            }
        }
    }
}

/// When a symbol's `book` row is due: after every update (interval 0), or on the first
/// update of each interval of exchange time (intervals aligned to multiples of it, so rows
/// of several symbols and runs line up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookInterval {
    interval_ns: u64,
    /// The interval of the last row written.
    last_bucket: Option<u64>,
}

impl BookInterval {
    /// Rows every `interval_ns` of exchange time (0: after every update).
    pub fn new(interval_ns: u64) -> BookInterval {
        BookInterval {
            interval_ns,
            last_bucket: None,
        }
    }

    /// Whether the update at `exchange_ns` writes a row.
    pub fn due(&mut self, exchange_ns: u64) -> bool {
        if self.interval_ns == 0 {
            return true;
        }
        let bucket = exchange_ns / self.interval_ns;
        if self.last_bucket.is_some_and(|last| bucket <= last) {
            return false;
        }
        self.last_bucket = Some(bucket);
        true
    }

    /// A re-sync: the next update writes a row whatever its time.
    pub fn reset(&mut self) {
        self.last_bucket = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{Change, Side};

    fn level(p: &str, q: &str) -> Level {
        Change::parse(p, q).unwrap().level
    }

    fn row() -> DepthRow {
        DepthRow {
            exchange_ns: 1_723_161_255_208_000_000,
            is_snapshot: false,
            synthetic: false,
            first_update_id: Some(50093239208),
            update_id: 50093239224,
            prev_update_id: None,
            bids: vec![level("61837.63000000", "3.78826000")],
            asks: vec![
                level("61837.64000000", "1.60520000"),
                level("61838.04000000", "0.00000000"),
            ],
        }
    }

    #[test]
    fn depth_ndjson_fields() {
        let mut out = Vec::new();
        row().write_ndjson(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            r#","exchange_ns":1723161255208000000,"is_snapshot":false,"first_update_id":50093239208,"update_id":50093239224,"bids":[["61837.63000000","3.78826000"]],"asks":[["61837.64000000","1.60520000"],["61838.04000000","0.00000000"]]"#
        );
        let json: serde_json::Value = serde_json::from_str(&format!("{{\"x\":1{text}}}")).unwrap();
        assert_eq!(json["asks"][1][1], "0.00000000");
        let mut futures = row();
        futures.prev_update_id = Some(7);
        futures.is_snapshot = true;
        futures.first_update_id = None;
        let mut out = Vec::new();
        futures.write_ndjson(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#""is_snapshot":true,"first_update_id":null,"update_id":50093239224,"prev_update_id":7,"#), "{text}");
        // A carried snapshot says it is one; CSV has no column for it.
        let mut book = Book::new();
        book.apply(Side::Bid, &Change::parse("100", "1").unwrap());
        let mut out = Vec::new();
        DepthRow::carried(&book, 9, 1).write_ndjson(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#","exchange_ns":1,"is_snapshot":true,"synthetic":true,"first_update_id":null,"update_id":9,"bids":[["100","1"]],"asks":[]"#
        );
        let mut out = Vec::new();
        DepthRow::carried(&book, 9, 1).write_csv(b"p,", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "p,1,true,,9,,bid,100,1\n");
    }

    #[test]
    fn depth_csv_has_one_line_per_level() {
        let mut out = Vec::new();
        row().write_csv(b"binance,BTCUSDT,depth,5,", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "binance,BTCUSDT,depth,5,1723161255208000000,false,50093239208,50093239224,,bid,61837.63000000,3.78826000\n\
             binance,BTCUSDT,depth,5,1723161255208000000,false,50093239208,50093239224,,ask,61837.64000000,1.60520000\n\
             binance,BTCUSDT,depth,5,1723161255208000000,false,50093239208,50093239224,,ask,61838.04000000,0.00000000\n"
        );
        let empty = DepthRow::snapshot(&Book::new(), 9, 1);
        let mut out = Vec::new();
        empty.write_csv(b"p,", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "p,1,true,,9,,,,\n");
        assert_eq!(DEPTH_CSV_FIELDS.len(), 8);
    }

    #[test]
    fn book_rows_in_both_formats() {
        let mut book = Book::new();
        book.apply(Side::Bid, &Change::parse("100", "1").unwrap());
        book.apply(Side::Ask, &Change::parse("101", "2").unwrap());
        book.apply(Side::Ask, &Change::parse("102", "3").unwrap());
        let mut line = BookLine {
            exchange_ns: 5,
            update_id: 6,
            levels: BookRow::default(),
        };
        line.levels.fill(&book, 2);
        let mut out = Vec::new();
        line.write_ndjson(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#","exchange_ns":5,"update_id":6,"bids":[["100","1"]],"asks":[["101","2"],["102","3"]]"#
        );
        let mut header = Vec::new();
        BookLine::write_csv_header(2, &mut header);
        assert_eq!(
            String::from_utf8(header).unwrap(),
            ",exchange_ns,update_id,bid_0_price,bid_0_qty,bid_1_price,bid_1_qty,ask_0_price,ask_0_qty,ask_1_price,ask_1_qty"
        );
        let mut out = Vec::new();
        line.write_csv(2, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), ",5,6,100,1,,,101,2,102,3");
    }

    #[test]
    fn book_rows_land_on_an_interval_grid() {
        let mut every = BookInterval::new(0);
        assert!(every.due(1) && every.due(1));
        let mut grid = BookInterval::new(100);
        let due: Vec<bool> = [5, 50, 99, 100, 150, 350, 360, 399, 400]
            .into_iter()
            .map(|t| grid.due(t))
            .collect();
        assert_eq!(
            due,
            [true, false, false, true, false, true, false, false, true]
        );
        grid.reset();
        assert!(grid.due(401));
    }
}
