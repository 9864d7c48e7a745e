//! What to do after a run that left rows undone: the exact command that
//! carries on (the same command, resuming from this run's results into a
//! fresh results file) and where the retry file goes.

use std::path::{Path, PathBuf};

use crate::cli::Config;
use crate::output::{Counts, Outcome};

/// Flags that the carry-on command replaces or must not repeat. `--token`
/// is dropped so a secret never reaches the screen; the environment
/// variable carries it instead.
const DROPPED_WITH_VALUE: &[&str] = &["-o", "--output", "--limit", "--token"];

/// The command that carries on from `results`: the typed command without
/// its output, limit and token, plus `--resume results -o <fresh file>`.
pub fn resume_command(argv: &[String], results: &Path) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut args = argv.iter();
    let mut dropped_token = false;
    while let Some(arg) = args.next() {
        let flag = arg.split('=').next().unwrap_or_default();
        if DROPPED_WITH_VALUE.contains(&flag) {
            dropped_token |= flag == "--token";
            if !arg.contains('=') {
                args.next();
            }
            continue;
        }
        words.push(arg.clone());
    }
    words.extend([
        "--resume".to_owned(),
        results.display().to_string(),
        "-o".to_owned(),
        next_output(results).display().to_string(),
    ]);
    let command = words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ");
    if dropped_token {
        format!("{command} (with the token in SECURID_TOKEN)")
    } else {
        command
    }
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

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// How to carry on when rows were left undone.
pub fn next_step(
    config: &Config,
    counts: &Counts,
    retry: Option<std::path::PathBuf>,
) -> Option<String> {
    let undone = counts.get(Outcome::Failed) + counts.get(Outcome::NotAttempted);
    if config.dry_run || undone == 0 {
        return None;
    }
    let mut step = format!(
        "{undone} rows not done; carry on (rows already ok are skipped) with:\n    {}",
        resume_command(&config.argv, &config.output)
    );
    if let Some(retry) = retry {
        step.push_str(&format!(
            "\n  rows still to do, in the input's own columns: {}",
            retry.display()
        ));
    }
    Some(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn resume_command_swaps_output_and_drops_limit_and_token() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("users.results.csv");
        let command = resume_command(
            &argv(&[
                "securid-bulk",
                "ds100-clear-pin",
                "my users.csv",
                "--limit",
                "5",
                "--token=s3cret",
                "-o",
                "old.csv",
                "-j",
                "4",
            ]),
            &results,
        );
        assert!(!command.contains("s3cret"), "{command}");
        assert!(!command.contains("--limit"), "{command}");
        assert!(!command.contains("old.csv"), "{command}");
        assert!(
            command.contains("'my users.csv' -j 4 --resume"),
            "{command}"
        );
        assert!(command.contains("users.resume-1.results.csv"), "{command}");
        assert!(command.contains("SECURID_TOKEN"), "{command}");
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
