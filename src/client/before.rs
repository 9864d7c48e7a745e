//! The state a reversible change replaces. Before a change that can be
//! undone, the target is read once (through the read `--verify` uses). A
//! target already in the wanted state is left out of the undo file, so the
//! undo never touches it; it is still sent (the tenant answers 200 again,
//! and the row's result is the tenant's), except where the tenant refuses
//! a change already made (409), which would only fail the row. A target
//! that changes gets its line in the undo file once the tenant took the
//! change.

use crate::input::Checked;
use crate::ops::{Found, Operation, Undo};
use crate::outcome::{Attempted, Outcome};

use super::Client;

impl Client {
    /// The target's state before the change, for an operation that can be
    /// undone; `None` for one that cannot (nothing is read).
    pub(super) async fn state_before(
        &self,
        op: &Operation,
        row: &Checked,
        attempts: &mut u32,
    ) -> Option<Found> {
        op.inverse()?;
        Some(self.read_state(op, row, attempts).await)
    }
}

/// Whether the tenant refuses the change for a target already changed.
pub(super) fn refused_when_done(op: &Operation) -> bool {
    matches!(
        op.undo,
        Undo::By {
            refused_when_done: true,
            ..
        }
    )
}

/// The answer for a row whose target already is what the operation makes
/// it, when the tenant would refuse the change: nothing is sent and
/// nothing goes in the undo file.
pub(super) fn already_done(op: &Operation, attempts: u32) -> Attempted {
    let message = format!(
        "the tenant already shows what {} makes it: nothing sent, nothing to undo",
        op.name
    );
    Attempted::ended(Outcome::Ok, None, attempts, message)
}

/// Notes the row's undo line after its change: the target's values when
/// the tenant took a change the run knows it made, otherwise why the row
/// is left out of the undo file.
pub(super) fn note_undo(
    op: &Operation,
    before: Option<&Found>,
    row: &Checked,
    attempted: &mut Attempted,
) {
    let (Undo::By { inverse, .. }, Some(before)) = (op.undo, before) else {
        return;
    };
    if attempted.outcome != Outcome::Ok {
        return;
    }
    let changed = match (before, op.undo) {
        (Found::No(_), _) => Ok(()),
        // The tenant refuses the change for a target already changed, so
        // its 200 is proof enough.
        (
            Found::Unknown(_),
            Undo::By {
                refused_when_done: true,
                ..
            },
        ) => Ok(()),
        (Found::Unknown(why), _) => Err(format!(
            "not in the undo file: the state before the change is unknown ({why})"
        )),
        (Found::Yes, _) => Err(format!(
            "not in the undo file: the tenant showed what {} makes it before the run",
            op.name
        )),
    };
    match changed {
        Ok(()) => {
            let values = inverse
                .fields()
                .filter_map(|field| Some((field, row.value(field)?.to_owned())))
                .filter(|(_, value)| !value.is_empty())
                .collect();
            attempted.undo = Some(values);
        }
        Err(why) if attempted.message.is_empty() => attempted.message = why,
        Err(why) => attempted.message = format!("{}; {why}", attempted.message),
    }
}
