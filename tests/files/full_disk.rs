//! A full disk (`/dev/full`, and a small tmpfs mounted by the test): one line naming the file,
//! a failing exit, and what was written before ends on a line boundary.

use std::path::{Path, PathBuf};

use crate::util::*;

/// A tmpfs of `size` mounted on a fresh directory; unmounted when dropped.
pub struct SmallDisk {
    /// The mount point.
    pub dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts one, or says why it cannot (not root, no mount(8), a container without the
    /// capability) so the caller can skip with that reason printed.
    pub fn mount(size: &str) -> Result<SmallDisk, String> {
        let parent = tempfile::tempdir().map_err(|e| e.to_string())?;
        let dir = parent.path().join("disk");
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .map_err(|e| format!("cannot run mount ({e})"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(SmallDisk {
            dir,
            _parent: parent,
        })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).status();
    }
}

/// Records looped bookTicker and trade ticks into `out` until foxtrot stops by itself.
async fn record_until_it_fails(out: &Path, extra: &[&str]) -> Finished {
    let mut config = replay_config(&["bookTicker.jsonl", "trade.jsonl"]);
    config.behavior.looped = true;
    let server = start_replay(config).await;
    let mut args = vec![
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--channel",
        "trade",
        "--endpoint",
        server.url(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let mut cmd = foxtrot(&args);
    cmd.env("RUST_BACKTRACE", "0");
    let finished = finish(cmd.spawn().unwrap()).await;
    server.shutdown().await.unwrap();
    finished
}

fn assert_names_the_file(out: &Finished, path: &Path) {
    out.assert_no_panic();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let want = format!(
        "foxtrot: cannot write output {} (No space left on device",
        path.display()
    );
    assert!(
        out.stderr.lines().any(|l| l.starts_with(&want)),
        "want a line starting {want:?} in:\n{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_full_fails_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["full.csv", "full.ndjson"] {
        let path = dir.path().join(name);
        std::os::unix::fs::symlink("/dev/full", &path).unwrap();
        let out = record_until_it_fails(&path, &["--append"]).await;
        assert_names_the_file(&out, &path);
    }
}

/// Every line of `text` is complete: it ends with a newline, and each line parses (NDJSON)
/// or has the header's number of fields (CSV). Returns the number of data lines.
fn assert_whole_lines(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.is_empty(), "{} is empty", path.display());
    assert!(
        text.ends_with('\n'),
        "{} ends in a torn line: {:?}",
        path.display(),
        &text[text.len().saturating_sub(80)..]
    );
    if path.extension().unwrap() == "csv" {
        let mut lines = text.lines();
        let columns = lines.next().unwrap().split(',').count();
        let mut n = 0;
        for line in lines {
            assert_eq!(line.split(',').count(), columns, "torn row {line:?}");
            n += 1;
        }
        n
    } else {
        parse_ndjson(&text).len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_leaves_whole_lines_and_names_the_file() {
    let disk = match SmallDisk::mount("1m") {
        Ok(disk) => disk,
        Err(why) => {
            println!("skipped: cannot mount a small tmpfs ({why})");
            return;
        }
    };
    for name in ["ticks.csv", "ticks.ndjson"] {
        let path = disk.dir.join(name);
        let out = record_until_it_fails(&path, &[]).await;
        assert_names_the_file(&out, &path);
        let lines = assert_whole_lines(&path);
        assert!(
            lines > 10,
            "{name}: only {lines} lines before the disk filled"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_a_compressed_template_leaves_a_recoverable_partial() {
    // Looped fixture rows compress very well: a small disk fills within seconds.
    let disk = match SmallDisk::mount("48k") {
        Ok(disk) => disk,
        Err(why) => {
            println!("skipped: cannot mount a small tmpfs ({why})");
            return;
        }
    };
    let template = disk.dir.join("{channel}/ticks.ndjson.gz");
    let out = record_until_it_fails(&template, &[]).await;
    out.assert_no_panic();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("foxtrot: cannot write output "))
        .unwrap_or_else(|| panic!("no error line in {}", out.stderr));
    assert!(line.contains("No space left on device"), "{line}");
    assert!(
        line.contains(".ndjson.gz.partial"),
        "names the file written: {line}"
    );
    // Nothing can be finished on a full disk (a trailer needs room too): every file is
    // a .partial whose complete lines recover (into files on another disk).
    let files = super::layout::files_under(&disk.dir);
    assert!(!files.is_empty());
    let elsewhere = tempfile::tempdir().unwrap();
    let mut rows = 0;
    for (i, file) in files.iter().enumerate() {
        let name = file.to_str().unwrap();
        if !name.ends_with(".partial") {
            rows += parse_ndjson(&super::layout::decoded(file)).len();
            continue;
        }
        let copy = elsewhere.path().join(format!("{i}.ndjson.gz.partial"));
        std::fs::copy(file, &copy).unwrap();
        let recovered = run(&["recover", copy.to_str().unwrap()]).await;
        assert_eq!(recovered.code, Some(0), "{}", recovered.stderr);
        let done = elsewhere.path().join(format!("{i}.ndjson.gz"));
        assert_ne!(super::layout::system_test(&done), Some(false));
        rows += parse_ndjson(&super::layout::decoded(&done)).len();
    }
    assert!(rows > 10, "only {rows} rows kept");
}
