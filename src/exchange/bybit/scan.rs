//! Bybit's hot messages read in one pass by the shared scanner ([`Scan`]): `publicTrade`
//! (an array of trades), `orderbook.1` (`bookTicker`) and `orderbook.50`/`.200` (`depth`,
//! `book`), in any key order, as Bybit writes them (no whitespace, no escapes).
//!
//! This module owns only the reading: the rows are made by the same functions of `rows`
//! that serde's path calls, so both paths give the same rows. Anything it does not take
//! (answers, tickers, liquidations, a key read twice, a value of another type, a row that
//! fails to convert) makes [`message`] return `None`, and the caller reads the frame again
//! by serde, which gives the result, errors included.

use super::super::scan::{Scan, once};
use super::super::{Level, Out, Venue};
use super::rows::{self, BookData, FrameInfo, Rows, WireTrade};

/// Reads one data message into `out` (its rows stamped with the message's `ts`); `None`
/// where it declines (`out` may then hold part of the message: the caller truncates it).
pub(super) fn message(venue: Venue, frame: &str, recv_ns: u64, out: &mut Out) -> Option<()> {
    let marks = (out.ticks.len(), out.depth.len());
    let (mut topic, mut kind, mut ts, mut data) = (None, None, None, false);
    let mut s = Scan::new(frame);
    s.object(|s, key| match key {
        "topic" => once(&mut topic, s.str()),
        "type" => once(&mut kind, s.str()),
        "ts" => once(&mut ts, s.u64()),
        "data" if !data => {
            data = true;
            let snapshot = match kind? {
                "snapshot" => true,
                "delta" => false,
                _ => return None,
            };
            let frame = FrameInfo {
                venue,
                recv_ns,
                ts: ts.unwrap_or(0),
                snapshot,
            };
            rows(s, Rows::of(topic?)?, &frame, out)
        }
        // The answer fields serde's path reads (and types), and a second `data`.
        "data" | "success" | "ret_msg" | "op" | "req_id" => None,
        _ => s.skip(),
    })?;
    s.end()?;
    if !data {
        return None;
    }
    super::stamp_rows(out, marks, ts?);
    Some(())
}

/// Reads a `data` value of the rows `of` into `out`.
fn rows(s: &mut Scan<'_>, of: Rows, frame: &FrameInfo, out: &mut Out) -> Option<()> {
    match of {
        Rows::Trades => {
            let mut run = (0u64, 0u16);
            s.array(|s| rows::trade(frame, trade(s)?, out, &mut run).ok())
        }
        Rows::BookTicker => {
            let book = book(s, &mut out.levels)?;
            rows::book_ticker(frame, book, out).ok()
        }
        Rows::Book => {
            let book = book(s, &mut out.levels)?;
            rows::book_update(frame, book, out).ok()
        }
        Rows::Tickers | Rows::Liquidations => None,
    }
}

/// One element of a `publicTrade` array, as [`WireTrade`]'s serde reads it.
fn trade<'a>(s: &mut Scan<'a>) -> Option<WireTrade<'a>> {
    let (mut time, mut symbol, mut side, mut qty, mut price, mut id) =
        (None, None, None, None, None, None);
    s.object(|s, key| match key {
        "T" => once(&mut time, s.u64()),
        "s" => once(&mut symbol, s.quoted_symbol()),
        "S" => once(&mut side, s.str()),
        "v" => once(&mut qty, s.quoted_decimal()),
        "p" => once(&mut price, s.quoted_decimal()),
        "i" => once(&mut id, s.str()),
        _ => s.skip(),
    })?;
    Some(WireTrade {
        time: time?,
        symbol: symbol?,
        side: side?,
        qty: qty?,
        price: price?,
        id: id?,
    })
}

/// The `data` of an order-book message, its levels appended to `levels`.
fn book<'a>(s: &mut Scan<'a>, levels: &mut Vec<Level>) -> Option<BookData<'a>> {
    let (mut symbol, mut bids, mut asks, mut update_id) = (None, None, None, None);
    s.object(|s, key| match key {
        "s" => once(&mut symbol, s.quoted_symbol()),
        "b" => once(&mut bids, s.levels(levels, false)),
        "a" => once(&mut asks, s.levels(levels, false)),
        "u" => once(&mut update_id, s.u64()),
        _ => s.skip(),
    })?;
    Some(BookData {
        symbol: symbol?,
        bids: bids?,
        asks: asks?,
        update_id: update_id?,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{LINEAR, SPOT};
    use super::*;
    use crate::exchange::{DecodeError, Decoded, Exchange};

    /// Every line of the fixtures the scanner reads (all of them must be scanned), and of
    /// the others (tickers, answers: left to serde).
    const HOT: &[&str] = &[
        "spot_publicTrade.jsonl",
        "linear_publicTrade.jsonl",
        "inverse_publicTrade.jsonl",
        "spot_orderbook_1.jsonl",
        "linear_orderbook_1.jsonl",
        "spot_orderbook_50.jsonl",
        "linear_orderbook_50.jsonl",
    ];
    const OTHER: &[&str] = &[
        "spot_tickers.jsonl",
        "linear_tickers.jsonl",
        "inverse_tickers.jsonl",
        "control.jsonl",
    ];

    fn lines(file: &str) -> Vec<String> {
        let mut lines = crate::book::testdata::lines(&format!("bybit/{file}"));
        lines.retain(|l| !l.trim().is_empty());
        lines
    }

    /// What the scanner and serde make of `frame`: `None` where the scanner declines, else
    /// both results with the rows each made.
    #[allow(clippy::type_complexity)]
    fn scan_and_serde(
        venue: Venue,
        frame: &str,
    ) -> Option<(
        (
            Vec<crate::tick::Tick>,
            Vec<crate::exchange::DepthUpdate>,
            Vec<Level>,
        ),
        Result<Decoded, DecodeError>,
        Out,
    )> {
        let mut scanned = Out::default();
        message(venue, frame, 7, &mut scanned)?;
        let bybit = if venue == Venue::Bybit { SPOT } else { LINEAR };
        let mut parsed = Out::default();
        let result = bybit.decode_serde(frame, 7, &mut parsed);
        Some((
            (scanned.ticks, scanned.depth, scanned.levels),
            result,
            parsed,
        ))
    }

    /// Asserts that where the scanner takes `frame`, serde takes it too, with the same rows.
    fn assert_agrees(venue: Venue, frame: &str) -> bool {
        let Some(((ticks, depth, levels), result, parsed)) = scan_and_serde(venue, frame) else {
            return false;
        };
        assert_eq!(result.ok(), Some(Decoded::Data), "{frame}");
        assert_eq!(ticks, parsed.ticks, "{frame}");
        assert_eq!(depth, parsed.depth, "{frame}");
        assert_eq!(levels, parsed.levels, "{frame}");
        true
    }

    #[test]
    fn the_scanner_takes_every_hot_fixture_line_with_serdes_rows() {
        for file in HOT {
            let venue = if file.starts_with("spot") {
                Venue::Bybit
            } else {
                Venue::BybitLinear
            };
            for line in lines(file) {
                assert!(assert_agrees(venue, &line), "not scanned: {line}");
            }
        }
        for file in OTHER {
            for line in lines(file) {
                assert!(!assert_agrees(Venue::BybitLinear, &line), "scanned: {line}");
            }
        }
    }

    #[test]
    fn the_scanner_declines_what_it_cannot_vouch_for() {
        let book = &lines("spot_orderbook_1.jsonl")[0];
        let trade = &lines("spot_publicTrade.jsonl")[0];
        assert!(message(Venue::Bybit, book, 0, &mut Out::default()).is_some());
        let with = |line: &str, from: &str, to: &str| {
            assert!(line.contains(from), "{from}");
            line.replacen(from, to, 1)
        };
        for odd in [
            with(book, r#""ts":"#, r#" "ts":"#),
            with(book, r#""u":1399781"#, r#""u":1399781.0"#),
            with(book, r#""u":1399781"#, r#""u":-1399781"#),
            with(book, r#""u":1399781"#, r#""u":"1399781""#),
            with(book, r#""u":1399781"#, r#""u":null"#),
            with(book, r#""u":1399781"#, r#""u":1,"u":1399781"#),
            with(book, r#""s":"OPUSDC""#, r#""s":"OP\u0055SDC""#),
            with(book, r#"["0.579","3886.45"]"#, r#"["0.579","3886.45","1"]"#),
            with(book, r#"["0.579","3886.45"]"#, r#"["0.579",3886.45]"#),
            with(book, r#"["0.579","3886.45"]"#, r#"["0,579","3886.45"]"#),
            with(book, r#""type":"snapshot""#, r#""type":"partial""#),
            with(book, r#","ts":1749833472906"#, ""),
            with(book, r#""topic":"orderbook.1.OPUSDC","#, ""),
            with(book, r#""topic":"orderbook.1."#, r#""topic":"kline.1."#),
            with(book, r#""cts":1749833472901"#, r#""cts":01"#),
            with(book, r#""cts":1749833472901"#, r#""success":true"#),
            format!("{book} "),
            format!("{book}}}"),
            with(trade, r#""S":"Sell""#, r#""S":"Short""#),
            with(
                trade,
                r#""i":"2290000000050703789""#,
                r#""i":2290000000050703789"#,
            ),
            with(trade, r#""T":1680652847524,"#, ""),
            with(trade, r#""data":[{"#, r#""data":{"x":[{"#).replacen("}]}", "}]}}", 1),
            with(trade, r#""p":"28165.38""#, r#""p":"28165.38","p":"1""#),
        ] {
            assert!(
                message(Venue::Bybit, &odd, 0, &mut Out::default()).is_none(),
                "scanned: {odd}"
            );
            // What it declines, serde decides, and `decode` is serde's answer.
            let (mut a, mut b) = (Out::default(), Out::default());
            let decoded = SPOT
                .decode(&odd, 0, &mut a)
                .map_err(|e| e.kind().to_owned());
            let parsed = SPOT
                .decode_serde(&odd, 0, &mut b)
                .map_err(|e| e.kind().to_owned());
            assert_eq!(decoded, parsed, "{odd}");
            assert_eq!(a.ticks, b.ticks, "{odd}");
        }
    }

    proptest! {
        #[test]
        fn the_scanner_accepts_only_what_serde_reads_the_same(
            pick in any::<prop::sample::Index>(),
            line in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..3),
        ) {
            let file = HOT[pick.index(HOT.len())];
            let lines = lines(file);
            let mut bytes = lines[line.index(lines.len())].as_bytes().to_vec();
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                // Bytes JSON gives meaning to, so edits often stay well-formed.
                bytes[at] = b"0189.,:\"e-tfu \\x[]{}"[usize::from(byte) % 20];
            }
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            assert_agrees(Venue::BybitLinear, &text);
        }
    }
}
