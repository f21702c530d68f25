//! Shell completions and man pages: the committed files under `completions/` and `man/` are
//! exactly what the current CLI generates, so they never drift from the flags.

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::*;

const REGENERATE: &str = "regenerate them with:
  for s in bash zsh fish elvish powershell; do cargo run -q -- generate completions $s --dir completions; done
  rm -f man/*.1 && cargo run -q -- generate man --dir man";

/// Every regular file in `dir`, by name.
fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Runs `foxtrot generate ARGS` with an endpoint in the environment (which must not leak in).
async fn generate(args: &[&str]) -> Finished {
    let mut cmd = foxtrot(&[&["generate"], args].concat());
    cmd.env("FOXTROT_ENDPOINT", "ws://127.0.0.1:1");
    let out = finish(cmd.spawn().unwrap()).await;
    assert_eq!(out.code, Some(0), "generate {args:?}: {}", out.stderr);
    out.assert_no_panic();
    out
}

#[tokio::test]
async fn committed_completions_match_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed = files(&root.join("completions"));
    let shells = [
        ("bash", "foxtrot.bash"),
        ("zsh", "_foxtrot"),
        ("fish", "foxtrot.fish"),
        ("elvish", "foxtrot.elv"),
        ("powershell", "_foxtrot.ps1"),
    ];
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        {
            let mut names: Vec<_> = shells.iter().map(|(_, f)| f).collect();
            names.sort();
            names
        },
        "completions/ holds other files than the five scripts; {REGENERATE}"
    );
    for (shell, file) in shells {
        let out = generate(&["completions", shell]).await;
        assert!(
            out.stdout == committed[file],
            "completions/{file} differs from `foxtrot generate completions {shell}`; {REGENERATE}"
        );
        let dir = tempfile::tempdir().unwrap();
        generate(&["completions", shell, "--dir", dir.path().to_str().unwrap()]).await;
        assert_eq!(files(dir.path()).get(file), Some(&committed[file]));
    }
}

#[tokio::test]
async fn committed_man_pages_match_the_cli() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    generate(&["man", "--dir", dir.path().to_str().unwrap()]).await;
    let fresh = files(dir.path());
    let committed = files(&root.join("man"));
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>(),
        "man/ holds other pages than the CLI has; {REGENERATE}"
    );
    for (name, text) in &fresh {
        assert!(
            &committed[name] == text,
            "man/{name} differs from `foxtrot generate man`; {REGENERATE}"
        );
    }
    let printed = generate(&["man"]).await;
    assert_eq!(printed.stdout, fresh["foxtrot.1"]);
    for page in ["foxtrot-stream.1", "foxtrot-record.1"] {
        assert!(fresh[page].contains("FOXTROT_ENDPOINT\\fR environment variable"));
        assert!(
            !fresh[page].contains("127.0.0.1:1"),
            "{page} leaks the environment"
        );
    }
}

#[tokio::test]
async fn an_unknown_shell_is_a_usage_error() {
    let out = run(&["generate", "completions", "tcsh"]).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.starts_with("foxtrot: ") && out.stderr.contains("tcsh"));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}
