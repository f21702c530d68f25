//! The live view's text: one frame line cut to the terminal's width a whole cell at a
//! time, cells padded left or right, decimals aligned on their point, short ages, and
//! decimal texts compared by value without floating point. It knows no columns (see
//! [`super::columns`]).

use std::cmp::Ordering;
use std::io::Write as _;

use super::columns::Fit;
use super::{CLEAR_LINE, GAP, RESET};

/// One line of a frame being drawn: cleared first, cut to `limit` columns whole cells at
/// a time.
pub(super) struct Line<'o> {
    pub(super) out: &'o mut Vec<u8>,
    used: usize,
    limit: usize,
    full: bool,
}

impl<'o> Line<'o> {
    pub(super) fn start(out: &'o mut Vec<u8>, limit: usize) -> Line<'o> {
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
    pub(super) fn cell(&mut self, width: usize) -> bool {
        let gap = if self.used == 0 { 0 } else { GAP };
        if self.full || self.used + gap + width > self.limit {
            self.full = true;
            return false;
        }
        pad(self.out, gap);
        self.used += gap + width;
        true
    }

    pub(super) fn end(self) {
        self.out.push(b'\n');
    }
}

/// `text` cut to `limit` characters, with `…` marking the cut.
pub(super) fn cut(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= limit {
        return text.into();
    }
    let kept: String = text.chars().take(limit.saturating_sub(1)).collect();
    format!("{kept}…").into()
}

/// Splits decimal text at its point: `("-12", Some("50"))` for `-12.50`.
pub(super) fn split_point(text: &str) -> (&str, Option<&str>) {
    match text.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (text, None),
    }
}

/// Writes `text` verbatim in a `width`-wide cell with its point at the column's point.
pub(super) fn decimal(
    out: &mut Vec<u8>,
    text: &str,
    fit: Fit,
    width: usize,
    colour: Option<&[u8]>,
) {
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

pub(super) fn left(out: &mut Vec<u8>, text: &str, width: usize) {
    out.extend_from_slice(text.as_bytes());
    pad(out, width.saturating_sub(text.len()));
}

pub(super) fn right(out: &mut Vec<u8>, text: &str, width: usize) {
    pad(out, width.saturating_sub(text.len()));
    out.extend_from_slice(text.as_bytes());
}

pub(super) fn pad(out: &mut Vec<u8>, n: usize) {
    out.resize(out.len() + n, b' ');
}

/// A short age such as `0.3s`, `42s`, `5m`, `3h` or `2d`, written into `buf`.
pub(super) fn age_text(age_ns: u64, buf: &mut [u8; 24]) -> &str {
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
pub(super) fn compare_decimal(a: &str, b: &str) -> Ordering {
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
