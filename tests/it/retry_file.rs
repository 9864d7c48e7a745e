//! The retry file holds exactly the rows not done, in input order, for
//! every way a row can end: ok and skipped rows are left out; rows failed
//! for good (a 404), failed after the last retry (5xx, 429, a dropped
//! connection), invalid or not attempted are in it.

use std::path::Path;

use crate::fixture::*;

const U1: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";
const U2: &str = "ece30fe9-414c-7536-5403-0656220b3046";

/// Runs `input` against a tenant started with `tenant_flags`; checks the
/// retry file holds exactly the input lines whose outcome needs attention,
/// and returns the results.
fn run_and_check_retry(tenant_flags: &[&str], input_text: &str, extra: &[&str]) -> Vec<Row> {
    let tenant = Tenant::start(tenant_flags);
    let dir = temp_dir();
    let input = write(dir.path(), "rows.csv", input_text);
    let mut args = vec!["-j", "1", "--max-attempts", "2", "--yes"];
    args.extend_from_slice(extra);
    let out = run_op(&tenant, "ds100-clear-pin", &input, &args);
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), input_rows(&input), "{}", stderr(&out));
    let lines: Vec<&str> = input_text.lines().collect();
    let mut expected = vec![lines[0].to_owned()];
    for row in &rows {
        let to_do = matches!(
            row["outcome"].as_str(),
            "failed" | "invalid" | "not_attempted"
        );
        if to_do {
            let n: usize = row["line"].parse().unwrap();
            expected.push(lines[n - 1].to_owned());
        }
    }
    let retry = retry_lines(&dir.path().join("rows.retry.csv"));
    assert_eq!(retry, expected, "{rows:?}");
    rows
}

fn retry_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(without_retry_record)
        .collect()
}

fn outcomes(rows: &[Row]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| (r["outcome"].clone(), r["http_status"].clone()))
        .collect()
}

#[test]
fn ok_skipped_permanent_failures_invalid_and_not_attempted_rows() {
    let text = format!(
        "userId,tokenSerialNumber\n\
         {U1},014010008038\n\
         {U1},014010008038\n\
         00000000-0000-4000-8000-000000000000,014010008039\n\
         {U1},not-a-serial\n\
         {U2},014010008031\n"
    );
    let rows = run_and_check_retry(&[], &text, &["--limit", "2"]);
    let seen = outcomes(&rows);
    for outcome in ["ok", "skipped", "failed", "invalid", "not_attempted"] {
        assert!(
            seen.iter().any(|(o, _)| o == outcome),
            "{outcome}: {seen:?}"
        );
    }
}

/// Every row fails after its last attempt in a way worth retrying.
fn retryable(tenant_flags: &[&str], status: &str) {
    let text = format!(
        "userId,tokenSerialNumber\n\
         {U1},014010008038\n\
         {U2},014010008031\n"
    );
    let rows = run_and_check_retry(tenant_flags, &text, &[]);
    let seen = outcomes(&rows);
    assert!(
        seen.iter().all(|(o, s)| o == "failed" && s == status),
        "{seen:?}"
    );
}

#[test]
fn rows_failed_with_a_server_error_after_the_last_attempt() {
    retryable(&["--fail-rate", "1"], "500");
}

#[test]
fn rows_still_throttled_after_the_last_attempt() {
    retryable(&["--hostile", "retry-after-garbage"], "429");
}

#[test]
fn rows_whose_connection_dropped_on_the_last_attempt() {
    retryable(&["--reset-rate", "1"], "");
}
