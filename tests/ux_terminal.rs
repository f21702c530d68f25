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
    screen: Arc<Mutex<vt100::Parser>>,
    /// One message per chunk the terminal received; closed when the child's side closed.
    drawn: Receiver<()>,
    /// What the child wrote to a piped stdout.
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl OnTerminal {
    /// Runs foxtrot with `args`: stderr on a fresh terminal, stdout on it too or piped.
    fn spawn(args: &[&str], stdout_on_terminal: bool, envs: &[(&str, &str)]) -> OnTerminal {
        let size = Winsize {
            ws_row: ROWS,
            ws_col: COLS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(&size, None).unwrap();
        let tty = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
        let mut child = {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_foxtrot"));
            cmd.args(args)
                .stdin(Stdio::null())
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
            ROWS.try_into().unwrap(),
            COLS.try_into().unwrap(),
            0,
        )));
        let (tx, drawn) = channel();
        let mut master = File::from(pty.master);
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
            .rows(0, COLS)
            .map(|r| r.trim_end().to_owned())
            .collect()
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
            .rows(0, COLS)
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
