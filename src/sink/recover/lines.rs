//! Whether decoded bytes are lines foxtrot wrote, checked as they stream past in pieces of
//! any size, in constant memory (a line is never held, however long).
//!
//! foxtrot writes UTF-8 lines without control characters (tabs aside): NDJSON and raw
//! captures one JSON object a line, CSV a header that starts with the common columns, then
//! rows. A `.csv` name whose data starts with a JSON object is a raw capture (`--raw` takes
//! any name). Only complete lines are judged: the torn last line a crash leaves is dropped
//! by recovery, whatever it holds.

use crate::tick::COMMON_FIELDS;

const JSON: &str = "a JSON object on one line";
const CSV_HEADER: &str = "foxtrot's CSV header (exchange,symbol,channel,recv_ns,exchange_ns,...)";
const CSV_ROW: &str = "a CSV row of text";

/// The checker: feed it with [`Lines::push`], then ask [`Lines::foreign`].
pub(super) struct Lines {
    /// The name ends in `.csv`.
    csv_name: bool,
    /// The data is CSV (decided by its first byte).
    csv: bool,
    /// foxtrot's CSV header, which the first line of CSV data starts with.
    header: Vec<u8>,
    /// Complete lines seen.
    complete: u64,
    /// The line being read.
    line: Line,
    /// The first complete line foxtrot would not have written (from 1), and what it should
    /// have been. Once set, the rest is not looked at.
    foreign: Option<(u64, &'static str)>,
}

/// What is known of the line being read: enough to judge it once it ends.
#[derive(Default)]
struct Line {
    /// Bytes so far.
    len: u64,
    first: u8,
    last: u8,
    /// It holds a control character or bytes that are not UTF-8.
    bad: bool,
    /// How many of the CSV header's bytes it matches so far (`usize::MAX` once it differs).
    header: usize,
    /// A UTF-8 character cut between two pieces: its first bytes.
    cut: [u8; 4],
    cut_len: usize,
}

impl Lines {
    /// A checker for a file whose name (without `.partial` and compression) ends in `.csv`
    /// or not.
    pub(super) fn new(csv_name: bool) -> Lines {
        Lines {
            csv_name,
            csv: false,
            header: COMMON_FIELDS.join(",").into_bytes(),
            complete: 0,
            line: Line::default(),
            foreign: None,
        }
    }

    /// The next decoded bytes.
    pub(super) fn push(&mut self, bytes: &[u8]) {
        if self.foreign.is_some() {
            return;
        }
        if self.complete == 0
            && self.line.len == 0
            && let Some(&first) = bytes.first()
        {
            self.csv = self.csv_name && first != b'{';
        }
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.feed(&rest[..end]);
            self.end_line();
            if self.foreign.is_some() {
                return;
            }
            rest = &rest[end + 1..];
        }
        self.feed(rest);
    }

    /// The first complete line foxtrot would not have written (numbered from 1), and what
    /// it should have been.
    pub(super) fn foreign(&self) -> Option<(u64, &'static str)> {
        self.foreign
    }

    /// Complete lines pushed (all of them when none is foreign).
    pub(super) fn complete(&self) -> u64 {
        self.complete
    }

    /// A piece of the current line (no newline in it).
    fn feed(&mut self, piece: &[u8]) {
        let Some(&last) = piece.last() else { return };
        let line = &mut self.line;
        if line.len == 0 {
            line.first = piece[0];
        }
        line.len += piece.len() as u64;
        line.last = last;
        if line.bad {
            return;
        }
        if self.csv && self.complete == 0 && line.header < self.header.len() {
            let n = (self.header.len() - line.header).min(piece.len());
            line.header = if piece[..n] == self.header[line.header..line.header + n] {
                line.header + n
            } else {
                usize::MAX
            };
        }
        line.bad = piece.iter().any(|&b| b < 0x20 && b != b'\t') || !line.utf8(piece);
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.complete += 1;
        let plain = line.len > 0 && !line.bad && line.cut_len == 0;
        let (fits, expected) = match (self.csv, self.complete) {
            (false, _) => (line.first == b'{' && line.last == b'}', JSON),
            (true, 1) => (line.header == self.header.len(), CSV_HEADER),
            (true, _) => (true, CSV_ROW),
        };
        if !(plain && fits) {
            self.foreign = Some((self.complete, expected));
        }
    }
}

impl Line {
    /// Whether `piece` continues the line as valid UTF-8 (a character cut at its end is
    /// kept, to be completed by the next piece).
    fn utf8(&mut self, mut piece: &[u8]) -> bool {
        if self.cut_len > 0 {
            let width = match self.cut[0] {
                ..0xe0 => 2,
                0xe0..0xf0 => 3,
                _ => 4,
            };
            let take = (width - self.cut_len).min(piece.len());
            self.cut[self.cut_len..self.cut_len + take].copy_from_slice(&piece[..take]);
            self.cut_len += take;
            piece = &piece[take..];
            if self.cut_len < width {
                return true;
            }
            self.cut_len = 0;
            if std::str::from_utf8(&self.cut[..width]).is_err() {
                return false;
            }
        }
        match std::str::from_utf8(piece) {
            Ok(_) => true,
            Err(e) if e.error_len().is_none() => {
                let tail = &piece[e.valid_up_to()..];
                self.cut[..tail.len()].copy_from_slice(tail);
                self.cut_len = tail.len();
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(data: &[u8], csv_name: bool) -> Option<(u64, &'static str)> {
        let mut lines = Lines::new(csv_name);
        lines.push(data);
        lines.foreign()
    }

    /// Cut anywhere, even inside a character or the CSV header, the answer is the same as
    /// for the bytes in one piece; and cut into single bytes.
    #[test]
    fn pieces_of_any_size_give_the_same_answer() {
        let header = COMMON_FIELDS.join(",");
        type Case = (Vec<u8>, bool, Option<(u64, &'static str)>);
        let cases: Vec<Case> = vec![
            (b"{\"a\":1}\n{\"a\":2}\n{\"a\"".to_vec(), false, None),
            ("{\"a\":\"é€😀\"}\n".into(), false, None),
            (
                b"{\"a\":\"\xc3\"}\n{\"a\":1}\n".to_vec(),
                false,
                Some((1, JSON)),
            ),
            (
                b"{\"a\":1}\n{\"a\":\"\xe2\x82\"}\n".to_vec(),
                false,
                Some((2, JSON)),
            ),
            (
                b"{\"a\":1}\n{\"a\":\"\xe2\x82\n".to_vec(),
                false,
                Some((2, JSON)),
            ),
            (
                b"{\"a\":1}\n{\"a\":\"\xff\"}\n".to_vec(),
                false,
                Some((2, JSON)),
            ),
            // A torn last line is not judged, whatever it holds.
            (b"{\"a\":1}\n\x01\xff\xe2".to_vec(), false, None),
            (b"{\"a\":1}\n\n".to_vec(), false, Some((2, JSON))),
            (b"{\"a\":1}\nplain text\n".to_vec(), false, Some((2, JSON))),
            (b"{\"a\":\x01}\n".to_vec(), false, Some((1, JSON))),
            (b"{\"a\":\"\t\"}\n".to_vec(), false, None),
            (format!("{header},price\n1\n2").into(), true, None),
            (format!("{header}\n").into(), true, None),
            (
                format!("{}\n1\n", &header[..header.len() - 1]).into(),
                true,
                Some((1, CSV_HEADER)),
            ),
            (b"name,price\nx,1\n".to_vec(), true, Some((1, CSV_HEADER))),
            (
                [format!("{header},bid\nx").as_bytes(), b"\xff\n"].concat(),
                true,
                Some((2, CSV_ROW)),
            ),
            (
                format!("{header},bid\nbinance,BTCUSDT\tx,,,,1\n").into(),
                true,
                None,
            ),
            (b"{\"recv_ns\":1}\n".to_vec(), true, None),
            (b"{\"recv_ns\":1}\nx\n".to_vec(), true, Some((2, JSON))),
        ];
        for (data, csv_name, expected) in cases {
            let shown = String::from_utf8_lossy(&data).into_owned();
            assert_eq!(whole(&data, csv_name), expected, "{shown:?}");
            for cut in 0..=data.len() {
                let mut lines = Lines::new(csv_name);
                lines.push(&data[..cut]);
                lines.push(&[]);
                lines.push(&data[cut..]);
                assert_eq!(lines.foreign(), expected, "{shown:?} cut at {cut}");
            }
            let mut lines = Lines::new(csv_name);
            for byte in data.chunks(1) {
                lines.push(byte);
            }
            assert_eq!(lines.foreign(), expected, "{shown:?} byte by byte");
            if expected.is_none() {
                let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
                assert_eq!(lines.complete(), newlines, "{shown:?}");
            }
        }
    }
}
