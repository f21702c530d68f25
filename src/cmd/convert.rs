//! `foxtrot convert`: raw captures (`record --raw`) into ticks, in any output format.

use crate::cli::ConvertArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::raw::convert;
use crate::tick::Channel;

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
    // Order books are not rebuilt offline: a capture holds the socket's frames, not the
    // REST snapshot a book starts from, nor the gaps the live run decided.
    let is_book = |c: &Channel| matches!(c, Channel::Depth | Channel::Book);
    let books: Vec<&str> = channels
        .iter()
        .filter(|c| is_book(c))
        .map(|c| c.as_str())
        .collect();
    let why = "convert does not rebuild order books from a raw capture (it holds no REST snapshots); record depth and book with --out";
    if !books.is_empty() && channels.iter().all(is_book) {
        return fail(
            Exit::Usage,
            &format_args!(
                "nothing to convert: the capture holds only {} streams: {why}",
                books.join(" and ")
            ),
        );
    }
    if !books.is_empty() {
        eprintln!(
            "foxtrot: the capture's {} streams are skipped: {why}",
            books.join(" and ")
        );
    }
    let channels: Vec<Channel> = channels.into_iter().filter(|c| !is_book(c)).collect();
    let config = match Config::for_convert(args, channels) {
        Ok(config) => config,
        Err(e) => return fail(Exit::Usage, &e),
    };
    let mut opened = match crate::sink::open(&config) {
        Ok(opened) => opened,
        Err(e) if e.is_usage() => return fail(Exit::Usage, &e),
        Err(e) => return fail(Exit::Failure, &e),
    };
    match convert::convert(&args.raw, opened.sink.as_mut()) {
        Ok(done) => {
            if !quiet {
                eprintln!(
                    "foxtrot: converted {} raw records into {} ticks and {} gap records ({} frames not decoded)",
                    done.records, done.ticks, done.gaps, done.decode_errors
                );
            }
            Exit::Ok.code()
        }
        Err(e) => fail(Exit::Failure, &e),
    }
}
