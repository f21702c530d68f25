//! The Binance-compatible WebSocket server that `foxtrot replay` runs and the tests use.
//!
//! This module owns the server's lifecycle: binding, the accept loop, spawning one
//! session per connection through a [`TaskTracker`], and staged shutdown (tell sessions to
//! close with a [`CancellationToken`], wait up to [`SHUTDOWN_GRACE`], then abort what is
//! left). What a session sends lives in `session`, `behavior` and `library`; faults in
//! `behavior` and `fault`; the request protocol in `request`; counters in [`Stats`].
//! Command-line parsing is not here.

mod accept;
mod behavior;
mod book_gen;

mod depth;
mod dialect;
mod endpoint;
mod fault;
mod flood;
mod library;
mod request;
mod rest;
mod rows;
mod session;
mod stats;
mod streams;
mod wait;

use std::future::Future;
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use behavior::{Behavior, DEFAULT_PING_INTERVAL};
pub use book_gen::{BookGenerator, GenConfig, GenEvent};
pub use depth::{DepthFeed, DepthMarkets, RestFaults};
pub use dialect::books::BookFault;
pub use dialect::okx::IDLE_LIMIT as OKX_IDLE_LIMIT;
pub use fault::{
    DEFAULT_OVERSIZED_BYTES, Injection, InjectionKind, ParseFaultError, Refusal, RefusalStatus,
};
pub use library::{Library, LoadError};
pub use rest::{RestServer, RunningRest, weight as rest_weight};
pub use stats::{Stats, StatsSnapshot};
pub use streams::MAX_STREAMS;

use accept::Shared;

/// How long sessions get to close after shutdown before they are aborted.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A pause after a failed `accept` (such as too many open files), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Everything a replay server needs: what to send and how.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// The recorded messages, shared by every session.
    pub library: Arc<Library>,
    /// Pacing, looping, limits, pings and faults of every session.
    pub behavior: Behavior,
}

impl ReplayConfig {
    /// Sends `library` with the default [`Behavior`]: as fast as possible, once, pinging
    /// every 20 s.
    pub fn new(library: Library) -> ReplayConfig {
        ReplayConfig {
            library: Arc::new(library),
            behavior: Behavior::default(),
        }
    }

    /// The configuration `foxtrot replay` was typed with: the files and every behavior
    /// flag.
    pub fn from_args(args: &crate::cli::ReplayArgs) -> Result<ReplayConfig, LoadError> {
        Ok(ReplayConfig {
            library: Arc::new(Library::load(&args.files)?),
            behavior: Behavior {
                rate: args.rate,
                looped: args.looped,
                limit: args.limit,
                close_after: args.close_after,
                ping_interval: args.ping_interval,
                drop_after: args.drop_after,
                stall_after: args.stall_after,
                refuse: args.refuse.map(|status| Refusal {
                    status,
                    retry_after: args.retry_after,
                    first: args.refuse_first,
                }),
                injections: args.inject.clone(),
                oversized_bytes: args.oversized_bytes,
                max_age: args.max_age,
                pong_timeout: args.pong_timeout,
                live: args.live,
                flood: args.flood,
                clock_shift_ms: args.clock_shift_ms,
                depth: depth_of(args),
                idle_limit: None,
                speed_milli: args.speed.map(|x| (x * 1000.0).round() as u64),
                book_fault: None,
            },
        })
    }

    /// Loads `files` (in order) with the default [`Behavior`].
    pub fn load(files: &[PathBuf]) -> Result<ReplayConfig, LoadError> {
        Library::load(files).map(ReplayConfig::new)
    }
}

/// The depth mode `foxtrot replay --depth` was typed with.
fn depth_of(args: &crate::cli::ReplayArgs) -> Option<Arc<DepthMarkets>> {
    if !args.depth {
        return None;
    }
    let defaults = DepthFeed::default();
    let feed = DepthFeed {
        futures: args.depth_futures,
        seed: args.depth_seed.unwrap_or(defaults.seed),
        levels: args.depth_levels.max(1),
        interval: args.depth_interval,
        max_events: args.depth_events,
        gap_every: args.depth_gap_every.filter(|n| *n > 0),
        gap_symbol: args
            .depth_gap_symbol
            .as_ref()
            .map(|s| s.to_ascii_uppercase()),
        rest: RestFaults {
            delay: args.rest_delay,
            delay_first: args.rest_delay_first.unwrap_or(0),
            too_many_first: args.rest_429_first.unwrap_or(0),
            retry_after_secs: args.rest_retry_after,
            stale_first: args.rest_stale_first.unwrap_or(0),
        },
    };
    Some(Arc::new(DepthMarkets::new(feed)))
}

/// A bound replay server, not yet accepting.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port; see [`Server::local_addr`]).
    pub async fn bind(addr: SocketAddr, config: ReplayConfig) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            library: config.library,
            behavior: config.behavior,
            stats: Arc::new(Stats::default()),
            refusals: AtomicU64::new(0),
            started: tokio::time::Instant::now(),
        });
        Ok(Server {
            listener,
            local_addr,
            shared,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base URL clients connect to, such as `ws://127.0.0.1:9443`.
    pub fn url(&self) -> String {
        url(self.local_addr)
    }

    /// The server's counters; keep the `Arc` to read them after the server stopped.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.shared.stats)
    }

    /// Accepts connections until `shutdown` resolves, then closes every session and
    /// returns once all have ended (at most [`SHUTDOWN_GRACE`] later, plus a moment to
    /// abort the stragglers).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let Server {
            listener, shared, ..
        } = self;
        // Every session is spawned through this tracker so shutdown can wait for them.
        let tracker = TaskTracker::new();
        // Cancelled when shutdown starts: sessions send a Close frame and end.
        let stop = CancellationToken::new();
        // Cancelled when the grace period is over: sessions still running are dropped,
        // since a `TaskTracker` aborts nothing by itself.
        let abort = CancellationToken::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        let (shared, stop, abort) = (Arc::clone(&shared), stop.clone(), abort.clone());
                        tracker.spawn(async move {
                            tokio::select! {
                                () = accept::serve(tcp, peer, shared, stop) => {}
                                () = abort.cancelled() => {}
                            }
                        });
                    }
                    Err(e) => {
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
            }
        }
        // New clients get "connection refused" rather than waiting in the backlog.
        drop(listener);
        stop.cancel();
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
            .await
            .is_err()
        {
            warn!(
                sessions = tracker.len(),
                "sessions did not close in time; aborting them"
            );
            abort.cancel();
            tracker.wait().await;
        }
        Ok(())
    }

    /// Runs the server in the background on the current runtime (for tests and embedding).
    pub fn spawn(self) -> RunningServer {
        let stop = CancellationToken::new();
        let url = self.url();
        let local_addr = self.local_addr;
        let stats = self.stats();
        let task = tokio::spawn(self.run(stop.clone().cancelled_owned()));
        RunningServer {
            url,
            local_addr,
            stats,
            stop,
            task: Some(task),
        }
    }
}

/// A server running in the background; dropping it starts shutdown without waiting.
#[derive(Debug)]
pub struct RunningServer {
    url: String,
    local_addr: SocketAddr,
    stats: Arc<Stats>,
    /// Cancelled by [`RunningServer::shutdown`] or on drop; it is the server's `shutdown`.
    stop: CancellationToken,
    /// The server's `run`, awaited by [`RunningServer::shutdown`].
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningServer {
    /// The base URL clients connect to, such as `ws://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's counters.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// Stops the server and waits until every session has ended.
    pub async fn shutdown(mut self) -> io::Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Runs `foxtrot replay`: binds `listen`, prints `listening on ws://<addr>` as the first
/// line of stdout (tests read it to learn the port), and serves until `shutdown`.
pub async fn serve(
    config: ReplayConfig,
    listen: SocketAddr,
    rest_listen: SocketAddr,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let summary = config.library.to_string();
    let markets = config.behavior.depth.clone();
    let server = Server::bind(listen, config)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    // Depth mode: the REST snapshots of the same books, on a second port.
    let rest = match markets {
        Some(markets) => Some(
            RestServer::bind(rest_listen, markets)
                .await
                .with_context(|| format!("cannot listen on {rest_listen}"))?,
        ),
        None => None,
    };
    {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "listening on ws://{}", server.local_addr())
            .and_then(|()| match &rest {
                Some(rest) => writeln!(stdout, "rest on {}", rest.url()),
                None => Ok(()),
            })
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
    }
    let rest = rest.map(RestServer::spawn);
    info!(library = %summary, url = %server.url(), "replay server started");
    let stats = server.stats();
    server.run(shutdown).await?;
    if let Some(rest) = rest {
        rest.shutdown().await;
    }
    info!(stats = ?stats.snapshot(), "replay server stopped");
    Ok(())
}

/// `ws://` plus `addr`, with an unspecified address (`0.0.0.0`) replaced by loopback so
/// the URL can be connected to.
fn url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("ws://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests;
