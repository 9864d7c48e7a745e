//! The typed configuration of one run: what to do, to which rows, against
//! which tenant, with which credentials and limits. [`Config::from_flags`]
//! applies the rules that tie flags together (credentials, dry run and
//! target, output names, files that must differ, the URL policy); the
//! command line (`cli`) parses each flag on its own. Everything after
//! reads only [`Config`]. The credential rules live in `credentials`, the
//! dry run and its target in `dry_run`.

mod credentials;
mod dry_run;

use std::path::{Path, PathBuf};

use crate::client::Settings;
use crate::net::{UrlError, UrlSource};
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

pub use credentials::{CredentialKind, Given, OAuthFlags, Origin, Origins};
pub use dry_run::{DryRun, DryRunFlag};

use credentials::origins;
use dry_run::dry_run;

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

/// A run the flags cannot describe.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Url(#[from] UrlError),
}

impl Config {
    /// The input as the admin typed it: `-` for standard input, which the
    /// run reads from a private spool file that no message names.
    pub fn input_as_typed(&self) -> &std::path::Path {
        match self.input_is_stdin {
            true => std::path::Path::new("-"),
            false => &self.input,
        }
    }

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
