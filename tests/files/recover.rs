//! `foxtrot recover` through the real binary on what it must not finish: a Parquet
//! `.partial` a `kill -9` left, and `.partial` names holding data that does not decode or is
//! not foxtrot's. Each is refused with one line and exit 1, kept byte for byte, with nothing
//! written beside it, while the good files of the same call are still recovered. And a
//! large `.partial` is recovered in bounded memory.

use std::io::Write;
use std::path::Path;

use foxtrot::sink::compress::{Compression, DEFAULT_ZSTD_LEVEL, Writer};

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

/// Recovery holds a few MiB whatever the size of the `.partial` (weeks of `--rotate 1d`
/// can leave gigabytes after a crash). The binary's peak RSS (GNU time's `%M`, the child's
/// `ru_maxrss`) recovering 40 MiB of lines, plain and zstd, stays within 20 MiB of its peak
/// recovering one line; reading the file whole, as recover once did, costs the 40 MiB.
/// Skipped (with a note) where `/usr/bin/time` is missing.
#[test]
fn a_large_partial_is_recovered_in_bounded_memory() {
    const DECODED: usize = 40 << 20;
    const MARGIN_KIB: u64 = 20 << 10;
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        eprintln!("skipped: no /usr/bin/time to measure the peak RSS with");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peak_kib = |partial: &Path| {
        let report = dir.path().join("rss");
        let out = std::process::Command::new(time)
            .args(["-f", "%M", "-o"])
            .arg(&report)
            .arg(env!("CARGO_BIN_EXE_foxtrot"))
            .arg("recover")
            .arg(partial)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", partial.display());
        let report = std::fs::read_to_string(&report).unwrap();
        let kib: u64 = report
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{report:?}"));
        kib
    };
    let mut lines = Vec::with_capacity(DECODED + 4096);
    for seq in 0u64.. {
        if lines.len() >= DECODED {
            break;
        }
        writeln!(
            lines,
            "{{\"exchange\":\"binance\",\"symbol\":\"BTCUSDT\",\"channel\":\"trade\",\"recv_ns\":{},\"price\":\"{}.{:08}\",\"qty\":\"0.{:08}\",\"trade_id\":{seq}}}",
            1_764_800_000_000_000_000 + seq * 1_000_317,
            60_000 + seq % 5_000,
            seq * 7_919 % 100_000_000,
            seq * 104_729 % 100_000_000,
        )
        .unwrap();
    }
    let torn = b"{\"exchange\":\"bin";
    for (name, compression) in [
        ("big.ndjson.partial", Compression::Plain),
        (
            "big.ndjson.zst.partial",
            Compression::Zstd(DEFAULT_ZSTD_LEVEL),
        ),
    ] {
        // What a kill -9 leaves: whole blocks flushed as the sink does, a torn last line,
        // no end.
        let unfinished = |path: &Path, lines: &[u8]| {
            let mut writer = Writer::create(path, compression).unwrap();
            for block in lines.chunks(1 << 20) {
                writer.write_lines(block).unwrap();
                writer.settle(true).unwrap();
            }
            writer.write_lines(torn).unwrap();
            writer.settle(true).unwrap();
        };
        let small = dir.path().join(format!("small-{name}"));
        unfinished(
            &small,
            &lines[..lines.iter().position(|&b| b == b'\n').unwrap() + 1],
        );
        let baseline = peak_kib(&small);
        let big = dir.path().join(name);
        unfinished(&big, &lines);
        let peak = peak_kib(&big);
        let done = dir.path().join(name.trim_end_matches(".partial"));
        let got = std::io::read_to_string(foxtrot::sink::compress::reader(&done).unwrap());
        assert!(
            got.unwrap().as_bytes() == lines,
            "{name}: every complete line, in order"
        );
        assert!(
            peak < baseline + MARGIN_KIB,
            "{name}: peak RSS {peak} KiB recovering {} MiB, {baseline} KiB recovering one line",
            DECODED >> 20
        );
        eprintln!("{name}: peak RSS {peak} KiB (one line: {baseline} KiB)");
    }
}
