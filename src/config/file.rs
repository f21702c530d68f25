//! `--config FILE`: the TOML file that holds a run's streams, output and tunables, for runs
//! with more symbols than a command line should carry.
//!
//! This module only reads and checks the file: every value is validated while it is
//! deserialized, so every error (an unknown key, a bad symbol, a duration that is not one)
//! carries the file's line and column. Merging with the flags (flags win) is `config`'s job.
//!
//! Keys are spelled like the flags. Relative paths are relative to the file's directory,
//! so a service finds the same files whatever its working directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ValueEnum;
use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, de::DeserializeOwned};

use super::error::{ConfigError, valid_endpoint};
use crate::cli::{Format, OnFull};
use crate::tick::{Channel, Symbol};

/// The whole file. Every section is optional; unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// Like `--endpoint`.
    pub endpoint: Option<Endpoint>,
    /// `[[streams]]`: groups of symbols with the channels to subscribe for each.
    #[serde(default)]
    pub streams: Vec<StreamGroup>,
    /// `[output]`.
    #[serde(default)]
    pub output: OutputSection,
    /// `[tuning]`.
    #[serde(default)]
    pub tuning: Tuning,
    /// `[stop]`.
    #[serde(default)]
    pub stop: Stop,
    /// `[monitoring]`.
    #[serde(default)]
    pub monitoring: Monitoring,
    /// `[shard]`: like `--shard INDEX/COUNT`.
    pub shard: Option<ShardSection>,
}

/// `[shard]`: `index = 2` and `count = 4` record the streams of shard 2 of 4.
#[derive(Debug, Clone, Copy)]
pub struct ShardSection(pub crate::shard::Shard);

impl<'de> Deserialize<'de> for ShardSection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            index: u32,
            count: u32,
        }
        let raw = Raw::deserialize(d)?;
        crate::shard::Shard::new(raw.index, raw.count)
            .map(ShardSection)
            .map_err(|_| {
                D::Error::custom(format!(
                    "invalid [shard]: index {} of count {}: count must be at least 1 and index from 0 to count - 1",
                    raw.index, raw.count
                ))
            })
    }
}

/// One `[[streams]]` entry: every symbol on every channel of one venue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StreamGroup {
    /// Like `--venue`; `None` takes `--venue` or the default (`binance`).
    #[serde(default)]
    pub venue: Option<VenueName>,
    /// This group's WebSocket base URL (overrides the file's `endpoint`).
    pub endpoint: Option<Endpoint>,
    /// This group's REST base URL (order-book snapshots).
    pub rest_endpoint: Option<RestEndpoint>,
    /// Like `--channel`, default `["ticker"]`.
    #[serde(default = "default_channels")]
    pub channels: Vec<toml::Spanned<Choice<Channel>>>,
    /// Like the `SYMBOL` arguments, in the venue's spelling (checked by the venue's rules
    /// once the whole group is read, see [`ConfigFile::load`]).
    pub symbols: Vec<toml::Spanned<SymbolText>>,
}

impl StreamGroup {
    /// The group's venue: its own, else `fallback`.
    pub fn venue_or(&self, fallback: crate::exchange::Venue) -> crate::exchange::Venue {
        self.venue.as_ref().map_or(fallback, |v| v.0)
    }
}

/// `[output]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutputSection {
    /// Like `--out` (for `record`).
    pub path: Option<PathBuf>,
    /// `refuse` (default), `append` (like `--append`) or `overwrite` (like `--force`).
    pub existing: Option<ExistingChoice>,
    /// Like `--format` (for `stream`).
    pub format: Option<Choice<Format>>,
    /// Like `--raw` (for `record`).
    pub raw: Option<PathBuf>,
    /// Like `--rotate`: `"1h"`, `"1d"`, `"500MB"`.
    pub rotate: Option<Parsed<crate::sink::rotate::Rotate>>,
    /// Like `--fsync`: `"never"`, `"rotate"`, `"interval:10s"`.
    pub fsync: Option<Parsed<crate::sink::rotate::Fsync>>,
    /// Like `--zstd-level` (1 to 22).
    pub zstd_level: Option<ZstdLevel>,
    /// Like `--row-group-rows`.
    pub row_group_rows: Option<Positive>,
    /// Like `--parquet-decimal`.
    pub parquet_decimal: Option<bool>,
    /// `[output.kafka]`: librdkafka settings passed through as they are (`"linger.ms" = 20`,
    /// `"security.protocol" = "SASL_SSL"`), for `--out kafka://`.
    #[serde(default)]
    pub kafka: std::collections::BTreeMap<String, SettingText>,
}

/// A pass-through setting's value: a string, number or boolean, kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingText(pub String);

impl<'de> Deserialize<'de> for SettingText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(i64),
            Float(f64),
            Flag(bool),
        }
        Ok(SettingText(match Raw::deserialize(d)? {
            Raw::Text(t) => t,
            Raw::Int(n) => n.to_string(),
            Raw::Float(x) => x.to_string(),
            Raw::Flag(b) => b.to_string(),
        }))
    }
}

/// `[tuning]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tuning {
    /// Like `--buffer`.
    pub buffer: Option<Buffer>,
    /// Like `--on-full`.
    pub on_full: Option<Choice<OnFull>>,
    /// Like `--shutdown-timeout`.
    pub shutdown_timeout: Option<DurationText>,
    /// Like `--flush-interval` (at most 1s).
    pub flush_interval: Option<FlushInterval>,
    /// Like `--read-interval` (0, or 2ms to 1s).
    pub read_interval: Option<ReadInterval>,
    /// Like `--connect-timeout`.
    pub connect_timeout: Option<DurationText>,
    /// Like `--streams-per-connection`.
    pub streams_per_connection: Option<StreamsPerConnection>,
    /// Like `--max-retries`.
    pub max_retries: Option<u32>,
    /// Like `--backoff-initial`.
    pub backoff_initial: Option<DurationText>,
    /// Like `--backoff-max`.
    pub backoff_max: Option<DurationText>,
    /// Like `--connect-limit` (`"300/5m"`).
    pub connect_limit: Option<ConnectLimit>,
    /// Like `--stale-after`.
    pub stale_after: Option<PositiveDuration>,
    /// Like `--silent-stream-after`.
    pub silent_stream_after: Option<PositiveDuration>,
    /// Like `--max-connection-age`.
    pub max_connection_age: Option<PositiveDuration>,
}

/// `[stop]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Stop {
    /// Like `--limit`.
    pub limit: Option<Positive>,
    /// Like `--duration`.
    pub duration: Option<DurationText>,
}

/// `[monitoring]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Monitoring {
    /// Like `--stats-interval`.
    pub stats_interval: Option<PositiveDuration>,
    /// Like `--stats-file`.
    pub stats_file: Option<PathBuf>,
    /// Like `--metrics-addr`.
    pub metrics_addr: Option<SocketAddr>,
}

impl ConfigFile {
    /// Reads and checks `path`; relative paths inside become relative to its directory.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::FileRead {
            path: path.to_owned(),
            source,
        })?;
        let mut file: ConfigFile = parse(path, &text)?;
        file.check_venues(path, &text)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in [&mut file.output.path, &mut file.monitoring.stats_file]
            .into_iter()
            .flatten()
        {
            // A broker URL (`kafka://`, `nats://`) is not a path.
            let url = p.to_str().is_some_and(|t| t.contains("://"));
            if p.is_relative() && p.as_os_str() != "-" && !url {
                *p = dir.join(&*p);
            }
        }
        Ok(file)
    }
}

impl ConfigFile {
    /// Checks each group's symbols and channels by its venue's rules (the venue may be
    /// written after them, so this runs once the file is read), naming line and column.
    fn check_venues(&mut self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let error = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = locate(text, span.start);
            ConfigError::File {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        for group in &mut self.streams {
            // A group without a venue is checked against the default; `--venue` may
            // change it, and `config` checks again then.
            let exchange = group.venue_or(crate::exchange::Venue::default()).exchange();
            for channel in &group.channels {
                if !exchange.has_channel(channel.get_ref().0) {
                    return Err(error(
                        channel.span(),
                        ConfigError::Channel {
                            venue: exchange.venue(),
                            channel: channel.get_ref().0,
                        }
                        .to_string(),
                    ));
                }
            }
            for symbol in &mut group.symbols {
                let span = symbol.span();
                let checked = exchange
                    .parse_symbol(&symbol.get_ref().text)
                    .map_err(|e| error(span, e.to_string()))?;
                symbol.get_mut().symbol = Some(checked);
            }
        }
        Ok(())
    }
}

/// Deserializes `text`, turning an error into one naming `path`, the line and the column.
fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |span| locate(text, span.start));
        let message = e.message().trim();
        let message = match message.strip_prefix("unknown field") {
            Some(rest) => format!("unknown key{rest}"),
            None => match message.strip_prefix("missing field") {
                Some(rest) => format!("missing key{rest}"),
                None => message.to_owned(),
            },
        };
        ConfigError::File {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    })
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn locate(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn default_channels() -> Vec<toml::Spanned<Choice<Channel>>> {
    vec![toml::Spanned::new(0..0, Choice(Channel::Ticker))]
}

/// A value named like a command-line choice (`bookTicker`, `drop-newest`, `csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice<T>(pub T);

impl<'de, T: ValueEnum> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        T::from_str(&text, false).map(Choice).map_err(|_| {
            let names: Vec<String> = T::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value)
                .map(|v| v.get_name().to_owned())
                .collect();
            D::Error::custom(format!(
                "invalid value {text:?}: expected one of {}",
                names.join(", ")
            ))
        })
    }
}

/// The venue of a `[[streams]]` group, by its registered name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueName(pub crate::exchange::Venue);

impl<'de> Deserialize<'de> for VenueName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map(VenueName).map_err(D::Error::custom)
    }
}

/// An `http://` or `https://` URL.
#[derive(Debug, Clone)]
pub struct RestEndpoint(pub String);

impl<'de> Deserialize<'de> for RestEndpoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let lower = text.to_ascii_lowercase();
        if ["http://", "https://"]
            .iter()
            .any(|s| lower.starts_with(s) && lower.len() > s.len())
        {
            Ok(RestEndpoint(text.trim_end_matches('/').to_owned()))
        } else {
            Err(D::Error::custom(format!(
                "invalid rest-endpoint {text:?}: expected an http:// or https:// URL"
            )))
        }
    }
}

/// What to do with an output file that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExistingChoice {
    /// Refuse to touch it (the default).
    Refuse,
    /// Add to its end (`--append`).
    Append,
    /// Truncate it (`--force`).
    Overwrite,
}

/// A symbol as written, and as its group's venue read it (set by [`ConfigFile::load`]).
#[derive(Debug, Clone)]
pub struct SymbolText {
    /// As written.
    pub text: String,
    /// Checked by the venue's rules; `None` until the file is fully read.
    pub symbol: Option<Symbol>,
}

impl<'de> Deserialize<'de> for SymbolText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(SymbolText { text, symbol: None })
    }
}

/// A `ws://` or `wss://` URL.
#[derive(Debug, Clone)]
pub struct Endpoint(pub String);

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if valid_endpoint(&text) {
            Ok(Endpoint(text))
        } else {
            Err(D::Error::custom(format!(
                "invalid endpoint {text:?}: expected a ws:// or wss:// URL"
            )))
        }
    }
}

/// A duration written like the flags take it: `"500ms"`, `"30s"`, `"1h 30m"`.
#[derive(Debug, Clone, Copy)]
pub struct DurationText(pub Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        crate::cli::parse_duration(&text)
            .map(DurationText)
            .map_err(|e| D::Error::custom(format!("invalid duration {text:?}: {e}")))
    }
}

/// A `flush-interval`: a duration of at most one second.
#[derive(Debug, Clone, Copy)]
pub struct FlushInterval(pub Duration);

impl<'de> Deserialize<'de> for FlushInterval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        crate::cli::parse_flush_interval(&text)
            .map(FlushInterval)
            .map_err(D::Error::custom)
    }
}

/// A `read-interval`: zero, or from 2 ms to one second.
#[derive(Debug, Clone, Copy)]
pub struct ReadInterval(pub Duration);

impl<'de> Deserialize<'de> for ReadInterval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        crate::cli::parse_read_interval(&text)
            .map(ReadInterval)
            .map_err(D::Error::custom)
    }
}

/// A duration above zero.
#[derive(Debug, Clone, Copy)]
pub struct PositiveDuration(pub Duration);

impl<'de> Deserialize<'de> for PositiveDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match DurationText::deserialize(d)?.0 {
            Duration::ZERO => Err(D::Error::custom("must be above zero, such as \"1s\"")),
            duration => Ok(PositiveDuration(duration)),
        }
    }
}

/// A value written as its flag takes it, read by the flag's own parser.
#[derive(Debug, Clone, Copy)]
pub struct Parsed<T>(pub T);

/// The flag parser behind [`Parsed`].
pub trait FlagText: Sized {
    /// Parses the text as the flag does.
    fn parse_flag(text: &str) -> Result<Self, String>;
}

impl FlagText for crate::sink::rotate::Rotate {
    fn parse_flag(text: &str) -> Result<Self, String> {
        crate::sink::rotate::Rotate::parse(text)
    }
}

impl FlagText for crate::sink::rotate::Fsync {
    fn parse_flag(text: &str) -> Result<Self, String> {
        crate::sink::rotate::Fsync::parse(text)
    }
}

impl<'de, T: FlagText> Deserialize<'de> for Parsed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        T::parse_flag(&text)
            .map(Parsed)
            .map_err(|e| D::Error::custom(format!("invalid value {text:?}: {e}")))
    }
}

/// A zstd level as `--zstd-level` takes it (1 to 22).
#[derive(Debug, Clone, Copy)]
pub struct ZstdLevel(pub i32);

impl<'de> Deserialize<'de> for ZstdLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match i32::deserialize(d)? {
            n @ 1..=22 => Ok(ZstdLevel(n)),
            n => Err(D::Error::custom(format!("{n} is out of range 1..=22"))),
        }
    }
}

/// An integer of at least 1.
#[derive(Debug, Clone, Copy)]
pub struct Positive(pub u64);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u64::deserialize(d)? {
            0 => Err(D::Error::custom("must be at least 1")),
            n => Ok(Positive(n)),
        }
    }
}

/// A channel capacity as `--buffer` takes it.
#[derive(Debug, Clone, Copy)]
pub struct Buffer(pub u32);

impl<'de> Deserialize<'de> for Buffer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u32::deserialize(d)?;
        if (1..=crate::cli::MAX_BUFFER).contains(&n) {
            Ok(Buffer(n))
        } else {
            Err(D::Error::custom(format!(
                "buffer {n} is out of range 1..={}",
                crate::cli::MAX_BUFFER
            )))
        }
    }
}

/// Streams per connection as `--streams-per-connection` takes it (1 to 1024).
#[derive(Debug, Clone, Copy)]
pub struct StreamsPerConnection(pub u32);

impl<'de> Deserialize<'de> for StreamsPerConnection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u32::deserialize(d)? {
            n @ 1..=1024 => Ok(StreamsPerConnection(n)),
            n => Err(D::Error::custom(format!("{n} is out of range 1..=1024"))),
        }
    }
}

/// Attempts per period as `--connect-limit` takes it (`"300/5m"`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectLimit(pub (usize, Duration));

impl<'de> Deserialize<'de> for ConnectLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        crate::limiter::ConnectLimiter::parse(&text)
            .map(ConnectLimit)
            .map_err(|e| D::Error::custom(format!("invalid value {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests;
