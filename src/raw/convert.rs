//! `foxtrot convert`: a raw capture re-normalized offline with the venues' own decoders, so
//! a decoder fix applies to old data.
//!
//! Each socket of the capture (`conn`) gets what its connection task had: the venue's
//! decoder with its own memory ([`Out`]), and the streams it subscribed to (from its
//! `connect` record), so a topic that feeds two channels yields only what was asked for.
//! While two sockets carrying a stream are open at once (a make-before-break), a tick at or
//! below the stream's last sequence is a repeat and is dropped, as live. Ticks take the
//! record's `recv_ns`.
//!
//! Gap records are rebuilt as the live run wrote them ([`crate::connection::stream_gaps`]):
//! the sockets with the same URL and streams are one connection task; a `disconnect` with a
//! loss reason opens a gap from the socket's last data frame (text, or binary that is UTF-8)
//! or, without one, its connect; the task's next `connect` closes it at its `recv_ns` (the
//! live run ends the gap when the new socket's handshake completed, the connect record's
//! time). In captures without loss reasons (written before foxtrot recorded them), the
//! disconnect of a task's only open socket after it carried data counts as `disconnected`
//! when a connect of the task follows. A `stop` record (the run ended while the task was
//! reconnecting) ends the gap at its `recv_ns`, the time the live run wrote. Not exact: a
//! gap that neither ends (a capture cut by a crash, or an old one) gets the capture's last
//! `recv_ns` as `to_ns`. The gaps no frame tells (`never_connected`: no socket; `rejected`: the
//! answer is there, but matching it to the requests was the run's reading) are kept in the
//! capture as `gap` records and written as they say.
//!
//! Order books: each task has the books its connection had ([`Books::offline`]), fed the
//! same inputs in the same order: the depth messages of its sockets' frames and, for
//! Binance, the `rest` records (the snapshots, applied where the run applied them); their
//! `depth` and `book` rows and re-sync gap records are written as live
//! ([`book_data`], [`resync_gaps`]). A new session (a connect with none of the task's
//! sockets open) restarts them, as live.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;

use super::format::{self, ParseError};
use super::{Event, Record};
use crate::book::feed::Fetched;
use crate::book::row::BookRecord;
use crate::connection::{BookSettings, Books, Pending, book_data, resync_gaps};
use crate::exchange::{Decoded, Out, StreamId, Venue};
use crate::sink::Sink;
use crate::tick::{Channel, Gap, Symbol, Tick};

/// Why a conversion stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The capture could not be read.
    #[error("cannot read {path} ({source})")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// A line is not a raw record.
    #[error("{path}:{line}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        source: ParseError,
    },
    /// Writing the output failed.
    #[error("cannot write output {0}")]
    Write(io::Error),
}

/// What a conversion did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Converted {
    /// Records read.
    pub records: u64,
    /// Ticks written.
    pub ticks: u64,
    /// Gap records written.
    pub gaps: u64,
    /// `depth` and `book` rows written.
    pub books: u64,
    /// `rest` records (REST snapshots) read.
    pub snapshots: u64,
    /// Whether a connection had books built from REST snapshots (Binance `depth`/`book`).
    pub rest_books: bool,
    /// Frames the decoder refused.
    pub decode_errors: u64,
}

/// A row of the conversion, borrowed.
#[derive(Debug, Clone, Copy)]
pub enum Row<'a> {
    /// Market data.
    Tick(&'a Tick),
    /// A gap record.
    Gap(&'a Gap),
    /// A `depth` or `book` row.
    Book(&'a BookRecord),
}

/// One socket of the capture.
struct Socket {
    venue: Venue,
    /// Its connection task (an index into [`Converter::tasks`]).
    task: usize,
    /// What it subscribed to; empty when the capture did not say (then everything counts).
    streams: HashSet<(Symbol, Channel)>,
    out: Out,
    /// The receive time of its last data frame, or of its connect.
    last_data_ns: u64,
    /// Whether it received a data frame.
    delivered: bool,
}

/// One connection task of the run: the sockets that carried the same streams from the same
/// URL, one after another (or two at once during a make-before-break).
struct Task {
    streams: Arc<[StreamId]>,
    /// Sockets open now.
    open: usize,
    /// An interruption its next connect ends: since when, why, and whether the capture
    /// named the loss (else it was inferred from an old capture, and is only written when
    /// a connect follows).
    gap: Option<(u64, &'static str, bool)>,
    /// Its order books, as live (`depth`, `book`).
    books: Option<Books>,
    /// Order-book rows not yet written.
    pending: Pending,
}

/// Turns raw records into ticks, order-book rows and gap records, socket by socket.
#[derive(Default)]
pub struct Converter {
    /// `--book-levels`, `--book-interval`: how `book` rows are made.
    book_settings: BookSettings,
    sockets: HashMap<u32, Socket>,
    /// The task of every socket seen, open or closed.
    task_of_conn: HashMap<u32, usize>,
    tasks: Vec<Task>,
    /// The task of each (URL, streams) pair.
    task_of: HashMap<(Arc<str>, Arc<[StreamId]>), usize>,
    /// Per stream: the last sequence delivered.
    last_seq: HashMap<StreamId, u64>,
    /// The last record's receive time.
    last_recv_ns: u64,
    /// Counts so far.
    pub converted: Converted,
}

impl Converter {
    /// A converter making `book` rows as `settings` say.
    pub fn new(book_settings: BookSettings) -> Converter {
        Converter {
            book_settings,
            ..Converter::default()
        }
    }

    /// Takes one record; hands its new rows to `emit`.
    pub fn push(
        &mut self,
        record: Record,
        mut emit: impl FnMut(Row<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        self.converted.records += 1;
        self.last_recv_ns = self.last_recv_ns.max(record.recv_ns);
        let text = match &record.event {
            Event::Connect { url, streams } => {
                return self.connect(&record, url, streams, emit);
            }
            Event::Disconnect { lost } => {
                self.disconnect(record.conn, *lost);
                return Ok(());
            }
            Event::Rest { url, answer } => return self.rest(&record, url, answer, emit),
            Event::Stop => return self.stop(&record, emit),
            Event::Gap {
                streams,
                from_ns,
                reason,
            } => {
                for gap in crate::connection::stream_gaps(streams, *from_ns, record.recv_ns, reason)
                {
                    self.converted.gaps += 1;
                    emit(Row::Gap(&gap))?;
                }
                return Ok(());
            }
            // Binary frames that are UTF-8 text are read as text, as live.
            Event::Text(bytes) | Event::Binary(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => return Ok(()),
            },
            _ => return Ok(()),
        };
        let venue = record.venue;
        // A socket without a connect record (a capture cut at its start): a task of its own.
        let task = match self.sockets.get(&record.conn) {
            Some(socket) => socket.task,
            None => self.task(venue, &Arc::from(""), &Arc::from([])),
        };
        let socket = self.sockets.entry(record.conn).or_insert_with(|| Socket {
            venue,
            task,
            streams: HashSet::new(),
            out: Out::default(),
            last_data_ns: record.recv_ns,
            delivered: false,
        });
        socket.last_data_ns = record.recv_ns;
        socket.delivered = true;
        socket.out.clear();
        match socket
            .venue
            .exchange()
            .decode(text, record.recv_ns, &mut socket.out)
        {
            Ok(Decoded::Data) => {}
            Ok(_) => return Ok(()),
            Err(_) => {
                self.converted.decode_errors += 1;
                return Ok(());
            }
        }
        if !socket.out.depth.is_empty() {
            // As live: the frame's order-book rows, then its ticks.
            let task = &mut self.tasks[socket.task];
            if let Some(books) = task.books.as_mut() {
                let mut refused = Vec::new();
                books.on_frame(
                    &socket.out,
                    &mut task.pending,
                    &mut Vec::new(),
                    &mut refused,
                );
                // Refused as live: counted, and the book breaks the same way.
                self.converted.decode_errors += refused.len() as u64;
            }
            let task = socket.task;
            self.book_rows(venue, task, &mut emit)?;
        }
        let Some(socket) = self.sockets.get_mut(&record.conn) else {
            return Ok(());
        };
        let ticks = std::mem::take(&mut socket.out.ticks);
        let mut result = Ok(());
        for tick in &ticks {
            let key = (tick.symbol.clone(), tick.channel());
            let carries = |s: &Socket| s.streams.is_empty() || s.streams.contains(&key);
            if !self.sockets.get(&record.conn).is_some_and(carries) {
                continue;
            }
            let overlapping = self
                .sockets
                .values()
                .filter(|s| s.venue == venue && carries(s))
                .count()
                > 1;
            let id = StreamId::new(venue, key.0, key.1);
            let seq = tick.data.sequence();
            let last = self.last_seq.get(&id).copied();
            if overlapping && last.is_some_and(|last| seq <= last) {
                continue;
            }
            self.last_seq.insert(id, seq);
            self.converted.ticks += 1;
            result = emit(Row::Tick(tick));
            if result.is_err() {
                break;
            }
        }
        if let Some(socket) = self.sockets.get_mut(&record.conn) {
            socket.out.ticks = ticks;
        }
        result
    }

    /// The capture ends: a gap the capture named and no reconnect ended is written with
    /// the last record's time as its end.
    pub fn finish(&mut self, mut emit: impl FnMut(Row<'_>) -> io::Result<()>) -> io::Result<()> {
        let to_ns = self.last_recv_ns;
        for i in 0..self.tasks.len() {
            if let Some((from_ns, reason, true)) = self.tasks[i].gap.take() {
                self.gaps(i, from_ns, to_ns, reason, &mut emit)?;
            }
        }
        Ok(())
    }

    /// The task of `url` and `streams`, numbered on first sight.
    fn task(&mut self, venue: Venue, url: &Arc<str>, streams: &Arc<[StreamId]>) -> usize {
        let key = (Arc::from(format!("{venue} {url}")), streams.clone());
        let next = self.tasks.len();
        let id = *self.task_of.entry(key).or_insert(next);
        if id == next {
            self.tasks.push(Task {
                streams: streams.clone(),
                open: 0,
                gap: None,
                books: Books::offline(streams, &self.book_settings).inspect(|books| {
                    self.converted.rest_books |= matches!(books, Books::Rest(_));
                }),
                pending: Pending::new(),
            });
        }
        id
    }

    /// The task of a closed socket stopped before it reconnected: its gap ends now.
    fn stop(
        &mut self,
        record: &Record,
        mut emit: impl FnMut(Row<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let Some(&task) = self.task_of_conn.get(&record.conn) else {
            return Ok(());
        };
        if self.tasks[task].open > 0 {
            return Ok(());
        }
        match self.tasks[task].gap.take() {
            Some((from_ns, reason, _)) => {
                self.gaps(task, from_ns, record.recv_ns, reason, &mut emit)
            }
            None => Ok(()),
        }
    }

    /// A REST answer the run applied (a Binance depth snapshot): applied to the books of
    /// the socket's task, which write their rows.
    fn rest(
        &mut self,
        record: &Record,
        url: &str,
        answer: &Result<bytes::Bytes, String>,
        mut emit: impl FnMut(Row<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let Some(task) = self.sockets.get(&record.conn).map(|s| s.task) else {
            return Ok(());
        };
        let symbol = url
            .split_once('?')
            .and_then(|(_, query)| query.split('&').find_map(|kv| kv.strip_prefix("symbol=")))
            .and_then(|s| Symbol::parse(s).ok());
        let Task { books, pending, .. } = &mut self.tasks[task];
        let (Some(symbol), Some(books)) = (symbol, books.as_mut()) else {
            return Ok(());
        };
        let body = match answer {
            Ok(body) => Ok(&body[..]),
            Err(e) => Err(e.as_str()),
        };
        self.converted.snapshots += 1;
        let fetched = Fetched::captured(symbol, record.recv_ns, body);
        books.apply_captured(fetched, pending);
        self.book_rows(record.venue, task, &mut emit)
    }

    /// Writes the pending order-book rows of `task`: each row of a stream it carries, and
    /// a gap record per carried stream of a symbol whose book broke (as live).
    fn book_rows(
        &mut self,
        venue: Venue,
        task: usize,
        emit: &mut impl FnMut(Row<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let pending = std::mem::take(&mut self.tasks[task].pending);
        let streams = self.tasks[task].streams.clone();
        let carries = |symbol: &Symbol, channel: Channel| {
            streams
                .iter()
                .any(|s| s.channel == channel && s.symbol == *symbol)
        };
        for (symbol, recv_ns, output) in pending {
            match book_data(output) {
                Err(reason) => {
                    let carried = |c| carries(&symbol, c);
                    for gap in resync_gaps(venue, &symbol, recv_ns, reason, carried) {
                        self.converted.gaps += 1;
                        emit(Row::Gap(&gap))?;
                    }
                }
                Ok((channel, data)) if carries(&symbol, channel) => {
                    self.converted.books += 1;
                    let record = BookRecord {
                        exchange: venue,
                        symbol,
                        recv_ns,
                        data,
                    };
                    emit(Row::Book(&record))?;
                }
                Ok(_) => {}
            }
        }
        Ok(())
    }

    /// A socket opened: it ends its task's gap, if one is open.
    fn connect(
        &mut self,
        record: &Record,
        url: &Arc<str>,
        streams: &Arc<[StreamId]>,
        mut emit: impl FnMut(Row<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let task = self.task(record.venue, url, streams);
        self.disconnect(record.conn, None);
        if self.tasks[task].open == 0
            && let Some(books) = self.tasks[task].books.as_mut()
        {
            // A new session (not a make-before-break): every book is built again, as live.
            books.restart();
        }
        self.sockets.insert(
            record.conn,
            Socket {
                venue: record.venue,
                task,
                streams: streams
                    .iter()
                    .map(|s| (s.symbol.clone(), s.channel))
                    .collect(),
                out: Out::default(),
                last_data_ns: record.recv_ns,
                delivered: false,
            },
        );
        self.tasks[task].open += 1;
        self.task_of_conn.insert(record.conn, task);
        match self.tasks[task].gap.take() {
            Some((from_ns, reason, _)) => {
                self.gaps(task, from_ns, record.recv_ns, reason, &mut emit)
            }
            None => Ok(()),
        }
    }

    /// A socket is gone; `lost` says why when its task lost it and reconnects.
    fn disconnect(&mut self, conn: u32, lost: Option<&'static str>) {
        let Some(socket) = self.sockets.remove(&conn) else {
            return;
        };
        let task = &mut self.tasks[socket.task];
        task.open = task.open.saturating_sub(1);
        match lost {
            Some(reason) => task.gap = Some((socket.last_data_ns, reason, true)),
            // A capture without loss reasons: the only socket, after data, went away.
            None if task.open == 0 && task.gap.is_none() && socket.delivered => {
                task.gap = Some((socket.last_data_ns, "disconnected", false));
            }
            None => {}
        }
    }

    /// Writes the gap records of `task`, as the live run does.
    fn gaps(
        &mut self,
        task: usize,
        from_ns: u64,
        to_ns: u64,
        reason: &'static str,
        emit: &mut impl FnMut(Row<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let streams = self.tasks[task].streams.clone();
        for gap in crate::connection::stream_gaps(&streams, from_ns, to_ns, reason) {
            self.converted.gaps += 1;
            emit(Row::Gap(&gap))?;
        }
        Ok(())
    }
}

/// The channels the captures' sockets subscribed to, in order of first appearance (the CSV
/// columns of the conversion).
pub fn channels(paths: &[impl AsRef<Path>]) -> Result<Vec<Channel>, ConvertError> {
    let mut channels = Vec::new();
    for_each_record(paths, |record| {
        if let Event::Connect { streams, .. } | Event::Gap { streams, .. } = &record.event {
            for s in streams.iter() {
                if !channels.contains(&s.channel) {
                    channels.push(s.channel);
                }
            }
        }
        Ok(())
    })?;
    Ok(channels)
}

/// Converts the captures at `paths`, in order, into `sink`, and finishes it; `book` rows
/// are made as `books` says.
pub fn convert(
    paths: &[impl AsRef<Path>],
    books: BookSettings,
    sink: &mut dyn Sink,
) -> Result<Converted, ConvertError> {
    let mut converter = Converter::new(books);
    let mut write_error = None;
    let write = |sink: &mut dyn Sink, row: Row<'_>| match row {
        Row::Tick(tick) => sink.write(tick),
        Row::Gap(gap) => sink.gap(gap),
        Row::Book(record) => sink.book(record),
    };
    let read = for_each_record(paths, |record| {
        let pushed = converter.push(record, |row| write(&mut *sink, row));
        if let Err(e) = pushed {
            write_error = Some(e);
            return Err(());
        }
        if sink.buffered() >= 1 << 16 {
            sink.flush().map_err(|e| write_error = Some(e))?;
        }
        Ok(())
    });
    if let Some(e) = write_error {
        let _ = sink.finish();
        return Err(ConvertError::Write(e));
    }
    if let Err(e) = read {
        let _ = sink.finish();
        return Err(e);
    }
    if let Err(e) = converter.finish(|row| write(&mut *sink, row)) {
        let _ = sink.finish();
        return Err(ConvertError::Write(e));
    }
    sink.finish().map_err(ConvertError::Write)?;
    Ok(converter.converted)
}

/// Calls `f` with every record of `paths`; an `Err(())` from `f` stops (its caller keeps
/// the reason).
pub fn for_each_record(
    paths: &[impl AsRef<Path>],
    mut f: impl FnMut(Record) -> Result<(), ()>,
) -> Result<(), ConvertError> {
    for path in paths {
        let path = path.as_ref();
        let name = path.display().to_string();
        let read_err = |source| ConvertError::Read {
            path: name.clone(),
            source,
        };
        let reader = crate::sink::compress::reader(path).map_err(read_err)?;
        for (i, line) in reader.lines().enumerate() {
            let line = line.map_err(read_err)?;
            if line.trim().is_empty() {
                continue;
            }
            let record = format::parse(&line).map_err(|source| ConvertError::Parse {
                path: name.clone(),
                line: i + 1,
                source,
            })?;
            if f(record).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}
