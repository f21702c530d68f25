//! Binance USD-M futures' routed request targets: `/public/ws/...`, `/public/stream?...`,
//! `/market/ws/...`, `/market/stream?...`. High-frequency public data (`bookTicker`,
//! `depth`) is delivered on `/public`, everything else on `/market`; a stream asked for
//! on the other route is accepted and never delivered, as Binance does.

use crate::replay::endpoint::Endpoint;

/// The routes.
pub(crate) const ROUTES: [&str; 2] = ["public", "market"];

/// Reads a routed request target, or `None` when it has no route prefix.
pub(crate) fn parse(path: &str, query: Option<&str>) -> Option<Endpoint> {
    let (route, rest) = ROUTES
        .iter()
        .find_map(|route| Some((*route, path.strip_prefix('/')?.strip_prefix(route)?)))?;
    let mut endpoint = super::binance::parse(rest, query)?;
    endpoint.route = Some(route);
    Some(endpoint)
}

/// The route a stream is delivered on.
pub(crate) fn route_of(stream: &str) -> &'static str {
    let channel = stream.split_once('@').map_or("", |(_, c)| c);
    if channel == "bookTicker" || channel.starts_with("depth") {
        "public"
    } else {
        "market"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_targets_and_what_they_deliver() {
        let public = parse("/public/stream", Some("streams=btcusdt@bookTicker")).unwrap();
        assert_eq!(public.route, Some("public"));
        assert_eq!(public.streams, ["btcusdt@bookTicker"]);
        let market = parse("/market/ws/btcusdt@markPrice", None).unwrap();
        assert_eq!(market.route, Some("market"));
        assert!(parse("/stream", Some("streams=btcusdt@trade")).is_none());
        assert!(parse("/private/ws", None).is_none());
        assert!(parse("/publicstream", None).is_none());
        for (stream, route) in [
            ("btcusdt@bookTicker", "public"),
            ("btcusdt@depth@100ms", "public"),
            ("btcusdt@aggTrade", "market"),
            ("btcusdt@trade", "market"),
            ("btcusdt@markPrice", "market"),
            ("btcusdt@forceOrder", "market"),
            ("btcusdt@kline_1m", "market"),
        ] {
            assert_eq!(route_of(stream), route, "{stream}");
        }
    }
}
