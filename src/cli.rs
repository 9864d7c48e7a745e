//! The command line: clap definitions, and their translation into one typed
//! [`Flags`], each parsed by its own clap value parser; the rules that tie
//! flags together are [`Config::from_flags`]'s. Each operation in the
//! catalog becomes a subcommand of its own, so adding an operation adds its
//! command with no change here.

use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Args, FromArgMatches};
use reqwest::Url;

use crate::client::{Rate, RetryPolicy, Settings};
use crate::config::{
    Config, ConfigError, CredentialKind, DryRunFlag, Flags, Given, OAuthFlags, Origin,
};
#[cfg(feature = "mock")]
use crate::mock::MockOptions;
use crate::net::{parse_proxy, redact_url, ProxyChoice, UrlSource};
use crate::ops;
use crate::output::Format;
use crate::safety::Limits;
use crate::secret::Secret;

mod help;
mod profiles;
mod values;

use values::{parse_delimiter, parse_rate, parse_share, positive_seconds, seconds};

pub use profiles::{ProfileError, Profiles};

/// What the user asked for.
#[derive(Debug)]
pub enum Command {
    Run(Box<Config>),
    ListOperations,
    /// `profiles`: the listing to print.
    ListProfiles(String),
    /// `completions SHELL`: the script to print.
    Completions(clap_complete::Shell),
    /// `man`: the roff page.
    Man,
    #[cfg(feature = "mock")]
    Mock(Box<MockOptions>),
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

/// Flags shared by every operation.
#[derive(Args, Debug)]
struct RunArgs {
    /// The input CSV (header row required); `-` reads standard input.
    input: PathBuf,

    /// Results file [default: <input stem>.results.csv beside the input;
    /// stdin.results.csv in the current directory for `-`].
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Results as CSV, or as JSON Lines (one object per input row).
    #[arg(long, value_enum, default_value = "csv", value_name = "FORMAT")]
    format: FormatArg,

    /// Profile of the config file to run with [default: none].
    #[arg(
        long,
        env = "SECURID_PROFILE",
        hide_env_values = true,
        value_name = "NAME"
    )]
    profile: Option<String>,

    /// Config file holding the profiles [default:
    /// $XDG_CONFIG_HOME/securid-bulk/config.toml].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Log each request on stderr (row line, method, path, status, attempt,
    /// wait); -vv adds more. RUST_LOG overrides the level.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Append the request log as JSON Lines to FILE (created 0600), an
    /// audit trail beside the results.
    #[arg(long, value_name = "FILE")]
    log_file: Option<PathBuf>,

    /// Overwrite the results file if it exists.
    #[arg(long)]
    force: bool,

    /// Validate every row and write the plan; send nothing. With =lookup,
    /// send only the lookups (email or username → userId, device → token
    /// serial), which change nothing, to prove the file resolves.
    #[arg(long, value_enum, value_name = "lookup", num_args = 0..=1,
          require_equals = true, default_missing_value = "offline")]
    dry_run: Option<DryRunArg>,

    /// Tenant root, e.g. https://acme.access.securid.com (a URL ending in
    /// /AdminInterface/restapi/v1 is accepted too). http:// only for loopback.
    #[arg(
        long,
        env = "SECURID_BASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    base_url: Option<String>,

    /// Bearer token. Prefer the environment variable, which stays out of
    /// shell history.
    #[arg(
        long,
        env = "SECURID_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = parse_secret
    )]
    token: Option<Secret>,

    /// Proxy for requests to an https:// tenant [default: HTTPS_PROXY,
    /// ALL_PROXY and NO_PROXY from the environment]. Plain http:// to
    /// loopback never goes through a proxy.
    #[arg(long, value_name = "URL", value_parser = parse_proxy, conflicts_with = "no_proxy")]
    proxy: Option<Url>,

    /// Send straight to the tenant, ignoring the proxy environment variables.
    #[arg(long)]
    no_proxy: bool,

    /// Admin API key file from the Cloud Administration Console.
    #[arg(
        long,
        env = "SECURID_KEY_FILE",
        hide_env_values = true,
        value_name = "FILE"
    )]
    key_file: Option<PathBuf>,

    /// OAuth API client: its Client ID (Platform > API Access Management in
    /// the Cloud Administration Console).
    #[arg(
        long,
        env = "SECURID_CLIENT_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    client_id: Option<String>,

    /// OAuth API client: its private key file (a JWK JSON file, RSA or EC,
    /// or a PKCS#8 PEM), saved when the client was created.
    #[arg(
        long,
        env = "SECURID_CLIENT_KEY",
        hide_env_values = true,
        value_name = "FILE"
    )]
    client_key: Option<PathBuf>,

    /// OAuth API client: its Issuer URL, e.g.
    /// https://<tenant>.auth.securid.com/oauth. The token endpoint is found
    /// by OpenID discovery there, else it is <issuer>/token.
    #[arg(
        long,
        env = "SECURID_ISSUER",
        hide_env_values = true,
        value_name = "URL"
    )]
    issuer: Option<String>,

    /// OAuth API client: the token endpoint, used as is instead of the one
    /// found from --issuer.
    #[arg(long, value_name = "URL")]
    token_url: Option<String>,

    /// OAuth API client: the permissions to ask for, separated by spaces
    /// [default: the operation's and its lookups', see `operations`].
    #[arg(long, value_name = "\"PERMISSION ...\"")]
    scope: Option<String>,

    /// Lifetime of each token signed from the key file, in seconds (at most
    /// 3600); a fresh one is signed shortly before it expires.
    #[arg(long, default_value_t = 600, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(2..=3600))]
    token_lifetime: u64,

    /// Run against a built-in simulated tenant seeded with samples/tenant.json
    /// (with --client-id and --client-key, as that client's authorization
    /// server).
    #[arg(long, conflicts_with_all = ["base_url", "token", "key_file", "proxy", "issuer", "token_url"])]
    mock: bool,

    /// Rows in flight at once.
    #[arg(short = 'j', long, default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,

    /// Requests per second for the whole run: a number, 0 for unlimited, or
    /// "auto" to adapt to the tenant's quota.
    #[arg(long, default_value = "10", value_name = "R|0|auto", value_parser = parse_rate)]
    rate: Rate,

    /// Attempts per row before giving up, the first included.
    #[arg(long, default_value_t = 6, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    max_attempts: u32,

    /// Seconds to wait for one answer.
    #[arg(long, default_value = "30", value_name = "SECS", value_parser = positive_seconds)]
    timeout: Duration,

    /// Longest Retry-After honoured, in seconds; longer ones are cut to this.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    max_retry_after: u64,

    /// Field delimiter of the input.
    #[arg(long, default_value = ",", value_name = "C", value_parser = parse_delimiter)]
    delimiter: u8,

    /// No progress display; errors and the summary only.
    #[arg(short, long)]
    quiet: bool,

    /// Also write the summary as JSON.
    #[arg(long, value_name = "FILE")]
    summary_json: Option<PathBuf>,

    /// Go ahead with a destructive operation (delete, disable, unassign)
    /// without asking.
    #[arg(long)]
    yes: bool,

    /// After each row succeeds, read its state back through the matching
    /// lookup; a change that did not take fails the row (see the `verified`
    /// column). The reads count against --rate.
    #[arg(long)]
    verify: bool,

    /// Canary: send only the first N rows; the rest are not attempted.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,

    /// Stop taking new rows once N rows have failed.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    max_failures: Option<u64>,

    /// Stop taking new rows once this share of sent rows failed (0.2 or 20%),
    /// checked after --failure-sample rows.
    #[arg(long, value_name = "P", value_parser = parse_share)]
    max_failure_rate: Option<f64>,

    /// Rows sent before --max-failure-rate is checked.
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    failure_sample: u64,

    /// Stop the run when no request has reached the tenant for this long.
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = seconds)]
    max_unreachable: Duration,

    /// Skip rows an earlier run did (its results say ok); may be repeated to
    /// name every results file of a chain of runs.
    #[arg(long, value_name = "RESULTS.csv")]
    resume: Vec<PathBuf>,
}

/// The results' format, as typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    /// CSV with the input's columns, then the results' own.
    Csv,
    /// JSON Lines: one object per input row, the same fields.
    Jsonl,
}

/// What a dry run may send, as typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum DryRunArg {
    /// Nothing at all (`--dry-run`).
    #[value(hide = true)]
    Offline,
    /// The lookups only (`--dry-run=lookup`).
    Lookup,
}

/// The whole command line, as clap knows it (help, completions, man page).
pub fn command() -> clap::Command {
    let mut cmd = clap::Command::new("securid-bulk")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Bulk operations against the RSA SecurID Cloud Administration API")
        .after_help(help::top_level_examples())
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            clap::Command::new("operations")
                .about("List the operations, their required columns and HTTP calls"),
        )
        .subcommand(
            clap::Command::new("profiles")
                .about("List the profiles of the config file, with their tenant hosts")
                .arg(
                    clap::Arg::new("config")
                        .long("config")
                        .value_name("FILE")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("Config file [default: $XDG_CONFIG_HOME/securid-bulk/config.toml]"),
                ),
        )
        .subcommand(
            clap::Command::new("completions")
                .about("Print a shell completion script (bash, zsh, fish, powershell, elvish)")
                .arg(
                    clap::Arg::new("shell")
                        .required(true)
                        .value_parser(clap::value_parser!(clap_complete::Shell)),
                ),
        )
        .subcommand(clap::Command::new("man").about("Print the man page (roff) on stdout"));
    #[cfg(feature = "mock")]
    {
        // augment_args sets the struct's own doc as `about`: ours go after.
        let mock = MockOptions::augment_args(clap::Command::new("mock"))
            .about(help::MOCK_ABOUT)
            .long_about(help::MOCK_PAGE);
        cmd = cmd.subcommand(mock);
    }
    for op in ops::commands() {
        let sub = RunArgs::augment_args(clap::Command::new(op.name))
            .about(help::capitalised(op.summary))
            .long_about(help::operation_page(op))
            .args_override_self(true);
        cmd = cmd.subcommand(sub);
    }
    cmd
}

/// The completion script for one shell.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "securid-bulk", &mut script);
    script
}

/// The man page, in roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command()).render(&mut page)?;
    Ok(page)
}

/// Parses the process arguments; exits with clap's message on bad flags.
pub fn parse() -> Result<Command, CliError> {
    parse_from(std::env::args_os())
}

pub fn parse_from<I, T>(args: I) -> Result<Command, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = WipedArgs(args.into_iter().map(Into::into).collect());
    let matches = matches_of(&args.0)?;
    let (name, sub) = matches
        .subcommand()
        .ok_or_else(|| CliError::Usage("no command given".into()))?;
    let from_matches = |e: clap::Error| CliError::Usage(without_prefix(&e.to_string()));
    match name {
        "operations" => Ok(Command::ListOperations),
        "man" => Ok(Command::Man),
        "completions" => Ok(Command::Completions(
            *sub.get_one::<clap_complete::Shell>("shell")
                .ok_or_else(|| CliError::Usage("completions: name a shell".into()))?,
        )),
        "profiles" => {
            let explicit = sub.get_one::<PathBuf>("config").map(PathBuf::as_path);
            Ok(Command::ListProfiles(match Profiles::load(explicit)? {
                Some(profiles) => profiles.listing(),
                None => format!(
                    "no config file ({}); see the README's Profiles section\n",
                    profiles::default_path().map_or_else(String::new, |p| p.display().to_string())
                ),
            }))
        }
        #[cfg(feature = "mock")]
        "mock" => Ok(Command::Mock(Box::new(
            MockOptions::from_arg_matches(sub).map_err(from_matches)?,
        ))),
        _ => {
            let op = ops::find(name)
                .ok_or_else(|| CliError::Usage(format!("unknown operation {name}")))?;
            let run = RunArgs::from_arg_matches(sub).map_err(from_matches)?;
            let argv = argv_without_token(&args.0);
            let Some(profile_name) = run.profile.clone() else {
                return run_command(op, run, sub, &[], None, argv);
            };
            let explicit = run.config.clone();
            let profiles =
                Profiles::load(explicit.as_deref())?.ok_or_else(|| ProfileError::NoFile {
                    name: profile_name.clone(),
                    path: explicit.or_else(profiles::default_path).unwrap_or_default(),
                })?;
            let sub_command = command();
            let sub_command = sub_command
                .find_subcommand(name)
                .expect("an operation is a command");
            let profile = profiles.profile(&profile_name, sub_command)?;
            let (words, from_profile) = profile.arguments(sub_command, sub);
            let with_profile = with_profile_arguments(&args.0, name, words);
            // The typed arguments parsed alone: a refusal now is the profile's.
            let matches = command()
                .try_get_matches_from(&with_profile.0)
                .map_err(|e| {
                    let refusal = usage_error_without_secrets(&e);
                    CliError::Usage(profile.explain(refused_flag(&e).as_deref(), &refusal))
                })?;
            let sub = matches.subcommand_matches(name).expect("the same command");
            let run = RunArgs::from_arg_matches(sub).map_err(from_matches)?;
            run_command(op, run, sub, &from_profile, Some(&profile), argv)
        }
    }
}

fn matches_of(args: &[std::ffi::OsString]) -> Result<clap::ArgMatches, CliError> {
    match command().try_get_matches_from(args) {
        Ok(matches) => Ok(matches),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => Err(CliError::Usage(usage_error_without_secrets(&e))),
    }
}

/// The arguments with the profile's flags right after the operation's name,
/// so they never land after a `--`.
fn with_profile_arguments(
    args: &[std::ffi::OsString],
    operation: &str,
    words: Vec<String>,
) -> WipedArgs {
    let at = args
        .iter()
        .position(|a| a == operation)
        .map_or(args.len(), |i| i + 1);
    let mut args = WipedArgs(args.to_vec());
    args.0.splice(at..at, words.into_iter().map(Into::into));
    args
}

fn run_command(
    op: &'static ops::Operation,
    mut run: RunArgs,
    matches: &clap::ArgMatches,
    from_profile: &[String],
    profile: Option<&profiles::Profile>,
    argv: Vec<String>,
) -> Result<Command, CliError> {
    let given = prefer_flags_over_environment(&mut run, matches, from_profile);
    let mut flags = run.into_flags(matches, from_profile, given);
    if let Some(profile) = profile {
        flags.profile = Some(profile.name.clone());
        flags.confirm_always = profile.confirm;
    }
    Ok(Command::Run(Box::new(Config::from_flags(op, flags, argv)?)))
}

/// The command line, wiped when parsing ends: it may hold `--token`.
struct WipedArgs(Vec<std::ffi::OsString>);

impl Drop for WipedArgs {
    fn drop(&mut self) {
        for arg in self.0.drain(..) {
            zeroize::Zeroize::zeroize(&mut arg.into_encoded_bytes());
        }
    }
}

/// The command line as typed, minus `--token` and its value, for the
/// carry-on command.
fn argv_without_token(args: &[std::ffi::OsString]) -> Vec<String> {
    let mut argv = Vec::with_capacity(args.len());
    let mut words = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(word) = words.next() {
        if word == "--token" {
            words.next();
        } else if !word.starts_with("--token=") {
            argv.push(word);
        }
    }
    argv
}

fn parse_secret(text: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(text))
}

/// clap's message without its own `error: `: main adds the one prefix.
fn without_prefix(text: &str) -> String {
    text.trim_end().trim_start_matches("error: ").to_owned()
}

impl RunArgs {
    /// The flags, with where clap found the token and the tenant URL.
    fn into_flags(
        self,
        matches: &clap::ArgMatches,
        from_profile: &[String],
        given: Vec<Given>,
    ) -> Flags {
        let source = |id: &str| matches.value_source(id);
        let base_url_source = match source("base_url") {
            _ if from_profile.iter().any(|id| id == "base_url") => UrlSource::Profile,
            Some(ValueSource::EnvVariable) => UrlSource::BaseUrlEnvironment,
            _ => UrlSource::BaseUrlFlag,
        };
        Flags {
            token_on_command_line: source("token") == Some(ValueSource::CommandLine)
                && self.token.is_some(),
            base_url_source,
            input: self.input,
            output: self.output,
            format: match self.format {
                FormatArg::Csv => Format::Csv,
                FormatArg::Jsonl => Format::Jsonl,
            },
            profile: None,
            confirm_always: false,
            verbose: self.verbose,
            log_file: self.log_file,
            force: self.force,
            dry_run: self.dry_run.map(|d| match d {
                DryRunArg::Offline => DryRunFlag::Offline,
                DryRunArg::Lookup => DryRunFlag::Lookup,
            }),
            base_url: self.base_url,
            token: self.token,
            key_file: self.key_file,
            oauth: OAuthFlags {
                client_id: self.client_id,
                client_key: self.client_key,
                issuer: self.issuer,
                issuer_source: match source("issuer") {
                    _ if from_profile.iter().any(|id| id == "issuer") => UrlSource::Profile,
                    Some(ValueSource::EnvVariable) => UrlSource::IssuerEnvironment,
                    _ => UrlSource::IssuerFlag,
                },
                token_url: self.token_url,
                scope: self.scope,
            },
            given,
            mock: self.mock,
            client: Settings {
                timeout: self.timeout,
                rate: self.rate,
                retry: RetryPolicy {
                    max_attempts: self.max_attempts,
                    max_retry_after: Duration::from_secs(self.max_retry_after),
                    ..RetryPolicy::default()
                },
                concurrency: self.concurrency.into(),
                proxy: match (self.proxy, self.no_proxy) {
                    (_, true) => ProxyChoice::Direct,
                    (Some(proxy), false) => ProxyChoice::Given(proxy),
                    (None, false) => ProxyChoice::Environment,
                },
                token_lifetime: Duration::from_secs(self.token_lifetime),
            },
            delimiter: self.delimiter,
            quiet: self.quiet,
            summary_json: self.summary_json,
            yes: self.yes,
            verify: self.verify,
            limit: self.limit,
            limits: Limits {
                max_failures: self.max_failures,
                max_failure_rate: self.max_failure_rate,
                failure_sample: self.failure_sample,
                max_unreachable: self.max_unreachable,
            },
            resume: self.resume,
        }
    }
}

/// clap's message for a bad command line, minus any value that may be a
/// secret: a stray positional argument is often a token pasted in the
/// wrong place, and an unknown `--flag=value` may carry one too.
/// The long name of the flag a clap error is about (`rate` for `--rate
/// <RATE>`), if it names one.
fn refused_flag(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let word = arg.split([' ', '=']).next()?;
    word.strip_prefix("--").map(str::to_owned)
}

fn usage_error_without_secrets(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let rendered = e.render().to_string();
    // main adds its own "error: ".
    let mut text = without_prefix(&rendered);
    if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
        let secret = match arg.split_once('=') {
            Some((_, value)) if arg.starts_with('-') => value,
            _ if arg.starts_with('-') => "",
            _ => arg.as_str(),
        };
        if !secret.is_empty() {
            text = text.replace(secret, "[redacted]");
        }
    }
    // A token pasted in place of the operation. Only the quoted form is
    // replaced, so a short value cannot mangle the usage text around it.
    if let Some(ContextValue::String(word)) = e.get(ContextKind::InvalidSubcommand) {
        if !word.is_empty() {
            text = text.replace(&format!("'{word}'"), "'[redacted]'");
        }
    }
    if let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidValue) {
        text = text.replace(value, &redact_url(value));
    }
    text
}

/// Every credential setting: its kind, its argument id, its flag and its
/// environment variable.
const CREDENTIAL_SETTINGS: &[(CredentialKind, &str, &str, Option<&str>)] = &[
    (
        CredentialKind::BearerToken,
        "token",
        "--token",
        Some("SECURID_TOKEN"),
    ),
    (
        CredentialKind::KeyFile,
        "key_file",
        "--key-file",
        Some("SECURID_KEY_FILE"),
    ),
    (
        CredentialKind::OAuthClient,
        "client_id",
        "--client-id",
        Some("SECURID_CLIENT_ID"),
    ),
    (
        CredentialKind::OAuthClient,
        "client_key",
        "--client-key",
        Some("SECURID_CLIENT_KEY"),
    ),
    (
        CredentialKind::OAuthClient,
        "issuer",
        "--issuer",
        Some("SECURID_ISSUER"),
    ),
    (
        CredentialKind::OAuthClient,
        "token_url",
        "--token-url",
        None,
    ),
    (CredentialKind::OAuthClient, "scope", "--scope", None),
];

/// Credentials of a kind given by the strongest source win over those of
/// other kinds from weaker ones: a flag over the environment over a
/// config-file profile. So `--token` works for a one-off run even with
/// `SECURID_KEY_FILE` or an OAuth client set in the admin's shell. Returns
/// the settings left, with where each came from.
fn prefer_flags_over_environment(
    run: &mut RunArgs,
    matches: &clap::ArgMatches,
    from_profile: &[String],
) -> Vec<Given> {
    let given: Vec<Given> = CREDENTIAL_SETTINGS
        .iter()
        .filter_map(|(kind, id, flag, env)| {
            let origin = match matches.value_source(id)? {
                _ if from_profile.iter().any(|p| p == id) => Origin::Profile,
                ValueSource::EnvVariable => Origin::Environment,
                ValueSource::CommandLine => Origin::Flag,
                _ => return None,
            };
            Some(Given {
                kind: *kind,
                flag,
                env: *env,
                origin,
            })
        })
        .collect();
    let Some(strongest) = given.iter().map(|g| g.origin).max() else {
        return given;
    };
    let winners: Vec<CredentialKind> = given
        .iter()
        .filter(|g| g.origin == strongest)
        .map(|g| g.kind)
        .collect();
    let (kept, dropped): (Vec<Given>, Vec<Given>) =
        given.into_iter().partition(|g| winners.contains(&g.kind));
    for g in dropped {
        match g.kind {
            CredentialKind::BearerToken => run.token = None,
            CredentialKind::KeyFile => run.key_file = None,
            CredentialKind::OAuthClient => {
                run.client_id = None;
                run.client_key = None;
                run.issuer = None;
                run.token_url = None;
                run.scope = None;
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DryRun;

    #[test]
    fn every_catalog_entry_is_a_command() {
        let cmd = command();
        for op in ops::CATALOG {
            assert!(cmd.find_subcommand(op.name).is_some(), "{}", op.name);
        }
        cmd.debug_assert();
    }

    #[test]
    fn dry_run_with_lookups_needs_a_tenant_and_plain_dry_run_does_not() {
        let run = |extra: &[&str]| {
            let args = ["securid-bulk", "ds100-delete", "in.csv"]
                .iter()
                .chain(extra);
            parse_from(args.copied().collect::<Vec<_>>())
        };
        let Ok(Command::Run(plain)) = run(&["--dry-run"]) else {
            panic!("plain dry run parses")
        };
        assert!(matches!(plain.dry_run, DryRun::Offline { .. }));
        let err = run(&["--dry-run=lookup"]).unwrap_err().to_string();
        assert!(err.contains("no credentials"), "{err}");
        let Ok(Command::Run(lookups)) = run(&["--dry-run=lookup", "--mock"]) else {
            panic!("dry run with lookups parses")
        };
        assert!(matches!(lookups.dry_run, DryRun::Lookups(_)));
        assert!(run(&["--dry-run=everything"]).is_err());
    }

    #[test]
    fn a_typed_token_is_in_neither_the_kept_command_line_nor_the_debug_output() {
        for token in [&["--token", "s3cret-tok"][..], &["--token=s3cret-tok"]] {
            let mut args = vec![
                "securid-bulk",
                "ds100-clear-pin",
                "in.csv",
                "--base-url",
                "https://acme.example",
            ];
            args.extend(token);
            args.extend(["-j", "2"]);
            let Ok(Command::Run(config)) = parse_from(args) else {
                panic!("parses")
            };
            assert!(config.token_on_command_line);
            assert_eq!(
                config.argv,
                [
                    "securid-bulk",
                    "ds100-clear-pin",
                    "in.csv",
                    "--base-url",
                    "https://acme.example",
                    "-j",
                    "2"
                ]
            );
            let shown = format!("{config:?}");
            assert!(!shown.contains("s3cret"), "{shown}");
        }
    }

    #[test]
    fn token_and_key_file_together_is_an_error() {
        let err = parse_from([
            "securid-bulk",
            "ds100-clear-pin",
            "in.csv",
            "--base-url",
            "https://x",
            "--token",
            "t",
            "--key-file",
            "k.json",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("keep one"));
    }
}
