//! The end of a run: when it began and how long it worked, and the report
//! built from the run's parts (the summary's facts and why it halted).

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use crate::auth::TokenKind;
use crate::client::Connection;
use crate::config::Config;
use crate::identity::NO_TENANT;
use crate::input::Scan;
use crate::net::show_proxy;
use crate::outcome::Tally;
use crate::output::{RequestFigures, RunFacts, Summary, Verified};
use crate::safety::{next, Halt, HaltReason};

use super::RunReport;

/// When the run began (before the scan), on the monotonic clock for the
/// elapsed time and on the wall clock for the summary, and how long the
/// confirmation prompt held it, which the elapsed time leaves out.
#[derive(Clone, Copy)]
pub(super) struct Started {
    at: Instant,
    wall: std::time::SystemTime,
    pub(super) prompt: std::time::Duration,
}

impl Started {
    pub(super) fn now() -> Self {
        Started {
            at: Instant::now(),
            wall: std::time::SystemTime::now(),
            prompt: std::time::Duration::ZERO,
        }
    }

    /// The time the run worked: everything but the confirmation prompt.
    fn elapsed(&self) -> std::time::Duration {
        self.at.elapsed().saturating_sub(self.prompt)
    }
}

/// The retry files beside the results this run resumed from: their rows
/// are this run's input now, so they no longer say what is left to do.
fn superseded_retry_files(config: &Config) -> Vec<std::path::PathBuf> {
    if config.dry_run.is_on() {
        return Vec::new();
    }
    config
        .resume
        .iter()
        .map(|results| crate::output::naming::retry_path(results))
        .filter(|old| *old != config.retry && old.is_file())
        .collect()
}

/// The tenant a run sent to, or would send to, as its outputs record it;
/// none for a dry run that named none.
fn tenant_shown(connection: &Connection) -> Option<String> {
    match connection.tenant_label.as_str() {
        NO_TENANT => None,
        label => Some(label.to_owned()),
    }
}

/// The report of the run: the summary's facts, gathered from the run's
/// parts, and why it halted, if it did.
pub(super) fn report(
    config: &Config,
    scan: &Scan,
    tally: &Tally,
    halt: &Halt,
    connection: &Connection,
    (retry, refused_for_good): (Option<std::path::PathBuf>, u64),
    started: Started,
) -> RunReport {
    let counts = tally.snapshot();
    let traffic = connection.traffic();
    let client = connection.client.as_ref();
    let figures = RequestFigures {
        requests: traffic.requests.load(Relaxed),
        lookups: traffic.lookups.load(Relaxed),
        retries: traffic.retries.load(Relaxed),
        throttled: traffic.throttled.load(Relaxed),
        settled_rate: client.and_then(|c| c.settled_rate()),
        tokens_signed: client.and_then(|c| c.tokens_had(TokenKind::KeyFile)),
        access_tokens_obtained: client.and_then(|c| c.tokens_had(TokenKind::OAuth)),
        verified: (config.verify && !config.dry_run.is_on()).then(|| {
            let [yes, no, unknown] = &traffic.verified;
            Verified {
                yes: yes.load(Relaxed),
                no: no.load(Relaxed),
                unknown: unknown.load(Relaxed),
            }
        }),
    };
    let next_step = match config.dry_run.is_on() {
        true => None,
        false => next::next_step(
            &config.argv,
            config.token_on_command_line,
            &config.output,
            &counts,
            refused_for_good,
            retry,
            config.input_is_stdin,
        ),
    };
    let halted = halt.reason();
    let summary = Summary::new(RunFacts {
        operation: config.operation.name,
        profile: config.profile.clone(),
        tenant: tenant_shown(connection),
        credential_id: connection.credential_id.clone(),
        ticket: config.ticket.clone(),
        started_at: started.wall,
        command_line: next::without_secrets(&config.argv),
        input: config.input_as_typed(),
        input_sha256: &scan.sha256,
        results: &config.output,
        dry_run: config.dry_run.is_on(),
        counts: &counts,
        figures,
        elapsed: started.elapsed(),
        proxy: connection.proxy.as_ref().map(show_proxy),
        stopped: halted.as_ref().map(HaltReason::describe),
        next_step,
        input_findings: scan.report(),
        superseded: superseded_retry_files(config),
    });
    RunReport {
        summary,
        counts,
        halted,
    }
}
