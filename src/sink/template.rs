//! Output names: the `--out` template (`{exchange}`, `{symbol}`, `{channel}`, `{date}`,
//! `{hour}`, `{start}`), the `-0001`, `-0002` number of a name's files, and UTC times.
//!
//! This module owns only text: which placeholders a template uses, what period its time
//! placeholders imply, and the name of one file. Opening, rotating and renaming files is
//! `files`' job.

use std::time::{Duration, UNIX_EPOCH};

use crate::tick::{Channel, Symbol};

/// Nanoseconds in an hour.
pub const HOUR_NS: u64 = 3_600_000_000_000;
/// Nanoseconds in a day.
pub const DAY_NS: u64 = 24 * HOUR_NS;

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{name}` is not a placeholder foxtrot knows.
    #[error(
        "unknown placeholder {{{0}}} in --out: use {{exchange}}, {{symbol}}, {{channel}}, {{date}}, {{hour}} or {{start}}"
    )]
    Unknown(String),
    /// A `{` without its `}`.
    #[error("unclosed {{ in --out {0:?}: placeholders are written {{name}}, such as {{date}}")]
    Unclosed(String),
    /// A `}` without its `{` (`a-date}.csv`).
    #[error("unmatched }} in --out {0:?}: placeholders are written {{name}}, such as {{date}}")]
    Unmatched(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Exchange,
    Symbol,
    Channel,
    Date,
    Hour,
    Start,
}

/// A parsed `--out` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What a row is filed under: the values of `{exchange}`, `{symbol}` and `{channel}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The venue.
    pub exchange: &'static str,
    /// The market.
    pub symbol: Symbol,
    /// The channel.
    pub channel: Channel,
}

impl Template {
    /// Parses `text`. A name without placeholders is a template too (one file).
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let unmatched = |literal: &str| {
            if literal.contains('}') {
                Err(TemplateError::Unmatched(text.to_owned()))
            } else {
                Ok(())
            }
        };
        while let Some(open) = rest.find('{') {
            unmatched(&rest[..open])?;
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| TemplateError::Unclosed(text.to_owned()))?;
            let name = &rest[open + 1..open + close];
            parts.push(match name {
                "exchange" => Part::Exchange,
                "symbol" => Part::Symbol,
                "channel" => Part::Channel,
                "date" => Part::Date,
                "hour" => Part::Hour,
                "start" => Part::Start,
                other => return Err(TemplateError::Unknown(other.to_owned())),
            });
            rest = &rest[open + close + 1..];
        }
        unmatched(rest)?;
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// Whether any placeholder is used (so the output is a set of files).
    pub fn is_templated(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Text(_)))
    }

    /// Whether the names differ by time (`{date}`, `{hour}` or `{start}`).
    pub fn has_time(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Date | Part::Hour | Part::Start))
    }

    /// The rotation period the time placeholders imply: an hour with `{hour}`, a day with
    /// `{date}`, none otherwise.
    pub fn period_ns(&self) -> Option<u64> {
        if self.parts.contains(&Part::Hour) {
            Some(HOUR_NS)
        } else if self.parts.contains(&Part::Date) {
            Some(DAY_NS)
        } else {
            None
        }
    }

    /// Which parts of a row's [`Key`] the names depend on: (exchange, symbol, channel).
    pub fn splits_by(&self) -> (bool, bool, bool) {
        (
            self.parts.contains(&Part::Exchange),
            self.parts.contains(&Part::Symbol),
            self.parts.contains(&Part::Channel),
        )
    }

    /// Adds `-{start}` before the extension, so rotated files of a name without time
    /// placeholders get distinct names that sort by time.
    pub fn with_start(mut self) -> Template {
        let Some(Part::Text(last)) = self.parts.last_mut() else {
            self.parts.push(Part::Text("-".into()));
            self.parts.push(Part::Start);
            return self;
        };
        let cut = extension_start(last);
        let ext = last.split_off(cut);
        last.push('-');
        self.parts.push(Part::Start);
        self.parts.push(Part::Text(ext));
        self
    }

    /// The name of the file for `key` whose period holds `time_ns` and whose first row came
    /// at `start_ns`.
    pub fn render(&self, key: &Key, time_ns: u64, start_ns: u64) -> String {
        let time = utc(time_ns);
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Exchange => out.push_str(key.exchange),
                Part::Symbol => out.push_str(key.symbol.as_str()),
                Part::Channel => out.push_str(key.channel.as_str()),
                Part::Date => out.push_str(&time[..10]),
                Part::Hour => out.push_str(&time[11..13]),
                Part::Start => out.extend(utc(start_ns).chars().filter(|c| *c != '-' && *c != ':')),
            }
        }
        out
    }
}

/// `2026-12-03T07:00:00Z` for `ns` since the Unix epoch.
pub fn utc(ns: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_nanos(ns)).to_string()
}

/// Where the extension of the last path component of `name` starts: before the format
/// extension and a compression suffix (`.csv.gz`), or the end of the name.
fn extension_start(name: &str) -> usize {
    let file_start = name.rfind('/').map_or(0, |i| i + 1);
    let file = &name[file_start..];
    let lower = file.to_ascii_lowercase();
    let mut stem = lower.as_str();
    for suffix in [".gz", ".zst"] {
        if let Some(s) = stem.strip_suffix(suffix) {
            stem = s;
            break;
        }
    }
    for ext in [".csv", ".ndjson", ".jsonl", ".parquet"] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s;
            break;
        }
    }
    file_start + stem.len()
}

/// `name` with `-{start}` before its extension, as text for messages: `ticks.csv.gz` →
/// `ticks-{start}.csv.gz`.
pub fn with_start_text(name: &str) -> String {
    let cut = extension_start(name);
    format!("{}-{{start}}{}", &name[..cut], &name[cut..])
}

/// Digits of a file's number: names of up to 9 999 files of one name sort in byte order.
const NUMBER_DIGITS: usize = 4;

/// `name` with `-n` before its extension, zero-padded to four digits: `BTCUSDT.csv.gz` →
/// `BTCUSDT-0002.csv.gz`.
pub fn with_suffix(name: &str, n: u32) -> String {
    let cut = extension_start(name);
    format!(
        "{}-{n:0width$}{}",
        &name[..cut],
        &name[cut..],
        width = NUMBER_DIGITS
    )
}

/// The number [`with_suffix`] gave `file` (a file name, `.partial` or not) if it is one of
/// `name`'s numbered files.
pub fn number_of(name: &str, file: &str) -> Option<u32> {
    let cut = extension_start(name);
    let (stem, ext) = (&name[..cut], &name[cut..]);
    let stem = &stem[stem.rfind('/').map_or(0, |i| i + 1)..];
    let file = file.strip_suffix(".partial").unwrap_or(file);
    let digits = file
        .strip_prefix(stem)?
        .strip_prefix('-')?
        .strip_suffix(ext)?;
    if digits.len() < NUMBER_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key {
            exchange: "binance",
            symbol: Symbol::parse("BTCUSDT").unwrap(),
            channel: Channel::Trade,
        }
    }

    /// 2025-12-03T07:59:59.5Z
    const T: u64 = 1_764_748_799_500_000_000;

    #[test]
    fn placeholders_render_from_the_key_and_utc_time() {
        let t = Template::parse("data/{exchange}/{channel}/{date}/{symbol}-{hour}-{start}.csv.gz")
            .unwrap();
        assert_eq!(utc(T), "2025-12-03T07:59:59Z");
        assert_eq!(
            t.render(&key(), T, T),
            "data/binance/trade/2025-12-03/BTCUSDT-07-20251203T075959Z.csv.gz"
        );
        assert_eq!(t.period_ns(), Some(HOUR_NS));
        assert_eq!(t.splits_by(), (true, true, true));
        assert!(t.is_templated() && t.has_time());
    }

    #[test]
    fn bad_templates_are_refused() {
        assert_eq!(
            Template::parse("x-{day}.csv"),
            Err(TemplateError::Unknown("day".into()))
        );
        assert!(matches!(
            Template::parse("x-{date.csv"),
            Err(TemplateError::Unclosed(_))
        ));
        for unmatched in ["a-date}.csv", "}a.csv", "a-{date}}.csv", "a-{date}-b}.csv"] {
            assert_eq!(
                Template::parse(unmatched),
                Err(TemplateError::Unmatched(unmatched.into())),
                "{unmatched}"
            );
        }
        let plain = Template::parse("ticks.csv").unwrap();
        assert!(!plain.is_templated());
        assert_eq!(plain.period_ns(), None);
    }

    #[test]
    fn suffixes_and_start_go_before_the_extension() {
        assert_eq!(with_suffix("d/BTCUSDT.csv.gz", 2), "d/BTCUSDT-0002.csv.gz");
        assert_eq!(with_suffix("d.x/ticks.ndjson", 1), "d.x/ticks-0001.ndjson");
        assert_eq!(with_suffix("ticks", 12), "ticks-0012");
        assert_eq!(with_suffix("ticks", 12_345), "ticks-12345");
        for (file, n) in [
            ("ticks-0012.ndjson", Some(12)),
            ("ticks-0012.ndjson.partial", Some(12)),
            ("ticks-12345.ndjson", Some(12_345)),
            ("ticks-12.ndjson", None),
            ("ticks.ndjson", None),
            ("ticks-0012.csv", None),
            ("other-0012.ndjson", None),
        ] {
            assert_eq!(number_of("d.x/ticks.ndjson", file), n, "{file}");
        }
        // Numbered names sort in byte order, as `ls` and `sort` list them.
        let mut names: Vec<String> = [1, 2, 9, 10, 11, 100, 999, 1000, 9999]
            .iter()
            .map(|&n| with_suffix("t-2025-12-03.csv.gz", n))
            .collect();
        let given = names.clone();
        names.sort();
        assert_eq!(names, given);
        assert_eq!(with_start_text("d/t.csv.gz"), "d/t-{start}.csv.gz");
        let t = Template::parse("ticks.ndjson.zst").unwrap().with_start();
        assert_eq!(t.render(&key(), T, T), "ticks-20251203T075959Z.ndjson.zst");
    }
}
