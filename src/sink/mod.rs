//! Outputs: line formats (NDJSON, CSV), the live table, and the one task that owns them.

pub mod csv;
pub mod ndjson;

use crate::tick::Tick;

/// A line format: turns ticks into complete lines of bytes.
///
/// Encoders append to a caller's buffer and never do I/O, so the caller decides when
/// bytes reach the OS and every write it makes ends on a line boundary.
pub trait Encode: Send {
    /// Appends what a new output starts with (the CSV header row); nothing for NDJSON.
    fn header(&mut self, out: &mut Vec<u8>);

    /// Appends exactly one complete line, ending in `\n`, for `tick`.
    fn encode(&mut self, tick: &Tick, out: &mut Vec<u8>);
}
