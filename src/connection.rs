//! One task per WebSocket connection: connect, read, decode, send ticks; reconnect inside the
//! same task; close with a close frame when intake stops.
//!
//! A reconnect never spawns anything: the task loops, so there is never a second reader.
//! While sending into a full channel the task waits on the abort token, not on intake: during
//! the drain the sink is still reading, so the send completes and nothing deadlocks.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::backoff::Backoff;
use crate::cli::OnFull;
use crate::clock;
use crate::exchange::{Control, Decoded, Exchange};
use crate::stats::Stats;
use crate::tick::Tick;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long to wait for the server's reply to our close frame before giving up on it.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Why a connection task gave up. Both end the run with exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No handshake succeeded within `--connect-timeout`.
    #[error("could not connect to {url} within {timeout} ({cause})")]
    NeverConnected {
        /// The URL tried.
        url: String,
        /// The timeout, as typed.
        timeout: humantime::FormattedDuration,
        /// The last failure.
        cause: String,
    },
    /// The server refused in a way retrying cannot fix (bad certificate, HTTP 404, ...).
    #[error("cannot connect to {url} ({cause})")]
    Refused {
        /// The URL tried.
        url: String,
        /// What the server or TLS said.
        cause: String,
    },
}

/// Admits ticks up to `--limit` across all connections and says when the limit is reached.
#[derive(Debug)]
pub struct Admission {
    /// The limit, if any.
    limit: Option<u64>,
    /// Ticks admitted so far (may run past the limit; those are refused).
    admitted: AtomicU64,
    /// Cancelled when the limit is reached: the run's cue to stop.
    pub reached: CancellationToken,
}

impl Admission {
    /// Admits everything when `limit` is `None`.
    pub fn new(limit: Option<u64>) -> Admission {
        Admission {
            limit,
            admitted: AtomicU64::new(0),
            reached: CancellationToken::new(),
        }
    }

    /// Whether one more tick may enter the run.
    pub fn admit(&self) -> bool {
        let Some(limit) = self.limit else { return true };
        let n = self.admitted.fetch_add(1, Relaxed) + 1;
        if n == limit {
            self.reached.cancel();
        }
        n <= limit
    }
}

/// One WebSocket connection's task and everything it needs.
pub struct Connection {
    /// Decodes frames.
    pub exchange: Arc<dyn Exchange>,
    /// The full URL, streams included.
    pub url: String,
    /// Where ticks go; dropped when the task ends, which is how the sink learns intake is over.
    pub tx: mpsc::Sender<Tick>,
    /// Run-wide counters.
    pub stats: Arc<Stats>,
    /// Stage 1 of shutdown: close the socket, stop reading, drop `tx`.
    pub intake: CancellationToken,
    /// The hard deadline passed: stop whatever is being waited on.
    pub abort: CancellationToken,
    /// What to do when the channel is full.
    pub on_full: OnFull,
    /// The `--limit` gate, shared by all connections.
    pub admission: Arc<Admission>,
    /// Give up when no handshake succeeded for this long.
    pub connect_timeout: Duration,
    /// Decode failures per kind, for rate-limited logging.
    pub(crate) decode_failures: HashMap<&'static str, u64>,
}

/// Whether the task goes on after handling a frame.
enum Flow {
    Continue,
    Stop,
}

/// How one connected session ended.
enum SessionEnd {
    /// Intake stopped, the sink is gone, or the deadline passed: the task ends.
    Stopped,
    /// The connection was lost; reconnect.
    Lost {
        /// What happened, for the log.
        reason: String,
        /// Whether any frame arrived (resets the backoff).
        delivered: bool,
    },
}

impl Connection {
    /// Builds a connection task; nothing happens until [`Connection::run`].
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        exchange: Arc<dyn Exchange>,
        url: String,
        tx: mpsc::Sender<Tick>,
        stats: Arc<Stats>,
        intake: CancellationToken,
        abort: CancellationToken,
        on_full: OnFull,
        admission: Arc<Admission>,
        connect_timeout: Duration,
    ) -> Connection {
        Connection {
            exchange,
            url,
            tx,
            stats,
            intake,
            abort,
            on_full,
            admission,
            connect_timeout,
            decode_failures: HashMap::new(),
        }
    }

    /// Connects and reads until intake stops; reconnects with backoff when the connection
    /// is lost. Fails only when it never connected within the timeout or was refused for good.
    pub async fn run(mut self) -> Result<(), ConnectionError> {
        let mut backoff = Backoff::default();
        // Until the first handshake succeeds, failing for `connect_timeout` ends the run.
        let mut first_deadline = Some(Instant::now() + self.connect_timeout);
        let mut last_cause = None;
        loop {
            let limit = first_deadline.unwrap_or_else(|| Instant::now() + self.connect_timeout);
            let attempt = {
                let connecting = tokio::time::timeout_at(limit, self.connect());
                tokio::pin!(connecting);
                tokio::select! {
                    biased;
                    attempt = &mut connecting => attempt,
                    _ = self.intake.cancelled() => {
                        // The server may have finished its side and be sending already: let the
                        // handshake finish (briefly) so the close handshake delivers what it sent.
                        tokio::select! {
                            attempt = &mut connecting => attempt,
                            _ = tokio::time::sleep(CLOSE_WAIT) => return Ok(()),
                            _ = self.abort.cancelled() => return Ok(()),
                        }
                    }
                }
            };
            let cause = match attempt {
                Ok(Ok(ws)) => {
                    first_deadline = None;
                    Stats::bump(&self.stats.connects);
                    info!(url = %self.url, "connected");
                    match self.session(ws).await {
                        SessionEnd::Stopped => return Ok(()),
                        SessionEnd::Lost { reason, delivered } => {
                            if delivered {
                                backoff.reset();
                            }
                            reason
                        }
                    }
                }
                Ok(Err(e)) if is_permanent(&e) => {
                    return Err(ConnectionError::Refused {
                        url: self.url.clone(),
                        cause: describe(&e),
                    });
                }
                Ok(Err(e)) => describe(&e),
                // Cut short by the first-connect deadline: the previous failure says more.
                Err(_) => last_cause
                    .take()
                    .unwrap_or_else(|| "handshake timed out".to_owned()),
            };
            let mut delay = backoff.next_delay();
            if let Some(deadline) = first_deadline {
                let now = Instant::now();
                if now >= deadline {
                    return Err(ConnectionError::NeverConnected {
                        url: self.url.clone(),
                        timeout: humantime::format_duration(self.connect_timeout),
                        cause,
                    });
                }
                delay = delay.min(deadline - now);
                // The final error names the cause; until then retries are not news.
                info!(url = %self.url, "{cause}; retrying in {delay:?}");
            } else {
                warn!(url = %self.url, "{cause}; reconnecting in {delay:?}");
            }
            last_cause = Some(cause);
            tokio::select! {
                _ = self.intake.cancelled() => return Ok(()),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    async fn connect(&self) -> Result<Ws, tungstenite::Error> {
        let (ws, _response) =
            tokio_tungstenite::connect_async_with_config(self.url.as_str(), None, true).await?;
        Ok(ws)
    }

    async fn session(&mut self, mut ws: Ws) -> SessionEnd {
        let mut delivered = false;
        loop {
            let frame = tokio::select! {
                biased;
                _ = self.intake.cancelled() => {
                    self.close(&mut ws).await;
                    return SessionEnd::Stopped;
                }
                frame = ws.next() => frame,
            };
            let reason = match frame {
                Some(Ok(Message::Text(text))) => {
                    delivered = true;
                    match self.deliver(text.as_str()).await {
                        Flow::Continue => continue,
                        Flow::Stop => return SessionEnd::Stopped,
                    }
                }
                // tungstenite queues the pong itself; it goes out with the next read.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                    delivered = true;
                    continue;
                }
                Some(Ok(Message::Binary(_))) => continue,
                Some(Ok(Message::Close(frame))) => {
                    // Poll on so tungstenite sends the close reply, briefly.
                    let _ = tokio::time::timeout(CLOSE_WAIT, async {
                        while let Some(Ok(_)) = ws.next().await {}
                    })
                    .await;
                    match frame {
                        Some(f) => {
                            format!("server closed the connection ({} {})", f.code, f.reason)
                        }
                        None => "server closed the connection".to_owned(),
                    }
                }
                Some(Err(e)) => describe(&e),
                None => "connection ended".to_owned(),
            };
            return SessionEnd::Lost { reason, delivered };
        }
    }

    /// Sends a close frame, then keeps reading until the server's reply: whatever the
    /// server sent before it saw our close is still delivered.
    async fn close(&mut self, ws: &mut Ws) {
        let abort = self.abort.clone();
        let closing = async {
            if let Err(e) = ws.close(None).await {
                debug!(url = %self.url, "close frame not sent: {e}");
                return;
            }
            while let Some(Ok(frame)) = ws.next().await {
                if let Message::Text(text) = frame
                    && let Flow::Stop = self.deliver(text.as_str()).await
                {
                    return;
                }
            }
        };
        tokio::select! {
            _ = closing => {}
            _ = abort.cancelled() => {}
            _ = tokio::time::sleep(CLOSE_WAIT) => {
                debug!(url = %self.url, "no close reply from the server");
            }
        }
    }

    async fn deliver(&mut self, text: &str) -> Flow {
        // Decoding and handing over happen without an await in between, so the tick is
        // built on the stack and moved once, into the channel; only a full channel under
        // `--on-full block` takes the async path.
        match self.deliver_now(text) {
            Offer::Done(flow) => flow,
            Offer::Wait(tick) => self.send(tick).await,
        }
    }

    /// Decodes `text` and offers the tick to the channel.
    fn deliver_now(&mut self, text: &str) -> Offer {
        match self.exchange.decode(text, clock::now_ns()) {
            Ok(Decoded::Tick(tick)) => self.offer(tick),
            Ok(Decoded::Control(Control::Error { code, msg, .. })) => {
                warn!(url = %self.url, "server error {code}: {msg}");
                Offer::Done(Flow::Continue)
            }
            Ok(Decoded::Control(Control::ServerShutdown { .. })) => {
                info!(url = %self.url, "server announced its shutdown");
                Offer::Done(Flow::Continue)
            }
            Ok(Decoded::Control(Control::Ack { .. }) | Decoded::Unsupported) => {
                Offer::Done(Flow::Continue)
            }
            Err(e) => {
                Stats::bump(&self.stats.decode_errors);
                let seen = self.decode_failures.entry(e.kind()).or_default();
                *seen += 1;
                // The first of each kind, then every power of ten: visible, never a flood.
                if is_power_of_ten(*seen) {
                    warn!(url = %self.url, count = *seen, "skipped a frame: {e}");
                }
                Offer::Done(Flow::Continue)
            }
        }
    }

    /// Admits `tick` under `--limit` and puts it in the channel if there is room;
    /// otherwise drops it (`--on-full drop-newest`) or hands it back to wait (`block`).
    fn offer(&self, tick: Tick) -> Offer {
        if !self.admission.admit() {
            return Offer::Done(Flow::Continue);
        }
        Stats::bump(&self.stats.received);
        match self.tx.try_send(tick) {
            Ok(()) => Offer::Done(Flow::Continue),
            Err(TrySendError::Closed(_)) => Offer::Done(Flow::Stop),
            Err(TrySendError::Full(tick)) => match self.on_full {
                OnFull::Block => Offer::Wait(tick),
                OnFull::DropNewest => {
                    Stats::bump(&self.stats.dropped);
                    Offer::Done(Flow::Continue)
                }
            },
        }
    }

    /// Waits for room for an admitted `tick` (the channel was full), or for the abort.
    async fn send(&self, tick: Tick) -> Flow {
        tokio::select! {
            biased;
            sent = self.tx.send(tick) => match sent {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::Stop,
            },
            _ = self.abort.cancelled() => Flow::Stop,
        }
    }
}

/// What became of a decoded frame on the fast path.
enum Offer {
    /// Handled: queued, dropped, refused or not a tick.
    Done(Flow),
    /// An admitted tick that must wait for room in the channel.
    Wait(Tick),
}

fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

/// Whether retrying cannot help: a bad URL, a TLS failure, or an HTTP refusal other than
/// "slow down" (408, 418, 429) or a server-side error (5xx).
fn is_permanent(e: &tungstenite::Error) -> bool {
    use tungstenite::Error;
    match e {
        Error::Url(_) | Error::Tls(_) => true,
        Error::Http(response) => {
            let status = response.status().as_u16();
            (400..500).contains(&status) && ![408, 418, 429].contains(&status)
        }
        Error::Io(io) => tls_cause(io).is_some(),
        _ => false,
    }
}

fn tls_cause(io: &std::io::Error) -> Option<&rustls::Error> {
    io.get_ref()?.downcast_ref::<rustls::Error>()
}

/// One line for a handshake or read failure, without tungstenite's prefixes.
fn describe(e: &tungstenite::Error) -> String {
    use tungstenite::Error;
    match e {
        Error::Http(response) => format!("HTTP {}", response.status()),
        Error::Io(io) => match tls_cause(io) {
            Some(tls) => format!("TLS: {tls}"),
            None => io.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_stops_at_the_limit() {
        let a = Admission::new(Some(3));
        assert_eq!(
            (0..5).map(|_| a.admit()).collect::<Vec<_>>(),
            [true, true, true, false, false]
        );
        assert!(a.reached.is_cancelled());
        let unlimited = Admission::new(None);
        assert!((0..1000).all(|_| unlimited.admit()));
        assert!(!unlimited.reached.is_cancelled());
    }

    #[test]
    fn decode_failures_are_logged_at_powers_of_ten() {
        let logged: Vec<u64> = (1..=2000).filter(|&n| is_power_of_ten(n)).collect();
        assert_eq!(logged, [1, 10, 100, 1000]);
    }
}
