//! The raw writer: on its own thread, takes records from the taps' channel and writes them
//! as JSONL lines through the same file machinery as `--out` (templates with `{exchange}`
//! and times, rotation, `.partial` and rename, gzip/zstd by extension, `--fsync`).
//!
//! It ends when every tap is gone (the connections ended) or at the hard deadline, and
//! finishes its files either way (a compressed stream gets its end). A failed write stops
//! it with the error, naming the file; the taps then count what they could not hand over.
//! The room a batch took in the queue is given back once its records are written, so a
//! writer slower than the sockets pushes back on them (see [`super::SocketTap::flush`]).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Counts, Intake, Record, format};
use crate::config::Existing;
use crate::sink::files::{FileSettings, FileSink, Form};
use crate::sink::template::Template;
use crate::sink::{Encode, OpenError, Sink};
use crate::stats::Stats;
use crate::tick::{Channel, Symbol, Tick};

/// Write out once this many bytes are buffered.
const FLUSH_AT: usize = 64 * 1024;
/// How often the writer looks at the abort token and ends periods while idle.
const IDLE: Duration = Duration::from_millis(100);
/// Periods end while no record comes: checked this often.
const REFRESH: Duration = Duration::from_secs(1);

/// Raw lines have no rows and no header.
struct NoRows;

impl Encode for NoRows {
    fn header(&mut self, _out: &mut Vec<u8>) {}
    fn encode(&mut self, _tick: &Tick, _out: &mut Vec<u8>) {}
}

/// Checks that `text` is a template a raw capture can be filed by: `{exchange}` and times
/// only (one frame may carry several symbols and channels). The error is one line.
pub fn check_template(text: &str) -> Result<(), String> {
    let (_, by_symbol, by_channel) = Template::parse(text)
        .map_err(|e| format!("--raw {text}: {e}"))?
        .splits_by();
    if by_symbol || by_channel {
        return Err(format!(
            "--raw {text}: a raw capture is filed by {{exchange}}, {{date}}, {{hour}} and {{start}} only (one frame may carry several symbols and channels)"
        ));
    }
    Ok(())
}

/// Records the queue to a compressed capture's writer holds: a compressing writer is slower
/// than a flood, so its queue fills whatever its depth, and the depth buys no rate (as for
/// compressed outputs' `--buffer`); a quarter of [`super::CAPACITY`] keeps the peak RSS
/// under 16 MiB.
pub const COMPRESSED_CAPACITY: usize = super::CAPACITY / 4;

/// The depth of the queue to the writer of `files`.
pub fn queue_capacity(files: &RawFiles) -> usize {
    let name = files.path.to_string_lossy();
    match crate::sink::compress::Compression::of(&name, 0).0 {
        crate::sink::compress::Compression::Plain => super::CAPACITY,
        _ => COMPRESSED_CAPACITY,
    }
}

/// A raw capture's files, opened (lazily, at the first record) at `path`.
pub struct RawFiles {
    files: FileSink,
    /// Stands in for the symbol in the file key (raw templates cannot name it).
    symbol: Symbol,
    path: PathBuf,
    /// The opening of the last line, which the next records of its burst share.
    head: format::Head,
}

impl RawFiles {
    /// Checks the template and prepares the files; nothing is created yet.
    pub fn open(
        path: &Path,
        existing: Existing,
        settings: &FileSettings,
    ) -> Result<RawFiles, OpenError> {
        let text = path.to_str().ok_or_else(|| {
            OpenError::Unsupported(format!("--raw {}: not UTF-8", path.display()))
        })?;
        check_template(text).map_err(OpenError::Unsupported)?;
        // Files open at the first record: a directory that cannot take them is found now,
        // before anything connects.
        crate::sink::output::check_location("--raw", path, true, "raw.jsonl")?;
        let files = FileSink::new(
            text,
            Form::Lines(Box::new(NoRows)),
            false,
            existing,
            settings,
        )
        .map_err(|e| match e {
            // `--append` and `--force` are `--out`'s: a capture is always a new file.
            OpenError::Exists(path) => OpenError::Unsupported(format!(
                "--raw {}: the file exists, and a capture never overwrites or appends to one: name a new file, or use a template such as raw-{{start}}.jsonl",
                path.display()
            )),
            other => other,
        })?;
        Ok(RawFiles {
            files,
            symbol: Symbol::parse("RAW").expect("a valid symbol"),
            path: path.to_owned(),
            head: format::Head::default(),
        })
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `record`, with `payload` in place of its own if given (a received frame's,
    /// see [`super::Batch::each`]).
    fn write(&mut self, record: &Record, payload: Option<&[u8]>) -> io::Result<()> {
        let head = &mut self.head;
        self.files.write_line(
            record.venue.name(),
            &self.symbol,
            Channel::Ticker,
            record.recv_ns,
            |out| head.encode(record, payload, out),
        )
    }
}

/// Writes every record `rx` yields into `files` until the taps are gone or `abort` fires,
/// then finishes the files. The frames a raw-only run counted as received are counted in
/// `stats` as written once they are handed to the OS. Blocking: run it on its own thread.
pub fn run(
    mut files: RawFiles,
    rx: Intake,
    counts: Arc<Counts>,
    stats: Arc<Stats>,
    abort: CancellationToken,
) -> io::Result<()> {
    let mut unflushed = Unflushed::default();
    let result = write_all(&mut files, &rx, &mut unflushed, (&counts, &stats), &abort);
    // Refuse further records at once: the taps count them as dropped.
    drop(rx);
    stats.raw_finishing.store(true, Relaxed);
    match result {
        Ok(()) => {
            files.files.finish()?;
            unflushed.commit(&counts, &stats);
            Ok(())
        }
        Err(e) => {
            let _ = files.files.finish();
            // A plain capture salvaged after the error was finished under its own name.
            Err(crate::sink::output::naming_finished(e))
        }
    }
}

/// Records in the files' buffers, counted as written once a flush handed them to the OS
/// (a failed write leaves them uncounted: the run reports them lost).
#[derive(Default)]
struct Unflushed {
    records: u64,
    /// The frames among them that a raw-only run counted as received.
    ticks: u64,
}

impl Unflushed {
    fn commit(&mut self, counts: &Counts, stats: &Stats) {
        counts.written.fetch_add(self.records, Relaxed);
        if self.ticks > 0 {
            // A raw-only run: the capture is its output.
            stats.written.fetch_add(self.ticks, Relaxed);
        }
        *self = Unflushed::default();
    }
}

fn write_all(
    files: &mut RawFiles,
    rx: &Intake,
    unflushed: &mut Unflushed,
    (counts, stats): (&Counts, &Stats),
    abort: &CancellationToken,
) -> io::Result<()> {
    let mut refreshed = std::time::Instant::now();
    loop {
        if abort.is_cancelled() {
            return Ok(());
        }
        let first = match rx.recv_timeout(IDLE) {
            Ok(record) => Some(record),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        if let Some(first) = first {
            let mut next = Some(first);
            while let Some(batch) = next {
                for (record, payload) in batch.each() {
                    files.write(record, payload)?;
                }
                unflushed.records += batch.len() as u64;
                unflushed.ticks += batch.ticks as u64;
                if files.files.buffered() >= FLUSH_AT {
                    files.files.flush()?;
                    unflushed.commit(counts, stats);
                }
                rx.done(&batch);
                if abort.is_cancelled() {
                    return Ok(());
                }
                next = rx.try_recv();
            }
            files.files.flush()?;
            unflushed.commit(counts, stats);
        }
        if refreshed.elapsed() >= REFRESH {
            files.files.refresh()?;
            refreshed = std::time::Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compressed_capture_gets_a_shallower_queue() {
        let dir = tempfile::tempdir().unwrap();
        let depth = |name: &str| {
            let files = RawFiles::open(
                &dir.path().join(name),
                Existing::Refuse,
                &FileSettings::default(),
            )
            .unwrap();
            queue_capacity(&files)
        };
        assert_eq!(depth("r.jsonl"), super::super::CAPACITY);
        assert_eq!(depth("r-{date}.jsonl"), super::super::CAPACITY);
        assert_eq!(depth("r.jsonl.zst"), COMPRESSED_CAPACITY);
        assert_eq!(depth("r-{date}.jsonl.gz"), COMPRESSED_CAPACITY);
    }
}
