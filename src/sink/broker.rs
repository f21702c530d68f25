//! Broker outputs (`--out kafka://...`, `--out nats://...`): what the URL names, and what
//! both publishers share.
//!
//! This module owns the URL syntax, the subject template, the per-stream record key and
//! the bookkeeping of records a broker has not yet acknowledged. The publishing itself is
//! in [`super::kafka`] and [`super::nats`]. A record's value is exactly the NDJSON line a
//! file would hold (ticks and gap records alike), so files and topics share one schema.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::stats::Stats;

/// A broker output, as `--out` named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broker {
    /// `kafka://HOST:PORT[,HOST:PORT...]/TOPIC`.
    Kafka(KafkaTarget),
    /// `nats://HOST:PORT/SUBJECT-TEMPLATE`.
    Nats(NatsTarget),
}

/// Where and how to publish to Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaTarget {
    /// `bootstrap.servers`: comma-separated `host:port`.
    pub brokers: String,
    /// The topic (it must exist).
    pub topic: String,
    /// librdkafka settings from `[output.kafka]`, applied over foxtrot's defaults.
    pub settings: Vec<(String, String)>,
}

/// Where and how to publish to NATS JetStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsTarget {
    /// `host:port` of a NATS server.
    pub server: String,
    /// The subject template, such as `md.{exchange}.{channel}.{symbol}`.
    pub subject: Subject,
    /// Create a stream over the template's subjects when none holds them.
    pub create_stream: bool,
}

/// Why a broker URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The URL lacks a part.
    #[error("invalid --out {url:?}: {what} (expected {example})")]
    Shape {
        /// The URL as typed.
        url: String,
        /// What is missing or wrong.
        what: &'static str,
        /// A valid URL of the same scheme.
        example: &'static str,
    },
    /// The subject template is not a valid NATS subject.
    #[error(
        "invalid NATS subject template {0:?}: use dot-separated tokens of letters, digits, - and _, \
         and the placeholders {{exchange}}, {{symbol}}, {{channel}} (like md.{{exchange}}.{{channel}}.{{symbol}})"
    )]
    Subject(String),
    /// An `[output.kafka]` setting librdkafka refuses.
    #[error("{0}")]
    KafkaSetting(String),
}

const KAFKA_EXAMPLE: &str = "kafka://127.0.0.1:9092/marketdata";
const NATS_EXAMPLE: &str = "nats://127.0.0.1:4222/md.{exchange}.{channel}.{symbol}";

impl Broker {
    /// Reads `--out` when it is a broker URL: `None` for a path, else the target or why not.
    pub fn parse(text: &str) -> Option<Result<Broker, UrlError>> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("kafka://") {
            Some(parse_kafka(text, &text["kafka://".len()..]))
        } else if lower.starts_with("nats://") {
            Some(parse_nats(text, &text["nats://".len()..]))
        } else {
            None
        }
    }
}

fn shape(url: &str, what: &'static str, example: &'static str) -> UrlError {
    UrlError::Shape {
        url: redacted_url(url),
        what,
        example,
    }
}

/// `url` as errors show it: a password or token before `@` becomes `***` (subjects and
/// topics never hold `@`, so the last one ends the credentials).
fn redacted_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if rest.contains('@') => {
            format!("{scheme}://{}", super::nats::redacted(rest))
        }
        _ => url.to_owned(),
    }
}

fn parse_kafka(url: &str, rest: &str) -> Result<Broker, UrlError> {
    let bad = |what| shape(url, what, KAFKA_EXAMPLE);
    if rest.contains('@') {
        return Err(bad(
            "credentials do not go in a kafka:// URL: set security.protocol, sasl.mechanism, sasl.username and sasl.password under [output.kafka] in the config file",
        ));
    }
    let (brokers, topic) = rest
        .split_once('/')
        .ok_or_else(|| bad("no /TOPIC after the brokers"))?;
    if brokers.split(',').any(|b| !valid_host_port(b)) {
        return Err(bad("brokers must be HOST:PORT, separated by commas"));
    }
    // Kafka's own rule for topic names.
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if topic.is_empty()
        || topic.len() > 249
        || !topic.chars().all(legal)
        || topic == "."
        || topic == ".."
    {
        return Err(bad(
            "the topic must be 1 to 249 letters, digits, '.', '_' or '-'",
        ));
    }
    Ok(Broker::Kafka(KafkaTarget {
        brokers: brokers.to_owned(),
        topic: topic.to_owned(),
        settings: Vec::new(),
    }))
}

fn parse_nats(url: &str, rest: &str) -> Result<Broker, UrlError> {
    let bad = |what| shape(url, what, NATS_EXAMPLE);
    let (server, subject) = rest
        .split_once('/')
        .ok_or_else(|| bad("no /SUBJECT after the server"))?;
    if !valid_host_port(server) {
        return Err(bad("the server must be HOST:PORT"));
    }
    Ok(Broker::Nats(NatsTarget {
        server: server.to_owned(),
        subject: Subject::parse(subject)?,
        create_stream: false,
    }))
}

fn valid_host_port(text: &str) -> bool {
    text.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok_and(|p| p > 0)
    })
}

/// A NATS subject template: tokens separated by dots, each literal or one placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The template as typed.
    text: String,
}

/// The placeholders a subject template may use.
const PLACEHOLDERS: [&str; 3] = ["{exchange}", "{symbol}", "{channel}"];

impl Subject {
    /// Checks a template: no empty token, no wildcard, only known placeholders.
    pub fn parse(text: &str) -> Result<Subject, UrlError> {
        let token_ok = |token: &str| {
            let mut literal = token.to_owned();
            for p in PLACEHOLDERS {
                literal = literal.replace(p, "x");
            }
            !literal.is_empty()
                && literal
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        };
        if text.is_empty() || !text.split('.').all(token_ok) {
            return Err(UrlError::Subject(text.to_owned()));
        }
        Ok(Subject {
            text: text.to_owned(),
        })
    }

    /// The subject of one stream.
    pub fn render(&self, exchange: &str, symbol: &str, channel: &str) -> String {
        self.text
            .replace("{exchange}", exchange)
            .replace("{symbol}", symbol)
            .replace("{channel}", channel)
    }

    /// The subjects of every stream, as a JetStream stream's subject filter: each
    /// placeholder's token becomes `*`.
    pub fn filter(&self) -> String {
        self.text
            .split('.')
            .map(|token| {
                if PLACEHOLDERS.iter().any(|p| token.contains(p)) {
                    "*"
                } else {
                    token
                }
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The template as typed.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Counters a publisher keeps about records it handed to a broker, shared with the thread
/// (Kafka) or code (NATS) that learns of acknowledgements.
#[derive(Debug)]
pub struct Acks {
    /// The run's counters: `written` and `bytes_written` grow by acknowledged ticks,
    /// `broker_errors` and `broker_inflight` are kept here.
    pub stats: Arc<Stats>,
    /// Records (ticks and gaps) handed to the client and not yet acknowledged or failed.
    pub inflight: AtomicU64,
    /// When a warning was last logged (ms since the Unix epoch), to log at most one per
    /// [`WARN_EVERY_MS`] while a broker is away.
    last_warn_ms: AtomicU64,
}

/// At most one broker warning per this many milliseconds; the rest are counted only.
pub const WARN_EVERY_MS: u64 = 5_000;

impl Acks {
    /// Bookkeeping over the run's counters.
    pub fn new(stats: Arc<Stats>) -> Acks {
        Acks {
            stats,
            inflight: AtomicU64::new(0),
            last_warn_ms: AtomicU64::new(0),
        }
    }

    /// Logs a broker warning unless one was logged in the last [`WARN_EVERY_MS`].
    pub fn warn(&self, message: std::fmt::Arguments<'_>) {
        let now = crate::clock::now_ns() / 1_000_000;
        let last = self.last_warn_ms.load(Relaxed);
        if now.saturating_sub(last) >= WARN_EVERY_MS
            && self
                .last_warn_ms
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            tracing::warn!(
                "{message} (broker errors so far: {})",
                self.stats.broker_errors.load(Relaxed)
            );
        }
    }

    /// A record of `bytes` was handed to the client.
    pub fn sent(&self) {
        let n = self.inflight.fetch_add(1, Relaxed) + 1;
        self.stats.broker_inflight.store(n, Relaxed);
    }

    /// The broker acknowledged a record of `bytes`; ticks count as written.
    pub fn acked(&self, tick: bool, bytes: u64) {
        if tick {
            self.stats.written.fetch_add(1, Relaxed);
        }
        self.stats.bytes_written.fetch_add(bytes, Relaxed);
        self.settled();
    }

    /// A record will not be acknowledged (a fatal delivery error): it stays unwritten,
    /// so the report counts it lost.
    pub fn failed(&self) {
        self.error();
        self.settled();
    }

    /// Counts one broker error (a failed connection, a refused or timed-out publish).
    pub fn error(&self) {
        self.stats.broker_errors.fetch_add(1, Relaxed);
    }

    /// Records handed over and not yet settled.
    pub fn pending(&self) -> u64 {
        self.inflight.load(Relaxed)
    }

    /// A record left without an acknowledgement and without a broker error (purged at a
    /// forced stop): it stays unwritten, so the report counts it lost.
    pub fn settle(&self) {
        self.settled();
    }

    fn settled(&self) {
        let n = self.inflight.fetch_sub(1, Relaxed).saturating_sub(1);
        self.stats.broker_inflight.store(n, Relaxed);
    }
}

/// Writes a stream's key, `exchange:symbol:channel`, into `out` (cleared first): the
/// Kafka record key and the prefix of a NATS message id. Same text as
/// [`crate::shard::stream_key`], without an allocation per record.
pub fn key(exchange: &str, symbol: &str, channel: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(exchange.as_bytes());
    out.push(b':');
    out.extend_from_slice(symbol.as_bytes());
    out.push(b':');
    out.extend_from_slice(channel.as_bytes());
}

/// Opens the broker output `config` names (see [`super::kafka::open`], [`super::nats::open`]).
pub fn open(
    broker: &Broker,
    config: &crate::config::Config,
) -> Result<Box<dyn super::Sink>, String> {
    let timeout = config
        .connection
        .connect_timeout
        .min(Duration::from_secs(10));
    Ok(match broker {
        Broker::Kafka(target) => Box::new(super::kafka::open(target, timeout)?),
        Broker::Nats(target) => Box::new(super::nats::open(target, &config.streams, timeout)?),
    })
}

/// The output row of the plan (`--dry-run`, `config check`).
pub fn describe(broker: &Broker) -> String {
    match broker {
        Broker::Kafka(k) => {
            let mut text = format!(
                "kafka topic {} on {} (ndjson records; key exchange:symbol:channel",
                k.topic, k.brokers
            );
            if !k.settings.is_empty() {
                let names: Vec<&str> = k.settings.iter().map(|(name, _)| name.as_str()).collect();
                text.push_str(&format!("; settings {}", names.join(", ")));
            }
            text.push(')');
            text
        }
        Broker::Nats(n) => format!(
            "nats jetstream {} on {} (ndjson messages; Nats-Msg-Id exchange:symbol:channel:id{})",
            n.subject.as_str(),
            super::nats::redacted(&n.server),
            if n.create_stream {
                "; stream created if missing"
            } else {
                ""
            }
        ),
    }
}

/// The error a sink returns when the broker refused the output for good.
pub fn fatal(what: impl std::fmt::Display) -> io::Error {
    io::Error::other(what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_brokers_and_topic_or_subject() {
        assert_eq!(Broker::parse("ticks.ndjson"), None);
        assert_eq!(
            Broker::parse("kafka://b1:9092,b2:9093/market.data_1"),
            Some(Ok(Broker::Kafka(KafkaTarget {
                brokers: "b1:9092,b2:9093".into(),
                topic: "market.data_1".into(),
                settings: vec![],
            })))
        );
        let Some(Ok(Broker::Nats(nats))) =
            Broker::parse("nats://127.0.0.1:4222/md.{exchange}.{channel}.{symbol}")
        else {
            panic!()
        };
        assert_eq!(nats.server, "127.0.0.1:4222");
        assert_eq!(
            nats.subject.render("binance", "BTCUSDT", "trade"),
            "md.binance.trade.BTCUSDT"
        );
        assert_eq!(nats.subject.filter(), "md.*.*.*");
        for bad in [
            "kafka://host/topic",
            "kafka://host:9092",
            "kafka://host:9092/",
            "kafka://host:9092/a b",
            "kafka://:9092/t",
            "nats://host:4222/",
            "nats://host:4222/md..x",
            "nats://host:4222/md.>",
            "nats://host:4222/md.*",
            "nats://host:4222/md.{venue}",
            "nats://host/md",
        ] {
            assert!(matches!(Broker::parse(bad), Some(Err(_))), "{bad}");
        }
    }

    #[test]
    fn credentials_in_urls_are_never_echoed() {
        // Issue: kafka://user:pass@host passed as a broker named "user:pass@host" and echoed.
        let err = Broker::parse("kafka://me:s3cret@host:9092/ticks")
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("credentials do not go in a kafka:// URL"),
            "{err}"
        );
        assert!(err.contains("kafka://me:***@host:9092/ticks"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let err = Broker::parse("kafka://tok3n@host:9092/ticks")
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(!err.contains("tok3n"), "{err}");
        // A NATS URL takes credentials, but a mistake elsewhere in it must not show them.
        let err = Broker::parse("nats://me:p/w@host:4222")
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(err.contains("nats://me:***@host:4222"), "{err}");
        assert!(!err.contains("p/w"), "{err}");
    }

    #[test]
    fn acks_count_written_ticks_and_what_is_in_flight() {
        let stats = Arc::new(Stats::default());
        let acks = Acks::new(stats.clone());
        for _ in 0..3 {
            acks.sent();
        }
        assert_eq!(stats.broker_inflight.load(Relaxed), 3);
        acks.acked(true, 100);
        acks.acked(false, 50);
        acks.failed();
        let s = stats.snapshot();
        assert_eq!((s.written, s.bytes_written, s.broker_errors), (1, 150, 1));
        assert_eq!((acks.pending(), s.broker_inflight), (0, 0));
    }
}
