//! The live view on hand-made ticks: frames, sorting, colour, decimal alignment, ages and
//! how a small terminal cuts columns and rows.

use super::*;
use crate::tick::{AggTrade, BookTicker, Decimal, Ticker, Trade};

const NOW: u64 = 1_723_161_260_000_000_000;
const CLEAR_LINE_STR: &str = "\x1b[2K";

fn d(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

fn tick(symbol: &str, age_ms: u64, data: TickData) -> Tick {
    Tick {
        exchange: crate::exchange::Venue::Binance,
        exchange_ns: 0,
        symbol: Symbol::parse(symbol).unwrap(),
        recv_ns: NOW - age_ms * 1_000_000,
        data,
    }
}

fn book(symbol: &str, bid: &str, ask: &str) -> Tick {
    let data = TickData::BookTicker(BookTicker {
        update_id: 50_093_239_212,
        bid: d(bid),
        bid_qty: d("3.78826000"),
        ask: d(ask),
        ask_qty: d("1.54698000"),
    });
    tick(symbol, 300, data)
}

fn trade(symbol: &str, price: &str, buyer_is_maker: bool) -> Tick {
    let data = TickData::Trade(Trade {
        event_time: 1_617_566_591_315,
        trade_time: 1_617_566_591_314,
        trade_id: crate::tick::TradeId::int(745_522_877),
        price: d(price),
        qty: d("0.08620500"),
        buyer_is_maker,
    });
    tick(symbol, 42_000, data)
}

fn agg_trade(symbol: &str, price: &str) -> Tick {
    let data = TickData::AggTrade(AggTrade {
        event_time: 1_617_566_591_349,
        trade_time: 1_617_566_591_348,
        agg_id: 665_076_761,
        first_trade_id: 745_522_878,
        last_trade_id: 745_522_878,
        price: d(price),
        qty: d("0.02627600"),
        buyer_is_maker: false,
    });
    tick(symbol, 0, data)
}

fn ticker(symbol: &str, last: &str) -> Tick {
    let data = TickData::Ticker(Box::new(Ticker {
        event_time: 1_672_515_782_136,
        last: d(last),
        last_qty: d("10"),
        bid: d("0.0024"),
        bid_qty: d("10"),
        ask: d("0.0026"),
        ask_qty: d("100"),
        open: d("0.0010"),
        high: d("0.0025"),
        low: d("0.0010"),
        volume: d("10000"),
        quote_volume: d("18"),
        change: d("-0.0094"),
        change_pct: d("-95.960"),
    }));
    tick(symbol, 5_000, data)
}

fn frame(table: &mut Table) -> String {
    let mut out = Vec::new();
    table.render(NOW, &mut out);
    String::from_utf8(out).unwrap()
}

/// The frame as it looks on screen: escape sequences and `\r` removed.
fn visible(frame: &str) -> Vec<String> {
    let mut text = String::new();
    let mut chars = frame.chars();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                chars.next(); // '['
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            '\r' => {}
            c => text.push(c),
        }
    }
    text.lines().map(str::to_owned).collect()
}

/// Whether `frame` holds an SGR (colour or weight) sequence: `ESC [ digits;... m`.
fn has_sgr(frame: &str) -> bool {
    frame.split("\x1b[").skip(1).any(|rest| {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'));
        end.is_some_and(|end| rest[end..].starts_with('m'))
    })
}

fn filled() -> Table {
    let mut table = Table::new(false);
    table.update(&trade("ETHUSDT", "2043.1", true));
    table.update(&book("BTCUSDT", "61837.63000000", "61837.64000000"));
    table.update(&ticker("BNBUSDT", "0.0025"));
    table.update(&agg_trade("BTCUSDT", "58001.04000000"));
    table.update(&trade("BTCUSDT", "61837.64000000", false));
    table
}

#[test]
fn second_frame_moves_up_over_the_first() {
    let mut table = filled();
    let first = frame(&mut table);
    assert!(
        first.starts_with(CLEAR_LINE_STR),
        "the first frame must not move up: {first:?}"
    );
    let lines = first.matches('\n').count();
    assert_eq!(lines, 1 + 5);
    let second = frame(&mut table);
    assert!(
        second.starts_with(&format!("\x1b[{lines}A\r")),
        "{second:?}"
    );
    assert_eq!(second.matches('\n').count(), lines);
    // Every line is cleared before it is drawn, so nothing of the old frame shows.
    assert_eq!(second.matches(CLEAR_LINE_STR).count(), lines);

    table.update(&book("ADAUSDT", "0.3", "0.4"));
    let third = frame(&mut table);
    assert!(third.starts_with(&format!("\x1b[{lines}A\r")), "{third:?}");
    assert_eq!(third.matches('\n').count(), lines + 1);
}

#[test]
fn rows_are_sorted_by_symbol_then_channel() {
    let mut table = filled();
    let lines = visible(&frame(&mut table));
    let keys: Vec<(&str, &str)> = lines[1..]
        .iter()
        .map(|l| {
            let mut words = l.split_whitespace();
            (words.next().unwrap(), words.next().unwrap())
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("BNBUSDT", "ticker"),
            ("BTCUSDT", "bookTicker"),
            ("BTCUSDT", "trade"),
            ("BTCUSDT", "aggTrade"),
            ("ETHUSDT", "trade"),
        ]
    );
    let header: Vec<&str> = lines[0]
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "SYMBOL", "CHANNEL", "PRICE", "QTY", "SIDE", "BID", "BID QTY", "ASK", "ASK QTY",
            "CHG%", "VOLUME", "AGE"
        ]
    );
}

#[test]
fn no_colour_codes_without_colour() {
    let mut table = filled();
    table.update(&book("BTCUSDT", "61837.64000000", "61837.60000000"));
    let text = frame(&mut table);
    assert!(!has_sgr(&text), "{text:?}");
    assert!(text.contains(CLEAR_LINE_STR));
}

#[test]
fn colour_marks_price_moves_and_bold_header() {
    let mut table = Table::new(true);
    table.update(&book("BTCUSDT", "61837.63000000", "61837.64000000"));
    let first = frame(&mut table);
    assert!(first.contains("\x1b[1mSYMBOL"), "{first:?}");
    assert!(!first.contains("\x1b[32m") && !first.contains("\x1b[31m"));

    table.update(&book("BTCUSDT", "61837.64000000", "61837.6"));
    let moved = frame(&mut table);
    assert!(moved.contains("\x1b[32m61837.64000000\x1b[0m"), "{moved:?}");
    assert!(moved.contains("\x1b[31m61837.6\x1b[0m"), "{moved:?}");

    // Equal values in other spellings are not moves.
    table.update(&book("BTCUSDT", "61837.640", "61837.60000000"));
    let still = frame(&mut table);
    assert!(
        !still.contains("\x1b[32m") && !still.contains("\x1b[31m"),
        "{still:?}"
    );
}

#[test]
fn decimals_are_verbatim_with_points_aligned() {
    let mut table = Table::new(false);
    table.update(&trade("ETHUSDT", "2043.1", true));
    table.update(&trade("BTCUSDT", "61837.64000000", false));
    table.update(&trade("PEPEUSDT", "7", false));
    let lines = visible(&frame(&mut table));
    let eth = lines.iter().find(|l| l.starts_with("ETHUSDT")).unwrap();
    let btc = lines.iter().find(|l| l.starts_with("BTCUSDT")).unwrap();
    let pepe = lines.iter().find(|l| l.starts_with("PEPEUSDT")).unwrap();
    let point =
        |line: &str, text: &str| line.find(text).unwrap() + text.find('.').unwrap_or(text.len());
    assert_eq!(point(eth, "2043.1 "), point(btc, "61837.64000000"));
    assert_eq!(point(pepe, " 7 "), point(btc, "61837.64000000") + 1);
    assert!(eth.contains(" sell ") && btc.contains(" buy "));
    assert!(btc.contains("0.08620500"));
}

#[test]
fn age_counts_from_receive_time() {
    let mut table = filled();
    let lines = visible(&frame(&mut table));
    let age = |prefix: &str| {
        let line = lines.iter().find(|l| l.starts_with(prefix)).unwrap();
        line.split_whitespace().last().unwrap().to_owned()
    };
    assert_eq!(age("BTCUSDT  bookTicker"), "0.3s");
    assert_eq!(age("ETHUSDT"), "42s");
    assert_eq!(age("BNBUSDT"), "5.0s");
    let mut buf = [0; 24];
    assert_eq!(age_text(0, &mut buf), "0.0s");
    assert_eq!(age_text(9_990_000_000, &mut buf), "9.9s");
    assert_eq!(age_text(61_000_000_000, &mut buf), "1m");
    assert_eq!(age_text(7_200_000_000_000, &mut buf), "2h");
    assert_eq!(age_text(u64::MAX, &mut buf), "213503d");
}

#[test]
fn size_cuts_whole_columns_and_rows() {
    let mut table = filled();
    table.set_size(60, 4);
    let text = frame(&mut table);
    let lines = visible(&text);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().all(|l| l.len() <= 60), "{lines:?}");
    assert_eq!(lines[2], "… 4 more");
    assert!(lines[1].starts_with("BNBUSDT"));
    // Cells are left out whole: every value shown is a complete value.
    assert!(
        lines[1]
            .split_whitespace()
            .all(|w| ["BNBUSDT", "ticker", "0.0025", "0.0024", "0.0026"].contains(&w))
    );
    let again = frame(&mut table);
    assert!(again.starts_with("\x1b[3A\r"));
}

#[test]
fn narrow_terminals_drop_the_least_important_columns_first() {
    let header = |table: &mut Table| {
        let lines = visible(&frame(table));
        let width = table.width.unwrap();
        assert!(
            lines.iter().all(|l| l.chars().count() <= width),
            "{lines:#?}"
        );
        lines[0]
            .split("  ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    // bookTicker and trade: 115 columns wide unbounded.
    let mut table = Table::new(false);
    table.update(&book("BTCUSDT", "61837.63000000", "61837.64000000"));
    table.update(&trade("BTCUSDT", "61837.64000000", false));
    table.update(&book("ETHUSDT", "2043.10000000", "2043.11000000"));
    table.set_size(80, 24);
    assert_eq!(
        header(&mut table),
        ["SYMBOL", "CHANNEL", "PRICE", "BID", "ASK", "AGE"]
    );
    // Wider: quantities come back before the side.
    table.set_size(100, 24);
    assert_eq!(
        header(&mut table),
        [
            "SYMBOL", "CHANNEL", "PRICE", "QTY", "BID", "BID QTY", "ASK", "AGE"
        ]
    );
    // All five channels' columns on 80: prices and AGE stay, VOLUME and CHG% go first.
    let mut all = filled();
    all.set_size(80, 24);
    assert_eq!(
        header(&mut all),
        ["SYMBOL", "CHANNEL", "PRICE", "BID", "ASK", "AGE"]
    );
}

#[test]
fn a_note_line_and_log_lines_above_stay_inside_the_frame_arithmetic() {
    let mut table = filled();
    table.set_size(40, 24);
    table.set_note(Some(
        "connecting to stream.binance.com:9443 (attempt 3, last: Connection refused)",
    ));
    let first = frame(&mut table);
    let lines = visible(&first);
    assert_eq!(lines.len(), 1 + 5 + 1, "{lines:#?}");
    assert!(lines[6].starts_with("connecting to stream.binance") && lines[6].ends_with('…'));
    assert_eq!(lines[6].chars().count(), 40);
    table.print_above(b"WARN something happened\n");
    let second = frame(&mut table);
    // Up over the old frame, the log line, then the whole frame again below it.
    assert!(
        second.starts_with("\x1b[7A\r\x1b[2KWARN something happened\x1b[K\n"),
        "{second:?}"
    );
    assert_eq!(second.matches('\n').count(), 1 + 7);
    let third = frame(&mut table);
    assert!(
        third.starts_with("\x1b[7A\r"),
        "the log line is not redrawn: {third:?}"
    );
    // At the end the note goes: the summary takes its line.
    let mut out = Vec::new();
    table.finish(&mut out);
    assert_eq!(out, b"\r\x1b[2K\x1b[A\x1b[2K");
}

#[test]
fn finish_leaves_the_frame_and_a_clean_line() {
    let mut table = filled();
    let mut out = Vec::new();
    table.finish(&mut out);
    assert!(out.is_empty(), "nothing drawn, nothing to finish");
    let drawn = frame(&mut table);
    assert!(drawn.ends_with(&format!("\n{}", "\x1b[J")));
    table.finish(&mut out);
    assert_eq!(out, b"\r\x1b[2K");
    let next = frame(&mut table);
    assert!(
        next.starts_with(CLEAR_LINE_STR),
        "a new frame below, not over: {next:?}"
    );
}

#[test]
fn decimals_compare_by_value() {
    use Ordering::{Equal, Greater, Less};
    for (a, b, expected) in [
        ("1", "1.000", Equal),
        ("0.5", "0.49", Greater),
        ("0.05", "0.5", Less),
        ("0.5", "0.51", Less),
        ("10", "9.99", Greater),
        ("007", "7", Equal),
        ("-1", "1", Less),
        ("-1.5", "-1.25", Less),
        ("-0", "0.0", Equal),
        ("61837.64000000", "61837.63000000", Greater),
    ] {
        assert_eq!(compare_decimal(a, b), expected, "{a} vs {b}");
        assert_eq!(compare_decimal(b, a), expected.reverse(), "{b} vs {a}");
    }
}
