//! `securid-bulk report` end to end, and the offboarding workflow that
//! docs/workflows/offboarding.md walks through, from one HR file of emails to deleted users, every step
//! against one simulated tenant.

use std::path::Path;

use crate::fixture::*;

const REPORT_COLUMNS: [&str; 5] = [
    "deviceType",
    "tokenSerialNumber",
    "deviceSerialNumber",
    "tokenStatus",
    "assignedAt",
];

#[test]
fn report_lists_each_authenticator_and_accounts_for_every_user() {
    let Scene { tenant, dir } = Scene::sample();
    let input = people_by_email(dir.path());
    let out = run_op(&tenant, "report", &input, &[]);
    assert_exit(&out, 2);
    let rows = results(&results_path(&input));
    let header: Vec<String> = csv::Reader::from_path(results_path(&input))
        .unwrap()
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header[0], "email");
    assert_eq!(header[1..6], REPORT_COLUMNS);
    let of = |email: &str| -> Vec<&Row> { rows.iter().filter(|r| r["email"] == email).collect() };

    let dan = of("dan.okafor@acme.example");
    let held: Vec<(&str, &str, &str)> = dan
        .iter()
        .map(|r| {
            (
                r["deviceType"].as_str(),
                r["tokenSerialNumber"].as_str(),
                r["deviceSerialNumber"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            ("SecurID DS100", "014010008131", "140100081"),
            ("SID700", "1231314526", "")
        ]
    );
    let heidi = of("heidi.schmidt@acme.example");
    assert_eq!(heidi.len(), 1);
    assert_eq!(heidi[0]["tokenSerialNumber"], "1231314528");
    assert_eq!(heidi[0]["tokenStatus"], "Enabled");
    let mallory = of("mallory.brown@acme.example");
    assert_eq!(mallory.len(), 1);
    assert_eq!(mallory[0]["outcome"], "ok");
    assert_eq!(mallory[0]["deviceType"], "");
    assert!(mallory[0]["message"].contains("holds no authenticator"));
    let nobody = of("nobody@acme.example");
    assert_eq!(nobody.len(), 1);
    assert_eq!(nobody[0]["outcome"], "failed");

    let stats = tenant.stats();
    assert_eq!(stats.by_endpoint.get("devices"), Some(&3));
    let verify = run_op(&tenant, "report", &input, &["--verify"]);
    assert_exit(&verify, 1);
    assert!(stderr(&verify).contains("nothing for --verify to read back"));
    assert!(
        stats.applied.values().all(|keys| keys.is_empty()),
        "a report changes nothing: {:?}",
        stats.applied
    );
}

/// The report's lines of one device type, as an input file (the
/// offboarding page does this with awk).
fn lines_of_type(report: &Path, device_type: &str, to: &Path) {
    let mut reader = csv::Reader::from_path(report).unwrap();
    let mut writer = csv::Writer::from_path(to).unwrap();
    writer.write_record(reader.headers().unwrap()).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        if record.get(1) == Some(device_type) {
            writer.write_record(&record).unwrap();
        }
    }
    writer.flush().unwrap();
}

#[test]
fn offboarding_runs_from_one_file_of_emails_to_verified_deletions() {
    let Scene { tenant, dir } = Scene::sample();
    let leavers = dir.path().join("leavers.csv");
    std::fs::copy(sample("offboarding/leavers.csv"), &leavers).unwrap();
    let at = |name: &str| dir.path().join(name);
    let o = |name: &str| at(name).to_string_lossy().into_owned();

    let report = run_op(&tenant, "report", &leavers, &["-o", &o("1-report.csv")]);
    assert_exit(&report, 0);
    let disable = run_op(
        &tenant,
        "user-disable",
        &leavers,
        &["--yes", "-o", &o("2-disable.csv")],
    );
    assert_exit(&disable, 0);
    lines_of_type(&at("1-report.csv"), "SecurID DS100", &at("ds100.csv"));
    lines_of_type(&at("1-report.csv"), "SID700", &at("sid700.csv"));
    let ds100 = run_op(&tenant, "ds100-delete", &at("ds100.csv"), &["--yes"]);
    assert_exit(&ds100, 0);
    let sid = run_op(&tenant, "sid-unassign", &at("sid700.csv"), &["--yes"]);
    assert_exit(&sid, 0);
    let delete = run_op(
        &tenant,
        "user-delete",
        &leavers,
        &["--yes", "--verify", "-o", &o("5-delete.csv")],
    );
    assert_exit(&delete, 0);

    let deleted = results(&at("5-delete.csv"));
    assert_eq!(deleted.len(), 4);
    assert!(
        deleted.iter().all(|r| r["verified"] == "yes"),
        "{deleted:?}"
    );
    let stats = tenant.stats();
    assert_eq!(stats.applied_total("user-disable"), 4);
    assert_eq!(stats.applied_total("ds100-delete"), 2);
    assert_eq!(stats.applied_total("sid-unassign"), 3);
    assert_eq!(stats.applied_total("user-delete"), 4);
    for row in &deleted {
        assert_eq!(
            stats.applied_count("user-delete", &row["resolved_userId"]),
            1
        );
    }
}
