//! The sync on the real Binance captures and on hand-made id sequences.

use std::collections::BTreeMap;

use super::*;
use crate::book::testdata;
use crate::book::{Price, binance};
use crate::exchange::binance_depth;

/// What the callback saw, in order.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Snapshot(u64),
    Applied(u64, u64),
    Gap(GapReason),
}

/// A sync that records what it emits, and the book after each emission.
struct Harness {
    sync: DepthSync,
    seen: Vec<Seen>,
    books: Vec<Book>,
}

impl Harness {
    fn new(rules: Rules) -> Harness {
        Harness::with_limits(rules, Limits::default())
    }

    fn with_limits(rules: Rules, limits: Limits) -> Harness {
        Harness {
            sync: DepthSync::new(rules, limits),
            seen: Vec::new(),
            books: Vec::new(),
        }
    }

    fn event(&mut self, event: DepthEvent) {
        let (seen, books) = (&mut self.seen, &mut self.books);
        self.sync.on_event(event, &mut |out, book| {
            seen.push(record(out));
            books.push(book.clone());
        });
    }

    fn snapshot(&mut self, snapshot: Snapshot) {
        let (seen, books) = (&mut self.seen, &mut self.books);
        assert!(self.sync.wants_snapshot());
        self.sync.snapshot_started();
        assert!(
            !self.sync.wants_snapshot(),
            "one snapshot in flight at most"
        );
        self.sync.on_snapshot(snapshot, &mut |out, book| {
            seen.push(record(out));
            books.push(book.clone());
        });
    }
}

fn record(out: Output<'_>) -> Seen {
    match out {
        Output::Snapshot(s) => Seen::Snapshot(s.last_update_id),
        Output::Applied(e) => Seen::Applied(e.first_id, e.last_id),
        Output::Gap(reason) => Seen::Gap(reason),
    }
}

fn fixture_events(file: &str) -> Vec<DepthEvent> {
    testdata::lines(&format!("binance/{file}"))
        .iter()
        .enumerate()
        .map(|(i, line)| {
            binance_depth::depth_event(line, i as u64 * 100_000_000)
                .unwrap()
                .1
        })
        .collect()
}

fn fixture_snapshot(file: &str) -> Snapshot {
    binance::snapshot(&testdata::lines(&format!("binance/{file}"))[0], 0).unwrap()
}

/// The book as applying the diffs by hand gives it: a map from the price's text, read as a
/// number, to the texts, straight from the JSON (independent of `Book`).
#[derive(Default)]
struct ByHand {
    bids: BTreeMap<Price, (String, String)>,
    asks: BTreeMap<Price, (String, String)>,
}

impl ByHand {
    fn apply(&mut self, bids: &[Change], asks: &[Change]) {
        for (side, changes) in [(&mut self.bids, bids), (&mut self.asks, asks)] {
            for c in changes {
                let qty = c.level.qty.to_string();
                if qty.bytes().all(|b| b == b'0' || b == b'.') {
                    side.remove(&c.key);
                } else {
                    side.insert(c.key, (c.level.price.to_string(), qty));
                }
            }
        }
    }

    fn matches(&self, book: &Book) -> bool {
        let texts = |it: &mut dyn Iterator<Item = &crate::book::Level>| -> Vec<(String, String)> {
            it.map(|l| (l.price.to_string(), l.qty.to_string()))
                .collect()
        };
        texts(&mut book.bids()) == self.bids.values().rev().cloned().collect::<Vec<_>>()
            && texts(&mut book.asks()) == self.asks.values().cloned().collect::<Vec<_>>()
    }
}

fn best(book: &Book) -> (String, String, String, String, usize, usize) {
    let (b, a) = (book.bids().next().unwrap(), book.asks().next().unwrap());
    (
        b.price.to_string(),
        b.qty.to_string(),
        a.price.to_string(),
        a.qty.to_string(),
        book.len(Side::Bid),
        book.len(Side::Ask),
    )
}

fn strings(
    v: (&str, &str, &str, &str, usize, usize),
) -> (String, String, String, String, usize, usize) {
    (v.0.into(), v.1.into(), v.2.into(), v.3.into(), v.4, v.5)
}

/// The spot capture reproduces the documented sync: with the snapshot taken after event 5
/// arrived, events 1-2 (`u` <= 50093239218) are dropped, event 3 (`U` 50093239208 <=
/// 50093239219 <= `u` 50093239224) is the first applied, and after every event the book is
/// what applying the diffs by hand gives.
#[test]
fn spot_fixture_drops_events_1_and_2_and_applies_from_3() {
    let events = fixture_events("depth.jsonl");
    let snapshot = fixture_snapshot("depth_snapshot.jsonl");
    let mut h = Harness::new(Rules::Spot);
    for event in events[..5].iter().cloned() {
        h.event(event);
    }
    assert!(h.seen.is_empty(), "buffered while the snapshot is awaited");
    assert_eq!(h.sync.buffered(), 5);
    h.snapshot(snapshot.clone());
    for event in events[5..].iter().cloned() {
        h.event(event);
    }
    assert_eq!(h.seen[0], Seen::Snapshot(50093239218));
    assert_eq!(h.seen[1], Seen::Applied(50093239208, 50093239224));
    assert_eq!(h.seen.len(), 1 + 38);
    assert_eq!(
        h.sync.counters(),
        Counters {
            snapshots: 1,
            applied: 38,
            dropped: 2,
            ..Counters::default()
        }
    );
    // The numbers: the snapshot's best levels, then event 3 sets the best ask's quantity
    // from 1.54698000 to 1.60520000, removes one bid level and adds two asks.
    assert_eq!(
        best(&h.books[0]),
        strings((
            "61837.63000000",
            "3.78826000",
            "61837.64000000",
            "1.54698000",
            1000,
            1000
        ))
    );
    assert_eq!(
        best(&h.books[1]),
        strings((
            "61837.63000000",
            "3.78826000",
            "61837.64000000",
            "1.60520000",
            999,
            1002
        ))
    );
    assert_eq!(
        best(h.books.last().unwrap()),
        strings((
            "61824.00000000",
            "4.34580000",
            "61824.01000000",
            "0.03557000",
            1007,
            1073
        ))
    );
    let mut by_hand = ByHand::default();
    by_hand.apply(&snapshot.bids, &snapshot.asks);
    assert!(by_hand.matches(&h.books[0]));
    for (event, book) in events[2..].iter().zip(&h.books[1..]) {
        by_hand.apply(&event.bids, &event.asks);
        assert!(by_hand.matches(book), "after event u={}", event.last_id);
    }
    assert_eq!(h.sync.update_id(), Some(events[39].last_id));
}

/// The USD-M capture: events 1-4 have `u` < lastUpdateId 5123107852948 and are dropped;
/// event 5 (`U` 5123107850310 <= lastUpdateId <= `u` 5123107853551) is the first applied;
/// then `pu` chains.
#[test]
fn futures_fixture_drops_events_1_to_4_and_chains_by_pu() {
    let events = fixture_events("futures_usdm_depth.jsonl");
    let snapshot = fixture_snapshot("futures_usdm_depth_snapshot.jsonl");
    let mut h = Harness::new(Rules::UsdmFutures);
    h.event(events[0].clone());
    h.snapshot(snapshot.clone());
    for event in events[1..].iter().cloned() {
        h.event(event);
    }
    assert_eq!(h.seen[0], Seen::Snapshot(5123107852948));
    assert_eq!(h.seen[1], Seen::Applied(5123107850310, 5123107853551));
    assert_eq!(h.sync.counters().dropped, 4);
    assert_eq!(h.sync.counters().applied, 26);
    assert_eq!(
        best(&h.books[1]),
        strings(("61800.20", "2.909", "61800.30", "1.072", 1005, 1003))
    );
    assert_eq!(
        best(h.books.last().unwrap()),
        strings(("61800.00", "14.476", "61800.10", "4.066", 1083, 1059))
    );
    let mut by_hand = ByHand::default();
    by_hand.apply(&snapshot.bids, &snapshot.asks);
    for (event, book) in events[4..].iter().zip(&h.books[1..]) {
        by_hand.apply(&event.bids, &event.asks);
        assert!(by_hand.matches(book), "after event u={}", event.last_id);
    }
}

/// Applying the spot rule to the futures capture fails (its `U` does not follow the
/// previous `u`): the rules are really different, and a break is one gap.
#[test]
fn spot_rules_on_futures_ids_see_a_gap() {
    let events = fixture_events("futures_usdm_depth.jsonl");
    let mut h = Harness::new(Rules::Spot);
    h.event(events[4].clone());
    h.snapshot(fixture_snapshot("futures_usdm_depth_snapshot.jsonl"));
    h.event(events[5].clone());
    assert_eq!(
        h.seen,
        [
            Seen::Snapshot(5123107852948),
            Seen::Applied(5123107850310, 5123107853551),
            Seen::Gap(GapReason::Sequence)
        ]
    );
}

fn ev(first: u64, last: u64, prev: Option<u64>, recv_ns: u64) -> DepthEvent {
    DepthEvent {
        first_id: first,
        last_id: last,
        prev_id: prev,
        exchange_ns: recv_ns,
        recv_ns,
        bids: vec![Change::parse(&format!("{last}"), "1").unwrap()],
        asks: vec![],
    }
}

fn snap(id: u64) -> Snapshot {
    Snapshot {
        last_update_id: id,
        exchange_ns: 0,
        recv_ns: 0,
        bids: vec![Change::parse("1", "5").unwrap()],
        asks: vec![Change::parse("1000000", "5").unwrap()],
    }
}

#[test]
fn a_snapshot_older_than_the_first_buffered_event_is_retried() {
    let mut h = Harness::new(Rules::Spot);
    h.event(ev(101, 110, None, 0));
    h.snapshot(snap(99)); // needs 100 <= U - 1: 99 + 1 < 101, stale
    assert!(h.seen.is_empty());
    assert_eq!(h.sync.counters().stale_snapshots, 1);
    assert!(h.sync.wants_snapshot(), "retried");
    h.snapshot(snap(100)); // 100 + 1 == U: usable
    assert_eq!(h.seen, [Seen::Snapshot(100), Seen::Applied(101, 110)]);

    let mut f = Harness::new(Rules::UsdmFutures);
    f.event(ev(101, 110, Some(90), 0));
    f.snapshot(snap(100)); // futures need lastUpdateId >= U
    assert_eq!(f.sync.counters().stale_snapshots, 1);
    f.snapshot(snap(101));
    assert_eq!(f.seen, [Seen::Snapshot(101), Seen::Applied(101, 110)]);
}

#[test]
fn a_gap_reports_once_and_resyncs_from_a_new_snapshot() {
    let mut h = Harness::new(Rules::Spot);
    assert!(!h.sync.wants_snapshot(), "not before an event is buffered");
    h.event(ev(95, 100, None, 0)); // contained in the snapshot: dropped
    h.snapshot(snap(100));
    h.event(ev(101, 105, None, 1));
    h.event(ev(106, 107, None, 2));
    h.event(ev(109, 110, None, 3)); // 108 is missing
    assert!(!h.sync.is_synced());
    assert!(h.sync.book().is_empty());
    h.event(ev(111, 112, None, 4)); // buffered, no second gap
    assert!(h.sync.wants_snapshot());
    h.snapshot(snap(110));
    h.event(ev(113, 113, None, 5));
    assert_eq!(
        h.seen,
        [
            Seen::Snapshot(100),
            Seen::Applied(101, 105),
            Seen::Applied(106, 107),
            Seen::Gap(GapReason::Sequence),
            Seen::Snapshot(110),
            Seen::Applied(111, 112),
            Seen::Applied(113, 113),
        ]
    );
    let c = h.sync.counters();
    assert_eq!((c.gaps, c.snapshots, c.dropped), (1, 2, 2));
}

#[test]
fn futures_break_on_pu_not_on_u() {
    let mut h = Harness::new(Rules::UsdmFutures);
    h.event(ev(90, 105, Some(80), 0));
    h.snapshot(snap(100));
    h.event(ev(230, 240, Some(105), 1)); // ids jump, pu chains: fine
    h.event(ev(241, 250, Some(239), 2)); // pu breaks
    assert_eq!(
        h.seen,
        [
            Seen::Snapshot(100),
            Seen::Applied(90, 105),
            Seen::Applied(230, 240),
            Seen::Gap(GapReason::Sequence),
        ]
    );
}

#[test]
fn a_first_event_past_the_snapshot_is_a_gap() {
    let mut h = Harness::new(Rules::Spot);
    h.event(ev(90, 95, None, 0));
    h.snapshot(snap(100)); // not older than U 90; the event itself is dropped
    h.event(ev(105, 110, None, 1)); // 101..104 never came
    assert_eq!(
        h.seen,
        [Seen::Snapshot(100), Seen::Gap(GapReason::Sequence)]
    );
    assert_eq!(h.sync.counters().dropped, 1);
}

#[test]
fn the_buffer_is_bounded_by_count_and_by_time() {
    let limits = Limits {
        max_events: 3,
        max_wait: Duration::from_secs(1),
    };
    let mut h = Harness::with_limits(Rules::Spot, limits);
    for i in 0..10u64 {
        h.event(ev(i * 10 + 1, i * 10 + 10, None, i));
        assert!(h.sync.buffered() <= 3);
    }
    // Overflows at events 4, 7 and 10; one gap record for the whole outage.
    assert_eq!(h.sync.counters().overflows, 3);
    assert_eq!(h.seen, [Seen::Gap(GapReason::Overflow)]);
    // The late snapshot is older than what is buffered now: retried, then a fresh one syncs.
    h.snapshot(snap(30));
    assert_eq!(h.sync.counters().stale_snapshots, 1);
    h.snapshot(snap(95));
    assert_eq!(
        &h.seen[1..],
        [Seen::Snapshot(95), Seen::Applied(91, 100)].as_slice()
    );

    let mut t = Harness::with_limits(Rules::Spot, limits);
    t.event(ev(1, 1, None, 0));
    t.event(ev(2, 2, None, 1_000_000_000));
    assert_eq!(
        t.sync.counters().overflows,
        0,
        "exactly the limit is allowed"
    );
    t.event(ev(3, 3, None, 1_000_000_001));
    assert_eq!(t.sync.counters().overflows, 1);
    assert_eq!(t.sync.buffered(), 1);
}

#[test]
fn a_failed_fetch_is_wanted_again_and_a_restart_emits_no_gap() {
    let mut h = Harness::new(Rules::Spot);
    h.event(ev(101, 101, None, 0));
    h.sync.snapshot_started();
    assert!(!h.sync.wants_snapshot());
    h.sync.snapshot_failed();
    assert!(h.sync.wants_snapshot());
    h.snapshot(snap(100));
    h.sync.restart();
    assert!(!h.sync.wants_snapshot() && h.sync.book().is_empty());
    // A snapshot that finds nothing buffered cannot be checked: refused.
    h.sync
        .on_snapshot(snap(100), &mut |_, _| panic!("nothing to emit"));
    assert_eq!(h.sync.counters().stale_snapshots, 1);
    h.event(ev(500, 501, None, 1));
    assert_eq!(h.seen, [Seen::Snapshot(100), Seen::Applied(101, 101)]);
    // A duplicate after re-sync is dropped, not a gap.
    h.snapshot(snap(499));
    h.event(ev(500, 501, None, 2));
    assert_eq!(h.sync.counters().gaps, 0);
}
