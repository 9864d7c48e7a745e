//! The summary's counters agree with the files beside it: the request
//! count is the request log's line count, lookups included; a row the
//! tenant refused for good (a 404) is not offered a resume; a retry file
//! a later resume made stale is named as superseded.

use crate::fixture::*;

#[test]
fn reports_request_count_includes_its_lookups_as_the_log_does() {
    let Scene { tenant, dir } = Scene::sample();
    let input = people_by_email(dir.path());
    let log = dir.path().join("audit.jsonl");
    let summary = dir.path().join("summary.json");
    let out = run_op(
        &tenant,
        "report",
        &input,
        &[
            "--log-file",
            log.to_str().unwrap(),
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 2);
    let logged = std::fs::read_to_string(&log).unwrap().lines().count() as u64;
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["requests"], logged, "{json}");
    // Four user lookups, and a read of each of the three users found for
    // a pending deletion.
    assert_eq!(json["lookups"], 7, "{json}");
    assert_eq!(tenant.stats().requests, logged);
    let text = stderr(&out);
    assert!(
        text.contains(&format!("requests: {logged} (7 lookups, ")),
        "{text}"
    );
    // nobody@ is unknown (404): sending the row again cannot help.
    assert!(text.contains("1 failed row was refused for good"), "{text}");
    assert!(!text.contains("--resume"), "{text}");
    assert!(text.contains("(fix the refused ones first)"), "{text}");
}

#[test]
fn a_retry_file_a_resume_made_stale_is_named_superseded() {
    let scene = Scene::start(&["--fail-rate", "1", "--fault-seed", "1"]);
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let first = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["--max-attempts", "1"],
    );
    assert_exit(&first, 2);
    assert!(!stderr(&first).contains("superseded"), "{}", stderr(&first));
    let old_retry = scene.dir.path().join("ds100-clear-pin.retry.csv");
    assert!(old_retry.is_file());
    let again = run_printed_resume(&scene.tenant, &stderr(&first));
    let text = stderr(&again);
    assert!(
        text.contains(&format!("superseded: {}", old_retry.display())),
        "{text}"
    );
    assert!(
        text.contains("ds100-clear-pin.resume-1.retry.csv"),
        "the new retry file is named: {text}"
    );
}
