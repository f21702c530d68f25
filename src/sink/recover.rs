//! `foxtrot recover FILE.partial`: turns what a crash left into a complete file.
//!
//! A `.partial` is a file foxtrot was still writing when it was killed (`kill -9`, a power
//! cut, a second Ctrl-C). Its complete lines are valid; a compressed one lacks its gzip
//! trailer or zstd frame end and may end inside a block. Recovery decodes as far as the
//! bytes allow, keeps everything up to the last complete line, and writes it as `FILE`
//! (compressed the same way, properly finished), then removes the `.partial`.
//!
//! Recovery finishes a file or changes nothing. It refuses, keeping the `.partial` as it is
//! and writing nothing: a Parquet `.partial` (it has no footer, and the rows cannot be read
//! back without one), compressed data that is corrupt rather than cut short, and decoded
//! lines that are not what foxtrot writes (another program's file, or damage).
//!
//! A `.partial` of weeks (`--rotate 1d` left running) can hold gigabytes, so nothing is
//! read whole: a first pass decodes and checks everything, counting the bytes up to the last
//! complete line (and their CRC); only then does a second pass decode again and write exactly
//! those bytes to `FILE.recovering`, which is renamed to `FILE` once finished and durable.
//! Memory stays a few MiB whatever the size: 64 KiB buffers, the decoder's window (512 KiB
//! for what foxtrot writes at zstd's default level; 2 MiB for files of older versions) and
//! the zstd encoder.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::compress::{Compression, DEFAULT_ZSTD_LEVEL, Writer};
use super::files::PARTIAL;

mod lines;

use lines::Lines;

/// Why a file cannot be recovered. Every case but [`RecoverError::Io`] leaves the `.partial`
/// untouched and writes nothing.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// The name does not end in `.partial`.
    #[error("{0} is not a .partial file: only files foxtrot left unfinished can be recovered")]
    NotPartial(PathBuf),
    /// The finished name is taken.
    #[error("{0} already exists: move it away, then run recover again")]
    Exists(PathBuf),
    /// A Parquet file cut before its footer: no reader can open it, nothing rebuilds it.
    #[error(
        "cannot recover {0}: a Parquet file cut by a crash has no footer, so its rows cannot be read back; kept it unchanged (if the run also recorded --raw, `foxtrot convert` that capture into a new Parquet file)"
    )]
    Parquet(PathBuf),
    /// Compressed data that does not decode: corrupt, not merely cut short.
    #[error("cannot recover {path}: its {codec} data is corrupt {}", corrupt_detail(path, codec, *lines, cause))]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// `gzip` or `zstd`.
        codec: &'static str,
        /// Complete lines decoded before the corruption.
        lines: u64,
        /// The decoder's complaint.
        cause: String,
    },
    /// A decoded line foxtrot would not have written.
    #[error(
        "cannot recover {path}: line {line} is not {expected}, so this is not a file foxtrot wrote (or it is damaged); kept it unchanged"
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// The first such line, from 1.
        line: u64,
        /// What the line should have been.
        expected: &'static str,
    },
    /// Reading or writing failed.
    #[error("cannot recover {path} ({source})")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// The rest of [`RecoverError::Corrupt`]'s line: where, why, and what to do instead.
fn corrupt_detail(path: &Path, codec: &str, lines: u64, cause: &str) -> String {
    if lines == 0 {
        return format!(
            "from the start ({cause}): not a file foxtrot wrote, or damaged; kept it unchanged"
        );
    }
    format!(
        "after {lines} complete lines ({cause}); kept it unchanged (`{codec} -dc {} | head -n {lines}` gives those lines)",
        path.display()
    )
}

/// What a recovery kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The finished file written.
    pub path: PathBuf,
    /// Complete lines kept.
    pub lines: u64,
    /// Bytes of an incomplete last line that were dropped.
    pub dropped: u64,
}

/// Recovers `partial` into the name without `.partial`.
pub fn recover(partial: &Path) -> Result<Recovered, RecoverError> {
    let text = partial.to_string_lossy();
    let done = text
        .strip_suffix(PARTIAL)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| RecoverError::NotPartial(partial.to_owned()))?;
    let (compression, uncompressed) = Compression::of(done, DEFAULT_ZSTD_LEVEL);
    let uncompressed = uncompressed.to_ascii_lowercase();
    if uncompressed.ends_with(".parquet") {
        return Err(RecoverError::Parquet(partial.to_owned()));
    }
    let is_csv = uncompressed.ends_with(".csv");
    let done = PathBuf::from(done);
    if done.exists() {
        return Err(RecoverError::Exists(done));
    }
    let kept = scan(partial, compression, is_csv)?;
    write(partial, compression, &kept, &done)?;
    std::fs::remove_file(partial).map_err(io_err(partial))?;
    Ok(Recovered {
        path: done,
        lines: kept.lines,
        dropped: kept.dropped,
    })
}

/// `RecoverError::Io` on `path`.
fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RecoverError {
    let path = path.to_owned();
    move |source| RecoverError::Io { path, source }
}

/// What the first pass found worth keeping: the decoded bytes up to the last complete line.
#[derive(Debug)]
struct Kept {
    /// How many bytes.
    bytes: u64,
    /// Their CRC-32, which the second pass must find again.
    crc: u32,
    /// The complete lines they hold.
    lines: u64,
    /// Bytes of an incomplete last line after them.
    dropped: u64,
}

/// The first pass: decodes all of `partial` and checks its lines, writing nothing.
fn scan(partial: &Path, compression: Compression, is_csv: bool) -> Result<Kept, RecoverError> {
    let mut lines = Lines::new(is_csv);
    let mut decoded = 0u64;
    let mut crc = crc32fast::Hasher::new();
    let mut kept = (0, crc.clone().finalize());
    let result = decode(partial, compression, Feed::Whole, |chunk| {
        lines.push(chunk);
        decoded += chunk.len() as u64;
        match chunk.iter().rposition(|&b| b == b'\n') {
            Some(end) => {
                crc.update(&chunk[..=end]);
                kept = (
                    decoded - (chunk.len() - end - 1) as u64,
                    crc.clone().finalize(),
                );
                crc.update(&chunk[end + 1..]);
            }
            None => crc.update(chunk),
        }
        // Compressed data goes on being decoded past a foreign line: corrupt data (which
        // may decode to garbage first) is the reason to give.
        match (lines.foreign(), compression) {
            (Some(_), Compression::Plain) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    });
    match result {
        Ok(()) => {}
        Err(Failure::Io(e)) => return Err(io_err(partial)(e)),
        Err(Failure::Corrupt { codec, cause }) => {
            return Err(RecoverError::Corrupt {
                path: partial.to_owned(),
                codec,
                lines: lines_before_corruption(partial, compression),
                cause: cause.to_string(),
            });
        }
    }
    if let Some((line, expected)) = lines.foreign() {
        return Err(RecoverError::Foreign {
            path: partial.to_owned(),
            line,
            expected,
        });
    }
    Ok(Kept {
        bytes: kept.0,
        crc: kept.1,
        lines: lines.complete(),
        dropped: decoded - kept.0,
    })
}

/// How many complete lines decode before the corruption in `partial`. A decoder's failing
/// read returns nothing it decoded: this decodes again, fed a few bytes at a time, to tell
/// how far the data is good (slowly, but only on the way to a refusal).
fn lines_before_corruption(partial: &Path, compression: Compression) -> u64 {
    let mut lines = 0;
    let _ = decode(partial, compression, Feed::Fine, |chunk| {
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        ControlFlow::Continue(())
    });
    lines
}

/// The second pass: decodes `partial` again and writes exactly the bytes the first pass
/// kept to `DONE.recovering`, finishes, syncs and renames it to `done`. On any failure
/// nothing is left but the `.partial`.
fn write(
    partial: &Path,
    compression: Compression,
    kept: &Kept,
    done: &Path,
) -> Result<(), RecoverError> {
    let mut tmp = done.as_os_str().to_owned();
    tmp.push(".recovering");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut writer = Writer::create(&tmp, compression).map_err(io_err(&tmp))?;
        let mut written = 0u64;
        let mut crc = crc32fast::Hasher::new();
        let mut failed = None;
        let decoded = match kept.bytes {
            0 => Ok(()),
            _ => decode(partial, compression, Feed::Whole, |chunk| {
                let n = (kept.bytes - written).min(chunk.len() as u64) as usize;
                // Pieces need not end on a line: the file is removed if anything fails.
                if let Err(e) = writer.write_lines(&chunk[..n]) {
                    failed = Some(e);
                    return ControlFlow::Break(());
                }
                crc.update(&chunk[..n]);
                written += n as u64;
                if written == kept.bytes {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            }),
        };
        if let Some(e) = failed {
            return Err(io_err(&tmp)(e));
        }
        if let Err(Failure::Io(e)) = decoded {
            return Err(io_err(partial)(e));
        }
        if written != kept.bytes || crc.finalize() != kept.crc {
            return Err(io_err(partial)(io::Error::other(
                "it changed while being recovered: run recover again once nothing writes to it",
            )));
        }
        let file = writer.finish().map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        finish_name(&tmp, done)
    })();
    if let Err(e) = written {
        // Nothing half-written is left behind; the `.partial` is still there.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable once the directory is (before the `.partial` goes); some file
    // systems refuse this.
    let dir = match done.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

/// Gives the finished `tmp` its name `done`, never replacing a `done` that appeared while
/// recovering (a link cannot replace; where a file system has no links, a rename after a
/// last look).
fn finish_name(tmp: &Path, done: &Path) -> Result<(), RecoverError> {
    match std::fs::hard_link(tmp, done) {
        Ok(()) => std::fs::remove_file(tmp).map_err(io_err(tmp)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(RecoverError::Exists(done.to_owned()))
        }
        Err(_) if done.exists() => Err(RecoverError::Exists(done.to_owned())),
        Err(_) => std::fs::rename(tmp, done).map_err(io_err(done)),
    }
}

/// How the decoder is fed.
#[derive(Clone, Copy)]
enum Feed {
    /// 64 KiB at a time, read out 64 KiB at a time.
    Whole,
    /// A few bytes at a time, so a failing read loses only those.
    Fine,
}

/// Why decoding stopped early.
enum Failure {
    /// Reading the file failed.
    Io(io::Error),
    /// The data is corrupt, not merely cut short.
    Corrupt {
        /// `gzip` or `zstd`.
        codec: &'static str,
        /// The decoder's complaint.
        cause: io::Error,
    },
}

/// Decodes `path` as `compression`, handing each decoded chunk to `each` until it breaks
/// or the data ends. A stream that merely ends early (what a crash leaves: no trailer, a
/// block cut short) ends there without error.
fn decode(
    path: &Path,
    compression: Compression,
    feed: Feed,
    mut each: impl FnMut(&[u8]) -> ControlFlow<()>,
) -> Result<(), Failure> {
    let (input, output) = match feed {
        Feed::Whole => (1 << 16, 1 << 16),
        Feed::Fine => (64, 256),
    };
    let read_failed = Cell::new(false);
    let source = Source {
        file: File::open(path).map_err(Failure::Io)?,
        failed: &read_failed,
    };
    // Fine feeding takes its few bytes from memory, not one system call each.
    let input = BufReader::with_capacity(input, BufReader::with_capacity(1 << 16, source));
    let (mut reader, codec): (Box<dyn Read + '_>, _) = match compression {
        Compression::Plain => (Box::new(input), "plain"),
        Compression::Gzip => (
            Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            "gzip",
        ),
        Compression::Zstd(_) => (
            Box::new(zstd::stream::read::Decoder::with_buffer(input).map_err(Failure::Io)?),
            "zstd",
        ),
    };
    let mut buf = vec![0; output];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                if each(&buf[..n]).is_break() {
                    return Ok(());
                }
            }
            Err(e) if read_failed.get() => return Err(Failure::Io(e)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(cause) => return Err(Failure::Corrupt { codec, cause }),
        }
    }
}

/// The file under the decoder, noting whether reading it failed (the decoder passes the
/// error on, and it must not be taken for corrupt data).
struct Source<'a> {
    file: File,
    failed: &'a Cell<bool>,
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf).inspect_err(|e| {
            if e.kind() != io::ErrorKind::Interrupted {
                self.failed.set(true);
            }
        })
    }
}

/// `foxtrot recover FILE...`: recovers each, one line per file on stderr; returns the exit
/// code (1 if any failed).
pub fn run(files: &[PathBuf]) -> i32 {
    let mut code = 0;
    for file in files {
        match recover(file) {
            Ok(r) => eprintln!(
                "foxtrot: recovered {}: {} complete lines{}",
                r.path.display(),
                r.lines,
                if r.dropped > 0 {
                    format!(", {} bytes of an incomplete last line dropped", r.dropped)
                } else {
                    String::new()
                }
            ),
            Err(e) => {
                eprintln!("foxtrot: {e}");
                code = 1;
            }
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tick::COMMON_FIELDS;
    use std::io::Write;

    #[test]
    fn an_unfinished_gzip_stream_keeps_its_complete_lines() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("a.ndjson.gz.partial");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"{\"a\":1}\n{\"a\":2}\n{\"a\"").unwrap();
        enc.flush().unwrap();
        // No trailer: what a kill -9 leaves.
        std::fs::write(&partial, enc.get_ref()).unwrap();
        let got = recover(&partial).unwrap();
        assert_eq!(got.lines, 2);
        assert_eq!(got.dropped, 4);
        assert!(!partial.exists());
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(dir.path().join("a.ndjson.gz")).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"a\":2}\n");
    }

    #[test]
    fn a_plain_partial_is_cut_at_its_last_line_and_names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("a.csv.partial");
        let header = format!("{},price\n", COMMON_FIELDS.join(","));
        std::fs::write(&partial, format!("{header}1\n2")).unwrap();
        assert_eq!(recover(&partial).unwrap().lines, 2);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.csv")).unwrap(),
            format!("{header}1\n")
        );
        std::fs::write(&partial, "h\n").unwrap();
        assert!(matches!(recover(&partial), Err(RecoverError::Exists(_))));
        assert!(matches!(
            recover(&dir.path().join("a.csv")),
            Err(RecoverError::NotPartial(_))
        ));
    }

    /// A file given the finished name while recovery ran is not replaced.
    #[test]
    fn the_finished_name_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, done) = (
            dir.path().join("a.csv.recovering"),
            dir.path().join("a.csv"),
        );
        std::fs::write(&tmp, "recovered\n").unwrap();
        std::fs::write(&done, "someone else's\n").unwrap();
        assert!(matches!(
            finish_name(&tmp, &done),
            Err(RecoverError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&done).unwrap(), "someone else's\n");
        std::fs::remove_file(&done).unwrap();
        finish_name(&tmp, &done).unwrap();
        assert_eq!(std::fs::read_to_string(&done).unwrap(), "recovered\n");
        assert!(!tmp.exists());
    }

    /// `lines` NDJSON lines written by foxtrot's own writer as `compression`, flushed to a
    /// block boundary every ten lines (as the sink does once a second), not finished: the
    /// bytes a `kill -9` leaves.
    fn unfinished(dir: &Path, compression: Compression, lines: usize) -> Vec<u8> {
        let path = dir.join("stream");
        let mut writer = Writer::create(&path, compression).unwrap();
        for i in 0..lines {
            writer
                .write_lines(format!("{{\"seq\":{i},\"price\":\"61837.63000000\"}}\n").as_bytes())
                .unwrap();
            if i % 10 == 9 {
                writer.settle(true).unwrap();
            }
        }
        writer.settle(true).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        drop(writer);
        std::fs::remove_file(&path).unwrap();
        bytes
    }

    /// The normal crash case: wherever a compressed stream is cut, recovery succeeds and
    /// keeps a run of whole lines from the start.
    #[test]
    fn a_compressed_stream_cut_anywhere_is_recovered() {
        for (compression, ext) in [
            (Compression::Gzip, "gz"),
            (Compression::Zstd(DEFAULT_ZSTD_LEVEL), "zst"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let bytes = unfinished(dir.path(), compression, 60);
            let partial = dir.path().join(format!("t.ndjson.{ext}.partial"));
            let done = dir.path().join(format!("t.ndjson.{ext}"));
            let step = (bytes.len() / 97).max(1);
            for cut in (0..=bytes.len()).step_by(step).chain([bytes.len()]) {
                std::fs::write(&partial, &bytes[..cut]).unwrap();
                let got = recover(&partial)
                    .unwrap_or_else(|e| panic!("{ext} cut at {cut} of {}: {e}", bytes.len()));
                let text = std::io::read_to_string(super::super::compress::reader(&done).unwrap())
                    .unwrap();
                assert_eq!(text.lines().count() as u64, got.lines, "{ext} cut at {cut}");
                for (i, line) in text.lines().enumerate() {
                    assert!(
                        line.starts_with(&format!("{{\"seq\":{i},")),
                        "{ext}: {line}"
                    );
                }
                if cut == bytes.len() {
                    assert_eq!(got.lines, 60, "{ext}: the whole stream");
                }
                std::fs::remove_file(&done).unwrap();
            }
        }
    }

    /// What recovery must not finish: each case is refused with its reason, the `.partial`
    /// keeps its bytes and nothing else is left in the directory.
    #[test]
    fn undecodable_foreign_and_parquet_partials_are_kept_untouched() {
        let scratch = tempfile::tempdir().unwrap();
        let gzip = unfinished(scratch.path(), Compression::Gzip, 60);
        let zstd = unfinished(scratch.path(), Compression::Zstd(DEFAULT_ZSTD_LEVEL), 60);
        // Damage past the first block: the start decodes, then the data is corrupt.
        let mut gzip_damaged = gzip.clone();
        let at = gzip.len() * 2 / 3;
        gzip_damaged[at..at + 16].fill(0xff);
        let mut zstd_damaged = zstd.clone();
        let at = zstd.len() * 2 / 3;
        zstd_damaged[at..at + 16].fill(0xff);
        let garbage: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let ndjson = b"{\"a\":1}\n{\"a\":2}\n".to_vec();
        type Check = fn(&RecoverError) -> bool;
        let cases: [(&str, Vec<u8>, Check); 10] = [
            ("a.ndjson.gz.partial", garbage.clone(), |e| {
                matches!(
                    e,
                    RecoverError::Corrupt {
                        lines: 0,
                        codec: "gzip",
                        ..
                    }
                )
            }),
            ("a.ndjson.zst.partial", garbage.clone(), |e| {
                matches!(
                    e,
                    RecoverError::Corrupt {
                        lines: 0,
                        codec: "zstd",
                        ..
                    }
                )
            }),
            ("a.ndjson.gz.partial", gzip_damaged, |e| {
                matches!(e, RecoverError::Corrupt { lines: 1.., .. })
            }),
            ("a.ndjson.zst.partial", zstd_damaged, |e| {
                matches!(e, RecoverError::Corrupt { lines: 1.., .. })
            }),
            ("a.ndjson.partial", garbage.clone(), |e| {
                matches!(e, RecoverError::Foreign { line: 1, .. })
            }),
            ("a.csv.partial", garbage.clone(), |e| {
                matches!(e, RecoverError::Foreign { line: 1, .. })
            }),
            ("a.csv.partial", b"name,price\nx,1\n".to_vec(), |e| {
                matches!(e, RecoverError::Foreign { line: 1, .. })
            }),
            (
                "a.jsonl.partial",
                [&ndjson[..], b"plain text\n"].concat(),
                |e| matches!(e, RecoverError::Foreign { line: 3, .. }),
            ),
            (
                "a.parquet.partial",
                [&b"PAR1"[..], &garbage].concat(),
                |e| matches!(e, RecoverError::Parquet(_)),
            ),
            ("a.PARQUET.partial", Vec::new(), |e| {
                matches!(e, RecoverError::Parquet(_))
            }),
        ];
        for (name, bytes, check) in cases {
            let dir = tempfile::tempdir().unwrap();
            let partial = dir.path().join(name);
            std::fs::write(&partial, &bytes).unwrap();
            let got = recover(&partial);
            assert!(got.as_ref().err().is_some_and(check), "{name}: {got:?}");
            assert_eq!(
                std::fs::read(&partial).unwrap(),
                bytes,
                "{name} kept as it was"
            );
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .collect();
            assert_eq!(
                left,
                [std::ffi::OsString::from(name)],
                "{name}: nothing written"
            );
            let line = got.unwrap_err().to_string();
            assert!(
                line.contains(name) && line.contains("kept it unchanged"),
                "{line}"
            );
            assert!(!line.contains('\n'), "{line}");
        }
    }

    /// The second pass writes exactly what the first one checked: a `.partial` that changed
    /// in between (shorter, or other bytes) is not finished, and nothing is left of the try.
    #[test]
    fn a_partial_changed_between_the_passes_is_not_finished() {
        for (compression, name) in [
            (Compression::Plain, "a.ndjson.partial"),
            (
                Compression::Zstd(DEFAULT_ZSTD_LEVEL),
                "a.ndjson.zst.partial",
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let partial = dir.path().join(name);
            let done = dir.path().join(name.trim_end_matches(PARTIAL));
            let encode = |text: &[u8]| match compression {
                Compression::Plain => text.to_vec(),
                _ => zstd::encode_all(text, 3).unwrap(),
            };
            std::fs::write(&partial, encode(b"{\"a\":1}\n{\"a\":2}\n")).unwrap();
            let kept = scan(&partial, compression, false).unwrap();
            assert_eq!((kept.bytes, kept.lines), (16, 2));
            for changed in [&b"{\"a\":1}\n{\"b\":2}\n"[..], b"{\"a\":1}\n"] {
                std::fs::write(&partial, encode(changed)).unwrap();
                let got = write(&partial, compression, &kept, &done);
                let line = got.unwrap_err().to_string();
                assert!(line.contains("changed while being recovered"), "{line}");
                let left: Vec<_> = std::fs::read_dir(dir.path())
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                assert_eq!(
                    left,
                    std::slice::from_ref(&partial),
                    "{name}: nothing written"
                );
            }
        }
    }

    /// A raw capture may carry any name, `.csv` too; its lines are JSON objects.
    #[test]
    fn a_raw_capture_named_csv_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("raw.csv.partial");
        std::fs::write(&partial, "{\"recv_ns\":1,\"event\":\"connect\"}\n{\"recv").unwrap();
        assert_eq!(recover(&partial).unwrap().lines, 1);
        let header = format!("{},bid\nbinance,BTCUSDT\tx,,,,1\n", COMMON_FIELDS.join(","));
        let partial = dir.path().join("t.csv.partial");
        std::fs::write(&partial, &header).unwrap();
        assert_eq!(recover(&partial).unwrap().lines, 2);
    }
}
