//! A run on a terminal, as the admin watches it: the binary in a real
//! pseudo-terminal (util-linux `script`), so the progress bar is drawn. A
//! `-v` log line never lands on the bar's line, and a resumed run's bar
//! counts the rows it sends, not the rows an earlier run did.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::fixture::{code, copy_sample, run_op, stderr, Scene};

fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Runs the binary with `args` in a terminal and returns what the terminal
/// received; `None` when `script` is not installed.
fn on_a_terminal(scene: &Scene, args: &[&str]) -> Option<String> {
    let script = Command::new("script").arg("--version").output();
    if !script.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: util-linux script is not installed");
        return None;
    }
    let binary = assert_cmd::cargo::cargo_bin("securid-bulk");
    let command: Vec<String> = std::iter::once(binary.display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|w| quoted(&w))
        .collect();
    let output = Command::new("script")
        .args(["-qfec", &command.join(" "), "/dev/null"])
        .current_dir(scene.dir.path())
        .env("SECURID_TOKEN", scene.tenant.token())
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env("COLUMNS", "120")
        .env_remove("SECURID_BASE_URL")
        .env_remove("SECURID_PROFILE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("script runs");
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// What a terminal line shows last: the text after its last carriage
/// return, without the escape sequences that clear or move.
fn visible(line: &str) -> String {
    let line = line.trim_end_matches('\r');
    let last = line.rsplit('\r').next().unwrap_or_default();
    let mut out = String::new();
    let mut chars = last.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn verbose_log_lines_never_land_on_the_progress_bar() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let url = scene.tenant.url();
    let args = [
        "ds100-clear-pin",
        input.to_str().unwrap(),
        "--base-url",
        &url,
        "--rate",
        "4",
        "-v",
    ];
    let Some(shown) = on_a_terminal(&scene, &args) else {
        return;
    };
    assert!(shown.contains("ETA"), "the bar was drawn: {shown:?}");
    let log_lines: Vec<String> = shown
        .split('\n')
        .filter(|l| l.contains("row{line="))
        .map(visible)
        .collect();
    assert_eq!(log_lines.len(), 7, "{shown:?}");
    for line in &log_lines {
        let before = line.split("INFO").next().unwrap_or_default();
        assert!(
            !before.contains("ETA") && !before.contains('['),
            "a log line on the bar's line: {line:?}"
        );
    }
}

#[test]
fn a_resumed_runs_bar_counts_only_the_rows_it_sends() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let first = run_op(&scene.tenant, "ds100-clear-pin", &input, &["--limit", "5"]);
    assert_eq!(code(&first), 2, "{}", stderr(&first));
    let results = scene.dir.path().join("ds100-clear-pin.results.csv");
    let again = scene.dir.path().join("again.csv");
    let url = scene.tenant.url();
    let args = [
        "ds100-clear-pin",
        input.to_str().unwrap(),
        "--base-url",
        &url,
        "--rate",
        "2",
        "--resume",
        results.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ];
    let Some(shown) = on_a_terminal(&scene, &args) else {
        return;
    };
    assert!(shown.contains("skipped 5"), "{shown:?}");
    assert!(shown.contains("/2 "), "two rows to send: {shown:?}");
    assert!(
        !shown.contains("/7 "),
        "the skipped rows are not counted: {shown:?}"
    );
    assert_eq!(scene.tenant.stats().applied_total("ds100-clear-pin"), 7);
    assert!(Path::new(&again).is_file());
}
