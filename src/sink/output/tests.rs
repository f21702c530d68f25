//! LineSink's `--fsync` policies on a plain file, counted through its sync counter.

use std::time::Duration;

use super::*;
use crate::sink::ndjson::tests::samples;

/// A plain NDJSON sink over a new file in `dir`, synced by `fsync`.
fn sink(dir: &Path, name: &str, fsync: Fsync) -> LineSink {
    let path = dir.join(name);
    let file = File::create(&path).unwrap();
    LineSink::new(Box::new(Ndjson), file, fsync, true, Gaps::Inline).at(&path)
}

#[test]
fn a_plain_file_follows_the_fsync_policy() {
    let dir = tempfile::tempdir().unwrap();
    let tick = samples().remove(0);

    // interval: a sync whenever the interval has passed and lines came, and at the end.
    let mut every = sink(
        dir.path(),
        "every.ndjson",
        Fsync::Interval(Duration::from_millis(1)),
    );
    assert_eq!(every.refresh_every(), Some(Duration::from_millis(1)));
    for _ in 0..3 {
        every.write(&tick).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        every.flush().unwrap();
    }
    assert_eq!(every.fsyncs(), 3);
    // Nothing new since: neither a refresh nor an empty flush syncs again.
    std::thread::sleep(Duration::from_millis(2));
    every.refresh().unwrap();
    every.flush().unwrap();
    assert_eq!(every.fsyncs(), 3);
    every.finish().unwrap();
    assert_eq!(every.fsyncs(), 4);

    // rotate (the default): only at the end.
    let mut at_end = sink(dir.path(), "end.ndjson", Fsync::Rotate);
    assert_eq!(at_end.refresh_every(), None);
    at_end.write(&tick).unwrap();
    std::thread::sleep(Duration::from_millis(2));
    at_end.flush().unwrap();
    assert_eq!(at_end.fsyncs(), 0);
    at_end.finish().unwrap();
    assert_eq!(at_end.fsyncs(), 1);

    // never: not even at the end.
    let mut never = sink(dir.path(), "never.ndjson", Fsync::Never);
    never.write(&tick).unwrap();
    never.flush().unwrap();
    assert_eq!(never.finish().unwrap(), 0);
    assert_eq!(never.fsyncs(), 0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("never.ndjson"))
            .unwrap()
            .lines()
            .count(),
        1
    );
}
