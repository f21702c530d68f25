//! `--out nats://HOST:PORT/SUBJECT`: publishes every record to NATS JetStream with
//! `async-nats`.
//!
//! One message per tick or gap: the payload is exactly the NDJSON line a file would hold,
//! the subject the template rendered for its stream (`md.{exchange}.{channel}.{symbol}`),
//! and the `Nats-Msg-Id` header `exchange:symbol:channel:ID` (the update, trade or
//! aggregate id; a ticker's event time; `gap:FROM_NS-TO_NS` for a gap), so JetStream drops
//! the copies a redundant second recorder or a retried publish sends within the stream's
//! duplicate window. Acknowledgements are awaited with a bounded window of
//! [`WINDOW`] outstanding publishes, counted as they come: a full window makes this sink wait, the one channel
//! fills behind it, and `--on-full` decides, as for a slow disk. A publish whose
//! acknowledgement fails (timeout, broker restarting) is sent again with the same id, so
//! nothing is lost and nothing is stored twice; such a retry can put the record after
//! later ones of its stream, which the id lets a consumer re-sort. JetStream acknowledges a
//! copy it dropped as a duplicate; how many there were is logged at the end (`-v`).
//!
//! The sink's methods are synchronous and run on the sink task's own thread; the client's
//! futures are driven there with a small executor while the runtime's workers run the
//! client's connection (so this output needs the multi-threaded runtime `main` builds).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_nats::jetstream::context::{PublishAckFuture, PublishError};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, publish::PublishAck};
use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use rustc_hash::FxHashMap;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::broker::{Acks, NatsTarget};
use super::ndjson::Ndjson;
use super::{Encode, Sink, gap};
use crate::exchange::StreamId;
use crate::stats::Stats;
use crate::tick::{Channel, Gap, Symbol, Tick};

/// Publishes awaiting their acknowledgement, at most.
pub const WINDOW: usize = 4096;

/// The longest pause between attempts to publish a record the broker did not take.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);

/// A publish's acknowledgement, with the record to send again if it fails.
type AckFuture = Pin<Box<dyn Future<Output = (Pending, Result<PublishAck, PublishError>)> + Send>>;

/// One record on its way: what to send again if its acknowledgement fails.
struct Pending {
    subject: async_nats::Subject,
    id: String,
    payload: Bytes,
    tick: bool,
    /// Failed attempts so far.
    attempts: u32,
}

/// A stream's subject and message-id prefix, rendered once.
struct Route {
    subject: async_nats::Subject,
    key: String,
}

/// The NATS JetStream output.
pub struct NatsSink {
    js: jetstream::Context,
    target: NatsTarget,
    /// Acknowledgements awaited. Every one is polled from the start (its timeout runs from
    /// the publish), and settled in whatever order they come.
    window: FuturesUnordered<AckFuture>,
    /// Per stream, rendered at first use.
    routes: FxHashMap<(&'static str, Symbol, Channel), Route>,
    /// Shared with the client's event callback.
    acks: Arc<OnceLock<Acks>>,
    /// The hard deadline of the stop: every wait gives up when it fires.
    abort: CancellationToken,
    /// The record's payload, reused.
    line: Vec<u8>,
    /// Publishes JetStream acknowledged as duplicates (a record it already held under the
    /// same `Nats-Msg-Id`: stored once), told at the end.
    duplicates: u64,
}

/// Runs `future` to completion on this thread (see the module docs).
///
/// Unconstrained: this runs inside one poll of the sink task, whose tokio budget would
/// otherwise run out and make every tokio resource answer "not yet" until that poll ends,
/// which it never would.
fn block_on<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(tokio::task::unconstrained(future))
}

/// Connects to `target.server`, checks that a JetStream stream holds the subject of every
/// one of `streams` (or creates one, with `create_stream`), and returns the sink.
pub fn open(
    target: &NatsTarget,
    streams: &[StreamId],
    timeout: Duration,
) -> Result<NatsSink, String> {
    let acks: Arc<OnceLock<Acks>> = Arc::new(OnceLock::new());
    let events = acks.clone();
    let options = async_nats::ConnectOptions::new()
        .connection_timeout(timeout)
        .max_reconnects(None)
        .event_callback(move |event| {
            let events = events.clone();
            async move {
                use async_nats::Event::{ClientError, Disconnected, ServerError, SlowConsumer};
                match (&event, events.get()) {
                    (
                        Disconnected | ServerError(_) | ClientError(_) | SlowConsumer(_),
                        Some(acks),
                    ) => {
                        acks.error();
                        acks.warn(format_args!("nats: {event}"));
                    }
                    _ => debug!("nats: {event}"),
                }
            }
        });
    let shown = redacted(&target.server);
    let server = &shown;
    let client = block_on(tokio::time::timeout(
        timeout * 2,
        options.connect(target.server.as_str()),
    ))
    .map_err(|_| format!("cannot connect to NATS at {server}: no answer"))?
    .map_err(|e| format!("cannot connect to NATS at {server} ({e})"))?;
    let js = jetstream::new(client);
    let mut subjects: Vec<String> = streams
        .iter()
        .map(|id| {
            let exchange = crate::shard::exchange_of(id);
            target
                .subject
                .render(exchange, id.symbol.as_str(), id.channel.as_str())
        })
        .collect();
    subjects.sort();
    subjects.dedup();
    let missing = |js: &jetstream::Context| -> Result<Option<String>, String> {
        for subject in &subjects {
            match block_on(js.stream_by_subject(subject.clone())) {
                Ok(_) => {}
                Err(e) if e.kind() == jetstream::context::GetStreamByNameErrorKind::NotFound => {
                    return Ok(Some(subject.clone()));
                }
                Err(e) => {
                    return Err(format!(
                        "cannot look up JetStream streams on NATS at {server} ({e}): is JetStream enabled (nats-server -js)?"
                    ));
                }
            }
        }
        Ok(None)
    };
    let filter = target.subject.filter();
    if let Some(subject) = missing(&js)? {
        if !target.create_stream {
            return Err(format!(
                "no JetStream stream on NATS at {server} holds subject {subject}: create one \
                 (nats stream add {} --subjects '{filter}') or pass --nats-create-stream",
                stream_name(&filter)
            ));
        }
        let config = jetstream::stream::Config {
            name: stream_name(&filter),
            subjects: vec![filter.clone()],
            ..Default::default()
        };
        block_on(js.get_or_create_stream(config)).map_err(|e| {
            format!(
                "cannot create JetStream stream {} on NATS at {server} ({e})",
                stream_name(&filter)
            )
        })?;
        if let Some(subject) = missing(&js)? {
            return Err(format!(
                "JetStream stream {} on NATS at {server} exists but does not hold subject {subject}: \
                 add '{filter}' to its subjects or choose another --out subject",
                stream_name(&filter)
            ));
        }
    }
    Ok(NatsSink {
        js,
        target: target.clone(),
        window: FuturesUnordered::new(),
        routes: FxHashMap::default(),
        acks,
        abort: CancellationToken::new(),
        line: Vec::with_capacity(1024),
        duplicates: 0,
    })
}

/// `server` (`[USER:PASSWORD@]HOST:PORT`) as messages and the plan show it: a password (or
/// a token, `TOKEN@HOST:PORT`) becomes `***`.
pub fn redacted(server: &str) -> String {
    match server.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("***@{host}"),
        },
        None => server.to_owned(),
    }
}

/// The name `--nats-create-stream` gives the stream over `filter`: `FOXTROT` and the
/// template's literal tokens, upper case (`md.*.*.*` makes `FOXTROT_MD`).
pub fn stream_name(filter: &str) -> String {
    let mut name = String::from("FOXTROT");
    for token in filter.split('.').filter(|t| *t != "*") {
        name.push('_');
        name.push_str(&token.to_ascii_uppercase());
    }
    name
}

impl NatsSink {
    fn acks(&self) -> Option<&Acks> {
        self.acks.get()
    }

    /// Runs `future` unless the deadline fires first (`None`).
    fn wait<F: Future>(&self, future: F) -> Option<F::Output> {
        let abort = self.abort.clone();
        block_on(async move {
            tokio::select! {
                biased;
                out = future => Some(out),
                _ = abort.cancelled() => None,
            }
        })
    }

    /// Publishes a record (again, after `attempts` failures) and puts it in the window.
    /// Gives up only when the deadline fires: the record then stays unwritten (lost).
    fn submit(
        &mut self,
        subject: async_nats::Subject,
        id: String,
        payload: Bytes,
        tick: bool,
        mut attempts: u32,
    ) {
        loop {
            if attempts > 0 {
                let pause = (Duration::from_millis(50) * 2u32.saturating_pow(attempts.min(8)))
                    .min(MAX_RETRY_PAUSE);
                if self.wait(tokio::time::sleep(pause)).is_none() {
                    return;
                }
            }
            let message = PublishMessage::build()
                .payload(payload.clone())
                .message_id(&id);
            match self.wait(self.js.send_publish(subject.clone(), message)) {
                None => return,
                Some(Ok(ack)) => {
                    let ack: PublishAckFuture = ack;
                    let pending = Pending {
                        subject,
                        id,
                        payload,
                        tick,
                        attempts,
                    };
                    self.window
                        .push(Box::pin(async move { (pending, ack.await) }));
                    return;
                }
                Some(Err(e)) => {
                    attempts += 1;
                    if let Some(acks) = self.acks() {
                        acks.error();
                        acks.warn(format_args!(
                            "nats: cannot publish to {subject} ({e}); retrying"
                        ));
                    }
                }
            }
        }
    }

    /// Settles one record whose acknowledgement came: counted, or sent again.
    fn settle(&mut self, pending: Pending, result: Result<PublishAck, PublishError>) {
        match result {
            Ok(ack) => {
                self.duplicates += u64::from(ack.duplicate);
                if let Some(acks) = self.acks() {
                    acks.acked(pending.tick, pending.payload.len() as u64);
                }
            }
            Err(e) => {
                if let Some(acks) = self.acks() {
                    acks.error();
                    acks.warn(format_args!(
                        "nats: no acknowledgement for {} ({e}); publishing it again",
                        pending.subject
                    ));
                }
                let Pending {
                    subject,
                    id,
                    payload,
                    tick,
                    attempts,
                    ..
                } = pending;
                self.submit(subject, id, payload, tick, attempts + 1);
            }
        }
    }

    /// Settles the acknowledgements that already came, without waiting.
    fn reap(&mut self) {
        while let Some(Some((pending, result))) = self.window.next().now_or_never() {
            self.settle(pending, result);
        }
    }

    /// Waits for the next acknowledgement; false when the deadline fired first.
    fn settle_next(&mut self) -> bool {
        if self.window.is_empty() {
            return true;
        }
        let abort = self.abort.clone();
        let next = block_on(async {
            tokio::select! {
                biased;
                next = self.window.next() => next,
                _ = abort.cancelled() => None,
            }
        });
        match next {
            Some((pending, result)) => {
                self.settle(pending, result);
                true
            }
            None => false,
        }
    }

    /// Publishes the record in `self.line` for the stream `(symbol, channel)`.
    fn publish(
        &mut self,
        exchange: &'static str,
        symbol: &Symbol,
        channel: Channel,
        id: impl std::fmt::Display,
        tick: bool,
    ) {
        if self.abort.is_cancelled() {
            return;
        }
        self.reap();
        while self.window.len() >= WINDOW {
            if !self.settle_next() {
                return;
            }
        }
        let target = &self.target;
        let route = self
            .routes
            .entry((exchange, symbol.clone(), channel))
            .or_insert_with(|| {
                let mut key = Vec::new();
                super::broker::key(exchange, symbol.as_str(), channel.as_str(), &mut key);
                Route {
                    subject: target
                        .subject
                        .render(exchange, symbol.as_str(), channel.as_str())
                        .into(),
                    key: String::from_utf8(key).expect("keys are ASCII"),
                }
            });
        let subject = route.subject.clone();
        let id = format!("{}:{id}", route.key);
        let payload = Bytes::copy_from_slice(&self.line);
        if let Some(acks) = self.acks() {
            acks.sent();
        }
        self.submit(subject, id, payload, tick, 0);
    }
}

impl Sink for NatsSink {
    fn attach(&mut self, stats: &Arc<Stats>, abort: &CancellationToken) {
        let _ = self.acks.set(Acks::new(stats.clone()));
        self.abort = abort.clone();
    }

    fn write(&mut self, tick: &Tick) -> io::Result<()> {
        self.line.clear();
        Ndjson.encode(tick, &mut self.line);
        self.publish(
            tick.exchange.as_str(),
            &tick.symbol,
            tick.channel(),
            tick.data.sequence(),
            true,
        );
        Ok(())
    }

    fn gap(&mut self, record: &Gap) -> io::Result<()> {
        self.line.clear();
        gap::ndjson_line(record, &mut self.line);
        let id = format_args!("gap:{}-{}", record.from_ns, record.to_ns).to_string();
        self.publish(
            record.exchange.as_str(),
            &record.symbol,
            record.channel,
            id,
            false,
        );
        Ok(())
    }

    fn buffered(&self) -> usize {
        0
    }

    fn flush(&mut self) -> io::Result<u64> {
        self.reap();
        Ok(0)
    }

    fn refresh_every(&self) -> Option<Duration> {
        // Acknowledgements that come while no tick arrives are counted this often.
        Some(Duration::from_millis(100))
    }

    fn refresh(&mut self) -> io::Result<()> {
        self.reap();
        Ok(())
    }

    fn finish(&mut self) -> io::Result<u64> {
        while !self.window.is_empty() {
            if !self.settle_next() {
                break;
            }
        }
        if self.duplicates > 0 {
            info!(
                "nats: JetStream already held {} of the records published (same Nats-Msg-Id \
                 within the stream's duplicate window) and kept one copy of each",
                self.duplicates
            );
        }
        let left = self.acks().map_or(0, Acks::pending);
        if left > 0 {
            warn!(
                "nats: {left} records not acknowledged on {} before the deadline: counted lost",
                redacted(&self.target.server)
            );
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_streams_are_named_after_the_literal_tokens() {
        assert_eq!(stream_name("md.*.*.*"), "FOXTROT_MD");
        assert_eq!(stream_name("a.b.*"), "FOXTROT_A_B");
        assert_eq!(stream_name("*.*"), "FOXTROT");
    }

    #[test]
    fn passwords_and_tokens_in_the_server_are_shown_as_stars() {
        assert_eq!(redacted("127.0.0.1:4222"), "127.0.0.1:4222");
        assert_eq!(redacted("me:s3cret@host:4222"), "me:***@host:4222");
        assert_eq!(redacted("me:p@ss@host:4222"), "me:***@host:4222");
        assert_eq!(redacted("tok3n@host:4222"), "***@host:4222");
    }
}
