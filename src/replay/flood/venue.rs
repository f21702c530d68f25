//! The flood's Bybit and OKX dialects: the subscribe exchange that precedes a flood on
//! those venues' paths, and their generated `bookTicker` and `trade` payloads.
//!
//! A Binance client names its streams in the URL; Bybit and OKX clients subscribe after
//! the handshake. So on `/v5/public/spot|linear` and `/ws/v5/public` the flood first
//! answers requests with the dialect's own replies (acks, errors, pongs: the same text the
//! replay dialects send) until a subscribe succeeds, then generates the streams of that
//! first successful subscribe: Bybit `orderbook.1.S` and `publicTrade.S`, OKX `bbo-tbt` and
//! `trades`, in the venues' documented message shapes. Later requests are answered but add
//! no streams. Values move as on the Binance flood (same seed, same random walk).

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::super::dialect::{bybit, okx};
use super::super::stats::Stats;
use super::super::streams::Subscriptions;
use super::{CENT, End, Generator, Kind, Ws, decimal, quantity};

/// Which venue's protocol and payloads a flood speaks, chosen by the request path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Streams in the URL, Binance payloads.
    Binance,
    /// `{"op":"subscribe"}` with topics, Bybit v5 payloads.
    Bybit(bybit::Category),
    /// `{"op":"subscribe"}` with args, OKX v5 payloads.
    Okx,
}

/// The payload format of a generated stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Binance,
    Bybit,
    Okx,
}

/// The subscribe state of a Bybit or OKX flood connection.
#[derive(Default)]
pub(super) struct Requests {
    /// OKX's subscriptions (its answers depend on them).
    okx: Subscriptions,
}

impl Requests {
    /// Answers one client text frame; returns the replies and the stream names a
    /// successful subscribe added (Bybit topics, OKX `channel:instId`).
    pub(super) fn answer(&mut self, protocol: Protocol, text: &str) -> (Vec<String>, Vec<String>) {
        match protocol {
            Protocol::Binance => (Vec::new(), Vec::new()),
            Protocol::Bybit(category) => {
                let (reply, topics) = bybit::flood_answer(category, text);
                (vec![reply], topics)
            }
            Protocol::Okx => {
                let before = self.okx.names().len();
                let answer = okx::answer(text, &mut self.okx);
                let added = self.okx.names().get(before..).unwrap_or_default().to_vec();
                (answer.replies, added)
            }
        }
    }
}

/// Answers requests until a subscribe succeeds; returns its stream names, or how the
/// connection ended first.
pub(super) async fn subscribed(
    ws: &mut Ws,
    protocol: Protocol,
    requests: &mut Requests,
    stats: &Stats,
    stop: &CancellationToken,
) -> Result<Vec<String>, End> {
    loop {
        let frame = tokio::select! {
            () = stop.cancelled() => return Err(End::Stopped),
            frame = ws.next() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) => {
                stats.close_received();
                let _ = ws.flush().await;
                return Err(End::PeerClosed);
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                debug!(error = %e, "flood read failed");
                return Err(End::Gone);
            }
            None => return Err(End::Gone),
        };
        stats.request();
        let (replies, added) = requests.answer(protocol, text.as_str());
        for reply in replies {
            if ws.send(Message::text(reply)).await.is_err() {
                return Err(End::Gone);
            }
        }
        if !added.is_empty() {
            return Ok(added);
        }
    }
}

impl Generator {
    /// A generator for a subscribed Bybit topic or OKX `channel:instId`, or `None` for
    /// what the flood does not generate.
    pub(super) fn for_venue(
        protocol: Protocol,
        name: &str,
        rng: &mut fastrand::Rng,
    ) -> Option<Generator> {
        let (format, kind, symbol) = match protocol {
            Protocol::Binance => return Generator::new(name, rng),
            Protocol::Bybit(_) => match name.split_once('.')? {
                ("publicTrade", symbol) => (Format::Bybit, Kind::Trade, symbol),
                ("orderbook", rest) => (Format::Bybit, Kind::BookTicker, rest.strip_prefix("1.")?),
                _ => return None,
            },
            Protocol::Okx => match name.split_once(':')? {
                ("trades", inst) => (Format::Okx, Kind::Trade, inst),
                ("bbo-tbt", inst) => (Format::Okx, Kind::BookTicker, inst),
                _ => return None,
            },
        };
        let mut generator = Generator::new(&format!("{symbol}@bookTicker"), rng)?;
        generator.name = name.to_owned();
        generator.symbol = symbol.to_owned();
        generator.kind = kind;
        generator.format = format;
        Some(generator)
    }

    /// `{"topic":"orderbook.1.S","ts":..,"type":"snapshot","data":{"s":..,"b":[[p,q]],
    /// "a":[[p,q]],"u":..,"seq":..},"cts":..}`: level 1 is always a snapshot.
    pub(super) fn bybit_book_ticker(&mut self, rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
        self.id += 1;
        self.trade_id += rng.u64(1..=20);
        let spread = rng.u64(1..=3) * CENT;
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b"{\"topic\":\"orderbook.1.");
        out.extend_from_slice(self.symbol.as_bytes());
        out.extend_from_slice(b"\",\"ts\":");
        out.extend_from_slice(num.format(self.time).as_bytes());
        out.extend_from_slice(b",\"type\":\"snapshot\",\"data\":{\"s\":\"");
        out.extend_from_slice(self.symbol.as_bytes());
        out.extend_from_slice(b"\",\"b\":[[\"");
        decimal(out, self.price);
        out.extend_from_slice(b"\",\"");
        decimal(out, quantity(rng));
        out.extend_from_slice(b"\"]],\"a\":[[\"");
        decimal(out, self.price + spread);
        out.extend_from_slice(b"\",\"");
        decimal(out, quantity(rng));
        out.extend_from_slice(b"\"]],\"u\":");
        out.extend_from_slice(num.format(self.id).as_bytes());
        out.extend_from_slice(b",\"seq\":");
        out.extend_from_slice(num.format(self.trade_id).as_bytes());
        out.extend_from_slice(b"},\"cts\":");
        out.extend_from_slice(num.format(self.time - 1).as_bytes());
        out.push(b'}');
    }

    /// `{"topic":"publicTrade.S","ts":..,"type":"snapshot","data":[{"i":..,"T":..,"p":..,
    /// "v":..,"S":..,"s":..,"BT":false}]}`: one trade per message; ids are text.
    pub(super) fn bybit_trade(&mut self, rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
        self.id += 1;
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b"{\"topic\":\"publicTrade.");
        out.extend_from_slice(self.symbol.as_bytes());
        out.extend_from_slice(b"\",\"ts\":");
        out.extend_from_slice(num.format(self.time).as_bytes());
        out.extend_from_slice(b",\"type\":\"snapshot\",\"data\":[{\"i\":\"229");
        out.extend_from_slice(num.format(self.id).as_bytes());
        out.extend_from_slice(b"\",\"T\":");
        out.extend_from_slice(num.format(self.time - 1).as_bytes());
        out.extend_from_slice(b",\"p\":\"");
        decimal(out, self.price);
        out.extend_from_slice(b"\",\"v\":\"");
        decimal(out, quantity(rng));
        out.extend_from_slice(if rng.bool() {
            b"\",\"S\":\"Buy\",\"s\":\""
        } else {
            b"\",\"S\":\"Sell\",\"s\":\""
        });
        out.extend_from_slice(self.symbol.as_bytes());
        out.extend_from_slice(b"\",\"BT\":false}]}");
    }

    /// `{"arg":{"channel":"bbo-tbt","instId":..},"data":[{"asks":[[p,q,"0",n]],
    /// "bids":[[p,q,"0",n]],"ts":"..","seqId":..}]}`.
    pub(super) fn okx_book_ticker(&mut self, rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
        self.id += rng.u64(1..=20);
        let spread = rng.u64(1..=3) * CENT;
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b"{\"arg\":{\"channel\":\"bbo-tbt\",\"instId\":\"");
        out.extend_from_slice(self.symbol.as_bytes());
        out.extend_from_slice(b"\"},\"data\":[{\"asks\":[[\"");
        decimal(out, self.price + spread);
        out.extend_from_slice(b"\",\"");
        decimal(out, quantity(rng));
        out.extend_from_slice(b"\",\"0\",\"3\"]],\"bids\":[[\"");
        decimal(out, self.price);
        out.extend_from_slice(b"\",\"");
        decimal(out, quantity(rng));
        out.extend_from_slice(b"\",\"0\",\"2\"]],\"ts\":\"");
        out.extend_from_slice(num.format(self.time).as_bytes());
        out.extend_from_slice(b"\",\"seqId\":");
        out.extend_from_slice(num.format(self.id).as_bytes());
        out.extend_from_slice(b"}]}");
    }

    /// `{"arg":{"channel":"trades","instId":..},"data":[{"instId":..,"tradeId":"..",
    /// "px":..,"sz":..,"side":..,"ts":"..","count":"1"}]}`.
    pub(super) fn okx_trade(&mut self, rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
        self.id += 1;
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b"{\"arg\":{\"channel\":\"trades\",\"instId\":\"");
        out.extend_from_slice(self.symbol.as_bytes());
        out.extend_from_slice(b"\"},\"data\":[{\"instId\":\"");
        out.extend_from_slice(self.symbol.as_bytes());
        out.extend_from_slice(b"\",\"tradeId\":\"");
        out.extend_from_slice(num.format(self.id).as_bytes());
        out.extend_from_slice(b"\",\"px\":\"");
        decimal(out, self.price);
        out.extend_from_slice(b"\",\"sz\":\"");
        decimal(out, quantity(rng));
        out.extend_from_slice(if rng.bool() {
            b"\",\"side\":\"buy\",\"ts\":\""
        } else {
            b"\",\"side\":\"sell\",\"ts\":\""
        });
        out.extend_from_slice(num.format(self.time).as_bytes());
        out.extend_from_slice(b"\",\"count\":\"1\"}]}");
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Flood, tests::payloads};
    use super::*;
    use crate::exchange::{Decoded, Exchange, Out};
    use crate::replay::endpoint::Framing;
    use crate::tick::TickData;

    /// Generates `n` messages of `names` and decodes each with `exchange`: one tick each,
    /// ids increasing per stream, bid below ask, prices varying.
    fn decodes_with_increasing_ids(protocol: Protocol, names: &[&str], exchange: &dyn Exchange) {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let mut flood = Flood::new(protocol, &names, Framing::Raw, Default::default());
        assert_eq!(flood.generators.len(), 2);
        let mut bytes = Vec::new();
        for _ in 0..2000 {
            flood.push(&mut bytes);
        }
        let mut last = [0u64; 2];
        let mut prices = std::collections::HashSet::new();
        for (i, text) in payloads(&bytes).iter().enumerate() {
            let mut out = Out::default();
            assert_eq!(
                exchange.decode(text, 0, &mut out).ok(),
                Some(Decoded::Data),
                "{text}"
            );
            assert_eq!(out.ticks.len(), 1, "{text}");
            let tick = out.ticks.pop().unwrap();
            assert!(tick.exchange_ns > 0, "{text}");
            let id = match &tick.data {
                TickData::BookTicker(b) => {
                    let units =
                        |d: &crate::tick::Decimal| d.to_text().replace('.', "").parse::<u64>();
                    assert!(units(&b.bid).unwrap() < units(&b.ask).unwrap(), "{text}");
                    b.update_id
                }
                TickData::Trade(t) => {
                    prices.insert(t.price.to_string());
                    t.sequence()
                }
                other => unreachable!("{other:?}"),
            };
            assert!(id > last[i % 2], "{text}");
            last[i % 2] = id;
        }
        assert!(prices.len() > 50, "prices should vary");
    }

    #[test]
    fn bybit_frames_decode_as_ticks_with_increasing_ids() {
        decodes_with_increasing_ids(
            Protocol::Bybit(bybit::Category::Spot),
            &[
                "orderbook.1.BTCUSDT",
                "publicTrade.ETHUSDT",
                "orderbook.50.BTCUSDT",
            ][..2],
            &crate::exchange::bybit::SPOT,
        );
    }

    #[test]
    fn okx_frames_decode_as_ticks_with_increasing_ids() {
        decodes_with_increasing_ids(
            Protocol::Okx,
            &["bbo-tbt:BTC-USDT", "trades:ETH-USDT"],
            &crate::exchange::okx::Okx,
        );
    }

    #[test]
    fn only_the_first_successful_subscribe_names_streams() {
        let mut requests = Requests::default();
        let spot = Protocol::Bybit(bybit::Category::Spot);
        let (replies, added) = requests.answer(spot, r#"{"op":"ping"}"#);
        assert!(replies[0].contains(r#""ret_msg":"pong""#), "{replies:?}");
        assert!(added.is_empty());
        let (replies, added) = requests.answer(
            spot,
            r#"{"op":"subscribe","args":["orderbook.1.BTCUSDT"],"req_id":"7"}"#,
        );
        assert!(replies[0].contains(r#""success":true"#), "{replies:?}");
        assert_eq!(added, ["orderbook.1.BTCUSDT"]);
        let (replies, added) = requests.answer(
            Protocol::Okx,
            r#"{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},{"channel":"bbo-tbt","instId":"ETH-USDT"}]}"#,
        );
        assert_eq!(replies.len(), 2, "one ack per arg");
        assert_eq!(added, ["trades:BTC-USDT", "bbo-tbt:ETH-USDT"]);
    }
}
