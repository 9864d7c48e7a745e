//! The catalog's invariants, and how operations build their requests.

use super::*;

/// The README's OAuth permissions table, rendered from the catalog.
fn permissions_table() -> String {
    let quoted = |scopes: &[&str]| match scopes.is_empty() {
        true => "none".to_owned(),
        false => scopes
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut table = String::from(
        "| operation | its permission | its lookups and reads | with `--verify`, also |\n|---|---|---|---|\n",
    );
    for op in commands() {
        let plain = op.scopes(false);
        let verified: Vec<&str> = op
            .scopes(true)
            .into_iter()
            .filter(|s| !plain.contains(s))
            .collect();
        let verify = match (op.verify, verified.is_empty()) {
            (None, _) => "no read-back".to_owned(),
            (Some(_), true) => "nothing more".to_owned(),
            (Some(_), false) => quoted(&verified),
        };
        table.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            op.name,
            op.permission,
            quoted(&plain[1..]),
            verify
        ));
    }
    table
}

#[test]
fn the_readme_permissions_table_matches_the_catalog() {
    let readme = include_str!("../../README.md");
    let table = permissions_table();
    assert!(
        readme.contains(&table),
        "the README's table should be:\n{table}"
    );
}

#[test]
fn every_name_is_unique_and_findable() {
    for op in CATALOG {
        assert_eq!(find(op.name).map(|o| o.name), Some(op.name));
    }
    let mut names: Vec<&str> = CATALOG.iter().map(|op| op.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), CATALOG.len());
}

#[test]
fn body_fields_are_always_required() {
    for op in CATALOG {
        for f in op
            .body
            .iter()
            .chain(op.path_fields().collect::<Vec<_>>().iter())
        {
            assert!(
                op.required.contains(f),
                "{} sends {f} without requiring it",
                op.name
            );
        }
    }
}

#[test]
fn lookups_fill_required_fields_from_fields_the_operation_reads() {
    for op in CATALOG {
        for resolver in op.resolvers {
            assert!(op.required.contains(&resolver.field), "{}", op.name);
            assert!(op.fields().any(|f| f == resolver.lookup.key), "{}", op.name);
            assert_ne!(resolver.field, resolver.lookup.key, "{}", op.name);
        }
    }
    assert_eq!(
        DS100_DELETE.describe_column(Field::UserId),
        "userId (or email or username)"
    );
    assert_eq!(
        SID_UNASSIGN.describe_column(Field::UserId),
        "userId (or email or username or tokenSerialNumber)"
    );
    assert_eq!(
        DS100_DISABLE.describe_column(Field::DeviceSerialNumber),
        "deviceSerialNumber"
    );
}

#[test]
fn fourteen_operations_each_with_a_permission_and_a_listing() {
    assert_eq!(CATALOG.len(), 14);
    let listing = listing();
    for op in CATALOG {
        assert!(op.permission.starts_with("rsa."), "{}", op.name);
        assert!(listing.contains(&format!("permission: {}", op.permission)));
        for resolver in op.resolvers {
            assert!(resolver.lookup.permission.starts_with("rsa."));
        }
    }
    assert!(listing.contains(
        "request: PUT /AdminInterface/restapi/v1/users/{userId}/userStatus {userStatus: \"Disabled\"}"
    ));
    assert!(listing.contains("request: DELETE /AdminInterface/restapi/v1/users/{userId}\n"));
    assert!(listing.contains(
        "request: PUT /AdminInterface/restapi/v1/users/{userId}/markDeleted {markDeleted: \"true\"}"
    ));
}

#[test]
fn every_change_names_its_undo_and_an_undo_of_an_undo_is_the_first() {
    for op in CATALOG {
        match op.undo {
            Undo::Nothing => panic!("{} changes something", op.name),
            Undo::Never => assert!(
                [
                    "ds100-clear-pin",
                    "sid-clear-pin",
                    "ds100-delete",
                    "user-delete-now"
                ]
                .contains(&op.name),
                "{} is not irreversible",
                op.name
            ),
            Undo::By { inverse, .. } => {
                // The inverse reads the same target, so its input is the
                // undo file and its own undo file reverses it.
                assert!(op.verify.is_some(), "{} reads no state", op.name);
                let fields: Vec<Field> = op.fields().collect();
                assert!(
                    inverse.required.iter().all(|f| fields.contains(f)),
                    "{}",
                    op.name
                );
                if op.name != "sid-assign" {
                    let back = inverse.inverse().map(|o| o.name);
                    assert_eq!(back, Some(op.name), "{}", op.name);
                }
            }
        }
    }
    for op in CATALOG {
        let says = op.summary.contains("cannot be undone");
        assert_eq!(says, op.irreversible(), "{}: {}", op.name, op.summary);
    }
    assert_eq!(SID_UNASSIGN.inverse().map(|o| o.name), Some("sid-assign"));
    assert_eq!(SID_ASSIGN.inverse().map(|o| o.name), Some("sid-unassign"));
    assert!(matches!(REPORT.undo, Undo::Nothing));
}

#[test]
fn fixed_members_and_fields_never_share_a_name() {
    for op in CATALOG {
        for (name, _) in op.fixed {
            assert!(
                op.body.iter().all(|f| f.wire_name() != *name),
                "{}",
                op.name
            );
        }
        // Only a DELETE goes without a body: the pages show one for
        // every other call.
        if !op.has_body() {
            assert_eq!(op.method, HttpMethod::Delete, "{}", op.name);
        }
    }
}

#[test]
fn every_read_back_is_keyed_and_owned_by_fields_the_operation_has() {
    for op in CATALOG {
        let Some(verify) = op.verify else {
            assert!(
                op.name.ends_with("clear-pin"),
                "{} has no read-back",
                op.name
            );
            continue;
        };
        let has = |f: Field| op.required.contains(&f) || op.fields().any(|g| g == f);
        assert!(has(verify.owner.1), "{}", op.name);
        assert!(verify.lookups.iter().any(|l| has(l.key)), "{}", op.name);
    }
}

#[test]
fn destructive_operations_are_the_ones_that_take_something_away() {
    let destructive: Vec<&str> = CATALOG
        .iter()
        .filter(|op| op.destructive)
        .map(|op| op.name)
        .collect();
    assert_eq!(
        destructive,
        [
            "ds100-disable",
            "sid-disable",
            "ds100-delete",
            "sid-unassign",
            "user-disable",
            "user-delete",
            "user-delete-now"
        ]
    );
    for op in [&USER_DELETE, &USER_DELETE_NOW] {
        assert!(op.explain(409).unwrap().contains("run user-disable first"));
    }
    assert!(USER_DELETE_NOW
        .explain(405)
        .unwrap()
        .contains("delete the user at the source"));
}

#[test]
fn pin_set_reads_the_same_as_boolean_or_string() {
    let ds = describe_success(
        &DS100_CLEAR_PIN,
        r#"{"tokenSerialNumber":"1","pinSet":false}"#,
    );
    let sid = describe_success(&SID_CLEAR_PIN, r#"{"userId":"u","pinSet":"false"}"#);
    assert_eq!(ds.as_deref(), Some("pinSet=false"));
    assert_eq!(sid.as_deref(), Some("pinSet=false"));
}

#[test]
fn vendor_example_with_missing_comma_is_not_json() {
    let body = "{\n\"tokenSerialNumber\":\"014010008038\"\n\"pinSet\": false\n}";
    assert_eq!(describe_success(&DS100_CLEAR_PIN, body), None);
}

#[test]
fn disable_lists_each_credential_and_keeps_odd_timestamps() {
    let body = r#"[{"userId":"u","tokenSerialNumber":"014010008031","tokenStatus":"Disabled",
        "tokenStatusChangedAt":"2022-05-24T084041.067Z","deviceSerialNumber":"140100080"}]"#;
    assert_eq!(
        describe_success(&DS100_DISABLE, body).as_deref(),
        Some("tokenSerialNumber=014010008031 tokenStatus=Disabled tokenStatusChangedAt=2022-05-24T084041.067Z")
    );
}

#[test]
fn objects_are_separated_and_empty_ones_left_out() {
    let body = r#"[{"tokenSerialNumber":"1","tokenStatus":"Disabled"},{"other":1},
        {"tokenStatus":"Enabled"}]"#;
    assert_eq!(
        describe_success(&DS100_DISABLE, body).as_deref(),
        Some("tokenSerialNumber=1 tokenStatus=Disabled; tokenStatus=Enabled")
    );
    let odd = describe_success(&DS100_CLEAR_PIN, r#"[{"pinSet":null},{"pinSet":0}]"#);
    assert_eq!(odd.as_deref(), Some("pinSet=null; pinSet=0"));
}

#[test]
fn a_run_asks_for_its_permission_and_its_lookups() {
    assert_eq!(
        DS100_DELETE.scopes(false),
        [
            "rsa.authenticator.ds100.delete",
            "rsa.user.read",
            "rsa.authenticator.ds100.read"
        ]
    );
    assert_eq!(
        SID_CLEAR_PIN.scopes(false),
        [
            "rsa.authenticator.sidtoken.manage",
            "rsa.user.read",
            "rsa.authenticator.sidtoken.read"
        ]
    );
    assert_eq!(
        USER_DISABLE.scopes(false),
        ["rsa.user.manage", "rsa.user.read"]
    );
    // Reading a deleted credential back needs the DS100 lookup even
    // when no row needs it to find its token.
    assert!(DS100_DISABLE
        .scopes(true)
        .contains(&"rsa.authenticator.ds100.read"));
    for op in CATALOG {
        assert!(op.permission.starts_with("rsa."), "{}", op.name);
        assert!(listing().contains(&format!("permission: {}", op.permission)));
    }
}

#[test]
fn sid_path_carries_the_user() {
    assert_eq!(
        SID_CLEAR_PIN.path_fields().collect::<Vec<_>>(),
        vec![Field::UserId]
    );
    assert_eq!(DS100_DELETE.path_fields().count(), 0);
}
