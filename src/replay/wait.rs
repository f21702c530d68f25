//! The waits every kind of replay session shares: the server's ping timer and payload,
//! deadlines that may be absent, and the stalled server that reads and answers nothing.
//! It owns no session state (see `session`, `flood`, `depth`, `dialect::bybit`).

use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// The payload of server pings; Binance expects clients to echo it in the pong.
pub(super) const PING_PAYLOAD: &[u8] = b"foxtrot-replay";

/// The read buffer of a stalled session, which discards what it reads.
const DRAIN_BUFFER: usize = 8192;

/// A ping timer whose first tick comes one interval after connecting; `None` if disabled.
pub(super) fn ping_timer(interval: Duration) -> Option<Interval> {
    (!interval.is_zero()).then(|| {
        let mut timer = tokio::time::interval_at(Instant::now() + interval, interval);
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        timer
    })
}

/// Resolves at the timer's next tick; never when there is no timer.
pub(super) async fn tick(timer: &mut Option<Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Resolves at `deadline`; never when there is none.
pub(crate) async fn at(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Reads and discards until the client goes away or the server stops, answering nothing:
/// the stalled server whose kernel still acknowledges what the client sends.
pub(crate) async fn drain(mut tcp: TcpStream, stop: &CancellationToken) {
    let mut buffer = vec![0; DRAIN_BUFFER];
    loop {
        tokio::select! {
            read = tcp.read(&mut buffer) => match read {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) => {
                    debug!(error = %e, "read failed");
                    return;
                }
            },
            () = stop.cancelled() => return,
        }
    }
}

/// Resolves at `due`; at once when there is none.
pub(super) async fn wait_until(due: Option<Instant>) {
    if let Some(due) = due {
        tokio::time::sleep_until(due).await;
    }
}
