//! Venues: how to reach one and how to read its messages.
//!
//! Each venue is one file implementing [`Exchange`]: the URL that subscribes to a set of
//! streams, and a decoder from one text frame to a [`Decoded`] message. This module owns
//! that contract; it does no I/O (the connection task in `connection.rs` does).

pub mod binance;

use crate::tick::{Channel, Symbol, Tick};

/// One subscribed stream: a symbol on a channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    /// The market.
    pub symbol: Symbol,
    /// The channel.
    pub channel: Channel,
}

/// A venue's public market-data API.
pub trait Exchange: Send + Sync + 'static {
    /// The venue's name as written in output, such as `binance`.
    fn name(&self) -> &'static str;

    /// The production base URL, used when the user gives no `--endpoint`.
    fn default_endpoint(&self) -> &'static str;

    /// The URL that, once connected, delivers all of `streams` (base URL plus the venue's path).
    fn stream_url(&self, endpoint: &str, streams: &[StreamId]) -> String;

    /// The request that subscribes an open connection to `streams` (for streams that do not
    /// fit in the URL), tagged with `id` so the answer can be matched.
    fn subscribe_message(&self, id: u64, streams: &[StreamId]) -> String;

    /// Decodes one text frame received at `recv_ns` (ns since the Unix epoch).
    fn decode(&self, frame: &str, recv_ns: u64) -> Result<Decoded, DecodeError>;
}

/// What one frame turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Market data on a channel foxtrot normalizes.
    Tick(Tick),
    /// A message about the connection rather than the market.
    Control(Control),
    /// Well-formed market data of a kind foxtrot does not normalize (depth, kline, ...).
    Unsupported,
}

/// Messages about the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// A request was answered successfully (`{"result":...,"id":N}`).
    Ack {
        /// The request id, when the server echoed one.
        id: Option<u64>,
    },
    /// The server refused a request or the connection.
    Error {
        /// The venue's error code.
        code: i64,
        /// The venue's message.
        msg: String,
        /// The request id, when the server echoed one.
        id: Option<u64>,
    },
    /// The server will close this connection soon; reconnect elsewhere.
    ServerShutdown {
        /// Exchange event time, ms since the Unix epoch.
        event_time: u64,
    },
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
    /// A symbol that is not 1 to 20 letters or digits.
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
