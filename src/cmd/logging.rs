//! Logging: the level from `-q`/`-v` (or `RUST_LOG`), written through the status line's
//! writer so a log line never tears the line redrawn in place.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::report;

/// Installs the global subscriber; call once, before the runtime starts.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| report::status::StderrWriter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
