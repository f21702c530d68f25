//! The binary's commands: from parsed arguments to an exit code, one function per
//! subcommand. `main.rs` only parses and hands over; the runtime, the one-line usage errors
//! and the logging set-up live beside this file.

mod convert;
mod logging;
mod runtime;
mod usage;

pub use logging::init_logging;
pub use usage::usage_error;

use crate::cli::Format;
use crate::cli::{Cli, Command, ConfigCommand, Generate, ReplayArgs};
use crate::config::{Config, ConfigError, Output};
use crate::exit::Exit;
use crate::terminal::{ControlEcho, Target};
use crate::{app, generate, plan, replay};
use runtime::on_runtime;

/// Runs the command `cli` names and returns the process's exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Stream(args) => record(Config::for_stream(&args, cli.quiet)),
        Command::Record(args) => record(Config::for_record(&args, cli.quiet)),
        Command::Replay(args) => serve(args, cli.quiet),
        Command::Config(ConfigCommand::Check { file, shard }) => check(&file, shard),
        Command::Generate(what) => emit(what),
        Command::Recover { files } => crate::sink::recover::run(&files),
        Command::Convert(args) => convert::run(&args, cli.quiet),
        Command::Venues => {
            print!("{}", crate::exchange::describe_all());
            0
        }
    }
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
fn check(file: &std::path::Path, shard: Option<crate::shard::Shard>) -> i32 {
    match Config::for_file(file, shard) {
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

/// Prints `e` as one line and returns `code`'s number.
pub(crate) fn fail(code: Exit, e: impl std::fmt::Display) -> i32 {
    eprintln!("foxtrot: {e}");
    code.code()
}
