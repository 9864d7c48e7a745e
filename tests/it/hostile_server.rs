//! A tenant (or whatever sits in front of it) that answers in ways the
//! vendor's pages never promise: the real binary against the mock's
//! `--hostile` modes. Each run must end, report every row truthfully against
//! the ledger, and never follow the server off the tenant's host.

use crate::fixture::*;

/// Runs `ds100-clear-pin` on the sample file against a tenant started with
/// `flags`, returning the tenant, the process output and the result rows.
fn run_sample(
    flags: &[&str],
    extra: &[&str],
) -> (
    Tenant,
    std::process::Output,
    Vec<std::collections::HashMap<String, String>>,
) {
    let Scene { tenant, dir } = Scene::start(flags);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_op(&tenant, "ds100-clear-pin", &input, extra);
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), 7, "one result per input row: {}", stderr(&out));
    assert_ne!(code(&out), 101, "no panic: {}", stderr(&out));
    (tenant, out, rows)
}

/// A single-row input for the slow 429 cases, so backoff stays short.
fn run_one_row(
    flags: &[&str],
    extra: &[&str],
) -> (Tenant, std::collections::HashMap<String, String>) {
    let Scene { tenant, dir } = Scene::start(flags);
    let input = write(
        dir.path(),
        "one.csv",
        &format!("userId,tokenSerialNumber\n{USER},014010008038\n"),
    );
    let out = run_op(&tenant, "ds100-clear-pin", &input, extra);
    assert_exit(&out, 2);
    let mut rows = results(&results_path(&input));
    assert_eq!(rows.len(), 1);
    (tenant, rows.remove(0))
}

#[test]
fn an_html_page_with_200_is_a_failure_not_a_success() {
    let (tenant, out, rows) = run_sample(&["--hostile", "html-200"], &[]);
    assert_exit(&out, 2);
    for row in &rows {
        assert_eq!(row["outcome"], "failed", "{row:?}");
        assert_eq!(row["http_status"], "200");
        assert_eq!(row["attempts"], "1", "a sign-in page is not retried");
        assert!(row["message"].contains("HTML"), "{row:?}");
    }
    assert_eq!(tenant.stats().applied_total("ds100-clear-pin"), 0);
}

#[test]
fn a_body_cut_short_after_200_is_still_applied_and_reported_ok() {
    let (tenant, out, rows) = run_sample(&["--hostile", "truncated"], &[]);
    assert_exit(&out, 0);
    let stats = tenant.stats();
    for row in &rows {
        assert_eq!(row["outcome"], "ok", "{row:?}");
        assert_eq!(
            stats.applied_count("ds100-clear-pin", &row["tokenSerialNumber"]),
            1
        );
        assert!(row["detail"].contains("body unreadable"), "{row:?}");
    }
}

#[test]
fn a_two_gigabyte_body_is_read_only_up_to_the_cap() {
    let (tenant, out, rows) = run_sample(&["--hostile", "huge-length"], &["-j", "2"]);
    assert_exit(&out, 0);
    let stats = tenant.stats();
    for row in &rows {
        assert_eq!(row["outcome"], "ok", "{row:?}");
        assert_eq!(
            stats.applied_count("ds100-clear-pin", &row["tokenSerialNumber"]),
            1
        );
        assert!(row["detail"].chars().count() < 300, "{row:?}");
    }
}

#[test]
fn a_negative_retry_after_falls_back_to_backoff() {
    assert_falls_back_to_backoff("retry-after-negative");
}

#[test]
fn a_garbage_retry_after_falls_back_to_backoff() {
    assert_falls_back_to_backoff("retry-after-garbage");
}

/// A 429 whose `Retry-After` the `--hostile` mode spoils is retried after
/// ordinary backoff, up to the attempt bound.
fn assert_falls_back_to_backoff(mode: &str) {
    let (tenant, row) = run_one_row(&["--hostile", mode], &["--max-attempts", "5"]);
    assert_eq!(row["outcome"], "failed", "{mode}: {row:?}");
    assert_eq!(row["http_status"], "429", "{mode}");
    assert_eq!(row["attempts"], "5", "{mode}");
    assert!(
        row["message"].contains("gave up after 5 attempts"),
        "{row:?}"
    );
    let stats = tenant.stats();
    assert_eq!(stats.requests, 5, "{mode}");
    // Backoff draws the four waits from up to 1, 2, 4 and 8 seconds:
    // every retry landing within 250 ms of the 429 before it (about one
    // chance in 16,000) means the header was taken as "now".
    let prompt = stats
        .throttled_ms
        .iter()
        .zip(&stats.arrivals_ms[1..])
        .filter(|(throttled, arrival)| **arrival < **throttled + 250)
        .count();
    assert!(
        prompt < 4,
        "{mode}: arrivals {:?}, 429s {:?}",
        stats.arrivals_ms,
        stats.throttled_ms
    );
}

#[test]
fn a_huge_retry_after_is_cut_to_max_retry_after() {
    let (tenant, row) = run_one_row(
        &["--hostile", "retry-after-huge"],
        &["--max-attempts", "2", "--max-retry-after", "1"],
    );
    assert_eq!(row["outcome"], "failed", "{row:?}");
    assert_eq!(row["http_status"], "429");
    assert_eq!(row["attempts"], "2");
    let arrivals = tenant.stats().arrivals_ms;
    assert_eq!(arrivals.len(), 2);
    // The client waited the capped second (not zero, not three years).
    assert!(arrivals[1] - arrivals[0] >= 900, "{arrivals:?}");
}

#[test]
fn a_redirect_to_another_host_is_never_followed() {
    let elsewhere = Sink::start();
    let target = format!("http://127.0.0.1:{}", elsewhere.port);
    let (tenant, out, rows) = run_sample(
        &["--hostile", "redirect-offhost", "--redirect-to", &target],
        &[],
    );
    assert_exit(&out, 2);
    for row in &rows {
        assert_eq!(row["outcome"], "failed", "{row:?}");
        assert_eq!(row["http_status"], "307");
        assert!(
            row["message"].contains("redirects are not followed"),
            "{row:?}"
        );
    }
    assert_eq!(tenant.stats().applied_total("ds100-clear-pin"), 0);
    assert_eq!(elsewhere.connections(), 0, "nothing went to the other host");
    assert!(!contains_bytes(
        &elsewhere.received(),
        tenant.token().as_bytes()
    ));
}

#[test]
fn a_tenant_that_never_answers_cannot_hang_the_run() {
    let (tenant, row) = run_one_row(
        &["--slow-rate", "1", "--slow-ms", "60000"],
        &["--max-attempts", "2", "--timeout", "0.3"],
    );
    assert_eq!(row["outcome"], "failed", "{row:?}");
    assert_eq!(row["http_status"], "");
    assert_eq!(row["attempts"], "2");
    assert!(
        row["message"].contains("no answer within the timeout"),
        "{row:?}"
    );
    assert_eq!(tenant.stats().slow, 2);
}
