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
use super::{Arg, BboWire, Best, BookParts, TradeWire};

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
        "asks" => once(&mut asks, side(s, levels)),
        "bids" => once(&mut bids, side(s, levels)),
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

/// `[[px, sz, ...],...]` appended to `levels`; their range.
fn side(s: &mut Scan<'_>, levels: &mut Vec<Level>) -> Option<std::ops::Range<u32>> {
    let start = levels.len() as u32;
    s.array(|s| {
        s.lit("[")?;
        let price = s.packed_decimal()?;
        s.lit(",")?;
        let qty = s.packed_decimal()?;
        while s.more(b']')? {
            s.skip()?;
        }
        levels.push(Level { price, qty });
        Some(())
    })?;
    Some(start..levels.len() as u32)
}
