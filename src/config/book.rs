//! A run's order-book options: levels and interval of `book` rows, Binance's diff-depth
//! speed and the REST endpoint of snapshots, checked against the streams they apply to.

use std::time::Duration;

use super::{Config, ConfigError};
use crate::cli::RunArgs;
use crate::exchange::{StreamId, Venue};
use crate::tick::Channel;

/// Order-book options of a run (`--book-levels`, `--book-interval`, `--depth-speed`,
/// `--rest-endpoint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookOptions {
    /// Levels a side of a `book` row.
    pub levels: usize,
    /// `book` rows every this much exchange time (0: after every update).
    pub interval: Duration,
    /// Binance's diff-depth speed.
    pub depth_speed: crate::exchange::binance_depth::DepthSpeed,
    /// `--rest-endpoint`, which wins over every group's `rest-endpoint`.
    pub rest_endpoint: Option<String>,
}

impl BookOptions {
    /// The REST base URL of each venue of the run: the flag, else the group's, else none
    /// (the venue's default).
    pub fn rest_endpoints(&self, config: &Config) -> Vec<(Venue, String)> {
        let mut venues: Vec<Venue> = config.shards.iter().map(|s| s.venue).collect();
        venues.dedup();
        match &self.rest_endpoint {
            Some(url) => venues.into_iter().map(|v| (v, url.clone())).collect(),
            None => config.rest_endpoints.clone(),
        }
    }
}

/// `book` rows every 100 ms of exchange time by default in `record`.
pub const RECORD_BOOK_INTERVAL: Duration = Duration::from_millis(100);

/// The order-book flags, checked against the streams they apply to.
pub(super) fn book_options(
    run: &RunArgs,
    streams: &[StreamId],
    default_interval: Duration,
) -> Result<BookOptions, ConfigError> {
    use crate::exchange::binance_depth::DepthSpeed;
    let depth_speed = match run.depth_speed.as_deref() {
        Some("1000ms") => DepthSpeed::Slow,
        _ => DepthSpeed::Fast,
    };
    let books = |venue: Venue| {
        streams
            .iter()
            .any(|s| s.venue == venue && matches!(s.channel, Channel::Depth | Channel::Book))
    };
    if depth_speed == DepthSpeed::Slow && books(Venue::BinanceFutures) {
        return Err(ConfigError::Book(
            "--depth-speed 1000ms is Binance spot's: binance-futures depth streams are 100ms"
                .to_owned(),
        ));
    }
    if let Some(url) = &run.rest_endpoint
        && crate::book::fetch::SnapshotClient::new(url, Duration::from_secs(1)).is_err()
    {
        return Err(ConfigError::Book(format!(
            "invalid --rest-endpoint {url:?}: expected an http:// or https:// URL such as https://api.binance.com"
        )));
    }
    Ok(BookOptions {
        levels: run
            .book_levels
            .map_or(crate::sink::csv::DEFAULT_BOOK_LEVELS, |n| n as usize),
        interval: run.book_interval.unwrap_or(default_interval),
        depth_speed,
        rest_endpoint: run
            .rest_endpoint
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_owned()),
    })
}
