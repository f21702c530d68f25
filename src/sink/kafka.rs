//! `--out kafka://BROKERS/TOPIC`: publishes every record into one Kafka topic with
//! librdkafka (the `rdkafka` crate, librdkafka built from its bundled source with zlib;
//! lz4 is part of librdkafka itself, so `compression.type=lz4` needs no extra library).
//!
//! One record per tick or gap: the value is exactly the NDJSON line a file would hold, the
//! key `exchange:symbol:channel` (one stream, one partition, its order kept), headers
//! `exchange`, `channel`, `recv_ns` (decimal text; a gap's is its `to_ns`) and, on gaps,
//! `type: gap`. The producer is idempotent with `acks=all` and never gives a record up on
//! its own (`message.timeout.ms=0`): a broker that is down or slow fills librdkafka's
//! bounded queue, then this sink waits, then the one channel fills and `--on-full` decides,
//! exactly as for a slow disk. `written` counts records the broker acknowledged; what is
//! unacknowledged when the stop's deadline passes stays unwritten and is reported lost.
//! Any librdkafka setting can be given in the config file's `[output.kafka]`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::broker::{Acks, KafkaTarget};
use super::ndjson::Ndjson;
use super::{Encode, Sink, gap};
use crate::stats::Stats;
use crate::tick::{Gap, Tick};

/// foxtrot's producer settings; `[output.kafka]` overrides any of them.
pub const DEFAULTS: [(&str, &str); 9] = [
    ("enable.idempotence", "true"),
    ("acks", "all"),
    // Never give up on a record on our own: the stop's deadline decides what is lost.
    ("message.timeout.ms", "0"),
    ("linger.ms", "5"),
    ("compression.type", "lz4"),
    ("batch.size", "1000000"),
    // Java clients' key hashing, so a stream lands on the same partition either way.
    ("partitioner", "murmur2_random"),
    // The producer's own queue stays small: backlog waits in foxtrot's bounded channel.
    ("queue.buffering.max.kbytes", "16384"),
    ("client.id", "foxtrot"),
];

/// How long a full librdkafka queue is waited on before looking at the deadline again.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(5);

/// Between looks at the deadline while the last records are flushed.
const FLUSH_SLICE: Duration = Duration::from_millis(100);

/// The producer's callbacks: acknowledgements, failures and broker errors, counted into the
/// run's stats (set once the sink task starts, see [`Sink::attach`]).
struct Context {
    acks: Arc<OnceLock<Acks>>,
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        // Broker errors arrive through `error` too, counted and rate-limited there.
        debug!(target: "librdkafka", "{level:?} {fac}: {message}");
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match self.acks.get() {
            Some(acks) => {
                acks.error();
                acks.warn(format_args!("kafka: {error}: {reason}"));
            }
            None => debug!("kafka: {error}: {reason}"),
        }
    }
}

impl ProducerContext for Context {
    /// `bytes << 1 | is_tick`: no allocation per record.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        let Some(acks) = self.acks.get() else { return };
        match result {
            Ok(_) => acks.acked(opaque & 1 == 1, (opaque >> 1) as u64),
            // Purged at a forced stop: the report counts these lost, they are no broker error.
            Err((
                KafkaError::MessageProduction(
                    RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight,
                ),
                _,
            )) => acks.settle(),
            Err((e, _)) => {
                acks.failed();
                acks.warn(format_args!("kafka: a record was not delivered: {e}"));
            }
        }
    }
}

/// The Kafka output.
pub struct KafkaSink {
    producer: ThreadedProducer<Context>,
    topic: String,
    /// Shared with the producer's callbacks.
    acks: Arc<OnceLock<Acks>>,
    /// The hard deadline of the stop: every wait gives up when it fires.
    abort: CancellationToken,
    /// The record's value, reused.
    line: Vec<u8>,
    /// The record's key, reused.
    key: Vec<u8>,
}

/// Connects to `target`, checks that its topic exists, and returns the sink. Waits up to
/// `timeout` for the brokers' metadata.
pub fn open(target: &KafkaTarget, timeout: Duration) -> Result<KafkaSink, String> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &target.brokers);
    for (key, value) in DEFAULTS {
        config.set(key, value);
    }
    for (key, value) in &target.settings {
        config.set(key, value);
    }
    config.set_log_level(RDKafkaLogLevel::Warning);
    let acks = Arc::new(OnceLock::new());
    let producer: ThreadedProducer<Context> = config
        .create_with_context(Context { acks: acks.clone() })
        .map_err(|e| format!("cannot set up the Kafka producer ({e}): check [output.kafka]"))?;
    let metadata = producer
        .client()
        .fetch_metadata(Some(&target.topic), timeout)
        .map_err(|e| {
            format!(
                "cannot reach Kafka at {} within {} ({e})",
                target.brokers,
                humantime::format_duration(timeout)
            )
        })?;
    let usable = metadata
        .topics()
        .iter()
        .any(|t| t.name() == target.topic && t.error().is_none() && !t.partitions().is_empty());
    if !usable {
        return Err(format!(
            "Kafka topic {:?} does not exist on {}: create it first \
             (kafka-topics.sh --create --topic {} or tansu topic create {}), with as many partitions as consumers need",
            target.topic, target.brokers, target.topic, target.topic
        ));
    }
    Ok(KafkaSink {
        producer,
        topic: target.topic.clone(),
        acks,
        abort: CancellationToken::new(),
        line: Vec::with_capacity(1024),
        key: Vec::with_capacity(64),
    })
}

impl KafkaSink {
    /// Hands the record in `self.line` to librdkafka, waiting while its queue is full.
    fn send(&mut self, headers: OwnedHeaders, tick: bool) -> std::io::Result<()> {
        let opaque = (self.line.len() << 1) | usize::from(tick);
        let mut record = BaseRecord::with_opaque_to(&self.topic, opaque)
            .key(&self.key[..])
            .payload(&self.line[..])
            .headers(headers);
        // Counted before the hand-over: the delivery callback may settle it at once, on
        // librdkafka's thread.
        let acks = self.acks.get();
        if let Some(acks) = acks {
            acks.sent();
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // The broker is slow or away: wait here, so the channel fills behind us.
                    if self.abort.is_cancelled() {
                        // Never handed over: unwritten, so the report counts it lost.
                        if let Some(acks) = acks {
                            acks.settle();
                        }
                        return Ok(());
                    }
                    record = back;
                    std::thread::sleep(QUEUE_FULL_WAIT);
                }
                Err((e, _)) => {
                    if let Some(acks) = acks {
                        acks.failed();
                    }
                    return Err(super::broker::fatal(format!("kafka: {e}")));
                }
            }
        }
    }
}

fn headers(exchange: &str, channel: &str, recv_ns: u64, gap: bool) -> OwnedHeaders {
    let mut num = itoa::Buffer::new();
    let headers = OwnedHeaders::new_with_capacity(3 + usize::from(gap))
        .insert(Header {
            key: "exchange",
            value: Some(exchange),
        })
        .insert(Header {
            key: "channel",
            value: Some(channel),
        })
        .insert(Header {
            key: "recv_ns",
            value: Some(num.format(recv_ns)),
        });
    if gap {
        headers.insert(Header {
            key: "type",
            value: Some("gap"),
        })
    } else {
        headers
    }
}

impl Sink for KafkaSink {
    fn attach(&mut self, stats: &Arc<Stats>, abort: &CancellationToken) {
        let _ = self.acks.set(Acks::new(stats.clone()));
        self.abort = abort.clone();
    }

    fn write(&mut self, tick: &Tick) -> std::io::Result<()> {
        self.line.clear();
        Ndjson.encode(tick, &mut self.line);
        let channel = tick.channel().as_str();
        super::broker::key(
            tick.exchange.as_str(),
            tick.symbol.as_str(),
            channel,
            &mut self.key,
        );
        self.send(
            headers(tick.exchange.as_str(), channel, tick.recv_ns, false),
            true,
        )
    }

    fn gap(&mut self, record: &Gap) -> std::io::Result<()> {
        self.line.clear();
        gap::ndjson_line(record, &mut self.line);
        let channel = record.channel.as_str();
        super::broker::key(
            record.exchange.as_str(),
            record.symbol.as_str(),
            channel,
            &mut self.key,
        );
        self.send(
            headers(record.exchange.as_str(), channel, record.to_ns, true),
            false,
        )
    }

    fn buffered(&self) -> usize {
        0
    }

    fn flush(&mut self) -> std::io::Result<u64> {
        // librdkafka batches by itself (linger.ms); acknowledgements count as they come.
        Ok(0)
    }

    fn finish(&mut self) -> std::io::Result<u64> {
        let Some(acks) = self.acks.get() else {
            return Ok(0);
        };
        while acks.pending() > 0 && !self.abort.is_cancelled() {
            let _ = self.producer.flush(FLUSH_SLICE);
        }
        let left = acks.pending();
        if left > 0 {
            warn!(
                "kafka: {left} records not acknowledged by {} before the deadline: counted lost",
                self.topic
            );
        }
        Ok(0)
    }
}
