//! Outputs: line formats (NDJSON, CSV), the live table, and the one task that owns them.
//!
//! The sink task is the only reader of the tick channel and the only writer of the output.
//! It runs on a blocking thread, so a write that blocks (a pipe nobody reads) never stalls
//! the runtime and never stops the shutdown deadline from firing.

pub mod compress;
pub mod csv;
pub mod fanout;
pub mod files;
pub mod gap;
pub mod ndjson;
pub mod output;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod recover;
pub mod rotate;
pub mod table;
pub mod template;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::book::row::BookRecord;
use crate::pipe::{Item, Receiver};
use crate::stats::Stats;
use crate::tick::{Event, Gap, Tick};

pub use output::{OpenError, Opened, open};

/// A line format: turns ticks into complete lines of bytes.
///
/// Encoders append to a caller's buffer and never do I/O, so the caller decides when
/// bytes reach the OS and every write it makes ends on a line boundary.
pub trait Encode: Send {
    /// Appends what a new output starts with (the CSV header row); nothing for NDJSON.
    fn header(&mut self, out: &mut Vec<u8>);

    /// Appends exactly one complete line, ending in `\n`, for `tick`.
    fn encode(&mut self, tick: &Tick, out: &mut Vec<u8>);

    /// Appends the complete line(s) of an order-book row (`depth` in CSV is one line per
    /// level change). A format without order-book rows writes the NDJSON line.
    fn encode_book(&mut self, record: &BookRecord, out: &mut Vec<u8>) {
        record.write_ndjson_line(out);
    }
}

/// An output that takes ticks and decides when they reach the OS.
///
/// The contract: one `Sink` is one output (a file or a set of files from one `--out`, stdout,
/// a topic). Several outputs are several sinks behind one [`fanout::Fanout`], which the one
/// sink task owns; every output gets every row. An `Err` from any method stops the run: the
/// error names the output (see [`output::named`]), and the sink has already finished what it
/// still could, so no file is left torn.
pub trait Sink: Send {
    /// Takes one tick into the sink's buffer. Does no I/O for line formats.
    fn write(&mut self, tick: &Tick) -> io::Result<()>;

    /// Takes one gap record (inline, to a side file, or nowhere, as the format allows).
    fn gap(&mut self, gap: &Gap) -> io::Result<()>;

    /// Takes one order-book row (`depth`, `book`). An output that cannot hold them
    /// refuses (the plan refuses such outputs before the run; this is the backstop).
    fn book(&mut self, record: &BookRecord) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "this output cannot take {} rows: record them to an .ndjson or .csv file",
                record.channel()
            ),
        ))
    }

    /// Bytes taken but not yet handed to the OS.
    fn buffered(&self) -> usize;

    /// Hands what is buffered to the OS; returns how many ticks that committed.
    fn flush(&mut self) -> io::Result<u64>;

    /// How often [`Sink::refresh`] should run while no tick arrives; `None` for never.
    fn refresh_every(&self) -> Option<Duration> {
        None
    }

    /// Redraws a live view (ages move on even when no tick arrives).
    fn refresh(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Flushes and makes the output durable (`fsync` for files); returns ticks committed.
    fn finish(&mut self) -> io::Result<u64>;
}

/// How the sink task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkEnd {
    /// Every sender was dropped and every tick was written.
    Drained,
    /// The hard deadline passed; what was still queued is lost.
    Aborted,
    /// The reader of the output went away (a closed pipe): a quiet, normal end.
    OutputClosed,
}

/// Items (a tick, or a connection's burst of up to 64) taken from the channel at once;
/// one flush usually covers them all.
const BATCH: usize = 16;
/// A backlog this deep (1 MiB of events) is given back to the OS once drained.
const GIVE_BACK_AFTER: usize = 8192;
/// Flush early once this many bytes are buffered, even if more ticks are waiting.
const FLUSH_AT: usize = 64 * 1024;
/// How long the sink waits for more ticks once it has caught up, before it flushes and
/// sleeps until woken. Without it a sink faster than the connections wakes (a futex call
/// and two context switches) and writes once per tick; with it, it takes a batch per wait.
/// This is also the most a written tick waits before it is flushed.
const LINGER: Duration = Duration::from_millis(1);

/// Owns the receiver: writes every tick, flushes when the channel runs dry, finishes when
/// every sender is gone. Stops early when `abort` fires or the output is closed.
///
/// Runs inside `Handle::block_on` on a blocking thread (see the module docs).
pub async fn run(
    mut rx: Receiver,
    mut sink: Box<dyn Sink>,
    stats: Arc<Stats>,
    abort: CancellationToken,
) -> io::Result<SinkEnd> {
    let result = drain(&mut rx, sink.as_mut(), &stats, &abort).await;
    // Stop taking ticks before finishing, so no sender waits on a sink that is gone.
    rx.close();
    let end = match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(SinkEnd::OutputClosed),
        Err(e) => return Err(e),
        Ok(end) => end,
    };
    let bytes = sink.buffered() as u64;
    match sink.finish() {
        Ok(n) => {
            stats
                .written
                .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            stats
                .bytes_written
                .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
            Ok(end)
        }
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(SinkEnd::OutputClosed),
        Err(e) => Err(e),
    }
}

async fn drain(
    rx: &mut Receiver,
    sink: &mut dyn Sink,
    stats: &Stats,
    abort: &CancellationToken,
) -> io::Result<SinkEnd> {
    let mut batch = Vec::with_capacity(BATCH);
    // Whether the channel has held a deep backlog since memory was last given back.
    let mut deep = false;
    let refresh_every = sink.refresh_every();
    let mut refresh = tokio::time::interval(refresh_every.unwrap_or(Duration::from_secs(3600)));
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let received = tokio::select! {
            biased;
            _ = abort.cancelled() => return Ok(SinkEnd::Aborted),
            n = rx.recv_many(&mut batch, BATCH) => n,
            _ = refresh.tick(), if refresh_every.is_some() => {
                sink.refresh()?;
                continue;
            }
        };
        if received == 0 {
            return Ok(SinkEnd::Drained);
        }
        deep |= rx.queued() + received >= GIVE_BACK_AFTER;
        // By reference, then dropped in place: a tick is moved once less than by `drain`.
        for event in batch.iter().flat_map(Item::events) {
            match event {
                Event::Tick(tick) => sink.write(tick)?,
                Event::Gap(gap) => sink.gap(gap)?,
                Event::Book(record) => sink.book(record)?,
            }
        }
        batch.clear();
        if rx.is_empty() && sink.buffered() < FLUSH_AT {
            // This thread is the sink's own (see the module docs), so a short blocking
            // sleep stalls nothing else, and no sender wakes it meanwhile: tokio only
            // wakes a receiver that is waiting.
            std::thread::sleep(LINGER);
        }
        if deep && rx.is_empty() {
            // Caught up after a deep backlog: its memory is free, and goes back.
            crate::memory::give_back();
            deep = false;
        }
        if rx.is_empty() || sink.buffered() >= FLUSH_AT {
            let bytes = sink.buffered() as u64;
            let committed = sink.flush()?;
            stats
                .written
                .fetch_add(committed, std::sync::atomic::Ordering::Relaxed);
            stats
                .bytes_written
                .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
        }
    }
}
