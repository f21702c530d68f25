//! Stream names: which are valid, which requested name matches which recorded one, and
//! the set a connection is subscribed to.
//!
//! This module owns the naming rules shared by URL paths and SUBSCRIBE requests. It does
//! no I/O and knows nothing of framing; sessions ask it which recorded streams to send.

/// The most streams one connection may hold, as on Binance.
pub const MAX_STREAMS: usize = 1024;

/// Whether `name` looks like a Binance stream name: `<symbol>@<kind>`, the symbol in
/// lower case (or a `!` all-market name such as `!ticker@arr`).
pub(crate) fn is_valid(name: &str) -> bool {
    let Some((symbol, kind)) = name.split_once('@') else {
        return false;
    };
    name.len() <= 200
        && !symbol.is_empty()
        && symbol
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'!')
        && !kind.is_empty()
        && kind
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'!'))
}

/// Like [`is_valid`] but accepting an upper-case symbol, for URL paths, where a client
/// typing `BTCUSDT@trade` should still reach the recording.
pub(crate) fn is_valid_in_path(name: &str) -> bool {
    match name.split_once('@') {
        Some((symbol, kind)) => is_valid(&format!("{}@{kind}", symbol.to_ascii_lowercase())),
        None => false,
    }
}

/// Whether a client asking for `requested` should receive messages recorded as `recorded`.
///
/// Equal ignoring ASCII case, or one is the other plus an `@` suffix: a request for
/// `btcusdt@depth@100ms` receives `btcusdt@depth` payloads (the update speed is not in
/// the payload), and a recording made as `btcusdt@depth@100ms` serves `btcusdt@depth`.
pub(crate) fn matches(requested: &str, recorded: &str) -> bool {
    requested.eq_ignore_ascii_case(recorded)
        || extends(requested, recorded)
        || extends(recorded, requested)
}

/// Whether `long` is `short` followed by `@` and more.
fn extends(long: &str, short: &str) -> bool {
    let (long, short) = (long.as_bytes(), short.as_bytes());
    long.len() > short.len()
        && long[short.len()] == b'@'
        && long[..short.len()].eq_ignore_ascii_case(short)
}

/// The streams one connection asked for, in the order it asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Subscriptions {
    names: Vec<String>,
}

/// Subscribing would exceed [`MAX_STREAMS`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooMany;

impl Subscriptions {
    /// Adds the names not already held (ignoring case); all or nothing.
    pub(crate) fn add(&mut self, names: &[String]) -> Result<(), TooMany> {
        let new: Vec<&String> = names
            .iter()
            .enumerate()
            .filter(|(i, n)| {
                !self.contains(n) && !names[..*i].iter().any(|m| m.eq_ignore_ascii_case(n))
            })
            .map(|(_, n)| n)
            .collect();
        if self.names.len() + new.len() > MAX_STREAMS {
            return Err(TooMany);
        }
        self.names.extend(new.into_iter().cloned());
        Ok(())
    }

    /// Removes the given names (ignoring case); names not held are ignored, as on Binance.
    pub(crate) fn remove(&mut self, names: &[String]) {
        self.names
            .retain(|held| !names.iter().any(|n| n.eq_ignore_ascii_case(held)));
    }

    /// The names held, in subscription order.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether nothing is subscribed.
    pub(crate) fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// For each recorded stream, the index of the first subscription that matches it.
    ///
    /// Computed once per change so the send path does one table look-up per message.
    pub(crate) fn select(&self, recorded: &[String]) -> Vec<Option<usize>> {
        recorded
            .iter()
            .map(|stream| self.names.iter().position(|n| matches(n, stream)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_name_validity() {
        for good in [
            "btcusdt@trade",
            "btcusdt@bookTicker",
            "btcusdt@depth@100ms",
            "btcusdt@depth20@100ms",
            "ethusdt@kline_1m",
            "!ticker@arr",
            "1000satsusdt@aggTrade",
        ] {
            assert!(is_valid(good), "{good} should be valid");
        }
        for bad in [
            "",
            "btcusdt",
            "@trade",
            "btcusdt@",
            "BTCUSDT@trade",
            "btc usdt@trade",
            "btcusdt@tr\"ade",
            "btc-usdt@trade",
        ] {
            assert!(!is_valid(bad), "{bad} should be invalid");
        }
        assert!(is_valid_in_path("BTCUSDT@trade"));
        assert!(!is_valid_in_path("BTCUSDT"));
    }

    #[test]
    fn matching_rules() {
        let cases = [
            ("btcusdt@trade", "btcusdt@trade", true),
            ("BTCUSDT@trade", "btcusdt@trade", true),
            ("btcusdt@depth@100ms", "btcusdt@depth", true),
            ("btcusdt@depth", "btcusdt@depth@100ms", true),
            ("btcusdt@depth", "btcusdt@depth20", false),
            ("btcusdt@trade", "btcusdt@aggTrade", false),
            ("btcusdt@trad", "btcusdt@trade", false),
            ("ethusdt@trade", "btcusdt@trade", false),
        ];
        for (requested, recorded, want) in cases {
            assert_eq!(
                matches(requested, recorded),
                want,
                "{requested} vs {recorded}"
            );
        }
    }

    #[test]
    fn subscriptions_dedup_remove_and_select() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut subs = Subscriptions::default();
        subs.add(&names(&[
            "btcusdt@trade",
            "btcusdt@trade",
            "ethusdt@ticker",
        ]))
        .unwrap();
        subs.add(&names(&["BTCUSDT@trade", "btcusdt@depth@100ms"]))
            .unwrap();
        assert_eq!(
            subs.names(),
            names(&["btcusdt@trade", "ethusdt@ticker", "btcusdt@depth@100ms"])
        );
        let recorded = names(&["btcusdt@bookTicker", "btcusdt@trade", "btcusdt@depth"]);
        assert_eq!(subs.select(&recorded), [None, Some(0), Some(2)]);
        subs.remove(&names(&["ETHUSDT@ticker", "nothing@trade"]));
        assert_eq!(
            subs.names(),
            names(&["btcusdt@trade", "btcusdt@depth@100ms"])
        );

        let many: Vec<String> = (0..MAX_STREAMS).map(|i| format!("s{i}@trade")).collect();
        assert_eq!(subs.add(&many), Err(TooMany));
        assert_eq!(subs.names().len(), 2, "a refused SUBSCRIBE changes nothing");
    }
}
