//! The fixed-point key a book orders its levels by.
//!
//! This module owns turning a venue's price text (`61837.63000000`, `30316`, `5.148`) into
//! an integer that orders numerically: the value times 10^18 in an `i128`, read digit by
//! digit, never through floating point. Texts of the same number (`30316` and `30316.0`)
//! give the same key. The text itself is kept beside the key by the book, for output.

use std::fmt;

/// Digits after the point a [`Price`] holds exactly.
pub const SCALE_DIGITS: usize = 18;

/// Digits before the point a [`Price`] accepts: 10^20 × 10^18 stays below `i128::MAX`.
pub const MAX_INT_DIGITS: usize = 20;

/// A non-negative price as an exact fixed-point number: its value times 10^18.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(i128);

/// Why a price text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a price: {0:?} (expected digits with at most one point, at most {MAX_INT_DIGITS} digits before it and {SCALE_DIGITS} significant after it)"
)]
pub struct PriceError(pub String);

impl Price {
    /// Reads plain decimal text (`digits(.digits)?`). Digits past the 18th after the point
    /// must be zeros, so no two different prices share a key.
    #[inline]
    pub fn parse(text: &str) -> Result<Price, PriceError> {
        Price::parse_bytes(text.as_bytes()).ok_or_else(|| PriceError(text.to_owned()))
    }

    #[inline]
    fn parse_bytes(bytes: &[u8]) -> Option<Price> {
        let (int, frac) = match bytes.iter().position(|&b| b == b'.') {
            Some(dot) => (&bytes[..dot], Some(&bytes[dot + 1..])),
            None => (bytes, None),
        };
        if int.is_empty() || int.len() > MAX_INT_DIGITS || frac.is_some_and(<[u8]>::is_empty) {
            return None;
        }
        let frac = frac.unwrap_or_default();
        let (kept, rest) = frac.split_at(frac.len().min(SCALE_DIGITS));
        if !rest.iter().all(|&b| b == b'0') {
            return None;
        }
        // Up to 19 digits (every price seen in practice) add up in a u64, which is cheaper
        // than 128-bit arithmetic per digit; the scale is applied once at the end.
        let digits = int.iter().chain(kept);
        let value = if int.len() + kept.len() <= 19 {
            let mut small: u64 = 0;
            for &b in digits {
                small = small * 10 + u64::from(digit(b)?);
            }
            i128::from(small)
        } else {
            let mut large: i128 = 0;
            for &b in digits {
                large = large * 10 + i128::from(digit(b)?);
            }
            large
        };
        Some(Price(value * POW10[SCALE_DIGITS - kept.len()]))
    }

    /// The value times 10^18.
    pub fn raw(self) -> i128 {
        self.0
    }

    /// The price whose value times 10^18 is `raw` (for generators and tests).
    pub fn from_raw(raw: i128) -> Price {
        Price(raw)
    }
}

/// 10^0 to 10^18.
const POW10: [i128; SCALE_DIGITS + 1] = {
    let mut table = [1; SCALE_DIGITS + 1];
    let mut i = 1;
    while i <= SCALE_DIGITS {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

#[inline]
fn digit(b: u8) -> Option<u8> {
    b.is_ascii_digit().then(|| b - b'0')
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = 10i128.pow(SCALE_DIGITS as u32);
        let frac = format!("{:018}", self.0 % scale);
        write!(f, "{}.{}", self.0 / scale, frac.trim_end_matches('0'))
    }
}

/// Whether a quantity's text is zero (`0`, `0.000`, `0.00000000`): such a level is removed.
#[inline]
pub fn is_zero(qty: &str) -> bool {
    qty.bytes().all(|b| b == b'0' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn orders_numerically_whatever_the_text() {
        let p = |t| Price::parse(t).unwrap();
        assert_eq!(p("30316"), p("30316.0"));
        assert_eq!(p("30316"), p("30316.000000000000000000000"));
        assert!(p("5.148") < p("5.15"));
        assert!(p("9.99") < p("10"));
        assert!(p("0.00000001") > p("0"));
        assert!(p("61837.63000000") < p("61837.64000000"));
        assert_eq!(p("1.5").raw(), 15 * 10i128.pow(17));
        assert_eq!(
            p("99999999999999999999.999999999999999999").raw(),
            10i128.pow(38) - 1
        );
    }

    #[test]
    fn refuses_what_is_not_a_price() {
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "-1",
            "1e5",
            "1.2.3",
            " 1",
            "0.0000000000000000001",
            "123456789012345678901",
            "NaN",
        ] {
            assert_eq!(
                Price::parse(bad),
                Err(PriceError(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn knows_a_zero_quantity() {
        for zero in ["0", "0.0", "0.00000000", "0.000"] {
            assert!(is_zero(zero), "{zero}");
        }
        for nonzero in ["1", "0.00000001", "10", "0.010"] {
            assert!(!is_zero(nonzero), "{nonzero}");
        }
    }

    proptest! {
        #[test]
        fn keys_order_as_the_numbers_do(a in 0u64..1_000_000_000, b in 0u64..1_000_000_000, da in 0usize..9, db in 0usize..9) {
            // a / 10^da against b / 10^db, compared in integers.
            let text = |v: u64, d: usize| {
                let s = format!("{v:0width$}", width = d + 1);
                if d == 0 { s } else { format!("{}.{}", &s[..s.len() - d], &s[s.len() - d..]) }
            };
            let (ta, tb) = (text(a, da), text(b, db));
            let lhs = u128::from(a) * 10u128.pow(db as u32);
            let rhs = u128::from(b) * 10u128.pow(da as u32);
            prop_assert_eq!(Price::parse(&ta).unwrap().cmp(&Price::parse(&tb).unwrap()), lhs.cmp(&rhs), "{} vs {}", ta, tb);
        }
    }
}
