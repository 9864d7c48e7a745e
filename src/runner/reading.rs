//! The run's reader: streams the input (or an `apply` run's plan) and
//! sends each row where it belongs, to the workers or, when no request is
//! needed, straight to the results writer. Every row gets a result, also
//! after a halt.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::{Config, DryRun};
use crate::input::{Done, InputError, Row, Rows, Scan, Verdict};
use crate::outcome::{Outcome, RowResult};
use crate::safety::{Canary, Halt};

use super::handoff::Handoff;
use super::{planning, Finished};

/// Streams the input: rows that need no request go straight to the writer,
/// the rest to the workers. After a halt, every remaining row is still read
/// and written as not attempted. It runs on a thread of its own, so that
/// reading and validating overlap with writing, and hands rows over in
/// batches (see [`Handoff`]). `done` is what the `--resume` files did, for
/// an `apply` run (a CSV input's scan has marked those rows already).
pub(super) fn spawn_reader(
    config: Arc<Config>,
    (scan, done): (Arc<Scan>, Done),
    work: mpsc::Sender<Row>,
    results: mpsc::Sender<Finished>,
    halt: Arc<Halt>,
) -> tokio::task::JoinHandle<Result<(), InputError>> {
    let canary = Canary::new(config.limit);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut work = Handoff::new(work, runtime.clone());
        let mut results = Handoff::new(results, runtime);
        let read = (|| {
            let rows: Box<dyn Iterator<Item = Result<Row, InputError>>> = match &config.apply {
                Some(applying) => Box::new(planning::plan_rows(&config, applying, (&scan, &done))?),
                None => Box::new(Rows::open(config.operation, &scan)?),
            };
            for row in rows {
                let row = row?;
                let Some((outcome, message)) = unsent(&config, &row, &halt, &canary) else {
                    // Results known so far go out before the reader may wait
                    // for the workers: nothing known sits in a queue.
                    if work.hands_over_next() {
                        let _ = results.flush();
                    }
                    if let Err(refused) = work.push(row) {
                        hand_back(refused, &mut results, &halt);
                    }
                    continue;
                };
                let result = RowResult::unsent(row.line, outcome, message);
                let _ = results.push((row.record, result));
            }
            Ok(())
        })();
        // Rows still queued are handed over even when reading failed.
        if let Err(refused) = work.flush() {
            hand_back(refused, &mut results, &halt);
        }
        let _ = results.flush();
        read
    })
}

/// Rows the workers can no longer take go to the results as not attempted.
fn hand_back(refused: Vec<Row>, results: &mut Handoff<Finished>, halt: &Halt) {
    for row in refused {
        let _ = results.push(not_attempted(row, halt));
    }
}

pub(super) fn not_attempted(row: Row, halt: &Halt) -> Finished {
    let result = RowResult::unsent(
        row.line,
        Outcome::NotAttempted,
        halt.not_attempted_message(),
    );
    (row.record, result)
}

/// Why a row is not sent, and its message; `None` when it goes to a worker.
fn unsent(config: &Config, row: &Row, halt: &Halt, canary: &Canary) -> Option<(Outcome, String)> {
    match &row.checked.verdict {
        Verdict::Invalid(why) => Some((Outcome::Invalid, why.clone())),
        Verdict::Skip(why) => Some((Outcome::Skipped, why.clone())),
        Verdict::Ready if matches!(config.dry_run, DryRun::Offline { .. }) => {
            Some((Outcome::Valid, row.checked.notes.join("; ")))
        }
        Verdict::Ready if halt.is_set() => {
            Some((Outcome::NotAttempted, halt.not_attempted_message()))
        }
        Verdict::Ready if matches!(config.dry_run, DryRun::Off(_)) && !canary.admit() => {
            Some((Outcome::NotAttempted, canary.message()))
        }
        Verdict::Ready => None,
    }
}
