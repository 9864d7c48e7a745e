//! What to do after a run that left rows undone: the exact command that
//! carries on (the same command, resuming from this run's results into a
//! fresh results file named by `output::naming`) and the step the summary
//! prints; and how to take the run's changes back ([`undo_step`]).

use std::path::{Path, PathBuf};

use crate::net::redact_url;
use crate::ops::{Operation, Undo};
use crate::outcome::{plural, Counts, Outcome};
use crate::output::naming::next_output;

/// Flags that the carry-on command replaces or must not repeat.
const DROPPED_WITH_VALUE: &[&str] = &["-o", "--output", "--limit"];

/// The command that carries on from `results`: the typed command (which
/// never holds `--token`: see `Config::argv`) without its output and limit,
/// plus `--resume results -o <fresh file>`. When a token was typed, a note
/// says to put it in `SECURID_TOKEN`. A `--proxy` whose URL holds a user
/// name or password is dropped too (a redacted URL would not run): the note
/// says to put it in `HTTPS_PROXY`.
pub fn resume_command(argv: &[String], results: &Path, token_typed: bool) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut args = argv.iter();
    let dropped_token = token_typed;
    let mut dropped_proxy = false;
    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (arg.as_str(), None),
        };
        if DROPPED_WITH_VALUE.contains(&flag) {
            if inline_value.is_none() {
                args.next();
            }
            continue;
        }
        if flag == "--proxy" {
            let value = match inline_value {
                Some(value) => value.to_owned(),
                None => args.next().cloned().unwrap_or_default(),
            };
            if redact_url(&value) != value {
                dropped_proxy = true;
                continue;
            }
            words.push(arg.clone());
            if inline_value.is_none() {
                words.push(value);
            }
            continue;
        }
        words.push(redact_url(arg));
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
    let notes: Vec<&str> = [
        (dropped_token, "the token in SECURID_TOKEN"),
        (dropped_proxy, "the proxy in HTTPS_PROXY"),
    ]
    .into_iter()
    .filter_map(|(dropped, note)| dropped.then_some(note))
    .collect();
    if notes.is_empty() {
        command
    } else {
        format!("{command} (with {})", notes.join(", "))
    }
}

/// The summary's undo line: the command that takes this run's changes
/// back from its undo file (`undo`: its path and the lines this run wrote),
/// or that they cannot be; `None` for a read, or a dry run of an operation
/// that can be undone.
pub fn undo_step(
    op: &Operation,
    undo: Option<(&Path, u64)>,
    now: std::time::SystemTime,
) -> Option<String> {
    let (inverse, within_days) = match op.undo {
        Undo::Nothing => return None,
        Undo::Never => return Some(format!("none: {} cannot be undone", op.name)),
        Undo::By {
            inverse,
            within_days,
            ..
        } => (inverse, within_days),
    };
    let (path, rows) = undo?;
    let file = shell_quote(&path.display().to_string());
    if rows == 0 {
        return Some(format!(
            "nothing to undo: this run changed nothing ({file})"
        ));
    }
    let mut step = format!(
        "securid-bulk {} {file} ({} changed; same tenant and credentials as this run)",
        inverse.name,
        plural(rows, "row", "rows")
    );
    if let Some(days) = within_days {
        let due = now + std::time::Duration::from_secs(days * 86_400);
        let due = humantime::format_rfc3339_seconds(due);
        step.push_str(&format!(
            "; the tenant purges them after {days} days, due {due}: undo before then"
        ));
    }
    Some(step)
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

/// The command line as typed, with every secret shown as `[redacted]` or
/// `***`, for the summary JSON: a token's value (the kept command line has
/// none, but a caller may pass one) and the user name and password of any
/// URL-like word (`--proxy u:pw@host:3128` as well as `http://u:pw@host`).
pub fn without_secrets(argv: &[String]) -> Vec<String> {
    let mut words = Vec::with_capacity(argv.len());
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        match arg.split_once('=') {
            Some(("--token", _)) => words.push("--token=[redacted]".to_owned()),
            None if arg == "--token" => {
                words.push(arg.clone());
                if args.next().is_some() {
                    words.push("[redacted]".to_owned());
                }
            }
            _ => words.push(redact_url(arg)),
        }
    }
    words
}

/// How to carry on when rows were left undone.
/// `argv` is the command as typed, less any token, `results` this run's
/// results file. A run that read standard input (`-`) carries on from the
/// retry file instead: the same command would wait on standard input again.
/// `refused` failed rows would be refused again (a 404): carrying on is
/// offered only when some other row could still go through.
pub fn next_step(
    argv: &[String],
    token_typed: bool,
    results: &Path,
    counts: &Counts,
    refused: u64,
    retry: Option<PathBuf>,
    from_stdin: bool,
) -> Option<String> {
    // The same rows the retry file holds: failed, not attempted, invalid.
    let kinds = [Outcome::Failed, Outcome::NotAttempted, Outcome::Invalid];
    let undone: u64 = kinds.iter().map(|o| counts.get(*o)).sum();
    if undone == 0 {
        return None;
    }
    let breakdown: Vec<String> = kinds
        .iter()
        .filter(|o| counts.get(**o) > 0)
        .map(|o| format!("{} {}", counts.get(*o), o.as_str()))
        .collect();
    let mut step = format!(
        "{} not done ({})",
        plural(undone, "row", "rows"),
        breakdown.join(", ")
    );
    let argv = match (from_stdin, &retry) {
        // Results on standard output (`-o -`) left no file to resume from:
        // the retry file is the way on.
        _ if crate::output::naming::is_stdout(results) => None,
        (false, _) => Some(argv.to_vec()),
        (true, Some(retry)) => Some(input_replaced(argv, retry)),
        (true, None) => None,
    };
    let worth_resending = undone > counts.get(Outcome::Invalid) + refused;
    if refused > 0 {
        step.push_str(&format!(
            "; {} refused for good (the tenant would answer the same again: see each \
             row's message)",
            plural(refused, "failed row was", "failed rows were")
        ));
    }
    if let (Some(argv), true) = (argv, worth_resending) {
        step.push_str(&format!(
            "; carry on (rows already ok are skipped) with:\n    {}",
            resume_command(&argv, results, token_typed)
        ));
    }
    if let Some(retry) = retry {
        let fix = match (counts.get(Outcome::Invalid), refused) {
            (0, 0) => "",
            (0, _) => " (fix the refused ones first)",
            (_, 0) => " (fix the invalid ones first)",
            _ => " (fix the invalid and refused ones first)",
        };
        step.push_str(&format!(
            "\n  rows still to do, in the input's own columns{fix}: {}",
            retry.display()
        ));
    }
    Some(step)
}

/// `argv` reading `input` where it read standard input (`-`).
fn input_replaced(argv: &[String], input: &Path) -> Vec<String> {
    let mut words = argv.to_vec();
    if let Some(dash) = words.iter_mut().skip(1).find(|w| *w == "-") {
        *dash = input.display().to_string();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn resume_command_swaps_output_and_drops_limit_and_notes_a_typed_token() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("users.results.csv");
        let command = resume_command(
            &argv(&[
                "securid-bulk",
                "ds100-clear-pin",
                "my users.csv",
                "--limit",
                "5",
                "-o",
                "old.csv",
                "-j",
                "4",
            ]),
            &results,
            true,
        );
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
    fn resume_command_keeps_a_plain_proxy_and_drops_one_with_a_password() {
        let results = Path::new("users.results.csv");
        let with = |proxy: &[&str]| {
            let mut words = vec!["securid-bulk", "ds100-clear-pin", "users.csv"];
            words.extend(proxy);
            resume_command(&argv(&words), results, false)
        };
        let plain = with(&["--proxy", "http://proxy.corp:3128"]);
        assert!(plain.contains("--proxy http://proxy.corp:3128"), "{plain}");
        assert!(!plain.contains("HTTPS_PROXY"), "{plain}");
        for proxy in [
            vec!["--proxy", "http://u:hunter2@proxy.corp:3128"],
            vec!["--proxy=http://u:hunter2@proxy.corp:3128"],
            vec!["--proxy", "u:hunter2@proxy.corp:3128"],
            vec!["--proxy=u:hunter2@[bad"],
        ] {
            let command = with(&proxy);
            assert!(!command.contains("hunter2"), "{command}");
            assert!(!command.contains("--proxy"), "{command}");
            assert!(command.contains("users.csv --resume"), "{command}");
            assert!(command.contains("the proxy in HTTPS_PROXY"), "{command}");
        }
    }

    #[test]
    fn the_command_line_keeps_no_token() {
        let words = without_secrets(&argv(&[
            "securid-bulk",
            "--token",
            "s3cret",
            "--token=abc",
            "in.csv",
        ]));
        assert_eq!(
            words,
            argv(&[
                "securid-bulk",
                "--token",
                "[redacted]",
                "--token=[redacted]",
                "in.csv"
            ])
        );
    }

    #[test]
    fn the_count_of_rows_not_done_matches_the_retry_file() {
        let mut counts = Counts::default();
        counts.add_many(Outcome::Failed, 1);
        counts.add_many(Outcome::Invalid, 4);
        counts.add_many(Outcome::NotAttempted, 1);
        counts.add_many(Outcome::Ok, 9);
        let step = next_step(
            &argv(&["securid-bulk"]),
            false,
            Path::new("r.results.csv"),
            &counts,
            0,
            None,
            false,
        )
        .unwrap();
        assert!(
            step.starts_with("6 rows not done (1 failed, 1 not_attempted, 4 invalid)"),
            "{step}"
        );
        let mut one = Counts::default();
        one.add(Outcome::Failed);
        let step = next_step(
            &argv(&["securid-bulk"]),
            false,
            Path::new("r.results.csv"),
            &one,
            0,
            None,
            false,
        )
        .unwrap();
        assert!(step.starts_with("1 row not done"), "{step}");
    }

    #[test]
    fn a_run_from_standard_input_carries_on_from_its_retry_file() {
        let mut one = Counts::default();
        one.add(Outcome::Failed);
        let typed = argv(&["securid-bulk", "ds100-delete", "-", "--yes"]);
        let results = Path::new("stdin.results.csv");
        let retry = Some(PathBuf::from("stdin.retry.csv"));
        let step = next_step(&typed, false, results, &one, 0, retry, true).unwrap();
        assert!(
            step.contains("securid-bulk ds100-delete stdin.retry.csv --yes --resume"),
            "{step}"
        );
        let step = next_step(&typed, false, results, &one, 0, None, true).unwrap();
        assert!(!step.contains("carry on"), "{step}");
    }

    #[test]
    fn results_on_standard_output_carry_on_from_the_retry_file_only() {
        let mut one = Counts::default();
        one.add(Outcome::Failed);
        let typed = argv(&["securid-bulk", "ds100-delete", "in.csv", "-o", "-"]);
        let retry = Some(PathBuf::from("in.retry.csv"));
        let step = next_step(&typed, false, Path::new("-"), &one, 0, retry, false).unwrap();
        assert!(!step.contains("--resume"), "{step}");
        assert!(step.contains("in.retry.csv"), "{step}");
    }

    #[test]
    fn rows_refused_for_good_are_not_offered_a_resume() {
        let mut counts = Counts::default();
        counts.add_many(Outcome::Failed, 2);
        let typed = argv(&["securid-bulk", "report", "people.csv"]);
        let results = Path::new("people.results.csv");
        let retry = Some(PathBuf::from("people.retry.csv"));
        let step = next_step(&typed, false, results, &counts, 2, retry.clone(), false).unwrap();
        assert!(!step.contains("--resume"), "{step}");
        assert!(
            step.contains("2 failed rows were refused for good"),
            "{step}"
        );
        assert!(step.contains("(fix the refused ones first)"), "{step}");
        let step = next_step(&typed, false, results, &counts, 1, retry, false).unwrap();
        assert!(step.contains("--resume"), "{step}");
    }
}
