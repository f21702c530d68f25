//! Names of finished files: a name not yet used (`-0001`, `-0002`, ... when it would
//! repeat, or for every file of a name under size rotation, continuing after the highest
//! number on disk), `NAME.partial` while a file is written and `NAME.gaps.csv` beside it.

use std::path::{Path, PathBuf};

use super::super::template::{number_of, with_suffix};
use super::FileSink;

/// The suffix of a file being written.
pub const PARTIAL: &str = ".partial";

impl FileSink {
    /// Whether `name` may not be written: it exists (as itself or as a `.partial`; with
    /// `--force`, only as a `.partial`) or this run used it.
    pub(super) fn taken(&self, name: &Path) -> bool {
        self.used.contains(name) || (!self.overwrite && name.exists()) || partial(name).exists()
    }

    /// The first of `base`, `base-0001`, `base-0002`, ... that is not [taken](Self::taken).
    pub(super) fn free_name(&self, base: &str) -> PathBuf {
        let mut name = PathBuf::from(base);
        let mut n = 0;
        while self.taken(&name) {
            n += 1;
            name = PathBuf::from(with_suffix(base, n));
        }
        name
    }

    /// Size rotation: `base-0001`, `base-0002`, ... in turn, the first after the highest
    /// number a file of `base` already has in its directory (a run continues the series of
    /// an earlier one), never a name that is [taken](Self::taken).
    pub(super) fn next_numbered(&mut self, base: &str) -> PathBuf {
        let numbers = self.numbers.as_ref().expect("size rotation");
        let mut n = match numbers.get(base) {
            Some(&next) => next,
            None => highest_number(base) + 1,
        };
        while self.taken(Path::new(&with_suffix(base, n))) {
            n += 1;
        }
        self.numbers
            .as_mut()
            .expect("size rotation")
            .insert(base.to_owned(), n + 1);
        PathBuf::from(with_suffix(base, n))
    }
}

/// The highest number a file of `base` has in its directory (0 for none).
fn highest_number(base: &str) -> u32 {
    let dir = match Path::new(base).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| number_of(base, e.file_name().to_str()?))
        .max()
        .unwrap_or(0)
}

/// `NAME.partial`.
pub(super) fn partial(done: &Path) -> PathBuf {
    let mut name = done.as_os_str().to_owned();
    name.push(PARTIAL);
    name.into()
}

/// `NAME.gaps.csv`.
pub(super) fn gaps_name(done: &Path) -> PathBuf {
    let mut name = done.as_os_str().to_owned();
    name.push(".gaps.csv");
    name.into()
}
