//! Change tickets: `--ticket` stamped into every output of a run, and a
//! profile's `ticket-required` refusing a run without one before any
//! request.

use crate::fixture::{bin, code, copy_sample, results, run_op, stderr, write, Scene};

#[test]
fn the_ticket_is_in_the_results_json_lines_summary_and_request_log() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin-by-email.csv");
    let log = scene.dir.path().join("audit.jsonl");
    let summary = scene.dir.path().join("summary.json");
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &[
            "--ticket",
            "CHG0042",
            "--log-file",
            log.to_str().unwrap(),
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("  ticket: CHG0042\n"),
        "{}",
        stderr(&output)
    );

    let rows = results(&crate::fixture::results_path(&input));
    assert_eq!(rows.len(), 6);
    assert!(
        rows.iter().all(|r| r["change_ticket"] == "CHG0042"),
        "{rows:?}"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["ticket"], "CHG0042");

    let text = std::fs::read_to_string(&log).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!events.is_empty());
    for event in &events {
        assert_eq!(event["span"]["ticket"], "CHG0042", "{event}");
    }

    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["--ticket", "CHG0042", "--format", "jsonl"],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let jsonl = scene
        .dir
        .path()
        .join("ds100-clear-pin-by-email.results.jsonl");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    assert_eq!(text.lines().count(), 6);
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(row["change_ticket"], "CHG0042", "{row}");
    }
}

#[test]
fn without_a_ticket_the_column_is_there_and_empty() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let output = run_op(&scene.tenant, "ds100-clear-pin", &input, &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let rows = results(&crate::fixture::results_path(&input));
    // The sample's own `ticket` column is kept apart from the run's.
    assert!(rows
        .iter()
        .all(|r| r["change_ticket"].is_empty() && !r["ticket"].is_empty()));
    assert!(!stderr(&output).contains("ticket:"));
}

#[test]
fn a_profile_that_requires_a_ticket_refuses_a_run_without_one_before_any_request() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-disable.csv");
    let config = write(
        scene.dir.path(),
        "config.toml",
        &format!(
            "[profiles.prod]\nbase-url = \"{}\"\nrate = 0\nticket-required = true\n",
            scene.tenant.url()
        ),
    );
    let run = |extra: &[&str]| {
        bin()
            .args([
                "ds100-disable",
                "--yes",
                "--force",
                "--profile",
                "prod",
                "--config",
            ])
            .arg(&config)
            .arg(&input)
            .args(extra)
            .env("SECURID_TOKEN", scene.tenant.token())
            .output()
            .unwrap()
    };
    let output = run(&[]);
    let text = stderr(&output);
    assert_eq!(code(&output), 1, "{text}");
    assert!(
        text.contains("profile prod requires a change ticket"),
        "{text}"
    );
    assert!(text.contains("--ticket"), "{text}");
    assert_eq!(scene.tenant.stats().requests, 0);

    let output = run(&["--ticket", "CHG7"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("under ticket CHG7"),
        "{}",
        stderr(&output)
    );
    assert!(scene.tenant.stats().requests > 0);
}
