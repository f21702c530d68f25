//! The flood server: generated frames decode as ticks with rising ids, counts, pacing,
//! pings, closes and raw framing, over real sockets.

use super::super::Behavior;
use super::super::behavior::DEFAULT_PING_INTERVAL;
use super::*;

/// A Binance flood of `streams`.
fn binance(framing: Framing, streams: &[&str]) -> Flood {
    let names: Vec<String> = streams.iter().map(|s| (*s).to_owned()).collect();
    Flood::new(Protocol::Binance, &names, framing, Clock::default())
}

/// Splits generated frames back into payloads, checking each header.
pub(super) fn payloads(mut bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        assert_eq!(bytes[0], 0x81, "final text frame");
        let (len, header) = match bytes[1] {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            n => (n as usize, 2),
        };
        out.push(String::from_utf8(bytes[header..header + len].to_vec()).unwrap());
        bytes = &bytes[header + len..];
    }
    out
}

#[test]
fn decimals_have_eight_places() {
    let text = |units| {
        let mut out = Vec::new();
        decimal(&mut out, units);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(text(6_183_763_000_000), "61837.63000000");
    assert_eq!(text(1_000), "0.00001000");
    assert_eq!(text(0), "0.00000000");
}

#[test]
fn generated_frames_decode_as_ticks_with_increasing_ids() {
    use crate::exchange::{Decoded, Exchange, Out, binance::Binance};
    use crate::tick::TickData;
    let mut flood = binance(
        Framing::Combined,
        &[
            "btcusdt@bookTicker",
            "ethusdt@trade",
            "btcusdt@depth",
            "ethusdt@aggTrade",
        ],
    );
    assert_eq!(flood.generators.len(), 3, "depth is not generated");
    let mut bytes = Vec::new();
    for _ in 0..3000 {
        flood.push(&mut bytes);
    }
    let mut last = [0u64; 3];
    let mut bids = std::collections::HashSet::new();
    for (i, text) in payloads(&bytes).iter().enumerate() {
        let mut out = Out::default();
        let (Ok(Decoded::Data), Some(tick)) = (Binance.decode(text, 0, &mut out), out.ticks.pop())
        else {
            panic!("not a tick: {text}");
        };
        let id = match &tick.data {
            TickData::BookTicker(b) => {
                let units = |d: &crate::tick::Decimal| d.to_text().replace('.', "").parse::<u64>();
                assert!(units(&b.bid).unwrap() < units(&b.ask).unwrap(), "{text}");
                bids.insert(b.bid.to_string());
                assert_eq!(b.bid_qty.to_text().split('.').nth(1).unwrap().len(), 8);
                b.update_id
            }
            TickData::Trade(t) => {
                assert_eq!(t.price.to_text().split('.').nth(1).unwrap().len(), 8);
                t.sequence()
            }
            TickData::AggTrade(a) => {
                assert!(a.first_trade_id <= a.last_trade_id);
                a.agg_id
            }
            other => unreachable!("{other:?}"),
        };
        assert!(id > last[i % 3], "{text}");
        last[i % 3] = id;
    }
    assert!(bids.len() > 50, "prices should vary");
}

async fn flood_server(total: u64) -> super::super::RunningServer {
    paced_server(total, 0, DEFAULT_PING_INTERVAL).await
}

async fn paced_server(total: u64, rate: u64, ping: Duration) -> super::super::RunningServer {
    server(Behavior {
        flood: Some(total),
        rate,
        ping_interval: ping,
        ..Default::default()
    })
    .await
}

async fn server(behavior: Behavior) -> super::super::RunningServer {
    let config = super::super::ReplayConfig {
        library: Default::default(),
        behavior,
    };
    super::super::Server::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
        .spawn()
}

async fn connect(url: &str) -> WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>> {
    let path = "/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker";
    tokio_tungstenite::connect_async(format!("{url}{path}"))
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn sends_n_messages_then_a_normal_close() {
    let server = flood_server(5_000).await;
    let mut ws = connect(server.url()).await;
    let mut texts = 0;
    let deadline = std::time::Duration::from_secs(20);
    let close = tokio::time::timeout(deadline, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    assert!(text.starts_with("{\"stream\":\""), "{text}");
                    texts += 1;
                }
                Some(Ok(Message::Close(frame))) => return frame,
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await
    .expect("timed out");
    assert_eq!(texts, 5_000);
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Normal));
    assert_eq!(server.stats().messages_sent(), 5_000);
    server.shutdown().await.unwrap();
}

/// At `--rate`, the messages take at least their schedule's time, and the pings of a
/// live venue come in between.
#[tokio::test]
async fn a_paced_flood_keeps_its_rate_and_pings() {
    let server = paced_server(30, 100, Duration::from_millis(50)).await;
    let mut ws = connect(server.url()).await;
    let started = std::time::Instant::now();
    let (mut texts, mut pings) = (0, 0);
    let deadline = std::time::Duration::from_secs(20);
    tokio::time::timeout(deadline, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(_))) => texts += 1,
                Some(Ok(Message::Ping(payload))) => {
                    assert_eq!(&payload[..], PING_PAYLOAD);
                    pings += 1;
                }
                Some(Ok(Message::Close(_))) => return,
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await
    .expect("timed out");
    assert_eq!(texts, 30);
    // 30 messages at 100 a second: the last is due 290 ms after the first.
    assert!(
        started.elapsed() >= Duration::from_millis(280),
        "{:?}",
        started.elapsed()
    );
    assert!(pings >= 2, "{pings} pings in {:?}", started.elapsed());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_idle_flood_pings() {
    let server = paced_server(10, 0, Duration::from_millis(20)).await;
    let path = "/stream?streams=btcusdt@ticker";
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}{path}", server.url()))
        .await
        .unwrap();
    let deadline = std::time::Duration::from_secs(20);
    let frame = tokio::time::timeout(deadline, ws.next())
        .await
        .expect("a ping");
    assert!(matches!(frame, Some(Ok(Message::Ping(_)))), "{frame:?}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_client_close_mid_flood_is_answered() {
    let server = flood_server(u64::MAX).await;
    let mut ws = connect(server.url()).await;
    for _ in 0..100 {
        assert!(matches!(ws.next().await, Some(Ok(Message::Text(_)))));
    }
    ws.send(Message::Close(None)).await.unwrap();
    let deadline = std::time::Duration::from_secs(20);
    tokio::time::timeout(deadline, async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Close(_) = message {
                break;
            }
        }
    })
    .await
    .expect("close reply timed out");
    tokio::time::timeout(
        deadline,
        server.stats().wait_until(|s| s.closes_received() == 1),
    )
    .await
    .unwrap();
    server.shutdown().await.unwrap();
}

#[test]
fn raw_framing_sends_bare_payloads() {
    let mut flood = binance(Framing::Raw, &["btcusdt@bookTicker"]);
    let mut bytes = Vec::new();
    flood.push(&mut bytes);
    let payload = &payloads(&bytes)[0];
    assert!(payload.starts_with("{\"u\":"), "{payload}");
    assert!(payload.contains("\"s\":\"BTCUSDT\""), "{payload}");
}

/// `--drop-after N` on a flood, unpaced and paced: N messages, then the TCP connection ends
/// without a Close frame, as the replay's sessions do.
#[tokio::test]
async fn drop_after_ends_the_flood_without_a_close_frame() {
    for rate in [0, 20_000] {
        let server = server(Behavior {
            flood: Some(10_000),
            rate,
            drop_after: Some(300),
            ..Default::default()
        })
        .await;
        let mut ws = connect(server.url()).await;
        let mut texts = 0;
        let deadline = std::time::Duration::from_secs(20);
        let end = tokio::time::timeout(deadline, async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(_))) => texts += 1,
                    Some(Ok(Message::Ping(_))) => {}
                    other => return other,
                }
            }
        })
        .await
        .expect("timed out");
        assert_eq!(texts, 300, "rate {rate}");
        assert!(
            !matches!(end, Some(Ok(Message::Close(_)))),
            "rate {rate}: {end:?}"
        );
        assert_eq!(server.stats().messages_sent(), 300, "rate {rate}");
        server.shutdown().await.unwrap();
    }
}

/// Event times are the server's clock, as the replay's generated depth streams are, in the
/// unit the URL asks for: ms, or µs under `timeUnit=MICROSECOND`; trade times not after
/// them.
#[tokio::test]
async fn times_are_the_clock_in_the_unit_asked_for() {
    let server = flood_server(400).await;
    for (query, digits, ns_per_unit) in [("", 13, 1_000_000), ("&timeUnit=MICROSECOND", 16, 1_000)]
    {
        let before = crate::clock::now_ns() / ns_per_unit;
        let url = format!(
            "{}/stream?streams=btcusdt@trade/ethusdt@aggTrade{query}",
            server.url()
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut texts = Vec::new();
        let deadline = std::time::Duration::from_secs(20);
        tokio::time::timeout(deadline, async {
            while let Some(Ok(message)) = ws.next().await {
                match message {
                    Message::Text(text) => texts.push(text),
                    Message::Close(_) => return,
                    _ => {}
                }
            }
        })
        .await
        .expect("timed out");
        let after = crate::clock::now_ns() / ns_per_unit;
        assert_eq!(texts.len(), 400, "{query}");
        let mut last = 0;
        for text in &texts {
            let frame: serde_json::Value = serde_json::from_str(text).unwrap();
            let event = frame["data"]["E"].as_u64().unwrap();
            let trade = frame["data"]["T"].as_u64().unwrap();
            assert_eq!(event.to_string().len(), digits, "{query}: {text}");
            assert!(
                (before..=after).contains(&event),
                "{query}: {before}..={after}: {text}"
            );
            assert!(trade <= event && event >= last, "{query}: {text}");
            last = event;
        }
    }
    server.shutdown().await.unwrap();
}

/// `--clock-shift` moves the flood's times as it moves the replay's.
#[test]
fn the_clock_shift_moves_the_times() {
    let names = ["btcusdt@trade".to_owned()];
    let clock = Clock {
        micros: true,
        shift_ms: -3_600_000,
    };
    let before = crate::clock::now_ns() / 1_000 - 3_600_000_000;
    let mut flood = Flood::new(Protocol::Binance, &names, Framing::Raw, clock);
    let after = crate::clock::now_ns() / 1_000 - 3_600_000_000;
    let mut bytes = Vec::new();
    flood.push(&mut bytes);
    let frame: serde_json::Value = serde_json::from_str(&payloads(&bytes)[0]).unwrap();
    let event = frame["E"].as_u64().unwrap();
    assert!(
        (before..=after).contains(&event),
        "{before}..={after}: {frame}"
    );
}

/// The next frame from `ws`, in 20 s at most.
async fn within(
    ws: &mut WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    tokio::time::timeout(Duration::from_secs(20), ws.next())
        .await
        .expect("timed out")
}

/// `--limit`, `--close-after` and `--stall-after` end a flood, unpaced and paced, as they end
/// a replayed session: N messages, then the connection idles open (pings go on), closes
/// normally, or goes silent (a client ping is not answered).
#[tokio::test]
async fn limit_close_after_and_stall_after_end_the_flood_as_in_a_replay() {
    #[derive(Debug, Clone, Copy)]
    enum Then {
        Idle,
        Close,
        Silent,
    }
    let ping_interval = Duration::from_millis(50);
    for rate in [0, 20_000] {
        for (then, behavior) in [
            (
                Then::Idle,
                Behavior {
                    limit: Some(300),
                    ..Default::default()
                },
            ),
            (
                Then::Close,
                Behavior {
                    close_after: Some(300),
                    ..Default::default()
                },
            ),
            (
                Then::Silent,
                Behavior {
                    stall_after: Some(300),
                    ..Default::default()
                },
            ),
        ] {
            let server = server(Behavior {
                flood: Some(10_000),
                rate,
                ping_interval,
                ..behavior
            })
            .await;
            let mut ws = connect(server.url()).await;
            let mut texts = 0;
            while texts < 300 {
                match within(&mut ws).await {
                    Some(Ok(Message::Text(_))) => texts += 1,
                    Some(Ok(Message::Ping(_))) => {}
                    other => panic!("{then:?} at rate {rate}: {other:?} after {texts}"),
                }
            }
            match then {
                Then::Idle => {
                    // Two pings in a row: open, and no more data.
                    for _ in 0..2 {
                        let frame = within(&mut ws).await;
                        assert!(
                            matches!(frame, Some(Ok(Message::Ping(_)))),
                            "{then:?} at rate {rate}: {frame:?}"
                        );
                    }
                }
                Then::Close => {
                    let frame = within(&mut ws).await;
                    assert!(
                        matches!(&frame, Some(Ok(Message::Close(Some(f)))) if f.code == CloseCode::Normal),
                        "{then:?} at rate {rate}: {frame:?}"
                    );
                }
                Then::Silent => {
                    ws.send(Message::Ping(Bytes::from_static(b"hello?")))
                        .await
                        .unwrap();
                    // Ten ping intervals without a frame: no data, pong or ping.
                    let quiet = tokio::time::timeout(ping_interval * 10, ws.next()).await;
                    assert!(
                        quiet.is_err(),
                        "rate {rate}: expected silence, got {quiet:?}"
                    );
                }
            }
            tokio::time::timeout(Duration::from_secs(20), server.stats().wait_for_sent(300))
                .await
                .unwrap();
            assert_eq!(
                server.stats().messages_sent(),
                300,
                "{then:?} at rate {rate}"
            );
            drop(ws);
            server.shutdown().await.unwrap();
        }
    }
}
