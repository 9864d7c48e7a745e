//! Files around the mock: the sample CSVs succeed against the sample tenant,
//! `--export-csv` writes CSVs that succeed against the generated tenant, and
//! `--state` loads a seed file or names it in the error.

use std::path::{Path, PathBuf};

use securid_bulk::mock::{export_csv, run_standalone, MockError, MockOptions, MockServer};

use super::support::*;

/// Every operation, in the catalog's order, which is the order an
/// offboarding runs in: PINs first, then disable, then delete.
fn operations() -> impl Iterator<Item = &'static str> {
    securid_bulk::ops::CATALOG.iter().map(|op| op.name)
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The exported files' order: the catalog's, with each undo right after
/// what it undoes (a generated tenant has no token to assign nor user to
/// undelete before the files that make them).
fn undo_order() -> Vec<&'static str> {
    let mut order: Vec<&str> = operations()
        .filter(|op| !["sid-assign", "user-undelete"].contains(op))
        .collect();
    for (undo, after) in [
        ("sid-assign", "sid-unassign"),
        ("user-undelete", "user-delete"),
    ] {
        let at = order.iter().position(|op| *op == after).unwrap();
        order.insert(at + 1, undo);
    }
    order
}

/// Sends every row of `dir/<op>.csv`, op by op in `order`, checks each
/// answers 200, and returns how many rows each operation had.
async fn run_all(api: &Api, dir: &Path, order: Vec<&'static str>) -> Vec<(String, u64)> {
    let mut counts = Vec::new();
    for op in order {
        let rows = csv_rows(&dir.join(format!("{op}.csv")));
        for row in &rows {
            let (status, body) = status_and_json(send_row(api, op, row).await).await;
            assert_eq!(status, 200, "{op} {row:?}: {body}");
        }
        counts.push((op.to_string(), rows.len() as u64));
    }
    counts
}

#[tokio::test]
async fn every_sample_row_succeeds_and_lands_in_the_ledger() {
    let api = Api::start(sample()).await;
    let counts = run_all(&api, &samples(), operations().collect()).await;
    let stats = api.stats().await;
    for (op, rows) in counts {
        assert!(rows >= 3, "{op} has only {rows} rows");
        assert_eq!(stats.applied_total(&op), rows, "{op}");
    }
    // Offboarding: the delete file names the credentials the disable file did.
    let disable = csv_rows(&samples().join("ds100-disable.csv"));
    let delete = csv_rows(&samples().join("ds100-delete.csv"));
    let key = |r: &std::collections::HashMap<String, String>| {
        (r["userId"].clone(), r["deviceSerialNumber"].clone())
    };
    assert_eq!(
        disable.iter().map(key).collect::<Vec<_>>(),
        delete.iter().map(key).collect::<Vec<_>>()
    );
    api.shutdown().await;
}

#[tokio::test]
async fn the_bad_sample_rows_the_tenant_sees_fail_as_documented() {
    let api = Api::start(sample()).await;
    let rows = csv_rows(&samples().join("ds100-clear-pin-bad.csv"));
    let expected_by_ticket = [
        ("BAD-08", 404), // unknown user
        ("BAD-09", 404), // leading zero lost
        ("BAD-03", 404), // 37-char serial: no such DS100 credential
        ("BAD-04", 404), // not UUID-like: no such user
        ("BAD-05", 404), // padded id is not the id
        ("BAD-07", 404), // formula is not a user
        ("BAD-02", 400), // empty userId
    ];
    for (ticket, expected) in expected_by_ticket {
        let row = rows
            .iter()
            .find(|r| r["ticket"].starts_with(ticket))
            .expect(ticket);
        let status = send_row(&api, "ds100-clear-pin", row).await.status();
        assert_eq!(status, expected, "{ticket}");
    }
    api.shutdown().await;
}

#[tokio::test]
async fn exported_csvs_succeed_against_the_generated_tenant() {
    let dir = temp_dir();
    let generated = MockOptions {
        users: Some(40),
        seed: 9,
        ..sample()
    };
    let export = MockOptions {
        export_csv: Some(dir.path().join("csv")),
        ..generated.clone()
    };
    let files = export_csv(&export).unwrap();
    assert_eq!(files.len(), securid_bulk::ops::CATALOG.len());
    // run_standalone exports and returns without serving.
    run_standalone(export).await.unwrap();
    let api = Api::start(generated).await;
    let counts = run_all(&api, &dir.path().join("csv"), undo_order()).await;
    let stats = api.stats().await;
    for (op, rows) in counts {
        assert!(rows > 0, "{op}");
        assert_eq!(stats.applied_total(&op), rows, "{op}");
    }
    assert_eq!(stats.requests, stats.status_count(200));
    api.shutdown().await;
}

#[tokio::test]
async fn state_file_is_loaded_or_named_in_the_error() {
    let dir = temp_dir();
    let path = dir.path().join("tiny.json");
    let tenant = serde_json::json!({
        "users": [{"id": "u-1", "email": "one@example.com"}],
        "ds100": [{"tokenSerialNumber": "000000000131", "deviceSerialNumber": "000000001", "userId": "u-1"}],
        "sidTokens": [{"tokenSerialNumber": "0042", "userId": "u-1"}]
    });
    std::fs::write(&path, tenant.to_string()).unwrap();
    let api = Api::start(MockOptions {
        state: Some(path.clone()),
        ..sample()
    })
    .await;
    let pin = serde_json::json!({"tokenSerialNumber": "0042"});
    assert_eq!(api.patch(&sid_clear_pin("u-1"), pin).await.status(), 200);
    api.shutdown().await;

    let dangling = serde_json::json!({"users": [], "sidTokens": [{"tokenSerialNumber": "1", "userId": "ghost"}]});
    std::fs::write(&path, dangling.to_string()).unwrap();
    let err = start_err(MockOptions {
        state: Some(path.clone()),
        ..sample()
    })
    .await;
    assert!(
        matches!(err, MockError::InvalidState { .. }) && err.to_string().contains("tiny.json"),
        "{err}"
    );
    let err = start_err(MockOptions {
        state: Some(dir.path().join("nope.json")),
        ..sample()
    })
    .await;
    assert!(
        matches!(err, MockError::ReadState { .. }) && err.to_string().contains("nope.json"),
        "{err}"
    );
}

async fn start_err(opts: MockOptions) -> MockError {
    match MockServer::start(opts).await {
        Ok(_) => panic!("the mock should refuse to start"),
        Err(err) => err,
    }
}

#[cfg(unix)]
#[test]
fn export_csv_writes_owner_only_files_and_never_through_a_planted_link() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me\n").unwrap();
    let export = dir.path().join("export");
    std::fs::create_dir(&export).unwrap();
    let planted = export.join("ds100-clear-pin.csv");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let opts = MockOptions {
        export_csv: Some(export.clone()),
        ..sample()
    };
    let refused = export_csv(&opts).unwrap_err().to_string();
    assert!(refused.contains("ds100-clear-pin.csv"), "{refused}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    assert!(std::fs::symlink_metadata(&planted)
        .unwrap()
        .file_type()
        .is_symlink());

    std::fs::remove_file(&planted).unwrap();
    let written = export_csv(&opts).unwrap();
    assert!(!written.is_empty());
    for path in written {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
}
