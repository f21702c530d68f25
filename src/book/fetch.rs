//! Fetching REST depth snapshots (`GET {rest-endpoint}/api/v3/depth?symbol=S&limit=N`).
//!
//! This module owns one HTTP/1.1 GET per snapshot, on a connection of its own (snapshots
//! are rare: one per symbol per sync), over plain TCP or TLS verified against the same
//! webpki roots the WebSocket uses, under a deadline. It tells apart what the caller must
//! handle differently ([`FetchError`]): 429/418 with their `Retry-After`, other statuses,
//! and transport failures. Deciding when to fetch (weight budget, one in flight per
//! symbol) is not here: see [`super::budget`] and [`super::sync`].

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, pki_types::ServerName};

use super::binance::{self, WireError};
use super::sync::Snapshot;

/// The largest snapshot body read (a 5000-level Binance snapshot is about 250 KB).
const MAX_BODY: usize = 8 << 20;

/// Why a snapshot could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// `--rest-endpoint` is not an `http://` or `https://` URL.
    #[error("invalid REST endpoint {0:?}: expected http://HOST[:PORT] or https://HOST[:PORT]")]
    Endpoint(String),
    /// The venue asks to slow down: 429 (too many requests) or 418 (IP banned for it).
    #[error("REST snapshot refused with {status}; retry after {retry_after:?}")]
    RateLimited {
        /// 429 or 418.
        status: u16,
        /// The `Retry-After` header, when the venue sent one.
        retry_after: Option<Duration>,
    },
    /// Any other non-200 answer; the start of its body says why.
    #[error("REST snapshot answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Up to 200 characters of the body.
        body: String,
    },
    /// Connecting, TLS or HTTP failed.
    #[error("REST snapshot request failed: {0}")]
    Transport(String),
    /// No complete answer within the deadline.
    #[error("REST snapshot took longer than {0:?}")]
    Timeout(Duration),
    /// The body is not a depth snapshot.
    #[error(transparent)]
    Body(#[from] WireError),
}

/// A REST answer as a raw capture keeps it (see [`crate::raw::Event::Rest`]).
#[derive(Debug, Clone)]
pub struct RestAnswer {
    /// The URL requested.
    pub url: String,
    /// When the answer was complete (the snapshot's `recv_ns`).
    pub recv_ns: u64,
    /// The body of a `200` answer, or why there was none.
    pub body: Result<Bytes, String>,
}

/// A `200` answer's body read as a Binance depth snapshot received at `recv_ns`.
pub fn snapshot_of(body: &[u8], recv_ns: u64) -> Result<Snapshot, FetchError> {
    let text = std::str::from_utf8(body).map_err(|e| FetchError::Status {
        status: 200,
        body: format!("not UTF-8: {e}"),
    })?;
    Ok(binance::snapshot(text, recv_ns)?)
}

/// Where snapshots come from, and how.
#[derive(Clone)]
pub struct SnapshotClient {
    /// `https` or not.
    tls: Option<TlsConnector>,
    /// Host name (for TLS and the Host header) and port.
    host: String,
    port: u16,
    /// A path prefix of the endpoint, without the trailing slash (usually empty).
    prefix: String,
    /// Deadline of one request, connection included.
    timeout: Duration,
}

impl std::fmt::Debug for SnapshotClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotClient")
            .field("tls", &self.tls.is_some())
            .field("host", &self.host)
            .field("port", &self.port)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl SnapshotClient {
    /// A client of `endpoint` (such as `https://api.binance.com`); each request must be
    /// answered within `timeout`.
    pub fn new(endpoint: &str, timeout: Duration) -> Result<SnapshotClient, FetchError> {
        let bad = || FetchError::Endpoint(endpoint.to_owned());
        let uri: Uri = endpoint.parse().map_err(|_| bad())?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad()),
        };
        if uri.query().is_some() {
            return Err(bad());
        }
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(bad)?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let prefix = uri.path().trim_end_matches('/').to_owned();
        let tls = tls.then(|| {
            let roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            TlsConnector::from(Arc::new(config))
        });
        Ok(SnapshotClient {
            tls,
            host,
            port,
            prefix,
            timeout,
        })
    }

    /// `GET {path}?symbol={symbol}&limit={limit}`, read as a Binance depth snapshot
    /// received at `recv_ns()` (called when the answer is complete).
    pub async fn depth(
        &self,
        path: &str,
        symbol: &str,
        limit: usize,
        recv_ns: impl FnOnce() -> u64,
    ) -> Result<Snapshot, FetchError> {
        self.depth_answer(path, symbol, limit, recv_ns).await.0
    }

    /// [`SnapshotClient::depth`], with what a raw capture keeps of it: the URL, the
    /// answer's receive time and its body (or the error).
    pub async fn depth_answer(
        &self,
        path: &str,
        symbol: &str,
        limit: usize,
        recv_ns: impl FnOnce() -> u64,
    ) -> (Result<Snapshot, FetchError>, RestAnswer) {
        let path_and_query = format!("{path}?symbol={symbol}&limit={limit}");
        let got = self.get(&path_and_query).await;
        let recv_ns = recv_ns();
        let answer = RestAnswer {
            url: self.url(&path_and_query),
            recv_ns,
            body: match &got {
                Ok(body) => Ok(body.clone()),
                Err(e) => Err(e.to_string()),
            },
        };
        (got.and_then(|body| snapshot_of(&body, recv_ns)), answer)
    }

    /// The full URL of `path_and_query` on this endpoint.
    pub fn url(&self, path_and_query: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "{scheme}://{host}:{}{}{path_and_query}",
            self.port, self.prefix
        )
    }

    /// One GET of `path_and_query` under the deadline; the body of a 200 answer.
    pub async fn get(&self, path_and_query: &str) -> Result<Bytes, FetchError> {
        tokio::time::timeout(self.timeout, self.get_now(path_and_query))
            .await
            .map_err(|_| FetchError::Timeout(self.timeout))?
    }

    async fn get_now(&self, path_and_query: &str) -> Result<Bytes, FetchError> {
        let transport = |e: &dyn std::fmt::Display| FetchError::Transport(e.to_string());
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                transport(&format_args!(
                    "cannot connect to {}:{}: {e}",
                    self.host, self.port
                ))
            })?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => self.exchange(tcp, path_and_query).await,
            Some(connector) => {
                let name = ServerName::try_from(self.host.clone()).map_err(|e| transport(&e))?;
                let stream = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| transport(&format_args!("TLS: {e}")))?;
                self.exchange(stream, path_and_query).await
            }
        }
    }

    async fn exchange<S>(&self, stream: S, path_and_query: &str) -> Result<Bytes, FetchError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let transport = |e: hyper::Error| FetchError::Transport(e.to_string());
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(transport)?;
        let authority = if matches!((self.tls.is_some(), self.port), (true, 443) | (false, 80)) {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let request = Request::get(format!("{}{path_and_query}", self.prefix))
            .header(header::HOST, authority)
            .header(
                header::USER_AGENT,
                concat!("foxtrot/", env!("CARGO_PKG_VERSION")),
            )
            .header(header::ACCEPT, "application/json")
            .header(header::CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        // The connection is driven here, beside the request, rather than by a task of its
        // own: it ends with the answer (`Connection: close`) or with the deadline.
        let answer = async {
            let response = sender.send_request(request).await.map_err(transport)?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = http_body_util::Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| FetchError::Transport(format!("reading the body: {e}")))?
                .to_bytes();
            Ok::<_, FetchError>((status, retry_after, body))
        };
        let (answer, _) = tokio::join!(answer, connection);
        let (status, retry_after, body) = answer?;
        match status {
            StatusCode::OK => Ok(body),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::IM_A_TEAPOT => {
                Err(FetchError::RateLimited {
                    status: status.as_u16(),
                    retry_after,
                })
            }
            _ => Err(FetchError::Status {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
