//! `--verify` end to end: every operation's change read back through its
//! lookup, and a tenant that answers 200 without applying the change
//! (`--drop-changes`) caught row by row.

use crate::fixture::*;

#[test]
fn every_operation_reads_its_change_back() {
    for op in securid_bulk::ops::CATALOG {
        let Scene { tenant, dir } = Scene::sample();
        let input = copy_sample(dir.path(), &format!("{}.csv", op.name));
        let out = run_op(&tenant, op.name, &input, &["--yes", "--verify"]);
        assert_exit(&out, 0);
        let rows = results(&results_path(&input));
        for row in &rows {
            assert_eq!(row["outcome"], "ok", "{}: {row:?}", op.name);
            match op.verify {
                Some(_) => assert_eq!(row["verified"], "yes", "{}: {row:?}", op.name),
                None => assert!(row["verified"].starts_with("unknown: "), "{row:?}"),
            }
        }
        if op.verify.is_some() {
            let reads: u64 = tenant.stats().lookups.values().sum();
            assert!(reads >= rows.len() as u64, "{}: one read per row", op.name);
            let summary = stderr(&out);
            let expected = format!("verified: {} rows read back as changed", rows.len());
            assert!(summary.contains(&expected), "{summary}");
        }
    }
}

#[test]
fn without_verify_the_column_is_empty_and_nothing_is_read_back() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "sid-disable.csv");
    assert_exit(&run_op(&tenant, "sid-disable", &input, &["--yes"]), 0);
    let rows = results(&results_path(&input));
    assert!(rows.iter().all(|r| r["verified"].is_empty()));
    // One read per row, before its change (for the undo file), none after.
    let reads = tenant.stats().by_endpoint.get("sid-lookup").copied();
    assert_eq!(reads, Some(rows.len() as u64));
    let input = copy_sample(dir.path(), "ds100-delete.csv");
    assert_exit(&run_op(&tenant, "ds100-delete", &input, &["--yes"]), 0);
    assert_eq!(tenant.stats().by_endpoint.get("ds100-lookup"), None);
}

#[test]
fn a_change_the_tenant_did_not_apply_fails_its_row_with_what_was_found() {
    let Scene { tenant, dir } = Scene::start(&["--drop-changes", "1"]);
    for (op, state) in [
        ("user-disable", "userStatus=Enabled"),
        ("sid-disable", "tokenStatus=Enabled"),
        ("sid-unassign", "still there"),
        ("ds100-delete", "still there"),
    ] {
        let input = copy_sample(dir.path(), &format!("{op}.csv"));
        let out = run_op(&tenant, op, &input, &["--yes", "--verify"]);
        assert_exit(&out, 2);
        let rows = results(&results_path(&input));
        for row in &rows {
            assert_eq!(row["outcome"], "failed", "{op}: {row:?}");
            assert_eq!(row["http_status"], "200", "{op}: {row:?}");
            assert!(row["verified"].starts_with("no: "), "{op}: {row:?}");
            assert!(row["verified"].contains(state), "{op}: {row:?}");
            assert!(row["message"].contains("did not take"), "{op}: {row:?}");
        }
        assert!(stderr(&out).contains(&format!(
            "0 rows read back as changed, {} not changed",
            rows.len()
        )));
        assert_eq!(tenant.stats().applied_total(op), 0, "{op}");
    }
    assert!(tenant.stats().dropped_changes >= 12);
}
