//! The file policies a user types: `--rotate 1h|1d|500MB` and `--fsync never|rotate|interval:D`.
//!
//! Parsing and the validated values only; `files` applies them.

use std::time::Duration;

/// When a file is finished and the next one started, besides the template's own time
/// boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotate {
    /// At every multiple of this period since the Unix epoch (UTC): `1h` rotates on the hour.
    Every(Duration),
    /// Once this many bytes are on disk (compressed bytes for a compressed file).
    Size(u64),
}

impl Rotate {
    /// Parses `1h`, `1d`, `15m` (at least one second) or `500MB`, `1GiB`, `64KB`.
    pub fn parse(text: &str) -> Result<Rotate, String> {
        let t = text.trim();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = t.split_at(digits);
        let unit = unit.trim();
        let scale: Option<u64> = match unit.to_ascii_lowercase().as_str() {
            "b" => Some(1),
            "kb" | "k" => Some(1_000),
            "mb" => Some(1_000_000),
            "gb" | "g" => Some(1_000_000_000),
            "kib" => Some(1 << 10),
            "mib" => Some(1 << 20),
            "gib" => Some(1 << 30),
            _ => None,
        };
        if let (Some(scale), Ok(n)) = (scale, number.parse::<u64>()) {
            return match n.checked_mul(scale) {
                Some(bytes) if bytes > 0 => Ok(Rotate::Size(bytes)),
                _ => Err(format!("invalid --rotate {text:?}: give a size above zero")),
            };
        }
        match humantime::parse_duration(t) {
            Ok(d) if d >= Duration::from_secs(1) => Ok(Rotate::Every(d)),
            Ok(_) => Err(format!(
                "invalid --rotate {text:?}: the period must be at least 1s"
            )),
            Err(_) => Err(format!(
                "invalid --rotate {text:?}: expected a period such as 1h or 1d, or a size such as 500MB"
            )),
        }
    }
}

/// When files are made durable with `fsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fsync {
    /// Never (the OS writes back in its own time; a power cut may lose the last seconds).
    Never,
    /// When a file is finished (rotation, stop), and its directory after the rename.
    #[default]
    Rotate,
    /// Every interval while writing, and when a file is finished.
    Interval(Duration),
}

impl Fsync {
    /// Parses `never`, `rotate` or `interval:D` (such as `interval:5s`).
    pub fn parse(text: &str) -> Result<Fsync, String> {
        match text {
            "never" => Ok(Fsync::Never),
            "rotate" => Ok(Fsync::Rotate),
            _ => match text
                .strip_prefix("interval:")
                .map(humantime::parse_duration)
            {
                Some(Ok(d)) if !d.is_zero() => Ok(Fsync::Interval(d)),
                _ => Err(format!(
                    "invalid --fsync {text:?}: expected never, rotate or interval:DURATION such as interval:5s"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_parse_as_periods_or_sizes() {
        let cases = [
            ("1h", Ok(Rotate::Every(Duration::from_secs(3600)))),
            ("1d", Ok(Rotate::Every(Duration::from_secs(86_400)))),
            ("15m", Ok(Rotate::Every(Duration::from_secs(900)))),
            ("500MB", Ok(Rotate::Size(500_000_000))),
            ("64KiB", Ok(Rotate::Size(65_536))),
            ("2gb", Ok(Rotate::Size(2_000_000_000))),
        ];
        for (text, want) in cases {
            assert_eq!(Rotate::parse(text), want, "{text}");
        }
        for bad in ["0MB", "10ms", "soon", "", "5 parsecs"] {
            assert!(Rotate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fsync_policies_parse() {
        assert_eq!(Fsync::parse("never"), Ok(Fsync::Never));
        assert_eq!(Fsync::parse("rotate"), Ok(Fsync::Rotate));
        assert_eq!(
            Fsync::parse("interval:5s"),
            Ok(Fsync::Interval(Duration::from_secs(5)))
        );
        for bad in ["always", "interval:", "interval:0s", "interval:x"] {
            assert!(Fsync::parse(bad).is_err(), "{bad}");
        }
    }
}
