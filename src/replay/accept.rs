//! One accepted TCP connection: the WebSocket upgrade under a deadline (refusals as a
//! venue's rate limiter gives them, routing by path), then the session its endpoint and
//! the server's behaviour call for: a flood, a depth book, a Bybit dialect session or a
//! recording replayed by [`super::session`]. It does not accept TCP connections or decide
//! when the server stops (see `mod.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::behavior::Behavior;
use super::endpoint::{self, Dialect, Framing};
use super::library::Library;
use super::session::Session;
use super::stats::Stats;

/// How long a client may take to complete the HTTP upgrade.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every session of one server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The messages to send, loaded once.
    pub(crate) library: Arc<Library>,
    /// How sessions pace, stop and ping.
    pub(crate) behavior: Behavior,
    /// Where sessions report what they did.
    pub(crate) stats: Arc<Stats>,
    /// Handshakes refused by `Behavior::refuse` so far, for `Refusal::first`.
    pub(crate) refusals: AtomicU64,
    /// When the server started: the origin of the live timeline (`Behavior::live`).
    pub(crate) started: Instant,
}

/// Serves one accepted TCP connection until it closes or `stop` is cancelled.
pub(crate) async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    // Small frames should leave at once; the replay data path batches on its own.
    if let Err(e) = tcp.set_nodelay(true) {
        debug!(%peer, error = %e, "cannot set TCP_NODELAY");
    }
    let mut endpoint = None;
    let mut bybit = None;
    let mut refused = false;
    // tungstenite's `Callback` fixes this signature, large error type included.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        // A refusal stands in front of routing, as a venue's rate limiter does.
        if let Some(refusal) = &shared.behavior.refuse {
            if refusal.claim(&shared.refusals) {
                refused = true;
                return Err(refusal.response());
            }
        }
        if let Some(category) = super::dialect::bybit::category(req.uri().path()) {
            bybit = Some(category);
            return Ok(resp);
        }
        match endpoint::parse(req.uri().path(), req.uri().query()) {
            Some(found) => {
                endpoint = Some(found);
                Ok(resp)
            }
            None => {
                refused = true;
                let mut refusal = ErrorResponse::new(Some("not found".to_owned()));
                *refusal.status_mut() = StatusCode::NOT_FOUND;
                Err(refusal)
            }
        }
    };
    let handshake = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_tungstenite::accept_hdr_async(tcp, callback),
    );
    let ws = tokio::select! {
        result = handshake => result,
        () = stop.cancelled() => return,
    };
    let ws = match ws {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            if refused {
                shared.stats.handshake_refused();
            }
            debug!(%peer, error = %e, "handshake failed");
            return;
        }
        Err(_) => {
            debug!(%peer, "handshake timed out");
            return;
        }
    };
    if let (Some(category), Some(total)) = (bybit, shared.behavior.flood) {
        shared.stats.session_opened();
        let _open = OpenGuard(&shared.stats);
        let request = super::flood::Request {
            protocol: super::flood::Protocol::Bybit(category),
            streams: &[],
            framing: Framing::Raw,
            micros: false,
        };
        let sent =
            super::flood::run(ws, request, total, &shared.behavior, &shared.stats, &stop).await;
        debug!(%peer, sent, "bybit flood ended");
        return;
    }
    if let Some(category) = bybit {
        shared.stats.session_opened();
        let _open = OpenGuard(&shared.stats);
        let sent = super::dialect::bybit::run(ws, category, Arc::clone(&shared), &stop).await;
        debug!(%peer, sent, "bybit session ended");
        return;
    }
    let Some(endpoint) = endpoint else {
        return;
    };
    shared.stats.session_opened();
    let _open = OpenGuard(&shared.stats);
    if let Some(total) = shared.behavior.flood {
        let request = super::flood::Request {
            protocol: match endpoint.dialect {
                Dialect::Binance => super::flood::Protocol::Binance,
                Dialect::Okx => super::flood::Protocol::Okx,
            },
            streams: &endpoint.streams,
            framing: endpoint.framing,
            micros: endpoint.micros,
        };
        let sent =
            super::flood::run(ws, request, total, &shared.behavior, &shared.stats, &stop).await;
        debug!(%peer, sent, "flood ended");
        return;
    }
    if let Some(markets) = &shared.behavior.depth {
        let drop_after = shared.behavior.drop_after;
        let sent =
            super::depth::run(ws, &endpoint, markets, &shared.stats, &stop, drop_after).await;
        debug!(%peer, sent, "depth session ended");
        return;
    }
    let session = Session::new(&shared, endpoint, ws);
    let sent = session.run(&stop).await;
    debug!(%peer, sent, "session ended");
}

/// Keeps `connections_open` right even when the session future is dropped by the abort.
struct OpenGuard<'a>(&'a Stats);

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.session_closed();
    }
}
