//! The validated plan of a run, made from what was typed before anything connects.
//!
//! Every refusal here is a usage error (exit 2) with one line naming what is wrong and
//! what to do. Opening the output file happens in `sink`, not here.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{Format, OnFull, RecordArgs, RunArgs, StreamArgs};
use crate::exchange::StreamId;
use crate::tick::{Channel, Symbol, SymbolError};

/// Why the typed options cannot make a run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A symbol is not 1–20 letters or digits.
    #[error(transparent)]
    Symbol(#[from] SymbolError),
    /// The endpoint is not a ws:// or wss:// URL.
    #[error(
        "invalid --endpoint {0:?}: expected a ws:// or wss:// URL such as wss://stream.binance.com:9443"
    )]
    Endpoint(String),
    /// The output file's extension names no format.
    #[error(
        "cannot tell the format of --out {0:?}: use a .csv, .ndjson or .jsonl extension, or - for stdout"
    )]
    OutExtension(PathBuf),
    /// A zero `--stats-interval`.
    #[error("--stats-interval must be above zero, such as 1s or 500ms")]
    ZeroInterval,
    /// The table needs a terminal.
    #[error("--format table needs a terminal on stdout: use --format ndjson or csv when piping")]
    TableNeedsTerminal,
}

/// Where ticks go and in which format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output.
    Stdout(Format),
    /// A file.
    File {
        /// The path as given.
        path: PathBuf,
        /// CSV or NDJSON (never table).
        format: Format,
        /// What to do when the file exists.
        existing: Existing,
    },
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

/// A validated run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Every stream to subscribe to, in the order typed, without duplicates.
    pub streams: Vec<StreamId>,
    /// The channels typed, in order, without duplicates (CSV columns follow them).
    pub channels: Vec<Channel>,
    /// Base WebSocket URL.
    pub endpoint: String,
    /// Where ticks go.
    pub output: Output,
    /// Hard deadline of the staged stop.
    pub shutdown_timeout: Duration,
    /// Channel capacity in ticks.
    pub buffer: usize,
    /// Policy when the channel is full.
    pub on_full: OnFull,
    /// Stop after this many ticks.
    pub limit: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Give up when no connection could be made for this long.
    pub connect_timeout: Duration,
    /// No summary line.
    pub quiet: bool,
    /// Write a stats object this often.
    pub stats_interval: Option<Duration>,
    /// Append stats objects here instead of stderr.
    pub stats_file: Option<PathBuf>,
    /// Serve Prometheus metrics here.
    pub metrics_addr: Option<SocketAddr>,
    /// Show the live status line on stderr.
    pub status_line: bool,
}

/// The `--stats-interval` used when only `--stats-file` is given.
pub const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(10);

impl Config {
    /// The plan of `foxtrot stream`.
    pub fn for_stream(args: &StreamArgs, quiet: bool) -> Result<Config, ConfigError> {
        let tty = std::io::stdout().is_terminal();
        let format = match args.format {
            None if tty => Format::Table,
            None => Format::Ndjson,
            Some(Format::Table) if !tty => return Err(ConfigError::TableNeedsTerminal),
            Some(format) => format,
        };
        Config::new(&args.run, Output::Stdout(format), quiet)
    }

    /// The plan of `foxtrot record`.
    pub fn for_record(args: &RecordArgs, quiet: bool) -> Result<Config, ConfigError> {
        let output = if args.out.as_os_str() == "-" {
            Output::Stdout(Format::Ndjson)
        } else {
            let existing = match (args.append, args.force) {
                (true, _) => Existing::Append,
                (false, true) => Existing::Overwrite,
                (false, false) => Existing::Refuse,
            };
            Output::File {
                format: format_of(&args.out)?,
                path: args.out.clone(),
                existing,
            }
        };
        Config::new(&args.run, output, quiet)
    }

    fn new(run: &RunArgs, output: Output, quiet: bool) -> Result<Config, ConfigError> {
        let endpoint = run.endpoint.trim_end_matches('/').to_owned();
        let valid_scheme = ["ws://", "wss://"]
            .iter()
            .any(|s| endpoint.len() > s.len() && endpoint[..s.len()].eq_ignore_ascii_case(s));
        if !valid_scheme {
            return Err(ConfigError::Endpoint(run.endpoint.clone()));
        }
        let symbols = run
            .symbols
            .iter()
            .map(|s| Symbol::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut channels = Vec::new();
        for &channel in &run.channels {
            if !channels.contains(&channel) {
                channels.push(channel);
            }
        }
        let mut streams: Vec<StreamId> = Vec::new();
        for symbol in &symbols {
            for &channel in &channels {
                let id = StreamId {
                    symbol: symbol.clone(),
                    channel,
                };
                if !streams.contains(&id) {
                    streams.push(id);
                }
            }
        }
        let stats_interval = match (run.stats_interval, &run.stats_file) {
            (None, Some(_)) => Some(DEFAULT_STATS_INTERVAL),
            (interval, _) => interval,
        };
        if stats_interval == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroInterval);
        }
        // Data drawn or printed on the same terminal would scroll the status line away.
        let data_on_terminal = match &output {
            Output::Stdout(_) => std::io::stdout().is_terminal(),
            Output::File { .. } => false,
        };
        let status_line = !quiet && !data_on_terminal && std::io::stderr().is_terminal();
        Ok(Config {
            streams,
            channels,
            endpoint,
            output,
            shutdown_timeout: run.shutdown_timeout,
            buffer: run.buffer as usize,
            on_full: run.on_full,
            limit: run.limit,
            duration: run.duration,
            connect_timeout: run.connect_timeout,
            quiet,
            stats_interval,
            stats_file: run.stats_file.clone(),
            metrics_addr: run.metrics_addr,
            status_line,
        })
    }
}

fn format_of(path: &Path) -> Result<Format, ConfigError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => Ok(Format::Csv),
        Some("ndjson" | "jsonl") => Ok(Format::Ndjson),
        _ => Err(ConfigError::OutExtension(path.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn record(args: &[&str]) -> Result<Config, ConfigError> {
        let cli = Cli::try_parse_from(["foxtrot", "record"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Record(r) => Config::for_record(&r, false),
            _ => unreachable!(),
        }
    }

    #[test]
    fn formats_follow_the_extension() {
        let cases = [
            ("t.csv", Some(Format::Csv)),
            ("t.CSV", Some(Format::Csv)),
            ("t.ndjson", Some(Format::Ndjson)),
            ("t.jsonl", Some(Format::Ndjson)),
            ("t.json", None),
            ("t.parquet", None),
            ("t", None),
        ];
        for (path, want) in cases {
            let got = record(&["BTCUSDT", "--out", path]);
            match (got, want) {
                (Ok(c), Some(f)) => {
                    assert!(matches!(c.output, Output::File { format, .. } if format == f))
                }
                (Err(ConfigError::OutExtension(_)), None) => {}
                (got, want) => panic!("{path}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn streams_are_symbols_times_channels_without_duplicates() {
        let c = record(&[
            "btcusdt",
            "ETHUSDT",
            "BTCUSDT",
            "--channel",
            "trade",
            "--channel",
            "bookTicker",
            "--channel",
            "trade",
            "--out",
            "x.csv",
        ])
        .unwrap();
        let names: Vec<String> = c
            .streams
            .iter()
            .map(|s| format!("{}@{}", s.symbol, s.channel))
            .collect();
        assert_eq!(
            names,
            [
                "BTCUSDT@trade",
                "BTCUSDT@bookTicker",
                "ETHUSDT@trade",
                "ETHUSDT@bookTicker"
            ]
        );
        assert_eq!(c.channels, [Channel::Trade, Channel::BookTicker]);
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            record(&["BTC-USDT", "--out", "x.csv"]),
            Err(ConfigError::Symbol(_))
        ));
        assert!(matches!(
            record(&["BTCUSDT", "--out", "x.csv", "--endpoint", "http://x"]),
            Err(ConfigError::Endpoint(_))
        ));
        let c = record(&["BTCUSDT", "--out", "-"]).unwrap();
        assert_eq!(c.output, Output::Stdout(Format::Ndjson));
    }
}
