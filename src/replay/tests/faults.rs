//! The replay server's faults and limits over real sockets: dropped and stalled streams,
//! refused handshakes, injected frames, connection age, pong timeouts, and its URLs.

use super::*;

/// Reads until the server's Close frame and returns it.
async fn close_frame(ws: &mut Client) -> CloseFrame {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Close(Some(frame)))) => return frame,
            Some(Ok(Message::Text(_) | Message::Ping(_))) => continue,
            other => panic!("expected a Close frame, got {other:?}"),
        }
    }
}

/// Reads on (answering pings) until the connection ends.
async fn read_to_end(ws: &mut Client) {
    while let Some(Ok(_)) = within(ws.next()).await {}
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text:.200}"))
}

#[tokio::test]
async fn drop_after_ends_the_stream_without_a_close_frame() {
    let behavior = Behavior {
        looped: true,
        drop_after: Some(2),
        ..Behavior::default()
    };
    let server = start(&[TR1], behavior).await;
    let stats = server.stats();
    let mut ws = connect(server.url(), "/ws/btcusdt@trade").await;
    assert_eq!(next_text(&mut ws).await, TR1);
    assert_eq!(next_text(&mut ws).await, TR1);
    match within(ws.next()).await {
        None
        | Some(Err(
            tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)
            | tungstenite::Error::Io(_),
        )) => {}
        other => panic!("expected the connection to end without a Close frame, got {other:?}"),
    }
    within(stats.wait_until(|s| s.connections_open() == 0)).await;
    let snap = stats.snapshot();
    assert_eq!(
        (
            snap.messages_sent,
            snap.connections_accepted,
            snap.closes_received
        ),
        (2, 1, 0)
    );
}

#[tokio::test]
async fn stall_after_goes_silent_with_the_socket_open() {
    let behavior = Behavior {
        looped: true,
        stall_after: Some(2),
        ping_interval: Duration::from_millis(100),
        ..Behavior::default()
    };
    let server = start(&[TR1], behavior).await;
    let stats = server.stats();
    let mut a = connect(server.url(), "/ws/btcusdt@trade").await;
    let mut b = connect(server.url(), "/ws/btcusdt@trade").await;
    for ws in [&mut a, &mut b] {
        assert_eq!(next_text(ws).await, TR1);
        assert_eq!(next_text(ws).await, TR1);
    }
    within(stats.wait_for_sent(4)).await;
    // Neither a request nor a ping is answered; no data and no server pings arrive over
    // ten ping intervals.
    let list = r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#;
    within(a.send(Message::text(list))).await.expect("send");
    within(a.send(Message::Ping(Bytes::from_static(b"hello?"))))
        .await
        .expect("send");
    let quiet = tokio::time::timeout(Duration::from_secs(1), a.next()).await;
    assert!(quiet.is_err(), "expected silence, got {quiet:?}");
    let snap = stats.snapshot();
    assert_eq!((snap.connections_open, snap.messages_sent), (2, 4));
    assert_eq!((snap.requests, snap.pongs_received), (0, 0));

    // A stalled session ends when its client goes away...
    drop(a);
    within(stats.wait_until(|s| s.connections_open() == 1)).await;
    // ...or when the server stops, without waiting for the grace period.
    let started = Instant::now();
    within(server.shutdown()).await.expect("shutdown");
    assert!(
        started.elapsed() < SHUTDOWN_GRACE,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stats.connections_open(), 0);
    drop(b);
}

#[tokio::test]
async fn refusals_carry_their_status_and_retry_after() {
    let cases = [
        (RefusalStatus::TooManyRequests, Some(7)),
        (RefusalStatus::Banned, Some(120)),
        (RefusalStatus::Unavailable, None),
    ];
    for (status, retry_after) in cases {
        let refuse = Refusal {
            retry_after,
            ..Refusal::new(status)
        };
        let behavior = Behavior {
            refuse: Some(refuse),
            ..Behavior::default()
        };
        let server = start(&[TR1], behavior).await;
        // The refusal stands in front of routing: a bad path gets it too.
        for path in [
            "/ws/btcusdt@trade",
            "/stream?streams=btcusdt@trade",
            "/nope",
        ] {
            match within(connect_async(format!("{}{path}", server.url()))).await {
                Err(tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status(), status.code(), "{status} {path}");
                    let header = response
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().expect("ASCII").to_owned());
                    assert_eq!(header, retry_after.map(|s| s.to_string()), "{status}");
                }
                other => panic!("{status} {path}: expected an HTTP error, got {other:?}"),
            }
        }
        let stats = server.stats();
        within(stats.wait_until(|s| s.handshakes_refused() == 3)).await;
        let snap = stats.snapshot();
        assert_eq!(
            (snap.connections_accepted, snap.connections_open),
            (0, 0),
            "{status}"
        );
    }
}

#[tokio::test]
async fn refuse_first_refuses_k_handshakes_then_accepts() {
    let refuse = Refusal {
        retry_after: Some(1),
        first: Some(2),
        ..Refusal::new(RefusalStatus::TooManyRequests)
    };
    let behavior = Behavior {
        refuse: Some(refuse),
        ..Behavior::default()
    };
    let server = start(&[TR1], behavior).await;
    let stats = server.stats();
    let url = format!("{}/ws/btcusdt@trade", server.url());
    for attempt in 1..=2 {
        match within(connect_async(&url)).await {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
            other => panic!("attempt {attempt}: expected HTTP 429, got {other:?}"),
        }
    }
    let mut a = connect(server.url(), "/ws/btcusdt@trade").await;
    let mut b = connect(server.url(), "/ws/btcusdt@trade").await;
    assert_eq!(next_text(&mut a).await, TR1);
    assert_eq!(next_text(&mut b).await, TR1);
    for ws in [&mut a, &mut b] {
        within(ws.close(None)).await.expect("close");
        read_to_end(ws).await;
    }
    within(stats.wait_until(|s| s.connections_open() == 0)).await;
    let snap = stats.snapshot();
    assert_eq!(
        (
            snap.handshakes_refused,
            snap.connections_accepted,
            snap.max_connections_open
        ),
        (2, 2, 2)
    );
}

#[tokio::test]
async fn injections_arrive_at_their_positions() {
    use InjectionKind::{Malformed, Oversized, ServerShutdown, Truncated};
    let at = |kind, after| Injection { kind, after };
    let behavior = Behavior {
        // Out of order on purpose; two at the same count keep the order given.
        injections: vec![
            at(ServerShutdown, 3),
            at(Malformed, 0),
            at(Truncated, 1),
            at(Malformed, 1),
            at(Oversized, 2),
        ],
        oversized_bytes: 100_000,
        ..Behavior::default()
    };
    let server = start(&[TR1, BT1, TR2, TR3], behavior).await;
    let stats = server.stats();
    let check_malformed = |text: &str| {
        assert!(text.starts_with(r#"{"stream":"#), "{text}");
        assert!(serde_json::from_str::<serde_json::Value>(text).is_err());
    };
    let check_oversized = |text: &str| {
        assert_eq!(text.len(), 100_000);
        let value = json(text);
        let data = value.get("data").unwrap_or(&value);
        assert_eq!(data["t"], 3735683260_u64, "based on the last data message");
        assert!(data["padding"].is_string());
    };
    let now_ms = crate::clock::now_ns() / 1_000_000;
    let check_shutdown = |payload: &serde_json::Value| {
        assert_eq!(payload["e"], "serverShutdown");
        let time = payload["E"].as_u64().expect("E");
        assert!(time >= now_ms && time < now_ms + 60_000, "{time}");
    };

    let mut ws = connect(server.url(), "/stream?streams=btcusdt@trade").await;
    let tr1 = combined("btcusdt@trade", TR1);
    check_malformed(&next_text(&mut ws).await);
    assert_eq!(next_text(&mut ws).await, tr1);
    assert_eq!(next_text(&mut ws).await, tr1[..tr1.len() / 2]);
    check_malformed(&next_text(&mut ws).await);
    assert_eq!(next_text(&mut ws).await, combined("btcusdt@trade", TR2));
    check_oversized(&next_text(&mut ws).await);
    assert_eq!(next_text(&mut ws).await, combined("btcusdt@trade", TR3));
    let shutdown = json(&next_text(&mut ws).await);
    assert_eq!(shutdown["stream"], "!serverShutdown");
    check_shutdown(&shutdown["data"]);

    let mut raw = connect(server.url(), "/ws/btcusdt@trade").await;
    check_malformed(&next_text(&mut raw).await);
    assert_eq!(next_text(&mut raw).await, TR1);
    assert_eq!(next_text(&mut raw).await, TR1[..TR1.len() / 2]);
    check_malformed(&next_text(&mut raw).await);
    assert_eq!(next_text(&mut raw).await, TR2);
    check_oversized(&next_text(&mut raw).await);
    assert_eq!(next_text(&mut raw).await, TR3);
    let shutdown = json(&next_text(&mut raw).await);
    assert!(shutdown.get("stream").is_none(), "{shutdown}");
    check_shutdown(&shutdown);

    // Nothing else follows: the next frame is the reply to this request.
    let list = r#"{"method":"LIST_SUBSCRIPTIONS","id":1}"#;
    for ws in [&mut ws, &mut raw] {
        assert_eq!(
            ask(ws, list).await,
            r#"{"result":["btcusdt@trade"],"id":1}"#
        );
        within(ws.close(None)).await.expect("close");
        read_to_end(ws).await;
    }
    within(stats.wait_until(|s| s.connections_open() == 0)).await;
    assert_eq!((stats.injected(), stats.messages_sent()), (10, 6));
}

#[tokio::test]
async fn max_age_closes_with_a_normal_close_frame() {
    let behavior = Behavior {
        max_age: Some(Duration::from_millis(300)),
        ping_interval: Duration::from_millis(100),
        ..Behavior::default()
    };
    let server = start(&[TR1], behavior).await;
    let stats = server.stats();
    let started = Instant::now();
    let mut ws = connect(server.url(), "/ws/btcusdt@trade").await;
    assert_eq!(next_text(&mut ws).await, TR1);
    let frame = close_frame(&mut ws).await;
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode::Normal, "max age")
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    read_to_end(&mut ws).await;
    within(stats.wait_until(|s| s.connections_open() == 0)).await;
    assert_eq!((stats.closes_received(), stats.pong_timeouts()), (1, 0));
}

#[tokio::test]
async fn pong_timeout_closes_a_silent_client_but_not_a_reading_one() {
    let interval = Duration::from_millis(100);
    let behavior = Behavior {
        ping_interval: interval,
        pong_timeout: Some(Duration::from_millis(300)),
        ..Behavior::default()
    };
    let server = start(&[], behavior).await;
    let stats = server.stats();
    // A client that never polls never pongs: tungstenite answers a ping on the next read.
    let mut silent = connect(server.url(), "/ws").await;
    let mut reader = connect(server.url(), "/ws").await;
    within(stats.wait_for_open(2)).await;

    // The reader answers every ping for twelve intervals, while the silent one times out.
    let reading = tokio::spawn(async move {
        let mut pings = 0;
        let outcome = tokio::time::timeout(interval * 12, async {
            while let Some(Ok(Message::Ping(_))) = reader.next().await {
                pings += 1;
            }
        })
        .await;
        assert!(outcome.is_err(), "the reading client lost its connection");
        (pings, reader)
    });
    within(stats.wait_until(|s| s.pong_timeouts() == 1)).await;
    // Read at once, while the server still waits for the Close reply: reading writes the
    // pongs, and a socket the server has dropped would refuse them.
    let frame = close_frame(&mut silent).await;
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode::Policy, "pong timeout")
    );
    read_to_end(&mut silent).await;

    let (pings, mut reader) = within(reading).await.expect("reader");
    assert!(pings >= 6, "{pings} pings");
    assert_eq!(
        (stats.pong_timeouts(), stats.connections_open()),
        (1, 1),
        "the reader is still connected"
    );
    within(reader.close(None)).await.expect("close");
    read_to_end(&mut reader).await;
    within(stats.wait_until(|s| s.connections_open() == 0)).await;
    assert_eq!(stats.pong_timeouts(), 1);
}

#[test]
fn urls_point_at_a_connectable_address() {
    let cases = [
        ("127.0.0.1:9443", "ws://127.0.0.1:9443"),
        ("0.0.0.0:9443", "ws://127.0.0.1:9443"),
        ("[::]:80", "ws://[::1]:80"),
    ];
    for (addr, want) in cases {
        assert_eq!(url(addr.parse().unwrap()), want);
    }
}
