//! Why a connection task gives up, and which handshake failures retrying cannot fix.

use super::*;

/// Why a connection task gave up. Each ends the run with exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No handshake succeeded within `--connect-timeout`.
    #[error(
        "could not connect to {url} within {timeout} ({cause}); {}",
        crate::dialing::WHAT_TO_CHECK
    )]
    NeverConnected {
        /// The URL tried.
        url: String,
        /// The timeout, as typed.
        timeout: humantime::FormattedDuration,
        /// The last failure.
        cause: String,
    },
    /// The server refused in a way retrying cannot fix (bad certificate, HTTP 404, ...).
    #[error("cannot connect to {url} ({cause})")]
    Refused {
        /// The URL tried.
        url: String,
        /// What the server or TLS said.
        cause: String,
    },
    /// `--max-retries` consecutive attempts failed.
    #[error("gave up on {url} after {attempts} failed attempts in a row ({cause})")]
    GaveUp {
        /// The URL tried.
        url: String,
        /// Consecutive failures.
        attempts: u32,
        /// The last failure.
        cause: String,
    },
}

/// Whether retrying cannot help: a bad URL, a TLS failure, or an HTTP refusal other than
/// "slow down" (408, 418, 429) or a server-side error (5xx).
pub(super) fn is_permanent(e: &tungstenite::Error) -> bool {
    use tungstenite::Error;
    match e {
        Error::Url(_) | Error::Tls(_) => true,
        Error::Http(response) => {
            let status = response.status().as_u16();
            (400..500).contains(&status) && ![408, 418, 429].contains(&status)
        }
        Error::Io(io) => tls_cause(io).is_some(),
        _ => false,
    }
}

pub(super) fn tls_cause(io: &std::io::Error) -> Option<&rustls::Error> {
    io.get_ref()?.downcast_ref::<rustls::Error>()
}

/// One line for a handshake or read failure, without tungstenite's prefixes.
pub(super) fn describe(e: &tungstenite::Error) -> String {
    use tungstenite::Error;
    match e {
        Error::Http(response) => format!("HTTP {}", response.status()),
        Error::Io(io) => match tls_cause(io) {
            Some(tls) => format!("TLS: {tls}"),
            None => io.to_string(),
        },
        other => other.to_string(),
    }
}
