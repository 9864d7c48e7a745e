//! A target's state, read through the lookup its catalog entry names (and
//! a listing's note, such as a user pending deletion in the `report`).
//! `--verify`: after a row's change succeeded, its state is read back
//! through the lookup its catalog entry names, through the same pacer,
//! retries and token as every request. A change that did not take fails the
//! row with the state found.

use serde_json::Value;

use super::Client;
use crate::input::Checked;
use crate::ops::{Found, Operation, Verify};
use crate::outcome::{Attempted, Outcome};

impl Client {
    /// Reads the row's change back and notes what was found in
    /// `attempted.verified`; the read's requests count as the row's
    /// attempts.
    pub(super) async fn verify_change(
        &self,
        op: &Operation,
        row: &Checked,
        attempted: &mut Attempted,
    ) {
        let found = self.read_state(op, row, &mut attempted.attempts).await;
        if let Found::No(state) = &found {
            attempted.outcome = Outcome::Failed;
            attempted.message = format!(
                "the tenant answered {} but the change did not take: it shows {state}",
                attempted.http_status.unwrap_or(200)
            );
        }
        let slot = match found {
            Found::Yes => 0,
            Found::No(_) => 1,
            Found::Unknown(_) => 2,
        };
        self.traffic.verified[slot].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        attempted.verified = found.cell();
    }

    /// Reads the row's target through the lookup its catalog entry names:
    /// `Found::Yes` when it already is what the operation makes it, `No`
    /// with the state found otherwise. After a change this is the
    /// read-back; before one, it tells a change from a no-op and what the
    /// change will replace.
    pub async fn read_state(&self, op: &Operation, row: &Checked, attempts: &mut u32) -> Found {
        let Some(verify) = op.verify else {
            return Found::Unknown(format!("no lookup shows what {} changes", op.name));
        };
        self.read_through(&verify, row, attempts).await
    }

    /// Reads the row's target through `verify`'s lookup and judges it.
    pub(super) async fn read_through(
        &self,
        verify: &Verify,
        row: &Checked,
        attempts: &mut u32,
    ) -> Found {
        let Some((lookup, key)) = verify.lookup_for(|f| row.value(f)) else {
            let keys: Vec<&str> = verify.lookups.iter().map(|l| l.key.wire_name()).collect();
            return Found::Unknown(format!(
                "the row has no {} to read the change back by",
                keys.join(" or ")
            ));
        };
        let (answer, sent, _halted) = self.send_lookup(lookup, key).await;
        *attempts += sent;
        let answer: Result<&Value, Option<u16>> = match &answer {
            Ok(value) => Ok(value),
            Err(failed) => Err(failed.http_status),
        };
        verify.judge(answer, |f| row.value(f))
    }

    /// A listing read's note: added to the row's message when the
    /// listing's own read finds the row in that state.
    pub(super) async fn note_listing(
        &self,
        op: &Operation,
        row: &Checked,
        attempted: &mut Attempted,
    ) {
        let Some((read, note)) = op.lists.and_then(|l| l.note) else {
            return;
        };
        if attempted.outcome != Outcome::Ok {
            return;
        }
        if self.read_through(&read, row, &mut attempted.attempts).await == Found::Yes {
            attempted.message = match attempted.message.is_empty() {
                true => note.to_owned(),
                false => format!("{}; {note}", attempted.message),
            };
        }
    }
}
