//! Pushed order books as the replay server serves them: OKX `books` and Bybit
//! `orderbook.{1,50,200}`, a snapshot and then updates over the socket.
//!
//! Both venues start every subscription with a snapshot of the book as it stands ("Once
//! you have subscribed successfully, you will receive a snapshot", Bybit; OKX's first push
//! after a subscribe is `"action":"snapshot"`, `prevSeqId` -1), which is how a client that
//! lost track (a failed checksum, a `u` or `prevSeqId` that does not follow) gets its book
//! back: it unsubscribes and subscribes again. This module builds that fresh snapshot from
//! the recording: the stream's frames before the session's cursor, from its last snapshot
//! on, applied level by level ([`fresh_snapshot`]), in the venue's shape (OKX with the
//! CRC32 checksum of the book it holds). It also owns the fault that makes a client lose
//! track ([`BookFault`]): one update that goes wrong on the wire while the server's book
//! stays the venue's. It does no I/O; the sessions send what it returns.
//! <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel>
//! <https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook>

use std::collections::BTreeMap;

use serde_json::Value;

use crate::book::{Book, Change, Price, Side, checksum};
use crate::replay::library::Library;

/// One update of a pushed-book stream that goes wrong on the wire, once per connection:
/// on OKX it is sent with the book's best level at a wrong size (so its checksum fails),
/// on Bybit it is not sent at all (so the next `u` jumps). The server's own book takes the
/// update as recorded, so a snapshot it sends afterwards is the venue's true book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookFault {
    /// The library stream: `books:BTC-USDT` (OKX), `orderbook.50.BTCUSDT` (Bybit).
    pub stream: String,
    /// Which update of it, counted from 1 on each connection (snapshots not counted).
    pub update: u64,
}

/// What becomes of one frame of the faulted stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Spoiled {
    /// Sent as recorded.
    Unchanged,
    /// Sent as this text instead.
    Text(String),
    /// Not sent.
    Withheld,
}

/// A session's count of the faulted stream's updates.
#[derive(Debug, Default)]
pub(crate) struct FaultCount {
    updates: u64,
}

impl FaultCount {
    /// What to send for library message `index` (of any stream) under `fault`.
    pub(crate) fn spoil(
        &mut self,
        fault: Option<&BookFault>,
        library: &Library,
        index: usize,
    ) -> Spoiled {
        let Some(fault) = fault else {
            return Spoiled::Unchanged;
        };
        let message = &library.messages()[index];
        let name = &library.streams()[message.stream];
        if *name != fault.stream {
            return Spoiled::Unchanged;
        }
        let Some(venue) = Venue::of(name) else {
            return Spoiled::Unchanged;
        };
        let text = message.raw.as_str();
        if !text.contains(venue.update_marker()) {
            return Spoiled::Unchanged;
        }
        self.updates += 1;
        if self.updates != fault.update {
            return Spoiled::Unchanged;
        }
        match venue {
            Venue::Bybit => Spoiled::Withheld,
            Venue::Okx => {
                let Some(served) = replay(library, message.stream, index + 1) else {
                    return Spoiled::Unchanged;
                };
                match okx_wrong_best(text, &served) {
                    Some(text) => Spoiled::Text(text),
                    None => Spoiled::Withheld,
                }
            }
        }
    }
}

/// The venue of a library stream that is a pushed book, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Venue {
    Okx,
    Bybit,
}

impl Venue {
    fn of(stream: &str) -> Option<Venue> {
        if stream.starts_with("books:") {
            Some(Venue::Okx)
        } else if stream.starts_with("orderbook.") {
            Some(Venue::Bybit)
        } else {
            None
        }
    }

    /// Text only an update frame of the venue carries.
    fn update_marker(self) -> &'static str {
        match self {
            Venue::Okx => r#""action":"update""#,
            Venue::Bybit => r#""type":"delta""#,
        }
    }

    /// Whether `frame` is a snapshot, and its book part (with the levels).
    fn parts(self, frame: &Value) -> (bool, &Value) {
        match self {
            Venue::Okx => (frame["action"] == "snapshot", &frame["data"][0]),
            Venue::Bybit => (frame["type"] == "snapshot", &frame["data"]),
        }
    }

    /// The keys of the bid and ask arrays.
    fn sides(self) -> [(&'static str, Side); 2] {
        match self {
            Venue::Okx => [("bids", Side::Bid), ("asks", Side::Ask)],
            Venue::Bybit => [("b", Side::Bid), ("a", Side::Ask)],
        }
    }
}

/// A stream's book as the frames served so far built it.
struct Served {
    venue: Venue,
    /// Each level as the venue wrote it (OKX: `[px, sz, "0", count]`), by price.
    bids: BTreeMap<Price, Value>,
    asks: BTreeMap<Price, Value>,
    /// The same book, for OKX's checksum.
    book: Book,
    /// The last frame applied: the snapshot's times and ids come from it.
    last: Value,
}

impl Served {
    fn side(&mut self, side: Side) -> &mut BTreeMap<Price, Value> {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    /// Levels best first, as a JSON array.
    fn levels_json(&self, side: Side) -> String {
        let levels: Vec<&Value> = match side {
            Side::Bid => self.bids.values().rev().collect(),
            Side::Ask => self.asks.values().collect(),
        };
        serde_json::to_string(&levels).expect("JSON values serialize")
    }
}

/// The book of library stream `stream` after its frames before message `end`: from the
/// last snapshot on, updates applied. `None` when it is not a pushed book or no snapshot
/// of it came before `end`.
fn replay(library: &Library, stream: usize, end: usize) -> Option<Served> {
    let venue = Venue::of(&library.streams()[stream])?;
    let mut served: Option<Served> = None;
    for message in &library.messages()[..end.min(library.messages().len())] {
        if message.stream != stream {
            continue;
        }
        let Ok(frame) = serde_json::from_str::<Value>(message.raw.as_str()) else {
            continue;
        };
        let (snapshot, data) = venue.parts(&frame);
        if snapshot {
            served = Some(Served {
                venue,
                bids: BTreeMap::new(),
                asks: BTreeMap::new(),
                book: Book::new(),
                last: Value::Null,
            });
        }
        let Some(s) = served.as_mut() else {
            continue;
        };
        for (key, side) in venue.sides() {
            for level in data[key].as_array().into_iter().flatten() {
                let (Some(price), Some(qty)) = (level[0].as_str(), level[1].as_str()) else {
                    continue;
                };
                let Ok(change) = Change::parse(price, qty) else {
                    continue;
                };
                s.book.apply(side, &change);
                if change.removes {
                    s.side(side).remove(&change.key);
                } else {
                    s.side(side).insert(change.key, level.clone());
                }
            }
        }
        s.last = frame;
    }
    served
}

/// The snapshot a venue pushes when library stream `stream` is subscribed with the
/// session's cursor at message `cursor`: the book its frames before the cursor built,
/// with the last frame's times and ids. `None` when the stream is not a pushed book or
/// none of its snapshots came before the cursor (the recording's own comes next).
pub(crate) fn fresh_snapshot(library: &Library, stream: usize, cursor: usize) -> Option<String> {
    let served = replay(library, stream, cursor)?;
    let json = |v: &Value| serde_json::to_string(v).expect("JSON values serialize");
    let last = &served.last;
    Some(match served.venue {
        Venue::Okx => {
            let data = &last["data"][0];
            // Frames from before OKX added sequence ids have none; neither has this one.
            let ids = match data.get("seqId") {
                Some(seq) => format!(r#","prevSeqId":-1,"seqId":{}"#, json(seq)),
                None => String::new(),
            };
            format!(
                r#"{{"arg":{},"action":"snapshot","data":[{{"asks":{},"bids":{},"ts":{},"checksum":{}{ids}}}]}}"#,
                json(&last["arg"]),
                served.levels_json(Side::Ask),
                served.levels_json(Side::Bid),
                json(&data["ts"]),
                checksum::okx(&served.book),
            )
        }
        Venue::Bybit => {
            let data = &last["data"];
            let seq = match data.get("seq") {
                Some(seq) => format!(r#","seq":{}"#, json(seq)),
                None => String::new(),
            };
            let cts = match last.get("cts") {
                Some(cts) => format!(r#","cts":{}"#, json(cts)),
                None => String::new(),
            };
            format!(
                r#"{{"topic":{},"ts":{},"type":"snapshot","data":{{"s":{},"b":{},"a":{},"u":{}{seq}}}{cts}}}"#,
                json(&last["topic"]),
                json(&last["ts"]),
                json(&data["s"]),
                served.levels_json(Side::Bid),
                served.levels_json(Side::Ask),
                json(&data["u"]),
            )
        }
    })
}

/// An OKX update `text` with one more level at the end of a side's array: the best level
/// of `served` (the book after the update) at a wrong size. The client's book then
/// differs from the venue's at the top, so the frame's checksum fails. `None` when the
/// book is empty or the frame has no level arrays.
fn okx_wrong_best(text: &str, served: &Served) -> Option<String> {
    let (key, best) = match served.bids.values().next_back() {
        Some(level) => ("bids", level),
        None => ("asks", served.asks.values().next()?),
    };
    let mut wrong = best.clone();
    let size = wrong.get(1)?.as_str()?.to_owned();
    wrong[1] = Value::String(format!("{size}1"));
    append_to_array(text, key, &serde_json::to_string(&wrong).ok()?)
}

/// `text` with `item` appended to the first array under `"key":`. Level arrays hold only
/// strings of digits and points, so brackets are counted without reading strings.
fn append_to_array(text: &str, key: &str, item: &str) -> Option<String> {
    let open = text.find(&format!(r#""{key}":["#))? + key.len() + 3;
    let mut depth = 0usize;
    // `open` is the array's `[`: count from inside it.
    for (i, b) in text.bytes().enumerate().skip(open + 1) {
        match b {
            b'[' => depth += 1,
            b']' if depth == 0 => {
                let empty = text[open + 1..i].trim().is_empty();
                let comma = if empty { "" } else { "," };
                return Some(format!("{}{comma}{item}{}", &text[..i], &text[i..]));
            }
            b']' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const OKX: [&str; 3] = [
        r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["101","1","0","1"],["102","2","0","1"]],"bids":[["100","3","0","2"],["99","4","0","1"]],"ts":"1","checksum":0,"prevSeqId":-1,"seqId":10}]}"#,
        r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["101","0","0","0"]],"bids":[["100.5","5","0","1"]],"ts":"2","checksum":0,"prevSeqId":10,"seqId":12}]}"#,
        r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"1","px":"100","sz":"1","side":"buy","ts":"3"}]}"#,
    ];

    fn library(lines: &[&str]) -> Library {
        Library::from_lines(lines.iter().copied()).unwrap()
    }

    fn stream_of(library: &Library, name: &str) -> usize {
        library.streams().iter().position(|s| s == name).unwrap()
    }

    #[test]
    fn an_okx_snapshot_is_the_book_so_far_with_its_checksum() {
        let lib = library(&OKX);
        let books = stream_of(&lib, "books:BTC-USDT");
        // Before the recording's own snapshot: nothing to send.
        assert_eq!(fresh_snapshot(&lib, books, 0), None);
        let snapshot = fresh_snapshot(&lib, books, 3).unwrap();
        let mut book = Book::new();
        for (side, p, q) in [
            (Side::Bid, "100.5", "5"),
            (Side::Bid, "100", "3"),
            (Side::Bid, "99", "4"),
            (Side::Ask, "102", "2"),
        ] {
            book.apply(side, &Change::parse(p, q).unwrap());
        }
        assert_eq!(
            snapshot,
            format!(
                r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"snapshot","data":[{{"asks":[["102","2","0","1"]],"bids":[["100.5","5","0","1"],["100","3","0","2"],["99","4","0","1"]],"ts":"2","checksum":{},"prevSeqId":-1,"seqId":12}}]}}"#,
                checksum::okx(&book)
            )
        );
        // foxtrot's OKX decoder reads it as a snapshot of that book.
        let trades = stream_of(&lib, "trades:BTC-USDT");
        assert_eq!(fresh_snapshot(&lib, trades, 3), None);
    }

    #[test]
    fn a_bybit_snapshot_keeps_u_seq_and_cts() {
        let lib = library(&[
            r#"{"topic":"orderbook.50.BTCUSDT","ts":5,"type":"snapshot","data":{"s":"BTCUSDT","b":[["10","1"]],"a":[["11","1"]],"u":7,"seq":70},"cts":4}"#,
            r#"{"topic":"orderbook.50.BTCUSDT","ts":6,"type":"delta","data":{"s":"BTCUSDT","b":[["10","0"],["9.5","2"]],"a":[],"u":8,"seq":80},"cts":5}"#,
        ]);
        let s = stream_of(&lib, "orderbook.50.BTCUSDT");
        assert_eq!(
            fresh_snapshot(&lib, s, 2).unwrap(),
            r#"{"topic":"orderbook.50.BTCUSDT","ts":6,"type":"snapshot","data":{"s":"BTCUSDT","b":[["9.5","2"]],"a":[["11","1"]],"u":8,"seq":80},"cts":5}"#
        );
    }

    #[test]
    fn the_fault_spoils_one_update_per_connection() {
        let lib = library(&[OKX[0], OKX[1], OKX[1], OKX[2]]);
        let fault = BookFault {
            stream: "books:BTC-USDT".into(),
            update: 2,
        };
        let mut count = FaultCount::default();
        let spoiled: Vec<Spoiled> = (0..4).map(|i| count.spoil(Some(&fault), &lib, i)).collect();
        assert_eq!(spoiled[..2], [Spoiled::Unchanged, Spoiled::Unchanged]);
        assert_eq!(spoiled[3], Spoiled::Unchanged);
        // The best bid after the update (100.5 at 5) is sent again at a wrong size, last.
        let Spoiled::Text(text) = &spoiled[2] else {
            panic!("{spoiled:?}");
        };
        assert!(
            text.contains(r#""bids":[["100.5","5","0","1"],["100.5","51","0","1"]]"#),
            "{text}"
        );
        let bybit = library(&[
            r#"{"topic":"orderbook.1.X","ts":5,"type":"snapshot","data":{"s":"X","b":[],"a":[],"u":1}}"#,
            r#"{"topic":"orderbook.1.X","ts":6,"type":"delta","data":{"s":"X","b":[],"a":[],"u":2}}"#,
        ]);
        let fault = BookFault {
            stream: "orderbook.1.X".into(),
            update: 1,
        };
        let mut count = FaultCount::default();
        assert_eq!(count.spoil(Some(&fault), &bybit, 1), Spoiled::Withheld);
        assert_eq!(count.spoil(None, &bybit, 1), Spoiled::Unchanged);
    }

    #[test]
    fn items_are_appended_to_the_named_array() {
        assert_eq!(
            append_to_array(r#"{"a":[["1"]],"b":[]}"#, "b", r#"["2"]"#).unwrap(),
            r#"{"a":[["1"]],"b":[["2"]]}"#
        );
        assert_eq!(
            append_to_array(r#"{"a":[["1"]],"b":[]}"#, "a", r#"["2"]"#).unwrap(),
            r#"{"a":[["1"],["2"]],"b":[]}"#
        );
        assert_eq!(append_to_array("{}", "a", "1"), None);
    }
}
