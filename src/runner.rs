//! The runner: wires one run together. A reader streams rows into a bounded
//! channel, N workers send them through the shared client, and one writer
//! owns the results file. Data flows one way; only the halt signal (Ctrl-C,
//! a threshold, a fatal error) reaches back, and both the reader and the
//! workers watch it so that every row still gets a line in the results.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::Url;
use tokio::sync::mpsc;

use crate::auth::{AuthError, KeyFile, TokenProvider};
use crate::cli::{normalise_base_url, Config, Credentials, Target};
use crate::client::{Client, ClientConfig, ClientError};
use crate::input::{self, InputError, Row, Rows, Scan, Verdict};
use crate::mock::{MockError, MockServer};
use crate::output::{
    Counts, Outcome, OutputError, RequestFigures, ResultsWriter, RowResult, Summary,
};
use crate::progress::{Progress, Style, Tally};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("cannot start the simulated tenant: {0}")]
    Mock(#[from] MockError),
    #[error("{0}")]
    Setup(String),
}

/// How a run ended.
#[derive(Debug)]
pub struct RunReport {
    pub summary: Summary,
    pub counts: Counts,
    pub interrupted: bool,
}

impl RunReport {
    /// 0 when every row is ok or valid, 2 when some need attention, 130
    /// when the admin interrupted the run.
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            130
        } else if self.counts.needing_attention() > 0 {
            2
        } else {
            0
        }
    }
}

/// Why new work stopped being taken. Set once; later reasons are ignored.
#[derive(Default)]
pub struct Halt {
    reason: Mutex<Option<HaltReason>>,
    set: std::sync::atomic::AtomicBool,
}

#[derive(Clone, Debug)]
pub enum HaltReason {
    Interrupted,
    Stopped(String),
}

impl Halt {
    pub fn is_set(&self) -> bool {
        self.set.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn stop(&self, reason: HaltReason) {
        let mut slot = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(reason);
            self.set.store(true, std::sync::atomic::Ordering::Release);
        }
    }

    pub fn reason(&self) -> Option<HaltReason> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn not_attempted_message(&self) -> String {
        match self.reason() {
            Some(HaltReason::Interrupted) => "not attempted: the run was interrupted".into(),
            Some(HaltReason::Stopped(why)) => format!("not attempted: the run stopped ({why})"),
            None => "not attempted".into(),
        }
    }
}

type Finished = (csv::StringRecord, RowResult);

/// Runs one job from its config to its report.
pub async fn run(config: Config) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let config = Arc::new(config);
    let scan = Arc::new(scan(&config).await?);
    let writer = ResultsWriter::create(&config.output, &scan.columns.header, config.force)?;
    let (client, mock) = connect(&config).await?;
    let finished_client = client.clone();
    let halt = Arc::new(Halt::default());
    let signals = tokio::spawn(watch_signals(halt.clone()));

    let tally = Arc::new(Tally::default());
    let traffic = client
        .as_ref()
        .map(|c| c.traffic.clone())
        .unwrap_or_default();
    let progress = Progress::start(
        Style::choose(config.quiet),
        scan.rows,
        tally.clone(),
        traffic.clone(),
    );
    let (results_tx, results_rx) = mpsc::channel::<Finished>(config.concurrency * 4 + 64);
    let writing = spawn_writer(writer, results_rx, tally, halt.clone());
    let (work_tx, work_rx) = mpsc::channel::<Row>(config.concurrency * 2);
    let workers = spawn_workers(&config, client, work_rx, &results_tx, &halt);
    let reading = spawn_reader(
        config.clone(),
        scan.clone(),
        work_tx,
        results_tx,
        halt.clone(),
    );

    let read_result = reading
        .await
        .map_err(|e| RunError::Setup(format!("reader failed: {e}")))?;
    for worker in workers {
        let _ = worker.await;
    }
    let counts = writing
        .join()
        .map_err(|_| RunError::Setup("the results writer stopped unexpectedly".into()))??;
    read_result?;
    progress.finish();
    signals.abort();
    if let Some(mock) = mock {
        mock.shutdown().await;
    }
    let settled_rate = finished_client.as_ref().and_then(|c| c.settled_rate());
    let tokens_signed = finished_client
        .map(|c| c.tokens_signed())
        .filter(|n| *n > 0);
    let figures = (tokens_signed, settled_rate);
    let report = report(&config, &counts, &traffic, figures, &halt, started);
    eprint!("{}", report.summary.render());
    if let Some(path) = &config.summary_json {
        report
            .summary
            .save_json(path)
            .map_err(|source| OutputError::Io {
                path: path.clone(),
                source,
            })?;
    }
    Ok(report)
}

async fn scan(config: &Config) -> Result<Scan, InputError> {
    let (path, op, delimiter) = (config.input.clone(), config.operation, config.delimiter);
    tokio::task::spawn_blocking(move || input::scan(&path, op, delimiter))
        .await
        .unwrap_or_else(|e| {
            Err(InputError::Io {
                path: config.input.clone(),
                source: std::io::Error::other(e.to_string()),
            })
        })
}

/// Builds the client for the run's target, starting the simulated tenant
/// when asked. A dry run connects to nothing.
async fn connect(config: &Config) -> Result<(Option<Arc<Client>>, Option<MockServer>), RunError> {
    if config.sends_nothing() {
        return Ok((None, None));
    }
    let (base_url, tokens, mock) = match &config.target {
        Target::Nowhere => return Ok((None, None)),
        Target::Mock(options) => {
            let mock = MockServer::start((**options).clone()).await?;
            let base = parse_url(&mock.base_url())?;
            let tokens = TokenProvider::fixed(mock.static_token().clone());
            (base, tokens, Some(mock))
        }
        Target::Tenant {
            base_url,
            credentials,
        } => {
            let (base, tokens) =
                credentials_for(base_url.as_ref(), credentials, config.token_lifetime)?;
            (base, tokens, None)
        }
    };
    let client_config = ClientConfig {
        base_url,
        timeout: config.timeout,
        rate: config.rate,
        retry: config.retry,
        concurrency: config.concurrency,
    };
    let client = Client::new(&client_config, Arc::new(tokens))?;
    Ok((Some(Arc::new(client)), mock))
}

fn credentials_for(
    base_url: Option<&Url>,
    credentials: &Credentials,
    token_lifetime: std::time::Duration,
) -> Result<(Url, TokenProvider), RunError> {
    match credentials {
        Credentials::Token(token) => {
            let base = base_url
                .cloned()
                .ok_or_else(|| RunError::Setup("no tenant given: pass --base-url".into()))?;
            Ok((base, TokenProvider::fixed(token.clone())))
        }
        Credentials::KeyFile(path) => {
            let key = KeyFile::load(path)?;
            if let Some(warning) = KeyFile::permission_warning(path) {
                eprintln!("{warning}");
            }
            let base = match base_url {
                Some(url) => url.clone(),
                None => normalise_base_url(&key.tenant_root()).map_err(|e| {
                    RunError::Setup(format!("adminRestApiUrl in {}: {e}", path.display()))
                })?,
            };
            Ok((base, TokenProvider::from_key_file(key, token_lifetime)?))
        }
    }
}

fn parse_url(text: &str) -> Result<Url, RunError> {
    Url::parse(text).map_err(|e| RunError::Setup(format!("bad tenant URL {text:?}: {e}")))
}

/// First Ctrl-C (or SIGTERM): stop taking rows, let requests in flight
/// finish. Second: leave at once; every finished row is already on disk.
async fn watch_signals(halt: Arc<Halt>) {
    wait_for_signal().await;
    halt.stop(HaltReason::Interrupted);
    eprintln!("interrupted: finishing requests in flight and writing results; press Ctrl-C again to quit at once");
    wait_for_signal().await;
    eprintln!("interrupted again: quitting; results for finished rows are on disk");
    std::process::exit(130);
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn spawn_writer(
    mut writer: ResultsWriter,
    mut results: mpsc::Receiver<Finished>,
    tally: Arc<Tally>,
    halt: Arc<Halt>,
) -> std::thread::JoinHandle<Result<Counts, OutputError>> {
    std::thread::spawn(move || {
        let mut counts = Counts::default();
        while let Some((record, result)) = results.blocking_recv() {
            // Results already queued are written before one flush: each is
            // on disk as soon as the writer has caught up, without a system
            // call per row when rows come faster than one at a time.
            let written = match results.is_empty() {
                true => writer.write(&record, &result),
                false => writer.append(&record, &result),
            };
            if let Err(e) = written {
                halt.stop(HaltReason::Stopped(format!("cannot write results: {e}")));
                return Err(e);
            }
            counts.add(result.outcome);
            tally.add(result.outcome);
        }
        writer.finish()?;
        Ok(counts)
    })
}

fn spawn_workers(
    config: &Arc<Config>,
    client: Option<Arc<Client>>,
    work: mpsc::Receiver<Row>,
    results: &mpsc::Sender<Finished>,
    halt: &Arc<Halt>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(client) = client else {
        return Vec::new();
    };
    let work = Arc::new(tokio::sync::Mutex::new(work));
    (0..config.concurrency)
        .map(|_| {
            let (client, work, results, halt) =
                (client.clone(), work.clone(), results.clone(), halt.clone());
            let (op, dry_run) = (config.operation, config.dry_run);
            tokio::spawn(async move {
                loop {
                    let Some(row) = work.lock().await.recv().await else {
                        return;
                    };
                    let result = if halt.is_set() {
                        RowResult::unsent(
                            row.line,
                            Outcome::NotAttempted,
                            halt.not_attempted_message(),
                        )
                    } else {
                        send_row(&client, op, &row, dry_run).await
                    };
                    if results.send((row.record, result)).await.is_err() {
                        return;
                    }
                }
            })
        })
        .collect()
}

async fn send_row(
    client: &Client,
    op: &'static crate::ops::Operation,
    row: &Row,
    dry_run: bool,
) -> RowResult {
    let started = Instant::now();
    let attempted = if dry_run {
        client.check_lookups(op, &row.checked).await
    } else {
        client.execute(op, &row.checked).await
    };
    RowResult {
        line: row.line,
        outcome: attempted.outcome,
        http_status: attempted.http_status,
        attempts: attempted.attempts,
        message: with_notes(attempted.message, &row.checked.notes),
        detail: attempted.detail,
        finished_at: std::time::SystemTime::now(),
        duration: started.elapsed(),
        resolved: attempted.resolved,
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

/// Streams the input: rows that need no request go straight to the writer,
/// the rest to the workers. After a halt, every remaining row is still read
/// and written as not attempted.
fn spawn_reader(
    config: Arc<Config>,
    scan: Arc<Scan>,
    work: mpsc::Sender<Row>,
    results: mpsc::Sender<Finished>,
    halt: Arc<Halt>,
) -> tokio::task::JoinHandle<Result<(), InputError>> {
    tokio::task::spawn_blocking(move || {
        for row in Rows::open(&config.input, config.operation, &scan)? {
            let row = row?;
            let unsent = match &row.checked.verdict {
                Verdict::Invalid(why) => Some((Outcome::Invalid, why.clone())),
                Verdict::Skip(why) => Some((Outcome::Skipped, why.clone())),
                Verdict::Ready if config.sends_nothing() => {
                    Some((Outcome::Valid, row.checked.notes.join("; ")))
                }
                Verdict::Ready if halt.is_set() => {
                    Some((Outcome::NotAttempted, halt.not_attempted_message()))
                }
                Verdict::Ready => None,
            };
            let row = match unsent {
                Some((outcome, message)) => {
                    let result = RowResult::unsent(row.line, outcome, message);
                    let _ = results.blocking_send((row.record, result));
                    continue;
                }
                None => row,
            };
            if let Err(mpsc::error::SendError(row)) = work.blocking_send(row) {
                let result = RowResult::unsent(
                    row.line,
                    Outcome::NotAttempted,
                    halt.not_attempted_message(),
                );
                let _ = results.blocking_send((row.record, result));
            }
        }
        Ok(())
    })
}

fn report(
    config: &Config,
    counts: &Counts,
    traffic: &crate::client::Traffic,
    (tokens_signed, settled_rate): (Option<u64>, Option<f64>),
    halt: &Halt,
    started: Instant,
) -> RunReport {
    use std::sync::atomic::Ordering::Relaxed;
    let figures = RequestFigures {
        requests: traffic.requests.load(Relaxed),
        lookups: traffic.lookups.load(Relaxed),
        retries: traffic.retries.load(Relaxed),
        throttled: traffic.throttled.load(Relaxed),
        settled_rate,
        tokens_signed,
    };
    let mut summary = Summary::new(
        config.operation.name,
        &config.input,
        &config.output,
        config.dry_run,
        counts,
        figures,
        started.elapsed(),
    );
    let reason = halt.reason();
    summary.stopped = match &reason {
        Some(HaltReason::Interrupted) => Some("interrupted".into()),
        Some(HaltReason::Stopped(why)) => Some(why.clone()),
        None => None,
    };
    RunReport {
        summary,
        counts: counts.clone(),
        interrupted: matches!(reason, Some(HaltReason::Interrupted)),
    }
}
