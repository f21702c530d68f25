//! Opening the output (stdout or a file) and the two [`Sink`]s that write to it.
//!
//! Both sinks write through a plain `File` handle (stdout is a duplicate of fd 1), so no
//! hidden buffer of the standard library can split a line: every `write_all` ends on a line
//! boundary and a stopped run never leaves a torn last line behind. A write that fails part
//! way (a full disk) is cut back to the last complete line before the error is returned, and
//! every error names the file it happened on ([`WriteError`]).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::csv::Csv;
use super::files::{FileSink, Form, needs_file_sink};
use super::ndjson::Ndjson;
use super::rotate::Fsync;
use super::table::Table;
#[cfg(feature = "parquet")]
use super::template::Template;
use super::{Encode, Sink, gap};
use crate::cli::Format;
use crate::config::{Config, Existing, Output};
use crate::tick::{Gap, Tick};

mod place;
pub use place::{check_location, mkdir_error, naming_finished};

/// Why the output could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file exists and neither `--append` nor `--force` was given.
    #[error(
        "output file {0} already exists: pass --append to add to it or --force to overwrite it"
    )]
    Exists(PathBuf),
    /// An existing CSV file has other columns than this run would write.
    #[error("cannot append to {path}: its header differs from this run's columns ({want})")]
    HeaderMismatch {
        /// The file.
        path: PathBuf,
        /// The header this run writes.
        want: String,
    },
    /// A broker output cannot be used: unreachable, no such topic or stream.
    #[error("{0}")]
    Broker(String),
    /// The output cannot be written the way it was asked for.
    #[error("{0}")]
    Unsupported(String),
    /// A compressed or Parquet file exists: it can be replaced, never appended to.
    #[error(
        "output file {0} already exists, and a compressed or Parquet file cannot be appended to: pass --force to replace it, or choose another name"
    )]
    ExistsWhole(PathBuf),
    /// The path names a directory.
    #[error("{flag} {path} is a directory: name a file in it, such as {path}/{example}")]
    IsDirectory {
        /// `--out` or `--raw`.
        flag: &'static str,
        /// The path as given.
        path: String,
        /// A file name of the right kind.
        example: &'static str,
    },
    /// A directory on the way is a file.
    #[error("{flag} {path}: {file} is a file, not a directory")]
    NotDirectory {
        /// `--out` or `--raw`.
        flag: &'static str,
        /// The path or template as given.
        path: String,
        /// The file in the way.
        file: PathBuf,
    },
    /// The directory the files go into cannot take a file.
    #[error("{flag} {path}: cannot create files in directory {dir} ({source})")]
    Location {
        /// `--out` or `--raw`.
        flag: &'static str,
        /// The path or template as given.
        path: String,
        /// The nearest existing directory of the files.
        dir: PathBuf,
        /// Why not.
        source: io::Error,
    },
    /// Any other I/O failure.
    #[error("cannot open output file {path} ({source})")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl OpenError {
    /// Whether this is the user's to fix by changing the command (exit 2) rather than the system's.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            OpenError::Exists(_)
                | OpenError::ExistsWhole(_)
                | OpenError::HeaderMismatch { .. }
                | OpenError::Unsupported(_)
                | OpenError::IsDirectory { .. }
        )
    }
}

/// A failed write, naming the output it happened on: `ticks.csv (No space left on device)`.
///
/// Sinks return it inside an `io::Error` of the same kind, so callers that only look at the
/// kind (a closed pipe ends quietly) keep working, and the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{} ({source})", path.display())]
pub struct WriteError {
    /// The file (or `stdout`).
    pub path: PathBuf,
    /// The cause.
    pub source: io::Error,
}

/// Wraps `source` so its message names `path` (once: an already named error is kept).
pub fn named(path: &Path, source: io::Error) -> io::Error {
    if source
        .get_ref()
        .is_some_and(|inner| inner.is::<WriteError>())
    {
        return source;
    }
    io::Error::new(
        source.kind(),
        WriteError {
            path: path.to_owned(),
            source,
        },
    )
}

/// An opened output, ready to hand to the sink task.
pub struct Opened {
    /// The sink.
    pub sink: Box<dyn Sink>,
    /// Files this run created, to remove again if the run fails before writing a tick.
    pub created: Vec<PathBuf>,
}

/// Opens every output `config` names (`--out` may be given several times): creates or
/// appends to plain files, writes CSV headers; templated, rotated and compressed outputs
/// open their files at their first row.
pub fn open(config: &Config) -> Result<Opened, OpenError> {
    let mut sinks = Vec::new();
    let mut created = Vec::new();
    for output in std::iter::once(&config.output).chain(&config.more_outputs) {
        match open_one(output, config) {
            Ok(opened) => {
                sinks.push(opened.sink);
                created.extend(opened.created);
            }
            Err(e) => {
                for path in &created {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        }
    }
    Ok(Opened {
        sink: super::fanout::Fanout::of(sinks),
        created,
    })
}

fn open_one(output: &Output, config: &Config) -> Result<Opened, OpenError> {
    match output {
        Output::Stdout(format) => {
            let stdout = io::stdout()
                .as_fd()
                .try_clone_to_owned()
                .map(File::from)
                .map_err(|source| OpenError::Io {
                    path: "<stdout>".into(),
                    source,
                })?;
            let sink: Box<dyn Sink> = match format {
                Format::Table => Box::new(TableSink::new(stdout)),
                // Parquet is never on stdout (config refuses it); NDJSON stands in.
                Format::Ndjson | Format::Parquet => Box::new(LineSink::new(
                    Box::new(Ndjson),
                    stdout,
                    Fsync::Never,
                    true,
                    Gaps::Inline,
                )),
                // CSV on stdout has nowhere to put gaps: they are logged and counted.
                Format::Csv => Box::new(LineSink::new(
                    Box::new(Csv::with_book_levels(&config.channels, config.book.levels)),
                    stdout,
                    Fsync::Never,
                    true,
                    Gaps::Nowhere,
                )),
            };
            Ok(Opened {
                sink,
                created: Vec::new(),
            })
        }
        Output::File {
            path,
            format,
            existing,
        } => open_file(path, *format, *existing, config),
        Output::Broker(broker) => Ok(Opened {
            sink: super::broker::open(broker, config).map_err(OpenError::Broker)?,
            created: Vec::new(),
        }),
        Output::Discard => Ok(Opened {
            sink: Box::new(Discard(0)),
            created: Vec::new(),
        }),
    }
}

fn open_file(
    path: &Path,
    format: Format,
    existing: Existing,
    config: &Config,
) -> Result<Opened, OpenError> {
    let io_err = |source| OpenError::Io {
        path: path.to_owned(),
        source,
    };
    let (mut encoder, gaps): (Box<dyn Encode>, Gaps) = match format {
        Format::Csv => {
            let mut side = path.as_os_str().to_owned();
            side.push(".gaps.csv");
            let side = Gaps::SideFile {
                path: side.into(),
                file: None,
            };
            (
                Box::new(Csv::with_book_levels(&config.channels, config.book.levels)),
                side,
            )
        }
        _ => (Box::new(Ndjson), Gaps::Inline),
    };
    let whole = path
        .to_str()
        .is_some_and(|text| needs_file_sink(text, &config.files));
    let example = match format {
        Format::Csv => "ticks.csv",
        Format::Parquet => "ticks.parquet",
        _ => "ticks.ndjson",
    };
    check_location("--out", path, whole, example)?;
    if let Some(text) = path.to_str()
        && whole
    {
        let form = match format {
            #[cfg(feature = "parquet")]
            Format::Parquet => {
                // One schema per channel: one file holds one channel's rows.
                let by_channel = Template::parse(text).is_ok_and(|t| t.splits_by().2);
                if config.channels.len() > 1 && !by_channel {
                    return Err(OpenError::Unsupported(format!(
                        "a Parquet file holds one channel: add {{channel}} to --out {text} (such as ticks-{{channel}}.parquet) or record one --channel"
                    )));
                }
                Form::Parquet(super::parquet::ParquetSpec {
                    row_group_rows: config.files.row_group_rows,
                    decimal: config.files.parquet_decimal,
                    book_levels: config.book.levels,
                })
            }
            _ => Form::Lines(encoder),
        };
        let side_gaps = matches!(format, Format::Csv | Format::Parquet);
        return Ok(Opened {
            sink: Box::new(
                FileSink::new(text, form, side_gaps, existing, &config.files).map_err(
                    |e| match e {
                        // Only a compressed or Parquet name is refused here (a template or
                        // a rotated name numbers instead): `--append` cannot help it.
                        OpenError::Exists(path) => OpenError::ExistsWhole(path),
                        other => other,
                    },
                )?,
            ),
            created: Vec::new(),
        });
    }
    let existed = path.exists();
    let mut options = OpenOptions::new();
    match existing {
        Existing::Refuse => options.write(true).create_new(true),
        Existing::Append => options.append(true).create(true),
        Existing::Overwrite => options.write(true).create(true).truncate(true),
    };
    let file = options.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => OpenError::Exists(path.to_owned()),
        _ => io_err(e),
    })?;
    let empty = file.metadata().map_err(io_err)?.len() == 0;
    let mut header = Vec::new();
    encoder.header(&mut header);
    if !empty && !header.is_empty() {
        let mut first = Vec::new();
        BufReader::new(File::open(path).map_err(io_err)?)
            .read_until(b'\n', &mut first)
            .map_err(io_err)?;
        if first != header {
            return Err(OpenError::HeaderMismatch {
                path: path.to_owned(),
                want: String::from_utf8_lossy(header.trim_ascii_end()).into_owned(),
            });
        }
    }
    Ok(Opened {
        sink: Box::new(LineSink::new(encoder, file, config.files.fsync, empty, gaps).at(path)),
        created: (!existed).then(|| path.to_owned()).into_iter().collect(),
    })
}

/// Where a line sink puts gap records.
pub enum Gaps {
    /// In the same output, as lines of their own (NDJSON).
    Inline,
    /// In a CSV side file, opened (and given its header) at the first gap.
    SideFile {
        /// `PATH.gaps.csv`.
        path: PathBuf,
        /// Open once the first gap came.
        file: Option<File>,
    },
    /// Nowhere (CSV on stdout): the connection logs each interruption and the stats count it.
    Nowhere,
}

/// Writes whole lines of a line format ([`Encode`]) to a file or stdout.
pub struct LineSink {
    /// Turns ticks into lines.
    encoder: Box<dyn Encode>,
    /// Complete lines not yet handed to the OS.
    buf: Vec<u8>,
    /// Ticks in `buf`.
    pending: u64,
    /// The destination.
    out: File,
    /// When to `fsync` (`--fsync`; never for stdout).
    fsync: Fsync,
    /// When the file was last synced (`--fsync interval:D`).
    synced: Instant,
    /// Whether lines were handed to the OS since the last sync.
    dirty: bool,
    /// Syncs done, for tests.
    fsyncs: u64,
    /// Where gap records go.
    gaps: Gaps,
    /// What errors call the output.
    name: PathBuf,
    /// For a regular file, its length at the end of the last complete line written: a write
    /// that fails part way is cut back to it. `None` for stdout, pipes and devices.
    committed_len: Option<u64>,
}

impl LineSink {
    /// A sink over `out`; with `header`, the encoder's header goes first.
    pub fn new(
        mut encoder: Box<dyn Encode>,
        out: File,
        fsync: Fsync,
        header: bool,
        gaps: Gaps,
    ) -> LineSink {
        let mut buf = Vec::with_capacity(super::FLUSH_AT + 4096);
        if header {
            encoder.header(&mut buf);
        }
        LineSink {
            encoder,
            buf,
            pending: 0,
            out,
            fsync,
            synced: Instant::now(),
            dirty: false,
            fsyncs: 0,
            gaps,
            name: PathBuf::from("stdout"),
            committed_len: None,
        }
    }

    /// Names the output `path` in errors; for a regular file, also cuts a failed write back
    /// to the last complete line.
    pub fn at(mut self, path: &Path) -> LineSink {
        self.name = path.to_owned();
        self.committed_len = match self.out.metadata() {
            Ok(meta) if meta.is_file() => Some(meta.len()),
            _ => None,
        };
        self
    }

    /// After a failed write: the file ends at the last complete line again, and the next
    /// write (if any) goes right after it.
    fn cut_back(&mut self) {
        if let Some(len) = self.committed_len {
            // Best effort: the write error is what gets reported.
            let _ = self.out.set_len(len);
            let _ = self.out.seek(SeekFrom::Start(len));
        }
    }

    /// Syncs done so far (`--fsync`), for tests.
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs
    }

    /// Makes what was handed to the OS durable: the file, then its side file of gaps.
    fn sync(&mut self) -> io::Result<()> {
        self.out.sync_all().map_err(|e| named(&self.name, e))?;
        if let Gaps::SideFile {
            file: Some(file),
            path,
        } = &self.gaps
        {
            file.sync_all().map_err(|e| named(path, e))?;
        }
        self.fsyncs += 1;
        self.dirty = false;
        self.synced = Instant::now();
        Ok(())
    }

    /// `--fsync interval:D`: syncs once `D` has passed since the last sync, if lines came.
    fn sync_if_due(&mut self) -> io::Result<()> {
        match self.fsync {
            Fsync::Interval(every) if self.dirty && self.synced.elapsed() >= every => self.sync(),
            _ => Ok(()),
        }
    }
}

impl Sink for LineSink {
    fn write(&mut self, tick: &Tick) -> io::Result<()> {
        self.encoder.encode(tick, &mut self.buf);
        self.pending += 1;
        Ok(())
    }

    fn book(&mut self, record: &crate::book::row::BookRecord) -> io::Result<()> {
        self.encoder.encode_book(record, &mut self.buf);
        self.pending += 1;
        Ok(())
    }

    fn gap(&mut self, record: &Gap) -> io::Result<()> {
        match &mut self.gaps {
            Gaps::Inline => gap::ndjson_line(record, &mut self.buf),
            Gaps::SideFile { path, file } => {
                let side = path.clone();
                let named = |e| named(&side, e);
                let file = match file {
                    Some(file) => file,
                    None => {
                        let opened = OpenOptions::new()
                            .append(true)
                            .create(true)
                            .open(&*path)
                            .map_err(named)?;
                        let mut line = Vec::new();
                        if opened.metadata().map_err(named)?.len() == 0 {
                            gap::csv_header(&mut line);
                        }
                        file.insert(opened).write_all(&line).map_err(named)?;
                        file.as_mut().expect("just inserted")
                    }
                };
                let mut line = Vec::with_capacity(128);
                gap::csv_row(record, &mut line);
                file.write_all(&line).map_err(named)?;
                self.dirty = true;
            }
            Gaps::Nowhere => {}
        }
        Ok(())
    }

    fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn flush(&mut self) -> io::Result<u64> {
        if !self.buf.is_empty() {
            if let Err(e) = self.out.write_all(&self.buf) {
                self.cut_back();
                return Err(named(&self.name, e));
            }
            if let Some(len) = &mut self.committed_len {
                *len += self.buf.len() as u64;
            }
            self.buf.clear();
            self.dirty = true;
        }
        self.sync_if_due()?;
        Ok(std::mem::take(&mut self.pending))
    }

    fn refresh_every(&self) -> Option<Duration> {
        // A sync falls due while no row arrives.
        match self.fsync {
            Fsync::Interval(every) => Some(every),
            _ => None,
        }
    }

    fn refresh(&mut self) -> io::Result<()> {
        self.sync_if_due()
    }

    fn finish(&mut self) -> io::Result<u64> {
        let committed = self.flush()?;
        if self.fsync != Fsync::Never {
            self.sync()?;
        }
        Ok(committed)
    }
}

/// How often the live table is redrawn at most.
const TABLE_FRAME: Duration = Duration::from_millis(100);

/// The live table on a terminal: keeps the latest tick per row and redraws in place.
pub struct TableSink {
    /// The view.
    table: Table,
    /// Frame bytes, reused.
    frame: Vec<u8>,
    /// Ticks shown since the last flush.
    pending: u64,
    /// When the last frame was drawn.
    drawn: Option<Instant>,
    /// The terminal.
    out: File,
}

impl TableSink {
    /// A table over the terminal `out`; colour unless `NO_COLOR` is set.
    pub fn new(out: File) -> TableSink {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        TableSink {
            table: Table::new(color),
            frame: Vec::new(),
            pending: 0,
            drawn: None,
            out,
        }
    }

    fn draw(&mut self) -> io::Result<()> {
        self.frame.clear();
        // Issue 13: fit the terminal's current size; show the note and log lines posted.
        crate::terminal::prepare(&mut self.table, &self.out);
        self.table.render(crate::clock::now_ns(), &mut self.frame);
        self.out
            .write_all(&self.frame)
            .map_err(|e| named(Path::new("stdout"), e))?;
        self.drawn = Some(Instant::now());
        Ok(())
    }
}

impl Sink for TableSink {
    fn write(&mut self, tick: &Tick) -> io::Result<()> {
        self.table.update(tick);
        self.pending += 1;
        Ok(())
    }

    fn gap(&mut self, _gap: &Gap) -> io::Result<()> {
        // The view shows the latest value per row; the status line and summary count gaps.
        Ok(())
    }

    fn book(&mut self, record: &crate::book::row::BookRecord) -> io::Result<()> {
        self.table.update_book(record);
        self.pending += 1;
        Ok(())
    }

    fn buffered(&self) -> usize {
        0
    }

    fn flush(&mut self) -> io::Result<u64> {
        if self.drawn.is_none_or(|t| t.elapsed() >= TABLE_FRAME) {
            self.draw()?;
        }
        Ok(std::mem::take(&mut self.pending))
    }

    fn refresh_every(&self) -> Option<Duration> {
        Some(Duration::from_millis(250))
    }

    fn refresh(&mut self) -> io::Result<()> {
        self.draw()
    }

    fn finish(&mut self) -> io::Result<u64> {
        self.draw()?;
        self.frame.clear();
        self.table.finish(&mut self.frame);
        self.out
            .write_all(&self.frame)
            .map_err(|e| named(Path::new("stdout"), e))?;
        Ok(std::mem::take(&mut self.pending))
    }
}

/// `record --raw` without `--out`: ticks are decoded and counted (as committed), not kept.
struct Discard(u64);

impl Sink for Discard {
    fn write(&mut self, _tick: &Tick) -> io::Result<()> {
        self.0 += 1;
        Ok(())
    }

    fn gap(&mut self, _gap: &Gap) -> io::Result<()> {
        Ok(())
    }

    fn buffered(&self) -> usize {
        0
    }

    fn flush(&mut self) -> io::Result<u64> {
        Ok(std::mem::take(&mut self.0))
    }

    fn finish(&mut self) -> io::Result<u64> {
        self.flush()
    }
}

#[cfg(test)]
mod tests;
