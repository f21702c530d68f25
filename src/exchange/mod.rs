//! Venues: how to reach one and how to read its messages.
//!
//! Each venue is one file implementing [`Exchange`] plus one line in the registry below
//! ([`Venue`]). The trait describes a connection plan, not only a URL: which URL(s) to dial
//! for a set of streams, which subscribe requests to send after the handshake and how their
//! answers are matched (integer or string ids, or acks that echo the subscribed args), the
//! application-level heartbeat the venue wants, its limits, and a decoder that may yield
//! several ticks from one frame into a caller's buffer ([`Out`]) without allocating per tick.
//! This module owns that contract; it does no I/O (the connection task does).

pub mod binance;
pub mod binance_depth;
pub mod binance_futures;
pub mod bybit;
pub mod okx;
mod scan;

use crate::book::sync::DepthEvent;
use crate::book::{Change, LevelError};
use std::fmt;
use std::time::Duration;

use crate::tick::{Channel, Decimal, Symbol, SymbolError, Tick};

/// Defines [`Venue`] from the registry: one line per venue, `Variant = "name" => value`.
macro_rules! registry {
    ($($variant:ident = $name:literal => $value:expr,)+) => {
        /// A registered venue: a small copyable id that flows through the program (streams,
        /// ticks, stats, metrics) and resolves to the venue's [`Exchange`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Venue {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )+
        }

        impl Venue {
            /// Every venue, in registration order.
            pub const ALL: &'static [Venue] = &[$(Venue::$variant),+];

            /// The venue's name as written in output and typed on the command line.
            #[inline]
            pub const fn name(self) -> &'static str {
                match self {
                    $(Venue::$variant => $name,)+
                }
            }

            /// The venue's connection plan and decoder.
            #[inline]
            pub fn exchange(self) -> &'static dyn Exchange {
                match self {
                    $(Venue::$variant => &$value,)+
                }
            }
        }
    };
}

// The registry. The first venue is the default (`--venue`).
registry! {
    Binance = "binance" => binance::Binance,
    BinanceFutures = "binance-futures" => binance_futures::BinanceFutures,
    Okx = "okx" => okx::Okx,
    Bybit = "bybit" => bybit::SPOT,
    BybitLinear = "bybit-linear" => bybit::LINEAR,
}

impl Default for Venue {
    /// The first registered venue (`binance`).
    fn default() -> Venue {
        Venue::ALL[0]
    }
}

impl Venue {
    /// The venue named `name` (as [`Venue::name`] writes it).
    pub fn from_name(name: &str) -> Option<Venue> {
        Venue::ALL.iter().copied().find(|v| v.name() == name)
    }

    /// The venue's name, as bytes (encoders).
    #[inline]
    pub fn as_bytes(self) -> &'static [u8] {
        self.name().as_bytes()
    }

    /// Same as [`Venue::name`].
    pub fn as_str(self) -> &'static str {
        self.name()
    }

    /// Every venue's name, comma-separated, for error messages.
    pub fn names() -> String {
        Venue::ALL
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq<&str> for Venue {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl std::str::FromStr for Venue {
    type Err = UnknownVenue;
    fn from_str(s: &str) -> Result<Venue, UnknownVenue> {
        Venue::from_name(s).ok_or_else(|| UnknownVenue(s.to_owned()))
    }
}

/// A venue name that is not registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown venue {0:?}: expected one of {names} (see foxtrot venues)", names = Venue::names())]
pub struct UnknownVenue(pub String);

/// One subscribed stream: a symbol on a channel of a venue.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    /// The venue.
    pub venue: Venue,
    /// The market, in the venue's spelling.
    pub symbol: Symbol,
    /// The channel.
    pub channel: Channel,
}

impl StreamId {
    /// The stream `symbol` on `channel` of `venue`.
    pub fn new(venue: Venue, symbol: Symbol, channel: Channel) -> StreamId {
        StreamId {
            venue,
            symbol,
            channel,
        }
    }
}

/// A venue's public market-data API, as a connection plan and a decoder.
///
/// Object safe: the program holds `&'static dyn Exchange` (from [`Venue::exchange`]) and calls
/// it once per frame, never per tick.
pub trait Exchange: Send + Sync + 'static {
    /// The venue's registry id; its name is what output writes as `exchange`.
    fn venue(&self) -> Venue;

    /// The venue's name, such as `binance`.
    fn name(&self) -> &'static str {
        self.venue().name()
    }

    /// The production WebSocket base URL (scheme, host, port), used without `--endpoint`.
    fn default_endpoint(&self) -> &'static str;

    /// The production REST base URL (order-book snapshots), if the venue has one foxtrot uses.
    fn default_rest_endpoint(&self) -> Option<&'static str> {
        None
    }

    /// How this venue's order books (`depth`, `book`) are kept in sync.
    fn book_sync(&self) -> BookSync {
        BookSync::None
    }

    /// The requests that make the venue send a fresh snapshot of `stream`'s book after
    /// it broke (OKX and Bybit: unsubscribe, then subscribe again); none by default.
    fn resubscribe(&self, _stream: &StreamId) -> Vec<String> {
        Vec::new()
    }

    /// The channels this venue has, in the order `foxtrot venues` lists them.
    fn channels(&self) -> &'static [Channel];

    /// Whether the venue has `channel`.
    fn has_channel(&self, channel: Channel) -> bool {
        self.channels().contains(&channel)
    }

    /// Validates a symbol as typed by a user, in the venue's own spelling (and case rules).
    fn parse_symbol(&self, text: &str) -> Result<Symbol, SymbolError> {
        Symbol::parse(text)
    }

    /// The venue's limits; defaults of the tunables that the user does not set.
    fn limits(&self) -> Limits;

    /// The application-level heartbeat, and the longest silence a healthy connection has.
    fn heartbeat(&self) -> Heartbeat;

    /// Which route (URL path family) `stream` must be dialed on. Streams of different routes
    /// never share a connection. Most venues have one route (0).
    fn route(&self, _stream: &StreamId) -> u8 {
        0
    }

    /// The plan of ONE connection carrying `streams`: all on one route, at most
    /// [`Limits::streams_per_connection`] of them. `endpoint` is the base URL.
    fn plan(&self, endpoint: &str, streams: &[StreamId]) -> Plan;

    /// Decodes one text frame received at `recv_ns` (ns since the Unix epoch). Ticks go to
    /// `out.ticks` (several when the venue batches), depth updates to `out.depth`; the caller
    /// clears `out` and reuses it, so no tick costs an allocation.
    fn decode(&self, frame: &str, recv_ns: u64, out: &mut Out) -> Result<Decoded, DecodeError>;

    /// Whether `frame` is market data for sure, told by its first bytes without decoding it:
    /// never an answer, an error or a notice about the connection. A raw-only capture
    /// (`record --raw` without `--out`) decodes only the frames this says no to. `false`
    /// (the default) has every frame decoded.
    fn is_data(&self, _frame: &str) -> bool {
        false
    }
}

/// How a venue's order books are kept in sync (see `crate::book`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookSync {
    /// The venue has no `depth`/`book` channels.
    None,
    /// Diff events on the stream plus a REST snapshot (Binance's procedure).
    RestSnapshot {
        /// Spot or USD-M futures sequence rules.
        rules: crate::book::sync::Rules,
        /// The snapshot path under the REST endpoint (`/api/v3/depth`).
        path: &'static str,
        /// Levels a side asked of the snapshot.
        limit: usize,
        /// The request weight of one snapshot.
        weight: u64,
        /// Request weight per minute foxtrot allows itself (a share of the venue's limit).
        weight_per_minute: u64,
    },
    /// The venue pushes whole books and then changes over the WebSocket (Bybit, OKX).
    Pushed(crate::book::pushed::Continuity),
}

/// What one connection dials and sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The URL to dial.
    pub url: String,
    /// Requests to send after the handshake, in order, spaced by the venue's message rate.
    pub subscribes: Vec<Subscribe>,
}

/// One subscribe request and the answers that settle it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribe {
    /// The text frame to send.
    pub message: String,
    /// The answers expected: each key, and the streams its ack confirms (or its error
    /// rejects). One key for venues that echo a request id; one per stream for venues that
    /// echo each subscribed arg.
    pub acks: Vec<(AckKey, Vec<StreamId>)>,
}

/// What ties an answer to the request (or arg) it answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AckKey {
    /// An integer request id (Binance).
    Id(u64),
    /// A string request id (Bybit's `req_id`).
    Text(String),
    /// The subscribed arg, echoed (OKX: `channel` and `instId`, in the venue's own form).
    Arg(String),
}

/// Client-side liveness the venue asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// A text frame the client sends to keep the connection alive, if the venue wants one
    /// (Bybit `{"op":"ping"}`, OKX `ping`); the venue's answer decodes as [`Control::Pong`].
    pub ping: Option<&'static str>,
    /// How often the ping goes out.
    pub every: Duration,
    /// Send only after this long without any frame from the server (OKX), rather than on a
    /// fixed period (Bybit).
    pub when_idle: bool,
    /// The default `--stale-after`: longer than the longest silence a healthy connection
    /// has (the server's ping interval, or our ping's round trip).
    pub stale_after: Duration,
}

impl Heartbeat {
    /// No application heartbeat: the server pings at the WebSocket level every `server_ping`.
    pub const fn server_pings(server_ping: Duration) -> Heartbeat {
        Heartbeat {
            ping: None,
            every: server_ping,
            when_idle: false,
            // Half an interval on top, for delay and a late ping.
            stale_after: Duration::from_millis(
                server_ping.as_millis() as u64 + server_ping.as_millis() as u64 / 2,
            ),
        }
    }
}

/// A venue's documented limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Default streams per connection.
    pub streams_per_connection: usize,
    /// The most streams one connection may carry.
    pub max_streams_per_connection: usize,
    /// The most streams in one subscribe request.
    pub subscribe_batch: usize,
    /// Client messages per second per connection (subscribes and pings).
    pub messages_per_second: u32,
    /// Connection attempts per period, per IP.
    pub connect_attempts: (usize, Duration),
    /// The server closes connections this old; foxtrot replaces them before.
    pub max_connection_age: Duration,
    /// The longest URL to dial; streams beyond it go in subscribe requests.
    pub max_url_len: usize,
}

impl Limits {
    /// The space between two client messages that keeps under the rate, with room for a
    /// pong or ping.
    pub fn message_spacing(&self) -> Duration {
        Duration::from_millis(1000 / u64::from(self.messages_per_second.max(2) - 1))
    }
}

/// What one frame turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Market data: zero or more ticks were added to [`Out::ticks`] (and depth updates to
    /// [`Out::depth`]).
    Data,
    /// A message about the connection rather than the market.
    Control(Control),
    /// Well-formed market data of a kind foxtrot does not normalize.
    Unsupported,
}

/// Messages about the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// A request (or one arg of it) was answered successfully.
    Ack {
        /// What the answer names, when it names anything.
        key: Option<AckKey>,
    },
    /// The server refused a request or the connection.
    Error {
        /// The venue's error code.
        code: i64,
        /// The venue's message.
        msg: String,
        /// What the answer names, when it names anything.
        key: Option<AckKey>,
    },
    /// The answer to our application-level ping.
    Pong,
    /// The server will close this connection soon; reconnect elsewhere.
    ServerShutdown {
        /// Exchange event time, ms since the Unix epoch.
        event_time: u64,
    },
}

/// The caller's buffer a decoder writes into, cleared and reused frame after frame.
#[derive(Debug, Default)]
pub struct Out {
    /// Ticks of the frame, in the venue's order.
    pub ticks: Vec<Tick>,
    /// Order-book updates of the frame (the hook for `book`: no venue emits them yet).
    pub depth: Vec<DepthUpdate>,
    /// Price levels of the depth updates; each update names its ranges here.
    pub levels: Vec<Level>,
    /// The decoder's memory across frames of this connection, kept by [`Out::clear`]: a
    /// venue that sends deltas of a channel's fields (Bybit's linear tickers) merges them
    /// here so every row is whole. Each venue keeps its own type in it.
    pub state: Option<Box<dyn std::any::Any + Send>>,
}

impl Out {
    /// Empties the buffer, keeping its memory.
    #[inline]
    pub fn clear(&mut self) {
        self.ticks.clear();
        self.depth.clear();
        self.levels.clear();
    }

    /// The bids and asks of `update`.
    pub fn levels_of(&self, update: &DepthUpdate) -> (&[Level], &[Level]) {
        let range = |r: &std::ops::Range<u32>| &self.levels[r.start as usize..r.end as usize];
        (range(&update.bids), range(&update.asks))
    }

    /// `update`'s bid and ask levels as changes keyed for a book; a level the book cannot
    /// key (a negative size, a price past its precision) refuses the whole update.
    pub fn changes_of(
        &self,
        update: &DepthUpdate,
    ) -> Result<(Vec<Change>, Vec<Change>), LevelError> {
        let changes = |levels: &[Level]| -> Result<Vec<Change>, LevelError> {
            levels
                .iter()
                .map(|l| Change::from_decimals(l.price, l.qty))
                .collect()
        };
        let (bids, asks) = self.levels_of(update);
        Ok((changes(bids)?, changes(asks)?))
    }
}

impl DepthUpdate {
    /// The update as the REST-snapshot sync's event (Binance's `U`, `u`, `pu`), with its
    /// levels as [`Out::changes_of`] gave them.
    pub fn event(&self, (bids, asks): (Vec<Change>, Vec<Change>)) -> DepthEvent {
        DepthEvent {
            first_id: self.first_update_id.unwrap_or(self.last_update_id),
            last_id: self.last_update_id,
            prev_id: self.prev_update_id,
            exchange_ns: self.exchange_ns,
            recv_ns: self.recv_ns,
            bids,
            asks,
        }
    }
}

/// One order-book message: a full snapshot or a diff, with the sequence numbers a book
/// needs to check continuity. The venue fills what it has; sequence rules live in the venue
/// (checked by `book`), and a REST snapshot may be needed first ([`Exchange::default_rest_endpoint`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepthUpdate {
    /// The market.
    pub symbol: Symbol,
    /// A full book replaces what is held; a diff changes levels (quantity 0 removes).
    pub snapshot: bool,
    /// First update id in this message (Binance `U`), when the venue gives one.
    pub first_update_id: Option<u64>,
    /// Last update id in this message (Binance `u`, Bybit `u`, OKX `seqId`).
    pub last_update_id: u64,
    /// The previous message's last update id (Binance futures `pu`, OKX `prevSeqId`).
    pub prev_update_id: Option<u64>,
    /// The venue's checksum of the top of the book (OKX), if any.
    pub checksum: Option<i64>,
    /// Exchange event time, ns since the Unix epoch; 0 when the venue gives none.
    pub exchange_ns: u64,
    /// Receive time, ns since the Unix epoch.
    pub recv_ns: u64,
    /// Bid levels, as a range of [`Out::levels`].
    pub bids: std::ops::Range<u32>,
    /// Ask levels, as a range of [`Out::levels`].
    pub asks: std::ops::Range<u32>,
}

/// One price level: the venue's decimal text for both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// Price.
    pub price: Decimal,
    /// Quantity; zero removes the level in a diff.
    pub qty: Decimal,
}

/// Why a frame could not be decoded. Callers count these by [`DecodeError::kind`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not valid JSON, or a field had the wrong type.
    #[error("malformed frame: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON of a shape the venue does not send.
    #[error("unrecognised message shape")]
    UnknownShape,
    /// A price or quantity that is not plain decimal text.
    #[error("field {field}: {source}")]
    Decimal {
        /// The wire field name.
        field: &'static str,
        /// The refused text.
        source: crate::tick::DecimalError,
    },
    /// A symbol the venue's rules refuse.
    #[error(transparent)]
    Symbol(#[from] crate::tick::SymbolError),
}

impl DecodeError {
    /// A short stable name for counting and rate-limited logging.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Json(_) => "malformed",
            DecodeError::UnknownShape => "unknown_shape",
            DecodeError::Decimal { .. } => "bad_decimal",
            DecodeError::Symbol(_) => "bad_symbol",
        }
    }
}

/// Splits `streams` into connections: by venue, then route, then at most `per_connection`
/// streams each, keeping the given order within each group.
pub fn shard(streams: &[StreamId], per_connection: usize) -> Vec<Vec<StreamId>> {
    let mut groups: Vec<((Venue, u8), Vec<StreamId>)> = Vec::new();
    for stream in streams {
        let key = (stream.venue, stream.venue.exchange().route(stream));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.push(stream.clone()),
            None => groups.push((key, vec![stream.clone()])),
        }
    }
    groups
        .into_iter()
        .flat_map(|(_, group)| {
            group
                .chunks(per_connection.max(1))
                .map(<[StreamId]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The event time `time` (ms or µs since the Unix epoch, told apart by magnitude: µs
/// values passed 10^14 in 1973, ms values will not before the year 5138) in ns; 0 stays 0.
#[inline]
pub fn epoch_ns(time: u64) -> u64 {
    if time < 100_000_000_000_000 {
        time.saturating_mul(1_000_000)
    } else {
        time.saturating_mul(1_000)
    }
}

/// Lines for `foxtrot venues`: each venue, its endpoint and its channels.
pub fn describe_all() -> String {
    let mut text = String::new();
    for venue in Venue::ALL {
        let exchange = venue.exchange();
        let channels: Vec<&str> = exchange.channels().iter().map(|c| c.as_str()).collect();
        text.push_str(&format!(
            "{:<16} {}\n{:<16} channels: {}\n",
            venue.name(),
            exchange.default_endpoint(),
            "",
            channels.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests;
