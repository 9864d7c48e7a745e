//! Truth under faults: every operation against a tenant that fails 10% of
//! requests with 500, drops 5% of connections, answers 3% only after the
//! client's timeout, and jitters the rest, over several fault seeds. The
//! results CSV is then compared with the tenant's ledger row by row: no row
//! missing or doubled, every `ok` row applied, no row applied more often
//! than it was sent, every `failed` row with its last status and a message.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::fixture::*;
use securid_bulk::mock::{export_csv, MockOptions};

type Row = HashMap<String, String>;

const USERS: &str = "20";
const SEEDS: [u64; 3] = [11, 22, 33];
/// Rows taken from the exported file, so each run stays small.
const ROWS: usize = 20;
/// A serial no tenant has: its rows must fail with a final refusal.
const UNKNOWN_SERIAL: &str = "999999999999";

/// The exported CSV for `op`, cut to [`ROWS`] rows, plus one row naming a
/// serial the tenant does not have.
fn input_for(op: &str, users_seed: u64, dir: &Path) -> PathBuf {
    let export = dir.join("export");
    let opts = MockOptions {
        users: Some(USERS.parse().unwrap()),
        seed: users_seed,
        export_csv: Some(export.clone()),
        ..MockOptions::sample()
    };
    export_csv(&opts).expect("export");
    let text = std::fs::read_to_string(export.join(format!("{op}.csv"))).unwrap();
    let mut lines: Vec<String> = text.lines().take(ROWS + 1).map(str::to_owned).collect();
    assert!(lines.len() > 4, "{op}: the generated tenant has rows");
    let header: Vec<&str> = lines[0].split(',').collect();
    let unknown: Vec<&str> = lines[1]
        .split(',')
        .zip(&header)
        .map(|(cell, column)| {
            if column.ends_with("SerialNumber") {
                UNKNOWN_SERIAL
            } else {
                cell
            }
        })
        .collect();
    lines.push(unknown.join(","));
    write(dir, &format!("{op}.csv"), &(lines.join("\n") + "\n"))
}

fn run_under_faults(op: &str, seed: u64) -> securid_bulk::mock::Stats {
    let seed_text = seed.to_string();
    let Scene { tenant, dir } = Scene::start(&[
        "--users",
        USERS,
        "--seed",
        &seed_text,
        "--fault-seed",
        &seed_text,
        "--fail-rate",
        "0.1",
        "--reset-rate",
        "0.05",
        "--slow-rate",
        "0.03",
        "--slow-ms",
        "1500",
        "--jitter-ms",
        "5",
    ]);
    let input = input_for(op, seed, dir.path());
    let out = run_op(
        &tenant,
        op,
        &input,
        &[
            "-j",
            "4",
            "--timeout",
            "0.5",
            "--max-attempts",
            "4",
            "-q",
            "--yes",
        ],
    );
    let context = format!("{op} seed {seed}");
    assert_eq!(code(&out), 2, "{context}: {}", stderr(&out));
    let results_file = results_path(&input);
    let rows = results(&results_file);
    let input_rows = csv::Reader::from_path(&input).unwrap().records().count();
    every_row_once(&rows, input_rows, &context);
    agrees_with_ledger(&tenant, op, &rows, &context);
    let token = tenant.token();
    assert!(!stderr(&out).contains(&token), "{context}: token in stderr");
    let written = std::fs::read(&results_file).unwrap();
    assert!(!contains_bytes(&written, token.as_bytes()), "{context}");
    tenant.stats()
}

/// Runs `op` under every seed and checks the faults really happened.
fn run_all_seeds(op: &str) {
    let seen: Vec<_> = SEEDS
        .iter()
        .map(|seed| run_under_faults(op, *seed))
        .collect();
    let total = |count: fn(&securid_bulk::mock::Stats) -> u64| seen.iter().map(count).sum::<u64>();
    assert!(
        total(|s| s.injected_failures) > 0,
        "{op}: no 500 was injected"
    );
    // Each is rare on its own; together they are all but certain to occur.
    assert!(
        total(|s| s.resets) + total(|s| s.slow) > 0,
        "{op}: no connection dropped and no answer too late"
    );
}

/// Lines 2 to n+1, each exactly once, each with an outcome.
fn every_row_once(rows: &[Row], input_rows: usize, context: &str) {
    assert_eq!(rows.len(), input_rows, "{context}: one result per row");
    let lines: BTreeSet<u64> = rows.iter().map(|r| r["line"].parse().unwrap()).collect();
    let expected: BTreeSet<u64> = (2..2 + input_rows as u64).collect();
    assert_eq!(lines, expected, "{context}: no row missing or doubled");
    for row in rows {
        assert!(
            matches!(row["outcome"].as_str(), "ok" | "failed"),
            "{context}: {row:?}"
        );
    }
}

fn agrees_with_ledger(tenant: &Tenant, op: &str, rows: &[Row], context: &str) {
    let stats = tenant.stats();
    let column = ledger_column(op);
    // Several rows may share a ledger key (one device, several users).
    let mut attempts_by_key: HashMap<&str, u64> = HashMap::new();
    for row in rows {
        *attempts_by_key.entry(row[column].as_str()).or_default() +=
            row["attempts"].parse::<u64>().unwrap();
        let applied = stats.applied_count(op, &row[column]);
        match row["outcome"].as_str() {
            "ok" => {
                assert!(applied >= 1, "{context}: ok but never applied: {row:?}");
                assert_eq!(row["http_status"], "200", "{context}: {row:?}");
            }
            _ => failed_row_is_explained(row, context),
        }
        if row[column] == UNKNOWN_SERIAL {
            assert_eq!(row["outcome"], "failed", "{context}: {row:?}");
            assert_eq!(applied, 0, "{context}");
        }
    }
    for (key, attempts) in &attempts_by_key {
        let applied = stats.applied_count(op, key);
        assert!(
            applied <= *attempts,
            "{context}: {key} applied {applied} times in {attempts} attempts"
        );
    }
    let in_input: u64 = attempts_by_key
        .keys()
        .map(|key| stats.applied_count(op, key))
        .sum();
    assert_eq!(
        stats.applied_total(op),
        in_input,
        "{context}: nothing applied that the input did not name"
    );
}

/// A failed row names its last status in the message (or, with no status,
/// says the tenant did not answer) and says how many attempts it took.
fn failed_row_is_explained(row: &Row, context: &str) {
    let attempts: u32 = row["attempts"].parse().unwrap();
    let message = &row["message"];
    assert!((1..=4).contains(&attempts), "{context}: {row:?}");
    if row["http_status"].is_empty() {
        assert!(
            message.contains("no answer") || message.contains("cannot reach"),
            "{context}: {row:?}"
        );
    } else {
        assert!(message.contains(&row["http_status"]), "{context}: {row:?}");
    }
}

#[test]
fn ds100_clear_pin_under_faults_matches_the_ledger() {
    run_all_seeds("ds100-clear-pin");
}

#[test]
fn sid_clear_pin_under_faults_matches_the_ledger() {
    run_all_seeds("sid-clear-pin");
}

#[test]
fn ds100_disable_under_faults_matches_the_ledger() {
    run_all_seeds("ds100-disable");
}

#[test]
fn ds100_delete_under_faults_matches_the_ledger() {
    run_all_seeds("ds100-delete");
}
