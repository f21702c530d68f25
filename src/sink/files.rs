//! Sets of output files: one `--out` template filed by exchange, symbol, channel and time,
//! rotated by time or size, each file written as `NAME.partial` and renamed to `NAME` once
//! complete, compressed by extension, synced by the `--fsync` policy.
//!
//! [`FileSink`] owns every file of one output. It keeps one *slot* per distinct name prefix
//! (the template's `{exchange}`/`{symbol}`/`{channel}` values) with its buffer of whole
//! lines and its open file; time and size decide when a slot's file is finished and the
//! next one begins. A plain `--out FILE` without a template, rotation or compression is not
//! this module's: `output` writes it in place. A rotating output opens each next file with
//! a snapshot of every `depth` book it carries ([`carry`]), so every file rebuilds alone.
//!
//! Beside this file: `settings.rs` (the file policies, and which `--out` needs this
//! module), `names.rs` (free names, numbering, `.partial`), `segment.rs` (the file a slot
//! is writing, lines or Parquet), `carry.rs` (the books carried across files).

use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::compress::{Compression, Writer};
use super::output::named;
use super::rotate::{Fsync, Rotate};
use super::template::{Key, Template};
use super::{Sink, gap};
use crate::config::Existing;
use crate::tick::{Gap, Tick};

mod carry;
mod names;
mod segment;
mod settings;

pub use names::PARTIAL;
use names::{gaps_name, partial};
pub use segment::Form;
use segment::{Out, Segment};
pub use settings::{FileSettings, describe, needs_file_sink};

/// A file that, once its rows stop coming, closes this long after its period ended; rows of
/// the old period still queued (a backlog) land in it rather than in a second file.
const CLOSE_GRACE_NS: u64 = 5_000_000_000;

/// What distinguishes two slots: the parts of the row's key the template names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SlotKey(
    Option<&'static str>,
    Option<crate::tick::Symbol>,
    Option<crate::tick::Channel>,
);

/// One name prefix's rows.
struct Slot {
    /// The `depth` books its files carry over (rotating outputs that got `depth` rows).
    carried: Option<Box<carry::Carried>>,
    /// The key of its first row, for rendering names.
    key: Key,
    /// Whole lines not yet handed to the file.
    buf: Vec<u8>,
    /// Ticks in `buf`.
    pending: u64,
    /// The open file, if any.
    segment: Option<Segment>,
    /// The time period (receive time / period) of the open file.
    period: u64,
    /// The file reached the size limit: the next row starts a new one.
    full: bool,
}

/// Every file of one templated, rotated or compressed output.
pub struct FileSink {
    template: Template,
    compression: Compression,
    form: Form,
    /// CSV and Parquet keep gaps in side files; NDJSON inline.
    csv: bool,
    /// `--force`: a finished file replaces one of the same name.
    overwrite: bool,
    /// Rotation period in ns (the template's and `--rotate`'s shorter), if any.
    period_ns: Option<u64>,
    /// Size limit in bytes on disk, if any.
    size_limit: Option<u64>,
    fsync: Fsync,
    splits: (bool, bool, bool),
    slots: Vec<Slot>,
    index: HashMap<SlotKey, usize>,
    /// Every name this run used, so none repeats even after a file was moved away.
    used: HashSet<PathBuf>,
    /// Size rotation: the next number of each rendered name (every file of a name is
    /// numbered from the first, so they sort in order).
    numbers: Option<HashMap<String, u32>>,
    /// Bytes in every slot's buffer.
    buffered: usize,
    /// When files were last synced (`--fsync interval:D`).
    synced: Instant,
    /// How many times a file was synced, for tests of the policy.
    fsyncs: u64,
    /// Ticks written by a refresh, reported by the next flush or finish.
    uncounted: u64,
    /// The wall clock that ends periods while no row comes (tests set their own).
    clock: fn() -> u64,
}

impl FileSink {
    /// An output over the template `text`, nothing opened yet (files open at their first row).
    ///
    /// A name without placeholders and without rotation is one file: with `existing` set to
    /// refuse, it must not exist yet.
    pub fn new(
        text: &str,
        form: Form,
        csv: bool,
        existing: Existing,
        settings: &FileSettings,
    ) -> Result<FileSink, super::OpenError> {
        let io_err = |source| super::OpenError::Io {
            path: text.into(),
            source,
        };
        let mut template = Template::parse(text)
            .map_err(|e| io_err(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let (compression, _) = Compression::of(text, settings.zstd_level);
        let rotate_ns = match settings.rotate {
            Some(Rotate::Every(d)) => Some(d.as_nanos() as u64),
            _ => None,
        };
        // Time rotation names files by their start; size rotation numbers them.
        if matches!(settings.rotate, Some(Rotate::Every(_))) && !template.has_time() {
            template = template.with_start();
        }
        if !template.is_templated() && existing == Existing::Refuse && Path::new(text).exists() {
            return Err(super::OpenError::Exists(text.into()));
        }
        let period_ns = match (template.period_ns(), rotate_ns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(FileSink {
            splits: template.splits_by(),
            template,
            compression,
            form,
            csv,
            overwrite: existing == Existing::Overwrite,
            period_ns,
            size_limit: match settings.rotate {
                Some(Rotate::Size(n)) => Some(n),
                _ => None,
            },
            fsync: settings.fsync,
            slots: Vec::new(),
            index: HashMap::new(),
            used: HashSet::new(),
            numbers: matches!(settings.rotate, Some(Rotate::Size(_))).then(HashMap::new),
            buffered: 0,
            synced: Instant::now(),
            fsyncs: 0,
            uncounted: 0,
            clock: crate::clock::now_ns,
        })
    }

    /// How many times a file was synced so far.
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs
    }

    /// Takes one whole line (a raw capture record), filed as a row of `exchange`, `symbol`
    /// and `channel` received at `recv_ns` would be: `encode` appends it to the file's
    /// buffer (no copy of its own), ending in `\n`.
    pub fn write_line(
        &mut self,
        exchange: &'static str,
        symbol: &crate::tick::Symbol,
        channel: crate::tick::Channel,
        recv_ns: u64,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        let i = self.slot_of(exchange, symbol, channel);
        let ready = self.ready(i, recv_ns);
        self.on_error(ready)?;
        let slot = &mut self.slots[i];
        let before = slot.buf.len();
        encode(&mut slot.buf);
        self.buffered += slot.buf.len() - before;
        Ok(())
    }

    fn slot_of(
        &mut self,
        exchange: &'static str,
        symbol: &crate::tick::Symbol,
        channel: crate::tick::Channel,
    ) -> usize {
        let (by_exchange, by_symbol, by_channel) = self.splits;
        let one_slot = !(by_exchange || by_symbol || by_channel);
        if one_slot && !self.slots.is_empty() {
            return 0;
        }
        let key = SlotKey(
            by_exchange.then_some(exchange),
            by_symbol.then(|| symbol.clone()),
            by_channel.then_some(channel),
        );
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.slots.push(Slot {
            key: Key {
                exchange,
                symbol: symbol.clone(),
                channel,
            },
            carried: None,
            buf: Vec::new(),
            pending: 0,
            segment: None,
            period: 0,
            full: false,
        });
        self.index.insert(key, self.slots.len() - 1);
        self.slots.len() - 1
    }

    /// Makes sure slot `i` has a file for rows received at `recv_ns`: finishes the open one
    /// at a period boundary or the size limit, opens the next.
    fn ready(&mut self, i: usize, recv_ns: u64) -> io::Result<()> {
        let period = self.period_ns.map_or(0, |p| recv_ns / p);
        let slot = &self.slots[i];
        if slot.segment.is_some() && (period > slot.period || slot.full) {
            // The finished file's ticks are written: the next flush reports them.
            self.uncounted += self.close(i)?;
        }
        if self.slots[i].segment.is_none() {
            self.open(i, recv_ns, period)?;
        }
        Ok(())
    }

    fn open(&mut self, i: usize, recv_ns: u64, period: u64) -> io::Result<()> {
        let time_ns = self.period_ns.map_or(recv_ns, |p| period * p);
        let base = self.template.render(&self.slots[i].key, time_ns, recv_ns);
        let done = if self.numbers.is_some() {
            self.next_numbered(&base)
        } else {
            self.free_name(&base)
        };
        if let Some(parent) = done.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| super::output::mkdir_error(parent, e))?;
        }
        let mut header = Vec::new();
        let writer = match &mut self.form {
            Form::Lines(encoder) => {
                encoder.header(&mut header);
                Out::Lines(Writer::create(&partial(&done), self.compression)?)
            }
            #[cfg(feature = "parquet")]
            Form::Parquet(spec) => Out::Parquet(Box::new(super::parquet::ParquetFile::create(
                &partial(&done),
                self.slots[i].key.channel,
                spec,
            )?)),
        };
        self.used.insert(done.clone());
        let slot = &mut self.slots[i];
        let before = slot.buf.len();
        // The header goes before the rows already buffered for this file (none, as a rule),
        // and then the books the previous file's rows built.
        if let (Some(carried), Form::Lines(encoder)) = (&slot.carried, &mut self.form) {
            for record in carried.opening() {
                encoder.encode_book(&record, &mut header);
            }
        }
        slot.buf.splice(0..0, header.iter().copied());
        self.buffered += slot.buf.len() - before;
        slot.segment = Some(Segment {
            writer,
            done,
            gaps: None,
        });
        slot.period = period;
        slot.full = false;
        Ok(())
    }

    /// Writes slot `i`'s buffer to its file; returns the ticks it held.
    fn write_out(&mut self, i: usize) -> io::Result<u64> {
        let slot = &mut self.slots[i];
        let Some(segment) = &mut slot.segment else {
            return Ok(0);
        };
        if !slot.buf.is_empty()
            && let Out::Lines(writer) = &mut segment.writer
        {
            self.buffered -= slot.buf.len();
            let result = writer.write_lines(&slot.buf);
            slot.buf.clear();
            result?;
        }
        segment.writer.settle(false)?;
        if self
            .size_limit
            .is_some_and(|limit| segment.writer.bytes_on_disk() >= limit)
        {
            slot.full = true;
        }
        Ok(std::mem::take(&mut slot.pending))
    }

    /// Finishes slot `i`'s file: writes what is buffered, ends the stream, syncs by policy and
    /// renames `NAME.partial` to `NAME`. Returns the ticks written.
    fn close(&mut self, i: usize) -> io::Result<u64> {
        let written = self.write_out(i)?;
        let Some(segment) = self.slots[i].segment.take() else {
            return Ok(written);
        };
        let done = segment.done;
        let file = segment.writer.finish()?;
        if self.fsync != Fsync::Never {
            file.sync_all().map_err(|e| named(&partial(&done), e))?;
            if let Some(gaps) = &segment.gaps {
                gaps.sync_all().map_err(|e| named(&gaps_name(&done), e))?;
            }
            self.fsyncs += 1;
        }
        drop(file);
        std::fs::rename(partial(&done), &done).map_err(|e| named(&done, e))?;
        if self.fsync != Fsync::Never
            && let Some(dir) = done.parent()
        {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            // The rename is durable once the directory is; some file systems refuse this.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(written)
    }

    /// Finishes the files of periods that ended a while ago, though no row came since.
    fn close_ended(&mut self) -> io::Result<u64> {
        let Some(period_ns) = self.period_ns else {
            return Ok(0);
        };
        let now = (self.clock)().saturating_sub(CLOSE_GRACE_NS) / period_ns;
        let mut written = 0;
        for i in 0..self.slots.len() {
            if self.slots[i].segment.is_some() && self.slots[i].period < now {
                written += self.close(i)?;
            }
        }
        Ok(written)
    }

    fn sync_if_due(&mut self) -> io::Result<()> {
        let Fsync::Interval(every) = self.fsync else {
            return Ok(());
        };
        if self.synced.elapsed() < every {
            return Ok(());
        }
        for slot in &mut self.slots {
            if let Some(segment) = &mut slot.segment {
                segment.writer.sync()?;
                self.fsyncs += 1;
            }
        }
        self.synced = Instant::now();
        Ok(())
    }

    /// After a failure: finishes every file it still can, so only the failed one is left as
    /// a `.partial`. Errors here are not reported: the first one is.
    fn salvage(&mut self) {
        for i in 0..self.slots.len() {
            if self.close(i).is_err() {
                // Leave it as it is (a .partial) and drop its buffer.
                let slot = &mut self.slots[i];
                slot.segment = None;
                slot.buf.clear();
            }
        }
        self.buffered = 0;
    }

    fn on_error<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.salvage();
        }
        result
    }
}

impl Sink for FileSink {
    fn write(&mut self, tick: &Tick) -> io::Result<()> {
        let i = self.slot_of(tick.exchange.name(), &tick.symbol, tick.channel());
        let ready = self.ready(i, tick.recv_ns);
        self.on_error(ready)?;
        let slot = &mut self.slots[i];
        slot.pending += 1;
        let pushed = match (&mut self.form, &mut slot.segment) {
            #[cfg(feature = "parquet")]
            (
                _,
                Some(Segment {
                    writer: Out::Parquet(file),
                    ..
                }),
            ) => file.push(tick),
            (Form::Lines(encoder), _) => {
                let before = slot.buf.len();
                encoder.encode(tick, &mut slot.buf);
                self.buffered += slot.buf.len() - before;
                Ok(())
            }
            #[cfg(feature = "parquet")]
            (Form::Parquet(..), _) => unreachable!("ready opened the file"),
        };
        self.on_error(pushed)
    }

    fn book(&mut self, record: &crate::book::row::BookRecord) -> io::Result<()> {
        let i = self.slot_of(record.exchange.name(), &record.symbol, record.channel());
        let ready = self.ready(i, record.recv_ns);
        self.on_error(ready)?;
        let rotates = self.period_ns.is_some() || self.size_limit.is_some();
        let slot = &mut self.slots[i];
        slot.pending += 1;
        let pushed = match (&mut self.form, &mut slot.segment) {
            #[cfg(feature = "parquet")]
            (
                _,
                Some(Segment {
                    writer: Out::Parquet(file),
                    ..
                }),
            ) => file.push_book(record),
            (Form::Lines(encoder), _) => {
                let before = slot.buf.len();
                encoder.encode_book(record, &mut slot.buf);
                self.buffered += slot.buf.len() - before;
                if rotates && record.channel() == crate::tick::Channel::Depth {
                    slot.carried.get_or_insert_default().on_depth(record);
                }
                Ok(())
            }
            #[cfg(feature = "parquet")]
            (Form::Parquet(..), _) => unreachable!("ready opened the file"),
        };
        self.on_error(pushed)
    }

    fn gap(&mut self, record: &Gap) -> io::Result<()> {
        let i = self.slot_of(record.exchange.name(), &record.symbol, record.channel);
        let ready = self.ready(i, record.to_ns);
        self.on_error(ready)?;
        let slot = &mut self.slots[i];
        if let Some(carried) = &mut slot.carried {
            carried.on_gap(record);
        }
        if !self.csv {
            let before = slot.buf.len();
            gap::ndjson_line(record, &mut slot.buf);
            self.buffered += slot.buf.len() - before;
            return Ok(());
        }
        let segment = slot.segment.as_mut().expect("ready opened it");
        let side = gaps_name(&segment.done);
        let mut line = Vec::with_capacity(128);
        let result = (|| {
            if segment.gaps.is_none() {
                let file = OpenOptions::new().append(true).create(true).open(&side)?;
                if file.metadata()?.len() == 0 {
                    gap::csv_header(&mut line);
                }
                segment.gaps = Some(file);
            }
            gap::csv_row(record, &mut line);
            segment.gaps.as_mut().expect("just opened").write_all(&line)
        })()
        .map_err(|e| named(&side, e));
        self.on_error(result)
    }

    fn buffered(&self) -> usize {
        self.buffered
    }

    fn flush(&mut self) -> io::Result<u64> {
        let result = (|| {
            let mut written = std::mem::take(&mut self.uncounted);
            for i in 0..self.slots.len() {
                written += self.write_out(i)?;
            }
            written += self.close_ended()?;
            self.sync_if_due()?;
            Ok(written)
        })();
        self.on_error(result)
    }

    fn refresh_every(&self) -> Option<Duration> {
        // Periods end and syncs fall due while no row arrives.
        Some(Duration::from_secs(1))
    }

    fn refresh(&mut self) -> io::Result<()> {
        let written = self.flush()?;
        self.uncounted += written;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<u64> {
        let mut written = std::mem::take(&mut self.uncounted);
        let mut first_error = None;
        for i in 0..self.slots.len() {
            match self.close(i) {
                Ok(n) => written += n,
                Err(e) => {
                    let slot = &mut self.slots[i];
                    slot.segment = None;
                    slot.buf.clear();
                    first_error.get_or_insert(e);
                }
            }
        }
        self.buffered = 0;
        match first_error {
            Some(e) => Err(e),
            None => Ok(written),
        }
    }
}

#[cfg(test)]
mod tests;
