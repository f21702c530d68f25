//! What a run tells people and machines while it runs: the live status line on a terminal
//! ([`status`]), one JSON object per interval ([`json`]) and a Prometheus endpoint
//! ([`metrics`]).
//!
//! All three read the same counters ([`Stats`]) through a [`Monitor`], a few times a second
//! or per scrape; none of them touches the data path. They run as tasks of the run's
//! tracker and end once the output has drained ([`Ending`]), so the last JSON object and
//! the last scrape carry the final counts, and the status line is gone before the summary.

pub mod json;
pub mod metrics;
pub mod status;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock;
use crate::config::Config;
use crate::exchange::StreamId;
use crate::stats::{Snapshot, Stats};

/// Why a reporter could not start (before anything connects). Runtime errors: exit 1.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// `--stats-file` cannot be opened for appending.
    #[error("cannot open stats file {path} ({source})")]
    StatsFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `--metrics-addr` cannot be listened on.
    #[error("cannot serve metrics on {addr} ({source})")]
    Metrics {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Reads a run's counters for the reporters.
#[derive(Debug)]
pub struct Monitor {
    /// The run's counters.
    stats: Arc<Stats>,
    /// `--buffer`: the channel's capacity.
    capacity: u64,
    /// When the run started.
    started: Instant,
}

/// The counters at one moment, with what the reporters derive from them.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When it was taken.
    pub at: Instant,
    /// The same moment in ns since the Unix epoch (the clock of `recv_ns`).
    pub now_ns: u64,
    /// Since the run started.
    pub elapsed: Duration,
    /// The run-wide counters.
    pub totals: Snapshot,
    /// Our clock minus each venue's, in seconds, for venues whose ticks carry event times.
    pub clock_offsets: Vec<(crate::exchange::Venue, f64)>,
    /// Order-book re-syncs per venue that keeps books (see [`Stats::resyncs`]).
    pub resyncs: Vec<(crate::exchange::Venue, u64)>,
    /// The channel's capacity in ticks.
    pub capacity: u64,
    /// Per stream, in the order of the plan.
    pub streams: Vec<StreamSample>,
    /// `connecting to HOST (attempt N, last: CAUSE)` until the first connection.
    pub connecting: Option<String>,
}

/// One stream's counters at one moment.
#[derive(Debug, Clone)]
pub struct StreamSample {
    /// Which stream.
    pub id: StreamId,
    /// Ticks admitted on it.
    pub received: u64,
    /// Receive time of its latest tick, if any came.
    pub last_recv_ns: Option<u64>,
    /// Order-book re-syncs of its symbol (`depth` and `book` streams).
    pub resyncs: u64,
}

impl Monitor {
    /// A monitor over `stats` of a run that started at `started` with a channel of `capacity`.
    pub fn new(stats: Arc<Stats>, capacity: usize, started: Instant) -> Monitor {
        Monitor {
            stats,
            capacity: capacity as u64,
            started,
        }
    }

    /// Reads every counter now.
    pub fn sample(&self) -> Sample {
        let at = Instant::now();
        Sample {
            at,
            now_ns: clock::now_ns(),
            elapsed: at.duration_since(self.started),
            totals: self.stats.snapshot(),
            clock_offsets: self.stats.skew.estimates_s(),
            resyncs: self.stats.resyncs(),
            capacity: self.capacity,
            streams: self
                .stats
                .streams()
                .map(|s| StreamSample {
                    id: s.id.clone(),
                    received: s.received,
                    last_recv_ns: s.last_recv_ns,
                    resyncs: s.resyncs,
                })
                .collect(),
            connecting: self.stats.dialing.status(),
        }
    }
}

impl Sample {
    /// Ticks received and not yet written or dropped: in the channel, or taken by the
    /// output and not yet handed to the OS. At the end of a run this is what was lost.
    pub fn queued(&self) -> u64 {
        self.totals.lost
    }

    /// The run keeps order books (it has `depth` or `book` streams): re-syncs are shown.
    pub fn keeps_books(&self) -> bool {
        !self.resyncs.is_empty()
    }

    /// Receive time of the latest tick of any stream.
    pub fn last_recv_ns(&self) -> Option<u64> {
        self.streams.iter().filter_map(|s| s.last_recv_ns).max()
    }

    /// Time since `recv_ns`, or since the start when nothing came yet.
    pub fn age(&self, recv_ns: Option<u64>) -> Duration {
        match recv_ns {
            Some(ns) => Duration::from_nanos(self.now_ns.saturating_sub(ns)),
            None => self.elapsed,
        }
    }

    /// Ticks received per second between `earlier` and this sample.
    pub fn rate(&self, earlier: &Sample) -> f64 {
        per_second(
            self.totals.received.saturating_sub(earlier.totals.received),
            self.at.duration_since(earlier.at),
        )
    }

    /// Ticks received per second on stream `i` between `earlier` and this sample.
    pub fn stream_rate(&self, earlier: &Sample, i: usize) -> f64 {
        let before = earlier.streams.get(i).map_or(0, |s| s.received);
        let now = self.streams.get(i).map_or(0, |s| s.received);
        per_second(
            now.saturating_sub(before),
            self.at.duration_since(earlier.at),
        )
    }
}

fn per_second(count: u64, over: Duration) -> f64 {
    if over.is_zero() {
        0.0
    } else {
        count as f64 / over.as_secs_f64()
    }
}

/// The name of a stream as Binance writes it and foxtrot shows it: `BTCUSDT@trade`.
pub fn stream_name(id: &StreamId) -> String {
    format!("{}@{}", id.symbol, id.channel)
}

/// When reporters stop: once the output drained (so they can show final counts), or when
/// the hard deadline passed. Intake stopping only changes what the status line says.
#[derive(Debug, Clone)]
pub struct Ending {
    /// Stage 1 of the stop: intake ended; the output is draining.
    pub intake: CancellationToken,
    /// The sink task returned: the counts are final.
    pub drained: CancellationToken,
    /// The hard deadline passed.
    pub abort: CancellationToken,
}

impl Ending {
    /// Resolves when the reporters should write their last and end.
    pub async fn finished(&self) {
        tokio::select! {
            _ = self.drained.cancelled() => {}
            _ = self.abort.cancelled() => {}
        }
    }
}

/// The reporters a run asked for, set up before anything connects.
pub struct Reporters {
    /// `--stats-interval` / `--stats-file`.
    json: Option<json::StatsJson>,
    /// `--metrics-addr`, already listening.
    metrics: Option<metrics::Exporter>,
    /// The live status line (stderr is a terminal, not `--quiet`, no live table).
    status: bool,
    /// The live table's note line and log board (the output is the table).
    table: bool,
}

impl Reporters {
    /// Opens the stats file and binds the metrics address that `config` names.
    pub async fn start(config: &Config) -> Result<Reporters, ReportError> {
        let json = match config.stats_interval {
            Some(every) => Some(json::StatsJson::open(every, config.stats_file.as_deref())?),
            None => None,
        };
        let metrics = match config.metrics_addr {
            Some(addr) => {
                let exporter = metrics::Exporter::bind(addr).await?;
                if !config.quiet {
                    status::print_line(&format!(
                        "foxtrot: serving metrics on http://{}/metrics",
                        exporter.local_addr()
                    ));
                }
                Some(exporter)
            }
            None => None,
        };
        Ok(Reporters {
            json,
            metrics,
            status: config.status_line,
            table: config.output == crate::config::Output::Stdout(crate::cli::Format::Table),
        })
    }

    /// Spawns each reporter on `tracker`; they end at `ending`.
    pub fn spawn(self, tracker: &TaskTracker, monitor: Arc<Monitor>, ending: Ending) {
        if let Some(json) = self.json {
            tracker.spawn(json.run(monitor.clone(), ending.clone()));
        }
        if let Some(metrics) = self.metrics {
            tracker.spawn(metrics.serve(monitor.clone(), ending.clone(), tracker.clone()));
        }
        if self.status {
            tracker.spawn(status::run(monitor.clone(), ending.clone()));
        }
        if self.table {
            tracker.spawn(status::run_table(monitor, ending));
        }
    }
}

/// Rounds to three decimals, for numbers people and scripts read.
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_rates() {
        let stats = Arc::new(Stats::default());
        let monitor = Monitor::new(stats.clone(), 10, Instant::now());
        let first = monitor.sample();
        assert_eq!(first.last_recv_ns(), None);
        assert_eq!(first.age(None), first.elapsed);
        let mut second = first.clone();
        second.at = first.at + Duration::from_millis(500);
        second.totals.received = 50;
        assert_eq!(second.rate(&first), 100.0);
        assert_eq!(second.rate(&second), 0.0);
        second.now_ns = 3_000_000_000;
        assert_eq!(second.age(Some(1_000_000_000)), Duration::from_secs(2));
        assert_eq!(round3(1.23456), 1.235);
    }
}
