//! The results writer's task: it owns the results file and the undo file,
//! writes each result as it comes (a change's undo line before it, a
//! listing read's items as lines of their own), syncs once a second off the
//! runtime, and hands back the counts, the lines still to do and the undo
//! lines written.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::ops::Listing;
use crate::outcome::{RowResult, Tally};
use crate::output::{OutputError, ResultsWriter, UndoWriter};
use crate::safety::{Halt, HaltReason};

use super::{Finished, Written};

/// The writer is a task on the runtime, not a thread of its own: a result
/// handed over by a worker is written on the same core without waking
/// another thread, and a buffered write to the page cache is too short to
/// hold up the workers.
pub(super) fn spawn_writer(
    mut writer: ResultsWriter,
    mut undo: Option<UndoWriter>,
    listing: Option<&'static Listing>,
    mut results: mpsc::Receiver<Finished>,
    tally: Arc<Tally>,
    halt: Arc<Halt>,
) -> tokio::task::JoinHandle<Result<Written, OutputError>> {
    tokio::spawn(async move {
        let mut written = Written {
            to_retry: BTreeSet::new(),
            refused_for_good: 0,
            undone: None,
        };
        let mut sync_tick = tokio::time::interval(std::time::Duration::from_secs(1));
        sync_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let (record, result) = tokio::select! {
                finished = results.recv() => match finished {
                    Some(finished) => finished,
                    None => break,
                },
                _ = sync_tick.tick() => {
                    if let Err(e) = sync_off_runtime(&mut writer).await {
                        halt.stop(HaltReason::Fatal(format!("cannot write results: {e}")));
                        return Err(e);
                    }
                    continue;
                }
            };
            // Results already queued are written before one flush: each is
            // on disk as soon as the writer has caught up, without a system
            // call per row when rows come faster than one at a time.
            let lines = result_lines(record, &result, listing);
            // The undo line first: a row whose result is on disk has its
            // undo line on disk too, so a resumed run that skips the row
            // does not lose it.
            let mut stored = match (&mut undo, &result.undo) {
                (Some(undo), Some(values)) => undo.append(values),
                _ => Ok(()),
            };
            if stored.is_ok() {
                stored = lines
                    .iter()
                    .try_for_each(|line| writer.append(line, &result));
            }
            if stored.is_ok() && results.is_empty() {
                stored = writer.flush();
            }
            if let Err(e) = stored {
                halt.stop(HaltReason::Fatal(format!("cannot write results: {e}")));
                return Err(e);
            }
            if result.outcome.needs_attention() {
                written.to_retry.insert(result.line);
            }
            written.refused_for_good += u64::from(result.refused_for_good());
            tally.add(result.outcome);
        }
        if let Some(undo) = undo {
            written.undone = Some(undo.finish().inspect_err(|e| {
                halt.stop(HaltReason::Fatal(format!(
                    "cannot write the undo file: {e}"
                )));
            })?);
        }
        // Putting a large file back in input order is real work: off the
        // runtime.
        let path = writer.path().to_owned();
        let finished = tokio::task::spawn_blocking(move || writer.finish()).await;
        finished.unwrap_or_else(|e| {
            Err(OutputError::Io {
                path,
                source: std::io::Error::other(e.to_string()),
            })
        })?;
        Ok(written)
    })
}

/// The results header: the input's columns, then a listing's item columns.
pub(super) fn listed_header(
    input: &csv::StringRecord,
    listing: Option<&Listing>,
) -> csv::StringRecord {
    let mut header = input.clone();
    for column in listing.map(|l| l.columns).unwrap_or_default() {
        header.push_field(column);
    }
    header
}

/// One row's results lines: the row itself, or for a listing read one line
/// per item after the row's cells (one line with the item columns empty
/// when there is no item: an empty list, a failure, a row not sent).
fn result_lines(
    record: csv::StringRecord,
    result: &RowResult,
    listing: Option<&Listing>,
) -> Vec<csv::StringRecord> {
    let Some(listing) = listing else {
        return vec![record];
    };
    let with = |cells: &[String]| {
        let mut line = record.clone();
        for i in 0..listing.columns.len() {
            line.push_field(cells.get(i).map_or("", String::as_str));
        }
        line
    };
    match result.listed.as_slice() {
        [] => vec![with(&[])],
        items => items.iter().map(|item| with(item)).collect(),
    }
}

/// Syncs what the writer flushed on a blocking thread: an fdatasync can
/// take long on a slow disk, and the runtime's one worker thread must keep
/// sending requests and firing timers meanwhile.
async fn sync_off_runtime(writer: &mut ResultsWriter) -> Result<(), OutputError> {
    let Some(file) = writer.take_unsynced()? else {
        return Ok(());
    };
    let synced = tokio::task::spawn_blocking(move || file.sync_data()).await;
    synced
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
        .map_err(|source| OutputError::Io {
            path: writer.path().to_owned(),
            source,
        })
}
