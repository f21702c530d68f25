//! The Bybit v5 public dialect of the replay server: `/v5/public/spot` and `/v5/public/linear`.
//!
//! This module owns what differs from Binance on a Bybit connection: the paths, the
//! subscribe protocol (`{"op":"subscribe","args":[topics],"req_id":"..."}` answered with
//! `{"success":...,"ret_msg":...,"conn_id":...,"req_id":...,"op":"subscribe"}`; at most 10
//! args per request on spot, at most 21,000 characters of args per connection, a topic
//! subscribed twice refused (`error:already subscribed,topic:...`), topics checked for
//! their form and an upper-case symbol), the JSON heartbeat (`{"op":"ping"}` answered with
//! the category's `pong`), and closing a connection on which neither a ping nor data passed
//! for `Behavior::idle_limit` (Bybit: 10 minutes, [`IDLE_LIMIT`]), so a client's heartbeat
//! is tested for real. The server sends no WebSocket pings here, as Bybit's public streams
//! do not.
//!
//! What is sent: the library's Bybit lines (classified by their `topic`), in file order,
//! each once and byte for byte, if its topic is subscribed when the cursor reaches it. The
//! cursor starts at the first successful subscribe (with `live`, where the shared timeline
//! is then). `limit`, `close_after`, `drop_after`, `stall_after`, `rate`, `live` and
//! `speed_milli` (`--speed`: a recording's pacing by its receive times) behave as on
//! Binance connections; other faults are Binance-only.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

use super::books::Spoiled;
use crate::replay::accept::Shared;
use crate::replay::behavior::{Pacer, Step};
use crate::replay::wait::{at, drain};

/// Bybit's limit: "if there is no ping-pong and no stream data sent from server end, the
/// connection will be cut off after 10 minutes".
pub const IDLE_LIMIT: Duration = Duration::from_secs(600);

/// "Spot can input up to 10 args for each subscription request".
pub const SPOT_MAX_ARGS: usize = 10;

/// "For one public connection, you cannot have length of \"args\" array over 21,000
/// characters": the topics subscribed on a connection, as a JSON array, at most this long.
pub const MAX_ARGS_CHARS: usize = 21_000;

/// A Bybit market category, chosen by the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Category {
    /// `/v5/public/spot`.
    Spot,
    /// `/v5/public/linear`.
    Linear,
}

/// The category of a request path, or `None` when it is not a Bybit path.
pub(crate) fn category(path: &str) -> Option<Category> {
    match path {
        "/v5/public/spot" => Some(Category::Spot),
        "/v5/public/linear" => Some(Category::Linear),
        _ => None,
    }
}

/// A client request as Bybit reads it.
#[derive(Deserialize)]
struct Request {
    op: String,
    #[serde(default)]
    args: Vec<String>,
    req_id: Option<String>,
}

/// Whether `topic` is one this category serves: `publicTrade.S`, `orderbook.{1,50,200}.S`,
/// `tickers.S`, and on linear `allLiquidation.S`, with `S` upper-case letters, digits and `-`.
fn valid_topic(category: Category, topic: &str) -> bool {
    let Some((kind, rest)) = topic.split_once('.') else {
        return false;
    };
    let symbol = match kind {
        "publicTrade" | "tickers" => rest,
        "allLiquidation" if category == Category::Linear => rest,
        "orderbook" => match rest.split_once('.') {
            Some(("1" | "50" | "200", symbol)) => symbol,
            _ => return false,
        },
        _ => return false,
    };
    !symbol.is_empty()
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// One Bybit connection.
struct Session {
    shared: Arc<Shared>,
    category: Category,
    ws: WebSocketStream<TcpStream>,
    conn_id: String,
    subscribed: HashSet<String>,
    /// The next library message to consider; `None` until the first subscribe.
    cursor: Option<usize>,
    sent: u64,
    /// The last ping received or data message sent: what keeps the connection alive.
    alive_at: Instant,
    pacer: Pacer,
    /// Updates of `behavior.book_fault`'s stream sent so far.
    fault_count: super::books::FaultCount,
    /// `--speed`: when the first paced message went out, and its receive time.
    timeline: Option<(Instant, u64)>,
}

/// What the loop does next.
enum Flow {
    Continue,
    Close(CloseCode, &'static str),
    Drop,
    /// Send nothing more (no data, pongs or Close replies) while reading what arrives.
    Stall,
    Gone,
}

/// Serves one Bybit connection until it ends or `stop` is cancelled; returns the data
/// messages sent.
pub(crate) async fn run(
    ws: WebSocketStream<TcpStream>,
    category: Category,
    shared: Arc<Shared>,
    stop: &CancellationToken,
) -> u64 {
    let now = Instant::now();
    static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
    let conn_id = format!("replay-{}", CONNECTIONS.fetch_add(1, Ordering::Relaxed));
    let mut session = Session {
        pacer: Pacer::new(shared.behavior.rate, now),
        shared,
        category,
        ws,
        conn_id,
        subscribed: HashSet::new(),
        cursor: None,
        sent: 0,
        alive_at: now,
        fault_count: Default::default(),
        timeline: None,
    };
    let flow = session.serve(stop).await;
    let sent = session.sent;
    match flow {
        Flow::Close(code, reason) => {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ =
                tokio::time::timeout(Duration::from_secs(1), session.ws.close(Some(frame))).await;
        }
        Flow::Drop => {
            let _ = session.ws.get_mut().shutdown().await;
        }
        Flow::Stall => drain(session.ws.into_inner(), stop).await,
        Flow::Continue | Flow::Gone => {}
    }
    sent
}

impl Session {
    async fn serve(&mut self, stop: &CancellationToken) -> Flow {
        let idle_limit = self.shared.behavior.idle_limit_or(IDLE_LIMIT);
        loop {
            let step = self.shared.behavior.after_sent(self.sent);
            match step {
                Step::Close => return Flow::Close(CloseCode::Normal, ""),
                Step::Drop => return Flow::Drop,
                Step::Stall => return Flow::Stall,
                Step::Continue | Step::Idle => {}
            }
            let next = self.next_message();
            let may_send = step == Step::Continue && next.is_some();
            let due = match (self.live_period(), next) {
                // On the live timeline, message i is published at `started + i * period`.
                (Some(period), Some(i)) => {
                    Some(self.shared.started + period * u32::try_from(i).unwrap_or(u32::MAX))
                }
                (None, Some(i)) => self.recording_due(i).or_else(|| self.pacer.due()),
                _ => self.pacer.due(),
            };
            let flow = tokio::select! {
                biased;
                () = stop.cancelled() => Flow::Close(CloseCode::Away, "server shutting down"),
                frame = self.ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => self.answer(text.as_str()).await,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Flow::Gone,
                    Some(Ok(_)) => Flow::Continue,
                },
                () = at(idle_limit.map(|limit| self.alive_at + limit)) => {
                    self.shared.stats.idle_closed();
                    Flow::Close(CloseCode::Normal, "no ping")
                }
                () = async {
                    if let Some(due) = due {
                        tokio::time::sleep_until(due).await;
                    }
                }, if may_send => {
                    let index = next.expect("guarded");
                    self.cursor = Some(index + 1);
                    self.pacer.consumed(1);
                    let library = &self.shared.library;
                    if let (None, Some(recv_ns), Some(_)) = (
                        self.timeline,
                        library.messages()[index].recv_ns,
                        self.shared.behavior.speed_milli,
                    ) {
                        self.timeline = Some((Instant::now(), recv_ns));
                    }
                    let fault = self.shared.behavior.book_fault.as_ref();
                    let text = match self.fault_count.spoil(fault, library, index) {
                        Spoiled::Unchanged => library.messages()[index].raw.clone(),
                        Spoiled::Text(text) => text.into(),
                        Spoiled::Withheld => continue,
                    };
                    match self.ws.send(Message::Text(text)).await {
                        Ok(()) => {
                            self.sent += 1;
                            self.shared.stats.sent(1);
                            self.alive_at = Instant::now();
                            Flow::Continue
                        }
                        Err(_) => Flow::Gone,
                    }
                }
            };
            if !matches!(flow, Flow::Continue) {
                return flow;
            }
        }
    }

    /// The time per message of a live timeline (`live` with a `rate`).
    fn live_period(&self) -> Option<Duration> {
        let behavior = &self.shared.behavior;
        (behavior.live && behavior.rate > 0)
            .then(|| Duration::from_nanos((1_000_000_000 / behavior.rate).max(1)))
    }

    /// `--speed`: when library message `index` is due: as far after the first message
    /// sent as it was received after it, divided by the speed; `None` when the recording
    /// does not pace it (or nothing was sent yet).
    fn recording_due(&self, index: usize) -> Option<Instant> {
        let speed = self.shared.behavior.speed_milli.filter(|&s| s > 0)?;
        let recv_ns = self.shared.library.messages()[index].recv_ns?;
        let (start, first) = self.timeline?;
        let offset = u128::from(recv_ns.saturating_sub(first)) * 1000 / u128::from(speed);
        Some(start + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX)))
    }

    /// The index of the next library message to send, if any.
    fn next_message(&self) -> Option<usize> {
        let start = self.cursor?;
        let library = &self.shared.library;
        let names = library.streams();
        library.messages()[start..]
            .iter()
            .position(|m| self.subscribed.contains(&names[m.stream]))
            .map(|i| start + i)
    }

    /// Answers one text frame from the client.
    async fn answer(&mut self, text: &str) -> Flow {
        self.shared.stats.request();
        let mut subscribed = Vec::new();
        let (op, req_id, outcome): (String, _, Result<&str, Cow<'static, str>>) =
            match serde_json::from_str::<Request>(text) {
                Err(_) => ("".to_owned(), None, Err("Invalid request".into())),
                Ok(request) => {
                    let outcome = match request.op.as_str() {
                        "ping" => {
                            self.alive_at = Instant::now();
                            self.shared.stats.pong();
                            Ok("pong")
                        }
                        "subscribe" => {
                            let outcome = self.subscribe(&request.args);
                            if outcome.is_ok() {
                                subscribed = request.args.clone();
                            }
                            outcome
                        }
                        "unsubscribe" => {
                            for topic in &request.args {
                                self.subscribed.remove(topic);
                            }
                            Ok("")
                        }
                        _ => Err("Invalid op".into()),
                    };
                    (request.op, request.req_id, outcome)
                }
            };
        let reply = reply(
            self.category,
            &self.conn_id,
            &op,
            req_id.as_deref(),
            outcome.as_ref().map(|m| *m).map_err(|e| e.as_ref()),
        );
        if self.ws.send(Message::text(reply)).await.is_err() {
            return Flow::Gone;
        }
        // "Once you have subscribed successfully, you will receive a snapshot": the book as
        // it stands where the recording is (see `books`).
        let library = &self.shared.library;
        let cursor = self.cursor.unwrap_or(0);
        for topic in &subscribed {
            let Some(stream) = library.streams().iter().position(|s| s == topic) else {
                continue;
            };
            let Some(snapshot) = super::books::fresh_snapshot(library, stream, cursor) else {
                continue;
            };
            if self.ws.send(Message::text(snapshot)).await.is_err() {
                return Flow::Gone;
            }
            self.sent += 1;
            self.shared.stats.sent(1);
        }
        Flow::Continue
    }

    fn subscribe(&mut self, args: &[String]) -> Result<&'static str, Cow<'static, str>> {
        let success = check_subscribe(self.category, args)?;
        // As Bybit answers a topic subscribed twice on one connection (a real answer:
        // `"ret_msg":"error:already subscribed,topic:allLiquidation.ORDERUSDT"`).
        if let Some(topic) = args.iter().find(|t| self.subscribed.contains(*t)) {
            return Err(format!("error:already subscribed,topic:{topic}").into());
        }
        let mut all: Vec<&String> = self.subscribed.iter().collect();
        all.extend(args);
        if args_chars(&all) > MAX_ARGS_CHARS {
            return Err("args length exceeds 21000 characters".into());
        }
        self.subscribed.extend(args.iter().cloned());
        if self.cursor.is_none() {
            // Join a live timeline where it is now; otherwise start from the beginning.
            let start = self.live_period().map_or(0, |period| {
                let since = Instant::now().duration_since(self.shared.started);
                (since.as_nanos() / period.as_nanos() + 1) as usize
            });
            self.cursor = Some(start.min(self.shared.library.messages().len()));
        }
        Ok(success)
    }
}

/// The answer to a request, shaped as the category's documented examples.
fn reply(
    category: Category,
    conn_id: &str,
    op: &str,
    req_id: Option<&str>,
    outcome: Result<&str, &str>,
) -> String {
    let (success, ret_msg) = match outcome {
        Ok(msg) => (true, msg),
        Err(msg) => (false, msg),
    };
    let quote = |text: &str| serde_json::Value::from(text).to_string();
    let mut reply = format!(
        r#"{{"success":{success},"ret_msg":{},"conn_id":{}"#,
        quote(ret_msg),
        quote(conn_id)
    );
    // Spot echoes a req_id only when one was sent; linear always has the key.
    match (category, req_id) {
        (_, Some(id)) => reply.push_str(&format!(r#","req_id":{}"#, quote(id))),
        (Category::Linear, None) => reply.push_str(r#","req_id":"""#),
        (Category::Spot, None) => {}
    }
    reply.push_str(&format!(r#","op":{}}}"#, quote(op)));
    reply
}

/// The length of `topics` written as a JSON array of strings.
fn args_chars(topics: &[&String]) -> usize {
    // Brackets, and per topic its quotes and a comma (one fewer than topics).
    2 + topics.iter().map(|t| t.len() + 3).sum::<usize>() - usize::from(!topics.is_empty())
}

/// Checks a subscribe request's topics as Bybit does: `Ok` with the success message.
fn check_subscribe(category: Category, args: &[String]) -> Result<&'static str, &'static str> {
    if args.is_empty() {
        return Err("args is empty");
    }
    if category == Category::Spot && args.len() > SPOT_MAX_ARGS {
        return Err("args size >10");
    }
    if !args.iter().all(|t| valid_topic(category, t)) {
        return Err("Invalid topic");
    }
    Ok(match category {
        Category::Spot => "subscribe",
        Category::Linear => "",
    })
}

/// The flood's answer to one client frame (see `flood`): the reply, and the topics a
/// successful subscribe added. Pings are answered; every other op is refused.
pub(crate) fn flood_answer(category: Category, text: &str) -> (String, Vec<String>) {
    const CONN_ID: &str = "replay-flood";
    let Ok(request) = serde_json::from_str::<Request>(text) else {
        return (
            reply(category, CONN_ID, "", None, Err("Invalid request")),
            Vec::new(),
        );
    };
    let outcome = match request.op.as_str() {
        "ping" => Ok("pong"),
        "subscribe" => check_subscribe(category, &request.args),
        _ => Err("Invalid op"),
    };
    let topics = if request.op == "subscribe" && outcome.is_ok() {
        request.args
    } else {
        Vec::new()
    };
    let text = reply(
        category,
        CONN_ID,
        &request.op,
        request.req_id.as_deref(),
        outcome,
    );
    (text, topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_checked_as_bybit_does() {
        use Category::{Linear, Spot};
        for (category, topic, ok) in [
            (Spot, "publicTrade.BTCUSDT", true),
            (Spot, "orderbook.1.BTCUSDT", true),
            (Spot, "orderbook.50.BTCUSDT", true),
            (Spot, "orderbook.7.BTCUSDT", false),
            (Spot, "tickers.BTCUSDT", true),
            (Spot, "allLiquidation.BTCUSDT", false),
            (Linear, "allLiquidation.BTCUSDT", true),
            (Linear, "publicTrade.btcusdt", false),
            (Linear, "publicTrade.", false),
            (Linear, "trade.BTCUSDT", false),
            (Linear, "tickers.BTCUSDT-26DEC25", true),
        ] {
            assert_eq!(valid_topic(category, topic), ok, "{category:?} {topic}");
        }
        assert_eq!(category("/v5/public/spot"), Some(Category::Spot));
        let topics: Vec<String> = ["a", "bc"].map(String::from).to_vec();
        let refs: Vec<&String> = topics.iter().collect();
        assert_eq!(
            args_chars(&refs),
            serde_json::to_string(&topics).unwrap().len()
        );
        assert_eq!(args_chars(&[]), 2);
        assert_eq!(category("/v5/public/inverse"), None);
    }
}
