//! What the fault knobs of [`Behavior`](super::Behavior) put on the wire: refused
//! handshakes and injected frames.
//!
//! This module owns the fault types a user names on the command line ([`Refusal`],
//! [`Injection`]) with their text forms, and builds what each one sends: the HTTP error of
//! a refusal, the text of an injected frame. It does no I/O and does not decide when a
//! fault fires; `behavior` and `session` do.

use std::borrow::Cow;
use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_tungstenite::tungstenite::handshake::server::ErrorResponse;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};

use super::endpoint::Framing;
use super::library::frame_combined;

/// The default size of an `oversized` injection: 2 MiB, far above any real Binance frame.
pub const DEFAULT_OVERSIZED_BYTES: usize = 2 * 1024 * 1024;

/// A real spot bookTicker payload (from the project's fixtures), the base of a truncated
/// or oversized frame when the connection has not sent a data message yet.
const SAMPLE: &str = r#"{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}"#;

/// The stream [`SAMPLE`] is named under in combined framing.
const SAMPLE_STREAM: &str = "btcusdt@bookTicker";

/// A frame that starts like a combined frame and is not JSON.
const MALFORMED: &str = r#"{"stream":#garbage# not JSON"#;

/// The field an oversized frame is padded with; Binance names its fields with one letter,
/// so a decoder that ignores unknown fields skips it.
const PADDING_FIELD: &str = "padding";

/// A text form of a fault that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseFaultError {
    /// `--refuse` got a status other than 429, 418 or 503.
    #[error("unsupported status {0:?} (expected 429, 418 or 503)")]
    Status(String),
    /// `--inject` got a kind it does not know.
    #[error(
        "unknown injection {0:?} (expected malformed, truncated, oversized or server-shutdown)"
    )]
    Kind(String),
    /// `--inject` got no `@N`.
    #[error("expected KIND@N, such as malformed@10")]
    Shape,
    /// `--inject` got an `N` that is not a count.
    #[error("bad message count after '@' ({0})")]
    Count(ParseIntError),
}

/// The HTTP status a refused handshake is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalStatus {
    /// 429 Too Many Requests: Binance's answer to a client over its connection-rate limit.
    TooManyRequests,
    /// 418 I'm a teapot: Binance's answer to a client that went on after 429s (an IP ban).
    Banned,
    /// 503 Service Unavailable: the venue is overloaded or in maintenance.
    Unavailable,
}

impl RefusalStatus {
    /// The HTTP status code.
    pub fn code(self) -> u16 {
        self.status().as_u16()
    }

    fn status(self) -> StatusCode {
        match self {
            RefusalStatus::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            RefusalStatus::Banned => StatusCode::IM_A_TEAPOT,
            RefusalStatus::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl FromStr for RefusalStatus {
    type Err = ParseFaultError;

    /// Reads `429`, `418` or `503`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "429" => Ok(RefusalStatus::TooManyRequests),
            "418" => Ok(RefusalStatus::Banned),
            "503" => Ok(RefusalStatus::Unavailable),
            _ => Err(ParseFaultError::Status(text.to_owned())),
        }
    }
}

impl fmt::Display for RefusalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// Refuse WebSocket handshakes with an HTTP error instead of upgrading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The status of the error response.
    pub status: RefusalStatus,
    /// Seconds to send in a `Retry-After` header; none is sent when `None`.
    pub retry_after: Option<u64>,
    /// Refuse only the first this-many handshakes of the server (over all clients), then
    /// accept; `None` refuses every one.
    pub first: Option<u64>,
}

impl Refusal {
    /// Refuses every handshake with `status`, without `Retry-After`.
    pub fn new(status: RefusalStatus) -> Refusal {
        Refusal {
            status,
            retry_after: None,
            first: None,
        }
    }

    /// Whether to refuse one more handshake; `refused` counts this fault's refusals so far
    /// on the server and is bumped when the answer is yes.
    pub(crate) fn claim(&self, refused: &AtomicU64) -> bool {
        match self.first {
            None => {
                refused.fetch_add(1, Ordering::Relaxed);
                true
            }
            Some(first) => refused
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    (n < first).then_some(n + 1)
                })
                .is_ok(),
        }
    }

    /// The HTTP error response of a refused handshake.
    pub(crate) fn response(&self) -> ErrorResponse {
        let status = self.status.status();
        let reason = status.canonical_reason().unwrap_or("refused");
        let mut response = ErrorResponse::new(Some(reason.to_owned()));
        *response.status_mut() = status;
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// What an injected frame holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectionKind {
    /// A text frame that starts like a combined frame and is not JSON.
    Malformed,
    /// The connection's last data frame (or a bookTicker, before the first) cut in half.
    Truncated,
    /// The connection's last data frame (or a bookTicker) padded with an ignored string
    /// field to [`Behavior::oversized_bytes`](super::Behavior::oversized_bytes).
    Oversized,
    /// Binance's notice of a coming disconnect: `{"e":"serverShutdown","E":<ms>}`, inside
    /// a combined frame on the `!serverShutdown` stream where the connection is combined.
    ServerShutdown,
}

impl InjectionKind {
    const ALL: [InjectionKind; 4] = [
        InjectionKind::Malformed,
        InjectionKind::Truncated,
        InjectionKind::Oversized,
        InjectionKind::ServerShutdown,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            InjectionKind::Malformed => "malformed",
            InjectionKind::Truncated => "truncated",
            InjectionKind::Oversized => "oversized",
            InjectionKind::ServerShutdown => "server-shutdown",
        }
    }
}

/// One frame sent once per connection right after its `after`-th data message (0: before
/// the first; never if the connection sends fewer). Injected frames are not data
/// messages: they do not count towards `limit`, `close_after` and the like, and go out
/// before whatever those do at the same count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Injection {
    /// What to send.
    pub kind: InjectionKind,
    /// After how many data messages.
    pub after: u64,
}

impl FromStr for Injection {
    type Err = ParseFaultError;

    /// Reads `KIND@N`, such as `malformed@10` or `server-shutdown@0`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kind, after) = text.trim().split_once('@').ok_or(ParseFaultError::Shape)?;
        let kind = InjectionKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(kind))
            .ok_or_else(|| ParseFaultError::Kind(kind.to_owned()))?;
        let after = after.parse().map_err(ParseFaultError::Count)?;
        Ok(Injection { kind, after })
    }
}

impl fmt::Display for Injection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.kind.name(), self.after)
    }
}

/// The text of an injected frame on a connection with `framing`, whose last data frame
/// was `last` (`None` before the first), at `now_ms` (ms since the Unix epoch).
pub(crate) fn injected_text(
    kind: InjectionKind,
    framing: Framing,
    last: Option<&str>,
    oversized_bytes: usize,
    now_ms: u64,
) -> String {
    match kind {
        InjectionKind::Malformed => MALFORMED.to_owned(),
        InjectionKind::Truncated => {
            let base = base(framing, last);
            let mut cut = base.len() / 2;
            while !base.is_char_boundary(cut) {
                cut -= 1;
            }
            base[..cut].to_owned()
        }
        InjectionKind::Oversized => {
            let base = base(framing, last);
            match object_start(&base, framing) {
                Some(at) => pad(&base, at, oversized_bytes),
                // A payload that is not an object (an `!ticker@arr` array) has no place
                // for a field; pad the sample instead.
                None => {
                    let sample = base_sample(framing);
                    let at = object_start(&sample, framing).unwrap_or(1);
                    pad(&sample, at, oversized_bytes)
                }
            }
        }
        InjectionKind::ServerShutdown => {
            let payload = format!(r#"{{"e":"serverShutdown","E":{now_ms}}}"#);
            match framing {
                Framing::Raw => payload,
                Framing::Combined => {
                    format!(r#"{{"stream":"!serverShutdown","data":{payload}}}"#)
                }
            }
        }
    }
}

fn base(framing: Framing, last: Option<&str>) -> Cow<'_, str> {
    match last {
        Some(last) => Cow::Borrowed(last),
        None => Cow::Owned(base_sample(framing)),
    }
}

fn base_sample(framing: Framing) -> String {
    match framing {
        Framing::Raw => SAMPLE.to_owned(),
        Framing::Combined => frame_combined(SAMPLE_STREAM, SAMPLE).0.to_string(),
    }
}

/// Where the fields of the payload object begin in `frame` (just past its `{`).
fn object_start(frame: &str, framing: Framing) -> Option<usize> {
    match framing {
        Framing::Raw => frame.starts_with('{').then_some(1),
        // Frames are built by `frame_combined`, whose escaped stream name cannot hold
        // this text, so the first match is the payload's.
        Framing::Combined => {
            const DATA: &str = r#","data":{"#;
            frame.find(DATA).map(|i| i + DATA.len())
        }
    }
}

/// `frame` with a `"padding":"xxx…"` field inserted at `at`, `target` bytes long (or just
/// the field's punctuation longer, when `frame` is already that long).
fn pad(frame: &str, at: usize, target: usize) -> String {
    let (head, tail) = frame.split_at(at);
    let comma = if tail.starts_with('}') { "" } else { "," };
    let overhead = PADDING_FIELD.len() + r#""":"""#.len() + comma.len();
    let fill = target.saturating_sub(frame.len() + overhead);
    let mut text = String::with_capacity(frame.len() + overhead + fill);
    text.push_str(head);
    text.push('"');
    text.push_str(PADDING_FIELD);
    text.push_str(r#"":""#);
    text.extend(std::iter::repeat_n('x', fill));
    text.push('"');
    text.push_str(comma);
    text.push_str(tail);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injections_parse_and_print() {
        let ok = |kind, after| Ok(Injection { kind, after });
        let cases = [
            ("malformed@0", ok(InjectionKind::Malformed, 0)),
            ("truncated@7", ok(InjectionKind::Truncated, 7)),
            ("Oversized@12", ok(InjectionKind::Oversized, 12)),
            ("server-shutdown@3", ok(InjectionKind::ServerShutdown, 3)),
            ("malformed", Err(ParseFaultError::Shape)),
            ("bogus@1", Err(ParseFaultError::Kind("bogus".into()))),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Injection>(), want, "{text}");
        }
        assert!(matches!(
            "malformed@-1".parse::<Injection>(),
            Err(ParseFaultError::Count(_))
        ));
        for kind in InjectionKind::ALL {
            let injection = Injection { kind, after: 5 };
            assert_eq!(injection.to_string().parse(), Ok(injection));
        }
    }

    #[test]
    fn statuses_parse() {
        for (text, code) in [("429", 429), ("418", 418), ("503", 503)] {
            let status: RefusalStatus = text.parse().expect(text);
            assert_eq!((status.code(), status.to_string()), (code, text.to_owned()));
        }
        assert_eq!(
            "404".parse::<RefusalStatus>(),
            Err(ParseFaultError::Status("404".into()))
        );
    }

    #[test]
    fn refusing_the_first_k_then_accepting() {
        let refused = AtomicU64::new(0);
        let first_two = Refusal {
            first: Some(2),
            ..Refusal::new(RefusalStatus::TooManyRequests)
        };
        let answers: Vec<bool> = (0..4).map(|_| first_two.claim(&refused)).collect();
        assert_eq!(answers, [true, true, false, false]);
        let all = Refusal::new(RefusalStatus::Unavailable);
        assert!((0..3).all(|_| all.claim(&refused)));
    }

    #[test]
    fn refusal_responses_carry_status_and_retry_after() {
        let response = Refusal {
            retry_after: Some(30),
            ..Refusal::new(RefusalStatus::Banned)
        }
        .response();
        assert_eq!(response.status(), 418);
        assert_eq!(response.headers()[header::RETRY_AFTER], "30");
        let response = Refusal::new(RefusalStatus::Unavailable).response();
        assert_eq!(response.status(), 503);
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn injected_frames() {
        let text = |kind, framing, last| injected_text(kind, framing, last, 4096, 1_770_000_000);
        let combined = frame_combined(SAMPLE_STREAM, SAMPLE).0.to_string();
        for framing in [Framing::Raw, Framing::Combined] {
            let malformed = text(InjectionKind::Malformed, framing, None);
            assert!(malformed.starts_with(r#"{"stream":"#));
            assert!(serde_json::from_str::<serde_json::Value>(&malformed).is_err());
        }
        assert_eq!(
            text(
                InjectionKind::Truncated,
                Framing::Raw,
                Some("{\"a\":\"é\"}")
            ),
            "{\"a\":",
            "cut on a character boundary"
        );
        assert_eq!(
            text(InjectionKind::Truncated, Framing::Combined, None),
            combined[..combined.len() / 2]
        );
        assert_eq!(
            text(InjectionKind::ServerShutdown, Framing::Raw, None),
            r#"{"e":"serverShutdown","E":1770000000}"#
        );
        assert_eq!(
            text(InjectionKind::ServerShutdown, Framing::Combined, None),
            r#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770000000}}"#
        );
    }

    #[test]
    fn oversized_frames_are_valid_json_of_the_requested_size() {
        let check = |framing, last: Option<&str>, target: usize| {
            let text = injected_text(InjectionKind::Oversized, framing, last, target, 0);
            let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            let data = match framing {
                Framing::Raw => &value,
                Framing::Combined => &value["data"],
            };
            assert_eq!(data["s"], "BTCUSDT", "{framing:?}");
            assert!(data[PADDING_FIELD].is_string());
            text.len()
        };
        for framing in [Framing::Raw, Framing::Combined] {
            assert_eq!(check(framing, None, DEFAULT_OVERSIZED_BYTES), 2 << 20);
            assert!(check(framing, None, 10) > SAMPLE.len(), "never shorter");
        }
        let trade = r#"{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT"}}"#;
        assert_eq!(check(Framing::Combined, Some(trade), 1000), 1000);
        let array = r#"{"stream":"!ticker@arr","data":[{"s":"ETHUSDT"}]}"#;
        assert_eq!(check(Framing::Combined, Some(array), 1000), 1000);
        assert_eq!(pad("{}", 1, 0), r#"{"padding":""}"#);
    }
}
