//! What the user typed: the clap definition of every subcommand and flag.
//!
//! This module only describes and parses; `config` turns the parsed [`Cli`] into a validated
//! plan, so every rule about what is allowed lives in one place.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::tick::Channel;

/// The exit-code table, for `--help` of every subcommand (a macro so `concat!` can use it).
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0    finished cleanly (also after Ctrl-C/SIGTERM when everything was written in time)
  1    runtime error (could not connect, output failed, ...)
  2    usage error (bad flag, bad symbol, refused output path)
  3    the shutdown deadline passed and ticks were lost (counts on stderr)
  130  a second Ctrl-C forced an immediate exit"
    };
}

/// Exit codes, shown in `--help` and documented in the README.
pub const EXIT_CODES: &str = exit_codes!();

/// foxtrot: stream and record crypto exchanges' public market data.
#[derive(Debug, Parser)]
#[command(name = "foxtrot", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// No summary line and no progress; only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print live ticks: a table on a terminal, NDJSON when piped.
    #[command(after_help = STREAM_EXAMPLES)]
    Stream(StreamArgs),
    /// Write ticks to a file (CSV or NDJSON, from the extension).
    #[command(after_help = RECORD_EXAMPLES)]
    Record(RecordArgs),
    /// Serve recorded Binance messages as a Binance-compatible WebSocket endpoint.
    #[command(after_help = REPLAY_EXAMPLES)]
    Replay(ReplayArgs),
}

const STREAM_EXAMPLES: &str = concat!(
    "\
Examples:
  foxtrot stream BTCUSDT ETHUSDT
  foxtrot stream BTCUSDT --channel bookTicker | jq -r .bid
  foxtrot stream btcusdt --channel trade --limit 100 --format csv

",
    exit_codes!()
);

const RECORD_EXAMPLES: &str = concat!(
    "\
Examples:
  foxtrot record BTCUSDT ETHUSDT --out ticks.csv
  foxtrot record BTCUSDT --channel trade --channel bookTicker --out btc.ndjson --duration 1h
  foxtrot record BTCUSDT --out - | jq -c 'select(.channel == \"ticker\")'

",
    exit_codes!()
);

const REPLAY_EXAMPLES: &str = "\
Examples:
  foxtrot replay sample/binance-sample.jsonl --listen 127.0.0.1:9443 --rate 20 --loop
  foxtrot stream BTCUSDT --channel bookTicker --endpoint ws://127.0.0.1:9443";

/// Flags shared by `stream` and `record`: what to subscribe to and how to run.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Symbols to subscribe to, such as BTCUSDT (case-insensitive).
    #[arg(required = true, value_name = "SYMBOL")]
    pub symbols: Vec<String>,

    /// Channel to subscribe to for every symbol; repeat for several.
    #[arg(long = "channel", value_name = "NAME", value_enum, default_values_t = [Channel::Ticker])]
    pub channels: Vec<Channel>,

    /// Base WebSocket URL of the venue; foxtrot appends the stream path.
    #[arg(
        long,
        env = "FOXTROT_ENDPOINT",
        value_name = "URL",
        default_value = "wss://stream.binance.com:9443"
    )]
    pub endpoint: String,

    /// Hard deadline for a graceful stop (close sockets, drain, flush); past it the rest is cancelled.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// Capacity of the channel between the connections and the output, in ticks.
    #[arg(long, value_name = "N", default_value_t = 65536, value_parser = clap::value_parser!(u32).range(1..=16_777_216))]
    pub buffer: u32,

    /// What a connection does when the channel is full.
    #[arg(long, value_name = "POLICY", value_enum, default_value_t = OnFull::Block)]
    pub on_full: OnFull,

    /// Stop cleanly after N ticks.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Stop cleanly after this long (500ms, 30s, 1h, ...).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Give up with an error when no connection could be made for this long.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
}

/// What a connection does with a tick when the channel is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnFull {
    /// Wait for room, which pushes back on the socket (nothing is dropped).
    Block,
    /// Never wait: drop the new tick and count it.
    DropNewest,
}

/// `foxtrot stream`.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// Subscriptions and run control.
    #[command(flatten)]
    pub run: RunArgs,

    /// Output format [default: table on a terminal, ndjson otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// Output formats of `stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A live table, updated in place (terminals only).
    Table,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
}

/// `foxtrot record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Subscriptions and run control.
    #[command(flatten)]
    pub run: RunArgs,

    /// File to write: .csv for CSV, .ndjson or .jsonl for NDJSON; `-` for stdout (NDJSON).
    #[arg(short, long, value_name = "PATH")]
    pub out: PathBuf,

    /// Add to an existing file instead of refusing it.
    #[arg(long, conflicts_with = "force")]
    pub append: bool,

    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `foxtrot replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// JSONL files of raw Binance messages (one per line), served in order.
    #[arg(required_unless_present = "flood", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Address to listen on; port 0 picks a free port (printed on the first stdout line).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9443")]
    pub listen: SocketAddr,

    /// Messages per second per connection; 0 sends as fast as the socket takes them.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rate: u64,

    /// Start over at the end of the files instead of idling.
    #[arg(long = "loop")]
    pub looped: bool,

    /// Send at most N messages per connection, then idle with the socket open.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Close each connection (with a close frame) after N messages.
    #[arg(long, value_name = "N")]
    pub close_after: Option<u64>,

    /// Interval between the server's pings.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    pub ping_interval: Duration,

    /// Benchmark mode: send N generated bookTicker/trade/aggTrade messages for the streams
    /// in each client's URL as fast as the socket takes them, then close; FILEs are optional.
    #[arg(long, value_name = "N")]
    pub flood: Option<u64>,
}

/// Parses `500ms`, `5s`, `1m`, `1h 30m` and the like.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e} (expected a duration such as 500ms, 5s, 1m)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("5 parsecs").is_err());
    }
}
