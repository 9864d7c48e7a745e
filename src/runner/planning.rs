//! The runner's side of plans: the plan written as rows finish (`--plan`),
//! and an `apply` run's rows read from its plan instead of a CSV file. The
//! reader, the workers and the writer are the run's own.

use std::collections::BTreeSet;
use std::path::Path;

use crate::client::Connection;
use crate::config::Config;
use crate::input::{self, ColumnMap, Done, InputError, Row, Scan, Verdict};
use crate::outcome::{Outcome, Planned, RowResult};
use crate::plan::{self, Applying, CreatedBy, Entry, Header, InputFile, PlanReader, PlanWriter};

use super::RunError;

fn plan_error(path: &Path, e: impl std::fmt::Display) -> InputError {
    InputError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// The scan of an `apply` run: the plan's input columns, its rows, and the
/// rows it changes; with the rows the `--resume` files did, read once for
/// the run (its reader skips them, see [`plan_rows`]).
pub(super) fn scan_plan(config: &Config, applying: &Applying) -> Result<(Scan, Done), InputError> {
    let header = csv::StringRecord::from(applying.plan.header.columns.clone());
    let columns = ColumnMap::build(&applying.path, header, config.operation)?;
    let tally = &applying.plan.tally;
    let ready = tally.rows.min(tally.changes);
    // The results of an apply record the input the plan was made from.
    let sha256 = applying.plan.header.input.sha256.clone();
    // The plan's own rows are read by `plan_rows`, never through the source.
    let source = input::Source::csv(&applying.path, b',');
    let scan = Scan::of_rows(columns, source, (tally.rows, ready), sha256);
    let done = Done::load(&config.resume, config.operation)?;
    Ok((scan, done))
}

/// An `apply` run's rows: each plan entry as the row it was made from, its
/// planned identifiers and its plan. A row with no change planned is
/// skipped, saying what the plan found; a row an earlier run did is
/// skipped as in any resumed run (`done`, from [`scan_plan`]).
pub(super) fn plan_rows<'a>(
    config: &'a Config,
    applying: &'a Applying,
    (scan, done): (&'a Scan, &'a Done),
) -> Result<impl Iterator<Item = Result<Row, InputError>> + 'a, InputError> {
    let path = applying.path.clone();
    let (mut reader, _) = PlanReader::open(&path).map_err(|e| plan_error(&path, e))?;
    let op = config.operation;
    Ok(std::iter::from_fn(move || {
        let (entry, _) = match reader.next_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => return None,
            Err(e) => return Some(Err(plan_error(&path, e))),
        };
        let record = csv::StringRecord::from(entry.input);
        let raw = input::RawRow {
            line: entry.line,
            record,
        };
        let mut checked = input::check_row(op, &scan.columns, &raw);
        if checked.is_ready() {
            checked.verdict = match done.find(&checked.identity(op)) {
                Some((file, line)) => {
                    Verdict::Skip(format!("done in an earlier run ({file} line {line})"))
                }
                None if entry.planned.changes().next().is_none() => {
                    Verdict::Skip(entry.planned.describe())
                }
                None => Verdict::Ready,
            };
        }
        Some(Ok(Row {
            line: raw.line,
            record: raw.record,
            checked,
            planned: Some(Box::new(entry.planned)),
        }))
    }))
}

/// Opens the plan a `--plan` run writes, its header naming the tenant,
/// the input and who made it.
pub(super) fn create_plan(
    config: &Config,
    scan: &Scan,
    connection: &Connection,
) -> Result<Option<PlanWriter>, RunError> {
    let Some(path) = &config.plan else {
        return Ok(None);
    };
    let sha256 = scan.sha256.clone();
    let name = config.input_as_typed().display().to_string();
    let header = Header {
        securid_bulk_plan: plan::FORMAT,
        tenant: connection.tenant_label.clone(),
        operation: config.operation.name.to_owned(),
        input: InputFile { name, sha256 },
        created_at: plan::now_rfc3339(),
        created_by: CreatedBy {
            os_user: plan::os_user(),
            credential: connection.credential_id.clone(),
        },
        ticket: config.ticket.clone(),
        rows: scan.rows,
        columns: scan.columns.header.iter().map(str::to_owned).collect(),
    };
    let writer = PlanWriter::create(path, &header, config.force)
        .map_err(|e| RunError::Setup(e.to_string()))?;
    Ok(Some(writer))
}

/// A finished row as the plan records it: what planning found, or for a
/// row never sent, why it cannot be done.
pub(super) fn entry_of(record: &csv::StringRecord, result: &mut RowResult) -> Entry {
    let planned = result.planned.take().map_or_else(
        || {
            let kind = match result.outcome {
                Outcome::Invalid => "invalid",
                Outcome::Skipped => "skipped",
                _ => "not planned",
            };
            Planned::failed(kind, result.message.clone())
        },
        |planned| *planned,
    );
    Entry {
        line: result.line,
        input: record.iter().map(str::to_owned).collect(),
        planned,
    }
}

/// The retry file of an `apply` run: the plan's input rows at `lines`, as
/// CSV, so they can be planned again.
pub(super) fn write_plan_retry(
    config: &Config,
    applying: &Applying,
    lines: &BTreeSet<u64>,
    identity: &crate::identity::RunIdentity,
) -> Result<(), RunError> {
    let path = applying.path.clone();
    let (mut reader, header) = PlanReader::open(&path).map_err(|e| plan_error(&path, e))?;
    let header = Ok(Some(csv::StringRecord::from(header.columns)));
    let rows = std::iter::from_fn(move || match reader.next_entry() {
        Ok(Some((entry, _))) => Some(Ok((entry.line, csv::StringRecord::from(entry.input)))),
        Ok(None) => None,
        Err(e) => Some(Err(plan_error(&path, e))),
    });
    let input = crate::output::InputRows { header, rows };
    let retry = crate::output::Retry {
        delimiter: b',',
        lines,
        path: &config.retry,
        force: config.force,
        identity,
    };
    crate::output::write_retry_file(input, &retry)?;
    Ok(())
}

/// Refuses before anything is sent a plan path that could not be written.
pub(super) fn check_plan_path(path: &Path, force: bool) -> Result<(), RunError> {
    if path.exists() && !force {
        return Err(RunError::Setup(format!(
            "the plan {} already exists; choose another path or pass --force",
            path.display()
        )));
    }
    crate::output::files::check_creatable("--plan", path, force)?;
    Ok(())
}

/// What an `apply` run is about to do, before it does it.
pub(super) fn banner(
    op: &crate::ops::Operation,
    applying: &Applying,
    approvers: &[String],
) -> String {
    let header = &applying.plan.header;
    let ticket = header
        .ticket
        .as_deref()
        .map_or_else(String::new, |t| format!(", ticket {t}"));
    let approved = match approvers {
        [] => String::new(),
        names => format!(", approved by {}", names.join(", ")),
    };
    format!(
        "apply: {} ({}), made {} by {}{ticket}{approved}, checked ({})\n{}",
        applying.path.display(),
        header.tenant,
        header.created_at,
        header.created_by.os_user,
        applying.plan.digest,
        plan::summary_line(op, &applying.plan.tally),
    )
}

/// The principals whose approvals an `apply` run's plan carries, checked
/// against what its profile requires, before anything is sent; none for
/// any other run.
pub(super) fn approvers(config: &Config) -> Result<Vec<String>, RunError> {
    let Some(applying) = &config.apply else {
        return Ok(Vec::new());
    };
    let signers = config.allowed_signers.as_deref();
    Ok(applying.approvers(config.approvals_required, signers)?)
}

/// Refuses an `apply` whose plan was made for another tenant than the one
/// connected to, then shows what it is about to do.
pub(super) fn check_applied_tenant(
    config: &Config,
    connection: &Connection,
    approvers: &[String],
) -> Result<(), RunError> {
    let Some(applying) = &config.apply else {
        return Ok(());
    };
    applying.check_tenant(
        &connection.tenant_label,
        "from --base-url, SECURID_BASE_URL, the profile or --mock",
    )?;
    if !config.quiet {
        eprintln!("{}", banner(config.operation, applying, approvers));
    }
    Ok(())
}

/// What a `--plan` run wrote, and how to review and apply it.
pub(super) fn announce_written(
    op: &crate::ops::Operation,
    (path, digest, tally): &(std::path::PathBuf, String, plan::Tally),
) {
    let (summary, path) = (plan::summary_line(op, tally), path.display());
    eprintln!("{summary}\nplan written to {path} ({digest}); review it with `securid-bulk show {path}`, then `securid-bulk apply {path}`");
}
