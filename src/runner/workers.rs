//! The workers: each takes one row at a time from the shared queue and
//! sends it through the one client. A worker that panics loses no row: the
//! row it held becomes a `failed` result naming an internal error, and the
//! run halts (exit 1), so every row still gets its one line and the retry
//! file holds the row.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::config::Config;
use crate::input::Row;
use crate::outcome::{Outcome, RowResult};
use crate::safety::{Halt, HaltReason, Watch};

use super::reading::not_attempted;
use super::{send_row, Finished};

/// The row a worker is sending, put where its supervisor finds it if the
/// worker unwinds before handing the row's result over.
type Slot = Arc<Mutex<Option<Row>>>;

/// A row held by a worker; dropped unreleased (a panic), it goes to the slot.
struct Held<'a> {
    row: Option<Row>,
    slot: &'a Slot,
}

impl Held<'_> {
    fn row(&self) -> Option<&Row> {
        self.row.as_ref()
    }

    fn release(mut self) -> Option<Row> {
        self.row.take()
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(row) = self.row.take() {
            *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(row);
        }
    }
}

/// Starts the run's workers, each watched by a supervisor; the handles are
/// the supervisors', which end once their worker has, and after writing the
/// row a crashed worker held.
pub(super) fn spawn_workers(
    config: &Arc<Config>,
    client: Option<Arc<Client>>,
    work: mpsc::Receiver<Row>,
    results: &mpsc::Sender<Finished>,
    halt: &Arc<Halt>,
    watch: &Arc<Watch>,
) -> Vec<JoinHandle<()>> {
    let Some(client) = client else {
        return Vec::new();
    };
    let work = Arc::new(tokio::sync::Mutex::new(work));
    (0..config.client.concurrency)
        .map(|_| {
            let slot = Slot::default();
            let worker = Worker {
                client: client.clone(),
                config: config.clone(),
                work: work.clone(),
                results: results.clone(),
                halt: halt.clone(),
                watch: watch.clone(),
                slot: slot.clone(),
            };
            let running = tokio::spawn(worker.run());
            supervise(running, slot, results.clone(), halt.clone())
        })
        .collect()
}

struct Worker {
    client: Arc<Client>,
    config: Arc<Config>,
    work: Arc<tokio::sync::Mutex<mpsc::Receiver<Row>>>,
    results: mpsc::Sender<Finished>,
    halt: Arc<Halt>,
    watch: Arc<Watch>,
    slot: Slot,
}

impl Worker {
    async fn run(self) {
        let panic_at = injected_panic_line();
        loop {
            let Some(row) = self.work.lock().await.recv().await else {
                return;
            };
            let held = Held {
                row: Some(row),
                slot: &self.slot,
            };
            let result = match held.row() {
                Some(row) if !self.halt.is_set() => {
                    check_injected_panic(panic_at, row.line);
                    let watch = &self.watch;
                    Some(send_row(&self.client, &self.config, row, watch, &self.halt).await)
                }
                _ => None,
            };
            let Some(row) = held.release() else {
                continue;
            };
            let finished = match result {
                Some(result) => (row.record, result),
                None => not_attempted(row, &self.halt),
            };
            if self.results.send(finished).await.is_err() {
                return;
            }
        }
    }
}

/// Waits for `worker`; if it crashed, halts the run and writes the row it
/// held as failed.
fn supervise(
    worker: JoinHandle<()>,
    slot: Slot,
    results: mpsc::Sender<Finished>,
    halt: Arc<Halt>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Err(crash) = worker.await else {
            return;
        };
        let why = match crash.try_into_panic() {
            Ok(payload) => panic_text(payload.as_ref()),
            Err(e) => e.to_string(),
        };
        let reason = format!("internal error in a worker ({why}); please report it");
        tracing::error!(%reason, "worker crashed");
        halt.stop(HaltReason::Fatal(reason.clone()));
        let row = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(row) = row {
            let message = format!("{reason}; the change may or may not have been made");
            let result = RowResult::unsent(row.line, Outcome::Failed, message);
            let _ = results.send((row.record, result)).await;
        }
    })
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic".to_owned()
    }
}

/// In debug builds only, the input line at which a worker panics
/// (`SECURID_BULK_PANIC_AT_LINE`), so the tests can show no row is lost.
#[cfg(debug_assertions)]
fn injected_panic_line() -> Option<u64> {
    std::env::var("SECURID_BULK_PANIC_AT_LINE")
        .ok()
        .and_then(|line| line.parse().ok())
}

#[cfg(not(debug_assertions))]
fn injected_panic_line() -> Option<u64> {
    None
}

fn check_injected_panic(panic_at: Option<u64>, line: u64) {
    if panic_at == Some(line) {
        panic!("injected panic at line {line}");
    }
}
