//! Short ASCII text kept in place: the storage of symbols.
//!
//! Every tick carries a symbol copied out of the frame. A general small-string type copies with a variable-length `memcpy` (byte
//! stores) and is then moved as whole words, which the CPU cannot forward from those byte
//! stores: each copy stalls. [`ShortText`] reads its source with whole-word loads (two that
//! overlap, for lengths that are not a multiple of eight) and stores whole words.

use std::fmt;

/// The most bytes a [`ShortText`] holds.
pub const CAPACITY: usize = 24;

/// Up to [`CAPACITY`] bytes of text without NUL bytes, zero-padded, so the length needs
/// no byte of its own and equal texts are equal arrays (derived `Eq`, `Hash` and `Ord` are
/// those of the text: padding sorts a prefix first, as `str` does).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShortText([u8; CAPACITY]);

impl ShortText {
    /// Copies `text`; `None` when it is longer than [`CAPACITY`]. The caller has checked
    /// that it holds no NUL byte (symbols are letters and digits).
    #[inline]
    pub fn new(text: &[u8]) -> Option<ShortText> {
        debug_assert!(!text.contains(&0), "NUL in short text");
        let words = match text.len() {
            0..=8 => [crate::swar::load(text), 0, 0],
            9..=16 => [word(&text[..8]), crate::swar::load(&text[8..]), 0],
            17..=CAPACITY => [
                word(&text[..8]),
                word(&text[8..16]),
                crate::swar::load(&text[16..]),
            ],
            _ => return None,
        };
        Some(ShortText::from_words(words))
    }

    /// Text already read as little-endian words, zero after its end; the caller has
    /// checked that it holds no NUL byte.
    #[inline]
    pub fn from_words(words: [u64; CAPACITY / 8]) -> ShortText {
        let mut bytes = [0; CAPACITY];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        ShortText(bytes)
    }

    /// The length of the text: where the zero padding starts.
    #[inline]
    pub fn len(&self) -> usize {
        for i in (0..CAPACITY / 8).rev() {
            let w = word(&self.0[i * 8..i * 8 + 8]);
            if w != 0 {
                // Little-endian: the last text byte is the highest non-zero byte.
                return i * 8 + 8 - w.leading_zeros() as usize / 8;
            }
        }
        0
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0[0] == 0
    }

    /// The text's bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..self.len()]
    }

    /// Appends the text to `out` with one fixed-size copy of the whole array (which the
    /// compiler inlines), then drops the padding it copied.
    #[inline]
    pub fn append_to(&self, out: &mut Vec<u8>) {
        let len = self.len();
        out.extend_from_slice(&self.0);
        out.truncate(out.len() - (CAPACITY - len));
    }

    /// The text; `None` if it is not UTF-8 (never, for what the callers store).
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(self.as_bytes()), f)
    }
}

/// Eight bytes as a little-endian word.
#[inline]
fn word(eight: &[u8]) -> u64 {
    u64::from_le_bytes(eight.try_into().expect("eight bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_length_exactly() {
        let source = b"123456789.123456789-12345XYZ";
        for len in 0..=CAPACITY {
            let text = ShortText::new(&source[..len]).unwrap();
            assert_eq!(text.as_bytes(), &source[..len], "length {len}");
            assert_eq!(text.len(), len);
            assert_eq!(text.is_empty(), len == 0);
            let mut out = b"x".to_vec();
            text.append_to(&mut out);
            assert_eq!(out[1..], source[..len]);
        }
        assert_eq!(ShortText::new(&source[..CAPACITY + 1]), None);
    }

    #[test]
    fn orders_and_compares_as_the_text() {
        let mut words = ["BTCUSDT", "BTC", "ETHBTC", "A", "BTCUSD", "0.5", "0.50"];
        let mut texts: Vec<ShortText> = words
            .iter()
            .map(|w| ShortText::new(w.as_bytes()).unwrap())
            .collect();
        words.sort();
        texts.sort();
        let back: Vec<&str> = texts.iter().map(|t| t.to_str().unwrap()).collect();
        assert_eq!(back, words);
        assert_ne!(texts[0], texts[1]);
    }
}
