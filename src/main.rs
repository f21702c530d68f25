//! The `foxtrot` binary: parse, set up logging, run on one runtime, map the result to an exit code.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Parser;
use foxtrot::cli::Format;
use foxtrot::cli::{Cli, Command, ConfigCommand, Generate, ReplayArgs};
use foxtrot::config::{Config, ConfigError, Output};
use foxtrot::exit::Exit;
use foxtrot::terminal::{ControlEcho, Target};
use foxtrot::{app, generate, plan, replay, report, shutdown};
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
        Command::Config(ConfigCommand::Check { file }) => check(&file),
        Command::Generate(what) => emit(what),
        Command::Recover { files } => foxtrot::sink::recover::run(&files),
        Command::Venues => {
            print!("{}", foxtrot::exchange::describe_all());
            0
        }
    };
    std::process::exit(code);
}

/// Runs `stream` or `record` and returns the exit code.
fn record(config: Result<Config, ConfigError>) -> i32 {
    let config = match config {
        Ok(config) => config,
        Err(e) => return fail(Exit::Usage, &e),
    };
    if config.dry_run {
        return print_plan(&config);
    }
    let quiet = config.quiet;
    // Issue 13: the terminal's `^C` echo would land in the redrawn table or status line.
    let _echo = match (&config.output, config.status_line) {
        (Output::Stdout(Format::Table), _) => ControlEcho::hide(Target::Stdout),
        (_, true) => ControlEcho::hide(Target::Stderr),
        _ => None,
    };
    // A message on the terminal would tear the table that is redrawn in place; the status
    // line says "stopping" itself.
    let announce = !quiet && config.output != Output::Stdout(Format::Table) && !config.status_line;
    on_runtime(
        announce,
        |signal| app::run(config, signal),
        |result| match result {
            Err(e) => fail(
                if e.is_usage() {
                    Exit::Usage
                } else {
                    Exit::Failure
                },
                &e,
            ),
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
    let config = match replay::ReplayConfig::from_args(&args) {
        Ok(config) => config,
        Err(e) => return fail(Exit::Usage, &e),
    };
    on_runtime(
        !quiet,
        |signal| replay::serve(config, args.listen, args.rest_listen, signal),
        |result| match result {
            Ok(()) => 0,
            Err(e) => fail(Exit::Failure, format_args!("{e:#}")),
        },
    )
}

/// Runs `config check FILE`: prints the plan the file makes (see [`Config::for_file`]).
fn check(file: &std::path::Path) -> i32 {
    match Config::for_file(file) {
        Ok(config) => print_plan(&config),
        Err(e) => fail(Exit::Usage, &e),
    }
}

/// Prints the plan on stdout.
fn print_plan(config: &Config) -> i32 {
    use std::io::Write;
    match std::io::stdout()
        .lock()
        .write_all(plan::describe(config).as_bytes())
    {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => fail(Exit::Failure, format_args!("cannot write to stdout ({e})")),
    }
}

/// Runs `generate`: prints or writes completions or man pages.
fn emit(what: Generate) -> i32 {
    let mut stdout = std::io::stdout().lock();
    let (result, target) = match what {
        Generate::Completions { shell, dir: None } => {
            (generate::completions(shell, &mut stdout), None)
        }
        Generate::Completions {
            shell,
            dir: Some(dir),
        } => (generate::completions_to(shell, &dir), Some(dir)),
        Generate::Man { dir: None } => (generate::man(&mut stdout), None),
        Generate::Man { dir: Some(dir) } => (generate::man_to(&dir), Some(dir)),
    };
    match result {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => match target {
            Some(dir) => fail(
                Exit::Failure,
                format_args!("cannot write into {} ({e})", dir.display()),
            ),
            None => fail(Exit::Failure, format_args!("cannot write to stdout ({e})")),
        },
    }
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
        Err(e) => {
            return fail(
                Exit::Failure,
                format_args!("cannot install the signal handler ({e})"),
            );
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return fail(
                Exit::Failure,
                format_args!("cannot start the runtime ({e})"),
            );
        }
    };
    let outcome = runtime.block_on(job(signal.cancelled_owned()));
    let code = finish(outcome);
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

/// Runtime workers: one core is left to the sink's own thread. On two cores a second worker
/// would only be woken to look for work that the one busy connection task never leaves.
fn workers() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.saturating_sub(1).max(1)
}

fn fail(code: Exit, e: impl std::fmt::Display) -> i32 {
    eprintln!("foxtrot: {e}");
    code.code()
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
        .with_writer(|| report::status::StderrWriter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
