//! The file one slot of a [`super::FileSink`] is writing, in either form: whole lines
//! through the file's compression ([`Writer`]), or a Parquet file; and where it goes when
//! finished. Opening, rotating and renaming are the sink's.

use std::io;
use std::path::PathBuf;

use super::super::Encode;
use super::super::compress::Writer;

/// How rows become a file's bytes.
pub enum Form {
    /// Whole lines of a line format, through the file's compression.
    Lines(Box<dyn Encode>),
    /// Parquet files written as the spec says.
    #[cfg(feature = "parquet")]
    Parquet(super::super::parquet::ParquetSpec),
}

/// A file being written, in either form.
pub(super) enum Out {
    Lines(Writer),
    #[cfg(feature = "parquet")]
    Parquet(Box<super::super::parquet::ParquetFile>),
}

impl Out {
    pub(super) fn settle(&mut self, now: bool) -> io::Result<()> {
        match self {
            Out::Lines(w) => w.settle(now),
            #[cfg(feature = "parquet")]
            Out::Parquet(p) => p.settle(now),
        }
    }

    pub(super) fn bytes_on_disk(&self) -> u64 {
        match self {
            Out::Lines(w) => w.bytes_on_disk(),
            #[cfg(feature = "parquet")]
            Out::Parquet(p) => p.bytes_on_disk(),
        }
    }

    /// Syncs what is on disk (a Parquet file's finished row groups).
    pub(super) fn sync(&mut self) -> io::Result<()> {
        match self {
            Out::Lines(w) => w.sync(),
            #[cfg(feature = "parquet")]
            Out::Parquet(_) => Ok(()),
        }
    }

    pub(super) fn finish(self) -> io::Result<std::fs::File> {
        match self {
            Out::Lines(w) => w.finish(),
            #[cfg(feature = "parquet")]
            Out::Parquet(p) => p.finish(),
        }
    }
}

/// The file being written for one slot.
pub(super) struct Segment {
    pub(super) writer: Out,
    /// The name it gets when finished.
    pub(super) done: PathBuf,
    /// The CSV gap side file (`NAME.gaps.csv`), opened at the first gap.
    pub(super) gaps: Option<std::fs::File>,
}
