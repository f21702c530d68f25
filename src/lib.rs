//! foxtrot streams and records crypto exchanges' public market data.
//!
//! Data flow: [`cli`] parses what was typed, [`cmd`] runs the command it names, and
//! [`config`] turns it into a validated plan;
//! [`app`] wires one runtime: one [`connection`] task per WebSocket (decoding frames with an
//! [`exchange`]) sends [`tick::Tick`]s, a burst at a time, into ONE bounded channel
//! ([`pipe`]); ONE [`sink`] task owns the receiver and the output. [`shutdown`] decides when to stop and enforces the hard
//! deadline. [`report`] shows the counters while it runs (status line, stats JSON,
//! Prometheus). [`replay`] is the Binance-compatible server the tests (and offline users) run
//! on 127.0.0.1.
// No unsafe code but where it is allowed at its use: one foreign call (`malloc_trim`
// in `memory`) and the SSE2 string scan of a raw capture's JSON check (`raw::json`).
#![deny(unsafe_code)]

pub mod admission;
pub mod app;
pub mod backoff;
pub mod book;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod config;
/// The config file reader, by its former path.
pub use config::file as config_file;
pub mod connection;
pub mod decimal;
pub mod dialing;
pub mod exchange;
pub mod exit;
pub mod generate;
pub mod limiter;
pub mod memory;
pub mod pipe;
pub mod plan;
pub mod raw;
pub mod replay;
pub mod report;
pub mod shard;
pub mod short_text;
pub mod shutdown;
pub mod sink;
pub mod skew;
pub mod stats;
pub mod swar;
pub mod terminal;
pub mod tick;
