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

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::compress::{Compression, DEFAULT_ZSTD_LEVEL, Writer};
use super::files::PARTIAL;
use crate::tick::COMMON_FIELDS;

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
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| RecoverError::Io { path, source }
    };
    let bytes = std::fs::read(partial).map_err(io_err(partial))?;
    let mut data =
        decode(bytes, compression).map_err(|(data, codec, e)| RecoverError::Corrupt {
            path: partial.to_owned(),
            codec,
            lines: data.iter().filter(|&&b| b == b'\n').count() as u64,
            cause: e.to_string(),
        })?;
    let keep = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let dropped = (data.len() - keep) as u64;
    data.truncate(keep);
    if let Some((line, expected)) = first_foreign(&data, is_csv) {
        return Err(RecoverError::Foreign {
            path: partial.to_owned(),
            line,
            expected,
        });
    }
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut tmp = done.as_os_str().to_owned();
    tmp.push(".recovering");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut writer = Writer::create(&tmp, compression).map_err(io_err(&tmp))?;
        writer.write_lines(&data).map_err(io_err(&tmp))?;
        let file = writer.finish().map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &done).map_err(io_err(&done))
    })();
    if let Err(e) = written {
        // Nothing half-written is left behind; the `.partial` is still there.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::remove_file(partial).map_err(io_err(partial))?;
    Ok(Recovered {
        path: done,
        lines,
        dropped,
    })
}

/// Decodes `bytes` as far as they go. A stream that merely ends early (what a crash leaves:
/// no trailer, a block cut short) is not an error; any other decoding error is, with what
/// decoded before it and the codec's name.
fn decode(
    bytes: Vec<u8>,
    compression: Compression,
) -> Result<Vec<u8>, (Vec<u8>, &'static str, io::Error)> {
    let codec = match compression {
        Compression::Plain => return Ok(bytes),
        Compression::Gzip => "gzip",
        Compression::Zstd(_) => "zstd",
    };
    let mut data = Vec::new();
    match decoder(&bytes, compression, 1 << 16).and_then(|mut d| d.read_to_end(&mut data)) {
        Ok(_) => Ok(data),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(data),
        Err(e) => {
            // The failing read returned nothing it decoded: again, fed a few bytes at a
            // time, to tell how far the data is good.
            let mut data = Vec::new();
            if let Ok(mut d) = decoder(&bytes, compression, 64) {
                let mut buf = [0; 256];
                while let Ok(n @ 1..) = d.read(&mut buf) {
                    data.extend_from_slice(&buf[..n]);
                }
            }
            Err((data, codec, e))
        }
    }
}

/// A reader of `bytes` decompressed as `compression`, fed to the decoder `chunk` bytes at
/// a time.
fn decoder(bytes: &[u8], compression: Compression, chunk: usize) -> io::Result<Box<dyn Read + '_>> {
    let input = io::BufReader::with_capacity(chunk, bytes);
    Ok(match compression {
        Compression::Plain => Box::new(input),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Compression::Zstd(_) => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
    })
}

/// The first of `data`'s complete lines (numbered from 1) that foxtrot would not have
/// written, and what it should have been. foxtrot writes UTF-8 lines without control
/// characters (tabs aside): NDJSON and raw captures one JSON object a line, CSV a header
/// that starts with the common columns, then rows. A `.csv` name whose first line is a JSON
/// object is a raw capture (`--raw` takes any name).
fn first_foreign(data: &[u8], is_csv: bool) -> Option<(u64, &'static str)> {
    const JSON: &str = "a JSON object on one line";
    const CSV_HEADER: &str =
        "foxtrot's CSV header (exchange,symbol,channel,recv_ns,exchange_ns,...)";
    const CSV_ROW: &str = "a CSV row of text";
    let csv = is_csv && !data.starts_with(b"{");
    let text = match std::str::from_utf8(data) {
        Ok(text) => text,
        Err(e) => {
            let line = data[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            let expected = match (csv, line) {
                (false, _) => JSON,
                (true, 0) => CSV_HEADER,
                (true, _) => CSV_ROW,
            };
            return Some((line + 1, expected));
        }
    };
    let header = COMMON_FIELDS.join(",");
    text.split_terminator('\n')
        .zip(1u64..)
        .find_map(|(line, number)| {
            let plain = !line.is_empty() && !line.bytes().any(|b| b < 0x20 && b != b'\t');
            let (fits, expected) = match (csv, number) {
                (false, _) => (line.starts_with('{') && line.ends_with('}'), JSON),
                (true, 1) => (line.starts_with(&header), CSV_HEADER),
                (true, _) => (true, CSV_ROW),
            };
            (!(plain && fits)).then_some((number, expected))
        })
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
