//! The one tokio runtime of a run: built with its worker count, the signals bridged into
//! it, and shut down without waiting on a sink stuck on a pipe nobody reads.

use std::time::Duration;

use super::fail;
use crate::exit::Exit;
use crate::shutdown;

/// Builds the one runtime, bridges the signals into it, runs `job`, and lets `finish` turn
/// the outcome into an exit code. A sink stuck on a pipe nobody reads does not hold the exit.
pub(super) fn on_runtime<F: std::future::Future>(
    announce: bool,
    job: impl FnOnce(tokio_util::sync::WaitForCancellationFutureOwned) -> F,
    finish: impl FnOnce(F::Output) -> i32,
) -> i32 {
    let signal = match shutdown::install_signal_handler(announce) {
        Ok(token) => token,
        Err(e) => {
            return fail(
                Exit::Failure,
                format_args!("cannot install the signal handler ({e})"),
            );
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return fail(
                Exit::Failure,
                format_args!("cannot start the runtime ({e})"),
            );
        }
    };
    let outcome = runtime.block_on(job(signal.cancelled_owned()));
    let code = finish(outcome);
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

/// Runtime workers: one core is left to the sink's own thread. On two cores a second worker
/// would only be woken to look for work that the one busy connection task never leaves.
fn workers() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.saturating_sub(1).max(1)
}
