//! The runner: wires one run together. A reader streams rows into a bounded
//! channel, N workers send them through the shared client, and one writer
//! owns the results file. Data flows one way; only the halt signal (Ctrl-C,
//! a threshold, a breaker; see `safety`) reaches back, and both the reader
//! and the workers watch it so that every row still gets a line in the
//! results.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::auth::TokenKind;
use crate::client::{
    check_client_key, connect, key_file_route, Client, ClientError, ConnectError, Connection,
};
use crate::config::{Config, DryRun};
use crate::identity::{RunIdentity, SIMULATED_TENANT};
use crate::input::{self, Done, InputError, Row, Scan};
use crate::outcome::{Counts, Outcome, RowResult, Tally};
use crate::output::{files, naming, InputRows, OutputError, ResultsWriter, RetryError, Summary};
use crate::progress::{Progress, Style};
use crate::safety::confirm::{confirm, ConfirmError, Plan};
use crate::safety::{signals, Halt, HaltReason, Watch};

mod handoff;
mod planning;
mod reading;
mod report;
mod undo;
mod workers;
mod writing;

use reading::spawn_reader;
use report::{report, Started};
use undo::{check_undo, check_undo_input, open_undo};
use workers::spawn_workers;
use writing::{listed_header, spawn_writer};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Confirm(#[from] ConfirmError),
    #[error("cannot write the retry file: {0}")]
    Retry(#[from] RetryError<InputError>),
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    #[error("{0}")]
    Setup(String),
}

/// How a run ended.
#[derive(Debug)]
pub struct RunReport {
    pub summary: Summary,
    pub counts: Counts,
    pub halted: Option<HaltReason>,
}

impl RunReport {
    /// 0 when every row is ok or valid, 2 when some need attention or a
    /// threshold stopped the run, 1 when going on could not work (breaker),
    /// 130 when the admin interrupted the run.
    pub fn exit_code(&self) -> u8 {
        match self.halted {
            Some(HaltReason::Interrupted) => 130,
            Some(HaltReason::Fatal(_)) => 1,
            Some(HaltReason::Stopped(_)) => 2,
            None if self.counts.needing_attention() > 0 => 2,
            None => 0,
        }
    }
}

/// What the results writer hands back: the lines still to do (the counts
/// are in the run's [`Tally`]).
struct Written {
    to_retry: BTreeSet<u64>,
    /// Failed rows the tenant would refuse again (see
    /// `RowResult::refused_for_good`).
    refused_for_good: u64,
    /// Lines this run wrote to the undo file, when it keeps one.
    undone: Option<u64>,
    /// A `--plan` run's plan: its path, digest and what it comes to.
    plan: Option<(std::path::PathBuf, String, crate::plan::Tally)>,
}

type Finished = (csv::StringRecord, RowResult);

/// The runtime a job runs on: one worker thread for the requests, the
/// writer and the timers, beside the reader's own thread. A job waits on the
/// network, and one core drives requests far faster than any tenant's
/// quota allows, so a second worker thread would only add wake-ups between
/// threads (docs/benchmark.md has the figures).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
}

/// Runs one job from its config to its report: scan the whole input,
/// check the outputs, connect, send the rows, then report.
pub async fn run(config: Config) -> Result<RunReport, RunError> {
    // Signals are the run's from its first moment, so that none can leave
    // the spooled copy of standard input behind.
    let halt = Arc::new(Halt::default());
    let sending = Arc::new(AtomicBool::new(false));
    let signals = signals::Signals::register();
    let watching = tokio::spawn(signals::watch(signals, halt.clone(), sending.clone()));
    let ran = run_spooled(config, Watched { halt, sending }).await;
    watching.abort();
    ran
}

/// What the run shares with its signal handler: the halt, and whether rows
/// are being sent (before that, a signal quits at once).
struct Watched {
    halt: Arc<Halt>,
    sending: Arc<AtomicBool>,
}

async fn run_spooled(mut config: Config, watched: Watched) -> Result<RunReport, RunError> {
    // Standard input is read twice like any input, so it is spooled to a
    // private file first; the file goes when the run ends, however it ends.
    // Every message names it `-`, as typed, never the spool.
    let Some(spool) = config
        .input_is_stdin
        .then(|| files::spool(&mut std::io::stdin().lock()))
    else {
        return run_file(config, watched).await;
    };
    let spool = spool.map_err(|e| RunError::Setup(format!("cannot read standard input: {e}")))?;
    config.input = spool.path.clone();
    let shown = |e: InputError| e.shown_as(&spool.path, std::path::Path::new("-"));
    match run_file(config, watched).await {
        Err(RunError::Input(e)) => Err(RunError::Input(shown(e))),
        Err(RunError::Retry(RetryError::Input(e))) => {
            Err(RunError::Retry(RetryError::Input(shown(e))))
        }
        other => other,
    }
}

async fn run_file(config: Config, watched: Watched) -> Result<RunReport, RunError> {
    if config.token_on_command_line {
        eprintln!("warning: --token on the command line shows in the process list and shell history; set SECURID_TOKEN instead");
    }
    let begun = Started::now();
    let config = Arc::new(config);
    let (scan, done) = scan(&config).await?;
    let resumed = done.tenants().clone();
    // Only an `apply` run's reader still needs the rows earlier runs did.
    let done = match config.apply {
        Some(_) => done,
        None => Done::default(),
    };
    let scan = Arc::new(scan);
    let summary = config.summary_json.as_deref();
    files::check_outputs(&config.output, &config.retry, summary, config.force)?;
    if let Some(plan) = &config.plan {
        planning::check_plan_path(plan, config.force)?;
    }
    let approvers = planning::approvers(&config)?;
    let Watched { halt, sending } = watched;
    if let Some(workbook) = &config.workbook {
        crate::output::check_workbook(workbook, config.force)?;
    }
    announce_unused_environment(&config);
    check_undo(&config)?;
    let mut connection = open(&config, &halt).await?;
    // Before anything is sent: results another tenant's run wrote say
    // nothing about this tenant's rows.
    if let Err(e) = resumed.check(&connection.tenant_label) {
        connection.close().await;
        return Err(e.into());
    }
    let identity = run_identity(&config, &scan, &connection);
    if let Err(e) = planning::check_applied_tenant(&config, &connection, &approvers) {
        connection.close().await;
        return Err(e);
    }
    announce_profile(&config, &connection);
    if let Err(e) = check_undo_input(&config, &scan, &connection) {
        connection.close().await;
        return Err(e);
    }
    let rows = send_rows(
        &config,
        (&scan, done),
        &connection,
        (&halt, &sending),
        begun,
        (&identity, &approvers),
    )
    .await;
    // The one place the connection closes, however the rows went.
    connection.close().await;
    let (written, tally, started) = rows?;
    if let Some(workbook) = &config.workbook {
        crate::output::write_workbook(&config.output, workbook, config.force)?;
    }
    if let Some(written_plan) = &written.plan {
        planning::announce_written(config.operation, written_plan);
    }
    // A retry file that cannot be written still leaves the summary and the
    // carry-on command on screen; the run then ends with the error.
    let (retry, retry_error) = match write_retry(&config, &scan, &written, &identity) {
        Ok(retry) => (retry, None),
        Err(e) => (None, Some(e)),
    };
    let refused = written.refused_for_good;
    let mut report = report(
        &config,
        &scan,
        &tally,
        &halt,
        &connection,
        (retry, refused),
        started,
    );
    report.summary.retry_error = retry_error.as_ref().map(ToString::to_string);
    report.summary.approved_by = approvers;
    let undo_file = naming::undo_path(&config.output);
    let undone = written.undone.map(|rows| (undo_file.as_path(), rows));
    report.summary.undo =
        crate::safety::next::undo_step(config.operation, undone, std::time::SystemTime::now());
    eprint!("{}", crate::terminal::printable(&report.summary.render()));
    if let Some(path) = &config.summary_json {
        report.summary.save_json(path, config.force)?;
    }
    match retry_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// What the run records in every output: the operation, the tenant the
/// connection decided, the input as typed and its digest from the scan.
fn run_identity(config: &Config, scan: &Scan, connection: &Connection) -> RunIdentity {
    let input = config.input_as_typed().display().to_string();
    RunIdentity {
        operation: config.operation.name,
        tenant: connection.tenant_label.clone(),
        input,
        input_sha256: scan.sha256.clone(),
    }
}

/// Names the profile, the tenant (`host:port`) and where the tenant and
/// the credential came from, so a run against the wrong tenant is seen at
/// once.
fn announce_profile(config: &Config, connection: &Connection) {
    if config.quiet || (config.profile.is_none() && config.origins.unused_environment.is_empty()) {
        return;
    }
    let profile = config
        .profile
        .as_deref()
        .map_or(String::new(), |p| format!("profile {p}, "));
    let from = |what: &Option<String>| what.as_deref().map(|w| format!(" ({w})"));
    let tenant_from = from(&config.origins.tenant).unwrap_or_default();
    let credential = config
        .origins
        .credential
        .as_deref()
        .map_or(String::new(), |c| format!(", credential {c}"));
    let line = format!(
        "{}: {profile}tenant {}{tenant_from}{credential}",
        config.operation.name, connection.tenant
    );
    eprintln!("{}", crate::terminal::printable(&line));
}

/// The environment variables set but not used, by name, before anything
/// is sent (an OAuth client's first token included).
fn announce_unused_environment(config: &Config) {
    if config.quiet {
        return;
    }
    for note in &config.origins.unused_environment {
        eprintln!("note: {}", crate::terminal::printable(note));
    }
}

/// The connection the run's dry run allows: none, or a client to the target.
async fn open(config: &Config, halt: &Arc<Halt>) -> Result<Connection, RunError> {
    let announce = (config.operation.name, config.quiet);
    if let DryRun::Offline {
        client_key: Some(path),
        ..
    } = &config.dry_run
    {
        check_client_key(path)?;
    }
    Ok(match &config.dry_run {
        DryRun::Offline {
            would_send_to,
            key_file: Some(key_file),
            ..
        } => {
            let lifetime = config.client.token_lifetime;
            let (base, tokens) = key_file_route(key_file, would_send_to.as_ref(), lifetime)?;
            let mut nowhere = Connection::nowhere(Some(&base), &config.client, config.quiet)?;
            nowhere.credential_id = tokens.public_id().map(str::to_owned);
            nowhere
        }
        DryRun::Offline {
            would_send_to,
            key_file: None,
            simulated,
            ..
        } => {
            let mut nowhere =
                Connection::nowhere(would_send_to.as_ref(), &config.client, config.quiet)?;
            if *simulated {
                nowhere.tenant_label = SIMULATED_TENANT.to_owned();
            }
            nowhere
        }
        DryRun::Off(target) | DryRun::Lookups(target) => {
            connect(target, &config.client, announce, halt).await?
        }
    })
}

/// After confirmation, every row from the reader through the workers to
/// the results writer; the tally holds what became of them.
async fn send_rows(
    config: &Arc<Config>,
    (scan, done): (&Arc<Scan>, Done),
    connection: &Connection,
    (halt, sending): (&Arc<Halt>, &AtomicBool),
    mut started: Started,
    (identity, approvers): (&RunIdentity, &[String]),
) -> Result<(Written, Arc<Tally>, Started), RunError> {
    let asking = Instant::now();
    confirm_plan(config, scan, connection)?;
    sending.store(true, Ordering::SeqCst);
    // The time the admin spent reading the prompt is not the run's.
    started.prompt = asking.elapsed();
    let listing = config.operation.lists;
    let header = listed_header(&scan.columns.header, listing);
    let plan = planning::create_plan(config, scan, connection)?;
    let writer = ResultsWriter::create_as(
        &config.output,
        &header,
        identity,
        config.format,
        config.force,
    )?
    .with_ticket(config.ticket.as_deref())
    .with_approvers(approvers);
    let undo = open_undo(config, connection)?;
    let tally = Arc::new(Tally::default());
    let style = Style::choose(config.quiet);
    // Rows skipped (done by an earlier run) or invalid are never sent.
    let to_send = scan.ready.min(config.limit.unwrap_or(u64::MAX));
    let progress = Progress::start(style, to_send, tally.clone(), connection.traffic());
    let concurrency = config.client.concurrency;
    let (results_tx, results_rx) = mpsc::channel::<Finished>(concurrency * 4 + 64);
    let writing = spawn_writer(
        (writer, undo, plan),
        listing,
        results_rx,
        tally.clone(),
        halt.clone(),
    );
    let (work_tx, work_rx) = mpsc::channel::<Row>(concurrency * 2);
    let watch = Arc::new(Watch::new(config.limits, lacking(config, connection)));
    let client = connection.client.clone();
    let workers = spawn_workers(config, client, work_rx, &results_tx, halt, &watch);
    let reading = spawn_reader(
        config.clone(),
        (scan.clone(), done),
        work_tx,
        results_tx,
        halt.clone(),
    );

    let read_result = reading
        .await
        .map_err(|e| RunError::Setup(format!("reader failed: {e}")))?;
    // A worker's supervisor ends only once the row of a crashed worker is
    // written; it never fails itself.
    for worker in workers {
        let _ = worker.await;
    }
    let written = writing
        .await
        .map_err(|_| RunError::Setup("the results writer stopped unexpectedly".into()))??;
    read_result?;
    progress.finish();
    Ok((written, tally, started))
}

/// What refused credentials may lack, for the breaker: the OAuth client's
/// permissions, or the administrator's role.
fn lacking(config: &Config, connection: &Connection) -> String {
    let op = config.operation;
    let oauth = connection.client.as_ref().map(|c| c.token_kind()) == Some(TokenKind::OAuth);
    match oauth {
        true => format!(
            "the OAuth client lacks a permission {} needs ({}; grant it to the client and keep it in --scope)",
            op.name,
            op.scopes(config.verify).join(", ")
        ),
        false => format!(
            "the administrator lacks the role {} needs (Help Desk or Super Administrator)",
            op.name
        ),
    }
}

/// Asks before a destructive run, naming the tenant and the rows to send.
fn confirm_plan(config: &Config, scan: &Scan, connection: &Connection) -> Result<(), RunError> {
    if config.dry_run.is_on() {
        return Ok(());
    }
    let rows = config
        .limit
        .map_or(scan.ready, |limit| limit.min(scan.ready));
    let plan = Plan {
        operation: config.operation,
        tenant: &connection.tenant,
        rows,
        always: config.confirm_always,
        ticket: config.ticket.as_deref(),
    };
    Ok(confirm(&plan, config.yes)?)
}

/// Writes the rows still to do, when there are any, in the input's own form.
fn write_retry(
    config: &Config,
    scan: &Scan,
    written: &Written,
    identity: &RunIdentity,
) -> Result<Option<std::path::PathBuf>, RunError> {
    if config.dry_run.is_on() || written.to_retry.is_empty() {
        return Ok(None);
    }
    let path = config.retry.clone();
    if let Some(applying) = &config.apply {
        planning::write_plan_retry(config, applying, &written.to_retry, identity)?;
        return Ok(Some(path));
    }
    let mut reader = input::RecordReader::from_source(&scan.source)?;
    let header = reader.next_header();
    let rows = std::iter::from_fn(move || reader.next_row())
        .map(|row| row.map(|raw| (raw.line, raw.record)));
    let input = InputRows { header, rows };
    let lines = &written.to_retry;
    let retry = crate::output::Retry {
        delimiter: scan.source.delimiter(),
        lines,
        path: &path,
        force: config.force,
        identity,
    };
    crate::output::write_retry_file(input, &retry)?;
    Ok(Some(path))
}

/// The scan of the input, with what the `--resume` files did (read once:
/// their tenants and rows), after telling the admin what detection chose for the input (an
/// encoding, a delimiter) that the command line did not say.
async fn scan(config: &Config) -> Result<(Scan, Done), InputError> {
    let (path, op, reading) = (
        config.input.clone(),
        config.operation,
        config.reading.clone(),
    );
    let (resume, quiet) = (config.resume.clone(), config.quiet);
    let shown = config.input_as_typed().to_owned();
    if let Some(applying) = &config.apply {
        return planning::scan_plan(config, applying);
    }
    tokio::task::spawn_blocking(move || {
        let done = Done::load(&resume, op)?;
        let scan = input::scan_resuming(input::Source::open(&path, &reading)?, op, &done)?;
        if !quiet {
            for note in scan.source.notes(&reading, &shown) {
                eprintln!("note: {}", crate::terminal::printable(&note));
            }
        }
        Ok((scan, done))
    })
    .await
    .unwrap_or_else(|e| {
        Err(InputError::Io {
            path: config.input.clone(),
            source: std::io::Error::other(e.to_string()),
        })
    })
}

async fn send_row(
    client: &Client,
    config: &Config,
    row: &Row,
    watch: &Watch,
    halt: &Halt,
) -> RowResult {
    let started = Instant::now();
    let (op, row_values) = (config.operation, &row.checked);
    let sending = async {
        match (&config.dry_run, &config.apply, &row.planned) {
            (DryRun::Lookups(_), _, _) if config.plan.is_some() => {
                let (attempted, planned) = client.plan_row(op, row_values).await;
                (attempted, Some(Box::new(planned)))
            }
            (DryRun::Lookups(_), _, _) => (client.check_lookups(op, row_values).await, None),
            (_, Some(applying), Some(planned)) => {
                let recheck = applying.recheck;
                let applied = client.apply_row(op, row_values, planned, recheck, config.verify);
                (applied.await, None)
            }
            // An offline dry run has no client, so no worker.
            _ => (client.execute(op, row_values, config.verify).await, None),
        }
    };
    let span = tracing::info_span!("row", line = row.line, ticket = config.ticket.as_deref());
    let ((attempted, planned), first_sent) =
        crate::client::first_send(sending.instrument(span)).await;
    // A row the halt kept off the wire says nothing about the tenant.
    if attempted.outcome != Outcome::NotAttempted {
        if let Some(reason) = watch.record(&attempted, started) {
            halt.stop(reason);
        }
    }
    RowResult {
        line: row.line,
        outcome: attempted.outcome,
        http_status: attempted.http_status,
        attempts: attempted.attempts,
        message: with_notes(attempted.message, &row.checked.notes),
        detail: attempted.detail,
        finished_at: std::time::SystemTime::now(),
        queued: first_sent.map_or(started.elapsed(), |sent| sent - started),
        duration: first_sent.map_or(std::time::Duration::ZERO, |sent| sent.elapsed()),
        resolved: attempted.resolved,
        verified: attempted.verified,
        listed: attempted.listed,
        undo: attempted.undo,
        planned,
    }
}

fn with_notes(message: String, notes: &[String]) -> String {
    if notes.is_empty() {
        return message;
    }
    let notes = notes.join("; ");
    if message.is_empty() {
        notes
    } else {
        format!("{message}; {notes}")
    }
}
