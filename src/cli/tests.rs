//! The command line's definition checked: clap's own assertions, the value parsers, and
//! that help texts show the defaults the config and the venue registry really use.

use super::*;
use clap::CommandFactory;

#[test]
fn verify_cli() {
    Cli::command().debug_assert();
}

/// The help text of `--LONG` of `foxtrot SUB`.
fn help(sub: &str, long: &str) -> String {
    let cli = Cli::command();
    let arg = cli
        .find_subcommand(sub)
        .unwrap()
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .unwrap_or_else(|| panic!("{sub} has no --{long}"));
    arg.get_help().unwrap().to_string()
}

/// Reads a per-venue list such as `binance 30s, okx 35s, others 45s` that follows
/// `marker` in `text` (up to the next bracket): the value it gives `venue`.
fn per_venue(text: &str, marker: &str, venue: Venue) -> String {
    let list = text
        .split_once(marker)
        .unwrap_or_else(|| panic!("{text:?} has no {marker:?}"))
        .1;
    let list = &list[..list.find(['[', ']']).unwrap_or(list.len())];
    let entries: Vec<(&str, &str)> = list
        .split(", ")
        .map(|e| e.trim().split_once(' ').unwrap())
        .collect();
    let find = |name: &str| entries.iter().find(|(n, _)| *n == name).map(|e| e.1);
    find(venue.name())
        .or_else(|| find("others"))
        .unwrap_or_else(|| panic!("{text:?} gives {venue} no value"))
        .to_owned()
}

fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Defaults that depend on the venue are shown per venue, as the registry has them.
#[test]
fn venue_defaults_in_help_are_the_registrys() {
    for sub in ["stream", "record"] {
        let stale = help(sub, "stale-after");
        let per_connection = help(sub, "streams-per-connection");
        let connect = help(sub, "connect-limit");
        let age = help(sub, "max-connection-age");
        for &venue in Venue::ALL {
            let exchange = venue.exchange();
            let limits = exchange.limits();
            assert_eq!(
                per_venue(&stale, "the venue's: ", venue),
                human(exchange.heartbeat().stale_after),
                "--stale-after of {venue}"
            );
            assert_eq!(
                per_venue(&per_connection, "limit: ", venue),
                limits.max_streams_per_connection.to_string(),
                "--streams-per-connection's limit on {venue}"
            );
            assert_eq!(
                per_venue(&per_connection, "the venue's: ", venue),
                limits.streams_per_connection.to_string(),
                "--streams-per-connection on {venue}"
            );
            let (n, period) = limits.connect_attempts;
            assert_eq!(
                per_venue(&connect, "the venue's: ", venue),
                format!("{n}/{}", human(period)),
                "--connect-limit of {venue}"
            );
            let default_age = format!("[default: {}]", human(limits.max_connection_age));
            assert!(age.contains(&default_age), "{age:?} on {venue}");
        }
    }
}

/// Defaults that differ by command or output are shown for each.
#[test]
fn command_defaults_in_help_are_the_configs() {
    use crate::config::{COMPRESSED_BUFFER, DEFAULT_BUFFER};
    use crate::sink::{RECORD_FLUSH_INTERVAL, STREAM_FLUSH_INTERVAL};
    let flush = help("record", "flush-interval");
    for needle in [
        format!("{} for stream", human(STREAM_FLUSH_INTERVAL)),
        format!("{} for record", human(RECORD_FLUSH_INTERVAL)),
    ] {
        assert!(flush.contains(&needle), "{flush:?} lacks {needle:?}");
    }
    let buffer = help("record", "buffer");
    for needle in [
        format!("[default: {DEFAULT_BUFFER};"),
        format!("{COMPRESSED_BUFFER} for record to a .gz, .zst or .parquet file"),
    ] {
        assert!(buffer.contains(&needle), "{buffer:?} lacks {needle:?}");
    }
    let book = help("record", "book-interval");
    let needle = format!("{} for record", human(crate::config::RECORD_BOOK_INTERVAL));
    assert!(book.contains(&needle), "{book:?} lacks {needle:?}");
}

/// `--venue` offers every registered venue, by name, to help, man pages and completions.
#[test]
fn venue_values_are_the_registry() {
    let cli = Cli::command();
    let arg = cli
        .find_subcommand("record")
        .unwrap()
        .get_arguments()
        .find(|a| a.get_long() == Some("venue"))
        .unwrap();
    let names: Vec<String> = arg
        .get_possible_values()
        .iter()
        .map(|v| v.get_name().to_owned())
        .collect();
    let registered: Vec<&str> = Venue::ALL.iter().map(|v| v.name()).collect();
    assert_eq!(names, registered);
    // The parser's own message stays (clap does not check the values itself).
    let error = Cli::try_parse_from(["foxtrot", "stream", "X", "--venue", "kraken"])
        .unwrap_err()
        .to_string();
    let unknown = crate::exchange::UnknownVenue("kraken".to_owned()).to_string();
    assert_eq!(
        error.lines().next().unwrap(),
        format!("error: invalid value 'kraken' for '--venue <NAME>': {unknown}")
    );
}

/// The texts name every output `record` writes and every venue `replay` serves.
#[test]
fn help_names_every_output_and_venue() {
    let cli = Cli::command();
    let about = |sub: &str| {
        let cmd = cli.find_subcommand(sub).unwrap();
        cmd.get_about().unwrap().to_string()
    };
    let record = about("record");
    for needle in ["CSV", "NDJSON", "Parquet", ".gz", ".zst", "Kafka", "NATS"] {
        assert!(record.contains(needle), "record's about lacks {needle}");
    }
    let out = help("record", "out");
    for needle in [
        ".csv",
        ".ndjson",
        ".jsonl",
        ".gz",
        ".zst",
        ".parquet",
        "`-`",
        "{exchange}",
        "{symbol}",
        "{channel}",
        "{date}",
        "{hour}",
        "{start}",
        "kafka://",
        "nats://",
    ] {
        assert!(out.contains(needle), "record --out lacks {needle}");
    }
    let replay = about("replay");
    let files = cli
        .find_subcommand("replay")
        .unwrap()
        .get_arguments()
        .find(|a| a.get_id() == "files")
        .unwrap()
        .get_help()
        .unwrap()
        .to_string();
    for needle in ["Binance", "OKX", "Bybit"] {
        assert!(replay.contains(needle), "replay's about lacks {needle}");
        assert!(files.contains(needle), "replay FILE lacks {needle}");
    }
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
    assert!(parse_duration("5 parsecs").is_err());
}

#[test]
fn flush_and_read_intervals_stop_at_one_second() {
    assert_eq!(parse_flush_interval("1s"), Ok(Duration::from_secs(1)));
    assert_eq!(
        parse_flush_interval("2s"),
        Err("2s is longer than 1s: a tick would wait that long before reaching the OS".into())
    );
    assert_eq!(parse_read_interval("0"), Ok(Duration::ZERO));
    assert_eq!(parse_read_interval("1s"), Ok(Duration::from_secs(1)));
    assert_eq!(
        parse_read_interval("1001ms"),
        Err("1001ms is longer than 1s: recv_ns could be that late".into())
    );
    assert!(
        parse_read_interval("1ms")
            .unwrap_err()
            .contains("shorter than 2ms")
    );
}

/// `replay --flood` refuses, at parse time, what only the replay of files implements, and
/// takes what the flood implements: no flag is silently ignored.
#[test]
fn flood_refuses_the_flags_it_would_ignore() {
    let replay = |extra: &[&str]| {
        let args = ["foxtrot", "replay", "--flood", "10"];
        Cli::try_parse_from(args.iter().chain(extra))
    };
    let refused: [&[&str]; 9] = [
        &["sample.jsonl"],
        &["--speed", "1"],
        &["--loop"],
        &["--live", "--rate", "5"],
        &["--inject", "malformed@1"],
        &["--oversized-bytes", "10"],
        &["--max-age", "1s"],
        &["--pong-timeout", "1s"],
        &["--depth"],
    ];
    for flags in refused {
        let error = replay(flags).unwrap_err();
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::ArgumentConflict,
            "{flags:?}"
        );
        let line = error.to_string().lines().next().unwrap().to_owned();
        assert!(
            line.starts_with("error: the argument '--flood <N>' cannot be used with"),
            "{flags:?}: {line}"
        );
        // The same flags replay files.
        let args = ["foxtrot", "replay", "f.jsonl"];
        let flags: Vec<&str> = flags
            .iter()
            .filter(|f| **f != "sample.jsonl")
            .copied()
            .collect();
        Cli::try_parse_from(args.iter().chain(&flags)).unwrap();
    }
    let taken: [&[&str]; 8] = [
        &["--limit", "5"],
        &["--close-after", "5"],
        &["--drop-after", "5"],
        &["--stall-after", "5"],
        &["--rate", "5"],
        &["--ping-interval", "1s"],
        &["--clock-shift-ms", "-5"],
        &[
            "--refuse",
            "429",
            "--refuse-first",
            "1",
            "--retry-after",
            "1",
        ],
    ];
    for flags in taken {
        replay(flags).unwrap_or_else(|e| panic!("{flags:?}: {e}"));
    }
}

/// Every argument of `replay` is sorted: the flood implements it, refuses it, or it belongs
/// to depth mode (which the flood refuses). A new flag must be placed here too.
#[test]
fn every_replay_flag_is_taken_or_refused_by_the_flood() {
    const FLOOD_TAKES: [&str; 12] = [
        "flood",
        "listen",
        "rate",
        "limit",
        "close_after",
        "drop_after",
        "stall_after",
        "ping_interval",
        "clock_shift_ms",
        "refuse",
        "retry_after",
        "refuse_first",
    ];
    let cli = Cli::command();
    let replay = cli.find_subcommand("replay").unwrap();
    for arg in replay.get_arguments() {
        let id = arg.get_id().as_str();
        let depth_mode = arg.get_help_heading() == Some("Depth mode");
        let global = ["help", "verbose", "quiet"].contains(&id);
        assert!(
            FLOOD_TAKES.contains(&id) || FLOOD_REFUSES.contains(&id) || depth_mode || global,
            "replay's {id}: does --flood implement it (FLOOD_TAKES) or refuse it (FLOOD_REFUSES)?"
        );
        assert!(
            !(FLOOD_TAKES.contains(&id) && FLOOD_REFUSES.contains(&id)),
            "{id}"
        );
    }
}
