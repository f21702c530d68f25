//! Which endpoint a client's handshake asked for: `/ws/<stream>` or `/stream?streams=`.
//!
//! This module owns reading the request target into an [`Endpoint`]; anything else is
//! `None`, which the session answers with HTTP 404. It does not perform the handshake.

use super::streams;

/// How data messages are framed on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// The payload alone, as on `/ws/<stream>`.
    Raw,
    /// `{"stream":<name>,"data":<payload>}`, as on `/stream?streams=...`.
    Combined,
}

/// What a client connected to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// The framing of data messages (a client may switch it with `SET_PROPERTY`).
    pub(crate) framing: Framing,
    /// Streams subscribed from the start, in the order written.
    pub(crate) streams: Vec<String>,
    /// The route of a routed venue (USD-M `public` or `market`); `None` delivers anything.
    pub(crate) route: Option<&'static str>,
    /// Times in microseconds (`timeUnit=MICROSECOND`): the session rewrites them.
    pub(crate) micros: bool,
}

/// Reads a request path and query by the dialects this server speaks (see `dialect`),
/// or `None` when it has no such endpoint.
pub(crate) fn parse(path: &str, query: Option<&str>) -> Option<Endpoint> {
    super::dialect::parse(path, query)
}

/// The stream names of a `/`-separated list as written in a path or query; `None` when
/// one is malformed.
pub(crate) fn streams_of(list: &str) -> Option<Vec<String>> {
    list.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s).filter(|s| streams::is_valid_in_path(s)))
        .collect()
}

/// Decodes `%XX` escapes (clients may send `@` as `%40`); `None` if malformed.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        use Framing::{Combined, Raw};
        let ok = |framing, streams: &[&str]| {
            Some(Endpoint {
                framing,
                streams: streams.iter().map(|s| s.to_string()).collect(),
                route: None,
                micros: false,
            })
        };
        let cases = [
            ("/ws", None, ok(Raw, &[])),
            ("/ws/", None, ok(Raw, &[])),
            ("/ws/btcusdt@trade", None, ok(Raw, &["btcusdt@trade"])),
            ("/ws/btcusdt%40trade", None, ok(Raw, &["btcusdt@trade"])),
            (
                "/ws/btcusdt@trade/ethusdt@depth@100ms",
                None,
                ok(Raw, &["btcusdt@trade", "ethusdt@depth@100ms"]),
            ),
            (
                "/stream",
                Some("streams=btcusdt@trade/btcusdt@bookTicker"),
                ok(Combined, &["btcusdt@trade", "btcusdt@bookTicker"]),
            ),
            (
                "/stream",
                Some("timeUnit=MICROSECOND&streams=btcusdt@trade"),
                ok(Combined, &["btcusdt@trade"]).map(|e| Endpoint { micros: true, ..e }),
            ),
            ("/stream", None, ok(Combined, &[])),
            ("/", None, None),
            ("/nope", None, None),
            ("/wsx/btcusdt@trade", None, None),
            ("/ws/btcusdt", None, None),
            ("/ws/btcusdt%4", None, None),
            ("/stream", Some("streams=btcusdt@trade/not a stream"), None),
        ];
        for (path, query, want) in cases {
            assert_eq!(parse(path, query), want, "{path} {query:?}");
        }
    }
}
