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
//! README's broker figures). For the same reason successes are reported too
//! (`delivery.report.only.error` would free every record on librdkafka's broker thread:
//! 3.49 against 2.26 µs of CPU per record in the bench's minimal producer).
//!
//! What a record costs (callgrind, 13,600 instructions end to end against 5,000 for an NDJSON
//! line) is nearly all librdkafka's: each record is one message allocation, and its three
//! headers a list, its array and one block each, built and freed on the sink's thread; on
//! the broker thread each header is four separate buffer writes (about 1,200 instructions
//! for the three). glibc's malloc and free are a third of the sink thread's instructions;
//! mimalloc as the process's allocator cut them but broke the memory-flatness target (see
//! the README's broker figures).
//!
//! A full queue is waited on by sleeping [`QUEUE_FULL_NAP`] between looks, not with
//! `BaseProducer::poll(timeout)`: rdkafka's poll keeps polling until its deadline and hands
//! librdkafka the remaining time in whole milliseconds, so its last millisecond (all of a
//! 1 ms wait) is a busy loop that took a core from librdkafka's own thread.
//!
//! The partition is chosen here, once per stream, with librdkafka's `murmur2_random`
//! partitioner (the Java client's murmur2 of the key, see [`partition_of`]) over the
//! partition count the topic had at start: the same partition as before, without
//! librdkafka's partitioner on every record. A `partitioner` set in `[output.kafka]` turns
//! this off and leaves the choice to librdkafka.
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
use rustc_hash::FxHashMap;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::broker::{Acks, KafkaTarget};
use super::ndjson::Ndjson;
use super::{Encode, Sink, gap};
use crate::stats::Stats;
use crate::tick::{Channel, Gap, Symbol, Tick};

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

/// How long the sink sleeps while librdkafka's queue is full, between serving delivery
/// reports (which make room). Short beside a batch's round trip (milliseconds), long
/// enough to leave the core to librdkafka's thread.
const QUEUE_FULL_NAP: Duration = Duration::from_micros(200);

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

/// A stream's record key and partition, worked out at its first record.
struct Route {
    key: Box<[u8]>,
    /// `None`: librdkafka's partitioner decides (a `partitioner` set in `[output.kafka]`).
    partition: Option<i32>,
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
    /// The record's partition (see [`Route`]).
    partition: Option<i32>,
    /// Per stream, at its first record.
    routes: FxHashMap<(&'static str, Symbol, Channel), Route>,
    /// The topic's partition count at start; `None` when librdkafka's partitioner decides.
    partitions: Option<i32>,
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

/// foxtrot's defaults with `settings` over them, as the producer gets them.
fn client_config(brokers: &str, settings: &[(String, String)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    for (key, value) in DEFAULTS {
        config.set(key, value);
    }
    for (key, value) in settings {
        config.set(key, value);
    }
    config
}

/// Checks `[output.kafka]` without connecting: librdkafka refuses an unknown property or a
/// bad value by name, so `config check` and the start of a run catch it (exit 2).
pub fn check_settings(settings: &[(String, String)]) -> Result<(), String> {
    for (key, value) in settings {
        let mut one = client_config("127.0.0.1:9092", &[]);
        one.set(key, value);
        if let Err(e) = one.create_native_config() {
            return Err(format!(
                "[output.kafka] {key:?} = {value:?} is refused by librdkafka ({e}): see librdkafka's CONFIGURATION.md for the producer's settings"
            ));
        }
    }
    Ok(())
}

/// Connects to `target`, checks that its topic exists, and returns the sink. Waits up to
/// `timeout` for the brokers' metadata.
pub fn open(target: &KafkaTarget, timeout: Duration) -> Result<KafkaSink, String> {
    let mut config = client_config(&target.brokers, &target.settings);
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
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == target.topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len());
    if partitions == 0 {
        return Err(format!(
            "Kafka topic {:?} does not exist on {}: create it first \
             (kafka-topics.sh --create --topic {} or tansu topic create {}), with as many partitions as consumers need",
            target.topic, target.brokers, target.topic, target.topic
        ));
    }
    // A second answer asks librdkafka for the idempotent producer's id again, now that a
    // broker is up: when the first came too early it would otherwise retry in 500 ms, and
    // nothing is sent until it has one.
    let _ = producer
        .client()
        .fetch_metadata(Some(&target.topic), timeout);
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
        partition: None,
        routes: FxHashMap::default(),
        // A partitioner of the user's choosing is librdkafka's to apply.
        partitions: (!target.settings.iter().any(|(k, _)| k == "partitioner"))
            .then(|| i32::try_from(partitions).unwrap_or(i32::MAX)),
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

    /// Sleeps a little while librdkafka's queue is full, serving delivery reports first.
    fn nap(&mut self) {
        self.serve();
        std::thread::sleep(QUEUE_FULL_NAP);
    }

    /// Sets `self.key` and `self.partition` for a record of this stream.
    fn route(&mut self, exchange: &'static str, symbol: &Symbol, channel: Channel) {
        let route = match self.routes.get(&(exchange, symbol.clone(), channel)) {
            Some(route) => route,
            None => {
                super::broker::key(exchange, symbol.as_str(), channel.as_str(), &mut self.key);
                let route = Route {
                    key: self.key.as_slice().into(),
                    partition: self.partitions.map(|n| partition_of(&self.key, n)),
                };
                self.routes
                    .entry((exchange, symbol.clone(), channel))
                    .or_insert(route)
            }
        };
        self.key.clear();
        self.key.extend_from_slice(&route.key);
        self.partition = route.partition;
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
            let mut record = BaseRecord::with_opaque_to(&self.topic, opaque)
                .key(&self.key[..])
                .payload(&self.line[..])
                .headers(headers.take().expect("headers are given back on failure"));
            if let Some(partition) = self.partition {
                record = record.partition(partition);
            }
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
                self.nap();
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
            self.nap();
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
            // Its stream's partition, as at its first hand-over.
            let partition = self.partitions.map(|n| partition_of(&r.key, n));
            loop {
                let mut record = BaseRecord::with_opaque_to(&self.topic, opaque)
                    .key(&r.key[..])
                    .payload(&r.payload[..]);
                if let Some(headers) = r.headers.take() {
                    record = record.headers(headers);
                }
                if let Some(partition) = partition {
                    record = record.partition(partition);
                }
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                        if !self.abort.is_cancelled() =>
                    {
                        r.headers = back.headers;
                        self.nap();
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

/// The partition librdkafka's `murmur2_random` partitioner (and the Java client's default
/// partitioner) gives `key` among `partitions`: murmur2 of the key, sign bit cleared,
/// modulo the count.
pub fn partition_of(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) as i32 % partitions.max(1)
}

/// MurmurHash2 as Kafka's Java client computes it (seed `0x9747b28c`, little-endian words),
/// bit for bit librdkafka's `rd_murmur2`.
fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let mut h = 0x9747_b28c ^ data.len() as u32;
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate().rev() {
            h ^= u32::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
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
        let channel = tick.channel();
        self.route(tick.exchange.as_str(), &tick.symbol, channel);
        self.send(
            headers(
                tick.exchange.as_str(),
                channel.as_str(),
                tick.recv_ns,
                false,
            ),
            true,
        )
    }

    fn gap(&mut self, record: &Gap) -> std::io::Result<()> {
        self.line.clear();
        gap::ndjson_line(record, &mut self.line);
        self.route(record.exchange.as_str(), &record.symbol, record.channel);
        self.send(
            headers(
                record.exchange.as_str(),
                record.channel.as_str(),
                record.to_ns,
                true,
            ),
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
            // Sends what lingers now. A zero timeout, because rdkafka's flush waits out any
            // timeout it is given even when everything was acknowledged early.
            let _ = self.producer.flush(Duration::ZERO);
            if acks.pending() > 0 {
                std::thread::sleep(QUEUE_FULL_NAP);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_librdkafkas_murmur2_random() {
        // librdkafka's own test vectors (src/rdmurmur2.c), from Kafka's Java client.
        for (key, hash) in [
            (&b"kafka"[..], 0xd067_cf64_u32),
            (b"giberish123456789", 0x8f55_2b0c),
            (b"1234", 0x9fc9_7b14),
            (b"234", 0xe7c0_09ca),
            (b"34", 0x8739_30da),
            (b"4", 0x5a4b_5ca1),
            (b"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x7842_4f1c),
            (b"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62_b377),
            (b"eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4_e09e),
            (b"AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8_b43f),
            (b"", 0x106e_08d9),
        ] {
            assert_eq!(murmur2(key), hash, "{}", String::from_utf8_lossy(key));
        }
        assert_eq!(
            partition_of(b"kafka", 3),
            (0xd067_cf64_u32 & 0x7fff_ffff) as i32 % 3
        );
        // The bench's two streams land in different partitions of a 3-partition topic.
        assert_eq!(partition_of(b"binance:BTCUSDT:bookTicker", 3), 2);
        assert_eq!(partition_of(b"binance:ETHUSDT:bookTicker", 3), 0);
    }
}
