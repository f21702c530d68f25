//! One output file's bytes on disk: plain, gzip (flate2) or zstd, chosen by the extension.
//!
//! This module owns the stream framing and what "whole lines on disk" means for each kind:
//! a plain file that fails part way through a write is cut back to its last complete line;
//! a compressed file is flushed to a block boundary after whole lines, so a reader (or
//! `gzip -d`, `zstd -d` on a `.partial` left by a crash) decodes everything up to there.
//! [`Writer::finish`] writes the gzip trailer or the zstd frame end. It knows nothing of
//! ticks, names or rotation.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::output::named;

/// zstd's window at the default level and below: 512 KiB (`windowLog` 19) instead of level
/// 3's 2 MiB. On foxtrot's lines (thousands of near-identical rows in any 512 KiB) the output
/// is no larger, compression takes less CPU and memory (2 MiB less for each open file), and
/// a reader needs only that window to decode. Higher levels keep their own window: whoever
/// asks for them trades speed for size.
const ZSTD_WINDOW_LOG: u32 = 19;
/// The highest level [`ZSTD_WINDOW_LOG`] applies to.
const ZSTD_SMALL_WINDOW_UP_TO: i32 = 3;

/// The default of `--zstd-level`.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// How a compressed file's encoder is flushed to a block boundary at most this often, so a
/// crash loses at most this much of a compressed file while small blocks do not spoil the
/// ratio. A plain file is written on every flush of the sink.
const BLOCK_EVERY: Duration = Duration::from_secs(1);

/// The compression a file name asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// None.
    Plain,
    /// `.gz`: gzip (one member per file).
    Gzip,
    /// `.zst`: zstd at this level (one frame per file).
    Zstd(i32),
}

impl Compression {
    /// The compression of `name` (`.gz`, `.zst`, else plain) and the name without that suffix.
    pub fn of(name: &str, zstd_level: i32) -> (Compression, &str) {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".gz") {
            (Compression::Gzip, &name[..name.len() - 3])
        } else if lower.ends_with(".zst") {
            (Compression::Zstd(zstd_level), &name[..name.len() - 4])
        } else {
            (Compression::Plain, name)
        }
    }
}

/// Reads `path` decompressed by its extension (`.gz`, `.zst`, else as it is), for
/// `foxtrot convert` and `foxtrot replay`. A finished file only: the reader fails at a
/// missing trailer.
pub fn reader(path: &Path) -> io::Result<Box<dyn io::BufRead + Send>> {
    let file = File::open(path).map_err(|e| named(path, e))?;
    let (compression, _) = Compression::of(&path.to_string_lossy(), DEFAULT_ZSTD_LEVEL);
    let inner: Box<dyn io::Read + Send> = match compression {
        Compression::Plain => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
        Compression::Zstd(_) => Box::new(zstd::stream::read::Decoder::new(file)?),
    };
    Ok(Box::new(io::BufReader::with_capacity(1 << 16, inner)))
}

/// Counts the bytes that reach the file, for size rotation on compressed bytes.
struct Counted {
    file: File,
    bytes: u64,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Inner {
    Plain(Counted),
    Gzip(flate2::write::GzEncoder<Counted>),
    Zstd(zstd::stream::write::Encoder<'static, Counted>),
}

/// A file being written, in whole lines, through its compression.
pub struct Writer {
    inner: Inner,
    /// The path written (a `.partial` name while unfinished), for error messages.
    path: PathBuf,
    /// When a compressed encoder was last flushed to a block boundary (never: the first
    /// settle flushes, so a new file decodes early).
    blocked: Option<Instant>,
    /// Lines given to a compressed encoder since its last block boundary.
    unblocked: bool,
}

impl Writer {
    /// Creates `path` (which must not exist) for writing with `compression`.
    pub fn create(path: &Path, compression: Compression) -> io::Result<Writer> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| named(path, e))?;
        let counted = Counted { file, bytes: 0 };
        let inner = match compression {
            Compression::Plain => Inner::Plain(counted),
            Compression::Gzip => Inner::Gzip(flate2::write::GzEncoder::new(
                counted,
                flate2::Compression::default(),
            )),
            Compression::Zstd(level) => {
                let mut encoder = zstd::stream::write::Encoder::new(counted, level)
                    .map_err(|e| named(path, e))?;
                // Compression runs on the writing thread (the sink's, or the raw writer's),
                // never on a connection task. zstd's worker thread (`NbWorkers` 1) was
                // measured and dropped: on 2 cores it cost more CPU per row and more memory
                // (README, Performance: Files).
                if level <= ZSTD_SMALL_WINDOW_UP_TO {
                    encoder
                        .set_parameter(zstd::zstd_safe::CParameter::WindowLog(ZSTD_WINDOW_LOG))
                        .map_err(|e| named(path, e))?;
                }
                Inner::Zstd(encoder)
            }
        };
        Ok(Writer {
            inner,
            path: path.to_owned(),
            blocked: None,
            unblocked: false,
        })
    }

    /// The path being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes on disk so far (compressed bytes for a compressed file).
    pub fn bytes_on_disk(&self) -> u64 {
        self.counted().bytes
    }

    fn counted(&self) -> &Counted {
        match &self.inner {
            Inner::Plain(c) => c,
            Inner::Gzip(e) => e.get_ref(),
            Inner::Zstd(e) => e.get_ref(),
        }
    }

    /// Writes `lines`, which end on a line boundary. A plain file that fails part way is cut
    /// back to its last complete line; a compressed one keeps what decodes.
    pub fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        let result = match &mut self.inner {
            Inner::Plain(c) => {
                let before = c.bytes;
                let result = c.write_all(lines);
                if result.is_err() {
                    // Best effort: the write error is what gets reported.
                    let _ = c.file.set_len(before);
                    let _ = c.file.seek(SeekFrom::Start(before));
                    c.bytes = before;
                }
                result
            }
            Inner::Gzip(e) => {
                self.unblocked = true;
                e.write_all(lines)
            }
            Inner::Zstd(e) => {
                self.unblocked = true;
                e.write_all(lines)
            }
        };
        result.map_err(|e| named(&self.path, e))
    }

    /// Flushes a compressed encoder to a block boundary if it has not been for a while (or
    /// `now` is set), so everything written so far decodes from the file alone.
    pub fn settle(&mut self, now: bool) -> io::Result<()> {
        let recent = self.blocked.is_some_and(|t| t.elapsed() < BLOCK_EVERY);
        if !self.unblocked || (!now && recent) {
            return Ok(());
        }
        let result = match &mut self.inner {
            Inner::Plain(_) => Ok(()),
            Inner::Gzip(e) => e.flush(),
            Inner::Zstd(e) => e.flush(),
        };
        self.blocked = Some(Instant::now());
        self.unblocked = false;
        result.map_err(|e| named(&self.path, e))
    }

    /// Makes what was written durable (`fdatasync`), after flushing a compressed encoder.
    pub fn sync(&mut self) -> io::Result<()> {
        self.settle(true)?;
        self.counted()
            .file
            .sync_data()
            .map_err(|e| named(&self.path, e))
    }

    /// Ends the stream (gzip trailer, zstd frame end) and returns the file, not yet synced.
    pub fn finish(self) -> io::Result<File> {
        let path = self.path;
        let counted = match self.inner {
            Inner::Plain(c) => Ok(c),
            Inner::Gzip(e) => e.finish(),
            Inner::Zstd(e) => e.finish(),
        }
        .map_err(|e| named(&path, e))?;
        Ok(counted.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn round_trip(compression: Compression, name: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let mut writer = Writer::create(&path, compression).unwrap();
        writer.write_lines(b"one\ntwo\n").unwrap();
        writer.settle(true).unwrap();
        // What was settled decodes before the stream is finished (a crash leaves this).
        let partial = std::fs::read(&path).unwrap();
        assert!(decode_prefix(compression, &partial).starts_with("one\ntwo\n"));
        writer.write_lines(b"three\n").unwrap();
        assert!(writer.bytes_on_disk() > 0);
        writer.finish().unwrap();
        let whole = std::fs::read(&path).unwrap();
        let text = match compression {
            Compression::Plain => String::from_utf8(whole).unwrap(),
            Compression::Gzip => {
                let mut s = String::new();
                flate2::read::GzDecoder::new(whole.as_slice())
                    .read_to_string(&mut s)
                    .unwrap();
                s
            }
            Compression::Zstd(_) => {
                String::from_utf8(zstd::decode_all(whole.as_slice()).unwrap()).unwrap()
            }
        };
        assert_eq!(text, "one\ntwo\nthree\n");
    }

    /// Decodes as much of an unfinished stream as there is.
    fn decode_prefix(compression: Compression, bytes: &[u8]) -> String {
        let mut out = Vec::new();
        let _ = match compression {
            Compression::Plain => {
                out.extend_from_slice(bytes);
                Ok(0)
            }
            Compression::Gzip => flate2::read::GzDecoder::new(bytes).read_to_end(&mut out),
            Compression::Zstd(_) => zstd::stream::read::Decoder::new(bytes)
                .unwrap()
                .read_to_end(&mut out),
        };
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_kind_round_trips_and_a_settled_prefix_decodes() {
        round_trip(Compression::Plain, "a.csv");
        round_trip(Compression::Gzip, "a.csv.gz");
        round_trip(Compression::Zstd(3), "a.csv.zst");
    }

    /// The window a zstd frame asks its reader for (RFC 8878, 3.1.1.1.2), from its header.
    fn zstd_window(frame: &[u8]) -> u64 {
        assert_eq!(frame[..4], [0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
        assert_eq!(frame[4] & 0x20, 0, "not a single-segment frame");
        let (exponent, mantissa) = (u64::from(frame[5] >> 3), u64::from(frame[5] & 7));
        let base = 1u64 << (10 + exponent);
        base + base / 8 * mantissa
    }

    #[test]
    fn zstd_uses_a_512_kib_window_up_to_the_default_level() {
        let dir = tempfile::tempdir().unwrap();
        let window = |level: i32| {
            let path = dir.path().join(format!("l{level}.zst"));
            let mut writer = Writer::create(&path, Compression::Zstd(level)).unwrap();
            for i in 0..100_000 {
                writer.write_lines(format!("{i}\n").as_bytes()).unwrap();
            }
            writer.finish().unwrap();
            zstd_window(&std::fs::read(&path).unwrap())
        };
        assert_eq!(window(1), 512 << 10);
        assert_eq!(window(DEFAULT_ZSTD_LEVEL), 512 << 10);
        assert!(
            window(19) > 512 << 10,
            "higher levels keep their own window"
        );
    }

    #[test]
    fn the_extension_names_the_compression() {
        assert_eq!(Compression::of("a.csv.gz", 3), (Compression::Gzip, "a.csv"));
        assert_eq!(
            Compression::of("a.NDJSON.ZST", 5),
            (Compression::Zstd(5), "a.NDJSON")
        );
        assert_eq!(Compression::of("a.csv", 3), (Compression::Plain, "a.csv"));
    }
}
