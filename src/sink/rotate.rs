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

/// The longest rotation period: a file a year is already more than any data set wants, and
/// a longer period would not fit the nanosecond clock the boundaries are computed on.
pub const MAX_PERIOD: Duration = Duration::from_secs(366 * 86_400);

impl Rotate {
    /// Parses a period of seconds, minutes, hours or days (`1h`, `1d`, `15min`, `15m`,
    /// `1h30m`; at least 1s, at most 366d) or a size (`500MB`, `1GiB`, `64KB`, `2G`).
    ///
    /// `M` alone is refused: humantime reads it as months, people often mean megabytes.
    /// Months, years and weeks are refused too: rotation boundaries are multiples of the
    /// period since the epoch, which only seconds to days make sensible.
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
            "tb" => Some(1_000_000_000_000),
            "kib" => Some(1 << 10),
            "mib" => Some(1 << 20),
            "gib" => Some(1 << 30),
            "tib" => Some(1 << 40),
            _ => None,
        };
        if let (Some(scale), false) = (scale, number.is_empty()) {
            return match number.parse::<u64>().ok().map(|n| n.checked_mul(scale)) {
                Some(Some(0)) => Err(format!("invalid --rotate {text:?}: give a size above zero")),
                Some(Some(bytes)) => Ok(Rotate::Size(bytes)),
                _ => Err(format!(
                    "invalid --rotate {text:?}: the size is too large (such as 500MB or 2GiB)"
                )),
            };
        }
        if unit == "M" && !number.is_empty() {
            return Err(format!(
                "invalid --rotate {text:?}: M is ambiguous: write {number}MB (or {number}MiB) for a size, {number}min for minutes"
            ));
        }
        let period = period(t).map_err(|why| format!("invalid --rotate {text:?}: {why}"))?;
        if period < Duration::from_secs(1) {
            return Err(format!(
                "invalid --rotate {text:?}: the period must be at least 1s"
            ));
        }
        if period > MAX_PERIOD {
            return Err(format!(
                "invalid --rotate {text:?}: the period must be at most 366d (leave --rotate out for one file)"
            ));
        }
        Ok(Rotate::Every(period))
    }
}

/// Reads a period of numbers with s, min (m), h and d units (`1h30m`), or says why not.
fn period(text: &str) -> Result<Duration, &'static str> {
    const EXPECTED: &str = "expected a period such as 1h, 1d or 15min, or a size such as 500MB";
    let mut total: u64 = 0;
    let mut rest = text.trim_start();
    if rest.is_empty() {
        return Err(EXPECTED);
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(EXPECTED);
        }
        let (number, after) = rest.split_at(digits);
        let after = after.trim_start();
        let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(letters);
        let seconds: u64 = match unit {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600,
            "d" | "day" | "days" => 86_400,
            "M" | "month" | "months" | "y" | "year" | "years" | "w" | "week" | "weeks" => {
                return Err(
                    "a period is given in s, min, h or d, not weeks, months or years (such as 30d)",
                );
            }
            "ms" | "us" | "ns" | "msec" | "usec" | "nsec" => {
                return Err("the period must be at least 1s");
            }
            _ => return Err(EXPECTED),
        };
        // A number too large for u64 is too large a period either way.
        let n = number.parse::<u64>().unwrap_or(u64::MAX);
        total = n
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .unwrap_or(u64::MAX);
        rest = after.trim_start();
    }
    Ok(Duration::from_secs(total))
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
    /// Parses `never`, `rotate` or `interval:D` (such as `interval:5s`, `interval:500ms`).
    ///
    /// `M` is refused as in `--rotate` (humantime reads it as months), and so are months
    /// and years: such an interval would mean no sync at all in practice.
    pub fn parse(text: &str) -> Result<Fsync, String> {
        let expected = || {
            format!(
                "invalid --fsync {text:?}: expected never, rotate or interval:DURATION such as interval:5s"
            )
        };
        match text {
            "never" => return Ok(Fsync::Never),
            "rotate" => return Ok(Fsync::Rotate),
            _ => {}
        }
        let every = text.strip_prefix("interval:").ok_or_else(expected)?;
        let units = every
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|unit| !unit.is_empty());
        for unit in units {
            if unit == "M" {
                return Err(format!(
                    "invalid --fsync {text:?}: M is ambiguous: write interval:{}min for minutes",
                    every.trim_end_matches('M').trim()
                ));
            }
            if matches!(
                unit,
                "month" | "months" | "y" | "year" | "years" | "w" | "week" | "weeks"
            ) {
                return Err(format!(
                    "invalid --fsync {text:?}: give the interval in ms, s, min, h or d (such as interval:10s), not weeks, months or years"
                ));
            }
        }
        match humantime::parse_duration(every) {
            Ok(d) if !d.is_zero() => Ok(Fsync::Interval(d)),
            _ => Err(expected()),
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
        for bad in ["0MB", "10ms", "soon", "", "5 parsecs", "MB", "h", "1h-"] {
            assert!(Rotate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ambiguous_units_months_years_and_huge_values_are_refused_with_a_reason() {
        let cases = [
            // Issue: humantime read these as 100 months and 1 month.
            (
                "100M",
                "write 100MB (or 100MiB) for a size, 100min for minutes",
            ),
            ("1M", "write 1MB (or 1MiB) for a size, 1min for minutes"),
            ("1month", "not weeks, months or years (such as 30d)"),
            ("2y", "not weeks, months or years"),
            ("1w", "not weeks, months or years"),
            ("99999999999999h", "the period must be at most 366d"),
            (
                "99999999999999999999999d",
                "the period must be at most 366d",
            ),
            ("367d", "the period must be at most 366d"),
            ("99999999999999999999MB", "the size is too large"),
            ("99999999TiB", "the size is too large"),
            ("500ms", "at least 1s"),
        ];
        for (text, why) in cases {
            let err = Rotate::parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
            assert!(!err.contains('\n'), "{text}: {err}");
        }
        let ok = [
            ("100MB", Rotate::Size(100_000_000)),
            ("100MiB", Rotate::Size(100 << 20)),
            ("100min", Rotate::Every(Duration::from_secs(6_000))),
            ("1h30m", Rotate::Every(Duration::from_secs(5_400))),
            ("2 hours", Rotate::Every(Duration::from_secs(7_200))),
            ("366d", Rotate::Every(MAX_PERIOD)),
        ];
        for (text, want) in ok {
            assert_eq!(Rotate::parse(text), Ok(want), "{text}");
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
        assert_eq!(
            Fsync::parse("interval:1min"),
            Ok(Fsync::Interval(Duration::from_secs(60)))
        );
        assert_eq!(
            Fsync::parse("interval:250ms"),
            Ok(Fsync::Interval(Duration::from_millis(250)))
        );
        for bad in ["always", "interval:", "interval:0s", "interval:x"] {
            assert!(Fsync::parse(bad).is_err(), "{bad}");
        }
        // Issue: humantime read interval:1M as one month.
        let cases = [
            ("interval:1M", "write interval:1min for minutes"),
            ("interval:1month", "not weeks, months or years"),
            ("interval:1y", "not weeks, months or years"),
            ("interval:2w", "not weeks, months or years"),
        ];
        for (text, why) in cases {
            let err = Fsync::parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
