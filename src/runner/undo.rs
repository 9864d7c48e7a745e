//! The run's undo file: opening it (a new file, or the earlier run's for a
//! resumed run), checking before anything is sent that it is no other file
//! of the run, and refusing an undo file given as input to a run it was
//! not written for (another tenant, an operation that does not undo it).

use crate::client::Connection;
use crate::config::Config;
use crate::input::{Scan, UndoMismatch};
use crate::output::{files, naming, OutputError, UndoWriter};

use super::RunError;

/// The undo file of a real run of an operation that can be undone.
pub(super) fn open_undo(
    config: &Config,
    connection: &Connection,
) -> Result<Option<UndoWriter>, RunError> {
    let (Some(inverse), Some(_)) = (config.operation.inverse(), &connection.client) else {
        return Ok(None);
    };
    if config.dry_run.is_on() {
        return Ok(None);
    }
    let path = naming::undo_path(&config.output);
    let resume = !config.resume.is_empty();
    let tenant = connection.tenant_label.clone();
    let undo = UndoWriter::open(
        &path,
        config.operation,
        inverse,
        &tenant,
        resume,
        config.force,
    )?;
    Ok(Some(undo))
}

/// Before anything is sent: the undo file a real run will write is no
/// other file of the run, and not left over from an earlier run (unless
/// resuming it or `--force`).
pub(super) fn check_undo(config: &Config) -> Result<(), RunError> {
    if config.operation.inverse().is_none() || config.dry_run.is_on() {
        return Ok(());
    }
    let undo = naming::undo_path(&config.output);
    let roles = [
        ("the input", config.input.as_path()),
        ("the results", &config.output),
        ("the retry file", &config.retry),
        ("the undo file", &undo),
    ];
    if let Some((first, second, path)) = files::first_shared(&roles) {
        return Err(RunError::Setup(format!(
            "{first} and {second} are one file, {}; choose another results name with -o",
            path.display()
        )));
    }
    if undo.exists() && config.resume.is_empty() && !config.force {
        return Err(OutputError::Exists { path: undo }.into());
    }
    files::check_creatable("the undo file", &undo, config.force)?;
    Ok(())
}

/// An undo file names, on every line, the tenant it was written against
/// and the operation it undoes (`tenant`, `undoes`). Given as input, it is
/// refused before anything is sent by a run against another tenant, or of
/// an operation other than the one that undoes it (running
/// `ds100-disable` on a `ds100-disable` undo file would do it again). The
/// scan noted what its lines say (`input::UndoStamps`), so the file is not
/// read again here.
pub(super) fn check_undo_input(
    config: &Config,
    scan: &Scan,
    connection: &Connection,
) -> Result<(), RunError> {
    let Some(stamps) = &scan.undo_stamps else {
        return Ok(());
    };
    let op = config.operation;
    // A dry run that named no tenant has none to compare.
    let tenant =
        Some(connection.tenant_label.as_str()).filter(|t| *t != crate::identity::NO_TENANT);
    let input = config.input_as_typed().display();
    match stamps.mismatch(tenant) {
        None => Ok(()),
        Some(UndoMismatch::Operation { line, undoes }) => Err(RunError::Setup(format!(
            "{input} line {line}: this undo file takes back {}, which {} does not undo; run {} on it; nothing was sent",
            undoes.name,
            op.name,
            undoes.inverse().map_or("nothing", |i| i.name),
        ))),
        Some(UndoMismatch::Tenant { line, written_for }) => Err(RunError::Setup(format!(
            "{input} line {line}: this undo file was written against {written_for}, not {}; run it against its own tenant; nothing was sent",
            connection.tenant_label,
        ))),
    }
}
