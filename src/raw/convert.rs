//! `foxtrot convert`: a raw capture re-normalized offline with the venues' own decoders, so
//! a decoder fix applies to old data.
//!
//! Each socket of the capture (`conn`) gets what its connection task had: the venue's
//! decoder with its own memory ([`Out`]), and the streams it subscribed to (from its
//! `connect` record), so a topic that feeds two channels yields only what was asked for.
//! While two sockets carrying a stream are open at once (a make-before-break), a tick at or
//! below the stream's last sequence is a repeat and is dropped, as live. Ticks take the
//! record's `recv_ns`. Not rebuilt: gap records (the capture holds the disconnects) and
//! order books (no venue decoder emits depth rows into ticks yet).

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead};
use std::path::Path;

use super::format::{self, ParseError};
use super::{Event, Record};
use crate::exchange::{Decoded, Out, StreamId, Venue};
use crate::sink::Sink;
use crate::tick::{Channel, Symbol, Tick};

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
    /// Frames the decoder refused.
    pub decode_errors: u64,
}

/// One socket of the capture.
struct Socket {
    venue: Venue,
    /// What it subscribed to; empty when the capture did not say (then everything counts).
    streams: HashSet<(Symbol, Channel)>,
    out: Out,
}

/// Turns raw records into ticks, socket by socket.
#[derive(Default)]
pub struct Converter {
    sockets: HashMap<u32, Socket>,
    /// Per stream: the last sequence delivered.
    last_seq: HashMap<StreamId, u64>,
    /// Counts so far.
    pub converted: Converted,
}

impl Converter {
    /// Takes one record; hands its new ticks to `emit`.
    pub fn push(
        &mut self,
        record: Record,
        mut emit: impl FnMut(&Tick) -> io::Result<()>,
    ) -> io::Result<()> {
        self.converted.records += 1;
        let text = match &record.event {
            Event::Connect { streams, .. } => {
                self.sockets.insert(
                    record.conn,
                    Socket {
                        venue: record.venue,
                        streams: streams
                            .iter()
                            .map(|s| (s.symbol.clone(), s.channel))
                            .collect(),
                        out: Out::default(),
                    },
                );
                return Ok(());
            }
            Event::Disconnect => {
                self.sockets.remove(&record.conn);
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
        let socket = self.sockets.entry(record.conn).or_insert_with(|| Socket {
            venue,
            streams: HashSet::new(),
            out: Out::default(),
        });
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
            result = emit(tick);
            if result.is_err() {
                break;
            }
        }
        if let Some(socket) = self.sockets.get_mut(&record.conn) {
            socket.out.ticks = ticks;
        }
        result
    }
}

/// The channels the captures' sockets subscribed to, in order of first appearance (the CSV
/// columns of the conversion).
pub fn channels(paths: &[impl AsRef<Path>]) -> Result<Vec<Channel>, ConvertError> {
    let mut channels = Vec::new();
    for_each_record(paths, |record| {
        if let Event::Connect { streams, .. } = &record.event {
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

/// Converts the captures at `paths`, in order, into `sink`, and finishes it.
pub fn convert(paths: &[impl AsRef<Path>], sink: &mut dyn Sink) -> Result<Converted, ConvertError> {
    let mut converter = Converter::default();
    let mut write_error = None;
    let read = for_each_record(paths, |record| {
        let pushed = converter.push(record, |tick| sink.write(tick));
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
