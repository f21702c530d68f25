//! The JSONL form of a raw capture: one object per [`Record`], keys in this order:
//!
//! ```text
//! {"recv_ns":1764748800123456789,"exchange":"binance","conn":1,"event":"connect","url":"wss://...","streams":["BTCUSDT@trade"]}
//! {"recv_ns":...,"exchange":"binance","conn":1,"event":"send","text":"{\"method\":\"SUBSCRIBE\",...}"}
//! {"recv_ns":...,"exchange":"binance","conn":1,"event":"text","text":"{\"e\":\"trade\",...}"}
//! {"recv_ns":...,"exchange":"binance","conn":1,"event":"binary","base64":"AAEC"}
//! {"recv_ns":...,"exchange":"binance","conn":1,"event":"close","code":1000,"reason":"bye"}
//! {"recv_ns":...,"exchange":"binance","conn":1,"event":"rest","url":"https://.../api/v3/depth?symbol=BTCUSDT&limit=1000","text":"{\"lastUpdateId\":...}"}
//! {"recv_ns":...,"exchange":"binance","conn":1,"event":"disconnect"}
//! {"recv_ns":...,"exchange":"binance","conn":2,"event":"disconnect","reason":"stalled"}
//! {"recv_ns":...,"exchange":"binance","conn":2,"event":"stop"}
//! {"recv_ns":...,"exchange":"binance","conn":3,"event":"gap","reason":"rejected","from_ns":...,"streams":["NOPEUSDT@trade"]}
//! {"recv_ns":...,"exchange":"binance","conn":0,"event":"gap","reason":"never_connected","from_ns":...,"streams":["BTCUSDT@trade"]}
//! ```
//!
//! A `gap` record is a gap the run wrote that the frames cannot tell again (see
//! [`super::DECIDED_GAPS`]), from `from_ns` to its `recv_ns`, for each stream listed;
//! `conn` 0 is a connection that never opened a socket.
//!
//! A `disconnect` has a `reason` (`disconnected`, `stalled`, `oversized`: the gap records'
//! reason) when the connection task lost the socket it read and reconnects; none when the
//! socket was closed on purpose (the run's end, a make-before-break). Captures written
//! before foxtrot recorded reasons have none. A `stop` follows a socket's disconnect when
//! the run ended before its connection could reconnect (the end of that gap).
//!
//! A payload (`send`, `text`, `binary`, `ping`, `pong`, a `rest` answer) is `"json"`, the
//! payload itself, when it is one line of JSON ([`super::json`]: a venue's frames, copied
//! with no escaping); `"text"`, a JSON string, when it is other UTF-8 (newlines and quotes
//! escaped, so one record is one line); and `"base64"` (standard alphabet, padded)
//! otherwise: every byte survives.
//!
//! ```text
//! {"recv_ns":...,"exchange":"binance","conn":1,"event":"text","json":{"stream":"btcusdt@trade","data":{...}}}
//! ```

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Event, Record, json};
use crate::exchange::{StreamId, Venue};
use crate::tick::Channel;

/// Appends `record` as one line, ending in `\n`.
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    head(record, out);
    event(record, None, out);
}

/// Appends what opens `record`'s line: `{"recv_ns":…,"exchange":…,"conn":…`. The records
/// of a burst share it (one clock reading per burst), so a writer may keep it
/// ([`Head`]).
pub fn head(record: &Record, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"recv_ns\":");
    out.extend_from_slice(itoa::Buffer::new().format(record.recv_ns).as_bytes());
    out.extend_from_slice(b",\"exchange\":\"");
    out.extend_from_slice(record.venue.as_bytes());
    out.extend_from_slice(b"\",\"conn\":");
    out.extend_from_slice(itoa::Buffer::new().format(record.conn).as_bytes());
}

/// The last [`head`] written, kept while records share it.
#[derive(Default)]
pub struct Head {
    of: Option<(u64, Venue, u32)>,
    text: Vec<u8>,
}

impl Head {
    /// Appends `record` as one line, ending in `\n`, as [`encode`] does; a payload
    /// `payload` in place of the record's own, if given.
    pub fn encode(&mut self, record: &Record, payload: Option<&[u8]>, out: &mut Vec<u8>) {
        let of = Some((record.recv_ns, record.venue, record.conn));
        if self.of != of {
            self.text.clear();
            head(record, &mut self.text);
            self.of = of;
        }
        out.extend_from_slice(&self.text);
        event(record, payload, out);
    }
}

/// Appends the rest of `record`'s line, from its `"event"` on, and the line's end; a
/// frame's payload is `given` if it is.
fn event(record: &Record, given: Option<&[u8]>, out: &mut Vec<u8>) {
    let payload = |out: &mut Vec<u8>, name: &str, bytes: &Bytes| {
        out.extend_from_slice(b",\"event\":\"");
        out.extend_from_slice(name.as_bytes());
        out.push(b'"');
        body(given.unwrap_or(bytes), out);
    };
    match &record.event {
        Event::Connect { url, streams } => {
            out.extend_from_slice(b",\"event\":\"connect\",\"url\":");
            string(url, out);
            stream_list(streams, out);
        }
        Event::Gap {
            streams,
            from_ns,
            reason,
        } => {
            out.extend_from_slice(b",\"event\":\"gap\",\"reason\":");
            string(reason, out);
            out.extend_from_slice(b",\"from_ns\":");
            out.extend_from_slice(itoa::Buffer::new().format(*from_ns).as_bytes());
            stream_list(streams, out);
        }
        Event::Disconnect { lost } => {
            out.extend_from_slice(b",\"event\":\"disconnect\"");
            if let Some(reason) = lost {
                out.extend_from_slice(b",\"reason\":");
                string(reason, out);
            }
        }
        Event::Send(b) => payload(out, "send", b),
        Event::Text(b) => payload(out, "text", b),
        Event::Binary(b) => payload(out, "binary", b),
        Event::Ping(b) => payload(out, "ping", b),
        Event::Pong(b) => payload(out, "pong", b),
        Event::Stop => out.extend_from_slice(b",\"event\":\"stop\""),
        Event::Rest { url, answer } => {
            out.extend_from_slice(b",\"event\":\"rest\",\"url\":");
            string(url, out);
            match answer {
                Ok(bytes) => body(bytes, out),
                Err(error) => {
                    out.extend_from_slice(b",\"error\":");
                    string(error, out);
                }
            }
        }
        Event::Close(frame) => {
            out.extend_from_slice(b",\"event\":\"close\"");
            if let Some((code, reason)) = frame {
                out.extend_from_slice(b",\"code\":");
                out.extend_from_slice(itoa::Buffer::new().format(*code).as_bytes());
                out.extend_from_slice(b",\"reason\":");
                string(reason, out);
            }
        }
    }
    out.extend_from_slice(b"}\n");
}

/// `,"streams":["SYMBOL@channel",...]`.
fn stream_list(streams: &[StreamId], out: &mut Vec<u8>) {
    out.extend_from_slice(b",\"streams\":[");
    for (i, s) in streams.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(&format!("{}@{}", s.symbol, s.channel), out);
    }
    out.push(b']');
}

/// A payload: `"json"`, the payload itself, when it is one line of JSON ([`json`]);
/// `"text"`, a JSON string, when it is other UTF-8; `"base64"` otherwise.
fn body(bytes: &[u8], out: &mut Vec<u8>) {
    if json::is_one_line(bytes) {
        out.extend_from_slice(b",\"json\":");
        out.extend_from_slice(bytes);
        return;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            out.extend_from_slice(b",\"text\":");
            string(text, out);
        }
        Err(_) => {
            out.extend_from_slice(b",\"base64\":\"");
            out.extend_from_slice(BASE64.encode(bytes).as_bytes());
            out.push(b'"');
        }
    }
}

fn string(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
}

/// Why a line is not a raw record.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON of the record's shape.
    #[error("not a raw capture record: {0}")]
    Json(#[from] serde_json::Error),
    /// An exchange foxtrot does not know.
    #[error("unknown exchange {0:?}")]
    Venue(String),
    /// An event foxtrot does not know, or one without its fields.
    #[error("unknown or incomplete event {0:?}")]
    Event(String),
    /// A `disconnect` record whose loss reason foxtrot does not know.
    #[error("unknown disconnect reason {0:?}")]
    Reason(String),
    /// A `base64` payload that does not decode.
    #[error("bad base64 payload: {0}")]
    Base64(#[from] base64::DecodeError),
}

#[derive(Deserialize)]
struct Line {
    recv_ns: u64,
    exchange: String,
    conn: u32,
    event: String,
    text: Option<String>,
    json: Option<Box<RawValue>>,
    base64: Option<String>,
    url: Option<String>,
    streams: Option<Vec<String>>,
    code: Option<u16>,
    reason: Option<String>,
    error: Option<String>,
    from_ns: Option<u64>,
}

/// Whether `line` looks like a raw capture record (not a venue message or a tick row).
pub fn is_record(line: &str) -> bool {
    line.starts_with("{\"recv_ns\":") && line.contains(",\"conn\":")
}

/// Reads one line written by [`encode`].
pub fn parse(line: &str) -> Result<Record, ParseError> {
    let l: Line = serde_json::from_str(line)?;
    let venue =
        Venue::from_name(&l.exchange).ok_or_else(|| ParseError::Venue(l.exchange.clone()))?;
    let payload = |l: &Line| -> Result<Bytes, ParseError> {
        match (&l.text, &l.json, &l.base64) {
            (Some(t), _, _) => Ok(Bytes::from(t.clone().into_bytes())),
            (None, Some(j), _) => Ok(Bytes::copy_from_slice(j.get().as_bytes())),
            (None, None, Some(b)) => Ok(Bytes::from(BASE64.decode(b)?)),
            (None, None, None) => Err(ParseError::Event(l.event.clone())),
        }
    };
    let event = match l.event.as_str() {
        "connect" => Event::Connect {
            url: Arc::from(l.url.clone().unwrap_or_default()),
            streams: streams(venue, &l),
        },
        "gap" => Event::Gap {
            streams: streams(venue, &l),
            from_ns: l
                .from_ns
                .ok_or_else(|| ParseError::Event(l.event.clone()))?,
            reason: match l.reason.as_deref() {
                Some(reason) => super::DECIDED_GAPS
                    .into_iter()
                    .find(|r| *r == reason)
                    .ok_or_else(|| ParseError::Reason(reason.to_owned()))?,
                None => return Err(ParseError::Event(l.event)),
            },
        },
        "disconnect" => Event::Disconnect {
            lost: match l.reason.as_deref() {
                None => None,
                Some(reason) => Some(
                    super::LOSS_REASONS
                        .into_iter()
                        .find(|r| *r == reason)
                        .ok_or_else(|| ParseError::Reason(reason.to_owned()))?,
                ),
            },
        },
        "send" => Event::Send(payload(&l)?),
        "text" => Event::Text(payload(&l)?),
        "binary" => Event::Binary(payload(&l)?),
        "ping" => Event::Ping(payload(&l)?),
        "pong" => Event::Pong(payload(&l)?),
        "stop" => Event::Stop,
        "rest" => Event::Rest {
            url: Arc::from(l.url.clone().unwrap_or_default()),
            answer: match &l.error {
                Some(error) => Err(error.clone()),
                None => Ok(payload(&l)?),
            },
        },
        "close" => Event::Close(l.code.map(|c| (c, l.reason.clone().unwrap_or_default()))),
        _ => return Err(ParseError::Event(l.event)),
    };
    Ok(Record {
        recv_ns: l.recv_ns,
        venue,
        conn: l.conn,
        event,
    })
}

/// The streams a `connect` or `gap` record lists (those of venues' symbols it can read).
fn streams(venue: Venue, l: &Line) -> Arc<[StreamId]> {
    l.streams
        .iter()
        .flatten()
        .filter_map(|s| stream(venue, s))
        .collect()
}

/// `SYMBOL@channel` as the connect record lists streams.
fn stream(venue: Venue, text: &str) -> Option<StreamId> {
    let (symbol, channel) = text.rsplit_once('@')?;
    let channel = Channel::ALL.into_iter().find(|c| c.as_str() == channel)?;
    let symbol = venue.exchange().parse_symbol(symbol).ok()?;
    Some(StreamId::new(venue, symbol, channel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tick::Symbol;

    fn record(event: Event) -> Record {
        Record {
            recv_ns: 1_764_748_800_123_456_789,
            venue: Venue::Binance,
            conn: 7,
            event,
        }
    }

    #[test]
    fn every_event_round_trips_byte_for_byte() {
        let streams: Arc<[StreamId]> = vec![StreamId::new(
            Venue::Binance,
            Symbol::parse("BTCUSDT").unwrap(),
            Channel::Trade,
        )]
        .into();
        let events = [
            Event::Connect {
                url: "ws://127.0.0.1:1/ws/btcusdt@trade".into(),
                streams: streams.clone(),
            },
            Event::Send(Bytes::from_static(b"{\"method\":\"SUBSCRIBE\"}")),
            Event::Text(Bytes::from_static(
                "line\none \"quoted\" \u{e9}\\".as_bytes(),
            )),
            Event::Text(Bytes::from_static(
                b"{\"a\": [1, 2.5e-3] ,\t\"b\":\"\xc3\xa9\",\"c\":{}}",
            )),
            Event::Text(Bytes::from_static(b" {\"space\":\"before\"}")),
            Event::Binary(Bytes::from_static(b"\x00\xff\xfe\n\r not utf-8")),
            Event::Binary(Bytes::from_static(b"{\"json\":\"as binary\"}")),
            Event::Ping(Bytes::new()),
            Event::Pong(Bytes::from_static(b"\x80")),
            Event::Close(Some((1000, "bye".into()))),
            Event::Close(None),
            Event::Rest {
                url: "http://127.0.0.1:1/api/v3/depth?symbol=BTCUSDT&limit=1000".into(),
                answer: Ok(Bytes::from_static(
                    b"{\"lastUpdateId\":1,\"bids\":[],\"asks\":[]}",
                )),
            },
            Event::Rest {
                url: "http://127.0.0.1:1/api/v3/depth?symbol=BTCUSDT&limit=1000".into(),
                answer: Err("REST snapshot answered 500: down".into()),
            },
            Event::Disconnect { lost: None },
            Event::Stop,
            Event::Gap {
                streams: streams.clone(),
                from_ns: 1_764_748_800_000_000_000,
                reason: "never_connected",
            },
            Event::Disconnect {
                lost: Some("stalled"),
            },
        ];
        for event in events {
            let record = record(event);
            let mut line = Vec::new();
            encode(&record, &mut line);
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
            let text = std::str::from_utf8(&line).unwrap();
            assert!(is_record(text), "{text}");
            assert_eq!(parse(text.trim_end()).unwrap(), record, "{text}");
        }
    }

    #[test]
    fn a_kept_head_changes_with_the_time_the_venue_and_the_socket() {
        let mut head = Head::default();
        let mut want = Vec::new();
        let mut got = Vec::new();
        let text = || Event::Text(Bytes::from_static(b"[1]"));
        let mut records = vec![record(text()), record(Event::Stop), record(text())];
        records.push(Record {
            recv_ns: 5,
            ..record(text())
        });
        records.push(Record {
            conn: 8,
            ..record(text())
        });
        records.push(Record {
            venue: Venue::Okx,
            ..record(text())
        });
        records.push(record(text()));
        for r in &records {
            encode(r, &mut want);
            head.encode(r, None, &mut got);
        }
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }

    #[test]
    fn json_payloads_are_json_other_utf8_text_and_the_rest_base64() {
        let line = |event| {
            let mut line = Vec::new();
            encode(&record(event), &mut line);
            String::from_utf8_lossy(&line).into_owned()
        };
        assert!(line(Event::Binary(Bytes::from_static(b"\xff"))).contains("\"base64\":\"/w==\""));
        assert_eq!(
            line(Event::Text(Bytes::from_static(b"{\"a\":[1]}"))),
            "{\"recv_ns\":1764748800123456789,\"exchange\":\"binance\",\"conn\":7,\"event\":\"text\",\"json\":{\"a\":[1]}}\n"
        );
        assert!(line(Event::Text(Bytes::from_static(b"pong"))).ends_with(",\"text\":\"pong\"}\n"));
        assert!(line(Event::Text(Bytes::from_static(b"{\n}"))).ends_with(",\"text\":\"{\\n}\"}\n"));
    }

    #[test]
    fn bad_lines_are_refused_with_a_reason() {
        for (line, want) in [
            ("{}", "not a raw capture record"),
            (
                r#"{"recv_ns":1,"exchange":"nope","conn":1,"event":"text","text":""}"#,
                "unknown exchange",
            ),
            (
                r#"{"recv_ns":1,"exchange":"binance","conn":1,"event":"text"}"#,
                "incomplete event",
            ),
            (
                r#"{"recv_ns":1,"exchange":"binance","conn":1,"event":"binary","base64":"!"}"#,
                "bad base64",
            ),
        ] {
            let err = parse(line).unwrap_err().to_string();
            assert!(err.contains(want), "{line}: {err}");
        }
    }
}
