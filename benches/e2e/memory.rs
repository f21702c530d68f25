//! Whether memory stays flat over a long run, and how long an idle run takes to stop after
//! SIGINT: `stream --format ndjson` against a flood of its own until N (and M) lines, the
//! flood stopped, foxtrot's `VmRSS`/`VmHWM` read once it idles; and `record` on a stream
//! the flood never sends, timed from SIGINT to exit.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::measure::wait4;
use crate::{FOXTROT, Server, foxtrot_source};

/// A process's memory as `/proc/<pid>/status` gives it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resident {
    /// `VmRSS`: resident now.
    pub(crate) rss_kib: u64,
    /// `VmHWM`: the most it has been resident.
    pub(crate) hwm_kib: u64,
}

/// Reads `VmRSS` and `VmHWM` (kB) of the live process `pid`.
pub(crate) fn resident(pid: u32) -> Resident {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{name}: ... kB` in {path}:\n{status}"))
    };
    Resident {
        rss_kib: field("VmRSS"),
        hwm_kib: field("VmHWM"),
    }
}

/// `foxtrot stream --format ndjson` on the contenders' source with no `--limit` (it runs
/// until SIGINT), its stdout piped to this process.
pub(crate) fn stream_unlimited(url: &str) -> Command {
    let mut cmd = Command::new(FOXTROT);
    cmd.args(["stream", "--format", "ndjson"]);
    foxtrot_source(&mut cmd, url);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    cmd
}

/// Counts the lines of `output` in 64 KiB reads, sending the running count after each read;
/// returns the total at EOF.
pub(crate) fn count_lines(mut output: impl Read, counts: mpsc::Sender<u64>) -> u64 {
    let mut buffer = vec![0; 64 * 1024];
    let mut lines = 0;
    loop {
        let read = match output.read(&mut buffer) {
            Ok(0) => return lines,
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("read foxtrot's stdout: {e}"),
        };
        lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
        // The receiver stops listening before the end; later counts are not wanted.
        let _ = counts.send(lines);
    }
}

/// Receives counts until one reaches `messages`; panics if the output ends first.
pub(crate) fn await_count(counts: &mpsc::Receiver<u64>, messages: u64) {
    let mut seen = 0;
    while seen < messages {
        seen = counts.recv().unwrap_or_else(|_| {
            panic!("foxtrot's stdout ended after {seen} of {messages} messages")
        });
    }
}

/// Receives counts until none has come for `quiet`, i.e. the writer has gone idle; panics if
/// the output ends instead.
pub(crate) fn await_quiet(counts: &mpsc::Receiver<u64>, quiet: Duration) {
    loop {
        match counts.recv_timeout(quiet) {
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => return,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("foxtrot's stdout ended while it drained its queue")
            }
        }
    }
}

/// Sends `signal` to the live process `pid`; panics if that fails.
pub(crate) fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: `kill` only sends a signal; `pid` is our own child, which has not been reaped.
    let sent = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(
        sent,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// Runs `stream --format ndjson` against a flood server of its own until it has written
/// `messages` lines, stops the server (SIGSTOP) and, once foxtrot has drained its queue and
/// idles, returns its memory. Then stops foxtrot with SIGINT and checks it exits 0.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which clippy does not know
pub(crate) fn resident_after(messages: u64) -> Resident {
    let server = Server::start(2 * messages);
    let mut child = stream_unlimited(&server.url)
        .spawn()
        .expect("spawn foxtrot stream");
    let stdout = child.stdout.take().expect("foxtrot's stdout is piped");
    let (sender, counts) = mpsc::channel();
    let reader = std::thread::spawn(move || count_lines(stdout, sender));
    await_count(&counts, messages);
    signal(server.child.id(), libc::SIGSTOP);
    await_quiet(&counts, Duration::from_millis(500));
    let memory = resident(child.id());
    signal(child.id(), libc::SIGINT);
    drop(counts);
    reader.join().expect("the line counter panicked");
    let (status, _) = wait4(&child);
    assert!(
        status == 0,
        "foxtrot stream after {messages} messages: SIGINT gave wait status {status:#x}, not exit 0"
    );
    drop(server); // SIGKILL ends it although it is stopped.
    memory
}

/// Starts `foxtrot record` on a stream the flood does not generate (so the sink idles),
/// sends SIGINT once it is connected and returns how long it took to exit.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which clippy does not know
pub(crate) fn idle_stop(server: &Server, dir: &Path) -> Duration {
    let out = dir.join("idle.ndjson");
    let mut child = Command::new(FOXTROT)
        .args(["record", "BTCUSDT", "--channel", "ticker", "--endpoint"])
        .arg(&server.url)
        .arg("--out")
        .arg(&out)
        .args(["-v", "--force"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("connected") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no `connected`");
    }
    std::thread::sleep(Duration::from_millis(200));
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    // SAFETY: sending a signal to our own child, which has not been reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let (status, _) = wait4(&child);
    let took = started.elapsed();
    assert!(status == 0, "idle record failed (wait status {status:#x})");
    took
}
