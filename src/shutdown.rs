//! When to stop and how: the signal bridge, and the staged stop under one hard deadline.
//!
//! Stages: (1) `intake` is cancelled: connections send a close frame, read until the
//! server's reply and drop their senders; (2) the sink drains the channel and flushes and
//! syncs; (3) if (1) and (2) are not done within the deadline, `abort` is cancelled and
//! whatever is left is given a short grace, then abandoned and reported as lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long tasks get to notice `abort` before the run stops waiting for them.
const ABORT_GRACE: Duration = Duration::from_millis(500);

/// The exit code of a second Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = crate::exit::Exit::Interrupted.code();

/// Bridges Ctrl-C, SIGTERM and SIGHUP into the runtime: the first cancels the returned token
/// (a graceful stop), the second exits the process at once with code 130.
///
/// With `announce`, the first signal prints how to force the exit. Call once per process:
/// `ctrlc` allows one handler.
pub fn install_signal_handler(announce: bool) -> Result<CancellationToken, ctrlc::Error> {
    let token = CancellationToken::new();
    let seen = AtomicUsize::new(0);
    let cancel = token.clone();
    ctrlc::set_handler(move || {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            if announce {
                eprintln!("foxtrot: stopping (press Ctrl-C again to exit at once)");
            }
            cancel.cancel();
        } else {
            crate::report::status::clear();
            crate::terminal::restore_echo();
            eprintln!("foxtrot: interrupted");
            std::process::exit(EXIT_INTERRUPTED);
        }
    })?;
    Ok(token)
}

/// The tokens and tracker of one run's staged stop.
pub struct Shutdown {
    /// Stage 1: stop intake (connections close their sockets and drop their senders).
    pub intake: CancellationToken,
    /// The hard deadline passed: every wait gives up.
    pub abort: CancellationToken,
    /// Every task of the run is spawned through this, so the stop can wait for all of them.
    pub tracker: TaskTracker,
    /// The hard deadline, counted from the start of the stop.
    deadline: Duration,
}

/// How the stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Every task ended within the deadline.
    Complete,
    /// The deadline passed and `abort` was cancelled.
    DeadlinePassed {
        /// Whether every task ended within the grace after the abort.
        settled: bool,
    },
}

impl Shutdown {
    /// A shutdown with the given hard deadline.
    pub fn new(deadline: Duration) -> Shutdown {
        Shutdown {
            intake: CancellationToken::new(),
            abort: CancellationToken::new(),
            tracker: TaskTracker::new(),
            deadline,
        }
    }

    /// Runs the stages and returns once every task ended or the deadline (plus a short
    /// grace after the abort) passed. Call after every task was spawned.
    pub async fn stop(&self) -> Drain {
        self.tracker.close();
        self.intake.cancel();
        if tokio::time::timeout(self.deadline, self.tracker.wait())
            .await
            .is_ok()
        {
            return Drain::Complete;
        }
        self.abort.cancel();
        let settled = tokio::time::timeout(ABORT_GRACE, self.tracker.wait())
            .await
            .is_ok();
        Drain::DeadlinePassed { settled }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ignores_intake_is_aborted_at_the_deadline() {
        let shutdown = Shutdown::new(Duration::from_secs(5));
        let abort = shutdown.abort.clone();
        shutdown
            .tracker
            .spawn(async move { abort.cancelled().await });
        let started = tokio::time::Instant::now();
        let drain = shutdown.stop().await;
        assert_eq!(drain, Drain::DeadlinePassed { settled: true });
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_task_does_not_hold_the_stop_past_deadline_and_grace() {
        let shutdown = Shutdown::new(Duration::from_secs(1));
        shutdown.tracker.spawn(std::future::pending::<()>());
        let started = tokio::time::Instant::now();
        let drain = shutdown.stop().await;
        assert_eq!(drain, Drain::DeadlinePassed { settled: false });
        assert_eq!(started.elapsed(), Duration::from_secs(1) + ABORT_GRACE);
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_that_follow_intake_complete_the_drain() {
        let shutdown = Shutdown::new(Duration::from_secs(5));
        let intake = shutdown.intake.clone();
        shutdown
            .tracker
            .spawn(async move { intake.cancelled().await });
        assert_eq!(shutdown.stop().await, Drain::Complete);
    }
}
