//! A pseudo-terminal for the integration tests: foxtrot runs with stderr (and optionally
//! stdout and stdin) on a pty (nix `openpty`), and what it draws is fed into a vt100
//! emulator, so checks read the screen a person would see, not escape sequences. The
//! terminal can be resized and typed on (a real Ctrl-C keypress, with the pty as the
//! child's controlling terminal).

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nix::pty::{Winsize, openpty};

use crate::util::PATIENCE;

pub const ROWS: u16 = 30;
pub const COLS: u16 = 140;

/// A child whose stderr (and optionally stdout) is a terminal, and that terminal's screen.
pub struct OnTerminal {
    pub child: Child,
    /// The terminal's size.
    pub rows: u16,
    pub cols: u16,
    /// The terminal's keyboard side: what is written here is typed.
    pub keyboard: File,
    pub screen: Arc<Mutex<vt100::Parser>>,
    /// One message per chunk the terminal received; closed when the child's side closed.
    pub drawn: Receiver<()>,
    /// What the child wrote to a piped stdout.
    pub stdout: Option<std::thread::JoinHandle<String>>,
}

impl OnTerminal {
    /// Runs foxtrot with `args`: stderr on a fresh terminal, stdout on it too or piped.
    pub fn spawn(args: &[&str], stdout_on_terminal: bool, envs: &[(&str, &str)]) -> OnTerminal {
        OnTerminal::spawn_on((ROWS, COLS), false, args, stdout_on_terminal, envs)
    }

    /// As [`OnTerminal::spawn`], on a terminal of `(rows, cols)`; with `interactive`, the
    /// terminal is also the child's stdin and controlling terminal, as in a shell, so an
    /// interrupt character typed with [`OnTerminal::press`] is a real Ctrl-C keypress.
    pub fn spawn_on(
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
    pub fn rows(&self) -> Vec<String> {
        let parser = self.screen.lock().unwrap();
        parser
            .screen()
            .rows(0, self.cols)
            .map(|r| r.trim_end().to_owned())
            .collect()
    }

    /// Types `keys` on the terminal's keyboard.
    pub fn press(&self, keys: &[u8]) {
        use std::io::Write;
        (&self.keyboard).write_all(keys).unwrap();
    }

    /// Resizes the terminal (as a terminal window does: the program is not told).
    pub fn resize(&mut self, rows: u16, cols: u16) {
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
    pub fn any_row_wrapped(&self) -> bool {
        self.wrapped_below(0)
    }

    /// Whether any row from `top` down wrapped into the next.
    pub fn wrapped_below(&self, top: usize) -> bool {
        let parser = self.screen.lock().unwrap();
        (top as u16..self.rows).any(|r| parser.screen().row_wrapped(r))
    }

    /// Waits until the screen satisfies `ready` (re-checked whenever something is drawn).
    pub fn wait_for(&self, what: &str, ready: impl Fn(&[String]) -> bool) -> Vec<String> {
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
    pub fn interrupt(self) -> Ended {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(status.success());
        self.end()
    }

    /// Waits for the exit and for the terminal to take everything drawn.
    pub fn end(mut self) -> Ended {
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
pub struct Ended {
    pub code: Option<i32>,
    pub rows: Vec<String>,
    pub cursor: (u16, u16),
    pub cursor_hidden: bool,
    pub stdout: Option<String>,
}

impl Ended {
    /// The screen's lines up to the last non-empty one.
    pub fn lines(&self) -> Vec<&str> {
        let end = self
            .rows
            .iter()
            .rposition(|r| !r.is_empty())
            .map_or(0, |i| i + 1);
        self.rows[..end].iter().map(String::as_str).collect()
    }

    /// A clean terminal: cursor shown, at the start of the line below the last text.
    pub fn assert_clean(&self) {
        assert!(!self.cursor_hidden, "the cursor is left hidden");
        assert_eq!(
            self.cursor,
            (self.lines().len() as u16, 0),
            "the cursor is not on a fresh line below the output:\n{}",
            self.rows.join("\n")
        );
    }
}
