//! `--shard I/N`: which streams this instance records when N instances split them.
//!
//! A stream belongs to shard `fnv1a64("exchange:symbol:channel") mod N`: the 64-bit FNV-1a
//! hash (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`) of the stream key's
//! UTF-8 bytes, the symbol upper case and the channel as foxtrot spells it
//! (`binance:BTCUSDT:bookTicker`). The function is fixed here and tested against known
//! values, so every version on every machine splits a list the same way: N instances
//! given the same streams and `--shard 0/N` .. `--shard N-1/N` record each stream exactly
//! once, with no coordination between them. This module owns the key, the hash and the
//! `I/N` syntax; it does no I/O.

use std::fmt;
use std::str::FromStr;

use crate::exchange::StreamId;
use crate::tick::{Channel, Symbol};

/// One instance's part of a split: shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This instance's shard, from 0 to `count - 1`.
    pub index: u32,
    /// How many instances split the streams.
    pub count: u32,
}

/// Why a shard was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard {0:?}: expected I/N with N at least 1 and I from 0 to N-1, like 2/4")]
pub struct ShardError(pub String);

impl Shard {
    /// Shard `index` of `count`, if `index < count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if count == 0 || index >= count {
            return Err(ShardError(format!("{index}/{count}")));
        }
        Ok(Shard { index, count })
    }

    /// Whether this instance records the stream with this key (see [`stream_key`]).
    pub fn owns(&self, key: &str) -> bool {
        of(key, self.count) == self.index
    }
}

impl FromStr for Shard {
    type Err = ShardError;
    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let refuse = || ShardError(text.to_owned());
        let (index, count) = text.split_once('/').ok_or_else(refuse)?;
        let parse = |n: &str| n.trim().parse::<u32>().map_err(|_| refuse());
        Shard::new(parse(index)?, parse(count)?).map_err(|_| refuse())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The key that names a stream everywhere outside the process: `exchange:symbol:channel`.
/// Shards hash it; Kafka uses it as the record key, NATS as the message-id prefix.
pub fn stream_key(exchange: &str, symbol: &Symbol, channel: Channel) -> String {
    let mut key = String::with_capacity(exchange.len() + symbol.as_str().len() + 14);
    key.push_str(exchange);
    key.push(':');
    key.push_str(symbol.as_str());
    key.push(':');
    key.push_str(channel.as_str());
    key
}

/// The key of a subscribed stream.
pub fn key_of(id: &StreamId) -> String {
    stream_key(exchange_of(id), &id.symbol, id.channel)
}

/// The venue of a subscribed stream, as written in output.
pub fn exchange_of(id: &StreamId) -> &'static str {
    id.venue.as_str()
}

/// The shard, out of `count`, that records the stream with this key.
pub fn of(key: &str, count: u32) -> u32 {
    (fnv1a64(key.as_bytes()) % u64::from(count.max(1))) as u32
}

/// 64-bit FNV-1a.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        // From the FNV reference test suite (draft-eastlake-fnv).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn stream_keys_and_their_shards_are_stable() {
        let key = stream_key(
            "binance",
            &Symbol::parse("btcusdt").unwrap(),
            Channel::BookTicker,
        );
        assert_eq!(key, "binance:BTCUSDT:bookTicker");
        // Pinned: changing the hash or the key re-shards every deployment.
        assert_eq!(fnv1a64(key.as_bytes()) % 4, of(&key, 4) as u64);
        let pinned: Vec<u32> = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"]
            .iter()
            .map(|s| {
                of(
                    &stream_key("binance", &Symbol::parse(s).unwrap(), Channel::Trade),
                    4,
                )
            })
            .collect();
        assert_eq!(pinned, PINNED_TRADE_SHARDS_OF_4);
    }

    /// Shards of 4 of `binance:{BTC,ETH,BNB,SOL,XRP}USDT:trade`, as computed by the first
    /// release; a test failure here means existing deployments would be re-sharded.
    const PINNED_TRADE_SHARDS_OF_4: [u32; 5] = [0, 0, 1, 1, 1];

    #[test]
    fn every_stream_has_exactly_one_shard() {
        let keys: Vec<String> = (0..200)
            .map(|i| {
                let symbol = Symbol::parse(&format!("S{i}USDT")).unwrap();
                stream_key("binance", &symbol, Channel::ALL[i % 4])
            })
            .collect();
        for count in [1, 2, 3, 4, 7] {
            let shards: Vec<Shard> = (0..count).map(|i| Shard::new(i, count).unwrap()).collect();
            let mut sizes = vec![0; count as usize];
            for key in &keys {
                let owners: Vec<_> = shards.iter().filter(|s| s.owns(key)).collect();
                assert_eq!(owners.len(), 1, "{key} of {count}");
                sizes[owners[0].index as usize] += 1;
            }
            // A usable spread: no shard gets less than half its fair part.
            assert!(
                sizes.iter().all(|&n| n * 2 * count as usize >= keys.len()),
                "{sizes:?}"
            );
        }
    }

    #[test]
    fn shards_parse_as_index_slash_count() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!("0/1".parse(), Ok(Shard { index: 0, count: 1 }));
        assert_eq!("2/4".parse::<Shard>().unwrap().to_string(), "2/4");
        for bad in ["4/4", "0/0", "1", "a/4", "-1/4", "1/4/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad:?}");
        }
    }
}
