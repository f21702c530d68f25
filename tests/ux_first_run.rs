//! What a new user meets first (issue 13): refusals that make sense, feedback while
//! offline, a run that never connected failing loudly, binary frames, install steps, and
//! the repository's own promises (provenance, README options, release profile).

use crate::util::*;

#[tokio::test]
async fn zero_durations_are_refused_with_one_line() {
    let (endpoint, _reserved) = refused_endpoint();
    for flag in [
        "--duration",
        "--connect-timeout",
        "--stale-after",
        "--silent-stream-after",
        "--max-connection-age",
    ] {
        let out = run(&[
            "stream", "BTCUSDT", "--format", "ndjson", "--endpoint", &endpoint, flag, "0s",
        ])
        .await;
        out.assert_no_panic();
        assert_eq!(out.code, Some(2), "{flag} 0s: {}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{flag} 0s: {lines:?}");
        assert!(
            lines[0].starts_with(&format!("foxtrot: {flag} must be above zero")),
            "{lines:?}"
        );
        assert_eq!(out.stdout, "", "{flag} 0s wrote data");
    }
}
