//! Planning and applying one row. A plan resolves the row, reads its
//! target's state through [`Client::read_state`] and records what `apply`
//! will do: the exact request (`change`), nothing (`no-op`: already in the
//! wanted state), or nothing with a reason (`fail`). `apply` sends a
//! planned change only after reading the target again, unless told not to,
//! and skips it as stale when the state moved since the plan.

use std::collections::BTreeMap;

use super::Client;
use crate::input::Checked;
use crate::ops::{Expect, Field, Found, Operation};
use crate::outcome::{Action, Attempted, Outcome, Planned, PlannedTarget};

/// The identifiers a plan records for a target.
const IDS: [Field; 3] = [
    Field::UserId,
    Field::TokenSerialNumber,
    Field::DeviceSerialNumber,
];

impl Client {
    /// Plans one row: its lookups, then its target's state. Sends nothing
    /// that changes the tenant. The row's account is `valid` when the plan
    /// can do something with it (a change or a no-op), `failed` otherwise.
    pub async fn plan_row(&self, op: &'static Operation, row: &Checked) -> (Attempted, Planned) {
        let resolution = match self.resolve(op, row).await {
            Ok(resolution) => resolution,
            Err(failed) => {
                let planned = Planned::failed(lookup_failure_kind(&failed), failed.message.clone());
                return (failed, planned);
            }
        };
        let mut attempts = resolution.attempts;
        let rows = match op.expands(|f| resolution.row.value(f)) {
            true => match self.expand(op, &resolution.row, &mut attempts).await {
                Ok(rows) => rows,
                Err(failed) => {
                    let kind = match failed.message.contains("holds no") {
                        true => "no such credential",
                        false => lookup_failure_kind(&failed),
                    };
                    let planned = Planned::failed(kind, failed.message.clone());
                    return (failed, planned);
                }
            },
            false => vec![resolution.row.clone().into_owned()],
        };
        let mut planned = Planned::default();
        for row in &rows {
            let target = self
                .plan_target(op, row, &resolution.resolved, &mut attempts)
                .await;
            planned.targets.push(target);
        }
        if self.halt.is_set() {
            let message = self.halt.not_attempted_message();
            let attempted = Attempted::ended(Outcome::NotAttempted, None, attempts, message);
            return (
                attempted,
                Planned::failed("not planned", "the run stopped first"),
            );
        }
        let doable = planned
            .targets
            .iter()
            .any(|t| !matches!(t.action, Action::Fail { .. }));
        let outcome = if doable {
            Outcome::Valid
        } else {
            Outcome::Failed
        };
        let status = (attempts > 0).then_some(200);
        let mut attempted = Attempted::ended(outcome, status, attempts, planned.describe());
        attempted.resolved = resolution.resolved;
        (attempted, planned)
    }

    async fn plan_target(
        &self,
        op: &'static Operation,
        row: &Checked,
        resolved: &[(Field, String)],
        attempts: &mut u32,
    ) -> PlannedTarget {
        let prepared = self.prepare(op, row);
        let change = Action::Change {
            method: op.method.as_str().to_owned(),
            path: prepared.url.path().to_owned(),
            body: prepared.body,
        };
        let ids = ids_of(row);
        let Some(verify) = op.verify else {
            // No lookup shows what the operation changes (a PIN): a row whose
            // user holds the credential is a change, and apply cannot
            // re-check it.
            let action = match self.check_holder(op, row, resolved, attempts).await {
                Some(found @ Found::Missing { held_by: Some(_) }) => {
                    fail("not this user's", &found)
                }
                Some(found @ Found::Missing { held_by: None }) => fail("not found", &found),
                _ => change,
            };
            return PlannedTarget {
                ids,
                state: None,
                action,
            };
        };
        let sent_before = *attempts;
        let found = self.read_state(op, row, attempts).await;
        let (state, action) = match found {
            // Nothing to read the state by (a user given only by userId: the
            // tenant looks users up by email or username): a change whose
            // state apply cannot re-check.
            Found::Unknown(_) if *attempts == sent_before => (None, change),
            Found::Yes => (Some(wanted(verify.expect)), Action::NoOp),
            Found::No(state) => (Some(state), change),
            Found::Missing { held_by: None } => (None, fail("not found", &found)),
            Found::Missing { held_by: Some(_) } => (None, fail("not this user's", &found)),
            Found::Unknown(_) => (None, fail("state unknown", &found)),
        };
        PlannedTarget { ids, state, action }
    }

    /// Applies one planned row: each planned change in turn, each re-read
    /// first when `recheck`. A row with several targets gets one account
    /// naming each.
    pub async fn apply_row(
        &self,
        op: &'static Operation,
        row: &Checked,
        planned: &Planned,
        recheck: bool,
        verify: bool,
    ) -> Attempted {
        let mut accounts = Vec::new();
        for target in planned.changes() {
            let mut target_row = row.clone();
            for field in IDS {
                if let Some(value) = target.ids.get(field.wire_name()) {
                    target_row.resolve(field, value);
                }
            }
            let account = self
                .apply_target(op, &target_row, target, recheck, verify)
                .await;
            accounts.push((serial_of(target), account));
        }
        combine(accounts)
    }

    async fn apply_target(
        &self,
        op: &'static Operation,
        row: &Checked,
        target: &PlannedTarget,
        recheck: bool,
        verify: bool,
    ) -> Attempted {
        let Action::Change { method, path, body } = &target.action else {
            return Attempted::ended(Outcome::Skipped, None, 0, "no change planned".into());
        };
        let prepared = self.prepare(op, row);
        if prepared.method.as_str() != method
            || prepared.url.path() != path
            || prepared.body.as_deref() != body.as_deref()
        {
            let message = format!(
                "the plan's request ({method} {path}) is not the one {} sends for this row ({} {}); make the plan again",
                op.name,
                prepared.method.as_str(),
                prepared.url.path()
            );
            return Attempted::failed_here(None, 0, message);
        }
        let mut attempts = 0;
        // The state the change replaces, for the undo file: what the plan
        // saw, confirmed by the re-read when there is one.
        let known = target.state.as_ref().map(|then| Found::No(then.clone()));
        if let (true, Some(_), Some(then)) = (recheck, op.verify, &target.state) {
            let now = self.read_state(op, row, &mut attempts).await;
            if self.halt.is_set() {
                let message = self.halt.not_attempted_message();
                return Attempted::ended(Outcome::NotAttempted, None, attempts, message);
            }
            if !matches!(&now, Found::No(state) if state == then) {
                let message = format!(
                    "stale: the plan saw {then}, the tenant now shows {}; not sent",
                    now_text(op, &now)
                );
                return Attempted::ended(Outcome::Skipped, Some(200), attempts, message);
            }
        }
        let mut attempted = self.change(op, row, verify, known).await;
        attempted.attempts += attempts;
        attempted
    }
}

/// The state an operation leaves its target in, in the plan's words.
fn wanted(expect: Expect) -> String {
    match expect {
        Expect::Member(name, value) => format!("{name}={value}"),
        Expect::Gone => "gone".to_owned(),
        Expect::Held => "held by the row's user".to_owned(),
    }
}

fn now_text(op: &Operation, found: &Found) -> String {
    match (found, op.verify) {
        (Found::Yes, Some(verify)) => wanted(verify.expect),
        _ => found.describe(),
    }
}

fn fail(kind: &str, found: &Found) -> Action {
    Action::Fail {
        kind: kind.to_owned(),
        reason: found.describe(),
    }
}

/// How a failed lookup is counted in the plan's summary.
fn lookup_failure_kind(failed: &Attempted) -> &'static str {
    match failed.http_status {
        _ if failed.outcome == Outcome::NotAttempted => "not planned",
        _ if failed.message.contains("belongs to") => "not this user's",
        Some(404) => "not found",
        _ => "lookup failed",
    }
}

fn ids_of(row: &Checked) -> BTreeMap<String, String> {
    IDS.into_iter()
        .filter_map(|f| {
            row.value(f)
                .map(|v| (f.wire_name().to_owned(), v.to_owned()))
        })
        .collect()
}

fn serial_of(target: &PlannedTarget) -> Option<String> {
    target
        .ids
        .get(Field::TokenSerialNumber.wire_name())
        .or_else(|| target.ids.get(Field::DeviceSerialNumber.wire_name()))
        .cloned()
}

/// One account for a row's targets: the first that needs attention sets
/// the outcome; each message is prefixed with its serial when there are
/// several.
pub(super) fn combine(mut accounts: Vec<(Option<String>, Attempted)>) -> Attempted {
    if accounts.len() == 1 {
        if let Some((_, account)) = accounts.pop() {
            return account;
        }
    }
    let Some((_, first)) = accounts.first() else {
        return Attempted::ended(Outcome::Skipped, None, 0, "no change planned".into());
    };
    let mut combined = first.clone();
    let rank = |o: Outcome| match o {
        Outcome::Failed => 0,
        Outcome::NotAttempted => 1,
        Outcome::Skipped => 2,
        _ => 3,
    };
    combined.attempts = accounts.iter().map(|(_, a)| a.attempts).sum();
    combined.outcome = accounts
        .iter()
        .map(|(_, a)| a.outcome)
        .min_by_key(|o| rank(*o))
        .unwrap_or(Outcome::Ok);
    combined.message = accounts
        .iter()
        .map(|(serial, a)| match serial {
            Some(serial) => {
                format!("{serial}: {}", a.outcome.as_str()).to_owned()
                    + if a.message.is_empty() { "" } else { " " }
                    + &a.message
            }
            None => a.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    combined.auth_refused = accounts.iter().any(|(_, a)| a.auth_refused);
    combined.undo = accounts.iter().flat_map(|(_, a)| a.undo.clone()).collect();
    combined.unreachable = accounts.iter().all(|(_, a)| a.unreachable);
    combined
}
