//! The terminal a run draws on: its size, its echo of `^C`, and the one board through which
//! the live table learns what else wants the screen.
//!
//! The live table ([`crate::sink::table::Table`]) does no I/O; before each frame its sink
//! calls [`prepare`], which asks the terminal for its size (one `ioctl`, cheap enough for
//! every frame, so a resize is followed within a frame without a SIGWINCH handler) and
//! hands over the note line and the log lines posted on the board. The board is
//! process-wide, like the terminal itself: one run per process draws a table. While a table
//! is up ([`TableBoard::open`]), stderr writers post their lines here instead of writing
//! them through the frame (see [`crate::report::status::write_stderr`]).
//!
//! [`ControlEcho`] switches off the terminal's `^C` echo (and the output flush that a
//! signal key triggers) while something is drawn in place: the echo lands on the status
//! line or table and moves the cursor behind the redraw's back, so a keypress left a line
//! on screen that `kill -INT` did not.

use std::sync::{Mutex, PoisonError};

use crate::sink::table::Table;

/// What the table shows besides ticks, posted by the reporters and the log writer.
#[derive(Debug, Default)]
struct Board {
    /// A table is up: log lines are posted here rather than written to stderr.
    open: bool,
    /// The table's note line.
    note: Option<String>,
    /// Log lines not yet printed above the table.
    logs: Vec<u8>,
}

static BOARD: Mutex<Board> = Mutex::new(Board {
    open: false,
    note: None,
    logs: Vec::new(),
});

fn board() -> std::sync::MutexGuard<'static, Board> {
    BOARD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The board while a table is up; closing it (on drop) gives back what was not drawn.
#[derive(Debug)]
pub struct TableBoard(());

impl TableBoard {
    /// Opens the board: from now on [`post_log`] keeps lines for the table.
    pub fn open() -> TableBoard {
        let mut board = board();
        board.open = true;
        board.note = None;
        TableBoard(())
    }

    /// Sets the table's note line (`None` removes it).
    pub fn note(&self, note: Option<String>) {
        board().note = note;
    }
}

impl Drop for TableBoard {
    /// Closes the board; log lines the table did not draw go to stderr now.
    fn drop(&mut self) {
        let logs = {
            let mut board = board();
            board.open = false;
            board.note = None;
            std::mem::take(&mut board.logs)
        };
        if !logs.is_empty() {
            use std::io::Write;
            let _ = std::io::stderr().lock().write_all(&logs);
        }
    }
}

/// Keeps `bytes` (complete lines) for the table if one is up and stderr is the terminal it
/// is drawn on; returns whether it did. Otherwise the caller writes them itself.
pub fn post_log(bytes: &[u8]) -> bool {
    let mut board = board();
    if !board.open || !stderr_is_terminal() {
        return false;
    }
    board.logs.extend_from_slice(bytes);
    true
}

fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// Before a frame: sizes `table` to the terminal `out` and hands it the board's note and
/// log lines.
#[cfg(unix)]
pub fn prepare(table: &mut Table, out: &impl std::os::fd::AsFd) {
    if let Ok(size) = rustix::termios::tcgetwinsize(out)
        && size.ws_col > 0
        && size.ws_row > 0
    {
        table.set_size(usize::from(size.ws_col), usize::from(size.ws_row));
    }
    feed(table);
}

/// Before a frame: hands `table` the board's note and log lines (the size is not known).
#[cfg(not(unix))]
pub fn prepare<T>(table: &mut Table, _out: &T) {
    feed(table);
}

fn feed(table: &mut Table) {
    let mut board = board();
    table.set_note(board.note.as_deref());
    if !board.logs.is_empty() {
        table.print_above(&board.logs);
        board.logs.clear();
    }
}

/// The terminal settings changed by [`ControlEcho`], to put back.
#[cfg(unix)]
static SAVED: Mutex<Option<(Target, rustix::termios::Termios)>> = Mutex::new(None);

/// Which standard stream is the terminal being drawn on.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// The live table.
    Stdout,
    /// The status line.
    Stderr,
}

/// While alive, the terminal does not echo `^C` and does not flush output on a signal key;
/// dropped (or [`restore_echo`]), the settings are as they were.
#[derive(Debug)]
pub struct ControlEcho(());

impl ControlEcho {
    /// Switches the echo off on `target` if it is a terminal; `None` when it is not (or the
    /// settings cannot be changed: then nothing changed).
    #[cfg(unix)]
    pub fn hide(target: Target) -> Option<ControlEcho> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let saved = with_fd(target, |fd| {
            // A background job that changes terminal settings is stopped (SIGTTOU), and
            // the terminal is not its to change.
            if !in_foreground(fd) {
                return None;
            }
            let saved = tcgetattr(fd).ok()?;
            let mut quiet = saved.clone();
            quiet.local_modes.remove(LocalModes::ECHOCTL);
            quiet.local_modes.insert(LocalModes::NOFLSH);
            tcsetattr(fd, OptionalActions::Now, &quiet).ok()?;
            Some(saved)
        })?;
        *SAVED.lock().unwrap_or_else(PoisonError::into_inner) = Some((target, saved));
        Some(ControlEcho(()))
    }

    /// Terminal settings are not changed off Unix.
    #[cfg(not(unix))]
    pub fn hide(_target: Target) -> Option<ControlEcho> {
        None
    }
}

impl Drop for ControlEcho {
    fn drop(&mut self) {
        restore_echo();
    }
}

/// Puts back what [`ControlEcho::hide`] changed (also before an immediate exit).
pub fn restore_echo() {
    #[cfg(unix)]
    if let Some((target, saved)) = SAVED.lock().unwrap_or_else(PoisonError::into_inner).take() {
        with_fd(target, |fd| {
            // Sent to the background meanwhile (Ctrl-Z, `bg`): the shell keeps the settings
            // of the foreground job, and touching them would stop this one (SIGTTOU).
            if in_foreground(fd) {
                let _ =
                    rustix::termios::tcsetattr(fd, rustix::termios::OptionalActions::Now, &saved);
            }
        });
    }
}

/// Whether this process's group is the foreground job of the terminal `fd`.
#[cfg(unix)]
fn in_foreground(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    rustix::termios::tcgetpgrp(fd).ok() == Some(rustix::process::getpgrp())
}

/// Runs `f` on the file descriptor of `target`.
#[cfg(unix)]
fn with_fd<R>(target: Target, f: impl FnOnce(std::os::fd::BorrowedFd<'_>) -> R) -> R {
    use std::os::fd::AsFd;
    match target {
        Target::Stdout => f(std::io::stdout().as_fd()),
        Target::Stderr => f(std::io::stderr().as_fd()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_board_feeds_the_table_only_while_open() {
        let mut table = Table::new(false);
        {
            let board = TableBoard::open();
            board.note(Some("connecting to h:1 (attempt 2)".to_owned()));
            feed(&mut table);
            let mut out = Vec::new();
            table.render(0, &mut out);
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("connecting to h:1 (attempt 2)"), "{text:?}");
        }
        // Closed: nothing is kept for a table (the caller writes to stderr itself).
        assert!(!post_log(b"a log line\n"));
    }
}
