//! What the user typed: the clap definition of every subcommand and flag.
//!
//! This module only describes and parses; `config` turns the parsed [`Cli`] into a validated
//! plan, so every rule about what is allowed lives in one place.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exchange::Venue;
use crate::replay;
use crate::tick::Channel;

/// The exit-code table, for `--help` of every subcommand (a macro so `concat!` can use it).
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0    finished cleanly (also after Ctrl-C/SIGTERM when everything was written in time)
  1    runtime error (could not connect, output failed, ...)
  2    usage error (bad flag, symbol or config file; refused output path)
  3    ticks were lost: the shutdown deadline passed or a broker never acknowledged them
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

    /// No summary line and no status line; only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print live ticks: a table on a terminal, NDJSON when piped.
    #[command(after_help = STREAM_EXAMPLES)]
    Stream(StreamArgs),
    /// Write ticks to files (CSV, NDJSON or Parquet, by extension; .gz or .zst compress),
    /// stdout, Kafka or NATS.
    #[command(after_help = RECORD_EXAMPLES)]
    Record(RecordArgs),
    /// Serve recordings as a local WebSocket endpoint that speaks each venue's protocol
    /// (Binance spot and USD-M, OKX, Bybit).
    #[command(after_help = REPLAY_EXAMPLES)]
    Replay(ReplayArgs),
    /// Check a config file and print the plan it makes.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Finish the CSV or NDJSON FILE.partial files a crash left: keep every complete line,
    /// write FILE.
    #[command(after_help = RECOVER_EXAMPLES)]
    Recover {
        /// The .partial files, plain, .gz or .zst (compressed ones decode up to their last
        /// complete block); a .parquet.partial has no footer and cannot be recovered.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Re-normalize raw captures (record --raw) into ticks with the same decoders, into
    /// any output format.
    #[command(after_help = CONVERT_EXAMPLES)]
    Convert(ConvertArgs),
    /// List the venues, with their endpoints and channels.
    Venues,
    /// Print shell completions or the man pages, generated from this command line.
    #[command(subcommand, after_help = GENERATE_EXAMPLES)]
    Generate(Generate),
}

/// `foxtrot config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate FILE and print the resolved plan: endpoint, output, tunables, and which
    /// connection will carry which streams. Exit 0 when valid, 2 when not.
    #[command(after_help = CONFIG_EXAMPLES)]
    Check {
        /// The TOML file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print the plan of shard I of N: only the streams that instance records.
        #[arg(long, value_name = "I/N")]
        shard: Option<crate::shard::Shard>,
    },
}

const RECOVER_EXAMPLES: &str = "\
Examples:
  foxtrot recover data/binance/trade/2026-12-03/BTCUSDT.csv.gz.partial
  foxtrot recover $(find data -name '*.partial' ! -name '*.parquet.partial')";

const CONVERT_EXAMPLES: &str = "\
Examples:
  foxtrot convert raw-2026-12-03.jsonl.zst --out ticks.csv
  foxtrot convert raw-*.jsonl.gz --out 'data/{channel}/{date}/{symbol}.ndjson.zst'";

/// `foxtrot convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Raw captures, read in the order given (.gz and .zst are decompressed).
    #[arg(required = true, value_name = "RAW")]
    pub raw: Vec<PathBuf>,

    /// Where the ticks go, as `record --out`: .csv, .ndjson or .jsonl (plus .gz or .zst),
    /// .parquet, `-`, templates; repeat for several.
    #[arg(short, long, value_name = "PATH", required = true)]
    pub out: Vec<PathBuf>,

    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,

    /// File policies: rotation, fsync, compression level.
    #[command(flatten)]
    pub files: FileArgs,

    /// Levels a side of each `book` row, as `record --book-levels` [default: 20].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000), help_heading = "Order books")]
    pub book_levels: Option<u32>,

    /// One `book` row per symbol every DURATION of exchange time, as `record
    /// --book-interval` [default: 100ms].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Order books")]
    pub book_interval: Option<Duration>,
}

const CONFIG_EXAMPLES: &str = "\
Examples:
  foxtrot config check foxtrot.toml
  foxtrot config check foxtrot.toml --shard 2/4          # the streams instance 2 of 4 records
  foxtrot record --config foxtrot.toml --dry-run
  foxtrot record --config foxtrot.toml --duration 1h     # flags override the file";

/// `foxtrot generate`: what to generate.
#[derive(Debug, Subcommand)]
pub enum Generate {
    /// A completion script for SHELL.
    #[command(after_help = GENERATE_EXAMPLES)]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
        /// Write the script into DIR (created if missing) under its conventional name.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The man page (roff); with --dir, one page per subcommand as well.
    #[command(after_help = GENERATE_EXAMPLES)]
    Man {
        /// Write foxtrot.1 and foxtrot-SUBCOMMAND.1 into DIR (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

const GENERATE_EXAMPLES: &str = "\
Examples:
  foxtrot generate completions bash > ~/.local/share/bash-completion/completions/foxtrot
  foxtrot generate completions zsh --dir ~/.zfunc
  foxtrot generate man --dir /usr/local/share/man/man1";

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
  foxtrot record BTCUSDT --out 'data/{channel}/{date}/{symbol}.csv.gz' --raw raw.jsonl.zst
  foxtrot record BTC-USDT --venue okx --channel trade --out 'okx-trades-{date}.parquet'
  foxtrot record BTCUSDT --out - | jq -c 'select(.channel == \"ticker\")'
  foxtrot record --config foxtrot.toml --stats-interval 10s --metrics-addr 127.0.0.1:9898
  foxtrot record --config all.toml --shard 2/4 --out kafka://127.0.0.1:9092/marketdata
  foxtrot record BTCUSDT --out 'nats://127.0.0.1:4222/md.{exchange}.{channel}.{symbol}'

",
    exit_codes!()
);

const REPLAY_EXAMPLES: &str = "\
Examples:
  foxtrot replay sample/binance-sample.jsonl --listen 127.0.0.1:9443 --rate 20 --loop
  foxtrot stream BTCUSDT --channel bookTicker --endpoint ws://127.0.0.1:9443
  foxtrot replay raw-2026-12-03.jsonl.zst --speed 1      # a raw capture, at its own pace
  foxtrot stream BTC-USDT --venue okx --channel trade --endpoint ws://127.0.0.1:9443";

/// The largest `--buffer`.
pub const MAX_BUFFER: u32 = 16_777_216;

/// Flags shared by `stream` and `record`: what to subscribe to and how to run.
///
/// Flags a config file can also set have no clap default: `None` (or empty) means "not
/// typed", so `config` can let the flag win over the file and the file over the default.
#[derive(Debug, Default, Args)]
pub struct RunArgs {
    /// Symbols in the venue's spelling, such as BTCUSDT (okx: BTC-USDT), case-insensitive;
    /// replace the file's streams.
    #[arg(required_unless_present = "config", value_name = "SYMBOL")]
    pub symbols: Vec<String>,

    /// The venue; `foxtrot venues` lists each one's endpoint and channels [default: binance].
    #[arg(long, env = "FOXTROT_VENUE", value_name = "NAME", value_parser = VenueParser)]
    pub venue: Option<Venue>,

    /// Channel to subscribe to for every symbol; repeat for several; `foxtrot venues` lists
    /// each venue's [default: ticker].
    #[arg(long = "channel", value_name = "NAME", value_enum)]
    pub channels: Vec<Channel>,

    /// Base WebSocket URL of the venue (scheme, host, port); foxtrot appends the venue's
    /// paths [default: the venue's, such as wss://stream.binance.com:9443].
    #[arg(long, env = "FOXTROT_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,

    /// Hard deadline for a graceful stop (close sockets, drain, flush); past it the rest is
    /// cancelled [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub shutdown_timeout: Option<Duration>,

    /// Once the output has caught up, let ticks gather this long before writing again: the
    /// most a tick waits before it reaches the OS. Longer costs less CPU at live rates
    /// (0 to 1s) [default: 1ms for stream, 10ms for record].
    #[arg(long, value_name = "DURATION", value_parser = parse_flush_interval)]
    pub flush_interval: Option<Duration>,

    /// Read a socket that trickles at most every DURATION (2ms to 1s; 0 reads each frame as
    /// it comes): fewer wake-ups with many quiet connections, but `recv_ns` may then be up
    /// to DURATION late [default: 0].
    #[arg(long, value_name = "DURATION", value_parser = parse_read_interval)]
    pub read_interval: Option<Duration>,

    /// Capacity of the channel between the connections and the output, in ticks
    /// [default: 65536; 16384 for record to a .gz, .zst or .parquet file].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_BUFFER)))]
    pub buffer: Option<u32>,

    /// What a connection does when the channel is full [default: block].
    #[arg(long, value_name = "POLICY", value_enum)]
    pub on_full: Option<OnFull>,

    /// Stop cleanly after N ticks.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Stop cleanly after this long (500ms, 30s, 1h, ...).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Give up with an error when no connection could be made for this long [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,

    /// Read streams, output and tunables from this TOML file; flags override it.
    #[arg(long, value_name = "FILE", help_heading = "Configuration")]
    pub config: Option<PathBuf>,

    /// Check everything, print the plan (which connection carries which streams), and exit.
    #[arg(long, help_heading = "Configuration")]
    pub dry_run: bool,

    /// Print the counters as one JSON object per DURATION on stderr (or to --stats-file).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Monitoring")]
    pub stats_interval: Option<Duration>,

    /// Append the stats objects to PATH instead of stderr [default interval: 10s].
    #[arg(long, value_name = "PATH", help_heading = "Monitoring")]
    pub stats_file: Option<PathBuf>,

    /// Serve Prometheus metrics on http://ADDR/metrics (port 0 picks one, printed on stderr).
    #[arg(long, value_name = "ADDR", help_heading = "Monitoring")]
    pub metrics_addr: Option<SocketAddr>,

    /// Streams carried by one connection, at most the venue's limit: binance 1024, okx 500,
    /// others 200 [default: the venue's: okx 100, others 200].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub streams_per_connection: Option<u32>,

    /// Exit with an error after N failed connection attempts in a row [default: retry for ever].
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,

    /// The first reconnect delay's ceiling (delays double up to --backoff-max, with jitter)
    /// [default: 250ms].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub backoff_initial: Option<Duration>,

    /// The longest reconnect delay [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub backoff_max: Option<Duration>,

    /// At most this many connection attempts per period, per venue (each venue dialed has a
    /// limiter of its own, shared by its connections)
    /// [default: the venue's: okx 3/1s, bybit 500/5m, bybit-linear 500/5m, others 300/5m].
    #[arg(long, value_name = "N/DURATION", value_parser = parse_limit)]
    pub connect_limit: Option<(usize, Duration)>,

    /// Reconnect when no frame at all (data or ping) arrived for this long [default: the
    /// venue's: binance 30s, binance-futures 4m 30s, okx 35s, bybit 45s, bybit-linear 45s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub stale_after: Option<Duration>,

    /// Warn about a stream that delivered nothing for this long while its connection lives
    /// [default: 5m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub silent_stream_after: Option<Duration>,

    /// Replace each connection (make-before-break) once it is this old, before the venue
    /// closes it (Binance: at 24 h) [default: 23h 50m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_connection_age: Option<Duration>,

    // Order books (issue 10): kept together so other flags merge around them.
    /// Levels a side of each `book` row [default: 20].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000), help_heading = "Order books")]
    pub book_levels: Option<u32>,

    /// One `book` row per symbol every DURATION of exchange time; 0 writes one after every
    /// update [default: 0 for stream, 100ms for record].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Order books")]
    pub book_interval: Option<Duration>,

    /// Binance's diff-depth speed: 100ms, or 1000ms on binance (spot) only [default: 100ms].
    #[arg(long, value_name = "SPEED", value_parser = ["100ms", "1000ms"], help_heading = "Order books")]
    pub depth_speed: Option<String>,

    /// REST base URL of Binance's order-book snapshots (okx and bybit push theirs)
    /// [default: the venue's, such as https://api.binance.com].
    #[arg(
        long,
        env = "FOXTROT_REST_ENDPOINT",
        value_name = "URL",
        help_heading = "Order books"
    )]
    pub rest_endpoint: Option<String>,

    /// Record only shard I of N: the streams whose FNV-1a 64 hash of
    /// `exchange:symbol:channel` mod N is I. N instances, --shard 0/N to N-1/N, record every
    /// stream exactly once.
    #[arg(long, value_name = "I/N", help_heading = "Configuration")]
    pub shard: Option<crate::shard::Shard>,
}

pub use crate::pipe::OnFull;

// The data path's types stay free of clap: their command-line spelling is given here.
impl ValueEnum for OnFull {
    fn value_variants<'a>() -> &'a [Self] {
        &[OnFull::Block, OnFull::DropNewest]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self {
            OnFull::Block => PossibleValue::new("block")
                .help("Wait for room, which pushes back on the socket (nothing is dropped)"),
            OnFull::DropNewest => {
                PossibleValue::new("drop-newest").help("Never wait: drop the new tick and count it")
            }
        })
    }
}

impl ValueEnum for Channel {
    fn value_variants<'a>() -> &'a [Self] {
        &Channel::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
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
    /// Parquet files (`record --out FILE.parquet` only).
    #[value(skip)]
    Parquet,
}

/// `foxtrot record`.
#[derive(Debug, Default, Args)]
pub struct RecordArgs {
    /// Subscriptions and run control.
    #[command(flatten)]
    pub run: RunArgs,

    /// Where ticks go, by extension: .csv, .ndjson or .jsonl, plus .gz or .zst to compress;
    /// .parquet (one channel a file); `-` for NDJSON on stdout. A template such as
    /// 'data/{exchange}/{channel}/{date}/{symbol}.csv.gz' ({exchange}, {symbol}, {channel},
    /// {date}, {hour}, {start}) writes a set of files, rotated at its time boundaries.
    /// Repeat for several outputs: each gets every row. kafka://HOST:PORT[,HOST:PORT]/TOPIC
    /// or nats://HOST:PORT/SUBJECT publishes instead (the only output then; one NDJSON
    /// line per record; the subject may use {exchange}, {symbol}, {channel}).
    #[arg(short, long, value_name = "PATH|URL", required_unless_present_any = ["config", "raw"])]
    pub out: Vec<PathBuf>,

    /// With --out nats://: create a JetStream stream over the subjects when none holds them.
    #[arg(long)]
    pub nats_create_stream: bool,

    /// Raw capture: every frame received, every request sent and every connect/disconnect,
    /// as JSONL (the README's "Raw capture"), beside or instead of --out. May be a template
    /// of {exchange}, {date}, {hour}, {start}; .gz or .zst compress.
    #[arg(long, value_name = "PATH")]
    pub raw: Option<PathBuf>,

    /// Add to an existing file instead of refusing it.
    #[arg(long, conflicts_with = "force")]
    pub append: bool,

    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,

    /// File policies: rotation, fsync, compression level.
    #[command(flatten)]
    pub files: FileArgs,
}

/// How output files are rotated, synced and compressed.
#[derive(Debug, Default, Clone, Args)]
#[command(next_help_heading = "Files")]
pub struct FileArgs {
    /// Finish each file and start the next every period (1h, 1d: on UTC boundaries; names
    /// get -{start} unless the template has a time) or at a size on disk (500MB; every file
    /// of a name is numbered -0001, -0002, ...).
    #[arg(long, value_name = "PERIOD|SIZE", value_parser = crate::sink::rotate::Rotate::parse)]
    pub rotate: Option<crate::sink::rotate::Rotate>,

    /// When files are made durable: never, rotate (each finished file), or interval:D
    /// (such as interval:5s, and each finished file) [default: rotate].
    #[arg(long, value_name = "POLICY", value_parser = crate::sink::rotate::Fsync::parse)]
    pub fsync: Option<crate::sink::rotate::Fsync>,

    /// Rows per Parquet row group; a file's last group may be smaller [default: 1000000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub row_group_rows: Option<u64>,

    /// Parquet: beside each decimal text column (price, qty, ...) a DECIMAL column
    /// NAME_decimal at the scale of the file's first rows (null where a value does not fit).
    #[arg(long)]
    pub parquet_decimal: bool,

    /// zstd level of .zst outputs, 1 (fast) to 22 (small) [default: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=22))]
    pub zstd_level: Option<i32>,
}

/// The arguments of `replay` that the flood does not implement (the replay of files does;
/// `depth` is another mode): `--flood` refuses them rather than ignore them.
const FLOOD_REFUSES: [&str; 9] = [
    "files",
    "speed",
    "looped",
    "live",
    "inject",
    "oversized_bytes",
    "max_age",
    "pong_timeout",
    "depth",
];

/// `foxtrot replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Recordings served in order: JSONL venue messages (one per line), raw captures
    /// (record --raw), or foxtrot's NDJSON/CSV recordings (record --out) of Binance, OKX or
    /// Bybit rows; .gz and .zst are decompressed. Not with --flood.
    #[arg(required_unless_present_any = ["flood", "depth"], value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Serve a raw capture or an NDJSON/CSV recording at its recorded pacing (receive
    /// times) divided by X: 1 is the original timing, 10 ten times faster, 0 as fast as
    /// possible (then --rate applies). Not with --flood.
    #[arg(long, value_name = "X", value_parser = parse_speed)]
    pub speed: Option<f64>,

    /// Address to listen on; port 0 picks a free port (printed on the first stdout line).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9443")]
    pub listen: SocketAddr,

    /// Messages per second per connection; 0 sends as fast as the socket takes them (files
    /// and --flood).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rate: u64,

    /// Start over at the end of the files instead of idling. Not with --flood.
    #[arg(long = "loop")]
    pub looped: bool,

    /// Send at most N messages per connection, then idle with the socket open (files and
    /// --flood).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Close each connection (with a close frame) after N messages (files and --flood).
    #[arg(long, value_name = "N")]
    pub close_after: Option<u64>,

    /// One timeline for all connections, like a live venue: the files play at --rate from
    /// server start, and a connection gets what is published after it connected. Not with
    /// --flood.
    #[arg(long, requires = "rate")]
    pub live: bool,

    /// Interval between the server's pings on Binance connections (OKX and Bybit clients
    /// ping the server instead).
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    pub ping_interval: Duration,

    /// Drop each connection's TCP socket (no close frame) after N messages (files and
    /// --flood).
    #[arg(long, value_name = "N", help_heading = "Faults")]
    pub drop_after: Option<u64>,

    /// Go silent after N messages (no data, pings or replies), keeping the socket open
    /// (files and --flood).
    #[arg(long, value_name = "N", help_heading = "Faults")]
    pub stall_after: Option<u64>,

    /// Refuse handshakes with HTTP 429, 418 or 503.
    #[arg(long, value_name = "STATUS", help_heading = "Faults")]
    pub refuse: Option<replay::RefusalStatus>,

    /// Send `Retry-After: SECS` with each refusal.
    #[arg(
        long,
        value_name = "SECS",
        requires = "refuse",
        help_heading = "Faults"
    )]
    pub retry_after: Option<u64>,

    /// Refuse only the first K handshakes (server-wide), then accept.
    #[arg(long, value_name = "K", requires = "refuse", help_heading = "Faults")]
    pub refuse_first: Option<u64>,

    /// After the N-th message of each connection, send one frame of KIND (malformed,
    /// truncated, oversized, server-shutdown); N=0 before the first. Repeatable (not on
    /// Bybit; not with --flood).
    #[arg(long, value_name = "KIND@N", help_heading = "Faults")]
    pub inject: Vec<replay::Injection>,

    /// The length in bytes of an `oversized` injection (not with --flood).
    #[arg(long, value_name = "BYTES", default_value_t = replay::DEFAULT_OVERSIZED_BYTES, help_heading = "Faults")]
    pub oversized_bytes: usize,

    /// Close each connection (close frame 1000, "max age") once it is this old (not on
    /// Bybit; not with --flood).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Faults")]
    pub max_age: Option<Duration>,

    /// Close a connection (close frame 1008) that has not answered a ping within this
    /// (Binance; not with --flood).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Faults")]
    pub pong_timeout: Option<Duration>,
    /// Stamp every Binance message's times (under --flood, every venue's) with this
    /// server's clock plus MS milliseconds (negative: behind), as a venue with a skewed
    /// clock would.
    #[arg(
        long,
        value_name = "MS",
        allow_hyphen_values = true,
        help_heading = "Faults"
    )]
    pub clock_shift_ms: Option<i64>,
    /// Benchmark mode: send each connection N generated messages for the streams it asks
    /// for (Binance bookTicker, trade, aggTrade; OKX and Bybit bookTicker, trade), at --rate
    /// or as fast as the socket takes them, then close; no FILE. Of the other flags,
    /// --limit, --close-after, --drop-after, --stall-after, --ping-interval,
    /// --clock-shift-ms and the refusals apply; the rest are refused.
    #[arg(
        long,
        value_name = "N",
        conflicts_with_all = FLOOD_REFUSES,
    )]
    pub flood: Option<u64>,

    // Depth mode (issue 10): kept together so other flags merge around them.
    /// Serve generated order books as Binance diff-depth streams (instead of the files),
    /// and their REST snapshots on a second port (printed as the second stdout line). Not
    /// with --flood.
    #[arg(long, help_heading = "Depth mode")]
    pub depth: bool,

    /// USD-M futures books (ids with `pu`, snapshots on /fapi/v1/depth) instead of spot's.
    #[arg(long, requires = "depth", help_heading = "Depth mode")]
    pub depth_futures: bool,

    /// Levels a side of each generated book.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 5000,
        requires = "depth",
        help_heading = "Depth mode"
    )]
    pub depth_levels: usize,

    /// Time between `@100ms` events of one symbol (tests go faster than the venue).
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_duration, requires = "depth", help_heading = "Depth mode")]
    pub depth_interval: Duration,

    /// Events generated per symbol at most; then the book stands still.
    #[arg(
        long,
        value_name = "N",
        requires = "depth",
        help_heading = "Depth mode"
    )]
    pub depth_events: Option<u64>,

    /// The generator's seed (each symbol's book is seeded from it and the symbol).
    #[arg(
        long,
        value_name = "N",
        requires = "depth",
        help_heading = "Depth mode"
    )]
    pub depth_seed: Option<u64>,

    /// Withhold every Nth event of a symbol from the streams (a forced gap).
    #[arg(
        long,
        value_name = "N",
        requires = "depth",
        help_heading = "Depth mode"
    )]
    pub depth_gap_every: Option<u64>,

    /// Withhold events of this symbol only [default: every symbol's].
    #[arg(
        long,
        value_name = "SYMBOL",
        requires = "depth_gap_every",
        help_heading = "Depth mode"
    )]
    pub depth_gap_symbol: Option<String>,

    /// Address of the REST snapshot endpoint; port 0 picks a free port.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:0",
        requires = "depth",
        help_heading = "Depth mode"
    )]
    pub rest_listen: SocketAddr,

    /// Answer snapshot requests this late.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "depth", help_heading = "Depth mode")]
    pub rest_delay: Option<Duration>,

    /// Delay only the first N snapshot requests [default: every one].
    #[arg(
        long,
        value_name = "N",
        requires = "rest_delay",
        help_heading = "Depth mode"
    )]
    pub rest_delay_first: Option<u64>,

    /// Answer the first N snapshot requests with 429 and a Retry-After.
    #[arg(
        long,
        value_name = "N",
        requires = "depth",
        help_heading = "Depth mode"
    )]
    pub rest_429_first: Option<u64>,

    /// The Retry-After of those 429 answers, in whole seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 1,
        requires = "depth",
        help_heading = "Depth mode"
    )]
    pub rest_retry_after: u64,

    /// Answer the first N snapshot requests of each symbol with a stale lastUpdateId.
    #[arg(
        long,
        value_name = "N",
        requires = "depth",
        help_heading = "Depth mode"
    )]
    pub rest_stale_first: Option<u64>,
}

/// Parses `500ms`, `5s`, `1m`, `1h 30m` and the like.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e} (expected a duration such as 500ms, 5s, 1m)"))
}

/// Parses `--speed`: a finite number, 0 or more.
pub fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err("expected a speed such as 1, 10 or 0.5 (0: as fast as possible)".to_owned()),
    }
}

/// Parses a duration of at most one second; `late` says what a longer one would delay.
fn parse_within_a_second(text: &str, late: &str) -> Result<Duration, String> {
    let interval = parse_duration(text)?;
    if interval > Duration::from_secs(1) {
        return Err(format!("{text} is longer than 1s: {late}"));
    }
    Ok(interval)
}

/// Parses a `--flush-interval`: a duration of at most one second.
pub fn parse_flush_interval(text: &str) -> Result<Duration, String> {
    parse_within_a_second(text, "a tick would wait that long before reaching the OS")
}

/// Parses a `--read-interval`: zero, or from [`crate::connection::REST_FROM`] to one second.
pub fn parse_read_interval(text: &str) -> Result<Duration, String> {
    let interval = parse_within_a_second(text, "recv_ns could be that late")?;
    if !interval.is_zero() && interval < crate::connection::REST_FROM {
        return Err(format!(
            "{text} is shorter than 2ms: resting that briefly costs more wake-ups than it saves (use 0 to read every frame as it comes)"
        ));
    }
    Ok(interval)
}

/// Parses a venue name.
pub fn parse_venue(text: &str) -> Result<Venue, String> {
    text.parse()
        .map_err(|e: crate::exchange::UnknownVenue| e.to_string())
}

/// Parses `--venue` as [`parse_venue`] does, and offers the registry's names to help,
/// man pages and completions (so they list every venue, and only venues).
#[derive(Debug, Clone, Copy)]
pub struct VenueParser;

impl clap::builder::TypedValueParser for VenueParser {
    type Value = Venue;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Venue, clap::Error> {
        clap::builder::TypedValueParser::parse_ref(&parse_venue, cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(Venue::ALL.iter().map(|&venue| {
            clap::builder::PossibleValue::new(venue.name()).help(venue_help(venue))
        })))
    }
}

/// What each venue is, as `--help` says it.
fn venue_help(venue: Venue) -> &'static str {
    match venue {
        Venue::Binance => "Binance spot",
        Venue::BinanceFutures => "Binance USD-M futures",
        Venue::Okx => "OKX, by instrument id such as BTC-USDT or BTC-USDT-SWAP",
        Venue::Bybit => "Bybit spot",
        Venue::BybitLinear => "Bybit USDT and USDC perpetuals and futures",
    }
}

/// Parses `300/5m` (attempts per period).
pub fn parse_limit(text: &str) -> Result<(usize, Duration), String> {
    crate::limiter::ConnectLimiter::parse(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
