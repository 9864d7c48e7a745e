//! The adaptive rate end to end: the real binary against a simulated tenant
//! with a small quota, over loopback HTTP. Figures about speed belong to the
//! benchmark (`scripts/bench.sh`); these check behaviour: every row still
//! done, the rate backed off below a ceiling that is too high, and the
//! settled rate reported.

use std::path::{Path, PathBuf};

use crate::fixture::*;

const USERS: &str = "60";
const SEED: &str = "7";
/// The tenant's quota in requests per second, with a burst of five.
const QUOTA: f64 = 40.0;

fn quota_tenant() -> Tenant {
    tenant_with_quota(&["--burst", "5"])
}

/// A tenant of [`USERS`] users whose quota is [`QUOTA`], shaped by `shape`.
fn tenant_with_quota(shape: &[&str]) -> Tenant {
    let quota = QUOTA.to_string();
    let mut args = vec!["--users", USERS, "--seed", SEED, "--rate", &quota];
    args.extend_from_slice(shape);
    Tenant::start(&args)
}

/// The clear-PIN rows that match the generated tenant.
fn clear_pin_rows(dir: &Path) -> PathBuf {
    let export = dir.join("export");
    let out = bin()
        .args(["mock", "--users", USERS, "--seed", SEED, "--export-csv"])
        .arg(&export)
        .output()
        .expect("binary runs");
    assert_exit(&out, 0);
    export.join("ds100-clear-pin.csv")
}

fn summary(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("summary written"))
        .expect("summary is JSON")
}

/// Like `run_op`, which pins `--rate 0`, but at `rate`.
fn run_with_rate(tenant: &Tenant, input: &Path, rate: &str, json: &Path) -> std::process::Output {
    bin()
        .arg("ds100-clear-pin")
        .arg(input)
        .args([
            "--base-url",
            &tenant.url(),
            "--rate",
            rate,
            "--force",
            "-j",
            "8",
        ])
        .arg("--summary-json")
        .arg(json)
        .env("SECURID_TOKEN", tenant.token())
        .output()
        .expect("binary runs")
}

fn run_at(rate: &str) -> (std::process::Output, serde_json::Value, usize) {
    let tenant = quota_tenant();
    let dir = temp_dir();
    let input = clear_pin_rows(dir.path());
    let json = dir.path().join("summary.json");
    let out = run_with_rate(&tenant, &input, rate, &json);
    let rows = results(&results_path(&input));
    assert!(rows.iter().all(|r| r["outcome"] == "ok"), "{rows:?}");
    let summary = summary(&json);
    assert_eq!(summary["throttled"], tenant.stats().throttled);
    (out, summary, rows.len())
}

#[test]
fn auto_finds_a_rate_the_tenant_accepts_and_reports_it() {
    let (out, summary, rows) = run_at("auto");
    assert_exit(&out, 0);
    assert_eq!(summary["outcomes"]["ok"], rows as u64);
    let settled = summary["settled_rate"]
        .as_f64()
        .expect("auto reports a rate");
    assert!(settled > 0.0 && settled < 2.0 * QUOTA, "{settled}");
    assert!(stderr(&out).contains("settled rate:"), "{}", stderr(&out));
}

#[test]
fn a_fixed_rate_above_the_quota_is_backed_off_below_it() {
    let (out, summary, _) = run_at("400");
    assert_exit(&out, 0);
    assert!(summary["throttled"].as_u64().unwrap() > 0, "{summary}");
    let settled = summary["settled_rate"]
        .as_f64()
        .expect("a 429 makes it adapt");
    assert!(settled < 400.0 * 0.85, "{settled}");
}

#[test]
fn a_fixed_rate_the_tenant_never_refuses_reports_no_settled_rate() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let json = dir.path().join("summary.json");
    let out = run_with_rate(&tenant, &input, "50", &json);
    assert_exit(&out, 0);
    let summary = summary(&json);
    assert_eq!(summary["throttled"], 0);
    assert!(summary["settled_rate"].is_null(), "{summary}");
}

/// A tenant whose quota has a burst of two and whose `Retry-After` is whole
/// seconds, so every 429 asks for a full second's wait.
fn small_burst_tenant() -> Tenant {
    tenant_with_quota(&["--burst", "2", "--retry-after", "seconds"])
}

fn run_jobs(tenant: &Tenant, input: &Path, rate: &str, jobs: &str) -> std::process::Output {
    bin()
        .arg("ds100-clear-pin")
        .arg(input)
        .args(["--base-url", &tenant.url(), "--rate", rate, "--force"])
        .args(["-j", jobs, "-q"])
        .env("SECURID_TOKEN", tenant.token())
        .output()
        .expect("binary runs")
}

#[test]
fn whole_second_retry_after_is_waited_out_and_fails_no_row() {
    for (rate, jobs) in [("80", "1"), ("auto", "8")] {
        let tenant = small_burst_tenant();
        let dir = temp_dir();
        let input = clear_pin_rows(dir.path());
        let out = run_jobs(&tenant, &input, rate, jobs);
        assert_exit(&out, 0);
        let rows = results(&results_path(&input));
        assert!(rows.iter().all(|r| r["outcome"] == "ok"), "{rows:?}");
        let stats = tenant.stats();
        assert!(stats.throttled > 0, "the quota was reached: {stats:?}");
        // Only requests already on their way when a 429 left (at most one
        // per other worker) may arrive before its Retry-After has ended.
        let workers: u64 = jobs.parse().unwrap();
        assert!(
            stats.inside_retry_after <= stats.throttled * (workers - 1),
            "--rate {rate} -j {jobs}: {} arrived inside a Retry-After, {} 429s",
            stats.inside_retry_after,
            stats.throttled
        );
    }
}
