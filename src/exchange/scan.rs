//! The strict one-pass JSON reader the venues' hot paths share ([`Scan`]), and the field
//! type that lets one wire struct be filled by it or by serde ([`Read`]).
//!
//! This module owns reading JSON text that venues write in their usual way: no whitespace,
//! no escapes, numbers as JSON writes integers, strings of plain text. It reads a message
//! once, keeping prices packed ([`Decimal`]) and symbols ([`Symbol`]) while it looks for
//! their ends, where serde's visitors cost a venue two to three times as much per message
//! (measured in the README, "Performance"). Every method returns `None` at the first byte
//! it does not take, and the venue then hands the message to serde: so this reader only
//! has to be right about what it accepts. Whatever it accepts is JSON that serde reads into
//! the same values; each venue's tests check that on every fixture line and on damaged
//! ones. It knows nothing about any venue's messages (each venue's `scan` reader does).

use serde::Deserialize;

use super::{DecodeError, Level};
use crate::tick::{Decimal, Symbol};

/// How deep [`Scan::skip`] follows nested arrays and objects before it declines.
const MAX_SKIP_DEPTH: u32 = 16;

/// A cursor over JSON text that takes only the strict layout described in the module doc.
pub(crate) struct Scan<'a> {
    rest: &'a str,
}

impl<'a> Scan<'a> {
    pub(crate) fn new(text: &'a str) -> Scan<'a> {
        Scan { rest: text }
    }

    /// Skips `text`, which must come next.
    #[inline]
    pub(crate) fn lit(&mut self, text: &str) -> Option<()> {
        self.rest = self.rest.strip_prefix(text)?;
        Some(())
    }

    /// Skips `byte` if it comes next; whether it did.
    #[inline]
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        match self.rest.as_bytes().first() {
            Some(&b) if b == byte => {
                self.rest = &self.rest[1..];
                true
            }
            _ => false,
        }
    }

    /// A string holding plain decimal text, packed while its end is looked for (the
    /// opening quote is part of the preceding literal); anything else is left to serde.
    #[inline]
    pub(crate) fn decimal(&mut self) -> Option<Num<'a>> {
        self.packed().map(Read::Checked)
    }

    /// [`Scan::decimal`]'s decimal itself.
    #[inline]
    fn packed(&mut self) -> Option<Decimal> {
        let (decimal, len) = Decimal::read_prefix(self.rest.as_bytes())?;
        self.rest = self.rest[len..].strip_prefix('"')?;
        Some(decimal)
    }

    /// A whole string value holding plain decimal text (quotes included).
    #[inline]
    pub(crate) fn quoted_decimal(&mut self) -> Option<Num<'a>> {
        self.lit("\"")?;
        self.decimal()
    }

    /// A string holding a symbol as venues write it (upper-case letters and digits), kept
    /// while its end is looked for (the opening quote is part of the preceding literal).
    #[inline]
    pub(crate) fn symbol(&mut self) -> Option<Sym<'a>> {
        let (symbol, len) = Symbol::read_prefix(self.rest.as_bytes())?;
        self.rest = self.rest[len..].strip_prefix('"')?;
        Some(Read::Checked(symbol))
    }

    /// A whole string value holding a symbol (quotes included): kept when written as
    /// [`Scan::symbol`] takes it, else its plain text, for the venue's own rule to check.
    #[inline]
    pub(crate) fn quoted_symbol(&mut self) -> Option<Sym<'a>> {
        self.lit("\"")?;
        let bytes = self.rest.as_bytes();
        if let Some((symbol, len)) = Symbol::read_prefix(bytes)
            && bytes.get(len) == Some(&b'"')
        {
            self.rest = &self.rest[len + 1..];
            return Some(Read::Checked(symbol));
        }
        self.text().map(Read::Text)
    }

    /// A whole string value holding plain decimal text, as the decimal.
    #[inline]
    pub(crate) fn packed_decimal(&mut self) -> Option<Decimal> {
        self.lit("\"")?;
        self.packed()
    }

    /// An order-book side, `[["price","size"(,more)?],...]`, appended to `levels`; their
    /// range. `more`: whether a level may carry more elements after the two (skipped), as
    /// OKX's `[px, sz, "0", orders]` do; without it a level is exactly a pair.
    pub(crate) fn levels(
        &mut self,
        levels: &mut Vec<Level>,
        more: bool,
    ) -> Option<std::ops::Range<u32>> {
        let start = levels.len() as u32;
        self.array(|s| {
            s.lit("[")?;
            let price = s.packed_decimal()?;
            s.lit(",")?;
            let qty = s.packed_decimal()?;
            if more {
                while s.more(b']')? {
                    s.skip()?;
                }
            } else {
                s.lit("]")?;
            }
            levels.push(Level { price, qty });
            Some(())
        })?;
        Some(start..levels.len() as u32)
    }

    /// The text of a string up to its closing quote (the opening quote is part of the
    /// preceding literal): plain text only, no escapes or control characters.
    #[inline]
    pub(crate) fn text(&mut self) -> Option<&'a str> {
        let end = self
            .rest
            .bytes()
            .position(|b| ENDS_PLAIN_TEXT[usize::from(b)])?;
        let (text, rest) = self.rest.split_at(end);
        self.rest = rest.strip_prefix('"')?;
        Some(text)
    }

    /// A whole string value of plain text (quotes included), as its text.
    #[inline]
    pub(crate) fn str(&mut self) -> Option<&'a str> {
        self.lit("\"")?;
        self.text()
    }

    /// An object key and its colon: `"name":`.
    #[inline]
    pub(crate) fn key(&mut self) -> Option<&'a str> {
        let key = self.str()?;
        self.lit(":")?;
        Some(key)
    }

    /// A JSON integer that fits `u64`, without sign or leading zeros (as serde requires).
    #[inline]
    pub(crate) fn u64(&mut self) -> Option<u64> {
        let bytes = self.rest.as_bytes();
        let (mut n, mut len) = (0u64, 0);
        for &b in bytes {
            let digit = b.wrapping_sub(b'0');
            if digit >= 10 {
                break;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(digit))?;
            len += 1;
        }
        if len == 0 || (len > 1 && bytes[0] == b'0') {
            return None;
        }
        // A fraction or exponent would make it a float to serde.
        if matches!(bytes.get(len), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.rest = &self.rest[len..];
        Some(n)
    }

    /// A JSON integer that fits `i64` (a `-` and the digits of [`Scan::u64`]).
    #[inline]
    pub(crate) fn i64(&mut self) -> Option<i64> {
        if self.eat(b'-') {
            // serde_json reads `-0` as a float; down to i64::MIN, whose magnitude is one
            // more than i64::MAX.
            let magnitude = self.u64().filter(|&m| m > 0)?;
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(self.u64()?).ok()
        }
    }

    pub(crate) fn bool(&mut self) -> Option<bool> {
        if let Some(rest) = self.rest.strip_prefix("true") {
            self.rest = rest;
            Some(true)
        } else if let Some(rest) = self.rest.strip_prefix("false") {
            self.rest = rest;
            Some(false)
        } else {
            None
        }
    }

    /// After a member or element: `true` past a `,` (another follows), `false` past
    /// `close` (the object or array ended); `None` for anything else.
    #[inline]
    pub(crate) fn more(&mut self, close: u8) -> Option<bool> {
        match self.rest.as_bytes().first() {
            Some(b',') => {
                self.rest = &self.rest[1..];
                Some(true)
            }
            Some(&b) if b == close => {
                self.rest = &self.rest[1..];
                Some(false)
            }
            _ => None,
        }
    }

    /// An object: `member` is called with each key, the cursor at its value, which it
    /// must read (or [`Scan::skip`]).
    #[inline]
    pub(crate) fn object(
        &mut self,
        mut member: impl FnMut(&mut Scan<'a>, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.lit("{")?;
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let key = self.key()?;
            member(self, key)?;
            if !self.more(b'}')? {
                return Some(());
            }
        }
    }

    /// An array: `element` is called with the cursor at each element, which it must read.
    #[inline]
    pub(crate) fn array(
        &mut self,
        mut element: impl FnMut(&mut Scan<'a>) -> Option<()>,
    ) -> Option<()> {
        self.lit("[")?;
        if self.eat(b']') {
            return Some(());
        }
        loop {
            element(self)?;
            if !self.more(b']')? {
                return Some(());
            }
        }
    }

    /// Skips one value of any type that serde would skip (as `IgnoredAny`), nested up to
    /// [`MAX_SKIP_DEPTH`] deep.
    pub(crate) fn skip(&mut self) -> Option<()> {
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: u32) -> Option<()> {
        match *self.rest.as_bytes().first()? {
            b'"' => self.str().map(drop),
            b'{' if depth < MAX_SKIP_DEPTH => self.object(|s, _| s.skip_at(depth + 1)),
            b'[' if depth < MAX_SKIP_DEPTH => self.array(|s| s.skip_at(depth + 1)),
            b't' => self.lit("true"),
            b'f' => self.lit("false"),
            b'n' => self.lit("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// Any JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        let bytes = self.rest.as_bytes();
        let digits = |from: usize| {
            bytes[from.min(bytes.len())..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let mut at = usize::from(bytes.first() == Some(&b'-'));
        let int = digits(at);
        if int == 0 || (int > 1 && bytes[at] == b'0') {
            return None;
        }
        at += int;
        if bytes.get(at) == Some(&b'.') {
            let frac = digits(at + 1);
            if frac == 0 {
                return None;
            }
            at += 1 + frac;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let exp = digits(at);
            if exp == 0 {
                return None;
            }
            at += exp;
        }
        self.rest = &self.rest[at..];
        Some(())
    }

    /// The text ends here.
    #[inline]
    pub(crate) fn end(&self) -> Option<()> {
        self.rest.is_empty().then_some(())
    }
}

/// Fills `slot` with `value` once: a key met twice is refused, as serde's derived structs
/// refuse a duplicate field.
#[inline]
pub(crate) fn once<T>(slot: &mut Option<T>, value: Option<T>) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value?);
    Some(())
}

/// The bytes that end plain JSON string text: the closing quote, or what the fast path
/// leaves to serde (an escape, a control character). One lookup per byte, not three tests.
pub(crate) static ENDS_PLAIN_TEXT: [bool; 256] = {
    let mut ends = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        ends[b] = true;
        b += 1;
    }
    ends[b'"' as usize] = true;
    ends[b'\\' as usize] = true;
    ends
};

/// `text` as a decimal, or the error naming the wire field.
#[inline(always)]
pub(crate) fn decimal(field: &'static str, text: &str) -> Result<Decimal, DecodeError> {
    Decimal::parse(text).map_err(|source| DecodeError::Decimal { field, source })
}

/// A field as read: text from serde, still to be checked, or checked (and kept) by the
/// scanner while it looked for the field's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read<'a, T> {
    Text(&'a str),
    Checked(T),
}

impl<'a, T> Read<'a, T> {
    /// The value: checked already, or checked now by `parse`.
    #[inline(always)]
    pub(crate) fn or_parse<E>(self, parse: impl FnOnce(&'a str) -> Result<T, E>) -> Result<T, E> {
        match self {
            Read::Text(text) => parse(text),
            Read::Checked(value) => Ok(value),
        }
    }
}

impl<'de: 'a, 'a, T> Deserialize<'de> for Read<'a, T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Read<'a, T>, D::Error> {
        <&'a str>::deserialize(d).map(Read::Text)
    }
}

/// A price or quantity as read.
pub(crate) type Num<'a> = Read<'a, Decimal>;
/// A symbol as read.
pub(crate) type Sym<'a> = Read<'a, Symbol>;

/// The decimal of a price or quantity as read; a bad one names its wire `field`.
#[inline(always)]
pub(crate) fn num(field: &'static str, num: Num<'_>) -> Result<Decimal, DecodeError> {
    num.or_parse(|text| decimal(field, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `skip` makes of `text`: whether it took the whole text.
    fn skips(text: &str) -> bool {
        let mut s = Scan::new(text);
        s.skip().is_some() && s.end().is_some()
    }

    #[test]
    fn skip_takes_only_json_serde_skips_too() {
        for good in [
            "0",
            "-0",
            "12",
            "-1.5e+3",
            "1E9",
            "0.25",
            r#""text""#,
            "true",
            "false",
            "null",
            "[]",
            "{}",
            r#"[1,"a",{"b":[null,true]},-2]"#,
            r#"{"a":{"b":{"c":[]}}}"#,
        ] {
            assert!(skips(good), "{good}");
            assert!(
                serde_json::from_str::<serde::de::IgnoredAny>(good).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "tru",
            "nul",
            "[1,]",
            "[,1]",
            "{,}",
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            r#""a\"b""#,
            "\"a\u{1}\"",
            "[1 ]",
            "[1",
            "NaN",
        ] {
            assert!(!skips(bad), "{bad}");
        }
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(!skips(&deep), "declined past the depth limit");
    }

    #[test]
    fn integers_are_read_as_serde_reads_them() {
        let u = |t: &str| Scan::new(t).u64();
        let i = |t: &str| Scan::new(t).i64();
        assert_eq!(u("0,"), Some(0));
        assert_eq!(u("18446744073709551615}"), Some(u64::MAX));
        for bad in ["18446744073709551616", "01", "-1", "1.0", "1e3", "", "x"] {
            assert_eq!(u(bad), None, "{bad}");
        }
        assert_eq!(i("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(i("9223372036854775807"), Some(i64::MAX));
        assert_eq!(i("-855196043"), Some(-855196043));
        for bad in [
            "9223372036854775808",
            "-9223372036854775809",
            "--1",
            "-",
            "-01",
        ] {
            assert_eq!(i(bad), None, "{bad}");
        }
        for text in ["-9223372036854775808", "42", "-1", "-0"] {
            assert_eq!(i(text), serde_json::from_str::<i64>(text).ok(), "{text}");
        }
    }

    #[test]
    fn objects_and_arrays_take_their_layout_only() {
        let mut keys = Vec::new();
        let mut s = Scan::new(r#"{"a":1,"b":[2,3],"c":{}}"#);
        s.object(|s, key| {
            keys.push(key);
            s.skip()
        })
        .unwrap();
        assert_eq!(keys, ["a", "b", "c"]);
        assert!(s.end().is_some());
        for bad in [r#"{"a":1 }"#, r#"{ "a":1}"#, r#"{"a" :1}"#, r#"{"a":1,}"#] {
            assert!(Scan::new(bad).object(|s, _| s.skip()).is_none(), "{bad}");
        }
        let mut once_twice = None;
        assert!(once(&mut once_twice, Some(1)).is_some());
        assert!(
            once(&mut once_twice, Some(2)).is_none(),
            "a duplicate is refused"
        );
    }
}
