//! Where output files go, checked before anything connects ([`check_location`]), and the
//! errors that name a place: a directory that could not be made, a salvaged file by the
//! name it ended with. Opening and writing the files is the sinks' job.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use super::{OpenError, WriteError, named};

/// `source` naming the finished file rather than `NAME.partial` when the file was
/// finished (renamed) after the error: a plain file salvaged after a full disk keeps its
/// lines under its real name, and that is the name to report.
pub fn naming_finished(source: io::Error) -> io::Error {
    let Some(written) = source
        .get_ref()
        .and_then(|e| e.downcast_ref::<WriteError>())
    else {
        return source;
    };
    let Some(done) = written
        .path
        .to_str()
        .and_then(|p| p.strip_suffix(crate::sink::files::PARTIAL))
        .map(PathBuf::from)
    else {
        return source;
    };
    if written.path.exists() || !done.exists() {
        return source;
    }
    let kind = source.kind();
    match source
        .into_inner()
        .map(|inner| inner.downcast::<WriteError>())
    {
        Some(Ok(written)) => io::Error::new(
            kind,
            WriteError {
                path: done,
                source: written.source,
            },
        ),
        // Not reached: the error was checked to be a `WriteError` above.
        Some(Err(other)) => io::Error::new(kind, other),
        None => io::Error::from(kind),
    }
}

/// The error of a failed `create_dir_all(dir)`, naming the directory and, when a file is in
/// the way, that file: `data/binance (cannot create this directory: data is a file)`.
pub fn mkdir_error(dir: &Path, source: io::Error) -> io::Error {
    let why = match dir
        .ancestors()
        .find(|a| !a.as_os_str().is_empty() && a.exists())
    {
        Some(found) if !found.is_dir() => format!("{} is a file, not a directory", found.display()),
        _ => source.to_string(),
    };
    named(
        dir,
        io::Error::new(
            source.kind(),
            format!("cannot create this directory: {why}"),
        ),
    )
}

/// Checks before anything connects that the files of `flag PATH` (a name or a template)
/// can be made: the name is not a directory (a usage error) and, for outputs that create
/// their directories and open their files at the first row (`makes_dirs`: templates,
/// rotation, compression, raw captures), no file stands where a directory must be and the
/// nearest existing directory takes a new file (a probe file, removed at once). Those two
/// are the system's, as a plain file's failed open is (exit 1).
pub fn check_location(
    flag: &'static str,
    path: &Path,
    makes_dirs: bool,
    example: &'static str,
) -> Result<(), OpenError> {
    let text = path.to_string_lossy();
    let templated = text.contains('{');
    if !templated && path.is_dir() {
        return Err(OpenError::IsDirectory {
            flag,
            path: text.to_string(),
            example,
        });
    }
    // The directory of the files: up to the last `/` before any placeholder.
    let fixed = &text[..text.find('{').unwrap_or(text.len())];
    let dir = match fixed.rfind('/') {
        Some(0) => Path::new("/"),
        Some(i) => Path::new(&fixed[..i]),
        None => Path::new("."),
    };
    if !makes_dirs {
        // A plain file is opened next: its open names what is wrong with its directory.
        return Ok(());
    }
    let existing = dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.exists())
        .filter(|a| !a.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        return Err(OpenError::NotDirectory {
            flag,
            path: text.to_string(),
            file: existing.to_owned(),
        });
    }
    let probe = existing.join(format!(".foxtrot-probe-{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(OpenError::Location {
            flag,
            path: text.to_string(),
            dir: existing.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(path: &Path) -> io::Error {
        named(path, io::Error::from(io::ErrorKind::StorageFull))
    }

    #[test]
    fn a_salvaged_file_is_named_by_its_finished_name() {
        let dir = tempfile::tempdir().unwrap();
        let done = dir.path().join("r.jsonl");
        let partial = dir.path().join("r.jsonl.partial");
        std::fs::write(&done, "").unwrap();
        let e = naming_finished(full(&partial));
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert!(
            e.to_string().starts_with(&format!("{} (", done.display())),
            "{e}"
        );
        // Still a .partial on disk: that is the name to give.
        std::fs::write(&partial, "").unwrap();
        let e = naming_finished(full(&partial));
        assert!(e.to_string().contains("r.jsonl.partial"), "{e}");
    }

    #[test]
    fn a_directory_that_cannot_be_made_names_the_file_in_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data");
        std::fs::write(&file, "").unwrap();
        let target = file.join("binance");
        let e = mkdir_error(&target, std::fs::create_dir_all(&target).unwrap_err());
        let want = format!(
            "{} (cannot create this directory: {} is a file, not a directory)",
            target.display(),
            file.display()
        );
        assert_eq!(e.to_string(), want);
    }
}
