//! The typed configuration of one run: what to do, to which rows, against
//! which tenant, with which credentials and limits. [`Config::from_flags`]
//! applies the rules that tie flags together (credentials, dry run and
//! target, output names, files that must differ, the URL policy); the
//! command line (`cli`) parses each flag on its own. Everything after
//! reads only [`Config`].

use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::client::{Credentials, Settings, Target};
use crate::net::{tenant_url, UrlError, UrlSource};
use crate::ops::Operation;
use crate::output::files::first_shared;
use crate::output::naming::{default_output, next_output, retry_path, stdin_output};
use crate::output::Format;
use crate::safety::Limits;
use crate::secret::Secret;

/// Everything a run needs, checked and typed.
#[derive(Debug)]
pub struct Config {
    pub operation: &'static Operation,
    pub input: PathBuf,
    /// The input is standard input (`-`), spooled to a private file.
    pub input_is_stdin: bool,
    pub output: PathBuf,
    pub format: Format,
    pub force: bool,
    /// The config-file profile the run uses, if any.
    pub profile: Option<String>,
    /// Ask before the run even when the operation is not destructive.
    pub confirm_always: bool,
    /// `-v` count: request log on stderr.
    pub verbose: u8,
    /// Append the request log as JSON Lines here.
    pub log_file: Option<PathBuf>,
    /// Whether this is a dry run, and where requests go.
    pub dry_run: DryRun,
    /// How the client is built: timeouts, pace, retries, proxy.
    pub client: Settings,
    pub delimiter: u8,
    pub quiet: bool,
    pub summary_json: Option<PathBuf>,
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
    /// `--token` was typed on the command line, where the process list
    /// shows it.
    pub token_on_command_line: bool,
}

/// Whether the run changes anything, and where its requests go: the one
/// place a dry run is decided.
#[derive(Debug)]
pub enum DryRun {
    /// A real run: every ready row's operation goes to the target.
    Off(Target),
    /// `--dry-run=lookup`: only the lookups go to the target, which change
    /// nothing, to prove every email and device resolves.
    Lookups(Target),
    /// `--dry-run`: nothing is sent. The tenant the real run would use, when
    /// given, to report the route it would take.
    Offline { would_send_to: Option<Url> },
}

impl DryRun {
    /// Whether this is a dry run of either kind.
    pub fn is_on(&self) -> bool {
        !matches!(self, DryRun::Off(_))
    }

    /// Where requests go; `None` when nothing is sent.
    pub fn target(&self) -> Option<&Target> {
        match self {
            DryRun::Off(target) | DryRun::Lookups(target) => Some(target),
            DryRun::Offline { .. } => None,
        }
    }
}

/// What a dry run may send, as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DryRunFlag {
    /// `--dry-run`: nothing at all.
    Offline,
    /// `--dry-run=lookup`: the lookups only.
    Lookup,
}

/// The flags of a run, each already parsed on its own.
#[derive(Debug)]
pub struct Flags {
    pub input: PathBuf,
    pub output: Option<PathBuf>,
    pub format: Format,
    pub profile: Option<String>,
    pub confirm_always: bool,
    pub verbose: u8,
    pub log_file: Option<PathBuf>,
    pub force: bool,
    pub dry_run: Option<DryRunFlag>,
    pub base_url: Option<String>,
    pub base_url_source: UrlSource,
    pub token: Option<String>,
    pub token_on_command_line: bool,
    pub key_file: Option<PathBuf>,
    pub mock: bool,
    /// How the client is built: timeouts, pace, retries, proxy.
    pub client: Settings,
    pub delimiter: u8,
    pub quiet: bool,
    pub summary_json: Option<PathBuf>,
    pub yes: bool,
    pub limit: Option<u64>,
    pub limits: Limits,
    pub resume: Vec<PathBuf>,
}

/// A run the flags cannot describe.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Url(#[from] UrlError),
}

impl Config {
    /// The run the flags describe, or why there is none. The flag's copy of
    /// a token is wiped: the [`Secret`] in the config is the one kept.
    pub fn from_flags(
        operation: &'static Operation,
        mut flags: Flags,
        argv: Vec<String>,
    ) -> Result<Config, ConfigError> {
        let input_is_stdin = flags.input.as_os_str() == "-";
        let output = match (&flags.output, flags.resume.last()) {
            (Some(output), _) => output.clone(),
            (None, Some(previous)) => next_output(previous),
            (None, None) if input_is_stdin => stdin_output(flags.format),
            (None, None) => default_output(&flags.input, flags.format),
        };
        refuse_shared_files(&flags, &output)?;
        let dry_run = dry_run(&flags);
        if let Some(token) = flags.token.as_mut() {
            zeroize::Zeroize::zeroize(token);
        }
        Ok(Config {
            operation,
            dry_run: dry_run?,
            output,
            input: flags.input,
            input_is_stdin,
            format: flags.format,
            profile: flags.profile,
            confirm_always: flags.confirm_always,
            verbose: flags.verbose,
            log_file: flags.log_file,
            force: flags.force,
            client: flags.client,
            delimiter: flags.delimiter,
            quiet: flags.quiet,
            summary_json: flags.summary_json,
            argv,
            yes: flags.yes,
            limit: flags.limit,
            limits: flags.limits,
            resume: flags.resume,
            token_on_command_line: flags.token_on_command_line,
        })
    }
}

/// Refuses a run where two of its files are one file (the input written
/// over by its own results, a retry file over the input, ...), whatever
/// --force says: nothing is sent or written.
fn refuse_shared_files(flags: &Flags, output: &Path) -> Result<(), ConfigError> {
    let retry = retry_path(output);
    let mut roles: Vec<(&str, &Path)> = Vec::new();
    if flags.input.as_os_str() != "-" {
        roles.push(("the input", &flags.input));
    }
    roles.extend([
        ("the results file (-o)", output),
        ("the retry file", &retry),
    ]);
    if let Some(log) = &flags.log_file {
        roles.push(("the --log-file", log));
    }
    if let Some(summary) = &flags.summary_json {
        roles.push(("the --summary-json file", summary));
    }
    roles.extend(
        flags
            .resume
            .iter()
            .map(|r| ("a --resume file", r.as_path())),
    );
    if let Some(key) = &flags.key_file {
        roles.push(("the key file", key));
    }
    match first_shared(&roles) {
        Some((first, second, path)) => Err(ConfigError::Refused(format!(
            "{first} and {second} are the same file ({}); choose another path so neither is overwritten",
            path.display()
        ))),
        None => Ok(()),
    }
}

/// The dry run and its target. Credentials that conflict are refused in
/// a dry run as in a real run.
fn dry_run(flags: &Flags) -> Result<DryRun, ConfigError> {
    if flags.mock && !cfg!(feature = "mock") {
        return Err(ConfigError::Refused(NO_MOCK.into()));
    }
    if flags.token.is_some() && flags.key_file.is_some() {
        return Err(ConfigError::Refused(
            "a token and a key file were both given (as flags, or as SECURID_TOKEN and SECURID_KEY_FILE); keep one".into(),
        ));
    }
    match flags.dry_run {
        None => Ok(DryRun::Off(target(flags)?)),
        Some(DryRunFlag::Lookup) => Ok(DryRun::Lookups(target(flags)?)),
        // Nothing is sent, but a --base-url the real run would refuse is
        // refused now, so the dry run finds that problem too.
        Some(DryRunFlag::Offline) if flags.mock => Ok(DryRun::Offline {
            would_send_to: None,
        }),
        Some(DryRunFlag::Offline) => Ok(DryRun::Offline {
            would_send_to: flags
                .base_url
                .as_deref()
                .map(|url| tenant_url(url, flags.base_url_source))
                .transpose()?,
        }),
    }
}

fn target(flags: &Flags) -> Result<Target, ConfigError> {
    #[cfg(feature = "mock")]
    if flags.mock {
        let sample = crate::mock::MockOptions::sample();
        return Ok(Target::Mock(Box::new(sample)));
    }
    let credentials = match (&flags.token, &flags.key_file) {
        (Some(token), _) => Credentials::Token(Secret::new(token.trim())),
        (None, Some(path)) => Credentials::KeyFile(path.clone()),
        (None, None) => return Err(ConfigError::Refused(NO_CREDENTIALS.into())),
    };
    let base_url = match &flags.base_url {
        Some(url) => Some(tenant_url(url, flags.base_url_source)?),
        None if matches!(credentials, Credentials::KeyFile(_)) => None,
        None => return Err(ConfigError::Refused(NO_TENANT.into())),
    };
    Ok(Target::Tenant {
        base_url,
        credentials,
    })
}

const NO_CREDENTIALS: &str = "no credentials: pass --key-file FILE (or set SECURID_KEY_FILE) with the admin API key file from the Cloud Administration Console, or --token TOKEN (or set SECURID_TOKEN); --mock runs against a simulated tenant";

const NO_MOCK: &str = "--mock: this securid-bulk was built without the simulated tenant (the cargo feature `mock`); build it with default features to use --mock";

const NO_TENANT: &str = "no tenant given: pass --base-url https://<tenant>.access.securid.com or set SECURID_BASE_URL (or use --mock to try the tool)";
