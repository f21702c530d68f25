//! Why the typed options or the config file cannot make a run: one line each, naming
//! what is wrong and what to do (exit 2). Shared by the file reader and the merge, so
//! neither imports the other's errors.

use std::path::PathBuf;

use crate::exchange::Venue;
use crate::tick::{Channel, SymbolError};

/// Why the typed options cannot make a run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A symbol is not 1–20 letters or digits.
    #[error(transparent)]
    Symbol(#[from] SymbolError),
    /// A channel the venue does not have.
    #[error("{venue} has no channel {channel}: its channels are {}", channel_names(*venue))]
    Channel {
        /// The venue.
        venue: Venue,
        /// The channel asked for.
        channel: Channel,
    },
    /// The endpoint is not a ws:// or wss:// URL.
    #[error(
        "invalid --endpoint {0:?}: expected a ws:// or wss:// URL such as wss://stream.binance.com:9443"
    )]
    Endpoint(String),
    /// The output file's extension names no format.
    #[error(
        "cannot tell the format of --out {0:?}: use a .csv, .ndjson or .jsonl extension (and .gz or .zst to compress), .parquet (compressed inside: no .gz or .zst), - for stdout, or a kafka:// or nats:// URL"
    )]
    OutExtension(PathBuf),
    /// The `--out` template names an unknown placeholder or is malformed.
    #[error(transparent)]
    OutTemplate(#[from] crate::sink::template::TemplateError),
    /// A zero `--stats-interval`.
    #[error("--stats-interval must be above zero, such as 1s or 500ms")]
    ZeroInterval,
    /// A zero duration where zero makes no sense (`--duration 0s` would stop before the
    /// first connection and still write what raced in).
    #[error("{0} must be above zero, such as 30s or 1h")]
    ZeroDuration(&'static str),
    /// `--on-full drop-newest` with a `depth` stream: a dropped row would break the book.
    #[error(
        "--on-full drop-newest cannot be used with the depth channel: a dropped depth row leaves a file that no longer rebuilds the book; use --on-full block"
    )]
    DepthDropNewest,
    /// The table needs a terminal.
    #[error("--format table needs a terminal on stdout: use --format ndjson or csv when piping")]
    TableNeedsTerminal,
    /// The config file cannot be read.
    #[error("cannot read config file {path} ({source})")]
    FileRead {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The config file is not valid: an unknown key, a bad value, bad TOML.
    #[error("{}:{line}:{column}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the key or value.
        message: String,
    },
    /// Neither the command line nor the config file names a symbol.
    #[error("no streams: give SYMBOL... or [[streams]] in the --config file")]
    NoStreams,
    /// `record` without `--out` and without `[output] path` in the config file.
    #[error("record needs --out PATH, or path in the [output] section of the --config file")]
    NoOut,
    /// An order-book option that cannot work as typed.
    #[error("{0}")]
    Book(String),
    /// A `kafka://` or `nats://` output that names no usable broker, topic or subject.
    #[error(transparent)]
    BrokerUrl(#[from] crate::sink::broker::UrlError),
    /// A broker output among other outputs.
    #[error("a kafka:// or nats:// --out must be the only output: run a second foxtrot for files")]
    BrokerNotAlone,
    /// Two outputs (`--out`, `--raw`, `--stats-file`) name the same file or template.
    #[error("{0}")]
    SamePath(String),
    /// `--raw -`: a capture is a file.
    #[error(
        "--raw cannot go to stdout (-): a raw capture is a file of JSON lines, such as raw.jsonl or raw-{{date}}.jsonl.zst"
    )]
    RawStdout,
    /// `--raw` names something other than JSON lines (`r.csv`, `r.parquet`).
    #[error(
        "--raw {0:?}: a raw capture is JSON lines: give it a .jsonl or .ndjson name (and .gz or .zst to compress), such as raw.jsonl.zst"
    )]
    RawExtension(PathBuf),
    /// `--raw` is a template naming what a capture cannot be filed by, or malformed.
    #[error("{0}")]
    RawTemplate(String),
    /// `--append` where files cannot be appended to (Parquet, a compressed file).
    #[error("{0}")]
    CannotAppend(String),
    /// `--rotate` with no file to rotate (`--out -`, a broker).
    #[error("--rotate applies to files, and --out {0} is not one: drop --rotate, or --out a file")]
    NothingToRotate(String),
    /// `--nats-create-stream` with a subject template of placeholders only: the stream
    /// would take every subject of that shape on the server.
    #[error(
        "--nats-create-stream over subject {subject:?} would create a stream over {filter:?}, which takes every such subject on the server: start the subject with a fixed token, such as md.{subject}"
    )]
    NatsStreamTooWide {
        /// The subject template.
        subject: String,
        /// The stream's subject filter it makes.
        filter: String,
    },
    /// `--shard I/N` leaves this instance nothing to record.
    #[error("shard {shard} holds none of the {total} streams: use fewer shards, or add streams")]
    EmptyShard {
        /// The shard.
        shard: crate::shard::Shard,
        /// Streams before the split.
        total: usize,
    },
}

/// The channels of `venue`, comma-separated, for error messages.
fn channel_names(venue: Venue) -> String {
    let names: Vec<&str> = venue
        .exchange()
        .channels()
        .iter()
        .map(|c| c.as_str())
        .collect();
    names.join(", ")
}

/// Whether `endpoint` is a ws:// or wss:// URL with something after the scheme.
pub fn valid_endpoint(endpoint: &str) -> bool {
    ["ws://", "wss://"].iter().any(|s| {
        endpoint.len() > s.len()
            && endpoint.is_char_boundary(s.len())
            && endpoint[..s.len()].eq_ignore_ascii_case(s)
    })
}
