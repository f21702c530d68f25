//! The `foxtrot` binary, a table of contents: parse what was typed, set up logging, run the
//! command (`foxtrot::cmd`: one runtime, the app or the replay server), exit with its code.
//! A usage error is one line and exit 2; help and version print as clap renders them.

use clap::Parser;
use foxtrot::cli::Cli;
use foxtrot::cmd;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(cmd::usage_error(e)),
    };
    cmd::init_logging(cli.verbose, cli.quiet);
    std::process::exit(cmd::run(cli));
}
