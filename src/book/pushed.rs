//! Books a venue pushes whole over the WebSocket and then changes: Bybit `orderbook.N`,
//! OKX `books`.
//!
//! This module owns the continuity rules of those books, as pure logic for one instrument:
//! a snapshot replaces the book (Bybit sends a new one at any time, and one with `u` = 1
//! after a restart of its service); Bybit deltas must raise `u` by exactly one; OKX updates
//! must carry `prevSeqId` equal to the previous `seqId` when they carry one, and their
//! CRC32 checksum (see [`super::checksum`]) must match the book after the update (a
//! checksum of 0 is not checked: OKX sends 0 once the field is retired). A break clears the
//! book and reports a gap; the venue re-subscribes, and updates are ignored until the next
//! snapshot. Decoding the frames is the venue's.

use super::{Book, Change, Side, checksum};

/// Which venue's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Continuity {
    /// Bybit: `u` + 1 per delta.
    Bybit,
    /// OKX: `prevSeqId` chains `seqId`; checksum of the best 25 levels.
    Okx,
}

/// One decoded book message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// A whole book (Bybit `snapshot`, OKX `action: snapshot`).
    pub snapshot: bool,
    /// Bybit `u`, OKX `seqId` (0 where the venue sent none).
    pub update_id: u64,
    /// OKX `prevSeqId`, when sent (`-1` on a snapshot is sent as `None`).
    pub prev_update_id: Option<u64>,
    /// OKX `checksum`, when sent.
    pub checksum: Option<i64>,
    /// Bid levels.
    pub bids: &'a [Change],
    /// Ask levels.
    pub asks: &'a [Change],
}

/// What a message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The book was replaced: write a snapshot event.
    Snapshot,
    /// The update was applied on top.
    Applied,
    /// The book broke (`sequence` or `checksum`): write a gap record and re-subscribe.
    Gap(&'static str),
    /// An update while no snapshot is held (after a break, before the new one): dropped.
    Ignored,
}

/// One instrument's pushed book.
#[derive(Clone, Debug)]
pub struct PushedBook {
    rules: Continuity,
    book: Book,
    /// The last message's id, while the book is valid.
    last: Option<u64>,
}

impl PushedBook {
    /// No book until the first snapshot.
    pub fn new(rules: Continuity) -> PushedBook {
        PushedBook {
            rules,
            book: Book::new(),
            last: None,
        }
    }

    /// The book (empty while none is held).
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// The last applied message's id, while a book is held.
    pub fn update_id(&self) -> Option<u64> {
        self.last
    }

    /// Applies one message.
    pub fn apply(&mut self, message: &Message<'_>) -> Outcome {
        if message.snapshot {
            self.book.replace(message.bids, message.asks);
            self.last = Some(message.update_id);
            return match self.checksum_ok(message) {
                true => Outcome::Snapshot,
                false => self.break_with("checksum"),
            };
        }
        let Some(last) = self.last else {
            return Outcome::Ignored;
        };
        let continues = match self.rules {
            Continuity::Bybit => message.update_id == last + 1,
            Continuity::Okx => message.prev_update_id.is_none_or(|prev| prev == last),
        };
        if !continues {
            return self.break_with("sequence");
        }
        for change in message.bids {
            self.book.apply(Side::Bid, change);
        }
        for change in message.asks {
            self.book.apply(Side::Ask, change);
        }
        self.last = Some(message.update_id);
        match self.checksum_ok(message) {
            true => Outcome::Applied,
            false => self.break_with("checksum"),
        }
    }

    fn checksum_ok(&self, message: &Message<'_>) -> bool {
        match (self.rules, message.checksum) {
            (Continuity::Okx, Some(expected)) if expected != 0 => {
                i64::from(checksum::okx(&self.book)) == expected
            }
            _ => true,
        }
    }

    fn break_with(&mut self, reason: &'static str) -> Outcome {
        self.book.clear();
        self.last = None;
        Outcome::Gap(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::testdata;
    use std::collections::HashMap;

    fn changes(levels: &serde_json::Value) -> Vec<Change> {
        levels
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|l| Change::parse(l[0].as_str().unwrap(), l[1].as_str().unwrap()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The OKX capture through the rules, optionally with one quantity of line `tamper`
    /// changed in its text: the outcomes per line.
    fn okx_outcomes(tamper: Option<usize>) -> Vec<Outcome> {
        let mut books: HashMap<String, PushedBook> = HashMap::new();
        let mut outcomes = Vec::new();
        for (i, line) in testdata::lines("okx/books.jsonl").iter().enumerate() {
            let mut frame: serde_json::Value = serde_json::from_str(line).unwrap();
            if tamper == Some(i) {
                let qty = &mut frame["data"][0]["asks"][0][1];
                *qty = format!("{}1", qty.as_str().unwrap()).into();
            }
            let inst = frame["arg"]["instId"].as_str().unwrap().to_owned();
            let data = &frame["data"][0];
            let (bids, asks) = (changes(&data["bids"]), changes(&data["asks"]));
            let message = Message {
                snapshot: frame["action"] == "snapshot",
                update_id: data["seqId"].as_u64().unwrap_or(0),
                prev_update_id: data["prevSeqId"].as_u64(),
                checksum: data["checksum"].as_i64(),
                bids: &bids,
                asks: &asks,
            };
            let book = books
                .entry(inst)
                .or_insert_with(|| PushedBook::new(Continuity::Okx));
            outcomes.push(book.apply(&message));
        }
        outcomes
    }

    #[test]
    fn the_okx_capture_applies_with_every_checksum() {
        let outcomes = okx_outcomes(None);
        assert_eq!(
            outcomes.iter().filter(|o| **o == Outcome::Snapshot).count(),
            3
        );
        assert_eq!(
            outcomes.iter().filter(|o| **o == Outcome::Applied).count(),
            287
        );
    }

    #[test]
    fn a_corrupted_okx_level_is_a_checksum_gap_then_ignored() {
        // Line 10 is an update with asks (the tampered text changes its book).
        let outcomes = okx_outcomes(Some(9));
        assert_eq!(outcomes[9], Outcome::Gap("checksum"));
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == Outcome::Gap("checksum"))
                .count(),
            1
        );
        assert!(
            outcomes.contains(&Outcome::Ignored),
            "that instrument waits for a snapshot"
        );
    }

    #[test]
    fn okx_sequence_ids_chain() {
        let level = [Change::parse("100", "1").unwrap()];
        let msg = |snapshot, update_id, prev| Message {
            snapshot,
            update_id,
            prev_update_id: prev,
            checksum: None,
            bids: &level,
            asks: &[],
        };
        let mut book = PushedBook::new(Continuity::Okx);
        assert_eq!(book.apply(&msg(false, 5, Some(4))), Outcome::Ignored);
        assert_eq!(book.apply(&msg(true, 123456, None)), Outcome::Snapshot);
        assert_eq!(
            book.apply(&msg(false, 123460, Some(123456))),
            Outcome::Applied
        );
        // No change since the last: OKX repeats the id.
        assert_eq!(
            book.apply(&msg(false, 123460, Some(123460))),
            Outcome::Applied
        );
        assert_eq!(
            book.apply(&msg(false, 123470, Some(123465))),
            Outcome::Gap("sequence")
        );
        assert!(book.book().is_empty());
        // A zero checksum (the retired field) is not checked.
        let zero = Message {
            checksum: Some(0),
            ..msg(true, 1, None)
        };
        assert_eq!(book.apply(&zero), Outcome::Snapshot);
    }

    #[test]
    fn bybit_deltas_follow_u_and_snapshots_replace() {
        let lines = testdata::lines("bybit/spot_orderbook_50.jsonl");
        let frames: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let parts = |f: &serde_json::Value| {
            (
                changes(&f["data"]["b"]),
                changes(&f["data"]["a"]),
                f["data"]["u"].as_u64().unwrap(),
                f["type"] == "snapshot",
            )
        };
        let mut book = PushedBook::new(Continuity::Bybit);
        let mut apply = |f: &serde_json::Value, u_shift: u64| {
            let (b, a, u, snapshot) = parts(f);
            book.apply(&Message {
                snapshot,
                update_id: u + u_shift,
                prev_update_id: None,
                checksum: None,
                bids: &b,
                asks: &a,
            })
        };
        assert_eq!(apply(&frames[0], 0), Outcome::Snapshot);
        assert_eq!(
            apply(&frames[1], 1),
            Outcome::Gap("sequence"),
            "u skipped one"
        );
        assert_eq!(apply(&frames[0], 0), Outcome::Snapshot);
        assert_eq!(apply(&frames[1], 0), Outcome::Applied);
        // Lines 3-4 (another day, a cut-down snapshot): the snapshot replaces the book.
        assert_eq!(apply(&frames[2], 0), Outcome::Snapshot);
        assert_eq!(apply(&frames[3], 0), Outcome::Applied);
        assert_eq!(book.update_id(), Some(59438061));
    }
}
