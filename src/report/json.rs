//! `--stats-interval`: one JSON object per interval, on stderr or appended to
//! `--stats-file`, for scripts; the last one (`"final": true`) comes after the output
//! drained and carries the final counts.
//!
//! Each object is one line written with one `write`, so lines never interleave with logs.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tracing::warn;

use super::{Ending, Monitor, ReportError, Sample, round3, status};

/// The `--stats-interval` reporter.
pub struct StatsJson {
    /// Time between objects.
    every: Duration,
    /// `--stats-file`, or stderr when `None`.
    file: Option<File>,
}

/// One stats object. Field order is the documented order.
#[derive(Debug, Serialize)]
struct Record<'a> {
    /// Wall-clock time of the reading, ns since the Unix epoch (like `recv_ns`).
    ts_ns: u64,
    /// Seconds since the run started.
    elapsed_s: f64,
    /// The last object of the run, written after the output drained.
    #[serde(rename = "final")]
    last: bool,
    received: u64,
    written: u64,
    dropped: u64,
    queued: u64,
    queue_capacity: u64,
    decode_errors: u64,
    connects: u64,
    reconnects: u64,
    stalls: u64,
    gaps: u64,
    /// Order-book re-syncs of every venue (each also wrote gap records).
    resyncs: u64,
    /// Order-book re-syncs per venue that keeps books, keyed by exchange.
    resyncs_by_exchange: std::collections::BTreeMap<&'static str, u64>,
    bytes_written: u64,
    /// Errors of a broker output (`--out kafka://`, `nats://`).
    broker_errors: u64,
    /// Records a broker output has not yet seen acknowledged.
    broker_inflight: u64,
    /// Ticks received per second since the previous object.
    rate: f64,
    /// Seconds since the latest tick of any stream (since the start when none came).
    last_age_s: f64,
    /// Our clock minus each venue's, in seconds, keyed by exchange.
    clock_offset_s: std::collections::BTreeMap<&'static str, f64>,
    streams: Vec<StreamRecord<'a>>,
}

/// One stream's part of a stats object.
#[derive(Debug, Serialize)]
struct StreamRecord<'a> {
    exchange: &'static str,
    symbol: &'a str,
    channel: &'static str,
    received: u64,
    rate: f64,
    last_age_s: f64,
    /// Order-book re-syncs of the stream's symbol (0 but for `depth` and `book`).
    resyncs: u64,
}

impl StatsJson {
    /// Writes every `every`, to `file` (appended to, created if missing) or else stderr.
    pub fn open(every: Duration, file: Option<&Path>) -> Result<StatsJson, ReportError> {
        let file = file
            .map(|path| {
                OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(path)
                    .map_err(|source| ReportError::StatsFile {
                        path: path.to_owned(),
                        source,
                    })
            })
            .transpose()?;
        Ok(StatsJson { every, file })
    }

    /// Writes an object every interval until `ending`, then the final one.
    pub async fn run(mut self, monitor: Arc<Monitor>, ending: Ending) {
        let start = tokio::time::Instant::now() + self.every;
        let mut interval = tokio::time::interval_at(start, self.every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut previous = monitor.sample();
        // The object before `previous` (the start, at first): the final object may come a
        // moment after a periodic one, and its rate is then taken from here.
        let mut before = previous.clone();
        loop {
            let last = tokio::select! {
                _ = interval.tick() => false,
                _ = ending.finished() => true,
            };
            let sample = monitor.sample();
            let base = if last {
                rate_base(&sample, &previous, &before, self.every)
            } else {
                &previous
            };
            let mut line = serde_json::to_vec(&record(&sample, base, last))
                .expect("a stats record always serializes");
            line.push(b'\n');
            let written = match &mut self.file {
                Some(file) => file.write_all(&line),
                None => status::write_stderr(&line),
            };
            if let Err(e) = written {
                warn!("cannot write stats ({e}); no more stats for this run");
                return;
            }
            if last {
                return;
            }
            before = std::mem::replace(&mut previous, sample);
        }
    }
}

/// What the final object's rates are counted from: the previous object when a whole
/// interval has passed since it, else the one before (or the start). A final object a
/// millisecond after a periodic one would otherwise show a rate of 0 (issue 13).
fn rate_base<'s>(
    now: &Sample,
    previous: &'s Sample,
    before: &'s Sample,
    every: Duration,
) -> &'s Sample {
    if now.at.duration_since(previous.at) >= every {
        previous
    } else {
        before
    }
}

fn record<'a>(sample: &'a Sample, previous: &Sample, last: bool) -> Record<'a> {
    let t = &sample.totals;
    Record {
        ts_ns: sample.now_ns,
        elapsed_s: round3(sample.elapsed.as_secs_f64()),
        last,
        received: t.received,
        written: t.written,
        dropped: t.dropped,
        queued: sample.queued(),
        queue_capacity: sample.capacity,
        decode_errors: t.decode_errors,
        connects: t.connects,
        reconnects: t.reconnects,
        stalls: t.stalls,
        gaps: t.gaps,
        resyncs: t.resyncs,
        resyncs_by_exchange: sample
            .resyncs
            .iter()
            .map(|(venue, n)| (venue.name(), *n))
            .collect(),
        bytes_written: t.bytes_written,
        broker_errors: t.broker_errors,
        broker_inflight: t.broker_inflight,
        rate: round3(sample.rate(previous)),
        last_age_s: round3(sample.age(sample.last_recv_ns()).as_secs_f64()),
        clock_offset_s: sample
            .clock_offsets
            .iter()
            .map(|(venue, s)| (venue.name(), round3(*s)))
            .collect(),
        streams: sample
            .streams
            .iter()
            .enumerate()
            .map(|(i, s)| StreamRecord {
                exchange: s.id.venue.name(),
                symbol: s.id.symbol.as_str(),
                channel: s.id.channel.as_str(),
                received: s.received,
                rate: round3(sample.stream_rate(previous, i)),
                last_age_s: round3(sample.age(s.last_recv_ns).as_secs_f64()),
                resyncs: s.resyncs,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Stats;
    use std::time::Instant;

    #[test]
    fn the_final_rate_covers_a_whole_interval() {
        let stats = Arc::new(Stats::default());
        let monitor = Monitor::new(stats.clone(), 64, Instant::now());
        let every = Duration::from_secs(2);
        let start = monitor.sample();
        let mut periodic = start.clone();
        periodic.at = start.at + every;
        periodic.totals.received = 100;
        // The final object, 1 ms after the periodic one, with one more tick.
        let mut last = periodic.clone();
        last.at = periodic.at + Duration::from_millis(1);
        last.totals.received = 101;
        let base = rate_base(&last, &periodic, &start, every);
        let rate = record(&last, base, true).rate;
        assert!((rate - 101.0 / 2.001).abs() < 0.01, "rate {rate}");
        // A whole interval after the periodic one: counted from it, as every object is.
        last.at = periodic.at + every;
        last.totals.received = 300;
        let base = rate_base(&last, &periodic, &start, every);
        assert_eq!(record(&last, base, true).rate, 100.0);
    }

    #[test]
    fn a_record_is_one_line_of_the_documented_keys() {
        let monitor = Monitor::new(Arc::new(Stats::default()), 64, Instant::now());
        let sample = monitor.sample();
        let text = serde_json::to_string(&record(&sample, &sample, true)).unwrap();
        assert!(!text.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut documented = vec![
            "ts_ns",
            "elapsed_s",
            "final",
            "received",
            "written",
            "dropped",
            "queued",
            "queue_capacity",
            "decode_errors",
            "connects",
            "reconnects",
            "stalls",
            "gaps",
            "resyncs",
            "resyncs_by_exchange",
            "bytes_written",
            "broker_errors",
            "broker_inflight",
            "rate",
            "last_age_s",
            "clock_offset_s",
            "streams",
        ];
        documented.sort();
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, documented);
        assert_eq!(value["final"], true);
        assert_eq!(value["queue_capacity"], 64);
    }
}
