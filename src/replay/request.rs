//! Requests a client sends on an open connection, and the text of the answers.
//!
//! This module owns the Binance request protocol (`SUBSCRIBE`, `UNSUBSCRIBE`,
//! `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`/`GET_PROPERTY combined`): parsing a text frame into
//! a [`Request`] and writing replies with Binance's key order (`result` before `id`). It
//! does not apply requests; the session does.

use serde_json::Value;

use super::library::push_json_string;
use super::streams;

/// A request id exactly as the client should see it echoed: JSON text of an integer,
/// a short string or `null`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Id(String);

impl Id {
    /// Binance accepts a 64-bit integer, a string of up to 36 letters, digits or `-`,
    /// or `null`.
    fn from_value(value: &Value) -> Option<Id> {
        let ok = match value {
            Value::Null => true,
            Value::Number(n) => n.is_i64() || n.is_u64(),
            Value::String(s) => {
                s.len() <= 36 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }
            _ => false,
        };
        ok.then(|| Id(value.to_string()))
    }

    fn null() -> Id {
        Id("null".to_owned())
    }
}

/// One valid request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// Add streams.
    Subscribe { streams: Vec<String>, id: Id },
    /// Remove streams.
    Unsubscribe { streams: Vec<String>, id: Id },
    /// Ask which streams are held.
    ListSubscriptions { id: Id },
    /// Switch between raw and combined framing.
    SetCombined { combined: bool, id: Id },
    /// Ask which framing is in use.
    GetCombined { id: Id },
}

/// Why a text frame is not a valid request; [`RequestError::reply`] is what to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// Not JSON at all (Binance error code 3).
    InvalidJson(String),
    /// JSON, but not a request this server accepts (Binance error code 2).
    Invalid { detail: String, id: Option<Id> },
}

fn invalid(detail: impl Into<String>, id: Option<&Id>) -> RequestError {
    RequestError::Invalid {
        detail: detail.into(),
        id: id.cloned(),
    }
}

impl RequestError {
    /// The error frame to send back.
    pub(crate) fn reply(&self) -> String {
        let mut out = String::with_capacity(96);
        match self {
            RequestError::InvalidJson(detail) => {
                out.push_str(r#"{"error":{"code":3,"msg":"#);
                push_json_string(&mut out, &format!("Invalid JSON: {detail}"));
                out.push_str("}}");
            }
            RequestError::Invalid { detail, id } => {
                out.push_str(r#"{"error":{"code":2,"msg":"#);
                push_json_string(&mut out, &format!("Invalid request: {detail}"));
                out.push_str(r#"},"id":"#);
                out.push_str(&id.as_ref().unwrap_or(&Id::null()).0);
                out.push('}');
            }
        }
        out
    }
}

/// The success frame `{"result":<result>,"id":<id>}`; `result` is JSON text.
pub(crate) fn reply(result: &str, id: &Id) -> String {
    format!(r#"{{"result":{result},"id":{}}}"#, id.0)
}

/// The JSON text of a list of names, for `LIST_SUBSCRIPTIONS`.
pub(crate) fn name_list(names: &[String]) -> String {
    let mut out = String::from("[");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, name);
    }
    out.push(']');
    out
}

/// Parses one text frame from a client.
pub(crate) fn parse(text: &str) -> Result<Request, RequestError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| RequestError::InvalidJson(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(invalid("expected a JSON object", None));
    };
    let id = match object.get("id") {
        None => return Err(invalid("missing field `id`", None)),
        Some(value) => Id::from_value(value).ok_or_else(|| invalid("invalid id", None))?,
    };
    let method = match object.get("method") {
        Some(Value::String(method)) => method.as_str(),
        Some(_) => return Err(invalid("`method` must be a string", Some(&id))),
        None => return Err(invalid("missing field `method`", Some(&id))),
    };
    let params = match object.get("params") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(params)) => params.as_slice(),
        Some(_) => return Err(invalid("`params` must be a list", Some(&id))),
    };
    match method {
        "SUBSCRIBE" => Ok(Request::Subscribe {
            streams: stream_params(params, &id)?,
            id,
        }),
        "UNSUBSCRIBE" => Ok(Request::Unsubscribe {
            streams: stream_params(params, &id)?,
            id,
        }),
        "LIST_SUBSCRIPTIONS" => Ok(Request::ListSubscriptions { id }),
        "SET_PROPERTY" => match params {
            [Value::String(p), Value::Bool(combined)] if p == "combined" => {
                Ok(Request::SetCombined {
                    combined: *combined,
                    id,
                })
            }
            _ => Err(invalid(
                "expected params [\"combined\", true|false]",
                Some(&id),
            )),
        },
        "GET_PROPERTY" => match params {
            [Value::String(p)] if p == "combined" => Ok(Request::GetCombined { id }),
            _ => Err(invalid("expected params [\"combined\"]", Some(&id))),
        },
        other => Err(invalid(
            format!(
                "unknown method {other:?}, expected one of SUBSCRIBE, UNSUBSCRIBE, \
                 LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY"
            ),
            Some(&id),
        )),
    }
}

fn stream_params(params: &[Value], id: &Id) -> Result<Vec<String>, RequestError> {
    if params.is_empty() {
        return Err(invalid("`params` must list at least one stream", Some(id)));
    }
    params
        .iter()
        .map(|p| match p {
            Value::String(name) if streams::is_valid(name) => Ok(name.clone()),
            _ => Err(invalid("invalid stream", Some(id))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> Id {
        Id(text.to_owned())
    }

    #[test]
    fn valid_requests() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases = [
            (
                r#"{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@depth@100ms"],"id":1}"#,
                Request::Subscribe {
                    streams: names(&["btcusdt@trade", "btcusdt@depth@100ms"]),
                    id: id("1"),
                },
            ),
            (
                r#"{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":"a-1"}"#,
                Request::Unsubscribe {
                    streams: names(&["btcusdt@trade"]),
                    id: id(r#""a-1""#),
                },
            ),
            (
                r#"{"method":"LIST_SUBSCRIPTIONS","id":null}"#,
                Request::ListSubscriptions { id: id("null") },
            ),
            (
                r#"{"method":"SET_PROPERTY","params":["combined",true],"id":5}"#,
                Request::SetCombined {
                    combined: true,
                    id: id("5"),
                },
            ),
            (
                r#"{"method":"GET_PROPERTY","params":["combined"],"id":2}"#,
                Request::GetCombined { id: id("2") },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn invalid_requests_get_binance_error_frames() {
        let cases = [
            (
                "{",
                r#"{"error":{"code":3,"msg":"Invalid JSON: EOF while parsing an object at line 1 column 1"}}"#,
            ),
            (
                "hello",
                r#"{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}}"#,
            ),
            (
                r#"{"method":"FOO","id":7}"#,
                r#"{"error":{"code":2,"msg":"Invalid request: unknown method \"FOO\", expected one of SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY"},"id":7}"#,
            ),
            (
                r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"]}"#,
                r#"{"error":{"code":2,"msg":"Invalid request: missing field `id`"},"id":null}"#,
            ),
            (
                r#"{"method":"SUBSCRIBE","params":["BTCUSDT@trade"],"id":2}"#,
                r#"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}"#,
            ),
            (
                r#"{"method":"SUBSCRIBE","params":[1],"id":2}"#,
                r#"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}"#,
            ),
            (
                r#"{"method":"SUBSCRIBE","params":"btcusdt@trade","id":2}"#,
                r#"{"error":{"code":2,"msg":"Invalid request: `params` must be a list"},"id":2}"#,
            ),
            (
                r#"{"method":"SUBSCRIBE","id":2}"#,
                r#"{"error":{"code":2,"msg":"Invalid request: `params` must list at least one stream"},"id":2}"#,
            ),
            (
                r#"{"method":"LIST_SUBSCRIPTIONS","id":1.5}"#,
                r#"{"error":{"code":2,"msg":"Invalid request: invalid id"},"id":null}"#,
            ),
            (
                r#"{"params":[],"id":3}"#,
                r#"{"error":{"code":2,"msg":"Invalid request: missing field `method`"},"id":3}"#,
            ),
            (
                "[1]",
                r#"{"error":{"code":2,"msg":"Invalid request: expected a JSON object"},"id":null}"#,
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).expect_err(text);
            assert_eq!(err.reply(), want, "{text}");
        }
    }

    #[test]
    fn replies_put_result_before_id() {
        assert_eq!(reply("null", &id("1")), r#"{"result":null,"id":1}"#);
        let list = name_list(&["btcusdt@aggTrade".to_owned(), "btcusdt@trade".to_owned()]);
        assert_eq!(
            reply(&list, &id("3")),
            r#"{"result":["btcusdt@aggTrade","btcusdt@trade"],"id":3}"#
        );
        assert_eq!(reply(&name_list(&[]), &id("4")), r#"{"result":[],"id":4}"#);
    }
}
