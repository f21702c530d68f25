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

/// The file policies in words, for the printed plan of a run writing the files `names`
/// (its `--out` paths and templates, and its `--raw`): only what applies to them.
pub fn describe(settings: &FileSettings, names: &[&str]) -> String {
    use super::super::template::{DAY_NS, HOUR_NS};
    let periods: Vec<u64> = names
        .iter()
        .filter_map(|name| Template::parse(name).ok()?.period_ns())
        .collect();
    let by_template = match (periods.contains(&HOUR_NS), periods.contains(&DAY_NS)) {
        (false, false) => None,
        (true, false) => Some("at each UTC hour ({hour})"),
        (false, true) => Some("at each UTC midnight ({date})"),
        (true, true) => Some("at each UTC hour ({hour}) or midnight ({date}) by template"),
    };
    let rotate = match (settings.rotate, by_template) {
        (None, None) => "no rotation".to_owned(),
        (None, Some(at)) => format!("rotate {at}"),
        (Some(Rotate::Every(d)), None) => format!("rotate every {}", humantime::format_duration(d)),
        (Some(Rotate::Every(d)), Some(at)) => format!(
            "rotate every {}, and {at} when sooner",
            humantime::format_duration(d)
        ),
        (Some(Rotate::Size(n)), None) => format!("rotate at {n} bytes on disk"),
        (Some(Rotate::Size(n)), Some(at)) => format!("rotate at {n} bytes on disk and {at}"),
    };
    let fsync = match settings.fsync {
        Fsync::Never => "fsync never".to_owned(),
        Fsync::Rotate => "fsync finished files".to_owned(),
        Fsync::Interval(d) => format!(
            "fsync every {} and finished files",
            humantime::format_duration(d)
        ),
    };
    let mut text = format!("{rotate}; {fsync}");
    let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    if lower.iter().any(|n| n.ends_with(".zst")) {
        text.push_str(&format!("; zstd level {}", settings.zstd_level));
    }
    if lower.iter().any(|n| n.ends_with(".parquet")) {
        text.push_str(&format!("; row groups of {} rows", settings.row_group_rows));
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_plan_says_rotation_only_where_files_rotate() {
        let plain = FileSettings::default();
        let cases: [(&[&str], FileSettings, &str); 6] = [
            // Issue: a plain file was said to "rotate at {date}/{hour}".
            (&["t.csv"], plain, "no rotation; fsync finished files"),
            (
                &["t.csv.zst"],
                plain,
                "no rotation; fsync finished files; zstd level 3",
            ),
            (
                &["t-{date}.csv"],
                plain,
                "rotate at each UTC midnight ({date}); ",
            ),
            (
                &["{hour}.csv", "r.jsonl"],
                plain,
                "rotate at each UTC hour ({hour}); ",
            ),
            (
                &["t.parquet"],
                FileSettings {
                    rotate: Some(Rotate::Size(500)),
                    ..plain
                },
                "rotate at 500 bytes on disk; fsync finished files; row groups of 1000000 rows",
            ),
            (
                &["t-{hour}.csv"],
                FileSettings {
                    rotate: Some(Rotate::Every(Duration::from_secs(86_400))),
                    ..plain
                },
                "rotate every 1day, and at each UTC hour ({hour}) when sooner; ",
            ),
        ];
        for (names, settings, want) in cases {
            let text = describe(&settings, names);
            assert!(text.starts_with(want), "{names:?}: {text}");
        }
    }
}
