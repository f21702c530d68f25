//! Whether a payload is one line of JSON that a capture record can hold as it is, unescaped.
//!
//! A venue's frame is JSON full of quotes (a `bookTicker` frame has one every five bytes):
//! stored as a JSON string, every quote is escaped, and escaping cost more than reading the
//! frame off the socket did. Per 140-byte `bookTicker` frame (callgrind): serde_json's
//! escaping about 2,800 instructions, serde_json's own validation (`IgnoredAny`) 2,600, this
//! check about 1,070 (each string scanned sixteen bytes at a time, the rest a byte at a time). A
//! frame this check accepts is copied into the record as a JSON value, byte for byte. It
//! accepts a subset of JSON, so the record line is always valid JSON:
//! - one value (objects and arrays nested at most [`MAX_DEPTH`] deep), with spaces and
//!   tabs only between tokens (none before or after the value: a reader gets the value's
//!   text back without them): a newline or carriage return would end the line;
//! - strings without a backslash or a byte below `0x20`;
//! - numbers, `true`, `false` and `null` as JSON writes them;
//! - UTF-8 (checked only when a string holds a byte past ASCII).
//!
//! Anything else (pretty-printed JSON, escapes, not JSON at all) is stored escaped, as a
//! JSON string. Property tests check that whatever this accepts, serde_json accepts, and
//! that every captured venue message in `tests/data` without an escape is accepted.

/// Deeper nesting is stored escaped (venues nest two or three levels).
pub const MAX_DEPTH: u32 = 64;

/// Whether `bytes` are one line of JSON of the subset described above, with nothing around
/// its value (a reader takes the value's text back, so a space before or after it would
/// be lost), and UTF-8. A frame of ASCII alone (most are) is not checked for UTF-8 again.
pub fn is_one_line(bytes: &[u8]) -> bool {
    let bare =
        !matches!(bytes.first(), Some(b' ' | b'\t')) && !matches!(bytes.last(), Some(b' ' | b'\t'));
    bare && match check(bytes) {
        Some(Ascii::Only) => true,
        Some(Ascii::Not) => std::str::from_utf8(bytes).is_ok(),
        None => false,
    }
}

/// Whether a text had bytes past ASCII (only strings may: anywhere else they are refused).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ascii {
    Only,
    Not,
}

/// A `[`/`{` stack, a bit per level: set for an object.
struct Nesting {
    bits: u64,
    depth: u32,
}

impl Nesting {
    fn push(&mut self, object: bool) -> Option<()> {
        if self.depth == MAX_DEPTH {
            return None;
        }
        self.bits = self.bits << 1 | u64::from(object);
        self.depth += 1;
        Some(())
    }

    fn in_object(&self) -> bool {
        self.bits & 1 == 1
    }

    fn pop(&mut self) {
        self.bits >>= 1;
        self.depth -= 1;
    }
}

fn check(b: &[u8]) -> Option<Ascii> {
    let mut nest = Nesting { bits: 0, depth: 0 };
    let mut ascii = Ascii::Only;
    let mut i = 0;
    'value: loop {
        match *b.get(i)? {
            // Spaces are rare: skipped where a token's first byte is read anyway.
            b' ' | b'\t' => {
                i += 1;
                continue 'value;
            }
            b'{' => {
                nest.push(true)?;
                i = space(b, i + 1);
                if *b.get(i)? == b'}' {
                    nest.pop();
                    i += 1;
                } else {
                    i = key(b, i, &mut ascii)?;
                    continue 'value;
                }
            }
            b'[' => {
                nest.push(false)?;
                i = space(b, i + 1);
                if *b.get(i)? == b']' {
                    nest.pop();
                    i += 1;
                } else {
                    continue 'value;
                }
            }
            b'"' => i = string(b, i, &mut ascii)?,
            b't' => i = literal(b, i, b"true")?,
            b'f' => i = literal(b, i, b"false")?,
            b'n' => i = literal(b, i, b"null")?,
            _ => i = number(b, i)?,
        }
        // After a value: the end, or what its container says next.
        loop {
            if nest.depth == 0 {
                // Nothing may follow (spaces neither: see `is_one_line`).
                return (i == b.len()).then_some(ascii);
            }
            match *b.get(i)? {
                b' ' | b'\t' => {
                    i += 1;
                    continue;
                }
                b',' if nest.in_object() => {
                    i = key(b, space(b, i + 1), &mut ascii)?;
                    continue 'value;
                }
                b',' => {
                    i += 1;
                    continue 'value;
                }
                b'}' if nest.in_object() => nest.pop(),
                b']' if !nest.in_object() => nest.pop(),
                _ => return None,
            }
            i += 1;
        }
    }
}

/// Past spaces and tabs from `i` (most tokens have none before them: one test).
#[inline(always)]
fn space(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// A member's key and its colon at `i`: where its value may start.
#[inline(always)]
fn key(b: &[u8], i: usize, ascii: &mut Ascii) -> Option<usize> {
    if *b.get(i)? != b'"' {
        return None;
    }
    let mut i = string(b, i, ascii)?;
    if *b.get(i)? != b':' {
        i = space(b, i);
        if *b.get(i)? != b':' {
            return None;
        }
    }
    Some(i + 1)
}

/// A string at `i` (its opening quote): the index past its closing quote. A backslash, a
/// byte below `0x20` or the end of the text first refuses it; a byte past ASCII is noted.
#[inline(always)]
fn string(b: &[u8], i: usize, ascii: &mut Ascii) -> Option<usize> {
    let mut i = i + 1;
    loop {
        let k = stop(b, i)?;
        match b[k] {
            b'"' => return Some(k + 1),
            0x80.. => {
                *ascii = Ascii::Not;
                i = k + 1;
            }
            _ => return None,
        }
    }
}

/// The first byte at or past `i` that stops a string's scan ([`STOPS_A_STRING`]), sixteen
/// bytes at a time while sixteen are left (SSE2, which every x86_64 has: 1,500 → 1,070
/// instructions per `bookTicker` frame for the whole check), then one at a time.
#[inline(always)]
fn stop(b: &[u8], mut i: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of every x86_64 target, and each load reads the sixteen
        // bytes from `i`, which are in `b` (`i + 16 <= b.len()`), unaligned.
        #[allow(unsafe_code)]
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            // Compared as signed bytes: those past ASCII are negative, so below 0x20 too.
            let space = _mm_set1_epi8(0x20);
            while i + 16 <= b.len() {
                let x = _mm_loadu_si128(b.as_ptr().add(i).cast());
                let stops = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                    _mm_cmplt_epi8(x, space),
                );
                let mask = _mm_movemask_epi8(stops) as u32;
                if mask != 0 {
                    return Some(i + mask.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
    }
    let rest = b.get(i..)?;
    let k = rest.iter().position(|&c| STOPS_A_STRING[usize::from(c)])?;
    Some(i + k)
}

/// The bytes a string's scan stops at: its end (`"`), what is refused (`\`, below `0x20`)
/// and what is noted (past ASCII).
static STOPS_A_STRING: [bool; 256] = {
    let mut stops = [false; 256];
    let mut c = 0;
    while c < 256 {
        stops[c] = c < 0x20 || c == b'"' as usize || c == b'\\' as usize || c >= 0x80;
        c += 1;
    }
    stops
};

/// `word` at `i`: the index past it.
#[inline]
fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b.get(i..)?.starts_with(word).then_some(i + word.len())
}

/// A number at `i`, as JSON writes it (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`):
/// the index past it.
#[inline]
fn number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |i: usize| -> Option<usize> {
        let n = b
            .get(i..)?
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        (n > 0).then_some(i + n)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match *b.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits(i)?,
        _ => return None,
    };
    if b.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i)?;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde_accepts(text: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    }

    #[test]
    fn venue_frames_are_accepted() {
        for text in [
            r#"{"stream":"btcusdt@bookTicker","data":{"u":46014585452,"s":"BTCUSDT","b":"86094.43000000","B":"0.27625000","a":"86094.46000000","A":"1.23926000"}}"#,
            r#"{"topic":"orderbook.1.BTCUSDT","ts":1,"type":"snapshot","data":{"s":"BTCUSDT","b":[["1.5","2"]],"a":[],"u":1,"seq":-2e3}}"#,
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"px":"1","sz":"0.1","side":"buy","ok":true,"x":null,"y":false}]}"#,
            r#"[ 1 , -0.5 , 1E+2 , "é €" , { } , [ ] ]"#,
            "0",
            "\"\"",
            "{\"a\"\t:\t1}",
        ] {
            assert!(is_one_line(text.as_bytes()), "{text}");
            assert!(serde_accepts(text), "{text}");
        }
    }

    #[test]
    fn every_captured_venue_message_without_an_escape_is_accepted() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let mut seen = 0;
        for venue in std::fs::read_dir(root).unwrap() {
            for file in std::fs::read_dir(venue.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                if path.extension().is_none_or(|e| e != "jsonl") {
                    continue;
                }
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    let want = serde_accepts(line) && !line.contains('\\');
                    assert_eq!(
                        is_one_line(line.as_bytes()),
                        want,
                        "{}: {line}",
                        path.display()
                    );
                    seen += 1;
                }
            }
        }
        assert!(seen > 1000, "{seen} messages");
    }

    #[test]
    fn what_a_record_cannot_hold_unescaped_is_refused() {
        for text in [
            "",
            " ",
            " {}",
            "{} ",
            "\t[]",
            "{\n\"a\":1}",
            "{\"a\":1}\r",
            r#"{"a":"x\"y"}"#,
            "{\"a\":\"tab\tinside\"}",
            "{\"a\":1",
            "{\"a\":1}}",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "[1,]",
            "[1 2]",
            "{1:2}",
            "{\"a\"}",
            "01",
            "1.",
            "-",
            "1e",
            ".5",
            "+1",
            "tru",
            "nul",
            "\"open",
            "\"1234567",
            "[}",
            "{]",
            "1 2",
            "pong",
        ] {
            assert!(!is_one_line(text.as_bytes()), "{text:?}");
        }
        for bytes in [&b"{\"a\":\"\xff\"}"[..], b"[\"\xc3\"]", b"\"\xe2\x82\""] {
            assert!(!is_one_line(bytes), "not UTF-8: {bytes:?}");
        }
        assert!(is_one_line("{\"a\":\"12345678é\"}".as_bytes()));
        let deep = "[".repeat(MAX_DEPTH as usize) + &"]".repeat(MAX_DEPTH as usize);
        assert!(is_one_line(deep.as_bytes()));
        let deeper = format!("[{deep}]");
        assert!(
            !is_one_line(deeper.as_bytes()),
            "past the depth: escaped instead"
        );
    }

    /// Strings are scanned sixteen bytes at a time, then byte by byte: a byte that stops
    /// the scan is seen wherever it is.
    #[test]
    fn a_stop_anywhere_in_a_long_string_is_seen() {
        for len in 1..50 {
            let plain = format!("[\"{}\"]", "x".repeat(len));
            assert!(is_one_line(plain.as_bytes()), "{plain}");
            for at in 0..len {
                for (stop, accepted) in
                    [("\\", false), ("\u{1}", false), ("\"", false), ("é", true)]
                {
                    let mut inner = "x".repeat(len);
                    inner.replace_range(at..at + 1, stop);
                    let text = format!("[\"{inner}\"]");
                    assert_eq!(is_one_line(text.as_bytes()), accepted, "{text:?}");
                    assert_eq!(serde_accepts(&text) && !text.contains('\\'), accepted);
                }
            }
        }
    }

    /// Compact JSON of any shape, from serde_json itself.
    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            "[ -~é€\u{10000}]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(6, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-zA-Z\"]{0,6}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn compact_json_without_escapes_is_accepted(value in json()) {
            let text = serde_json::to_string(&value).unwrap();
            prop_assert_eq!(is_one_line(text.as_bytes()), !text.contains('\\'), "{}", text);
        }

        #[test]
        fn whatever_is_accepted_serde_json_accepts_on_one_line(
            text in "[ \t\n\r{}\\[\\],:\"\\\\0-9.eE+\\-truefalsn a]{0,40}",
        ) {
            if is_one_line(text.as_bytes()) {
                prop_assert!(serde_accepts(&text), "{:?}", text);
                let raw: Box<serde_json::value::RawValue> = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(raw.get(), text.as_str(), "a reader gets every byte back");
                prop_assert!(!text.contains(['\n', '\r']), "{:?}", text);
            }
        }

        #[test]
        fn a_cut_or_spoiled_frame_is_never_accepted_unless_serde_json_accepts_it(
            value in json(),
            cut in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let text = serde_json::to_string(&value).unwrap();
            let at = cut.index(text.len() + 1);
            let mut spoiled = text.as_bytes().to_vec();
            spoiled.insert(at, byte);
            for candidate in [&text.as_bytes()[..at], &spoiled[..]] {
                if is_one_line(candidate) {
                    // Bytes past ASCII are checked too: a cut or spoiled character is refused.
                    let candidate = std::str::from_utf8(candidate);
                    prop_assert!(candidate.is_ok(), "{:?}", candidate);
                    let candidate = candidate.unwrap();
                    prop_assert!(serde_accepts(candidate), "{:?}", candidate);
                    prop_assert!(!candidate.contains(['\n', '\r']));
                }
            }
        }
    }
}
