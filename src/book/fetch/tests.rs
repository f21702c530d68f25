//! The snapshot client against the replay server's REST endpoint and a TLS server on
//! 127.0.0.1.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::PrivateKeyDer;

use super::*;
use crate::replay::{DepthFeed, DepthMarkets, RestFaults, RestServer};

const TIMEOUT: Duration = Duration::from_secs(20);

async fn rest(feed: DepthFeed) -> crate::replay::RunningRest {
    let markets = Arc::new(DepthMarkets::new(feed));
    RestServer::bind("127.0.0.1:0".parse().unwrap(), markets)
        .await
        .unwrap()
        .spawn()
}

#[test]
fn reads_the_endpoint() {
    let c = SnapshotClient::new("https://api.binance.com", TIMEOUT).unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.prefix.as_str(), c.tls.is_some()),
        ("api.binance.com", 443, "", true)
    );
    let c = SnapshotClient::new("http://127.0.0.1:8080/prefix/", TIMEOUT).unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.prefix.as_str(), c.tls.is_some()),
        ("127.0.0.1", 8080, "/prefix", false)
    );
    for bad in [
        "ftp://x",
        "api.binance.com",
        "",
        "http://",
        "https://x/?a=b",
    ] {
        assert!(
            matches!(
                SnapshotClient::new(bad, TIMEOUT),
                Err(FetchError::Endpoint(_))
            ),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn fetches_a_snapshot_and_tells_the_failures_apart() {
    let server = rest(DepthFeed {
        levels: 100,
        rest: RestFaults {
            too_many_first: 1,
            retry_after_secs: 3,
            ..RestFaults::default()
        },
        ..DepthFeed::default()
    })
    .await;
    let client = SnapshotClient::new(server.url(), TIMEOUT).unwrap();
    match client.depth("/api/v3/depth", "BTCUSDT", 10, || 7).await {
        Err(FetchError::RateLimited {
            status: 429,
            retry_after,
        }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(3)));
        }
        other => panic!("{other:?}"),
    }
    let snapshot = client
        .depth("/api/v3/depth", "BTCUSDT", 10, || 7)
        .await
        .unwrap();
    assert_eq!(
        (snapshot.bids.len(), snapshot.asks.len(), snapshot.recv_ns),
        (10, 10, 7)
    );
    match client.depth("/api/v3/depth", "BTCUSDT", 0, || 7).await {
        Err(FetchError::Status { status: 400, body }) => assert!(body.contains("-1100"), "{body}"),
        other => panic!("{other:?}"),
    }
    match client.depth("/fapi/v1/depth", "BTCUSDT", 10, || 7).await {
        Err(FetchError::Status { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        // Hold the connection open without a word until the test ends.
        std::future::pending::<()>().await;
        drop(stream);
    });
    let client = SnapshotClient::new(&url, Duration::from_millis(300)).unwrap();
    assert!(matches!(
        client.get("/api/v3/depth?symbol=X").await,
        Err(FetchError::Timeout(_))
    ));
    held.abort();
}

#[tokio::test]
async fn a_self_signed_certificate_is_refused() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let _ = acceptor.accept(stream).await;
    });
    let client = SnapshotClient::new(&format!("https://localhost:{port}"), TIMEOUT).unwrap();
    match client.get("/api/v3/depth?symbol=BTCUSDT").await {
        Err(FetchError::Transport(message)) => assert!(message.starts_with("TLS:"), "{message}"),
        other => panic!("{other:?}"),
    }
    let _ = server.await;
}
