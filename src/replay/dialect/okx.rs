//! OKX's dialect of the replay server: the `/ws/v5/public` path, `subscribe`/`unsubscribe`
//! requests answered arg by arg, the text heartbeat, and the names of recorded OKX frames.
//!
//! As OKX documents it: a client sends `{"op":"subscribe","args":[{"channel":...,
//! "instId":...}]}` (with an optional `"id"`, echoed first in every answer); each valid arg
//! is answered `{"event":"subscribe","arg":{...},"connId":...}`, a refused one
//! `{"event":"error","code":"600xx","msg":...}` (60012 an unreadable request, 60019 an op
//! other than `subscribe`/`unsubscribe`, 60018 an arg naming what does not exist); the text
//! `ping` is answered `pong`; and a connection on which no subscription was established,
//! or that has been pushed nothing, for 30 s is closed ([`IDLE_LIMIT`], or `Behavior::idle_limit`; the session enforces it), so a client
//! that stops its heartbeat on a quiet connection is disconnected. Recorded frames are
//! served as they were captured (they already carry their `arg`). This module owns the
//! protocol text; the session applies subscriptions and sends.
//! <https://www.okx.com/docs-v5/en/#overview-websocket-subscribe>

use std::borrow::Cow;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::super::endpoint::{Dialect, Endpoint, Framing};
use super::super::library::push_json_string;
use super::super::streams::{MAX_STREAMS, Subscriptions};

/// The path of OKX's public market data.
pub(crate) const PATH: &str = "/ws/v5/public";

/// The endpoint of OKX's path; `None` for any other path.
pub(crate) fn parse(path: &str) -> Option<Endpoint> {
    (path == PATH).then(|| Endpoint {
        dialect: Dialect::Okx,
        framing: Framing::Raw,
        streams: Vec::new(),
        route: None,
        micros: false,
    })
}

/// OKX closes a connection that has carried no data for this long.
pub const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// Each request's args may total at most this many bytes.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The connection id this server writes in answers.
const CONN_ID: &str = "f0c7a1e2";

/// The channels a client may subscribe here, and whether each names an `instType`
/// (rather than an `instId`).
const CHANNELS: &[(&str, bool)] = &[
    ("trades", false),
    ("bbo-tbt", false),
    ("tickers", false),
    ("books", false),
    ("books5", false),
    ("funding-rate", false),
    ("liquidation-orders", true),
];

/// The stream name of a recorded OKX data frame (`trades:BTC-USDT`, or
/// `liquidation-orders:SWAP`), or `None` when `line` is not an OKX push (acks, errors and
/// other venues' lines).
pub(crate) fn classify(line: &str) -> Option<Cow<'static, str>> {
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow)]
        arg: Option<ProbeArg<'a>>,
        event: Option<serde::de::IgnoredAny>,
        #[serde(borrow)]
        data: Option<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct ProbeArg<'a> {
        channel: Cow<'a, str>,
        #[serde(rename = "instId")]
        inst_id: Option<Cow<'a, str>>,
        #[serde(rename = "instType")]
        inst_type: Option<Cow<'a, str>>,
    }
    if !line.starts_with(r#"{"arg":"#) {
        return None;
    }
    let probe: Probe<'_> = serde_json::from_str(line).ok()?;
    let (Some(arg), None, Some(_)) = (probe.arg, probe.event, probe.data) else {
        return None;
    };
    let what = arg.inst_id.or(arg.inst_type)?;
    Some(format!("{}:{what}", arg.channel).into())
}

/// What the session does with one text frame from a client.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Answer {
    /// Frames to send back, in order.
    pub(crate) replies: Vec<String>,
    /// The subscriptions changed.
    pub(crate) changed: bool,
    /// The streams this frame subscribed (a book among them starts with a snapshot).
    pub(crate) subscribed: Vec<String>,
}

/// Applies one client frame to `subscriptions` and returns the replies.
pub(crate) fn answer(text: &str, subscriptions: &mut Subscriptions) -> Answer {
    let mut answer = Answer::default();
    if text == "ping" {
        answer.replies.push("pong".to_owned());
        return answer;
    }
    let request = match request(text) {
        Ok(request) => request,
        Err(refused) => {
            answer.replies.push(refused);
            return answer;
        }
    };
    let event = request.op;
    let id = request.id.as_deref();
    for arg in request.args {
        match arg {
            Ok((name, echo)) => {
                let names = [name];
                let done = if event == "subscribe" {
                    let added = subscriptions.add(&names).is_ok();
                    if added {
                        let [name] = names;
                        answer.subscribed.push(name);
                    }
                    added
                } else {
                    subscriptions.remove(&names);
                    true
                };
                if done {
                    answer.changed = true;
                    answer.replies.push(format!(
                        r#"{}"event":"{event}","arg":{echo},"connId":"{CONN_ID}"}}"#,
                        open(id)
                    ));
                } else {
                    answer.replies.push(error(
                        id,
                        64003,
                        &format!("Too many subscriptions (at most {MAX_STREAMS})"),
                    ));
                }
            }
            Err(refused) => answer.replies.push(refused),
        }
    }
    answer
}

/// A request: its op, its `id`, and per arg the stream name and the arg's echo, or the
/// error frame.
struct Request {
    op: &'static str,
    id: Option<String>,
    args: Vec<Result<(String, String), String>>,
}

/// Reads a request; `Err` is the error frame that answers it.
fn request(text: &str) -> Result<Request, String> {
    let invalid = || format!("Invalid request: {text}");
    if text.len() > MAX_REQUEST_BYTES {
        return Err(error(None, 60012, &invalid()));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| error(None, 60012, &invalid()))?;
    let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    let op = match value.get("op").and_then(Value::as_str) {
        Some("subscribe") => "subscribe",
        Some("unsubscribe") => "unsubscribe",
        Some(other) => return Err(error(id.as_deref(), 60019, &format!("Invalid op: {other}"))),
        None => return Err(error(id.as_deref(), 60012, &invalid())),
    };
    let args = match value.get("args").and_then(Value::as_array) {
        Some(args) if !args.is_empty() => args,
        _ => return Err(error(id.as_deref(), 60012, &invalid())),
    };
    let id_ref = id.as_deref();
    let args = args
        .iter()
        .map(|arg| one_arg(arg).ok_or_else(|| error(id_ref, 60012, &invalid())))
        .map(|arg| {
            arg.and_then(|(channel, key, value, by_type)| {
                // Funding rates exist for perpetual swaps only.
                let valid = CHANNELS.iter().any(|&(c, t)| c == channel && t == by_type)
                    && (channel != "funding-rate" || value.ends_with("-SWAP"));
                let well_formed = !value.is_empty()
                    && !value.split('-').any(str::is_empty)
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
                if !valid || !well_formed {
                    return Err(error(
                        id_ref,
                        60018,
                        &format!(
                            "Wrong URL or channel:{channel},{key}:{value} doesn't exist. Please use the correct URL, channel and parameters referring to API document."
                        ),
                    ));
                }
                let mut echo = String::from(r#"{"channel":"#);
                push_json_string(&mut echo, &channel);
                echo.push_str(&format!(r#","{key}":"#));
                push_json_string(&mut echo, &value);
                echo.push('}');
                Ok((format!("{channel}:{value}"), echo))
            })
        })
        .collect();
    Ok(Request { op, id, args })
}

/// An arg's channel, the key naming what (`instId` or `instType`), its value, and whether
/// that key is `instType`; `None` when the arg is not an object of strings with a channel.
fn one_arg(arg: &Value) -> Option<(String, &'static str, String, bool)> {
    let object = arg.as_object()?;
    let channel = object.get("channel")?.as_str()?.to_owned();
    if let Some(id) = object.get("instId") {
        return Some((channel, "instId", id.as_str()?.to_owned(), false));
    }
    let kind = object.get("instType")?.as_str()?.to_owned();
    Some((channel, "instType", kind, true))
}

/// The start of an answer: `{`, and the request's `"id":..,` when it had one.
fn open(id: Option<&str>) -> String {
    let mut out = String::from("{");
    if let Some(id) = id {
        out.push_str(r#""id":"#);
        push_json_string(&mut out, id);
        out.push(',');
    }
    out
}

/// `{"event":"error","code":"<code>","msg":<msg>,"connId":...}`, the request's `id` first.
fn error(id: Option<&str>, code: u32, msg: &str) -> String {
    let mut out = open(id);
    out.push_str(&format!(r#""event":"error","code":"{code}","msg":"#));
    push_json_string(&mut out, msg);
    out.push_str(&format!(r#","connId":"{CONN_ID}"}}"#));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_pushes_are_named_by_their_arg() {
        let cases = [
            (
                r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"1"}]}"#,
                Some("trades:BTC-USDT"),
            ),
            (
                r#"{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[]}"#,
                Some("liquidation-orders:SWAP"),
            ),
            (
                r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[]}"#,
                Some("books:BTC-USDT"),
            ),
            (
                r#"{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}}"#,
                None,
            ),
            (r#"{"arg":{"channel":"trades","instId":"BTC-USDT"}}"#, None),
            (r#"{"e":"trade","s":"BTCUSDT"}"#, None),
        ];
        for (line, want) in cases {
            assert_eq!(classify(line).as_deref(), want, "{line}");
        }
    }

    #[test]
    fn requests_are_answered_arg_by_arg() {
        let mut subs = Subscriptions::default();
        let a = answer(
            r#"{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},{"channel":"trades","instId":"btc-usdt"},{"channel":"candle1m","instId":"BTC-USDT"},{"channel":"liquidation-orders","instType":"SWAP"},{"channel":"funding-rate","instId":"BTC-USDT"}]}"#,
            &mut subs,
        );
        assert!(a.changed);
        assert_eq!(
            a.replies,
            [
                r#"{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"f0c7a1e2"}"#,
                r#"{"event":"error","code":"60018","msg":"Wrong URL or channel:trades,instId:btc-usdt doesn't exist. Please use the correct URL, channel and parameters referring to API document.","connId":"f0c7a1e2"}"#,
                r#"{"event":"error","code":"60018","msg":"Wrong URL or channel:candle1m,instId:BTC-USDT doesn't exist. Please use the correct URL, channel and parameters referring to API document.","connId":"f0c7a1e2"}"#,
                r#"{"event":"subscribe","arg":{"channel":"liquidation-orders","instType":"SWAP"},"connId":"f0c7a1e2"}"#,
                r#"{"event":"error","code":"60018","msg":"Wrong URL or channel:funding-rate,instId:BTC-USDT doesn't exist. Please use the correct URL, channel and parameters referring to API document.","connId":"f0c7a1e2"}"#,
            ]
        );
        assert_eq!(subs.names(), ["trades:BTC-USDT", "liquidation-orders:SWAP"]);
        let a = answer(
            r#"{"op":"unsubscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}"#,
            &mut subs,
        );
        assert_eq!(a.replies.len(), 1);
        assert_eq!(subs.names(), ["liquidation-orders:SWAP"]);
        assert_eq!(answer("ping", &mut subs).replies, ["pong"]);
        for bad in [
            "PING",
            "{",
            r#"{"op":"subscribe","args":[]}"#,
            r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}"#,
        ] {
            let a = answer(bad, &mut subs);
            assert!(!a.changed);
            assert!(
                a.replies[0]
                    .starts_with(r#"{"event":"error","code":"60012","msg":"Invalid request: "#),
                "{bad}: {:?}",
                a.replies
            );
        }
        let a = answer(r#"{"op":"login","args":[{}]}"#, &mut subs);
        assert_eq!(
            a.replies,
            [r#"{"event":"error","code":"60019","msg":"Invalid op: login","connId":"f0c7a1e2"}"#]
        );
    }

    #[test]
    fn a_request_id_is_echoed_first_in_every_answer() {
        let mut subs = Subscriptions::default();
        let a = answer(
            r#"{"id":"1512","op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},{"channel":"trades","instId":"NO_SUCH"}]}"#,
            &mut subs,
        );
        assert_eq!(a.replies.len(), 2);
        assert_eq!(
            a.replies[0],
            r#"{"id":"1512","event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"f0c7a1e2"}"#
        );
        assert!(
            a.replies[1].starts_with(r#"{"id":"1512","event":"error","code":"60018""#),
            "{}",
            a.replies[1]
        );
        let a = answer(r#"{"id":"7","op":"subscribe","args":[]}"#, &mut subs);
        assert!(a.replies[0].starts_with(r#"{"id":"7","event":"error","code":"60012""#));
    }
}
