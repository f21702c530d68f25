//! Measuring one child run: its wall time, and from `wait4` its own user+sys CPU time,
//! peak RSS and context switches; websocat measured inside its `| head -n N` pipe; line
//! counts that keep the parent's RSS small; medians.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::stream_url;

/// What one child run cost.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    pub(crate) wall: Duration,
    pub(crate) cpu: Duration,
    pub(crate) max_rss_kib: u64,
    /// Voluntary plus involuntary context switches of all the child's threads: its wake-ups.
    pub(crate) switches: u64,
}

/// Runs `cmd` to its end and measures it; panics if it fails.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which clippy does not know
pub(crate) fn measure(mut cmd: Command) -> Sample {
    let started = Instant::now();
    let child = cmd.stdin(Stdio::null()).spawn().expect("spawn");
    let (status, usage) = wait4(&child);
    let wall = started.elapsed();
    assert!(status == 0, "{cmd:?} failed (wait status {status:#x})");
    sample(wall, &usage)
}

/// Runs `websocat URL | head -n N > out` and measures websocat.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which clippy does not know
pub(crate) fn measure_websocat(url: &str, out: &Path, n: u64) -> Sample {
    let mut head = Command::new("head")
        .args(["-n", &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(out).unwrap())
        .spawn()
        .expect("spawn head");
    let started = Instant::now();
    // Its stdin stays open (and unused) until it exits: at EOF it would close early.
    let websocat = Command::new("websocat")
        .arg(stream_url(url))
        .stdin(Stdio::piped())
        .stdout(head.stdin.take().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn websocat");
    let (_broken_pipe, usage) = wait4(&websocat);
    let wall = started.elapsed();
    assert!(head.wait().unwrap().success());
    sample(wall, &usage)
}

pub(crate) fn sample(wall: Duration, usage: &libc::rusage) -> Sample {
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Sample {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss as u64,
        switches: (usage.ru_nvcsw + usage.ru_nivcsw) as u64,
    }
}

/// Reaps `child` and returns its wait status and its own resource usage.
pub(crate) fn wait4(child: &Child) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: `rusage` is plain data that `wait4` fills in; the pid is our own child,
    // which `std` has not reaped (we never call `wait` on it).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    (status, usage)
}

/// Counts lines in small reads: a child's peak RSS starts at this process's RSS (Linux
/// carries it over through `exec`), so the parent must never hold the file.
pub(crate) fn lines_in(path: &Path) -> u64 {
    let name = path.to_string_lossy();
    if !name.ends_with(".zst") && !name.ends_with(".gz") {
        return decoded_lines_in(path);
    }
    // A decoder's window would stay in this process's RSS: a child decodes.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--child-count")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "counting {name}");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Lines in the file at `path`, decompressed first where its name ends in `.zst` or `.gz`.
pub(crate) fn decoded_lines_in(path: &Path) -> u64 {
    let file = std::fs::File::open(path).unwrap();
    let name = path.to_string_lossy();
    let decoded: Box<dyn std::io::Read> = if name.ends_with(".zst") {
        Box::new(zstd::stream::read::Decoder::new(file).unwrap())
    } else if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut reader = BufReader::with_capacity(64 * 1024, decoded);
    let mut lines = 0;
    loop {
        let chunk = reader.fill_buf().unwrap();
        if chunk.is_empty() {
            return lines;
        }
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        let len = chunk.len();
        reader.consume(len);
    }
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}
