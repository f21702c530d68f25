//! Usage errors as one line: clap's rendered error folded to its first paragraph and tips.

/// Prints a clap error as one line (help and version as clap renders them).
pub fn usage_error(e: clap::Error) -> i32 {
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
