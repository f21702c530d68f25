//! `wss://` verifies certificates: a self-signed server is refused with one clear line.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

use crate::util::*;

/// A TLS listener on 127.0.0.1 with a freshly made self-signed certificate.
async fn self_signed_listener() -> (u16, tokio::task::JoinHandle<()>) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
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
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            // The client refuses the certificate, so every handshake fails here.
            let _ = acceptor.accept(stream).await;
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_is_refused_with_one_line() {
    let (port, task) = self_signed_listener().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ticks.csv");
    let out = run(&[
        "record",
        "BTCUSDT",
        "--out",
        path.to_str().unwrap(),
        "--endpoint",
        &format!("wss://127.0.0.1:{port}"),
        "--connect-timeout",
        "60s",
    ])
    .await;
    task.abort();
    out.assert_no_panic();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("foxtrot: cannot connect to wss://127.0.0.1:"),
        "{first}"
    );
    assert!(first.contains("certificate"), "{first}");
    assert!(!path.exists(), "no empty file left behind");
}
