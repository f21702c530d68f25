//! The one integration-test binary: the real `foxtrot` binary against the replay server on
//! 127.0.0.1, over real sockets. Each test picks its own port and temp dir.

mod pty;
mod util;

mod books;
mod books_pushed;
mod brokers;
mod bybit;
mod cli;
mod e2e;
mod files;
mod lifecycle;
mod multi_venue;
mod okx;
mod replay_rows;
mod resilience;
mod signals;
mod tls;
mod ux_config;
mod ux_first_run;
mod ux_generate;
mod ux_report;
mod ux_terminal;
mod venue_resilience;
mod venues;
