//! Bad input: one clear line on stderr, a non-zero exit, never a panic, nothing half-written.

use crate::util::*;

/// Asserts a usage or runtime refusal: the exit code, one line naming `needle`.
fn assert_refused(out: &Finished, code: i32, needle: &str) {
    out.assert_no_panic();
    assert_eq!(out.code, Some(code), "stderr: {}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {:?}", out.stderr);
    assert!(lines[0].starts_with("foxtrot: "), "{}", lines[0]);
    assert!(
        lines[0].contains(needle),
        "{:?} should mention {needle:?}",
        lines[0]
    );
    assert_eq!(out.stdout, "", "nothing on stdout");
}

#[tokio::test]
async fn usage_errors_are_one_line_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out_csv = dir.path().join("x.csv");
    let out_csv = out_csv.to_str().unwrap();
    let (endpoint, _reserved) = refused_endpoint();
    let cases: &[(&[&str], &str)] = &[
        (&["stream", "BTCUSDT", "--bogus"], "--bogus"),
        (
            &["stream", "BTC-USDT", "--endpoint", &endpoint],
            "invalid symbol \"BTC-USDT\"",
        ),
        (
            &["stream", "BTCUSDTBTCUSDTBTCUSDTX", "--endpoint", &endpoint],
            "invalid symbol",
        ),
        (&["stream", "BTCUSDT", "--channel", "depth5"], "depth5"),
        (&["stream", "BTCUSDT", "--shutdown-timeout", "soon"], "soon"),
        (&["stream", "BTCUSDT", "--buffer", "0"], "--buffer"),
        (
            &["stream", "BTCUSDT", "--endpoint", "http://example.com"],
            "--endpoint",
        ),
        (
            &[
                "stream",
                "BTCUSDT",
                "--format",
                "table",
                "--endpoint",
                &endpoint,
            ],
            "terminal",
        ),
        (
            &["record", "BTCUSDT", "--out", "ticks.txt"],
            "--out \"ticks.txt\"",
        ),
        (
            &["record", "BTCUSDT", "--out", out_csv, "--append", "--force"],
            "--force",
        ),
        (&["record", "BTCUSDT"], "--out"),
        (&["stream"], "SYMBOL"),
    ];
    for (args, needle) in cases {
        let out = run(args).await;
        assert_refused(&out, 2, needle);
    }
    assert!(!std::path::Path::new(out_csv).exists());
}

#[tokio::test]
async fn an_existing_output_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ticks.csv");
    std::fs::write(&path, "precious\n").unwrap();
    let out = run(&[
        "record",
        "BTCUSDT",
        "--out",
        path.to_str().unwrap(),
        "--endpoint",
        &refused_endpoint().0,
    ])
    .await;
    assert_refused(&out, 2, "already exists: pass --append");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
}

#[tokio::test]
async fn appending_to_a_csv_with_other_columns_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ticks.csv");
    std::fs::write(&path, "a,b\n1,2\n").unwrap();
    let out = run(&[
        "record",
        "BTCUSDT",
        "--out",
        path.to_str().unwrap(),
        "--append",
        "--endpoint",
        &refused_endpoint().0,
    ])
    .await;
    assert_refused(&out, 2, "header differs");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n1,2\n");
}

#[tokio::test]
async fn an_unwritable_directory_is_a_runtime_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let path = file.join("ticks.csv");
    let out = run(&[
        "record",
        "BTCUSDT",
        "--out",
        path.to_str().unwrap(),
        "--endpoint",
        &refused_endpoint().0,
    ])
    .await;
    assert_refused(&out, 1, "cannot open output file");
}

#[tokio::test]
async fn a_refusing_endpoint_fails_after_the_connect_timeout_leaving_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ticks.ndjson");
    let (endpoint, _reserved) = refused_endpoint();
    let out = run(&[
        "record",
        "BTCUSDT",
        "--out",
        path.to_str().unwrap(),
        "--endpoint",
        &endpoint,
        "--connect-timeout",
        "2s",
    ])
    .await;
    // The warning logged while still trying (issue 13) comes before the one error line.
    let out = Finished {
        stderr: out
            .stderr
            .lines()
            .filter(|l| !l.contains(" WARN cannot connect to 127.0.0.1:"))
            .map(|l| format!("{l}\n"))
            .collect(),
        ..out
    };
    assert_refused(&out, 1, "could not connect to ws://127.0.0.1:");
    assert!(out.stderr.contains("within 2s"), "{}", out.stderr);
    assert!(!path.exists(), "a failed run leaves no empty file behind");
}

#[tokio::test]
async fn help_lists_exit_codes_and_examples() {
    let out = run(&["stream", "--help"]).await;
    assert_eq!(out.code, Some(0));
    for needle in [
        "Exit codes",
        "130",
        "jq -r .bid",
        "--on-full",
        "--shutdown-timeout",
    ] {
        assert!(
            out.stdout.contains(needle),
            "stream --help lacks {needle:?}"
        );
    }
}
