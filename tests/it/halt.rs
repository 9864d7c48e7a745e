//! A halt (Ctrl-C, a threshold, the credentials breaker) stops every row
//! that is not yet on the wire, wherever it waits: for its pacer slot, at
//! the 429 gate or in a retry's backoff. The tenant's request count says
//! what was sent after the halt.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::fixture::*;

/// Polls the tenant (at most 30 s) until `ready` holds; the request count
/// then.
fn wait_at_tenant(tenant: &Tenant, child: &mut Child, ready: impl Fn(&Tenant) -> bool) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready(tenant) {
        assert!(Instant::now() < deadline, "the tenant never got there");
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    tenant.stats().requests
}

fn interrupt(child: &Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Every row has its line; rows kept off the wire say so, with no attempt.
fn assert_accounted(input: &Path, not_attempted_because: &str) -> Vec<Row> {
    let rows = results(&results_path(input));
    assert_eq!(rows.len(), input_rows(input), "every row accounted for");
    for row in rows.iter().filter(|r| r["outcome"] == "not_attempted") {
        assert_eq!(row["attempts"], "0", "{row:?}");
        assert!(row["message"].contains(not_attempted_because), "{row:?}");
    }
    rows
}

#[test]
fn ctrl_c_at_a_slow_rate_with_many_workers_sends_only_what_is_on_the_wire() {
    let dir = temp_dir();
    let (tenant, input) = generated(&[], "40", dir.path());
    let mut child = spawn_op(
        &tenant,
        &input,
        &tenant.token(),
        &["-j", "64", "--rate", "1"],
    );
    let seen = wait_at_tenant(&tenant, &mut child, |t| t.stats().requests >= 2);
    let signalled = Instant::now();
    interrupt(&child);
    let (exit, text) = finish(child);
    // Workers waiting for a slot stop at once, not one slot a second: the
    // 38 rows left would take 38 s.
    let stopping = signalled.elapsed();
    assert!(
        stopping < Duration::from_secs(5),
        "stopped after {stopping:?}"
    );
    assert_eq!(exit, Some(130), "{text}");
    let sent = tenant.stats().requests;
    // At one request a second, at most one more can have been on its way.
    assert!(sent <= seen + 1, "{sent} requests after {seen} at Ctrl-C");
    let rows = assert_accounted(&input, "interrupted");
    assert_eq!(count(&rows, "ok") as u64, sent);
    assert_eq!(count(&rows, "not_attempted"), rows.len() - sent as usize);
}

#[test]
fn refused_credentials_at_a_slow_rate_stop_workers_waiting_for_their_slot() {
    let dir = temp_dir();
    let (tenant, input) = generated(&[], "16", dir.path());
    let child = spawn_op(
        &tenant,
        &input,
        "not-the-token",
        &["-j", "16", "--rate", "2"],
    );
    let (exit, text) = finish(child);
    assert_eq!(exit, Some(1), "{text}");
    assert!(text.contains("credentials are wrong"), "{text}");
    let stats = tenant.stats();
    // Three refusals trip the breaker; at two a second, one more at most
    // can be on the wire by then.
    assert!(stats.requests <= 3 + 1, "{} requests", stats.requests);
    let rows = assert_accounted(&input, "credentials are wrong");
    assert_eq!(count(&rows, "failed") as u64, stats.requests);
}

#[test]
fn ctrl_c_during_a_long_retry_after_sends_nothing_more() {
    let dir = temp_dir();
    // One request through, then a quota that refills in 50 s.
    let (tenant, input) = generated(&["--rate", "0.02", "--burst", "1"], "16", dir.path());
    let mut child = spawn_op(
        &tenant,
        &input,
        &tenant.token(),
        &["-j", "2", "--rate", "0"],
    );
    let seen = wait_at_tenant(&tenant, &mut child, |t| t.stats().throttled >= 1);
    interrupt(&child);
    let (exit, text) = finish(child);
    assert_eq!(exit, Some(130), "{text}");
    let stats = tenant.stats();
    // The second worker's row may have been on the wire at the signal.
    assert!(
        stats.requests <= seen + 1,
        "{} requests after {seen} at Ctrl-C",
        stats.requests
    );
    let rows = assert_accounted(&input, "interrupted");
    for row in rows.iter().filter(|r| r["outcome"] == "failed") {
        assert_eq!(row["http_status"], "429", "{row:?}");
        assert!(row["message"].contains("not retried"), "{row:?}");
    }
}
