//! Market symbols as venues write them: validated, upper case, kept in place.

use std::fmt;
use std::str::FromStr;

use crate::short_text::{self, ShortText};
use crate::swar;

/// The longest symbol accepted, in characters.
pub const MAX_SYMBOL_LEN: usize = 20;

/// The longest symbol a venue's own rule may accept ([`Symbol::parse_up_to`]): what a
/// symbol's inline storage holds.
pub const MAX_VENUE_SYMBOL_LEN: usize = crate::short_text::CAPACITY;

/// A market symbol such as `BTCUSDT`: 1 to 20 ASCII letters or digits, stored upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(ShortText);

/// Why a symbol was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid symbol {text:?}: expected {expected}")]
pub struct SymbolError {
    /// The refused text.
    pub text: String,
    /// What the venue's symbols look like.
    pub expected: &'static str,
}

impl SymbolError {
    /// `text` refused by the default rule (ASCII letters and digits).
    pub fn new(text: &str) -> SymbolError {
        SymbolError {
            text: text.to_owned(),
            expected: "1 to 20 ASCII letters or digits, like BTCUSDT",
        }
    }
}

impl Symbol {
    /// Validates `text` and stores it upper case (`btcusdt` becomes `BTCUSDT`).
    pub fn parse(text: &str) -> Result<Symbol, SymbolError> {
        if text.is_empty() || text.len() > MAX_SYMBOL_LEN {
            return Err(SymbolError::new(text));
        }
        // Every market message names its symbol, already upper case: check for that first.
        let stored = if text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            ShortText::new(text.as_bytes())
        } else if text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            let mut upper = [0; MAX_SYMBOL_LEN];
            upper[..text.len()].copy_from_slice(text.as_bytes());
            upper.make_ascii_uppercase();
            ShortText::new(&upper[..text.len()])
        } else {
            None
        };
        stored.map(Symbol).ok_or_else(|| SymbolError::new(text))
    }

    /// Validates `text` by a venue's rule: 1 to [`MAX_SYMBOL_LEN`] bytes of characters
    /// `allowed` accepts, ASCII letters stored upper case; `expected` describes the rule
    /// in the error. Whatever the rule, characters that
    /// output formats would have to escape (quotes, backslashes, commas, whitespace and
    /// control characters) are refused, so encoders copy symbols verbatim.
    pub fn parse_with(
        text: &str,
        expected: &'static str,
        allowed: impl Fn(char) -> bool,
    ) -> Result<Symbol, SymbolError> {
        Symbol::parse_up_to(MAX_SYMBOL_LEN, text, expected, allowed)
    }

    /// As [`Symbol::parse_with`], for a venue whose symbols may be up to `max_len` bytes
    /// (at most [`MAX_VENUE_SYMBOL_LEN`]), such as OKX option ids
    /// (`BTC-USD-220624-50000-C`, 22 bytes).
    pub fn parse_up_to(
        max_len: usize,
        text: &str,
        expected: &'static str,
        allowed: impl Fn(char) -> bool,
    ) -> Result<Symbol, SymbolError> {
        let refused = || SymbolError {
            text: text.to_owned(),
            expected,
        };
        if text.is_empty()
            || text.len() > max_len.min(MAX_VENUE_SYMBOL_LEN)
            || text.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | ',') || !allowed(c)
            })
        {
            return Err(refused());
        }
        let mut upper = [0; MAX_VENUE_SYMBOL_LEN];
        upper[..text.len()].copy_from_slice(text.as_bytes());
        upper.make_ascii_uppercase();
        ShortText::new(&upper[..text.len()])
            .map(Symbol)
            .ok_or_else(refused)
    }

    /// Reads the symbol at the start of `bytes` as venues write it, upper-case letters and
    /// digits, up to the first other byte (such as a closing quote): the decoder's scanner
    /// keeps a symbol while it looks for its end. The symbol and its length; `None` when
    /// there is none or it is longer than [`MAX_SYMBOL_LEN`].
    #[inline]
    pub fn read_prefix(bytes: &[u8]) -> Option<(Symbol, usize)> {
        // Eight bytes a step, as words (see `swar`), while 24 are left to read.
        let Some(head) = bytes.first_chunk::<{ short_text::CAPACITY }>() else {
            return Symbol::read_prefix_near_end(bytes);
        };
        let mut words = [0u64; short_text::CAPACITY / 8];
        let mut len = 0;
        for (i, word) in words.iter_mut().enumerate() {
            let w = u64::from_le_bytes(head[8 * i..8 * i + 8].try_into().expect("8"));
            let symbol = swar::in_range(w, b'A', b'[') | swar::in_range(w, b'0', b':');
            let (keep, n) = swar::before_first(!symbol & swar::HIGH);
            *word = w & keep;
            len += n;
            if n < 8 {
                break;
            }
        }
        if len == 0 || len > MAX_SYMBOL_LEN {
            return None;
        }
        Some((Symbol(ShortText::from_words(words)), len))
    }

    /// [`Symbol::read_prefix`] with fewer than 24 bytes left.
    #[cold]
    pub(super) fn read_prefix_near_end(bytes: &[u8]) -> Option<(Symbol, usize)> {
        let len = bytes
            .iter()
            .take(MAX_SYMBOL_LEN + 1)
            .position(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit()))?;
        if len == 0 {
            return None;
        }
        ShortText::new(&bytes[..len]).map(|text| (Symbol(text), len))
    }

    /// The upper-case text of the symbol.
    pub fn as_str(&self) -> &str {
        self.0.to_str().expect("symbols are UTF-8")
    }

    /// The upper-case text of the symbol, as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Appends the text to `out` (what encoders do, without a variable-length copy).
    #[inline]
    pub fn append_to(&self, out: &mut Vec<u8>) {
        self.0.append_to(out);
    }
}

impl FromStr for Symbol {
    type Err = SymbolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Symbol::parse(s)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
