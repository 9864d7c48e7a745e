//! A row naming a user but no credential stands for each credential of the
//! operation's kind that the user holds: the user's authenticators are
//! listed (once per user for the run) and the row becomes one row per
//! credential. And a dry run with lookups checks that the row's user holds
//! the credential the row names, as the real run will find out.

use serde_json::Value;

use super::Client;
use crate::input::{check_value, Checked};
use crate::ops::{Field, Found, Operation};
use crate::outcome::{Attempted, Outcome};

impl Client {
    /// The row as one row per credential of `op`'s kind its user holds.
    /// `Err` is the row's account when the listing failed or found none.
    pub(super) async fn expand(
        &self,
        op: &Operation,
        row: &Checked,
        attempts: &mut u32,
    ) -> Result<Vec<Checked>, Attempted> {
        let Some(credential) = op.credential else {
            return Ok(vec![row.clone()]);
        };
        let Some(user) = row.value(Field::UserId) else {
            let message = "no userId to list the user's credentials by".to_owned();
            return Err(Attempted::failed_here(None, *attempts, message));
        };
        let (answer, sent) = self.look_up(credential.listing, user).await;
        *attempts += sent;
        let context = format!(
            "listing the {} credentials of userId {user}",
            credential.kind
        );
        let answer = match answer.as_ref() {
            Ok(answer) => answer,
            Err(failed) => {
                let mut failed = failed.clone();
                failed.attempts = *attempts;
                if failed.outcome != Outcome::NotAttempted {
                    failed.message = format!("{context}: {}", failed.message);
                }
                return Err(failed);
            }
        };
        let failed =
            |why: String| Attempted::failed_here(Some(200), *attempts, format!("{context}: {why}"));
        let Some(devices) = answer.get("devices").and_then(Value::as_array) else {
            return Err(failed("the tenant's answer has no devices".into()));
        };
        let mut rows = Vec::new();
        let of_kind = devices.iter().filter(|d| {
            d.get("deviceType").and_then(Value::as_str) == Some(credential.device_type)
        });
        for device in of_kind {
            let mut one = row.clone();
            for (field, member) in credential.fields {
                let Some(value) = device.get(*member).and_then(Value::as_str) else {
                    continue;
                };
                let value = check_value(*field, value).map_err(|problem| {
                    failed(format!("the tenant's {field} is unusable: {problem}"))
                })?;
                one.resolve(*field, value);
            }
            // Credentials that make the same request are one target (two
            // DS100 credentials of one user on one device are disabled
            // together).
            let identity = one.identity(op);
            if !rows.iter().any(|r: &Checked| r.identity(op) == identity) {
                rows.push(one);
            }
        }
        if rows.is_empty() {
            return Err(failed(format!(
                "the user holds no {} credential",
                credential.kind
            )));
        }
        Ok(rows)
    }

    /// A row naming only a user, changed for each credential of the
    /// operation's kind the user holds: one account naming each serial.
    /// `Err` when the listing failed or found none.
    pub(super) async fn change_each(
        &self,
        op: &'static Operation,
        row: &Checked,
        verify: bool,
        attempts: &mut u32,
    ) -> Result<Attempted, Attempted> {
        let rows = self.expand(op, row, attempts).await?;
        let mut accounts = Vec::with_capacity(rows.len());
        for one in &rows {
            let account = self.change(op, one, verify, None).await;
            accounts.push((serial_of(one), account));
        }
        Ok(super::plan::combine(accounts))
    }

    /// Whether the row's user holds the credential the row names, read
    /// as the lookup that shows who holds it. `None` when the row gives
    /// nothing to read it by, the operation acts on no credential, or a
    /// resolver already chose the credential by its holder through that
    /// same lookup (`resolved` holds what the row's lookups found). The
    /// read is not kept in the run's lookup cache: one per row would hold
    /// every answer of a large file in memory.
    pub(super) async fn check_holder(
        &self,
        op: &Operation,
        row: &Checked,
        resolved: &[(Field, String)],
        attempts: &mut u32,
    ) -> Option<Found> {
        let verify = op.credential?.holder_check();
        // The resolver that filled a field is the first for it whose key
        // the row has.
        let chosen_by_holder = resolved.iter().any(|(field, _)| {
            op.resolvers_for(*field)
                .find(|r| row.value(r.lookup.key).is_some())
                .is_some_and(|r| verify.lookups.iter().any(|l| std::ptr::eq(*l, r.lookup)))
        });
        if chosen_by_holder {
            return None;
        }
        let (lookup, key) = verify.lookup_for(|f| row.value(f))?;
        let (answer, sent, _halted) = self.send_lookup(lookup, key).await;
        *attempts += sent;
        let answer = match &answer {
            Ok(value) => Ok(value),
            Err(failed) => Err(failed.http_status),
        };
        Some(verify.judge(answer, |f| row.value(f)))
    }
}

/// The serials a row's credentials go by, for its results line.
pub(super) fn serial_of(row: &Checked) -> Option<String> {
    row.value(Field::TokenSerialNumber)
        .or_else(|| row.value(Field::DeviceSerialNumber))
        .map(str::to_owned)
}
