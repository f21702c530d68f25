//! The validated plan of a run, made from what was typed before anything connects.
//!
//! Values come from the flags, else from the `--config` file, else from the defaults here.
//! Every refusal here is a usage error (exit 2) with one line naming what is wrong and
//! what to do. Opening the output file happens in `sink`, not here. This file merges the
//! sources into a [`Config`]; the output is chosen in `output`, the order-book options in
//! `book`, the file is read in `file`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod book;
mod error;
pub mod file;
mod output;
mod paths;

use book::book_options;
pub use book::{BookOptions, RECORD_BOOK_INTERVAL};
pub use error::{ConfigError, valid_endpoint};
use file::ConfigFile;
pub use output::{Existing, Output};
use output::{broker_output, format_of};
pub(crate) use paths::same_file_key;

use crate::cli::{Format, OnFull, RecordArgs, RunArgs, StreamArgs};
use crate::exchange::{StreamId, Venue};
use crate::tick::{Channel, Symbol};

/// Default of `--endpoint` for the default venue.
pub const DEFAULT_ENDPOINT: &str = "wss://stream.binance.com:9443";

/// The streams of one connection and where it dials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// The venue of every stream here.
    pub venue: Venue,
    /// The WebSocket base URL.
    pub endpoint: String,
    /// The streams, all on one route of the venue.
    pub streams: Vec<StreamId>,
}
/// Default of `--shutdown-timeout`.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of `--buffer`.
pub const DEFAULT_BUFFER: u32 = 65_536;
/// Default of `--buffer` for `record` to a compressed or Parquet file: such an output is
/// slower than a flood, so its channel fills whatever its depth, and a deeper channel holds
/// only memory (8 MiB at 65 536), not throughput (README, "Performance").
pub const COMPRESSED_BUFFER: u32 = 16_384;
/// Default of `--connect-timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A validated run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Every stream to subscribe to, in the order typed, without duplicates.
    pub streams: Vec<StreamId>,
    /// The channels typed, in order, without duplicates (CSV columns follow them).
    pub channels: Vec<Channel>,
    /// Base WebSocket URL of the first group (see `shards` for every connection's).
    pub endpoint: String,
    /// The connections: by venue, endpoint and route, at most `streams_per_connection`
    /// streams each (and at most the venue's limit).
    pub shards: Vec<Shard>,
    /// REST base URL per venue given in the config file (order-book snapshots).
    pub rest_endpoints: Vec<(Venue, String)>,
    /// Order-book options.
    pub book: BookOptions,
    /// Where ticks go.
    pub output: Output,
    /// Further outputs (`--out` given more than once); each gets every row.
    pub more_outputs: Vec<Output>,
    /// Rotation, fsync and compression of output files.
    pub files: crate::sink::files::FileSettings,
    /// `--raw PATH`: the raw capture (frames, requests, connects), if any.
    pub raw: Option<PathBuf>,
    /// Hard deadline of the staged stop.
    pub shutdown_timeout: Duration,
    /// The most a tick waits in the sink before it reaches the OS (`--flush-interval`).
    pub flush_interval: Duration,
    /// Channel capacity in ticks.
    pub buffer: usize,
    /// Policy when the channel is full.
    pub on_full: OnFull,
    /// Stop after this many ticks.
    pub limit: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Streams per connection.
    pub streams_per_connection: usize,
    /// Connection attempts allowed per period, per venue dialed (each venue has a limiter
    /// of its own, shared by its connections), in the order the venues first appear.
    pub connect_limits: Vec<(Venue, (usize, Duration))>,
    /// Connection tunables (timeouts, backoff, ages).
    pub connection: crate::connection::Settings,
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
    /// The `--config` file the plan was read from, if any.
    pub config_file: Option<PathBuf>,
    /// Print the plan and exit instead of running.
    pub dry_run: bool,
    /// `--shard`: this instance's part of the streams, and how many there were before the split.
    pub shard: Option<(crate::shard::Shard, usize)>,
}

/// The `--stats-interval` used when only `--stats-file` is given.
pub const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(10);

impl Config {
    /// The plan of `foxtrot stream`.
    pub fn for_stream(args: &StreamArgs, quiet: bool) -> Result<Config, ConfigError> {
        Config::for_stream_on(args, quiet, std::io::stdout().is_terminal())
    }

    /// The plan of `foxtrot stream` as it would be with stdout a terminal (`tty`) or not.
    pub fn for_stream_on(args: &StreamArgs, quiet: bool, tty: bool) -> Result<Config, ConfigError> {
        let file = load(&args.run)?;
        let format = match args.format.or(file.output.format.map(|f| f.0)) {
            None if tty => Format::Table,
            None => Format::Ndjson,
            Some(Format::Table) if !tty => return Err(ConfigError::TableNeedsTerminal),
            Some(format) => format,
        };
        Config::new(
            &args.run,
            &file,
            Output::Stdout(format),
            quiet,
            STREAM_DEFAULTS,
        )
    }

    /// The plan `foxtrot config check FILE` prints: what `record --config FILE` would run,
    /// or, when the file names no output path, `stream --config FILE` on a terminal.
    pub fn for_file(
        path: &Path,
        shard: Option<crate::shard::Shard>,
    ) -> Result<Config, ConfigError> {
        let file = ConfigFile::load(path)?;
        let run = RunArgs {
            config: Some(path.to_owned()),
            shard,
            ..RunArgs::default()
        };
        if file.output.path.is_some() {
            Config::for_record(
                &RecordArgs {
                    run,
                    ..RecordArgs::default()
                },
                true,
            )
        } else {
            Config::for_stream_on(&StreamArgs { run, format: None }, true, true)
        }
    }

    /// The plan of `foxtrot record`.
    pub fn for_record(args: &RecordArgs, quiet: bool) -> Result<Config, ConfigError> {
        let file = load(&args.run)?;
        let outs = match (args.out.as_slice(), &file.output.path) {
            ([], Some(path)) => vec![path.clone()],
            ([], None) if args.raw.is_some() => Vec::new(),
            ([], None) => return Err(ConfigError::NoOut),
            (typed, _) => typed.to_vec(),
        };
        let mut outputs = outs.into_iter().map(|out| {
            if out.as_os_str() == "-" {
                return Ok(Output::Stdout(Format::Ndjson));
            }
            if let Some(broker) = out.to_str().and_then(crate::sink::broker::Broker::parse) {
                return Ok(Output::Broker(broker_output(broker?, &file, args)?));
            }
            let existing = match (args.append, args.force) {
                (true, _) => Existing::Append,
                (false, true) => Existing::Overwrite,
                (false, false) => file.output.existing.map_or(Existing::Refuse, Into::into),
            };
            Ok(Output::File {
                format: format_of(&out)?,
                path: out,
                existing,
            })
        });
        let output = outputs.next().unwrap_or(Ok(Output::Discard))?;
        let more_outputs = outputs.collect::<Result<Vec<_>, ConfigError>>()?;
        let brokers = std::iter::once(&output)
            .chain(&more_outputs)
            .filter(|o| matches!(o, Output::Broker(_)))
            .count();
        if brokers > 0 && !more_outputs.is_empty() {
            return Err(ConfigError::BrokerNotAlone);
        }
        let mut config = Config::new(&args.run, &file, output, quiet, RECORD_DEFAULTS)?;
        config.more_outputs = more_outputs;
        let in_file = &file.output;
        config.raw = args.raw.clone().or_else(|| in_file.raw.clone());
        let typed = &args.files;
        let defaults = crate::sink::files::FileSettings::default();
        config.files = crate::sink::files::FileSettings {
            rotate: typed.rotate.or(in_file.rotate.map(|r| r.0)),
            fsync: typed
                .fsync
                .or(in_file.fsync.map(|f| f.0))
                .unwrap_or(defaults.fsync),
            zstd_level: typed
                .zstd_level
                .or(in_file.zstd_level.map(|z| z.0))
                .unwrap_or(defaults.zstd_level),
            row_group_rows: typed
                .row_group_rows
                .or(in_file.row_group_rows.map(|n| n.0))
                .map_or(defaults.row_group_rows, |n| n as usize),
            parquet_decimal: typed.parquet_decimal || in_file.parquet_decimal == Some(true),
        };
        let compresses = |output: &Output| match output {
            Output::File { path, format, .. } => {
                let text = path.to_string_lossy();
                *format == Format::Parquet
                    || crate::sink::compress::Compression::of(&text, 0).0
                        != crate::sink::compress::Compression::Plain
            }
            _ => false,
        };
        if args.run.buffer.is_none()
            && file.tuning.buffer.is_none()
            && std::iter::once(&config.output)
                .chain(&config.more_outputs)
                .any(compresses)
        {
            config.buffer = COMPRESSED_BUFFER as usize;
        }
        let append_source = if args.append {
            "--append"
        } else {
            "existing = \"append\" (in the config file)"
        };
        paths::check(&config, append_source, typed.rotate.is_some())?;
        Ok(config)
    }

    /// The plan of `foxtrot convert`: its outputs and file policies, with `channels` (from
    /// the capture) as the CSV columns; no streams to dial.
    pub fn for_convert(
        args: &crate::cli::ConvertArgs,
        channels: Vec<Channel>,
    ) -> Result<Config, ConfigError> {
        let record = RecordArgs {
            run: RunArgs {
                // Stands in for the streams, which come from the capture.
                symbols: vec!["BTCUSDT".to_owned()],
                book_levels: args.book_levels,
                book_interval: args.book_interval,
                ..RunArgs::default()
            },
            out: args.out.clone(),
            force: args.force,
            files: args.files.clone(),
            ..RecordArgs::default()
        };
        let mut config = Config::for_record(&record, true)?;
        config.channels = channels;
        config.streams.clear();
        config.shards.clear();
        Ok(config)
    }

    fn new(
        run: &RunArgs,
        file: &ConfigFile,
        output: Output,
        quiet: bool,
        defaults: CommandDefaults,
    ) -> Result<Config, ConfigError> {
        let typed_venue = run.venue.unwrap_or_default();
        // Endpoints: the flag, else the group's, else the file's (for the default venue's
        // groups, as before venues), else the venue's own.
        let endpoint_of = |venue: Venue, group: Option<&str>| -> Result<String, ConfigError> {
            let file_endpoint = file.endpoint.as_ref().map(|e| e.0.as_str());
            let endpoint = run
                .endpoint
                .as_deref()
                .or(group)
                .or(file_endpoint)
                .unwrap_or(venue.exchange().default_endpoint());
            if !valid_endpoint(endpoint) {
                return Err(ConfigError::Endpoint(endpoint.to_owned()));
            }
            Ok(endpoint.trim_end_matches('/').to_owned())
        };

        // Symbols typed replace the file's streams; channels typed apply to every symbol.
        let mut rest_endpoints = Vec::new();
        let groups: Vec<(Venue, String, Vec<Symbol>, Vec<Channel>)> = if !run.symbols.is_empty() {
            let exchange = typed_venue.exchange();
            let symbols = run
                .symbols
                .iter()
                .map(|s| exchange.parse_symbol(s))
                .collect::<Result<Vec<_>, _>>()?;
            let channels = match run.channels.as_slice() {
                [] => vec![Channel::Ticker],
                typed => typed.to_vec(),
            };
            vec![(
                typed_venue,
                endpoint_of(typed_venue, None)?,
                symbols,
                channels,
            )]
        } else {
            let mut groups = Vec::new();
            for group in &file.streams {
                let venue = group.venue_or(typed_venue);
                let exchange = venue.exchange();
                let symbols = group
                    .symbols
                    .iter()
                    .map(|s| match &s.get_ref().symbol {
                        // Read by the default venue's rules; read again by this one's.
                        Some(symbol) if venue == Venue::default() => Ok(symbol.clone()),
                        _ => exchange.parse_symbol(&s.get_ref().text),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let channels = match run.channels.as_slice() {
                    [] => group.channels.iter().map(|c| c.get_ref().0).collect(),
                    typed => typed.to_vec(),
                };
                let endpoint = endpoint_of(venue, group.endpoint.as_ref().map(|e| e.0.as_str()))?;
                if let Some(rest) = &group.rest_endpoint {
                    rest_endpoints.push((venue, rest.0.clone()));
                }
                groups.push((venue, endpoint, symbols, channels));
            }
            groups
        };
        let mut channels = Vec::new();
        let mut streams: Vec<StreamId> = Vec::new();
        // (venue, endpoint, streams) in first-seen order.
        let mut by_endpoint: Vec<(Venue, String, Vec<StreamId>)> = Vec::new();
        for (venue, endpoint, symbols, group_channels) in &groups {
            for &channel in group_channels {
                if !venue.exchange().has_channel(channel) {
                    return Err(ConfigError::Channel {
                        venue: *venue,
                        channel,
                    });
                }
                if !channels.contains(&channel) {
                    channels.push(channel);
                }
            }
            for symbol in symbols {
                for &channel in group_channels {
                    let id = StreamId::new(*venue, symbol.clone(), channel);
                    if streams.contains(&id) {
                        continue;
                    }
                    streams.push(id.clone());
                    match by_endpoint
                        .iter_mut()
                        .find(|(v, e, _)| v == venue && e == endpoint)
                    {
                        Some((_, _, ids)) => ids.push(id),
                        None => by_endpoint.push((*venue, endpoint.clone(), vec![id])),
                    }
                }
            }
        }
        if streams.is_empty() {
            return Err(ConfigError::NoStreams);
        }
        let shard = run.shard.or(file.shard.map(|s| s.0));
        let total = streams.len();
        if let Some(shard) = shard {
            streams.retain(|id| shard.owns(&crate::shard::key_of(id)));
            for (_, _, ids) in &mut by_endpoint {
                ids.retain(|id| shard.owns(&crate::shard::key_of(id)));
            }
            by_endpoint.retain(|(_, _, ids)| !ids.is_empty());
            if streams.is_empty() {
                return Err(ConfigError::EmptyShard { shard, total });
            }
        }
        let endpoint = by_endpoint[0].1.clone();
        let typed_per_connection = run
            .streams_per_connection
            .or(file.tuning.streams_per_connection.map(|n| n.0))
            .map(|n| n as usize);
        let mut shards = Vec::new();
        for (venue, endpoint, ids) in by_endpoint {
            let limits = venue.exchange().limits();
            let per_connection = typed_per_connection
                .unwrap_or(limits.streams_per_connection)
                .min(limits.max_streams_per_connection);
            for ids in crate::exchange::shard(&ids, per_connection) {
                shards.push(Shard {
                    venue,
                    endpoint: endpoint.clone(),
                    streams: ids,
                });
            }
        }

        let monitoring = &file.monitoring;
        let stats_file = run
            .stats_file
            .clone()
            .or_else(|| monitoring.stats_file.clone());
        let stats_interval = run
            .stats_interval
            .or(monitoring.stats_interval.map(|d| d.0))
            .or(stats_file.as_ref().map(|_| DEFAULT_STATS_INTERVAL));
        if stats_interval == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroInterval);
        }
        // Data drawn or printed on the same terminal would scroll the status line away.
        let data_on_terminal = match &output {
            Output::Stdout(_) => std::io::stdout().is_terminal(),
            Output::File { .. } | Output::Broker(_) | Output::Discard => false,
        };
        let status_line = !quiet && !data_on_terminal && std::io::stderr().is_terminal();
        let tuning = &file.tuning;
        let duration = run.duration.or(file.stop.duration.map(|d| d.0));
        let connection = connection_settings(run, tuning);
        refuse_zero(duration, &connection)?;
        let book = book_options(run, &streams, defaults.book_interval)?;
        let on_full = run
            .on_full
            .or(tuning.on_full.map(|c| c.0))
            .unwrap_or(OnFull::Block);
        // A dropped depth row would leave a file that no longer rebuilds the book, with
        // nothing to say so: refused rather than lost silently.
        if on_full == OnFull::DropNewest && streams.iter().any(|s| s.channel == Channel::Depth) {
            return Err(ConfigError::DepthDropNewest);
        }
        // Each venue dialed gets a limiter of its own (a venue counts the attempts of an IP
        // against itself only): --connect-limit (or [tuning]) sets them all, else each
        // keeps its venue's documented limit.
        let chosen = run.connect_limit.or(tuning.connect_limit.map(|l| l.0));
        let mut connect_limits: Vec<(Venue, (usize, Duration))> = Vec::new();
        for venue in shards.iter().map(|s| s.venue) {
            if !connect_limits.iter().any(|&(v, _)| v == venue) {
                let limit = chosen.unwrap_or(venue.exchange().limits().connect_attempts);
                connect_limits.push((venue, limit));
            }
        }
        Ok(Config {
            book,
            streams,
            channels,
            endpoint,
            shards,
            rest_endpoints,
            output,
            more_outputs: Vec::new(),
            files: Default::default(),
            raw: None,
            shutdown_timeout: run
                .shutdown_timeout
                .or(tuning.shutdown_timeout.map(|d| d.0))
                .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
            flush_interval: run
                .flush_interval
                .or(tuning.flush_interval.map(|d| d.0))
                .unwrap_or(defaults.flush_interval),
            buffer: run
                .buffer
                .or(tuning.buffer.map(|b| b.0))
                .unwrap_or(DEFAULT_BUFFER) as usize,
            on_full,
            limit: run.limit.or(file.stop.limit.map(|n| n.0)),
            duration,
            streams_per_connection: run
                .streams_per_connection
                .or(tuning.streams_per_connection.map(|n| n.0))
                .unwrap_or(DEFAULT_STREAMS_PER_CONNECTION)
                as usize,
            connect_limits,
            connection,
            quiet,
            stats_interval,
            stats_file,
            metrics_addr: run.metrics_addr.or(monitoring.metrics_addr),
            status_line,
            config_file: run.config.clone(),
            dry_run: run.dry_run,
            shard: shard.map(|s| (s, total)),
        })
    }
}

/// The defaults that differ between the commands.
#[derive(Debug, Clone, Copy)]
struct CommandDefaults {
    /// `--book-interval`.
    book_interval: Duration,
    /// `--flush-interval`.
    flush_interval: Duration,
}

/// `stream` feeds people and programs as ticks come: a `book` row after every update, and a
/// tick reaches stdout within about 1 ms.
const STREAM_DEFAULTS: CommandDefaults = CommandDefaults {
    book_interval: Duration::ZERO,
    flush_interval: crate::sink::STREAM_FLUSH_INTERVAL,
};

/// `record` writes files: `book` rows every 100 ms of exchange time, and ticks gather for
/// 10 ms before a write, which at live rates costs half the CPU of 1 ms (README, "At live
/// rates"); `recv_ns` is taken when a frame arrives either way.
const RECORD_DEFAULTS: CommandDefaults = CommandDefaults {
    book_interval: RECORD_BOOK_INTERVAL,
    flush_interval: crate::sink::RECORD_FLUSH_INTERVAL,
};

/// Reads `--config`, or an empty file when none was given.
fn load(run: &RunArgs) -> Result<ConfigFile, ConfigError> {
    match &run.config {
        Some(path) => ConfigFile::load(path),
        None => Ok(ConfigFile::default()),
    }
}

/// Streams per connection unless told otherwise (Binance allows 1024; shorter URLs are kinder).
pub const DEFAULT_STREAMS_PER_CONNECTION: u32 = 200;

/// The connection tunables: flags first, then the file's `[tuning]`, then the defaults.
/// Refuses zero for the durations where zero makes no sense (issue 13). The shutdown
/// timeout and the backoff delays may be zero: "no grace" and "retry at once" are meant.
fn refuse_zero(
    duration: Option<Duration>,
    connection: &crate::connection::Settings,
) -> Result<(), ConfigError> {
    let checks = [
        ("--duration", duration),
        ("--connect-timeout", Some(connection.connect_timeout)),
        ("--stale-after", connection.stale_after),
        (
            "--silent-stream-after",
            Some(connection.silent_stream_after),
        ),
        ("--max-connection-age", connection.max_connection_age),
    ];
    match checks.into_iter().find(|(_, d)| *d == Some(Duration::ZERO)) {
        Some((flag, _)) => Err(ConfigError::ZeroDuration(flag)),
        None => Ok(()),
    }
}

fn connection_settings(run: &RunArgs, tuning: &file::Tuning) -> crate::connection::Settings {
    let defaults = crate::connection::Settings::default();
    let backoff_initial = run
        .backoff_initial
        .or(tuning.backoff_initial.map(|d| d.0))
        .unwrap_or(defaults.backoff_initial);
    crate::connection::Settings {
        connect_timeout: run
            .connect_timeout
            .or(tuning.connect_timeout.map(|d| d.0))
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        stale_after: run.stale_after.or(tuning.stale_after.map(|d| d.0)),
        silent_stream_after: run
            .silent_stream_after
            .or(tuning.silent_stream_after.map(|d| d.0))
            .unwrap_or(defaults.silent_stream_after),
        max_connection_age: run
            .max_connection_age
            .or(tuning.max_connection_age.map(|d| d.0)),
        max_retries: run.max_retries.or(tuning.max_retries),
        backoff_initial,
        backoff_max: run
            .backoff_max
            .or(tuning.backoff_max.map(|d| d.0))
            .unwrap_or(defaults.backoff_max)
            .max(backoff_initial),
        read_every: run
            .read_interval
            .or(tuning.read_interval.map(|d| d.0))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
