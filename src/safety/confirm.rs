//! Confirmation before a destructive run: say what is about to happen
//! (tenant, operation, rows) and go on only with `--yes` or, on a terminal,
//! a typed answer naming the operation and the count. Without a terminal and
//! without `--yes` the run is refused: a cron job or a pipe must opt in.

use std::io::{BufRead, IsTerminal, Write};

use crate::ops::Operation;

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("{operation} changes {} on {tenant}{} and needs confirmation: pass --yes, or run it in a terminal and type the confirmation (try --dry-run first)", crate::outcome::plural(*.rows, "row", "rows"), if *.irreversible { ", which cannot be undone," } else { "" })]
    NoTerminal {
        operation: &'static str,
        rows: u64,
        tenant: String,
        irreversible: bool,
    },
    #[error("not confirmed: expected {expected:?}; nothing was sent")]
    Declined { expected: String },
}

/// What the admin is asked to approve.
pub struct Plan<'a> {
    pub operation: &'static Operation,
    pub tenant: &'a str,
    /// Rows that will be sent.
    pub rows: u64,
    /// Ask even for an operation that is not destructive (a profile marked
    /// `confirm = true`, for production).
    pub always: bool,
    /// The change ticket the run is made under.
    pub ticket: Option<&'a str>,
}

impl Plan<'_> {
    pub fn describe(&self) -> String {
        let ticket = self
            .ticket
            .map_or(String::new(), |t| format!(" under ticket {t}"));
        let undo = match (self.operation.irreversible(), self.operation.inverse()) {
            (true, _) => "\nthis cannot be undone".to_owned(),
            (false, Some(inverse)) => format!(
                "\nthe run writes an undo file beside the results; {} takes the changes back",
                inverse.name
            ),
            (false, None) => String::new(),
        };
        format!(
            "about to {} for {} ({}) on {}{ticket}{undo}",
            self.operation.summary,
            crate::outcome::plural(self.rows, "row", "rows"),
            self.operation.name,
            self.tenant
        )
    }

    /// The answer a terminal user types to go on.
    pub fn expected_answer(&self) -> String {
        format!("{} {}", self.operation.name, self.rows)
    }
}

/// Returns once the plan may go ahead. Non-destructive operations, plans
/// that send nothing, and read-only operations (`report`, which changes
/// nothing even under a profile's `confirm = true`) need no confirmation.
pub fn confirm(plan: &Plan, yes: bool) -> Result<(), ConfirmError> {
    let read_only = plan.operation.lists.is_some();
    if !(plan.operation.destructive || plan.always) || plan.rows == 0 || read_only {
        return Ok(());
    }
    eprintln!("{}", crate::terminal::printable(&plan.describe()));
    if yes {
        eprintln!("confirmed by --yes");
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(ConfirmError::NoTerminal {
            operation: plan.operation.name,
            rows: plan.rows,
            tenant: plan.tenant.to_owned(),
            irreversible: plan.operation.irreversible(),
        });
    }
    let expected = plan.expected_answer();
    eprint!("type \"{expected}\" to go on, anything else stops: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = stdin.lock().read_line(&mut answer);
    check_answer(&answer, &expected)
}

fn check_answer(answer: &str, expected: &str) -> Result<(), ConfirmError> {
    let normalised = answer.split_whitespace().collect::<Vec<_>>().join(" ");
    if normalised == expected {
        Ok(())
    } else {
        Err(ConfirmError::Declined {
            expected: expected.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{DS100_CLEAR_PIN, DS100_DELETE};

    #[test]
    fn only_the_exact_answer_goes_on() {
        let plan = Plan {
            operation: &DS100_DELETE,
            tenant: "acme.example",
            rows: 12,
            always: false,
            ticket: None,
        };
        let expected = plan.expected_answer();
        assert_eq!(expected, "ds100-delete 12");
        assert!(check_answer("  ds100-delete   12\n", &expected).is_ok());
        for wrong in ["y", "yes", "ds100-delete 13", "ds100-delete", ""] {
            assert!(check_answer(wrong, &expected).is_err(), "{wrong:?}");
        }
        assert!(plan.describe().contains("acme.example"));
        assert!(plan.describe().ends_with("this cannot be undone"));
    }

    #[test]
    fn clear_pin_needs_no_confirmation() {
        let plan = Plan {
            operation: &DS100_CLEAR_PIN,
            tenant: "acme.example",
            rows: 5,
            always: false,
            ticket: None,
        };
        assert!(confirm(&plan, false).is_ok());
    }

    #[test]
    fn a_read_only_report_is_never_asked_about() {
        let plan = Plan {
            operation: &crate::ops::REPORT,
            tenant: "acme.example",
            rows: 5,
            always: true,
            ticket: None,
        };
        assert!(confirm(&plan, false).is_ok());
    }

    #[test]
    fn the_refusal_counts_rows() {
        let err = ConfirmError::NoTerminal {
            operation: "user-delete-now",
            rows: 4,
            tenant: "acme.example".into(),
            irreversible: true,
        };
        assert!(
            err.to_string().starts_with(
                "user-delete-now changes 4 rows on acme.example, which cannot be undone,"
            ),
            "{err}"
        );
    }
}
