//! The resolved plan of a run, for people: what `foxtrot config check` and `--dry-run` print.
//!
//! It shows every value after flags, file and defaults were merged, and which connection
//! will carry which streams, so a config with hundreds of symbols can be checked before a
//! service starts with it. It only formats; it opens nothing.

use std::fmt::Write as _;

use crate::cli::{Format, OnFull};
use crate::config::{Config, Existing, Output};
use crate::report::stream_name;

/// Stream names per line in the per-connection lists are wrapped at this width.
const WIDTH: usize = 100;

/// The plan as text, ending in a newline.
pub fn describe(config: &Config) -> String {
    let mut out = String::new();
    let source = match &config.config_file {
        Some(path) => format!(" (from {})", path.display()),
        None => String::new(),
    };
    let _ = writeln!(out, "foxtrot plan{source}");
    let mut row = |key: &str, value: String| {
        let _ = writeln!(out, "  {key:<17} {value}");
    };
    let mut endpoints: Vec<String> = Vec::new();
    for shard in &config.shards {
        let line = format!("{} {}", shard.venue, shard.endpoint);
        if !endpoints.contains(&line) {
            endpoints.push(line);
        }
    }
    row("endpoint", endpoints.join("; "));
    row("output", output(&config.output, config));
    for more in &config.more_outputs {
        row("output", output(more, config));
    }
    if let Some(raw) = &config.raw {
        row(
            "raw",
            format!("{} (every frame, request and connect)", raw.display()),
        );
    }
    let names: Vec<std::borrow::Cow<'_, str>> = std::iter::once(&config.output)
        .chain(&config.more_outputs)
        .filter_map(|o| match o {
            Output::File { path, .. } => Some(path.to_string_lossy()),
            _ => None,
        })
        .chain(config.raw.iter().map(|raw| raw.to_string_lossy()))
        .collect();
    if !names.is_empty() {
        let names: Vec<&str> = names.iter().map(|n| n.as_ref()).collect();
        row("files", crate::sink::files::describe(&config.files, &names));
    }
    let on_full = match config.on_full {
        OnFull::Block => "block",
        OnFull::DropNewest => "drop-newest",
    };
    row(
        "buffer",
        format!("{} ticks; when full: {on_full}", config.buffer),
    );
    row(
        "connect timeout",
        humantime::format_duration(config.connection.connect_timeout).to_string(),
    );
    row(
        "shutdown timeout",
        humantime::format_duration(config.shutdown_timeout).to_string(),
    );
    let mut stop = Vec::new();
    if let Some(n) = config.limit {
        stop.push(format!("after {n} ticks"));
    }
    if let Some(d) = config.duration {
        stop.push(format!("after {}", humantime::format_duration(d)));
    }
    stop.push("on Ctrl-C or SIGTERM".to_owned());
    row("stop", stop.join(", "));
    if let Some(every) = config.stats_interval {
        let target = match &config.stats_file {
            Some(path) => path.display().to_string(),
            None => "stderr".to_owned(),
        };
        row(
            "stats",
            format!("every {} to {target}", humantime::format_duration(every)),
        );
    }
    if let Some(addr) = config.metrics_addr {
        row("metrics", format!("http://{addr}/metrics"));
    }
    if let Some((shard, total)) = config.shard {
        row(
            "shard",
            format!(
                "{shard}: {} of {total} (fnv1a64 of exchange:symbol:channel mod {})",
                counted(config.streams.len(), "stream"),
                shard.count
            ),
        );
    }
    let shards: Vec<_> = config.shards.iter().collect();
    let mut symbols: Vec<_> = config.streams.iter().map(|s| &s.symbol).collect();
    symbols.sort();
    symbols.dedup();
    let channels: Vec<&str> = config.channels.iter().map(|c| c.as_str()).collect();
    row(
        "streams",
        format!(
            "{} ({}; {} {}) on {}",
            config.streams.len(),
            counted(symbols.len(), "symbol"),
            if channels.len() == 1 {
                "channel"
            } else {
                "channels"
            },
            channels.join(", "),
            counted(shards.len(), "connection"),
        ),
    );
    for (i, shard) in shards.iter().enumerate() {
        let _ = writeln!(
            out,
            "connection {} of {}: {}",
            i + 1,
            shards.len(),
            counted(shard.streams.len(), "stream"),
        );
        let mut line = String::from(" ");
        for id in &shard.streams {
            let name = stream_name(id);
            if line.len() + 1 + name.len() > WIDTH && line.len() > 1 {
                let _ = writeln!(out, "{line}");
                line = String::from(" ");
            }
            line.push(' ');
            line.push_str(&name);
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

/// `1 stream`, `2 streams`.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn output(output: &Output, config: &Config) -> String {
    match output {
        Output::Stdout(Format::Table) => "stdout: live table on a terminal".to_owned(),
        Output::Stdout(format) => format!("stdout: {}", format_name(*format)),
        Output::Discard => "none (raw capture only)".to_owned(),
        Output::File {
            path,
            format,
            existing,
        } => format!(
            "{} ({}; {})",
            path.display(),
            format_name(*format),
            existing_text(path, *format, *existing, config)
        ),
        Output::Broker(broker) => crate::sink::broker::describe(broker),
    }
}

/// What happens to a file of the output `path` that exists, as `sink` will do it.
fn existing_text(
    path: &std::path::Path,
    format: Format,
    existing: Existing,
    config: &Config,
) -> &'static str {
    let text = path.to_string_lossy();
    let templated = crate::sink::template::Template::parse(&text).is_ok_and(|t| t.is_templated());
    // A template or a rotated name is a set of files: each new, numbered when its name
    // exists (`--append` does not add to them), replaced with `--force`.
    match config.files.rotate {
        Some(crate::sink::rotate::Rotate::Size(_)) => {
            return match existing {
                Existing::Overwrite => {
                    "files numbered -0001, -0002, ...; a name that exists is overwritten"
                }
                _ => "files numbered -0001, -0002, ... after the highest number on disk",
            };
        }
        Some(crate::sink::rotate::Rotate::Every(_)) if !templated => {
            return match existing {
                Existing::Overwrite => "files named -{start}; a name that exists is overwritten",
                _ => "files named -{start}; a name that exists gets -0001, -0002, ...",
            };
        }
        _ if templated => {
            return match existing {
                Existing::Overwrite => "a set of files; a name that exists is overwritten",
                _ => "a set of files; a name that exists gets -0001, -0002, ...",
            };
        }
        _ => {}
    }
    // One file. A compressed or Parquet file is written whole: never appended to (config
    // refuses --append for it).
    let whole = format == Format::Parquet
        || crate::sink::compress::Compression::of(&text, 0).0
            != crate::sink::compress::Compression::Plain;
    match (existing, path.exists()) {
        (Existing::Refuse, false) => "refused if it exists",
        (Existing::Refuse, true) if whole => "it exists and will be refused: pass --force",
        (Existing::Refuse, true) => "it exists and will be refused: pass --append or --force",
        (Existing::Append, _) => "appended to if it exists",
        (Existing::Overwrite, _) => "overwritten if it exists",
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Table => "table",
        Format::Ndjson => "ndjson",
        Format::Csv => "csv",
        Format::Parquet => "parquet",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn the_plan_lists_every_stream_on_its_connection() {
        let mut args = vec!["foxtrot", "record", "--out", "t.csv", "--buffer", "10"];
        let symbols: Vec<String> = (0..150).map(|i| format!("S{i}")).collect();
        args.extend(symbols.iter().map(String::as_str));
        args.extend(["--channel", "trade", "--channel", "bookTicker"]);
        let Command::Record(record) = Cli::try_parse_from(args).unwrap().command else {
            unreachable!()
        };
        let config = Config::for_record(&record, true).unwrap();
        let text = describe(&config);
        assert!(
            text.contains("  buffer            10 ticks; when full: block\n"),
            "{text}"
        );
        assert!(text.contains("t.csv (csv; refused if it exists)"), "{text}");
        assert!(text.contains("300 (150 symbols; channels trade, bookTicker) on 2 connections"));
        assert!(text.contains("connection 1 of 2: 200 streams\n"));
        assert!(text.contains("connection 2 of 2: 100 streams\n"));
        for line in text.lines() {
            assert!(line.len() <= WIDTH, "{line}");
        }
        assert!(
            text.contains("  files             no rotation; fsync finished files\n"),
            "{text}"
        );
        for name in ["S0@trade", "S0@bookTicker", "S149@bookTicker"] {
            assert_eq!(text.matches(&format!(" {name}")).count(), 1, "{name}");
        }
        let second = text.split("connection 2 of 2").nth(1).unwrap();
        assert!(second.contains(" S100@trade") && !second.contains(" S99@trade"));
    }

    fn plan_of(args: &[&str]) -> String {
        let mut all = vec!["foxtrot", "record", "BTCUSDT"];
        all.extend(args);
        let Command::Record(record) = Cli::try_parse_from(all).unwrap().command else {
            unreachable!()
        };
        describe(&Config::for_record(&record, true).unwrap())
    }

    #[test]
    fn the_plan_tells_what_happens_to_existing_files_of_each_output() {
        let cases: [(&[&str], &str); 6] = [
            // Issue: templates were said to be "refused if it exists"; they number.
            (
                &["--out", "t-{date}.csv"],
                "t-{date}.csv (csv; a set of files; a name that exists gets -0001, -0002, ...)",
            ),
            (
                &["--out", "t-{date}.csv", "--append"],
                "t-{date}.csv (csv; a set of files; a name that exists gets -0001, -0002, ...)",
            ),
            (
                &["--out", "t-{date}.csv", "--force"],
                "(csv; a set of files; a name that exists is overwritten)",
            ),
            (
                &["--out", "t.ndjson", "--rotate", "1h"],
                "t.ndjson (ndjson; files named -{start}; a name that exists gets -0001",
            ),
            (
                &["--out", "t.ndjson.zst", "--rotate", "5MB"],
                "(ndjson; files numbered -0001, -0002, ... after the highest number on disk)",
            ),
            (
                &["--out", "t.csv.gz"],
                "t.csv.gz (csv; refused if it exists)",
            ),
        ];
        for (args, want) in cases {
            let text = plan_of(args);
            assert!(text.contains(want), "{args:?}: no {want:?} in\n{text}");
        }
        // A file row also when the first output is stdout, and for a raw capture.
        let text = plan_of(&["--out", "-", "--raw", "r-{hour}.jsonl"]);
        assert!(
            text.contains("  files             rotate at each UTC hour"),
            "{text}"
        );
    }
}
