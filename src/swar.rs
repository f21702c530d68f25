//! Bytes tested eight at a time in a word ("SIMD within a register"): the scanners read
//! prices and symbols this way instead of a byte and a branch at a time.
//!
//! Every test leaves its answer in the high bit of each byte and is exact: no byte's
//! arithmetic carries into the next one.

/// One in each byte of a word: multiplied by a byte value, that value in every byte.
pub const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of each byte.
pub const HIGH: u64 = ONES * 0x80;
/// The low seven bits of each byte.
const LOW7: u64 = ONES * 0x7F;

/// The high bit set in each byte that is ASCII and at least `lo` and below `hi`.
#[inline(always)]
pub fn in_range(word: u64, lo: u8, hi: u8) -> u64 {
    debug_assert!(lo <= hi && hi <= 0x80);
    let low7 = word & LOW7;
    let at_least = |c: u8| (low7 + ONES * u64::from(0x80 - c)) & HIGH;
    at_least(lo) & !at_least(hi) & !word & HIGH
}

/// The high bit set in each byte that equals `c`.
#[inline(always)]
pub fn equals(word: u64, c: u8) -> u64 {
    let z = word ^ (ONES * u64::from(c));
    !(((z & LOW7) + LOW7) | z) & HIGH
}

/// Given high bits marking bytes, all ones in the bytes below the first marked one (all
/// of the word when none is marked), and how many bytes that is.
#[inline(always)]
pub fn before_first(marked: u64) -> (u64, usize) {
    let keep = ((marked & marked.wrapping_neg()) >> 7).wrapping_sub(1);
    (keep, marked.trailing_zeros() as usize / 8)
}

/// Up to eight bytes as a little-endian word, zero past the end of `bytes`, read with at
/// most two loads that may overlap (overlapping bytes are the same bytes, so OR-ing them
/// is exact).
#[inline]
pub fn load(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let four = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")));
    match n {
        0 => 0,
        1..=3 => {
            u64::from(bytes[0])
                | u64::from(bytes[n / 2]) << (8 * (n / 2))
                | u64::from(bytes[n - 1]) << (8 * (n - 1))
        }
        4..=7 => four(0) | four(n - 4) << (8 * (n - 4)),
        _ => u64::from_le_bytes(bytes[..8].try_into().expect("8")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn marks(word: u64) -> [bool; 8] {
        std::array::from_fn(|i| word >> (8 * i + 7) & 1 == 1)
    }

    proptest! {
        #[test]
        fn tests_each_byte_as_a_byte_test_would(bytes in any::<[u8; 8]>(), c in any::<u8>()) {
            let word = u64::from_le_bytes(bytes);
            prop_assert_eq!(marks(equals(word, c)), bytes.map(|b| b == c));
            prop_assert_eq!(marks(in_range(word, b'0', b':')), bytes.map(|b| b.is_ascii_digit()));
            prop_assert_eq!(
                marks(in_range(word, b'A', b'[')),
                bytes.map(|b| b.is_ascii_uppercase())
            );
            let (keep, n) = before_first(equals(word, c));
            prop_assert_eq!(n, bytes.iter().position(|&b| b == c).unwrap_or(8));
            prop_assert_eq!(keep.to_le_bytes().map(|b| b == 0xFF), std::array::from_fn(|i| i < n));
            prop_assert_eq!(load(&bytes), word);
            let short = load(&bytes[..n]).to_le_bytes();
            prop_assert_eq!(&short[..n], &bytes[..n]);
            prop_assert!(short[n..].iter().all(|&b| b == 0));
        }
    }
}
