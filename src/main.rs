//! The `foxtrot` binary: parse, set up logging, run on one runtime, map the result to an exit code.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Parser;
use foxtrot::cli::Format;
use foxtrot::cli::{Cli, Command, ReplayArgs};
use foxtrot::config::{Config, ConfigError, Output};
use foxtrot::{app, replay, shutdown};
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(usage_error(e)),
    };
    init_logging(cli.verbose, cli.quiet);
    let code = match cli.command {
        Command::Stream(args) => record(Config::for_stream(&args, cli.quiet)),
        Command::Record(args) => record(Config::for_record(&args, cli.quiet)),
        Command::Replay(args) => serve(args, cli.quiet),
    };
    std::process::exit(code);
}

/// Runs `stream` or `record` and returns the exit code.
fn record(config: Result<Config, ConfigError>) -> i32 {
    let config = match config {
        Ok(config) => config,
        Err(e) => return fail(2, &e),
    };
    let quiet = config.quiet;
    // A message on the terminal would tear the table that is redrawn in place.
    let announce = !quiet && config.output != Output::Stdout(Format::Table);
    on_runtime(
        announce,
        |signal| app::run(config, signal),
        |result| match result {
            Err(e) => fail(if e.is_usage() { 2 } else { 1 }, &e),
            Ok(report) => {
                if report.output_closed {
                    return 0;
                }
                // A failure before any tick is its own one line; otherwise the counts matter.
                let show_summary = match &report.failure {
                    Some(e) => {
                        eprintln!("foxtrot: {e}");
                        report.stats.received > 0
                    }
                    None => !quiet || report.exit_code() != 0,
                };
                if show_summary {
                    eprintln!("{}", report.summary());
                }
                report.exit_code()
            }
        },
    )
}

/// Runs `replay` and returns the exit code.
fn serve(args: ReplayArgs, quiet: bool) -> i32 {
    let library = match replay::Library::load(&args.files) {
        Ok(library) => library,
        Err(e) => return fail(2, &e),
    };
    let config = replay::ReplayConfig {
        library: std::sync::Arc::new(library),
        behavior: replay::Behavior {
            rate: args.rate,
            looped: args.looped,
            limit: args.limit,
            close_after: args.close_after,
            ping_interval: args.ping_interval,
            flood: args.flood,
        },
    };
    on_runtime(
        !quiet,
        |signal| replay::serve(config, args.listen, signal),
        |result| match result {
            Ok(()) => 0,
            Err(e) => fail(1, format_args!("{e:#}")),
        },
    )
}

/// Builds the one runtime, bridges the signals into it, runs `job`, and lets `finish` turn
/// the outcome into an exit code. A sink stuck on a pipe nobody reads does not hold the exit.
fn on_runtime<F: std::future::Future>(
    announce: bool,
    job: impl FnOnce(tokio_util::sync::WaitForCancellationFutureOwned) -> F,
    finish: impl FnOnce(F::Output) -> i32,
) -> i32 {
    let signal = match shutdown::install_signal_handler(announce) {
        Ok(token) => token,
        Err(e) => return fail(1, format_args!("cannot install the signal handler ({e})")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(1, format_args!("cannot start the runtime ({e})")),
    };
    let outcome = runtime.block_on(job(signal.cancelled_owned()));
    let code = finish(outcome);
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

fn fail(code: i32, e: impl std::fmt::Display) -> i32 {
    eprintln!("foxtrot: {e}");
    code
}

/// Prints a clap error as one line (help and version as clap renders them).
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            2
        }
        _ => {
            eprintln!(
                "foxtrot: {} (try --help)",
                one_line(&e.render().to_string())
            );
            2
        }
    }
}

/// Folds clap's error text into one line: the first paragraph and any tips.
fn one_line(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    let first = paragraphs
        .first()
        .map_or("invalid arguments", String::as_str);
    let mut line = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    for tip in paragraphs.iter().filter(|p| p.starts_with("tip:")) {
        line.push_str("; ");
        line.push_str(tip);
    }
    line
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
