//! The simulated tenant (`securid-bulk mock`, `--mock`, and the tests),
//! built with the cargo feature `mock` (on by default): an
//! HTTP server on loopback that models the RSA SecurID Cloud Administration
//! API from the vendor's pages, independently of the client's catalog in
//! `ops.rs`, so a mistake in the catalog shows up as a failing test.
//!
//! This file holds the public API (options, [`MockServer`], errors,
//! [`run_standalone`]) and the state shared by every connection. The rest:
//! `options` (flags), `state` and `generate` (the tenant), `handlers` and
//! `lifecycle` (the endpoint table and its routes), `body` (reading
//! requests), `gate` (auth, quota and faults before a handler), `quota`
//! (the quota's shapes), `faults`, `hostile` (answers no tenant should
//! give), `keys` (key files, JWTs), `clients` and `oauth` (OAuth clients,
//! the authorization server), `stats` (counters, ledger), `server` (accept
//! loop, shutdown), `export` (CSV export), `clock` (timestamps).

mod body;
mod clients;
mod clock;
mod export;
mod faults;
mod gate;
mod generate;
mod handlers;
mod hostile;
mod keys;
mod lifecycle;
mod oauth;
mod options;
pub(crate) mod quota;
mod server;
mod state;
mod stats;
mod timer;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::secret::Secret;

pub use clients::{CLIENT_FILE_NAME, KEY_FILE_NAME};
pub use export::export_csv;
pub use hostile::{HostileMode, HostileOAuth};
pub use options::{MockOptions, OAuthKeyType, RetryAfterForm, DEFAULT_SLOW_MS};
pub use quota::QuotaModel;
pub use stats::{OAuthStats, Stats};

use faults::Faults;
use gate::{Auth, Gate};
use state::{Tenant, TenantSeed};
use stats::Recorder;

/// Why the mock could not start. Messages name the file involved and never
/// quote key material.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("invalid mock option: {0}")]
    Options(String),
    #[error("cannot read tenant state file {}: {source}", .path.display())]
    ReadState {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin} is not a valid tenant: {reason}")]
    InvalidState { origin: String, reason: String },
    #[error("cannot read admin key file {}: {source}", .path.display())]
    ReadKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("admin key file {} is not valid: {reason}", .path.display())]
    InvalidKeyFile { path: PathBuf, reason: String },
    #[error("cannot write admin key file {}: {source}", .path.display())]
    WriteKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate the admin key: {0}")]
    KeyGeneration(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write CSV export {}: {reason}", .path.display())]
    Export { path: PathBuf, reason: String },
}

/// Everything the connections share.
pub(crate) struct Shared {
    tenant: Mutex<Tenant>,
    stats: Recorder,
    faults: Faults,
    auth: Auth,
    /// The authorization server under `/oauth`.
    oauth: oauth::AuthServer,
    /// `--hostile` and its `--redirect-to`.
    hostile: Option<(HostileMode, String)>,
    /// Turns true when the server stops; long waits watch it.
    shutdown: watch::Receiver<bool>,
    timer: timer::PreciseTimer,
}

/// The authenticated caller, handed from the gate to the handlers (it is the
/// disable answer's `tokenStatusChangedBy`).
impl Shared {
    /// Applies one change to the tenant and records it in the ledger under
    /// `operation` and `key`. When `--drop-changes` strikes, the change is
    /// made on a copy that is thrown away: the caller answers as if it took,
    /// and the ledger does not list it.
    pub(crate) fn change<T>(
        &self,
        operation: &str,
        key: &str,
        apply: impl FnOnce(&mut Tenant) -> Result<T, state::Refusal>,
    ) -> Result<T, state::Refusal> {
        let mut tenant = lock(&self.tenant);
        tenant.purge_due(std::time::SystemTime::now());
        if self.faults.should_drop_change() {
            let mut copy = tenant.clone();
            drop(tenant);
            let answer = apply(&mut copy)?;
            self.stats.dropped_change();
            return Ok(answer);
        }
        let answer = apply(&mut tenant)?;
        drop(tenant);
        self.stats.applied(operation, key);
        Ok(answer)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct AdminSubject(pub String);

/// Locks a mutex even if a panicking thread poisoned it: the counters and
/// the tenant stay usable, and a request can never take the server down.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running mock tenant. Stop it with [`MockServer::shutdown`]; dropping it
/// also tells the server to stop, without waiting.
pub struct MockServer {
    base_url: String,
    /// The key file of the client `--write-oauth-client` generated, and its
    /// ID.
    written_client: Option<(PathBuf, String)>,
    static_token: Secret,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Loads or generates the tenant, binds `opts.listen`, writes or loads
    /// the key file if asked, and starts serving.
    pub async fn start(opts: MockOptions) -> Result<MockServer, MockError> {
        opts.validate().map_err(MockError::Options)?;
        if !opts.listen.ip().is_loopback() {
            eprintln!(
                "warning: the mock tenant listens on {} (--listen-public): plain HTTP, tokens and its stats endpoint readable by anyone on the network",
                opts.listen
            );
        }
        let tenant = load_tenant(&opts)?;
        let listener = TcpListener::bind(opts.listen)
            .await
            .map_err(|source| MockError::Bind {
                addr: opts.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| MockError::Bind {
            addr: opts.listen,
            source,
        })?;
        let base_url = format!("http://{addr}");
        let jwt = match (&opts.write_key_file, &opts.key_file) {
            (Some(path), _) => Some(keys::write_key_file(path, &base_url)?),
            (None, Some(path)) => Some(keys::load_key_file(path)?),
            (None, None) => None,
        };
        let (oauth, written_client) = auth_server(&opts, &base_url)?;
        let static_token = match &opts.static_token {
            Some(token) => token.clone(),
            None => random_token()?,
        };
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            tenant: Mutex::new(tenant),
            stats: Recorder::new(),
            faults: Faults::from_options(&opts),
            auth: Auth {
                static_token: static_token.clone(),
                jwt,
            },
            oauth,
            hostile: opts.hostile.map(|mode| (mode, opts.redirect_to.clone())),
            shutdown: shutdown.clone(),
            timer: timer::PreciseTimer::default(),
        });
        let task = tokio::spawn(server::serve(listener, Gate::new(shared.clone()), shutdown));
        Ok(MockServer {
            base_url,
            written_client,
            static_token,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// The tenant root, e.g. `http://127.0.0.1:43121` (no path).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The Issuer URL of the tenant's authorization server.
    pub fn oauth_issuer(&self) -> String {
        format!("{}{}", self.base_url, oauth::ISSUER_PATH)
    }

    /// The bearer token accepted as is, besides JWTs signed with a key file.
    pub fn static_token(&self) -> &Secret {
        &self.static_token
    }

    /// The counters and ledger, as `GET /__mock/stats` returns them.
    pub fn stats(&self) -> Stats {
        self.shared.stats.snapshot()
    }

    /// Stops accepting, lets in-flight answers finish (delayed ones are cut
    /// short) and waits for the server task.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// `securid-bulk mock`: exports CSVs and exits if `--export-csv` is given;
/// otherwise serves, prints how to connect, and stops on Ctrl-C.
pub async fn run_standalone(opts: MockOptions) -> anyhow::Result<()> {
    if opts.export_csv.is_some() {
        for file in export_csv(&opts)? {
            println!("wrote {}", file.display());
        }
        return Ok(());
    }
    let key_file = opts
        .write_key_file
        .clone()
        .or_else(|| opts.key_file.clone());
    let generated_key = opts.write_key_file.is_some();
    let server = MockServer::start(opts).await?;
    print_banner(&server, key_file.as_deref(), generated_key);
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    let stats = server.stats();
    server.shutdown().await;
    eprintln!(
        "mock stopped after {} requests ({} throttled, {} reset, {} injected 500s)",
        stats.requests, stats.throttled, stats.resets, stats.injected_failures
    );
    Ok(())
}

fn print_banner(server: &MockServer, key_file: Option<&Path>, generated_key: bool) {
    let url = server.base_url();
    let token = server.static_token().expose();
    let users = lock(&server.shared.tenant).user_count();
    println!("securid-bulk mock tenant ({users} users) listening on {url}");
    println!("static token: {token}");
    println!();
    println!("Authenticate with the static token:");
    println!("  securid-bulk ds100-clear-pin samples/ds100-clear-pin.csv --base-url {url} --token {token}");
    println!("  (or export SECURID_TOKEN={token} and drop --token)");
    if let Some(path) = key_file {
        let path = path.display();
        println!("or with the admin key file {path}:");
        if generated_key {
            // Its adminRestApiUrl already points at this mock.
            println!(
                "  securid-bulk ds100-clear-pin samples/ds100-clear-pin.csv --key-file {path}"
            );
        } else {
            println!("  securid-bulk ds100-clear-pin samples/ds100-clear-pin.csv --key-file {path} --base-url {url}");
        }
    }
    if let Some((key, id)) = &server.written_client {
        let (key, issuer) = (key.display(), server.oauth_issuer());
        println!("or with the OAuth client {id} (issuer {issuer}):");
        println!("  securid-bulk ds100-clear-pin samples/ds100-clear-pin.csv --base-url {url} --client-id {id} --client-key {key} --issuer {issuer}");
    }
    println!();
    println!("Counters and the ledger of applied changes: {url}/__mock/stats");
    println!("Press Ctrl-C to stop.");
}

/// The authorization server the options describe: the client written by
/// `--write-oauth-client` or given by `--oauth-client-id` and
/// `--oauth-client-key`, if any, and the written client's key file and ID.
type WrittenClient = Option<(PathBuf, String)>;

fn auth_server(
    opts: &MockOptions,
    base_url: &str,
) -> Result<(oauth::AuthServer, WrittenClient), MockError> {
    let issuer = format!("{base_url}{}", oauth::ISSUER_PATH);
    let mut clients = Vec::new();
    let mut written = None;
    if let Some(dir) = &opts.write_oauth_client {
        let client = clients::write_client(dir, opts.key_type, &issuer)?;
        written = Some((client.key_file, client.client.id.clone()));
        clients.push(client.client);
    }
    if let (Some(id), Some(key)) = (&opts.oauth_client_id, &opts.oauth_client_key) {
        clients.push(clients::load_client(id, key)?);
    }
    let granted = opts
        .oauth_permissions
        .as_deref()
        .map(|p| p.split_whitespace().map(str::to_owned).collect());
    let server = oauth::AuthServer::new(oauth::AuthSetup {
        issuer,
        clients,
        granted,
        lifetime: std::time::Duration::from_secs(opts.access_token_lifetime),
        discovery: !opts.no_discovery,
        failures: opts.token_endpoint_failures,
        refuse_after: opts.token_endpoint_refuse_after,
        hostile: opts.hostile_oauth,
    });
    Ok((server, written))
}

/// The tenant the options describe: `--state`, `--users`, or the sample.
pub(crate) fn load_tenant(opts: &MockOptions) -> Result<Tenant, MockError> {
    let (origin, seed) = match (&opts.state, opts.users) {
        (Some(path), _) => (
            format!("tenant state file {}", path.display()),
            read_seed(path)?,
        ),
        (None, Some(users)) => (
            format!("generated tenant (--users {users} --seed {})", opts.seed),
            generate::generate(users, opts.seed),
        ),
        (None, None) => {
            let origin = "built-in sample tenant".to_string();
            let seed = parse_seed(options::SAMPLE_TENANT, &origin)?;
            (origin, seed)
        }
    };
    let mut tenant =
        Tenant::from_seed(seed).map_err(|reason| MockError::InvalidState { origin, reason })?;
    tenant.purge_after = std::time::Duration::from_secs(opts.purge_after);
    Ok(tenant)
}

fn read_seed(path: &Path) -> Result<TenantSeed, MockError> {
    let text = std::fs::read_to_string(path).map_err(|source| MockError::ReadState {
        path: path.to_path_buf(),
        source,
    })?;
    parse_seed(&text, &format!("tenant state file {}", path.display()))
}

fn parse_seed(text: &str, origin: &str) -> Result<TenantSeed, MockError> {
    serde_json::from_str(text).map_err(|e| MockError::InvalidState {
        origin: origin.to_string(),
        reason: e.to_string(),
    })
}

/// A fresh static token from the system's secure random source.
fn random_token() -> Result<Secret, MockError> {
    let hex = secure_hex().ok_or_else(|| {
        MockError::KeyGeneration("no secure random source for the static token".into())
    })?;
    Ok(Secret::new(format!("mock-{hex}")))
}

/// 24 bytes from the system's secure random source, in hex; `None` when
/// there is none.
pub(crate) fn secure_hex() -> Option<String> {
    let mut bytes = [0u8; 24];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
