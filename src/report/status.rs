//! The live status line on stderr (indicatif), and the one gate every other stderr writer
//! goes through so that nothing tears it.
//!
//! Shown only when stderr is a terminal, `--quiet` is not given and the data itself is not
//! drawn on the same terminal (the live table is its own status). It redraws from the
//! counters four times a second; with two to five streams each gets a line of its own under
//! the totals. When the run ends it is cleared, leaving the terminal as it was for the
//! summary line. Logs, the stats JSON and the signal handler's messages are written with
//! [`write_stderr`], which lifts the status line, writes, and puts it back.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{
    HumanBytes, HumanCount, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle,
};

use super::{Ending, Monitor, Sample, stream_name};

/// Between redraws: often enough to look live, rare enough to cost nothing.
const REDRAW: Duration = Duration::from_millis(250);

/// Rates are averaged over this many redraws (one second).
const RATE_WINDOW: usize = 4;

/// With more streams than this, only the totals are shown.
const MAX_STREAM_LINES: usize = 5;

/// The status line currently on screen, if any.
static ACTIVE: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Writes `bytes` to stderr in one piece, lifting the status line around it if one is shown,
/// or hands them to the live table to print above itself when one is drawn on the terminal.
pub fn write_stderr(bytes: &[u8]) -> io::Result<()> {
    if crate::terminal::post_log(bytes) {
        return Ok(());
    }
    let active = ACTIVE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let write = || io::stderr().lock().write_all(bytes);
    match active {
        Some(multi) => multi.suspend(write),
        None => write(),
    }
}

/// Prints one line on stderr (see [`write_stderr`]); a failure to print is ignored.
pub fn print_line(line: &str) {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    let _ = write_stderr(&bytes);
}

/// Removes the status line from the screen for good (before an immediate exit).
pub fn clear() {
    if let Some(multi) = ACTIVE.lock().unwrap_or_else(PoisonError::into_inner).take() {
        let _ = multi.clear();
    }
}

/// A `tracing` writer that goes through [`write_stderr`]: log lines appear above the
/// status line instead of through it. The formatter writes each event in one call.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrWriter;

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_stderr(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Draws the status line until `ending`, then clears it.
pub async fn run(monitor: Arc<Monitor>, ending: Ending) {
    let target = ProgressDrawTarget::stderr_with_hz(8);
    if target.is_hidden() {
        return;
    }
    let multi = MultiProgress::with_draw_target(target);
    let style = ProgressStyle::with_template("{spinner} {wide_msg}")
        .expect("a valid template")
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ");
    let line_style = ProgressStyle::with_template("  {wide_msg}").expect("a valid template");
    let first = monitor.sample();
    let total = multi.add(ProgressBar::new_spinner().with_style(style));
    let stream_lines: Vec<ProgressBar> = if (2..=MAX_STREAM_LINES).contains(&first.streams.len()) {
        first
            .streams
            .iter()
            .map(|_| multi.add(ProgressBar::new_spinner().with_style(line_style.clone())))
            .collect()
    } else {
        Vec::new()
    };
    *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = Some(multi.clone());

    let mut window = VecDeque::from([first]);
    let mut redraw = tokio::time::interval(REDRAW);
    redraw.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ending.finished() => break,
            _ = redraw.tick() => {}
        }
        let now = monitor.sample();
        let oldest = window.front().expect("the window is never empty");
        total.set_message(totals_line(&now, oldest, ending.intake.is_cancelled()));
        total.tick();
        for (i, line) in stream_lines.iter().enumerate() {
            line.set_message(stream_line(&now, oldest, i));
        }
        if window.len() == RATE_WINDOW {
            window.pop_front();
        }
        window.push_back(now);
    }
    for line in stream_lines.iter().chain([&total]) {
        line.finish_and_clear();
    }
    clear();
}

/// While the live table is drawn: keeps its note line (connecting, stopping) up to date
/// and its board open, so log lines print above the table instead of through it.
pub async fn run_table(monitor: Arc<Monitor>, ending: Ending) {
    let board = crate::terminal::TableBoard::open();
    let mut redraw = tokio::time::interval(REDRAW);
    redraw.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = ending.finished() => break,
            // The table redraws every 250 ms: "stopping…" shows within one redraw.
            _ = ending.intake.cancelled(), if !stopping => {}
            _ = redraw.tick() => {}
        }
        stopping = ending.intake.is_cancelled();
        board.note(table_note(&monitor.sample(), stopping));
    }
}

/// The table's note line: what the run is doing when it is not just streaming.
fn table_note(now: &Sample, stopping: bool) -> Option<String> {
    if stopping {
        return Some("stopping… (Ctrl-C again exits at once)".to_owned());
    }
    now.connecting.clone()
}

/// The first line: the totals.
fn totals_line(now: &Sample, earlier: &Sample, stopping: bool) -> String {
    let t = &now.totals;
    let mut line = String::new();
    if stopping {
        line.push_str(&format!(
            "stopping: {} queued (Ctrl-C again exits at once) · ",
            HumanCount(now.queued())
        ));
    }
    // Until the first connection the counters are all zero: say what is happening instead.
    if let Some(connecting) = &now.connecting {
        line.push_str(connecting);
        return line;
    }
    match now.streams.as_slice() {
        [one] => line.push_str(&format!("{} · ", stream_name(&one.id))),
        [] => {}
        many => line.push_str(&format!("{} streams · ", many.len())),
    }
    line.push_str(&format!(
        "{}/s · written {} ({}) · queue {} · last {} ago · reconnects {} · dropped {} · gaps {}",
        rate_text(now.rate(earlier)),
        HumanCount(t.written),
        HumanBytes(t.bytes_written),
        HumanCount(now.queued()),
        age_text(now.age(now.last_recv_ns())),
        t.reconnects,
        HumanCount(t.dropped),
        t.gaps,
    ));
    if now.keeps_books() {
        line.push_str(&format!(" · resyncs {}", t.resyncs));
    }
    if t.stalls > 0 {
        line.push_str(&format!(" · stalls {}", t.stalls));
    }
    if t.decode_errors > 0 {
        line.push_str(&format!(" · undecodable {}", HumanCount(t.decode_errors)));
    }
    if t.broker_inflight > 0 || t.broker_errors > 0 {
        line.push_str(&format!(
            " · broker: {} unacked, {} errors",
            HumanCount(t.broker_inflight),
            HumanCount(t.broker_errors)
        ));
    }
    line
}

/// A line per stream: its rate, count and age.
fn stream_line(now: &Sample, earlier: &Sample, i: usize) -> String {
    let stream = &now.streams[i];
    let mut line = format!(
        "{:<24} {:>8}/s · received {} · last {} ago",
        stream_name(&stream.id),
        rate_text(now.stream_rate(earlier, i)),
        HumanCount(stream.received),
        age_text(now.age(stream.last_recv_ns)),
    );
    if stream.resyncs > 0 {
        line.push_str(&format!(" · resyncs {}", stream.resyncs));
    }
    line
}

fn rate_text(rate: f64) -> String {
    if rate < 10.0 {
        format!("{rate:.1}")
    } else {
        HumanCount(rate.round() as u64).to_string()
    }
}

/// `0.3s`, `42s`, `5m`, `3h`, `2d`: short, like the table's AGE column.
fn age_text(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..10 => format!("{secs}.{}s", age.subsec_millis() / 100),
        10..60 => format!("{secs}s"),
        60..3_600 => format!("{}m", secs / 60),
        3_600..86_400 => format!("{}h", secs / 3_600),
        _ => format!("{}d", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::StreamId;
    use crate::stats::Stats;
    use crate::tick::{Channel, Symbol};

    fn monitor(streams: &[&str]) -> (Arc<Stats>, Monitor) {
        let ids: Vec<StreamId> = streams
            .iter()
            .map(|s| {
                StreamId::new(
                    crate::exchange::Venue::Binance,
                    Symbol::parse(s).unwrap(),
                    Channel::Trade,
                )
            })
            .collect();
        let stats = Arc::new(Stats::new(&ids));
        let monitor = Monitor::new(stats.clone(), 100, std::time::Instant::now());
        (stats, monitor)
    }

    #[test]
    fn the_totals_line_names_every_counter() {
        let (stats, monitor) = monitor(&["BTCUSDT"]);
        let before = monitor.sample();
        stats
            .written
            .fetch_add(12_345, std::sync::atomic::Ordering::Relaxed);
        let mut now = monitor.sample();
        now.at = before.at + Duration::from_secs(1);
        let line = totals_line(&now, &before, false);
        for needle in [
            "BTCUSDT@trade",
            "/s",
            "written 12,345",
            "queue 0",
            "last ",
            "reconnects 0",
            "dropped 0",
            "gaps 0",
        ] {
            assert!(line.contains(needle), "{needle:?} not in {line:?}");
        }
        assert!(!line.contains("stalls"));
        assert!(!line.contains("resyncs"), "no books, no re-syncs shown");
        assert!(!line.contains("broker"), "{line}");
        // A broker output's unacknowledged records and errors, once there are any.
        stats
            .broker_inflight
            .store(1_500, std::sync::atomic::Ordering::Relaxed);
        stats
            .broker_errors
            .fetch_add(2, std::sync::atomic::Ordering::Relaxed);
        let broker = totals_line(&monitor.sample(), &before, false);
        assert!(
            broker.ends_with(" · broker: 1,500 unacked, 2 errors"),
            "{broker}"
        );
        assert!(totals_line(&now, &before, true).starts_with("stopping: "));
        // Until the first connection: what is being dialed, and why it failed.
        stats.dialing.attempt("ws://127.0.0.1:1/stream", 3);
        stats.dialing.failed("Connection refused (os error 111)");
        let connecting = totals_line(&monitor.sample(), &before, false);
        assert_eq!(
            connecting,
            "connecting to 127.0.0.1:1 (attempt 3, last: Connection refused (os error 111))"
        );
        stats.dialing.connected();
        assert!(totals_line(&monitor.sample(), &before, false).contains("written 12,345"));
        let (_, many) = self::monitor(&["A", "B", "C"]);
        let sample = many.sample();
        assert!(totals_line(&sample, &sample, false).starts_with("3 streams · "));
        assert!(stream_line(&sample, &sample, 1).starts_with("B@trade "));
    }

    #[test]
    fn book_resyncs_show_on_the_totals_and_their_stream() {
        let ids: Vec<StreamId> = [Channel::Depth, Channel::Trade]
            .map(|channel| {
                StreamId::new(
                    crate::exchange::Venue::Binance,
                    Symbol::parse("ETHUSDT").unwrap(),
                    channel,
                )
            })
            .into();
        let stats = Arc::new(Stats::new(&ids));
        let monitor = Monitor::new(stats.clone(), 100, std::time::Instant::now());
        let before = monitor.sample();
        assert!(totals_line(&before, &before, false).ends_with("gaps 0 · resyncs 0"));
        stats.book_resynced(crate::exchange::Venue::Binance, &[stats.position(&ids[0])]);
        let now = monitor.sample();
        assert!(totals_line(&now, &before, false).contains("resyncs 1"));
        assert!(stream_line(&now, &before, 0).ends_with(" · resyncs 1"));
        assert!(!stream_line(&now, &before, 1).contains("resyncs"));
    }

    #[test]
    fn ages_are_short() {
        assert_eq!(age_text(Duration::from_millis(300)), "0.3s");
        assert_eq!(age_text(Duration::from_secs(42)), "42s");
        assert_eq!(age_text(Duration::from_secs(300)), "5m");
        assert_eq!(age_text(Duration::from_secs(3 * 86_400)), "3d");
        assert_eq!(rate_text(2.25), "2.2");
        assert_eq!(rate_text(12_345.6), "12,346");
    }
}
