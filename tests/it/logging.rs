//! The audit log (`--log-file`) keeps its own level: a `RUST_LOG` left in
//! the environment filters the terminal, never the file.

use crate::fixture::*;

#[test]
fn rust_log_off_still_leaves_the_requests_in_the_log_file() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let log = scene.dir.path().join("audit.jsonl");
    let output = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--base-url", &scene.tenant.url(), "--rate", "0", "--force"])
        .args(["--log-file", log.to_str().unwrap()])
        .env("SECURID_TOKEN", scene.tenant.token())
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let text = std::fs::read_to_string(&log).unwrap();
    let requests = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|event| event["fields"]["message"] == "request")
        .count();
    let sent: usize = results(&results_path(&input))
        .iter()
        .map(|row| row["attempts"].parse::<usize>().unwrap_or(0))
        .sum();
    assert!(sent > 0);
    assert_eq!(requests, sent, "{text}");
}

#[test]
fn log_level_sets_the_files_level_and_needs_a_log_file() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let log = scene.dir.path().join("audit.jsonl");
    let run = |extra: &[&str]| {
        bin()
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(["--base-url", &scene.tenant.url(), "--rate", "0", "--force"])
            .args(extra)
            .env("SECURID_TOKEN", scene.tenant.token())
            .env("RUST_LOG", "off")
            .output()
            .unwrap()
    };
    let alone = run(&["--log-level", "debug"]);
    assert_exit(&alone, 1);
    assert!(stderr(&alone).contains("--log-file"), "{}", stderr(&alone));
    let out = run(&["--log-file", log.to_str().unwrap(), "--log-level", "trace"]);
    assert_exit(&out, 0);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("\"request\""), "{text}");
}
