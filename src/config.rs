//! The typed configuration of one run: what to do, to which rows, against
//! which tenant, with which credentials and limits. Built once from the
//! command line by the `cli` module; everything after reads only this.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use crate::client::RetryPolicy;
use crate::mock::MockOptions;
use crate::net::ProxyChoice;
use crate::ops::Operation;
use crate::safety::Limits;
use crate::secret::Secret;

pub use crate::client::Rate;

/// Everything a run needs, checked and typed.
#[derive(Debug)]
pub struct Config {
    pub operation: &'static Operation,
    pub input: PathBuf,
    pub output: PathBuf,
    pub force: bool,
    pub dry_run: bool,
    /// Dry run that still sends the lookups (`--dry-run=lookup`), which
    /// change nothing, to prove every email and device resolves.
    pub dry_run_lookups: bool,
    pub target: Target,
    pub concurrency: usize,
    pub rate: Rate,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub delimiter: u8,
    pub quiet: bool,
    pub summary_json: Option<PathBuf>,
    /// How long each token minted from a key file lives.
    pub token_lifetime: Duration,
    /// The command line as typed, for the resume hint.
    pub argv: Vec<String>,
    /// Destructive operations go ahead without asking.
    pub yes: bool,
    /// Send only the first N rows that would be sent (a canary).
    pub limit: Option<u64>,
    /// Halt thresholds and the unreachable bound.
    pub limits: Limits,
    /// Earlier results files whose done rows are skipped.
    pub resume: Vec<PathBuf>,
    /// Which proxy carries requests to an https tenant.
    pub proxy: ProxyChoice,
    /// `--token` was typed on the command line, where the process list
    /// shows it.
    pub token_on_command_line: bool,
}

/// Where requests go.
#[derive(Debug)]
pub enum Target {
    /// Dry run: nowhere. The tenant the real run would use, when given,
    /// to report the route it would take.
    Nowhere(Option<Url>),
    /// The in-process simulated tenant.
    Mock(Box<MockOptions>),
    Tenant {
        /// `None` with a key file: the key file's `adminRestApiUrl` decides.
        base_url: Option<Url>,
        credentials: Credentials,
    },
}

#[derive(Debug)]
pub enum Credentials {
    Token(Secret),
    KeyFile(PathBuf),
}

impl Config {
    /// Whether the run sends no request at all.
    pub fn sends_nothing(&self) -> bool {
        self.dry_run && !self.dry_run_lookups
    }
}

/// Where a tenant URL came from, so a refusal names what the admin typed
/// or set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UrlSource {
    #[default]
    BaseUrlFlag,
    BaseUrlEnvironment,
    KeyFile,
}

/// A tenant URL refused by the URL policy of [`crate::net::tenant_url`].
#[derive(Debug, thiserror::Error)]
#[error("{} {reason}", .from.describe())]
pub struct UrlError {
    pub from: UrlSource,
    reason: String,
}

impl UrlSource {
    fn describe(self) -> &'static str {
        match self {
            UrlSource::BaseUrlFlag => "--base-url",
            UrlSource::BaseUrlEnvironment => "SECURID_BASE_URL",
            UrlSource::KeyFile => "the key file's adminRestApiUrl",
        }
    }
}

/// The tenant root `text` names, or why the URL policy refuses it.
pub fn tenant_url(text: &str, source: UrlSource) -> Result<Url, UrlError> {
    crate::net::tenant_url(text).map_err(|reason| UrlError {
        from: source,
        reason,
    })
}
