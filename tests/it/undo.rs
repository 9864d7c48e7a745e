//! Undo files end to end: a run of a reversible operation writes the rows
//! it changed, the printed undo command takes exactly those back (checked
//! against the simulated tenant's own state, read through its endpoints),
//! the undo of an undo restores the first state, a killed run leaves an
//! exact file, and the delete that cannot be undone is never run unasked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fixture::*;

const ALICE: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";
const DAN: &str = "3f1c9a52-7d4e-4b8a-9c21-5e6f7a8b9c0d";
const FRANK: &str = "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e";
const IVAN: &str = "9e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b";
const KEN: &str = "b1a2b3c4-5d6e-4a7b-8c8d-9e0f1a2b3c4d";
const DEVICES: [&str; 8] = [
    "140100080",
    "140100081",
    "140100082",
    "040100090",
    "140100083",
    "140100084",
    "140100085",
    "140100086",
];

/// Every DS100 credential's status, by token serial, as the tenant's
/// lookup answers.
fn ds100_states(tenant: &Tenant) -> BTreeMap<String, String> {
    let mut states = BTreeMap::new();
    for device in DEVICES {
        let body = json!({ "deviceSerialNumber": device });
        let (status, answer) = tenant.call("POST", "/AdminInterface/restapi/v1/ds100/lookup", body);
        assert_eq!(status, 200, "{device}: {answer}");
        for cred in answer.as_array().unwrap() {
            let serial = cred["tokenSerialNumber"].as_str().unwrap().to_owned();
            states.insert(serial, cred["tokenStatus"].as_str().unwrap().to_owned());
        }
    }
    states
}

/// The user as the tenant's lookup shows it (status and answer).
fn user(tenant: &Tenant, email: &str) -> (u16, Value) {
    let body = json!({ "email": email });
    tenant.call("POST", "/AdminInterface/restapi/v1/users/lookup", body)
}

fn sid_owner(tenant: &Tenant, serial: &str) -> Option<String> {
    let body = json!({ "tokenSerialNumber": serial });
    let (status, answer) = tenant.call("POST", "/AdminInterface/restapi/v1/sidTokens/lookup", body);
    assert_eq!(status, 200, "{serial}: {answer}");
    answer["userId"].as_str().map(str::to_owned)
}

/// The operation and file of the summary's `undo:` line.
fn printed_undo(output: &std::process::Output) -> (String, PathBuf) {
    let text = stderr(output);
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("undo: securid-bulk "))
        .unwrap_or_else(|| panic!("no undo command in: {text}"));
    let mut words = line.split_whitespace();
    let op = words.next().unwrap().to_owned();
    (op, PathBuf::from(words.next().unwrap()))
}

/// Runs the summary's undo command as printed.
fn run_printed_undo(tenant: &Tenant, output: &std::process::Output) -> std::process::Output {
    let (op, file) = printed_undo(output);
    run_op(tenant, &op, &file, &["--yes"])
}

fn undo_lines(path: &Path) -> Vec<Row> {
    results(path)
}

/// Disables Ken's credential, as a run before the test's own would.
fn disable_kens_credential(tenant: &Tenant, dir: &Path) {
    let ken = write(
        dir,
        "ken.csv",
        &format!("userId,deviceSerialNumber\n{KEN},140100085\n"),
    );
    assert_exit(&run_op(tenant, "ds100-disable", &ken, &["--yes"]), 0);
}

/// Five leavers' DS100 credentials: Ivan's disabled in the seed, Ken's
/// once [`disable_kens_credential`] ran, the others enabled.
fn ds100_leavers(dir: &Path) -> PathBuf {
    write(
        dir,
        "leavers.csv",
        &format!(
            "userId,deviceSerialNumber\n{ALICE},140100080\n{DAN},140100081\n{IVAN},140100084\n{FRANK},040100090\n{KEN},140100085\n"
        ),
    )
}

/// Runs `sid-disable` on its sample, checked to succeed; returns the undo
/// file the summary names.
fn sid_disable_sample(tenant: &Tenant, dir: &Path) -> PathBuf {
    let input = copy_sample(dir, "sid-disable.csv");
    let out = run_op(tenant, "sid-disable", &input, &["--yes"]);
    assert_exit(&out, 0);
    printed_undo(&out).1
}

#[test]
fn ds100_disable_then_its_undo_leaves_every_credential_as_it_was() {
    let Scene { tenant, dir } = Scene::sample();
    // Ken's credential is disabled before the run, like Ivan's in the seed.
    disable_kens_credential(&tenant, dir.path());
    let before = ds100_states(&tenant);
    assert_eq!(before["014010008431"], "Disabled");
    assert_eq!(before["014010008531"], "Disabled");

    let input = ds100_leavers(dir.path());
    let out = run_op(&tenant, "ds100-disable", &input, &["--yes"]);
    assert_exit(&out, 0);
    let (op, undo) = printed_undo(&out);
    assert_eq!(op, "ds100-enable");
    assert_eq!(undo, dir.path().join("leavers.undo.csv"));
    let lines = undo_lines(&undo);
    // Lines come as changes finish; the set is what counts.
    let mut users: Vec<&str> = lines.iter().map(|l| l["userId"].as_str()).collect();
    users.sort();
    let mut expected = [ALICE, DAN, FRANK];
    expected.sort();
    assert_eq!(users, expected, "only what the run changed");
    assert!(lines
        .iter()
        .all(|l| l["undoes"] == "ds100-disable" && l["tenant"] == tenant.url()));
    let rows = results(&results_path(&input));
    let ivan = rows.iter().find(|r| r["userId"] == IVAN).unwrap();
    assert_eq!(
        (ivan["outcome"].as_str(), ivan["http_status"].as_str()),
        ("ok", "200")
    );
    assert!(ivan["message"].contains("not in the undo file"), "{ivan:?}");

    let undone = run_printed_undo(&tenant, &out);
    assert_exit(&undone, 0);
    assert_eq!(ds100_states(&tenant), before, "every credential as it was");

    // The undo of the undo disables again exactly what the first run did.
    let again = run_printed_undo(&tenant, &undone);
    assert_exit(&again, 0);
    let after = ds100_states(&tenant);
    for (serial, status) in &before {
        let moved = [
            "014010008038",
            "014010008039",
            "014010008131",
            "004010009031",
        ];
        let expected = match moved.contains(&serial.as_str()) {
            true => "Disabled",
            false => status.as_str(),
        };
        assert_eq!(after[serial], expected, "{serial}");
    }
}

#[test]
fn user_delete_marks_and_user_undelete_takes_back_only_those_marks() {
    let Scene { tenant, dir } = Scene::sample();
    let quinn = write(dir.path(), "quinn.csv", "email\nquinn.ahmed@acme.example\n");
    assert_exit(&run_op(&tenant, "user-delete", &quinn, &["--yes"]), 0);
    let input = write(
        dir.path(),
        "leavers.csv",
        "email\noscar.lindqvist@acme.example\npaul.durand@acme.example\nquinn.ahmed@acme.example\nalice.martin@acme.example\nnina.weber@acme.example\n",
    );
    let out = run_op(&tenant, "user-delete", &input, &["--yes"]);
    // Alice is enabled (409), Nina comes from SCIM (405).
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("the tenant purges them after 7 days, due "),
        "{}",
        stderr(&out)
    );
    for email in ["oscar.lindqvist@acme.example", "paul.durand@acme.example"] {
        let (status, found) = user(&tenant, email);
        assert_eq!(
            (status, &found["markDeleted"]),
            (200, &json!(true)),
            "{email}"
        );
    }
    let rows = results(&results_path(&input));
    let status =
        |email: &str| rows.iter().find(|r| r["email"] == email).unwrap()["http_status"].clone();
    assert_eq!(status("alice.martin@acme.example"), "409");
    assert_eq!(status("nina.weber@acme.example"), "405");
    let (_, undo) = printed_undo(&out);
    let mut emails: Vec<String> = undo_lines(&undo)
        .iter()
        .map(|l| l["email"].clone())
        .collect();
    emails.sort();
    assert_eq!(
        emails,
        ["oscar.lindqvist@acme.example", "paul.durand@acme.example"]
    );

    assert_exit(&run_printed_undo(&tenant, &out), 0);
    for email in ["oscar.lindqvist@acme.example", "paul.durand@acme.example"] {
        assert_eq!(
            user(&tenant, email).1["markDeleted"],
            json!(false),
            "{email}"
        );
    }
    // Marked before the run, so not the run's to take back.
    assert_eq!(
        user(&tenant, "quinn.ahmed@acme.example").1["markDeleted"],
        json!(true)
    );
    assert_eq!(tenant.stats().applied["user-undelete"].len(), 2);
}

#[test]
fn a_purged_user_is_gone_and_cannot_be_undeleted() {
    let Scene { tenant, dir } = Scene::start(&["--purge-after", "0"]);
    let input = write(
        dir.path(),
        "oscar.csv",
        "email\noscar.lindqvist@acme.example\n",
    );
    let out = run_op(&tenant, "user-delete", &input, &["--yes"]);
    assert_exit(&out, 0);
    assert_eq!(user(&tenant, "oscar.lindqvist@acme.example").0, 404);
    let undone = run_printed_undo(&tenant, &out);
    assert_exit(&undone, 2);
    let (_, undo) = printed_undo(&out);
    let rows = results(&dir.path().join("oscar.undo.results.csv"));
    assert_eq!(
        rows[0]["http_status"],
        "404",
        "{:?} from {}",
        rows[0],
        undo.display()
    );
}

#[test]
fn sid_unassign_then_its_undo_returns_each_token_to_its_user() {
    let Scene { tenant, dir } = Scene::sample();
    let serials = ["1231314526", "1231314527", "000123456789", "1231314531"];
    let owners: Vec<Option<String>> = serials.iter().map(|s| sid_owner(&tenant, s)).collect();
    assert_eq!(owners[3], None, "an unassigned token in the file");
    let input = write(
        dir.path(),
        "tokens.csv",
        &format!("tokenSerialNumber\n{}\n", serials[..3].join("\n")),
    );
    let out = run_op(&tenant, "sid-unassign", &input, &["--yes"]);
    assert_exit(&out, 0);
    assert!(serials.iter().all(|s| sid_owner(&tenant, s).is_none()));
    let (op, undo) = printed_undo(&out);
    assert_eq!(op, "sid-assign");
    assert_eq!(undo_lines(&undo).len(), 3);
    assert_exit(&run_printed_undo(&tenant, &out), 0);
    let back: Vec<Option<String>> = serials.iter().map(|s| sid_owner(&tenant, s)).collect();
    assert_eq!(back, owners);
}

#[test]
fn a_run_killed_mid_way_leaves_an_undo_file_exact_for_what_it_did() {
    let dir = temp_dir();
    let exported = dir.path().join("export");
    let out = bin()
        .args(["mock", "--users", "200", "--export-csv"])
        .arg(&exported)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let tenant = Tenant::start(&["--users", "200", "--latency-ms", "5"]);
    let input = dir.path().join("leavers.csv");
    std::fs::copy(exported.join("ds100-disable.csv"), &input).unwrap();
    let undo = dir.path().join("leavers.undo.csv");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("securid-bulk"))
        .arg("ds100-disable")
        .arg(&input)
        .args([
            "--base-url",
            &tenant.url(),
            "--yes",
            "-q",
            "--concurrency",
            "2",
            "--rate",
            "100",
        ])
        .env_remove("SECURID_BASE_URL")
        .env("SECURID_TOKEN", tenant.token())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&undo).map_or(0, |t| t.lines().count()) < 30 {
        assert!(Instant::now() < deadline, "no undo lines within 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no handler, no unwinding
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(200));

    let text = std::fs::read_to_string(&undo).unwrap();
    assert!(text.ends_with('\n'), "whole lines only");
    let listed: Vec<String> = undo_lines(&undo)
        .iter()
        .map(|l| l["deviceSerialNumber"].clone())
        .collect();
    let stats = tenant.stats();
    let applied = &stats.applied["ds100-disable"];
    assert!(listed.len() < input_rows(&input), "killed mid-way");
    for device in &listed {
        assert_eq!(
            applied.get(device),
            Some(&1),
            "{device} listed but not changed"
        );
    }
    // Only the requests on the wire when it was killed can be missing.
    assert!(
        applied.len() - listed.len() <= 2,
        "{} applied, {} listed",
        applied.len(),
        listed.len()
    );

    // The resumed run appends what it changes; a row in flight at the
    // kill, already disabled now, stays out.
    let results = dir.path().join("leavers.results.csv");
    let resumed = dir.path().join("leavers.resume-1.results.csv");
    let extra = [
        "--yes",
        "--resume",
        results.to_str().unwrap(),
        "-o",
        resumed.to_str().unwrap(),
    ];
    assert_exit(&run_op(&tenant, "ds100-disable", &input, &extra), 0);
    let listed: Vec<String> = undo_lines(&undo)
        .iter()
        .map(|l| l["deviceSerialNumber"].clone())
        .collect();
    let stats = tenant.stats();
    let applied = &stats.applied["ds100-disable"];
    assert_eq!(applied.len(), input_rows(&input), "every row done");
    let mut unique = listed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), listed.len(), "no line twice");
    assert!(listed.iter().all(|d| applied.contains_key(d)));
    assert!(applied.len() - listed.len() <= 2);

    // The undo takes back exactly the listed credentials.
    let out = run_op(&tenant, "ds100-enable", &undo, &["--yes"]);
    assert_exit(&out, 0);
    let stats = tenant.stats();
    let enabled: Vec<&String> = stats.applied["ds100-enable"].keys().collect();
    assert_eq!(enabled, unique.iter().collect::<Vec<_>>());
}

#[test]
fn user_delete_now_cannot_be_undone_and_refuses_without_a_terminal_or_yes() {
    let Scene { tenant, dir } = Scene::sample();
    let input = write(
        dir.path(),
        "oscar.csv",
        "email\noscar.lindqvist@acme.example\n",
    );
    let out = run_op(&tenant, "user-delete-now", &input, &[]);
    assert_exit(&out, 1);
    let text = stderr(&out);
    assert!(text.contains("cannot be undone"), "{text}");
    assert!(text.contains("pass --yes"), "{text}");
    assert_eq!(tenant.stats().by_endpoint.get("user-delete-now"), None);
    let out = run_op(&tenant, "user-delete-now", &input, &["--yes"]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("undo: none: user-delete-now cannot be undone"));
    assert!(!dir.path().join("oscar.undo.csv").exists());
    assert_eq!(user(&tenant, "oscar.lindqvist@acme.example").0, 404);
}

#[test]
fn an_undo_file_is_refused_by_another_tenant_and_by_the_operation_it_undoes() {
    let Scene { tenant, dir } = Scene::sample();
    let undo = sid_disable_sample(&tenant, dir.path());
    let sent = tenant.stats().requests;

    let again = run_op(&tenant, "sid-disable", &undo, &["--yes"]);
    assert_exit(&again, 1);
    assert!(
        stderr(&again).contains("run sid-enable on it"),
        "{}",
        stderr(&again)
    );
    let other = Tenant::start(&[]);
    let elsewhere = run_op(&other, "sid-enable", &undo, &["--yes"]);
    assert_exit(&elsewhere, 1);
    let text = stderr(&elsewhere);
    assert!(
        text.contains(&format!("written against {}", tenant.url())),
        "{text}"
    );
    assert_eq!(other.stats().requests, 0, "nothing sent");
    assert_eq!(tenant.stats().requests, sent, "nothing sent");
}

#[test]
fn report_shows_a_user_pending_deletion() {
    let Scene { tenant, dir } = Scene::sample();
    let input = write(
        dir.path(),
        "who.csv",
        "email\nsam.carter@acme.example\nken.tanaka@acme.example\n",
    );
    assert_exit(&run_op(&tenant, "report", &input, &[]), 0);
    let rows = results(&results_path(&input));
    let message = |email: &str| {
        let row = rows.iter().find(|r| r["email"] == email).unwrap();
        row["message"].clone()
    };
    assert!(
        message("sam.carter@acme.example").contains("pending deletion"),
        "{rows:?}"
    );
    assert!(!message("ken.tanaka@acme.example").contains("pending deletion"));
}

#[test]
fn an_applied_plan_writes_an_undo_file_of_exactly_its_changes() {
    let Scene { tenant, dir } = Scene::sample();
    disable_kens_credential(&tenant, dir.path());
    let before = ds100_states(&tenant);
    assert_eq!(before["014010008531"], "Disabled");

    let input = ds100_leavers(dir.path());
    let (plan, planned) = make_plan(&tenant, "ds100-disable", &input);
    assert_exit(&planned, 0);
    assert_eq!(ds100_states(&tenant), before, "a plan changes nothing");

    let applied = apply(&tenant, &plan, &["--base-url", &tenant.url()]);
    assert_exit(&applied, 0);
    let (op, undo) = printed_undo(&applied);
    assert_eq!(op, "ds100-enable");
    assert_eq!(undo, dir.path().join("leavers.applied.undo.csv"));
    let mut users: Vec<String> = undo_lines(&undo)
        .iter()
        .map(|l| l["userId"].clone())
        .collect();
    users.sort();
    let mut expected = [ALICE, DAN, FRANK];
    expected.sort();
    assert_eq!(users, expected, "only what the apply changed");
    assert_ne!(
        ds100_states(&tenant),
        before,
        "the apply changed the tenant"
    );

    let undone = run_printed_undo(&tenant, &applied);
    assert_exit(&undone, 0);
    assert_eq!(ds100_states(&tenant), before, "every credential as it was");
}

/// The undo file of a `sid-disable` run of the sample, its data lines
/// edited by `edit` (given the line number and the line), as `name`.
fn edited_sid_undo(
    tenant: &Tenant,
    dir: &Path,
    name: &str,
    edit: impl Fn(usize, &str) -> String,
) -> PathBuf {
    let undo = sid_disable_sample(tenant, dir);
    let text = std::fs::read_to_string(undo).expect("undo file");
    let mut lines = text.lines();
    let mut edited = format!("{}\n", lines.next().expect("header"));
    for (i, line) in lines.enumerate() {
        edited.push_str(&edit(i + 2, line));
        edited.push('\n');
    }
    write(dir, name, &edited)
}

#[test]
fn an_undo_file_is_refused_at_its_first_line_of_another_tenant_or_operation() {
    let Scene { tenant, dir } = Scene::sample();
    let elsewhere = "https://elsewhere.example:443";
    let url = tenant.url();
    let mixed = edited_sid_undo(&tenant, dir.path(), "mixed.csv", |line, text| match line {
        3 => text.replace(&url, elsewhere),
        4 => text.replace("sid-disable", "sid-enable"),
        _ => text.to_owned(),
    });
    let sent = tenant.stats().requests;
    let of_another_tenant = |input: &str| {
        format!(
            "{input} line 3: this undo file was written against {elsewhere}, not {url}; run it against its own tenant; nothing was sent"
        )
    };
    let out = run_op(&tenant, "sid-enable", &mixed, &["--yes"]);
    assert_exit(&out, 1);
    let expected = of_another_tenant(&mixed.display().to_string());
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    // A dry run that names no tenant has none to compare: the operation
    // of line 4 is what it refuses.
    let offline = bin()
        .args(["sid-enable", "--dry-run"])
        .arg(&mixed)
        .output()
        .expect("binary runs");
    assert_exit(&offline, 1);
    let expected = format!(
        "{} line 4: this undo file takes back sid-enable, which sid-enable does not undo; run sid-disable on it; nothing was sent",
        mixed.display()
    );
    assert!(stderr(&offline).contains(&expected), "{}", stderr(&offline));
    // Given on standard input, it is named `-`, as typed, never the spool.
    let piped = op_command(&tenant, "sid-enable", Path::new("-"), &["--yes"])
        .current_dir(dir.path())
        .write_stdin(std::fs::read(&mixed).expect("undo file"))
        .output()
        .expect("binary runs");
    assert_exit(&piped, 1);
    let expected = of_another_tenant("-");
    assert!(stderr(&piped).contains(&expected), "{}", stderr(&piped));
    assert_eq!(tenant.stats().requests, sent, "nothing sent");
}

#[test]
fn an_undo_file_planned_then_applied_takes_back_the_run() {
    let Scene { tenant, dir } = Scene::sample();
    let undo = sid_disable_sample(&tenant, dir.path());
    let (plan, planned) = make_plan(&tenant, "sid-enable", &undo);
    assert_exit(&planned, 0);
    assert_exit(&apply(&tenant, &plan, &[]), 0);
    let stats = tenant.stats();
    assert_eq!(
        stats.applied["sid-enable"].len(),
        stats.applied["sid-disable"].len(),
        "every credential the run disabled is enabled again"
    );
}
