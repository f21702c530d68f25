//! OKX's hot pushes read in one pass by the shared scanner ([`Scan`]): the `arg` of every
//! push, and the `data` of `trades`, `bbo-tbt` and `books` (also `books-l2-tbt` and
//! `books50-l2-tbt`), in any key order, as OKX writes them (no whitespace, no escapes).
//!
//! This module owns only the reading: each reader fills the same wire struct serde's path
//! fills, and the same row code in [`super`] turns it into rows. Anything it does not take
//! (a key read twice, a value of another type, a row that fails to convert) is `None` or an
//! error, and the frame is read again by serde, which gives the result, errors included.

use super::super::scan::{Scan, once};
use super::super::{DecodeError, Level, Out};
use super::Arg;
use super::rows::{BboWire, Best, BookParts, TradeWire};

/// A push's `arg` object, as [`Arg`]'s serde reads it.
pub(super) fn arg(text: &str) -> Option<Arg<'_>> {
    let (mut channel, mut inst_id, mut inst_type) = (None, None, None);
    let mut s = Scan::new(text);
    s.object(|s, key| match key {
        "channel" => once(&mut channel, s.str()),
        "instId" => once(&mut inst_id, s.str()),
        "instType" => once(&mut inst_type, s.str()),
        _ => s.skip(),
    })?;
    s.end()?;
    Some(Arg {
        channel: channel?,
        inst_id,
        inst_type,
    })
}

/// Reads the array `data` with `read`, calling `row` with each element; the first error
/// `row` returns is the result, and `UnknownShape` where the scanner declines.
pub(super) fn each<'a, T>(
    data: &'a str,
    out: &mut Out,
    read: fn(&mut Scan<'a>, &mut Vec<Level>) -> Option<T>,
    mut row: impl FnMut(T, &mut Out) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut failed = None;
    let mut s = Scan::new(data);
    let read_all = s.array(|s| {
        let item = read(s, &mut out.levels)?;
        row(item, out).map_err(|e| failed = Some(e)).ok()
    });
    match (read_all.and_then(|()| s.end()), failed) {
        (Some(()), _) => Ok(()),
        (None, Some(e)) => Err(e),
        (None, None) => Err(DecodeError::UnknownShape),
    }
}

/// One `trades` element, as [`TradeWire`]'s serde reads it.
pub(super) fn trade<'a>(s: &mut Scan<'a>, _: &mut Vec<Level>) -> Option<TradeWire<'a>> {
    let (mut trade_id, mut px, mut sz, mut side, mut ts) = (None, None, None, None, None);
    s.object(|s, key| match key {
        "tradeId" => once(&mut trade_id, s.str()),
        "px" => once(&mut px, s.quoted_decimal()),
        "sz" => once(&mut sz, s.quoted_decimal()),
        "side" => once(&mut side, s.str()),
        "ts" => once(&mut ts, s.str()),
        _ => s.skip(),
    })?;
    Some(TradeWire {
        trade_id: trade_id?,
        px: px?,
        sz: sz?,
        side: side?,
        ts: ts?,
    })
}

/// One `bbo-tbt` element, as [`BboWire`]'s serde reads it.
pub(super) fn bbo<'a>(s: &mut Scan<'a>, _: &mut Vec<Level>) -> Option<BboWire<'a>> {
    let (mut asks, mut bids, mut ts, mut seq_id) = (None, None, None, None);
    s.object(|s, key| match key {
        "asks" => once(&mut asks, best(s)),
        "bids" => once(&mut bids, best(s)),
        "ts" => once(&mut ts, s.str()),
        "seqId" => once(&mut seq_id, s.u64()),
        _ => s.skip(),
    })?;
    Some(BboWire {
        asks: asks?,
        bids: bids?,
        ts: ts?,
        seq_id,
    })
}

/// A side's first level, the others skipped.
fn best<'a>(s: &mut Scan<'a>) -> Option<Best<'a>> {
    let mut first = None;
    s.array(|s| {
        if first.is_some() {
            return s.skip();
        }
        s.lit("[")?;
        let px = s.quoted_decimal()?;
        s.lit(",")?;
        let sz = s.quoted_decimal()?;
        while s.more(b']')? {
            s.skip()?;
        }
        first = Some((px, sz));
        Some(())
    })?;
    Some(Best(first))
}

/// One `books` element, its levels appended to `levels`.
pub(super) fn book<'a>(s: &mut Scan<'a>, levels: &mut Vec<Level>) -> Option<BookParts<'a>> {
    let (mut asks, mut bids, mut ts) = (None, None, None);
    let (mut checksum, mut prev_seq_id, mut seq_id) = (None, None, None);
    s.object(|s, key| match key {
        "asks" => once(&mut asks, s.levels(levels, true)),
        "bids" => once(&mut bids, s.levels(levels, true)),
        "ts" => once(&mut ts, s.str()),
        "checksum" => once(&mut checksum, s.i64()),
        "prevSeqId" => once(&mut prev_seq_id, s.i64()),
        "seqId" => once(&mut seq_id, s.u64()),
        _ => s.skip(),
    })?;
    Some(BookParts {
        ts: ts?,
        checksum,
        prev_seq_id,
        seq_id,
        bids: bids?,
        asks: asks?,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{Reader, decode, decode_serde, fast};
    use super::*;
    use crate::book::testdata::lines;
    use crate::exchange::DepthUpdate;
    use crate::tick::Tick;

    /// The fixtures of the channels the scanner reads.
    const HOT: &[&str] = &[
        "okx/trades.jsonl",
        "okx/bbo-tbt.jsonl",
        "okx/books.jsonl",
        "okx/books-l2-tbt.jsonl",
        "okx/books_doc_example.jsonl",
    ];

    /// A frame's rows, with each depth update's levels (the two readers may place a
    /// message's sides in [`Out::levels`] in another order).
    type Rows = (Vec<Tick>, Vec<(DepthUpdate, Vec<Level>, Vec<Level>)>);

    fn rows(out: &Out) -> Rows {
        let depth = out
            .depth
            .iter()
            .map(|u| {
                let (bids, asks) = out.levels_of(u);
                let mut u = u.clone();
                (u.bids, u.asks) = (0..0, 0..0);
                (u, bids.to_vec(), asks.to_vec())
            })
            .collect();
        (out.ticks.clone(), depth)
    }

    /// Where the scanner takes `frame`, serde takes it too, with the same rows; whether
    /// the scanner took it.
    fn assert_agrees(frame: &str) -> bool {
        let mut scanned = Out::default();
        let Some(decoded) = fast(Reader::Scan, frame, 7, &mut scanned) else {
            return false;
        };
        let mut parsed = Out::default();
        assert_eq!(
            decode_serde(frame, 7, &mut parsed).ok(),
            Some(decoded),
            "{frame}"
        );
        assert_eq!(rows(&scanned), rows(&parsed), "{frame}");
        true
    }

    #[test]
    fn the_scanner_takes_every_hot_fixture_line_with_serdes_rows() {
        for file in HOT {
            for line in lines(file) {
                assert!(assert_agrees(&line), "not scanned: {line}");
                let mut out = Out::default();
                decode(&line, 7, &mut out).unwrap();
                assert!(!out.ticks.is_empty() || !out.depth.is_empty(), "{line}");
            }
        }
        // The other channels' pushes: the arg scanned, `data` read by serde; same rows.
        for file in [
            "okx/tickers.jsonl",
            "okx/funding-rate.jsonl",
            "okx/liquidation-orders.jsonl",
            "okx/books5.jsonl",
        ] {
            for line in lines(file) {
                assert!(assert_agrees(&line), "not taken: {line}");
            }
        }
        for line in lines("okx/control.jsonl") {
            assert!(!assert_agrees(&line), "scanned: {line}");
        }
    }

    #[test]
    fn the_scanner_declines_what_it_cannot_vouch_for() {
        let trade = &lines("okx/trades.jsonl")[0];
        let bbo = &lines("okx/bbo-tbt.jsonl")[0];
        let book = &lines("okx/books_doc_example.jsonl")[0];
        let with = |line: &str, from: &str, to: &str| {
            assert!(line.contains(from), "{from}");
            line.replacen(from, to, 1)
        };
        for odd in [
            with(trade, r#""px":"30218.8""#, r#""px":"30218.8","px":"1""#),
            with(trade, r#""px":"30218.8""#, r#""px":30218.8"#),
            with(trade, r#""px":"30218.8""#, r#""px":"3e4""#),
            with(trade, r#""side":"buy""#, r#""side":"b\u0075y""#),
            with(trade, r#""side":"buy""#, r#""side": "buy""#),
            with(
                trade,
                r#""instId":"BTC-USD-220527"}"#,
                r#""instId":"X","instId":"Y"}"#,
            ),
            with(
                trade,
                r#""channel":"trades""#,
                r#""channel":"trades","channel":"x""#,
            ),
            with(trade, r#""data":[{"#, r#""data":[{"x":01,"#),
            with(trade, r#""ts":"1652459199958""#, r#""ts":1652459199958"#),
            with(trade, r#"}]}"#, r#"}],"x":1}"#),
            with(
                bbo,
                r#""ts":"1654032991947""#,
                r#""ts":"1654032991947","seqId":-1"#,
            ),
            with(
                bbo,
                r#""ts":"1654032991947""#,
                r#""ts":"1654032991947","seqId":null"#,
            ),
            with(bbo, r#"["31774.7","0.14368878","0","3"]"#, r#"["31774.7"]"#),
            with(
                bbo,
                r#"["31774.7","0.14368878","0","3"]"#,
                r#"{"px":"31774.7"}"#,
            ),
            with(book, r#""checksum":-855196043"#, r#""checksum":-0"#),
            with(
                book,
                r#""checksum":-855196043"#,
                r#""checksum":-855196043.5"#,
            ),
            with(book, r#""seqId":123456"#, r#""seqId":-123456"#),
            with(
                book,
                r#""prevSeqId":-1"#,
                r#""prevSeqId":-9223372036854775809"#,
            ),
            format!("{trade} "),
        ] {
            let mut out = Out::default();
            assert!(
                fast(Reader::Scan, &odd, 0, &mut out).is_none(),
                "scanned: {odd}"
            );
            assert!(out.ticks.is_empty() && out.depth.is_empty() && out.levels.is_empty());
            let (mut a, mut b) = (Out::default(), Out::default());
            let decoded = decode(&odd, 0, &mut a).map_err(|e| e.kind().to_owned());
            let parsed = decode_serde(&odd, 0, &mut b).map_err(|e| e.kind().to_owned());
            assert_eq!(decoded, parsed, "{odd}");
            assert_eq!(rows(&a), rows(&b), "{odd}");
        }
    }

    proptest! {
        #[test]
        fn the_scanner_accepts_only_what_serde_reads_the_same(
            pick in any::<prop::sample::Index>(),
            line in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..3),
        ) {
            let lines = lines(HOT[pick.index(HOT.len())]);
            let mut bytes = lines[line.index(lines.len())].as_bytes().to_vec();
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                // Bytes JSON gives meaning to, so edits often stay well-formed.
                bytes[at] = b"0189.,:\"e-tfu \\x[]{}"[usize::from(byte) % 20];
            }
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            assert_agrees(&text);
        }
    }
}
