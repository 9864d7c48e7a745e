//! Output file names: where a run's results go by default, the fresh
//! results file a resumed run writes, the name a dry run writes instead of
//! the real run's (so the real run after it needs no `--force`), and the
//! retry and undo files beside the results. `-o -` is standard output. Every name an
//! output gets is decided here.

use std::path::{Path, PathBuf};

use super::Format;

/// `dir/users.csv` → `dir/users.results.csv` (`.results.jsonl` for JSON
/// Lines).
pub fn default_output(input: &Path, format: Format) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    input.with_file_name(format!("{stem}.results.{}", extension(format)))
}

/// Results of a run reading standard input: `stdin.results.csv` in the
/// current directory.
pub fn stdin_output(format: Format) -> PathBuf {
    PathBuf::from(format!("stdin.results.{}", extension(format)))
}

/// `-o -`: the results go to standard output.
pub fn is_stdout(output: &Path) -> bool {
    output.as_os_str() == "-"
}

/// What a dry run writes where the real run would write `results`:
/// `users.results.csv` → `users.dry-run.csv`,
/// `users.resume-1.results.jsonl` → `users.resume-1.dry-run.jsonl`.
pub fn dry_run_output(results: &Path) -> PathBuf {
    let name = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let renamed = [("results.csv", "csv"), ("results.jsonl", "jsonl")]
        .iter()
        .find_map(|(suffix, ext)| {
            let base = name.strip_suffix(suffix)?;
            Some(format!("{base}dry-run.{ext}"))
        })
        .unwrap_or_else(|| format!("{name}.dry-run.csv"));
    results.with_file_name(renamed)
}

/// The suffixes a results file's name may end with, longest first.
const RESULTS_SUFFIXES: [&str; 6] = [
    ".results.csv",
    ".results.jsonl",
    ".dry-run.csv",
    ".dry-run.jsonl",
    ".csv",
    ".jsonl",
];

fn extension(format: Format) -> &'static str {
    match format {
        Format::Csv | Format::Xlsx => "csv",
        Format::Jsonl => "jsonl",
    }
}

/// `--format xlsx`: the results CSV, the retry file and the workbook made
/// from the CSV at the end. `-o out.xlsx` names the workbook, and the CSV
/// (and the retry file) follow `out.csv`; otherwise the workbook sits beside
/// the CSV under its stem.
pub fn workbook_names(output: PathBuf, retry: PathBuf) -> (PathBuf, PathBuf, PathBuf) {
    let is_xlsx = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let (csv, retry) = match is_xlsx {
        true => {
            let csv = output.with_extension("csv");
            let retry = retry_path(&csv);
            (csv, retry)
        }
        false => (output, retry),
    };
    let workbook = csv.with_extension("xlsx");
    (csv, retry, workbook)
}

/// The stem of a results file, whatever `-o` called it:
/// `users.results.csv`, `users.resume-2.results.csv`, `users.csv` and
/// `users` all have the stem `users`.
fn results_stem(name: &str) -> &str {
    let base = RESULTS_SUFFIXES
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name);
    match base.rsplit_once(".resume-") {
        Some((stem, n)) if n.bytes().all(|b| b.is_ascii_digit()) => stem,
        _ => base,
    }
}

/// A results file that does not exist yet for the resumed run:
/// `users.results.csv` (or `-o users.csv`) → `users.resume-1.results.csv`,
/// then `-2`, ...; JSON Lines results stay JSON Lines.
pub fn next_output(results: &Path) -> PathBuf {
    let name = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extension = match name.ends_with(".jsonl") {
        true => "jsonl",
        false => "csv",
    };
    let base = results_stem(&name);
    (1..)
        .map(|n| results.with_file_name(format!("{base}.resume-{n}.results.{extension}")))
        .find(|candidate| !candidate.exists())
        .unwrap_or_else(|| results.with_file_name(format!("{base}.resume.results.{extension}")))
}

/// `users.results.csv` → `users.retry.csv`; `out.csv` → `out.retry.csv`.
/// The retry file is CSV whatever the results' format: it is the input's
/// own rows.
pub fn retry_path(results: &Path) -> PathBuf {
    let name = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = [".results.csv", ".results.jsonl", ".csv", ".jsonl"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(&name);
    results.with_file_name(format!("{base}.retry.csv"))
}

/// `users.results.csv` and `users.resume-2.results.csv` →
/// `users.undo.csv`: one undo file for a run and its resumed runs, which
/// append to it.
pub fn undo_path(results: &Path) -> PathBuf {
    let name = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    results.with_file_name(format!("{}.undo.csv", results_stem(&name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workbook_sits_beside_its_csv_and_names_it_when_given() {
        let given = |o: &str| workbook_names(PathBuf::from(o), retry_path(Path::new(o)));
        assert_eq!(
            given("d/out.xlsx"),
            (
                PathBuf::from("d/out.csv"),
                PathBuf::from("d/out.retry.csv"),
                PathBuf::from("d/out.xlsx")
            )
        );
        let (csv, _, workbook) = given("d/u.results.csv");
        assert_eq!(csv, PathBuf::from("d/u.results.csv"));
        assert_eq!(workbook, PathBuf::from("d/u.results.xlsx"));
    }

    #[test]
    fn output_defaults_beside_the_input() {
        assert_eq!(
            default_output(Path::new("dir/users.csv"), Format::Csv),
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
    fn resume_names_follow_the_results_stem_whatever_o_was() {
        let dir = tempfile::tempdir().unwrap();
        for given in [
            "unreach.csv",
            "unreach.results.csv",
            "unreach",
            "unreach.resume-3.results.csv",
        ] {
            assert_eq!(
                next_output(&dir.path().join(given)),
                dir.path().join("unreach.resume-1.results.csv"),
                "{given}"
            );
        }
        assert_eq!(
            next_output(&dir.path().join("u.results.jsonl")),
            dir.path().join("u.resume-1.results.jsonl")
        );
    }

    #[test]
    fn a_dry_run_never_takes_the_real_run_s_name() {
        for (real, dry) in [
            ("d/u.results.csv", "d/u.dry-run.csv"),
            ("d/u.results.jsonl", "d/u.dry-run.jsonl"),
            ("d/u.resume-2.results.csv", "d/u.resume-2.dry-run.csv"),
            ("stdin.results.csv", "stdin.dry-run.csv"),
        ] {
            assert_eq!(
                dry_run_output(Path::new(real)),
                PathBuf::from(dry),
                "{real}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            next_output(&dir.path().join("u.dry-run.csv")),
            dir.path().join("u.resume-1.results.csv")
        );
    }

    #[test]
    fn a_run_and_its_resumed_runs_share_one_undo_file() {
        for results in [
            "d/u.results.csv",
            "d/u.resume-2.results.csv",
            "d/u.results.jsonl",
        ] {
            assert_eq!(undo_path(Path::new(results)), PathBuf::from("d/u.undo.csv"));
        }
        assert_eq!(
            undo_path(Path::new("u.undo.results.csv")),
            PathBuf::from("u.undo.undo.csv")
        );
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
