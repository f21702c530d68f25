//! The checks on the files a `record` run names, made before anything is opened or dialed:
//! no file named twice (`--out`, `--raw`, `--stats-file`), a raw capture that is JSON lines
//! in a file, `--append` only where a file can be added to, `--rotate` only with a file to
//! rotate, and a `--nats-create-stream` stream that takes only foxtrot's subjects.
//!
//! Whether the directories exist and can be written is the sink's to check (it opens
//! them); this module looks at names only.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use super::{Config, ConfigError, Existing, Output};
use crate::cli::Format;
use crate::sink::broker::Broker;
use crate::sink::compress::Compression;
use crate::sink::template::Template;

/// Every check of this module on a merged `config`; `append_source` names where an
/// `Existing::Append` came from (`--append`, or the config file's key), `rotate_typed`
/// whether `--rotate` was typed (a config file's `rotate` also serves `stream`, which has
/// no file: it is not refused there).
pub(super) fn check(
    config: &Config,
    append_source: &str,
    rotate_typed: bool,
) -> Result<(), ConfigError> {
    if let Some(raw) = &config.raw {
        check_raw(raw)?;
    }
    let outputs: Vec<&Output> = std::iter::once(&config.output)
        .chain(&config.more_outputs)
        .collect();
    for output in &outputs {
        check_append(output, config, append_source)?;
        check_nats(output)?;
    }
    named_once(config, &outputs)?;
    let files = outputs.iter().any(|o| matches!(o, Output::File { .. })) || config.raw.is_some();
    if rotate_typed && config.files.rotate.is_some() && !files {
        return Err(ConfigError::NothingToRotate(describe_target(
            &config.output,
        )));
    }
    Ok(())
}

/// A raw capture is a file of JSON lines (`.jsonl`, `.ndjson`, compressed or not), filed by
/// exchange and time only.
fn check_raw(raw: &Path) -> Result<(), ConfigError> {
    if raw.as_os_str() == "-" {
        return Err(ConfigError::RawStdout);
    }
    let text = raw.to_string_lossy();
    crate::raw::writer::check_template(&text).map_err(ConfigError::RawTemplate)?;
    match super::output::extension(&text).as_deref() {
        Some("jsonl" | "ndjson") => Ok(()),
        _ => Err(ConfigError::RawExtension(raw.to_owned())),
    }
}

/// `--append` adds to one plain file written in place: a Parquet file (its footer ends it)
/// and a compressed file (foxtrot writes each one whole, as `NAME.partial` renamed once
/// complete) cannot take more rows, so asking for it is refused rather than turned into
/// new numbered files.
fn check_append(output: &Output, config: &Config, source: &str) -> Result<(), ConfigError> {
    let Output::File {
        path,
        format,
        existing: Existing::Append,
    } = output
    else {
        return Ok(());
    };
    let text = path.to_string_lossy();
    let set_of_files =
        config.files.rotate.is_some() || Template::parse(&text).is_ok_and(|t| t.is_templated());
    let then = if set_of_files {
        "a name that exists then gets -0001, -0002, ..., or --force replaces it"
    } else {
        "an existing file is then refused, or --force replaces it"
    };
    if *format == Format::Parquet {
        return Err(ConfigError::CannotAppend(format!(
            "Parquet files cannot be appended to (--out {text}): drop {source}; {then}"
        )));
    }
    if Compression::of(&text, 0).0 != Compression::Plain && !set_of_files {
        // Appending a gzip member or zstd frame would decode, but the file would be written
        // in place, outside the `.partial`-and-rename that keeps a compressed file whole.
        return Err(ConfigError::CannotAppend(format!(
            "a compressed file cannot be appended to (--out {text}): drop {source}, and name a new file, pass --force to replace it, or use a template such as {} (a new file per run)",
            crate::sink::template::with_start_text(&text)
        )));
    }
    Ok(())
}

/// A stream created over a subject filter of wildcards only (`*`, `*.*`) would take every
/// subject of that many tokens on the server, other applications' too.
fn check_nats(output: &Output) -> Result<(), ConfigError> {
    let Output::Broker(Broker::Nats(nats)) = output else {
        return Ok(());
    };
    let filter = nats.subject.filter();
    if nats.create_stream && filter.split('.').all(|token| token == "*") {
        return Err(ConfigError::NatsStreamTooWide {
            subject: nats.subject.as_str().to_owned(),
            filter,
        });
    }
    Ok(())
}

/// Refuses two outputs naming one file (or one template): their lines would interleave,
/// or `--append` would write every row twice.
fn named_once(config: &Config, outputs: &[&Output]) -> Result<(), ConfigError> {
    let mut named: Vec<(String, PathBuf)> = Vec::new();
    for output in outputs {
        match output {
            Output::File { path, .. } => named.push(("--out".into(), path.clone())),
            Output::Stdout(_) => named.push(("--out".into(), PathBuf::from("-"))),
            Output::Broker(_) | Output::Discard => {}
        }
    }
    if let Some(raw) = &config.raw {
        named.push(("--raw".into(), raw.clone()));
    }
    if let Some(stats) = &config.stats_file {
        named.push(("--stats-file".into(), stats.clone()));
    }
    for (i, (flag, path)) in named.iter().enumerate() {
        let key = same_file_key(path);
        if let Some((first, _)) = named[..i].iter().find(|(_, p)| same_file_key(p) == key) {
            let shown = path.display();
            return Err(ConfigError::SamePath(if path.as_os_str() == "-" {
                "--out - is given twice: stdout takes one output".to_owned()
            } else if first == flag {
                format!("{flag} {shown} is given twice: give each output its own file")
            } else {
                format!("{first} and {flag} both name {shown}: give each its own file")
            }));
        }
    }
    rendered_once(config, &named)
}

/// Refuses a template that names, for one of the run's streams today, a file another output
/// names too (`--out '{symbol}.csv' --out BTCUSDT.csv`): the two would write one file.
/// Names are rendered at the current time with each stream's exchange, symbol and channel.
fn rendered_once(config: &Config, named: &[(String, PathBuf)]) -> Result<(), ConfigError> {
    let now = crate::clock::now_ns();
    // (output, its text, the name it renders, the stream that makes it)
    let mut rendered: Vec<(usize, String, PathBuf, String)> = Vec::new();
    for (i, (flag, path)) in named.iter().enumerate() {
        let text = path.to_string_lossy();
        let shown = format!("{flag} {text}");
        match Template::parse(&text) {
            Ok(template) if template.is_templated() => {
                for stream in &config.streams {
                    let key = crate::sink::template::Key {
                        exchange: stream.venue.name(),
                        symbol: stream.symbol.clone(),
                        channel: stream.channel,
                    };
                    let name = PathBuf::from(template.render(&key, now, now));
                    let what = format!("{}@{}", stream.symbol.as_str(), stream.channel.as_str());
                    rendered.push((i, shown.clone(), name, what));
                }
            }
            _ if path.as_os_str() != "-" => {
                rendered.push((i, shown, path.clone(), String::new()));
            }
            _ => {}
        }
    }
    // The first entry of each name (a run may have thousands of streams).
    let mut first_of: HashMap<PathBuf, usize> = HashMap::new();
    for (at, (i, shown, name, what)) in rendered.iter().enumerate() {
        let first = *first_of.entry(same_file_key(name)).or_insert(at);
        let (j, first, _, first_what) = &rendered[first];
        if j != i {
            let (template, plain, stream) = if what.is_empty() {
                (first, shown, first_what)
            } else {
                (shown, first, what)
            };
            return Err(ConfigError::SamePath(format!(
                "{template} and {plain} both name {} (for {stream}): give each output its own file",
                name.display()
            )));
        }
    }
    Ok(())
}

/// What makes two names one file: the absolute path without `.` components, its directory
/// resolved when it exists (so `./a.csv`, `a.csv` and `$PWD/a.csv` are one).
pub(crate) fn same_file_key(path: &Path) -> PathBuf {
    if path.as_os_str() == "-" {
        return path.to_owned();
    }
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let lexical: PathBuf = absolute
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    match (
        lexical.parent().and_then(|dir| dir.canonicalize().ok()),
        lexical.file_name(),
    ) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => lexical,
    }
}

/// `--out`'s text for an output that is not a file, for messages.
fn describe_target(output: &Output) -> String {
    match output {
        Output::Stdout(_) => "- (stdout)".to_owned(),
        Output::Broker(Broker::Kafka(k)) => format!("kafka://.../{}", k.topic),
        Output::Broker(Broker::Nats(n)) => format!("nats://.../{}", n.subject.as_str()),
        Output::File { path, .. } => path.display().to_string(),
        Output::Discard => "(none)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_has_one_key_however_it_is_written() {
        let dir = std::env::current_dir().unwrap();
        let a = same_file_key(Path::new("a.csv"));
        assert_eq!(same_file_key(Path::new("./a.csv")), a);
        assert_eq!(same_file_key(&dir.join("a.csv")), a);
        assert_ne!(same_file_key(Path::new("a.csv.gz")), a);
        assert_eq!(same_file_key(Path::new("-")), PathBuf::from("-"));
    }
}
