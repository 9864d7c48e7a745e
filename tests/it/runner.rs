//! The runner end to end: the real binary against the simulated tenant over
//! loopback HTTP, with the results CSV checked against the tenant's ledger.

use crate::fixture::*;

#[test]
fn every_operation_runs_end_to_end_and_agrees_with_the_ledger() {
    for op in operations() {
        let Scene { tenant, dir } = Scene::sample();
        let input = copy_sample(dir.path(), &format!("{op}.csv"));
        let out = run_op(&tenant, op, &input, &["--yes"]);
        assert_eq!(code(&out), 0, "{op}: {}", stderr(&out));
        let rows = results(&results_path(&input));
        let input_rows = csv::Reader::from_path(&input).unwrap().records().count();
        assert_eq!(rows.len(), input_rows, "{op}: one result per input row");
        let stats = tenant.stats();
        for row in &rows {
            assert_eq!(row["outcome"], "ok", "{op}: {row:?}");
            assert_eq!(row["http_status"], "200");
            assert_eq!(
                stats.applied_count(op, &row[ledger_column(op)]),
                1,
                "{op}: {row:?}"
            );
        }
        assert_eq!(stats.applied_total(op), rows.len() as u64, "{op}");
    }
}

#[test]
fn results_keep_input_order_columns_and_leading_zeros() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_op(&tenant, "ds100-clear-pin", &input, &["-j", "4"]);
    assert_exit(&out, 0);
    let rows = results(&results_path(&input));
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].parse().unwrap()).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
    assert!(
        rows.iter().all(|r| r.contains_key("ticket")),
        "extra column kept"
    );
    assert!(rows
        .iter()
        .any(|r| r["tokenSerialNumber"] == "004010009031"));
    assert!(rows.iter().all(|r| r["detail"] == "pinSet=false"));
}

#[test]
fn sid_clear_pin_reads_pin_set_as_a_string() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "sid-clear-pin.csv");
    let out = run_op(&tenant, "sid-clear-pin", &input, &[]);
    assert_exit(&out, 0);
    assert!(results(&results_path(&input))
        .iter()
        .all(|r| r["detail"] == "pinSet=false"));
}

#[test]
fn bad_rows_are_reported_and_never_sent() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-clear-pin-bad.csv");
    let out = run_op(&tenant, "ds100-clear-pin", &input, &[]);
    assert_exit(&out, 2);
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), 9);
    let outcome = |line: &str| {
        let row = rows.iter().find(|r| r["line"] == line).unwrap();
        (row["outcome"].clone(), row["message"].clone())
    };
    assert_eq!(outcome("3").0, "invalid");
    assert!(outcome("3").1.contains("column 1 (userId): is empty"));
    assert_eq!(outcome("4").0, "invalid");
    assert_eq!(outcome("5").0, "invalid");
    assert_eq!(outcome("6").0, "ok");
    assert!(outcome("6").1.contains("trimmed whitespace"));
    assert_eq!(
        outcome("7"),
        ("skipped".into(), "duplicate of line 2".into())
    );
    assert_eq!(outcome("8").0, "invalid");
    assert_eq!(outcome("9").0, "failed");
    let stats = tenant.stats();
    let sent = stats.requests;
    let expected_sent = rows.iter().filter(|r| r["attempts"] != "0").count() as u64;
    assert_eq!(sent, expected_sent, "only valid rows reach the tenant");
    assert_eq!(stats.status_count(400), 0, "no malformed request was sent");
}

#[test]
fn no_retry_on_final_refusals() {
    let Scene { tenant, dir } = Scene::sample();
    let input = write(
        dir.path(),
        "in.csv",
        "userId,tokenSerialNumber\n\
         00000000-0000-4000-8000-000000000000,1231314526\n\
         3f1c9a52-7d4e-4b8a-9c21-5e6f7a8b9c0d,1231314525\n",
    );
    let out = run_op(&tenant, "sid-clear-pin", &input, &[]);
    assert_eq!(code(&out), 2);
    let rows = results(&results_path(&input));
    assert_eq!(rows[0]["http_status"], "404");
    assert_eq!(rows[1]["http_status"], "409");
    assert!(
        rows[1]["message"].contains("not assigned to this user"),
        "{:?}",
        rows[1]
    );
    assert!(rows
        .iter()
        .all(|r| r["attempts"] == "1" && r["outcome"] == "failed"));
    assert_eq!(tenant.stats().requests, 2);
}

#[test]
fn server_errors_and_resets_are_retried_until_they_succeed() {
    let Scene { tenant, dir } = Scene::start(&[
        "--fail-rate",
        "0.3",
        "--reset-rate",
        "0.2",
        "--fault-seed",
        "7",
    ]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_op(
        &tenant,
        "ds100-clear-pin",
        &input,
        &["--max-attempts", "20"],
    );
    assert_exit(&out, 0);
    let stats = tenant.stats();
    assert!(
        stats.injected_failures + stats.resets > 0,
        "faults were injected"
    );
    let rows = results(&results_path(&input));
    let attempts: u64 = rows
        .iter()
        .map(|r| r["attempts"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        attempts, stats.requests,
        "attempts column matches what the tenant saw"
    );
    for row in &rows {
        assert_eq!(
            stats.applied_count("ds100-clear-pin", &row["tokenSerialNumber"]),
            1
        );
    }
}

#[test]
fn retries_stop_at_the_bound() {
    let Scene { tenant, dir } = Scene::start(&["--fail-rate", "1"]);
    let input = write(
        dir.path(),
        "in.csv",
        "userId,tokenSerialNumber\n87927fb7-e185-4c33-c7e3-8e077675973c,014010008038\n",
    );
    let out = run_op(&tenant, "ds100-clear-pin", &input, &["--max-attempts", "3"]);
    assert_eq!(code(&out), 2);
    let row = &results(&results_path(&input))[0];
    assert_eq!(row["attempts"], "3");
    assert_eq!(row["http_status"], "500");
    assert!(
        row["message"].starts_with("gave up after 3 attempts: 500"),
        "{row:?}"
    );
    assert!(
        row["message"].contains("Unable to Enable/Disable a hardware token"),
        "{row:?}"
    );
    assert_eq!(tenant.stats().requests, 3);
}

#[test]
fn dry_run_sends_nothing_and_marks_rows_valid() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-clear-pin-bad.csv");
    let out = run_op(&tenant, "ds100-clear-pin", &input, &["--dry-run"]);
    assert_eq!(code(&out), 2, "invalid rows make a dry run exit 2");
    assert_eq!(tenant.stats().requests, 0);
    let rows = results(&dry_run_path(&input));
    assert_eq!(rows.len(), 9);
    assert_eq!(rows.iter().filter(|r| r["outcome"] == "valid").count(), 4);
}

#[test]
fn fatal_errors_exit_1_and_name_the_file() {
    let dir = temp_dir();
    let input = write(dir.path(), "in.csv", "user,serial\n1,2\n");
    let out = bin()
        .args(["ds100-clear-pin"])
        .arg(&input)
        .arg("--dry-run")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("in.csv:1: missing column userId (or email or username), tokenSerialNumber"),
        "{err}"
    );
    assert!(
        !results_path(&input).exists(),
        "no results file for a file that cannot run"
    );

    let out = bin()
        .args(["ds100-clear-pin"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("no credentials"), "{}", stderr(&out));

    let out = bin().args(["ds100-clear-pin", "--bogus"]).output().unwrap();
    assert_eq!(code(&out), 1);
}

#[test]
fn an_existing_results_file_is_kept_without_force() {
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    std::fs::write(dry_run_path(&input), "precious").unwrap();
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .arg("--dry-run")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dry_run_path(&input)).unwrap(),
        "precious"
    );
}

#[test]
fn operations_lists_the_catalog() {
    let out = bin().arg("operations").output().unwrap();
    assert_eq!(code(&out), 0);
    let text = String::from_utf8(out.stdout).unwrap();
    for op in operations() {
        assert!(text.contains(op), "{text}");
    }
    assert!(text.contains("DELETE /AdminInterface/restapi/v1/ds100/delete/otp"));
}

/// Runs the clear-PIN sample against a tenant whose quota is far below the
/// demand, so 429s are certain.
fn run_throttled(
    retry_after: &str,
    workers: &str,
    burst: &str,
) -> (Tenant, Vec<std::collections::HashMap<String, String>>) {
    run_throttled_at("4", retry_after, workers, burst)
}

/// As [`run_throttled`], with the tenant's quota at `rate` per second.
fn run_throttled_at(
    rate: &str,
    retry_after: &str,
    workers: &str,
    burst: &str,
) -> (Tenant, Vec<std::collections::HashMap<String, String>>) {
    let Scene { tenant, dir } = Scene::start(&[
        "--rate",
        rate,
        "--burst",
        burst,
        "--retry-after",
        retry_after,
    ]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_op(
        &tenant,
        "ds100-clear-pin",
        &input,
        &["-j", workers, "--max-attempts", "30"],
    );
    assert_exit(&out, 0);
    let rows = results(&results_path(&input));
    (tenant, rows)
}

#[test]
fn a_429_with_retry_after_seconds_pauses_every_worker() {
    let (tenant, rows) = run_throttled("seconds", "8", "1");
    assert!(rows.iter().all(|r| r["outcome"] == "ok"));
    let stats = tenant.stats();
    assert!(stats.throttled > 0, "the quota pushed back");
    assert_eq!(stats.requests, rows.len() as u64 + stats.throttled);
    // The mock's Retry-After is at least one second. Once a 429 has been
    // answered, no worker may send until that second has passed.
    let early = arrivals_before_retry_after(&stats, 1000);
    assert!(early.is_empty(), "(429 at, arrival at) ms: {early:?}");
}

#[test]
fn a_429_with_an_http_date_is_waited_out() {
    // One worker against one request a second: each 429 comes just after
    // the last token went, so its date is at least 900 ms away.
    let (tenant, rows) = run_throttled_at("1", "http-date", "1", "1");
    assert!(rows.iter().all(|r| r["outcome"] == "ok"));
    let stats = tenant.stats();
    assert!(stats.throttled > 0, "the quota pushed back");
    let early = arrivals_before_retry_after(&stats, 900);
    assert!(early.is_empty(), "(429 at, arrival at) ms: {early:?}");
}

#[test]
fn a_429_with_an_http_date_or_no_header_still_applies_each_row_once() {
    for form in ["http-date", "absent"] {
        let (tenant, rows) = run_throttled(form, "2", "2");
        assert!(rows.iter().all(|r| r["outcome"] == "ok"), "{form}");
        let stats = tenant.stats();
        assert!(stats.throttled > 0, "{form}");
        assert_eq!(
            stats.applied_total("ds100-clear-pin"),
            rows.len() as u64,
            "{form}"
        );
        let summed: u64 = rows
            .iter()
            .map(|r| r["attempts"].parse::<u64>().unwrap())
            .sum();
        assert_eq!(summed, stats.requests, "{form}");
    }
}
