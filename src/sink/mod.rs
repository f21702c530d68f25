//! Outputs: line formats (NDJSON, CSV), the live table, and the one task that owns them.
//!
//! The sink task is the only reader of the tick channel and the only writer of the output.
//! It runs on a blocking thread, so a write that blocks (a pipe nobody reads) never stalls
//! the runtime and never stops the shutdown deadline from firing.

pub mod broker;
pub mod compress;
pub mod csv;
pub mod fanout;
pub mod files;
pub mod gap;
pub mod kafka;
pub mod nats;
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
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use futures_util::FutureExt;
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
    /// Called once by the sink task before the first tick, with the run's counters and the
    /// stop's hard-deadline token. Outputs that learn later whether a write took (broker
    /// acknowledgements) count into `stats` themselves and give up waiting when `abort`
    /// fires; the others need neither.
    fn attach(&mut self, _stats: &Arc<Stats>, _abort: &CancellationToken) {}

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
/// A round that finds this many ticks queued per millisecond of the pause before it (half
/// a million ticks a second, ten times the live rates foxtrot is measured at) is a flood:
/// the next round comes after [`BUSY_PAUSE`] instead of the whole flush interval, so what
/// queues in between stays small and in the cache (10 ms of a flood is megabytes of events,
/// and a backlog that deep is given back to the OS after each round: a flood took 10 %
/// more CPU so; README, "At live rates").
const BUSY_PER_MS: usize = 512;
/// The pause between rounds during a flood, when the flush interval is longer.
const BUSY_PAUSE: Duration = Duration::from_millis(1);
/// The default of `--flush-interval` for `stream`: how long the sink, once it has caught up,
/// lets ticks gather before it looks again. This is also the most a tick waits before it
/// reaches the OS (plus the time to write what came with it).
pub const STREAM_FLUSH_INTERVAL: Duration = Duration::from_millis(1);
/// The default of `--flush-interval` for `record` (files and brokers, where 10 ms before the
/// OS has the tick matters to nobody, and saves a wake-up of the sink per millisecond).
pub const RECORD_FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// Owns the receiver: writes every tick, flushes when it has caught up, finishes when every
/// sender is gone. Stops early when `abort` fires or the output is closed.
///
/// While ticks arrive the sink works in rounds: it takes everything queued, writes and
/// flushes it, then sleeps for `flush_interval` without waiting on the channel, so the
/// connections hand over ticks without waking anyone. A round that finds nothing queued
/// ends the activity: the sink then waits on the channel itself, which costs no wake-up
/// until the next tick, however long that takes. A tick waits at most `flush_interval`
/// before it is written and handed to the OS.
///
/// Runs inside `Handle::block_on` on a blocking thread (see the module docs).
pub async fn run(
    mut rx: Receiver,
    mut sink: Box<dyn Sink>,
    stats: Arc<Stats>,
    abort: CancellationToken,
    flush_interval: Duration,
) -> io::Result<SinkEnd> {
    sink.attach(&stats, &abort);
    let result = drain(&mut rx, sink.as_mut(), &stats, &abort, flush_interval).await;
    // Stop taking ticks before finishing, so no sender waits on a sink that is gone.
    rx.close();
    let end = match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(SinkEnd::OutputClosed),
        Err(e) => return Err(e),
        Ok(end) => end,
    };
    let bytes = sink.buffered() as u64;
    stats.sink_finishing.store(true, Relaxed);
    match sink.finish() {
        Ok(n) => {
            stats.written.fetch_add(n, Relaxed);
            stats.bytes_written.fetch_add(bytes, Relaxed);
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
    flush_interval: Duration,
) -> io::Result<SinkEnd> {
    let mut batch = Vec::with_capacity(BATCH);
    // Whether the channel has held a deep backlog since memory was last given back.
    let mut deep = false;
    let refresh_every = sink.refresh_every();
    let mut refresh = tokio::time::interval(refresh_every.unwrap_or(Duration::from_secs(3600)));
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Idle: nothing queued, nothing unflushed. Wait on the channel itself: a quiet run
        // costs no wake-up at all, and the first item wakes this thread at once.
        let mut taken = tokio::select! {
            biased;
            _ = abort.cancelled() => return Ok(SinkEnd::Aborted),
            n = rx.recv_many(&mut batch, BATCH) => n,
            _ = refresh.tick(), if refresh_every.is_some() => {
                sink.refresh()?;
                continue;
            }
        };
        if taken == 0 {
            return Ok(SinkEnd::Drained);
        }
        // Active: rounds of take everything, write, flush, sleep (see `run`).
        let mut pause = flush_interval;
        loop {
            deep |= rx.queued() + taken >= GIVE_BACK_AFTER;
            write(&mut batch, sink)?;
            // Past the deadline a channel that never empties (connections still reading a
            // flood) must not keep the sink from finishing its files.
            if abort.is_cancelled() {
                return Ok(SinkEnd::Aborted);
            }
            if sink.buffered() >= FLUSH_AT {
                commit(sink, stats)?;
            }
            taken = rx.try_recv_many(&mut batch, BATCH);
            if taken > 0 {
                continue;
            }
            commit(sink, stats)?;
            if deep {
                // Caught up after a deep backlog: its memory is free, and goes back.
                crate::memory::give_back();
                deep = false;
            }
            if abort.is_cancelled() {
                return Ok(SinkEnd::Aborted);
            }
            if refresh_every.is_some() && refresh.tick().now_or_never().is_some() {
                sink.refresh()?;
            }
            // This thread is the sink's own (see the module docs), so a blocking sleep
            // stalls nothing else; no sender wakes it meanwhile, since it is not waiting on
            // the channel.
            std::thread::sleep(until_round(pause, crate::clock::now_ns()));
            let busy = BUSY_PER_MS * pause.as_millis().max(1) as usize;
            pause = if rx.queued() >= busy {
                flush_interval.min(BUSY_PAUSE)
            } else {
                flush_interval
            };
            taken = rx.try_recv_many(&mut batch, BATCH);
            if taken == 0 {
                break;
            }
        }
    }
}

/// How long to sleep until the sink's next round: the next time the wall clock passes half
/// an `interval` after a multiple of it. Connections that rest (`--read-interval`) read at
/// multiples of theirs, so with the same interval the sink comes half an interval after them
/// and finds their ticks, instead of racing them and going idle just before they arrive.
fn until_round(interval: Duration, now_ns: u64) -> Duration {
    let every = interval.as_nanos() as u64;
    if every == 0 {
        return Duration::ZERO;
    }
    let phase = (now_ns + every / 2) % every;
    Duration::from_nanos(every - phase)
}

/// Writes the events of `batch` and empties it.
fn write(batch: &mut Vec<Item>, sink: &mut dyn Sink) -> io::Result<()> {
    // By reference, then dropped in place: a tick is moved once less than by `drain`.
    for event in batch.iter().flat_map(Item::events) {
        match event {
            Event::Tick(tick) => sink.write(tick)?,
            Event::Gap(gap) => sink.gap(gap)?,
            Event::Book(record) => sink.book(record)?,
        }
    }
    batch.clear();
    Ok(())
}

/// Hands what is buffered to the OS (a live view redraws) and counts it.
fn commit(sink: &mut dyn Sink, stats: &Stats) -> io::Result<()> {
    let bytes = sink.buffered() as u64;
    let committed = sink.flush()?;
    stats.written.fetch_add(committed, Relaxed);
    stats.bytes_written.fetch_add(bytes, Relaxed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::OnFull;
    use crate::pipe::{Outbox, channel};
    use crate::tick::{BookTicker, Decimal, Symbol, TickData};
    use std::sync::mpsc;
    use std::time::Instant;

    /// A sink that reports each flush that committed ticks: when, and how many.
    struct Probe {
        pending: u64,
        flushes: mpsc::Sender<(Instant, u64)>,
    }

    impl Sink for Probe {
        fn write(&mut self, _: &Tick) -> io::Result<()> {
            self.pending += 1;
            Ok(())
        }
        fn gap(&mut self, _: &Gap) -> io::Result<()> {
            Ok(())
        }
        fn buffered(&self) -> usize {
            self.pending as usize
        }
        fn flush(&mut self) -> io::Result<u64> {
            let n = std::mem::take(&mut self.pending);
            if n > 0 {
                let _ = self.flushes.send((Instant::now(), n));
            }
            Ok(n)
        }
        fn finish(&mut self) -> io::Result<u64> {
            self.flush()
        }
    }

    fn tick() -> Event {
        let d = Decimal::parse("1").unwrap();
        Event::Tick(Tick {
            exchange: crate::exchange::Venue::Binance,
            exchange_ns: 0,
            symbol: Symbol::parse("BTCUSDT").unwrap(),
            recv_ns: 1,
            data: TickData::BookTicker(BookTicker {
                update_id: 1,
                bid: d,
                bid_qty: d,
                ask: d,
                ask_qty: d,
            }),
        })
    }

    #[test]
    fn rounds_come_half_an_interval_after_the_read_instants() {
        let ms = Duration::from_millis;
        let at = |ms_past: u64| 1_700_000_000_000_000_000 + ms_past * 1_000_000;
        assert_eq!(until_round(ms(10), at(0)), ms(5));
        assert_eq!(until_round(ms(10), at(4)), ms(1));
        assert_eq!(
            until_round(ms(10), at(5)),
            ms(10),
            "never a round twice at once"
        );
        assert_eq!(until_round(ms(10), at(7)), ms(8));
        assert_eq!(until_round(Duration::ZERO, at(7)), Duration::ZERO);
    }

    /// The first tick after a quiet spell is written at once; ticks that follow while the
    /// sink is active gather until its next round, and are written then without any
    /// further tick arriving.
    #[test]
    fn ticks_gather_for_the_flush_interval_and_no_longer() {
        // Long enough that the test thread, even on a loaded machine, sends before it ends.
        let interval = Duration::from_secs(2);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = channel(100);
        let (flushes, flushed) = mpsc::channel();
        let stats = Arc::new(Stats::new(&[]));
        let abort = CancellationToken::new();
        let sink = Box::new(Probe {
            pending: 0,
            flushes,
        });
        let handle = runtime.handle().clone();
        let task = {
            let (stats, abort) = (stats.clone(), abort.clone());
            runtime.spawn_blocking(move || handle.block_on(run(rx, sink, stats, abort, interval)))
        };
        let mut outbox = Outbox::new(tx, 64);
        let never = CancellationToken::new();
        let mut send = |n| {
            for _ in 0..n {
                outbox.push(tick());
            }
            runtime
                .block_on(outbox.flush(OnFull::Block, &never))
                .unwrap();
        };
        let wait = Duration::from_secs(30);
        // Rounds fall at fixed phases of the wall clock (`until_round`): start just after one,
        // so the next is a whole interval away.
        std::thread::sleep(
            until_round(interval, crate::clock::now_ns()) + Duration::from_millis(10),
        );
        send(1);
        let (first, n) = flushed
            .recv_timeout(wait)
            .expect("the first tick is flushed");
        assert_eq!(n, 1);
        send(2);
        send(3);
        let (second, n) = flushed
            .recv_timeout(wait)
            .expect("gathered ticks are flushed");
        assert_eq!(n, 5, "the ticks sent during one interval go out together");
        assert!(
            second - first >= interval - Duration::from_millis(200),
            "flushed {:?} after the first: sooner than the interval",
            second - first
        );
        drop(outbox);
        let end = runtime.block_on(task).unwrap().unwrap();
        assert_eq!(end, SinkEnd::Drained);
        assert_eq!(stats.snapshot().written, 6);
    }
}
