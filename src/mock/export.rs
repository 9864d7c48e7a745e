//! `--export-csv DIR`: one input CSV per operation, every row of which
//! succeeds against the tenant the same options describe. The benchmark
//! generates `--users 20000`, exports, then runs each file against a fresh
//! mock started with the same options.
//!
//! Run them in the catalog's order (what restores, then what takes away,
//! `user-disable` before `user-delete`), each undo right after the file it
//! undoes: `ds100-delete.csv` removes the credentials the clear-PIN file
//! names, `user-delete.csv` marks deleted the users `user-disable.csv`
//! disabled, `sid-assign.csv` and `user-undelete.csv` take back
//! `sid-unassign.csv` and `user-delete.csv`, and `user-delete-now.csv`
//! then deletes those users.

use std::path::{Path, PathBuf};

use super::state::Tenant;
use super::stats as names;
use super::{load_tenant, MockError, MockOptions};
use crate::output::files;

/// Writes one CSV per operation into `dir` (created if missing) and returns their
/// paths. Does nothing without `opts.export_csv`.
pub fn export_csv(opts: &MockOptions) -> Result<Vec<PathBuf>, MockError> {
    let Some(dir) = &opts.export_csv else {
        return Ok(Vec::new());
    };
    let tenant = load_tenant(opts)?;
    std::fs::create_dir_all(dir).map_err(|e| export_error(dir, e.to_string()))?;
    let files = [
        (names::DS100_CLEAR_PIN, ds100_clear_pin_rows(&tenant)),
        (names::SID_CLEAR_PIN, sid_clear_pin_rows(&tenant)),
        (names::DS100_ENABLE, ds100_disable_rows(&tenant)),
        (names::SID_ENABLE, sid_clear_pin_rows(&tenant)),
        (names::USER_ENABLE, user_rows(&tenant)),
        (names::DS100_DISABLE, ds100_disable_rows(&tenant)),
        (names::SID_DISABLE, sid_clear_pin_rows(&tenant)),
        (names::DS100_DELETE, ds100_delete_rows(&tenant)),
        (names::SID_UNASSIGN, sid_clear_pin_rows(&tenant)),
        (names::USER_DISABLE, user_rows(&tenant)),
        (names::USER_DELETE, user_rows(&tenant)),
        (names::SID_ASSIGN, sid_clear_pin_rows(&tenant)),
        (names::USER_UNDELETE, user_rows(&tenant)),
        (names::USER_DELETE_NOW, user_rows(&tenant)),
    ];
    files
        .into_iter()
        .map(|(op, rows)| write_csv(&dir.join(format!("{op}.csv")), &rows))
        .collect()
}

type Rows = Vec<Vec<String>>;

fn ds100_clear_pin_rows(tenant: &Tenant) -> Rows {
    let mut rows = vec![header(&["userId", "tokenSerialNumber"])];
    rows.extend(
        tenant
            .ds100_credentials()
            .map(|c| vec![c.user_id.clone(), c.token_serial_number.clone()]),
    );
    rows
}

fn sid_clear_pin_rows(tenant: &Tenant) -> Rows {
    let mut rows = vec![header(&["userId", "tokenSerialNumber"])];
    rows.extend(tenant.sid_tokens().filter_map(|t| {
        let user = t.user_id.clone()?;
        Some(vec![user, t.token_serial_number.clone()])
    }));
    rows
}

/// One row per (user, device): disable acts on all of a user's credentials
/// on a device, so a second row would only repeat the first.
fn ds100_disable_rows(tenant: &Tenant) -> Rows {
    let mut rows = vec![header(&["userId", "deviceSerialNumber"])];
    rows.extend(
        tenant
            .ds100_user_devices()
            .into_iter()
            .map(|(user, device)| vec![user.to_string(), device.to_string()]),
    );
    rows
}

fn ds100_delete_rows(tenant: &Tenant) -> Rows {
    let mut rows = vec![header(&[
        "userId",
        "tokenSerialNumber",
        "deviceSerialNumber",
    ])];
    rows.extend(tenant.ds100_credentials().map(|c| {
        vec![
            c.user_id.clone(),
            c.token_serial_number.clone(),
            c.device_serial_number.clone(),
        ]
    }));
    rows
}

/// Every user that is not from a SCIM source (whose deletion is refused).
fn user_rows(tenant: &Tenant) -> Rows {
    let mut rows = vec![header(&["userId"])];
    rows.extend(
        tenant
            .users()
            .filter(|u| u.identity_source.is_none())
            .map(|u| vec![u.id.clone()]),
    );
    rows
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Written the one way every output is: owner-only, replaced whole, never
/// through a symbolic link planted at the file's name.
fn write_csv(path: &Path, rows: &Rows) -> Result<PathBuf, MockError> {
    files::replace_whole(path, false, |file| {
        let mut writer = csv::Writer::from_writer(file);
        for row in rows {
            writer.write_record(row)?;
        }
        writer.flush()
    })
    .map_err(|e| export_error(path, e.to_string()))?;
    Ok(path.to_path_buf())
}

fn export_error(path: &Path, reason: String) -> MockError {
    MockError::Export {
        path: path.to_path_buf(),
        reason,
    }
}
