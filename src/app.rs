//! Wiring only: the channel, the tokens and the tracker; spawns the connections and the sink,
//! waits for a reason to stop, runs the staged stop and reports.
//!
//! The stop trigger is a parameter (`signal`), so tests can fire it without signals.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::config::Config;
use crate::connection::{Admission, Connection, ConnectionError, Shared};
use crate::exit::Exit;
use crate::limiter::Limiters;
use crate::pipe;
use crate::report::{Ending, Monitor, ReportError, Reporters};
use crate::shutdown::{Drain, Shutdown};
use crate::sink::{self, OpenError, SinkEnd};
use crate::stats::{Snapshot, Stats};

/// How long to wait for a finished task's result to reach its handle.
const HANDLE_GRACE: Duration = Duration::from_secs(1);

/// How long outputs that saw the abort and are ending their files (the gzip trailer, the
/// zstd frame end, the Parquet footer) get: they stop writing rows at once, and only one
/// stuck in the OS while ending them holds the exit this long. An output stuck writing a
/// row (a pipe nobody reads) is not waited for.
const FINISH_GRACE: Duration = Duration::from_secs(10);

/// Exit code when the deadline forced the stop and ticks were lost.
pub const EXIT_LOST: i32 = crate::exit::Exit::Lost.code();

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The output cannot be opened.
    #[error(transparent)]
    Output(#[from] OpenError),
    /// The stats file or the metrics address cannot be used.
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl StartError {
    /// Whether the user fixes this by changing the command (exit 2) rather than the system.
    pub fn is_usage(&self) -> bool {
        match self {
            StartError::Output(e) => e.is_usage(),
            StartError::Report(_) => false,
        }
    }
}

/// Why a run failed after it started.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A connection gave up.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// Writing the output failed.
    #[error("cannot write output {0}")]
    Output(std::io::Error),
    /// A task panicked (a bug).
    #[error("internal error: {0}")]
    Panic(String),
    /// The run ended (`--duration`, `--limit`, a signal) without ever connecting.
    #[error(transparent)]
    NeverConnected(#[from] crate::dialing::NeverConnected),
}

/// What a run did, for the summary line and the exit code.
#[derive(Debug)]
pub struct Report {
    /// Final counters.
    pub stats: Snapshot,
    /// Our clock minus each venue's at the end, in seconds.
    pub clock_offsets: Vec<(crate::exchange::Venue, f64)>,
    /// Order-book re-syncs per venue that keeps books (empty when the run keeps none).
    pub resyncs: Vec<(crate::exchange::Venue, u64)>,
    /// From start to the end of the stop.
    pub elapsed: Duration,
    /// The deadline passed (and so `stats.lost` may be above zero).
    pub deadline_passed: Option<Duration>,
    /// The reader of stdout went away: end quietly.
    pub output_closed: bool,
    /// What went wrong, if anything.
    pub failure: Option<RunError>,
    /// `--raw`: records written and records dropped (the writer fell behind).
    pub raw: Option<(u64, u64)>,
}

impl Report {
    /// 0 clean, 1 failure, 3 ticks lost (the deadline passed, or a broker output never
    /// acknowledged them).
    pub fn exit_code(&self) -> i32 {
        match &self.failure {
            Some(_) => Exit::Failure.code(),
            None if self.stats.lost > 0 => EXIT_LOST,
            None => Exit::Ok.code(),
        }
    }

    /// The one summary line for stderr.
    pub fn summary(&self) -> String {
        let s = &self.stats;
        let deadline = match self.deadline_passed {
            Some(d) => format!(
                "shutdown deadline of {} passed; ",
                humantime::format_duration(d)
            ),
            None => String::new(),
        };
        let mut skew = String::new();
        for (venue, seconds) in &self.clock_offsets {
            skew.push_str(&format!("; clock offset {venue} {seconds:+.3}s"));
        }
        let resyncs = match self.resyncs.as_slice() {
            [] => String::new(),
            [(_, n)] => format!(", resyncs {n}"),
            many => {
                let each: Vec<String> = many.iter().map(|(v, n)| format!("{v} {n}")).collect();
                format!(", resyncs {} ({})", s.resyncs, each.join(", "))
            }
        };
        let raw = match self.raw {
            Some((written, dropped)) => format!(", raw records {written} (dropped {dropped})"),
            None => String::new(),
        };
        format!(
            "foxtrot: {deadline}received {}, written {}, dropped {}, lost {}, reconnects {}, stalls {}, gaps {}{resyncs}{raw} in {:.2}s{skew}",
            s.received,
            s.written,
            s.dropped,
            s.lost,
            s.reconnects,
            s.stalls,
            s.gaps,
            self.elapsed.as_secs_f64(),
        )
    }
}

/// Runs `config` until `signal` resolves, `--limit` or `--duration` is reached, the output
/// closes, or a connection gives up; then stops in stages and reports.
///
/// Fails before starting only when the output, the stats file or the metrics address
/// cannot be opened.
pub async fn run(config: Config, signal: impl Future<Output = ()>) -> Result<Report, StartError> {
    // tokio-tungstenite's rustls ships no crypto provider; without one wss:// panics.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    let opened = sink::open(&config)?;
    let raw_files = match &config.raw {
        Some(path) => Some(
            crate::raw::writer::RawFiles::open(
                path,
                crate::config::Existing::Refuse,
                &config.files,
            )
            .inspect_err(|_| {
                for path in &opened.created {
                    let _ = std::fs::remove_file(path);
                }
            })?,
        ),
        None => None,
    };
    let reporters = match Reporters::start(&config).await {
        Ok(reporters) => reporters,
        Err(e) => {
            // Refused before anything ran: leave no empty output file of our own behind.
            for path in &opened.created {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
    };
    let stats = Arc::new(Stats::new(&config.streams));
    let shutdown = Shutdown::new(config.shutdown_timeout);
    let admission = Arc::new(Admission::new(config.limit));
    let (tx, rx) = pipe::channel(config.buffer);

    // Cancelled when the sink task returns, however it returns: the counts are final.
    let drained = tokio_util::sync::CancellationToken::new();
    let mut sink_task = {
        let (stats, abort) = (stats.clone(), shutdown.abort.clone());
        let runtime = tokio::runtime::Handle::current();
        let out = opened.sink;
        let drained = drained.clone().drop_guard();
        let flush_interval = config.flush_interval;
        shutdown.tracker.spawn_blocking(move || {
            let _drained = drained;
            runtime.block_on(sink::run(rx, out, stats, abort, flush_interval))
        })
    };
    // `--raw`: the taps' channel and the writer on its own thread (see `raw::writer`).
    let mut raw_counts = None;
    let mut raw_task = raw_files.map(|files| {
        let (tap, rx, counts) = crate::raw::Tap::new(crate::raw::writer::queue_capacity(&files));
        raw_counts = Some((tap, counts.clone()));
        let (abort, stats) = (shutdown.abort.clone(), stats.clone());
        shutdown
            .tracker
            .spawn_blocking(move || crate::raw::writer::run(files, rx, counts, stats, abort))
    });
    let (raw_tap, raw_counts) = raw_counts.unzip();
    let shared = Shared {
        stats: stats.clone(),
        intake: shutdown.intake.clone(),
        abort: shutdown.abort.clone(),
        on_full: config.on_full,
        admission: admission.clone(),
        limiters: Arc::new(Limiters::new(&config.connect_limits)),
        settings: config.connection.clone(),
        // Order books (issue 10): levels, interval, REST endpoints per venue.
        books: crate::connection::BookSettings::new(
            config.book.levels,
            config.book.interval,
            config.book.rest_endpoints(&config),
        ),
        raw_only: config.output == crate::config::Output::Discard && raw_tap.is_some(),
        raw: raw_tap,
    };
    crate::exchange::binance_depth::set_speed(config.book.depth_speed);
    reporters.spawn(
        &shutdown.tracker,
        Arc::new(Monitor::new(stats.clone(), config.buffer, started)),
        Ending {
            intake: shutdown.intake.clone(),
            drained,
            abort: shutdown.abort.clone(),
        },
    );
    let mut connections: FuturesUnordered<_> = config
        .shards
        .iter()
        .map(|shard| {
            let connection = Connection::new(
                shared.clone(),
                &shard.endpoint,
                shard.streams.clone(),
                tx.clone(),
            );
            shutdown.tracker.spawn(connection.run())
        })
        .collect();
    // Only connections hold senders: when the last ends, the sink sees the channel close
    // (and the raw writer its taps go).
    drop(tx);
    drop(shared);

    let duration = async {
        match config.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(signal, duration);
    let mut failure = None;
    let mut sink_result = None;
    let mut raw_result = None;
    loop {
        tokio::select! {
            result = async { raw_task.as_mut().expect("guarded").await }, if raw_task.is_some() && raw_result.is_none() => {
                let failed = !matches!(result, Ok(Ok(())));
                raw_result = Some(result);
                if failed {
                    break;
                }
            }
            _ = &mut signal => break,
            _ = admission.reached.cancelled() => break,
            _ = &mut duration => break,
            result = &mut sink_task => {
                sink_result = Some(result);
                break;
            }
            Some(joined) = connections.next() => match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    failure = Some(RunError::Connection(e));
                    break;
                }
                Err(e) => {
                    failure = Some(RunError::Panic(e.to_string()));
                    break;
                }
            },
        }
    }

    let drain = shutdown.stop().await;
    // A connection that failed also closed the channel, so the sink may have been seen
    // first: collect every connection's result. The tracker counts a task done just before
    // its output reaches the JoinHandle, so await the handles (briefly) instead of peeking;
    // tasks left running past the deadline are not waited for.
    let settled = matches!(
        drain,
        Drain::Complete | Drain::DeadlinePassed { settled: true }
    );
    let grace = if settled {
        HANDLE_GRACE
    } else {
        Duration::ZERO
    };
    while let Ok(Some(joined)) = tokio::time::timeout(grace, connections.next()).await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = failure.or(Some(RunError::Connection(e))),
            Err(e) => failure = failure.or(Some(RunError::Panic(e.to_string()))),
        }
    }
    // An output that is ending its files is waited for even when a connection is stuck (a
    // file it leaves unfinished would not decode); one stuck writing is not.
    let finish_grace = |finishing: &std::sync::atomic::AtomicBool| match (
        settled,
        finishing.load(std::sync::atomic::Ordering::Relaxed),
    ) {
        (true, _) => HANDLE_GRACE,
        (false, true) => FINISH_GRACE,
        (false, false) => Duration::ZERO,
    };
    if sink_result.is_none()
        && let Ok(result) =
            tokio::time::timeout(finish_grace(&stats.sink_finishing), &mut sink_task).await
    {
        sink_result = Some(result);
    }
    if let Some(task) = raw_task.as_mut().filter(|_| raw_result.is_none())
        && let Ok(result) = tokio::time::timeout(finish_grace(&stats.raw_finishing), task).await
    {
        raw_result = Some(result);
    }
    match raw_result {
        Some(Ok(Err(e))) => failure = failure.or(Some(RunError::Output(e))),
        Some(Err(e)) => failure = failure.or(Some(RunError::Panic(e.to_string()))),
        Some(Ok(Ok(()))) | None => {}
    }
    let mut output_closed = false;
    match sink_result {
        Some(Ok(Ok(SinkEnd::OutputClosed))) => output_closed = true,
        Some(Ok(Err(e))) => failure = failure.or(Some(RunError::Output(e))),
        Some(Err(e)) => failure = failure.or(Some(RunError::Panic(e.to_string()))),
        Some(Ok(Ok(SinkEnd::Drained | SinkEnd::Aborted))) | None => {}
    }
    // Issue 13: a run that never connected recorded nothing, however it ended: never a
    // success. Its output is kept: it holds the `never_connected` gap records.
    let never_connected = stats.dialing.never_connected(&config.endpoint);
    let keep_output = failure.is_none() && never_connected.is_some();
    if failure.is_none() && !output_closed {
        failure = never_connected.map(RunError::NeverConnected);
    }
    let report = Report {
        stats: stats.snapshot(),
        clock_offsets: stats.skew.estimates_s(),
        resyncs: stats.resyncs(),
        elapsed: started.elapsed(),
        deadline_passed: matches!(drain, Drain::DeadlinePassed { .. })
            .then_some(config.shutdown_timeout),
        output_closed,
        failure,
        raw: raw_counts.map(|c| {
            use std::sync::atomic::Ordering::Relaxed;
            (c.written.load(Relaxed), c.dropped.load(Relaxed))
        }),
    };
    // A failed run that wrote nothing leaves no empty file of its own behind.
    if report.failure.is_some() && report.stats.written == 0 && !keep_output {
        for path in &opened.created {
            let _ = std::fs::remove_file(path);
        }
    }
    Ok(report)
}
