//! Output file names: where a run's results go by default, the fresh
//! results file a resumed run writes, and the retry file beside the results.
//! Every name an output gets is decided here.

use std::path::{Path, PathBuf};

/// `dir/users.csv` → `dir/users.results.csv`.
pub fn default_output(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    input.with_file_name(format!("{stem}.results.csv"))
}

/// A results file that does not exist yet for the resumed run:
/// `users.results.csv` → `users.resume-1.results.csv`, then `-2`, ...
pub fn next_output(results: &Path) -> PathBuf {
    let name = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name.strip_suffix(".results.csv").unwrap_or(&name);
    let base = match base.rsplit_once(".resume-") {
        Some((stem, n)) if n.bytes().all(|b| b.is_ascii_digit()) => stem,
        _ => base,
    };
    (1..)
        .map(|n| results.with_file_name(format!("{base}.resume-{n}.results.csv")))
        .find(|candidate| !candidate.exists())
        .unwrap_or_else(|| results.with_file_name(format!("{base}.resume.results.csv")))
}

/// `users.results.csv` → `users.retry.csv`; `out.csv` → `out.retry.csv`.
pub fn retry_path(results: &Path) -> PathBuf {
    let name = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name
        .strip_suffix(".results.csv")
        .or_else(|| name.strip_suffix(".csv"))
        .unwrap_or(&name);
    results.with_file_name(format!("{base}.retry.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_defaults_beside_the_input() {
        assert_eq!(
            default_output(Path::new("dir/users.csv")),
            PathBuf::from("dir/users.results.csv")
        );
    }

    #[test]
    fn next_output_counts_up_past_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("u.results.csv");
        let one = dir.path().join("u.resume-1.results.csv");
        assert_eq!(next_output(&first), one);
        std::fs::write(&one, "").unwrap();
        assert_eq!(next_output(&one), dir.path().join("u.resume-2.results.csv"));
    }

    #[test]
    fn retry_file_sits_beside_the_results() {
        assert_eq!(
            retry_path(Path::new("d/u.results.csv")),
            PathBuf::from("d/u.retry.csv")
        );
        assert_eq!(
            retry_path(Path::new("out.csv")),
            PathBuf::from("out.retry.csv")
        );
    }
}
