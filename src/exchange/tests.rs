//! The venue registry, shared time conversion and sharding; every decoder on mutated
//! fixture lines and arbitrary bytes (proptest) without a panic.

use super::*;
use proptest::prelude::*;

/// Every fixture line of every venue (`tests/data/*/*.jsonl`), as mutation seeds.
fn seeds() -> Vec<String> {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut lines = Vec::new();
    for dir in std::fs::read_dir(data).unwrap().flatten() {
        let Ok(files) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for file in files.flatten() {
            if file.path().extension().is_some_and(|e| e == "jsonl") {
                let text = std::fs::read_to_string(file.path()).unwrap_or_default();
                lines.extend(text.lines().map(str::to_owned));
            }
        }
    }
    assert!(lines.len() > 100, "fixtures not found");
    lines
}

/// Bad bytes never panic a decoder: every registered venue, on mutated fixture lines
/// (byte flips, cuts, JSON-significant bytes). `FOXTROT_FUZZ_INPUTS` sets the count
/// (default 20 000 per venue, seconds in CI); the README gives the figure of a 10
/// million run.
#[test]
fn decoders_never_panic_on_mutated_fixture_lines() {
    let inputs: u64 = std::env::var("FOXTROT_FUZZ_INPUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let seeds = seeds();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut out = Out::default();
    for venue in Venue::ALL {
        let exchange = venue.exchange();
        for _ in 0..inputs {
            let seed = &seeds[rng.usize(..seeds.len())];
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..rng.usize(0..4) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.usize(..bytes.len());
                bytes[at] = match rng.u8(..4) {
                    0 => rng.u8(..),
                    _ => b"0189.,:\"e-tfu []{}\\x"[rng.usize(..20)],
                };
            }
            if rng.bool() {
                bytes.truncate(rng.usize(..=bytes.len()));
            }
            let text = String::from_utf8_lossy(&bytes);
            out.clear();
            let _ = exchange.decode(&text, 1, &mut out);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let mut out = Out::default();
        for venue in Venue::ALL {
            let _ = venue.exchange().decode(&text, 1, &mut out);
        }
    }
}

#[test]
fn the_registry_names_each_venue_once() {
    for venue in Venue::ALL {
        assert_eq!(venue.exchange().venue(), *venue);
        assert_eq!(venue.exchange().name(), venue.name());
        assert_eq!(Venue::from_name(venue.name()), Some(*venue));
    }
    assert_eq!(Venue::default(), Venue::Binance);
    assert!(
        "kraken"
            .parse::<Venue>()
            .unwrap_err()
            .to_string()
            .contains("binance, binance-futures")
    );
}

#[test]
fn event_times_in_ms_and_us_become_ns() {
    assert_eq!(epoch_ns(1_723_161_255_343), 1_723_161_255_343_000_000);
    assert_eq!(epoch_ns(1_723_161_255_343_123), 1_723_161_255_343_123_000);
    assert_eq!(epoch_ns(0), 0);
}

#[test]
fn shards_never_mix_venues_and_respect_the_size() {
    let id = |venue, s: &str, channel| StreamId::new(venue, Symbol::parse(s).unwrap(), channel);
    let streams = [
        id(Venue::Binance, "A", Channel::Trade),
        id(Venue::BinanceFutures, "A", Channel::Trade),
        id(Venue::Binance, "B", Channel::Trade),
        id(Venue::Binance, "C", Channel::Trade),
    ];
    let shards = shard(&streams, 2);
    let venues: Vec<Vec<Venue>> = shards
        .iter()
        .map(|s| s.iter().map(|s| s.venue).collect())
        .collect();
    assert_eq!(
        venues,
        [
            vec![Venue::Binance, Venue::Binance],
            vec![Venue::Binance],
            vec![Venue::BinanceFutures]
        ]
    );
}

/// A frame a venue calls data by its first bytes (a raw-only capture skips decoding it)
/// is never a control message: every fixture line of every venue, and each venue's own
/// pushes are told as data.
#[test]
fn frames_told_as_data_by_their_first_bytes_never_decode_as_control() {
    let mut out = Out::default();
    let mut told = 0;
    for venue in Venue::ALL {
        let exchange = venue.exchange();
        for line in seeds() {
            out.clear();
            let decoded = exchange.decode(&line, 1, &mut out);
            if exchange.is_data(&line) {
                told += 1;
                assert!(
                    !matches!(decoded, Ok(Decoded::Control(_))),
                    "{venue}: {line}"
                );
            }
        }
    }
    assert!(told > 100, "the pushes are told as data");
    let binance = Venue::Binance.exchange();
    assert!(binance.is_data(r#"{"stream":"btcusdt@trade","data":{}}"#));
    assert!(!binance.is_data(r#"{"stream":"!serverShutdown","data":{}}"#));
    assert!(!binance.is_data(r#"{"result":null,"id":1}"#));
    assert!(
        Venue::BinanceFutures
            .exchange()
            .is_data(r#"{"stream":"btcusdt@markPrice","data":{}}"#)
    );
    assert!(
        Venue::Bybit
            .exchange()
            .is_data(r#"{"topic":"orderbook.1.BTCUSDT","ts":1}"#)
    );
    assert!(
        Venue::Okx
            .exchange()
            .is_data(r#"{"arg":{"channel":"trades"},"data":[]}"#)
    );
    assert!(!Venue::Okx.exchange().is_data("pong"));
}
