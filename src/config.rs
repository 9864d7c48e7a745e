//! The typed configuration of one run: what to do, to which rows, against
//! which tenant, with which credentials and limits. [`Config::from_flags`]
//! applies the rules that tie flags together (credentials, dry run and
//! target, output names, files that must differ, the URL policy); the
//! command line (`cli`) parses each flag on its own. Everything after
//! reads only [`Config`].

use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::auth::OAuthSettings;
use crate::client::{Credentials, Settings, Target};
use crate::net::{checked_url, tenant_url, UrlError, UrlSource};
use crate::ops::Operation;
use crate::output::files::first_shared;
use crate::output::naming::{
    default_output, dry_run_output, is_stdout, next_output, retry_path, stdin_output,
    workbook_names,
};
use crate::output::Format;
use crate::plan::Applying;
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
    /// Where rows still to do are written: `output::naming::retry_path` of
    /// the output, worked out once.
    pub retry: PathBuf,
    pub format: Format,
    /// `--format xlsx`: the workbook made from the results CSV at the end.
    pub workbook: Option<PathBuf>,
    pub force: bool,
    /// The config-file profile the run uses, if any.
    pub profile: Option<String>,
    /// Ask before the run even when the operation is not destructive.
    pub confirm_always: bool,
    /// `-v` count: request log on stderr.
    pub verbose: u8,
    /// `--log-level`: the log file's level; `None` follows `-v`.
    pub log_level: Option<LogLevel>,
    /// Append the request log as JSON Lines here.
    pub log_file: Option<PathBuf>,
    /// Whether this is a dry run, and where requests go.
    pub dry_run: DryRun,
    /// How the client is built: timeouts, pace, retries, proxy.
    pub client: Settings,
    /// How the input is read: delimiter, encoding, sheet, column names.
    pub reading: crate::input::Reading,
    pub quiet: bool,
    pub summary_json: Option<PathBuf>,
    /// The command line as typed, without `--token` and its value, for the
    /// carry-on command.
    pub argv: Vec<String>,
    /// Destructive operations go ahead without asking.
    pub yes: bool,
    /// Read each change back after it succeeds (`--verify`).
    pub verify: bool,
    /// Send only the first N rows that would be sent (a canary).
    pub limit: Option<u64>,
    /// Halt thresholds and the unreachable bound.
    pub limits: Limits,
    /// Earlier results files whose done rows are skipped.
    pub resume: Vec<PathBuf>,
    /// `--token` was typed on the command line, where the process list
    /// shows it.
    pub token_on_command_line: bool,
    /// `--plan FILE`: read the tenant's state and write the plan here;
    /// change nothing.
    pub plan: Option<PathBuf>,
    /// `apply PLAN`: the rows come from this plan, checked before the run.
    pub apply: Option<Box<Applying>>,
    /// Where the tenant and the credential came from, for the banner.
    pub origins: Origins,
    /// The change ticket (`--ticket`), stamped into every output.
    pub ticket: Option<String>,
    /// Approvals a plan needs before it is applied (a profile's
    /// `approvals`); 0 when none are required.
    pub approvals_required: usize,
    /// The OpenSSH allowed_signers file approvals are checked against (a
    /// profile's `allowed-signers`).
    pub allowed_signers: Option<PathBuf>,
}

/// The level of the request log file (`--log-level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The level `-v` given N times stands for.
    pub fn of_verbosity(verbose: u8) -> Self {
        match verbose {
            0 | 1 => LogLevel::Info,
            2 => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
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
    /// given, to report the route it would take; the key file, to load and
    /// check against that tenant as the real run would.
    Offline {
        would_send_to: Option<Url>,
        key_file: Option<PathBuf>,
        /// An OAuth client's private key, loaded as the real run would.
        client_key: Option<PathBuf>,
        /// A dry run of a `--mock` run: its tenant is the simulated one.
        simulated: bool,
    },
}

impl DryRun {
    /// Whether this is a dry run of either kind.
    pub fn is_on(&self) -> bool {
        !matches!(self, DryRun::Off(_))
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
    pub log_level: Option<LogLevel>,
    pub log_file: Option<PathBuf>,
    pub force: bool,
    pub dry_run: Option<DryRunFlag>,
    pub base_url: Option<String>,
    pub base_url_source: UrlSource,
    pub token: Option<Secret>,
    pub token_on_command_line: bool,
    pub key_file: Option<PathBuf>,
    /// The OAuth client's flags, any of which may be missing.
    pub oauth: OAuthFlags,
    /// Every credential flag that was given, and where it came from, to
    /// name them when kinds are mixed.
    pub given: Vec<Given>,
    /// Environment variables set but not used, and why.
    pub unused_environment: Vec<String>,
    pub mock: bool,
    /// How the client is built: timeouts, pace, retries, proxy.
    pub client: Settings,
    /// How the input is read: delimiter, encoding, sheet, column names.
    pub reading: crate::input::Reading,
    pub quiet: bool,
    pub summary_json: Option<PathBuf>,
    pub yes: bool,
    pub verify: bool,
    pub limit: Option<u64>,
    pub ticket: Option<String>,
    /// The profile refuses a run without `--ticket`.
    pub ticket_required: bool,
    pub approvals_required: usize,
    pub allowed_signers: Option<PathBuf>,
    pub limits: Limits,
    pub resume: Vec<PathBuf>,
    pub plan: Option<PathBuf>,
    pub apply: Option<Box<Applying>>,
}

/// The OAuth client's flags as given.
#[derive(Debug, Default)]
pub struct OAuthFlags {
    pub client_id: Option<String>,
    pub client_key: Option<PathBuf>,
    pub issuer: Option<String>,
    pub issuer_source: UrlSource,
    pub token_url: Option<String>,
    pub scope: Option<String>,
}

impl OAuthFlags {
    fn any(&self) -> bool {
        self.client_id.is_some()
            || self.client_key.is_some()
            || self.issuer.is_some()
            || self.token_url.is_some()
            || self.scope.is_some()
    }
}

/// The three kinds of credentials; a run uses exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    BearerToken,
    KeyFile,
    OAuthClient,
}

impl CredentialKind {
    fn describe(self) -> &'static str {
        match self {
            CredentialKind::BearerToken => "a bearer token",
            CredentialKind::KeyFile => "an admin API key file",
            CredentialKind::OAuthClient => "an OAuth client",
        }
    }
}

/// One credential setting that was given: which kind it belongs to, its
/// flag and environment variable, and where it came from.
#[derive(Clone, Copy, Debug)]
pub struct Given {
    pub kind: CredentialKind,
    pub flag: &'static str,
    pub env: Option<&'static str>,
    pub origin: Origin,
}

/// Where a setting came from, weakest first: a flag beats a profile chosen
/// by name (`--profile` or `SECURID_PROFILE`), which beats the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Environment,
    Profile,
    Flag,
}

impl Origin {
    /// Where a tenant URL of this source came from.
    fn of_tenant(source: UrlSource) -> Origin {
        match source {
            UrlSource::BaseUrlEnvironment => Origin::Environment,
            UrlSource::Profile => Origin::Profile,
            _ => Origin::Flag,
        }
    }
}

/// Where the run's tenant and credential came from, and the environment
/// variables that were set but not used, for the banner before the first
/// request.
#[derive(Debug, Default)]
pub struct Origins {
    /// `--base-url`, `SECURID_BASE_URL from the environment`, ...
    pub tenant: Option<String>,
    /// `--key-file`, `SECURID_TOKEN from the environment`, ...
    pub credential: Option<String>,
    /// One line per variable: its name and why it was not used.
    pub unused_environment: Vec<String>,
}

impl Given {
    /// Whether this setting is the credential itself (a token, a key file,
    /// a client ID or key), not a detail of it (scope, issuer, token URL).
    pub fn names_the_credential(&self) -> bool {
        !matches!(self.flag, "--scope" | "--token-url" | "--issuer")
    }

    /// The setting and where it came from, as messages name it.
    pub fn shown(&self) -> String {
        match (self.env, self.origin) {
            (Some(env), Origin::Environment) => format!("{env} from the environment"),
            (_, Origin::Profile) => {
                format!("{} from the profile", self.flag.trim_start_matches('-'))
            }
            _ => self.flag.to_owned(),
        }
    }
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
    /// The run the flags describe, or why there is none. The flags' token
    /// is a [`Secret`], wiped when they are dropped, on every path.
    pub fn from_flags(
        operation: &'static Operation,
        flags: Flags,
        argv: Vec<String>,
    ) -> Result<Config, ConfigError> {
        let input_is_stdin = flags.input.as_os_str() == "-";
        let (output, retry) = output_names(&flags, input_is_stdin);
        let (output, retry, workbook) = workbook_beside(output, retry, flags.format)?;
        refuse_shared_files(&flags, &output, &retry)?;
        if flags.verify && operation.lists.is_some() {
            return Err(ConfigError::Refused(format!(
                "{} changes nothing, so there is nothing for --verify to read back",
                operation.name
            )));
        }
        if flags.plan.is_some() && flags.dry_run.is_some() {
            return Err(ConfigError::Refused(
                "--plan already changes nothing: drop --dry-run".into(),
            ));
        }
        if flags.plan.is_some() && flags.verify {
            return Err(ConfigError::Refused(
                "--plan changes nothing, so there is nothing for --verify to read back; give --verify to apply".into(),
            ));
        }
        if flags.ticket_required && flags.ticket.is_none() {
            return Err(ConfigError::Refused(format!(
                "profile {} requires a change ticket: add --ticket ID (nothing was sent)",
                flags.profile.as_deref().unwrap_or_default()
            )));
        }
        let dry_run = dry_run(&flags, operation)?;
        let origins = origins(&flags);
        Ok(Config {
            origins,
            operation,
            dry_run,
            output,
            retry,
            input: flags.input,
            input_is_stdin,
            format: flags.format,
            workbook,
            profile: flags.profile,
            confirm_always: flags.confirm_always,
            verbose: flags.verbose,
            log_level: flags.log_level,
            log_file: flags.log_file,
            force: flags.force,
            client: flags.client,
            reading: flags.reading,
            quiet: flags.quiet,
            summary_json: flags.summary_json,
            argv,
            yes: flags.yes,
            verify: flags.verify,
            limit: flags.limit,
            limits: flags.limits,
            resume: flags.resume,
            token_on_command_line: flags.token_on_command_line,
            plan: flags.plan,
            apply: flags.apply,
            ticket: flags.ticket,
            approvals_required: flags.approvals_required,
            allowed_signers: flags.allowed_signers,
        })
    }
}

/// With `--format xlsx`, the results CSV, the retry file and the workbook
/// (`output::naming::workbook_names`). Results on standard output have
/// nothing to make one beside.
fn workbook_beside(
    output: PathBuf,
    retry: PathBuf,
    format: Format,
) -> Result<(PathBuf, PathBuf, Option<PathBuf>), ConfigError> {
    match format {
        Format::Xlsx if is_stdout(&output) => Err(ConfigError::Refused(
            "--format xlsx makes a workbook beside the results file, and -o - writes none: give -o FILE, or leave --format out".into(),
        )),
        Format::Xlsx => {
            let (csv, retry, workbook) = workbook_names(output, retry);
            Ok((csv, retry, Some(workbook)))
        }
        Format::Csv | Format::Jsonl => Ok((output, retry, None)),
    }
}

/// The results file and the retry file. With no `-o`, the results go beside
/// the input (or follow the last `--resume` file); a dry run writes its own
/// name, never the real run's. The retry file is the real run's in a dry
/// run too (which writes none, but checks it as the real run would), and
/// sits beside the default results when they go to standard output.
fn output_names(flags: &Flags, input_is_stdin: bool) -> (PathBuf, PathBuf) {
    let default = match flags.resume.last() {
        Some(previous) => next_output(previous),
        None if input_is_stdin => stdin_output(flags.format),
        None => default_output(&flags.input, flags.format),
    };
    match &flags.output {
        Some(output) if is_stdout(output) => (output.clone(), retry_path(&default)),
        Some(output) => (output.clone(), retry_path(output)),
        None if flags.dry_run.is_some() || flags.plan.is_some() => {
            (dry_run_output(&default), retry_path(&default))
        }
        None => (default.clone(), retry_path(&default)),
    }
}

/// Refuses a run where two of its files are one file (the input written
/// over by its own results, a retry file over the input, ...), whatever
/// --force says: nothing is sent or written.
fn refuse_shared_files(flags: &Flags, output: &Path, retry: &Path) -> Result<(), ConfigError> {
    let mut roles: Vec<(&str, &Path)> = Vec::new();
    if flags.input.as_os_str() != "-" {
        roles.push(("the input", &flags.input));
    }
    if !is_stdout(output) {
        roles.push(("the results file (-o)", output));
    }
    roles.push(("the retry file", retry));
    if let Some(plan) = &flags.plan {
        roles.push(("the --plan file", plan));
    }
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
    if let Some(key) = &flags.oauth.client_key {
        roles.push(("the OAuth client key file", key));
    }
    match first_shared(&roles) {
        Some((first, second, path)) => Err(ConfigError::Refused(format!(
            "{first} and {second} are the same file ({}); choose another path so neither is overwritten",
            path.display()
        ))),
        None => Ok(()),
    }
}

/// Where the tenant and the credential came from, as the banner names them.
fn origins(flags: &Flags) -> Origins {
    let tenant = match (&flags.base_url, flags.mock) {
        (_, true) => Some("--mock".to_owned()),
        (Some(_), false) => Some(match flags.base_url_source {
            UrlSource::BaseUrlEnvironment => "SECURID_BASE_URL from the environment".to_owned(),
            UrlSource::Profile => "base-url from the profile".to_owned(),
            _ => "--base-url".to_owned(),
        }),
        (None, false) if flags.key_file.is_some() => {
            Some("the key file's adminRestApiUrl".to_owned())
        }
        (None, false) => None,
    };
    let credential = flags
        .given
        .iter()
        .find(|g| g.names_the_credential())
        .map(Given::shown);
    Origins {
        tenant,
        credential,
        unused_environment: flags.unused_environment.clone(),
    }
}

/// An OAuth client's access token goes only to the tenant given together
/// with the client: on the same command line, in the same profile, or in
/// the same environment. The issuer and the API are different hosts, so
/// the rule is about where the settings came from, never about names.
fn refuse_tenant_from_elsewhere(flags: &Flags) -> Result<(), ConfigError> {
    let Some(client) = flags
        .given
        .iter()
        .find(|g| g.kind == CredentialKind::OAuthClient && g.flag == "--client-id")
    else {
        return Ok(());
    };
    if flags.mock || flags.base_url.is_none() {
        return Ok(());
    }
    let tenant = Origin::of_tenant(flags.base_url_source);
    if tenant == client.origin {
        return Ok(());
    }
    let (tenant_shown, drop_it) = match tenant {
        Origin::Environment => (
            "SECURID_BASE_URL from the environment",
            "unset SECURID_BASE_URL",
        ),
        Origin::Profile => ("base-url from the profile", "drop the profile's base-url"),
        Origin::Flag => ("--base-url", "drop --base-url"),
    };
    let give_it = match client.origin {
        Origin::Environment => "set SECURID_BASE_URL beside SECURID_CLIENT_ID",
        Origin::Profile => "put base-url in the profile with the client",
        Origin::Flag => "pass --base-url on the command line with --client-id",
    };
    Err(ConfigError::Refused(format!(
        "the OAuth client ({}) and the tenant ({tenant_shown}) come from different places; an access token goes only to the tenant given together with its client: {give_it}, or {drop_it}",
        client.shown()
    )))
}

/// The dry run and its target. Credentials that conflict are refused in
/// a dry run as in a real run.
fn dry_run(flags: &Flags, operation: &Operation) -> Result<DryRun, ConfigError> {
    if flags.mock && !cfg!(feature = "mock") {
        return Err(ConfigError::Refused(NO_MOCK.into()));
    }
    refuse_mixed_credentials(&flags.given)?;
    refuse_tenant_from_elsewhere(flags)?;
    // A dry run that sends nothing checks the client's flags all the same.
    // A plan, and an apply that re-reads each target, read what --verify reads.
    let reads_state =
        flags.verify || flags.plan.is_some() || flags.apply.as_ref().is_some_and(|a| a.recheck);
    let oauth = match flags.oauth.any() {
        true => Some(oauth_settings(
            operation,
            &flags.oauth,
            flags.mock,
            reads_state,
        )?),
        false => None,
    };
    match flags.dry_run {
        // A plan sends lookups and reads only.
        None if flags.plan.is_some() => Ok(DryRun::Lookups(target(flags, oauth)?)),
        None => Ok(DryRun::Off(target(flags, oauth)?)),
        Some(DryRunFlag::Lookup) => Ok(DryRun::Lookups(target(flags, oauth)?)),
        // Nothing is sent, but a --base-url the real run would refuse is
        // refused now, so the dry run finds that problem too.
        Some(DryRunFlag::Offline) if flags.mock => Ok(DryRun::Offline {
            would_send_to: None,
            key_file: None,
            client_key: flags.oauth.client_key.clone(),
            simulated: true,
        }),
        Some(DryRunFlag::Offline) => Ok(DryRun::Offline {
            would_send_to: flags
                .base_url
                .as_deref()
                .map(|url| tenant_url(url, flags.base_url_source))
                .transpose()?,
            key_file: flags.key_file.clone(),
            client_key: flags.oauth.client_key.clone(),
            simulated: false,
        }),
    }
}

/// Where a real run (or a dry run with lookups) sends, with its
/// credentials; `oauth` is the OAuth client already checked by `dry_run`.
fn target(flags: &Flags, oauth: Option<OAuthSettings>) -> Result<Target, ConfigError> {
    #[cfg(feature = "mock")]
    if flags.mock {
        let options = Box::new(crate::mock::MockOptions::sample());
        return Ok(Target::Mock { options, oauth });
    }
    let credentials = match (&flags.token, &flags.key_file, oauth) {
        (Some(token), _, _) => Credentials::Token(Secret::new(token.expose().trim())),
        (None, Some(path), _) => Credentials::KeyFile(path.clone()),
        (None, None, Some(oauth)) => Credentials::OAuth(Box::new(oauth)),
        (None, None, None) => return Err(ConfigError::Refused(NO_CREDENTIALS.into())),
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

/// Refuses credentials of more than one kind, naming each setting given
/// and where it came from.
fn refuse_mixed_credentials(given: &[Given]) -> Result<(), ConfigError> {
    let mut kinds: Vec<CredentialKind> = Vec::new();
    for g in given {
        if !kinds.contains(&g.kind) {
            kinds.push(g.kind);
        }
    }
    if kinds.len() < 2 {
        return Ok(());
    }
    let described: Vec<String> = kinds
        .iter()
        .map(|kind| {
            let settings: Vec<String> = given
                .iter()
                .filter(|g| g.kind == *kind)
                .map(Given::shown)
                .collect();
            format!("{} ({})", kind.describe(), settings.join(", "))
        })
        .collect();
    Err(ConfigError::Refused(format!(
        "credentials of more than one kind were given: {}; a run uses exactly one kind: keep one",
        described.join(" and ")
    )))
}

/// The OAuth client the flags describe: a client ID, its key file, and
/// where its token endpoint is (the issuer or `--token-url`; the simulated
/// tenant is its own issuer). It asks for the operation's permissions and
/// its lookups' unless `--scope` says otherwise.
fn oauth_settings(
    operation: &Operation,
    flags: &OAuthFlags,
    mock: bool,
    verify: bool,
) -> Result<OAuthSettings, ConfigError> {
    let mut missing = Vec::new();
    if flags
        .client_id
        .as_deref()
        .is_none_or(|id| id.trim().is_empty())
    {
        missing.push("--client-id (or SECURID_CLIENT_ID)");
    }
    if flags.client_key.is_none() {
        missing.push("--client-key (or SECURID_CLIENT_KEY)");
    }
    if !mock && flags.issuer.is_none() && flags.token_url.is_none() {
        missing.push("--issuer (or SECURID_ISSUER)");
    }
    if !missing.is_empty() {
        return Err(ConfigError::Refused(format!(
            "an OAuth client needs its Client ID, its private key file and its Issuer URL (all shown in the Cloud Administration Console under Platform > API Access Management); missing: {}",
            missing.join(", ")
        )));
    }
    let issuer = match (&flags.issuer, mock) {
        (Some(url), false) => Some(checked_url(url, flags.issuer_source)?),
        _ => None,
    };
    let token_url = match (&flags.token_url, mock) {
        (Some(url), false) => Some(checked_url(url, UrlSource::TokenUrlFlag)?),
        _ => None,
    };
    let scopes: Vec<String> = match &flags.scope {
        Some(scope) => scope.split_whitespace().map(str::to_owned).collect(),
        None => operation
            .scopes(verify)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    if scopes.is_empty() {
        return Err(ConfigError::Refused(
            "--scope is empty; name the permissions to ask for, separated by spaces, or drop --scope to ask for the operation's own".into(),
        ));
    }
    if verify && flags.scope.is_some() {
        let missing: Vec<&str> = operation
            .scopes(true)
            .into_iter()
            .filter(|needed| !scopes.iter().any(|s| s == needed))
            .collect();
        if !missing.is_empty() {
            return Err(ConfigError::Refused(format!(
                "--verify reads each change back, but --scope lacks the permission{} {}; add {} to --scope, or drop --scope to ask for the operation's own",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
            )));
        }
    }
    Ok(OAuthSettings {
        client_id: flags
            .client_id
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        key: flags.client_key.clone().unwrap_or_default(),
        issuer,
        token_url,
        scopes,
    })
}

const NO_CREDENTIALS: &str = "no credentials: pass an OAuth client (--client-id ID --client-key FILE --issuer URL, or SECURID_CLIENT_ID, SECURID_CLIENT_KEY and SECURID_ISSUER), or --key-file FILE (or set SECURID_KEY_FILE) with the admin API key file from the Cloud Administration Console, or --token TOKEN (or set SECURID_TOKEN); --mock runs against a simulated tenant";

const NO_MOCK: &str = "--mock: this securid-bulk was built without the simulated tenant (the cargo feature `mock`); build it with default features to use --mock";

const NO_TENANT: &str = "no tenant given: pass --base-url https://<tenant>.access.securid.com or set SECURID_BASE_URL (or use --mock to try the tool)";
