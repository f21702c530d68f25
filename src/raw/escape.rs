//! JSON string escaping for the raw capture's payloads, eight bytes at a time.
//!
//! A venue's frame is JSON text full of quotes (a `bookTicker` frame has one every five
//! bytes), and the capture stores it as a JSON string: serde_json's escaper, a byte and a
//! table lookup at a time with a copy per run between quotes, took more CPU than reading
//! the frame off the socket did. This one tests a word of eight bytes at once
//! ([`crate::swar`]), stores the whole word and moves on by as many bytes as precede the
//! first one to escape. Its output is byte for byte serde_json's (a property test checks
//! it): `\"`, `\\`, `\b \f \n \r \t` and `\u00XX` (lowercase hex) for the other bytes
//! below `0x20`, everything else as it is.

use crate::swar;

/// Appends `text` as a JSON string (quotes included) to `out`.
pub fn string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let start = out.len();
    // Every byte escaped as two, the quotes, and a word of slack for whole-word stores.
    // A byte escaped as six (`\u00XX`, rare) makes room for itself.
    out.resize(start + 2 * bytes.len() + 2 + 8, 0);
    let mut o = start;
    out[o] = b'"';
    o += 1;
    let mut i = 0;
    while i < bytes.len() {
        let word = if i + 8 <= bytes.len() {
            u64::from_le_bytes(bytes[i..i + 8].try_into().expect("eight bytes"))
        } else {
            swar::load(&bytes[i..])
        };
        let marked = to_escape(word);
        out[o..o + 8].copy_from_slice(&word.to_le_bytes());
        let (_, clean) = swar::before_first(marked);
        let clean = clean.min(bytes.len() - i);
        i += clean;
        o += clean;
        if marked == 0 || i == bytes.len() {
            continue;
        }
        let b = bytes[i];
        i += 1;
        match short_escape(b) {
            Some(c) => {
                out[o] = b'\\';
                out[o + 1] = c;
                o += 2;
            }
            None => {
                // Four more bytes than the two the room counted.
                out.resize(out.len() + 4, 0);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out[o..o + 6].copy_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xF)],
                ]);
                o += 6;
            }
        }
    }
    out[o] = b'"';
    out.truncate(o + 1);
}

/// The high bit set in each byte of `word` that a JSON string must escape: `"`, `\` and
/// those below `0x20`.
#[inline(always)]
fn to_escape(word: u64) -> u64 {
    swar::equals(word, b'"') | swar::equals(word, b'\\') | swar::in_range(word, 0, 0x20)
}

/// The letter of a two-byte escape of `b` (`\"`, `\n`, ...), or `None` for a `\u00XX` one.
fn short_escape(b: u8) -> Option<u8> {
    match b {
        b'"' => Some(b'"'),
        b'\\' => Some(b'\\'),
        0x08 => Some(b'b'),
        0x0C => Some(b'f'),
        b'\n' => Some(b'n'),
        b'\r' => Some(b'r'),
        b'\t' => Some(b't'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde(text: &str) -> Vec<u8> {
        serde_json::to_vec(text).unwrap()
    }

    fn ours(prefix: &[u8], text: &str) -> Vec<u8> {
        let mut out = prefix.to_vec();
        string(text, &mut out);
        out
    }

    #[test]
    fn escapes_as_serde_json_does() {
        for text in [
            "",
            "\"",
            "{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"u\":400900217,\"s\":\"BTCUSDT\",\"b\":\"25.35190000\"}}",
            "line\none \"quoted\" \u{e9}\\ tab\t\u{1} bell\u{7}\u{1f}\u{7f}",
            "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
            "12345678\"",
            "1234567\"",
            "€€€€€€\n",
        ] {
            assert_eq!(ours(b"", text), serde(text), "{text:?}");
            assert_eq!(ours(b"x:", text), [b"x:".as_slice(), &serde(text)].concat());
        }
    }

    proptest! {
        #[test]
        fn any_text_escapes_as_serde_json_does(
            text in "[\\x00-\\x7f\"\\\\é€\u{10000}]{0,70}",
            prefix in proptest::collection::vec(any::<u8>(), 0..9),
        ) {
            let mut want = prefix.clone();
            want.extend_from_slice(&serde(&text));
            prop_assert_eq!(ours(&prefix, &text), want);
        }
    }
}
