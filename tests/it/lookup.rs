//! Lookups end to end: files as admins have them (email addresses, device
//! serials) run through the real binary against the simulated tenant, with
//! the results checked against the tenant's ledger and request counts.

use std::collections::HashMap;

use crate::fixture::*;

const ALICE: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";
const BOB: &str = "ece30fe9-414c-7536-5403-0656220b3046";
const DAN: &str = "3f1c9a52-7d4e-4b8a-9c21-5e6f7a8b9c0d";

/// The sample tenant's user IDs, by lower-cased email.
fn user_ids() -> HashMap<String, String> {
    let seed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample("tenant.json")).unwrap()).unwrap();
    seed["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let email = u["email"].as_str().unwrap().to_lowercase();
            (email, u["id"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn count(map: &std::collections::BTreeMap<String, u64>, key: &str) -> u64 {
    map.get(key).copied().unwrap_or(0)
}

/// `run_op` with `--yes`: disable and delete ask for confirmation otherwise.
fn run_confirmed(
    tenant: &Tenant,
    op: &str,
    input: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = extra.to_vec();
    args.push("--yes");
    run_op(tenant, op, input, &args)
}

/// Runs `op` on `text` against a fresh sample tenant.
fn run_text(
    op: &str,
    text: &str,
    extra: &[&str],
) -> (
    std::process::Output,
    Vec<HashMap<String, String>>,
    securid_bulk::mock::Stats,
) {
    let Scene { tenant, dir } = Scene::sample();
    let input = write(dir.path(), "in.csv", text);
    let out = run_confirmed(&tenant, op, &input, extra);
    let path = match extra.iter().any(|a| a.starts_with("--dry-run")) {
        true => dry_run_path(&input),
        false => results_path(&input),
    };
    let rows = results(&path);
    (out, rows, tenant.stats())
}

#[test]
fn email_only_files_run_for_every_operation() {
    let ids = user_ids();
    for (op, file, key) in [
        (
            "ds100-clear-pin",
            "ds100-clear-pin-by-email.csv",
            "tokenSerialNumber",
        ),
        (
            "sid-clear-pin",
            "sid-clear-pin-by-email.csv",
            "tokenSerialNumber",
        ),
        (
            "ds100-disable",
            "ds100-delete-by-device.csv",
            "deviceSerialNumber",
        ),
        (
            "ds100-delete",
            "ds100-delete-by-device.csv",
            "resolved_tokenSerialNumber",
        ),
    ] {
        let Scene { tenant, dir } = Scene::sample();
        let input = copy_sample(dir.path(), file);
        let out = run_confirmed(&tenant, op, &input, &["-j", "4"]);
        assert_eq!(code(&out), 0, "{op}: {}", stderr(&out));
        let rows = results(&results_path(&input));
        assert!(!rows.is_empty());
        let stats = tenant.stats();
        for row in &rows {
            assert_eq!(row["outcome"], "ok", "{op}: {row:?}");
            assert_eq!(
                row["resolved_userId"],
                ids[&row["email"].to_lowercase()],
                "{op}: {row:?}"
            );
            assert_eq!(stats.applied_count(op, &row[key]), 1, "{op}: {row:?}");
        }
        assert_eq!(stats.applied_total(op), rows.len() as u64, "{op}");
        let distinct: std::collections::HashSet<String> =
            rows.iter().map(|r| r["email"].to_lowercase()).collect();
        assert_eq!(
            count(&stats.lookups, "email"),
            distinct.len() as u64,
            "{op}"
        );
        assert!(
            stderr(&out).contains(&format!("{} lookups", stats.requests - rows.len() as u64)),
            "{op}: the summary counts lookups apart: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_device_only_delete_finds_the_users_credential_on_a_shared_device() {
    let (out, rows, stats) = run_text(
        "ds100-delete",
        &format!("userId,deviceSerialNumber\n{BOB},140100080\n{DAN},140100081\n"),
        &[],
    );
    assert_exit(&out, 0);
    let tokens: Vec<&str> = rows
        .iter()
        .map(|r| r["resolved_tokenSerialNumber"].as_str())
        .collect();
    assert_eq!(tokens, ["014010008031", "014010008131"]);
    assert!(rows.iter().all(|r| r["resolved_userId"].is_empty()));
    assert_eq!(stats.applied_count("ds100-delete", "014010008031"), 1);
    assert_eq!(stats.applied_count("ds100-delete", "014010008038"), 0);
    assert_eq!(count(&stats.lookups, "device"), 2);
    assert_eq!(count(&stats.lookups, "email"), 0);
}

#[test]
fn an_unknown_email_fails_its_row_and_sends_no_operation() {
    let (out, rows, stats) = run_text(
        "ds100-clear-pin",
        "email,tokenSerialNumber\nnobody@acme.example,014010008038\nbob.nguyen@acme.example,014010008031\n",
        &[],
    );
    assert_exit(&out, 2);
    let unknown = &rows[0];
    assert_eq!(unknown["outcome"], "failed");
    assert_eq!(unknown["http_status"], "404");
    assert_eq!(unknown["attempts"], "1");
    assert!(
        unknown["message"].contains("no user with this email"),
        "{unknown:?}"
    );
    assert_eq!(unknown["resolved_userId"], "");
    assert_eq!(rows[1]["outcome"], "ok");
    assert_eq!(count(&stats.by_endpoint, "ds100-clear-pin"), 1);
    assert_eq!(stats.applied_count("ds100-clear-pin", "014010008038"), 0);
}

#[test]
fn a_device_of_someone_else_fails_naming_the_real_owners() {
    let (out, rows, stats) = run_text(
        "ds100-delete",
        "email,deviceSerialNumber\ndan.okafor@acme.example,140100080\n",
        &[],
    );
    assert_exit(&out, 2);
    let row = &rows[0];
    assert_eq!(row["outcome"], "failed");
    assert_eq!(row["resolved_userId"], DAN);
    assert_eq!(row["resolved_tokenSerialNumber"], "");
    for owner in [ALICE, BOB] {
        assert!(row["message"].contains(owner), "{row:?}");
    }
    assert_eq!(count(&stats.by_endpoint, "ds100-delete"), 0);
}

#[test]
fn a_repeated_email_is_looked_up_once() {
    let mut text = String::from("email,tokenSerialNumber\n");
    for serial in ["014010008038", "014010008039", "14010008038", "14010008039"] {
        text.push_str(&format!("Alice.Martin@acme.example,{serial}\n"));
    }
    text.push_str("alice.martin@ACME.example,000000000001\n");
    let (_, rows, stats) = run_text("ds100-clear-pin", &text, &["-j", "5"]);
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter().all(|r| r["resolved_userId"] == ALICE),
        "{rows:?}"
    );
    assert_eq!(count(&stats.by_endpoint, "users-lookup"), 1);
    assert_eq!(count(&stats.lookups, "email"), 1);
    let lookups_sent: u64 = rows
        .iter()
        .map(|r| r["attempts"].parse::<u64>().unwrap())
        .sum::<u64>()
        - count(&stats.by_endpoint, "ds100-clear-pin");
    assert_eq!(
        lookups_sent, 1,
        "one row carries the lookup in its attempts"
    );
}

#[test]
fn a_lookup_that_gives_up_fails_every_row_needing_it_without_asking_again() {
    let Scene { tenant, dir } = Scene::start(&["--fail-rate", "1"]);
    let input = write(
        dir.path(),
        "in.csv",
        "email,tokenSerialNumber\nbob.nguyen@acme.example,014010008031\nbob.nguyen@acme.example,014010008032\n",
    );
    let out = run_confirmed(
        &tenant,
        "ds100-clear-pin",
        &input,
        &["--max-attempts", "2", "-j", "1"],
    );
    assert_exit(&out, 2);
    let rows = results(&results_path(&input));
    for row in &rows {
        assert_eq!(row["outcome"], "failed", "{row:?}");
        assert_eq!(row["http_status"], "500", "{row:?}");
        assert!(
            row["message"].contains("gave up after 2 attempts"),
            "{row:?}"
        );
        assert!(
            row["message"].contains("looking up userId by email"),
            "{row:?}"
        );
    }
    let attempts: Vec<&str> = rows.iter().map(|r| r["attempts"].as_str()).collect();
    assert_eq!(attempts, ["2", "0"]);
    let stats = tenant.stats();
    assert_eq!(count(&stats.by_endpoint, "users-lookup"), 2);
    assert_eq!(count(&stats.by_endpoint, "ds100-clear-pin"), 0);
}

#[test]
fn a_dry_run_with_lookups_sends_only_lookups() {
    let text = format!(
        "userId,email,deviceSerialNumber\n,grace.hopper@acme.example,140100083\n,nobody@acme.example,140100085\n{BOB},ignored@acme.example,140100080\n,not-an-email,140100086\n"
    );
    let (out, rows, stats) = run_text("ds100-delete", &text, &["--dry-run=lookup"]);
    assert_exit(&out, 2);
    let outcomes: Vec<&str> = rows.iter().map(|r| r["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["valid", "failed", "valid", "invalid"]);
    assert_eq!(rows[0]["resolved_tokenSerialNumber"], "014010008331");
    assert_eq!(rows[1]["http_status"], "404");
    assert_eq!(
        rows[2]["resolved_userId"], "",
        "a given userId is used as is"
    );
    assert_eq!(rows[2]["resolved_tokenSerialNumber"], "014010008031");
    let endpoints: Vec<&str> = stats.by_endpoint.keys().map(String::as_str).collect();
    assert_eq!(endpoints, ["ds100-lookup", "users-lookup"], "{stats:?}");
    assert_eq!(count(&stats.by_endpoint, "users-lookup"), 2);
    for op in [
        "ds100-clear-pin",
        "sid-clear-pin",
        "ds100-disable",
        "ds100-delete",
    ] {
        assert_eq!(stats.applied_total(op), 0, "{op}");
    }
    assert_eq!(count(&stats.by_endpoint, "ds100-lookup"), 2);
    assert!(stderr(&out).contains("4 lookups"), "{}", stderr(&out));
}

#[test]
fn a_plain_dry_run_sends_nothing_even_for_emails() {
    let (out, rows, stats) = run_text(
        "ds100-delete",
        "email,deviceSerialNumber\ngrace.hopper@acme.example,140100083\n",
        &["--dry-run"],
    );
    assert_exit(&out, 0);
    assert_eq!(rows[0]["outcome"], "valid");
    assert_eq!(rows[0]["resolved_tokenSerialNumber"], "");
    assert_eq!(stats.requests, 0);
}

#[test]
fn offboarding_disables_then_deletes_from_one_file_of_emails_and_devices() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-delete-by-device.csv");
    let disabled = dir.path().join("disabled.csv");
    let deleted = dir.path().join("deleted.csv");
    for (op, output) in [("ds100-disable", &disabled), ("ds100-delete", &deleted)] {
        let out = run_confirmed(&tenant, op, &input, &["-o", output.to_str().unwrap()]);
        assert_eq!(code(&out), 0, "{op}: {}", stderr(&out));
        assert!(results(output).iter().all(|r| r["outcome"] == "ok"), "{op}");
    }
    let stats = tenant.stats();
    for row in results(&deleted) {
        assert_eq!(
            stats.applied_count("ds100-disable", &row["deviceSerialNumber"]),
            1
        );
        assert_eq!(
            stats.applied_count("ds100-delete", &row["resolved_tokenSerialNumber"]),
            1
        );
    }
}

#[test]
fn lookups_answered_429_wait_and_retry_like_any_request() {
    let Scene { tenant, dir } = Scene::start(&["--rate", "20", "--burst", "1"]);
    let input = copy_sample(dir.path(), "sid-clear-pin-by-email.csv");
    let out = run_confirmed(
        &tenant,
        "sid-clear-pin",
        &input,
        &["-j", "4", "--max-attempts", "30"],
    );
    assert_exit(&out, 0);
    let rows = results(&results_path(&input));
    assert!(rows.iter().all(|r| r["outcome"] == "ok"), "{rows:?}");
    let stats = tenant.stats();
    assert!(stats.throttled > 0, "the quota pushed back: {stats:?}");
    // Each 429 said one second (the mock never says less).
    let early = arrivals_before_retry_after(&stats, 1000);
    assert!(early.is_empty(), "(429 at, arrival at) ms: {early:?}");
    assert_eq!(count(&stats.lookups, "email"), rows.len() as u64);
    assert_eq!(stats.applied_total("sid-clear-pin"), rows.len() as u64);
}
