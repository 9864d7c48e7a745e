//! Plans end to end: `--plan` reads and changes nothing, `show` prints the
//! plan, `apply` sends exactly its changes once, skips a target that moved
//! since as stale, and refuses an edited, foreign or expired plan before
//! any request. Changes are counted by the simulated tenant's ledger.

use std::path::{Path, PathBuf};

use crate::fixture::*;

fn changes(tenant: &Tenant, op: &str) -> u64 {
    tenant
        .stats()
        .applied
        .get(op)
        .map_or(0, |by_key| by_key.values().sum())
}

/// One row of the DS100 disable sample, as a file of its own.
fn first_row_only(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(sample("ds100-disable.csv")).expect("sample");
    let mut lines = text.lines();
    let kept = format!(
        "{}\n{}\n",
        lines.next().expect("header"),
        lines.next().expect("row")
    );
    write(dir, "one.csv", &kept)
}

/// Disables the credential of the sample's first row, as someone else
/// would, outside the plan.
fn disable_first_row(tenant: &Tenant, dir: &Path) {
    let out = run_op(tenant, "ds100-disable", &first_row_only(dir), &["--yes"]);
    assert_exit(&out, 0);
}

#[test]
fn a_plan_changes_nothing_and_shows_every_row() {
    let Scene { tenant, dir } = Scene::sample();
    let (plan, out) = planned_sample(&tenant, dir.path(), "ds100-disable");
    assert!(
        stderr(&out).contains("Plan: 3 to disable, 0 already disabled, 0 cannot be done."),
        "{}",
        stderr(&out)
    );
    let stats = tenant.stats();
    assert!(
        stats.applied.values().all(|by_key| by_key.is_empty()),
        "{:?}",
        stats.applied
    );
    assert!(stats.lookups.values().sum::<u64>() >= 3, "each state read");
    // A plan is a dry run: its results never take the real run's name.
    let input = plan.with_extension("csv");
    assert!(dry_run_path(&input).exists());
    assert!(!results_path(&input).exists());
    let shown = bin().arg("show").arg(&plan).output().expect("runs");
    assert_exit(&shown, 0);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains(&format!("tenant     {}", tenant_of(&tenant))),
        "{text}"
    );
    assert_eq!(text.matches("change     PATCH").count(), 3, "{text}");
    let csv = bin()
        .args(["show", "--format", "csv"])
        .arg(&plan)
        .output()
        .expect("runs");
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(
        csv.starts_with("line,userId,deviceSerialNumber,ticket,userId"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

fn tenant_of(tenant: &Tenant) -> String {
    tenant.url().trim_end_matches('/').to_owned()
}

#[test]
fn apply_sends_each_change_once_and_never_a_no_op() {
    let Scene { tenant, dir } = Scene::sample();
    // One credential is disabled before the plan: the plan finds it done.
    disable_first_row(&tenant, dir.path());
    let (plan, out) = planned_sample(&tenant, dir.path(), "ds100-disable");
    assert!(
        stderr(&out).contains("Plan: 2 to disable, 1 already disabled"),
        "{}",
        stderr(&out)
    );
    assert_eq!(changes(&tenant, "ds100-disable"), 1);
    let out = apply(&tenant, &plan, &[]);
    assert_exit(&out, 0);
    let ledger = tenant.stats().applied["ds100-disable"].clone();
    assert_eq!(ledger.values().sum::<u64>(), 3, "{ledger:?}");
    assert!(ledger.values().all(|n| *n == 1), "each once: {ledger:?}");
    let rows = results(&plan.with_extension("applied.csv"));
    assert_eq!(count(&rows, "ok"), 2, "{rows:?}");
    assert_eq!(count(&rows, "skipped"), 1, "{rows:?}");
}

#[test]
fn a_target_that_moved_since_the_plan_is_skipped_as_stale() {
    let Scene { tenant, dir } = Scene::sample();
    let (plan, _) = planned_sample(&tenant, dir.path(), "ds100-disable");
    // Someone disables one credential between the plan and the apply.
    disable_first_row(&tenant, dir.path());
    let out = apply(&tenant, &plan, &[]);
    assert_exit(&out, 0);
    let rows = results(&plan.with_extension("applied.csv"));
    let stale: Vec<_> = rows.iter().filter(|r| r["outcome"] == "skipped").collect();
    assert_eq!(stale.len(), 1, "{rows:?}");
    assert_eq!(stale[0]["line"], "2");
    let message = &stale[0]["message"];
    assert!(message.contains("stale"), "{message}");
    assert!(message.contains("tokenStatus=Enabled"), "then: {message}");
    assert!(message.contains("tokenStatus=Disabled"), "now: {message}");
    let ledger = tenant.stats().applied["ds100-disable"].clone();
    assert!(ledger.values().all(|n| *n == 1), "never twice: {ledger:?}");
}

/// A refused apply names its reason and sends nothing.
fn assert_refused(tenant: &Tenant, out: &std::process::Output, before: u64, reason: &str) {
    assert_exit(out, 1);
    assert!(stderr(out).contains(reason), "{}", stderr(out));
    assert_eq!(tenant.stats().requests, before, "nothing sent");
}

#[test]
fn an_edited_expired_or_foreign_plan_is_refused_with_nothing_sent() {
    let Scene { tenant, dir } = Scene::sample();
    let (plan, _) = planned_sample(&tenant, dir.path(), "ds100-disable");
    let before = tenant.stats().requests;

    let expired = apply(&tenant, &plan, &["--max-age", "0s"]);
    assert_refused(&tenant, &expired, before, "longer than --max-age");

    let other = Tenant::start(&[]);
    let foreign = apply(&tenant, &plan, &["--base-url", &other.url()]);
    assert_refused(
        &tenant,
        &foreign,
        before,
        "a plan is applied only to the tenant",
    );
    assert_eq!(other.stats().requests, 0);
    let simulated = bin()
        .args(["apply", "--yes", "--force", "--mock"])
        .arg(&plan)
        .output()
        .expect("runs");
    assert_refused(
        &tenant,
        &simulated,
        before,
        "this run would send to the simulated tenant",
    );

    let text = std::fs::read_to_string(&plan).expect("plan");
    let edited = dir.path().join("edited.plan");
    std::fs::write(&edited, text.replacen("140100085", "140100083", 2)).expect("write");
    let out = apply(&tenant, &edited, &[]);
    assert_refused(
        &tenant,
        &out,
        before,
        "the plan changed after it was written",
    );
    assert_eq!(changes(&tenant, "ds100-disable"), 0);
}

#[test]
fn a_file_of_users_stands_for_each_credential_they_hold() {
    let Scene { tenant, dir } = Scene::sample();
    let input = write(
        dir.path(),
        "people.csv",
        "email\nalice.martin@acme.example\nbob.nguyen@acme.example\ncarol.smith@acme.example\n",
    );
    let out = run_op(&tenant, "ds100-clear-pin", &input, &[]);
    assert_exit(&out, 2);
    let ledger = tenant.stats().applied["ds100-clear-pin"].clone();
    let touched: Vec<&str> = ledger.keys().map(String::as_str).collect();
    assert_eq!(touched, ["014010008031", "014010008038", "014010008039"]);
    let rows = results(&results_path(&input));
    assert_eq!(rows[0]["outcome"], "ok", "{rows:?}");
    for serial in ["014010008038", "014010008039"] {
        assert!(rows[0]["message"].contains(serial), "{rows:?}");
    }
    assert_eq!(rows[2]["outcome"], "failed");
    assert!(rows[2]["message"].contains("holds no DS100 credential"));

    let (plan, out) = make_plan(&tenant, "ds100-disable", &input);
    assert!(
        stderr(&out).contains(
            "Plan: 2 to disable, 0 already disabled, 1 cannot be done (1 no such credential)."
        ),
        "{}",
        stderr(&out)
    );
    let out = apply(&tenant, &plan, &[]);
    assert_exit(&out, 0);
    assert_eq!(changes(&tenant, "ds100-disable"), 2);
}

#[test]
fn a_dry_run_with_lookups_checks_who_holds_the_credential() {
    let Scene { tenant, dir } = Scene::sample();
    // 1231314525 is Carol's SID700 token, not Alice's.
    let input = write(
        dir.path(),
        "own.csv",
        "email,tokenSerialNumber\nalice.martin@acme.example,1231314525\ncarol.smith@acme.example,1231314525\n",
    );
    let out = run_op(&tenant, "sid-clear-pin", &input, &["--dry-run=lookup"]);
    assert_exit(&out, 2);
    let rows = results(&dry_run_path(&input));
    assert_eq!(rows[0]["outcome"], "failed", "{rows:?}");
    assert!(rows[0]["message"].contains("not this user's"), "{rows:?}");
    assert_eq!(rows[1]["outcome"], "valid", "{rows:?}");
    assert_eq!(tenant.stats().applied_total("sid-clear-pin"), 0);
}

/// A new ed25519 key pair without a passphrase; returns the private key.
fn keygen(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    path
}

fn signer_line(principal: &str, key: &Path) -> String {
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    let fields: Vec<&str> = public.split_whitespace().take(2).collect();
    format!("{principal} {}", fields.join(" "))
}

fn approve(plan: &Path, key: &Path) -> std::process::Output {
    bin()
        .arg("approve")
        .arg(plan)
        .arg("--key")
        .arg(key)
        .output()
        .expect("runs")
}

#[test]
fn apply_needs_its_profiles_approvals_from_distinct_listed_principals() {
    let Scene { tenant, dir } = Scene::sample();
    let (plan, _) = planned_sample(&tenant, dir.path(), "ds100-disable");
    let (alice, bob, mallory) = (
        keygen(dir.path(), "alice"),
        keygen(dir.path(), "bob"),
        keygen(dir.path(), "mallory"),
    );
    let signers = write(
        dir.path(),
        "allowed_signers",
        &format!(
            "{}\n{}\n",
            signer_line("alice@acme.example", &alice),
            signer_line("bob@acme.example", &bob)
        ),
    );
    let config = write(
        dir.path(),
        "config.toml",
        &format!(
            "[profiles.prod]\nbase-url = \"{}\"\nrate = 0\napprovals = 2\nallowed-signers = \"{}\"\n",
            tenant.url(),
            signers.display()
        ),
    );
    let apply_with = |extra: &[&str]| {
        bin()
            .args(["apply", "--yes", "--force", "--profile", "prod", "--config"])
            .arg(&config)
            .arg(&plan)
            .args(extra)
            .env("SECURID_TOKEN", tenant.token())
            .output()
            .expect("runs")
    };
    let apply_with_profile = || apply_with(&[]);
    let before = tenant.stats().requests;
    let out = apply_with_profile();
    assert_refused(&tenant, &out, before, "0 valid approval(s)");

    // Alice twice and a key nobody listed: one approval, not two.
    for key in [&alice, &alice, &mallory] {
        assert_exit(&approve(&plan, key), 0);
    }
    let out = apply_with_profile();
    assert_refused(&tenant, &out, before, "1 valid approval(s)");
    let text = stderr(&out);
    assert!(text.contains("has already approved"), "{text}");
    assert!(text.contains("signature 3"), "{text}");

    assert_exit(&approve(&plan, &bob), 0);
    let (csv, summary) = (
        dir.path().join("applied.csv"),
        dir.path().join("summary.json"),
    );
    let out = apply_with(&[
        "-o",
        csv.to_str().expect("utf-8 path"),
        "--summary-json",
        summary.to_str().expect("utf-8 path"),
    ]);
    assert_exit(&out, 0);
    let text = stderr(&out);
    assert!(
        text.contains("approved by alice@acme.example, bob@acme.example"),
        "{text}"
    );
    assert!(
        text.contains("  approved by: alice@acme.example, bob@acme.example"),
        "the summary names them: {text}"
    );
    assert_eq!(changes(&tenant, "ds100-disable"), 3);
    let approvers = ["alice@acme.example", "bob@acme.example"];
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary")).expect("json");
    assert_eq!(json["approved_by"], serde_json::json!(approvers));
    let rows = results(&csv);
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!(row["approved_by"], approvers.join("; "), "{row:?}");
    }

    // Again, as JSON Lines: the changes are done, yet every line still
    // names who approved the plan it comes from.
    let jsonl = dir.path().join("applied.jsonl");
    apply_with(&[
        "--format",
        "jsonl",
        "-o",
        jsonl.to_str().expect("utf-8 path"),
    ]);
    let text = std::fs::read_to_string(&jsonl).expect("results");
    assert_eq!(text.lines().count(), rows.len());
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("json line");
        assert_eq!(row["approved_by"], serde_json::json!(approvers), "{row}");
    }
}

/// A plan's own run is a dry run: its rows go to `<stem>.dry-run.csv`, so
/// the `apply` it suggests writes `<stem>.results.csv` without `--force`.
#[test]
fn a_plan_leaves_the_results_name_to_its_apply() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-disable.csv");
    let plan = dir.path().join("ds100-disable.plan");
    let planned = bin()
        .arg("ds100-disable")
        .arg(&input)
        .args(["--base-url", &tenant.url(), "--rate", "0", "--plan"])
        .arg(&plan)
        .env("SECURID_TOKEN", tenant.token())
        .output()
        .expect("binary runs");
    assert_exit(&planned, 0);
    assert!(dir.path().join("ds100-disable.dry-run.csv").exists());
    assert!(!dir.path().join("ds100-disable.results.csv").exists());
    let applied = bin()
        .arg("apply")
        .arg(&plan)
        .args(["--rate", "0", "--yes"])
        .env("SECURID_TOKEN", tenant.token())
        .output()
        .expect("binary runs");
    assert_exit(&applied, 0);
    assert!(dir.path().join("ds100-disable.results.csv").exists());
    assert_eq!(changes(&tenant, "ds100-disable"), 3);
}

#[test]
fn a_resumed_apply_skips_the_rows_an_earlier_apply_did() {
    let Scene { tenant, dir } = Scene::sample();
    let (plan, _) = planned_sample(&tenant, dir.path(), "ds100-disable");
    let first = apply(&tenant, &plan, &["--limit", "1"]);
    assert_exit(&first, 2);
    assert_eq!(changes(&tenant, "ds100-disable"), 1);
    let earlier = dir.path().join("first.applied.csv");
    std::fs::rename(plan.with_extension("applied.csv"), &earlier).expect("rename");

    let resumed = apply(&tenant, &plan, &["--resume", earlier.to_str().unwrap()]);
    assert_exit(&resumed, 0);
    assert_eq!(changes(&tenant, "ds100-disable"), 3, "each change once");
    let rows = results(&plan.with_extension("applied.csv"));
    let skipped: Vec<&Row> = rows.iter().filter(|r| r["outcome"] == "skipped").collect();
    assert_eq!(skipped.len(), 1, "{rows:?}");
    assert!(
        skipped[0]["message"].contains("done in an earlier run (")
            && skipped[0]["message"].contains("first.applied.csv line "),
        "{rows:?}"
    );
    assert_eq!(count(&rows, "ok"), 2, "{rows:?}");
}
