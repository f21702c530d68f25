//! `foxtrot convert`: raw captures (`record --raw`) into ticks, order-book rows and gap
//! records, in any output format.

use crate::cli::ConvertArgs;
use crate::config::Config;
use crate::connection::BookSettings;
use crate::exit::Exit;
use crate::raw::convert;
use crate::sink::OpenError;

/// Converts, prints one summary line (unless `quiet`) and returns the exit code.
pub fn run(args: &ConvertArgs, quiet: bool) -> i32 {
    let fail = |code: Exit, e: &dyn std::fmt::Display| {
        eprintln!("foxtrot: {e}");
        code.code()
    };
    let channels = match convert::channels(&args.raw) {
        Ok(c) if c.is_empty() => crate::tick::Channel::ALL.to_vec(),
        Ok(c) => c,
        Err(e) => return fail(Exit::Failure, &e),
    };
    let config = match Config::for_convert(args, channels) {
        Ok(config) => config,
        Err(e) => return fail(Exit::Usage, &e),
    };
    // Converting a capture onto itself (with --force) would truncate what is being read.
    for out in &args.out {
        let key = crate::config::same_file_key(out);
        if args
            .raw
            .iter()
            .any(|raw| crate::config::same_file_key(raw) == key)
        {
            return fail(
                Exit::Usage,
                &format_args!(
                    "--out {} is one of the captures being converted: choose another name",
                    out.display()
                ),
            );
        }
    }
    let mut opened = match crate::sink::open(&config) {
        Ok(opened) => opened,
        // `record`'s advice names --append, which convert does not have.
        Err(OpenError::Exists(path) | OpenError::ExistsWhole(path)) => {
            return fail(
                Exit::Usage,
                &format_args!(
                    "output file {} already exists: pass --force to overwrite it, or choose another name",
                    path.display()
                ),
            );
        }
        Err(e) if e.is_usage() => return fail(Exit::Usage, &e),
        Err(e) => return fail(Exit::Failure, &e),
    };
    let books = BookSettings::new(config.book.levels, config.book.interval, Vec::new());
    match convert::convert(&args.raw, books, opened.sink.as_mut()) {
        Ok(done) => {
            if done.rest_books && done.snapshots == 0 {
                eprintln!(
                    "foxtrot: the capture holds no REST depth snapshots (it was written before foxtrot captured them): its Binance depth and book rows cannot be rebuilt"
                );
            }
            if !quiet {
                eprintln!(
                    "foxtrot: converted {} raw records into {} ticks, {} order-book rows and {} gap records ({} frames not decoded)",
                    done.records, done.ticks, done.books, done.gaps, done.decode_errors
                );
            }
            Exit::Ok.code()
        }
        Err(e) => fail(Exit::Failure, &e),
    }
}
