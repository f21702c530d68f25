//! The REST depth snapshot endpoint of depth mode: `GET /api/v3/depth` (spot) or
//! `GET /fapi/v1/depth` (USD-M futures), on its own port.
//!
//! This module owns answering snapshot requests from the books in [`DepthMarkets`] as
//! strictly as Binance does: the one path of the venue, `symbol` required, `limit` within
//! the venue's values (spot 1 to 5000, default 100; futures 5, 10, 20, 50, 100, 500 or
//! 1000, default 500), request weight by limit counted per minute against the venue's
//! budget and reported in `x-mbx-used-weight-1m`, and 429 with `Retry-After` past it.
//! Faults from [`RestFaults`](super::depth::RestFaults): late answers, forced 429s and
//! stale `lastUpdateId`s. Markets made with `DepthMarkets::recorded` answer captured
//! snapshot bodies instead (the fixtures' sync, end to end). Each connection is a tracked task that ends with the server.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::debug;

use super::depth::{DepthMarkets, now_ms};

/// A slow or idle client does not hold a connection open longer than this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Request weight per minute: spot's `REQUEST_WEIGHT` limit, and USD-M futures'.
const SPOT_WEIGHT_PER_MINUTE: u64 = 6000;
const FUTURES_WEIGHT_PER_MINUTE: u64 = 2400;

/// The weight of a depth request with `limit`, as each venue documents it.
pub fn weight(futures: bool, limit: usize) -> u64 {
    match (futures, limit) {
        (false, 1..=100) => 5,
        (false, 101..=500) => 25,
        (false, 501..=1000) => 50,
        (false, _) => 250,
        (true, 5..=50) => 2,
        (true, 51..=100) => 5,
        (true, 101..=500) => 10,
        (true, _) => 20,
    }
}

/// The weight used in the current minute.
#[derive(Debug)]
struct Budget {
    minute_start: Instant,
    used: u64,
}

/// The bound endpoint, not yet serving.
#[derive(Debug)]
pub struct RestServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    markets: Arc<DepthMarkets>,
}

impl RestServer {
    /// Listens on `addr` (port 0 picks a free port) for snapshots of `markets`.
    pub async fn bind(addr: SocketAddr, markets: Arc<DepthMarkets>) -> io::Result<RestServer> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(RestServer {
            listener,
            local_addr,
            markets,
        })
    }

    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Answers requests until `shutdown`, then ends every connection.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let tracker = TaskTracker::new();
        // Cancelled at shutdown: every connection task ends, answered or not.
        let stop = CancellationToken::new();
        let budget = Arc::new(Mutex::new(Budget {
            minute_start: Instant::now(),
            used: 0,
        }));
        tokio::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        debug!("rest: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let (markets, budget) = (Arc::clone(&self.markets), Arc::clone(&budget));
            let service = hyper::service::service_fn(move |request| {
                let (markets, budget) = (Arc::clone(&markets), Arc::clone(&budget));
                async move { Ok::<_, Infallible>(respond(&markets, &budget, &request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let stop = stop.clone();
            tracker.spawn(async move {
                tokio::select! {
                    served = connection => if let Err(e) = served {
                        debug!("rest: connection ended: {e}");
                    },
                    () = stop.cancelled() => {}
                }
            });
        }
        drop(self.listener);
        stop.cancel();
        tracker.close();
        tracker.wait().await;
    }

    /// Runs in the background on the current runtime (for tests and embedding).
    pub fn spawn(self) -> RunningRest {
        let stop = CancellationToken::new();
        let url = self.url();
        let task = tokio::spawn(self.run(stop.clone().cancelled_owned()));
        RunningRest {
            url,
            stop,
            task: Some(task),
        }
    }
}

/// The endpoint running in the background; dropping it stops it without waiting.
#[derive(Debug)]
pub struct RunningRest {
    url: String,
    /// Cancelled by [`RunningRest::shutdown`] or on drop.
    stop: CancellationToken,
    /// The endpoint's `run`, awaited by [`RunningRest::shutdown`].
    task: Option<JoinHandle<()>>,
}

impl RunningRest {
    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops and waits until every connection has ended.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningRest {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json;charset=UTF-8")
        .body(Full::new(Bytes::from(body)))
        .expect("static headers are valid")
}

/// Binance's error body.
fn error(status: StatusCode, code: i64, msg: &str) -> Response<Full<Bytes>> {
    json(
        status,
        serde_json::json!({ "code": code, "msg": msg }).to_string(),
    )
}

/// What a valid request asks for.
#[derive(Debug, PartialEq, Eq)]
struct Query {
    symbol: String,
    limit: usize,
}

/// Reads `symbol` and `limit` as the venue would, or the error answer.
fn parse_query(futures: bool, query: Option<&str>) -> Result<Query, (i64, String)> {
    let (mut symbol, mut limit) = (None, None);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("symbol", value)) => symbol = Some(value),
            Some(("limit", value)) => limit = Some(value),
            _ => {}
        }
    }
    let symbol = symbol
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 20
                && s.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        .ok_or((
            -1102,
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.".to_owned(),
        ))?;
    let limit = match limit {
        None => {
            if futures {
                500
            } else {
                100
            }
        }
        Some(text) => {
            let value = text.parse::<usize>().ok();
            let legal = if futures {
                value.filter(|v| [5, 10, 20, 50, 100, 500, 1000].contains(v))
            } else {
                value.filter(|v| (1..=5000).contains(v))
            };
            legal.ok_or((
                -1100,
                format!(
                    "Illegal characters found in parameter 'limit'; legal range is '{}'.",
                    if futures {
                        "5, 10, 20, 50, 100, 500, 1000"
                    } else {
                        "1 to 5000"
                    }
                ),
            ))?
        }
    };
    Ok(Query {
        symbol: symbol.to_owned(),
        limit,
    })
}

async fn respond(
    markets: &DepthMarkets,
    budget: &Mutex<Budget>,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let feed = markets.feed();
    let path = if feed.futures {
        "/fapi/v1/depth"
    } else {
        "/api/v3/depth"
    };
    if request.uri().path() != path {
        return error(StatusCode::NOT_FOUND, -1, "Not found.");
    }
    if request.method() != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, -1, "Method not allowed.");
    }
    let query = match parse_query(feed.futures, request.uri().query()) {
        Ok(query) => query,
        Err((code, msg)) => return error(StatusCode::BAD_REQUEST, code, &msg),
    };
    let forced = {
        let mut refused = markets.refused.lock().unwrap_or_else(|p| p.into_inner());
        let forced = *refused < feed.rest.too_many_first;
        if forced {
            *refused += 1;
        }
        forced
    };
    let (used, retry_after) = {
        let mut budget = budget.lock().unwrap_or_else(|p| p.into_inner());
        if budget.minute_start.elapsed() >= Duration::from_secs(60) {
            budget.minute_start = Instant::now();
            budget.used = 0;
        }
        let limit = if feed.futures {
            FUTURES_WEIGHT_PER_MINUTE
        } else {
            SPOT_WEIGHT_PER_MINUTE
        };
        let weight = weight(feed.futures, query.limit);
        let left = Duration::from_secs(60).saturating_sub(budget.minute_start.elapsed());
        if forced {
            (budget.used, Some(feed.rest.retry_after_secs))
        } else if budget.used + weight > limit {
            (budget.used, Some(left.as_secs().max(1)))
        } else {
            budget.used += weight;
            (budget.used, None)
        }
    };
    if let Some(secs) = retry_after {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            -1003,
            "Too many requests; current limit of IP is exceeded.",
        );
        let headers = response.headers_mut();
        headers.insert(header::RETRY_AFTER, secs.into());
        headers.insert("x-mbx-used-weight-1m", used.into());
        return response;
    }
    let mut body = String::with_capacity(64 * query.limit + 128);
    if let Some(recorded) = markets.recorded_snapshot(&query.symbol) {
        body.push_str(recorded);
    } else {
        let market = markets.market(&query.symbol);
        let mut state = market.advance(feed);
        state.snapshot_requests += 1;
        let generator = if state.snapshot_requests <= feed.rest.stale_first {
            &state.stale
        } else {
            &state.generator
        };
        generator.write_snapshot(query.limit, generator.snapshot_id(), now_ms(), &mut body);
    }
    let answered = {
        let mut answered = markets.answered.lock().unwrap_or_else(|p| p.into_inner());
        *answered += 1;
        *answered
    };
    if let Some(delay) = feed.rest.delay {
        if feed.rest.delay_first == 0 || answered <= feed.rest.delay_first {
            tokio::time::sleep(delay).await;
        }
    }
    let mut response = json(StatusCode::OK, body);
    response
        .headers_mut()
        .insert("x-mbx-used-weight-1m", used.into());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_queries_as_strictly_as_the_venue() {
        let q = |futures, s| parse_query(futures, Some(s));
        assert_eq!(
            q(false, "symbol=BTCUSDT&limit=5000"),
            Ok(Query {
                symbol: "BTCUSDT".into(),
                limit: 5000
            })
        );
        assert_eq!(q(false, "symbol=BTCUSDT").unwrap().limit, 100);
        assert_eq!(q(true, "symbol=BTCUSDT").unwrap().limit, 500);
        assert_eq!(q(false, "symbol=BTCUSDT&limit=5001").unwrap_err().0, -1100);
        assert_eq!(q(true, "symbol=BTCUSDT&limit=5000").unwrap_err().0, -1100);
        assert_eq!(q(true, "symbol=BTCUSDT&limit=7").unwrap_err().0, -1100);
        assert_eq!(q(false, "limit=10").unwrap_err().0, -1102);
        assert_eq!(q(false, "symbol=btcusdt").unwrap_err().0, -1102);
        assert_eq!(parse_query(false, None).unwrap_err().0, -1102);
    }

    #[test]
    fn weight_follows_the_limit() {
        assert_eq!(weight(false, 100), 5);
        assert_eq!(weight(false, 1000), 50);
        assert_eq!(weight(false, 5000), 250);
        assert_eq!(weight(true, 50), 2);
        assert_eq!(weight(true, 1000), 20);
    }
}
