//! The HTTP client: turns one row and one catalog entry into a request, sends
//! it through the shared pacer with the current bearer token, retries what is
//! worth retrying, and reduces whatever came back to one row's account.

mod adaptive;
mod before;
mod connect;
mod expand;
mod pacer;
mod plan;
mod reply;
mod request;
mod resolve;
mod retry;
#[cfg(all(test, feature = "mock"))]
mod simulation;
mod verify;

pub use adaptive::Rate;
pub use connect::{
    check_client_key, connect, key_file_route, ConnectError, Connection, Credentials, Settings,
    Target,
};
pub use pacer::Pacer;
pub use retry::{parse_retry_after, RetryPolicy};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::Retryable;
use reqwest::Url;

use crate::auth::{TokenKind, TokenProvider};
use crate::input::Checked;
use crate::net;
use crate::ops::{self, HttpMethod, Operation};
use crate::outcome::Attempted;
use crate::safety::Halt;
use reply::Failure;

/// 429s with a `Retry-After` a row may meet within one attempt.
const THROTTLED_PER_ATTEMPT: u32 = 5;

/// How to reach the tenant and how patiently.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The tenant root, e.g. `https://acme.access.securid.com`.
    pub base_url: Url,
    pub timeout: Duration,
    /// Requests per second for the whole run, or how to find it.
    pub rate: Rate,
    pub retry: RetryPolicy,
    pub concurrency: usize,
    /// The proxy requests go through, if any (see [`crate::net`]).
    pub proxy: Option<Url>,
}

/// Request counts, shared with the progress display and the summary.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Operation requests (attempts included).
    pub requests: AtomicU64,
    /// Lookup requests (attempts included), counted apart from operations.
    pub lookups: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    /// Rows `--verify` read back, by what it found: yes, no, unknown.
    pub verified: [AtomicU64; 3],
}

pub struct Client {
    http: reqwest::Client,
    base: Url,
    tokens: Arc<TokenProvider>,
    pacer: Pacer,
    /// Every wait before a send ends when this is set, and nothing is sent
    /// after it is.
    halt: Arc<Halt>,
    policy: RetryPolicy,
    lookups: resolve::LookupCache,
    /// The URL of every catalog path that takes no row value, built once
    /// rather than per request, because adding a segment re-parses the
    /// whole URL and these paths are the same for every row.
    fixed_urls: HashMap<&'static str, Url>,
    pub traffic: Arc<Traffic>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct ClientError(#[source] reqwest::Error);

/// One request, built once and replayed on each attempt.
struct Prepared {
    method: HttpMethod,
    url: Url,
    /// The JSON body; `None` sends no body and no content type.
    body: Option<String>,
    /// Counted under [`Traffic::lookups`] rather than `requests`.
    is_lookup: bool,
}

/// What one row's attempts have seen so far.
#[derive(Default)]
struct AttemptLog {
    attempts: AtomicU32,
    timed_out: AtomicBool,
    reached_tenant: AtomicBool,
    /// The HTTP status of the latest answer, 0 before any.
    last_status: AtomicU16,
}

impl Client {
    pub fn new(
        config: &ClientConfig,
        tokens: Arc<TokenProvider>,
        halt: Arc<Halt>,
    ) -> Result<Self, ClientError> {
        let http = net::http_client(
            &config.base_url,
            config.timeout,
            config.proxy.as_ref(),
            config.concurrency,
        )
        .map_err(ClientError)?;
        Ok(Client {
            http,
            fixed_urls: fixed_urls(&config.base_url),
            base: config.base_url.clone(),
            tokens,
            pacer: Pacer::new(config.rate, pacer::Timer::Precise),
            halt,
            policy: config.retry,
            lookups: resolve::LookupCache::default(),
            traffic: Arc::default(),
        })
    }

    /// The tenant root requests go to.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Where the run's tokens come from.
    pub fn token_kind(&self) -> TokenKind {
        self.tokens.kind()
    }

    /// Tokens signed or obtained so far, when they are of `kind` (never
    /// for a fixed token).
    pub fn tokens_had(&self, kind: TokenKind) -> Option<u64> {
        let had = self.tokens.mints();
        (self.tokens.kind() == kind && had > 0).then_some(had)
    }

    /// Runs one row's operation to its conclusion: success, a final refusal,
    /// or retries exhausted. Values the row left empty are looked up first;
    /// a failed lookup fails the row and the operation is not sent.
    /// With `verify`, a success is read back (see [`Client::verify_change`]).
    /// An operation that can be undone reads the target first (see
    /// `before`).
    pub async fn execute(&self, op: &'static Operation, row: &Checked, verify: bool) -> Attempted {
        let resolution = match self.resolve(op, row).await {
            Ok(resolution) => resolution,
            Err(failed) => return failed,
        };
        let row = &resolution.row;
        let mut attempts = resolution.attempts;
        let mut attempted = if op.expands(|f| row.value(f)) {
            match self.change_each(op, row, verify, &mut attempts).await {
                Ok(attempted) => attempted,
                Err(mut failed) => {
                    // Its attempts already count the lookups.
                    failed.resolved = resolution.resolved;
                    return failed;
                }
            }
        } else {
            self.change(op, row, verify, None).await
        };
        attempted.attempts += attempts;
        attempted.resolved = resolution.resolved;
        attempted
    }

    /// The operation's request for a row whose values are all known, and
    /// with `verify` its read-back. An operation that can be undone reads
    /// the target first, unless its earlier state is `known` (from a plan,
    /// see `plan`; and `before`).
    async fn change(
        &self,
        op: &'static Operation,
        row: &Checked,
        verify: bool,
        known: Option<ops::Found>,
    ) -> Attempted {
        let mut read = 0;
        let before = match known {
            Some(found) => Some(found),
            None => self.state_before(op, row, &mut read).await,
        };
        if before == Some(ops::Found::Yes) && before::refused_when_done(op) {
            return before::already_done(op, read);
        }
        let prepared = self.prepare(op, row);
        let log = AttemptLog::default();
        let result = self.exchange(&prepared, &log).await;
        let oauth = self.tokens.kind() == TokenKind::OAuth;
        let mut attempted = reply::conclude(op, result, &log, oauth);
        attempted.attempts += read;
        if verify && attempted.outcome == crate::outcome::Outcome::Ok {
            self.verify_change(op, row, &mut attempted).await;
        }
        self.note_listing(op, row, &mut attempted).await;
        before::note_undo(op, before.as_ref(), row, &mut attempted);
        attempted
    }

    /// One request to its conclusion, asking for a fresh token once if the
    /// tenant refuses the current one. An OAuth access token's 403 means a
    /// missing permission, which no new token brings: only its 401 renews.
    async fn exchange(
        &self,
        prepared: &Prepared,
        log: &AttemptLog,
    ) -> Result<reply::Success, Failure> {
        let mut result = self.with_retries(prepared, log).await;
        if let Err(Failure::AuthRefused { token, status, .. }) = &result {
            let renewable = *status == 401 || self.tokens.kind() != TokenKind::OAuth;
            let renewed = renewable
                && tokio::select! {
                    biased;
                    _ = self.halt.halted() => return Err(self.halted()),
                    renewed = self.tokens.renew_after_rejection(token) => renewed,
                };
            if renewed {
                result = self.with_retries(prepared, log).await;
            }
        }
        result
    }

    async fn with_retries(
        &self,
        prepared: &Prepared,
        log: &AttemptLog,
    ) -> Result<reply::Success, Failure> {
        let halt = self.halt.clone();
        (|| self.send_admitted(prepared, log))
            .retry(self.policy.backoff())
            .sleep(move |delay| {
                let halt = halt.clone();
                async move {
                    halt.sleep(delay).await;
                }
            })
            .when(Failure::is_retryable)
            .adjust(|failure, backoff| backoff.map(|d| failure.retry_after().unwrap_or(d)))
            .notify(|failure, delay| {
                self.traffic.retries.fetch_add(1, Ordering::Relaxed);
                if matches!(failure, Failure::Throttled { .. }) {
                    self.pacer.pause_all(delay, failure.retry_after().is_some());
                }
            })
            .await
    }

    /// One attempt as `--max-attempts` counts them. A 429 that says when to
    /// come back (`Retry-After`) pauses every worker that long and is sent
    /// again, up to [`THROTTLED_PER_ATTEMPT`] times, without spending an
    /// attempt: the tenant asked for a wait, not a give-up, and a storm of
    /// one-second waits would otherwise fail rows in seconds. A 429 without
    /// it, or with one cut to `--max-retry-after`, counts as an attempt and
    /// backs off like any other failure.
    async fn send_admitted(
        &self,
        prepared: &Prepared,
        log: &AttemptLog,
    ) -> Result<reply::Success, Failure> {
        let mut throttled = 0;
        loop {
            let result = self.send_once(prepared, log).await;
            match &result {
                Err(Failure::Throttled {
                    retry_after: Some(delay),
                    ..
                }) if throttled < THROTTLED_PER_ATTEMPT && *delay < self.policy.max_retry_after => {
                    throttled += 1;
                    self.traffic.retries.fetch_add(1, Ordering::Relaxed);
                    self.pacer.pause_all(*delay, true);
                }
                _ => return result,
            }
        }
    }

    async fn send_once(
        &self,
        prepared: &Prepared,
        log: &AttemptLog,
    ) -> Result<reply::Success, Failure> {
        let waiting = Instant::now();
        let sent_at = tokio::select! {
            biased;
            _ = self.halt.halted() => return Err(self.halted()),
            sent_at = self.pacer.wait_turn() => sent_at,
        };
        let waited = waiting.elapsed();
        // A renewal may wait on the token endpoint's retries: the halt ends
        // that wait too, and the row is left unsent.
        let token = tokio::select! {
            biased;
            _ = self.halt.halted() => return Err(self.halted()),
            token = self.tokens.bearer() => token,
        }
        .map_err(|e| Failure::Local(format!("cannot get a bearer token: {e}")))?;
        if self.halt.is_set() {
            return Err(self.halted());
        }
        log.attempts.fetch_add(1, Ordering::Relaxed);
        let counter = if prepared.is_lookup {
            &self.traffic.lookups
        } else {
            &self.traffic.requests
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let attempt = log.attempts.load(Ordering::Relaxed);
        note_first_send();
        let mut request = self
            .http
            .request(prepared.method.to_reqwest(), prepared.url.clone())
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = &prepared.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = request.send().await;
        let failure_or_reply = reply::read(response, token, &self.policy).await;
        match &failure_or_reply {
            Err(Failure::Throttled { retry_after, .. }) => {
                self.traffic.throttled.fetch_add(1, Ordering::Relaxed);
                let cost = retry_after.unwrap_or(self.policy.expected_first_backoff());
                self.pacer.throttled(sent_at, cost);
            }
            Err(Failure::Timeout | Failure::Connect(_) | Failure::Local(_)) => {}
            _ => self.pacer.accepted(),
        }
        log.note(&failure_or_reply);
        log_request(prepared, &failure_or_reply, attempt, waited);
        failure_or_reply
    }

    fn halted(&self) -> Failure {
        Failure::Halted(
            self.halt
                .reason()
                .unwrap_or(crate::safety::HaltReason::Interrupted),
        )
    }

    /// The rate the run settled at, if it had to find one (`--rate auto`, or
    /// any run that met a 429).
    pub fn settled_rate(&self) -> Option<f64> {
        self.pacer.settled_rate()
    }

    /// The request URL: the tenant root plus the operation's path, with row
    /// values percent-encoded into their own path segments.
    fn url_for(&self, op: &Operation, row: &Checked) -> Url {
        self.url_with(op.path, |name| {
            op.fields()
                .find(|f| f.wire_name() == name)
                .map(|field| row.value(field).unwrap_or_default())
        })
    }

    /// The tenant root plus `path`; a `{name}` segment becomes `value_of(name)`.
    fn url_with<'v>(&self, path: &str, value_of: impl Fn(&str) -> Option<&'v str>) -> Url {
        match self.fixed_urls.get(path) {
            Some(url) => url.clone(),
            None => build_url(&self.base, path, value_of),
        }
    }
}

tokio::task_local! {
    /// When the current row's first request left, set by the first send.
    static FIRST_SENT: std::cell::Cell<Option<Instant>>;
}

fn note_first_send() {
    let _ = FIRST_SENT.try_with(|first| {
        if first.get().is_none() {
            first.set(Some(Instant::now()));
        }
    });
}

/// Runs one row's requests and says when the first of them left (`None`
/// when nothing was sent), so its time waiting to be sent and its time on
/// the wire are told apart.
pub async fn first_send<F: std::future::Future>(row: F) -> (F::Output, Option<Instant>) {
    FIRST_SENT
        .scope(std::cell::Cell::new(None), async {
            let output = row.await;
            (output, FIRST_SENT.with(std::cell::Cell::get))
        })
        .await
}

/// One request in the log: method, path, status, attempt, wait. The path
/// carries user IDs, never a header or a body, so no token, key or
/// assertion reaches a log.
fn log_request(
    prepared: &Prepared,
    result: &Result<reply::Success, Failure>,
    attempt: u32,
    waited: Duration,
) {
    let status = match result {
        Ok(success) => Some(success.status),
        Err(failure) => failure.status(),
    };
    tracing::info!(
        target: "securid_bulk::request",
        method = prepared.method.as_str(),
        path = prepared.url.path(),
        status = status.map_or(0, u64::from),
        attempt,
        wait_ms = waited.as_millis() as u64,
        lookup = prepared.is_lookup,
        "request"
    );
}

fn fixed_urls(base: &Url) -> HashMap<&'static str, Url> {
    let paths = ops::CATALOG.iter().flat_map(|op| {
        let lookups = op.resolvers.iter().map(|r| r.lookup.path);
        std::iter::once(op.path).chain(lookups)
    });
    paths
        .filter(|path| !path.contains('{'))
        .map(|path| (path, build_url(base, path, |_| None)))
        .collect()
}

fn build_url<'v>(base: &Url, path: &str, value_of: impl Fn(&str) -> Option<&'v str>) -> Url {
    let mut url = base.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            let value = segment
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .and_then(&value_of);
            segments.push(value.unwrap_or(segment));
        }
    }
    url
}

impl AttemptLog {
    fn note(&self, result: &Result<reply::Success, Failure>) {
        match result {
            Err(Failure::Timeout) => self.timed_out.store(true, Ordering::Relaxed),
            Err(Failure::Connect(_) | Failure::Local(_) | Failure::Halted(_)) => {}
            _ => self.reached_tenant.store(true, Ordering::Relaxed),
        }
        let status = match result {
            Ok(success) => Some(success.status),
            Err(failure) => failure.status(),
        };
        if let Some(status) = status {
            self.last_status.store(status, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests;
