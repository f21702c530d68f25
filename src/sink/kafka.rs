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
//!
//! librdkafka's delivery reports are served on this sink's own thread (a `BaseProducer`
//! polled every [`POLL_EVERY`] records, at each flush, and while its queue is full), not
//! by a polling thread of their own: a record's memory is then allocated and freed on one
//! thread. With a polling thread the frees crossed threads, and glibc's allocator made
//! that about a quarter of the CPU foxtrot spent per record (measured with perf; see the
//! README's broker figures).
//!
//! A broker that forgot this producer (a restart that lost its state, answered with
//! `UnknownProducerId`) makes librdkafka's idempotent producer fail for good. This sink then
//! builds a new producer and publishes again, in their original order, every record the old
//! one had not had acknowledged: nothing is lost, and a record the broker had stored just
//! before the failure may be stored twice (at-least-once; the value's ids tell).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::broker::{Acks, KafkaTarget};
use super::ndjson::Ndjson;
use super::{Encode, Sink, gap};
use crate::stats::Stats;
use crate::tick::{Gap, Tick};

/// foxtrot's producer settings; `[output.kafka]` overrides any of them.
pub const DEFAULTS: [(&str, &str); 10] = [
    ("enable.idempotence", "true"),
    ("acks", "all"),
    // Never give up on a record on our own: the stop's deadline decides what is lost.
    ("message.timeout.ms", "0"),
    ("linger.ms", "5"),
    ("compression.type", "lz4"),
    ("batch.size", "1000000"),
    // Java clients' key hashing, so a stream lands on the same partition either way.
    ("partitioner", "murmur2_random"),
    // The producer's own queue stays small: backlog waits in foxtrot's bounded channel
    // (peak RSS against tansu: 16 MiB and 100,000 records, 79 MiB; 4 MiB and 20,000, 40
    // MiB; these, 31 MiB). 8,000 records are still 40 ms at 200,000 a second in flight.
    ("queue.buffering.max.kbytes", "2048"),
    ("queue.buffering.max.messages", "8000"),
    ("client.id", "foxtrot"),
];

/// How long a full librdkafka queue is waited on (serving delivery reports, which make
/// room) before looking at the deadline again.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(1);

/// Records handed over between two looks at librdkafka's delivery reports.
const POLL_EVERY: u32 = 64;

/// Between looks at the deadline while the last records are flushed.
const FLUSH_SLICE: Duration = Duration::from_millis(100);

/// The longest wait for a failed producer to hand back its records before it is replaced.
const PURGE_WAIT: Duration = Duration::from_secs(10);

/// With records out, how long without an acknowledgement before the producer is replaced
/// (doubling after each replacement, up to [`STALL_LIMIT_MAX`]).
const STALL_LIMIT: Duration = Duration::from_secs(10);

/// The longest wait without an acknowledgement between two replacements.
const STALL_LIMIT_MAX: Duration = Duration::from_secs(300);

/// Progress of acknowledgements, for [`KafkaSink::watch`].
struct Watch {
    /// `bytes_written` when it last moved.
    acked: u64,
    since: Instant,
    limit: Duration,
}

/// A record the broker did not take, to publish again (see [`KafkaSink::repair`]).
struct Resend {
    /// The order it was first handed over in.
    seq: u64,
    tick: bool,
    key: Vec<u8>,
    payload: Vec<u8>,
    headers: Option<OwnedHeaders>,
}

impl Resend {
    fn of(message: &BorrowedMessage<'_>, opaque: usize) -> Resend {
        Resend {
            seq: (opaque >> 1) as u64,
            tick: opaque & 1 == 1,
            key: message.key().unwrap_or_default().to_vec(),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers: message.headers().map(|h| h.detach()),
        }
    }
}

/// What the producer's callbacks share with the sink, across producers.
#[derive(Default)]
struct Shared {
    /// The run's counters (set once the sink task starts, see [`Sink::attach`]).
    acks: OnceLock<Acks>,
    /// Records to publish again.
    resend: Mutex<Vec<Resend>>,
    /// Set by a callback when the sink has something to repair.
    attention: AtomicBool,
}

/// The producer's callbacks: acknowledgements, failures and broker errors, counted into the
/// run's stats.
struct Context {
    shared: Arc<Shared>,
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        // Broker errors arrive through `error` too, counted and rate-limited there.
        debug!(target: "librdkafka", "{level:?} {fac}: {message}");
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.shared.attention.store(true, Relaxed);
        match self.shared.acks.get() {
            Some(acks) => {
                acks.error();
                acks.warn(format_args!("kafka: {error}: {reason}"));
            }
            None => debug!("kafka: {error}: {reason}"),
        }
    }
}

impl ProducerContext for Context {
    /// `sequence << 1 | is_tick`: no allocation per record.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        let shared = &self.shared;
        let Some(acks) = shared.acks.get() else {
            return;
        };
        let again = |message: &BorrowedMessage<'_>| {
            let mut resend = shared.resend.lock().unwrap_or_else(|e| e.into_inner());
            resend.push(Resend::of(message, opaque));
            shared.attention.store(true, Relaxed);
        };
        match result {
            Ok(message) => acks.acked(opaque & 1 == 1, message.payload_len() as u64),
            Err((KafkaError::MessageProduction(code), message)) => match code {
                // Purged: by librdkafka when its producer failed for good, or by this sink
                // to replace it. Kept to publish again; at a forced stop, counted lost.
                RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight => again(message),
                // The broker forgot this producer: a new one publishes the record again.
                RDKafkaErrorCode::UnknownProducerId
                | RDKafkaErrorCode::OutOfOrderSequenceNumber
                | RDKafkaErrorCode::InvalidProducerEpoch
                | RDKafkaErrorCode::Fatal => {
                    acks.error();
                    again(message);
                }
                _ => {
                    acks.failed();
                    acks.warn(format_args!("kafka: a record was not delivered: {code}"));
                }
            },
            Err((e, _)) => {
                acks.failed();
                acks.warn(format_args!("kafka: a record was not delivered: {e}"));
            }
        }
    }
}

/// The Kafka output.
pub struct KafkaSink {
    /// Polled by this sink's own thread (see [`KafkaSink::serve`]).
    producer: BaseProducer<Context>,
    /// To build a new producer (see [`KafkaSink::repair`]).
    config: ClientConfig,
    topic: String,
    /// Shared with the producer's callbacks.
    shared: Arc<Shared>,
    /// The hard deadline of the stop: every wait gives up when it fires.
    abort: CancellationToken,
    /// Records handed over so far: the next one's sequence number.
    seq: u64,
    /// When an acknowledgement last came.
    watch: Watch,
    /// The record's value, reused.
    line: Vec<u8>,
    /// The record's key, reused.
    key: Vec<u8>,
    /// Records handed over since delivery reports were last served.
    unpolled: u32,
}

fn producer(config: &ClientConfig, shared: &Arc<Shared>) -> Result<BaseProducer<Context>, String> {
    config
        .create_with_context(Context {
            shared: shared.clone(),
        })
        .map_err(|e| format!("cannot set up the Kafka producer ({e}): check [output.kafka]"))
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
    let shared = Arc::new(Shared::default());
    let producer = producer(&config, &shared)?;
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
        config,
        topic: target.topic.clone(),
        shared,
        abort: CancellationToken::new(),
        seq: 0,
        watch: Watch {
            acked: 0,
            since: Instant::now(),
            limit: STALL_LIMIT,
        },
        line: Vec::with_capacity(1024),
        key: Vec::with_capacity(64),
        unpolled: 0,
    })
}

impl KafkaSink {
    fn acks(&self) -> Option<&Acks> {
        self.shared.acks.get()
    }

    /// Serves the delivery reports and errors librdkafka has ready (their callbacks run
    /// here, on the sink's thread), without waiting.
    fn serve(&mut self) {
        self.unpolled = 0;
        // One event per call; a delivery report holds a whole batch.
        for _ in 0..4 {
            self.producer.poll(Duration::ZERO);
        }
    }

    /// Hands the record in `self.line` to librdkafka, waiting while its queue is full.
    fn send(&mut self, headers: OwnedHeaders, tick: bool) -> std::io::Result<()> {
        if self.shared.attention.swap(false, Relaxed) {
            self.repair()?;
        }
        let opaque = ((self.seq as usize) << 1) | usize::from(tick);
        self.seq += 1;
        // Counted before the hand-over: a delivery report served while this one waits for
        // room may settle it.
        if let Some(acks) = self.acks() {
            acks.sent();
        }
        let mut headers = Some(headers);
        loop {
            let record = BaseRecord::with_opaque_to(&self.topic, opaque)
                .key(&self.key[..])
                .payload(&self.line[..])
                .headers(headers.take().expect("headers are given back on failure"));
            match self.producer.send(record) {
                Ok(()) => {
                    self.unpolled += 1;
                    if self.unpolled >= POLL_EVERY {
                        self.serve();
                    }
                    return Ok(());
                }
                Err((e, back)) => {
                    headers = back.headers;
                    if self.abort.is_cancelled() {
                        // Never handed over: unwritten, so the report counts it lost.
                        if let Some(acks) = self.acks() {
                            acks.settle();
                        }
                        return Ok(());
                    }
                    self.refused(e)?;
                }
            }
        }
    }

    /// What to do when librdkafka refused a record: wait while its queue is full, repair
    /// a failed producer, or give up for good.
    fn refused(&mut self, e: KafkaError) -> std::io::Result<()> {
        match e {
            // The broker is slow or away: wait here, so the channel fills behind us.
            KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => {
                if self.shared.attention.swap(false, Relaxed) {
                    return self.repair();
                }
                // Acknowledgements make room: their reports are served while waiting.
                self.producer.poll(QUEUE_FULL_WAIT);
                if self.shared.attention.swap(false, Relaxed) {
                    return self.repair();
                }
                self.watch()
            }
            KafkaError::MessageProduction(RDKafkaErrorCode::Fatal) => self.repair(),
            e => Err(super::broker::fatal(format!("kafka: {e}"))),
        }
    }

    /// Replaces a producer that failed for good, then publishes again what the broker did
    /// not take, in the order it was first handed over.
    fn repair(&mut self) -> std::io::Result<()> {
        if let Some((code, reason)) = self.producer.client().fatal_error() {
            self.replace(format_args!("the producer failed ({code}: {reason})"))?;
        }
        self.resend()
    }

    /// Purges the producer, waits for it to hand its records back, and starts a new one.
    fn replace(&mut self, why: std::fmt::Arguments<'_>) -> std::io::Result<()> {
        warn!(
            "kafka: {why}; starting a new producer and publishing its unacknowledged records again"
        );
        if let Some(acks) = self.acks() {
            acks.error();
        }
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
        let until = Instant::now() + PURGE_WAIT;
        while self.producer.in_flight_count() > 0
            && Instant::now() < until
            && !self.abort.is_cancelled()
        {
            // The purged records come back through their delivery reports.
            self.producer.poll(QUEUE_FULL_WAIT);
        }
        let fresh = producer(&self.config, &self.shared).map_err(super::broker::fatal)?;
        // Dropping the old producer ends its callbacks before the records are taken.
        drop(std::mem::replace(&mut self.producer, fresh));
        Ok(())
    }

    /// Replaces a producer that has records out and has had none acknowledged for a long
    /// while: a broker that restarted without its state (tansu's memory storage) refuses
    /// the old producer id forever without a fatal error. Waits longer after each try.
    fn watch(&mut self) -> std::io::Result<()> {
        let Some(acks) = self.shared.acks.get() else {
            return Ok(());
        };
        let acked = acks.stats.bytes_written.load(Relaxed);
        let pending = acks.pending();
        if acked != self.watch.acked || pending == 0 {
            self.watch = Watch {
                acked,
                since: Instant::now(),
                limit: STALL_LIMIT,
            };
            return Ok(());
        }
        if self.watch.since.elapsed() < self.watch.limit {
            return Ok(());
        }
        let waited = self.watch.since.elapsed().as_secs();
        self.watch.since = Instant::now();
        self.watch.limit = (self.watch.limit * 2).min(STALL_LIMIT_MAX);
        self.replace(format_args!(
            "no acknowledgement for {waited}s with {pending} records out"
        ))?;
        self.resend()
    }

    /// Publishes again what the broker did not take, in the order it was first handed over.
    fn resend(&mut self) -> std::io::Result<()> {
        let mut records =
            std::mem::take(&mut *self.shared.resend.lock().unwrap_or_else(|e| e.into_inner()));
        records.sort_by_key(|r| r.seq);
        let mut records = records.into_iter();
        while let Some(mut r) = records.next() {
            let opaque = ((r.seq as usize) << 1) | usize::from(r.tick);
            loop {
                let mut record = BaseRecord::with_opaque_to(&self.topic, opaque)
                    .key(&r.key[..])
                    .payload(&r.payload[..]);
                if let Some(headers) = r.headers.take() {
                    record = record.headers(headers);
                }
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                        if !self.abort.is_cancelled() =>
                    {
                        r.headers = back.headers;
                        self.producer.poll(QUEUE_FULL_WAIT);
                    }
                    Err((_, back)) => {
                        // Kept for the next repair (or counted lost at the deadline).
                        r.headers = back.headers;
                        let mut resend =
                            self.shared.resend.lock().unwrap_or_else(|e| e.into_inner());
                        resend.push(r);
                        resend.extend(records);
                        self.shared.attention.store(true, Relaxed);
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
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
        let _ = self.shared.acks.set(Acks::new(stats.clone()));
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
        // librdkafka batches by itself (linger.ms); acknowledgements count as they are served.
        self.serve();
        Ok(0)
    }

    fn refresh_every(&self) -> Option<Duration> {
        // A failed producer is replaced this soon even while no tick arrives.
        Some(FLUSH_SLICE)
    }

    fn refresh(&mut self) -> std::io::Result<()> {
        self.serve();
        if self.shared.attention.swap(false, Relaxed) {
            self.repair()?;
        }
        self.watch()
    }

    fn finish(&mut self) -> std::io::Result<u64> {
        let shared = self.shared.clone();
        let Some(acks) = shared.acks.get() else {
            return Ok(0);
        };
        while acks.pending() > 0 && !self.abort.is_cancelled() {
            self.refresh()?;
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
