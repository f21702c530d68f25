//! `foxtrot recover` through the real binary on what it must not finish: a Parquet
//! `.partial` a `kill -9` left, and `.partial` names holding data that does not decode or is
//! not foxtrot's. Each is refused with one line and exit 1, kept byte for byte, with nothing
//! written beside it, while the good files of the same call are still recovered.

use std::io::Write;
use std::path::Path;

use super::crash::wait_for_files;
use super::layout::{decoded, files_under};
use crate::util::*;

/// The stderr lines that name `path`.
fn lines_naming<'a>(stderr: &'a str, path: &Path) -> Vec<&'a str> {
    let name = path.to_str().unwrap();
    stderr.lines().filter(|l| l.contains(name)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_partial_from_kill_9_is_refused_and_kept() {
    let mut config = replay_config(&["bookTicker.jsonl"]);
    config.behavior.looped = true;
    config.behavior.rate = 2000;
    let server = start_replay(config).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("book.parquet");
    let mut child = foxtrot(&[
        "record",
        "BTCUSDT",
        "--channel",
        "bookTicker",
        "--endpoint",
        server.url(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ])
    .spawn()
    .unwrap();
    let partial = dir.path().join("book.parquet.partial");
    // Rows are written, but a row group (and the footer) is still to come.
    wait_for_files(dir.path(), |files| files.contains(&partial)).await;
    tokio::time::timeout(
        PATIENCE,
        server.stats().wait_until(|s| s.messages_sent() >= 200),
    )
    .await
    .expect("the recorder took no messages");
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    server.shutdown().await.unwrap();
    let before = std::fs::read(&partial).unwrap();

    let done = run(&["recover", partial.to_str().unwrap()]).await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    let line = lines_naming(&done.stderr, &partial);
    assert_eq!(line.len(), 1, "{}", done.stderr);
    assert!(
        line[0].contains("Parquet") && line[0].contains("foxtrot convert"),
        "{}",
        done.stderr
    );
    assert_eq!(std::fs::read(&partial).unwrap(), before, "kept as it was");
    assert_eq!(
        files_under(dir.path()),
        [partial],
        "nothing written beside it"
    );
}

#[tokio::test]
async fn undecodable_partials_are_kept_and_the_good_ones_recovered() {
    let dir = tempfile::tempdir().unwrap();
    // Not gzip at all, though named so.
    let garbage: Vec<u8> = (0..2048u32).map(|i| (i * 7919 % 251) as u8).collect();
    let not_gzip = dir.path().join("a.ndjson.gz.partial");
    std::fs::write(&not_gzip, &garbage).unwrap();
    // Binary bytes under a plain name.
    let not_text = dir.path().join("b.ndjson.partial");
    std::fs::write(&not_text, &garbage).unwrap();
    // What a kill -9 leaves: a gzip stream without its trailer, cut inside a line.
    let good = dir.path().join("c.ndjson.gz.partial");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(b"{\"a\":1}\n{\"a\":2}\n{\"a\"").unwrap();
    enc.flush().unwrap();
    std::fs::write(&good, enc.get_ref()).unwrap();

    let done = run(&[
        "recover",
        not_gzip.to_str().unwrap(),
        not_text.to_str().unwrap(),
        good.to_str().unwrap(),
    ])
    .await;
    done.assert_no_panic();
    assert_eq!(done.code, Some(1), "{}", done.stderr);
    for bad in [&not_gzip, &not_text] {
        let line = lines_naming(&done.stderr, bad);
        assert_eq!(line.len(), 1, "{}", done.stderr);
        assert!(line[0].contains("kept it unchanged"), "{}", done.stderr);
        assert_eq!(std::fs::read(bad).unwrap(), garbage, "{}", bad.display());
    }
    let recovered = dir.path().join("c.ndjson.gz");
    assert_eq!(decoded(&recovered), "{\"a\":1}\n{\"a\":2}\n");
    assert_eq!(
        files_under(dir.path()),
        [not_gzip, not_text, recovered],
        "the good one finished, the bad ones alone"
    );
}
