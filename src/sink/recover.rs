//! `foxtrot recover FILE.partial`: turns what a crash left into a complete file.
//!
//! A `.partial` is a file foxtrot was still writing when it was killed (`kill -9`, a power
//! cut, a second Ctrl-C). Its complete lines are valid; a compressed one lacks its gzip
//! trailer or zstd frame end and may end inside a block. Recovery decodes as far as the
//! bytes allow, keeps everything up to the last complete line, and writes it as `FILE`
//! (compressed the same way, properly finished), then removes the `.partial`.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::compress::{Compression, DEFAULT_ZSTD_LEVEL, Writer};
use super::files::PARTIAL;

/// Why a file cannot be recovered.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// The name does not end in `.partial`.
    #[error("{0} is not a .partial file: only files foxtrot left unfinished can be recovered")]
    NotPartial(PathBuf),
    /// The finished name is taken.
    #[error("{0} already exists: move it away, then run recover again")]
    Exists(PathBuf),
    /// Reading or writing failed.
    #[error("cannot recover {path} ({source})")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
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
    let done = PathBuf::from(done);
    if done.exists() {
        return Err(RecoverError::Exists(done));
    }
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| RecoverError::Io { path, source }
    };
    let bytes = std::fs::read(partial).map_err(io_err(partial))?;
    let (compression, _) = Compression::of(&done.to_string_lossy(), DEFAULT_ZSTD_LEVEL);
    let mut data = Vec::new();
    // An unfinished stream ends in an error after everything that decodes: keep that.
    let _ = match compression {
        Compression::Plain => {
            data = bytes;
            Ok(0)
        }
        Compression::Gzip => {
            flate2::read::MultiGzDecoder::new(bytes.as_slice()).read_to_end(&mut data)
        }
        Compression::Zstd(_) => zstd::stream::read::Decoder::new(bytes.as_slice())
            .and_then(|mut d| d.read_to_end(&mut data)),
    };
    let keep = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let dropped = (data.len() - keep) as u64;
    data.truncate(keep);
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut tmp = done.as_os_str().to_owned();
    tmp.push(".recovering");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut writer = Writer::create(&tmp, compression).map_err(io_err(&tmp))?;
    writer.write_lines(&data).map_err(io_err(&tmp))?;
    let file = writer.finish().map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &done).map_err(io_err(&done))?;
    std::fs::remove_file(partial).map_err(io_err(partial))?;
    Ok(Recovered {
        path: done,
        lines,
        dropped,
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
        std::fs::write(&partial, "h\n1\n2").unwrap();
        assert_eq!(recover(&partial).unwrap().lines, 2);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.csv")).unwrap(),
            "h\n1\n"
        );
        std::fs::write(&partial, "h\n").unwrap();
        assert!(matches!(recover(&partial), Err(RecoverError::Exists(_))));
        assert!(matches!(
            recover(&dir.path().join("a.csv")),
            Err(RecoverError::NotPartial(_))
        ));
    }
}
