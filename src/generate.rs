//! `foxtrot generate`: shell completions (clap_complete) and man pages (clap_mangen), made
//! from the same clap definition that parses the command line, so they cannot disagree.
//!
//! The repository commits the output under `completions/` and `man/`; a test regenerates
//! them and fails when they drift. This module only renders; it knows nothing of runs.

use std::io::{self, Write};
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The binary's name, as completions register it.
const BIN: &str = "foxtrot";

/// Every shell foxtrot ships completions for, in the order the README lists them.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

/// The file name a completion script for `shell` is conventionally installed under.
pub fn completion_file_name(shell: Shell) -> String {
    clap_complete::Generator::file_name(&shell, BIN)
}

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut command(), BIN, &mut buf);
    out.write_all(&buf)
}

/// Writes the completion script for `shell` into `dir` under its conventional name,
/// creating `dir` first if needed (a fresh account has no completions folder).
pub fn completions_to(shell: Shell, dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut file = std::fs::File::create(dir.join(completion_file_name(shell)))?;
    completions(shell, &mut file)?;
    file.flush()
}

/// Writes the top-level man page (`foxtrot.1`) to `out`.
pub fn man(out: &mut dyn Write) -> io::Result<()> {
    // As `man_to` renders it: without clap's `help` subcommand, which has no page.
    let mut cmd = command().disable_help_subcommand(true);
    cmd.build();
    clap_mangen::Man::new(cmd).render(out)
}

/// Writes `foxtrot.1` and one `foxtrot-SUBCOMMAND.1` per subcommand into `dir`, creating
/// `dir` first if needed (`~/.local/share/man/man1` does not exist on a fresh account).
pub fn man_to(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(command(), dir)
}

/// The CLI definition with environment values hidden: clap reads variables when the
/// definition is built, and generated files must not depend on the caller's environment.
fn command() -> clap::Command {
    fn stable(cmd: clap::Command) -> clap::Command {
        let cmd = cmd.mut_args(|arg| arg.hide_env_values(true));
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .collect();
        names
            .iter()
            .fold(cmd, |cmd, name| cmd.mut_subcommand(name, stable))
    }
    stable(Cli::command())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_renders_and_names_every_subcommand() {
        for shell in SHELLS {
            let mut out = Vec::new();
            completions(shell, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            for word in ["stream", "record", "replay", "generate", "channel"] {
                assert!(text.contains(word), "{shell}: no {word:?}");
            }
        }
    }

    #[test]
    fn man_pages_cover_every_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        man_to(dir.path()).unwrap();
        for page in [
            "foxtrot.1",
            "foxtrot-stream.1",
            "foxtrot-record.1",
            "foxtrot-replay.1",
        ] {
            let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
            assert!(text.starts_with(".ie \\n(.g .ds Aq"), "{page} is not roff");
        }
        let stream = std::fs::read_to_string(dir.path().join("foxtrot-stream.1")).unwrap();
        assert!(stream.contains("FOXTROT_ENDPOINT"));
    }
}
