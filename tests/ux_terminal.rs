//! foxtrot on a real pseudo-terminal: the status line and the live table show their fields
//! while running and leave a clean terminal behind; data on a piped stdout stays pure.
//!
//! The child's terminal is a pty with a vt100 emulator behind it (see `pty`), so the checks
//! read the screen a person would see, not escape sequences.

use std::process::{Command, Stdio};

use crate::pty::*;
use crate::util::*;

/// A looping replay server of BTCUSDT book tickers and trades, on its own runtime.
fn looping_server(rate: u64) -> (tokio::runtime::Runtime, foxtrot::replay::RunningServer) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = replay_config(&["bookTicker.jsonl", "trade.jsonl"]);
    config.behavior.looped = true;
    config.behavior.rate = rate;
    let server = runtime.block_on(start_replay(config));
    (runtime, server)
}

#[test]
fn the_status_line_shows_the_counters_and_leaves_the_summary() {
    let (runtime, server) = looping_server(200);
    let url = server.url().to_owned();
    let run = OnTerminal::spawn(
        &[
            "record",
            "BTCUSDT",
            "--channel",
            "trade",
            "--channel",
            "bookTicker",
            "--endpoint",
            &url,
            "--out",
            "-",
        ],
        false,
        &[],
    );
    let fields = [
        "2 streams",
        "/s",
        "written ",
        "queue ",
        "last ",
        "reconnects 0",
        "dropped 0",
        "gaps 0",
    ];
    let shown = run.wait_for("the status line with ticks written", |rows| {
        rows.iter().any(|r| {
            fields.iter().all(|f| r.contains(f))
                && !r.contains("written 0 ")
                && r.contains("B) · queue")
        })
    });
    let status = shown.iter().position(|r| r.contains("reconnects")).unwrap();
    assert!(
        shown[status + 1].trim_start().starts_with("BTCUSDT@trade")
            && shown[status + 2]
                .trim_start()
                .starts_with("BTCUSDT@bookTicker"),
        "a line per stream under the totals:\n{}",
        shown.join("\n")
    );
    assert!(shown[status + 1].contains("received ") && shown[status + 1].contains("/s"));

    let ended = run.interrupt();
    assert_eq!(ended.code, Some(0), "{:?}", ended.rows);
    let lines = ended.lines();
    // Nothing of the status line is left: only the summary.
    assert_eq!(lines.len(), 1, "{lines:?}");
    let summary = lines[0];
    assert!(summary.starts_with("foxtrot: received "), "{summary}");
    assert!(summary.contains("lost 0"), "{summary}");
    ended.assert_clean();

    // stdout was a pipe: it holds the data and nothing else, all of it.
    let ticks = parse_ndjson(ended.stdout.as_deref().unwrap());
    assert!(ticks.iter().all(|t| t["symbol"] == "BTCUSDT"));
    assert!(
        summary.contains(&format!("written {},", ticks.len())),
        "{summary} vs {} lines",
        ticks.len()
    );
    runtime.block_on(server.shutdown()).unwrap();
}

#[test]
fn quiet_leaves_the_terminal_empty() {
    let (runtime, server) = looping_server(200);
    let url = server.url().to_owned();
    let run = OnTerminal::spawn(
        &[
            "record",
            "BTCUSDT",
            "--channel",
            "trade",
            "--endpoint",
            &url,
            "--out",
            "-",
            "--limit",
            "30",
            "--quiet",
        ],
        false,
        &[],
    );
    let ended = run.end();
    assert_eq!(ended.code, Some(0));
    assert_eq!(ended.lines(), Vec::<&str>::new(), "--quiet draws nothing");
    ended.assert_clean();
    assert_eq!(parse_ndjson(ended.stdout.as_deref().unwrap()).len(), 30);
    runtime.block_on(server.shutdown()).unwrap();
}

#[test]
fn the_live_table_shows_rows_and_stays_readable_after_exit() {
    let (runtime, server) = looping_server(200);
    let url = server.url().to_owned();
    let run = OnTerminal::spawn(
        &[
            "stream",
            "BTCUSDT",
            "--channel",
            "bookTicker",
            "--channel",
            "trade",
            "--endpoint",
            &url,
        ],
        true,
        &[],
    );
    let header = ["SYMBOL", "CHANNEL", "PRICE", "BID", "ASK", "AGE"];
    let shown = run.wait_for("the table with both rows", |rows| {
        rows.iter().any(|r| header.iter().all(|h| r.contains(h)))
            && rows
                .iter()
                .any(|r| r.starts_with("BTCUSDT") && r.contains("bookTicker"))
            && rows
                .iter()
                .any(|r| r.starts_with("BTCUSDT") && r.contains("trade"))
    });
    let top = shown.iter().position(|r| r.starts_with("SYMBOL")).unwrap();
    {
        let parser = run.screen.lock().unwrap();
        let cell = parser.screen().cell(top as u16, 0).unwrap();
        assert!(cell.bold(), "a bold header on a colour terminal");
    }
    // The frame is redrawn in place: one header, whatever the number of redraws.
    assert_eq!(shown.iter().filter(|r| r.starts_with("SYMBOL")).count(), 1);

    let ended = run.interrupt();
    assert_eq!(ended.code, Some(0), "{:?}", ended.rows);
    let lines = ended.lines();
    assert_eq!(
        lines.iter().filter(|r| r.starts_with("SYMBOL")).count(),
        1,
        "{lines:?}"
    );
    assert_eq!(lines.len(), 4, "header, two rows, summary: {lines:?}");
    assert!(lines[3].starts_with("foxtrot: received "), "{lines:?}");
    ended.assert_clean();
    runtime.block_on(server.shutdown()).unwrap();
}

#[test]
fn no_colour_with_no_color_set() {
    let (runtime, server) = looping_server(200);
    let url = server.url().to_owned();
    let run = OnTerminal::spawn(
        &[
            "stream",
            "BTCUSDT",
            "--channel",
            "bookTicker",
            "--endpoint",
            &url,
        ],
        true,
        &[("NO_COLOR", "1")],
    );
    let shown = run.wait_for("the table", |rows| {
        rows.iter().any(|r| r.starts_with("BTCUSDT"))
    });
    let top = shown.iter().position(|r| r.starts_with("SYMBOL")).unwrap();
    {
        let parser = run.screen.lock().unwrap();
        let screen = parser.screen();
        for col in 0..COLS {
            let cell = screen.cell(top as u16, col).unwrap();
            assert!(!cell.bold(), "bold at column {col} despite NO_COLOR");
            assert_eq!(cell.fgcolor(), vt100::Color::Default);
        }
    }
    let ended = run.interrupt();
    assert_eq!(ended.code, Some(0));
    ended.assert_clean();
    runtime.block_on(server.shutdown()).unwrap();
}

/// A looping replay server of bookTicker and trade messages for `symbols` symbols
/// (`S00USDT`, `S01USDT`, ...: the fixtures' BTCUSDT lines under other names).
fn many_symbols_server(
    symbols: usize,
    rate: u64,
) -> (
    tokio::runtime::Runtime,
    foxtrot::replay::RunningServer,
    Vec<String>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..symbols).map(|i| format!("S{i:02}USDT")).collect();
    let mut lines = String::new();
    for file in ["bookTicker.jsonl", "trade.jsonl"] {
        let line = &fixture_lines(file)[0];
        for name in &names {
            lines.push_str(&line.replace("\"BTCUSDT\"", &format!("\"{name}\"")));
            lines.push('\n');
        }
    }
    let path = dir.path().join("many.jsonl");
    std::fs::write(&path, lines).unwrap();
    let mut config = foxtrot::replay::ReplayConfig::load(&[path]).unwrap();
    config.behavior.looped = true;
    config.behavior.rate = rate;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start_replay(config));
    (runtime, server, names, dir)
}

#[test]
fn the_live_table_fits_an_80_by_24_terminal_and_follows_resizes() {
    let (runtime, server, names, _dir) = many_symbols_server(30, 2000);
    let url = server.url().to_owned();
    let mut args = vec!["stream", "--channel", "bookTicker", "--channel", "trade"];
    args.extend(names.iter().map(String::as_str));
    args.extend(["--endpoint", &url]);
    let mut run = OnTerminal::spawn_on((24, 80), false, &args, true, &[]);
    // 60 rows do not fit in 24 lines: what fits, then how many more.
    let shown = run.wait_for("the table with a `… N more` line", |rows| {
        rows.iter()
            .any(|r| r.starts_with("… ") && r.ends_with(" more"))
            && rows.iter().any(|r| r.starts_with("S00USDT"))
    });
    let header = shown.iter().position(|r| r.starts_with("SYMBOL")).unwrap();
    let more = shown.iter().position(|r| r.starts_with("… ")).unwrap();
    let drawn_rows = more - header - 1;
    assert_eq!(
        shown[more],
        format!("… {} more", 60 - drawn_rows),
        "{}",
        shown.join("\n")
    );
    assert!(more < 23, "the last line stays free for the cursor");
    // Prices and AGE fit; nothing wraps; one table on screen.
    let columns: Vec<&str> = shown[header].split_whitespace().collect();
    assert_eq!(columns, ["SYMBOL", "CHANNEL", "PRICE", "BID", "ASK", "AGE"]);
    assert!(!run.any_row_wrapped(), "{}", shown.join("\n"));
    // Redraws keep it one table (count after a few more frames).
    for _ in 0..8 {
        let _ = run.drawn.recv_timeout(PATIENCE);
    }
    let rows = run.rows();
    assert_eq!(rows.iter().filter(|r| r.starts_with("SYMBOL")).count(), 1);
    assert!(!run.any_row_wrapped(), "{}", rows.join("\n"));

    // A wider window: the table follows, quantities come back.
    run.resize(24, 110);
    let wider = run.wait_for("the table redrawn 110 wide", |rows| {
        rows.iter()
            .any(|r| r.starts_with("SYMBOL") && r.contains("BID QTY"))
    });
    assert!(!run.any_row_wrapped(), "{}", wider.join("\n"));
    // Back to 80: the next frames fit again. (A frame already on its way when the size
    // changed may wrap once, as on any terminal; the frames after it must not.)
    run.resize(24, 80);
    run.wait_for("the table redrawn 80 wide", |rows| {
        rows.iter()
            .rev()
            .find(|r| r.starts_with("SYMBOL"))
            .is_some_and(|r| !r.contains("QTY"))
    });
    for _ in 0..4 {
        let _ = run.drawn.recv_timeout(PATIENCE);
    }
    let narrow = run.rows();
    let top = narrow
        .iter()
        .rposition(|r| r.starts_with("SYMBOL"))
        .unwrap();
    assert!(!run.wrapped_below(top), "{}", narrow.join("\n"));

    let ended = run.interrupt();
    assert_eq!(ended.code, Some(0), "{:?}", ended.rows);
    // The summary is an ordinary line below the table (it may wrap: it is not redrawn).
    let lines = ended.lines();
    let summary = lines
        .iter()
        .rposition(|l| l.starts_with("foxtrot: received "));
    assert!(
        summary.is_some_and(|i| i + 2 >= lines.len() && lines[i - 1].starts_with("… ")),
        "{lines:#?}"
    );
    ended.assert_clean();
    runtime.block_on(server.shutdown()).unwrap();
}

/// A server that sends BTCUSDT bookTicker ticks for a moment, then neither sends nor
/// reads: foxtrot's close frame gets no reply, so its stop waits (2 s) for one.
fn slow_closing_server() -> (tokio::runtime::Runtime, String) {
    use futures_util::SinkExt;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let payload = fixture_lines("bookTicker.jsonl").remove(0);
    let frame = format!(r#"{{"stream":"btcusdt@bookTicker","data":{payload}}}"#);
    runtime.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let frame = frame.clone();
            tokio::spawn(async move {
                let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                for _ in 0..20 {
                    let message = tokio_tungstenite::tungstenite::Message::text(frame.as_str());
                    if ws.send(message).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                // Hold the socket without reading: no close reply ever goes out.
                std::future::pending::<()>().await;
                drop(ws);
            });
        }
    });
    (runtime, url)
}

#[test]
fn a_ctrl_c_keypress_leaves_the_table_and_the_summary_only() {
    let (runtime, url) = slow_closing_server();
    let run = OnTerminal::spawn_on(
        (ROWS, COLS),
        true,
        &[
            "stream",
            "BTCUSDT",
            "--channel",
            "bookTicker",
            "--endpoint",
            &url,
        ],
        true,
        &[],
    );
    run.wait_for("the table with its row", |rows| {
        rows.iter().any(|r| r.starts_with("BTCUSDT"))
    });
    // The terminal's interrupt character, typed: the line discipline sends SIGINT.
    run.press(b"\x03");
    // While the close reply is awaited, the table says so.
    let stopping = run.wait_for("stopping… in the table", |rows| {
        rows.iter().any(|r| r.starts_with("stopping…"))
    });
    assert!(
        !stopping.iter().any(|r| r.contains("^C")),
        "{}",
        stopping.join("\n")
    );
    let ended = run.end();
    assert_eq!(ended.code, Some(0), "{:#?}", ended.rows);
    let lines = ended.lines();
    assert_eq!(lines.len(), 3, "header, row, summary: {lines:#?}");
    assert!(lines[0].starts_with("SYMBOL") && lines[1].starts_with("BTCUSDT"));
    assert!(lines[2].starts_with("foxtrot: received "), "{lines:#?}");
    ended.assert_clean();
    drop(runtime);
}

#[test]
fn a_ctrl_c_keypress_clears_the_status_line() {
    let (runtime, server) = looping_server(200);
    let url = server.url().to_owned();
    let run = OnTerminal::spawn_on(
        (ROWS, COLS),
        true,
        &[
            "record",
            "BTCUSDT",
            "--channel",
            "trade",
            "--endpoint",
            &url,
            "--out",
            "-",
        ],
        false,
        &[],
    );
    run.wait_for("the status line with ticks written", |rows| {
        rows.iter()
            .any(|r| r.contains("reconnects 0") && !r.contains("written 0 "))
    });
    run.press(b"\x03");
    let ended = run.end();
    assert_eq!(ended.code, Some(0), "{:#?}", ended.rows);
    // Nothing of the status line and no `^C`: only the summary, as after `kill -INT`.
    let lines = ended.lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with("foxtrot: received "), "{lines:#?}");
    ended.assert_clean();
    runtime.block_on(server.shutdown()).unwrap();
}

#[test]
fn while_offline_the_table_and_the_status_line_say_what_is_dialed() {
    let (endpoint, _reserved) = refused_endpoint();
    let port = endpoint.rsplit(':').next().unwrap().to_owned();
    let quick = ["--backoff-initial", "10ms", "--backoff-max", "100ms"];
    let needle = format!("connecting to 127.0.0.1:{port} (attempt ");
    for (args, stdout_on_terminal) in [
        (vec!["stream", "BTCUSDT", "--endpoint", &endpoint], true),
        (
            vec!["record", "BTCUSDT", "--endpoint", &endpoint, "--out", "-"],
            false,
        ),
    ] {
        let mut args = args;
        args.extend(quick);
        let run = OnTerminal::spawn_on((24, 80), false, &args, stdout_on_terminal, &[]);
        let shown = run.wait_for("the connecting line", |rows| {
            rows.iter()
                .any(|r| r.contains(&needle) && r.contains(", last: Connection refused"))
        });
        // Log lines above it may wrap (they scroll away); the redrawn lines never do.
        let redrawn = shown
            .iter()
            .position(|r| r.starts_with("SYMBOL") || r.contains(&needle))
            .unwrap();
        assert!(!run.wrapped_below(redrawn), "{}", shown.join("\n"));
        let ended = run.interrupt();
        assert_eq!(ended.code, Some(1), "never connected: {:#?}", ended.rows);
        let lines = ended.lines();
        // The error is the last line (wrapped on 80 columns); the connecting line is gone.
        let error = lines
            .iter()
            .rposition(|l| l.starts_with(&format!("foxtrot: never connected to 127.0.0.1:{port}")));
        assert!(
            error.is_some_and(|i| i + 3 >= lines.len())
                && !lines.iter().any(|l| l.contains(&needle)),
            "{lines:#?}"
        );
        ended.assert_clean();
    }
}

/// A background job (`foxtrot record ... &` in an interactive shell) leaves the terminal's
/// settings alone: changing them from the background would stop it (SIGTTOU).
#[test]
fn a_background_run_is_not_stopped_by_the_terminal() {
    let (endpoint, _reserved) = refused_endpoint();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bg.csv");
    // util-linux `script` gives the shell a terminal with job control, as a login has.
    let job = format!(
        "{} record BTCUSDT --endpoint {endpoint} --out {} --duration 2s --backoff-max 50ms & wait $!; echo status=$?; kill -9 $! 2>/dev/null",
        env!("CARGO_BIN_EXE_foxtrot"),
        out.display()
    );
    let shell = format!("bash --norc --noprofile -ic '{job}'");
    let ran = Command::new("script")
        .args(["-qec", &shell, "/dev/null"])
        .stdin(Stdio::null())
        .env_remove("FOXTROT_ENDPOINT")
        .env("RUST_BACKTRACE", "0")
        .output();
    let Ok(ran) = ran else {
        println!("skipped: `script` (util-linux) is not installed");
        return;
    };
    let text = String::from_utf8_lossy(&ran.stdout);
    // Never connected: 1. Stopped by SIGTTOU, `wait` would say 128 + 22 = 150 (or 149).
    assert!(text.lines().any(|l| l.trim_end() == "status=1"), "{text}");
}
