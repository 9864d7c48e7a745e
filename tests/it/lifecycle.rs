//! The operations of an incident's end and a departure, end to end: user
//! deletion's refusals, SID700 rows that name only the token, a DS100
//! clear-PIN by device, confirmation before every destructive operation,
//! and one tenant state across operations.

use crate::fixture::*;

const ALICE: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";
const DAN: &str = "3f1c9a52-7d4e-4b8a-9c21-5e6f7a8b9c0d";
const ERIN: &str = "5a2b3c4d-6e7f-4a1b-8c2d-3e4f5a6b7c8d";
const GRACE: &str = "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f";
const OSCAR: &str = "f5e6f7a8-9b0c-4e1f-8a2b-3c4d5e6f7a81";

#[test]
fn user_delete_says_disable_first_for_an_enabled_user_and_source_for_a_scim_user() {
    let Scene { tenant, dir } = Scene::sample();
    let input = write(
        dir.path(),
        "leavers.csv",
        "email\nalice.martin@acme.example\nnina.weber@acme.example\noscar.lindqvist@acme.example\n",
    );
    let out = run_op(&tenant, "user-delete", &input, &["--yes"]);
    assert_exit(&out, 2);
    let rows = results(&results_path(&input));
    let by_email = |email: &str| rows.iter().find(|r| r["email"] == email).unwrap();
    let alice = by_email("alice.martin@acme.example");
    assert_eq!(
        (alice["outcome"].as_str(), alice["http_status"].as_str()),
        ("failed", "409")
    );
    assert!(
        alice["message"].contains("run user-disable first"),
        "{alice:?}"
    );
    let nina = by_email("nina.weber@acme.example");
    assert_eq!(nina["http_status"], "405");
    assert!(
        nina["message"].contains("delete the user at the source"),
        "{nina:?}"
    );
    assert_eq!(by_email("oscar.lindqvist@acme.example")["outcome"], "ok");
    let stats = tenant.stats();
    assert_eq!(stats.applied_total("user-delete"), 1);
    assert_eq!(stats.applied_count("user-delete", OSCAR), 1);

    // Disabled first, the enabled user can go; the tenant kept the state.
    // By email: the user lookup shows whether a user is marked already.
    let alice_only = write(
        dir.path(),
        "alice.csv",
        "email\nalice.martin@acme.example\n",
    );
    assert_exit(&run_op(&tenant, "user-disable", &alice_only, &["--yes"]), 0);
    assert_exit(&run_op(&tenant, "user-delete", &alice_only, &["--yes"]), 0);
    let stats = tenant.stats();
    assert_eq!(stats.applied_count("user-disable", ALICE), 1);
    assert_eq!(stats.applied_count("user-delete", ALICE), 1);
    // Marked already: the tenant would refuse it again, so it is not sent.
    let again = run_op(&tenant, "user-delete", &alice_only, &["--yes"]);
    assert_exit(&again, 0);
    assert!(results(&results_path(&alice_only))[0]["message"].contains("nothing sent"));
    assert_eq!(tenant.stats().applied_count("user-delete", ALICE), 1);
    // A user pending deletion is not deleted now: the tenant says 409.
    let now = run_op(&tenant, "user-delete-now", &alice_only, &["--yes"]);
    assert_exit(&now, 2);
    let row = &results(&results_path(&alice_only))[0];
    assert_eq!(row["http_status"], "409", "{row:?}");
}

#[test]
fn sid700_rows_with_serials_only_find_their_users() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "sid-unassign.csv");
    let out = run_op(&tenant, "sid-unassign", &input, &["--yes"]);
    assert_exit(&out, 0);
    let rows = results(&results_path(&input));
    let found: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["tokenSerialNumber"].as_str(),
                r["resolved_userId"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("1231314526", DAN),
            ("1231314527", ERIN),
            ("000123456789", GRACE)
        ]
    );
    // One to find each token's user, one to read it before the change.
    let stats = tenant.stats();
    assert_eq!(stats.lookups.get("sidToken"), Some(&6));
    for (serial, _) in &found {
        assert_eq!(stats.applied_count("sid-unassign", serial), 1);
    }

    // An unassigned token no longer belongs to its user.
    let dan = write(
        dir.path(),
        "dan.csv",
        &format!("userId,tokenSerialNumber\n{DAN},1231314526\n"),
    );
    let out = run_op(&tenant, "sid-disable", &dan, &["--yes"]);
    assert_exit(&out, 2);
    let row = &results(&results_path(&dan))[0];
    assert_eq!(row["http_status"], "409", "{row:?}");
    assert!(
        row["message"].contains("not assigned to this user"),
        "{row:?}"
    );
    assert_eq!(tenant.stats().applied_total("sid-disable"), 0);
}

#[test]
fn ds100_clear_pin_takes_the_device_serial_in_place_of_the_token() {
    let Scene { tenant, dir } = Scene::sample();
    let input = write(
        dir.path(),
        "by-device.csv",
        "email,deviceSerialNumber\ndan.okafor@acme.example,140100081\n",
    );
    let out = run_op(&tenant, "ds100-clear-pin", &input, &[]);
    assert_exit(&out, 0);
    let row = &results(&results_path(&input))[0];
    assert_eq!(row["resolved_tokenSerialNumber"], "014010008131");
    assert_eq!(
        tenant
            .stats()
            .applied_count("ds100-clear-pin", "014010008131"),
        1
    );
}

#[test]
fn every_destructive_operation_asks_first_and_the_others_do_not() {
    for op in securid_bulk::ops::CATALOG {
        let Scene { tenant, dir } = Scene::sample();
        let input = copy_sample(dir.path(), &format!("{}.csv", op.name));
        let out = run_op(&tenant, op.name, &input, &[]);
        if op.destructive {
            assert_exit(&out, 1);
            assert!(stderr(&out).contains("--yes"), "{}", op.name);
            assert_eq!(tenant.stats().requests, 0, "{}: nothing sent", op.name);
            assert!(!results_path(&input).exists(), "{}", op.name);
        } else {
            assert_exit(&out, 0);
            assert!(tenant.stats().applied_total(op.name) > 0, "{}", op.name);
        }
    }
}

#[test]
fn enabling_what_is_enabled_and_disabling_again_both_answer_ok() {
    let Scene { tenant, dir } = Scene::sample();
    let input = write(dir.path(), "twice.csv", "username\nbnguyen\n");
    assert_exit(&run_op(&tenant, "user-enable", &input, &[]), 0);
    assert_exit(&run_op(&tenant, "user-disable", &input, &["--yes"]), 0);
    assert_exit(&run_op(&tenant, "user-disable", &input, &["--yes"]), 0);
    let stats = tenant.stats();
    let bob = "ece30fe9-414c-7536-5403-0656220b3046";
    assert_eq!(stats.applied_count("user-enable", bob), 1);
    assert_eq!(stats.applied_count("user-disable", bob), 2);
    // Each run finds the user and reads it before the change.
    assert_eq!(stats.lookups.get("username"), Some(&6));
}
