//! foxtrot on a real pseudo-terminal: the status line and the live table show their fields
//! while running and leave a clean terminal behind; data on a piped stdout stays pure.
//!
//! The child's terminal side is a pty (nix `openpty`); what it draws is fed into a vt100
//! emulator, so the checks read the screen a person would see, not escape sequences.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nix::pty::{Winsize, openpty};

use crate::util::*;

const ROWS: u16 = 30;
const COLS: u16 = 140;

/// A child whose stderr (and optionally stdout) is a terminal, and that terminal's screen.
struct OnTerminal {
    child: Child,
    /// The terminal's size.
    rows: u16,
    cols: u16,
    /// The terminal's keyboard side: what is written here is typed.
    keyboard: File,
    screen: Arc<Mutex<vt100::Parser>>,
    /// One message per chunk the terminal received; closed when the child's side closed.
    drawn: Receiver<()>,
    /// What the child wrote to a piped stdout.
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl OnTerminal {
    /// Runs foxtrot with `args`: stderr on a fresh terminal, stdout on it too or piped.
    fn spawn(args: &[&str], stdout_on_terminal: bool, envs: &[(&str, &str)]) -> OnTerminal {
        OnTerminal::spawn_on((ROWS, COLS), false, args, stdout_on_terminal, envs)
    }

    /// As [`OnTerminal::spawn`], on a terminal of `(rows, cols)`; with `interactive`, the
    /// terminal is also the child's stdin and controlling terminal, as in a shell, so an
    /// interrupt character typed with [`OnTerminal::press`] is a real Ctrl-C keypress.
    fn spawn_on(
        (rows, cols): (u16, u16),
        interactive: bool,
        args: &[&str],
        stdout_on_terminal: bool,
        envs: &[(&str, &str)],
    ) -> OnTerminal {
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(&size, None).unwrap();
        let tty = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
        let mut child = {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_foxtrot"));
            if interactive {
                use std::os::unix::process::CommandExt;
                cmd.stdin(tty(&pty.slave));
                // SAFETY: between fork and exec only async-signal-safe calls (setsid,
                // ioctl) are made, on the child's own stdin.
                unsafe {
                    cmd.pre_exec(|| {
                        if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
            } else {
                cmd.stdin(Stdio::null());
            }
            cmd.args(args)
                .stderr(tty(&pty.slave))
                .stdout(if stdout_on_terminal {
                    tty(&pty.slave)
                } else {
                    Stdio::piped()
                })
                .env_remove("FOXTROT_ENDPOINT")
                .env_remove("RUST_LOG")
                .env_remove("NO_COLOR")
                .env_remove("COLUMNS")
                .env_remove("LINES")
                .env("TERM", "xterm-256color")
                .env("RUST_BACKTRACE", "0");
            for (key, value) in envs {
                cmd.env(key, value);
            }
            cmd.spawn().unwrap()
        };
        // Only the child holds the terminal side now, so reads end when it exits.
        drop(pty.slave);
        let stdout = child.stdout.take().map(|mut out| {
            std::thread::spawn(move || {
                let mut text = String::new();
                out.read_to_string(&mut text).unwrap();
                text
            })
        });
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            rows.try_into().unwrap(),
            cols.try_into().unwrap(),
            0,
        )));
        let (tx, drawn) = channel();
        let mut master = File::from(pty.master);
        let keyboard = master.try_clone().unwrap();
        let parser = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            // EIO once the child's side is closed: the end of the terminal's input.
            while let Ok(n @ 1..) = master.read(&mut buf) {
                parser.lock().unwrap().process(&buf[..n]);
                let _ = tx.send(());
            }
        });
        OnTerminal {
            child,
            rows,
            cols,
            keyboard,
            screen,
            drawn,
            stdout,
        }
    }

    /// The screen's text, one string per row, trailing blanks trimmed.
    fn rows(&self) -> Vec<String> {
        let parser = self.screen.lock().unwrap();
        parser
            .screen()
            .rows(0, self.cols)
            .map(|r| r.trim_end().to_owned())
            .collect()
    }

    /// Types `keys` on the terminal's keyboard.
    fn press(&self, keys: &[u8]) {
        use std::io::Write;
        (&self.keyboard).write_all(keys).unwrap();
    }

    /// Resizes the terminal (as a terminal window does: the program is not told).
    fn resize(&mut self, rows: u16, cols: u16) {
        let size = rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&self.keyboard, size).unwrap();
        self.screen
            .lock()
            .unwrap()
            .set_size(rows.try_into().unwrap(), cols.try_into().unwrap());
        (self.rows, self.cols) = (rows, cols);
    }

    /// Whether any row of the screen wrapped into the next (a line wider than the terminal).
    fn any_row_wrapped(&self) -> bool {
        self.wrapped_below(0)
    }

    /// Whether any row from `top` down wrapped into the next.
    fn wrapped_below(&self, top: usize) -> bool {
        let parser = self.screen.lock().unwrap();
        (top as u16..self.rows).any(|r| parser.screen().row_wrapped(r))
    }

    /// Waits until the screen satisfies `ready` (re-checked whenever something is drawn).
    fn wait_for(&self, what: &str, ready: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let rows = self.rows();
            if ready(&rows) {
                return rows;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.drawn.recv_timeout(left) {
                Ok(()) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {what} on screen:\n{}", rows.join("\n"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let rows = self.rows();
                    assert!(ready(&rows), "exited without {what}:\n{}", rows.join("\n"));
                    return rows;
                }
            }
        }
    }

    /// Sends SIGINT, waits for the exit and for the terminal to take everything drawn.
    fn interrupt(self) -> Ended {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(status.success());
        self.end()
    }

    /// Waits for the exit and for the terminal to take everything drawn.
    fn end(mut self) -> Ended {
        let (tx, exited) = channel();
        let mut child = self.child;
        std::thread::spawn(move || {
            let _ = tx.send(child.wait().unwrap().code());
        });
        let code = exited
            .recv_timeout(PATIENCE)
            .expect("foxtrot did not exit in time");
        let deadline = Instant::now() + PATIENCE;
        while self
            .drawn
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
        {}
        let stdout = self.stdout.take().map(|t| t.join().unwrap());
        let parser = self.screen.lock().unwrap();
        let screen = parser.screen();
        let rows: Vec<String> = screen
            .rows(0, self.cols)
            .map(|r| r.trim_end().to_owned())
            .collect();
        Ended {
            code,
            cursor: screen.cursor_position(),
            cursor_hidden: screen.hide_cursor(),
            rows,
            stdout,
        }
    }
}

/// What a finished child left on its terminal.
#[derive(Debug)]
struct Ended {
    code: Option<i32>,
    rows: Vec<String>,
    cursor: (u16, u16),
    cursor_hidden: bool,
    stdout: Option<String>,
}

impl Ended {
    /// The screen's lines up to the last non-empty one.
    fn lines(&self) -> Vec<&str> {
        let end = self
            .rows
            .iter()
            .rposition(|r| !r.is_empty())
            .map_or(0, |i| i + 1);
        self.rows[..end].iter().map(String::as_str).collect()
    }

    /// A clean terminal: cursor shown, at the start of the line below the last text.
    fn assert_clean(&self) {
        assert!(!self.cursor_hidden, "the cursor is left hidden");
        assert_eq!(
            self.cursor,
            (self.lines().len() as u16, 0),
            "the cursor is not on a fresh line below the output:\n{}",
            self.rows.join("\n")
        );
    }
}

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
    // Back to 80: never a wrapped line, and one table.
    run.resize(24, 80);
    let narrow = run.wait_for("the table redrawn 80 wide", |rows| {
        rows.iter()
            .rev()
            .find(|r| r.starts_with("SYMBOL"))
            .is_some_and(|r| !r.contains("QTY"))
    });
    assert!(!run.any_row_wrapped(), "{}", narrow.join("\n"));

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
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Bound and closed: connections to it are refused (no other test binds it meanwhile
    // in practice; the check below only needs the refusal's text).
    drop(listener);
    let endpoint = format!("ws://127.0.0.1:{port}");
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
