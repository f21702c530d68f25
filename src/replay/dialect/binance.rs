//! Binance spot's request targets: `/ws/<stream>...` (raw framing) and
//! `/stream?streams=<stream>/...` (combined framing). Query parameters other than
//! `streams` (such as `timeUnit`) are read by the session.

use crate::replay::endpoint::{Endpoint, Framing, streams_of};

/// Reads a spot request target, or `None` when spot has no such endpoint.
pub(crate) fn parse(path: &str, query: Option<&str>) -> Option<Endpoint> {
    let (framing, list) = if path == "/ws" || path == "/ws/" {
        (Framing::Raw, "")
    } else if let Some(list) = path.strip_prefix("/ws/") {
        (Framing::Raw, list)
    } else if path == "/stream" || path == "/stream/" {
        let list = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .find_map(|pair| pair.strip_prefix("streams="))
            .unwrap_or("");
        (Framing::Combined, list)
    } else {
        return None;
    };
    Some(Endpoint {
        framing,
        streams: streams_of(list)?,
        route: None,
        micros: micros(query),
    })
}

/// Whether the query asks for microsecond times (`timeUnit=MICROSECOND`, any case).
pub(crate) fn micros(query: Option<&str>) -> bool {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.strip_prefix("timeUnit="))
        .any(|unit| unit.eq_ignore_ascii_case("MICROSECOND"))
}

/// `frame` with its millisecond times in microseconds, as Binance writes them under
/// `timeUnit=MICROSECOND`: event time `E`, trade and close times `T`, the ticker's window
/// `O`/`C`, and a kline's open time `t` (in a trade, `t` is an id and stays).
#[cfg(test)]
pub(crate) fn to_micros(frame: &str) -> String {
    rewrite_times(frame, true, None)
}

/// `frame` with its millisecond times (as in [`to_micros`]) replaced by `now_ms` when
/// given (a server whose clock is skewed), then in microseconds when `micros`.
pub(crate) fn rewrite_times(frame: &str, micros: bool, now_ms: Option<u64>) -> String {
    let kline = frame.contains(r#""e":"kline""#);
    let mut out = String::with_capacity(frame.len() + 16);
    let mut rest = frame;
    while let Some(at) = rest.find("\":") {
        let key_start = rest[..at].rfind('"').map_or(at, |q| q + 1);
        let key = &rest[key_start..at];
        let value = &rest[at + 2..];
        let digits = value.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&rest[..at + 2]);
        rest = value;
        let is_time = matches!(key, "E" | "T" | "O" | "C") || (kline && key == "t");
        // Millisecond times have 13 digits (until the year 2286).
        if is_time && digits == 13 {
            match now_ms {
                Some(ms) => out.push_str(itoa::Buffer::new().format(ms)),
                None => out.push_str(&value[..digits]),
            }
            if micros {
                out.push_str("000");
            }
            rest = &value[digits..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_become_microseconds() {
        let trade = r#"{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"1","q":"2","T":1723161255342,"m":true,"M":true}"#;
        assert_eq!(
            to_micros(trade),
            trade
                .replace("1723161255343", "1723161255343000")
                .replace("1723161255342", "1723161255342000")
        );
        let book = r#"{"u":50093239212,"s":"BTCUSDT","b":"1","B":"2","a":"3","A":"4"}"#;
        assert_eq!(to_micros(book), book);
        let kline =
            r#"{"e":"kline","E":1617566591776,"s":"X","k":{"t":1617566580000,"T":1617566639999}}"#;
        assert_eq!(
            to_micros(kline).matches("000,").count() + to_micros(kline).matches("000}").count(),
            3
        );
        assert!(micros(Some("streams=a@trade&timeUnit=microsecond")));
        assert!(!micros(Some("streams=a@trade")));
    }
}
