//! What to do after a run that left rows undone: the exact command that
//! carries on (the same command, resuming from this run's results into a
//! fresh results file named by `output::naming`) and the step the summary
//! prints.

use std::path::{Path, PathBuf};

use crate::net::redact_url;
use crate::outcome::{Counts, Outcome};
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
/// `argv` is the command as typed, less any token, `results` this run's
/// results file.
pub fn next_step(
    argv: &[String],
    token_typed: bool,
    results: &Path,
    counts: &Counts,
    retry: Option<PathBuf>,
) -> Option<String> {
    let undone = counts.get(Outcome::Failed) + counts.get(Outcome::NotAttempted);
    if undone == 0 {
        return None;
    }
    let mut step = format!(
        "{undone} rows not done; carry on (rows already ok are skipped) with:\n    {}",
        resume_command(argv, results, token_typed)
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
        ] {
            let command = with(&proxy);
            assert!(!command.contains("hunter2"), "{command}");
            assert!(!command.contains("--proxy"), "{command}");
            assert!(command.contains("users.csv --resume"), "{command}");
            assert!(command.contains("the proxy in HTTPS_PROXY"), "{command}");
        }
    }
}
