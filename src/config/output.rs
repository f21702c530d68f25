//! Where a run's ticks go: standard output, a file (its format from the extension, what to
//! do when it exists), a broker with the file's `[output.kafka]` settings and the NATS
//! flags, or nowhere. Opening the file or the broker happens in `sink`, not here.

use std::path::{Path, PathBuf};

use super::ConfigError;
use super::file::{ConfigFile, ExistingChoice};
use crate::cli::{Format, RecordArgs};

/// Where ticks go and in which format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output.
    Stdout(Format),
    /// Nowhere: `record --raw` without `--out` keeps only the raw capture.
    Discard,
    /// A file.
    File {
        /// The path as given.
        path: PathBuf,
        /// CSV or NDJSON (never table).
        format: Format,
        /// What to do when the file exists.
        existing: Existing,
    },
    /// A Kafka topic or NATS JetStream subjects (`record --out kafka://...`, `nats://...`).
    Broker(crate::sink::broker::Broker),
}

/// What to do with an output file that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse to touch it.
    Refuse,
    /// Add to its end.
    Append,
    /// Truncate it.
    Overwrite,
}

impl From<ExistingChoice> for Existing {
    fn from(choice: ExistingChoice) -> Existing {
        match choice {
            ExistingChoice::Refuse => Existing::Refuse,
            ExistingChoice::Append => Existing::Append,
            ExistingChoice::Overwrite => Existing::Overwrite,
        }
    }
}

/// A broker output with the config file's `[output.kafka]` settings and the NATS flags.
pub(super) fn broker_output(
    broker: crate::sink::broker::Broker,
    file: &ConfigFile,
    args: &RecordArgs,
) -> Result<crate::sink::broker::Broker, crate::sink::broker::UrlError> {
    use crate::sink::broker::{Broker, UrlError};
    Ok(match broker {
        Broker::Kafka(mut kafka) => {
            kafka.settings = file
                .output
                .kafka
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect();
            crate::sink::kafka::check_settings(&kafka.settings).map_err(UrlError::KafkaSetting)?;
            Broker::Kafka(kafka)
        }
        Broker::Nats(mut nats) => {
            nats.create_stream = args.nats_create_stream;
            Broker::Nats(nats)
        }
    })
}

/// The format an output path names by its extension (before any compression suffix).
pub(super) fn format_of(path: &Path) -> Result<Format, ConfigError> {
    // A compression suffix (.gz, .zst) follows the format's extension.
    let text = path.to_string_lossy();
    crate::sink::template::Template::parse(&text)?;
    let compressed = crate::sink::compress::Compression::of(&text, 0).1.len() < text.len();
    match extension(&text).as_deref() {
        Some("csv") => Ok(Format::Csv),
        Some("ndjson" | "jsonl") => Ok(Format::Ndjson),
        Some("parquet") if cfg!(feature = "parquet") && !compressed => Ok(Format::Parquet),
        _ => Err(ConfigError::OutExtension(path.to_owned())),
    }
}

/// The extension of a file name before any compression suffix (`.gz`, `.zst`), lowercase.
pub(super) fn extension(text: &str) -> Option<String> {
    let (_, uncompressed) = crate::sink::compress::Compression::of(text, 0);
    Path::new(uncompressed)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}
