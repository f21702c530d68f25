//! The NDJSON line format: one JSON object per tick.
//!
//! This module owns the byte layout of an NDJSON line (key order, how each [`Value`] is
//! written). It does no I/O and no buffering policy; the sink runner decides when the
//! bytes reach the OS. It is on the hot path, so it writes straight into the caller's
//! buffer without building any intermediate `String`.

use crate::sink::Encode;
use crate::tick::{Decimal, Tick, TickData, Value};

/// Writes each tick as one JSON object on its own line.
///
/// Keys come in this order: `exchange`, `symbol`, `channel`, `recv_ns`, then the
/// channel's fields as listed by [`Channel::fields`](crate::tick::Channel::fields).
/// Decimals are JSON strings holding the exchange's text verbatim, so no precision is
/// lost; ids and times are JSON integers; flags are `true`/`false`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ndjson;

impl Encode for Ndjson {
    fn header(&mut self, _out: &mut Vec<u8>) {}

    fn encode_book(&mut self, record: &crate::book::row::BookRecord, out: &mut Vec<u8>) {
        record.write_ndjson_line(out);
    }

    fn encode(&mut self, tick: &Tick, out: &mut Vec<u8>) {
        // No escaping anywhere below: the exchange name is a constant from a venue's code,
        // `Symbol` is validated to ASCII letters and digits, `Decimal` to plain decimal
        // text, and field names are our own literals. None can hold a quote, a backslash
        // or a control character.
        let mut line = Line {
            out,
            num: itoa::Buffer::new(),
        };
        line.raw(b"{\"exchange\":\"");
        line.raw(tick.exchange.as_bytes());
        line.raw(b"\",\"symbol\":\"");
        tick.symbol.append_to(line.out);
        line.raw(b"\",\"channel\":\"");
        line.raw(tick.channel().as_str().as_bytes());
        line.int(b"\",\"recv_ns\":", tick.recv_ns);
        match tick.exchange_ns() {
            Some(ns) => line.int(b",\"exchange_ns\":", ns),
            None => line.raw(b",\"exchange_ns\":null"),
        }
        // The hot channels are spelled out, so each key, with its comma, colon and opening
        // quote, is one constant copy; the tests hold the order to `Channel::fields`.
        match &tick.data {
            TickData::BookTicker(t) => {
                line.int(b",\"update_id\":", t.update_id);
                line.decimal(b",\"bid\":\"", &t.bid);
                line.decimal(b",\"bid_qty\":\"", &t.bid_qty);
                line.decimal(b",\"ask\":\"", &t.ask);
                line.decimal(b",\"ask_qty\":\"", &t.ask_qty);
            }
            TickData::Trade(t) => {
                line.int(b",\"event_time\":", t.event_time);
                line.int(b",\"trade_time\":", t.trade_time);
                match &t.trade_id {
                    crate::tick::TradeId::Int(id) => line.int(b",\"trade_id\":", id.get()),
                    crate::tick::TradeId::Uuid { bytes, .. } => {
                        line.raw(b",\"trade_id\":\"");
                        crate::tick::append_uuid(bytes, line.out);
                        line.raw(b"\"");
                    }
                }
                line.decimal(b",\"price\":\"", &t.price);
                line.decimal(b",\"qty\":\"", &t.qty);
                line.flag(b",\"buyer_is_maker\":", t.buyer_is_maker);
            }
            TickData::AggTrade(t) => {
                line.int(b",\"event_time\":", t.event_time);
                line.int(b",\"trade_time\":", t.trade_time);
                line.int(b",\"agg_id\":", t.agg_id);
                line.int(b",\"first_trade_id\":", t.first_trade_id);
                line.int(b",\"last_trade_id\":", t.last_trade_id);
                line.decimal(b",\"price\":\"", &t.price);
                line.decimal(b",\"qty\":\"", &t.qty);
                line.flag(b",\"buyer_is_maker\":", t.buyer_is_maker);
            }
            data => data.visit(|name, value| {
                line.raw(b",\"");
                line.raw(name.as_bytes());
                match value {
                    Value::Decimal(text) => {
                        line.raw(b"\":\"");
                        text.append_to(line.out);
                        line.raw(b"\"");
                    }
                    Value::Int(n) => line.int(b"\":", n),
                    Value::Bool(b) => line.flag(b"\":", b),
                    Value::Text(text) => {
                        line.raw(b"\":\"");
                        line.raw(text.as_bytes());
                        line.raw(b"\"");
                    }
                    Value::Uuid(uuid) => {
                        line.raw(b"\":\"");
                        crate::tick::append_uuid(&uuid, line.out);
                        line.raw(b"\"");
                    }
                }
            }),
        }
        line.raw(b"}\n");
    }
}

/// One line being written: the caller's buffer and a number formatter.
struct Line<'a> {
    out: &'a mut Vec<u8>,
    num: itoa::Buffer,
}

impl Line<'_> {
    fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// `key` (which ends in the colon), then the integer.
    fn int(&mut self, key: &[u8], n: u64) {
        self.out.extend_from_slice(key);
        self.out.extend_from_slice(self.num.format(n).as_bytes());
    }

    /// `key` (which ends in the opening quote), the exact text, the closing quote.
    fn decimal(&mut self, key: &[u8], value: &Decimal) {
        self.out.extend_from_slice(key);
        value.append_to(self.out);
        self.out.push(b'"');
    }

    fn flag(&mut self, key: &[u8], flag: bool) {
        self.out.extend_from_slice(key);
        self.out
            .extend_from_slice(if flag { b"true" } else { b"false" });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tick::{
        AggTrade, BookTicker, Channel, Funding, Kline, Liquidation, Symbol, Ticker, Trade,
    };

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    fn tick(symbol: &str, recv_ns: u64, data: TickData) -> Tick {
        Tick {
            exchange: crate::exchange::Venue::Binance,
            exchange_ns: 0,
            symbol: Symbol::parse(symbol).unwrap(),
            recv_ns,
            data,
        }
    }

    /// One tick of every channel, with values from the Binance fixtures (the CSV tests
    /// use them too).
    pub(crate) fn samples() -> Vec<Tick> {
        vec![
            tick(
                "BTCUSDT",
                1_723_161_255_343_000_000,
                TickData::BookTicker(BookTicker {
                    update_id: 50_093_239_212,
                    bid: d("61837.63000000"),
                    bid_qty: d("3.78826000"),
                    ask: d("61837.64000000"),
                    ask_qty: d("1.54698000"),
                }),
            ),
            tick(
                "ETHUSDT",
                1,
                TickData::Trade(Trade {
                    event_time: 1_617_566_591_315,
                    trade_time: 1_617_566_591_314,
                    trade_id: crate::tick::TradeId::int(745_522_877),
                    price: d("2043.10000000"),
                    qty: d("0.08620500"),
                    buyer_is_maker: true,
                }),
            ),
            tick(
                "BTCUSDT",
                u64::MAX,
                TickData::AggTrade(AggTrade {
                    event_time: 1_617_566_591_349,
                    trade_time: 1_617_566_591_348,
                    agg_id: 665_076_761,
                    first_trade_id: 745_522_878,
                    last_trade_id: 745_522_879,
                    price: d("58001.04000000"),
                    qty: d("0.02627600"),
                    buyer_is_maker: false,
                }),
            ),
            tick(
                "BNBUSDT",
                0,
                TickData::Ticker(Box::new(Ticker {
                    event_time: 1_672_515_782_136,
                    last: d("0.0025"),
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
                })),
            ),
            Tick {
                exchange: crate::exchange::Venue::BinanceFutures,
                exchange_ns: 1_562_305_380_000_000_000,
                ..tick(
                    "BTCUSDT",
                    7,
                    TickData::Funding(Funding {
                        event_time: 1_562_305_380_000,
                        mark_price: d("11794.15000000"),
                        index_price: d("11784.62659091"),
                        funding_rate: d("0.00038167"),
                        next_funding_time: 1_562_306_400_000,
                    }),
                )
            },
            tick(
                "BTCUSDT",
                8,
                TickData::Liquidation(Liquidation {
                    event_time: 1_568_014_460_893,
                    trade_time: 1_568_014_460_893,
                    sell: true,
                    price: d("9910"),
                    avg_price: d("9910"),
                    qty: d("0.014"),
                }),
            ),
            tick(
                "ETHUSDT",
                9,
                TickData::Kline(Box::new(Kline {
                    channel: Channel::Kline1m,
                    event_time: 1_617_566_591_776,
                    open_time: 1_617_566_580_000,
                    close_time: 1_617_566_639_999,
                    first_trade_id: 346_711_017,
                    last_trade_id: 346_711_087,
                    open: d("2063.88000000"),
                    high: d("2065.00000000"),
                    low: d("2063.88000000"),
                    close: d("2064.73000000"),
                    volume: d("70.86425000"),
                    quote_volume: d("146321.71560700"),
                    trades: 71,
                    closed: false,
                })),
            ),
        ]
    }

    fn encode_one(tick: &Tick) -> String {
        let mut out = Vec::new();
        Ndjson.encode(tick, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn book_ticker_line_is_exactly_the_documented_one() {
        assert_eq!(
            encode_one(&samples()[0]),
            "{\"exchange\":\"binance\",\"symbol\":\"BTCUSDT\",\"channel\":\"bookTicker\",\
             \"recv_ns\":1723161255343000000,\"exchange_ns\":null,\"update_id\":50093239212,\
             \"bid\":\"61837.63000000\",\"bid_qty\":\"3.78826000\",\
             \"ask\":\"61837.64000000\",\"ask_qty\":\"1.54698000\"}\n"
        );
    }

    #[test]
    fn lines_parse_with_keys_in_documented_order_and_exact_values() {
        for tick in samples() {
            let line = encode_one(&tick);
            assert!(line.ends_with("}\n") && !line.ends_with("\n\n"), "{line:?}");
            assert_eq!(line.matches('\n').count(), 1, "{line:?}");

            // Key order is checked on the raw text: serde_json's Map may reorder keys.
            let channel = tick.channel();
            let mut expected_keys: Vec<&str> = crate::tick::COMMON_FIELDS.to_vec();
            expected_keys.extend_from_slice(channel.fields());
            let mut at = 0;
            for key in &expected_keys {
                let needle = format!("\"{key}\":");
                let found = line[at..]
                    .find(&needle)
                    .unwrap_or_else(|| panic!("{key} missing or out of order in {line}"));
                at += found + needle.len();
            }

            let json: serde_json::Value = serde_json::from_str(&line).unwrap();
            let object = json.as_object().unwrap();
            assert_eq!(object.len(), expected_keys.len());
            assert_eq!(object["exchange"], tick.exchange.name());
            assert_eq!(object["symbol"], tick.symbol.as_str());
            assert_eq!(object["channel"], channel.as_str());
            assert_eq!(object["recv_ns"].as_u64(), Some(tick.recv_ns));
            tick.data.visit(|name, value| match value {
                Value::Decimal(text) => {
                    assert_eq!(object[name].as_str(), Some(&*text.to_text()), "{name}")
                }
                Value::Int(n) => assert_eq!(object[name].as_u64(), Some(n), "{name}"),
                Value::Bool(b) => assert_eq!(object[name].as_bool(), Some(b), "{name}"),
                Value::Text(t) => assert_eq!(object[name].as_str(), Some(t), "{name}"),
                Value::Uuid(u) => {
                    let mut text = Vec::new();
                    crate::tick::append_uuid(&u, &mut text);
                    assert_eq!(object[name].as_str().map(str::as_bytes), Some(&text[..]));
                }
            });
            assert_eq!(object["exchange_ns"].as_u64(), tick.exchange_ns());
        }
    }

    #[test]
    fn header_is_empty_and_lines_append() {
        let mut out = b"earlier\n".to_vec();
        Ndjson.header(&mut out);
        assert_eq!(out, b"earlier\n");
        let ticks = samples();
        for tick in &ticks {
            Ndjson.encode(tick, &mut out);
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1 + ticks.len());
        assert!(text.starts_with("earlier\n{\"exchange\""));
        // The samples cover every kind of channel, so the other tests do too.
        // Order-book rows are not ticks: `book::row` tests their lines.
        for channel in Channel::ALL.into_iter().filter(|c| {
            (!c.is_kline() || *c == Channel::Kline1m)
                && !matches!(c, Channel::Depth | Channel::Book)
        }) {
            assert!(
                text.contains(&format!("\"channel\":\"{channel}\"")),
                "{channel}"
            );
        }
    }

    #[test]
    fn buffer_stops_growing_after_warm_up() {
        // The proof that encoding allocates nothing lives in tests/alloc.rs (a counting
        // global allocator would affect every test in this binary). Here: once the buffer
        // has held a batch, re-encoding the same batch after `clear` never grows it.
        let ticks = samples();
        let mut out = Vec::new();
        for tick in &ticks {
            Ndjson.encode(tick, &mut out);
        }
        let capacity = out.capacity();
        for _ in 0..1000 {
            out.clear();
            for tick in &ticks {
                Ndjson.encode(tick, &mut out);
            }
            assert_eq!(out.capacity(), capacity);
        }
    }
}
