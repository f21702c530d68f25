//! Yardsticks, not product code: the simplest clients that read the same flood as foxtrot.
//!
//! Each is one task on a current-thread runtime, reading with the same tokio-tungstenite
//! settings foxtrot uses, and stops after `n` text frames. `url` may hold several URLs
//! separated by spaces: the one task then reads all those connections, merged as they
//! deliver:
//! - `discard`: counts frames and throws them away (no parsing, no output);
//! - `passthrough`: writes each payload plus `\n` to the output (no parsing), as
//!   `websocat ws://... > file` would;
//! - `raw-floor`: a raw capture's floor: each frame as the raw capture's line (its head,
//!   the JSON check and the frame, formatted by foxtrot's own `raw::format::Head`) into the
//!   same `BufWriter`, on the reading thread: no channel, no second thread, no stats;
//! - `loop`: the minimal parse-and-write loop: serde_json into a borrowed struct, one NDJSON
//!   line (the same bytes foxtrot writes, decimal text kept) into a 64 KiB `BufWriter`; no
//!   channel, no stats.
//! - `live`: the minimal loop for live rates: the same, for `bookTicker` and `trade`, and it
//!   flushes whenever no frame is waiting, so a line reaches the file as soon as foxtrot's
//!   would (`loop` flushes only when 64 KiB are buffered, which at 1,000 messages a second
//!   is a delay of seconds).
//!
//! Files are `fsync`ed at the end, as `foxtrot record` does.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::Either;
use futures_util::{FutureExt, StreamExt};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;

/// Which yardstick to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Discard,
    Passthrough,
    RawFloor,
    Loop,
    Live,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "discard" => Some(Mode::Discard),
            "passthrough" => Some(Mode::Passthrough),
            "raw-floor" => Some(Mode::RawFloor),
            "loop" => Some(Mode::Loop),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Discard => "discard",
            Mode::Passthrough => "passthrough",
            Mode::RawFloor => "raw-floor",
            Mode::Loop => "loop",
            Mode::Live => "live",
        }
    }
}

#[derive(Deserialize)]
struct Combined<'a> {
    #[serde(borrow)]
    stream: &'a str,
    #[serde(borrow)]
    data: BookTicker<'a>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct BookTicker<'a> {
    u: u64,
    s: &'a str,
    b: &'a str,
    B: &'a str,
    a: &'a str,
    A: &'a str,
}

/// A frame of either channel `live` knows, with the payload in one struct so serde reads it
/// in one pass whichever it is (serde tells `b` from `B`).
#[derive(Deserialize)]
struct LiveCombined<'a> {
    #[serde(borrow)]
    stream: &'a str,
    #[serde(borrow)]
    data: LiveData<'a>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct LiveData<'a> {
    u: Option<u64>,
    s: &'a str,
    b: Option<&'a str>,
    B: Option<&'a str>,
    a: Option<&'a str>,
    A: Option<&'a str>,
    E: Option<u64>,
    T: Option<u64>,
    t: Option<u64>,
    p: Option<&'a str>,
    q: Option<&'a str>,
    m: Option<bool>,
}

/// Writes `frame` as the NDJSON line foxtrot writes for it.
fn write_live(w: &mut impl Write, num: &mut itoa::Buffer, text: &str) -> std::io::Result<()> {
    let frame: LiveCombined<'_> = serde_json::from_str(text).expect("parse");
    let recv_ns = now_ns();
    let channel = frame.stream.split_once('@').map_or("", |(_, c)| c);
    let t = &frame.data;
    w.write_all(b"{\"exchange\":\"binance\",\"symbol\":\"")?;
    w.write_all(t.s.as_bytes())?;
    w.write_all(b"\",\"channel\":\"")?;
    w.write_all(channel.as_bytes())?;
    w.write_all(b"\",\"recv_ns\":")?;
    w.write_all(num.format(recv_ns).as_bytes())?;
    fn field(v: Option<&str>) -> &[u8] {
        v.expect("a field of the channel").as_bytes()
    }
    if channel == "trade" {
        for (key, value) in [
            (&b",\"event_time\":"[..], t.E),
            (b",\"trade_time\":", t.T),
            (b",\"trade_id\":", t.t),
        ] {
            w.write_all(key)?;
            w.write_all(num.format(value.expect("a trade field")).as_bytes())?;
        }
        w.write_all(b",\"price\":\"")?;
        w.write_all(field(t.p))?;
        w.write_all(b"\",\"qty\":\"")?;
        w.write_all(field(t.q))?;
        w.write_all(b"\",\"buyer_is_maker\":")?;
        w.write_all(if t.m == Some(true) {
            b"true}\n"
        } else {
            b"false}\n"
        })
    } else {
        w.write_all(b",\"update_id\":")?;
        w.write_all(num.format(t.u.expect("a bookTicker field")).as_bytes())?;
        for (key, value) in [
            (&b",\"bid\":\""[..], t.b),
            (b"\",\"bid_qty\":\"", t.B),
            (b"\",\"ask\":\"", t.a),
            (b"\",\"ask_qty\":\"", t.A),
        ] {
            w.write_all(key)?;
            w.write_all(field(value))?;
        }
        w.write_all(b"\"}\n")
    }
}

/// Runs `mode` against `url` until `n` text frames were read; `out` is the output file
/// (`discard` ignores it).
pub fn run(mode: Mode, url: &str, out: &str, n: u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut sockets = Vec::new();
        for url in url.split(' ') {
            let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
                .await
                .expect("connect");
            sockets.push(ws);
        }
        // One socket is read directly, as before there were several.
        let mut ws = if sockets.len() == 1 {
            Either::Left(sockets.pop().expect("one"))
        } else {
            Either::Right(futures_util::stream::select_all(sockets))
        };
        let file = (mode != Mode::Discard).then(|| File::create(out).expect("create output"));
        let mut writer = file
            .as_ref()
            .map(|f| BufWriter::with_capacity(64 * 1024, f));
        let mut num = itoa::Buffer::new();
        let mut head = foxtrot::raw::format::Head::default();
        let mut line = Vec::with_capacity(1024);
        // `raw-floor` reads the clock once per burst, as foxtrot does: when a frame was not
        // waiting already.
        let mut stamp = 0;
        let mut seen = 0;
        while seen < n {
            let next = if mode == Mode::RawFloor {
                match ws.next().now_or_never() {
                    Some(next) => next,
                    None => {
                        let next = ws.next().await;
                        stamp = now_ns();
                        next
                    }
                }
            } else if mode == Mode::Live {
                match ws.next().now_or_never() {
                    Some(next) => next,
                    None => {
                        // Nothing waiting: what was written goes to the OS before sleeping.
                        writer.as_mut().unwrap().flush().unwrap();
                        ws.next().await
                    }
                }
            } else {
                ws.next().await
            };
            let text = match next {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue,
                other => panic!("flood ended early after {seen}: {other:?}"),
            };
            seen += 1;
            match mode {
                Mode::Discard => {
                    std::hint::black_box(&text);
                }
                Mode::Passthrough => {
                    let w = writer.as_mut().unwrap();
                    w.write_all(text.as_bytes()).unwrap();
                    w.write_all(b"\n").unwrap();
                }
                Mode::RawFloor => {
                    let record = foxtrot::raw::Record {
                        recv_ns: stamp,
                        venue: foxtrot::exchange::Venue::Binance,
                        conn: 1,
                        event: foxtrot::raw::Event::Text(bytes::Bytes::new()),
                    };
                    line.clear();
                    head.encode(&record, Some(text.as_bytes()), &mut line);
                    writer.as_mut().unwrap().write_all(&line).unwrap();
                }
                Mode::Live => {
                    write_live(writer.as_mut().unwrap(), &mut num, text.as_str()).unwrap();
                }
                Mode::Loop => {
                    let frame: Combined<'_> = serde_json::from_str(text.as_str()).expect("parse");
                    let recv_ns = now_ns();
                    let channel = frame.stream.split_once('@').map_or("", |(_, c)| c);
                    let t = &frame.data;
                    let w = writer.as_mut().unwrap();
                    w.write_all(b"{\"exchange\":\"binance\",\"symbol\":\"")
                        .unwrap();
                    w.write_all(t.s.as_bytes()).unwrap();
                    w.write_all(b"\",\"channel\":\"").unwrap();
                    w.write_all(channel.as_bytes()).unwrap();
                    w.write_all(b"\",\"recv_ns\":").unwrap();
                    w.write_all(num.format(recv_ns).as_bytes()).unwrap();
                    w.write_all(b",\"update_id\":").unwrap();
                    w.write_all(num.format(t.u).as_bytes()).unwrap();
                    for (key, value) in [
                        (&b",\"bid\":\""[..], t.b),
                        (b"\",\"bid_qty\":\"", t.B),
                        (b"\",\"ask\":\"", t.a),
                        (b"\",\"ask_qty\":\"", t.A),
                    ] {
                        w.write_all(key).unwrap();
                        w.write_all(value.as_bytes()).unwrap();
                    }
                    w.write_all(b"\"}\n").unwrap();
                }
            }
        }
        if let Some(mut w) = writer.take() {
            w.flush().unwrap();
        }
        if let Some(f) = &file {
            // /dev/null cannot be synced; a file can.
            let _ = f.sync_all();
        }
    });
}

/// Wall-clock nanoseconds since the Unix epoch, as foxtrot stamps `recv_ns`.
fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
