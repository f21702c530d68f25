//! The recorded messages a replay server sends, loaded once and shared by every session.
//!
//! This module owns reading JSONL recordings and classifying each line under a stream
//! name (`btcusdt@trade`). It keeps every payload byte for byte as recorded: nothing is
//! parsed into numbers or serialized again, because clients compare prices as text. It
//! does not decide who receives what; sessions match names against their subscriptions.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::rows::{Frames, Unservable};

/// Why a recording could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{}:{line}: not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The 1-based line holding the first invalid byte.
        line: usize,
    },
    /// A line of a raw capture (`record --raw`) is not a raw record.
    #[error("{}:{line}: {source}", path.display())]
    Raw {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        source: crate::raw::format::ParseError,
    },
    /// A row of a recording (`record --out`) that replay cannot turn back into a message.
    #[error(
        "{}:{line}: replay cannot serve {exchange} {channel} rows from an NDJSON or CSV recording ({why}); record with --raw and replay the raw capture, which serves every venue's frames as received",
        path.display()
    )]
    Unservable {
        /// The file.
        path: PathBuf,
        /// The 1-based line number (of the CSV record).
        line: usize,
        /// The row's venue.
        exchange: String,
        /// The row's channel.
        channel: String,
        /// Why, in a few words.
        why: &'static str,
    },
    /// A CSV recording that does not parse.
    #[error("{}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// What the CSV reader said.
        source: csv::Error,
    },
    /// A non-blank line is not valid JSON.
    #[error("{}:{line}: malformed JSON: {source}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
}

/// One recorded message, ready to send in either endpoint's framing.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    /// Index into [`Library::streams`].
    pub(crate) stream: usize,
    /// The payload exactly as recorded, for `/ws/...` connections.
    pub(crate) raw: Utf8Bytes,
    /// `{"stream":<name>,"data":<raw>}`, built once at load for `/stream` connections.
    pub(crate) combined: Utf8Bytes,
    /// When foxtrot received it, for a raw capture (`--speed` paces by it).
    pub(crate) recv_ns: Option<u64>,
}

/// Every message of one or more recordings, in file order, each under a stream name.
#[derive(Clone, Debug, Default)]
pub struct Library {
    /// Distinct stream names, in order of first appearance.
    streams: Vec<String>,
    /// Position of each name in `streams`, so loading stays linear in the line count.
    index: HashMap<String, usize>,
    messages: Vec<Message>,
    skipped: u64,
}

impl Library {
    /// Loads `paths` in the order given, as if the files were concatenated. A file is
    /// decompressed by its extension (`.gz`, `.zst`); it holds either venue messages, one
    /// per line, or a raw capture (`record --raw`), whose received text frames are served
    /// with their receive times.
    pub fn load(paths: &[PathBuf]) -> Result<Library, LoadError> {
        let mut library = Library::default();
        for path in paths {
            let read_err = |source| LoadError::Read {
                path: path.clone(),
                source,
            };
            let mut bytes = Vec::new();
            crate::sink::compress::reader(path)
                .and_then(|mut r| r.read_to_end(&mut bytes))
                .map_err(read_err)?;
            let text = String::from_utf8(bytes).map_err(|e| {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                LoadError::NotUtf8 {
                    path: path.clone(),
                    line: 1 + valid.iter().filter(|&&b| b == b'\n').count(),
                }
            })?;
            let first = text.lines().find(|l| !l.trim().is_empty());
            if first.is_some_and(crate::raw::format::is_record) {
                library.extend_raw(path, text.lines())?;
            } else if first.is_some_and(super::rows::is_ndjson_row) {
                let mut frames = Frames::default();
                for (i, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    match super::rows::ndjson_row(line) {
                        Some(row) => library.push_row(path, &mut frames, i + 1, row)?,
                        None => library.skipped += 1,
                    }
                }
                library.finish_rows(path, frames)?;
            } else if first.is_some_and(super::rows::is_csv_header) {
                library.extend_csv(path, &text)?;
            } else {
                library.extend(path, text.lines())?;
            }
        }
        Ok(library)
    }

    /// Adds a recorded row to `frames`; refuses a row of a venue or channel replay cannot
    /// serve from rows.
    fn push_row(
        &self,
        path: &Path,
        frames: &mut Frames,
        line: usize,
        row: super::rows::Row,
    ) -> Result<(), LoadError> {
        frames
            .push(line, row)
            .map_err(|(line, refusal)| unservable(path, line, refusal))
    }

    /// Ends a file of rows: adds the messages `frames` built (a row missing a field counts
    /// as skipped), or refuses what could not be served.
    fn finish_rows(&mut self, path: &Path, mut frames: Frames) -> Result<(), LoadError> {
        frames
            .finish()
            .map_err(|(line, refusal)| unservable(path, line, refusal))?;
        self.skipped += frames.take_skipped();
        for (frame, recv_ns) in frames.take() {
            match classify(&frame) {
                Ok(Some((name, payload))) => {
                    let (name, payload) = (name.into_owned(), payload.to_owned());
                    self.push(name, &payload, recv_ns)
                }
                _ => self.skipped += 1,
            }
        }
        Ok(())
    }

    /// Adds the rows of foxtrot's CSV output (header first).
    fn extend_csv(&mut self, path: &Path, text: &str) -> Result<(), LoadError> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| LoadError::Csv {
                path: path.to_path_buf(),
                source: e,
            })?
            .clone();
        let mut frames = Frames::default();
        for record in reader.records() {
            let record = record.map_err(|e| LoadError::Csv {
                path: path.to_path_buf(),
                source: e,
            })?;
            let row = header
                .iter()
                .zip(record.iter())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let line = record.position().map_or(0, |p| p.line() as usize);
            self.push_row(path, &mut frames, line, row)?;
        }
        self.finish_rows(path, frames)
    }

    /// Adds the received text frames of a raw capture (a binary frame that is UTF-8 text
    /// counts as text, as foxtrot reads it); other records are skipped.
    fn extend_raw<'a>(
        &mut self,
        path: &Path,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), LoadError> {
        use crate::raw::Event;
        for (index, line) in lines.into_iter().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let record = crate::raw::format::parse(line).map_err(|source| LoadError::Raw {
                path: path.to_path_buf(),
                line: index + 1,
                source,
            })?;
            let (Event::Text(bytes) | Event::Binary(bytes)) = &record.event else {
                continue;
            };
            let Ok(frame) = std::str::from_utf8(bytes) else {
                self.skipped += 1;
                continue;
            };
            match classify(frame) {
                Ok(Some((name, payload))) => {
                    self.push(name.into_owned(), payload, Some(record.recv_ns))
                }
                // Acks and other answers to requests are not data to serve.
                Ok(None) | Err(_) => self.skipped += 1,
            }
        }
        Ok(())
    }

    /// Builds a library from lines held in memory; errors name the file `<memory>`.
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<Library, LoadError> {
        let mut library = Library::default();
        library.extend(Path::new("<memory>"), lines)?;
        Ok(library)
    }

    /// How many messages can be sent.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Lines that were valid JSON but not a market-data message (control frames,
    /// arrays, snapshots without a symbol). Blank lines are not counted.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The distinct stream names, in order of first appearance.
    pub fn stream_names(&self) -> impl Iterator<Item = &str> {
        self.streams.iter().map(String::as_str)
    }

    /// Every message as (stream name, payload text), in send order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.messages
            .iter()
            .map(|m| (self.streams[m.stream].as_str(), m.raw.as_str()))
    }

    pub(crate) fn messages(&self) -> &[Message] {
        &self.messages
    }

    pub(crate) fn streams(&self) -> &[String] {
        &self.streams
    }

    fn extend<'a>(
        &mut self,
        path: &Path,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), LoadError> {
        for (index, line) in lines.into_iter().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match classify(line) {
                Ok(Some((name, payload))) => self.push(name.into_owned(), payload, None),
                Ok(None) => self.skipped += 1,
                Err(source) => {
                    return Err(LoadError::Malformed {
                        path: path.to_path_buf(),
                        line: index + 1,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, name: String, payload: &str, recv_ns: Option<u64>) {
        let stream = match self.index.get(&name) {
            Some(&i) => i,
            None => {
                self.index.insert(name.clone(), self.streams.len());
                self.streams.push(name);
                self.streams.len() - 1
            }
        };
        let (combined, raw) = frame_combined(&self.streams[stream], payload);
        self.messages.push(Message {
            stream,
            raw,
            combined,
            recv_ns,
        });
    }
}

/// The error of a row that cannot be served, at `line` of `path`.
fn unservable(path: &Path, line: usize, refusal: Unservable) -> LoadError {
    LoadError::Unservable {
        path: path.to_path_buf(),
        line,
        exchange: refusal.exchange,
        channel: refusal.channel,
        why: refusal.why,
    }
}

impl fmt::Display for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} messages on {} streams ({} lines skipped)",
            self.messages.len(),
            self.streams.len(),
            self.skipped
        )
    }
}

/// Builds `{"stream":<name>,"data":<payload>}` and returns it with a slice of itself
/// holding just the payload, so both framings share one allocation.
pub(crate) fn frame_combined(name: &str, payload: &str) -> (Utf8Bytes, Utf8Bytes) {
    let mut text = String::with_capacity(payload.len() + name.len() + 24);
    text.push_str(r#"{"stream":"#);
    push_json_string(&mut text, name);
    text.push_str(r#","data":"#);
    let start = text.len();
    text.push_str(payload);
    let end = text.len();
    text.push('}');
    let bytes = Bytes::from(text);
    // The slice lies on the payload's own boundaries, so it is valid UTF-8; the
    // fallback copy only keeps this free of panics.
    let raw = Utf8Bytes::try_from(bytes.slice(start..end)).unwrap_or_else(|_| payload.into());
    let combined = Utf8Bytes::try_from(bytes).unwrap_or_default();
    (combined, raw)
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    // Stream names are almost always plain ASCII; only escape when needed.
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x80)
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::Value::from(s).to_string());
    }
}

/// The fields that decide a line's stream; everything else is skipped unparsed.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    stream: Option<Cow<'a, str>>,
    /// Bybit names a message's stream by its topic (`publicTrade.BTCUSDT`).
    #[serde(borrow)]
    topic: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    e: Option<Cow<'a, str>>,
    #[serde(borrow)]
    s: Option<Cow<'a, str>>,
    #[serde(borrow)]
    k: Option<KlineProbe<'a>>,
    /// A liquidation's order (`forceOrder`), which holds the symbol; a price elsewhere.
    #[serde(borrow)]
    o: Option<&'a RawValue>,
    u: Option<serde::de::IgnoredAny>,
    b: Option<serde::de::IgnoredAny>,
    a: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct SymbolProbe<'a> {
    #[serde(borrow)]
    s: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct KlineProbe<'a> {
    #[serde(borrow)]
    i: Option<Cow<'a, str>>,
}

/// Returns the stream name and payload text of one line, `None` for valid JSON that is
/// not market data, or the parser's error for invalid JSON.
pub(crate) fn classify(line: &str) -> Result<Option<(Cow<'_, str>, &str)>, serde_json::Error> {
    if let Some(name) = super::dialect::okx::classify(line) {
        return Ok(Some((name, line)));
    }
    let probe: Probe<'_> = match serde_json::from_str(line) {
        Ok(probe) => probe,
        // Valid JSON of another shape (an array, a field of another type) is skipped;
        // only broken JSON is an error. A shape error can hide broken text after it
        // (`1723161255 {...}`, a capture's timestamp prefix), so check the whole line.
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            serde_json::from_str::<serde::de::IgnoredAny>(line)?;
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if let (Some(topic), Some(_)) = (&probe.topic, probe.data) {
        // A Bybit message is sent whole, as recorded.
        return Ok((!topic.is_empty()).then(|| (topic.clone(), line)));
    }
    if let (Some(stream), Some(data)) = (probe.stream, probe.data) {
        return Ok((!stream.is_empty()).then_some((stream, data.get())));
    }
    let nested = match (probe.e.as_deref(), probe.o) {
        (Some("forceOrder"), Some(order)) => serde_json::from_str::<SymbolProbe<'_>>(order.get())
            .ok()
            .and_then(|o| o.s),
        _ => None,
    };
    let Some(symbol) = probe.s.or(nested).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let kind: Cow<'_, str> = match probe.e.as_deref() {
        Some("trade") => "trade".into(),
        Some("aggTrade") => "aggTrade".into(),
        Some("24hrTicker") => "ticker".into(),
        Some("24hrMiniTicker") => "miniTicker".into(),
        Some("depthUpdate") => "depth".into(),
        Some("bookTicker") => "bookTicker".into(),
        Some("markPriceUpdate") => "markPrice".into(),
        Some("forceOrder") => "forceOrder".into(),
        Some("kline") => match probe.k.and_then(|k| k.i) {
            Some(interval) => format!("kline_{interval}").into(),
            None => return Ok(None),
        },
        Some(_) => return Ok(None),
        // Spot bookTicker is the one payload without an event type.
        None if probe.u.is_some() && probe.b.is_some() && probe.a.is_some() => "bookTicker".into(),
        None => return Ok(None),
    };
    let name = format!("{}@{kind}", symbol.to_ascii_lowercase());
    Ok(Some((name.into(), line)))
}

#[cfg(test)]
mod tests;
