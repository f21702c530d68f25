//! Yardsticks, not product code: the simplest clients that read the same flood as foxtrot.
//!
//! Each is one task on a current-thread runtime, reading with the same tokio-tungstenite
//! settings foxtrot uses, and stops after `n` text frames:
//! - `discard`: counts frames and throws them away (no parsing, no output);
//! - `passthrough`: writes each payload plus `\n` to the output (no parsing), as
//!   `websocat ws://... > file` would;
//! - `loop`: the minimal parse-and-write loop: serde_json into a borrowed struct, one NDJSON
//!   line (the same bytes foxtrot writes, decimal text kept) into a 64 KiB `BufWriter`; no
//!   channel, no stats.
//!
//! Files are `fsync`ed at the end, as `foxtrot record` does.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;

/// Which yardstick to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Discard,
    Passthrough,
    Loop,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "discard" => Some(Mode::Discard),
            "passthrough" => Some(Mode::Passthrough),
            "loop" => Some(Mode::Loop),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Discard => "discard",
            Mode::Passthrough => "passthrough",
            Mode::Loop => "loop",
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

/// Runs `mode` against `url` until `n` text frames were read; `out` is the output file
/// (`discard` ignores it).
pub fn run(mode: Mode, url: &str, out: &str, n: u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .expect("connect");
        let file = (mode != Mode::Discard).then(|| File::create(out).expect("create output"));
        let mut writer = file
            .as_ref()
            .map(|f| BufWriter::with_capacity(64 * 1024, f));
        let mut num = itoa::Buffer::new();
        let mut seen = 0;
        while seen < n {
            let text = match ws.next().await {
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
                Mode::Loop => {
                    let frame: Combined<'_> = serde_json::from_str(text.as_str()).expect("parse");
                    let recv_ns = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as u64);
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
