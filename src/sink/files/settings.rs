//! The file policies of a run (`--rotate`, `--fsync`, `--zstd-level`, Parquet row groups)
//! and which `--out` needs the set-of-files machinery of [`super::FileSink`] rather than one
//! file written in place. Only settings: nothing here opens a file.

use super::super::compress::{Compression, DEFAULT_ZSTD_LEVEL};
use super::super::rotate::{Fsync, Rotate};
use super::super::template::Template;

/// The file policies of a run (`--rotate`, `--fsync`, `--zstd-level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSettings {
    /// Rotation besides the template's time boundaries.
    pub rotate: Option<Rotate>,
    /// When to `fsync`.
    pub fsync: Fsync,
    /// zstd level of `.zst` outputs.
    pub zstd_level: i32,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// `--parquet-decimal`: DECIMAL columns beside the decimal text in Parquet files.
    pub parquet_decimal: bool,
}

impl Default for FileSettings {
    fn default() -> FileSettings {
        FileSettings {
            rotate: None,
            fsync: Fsync::Rotate,
            zstd_level: DEFAULT_ZSTD_LEVEL,
            row_group_rows: 1_000_000,
            parquet_decimal: false,
        }
    }
}

/// The file policies in words, for the printed plan.
pub fn describe(settings: &FileSettings) -> String {
    let rotate = match settings.rotate {
        None => "rotate at {date}/{hour}".to_owned(),
        Some(Rotate::Every(d)) => format!("rotate every {}", humantime::format_duration(d)),
        Some(Rotate::Size(n)) => format!("rotate at {n} bytes on disk"),
    };
    let fsync = match settings.fsync {
        Fsync::Never => "fsync never".to_owned(),
        Fsync::Rotate => "fsync finished files".to_owned(),
        Fsync::Interval(d) => format!(
            "fsync every {} and finished files",
            humantime::format_duration(d)
        ),
    };
    format!(
        "{rotate}; {fsync}; zstd {}; row groups of {}",
        settings.zstd_level, settings.row_group_rows
    )
}

/// Whether `--out TEXT` with `settings` needs a [`super::FileSink`] (rather than one file written in
/// place): a template, rotation or compression.
pub fn needs_file_sink(text: &str, settings: &FileSettings) -> bool {
    let template = Template::parse(text);
    let (compression, _) = Compression::of(text, settings.zstd_level);
    settings.rotate.is_some()
        || compression != Compression::Plain
        || text.to_ascii_lowercase().ends_with(".parquet")
        || template.is_ok_and(|t| t.is_templated())
}
