//! The process's exit codes, in one place (as fd's `exit_codes.rs`): `main` maps every
//! outcome to one of these, `app` reports a lossy stop, `shutdown` exits on a second
//! Ctrl-C. The table in `--help` (`cli::EXIT_CODES`) and the README say the same.

/// How a run ended, as the process's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Exit {
    /// Finished cleanly (also after Ctrl-C/SIGTERM when everything was written in time).
    Ok = 0,
    /// A runtime failure: could not connect, output failed, ...
    Failure = 1,
    /// A usage error: bad flag, symbol, channel, venue or config file; refused output path.
    Usage = 2,
    /// Ticks were lost: the shutdown deadline passed, or a broker never acknowledged them.
    Lost = 3,
    /// A second Ctrl-C forced an immediate exit.
    Interrupted = 130,
}

impl Exit {
    /// The numeric code.
    pub const fn code(self) -> i32 {
        self as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let codes = [
            Exit::Ok,
            Exit::Failure,
            Exit::Usage,
            Exit::Lost,
            Exit::Interrupted,
        ]
        .map(Exit::code);
        assert_eq!(codes, [0, 1, 2, 3, 130]);
        for code in codes {
            assert!(crate::cli::EXIT_CODES.contains(&format!("  {code} ")));
        }
    }
}
