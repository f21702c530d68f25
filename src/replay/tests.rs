//! End-to-end tests of the replay server: real sockets on 127.0.0.1, port 0, one server
//! per test, tokio-tungstenite as the client. No sleeps synchronize anything: tests wait on
//! frames or on [`Stats`] conditions, each under a generous timeout.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use super::*;

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

// Lines copied verbatim from the project's Binance fixtures (see sample/README.md).
const BT1: &str = r#"{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}"#;
const BT2: &str = r#"{"u":50093239219,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.60520000"}"#;
const TR1: &str = r#"{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}"#;
const TR2: &str = r#"{"e":"trade","E":1723161255619,"s":"BTCUSDT","t":3735683260,"p":"61837.63000000","q":"0.04800000","T":1723161255617,"m":true,"M":true}"#;
const TR3: &str = r#"{"e":"trade","E":1723161255619,"s":"BTCUSDT","t":3735683261,"p":"61837.63000000","q":"0.00009000","T":1723161255617,"m":true,"M":true}"#;
const AGG1: &str = r#"{"e":"aggTrade","E":1617566591315,"s":"BTCUSDT","a":665076760,"p":"58001.03000000","q":"0.08620500","f":745522877,"l":745522877,"T":1617566591314,"m":true,"M":true}"#;
const AGG2: &str = r#"{"e":"aggTrade","E":1617566591349,"s":"BTCUSDT","a":665076761,"p":"58001.04000000","q":"0.02627600","f":745522878,"l":745522878,"T":1617566591348,"m":false,"M":true}"#;
const DEPTH: &str = r#"{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61839.85000000","0.00000000"]]}"#;

/// Awaits `f`, failing the test after [`WAIT`].
async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(WAIT, f).await.expect("timed out")
}

async fn bind(lines: &[&str], behavior: Behavior) -> Server {
    let library = Library::from_lines(lines.iter().copied()).expect("library");
    let config = ReplayConfig {
        library: Arc::new(library),
        behavior,
    };
    Server::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .expect("bind")
}

async fn start(lines: &[&str], behavior: Behavior) -> RunningServer {
    bind(lines, behavior).await.spawn()
}

async fn connect(url: &str, path: &str) -> Client {
    within(connect_async(format!("{url}{path}")))
        .await
        .expect("connect")
        .0
}

/// The next text frame, skipping pings.
async fn next_text(ws: &mut Client) -> String {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Text(text))) => return text.to_string(),
            Some(Ok(Message::Ping(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn ask(ws: &mut Client, request: &str) -> String {
    within(ws.send(Message::text(request))).await.expect("send");
    next_text(ws).await
}

/// Reads until the server's Close frame and returns its code.
async fn close_code(ws: &mut Client) -> Option<CloseCode> {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(Message::Text(_) | Message::Ping(_))) => continue,
            other => panic!("expected a Close frame, got {other:?}"),
        }
    }
}

fn combined(stream: &str, payload: &str) -> String {
    format!(r#"{{"stream":"{stream}","data":{payload}}}"#)
}

#[tokio::test]
async fn combined_endpoint_sends_matching_messages_in_file_order() {
    // TR3 comes last: anything wrongly sent would arrive before it.
    let server = start(&[BT1, TR1, AGG1, BT2, TR2, AGG2, TR3], Behavior::default()).await;
    let mut ws = connect(
        server.url(),
        "/stream?streams=btcusdt@trade/btcusdt@bookTicker",
    )
    .await;
    let want = [
        combined("btcusdt@bookTicker", BT1),
        combined("btcusdt@trade", TR1),
        combined("btcusdt@bookTicker", BT2),
        combined("btcusdt@trade", TR2),
        combined("btcusdt@trade", TR3),
    ];
    for want in want {
        assert_eq!(next_text(&mut ws).await, want);
    }
    within(server.stats().wait_for_sent(5)).await;
    assert_eq!(server.stats().messages_sent(), 5);
}

#[tokio::test]
async fn sample_recording_is_sent_byte_for_byte() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample/binance-sample.jsonl");
    let text = std::fs::read_to_string(&path).expect("sample");
    let config = ReplayConfig::load(&[path]).expect("load");
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
        .spawn();
    let mut ws = connect(
        server.url(),
        "/stream?streams=btcusdt@trade/btcusdt@bookTicker",
    )
    .await;
    let expected: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(r#"{"u":"#) || l.starts_with(r#"{"e":"trade""#))
        .collect();
    assert_eq!(expected.len(), 80);
    for line in expected {
        let frame = next_text(&mut ws).await;
        let data = frame
            .split_once(r#","data":"#)
            .and_then(|(_, rest)| rest.strip_suffix('}'))
            .expect("combined frame");
        assert_eq!(data, line);
    }
}

#[tokio::test]
async fn raw_endpoint_sends_payloads_verbatim() {
    let server = start(&[BT1, AGG1, TR1, AGG2], Behavior::default()).await;
    let mut ws = connect(server.url(), "/ws/btcusdt@aggTrade").await;
    assert_eq!(next_text(&mut ws).await, AGG1);
    assert_eq!(next_text(&mut ws).await, AGG2);
}

#[tokio::test]
async fn a_speed_suffix_matches_the_recorded_stream() {
    let server = start(&[TR1, DEPTH], Behavior::default()).await;
    let mut raw = connect(server.url(), "/ws/btcusdt@depth@100ms").await;
    assert_eq!(next_text(&mut raw).await, DEPTH);
    let mut comb = connect(server.url(), "/stream?streams=btcusdt@depth@100ms").await;
    assert_eq!(
        next_text(&mut comb).await,
        combined("btcusdt@depth@100ms", DEPTH),
        "the stream is named as the client asked"
    );
}

#[tokio::test]
async fn requests_are_answered_and_applied() {
    let server = start(&[TR1, BT1, TR2], Behavior::default()).await;
    let mut ws = connect(server.url(), "/ws").await;
    let list = r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#;
    assert_eq!(ask(&mut ws, list).await, r#"{"result":[],"id":1}"#);
    let subscribe = r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":2}"#;
    assert_eq!(ask(&mut ws, subscribe).await, r#"{"result":null,"id":2}"#);
    assert_eq!(next_text(&mut ws).await, TR1);
    assert_eq!(next_text(&mut ws).await, TR2);
    let list = r#"{"method":"LIST_SUBSCRIPTIONS","id":3}"#;
    assert_eq!(
        ask(&mut ws, list).await,
        r#"{"result":["btcusdt@trade"],"id":3}"#
    );
    let unsubscribe = r#"{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":4}"#;
    assert_eq!(ask(&mut ws, unsubscribe).await, r#"{"result":null,"id":4}"#);
    let list = r#"{"method":"LIST_SUBSCRIPTIONS","id":5}"#;
    assert_eq!(ask(&mut ws, list).await, r#"{"result":[],"id":5}"#);
    let bad_method = ask(&mut ws, r#"{"method":"PING","id":6}"#).await;
    assert!(
        bad_method.starts_with(r#"{"error":{"code":2,"msg":"Invalid request: unknown method"#)
            && bad_method.ends_with(r#""},"id":6}"#),
        "{bad_method}"
    );
    assert_eq!(
        ask(&mut ws, "not json").await,
        r#"{"error":{"code":3,"msg":"Invalid JSON: expected ident at line 1 column 2"}}"#
    );
    let bad_stream = r#"{"method":"SUBSCRIBE","params":["BTCUSDT"],"id":8}"#;
    assert_eq!(
        ask(&mut ws, bad_stream).await,
        r#"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":8}"#
    );
    assert_eq!(server.stats().requests(), 8);
}

#[tokio::test]
async fn set_property_switches_to_combined_framing() {
    let server = start(&[BT1, TR1], Behavior::default()).await;
    let mut ws = connect(server.url(), "/ws").await;
    let get = r#"{"method":"GET_PROPERTY","params":["combined"],"id":1}"#;
    assert_eq!(ask(&mut ws, get).await, r#"{"result":false,"id":1}"#);
    let set = r#"{"method":"SET_PROPERTY","params":["combined",true],"id":2}"#;
    assert_eq!(ask(&mut ws, set).await, r#"{"result":null,"id":2}"#);
    let subscribe = r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":3}"#;
    assert_eq!(ask(&mut ws, subscribe).await, r#"{"result":null,"id":3}"#);
    assert_eq!(next_text(&mut ws).await, combined("btcusdt@trade", TR1));
}

#[tokio::test]
async fn limit_sends_n_then_idles_with_the_connection_open() {
    let behavior = Behavior {
        looped: true,
        limit: Some(3),
        ..Behavior::default()
    };
    let server = start(&[TR1, BT1, TR2], behavior).await;
    let mut ws = connect(server.url(), "/ws/btcusdt@trade").await;
    for want in [TR1, TR2, TR1] {
        assert_eq!(next_text(&mut ws).await, want);
    }
    // Had a fourth message been sent, it would arrive before this reply.
    let list = r#"{"method":"LIST_SUBSCRIPTIONS","id":9}"#;
    assert_eq!(
        ask(&mut ws, list).await,
        r#"{"result":["btcusdt@trade"],"id":9}"#
    );
    assert_eq!(server.stats().messages_sent(), 3);
    assert_eq!(server.stats().connections_open(), 1);
}

#[tokio::test]
async fn close_after_sends_a_normal_close_frame() {
    let behavior = Behavior {
        looped: true,
        close_after: Some(2),
        ..Behavior::default()
    };
    let server = start(&[TR1], behavior).await;
    let stats = server.stats();
    let mut ws = connect(server.url(), "/ws/btcusdt@trade").await;
    assert_eq!(next_text(&mut ws).await, TR1);
    assert_eq!(next_text(&mut ws).await, TR1);
    match within(ws.next()).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected a Close frame, got {other:?}"),
    }
    // Reading on lets the client send its Close reply; then the connection ends.
    while let Some(Ok(_)) = within(ws.next()).await {}
    within(stats.wait_until(|s| s.connections_open() == 0)).await;
    assert_eq!(stats.messages_sent(), 2);
    assert_eq!(stats.closes_received(), 1);
}

#[tokio::test]
async fn looping_restarts_at_the_first_message() {
    let behavior = Behavior {
        looped: true,
        limit: Some(5),
        ..Behavior::default()
    };
    let server = start(&[TR1, BT1, TR2], behavior).await;
    let mut ws = connect(server.url(), "/ws/btcusdt@trade").await;
    for want in [TR1, TR2, TR1, TR2, TR1] {
        assert_eq!(next_text(&mut ws).await, want);
    }
}

#[tokio::test]
async fn looping_with_nothing_matching_waits_for_a_subscription() {
    let behavior = Behavior {
        looped: true,
        limit: Some(2),
        ..Behavior::default()
    };
    let server = start(&[BT1, TR1], behavior).await;
    let mut ws = connect(server.url(), "/ws/ethusdt@trade").await;
    let list = r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#;
    assert_eq!(
        ask(&mut ws, list).await,
        r#"{"result":["ethusdt@trade"],"id":1}"#
    );
    let subscribe = r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":2}"#;
    assert_eq!(ask(&mut ws, subscribe).await, r#"{"result":null,"id":2}"#);
    assert_eq!(next_text(&mut ws).await, TR1);
    assert_eq!(next_text(&mut ws).await, TR1);
}

#[tokio::test]
async fn rate_spaces_messages() {
    let behavior = Behavior {
        rate: 20,
        looped: true,
        limit: Some(5),
        ..Behavior::default()
    };
    let server = start(&[TR1], behavior).await;
    let mut ws = connect(server.url(), "/ws/btcusdt@trade").await;
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(next_text(&mut ws).await, TR1);
    }
    // Four gaps of 50 ms; only the lower bound is safe to check on a busy machine.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
}

#[tokio::test]
async fn pings_arrive_and_pongs_are_counted() {
    let behavior = Behavior {
        ping_interval: Duration::from_millis(200),
        ..Behavior::default()
    };
    let server = start(&[], behavior).await;
    let mut ws = connect(server.url(), "/ws").await;
    for _ in 0..2 {
        match within(ws.next()).await {
            Some(Ok(Message::Ping(payload))) => assert!(!payload.is_empty()),
            other => panic!("expected a Ping, got {other:?}"),
        }
    }
    // tungstenite queued a Pong for each Ping; reading flushed the first, this the second.
    within(ws.flush()).await.expect("flush");
    within(server.stats().wait_until(|s| s.pongs_received() >= 2)).await;
}

#[tokio::test]
async fn stats_count_connections_and_fall_back_to_zero_open() {
    let server = start(&[TR1], Behavior::default()).await;
    let stats = server.stats();
    let mut a = connect(server.url(), "/ws").await;
    let mut b = connect(server.url(), "/stream?streams=btcusdt@trade").await;
    let c = connect(server.url(), "/ws/btcusdt@trade").await;
    within(stats.wait_for_open(3)).await;
    within(stats.wait_for_connections(3)).await;
    assert_eq!(stats.max_connections_open(), 3);

    for ws in [&mut a, &mut b] {
        within(ws.close(None)).await.expect("close");
        while let Some(Ok(_)) = within(ws.next()).await {}
    }
    drop(c); // gone without a Close frame
    within(stats.wait_until(|s| s.connections_open() == 0)).await;
    let snap = stats.snapshot();
    assert_eq!(
        (
            snap.connections_accepted,
            snap.max_connections_open,
            snap.closes_received
        ),
        (3, 3, 2)
    );
}

#[tokio::test]
async fn shutdown_sends_close_frames_and_run_returns_promptly() {
    let server = bind(&[TR1], Behavior::default()).await;
    let (url, stats) = (server.url(), server.stats());
    let (fire, fired) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(server.run(async {
        let _ = fired.await;
    }));
    let mut clients = Vec::new();
    for path in ["/ws", "/ws/btcusdt@trade", "/stream?streams=btcusdt@trade"] {
        let mut ws = connect(&url, path).await;
        clients.push(tokio::spawn(async move { close_code(&mut ws).await }));
    }
    within(stats.wait_for_open(3)).await;

    let started = Instant::now();
    fire.send(()).expect("server is running");
    within(run).await.expect("run task").expect("run");
    assert!(
        started.elapsed() < SHUTDOWN_GRACE,
        "{:?}",
        started.elapsed()
    );
    for client in clients {
        assert_eq!(within(client).await.expect("client"), Some(CloseCode::Away));
    }
    assert_eq!(stats.connections_open(), 0);
    assert!(
        connect_async(format!("{url}/ws")).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_client_that_never_reads() {
    let server = start(&[TR1], Behavior::default()).await;
    let stats = server.stats();
    let _silent = connect(server.url(), "/ws").await;
    within(stats.wait_for_open(1)).await;
    let started = Instant::now();
    within(server.shutdown()).await.expect("shutdown");
    assert!(started.elapsed() < SHUTDOWN_GRACE + Duration::from_secs(1));
    assert_eq!(stats.connections_open(), 0);
}

#[tokio::test]
async fn dropping_a_running_server_stops_it() {
    let server = start(&[], Behavior::default()).await;
    let stats = server.stats();
    let mut ws = connect(server.url(), "/ws").await;
    within(stats.wait_for_open(1)).await;
    drop(server);
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Away));
}

#[tokio::test]
async fn unknown_paths_are_refused_with_404() {
    let server = start(&[TR1], Behavior::default()).await;
    for path in ["/", "/nope", "/ws/not-a-stream", "/api/v3/depth"] {
        match within(connect_async(format!("{}{path}", server.url()))).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 404, "{path}");
            }
            other => panic!("{path}: expected HTTP 404, got {other:?}"),
        }
    }
    let stats = server.stats();
    within(stats.wait_until(|s| s.handshakes_refused() == 4)).await;
    assert_eq!(stats.connections_accepted(), 0);
}

mod faults;
