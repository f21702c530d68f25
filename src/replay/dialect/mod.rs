//! Venue dialects of the replay server: which request targets a venue serves and which
//! streams each of them delivers.
//!
//! One file per venue. A dialect reads the handshake's path and query into an
//! [`Endpoint`] (or refuses it, which the session answers with HTTP 404), and says whether
//! a stream is delivered on the route it was asked for: Binance USD-M silently delivers
//! nothing for a stream subscribed on the wrong route, and so does this server. The
//! subscribe protocol and the heartbeat of Binance venues live in `request` and `session`;
//! OKX's (`subscribe` args, the text heartbeat, closing idle connections) in `okx`;
//! Bybit's (its own session loop: `req_id` acks, JSON pings, idle close) in `bybit`; the
//! fresh snapshot both venues push on every book subscription, and the fault that makes a
//! client need one, in `books`.

pub(crate) mod binance;
pub(crate) mod binance_futures;
pub(crate) mod books;
pub(crate) mod bybit;
pub(crate) mod okx;

use super::endpoint::Endpoint;

/// Reads a request target by every dialect this server speaks: Binance spot's paths, and
/// USD-M's routed paths (`/public/...`, `/market/...`). `None` is a 404.
pub(crate) fn parse(path: &str, query: Option<&str>) -> Option<Endpoint> {
    okx::parse(path)
        .or_else(|| binance_futures::parse(path, query))
        .or_else(|| binance::parse(path, query))
}

/// Whether a stream named `stream` is delivered on a connection to `endpoint`.
pub(crate) fn delivers(endpoint_route: Option<&str>, stream: &str) -> bool {
    match endpoint_route {
        None => true,
        Some(route) => binance_futures::route_of(stream) == route,
    }
}
