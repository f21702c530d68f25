//! `--metrics-addr`: a Prometheus endpoint (`GET /metrics`) serving the run's counters.
//!
//! prometheus-client does the exposition (OpenMetrics text, which Prometheus scrapes
//! natively): a [`Collector`] reads the counters at scrape time, so a scrape is never
//! staler than the request and nothing is updated between scrapes. hyper serves HTTP/1.1;
//! each connection is a task of the run's tracker and ends with the run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;
use tracing::debug;

use super::{Ending, Monitor, ReportError};
use crate::tick::Channel;

/// The content type of the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A slow or idle client does not hold a connection open longer than this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The bound endpoint, not yet serving.
pub struct Exporter {
    listener: TcpListener,
}

impl Exporter {
    /// Listens on `addr` (port 0 picks a free port; see [`Exporter::local_addr`]).
    pub async fn bind(addr: SocketAddr) -> Result<Exporter, ReportError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ReportError::Metrics { addr, source })?;
        Ok(Exporter { listener })
    }

    /// The address actually listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Answers scrapes until `ending`; each connection is a task on `tracker`.
    pub async fn serve(self, monitor: Arc<Monitor>, ending: Ending, tracker: TaskTracker) {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(RunCollector(monitor)));
        let registry = Arc::new(registry);
        loop {
            let stream = tokio::select! {
                _ = ending.finished() => return,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: try again shortly.
                        debug!("metrics: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let registry = registry.clone();
            let service = hyper::service::service_fn(move |request| {
                std::future::ready(Ok::<_, Infallible>(respond(&registry, &request)))
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let ending = ending.clone();
            tracker.spawn(async move {
                tokio::select! {
                    served = connection => if let Err(e) = served {
                        debug!("metrics: connection ended: {e}");
                    },
                    _ = ending.finished() => {}
                }
            });
        }
    }
}

fn respond(registry: &Registry, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("static headers are valid")
    };
    let text = "text/plain; charset=utf-8";
    match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => {
            let mut body = String::new();
            match prometheus_client::encoding::text::encode(&mut body, registry) {
                Ok(()) => reply(StatusCode::OK, CONTENT_TYPE, body),
                Err(_) => reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    text,
                    "cannot encode metrics\n".into(),
                ),
            }
        }
        (&Method::GET | &Method::HEAD, "/") => reply(
            StatusCode::OK,
            text,
            "foxtrot: metrics are at /metrics\n".into(),
        ),
        (_, "/metrics" | "/") => reply(StatusCode::METHOD_NOT_ALLOWED, text, "only GET\n".into()),
        _ => reply(
            StatusCode::NOT_FOUND,
            text,
            "not found; try /metrics\n".into(),
        ),
    }
}

/// Encodes the run's counters at scrape time.
#[derive(Debug)]
struct RunCollector(Arc<Monitor>);

impl Collector for RunCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sample = self.0.sample();
        let t = &sample.totals;
        let counters: [(&str, &str, Option<Unit>, u64); 9] = [
            (
                "foxtrot_ticks_written",
                "Ticks handed to the OS (or shown, for the table)",
                None,
                t.written,
            ),
            (
                "foxtrot_ticks_dropped",
                "Ticks dropped because the channel was full (--on-full drop-newest)",
                None,
                t.dropped,
            ),
            (
                "foxtrot_decode_errors",
                "Frames that could not be decoded",
                None,
                t.decode_errors,
            ),
            (
                "foxtrot_connects",
                "Successful WebSocket handshakes",
                None,
                t.connects,
            ),
            (
                "foxtrot_reconnects",
                "Connections made again after one was lost",
                None,
                t.reconnects,
            ),
            (
                "foxtrot_stalls",
                "Connections found silent for too long",
                None,
                t.stalls,
            ),
            (
                "foxtrot_gaps",
                "Places where ticks may be missing (reconnects, sequence jumps)",
                None,
                t.gaps,
            ),
            (
                "foxtrot_output",
                "Bytes handed to the OS by the output",
                Some(Unit::Bytes),
                t.bytes_written,
            ),
            (
                "foxtrot_broker_errors",
                "Errors of a broker output: failed connections, refused or timed-out publishes",
                None,
                t.broker_errors,
            ),
        ];
        for (name, help, unit, value) in counters {
            let counter = ConstCounter::new(value);
            let metric =
                encoder.encode_descriptor(name, help, unit.as_ref(), counter.metric_type())?;
            counter.encode(metric)?;
        }

        let gauges: [(&str, &str, i64); 3] = [
            (
                "foxtrot_queue_depth",
                "Ticks received but not yet written: in the channel or the output's buffer",
                sample.queued().try_into().unwrap_or(i64::MAX),
            ),
            (
                "foxtrot_queue_capacity",
                "Capacity of the channel between connections and output (--buffer)",
                sample.capacity.try_into().unwrap_or(i64::MAX),
            ),
            (
                "foxtrot_broker_inflight",
                "Records handed to a broker output and not yet acknowledged",
                t.broker_inflight.try_into().unwrap_or(i64::MAX),
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        let uptime = ConstGauge::new(sample.elapsed.as_secs_f64());
        let metric = encoder.encode_descriptor(
            "foxtrot_uptime",
            "Seconds since the run started",
            Some(&Unit::Seconds),
            uptime.metric_type(),
        )?;
        uptime.encode(metric)?;

        let mut received = encoder.encode_descriptor(
            "foxtrot_ticks_received",
            "Ticks received and admitted, per stream",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for s in &sample.streams {
            let labels = [
                ("exchange", s.id.venue.name()),
                ("symbol", s.id.symbol.as_str()),
                ("channel", s.id.channel.as_str()),
            ];
            ConstCounter::new(s.received).encode(received.encode_family(&labels)?)?;
        }
        let mut age = encoder.encode_descriptor(
            "foxtrot_last_message_age",
            "Seconds since the stream's latest tick (since the start when none came yet)",
            Some(&Unit::Seconds),
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for s in &sample.streams {
            let labels = [
                ("exchange", s.id.venue.name()),
                ("symbol", s.id.symbol.as_str()),
                ("channel", s.id.channel.as_str()),
            ];
            let seconds = sample.age(s.last_recv_ns).as_secs_f64();
            ConstGauge::new(seconds).encode(age.encode_family(&labels)?)?;
        }
        if sample.keeps_books() {
            let mut resyncs = encoder.encode_descriptor(
                "foxtrot_book_resyncs",
                "Order books built again after a break (sequence, checksum, buffer overflow), per exchange",
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for (venue, count) in &sample.resyncs {
                let labels = [("exchange", venue.name())];
                ConstCounter::new(*count).encode(resyncs.encode_family(&labels)?)?;
            }
            let mut per_stream = encoder.encode_descriptor(
                "foxtrot_book_stream_resyncs",
                "Order-book re-syncs of the stream's symbol, per depth and book stream",
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for s in &sample.streams {
                if !matches!(s.id.channel, Channel::Depth | Channel::Book) {
                    continue;
                }
                let labels = [
                    ("exchange", s.id.venue.name()),
                    ("symbol", s.id.symbol.as_str()),
                    ("channel", s.id.channel.as_str()),
                ];
                ConstCounter::new(s.resyncs).encode(per_stream.encode_family(&labels)?)?;
            }
        }
        let mut skew = encoder.encode_descriptor(
            "foxtrot_clock_offset",
            "Local clock minus the exchange's, estimated from event times (network delay included)",
            Some(&Unit::Seconds),
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (venue, seconds) in &sample.clock_offsets {
            let labels = [("exchange", venue.name())];
            ConstGauge::new(*seconds).encode(skew.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::StreamId;
    use crate::stats::Stats;
    use crate::tick::{Channel, Symbol};

    /// What a scrape of a run with `stats` (a channel of 16) answers.
    fn exposition(stats: Arc<Stats>) -> String {
        let monitor = Arc::new(Monitor::new(stats, 16, std::time::Instant::now()));
        let mut registry = Registry::default();
        registry.register_collector(Box::new(RunCollector(monitor)));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn book_resyncs_have_a_series_per_exchange_and_book_stream() {
        let depth = StreamId::new(
            crate::exchange::Venue::Binance,
            Symbol::parse("ETHUSDT").unwrap(),
            Channel::Depth,
        );
        let stats = Arc::new(Stats::new(std::slice::from_ref(&depth)));
        stats.book_resynced(crate::exchange::Venue::Binance, &[stats.position(&depth)]);
        let text = exposition(stats);
        for line in [
            "# TYPE foxtrot_book_resyncs counter",
            "foxtrot_book_resyncs_total{exchange=\"binance\"} 1",
            "foxtrot_book_stream_resyncs_total{exchange=\"binance\",symbol=\"ETHUSDT\",channel=\"depth\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
    }

    #[test]
    fn exposition_has_typed_families_with_stream_labels() {
        let stats = Arc::new(Stats::new(&[StreamId::new(
            crate::exchange::Venue::Binance,
            Symbol::parse("BTCUSDT").unwrap(),
            Channel::Trade,
        )]));
        Stats::bump(&stats.written);
        stats
            .skew
            .publish(crate::exchange::Venue::Binance, 12_000_000, 1);
        let text = exposition(stats);
        for line in [
            "# TYPE foxtrot_ticks_written counter",
            "foxtrot_ticks_written_total 1",
            "# TYPE foxtrot_output_bytes counter",
            "# TYPE foxtrot_queue_depth gauge",
            "foxtrot_queue_capacity 16",
            "foxtrot_broker_errors_total 0",
            "foxtrot_broker_inflight 0",
            "foxtrot_ticks_received_total{exchange=\"binance\",symbol=\"BTCUSDT\",channel=\"trade\"} 0",
            "# TYPE foxtrot_clock_offset_seconds gauge",
            "foxtrot_clock_offset_seconds{exchange=\"binance\"} 0.012",
            "# TYPE foxtrot_last_message_age_seconds gauge",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
        assert!(!text.contains("resyncs"), "no books, no re-sync series");
    }
}
