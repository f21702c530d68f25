//! OKX's order-book checksum (`books`, `books-l2-tbt`, `books50-l2-tbt` channels).
//!
//! As OKX documents it: take the best 25 bids and 25 asks, join them alternately as
//! `bidPx:bidSz:askPx:askSz:...` with the strings exactly as received (where one side is
//! shorter, the other side's remaining levels follow alone), CRC32 the text and read the
//! result as a signed 32-bit integer. This module owns that computation only; deciding
//! what a mismatch does (re-subscribe with a gap record) is the venue's.
//! <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel>

use super::{Book, Level};

/// The levels per side the checksum covers.
pub const OKX_CHECKSUM_LEVELS: usize = 25;

/// OKX's checksum of `book` (CRC32 of the best 25 levels a side, signed).
pub fn okx(book: &Book) -> i32 {
    // The text is built whole and hashed once: CRC32 per small piece costs more than the
    // copy. 100 texts of at most 32 characters and their colons fit in 4 KiB.
    let mut text = Vec::with_capacity(4096);
    let mut put = |level: &Level| {
        if !text.is_empty() {
            text.push(b':');
        }
        level.price.append_to(&mut text);
        text.push(b':');
        level.qty.append_to(&mut text);
    };
    let mut bids = book.bids().take(OKX_CHECKSUM_LEVELS);
    let mut asks = book.asks().take(OKX_CHECKSUM_LEVELS);
    loop {
        let (bid, ask) = (bids.next(), asks.next());
        if bid.is_none() && ask.is_none() {
            break;
        }
        bid.into_iter().chain(ask).for_each(&mut put);
    }
    crc32fast::hash(&text) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::testdata;
    use crate::book::{Change, Side};
    use std::collections::HashMap;

    fn changes(levels: &serde_json::Value) -> Vec<Change> {
        levels
            .as_array()
            .unwrap()
            .iter()
            .map(|l| Change::parse(l[0].as_str().unwrap(), l[1].as_str().unwrap()).unwrap())
            .collect()
    }

    /// Every `books` frame of the real capture: snapshot, then updates applied in order;
    /// the checksum computed from foxtrot's book equals the one OKX sent, all 290 of them.
    /// Returns how many verified, and the books.
    fn replay_okx_books(corrupt_at: Option<usize>) -> (usize, Vec<usize>) {
        let mut books: HashMap<String, Book> = HashMap::new();
        let (mut verified, mut failed) = (0, Vec::new());
        for (i, line) in testdata::lines("okx/books.jsonl").iter().enumerate() {
            let frame: serde_json::Value = serde_json::from_str(line).unwrap();
            let inst = frame["arg"]["instId"].as_str().unwrap().to_owned();
            let data = &frame["data"][0];
            let (bids, asks) = (changes(&data["bids"]), changes(&data["asks"]));
            let book = books.entry(inst).or_default();
            match frame["action"].as_str().unwrap() {
                "snapshot" => book.replace(&bids, &asks),
                "update" => {
                    bids.iter().for_each(|c| book.apply(Side::Bid, c));
                    asks.iter().for_each(|c| book.apply(Side::Ask, c));
                }
                other => panic!("line {}: action {other}", i + 1),
            }
            if corrupt_at == Some(i) {
                let best = *book.bids().next().unwrap();
                let qty = format!("{}1", best.qty);
                book.apply(
                    Side::Bid,
                    &Change::parse(&best.price.to_string(), &qty).unwrap(),
                );
            }
            let expected = data["checksum"].as_i64().unwrap();
            if i64::from(okx(book)) == expected {
                verified += 1;
            } else {
                failed.push(i + 1);
            }
        }
        (verified, failed)
    }

    #[test]
    fn all_290_okx_checksums_verify() {
        assert_eq!(replay_okx_books(None), (290, vec![]));
    }

    #[test]
    fn a_corrupted_level_fails_the_checksum_until_the_next_snapshot() {
        // Line 10 belongs to one of the three instruments; corrupting its best bid's
        // quantity fails that line and every later update of the same instrument whose
        // best 25 bids still hold it.
        let (verified, failed) = replay_okx_books(Some(9));
        assert_eq!(failed.first(), Some(&10));
        assert_eq!(verified + failed.len(), 290);
    }

    #[test]
    fn one_sided_and_empty_books() {
        let mut book = Book::new();
        // CRC32 of the empty string is 0.
        assert_eq!(okx(&book), 0);
        book.apply(Side::Ask, &Change::parse("10", "1").unwrap());
        book.apply(Side::Ask, &Change::parse("11", "2").unwrap());
        book.apply(Side::Bid, &Change::parse("9", "3").unwrap());
        assert_eq!(okx(&book), crc32fast::hash(b"9:3:10:1:11:2") as i32);
    }
}
