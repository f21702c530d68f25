//! foxtrot streams and records crypto exchanges' public market data.
//!
//! Data flow: `cli` parses what was typed into a validated `Config`; `app` wires one
//! runtime: one `connection` task per WebSocket (decoding frames with an `exchange`)
//! sends [`tick::Tick`]s into ONE bounded channel; ONE `sink` task owns the receiver and
//! the output. `shutdown` decides when to stop and enforces the hard deadline. `replay`
//! is the Binance-compatible server the tests (and offline users) run on 127.0.0.1.
#![forbid(unsafe_code)]

pub mod exchange;
pub mod sink;
pub mod tick;
