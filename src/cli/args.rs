//! The flags every operation takes (`RunArgs`), their translation into
//! [`Flags`], and which credential settings a run keeps when several kinds
//! were given: a flag beats a profile chosen by name, which beats the
//! environment.

use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::Args;
use reqwest::Url;

use super::values::{
    parse_column, parse_delimiter, parse_encoding, parse_rate, parse_share, parse_ticket,
    positive_seconds, seconds,
};
use crate::client::{Rate, RetryPolicy, Settings};
use crate::config::{CredentialKind, DryRunFlag, Flags, Given, LogLevel, OAuthFlags, Origin};
use crate::net::{parse_proxy, ProxyChoice, UrlSource};
use crate::output::Format;
use crate::safety::Limits;
use crate::secret::Secret;

/// The headings an operation's flags are grouped under in its help and
/// man page.
const IO: &str = "Input and output";
const TENANT: &str = "Tenant and credentials";
const PACE: &str = "Pace";
const SAFETY: &str = "Safety";
const LOGGING: &str = "Logging";

/// Flags shared by every operation.
#[derive(Args, Debug)]
pub(super) struct RunArgs {
    /// The input: a CSV, or a workbook (.xlsx, .xls, .ods); `-` reads a CSV
    /// from standard input.
    input: PathBuf,

    /// Results file [default: <input stem>.results.csv beside the input;
    /// stdin.results.csv in the current directory for `-`].
    #[arg(help_heading = IO, short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Results as CSV, as JSON Lines (one object per input row), or as CSV
    /// and an .xlsx workbook beside it.
    #[arg(help_heading = IO, long, value_enum, default_value = "csv", value_name = "FORMAT")]
    format: FormatArg,

    /// Overwrite the results file if it exists.
    #[arg(help_heading = IO, long)]
    force: bool,

    /// Field delimiter of the input [default: a `sep=` first line, else the
    /// most frequent of , ; and tab in the header].
    #[arg(help_heading = IO, long, value_name = "C", value_parser = parse_delimiter)]
    delimiter: Option<u8>,

    /// Encoding of the input [default: UTF-8, or Windows-1252 when the file
    /// is not UTF-8].
    #[arg(help_heading = IO, long, value_name = "NAME", value_parser = parse_encoding)]
    encoding: Option<&'static encoding_rs::Encoding>,

    /// The sheet of a workbook to read [default: the first].
    #[arg(help_heading = IO, long, value_name = "NAME")]
    sheet: Option<String>,

    /// The file has no header row: name its columns in order
    /// (userId,tokenSerialNumber); the first line is read as data.
    #[arg(help_heading = IO, long, value_name = "NAMES", value_delimiter = ',')]
    columns: Option<Vec<String>>,

    /// Read a field from a column of another name (userId="Employee ID");
    /// may be repeated.
    #[arg(help_heading = IO, long = "column", value_name = "FIELD=HEADER", value_parser = parse_column)]
    column: Vec<(crate::ops::Field, String)>,

    /// Also write the summary as JSON.
    #[arg(help_heading = IO, long, value_name = "FILE")]
    summary_json: Option<PathBuf>,

    /// Skip rows an earlier run did (its results say ok); may be repeated to
    /// name every results file of a chain of runs.
    #[arg(help_heading = IO, long, value_name = "RESULTS.csv")]
    resume: Vec<PathBuf>,

    /// Profile of the config file to run with [default: none].
    #[arg(
        help_heading = TENANT,
        long,
        env = "SECURID_PROFILE",
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub(super) profile: Option<String>,

    /// Config file holding the profiles [default:
    /// $XDG_CONFIG_HOME/securid-bulk/config.toml].
    #[arg(help_heading = TENANT, long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,

    /// Tenant root, e.g. https://acme.access.securid.com (a URL ending in
    /// /AdminInterface/restapi/v1 is accepted too). http:// only for loopback.
    #[arg(
        help_heading = TENANT,
        long,
        env = "SECURID_BASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    base_url: Option<String>,

    /// Bearer token. Prefer the environment variable, which stays out of
    /// shell history.
    #[arg(
        help_heading = TENANT,
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
    #[arg(help_heading = TENANT, long, value_name = "URL", value_parser = parse_proxy, conflicts_with = "no_proxy")]
    proxy: Option<Url>,

    /// Send straight to the tenant, ignoring the proxy environment variables.
    #[arg(help_heading = TENANT, long)]
    no_proxy: bool,

    /// Admin API key file from the Cloud Administration Console.
    #[arg(
        help_heading = TENANT,
        long,
        env = "SECURID_KEY_FILE",
        hide_env_values = true,
        value_name = "FILE"
    )]
    key_file: Option<PathBuf>,

    /// OAuth API client: its Client ID (Platform > API Access Management in
    /// the Cloud Administration Console).
    #[arg(
        help_heading = TENANT,
        long,
        env = "SECURID_CLIENT_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    client_id: Option<String>,

    /// OAuth API client: its private key file (a JWK JSON file, RSA or EC,
    /// or a PKCS#8 PEM), saved when the client was created.
    #[arg(
        help_heading = TENANT,
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
        help_heading = TENANT,
        long,
        env = "SECURID_ISSUER",
        hide_env_values = true,
        value_name = "URL"
    )]
    issuer: Option<String>,

    /// OAuth API client: the token endpoint, used as is instead of the one
    /// found from --issuer.
    #[arg(help_heading = TENANT, long, value_name = "URL")]
    token_url: Option<String>,

    /// OAuth API client: the permissions to ask for, separated by spaces
    /// [default: the operation's and its lookups', see `operations`].
    #[arg(help_heading = TENANT, long, value_name = "\"PERMISSION ...\"")]
    scope: Option<String>,

    /// Lifetime of each token signed from the key file, in seconds (at most
    /// 3600); a fresh one is signed shortly before it expires.
    #[arg(help_heading = TENANT, long, default_value_t = 600, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(2..=3600))]
    token_lifetime: u64,

    /// Run against a built-in simulated tenant seeded with samples/tenant.json
    /// (with --client-id and --client-key, as that client's authorization
    /// server).
    #[arg(help_heading = TENANT, long, conflicts_with_all = ["base_url", "token", "key_file", "proxy", "issuer", "token_url"])]
    pub(super) mock: bool,

    /// Rows in flight at once.
    #[arg(help_heading = PACE, short = 'j', long, default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,

    /// Requests per second for the whole run: a number (a ceiling, paced 2%
    /// under it for the jitter of arrivals), 0 for unlimited, or "auto" to
    /// adapt to the tenant's quota.
    #[arg(help_heading = PACE, long, default_value = "10", value_name = "R|0|auto", value_parser = parse_rate)]
    rate: Rate,

    /// Attempts per row before giving up, the first included.
    #[arg(help_heading = PACE, long, default_value_t = 6, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    max_attempts: u32,

    /// Seconds to wait for one answer.
    #[arg(help_heading = PACE, long, default_value = "30", value_name = "SECS", value_parser = positive_seconds)]
    timeout: Duration,

    /// Longest Retry-After honoured, in seconds; longer ones are cut to this.
    #[arg(help_heading = PACE, long, default_value_t = 600, value_name = "SECS")]
    max_retry_after: u64,

    /// Validate every row and write the plan; send nothing. With =lookup,
    /// send only the lookups (email or username → userId, device → token
    /// serial), which change nothing, to prove the file resolves.
    #[arg(help_heading = SAFETY, long, value_enum, value_name = "lookup", num_args = 0..=1,
          require_equals = true, default_missing_value = "offline")]
    dry_run: Option<DryRunArg>,

    /// Go ahead with a destructive operation (delete, disable, unassign)
    /// without asking.
    #[arg(help_heading = SAFETY, long)]
    yes: bool,

    /// After each row succeeds, read its state back through the matching
    /// lookup; a change that did not take fails the row (see the `verified`
    /// column). The reads count against --rate.
    #[arg(help_heading = SAFETY, long)]
    verify: bool,

    /// A change ticket (CHG0012345) stamped into the results, the summary
    /// and the request log; a profile's `ticket-required = true` refuses a
    /// run without one.
    #[arg(help_heading = SAFETY, long, value_name = "ID", value_parser = parse_ticket)]
    ticket: Option<String>,

    /// Canary: send only the first N rows; the rest are not attempted.
    #[arg(help_heading = SAFETY, long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,

    /// Stop taking new rows once N rows have failed.
    #[arg(help_heading = SAFETY, long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    max_failures: Option<u64>,

    /// Stop taking new rows once this share of sent rows failed (0.2 or 20%),
    /// checked after --failure-sample rows.
    #[arg(help_heading = SAFETY, long, value_name = "P", value_parser = parse_share)]
    max_failure_rate: Option<f64>,

    /// Rows sent before --max-failure-rate is checked.
    #[arg(help_heading = SAFETY, long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    failure_sample: u64,

    /// Stop the run when no request has reached the tenant for this long.
    #[arg(help_heading = SAFETY, long, value_name = "SECS", default_value = "120", value_parser = seconds)]
    max_unreachable: Duration,

    /// Log each request on stderr (row line, method, path, status, attempt,
    /// wait); -vv adds more. RUST_LOG overrides the terminal's level, never
    /// the log file's.
    #[arg(help_heading = LOGGING, short, long, action = clap::ArgAction::Count)]
    verbose: u8,

    /// The --log-file's level: info (every request), debug or trace.
    /// Without it the file follows -v; RUST_LOG never changes it.
    #[arg(help_heading = LOGGING, long, value_enum, value_name = "LEVEL", requires = "log_file")]
    log_level: Option<LogLevel>,

    /// Append the request log as JSON Lines to FILE (created 0600), an
    /// audit trail beside the results.
    #[arg(help_heading = LOGGING, long, value_name = "FILE")]
    log_file: Option<PathBuf>,

    /// No progress display; errors and the summary only.
    #[arg(help_heading = LOGGING, short, long)]
    quiet: bool,

    /// Change nothing: read each row's lookups and its target's current
    /// state (paced by --rate) and write what a run would do to FILE, for
    /// `show`, `approve` and `apply`.
    #[arg(help_heading = SAFETY, long, value_name = "FILE", conflicts_with = "dry_run")]
    plan: Option<PathBuf>,
}

/// The results' format, as typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    /// CSV with the input's columns, then the results' own.
    Csv,
    /// JSON Lines: one object per input row, the same fields.
    Jsonl,
    /// The CSV, and at the end an .xlsx workbook of it, every cell text.
    Xlsx,
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

impl RunArgs {
    /// The flags, with where clap found the token and the tenant URL.
    pub(super) fn into_flags(
        self,
        matches: &clap::ArgMatches,
        from_profile: &[String],
        given: Vec<Given>,
    ) -> Flags {
        let source = |id: &str| matches.value_source(id);
        let reading = text_options_for(&self.input, from_profile, (self.delimiter, self.encoding));
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
                FormatArg::Xlsx => Format::Xlsx,
            },
            profile: None,
            confirm_always: false,
            verbose: self.verbose,
            log_level: self.log_level,
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
            unused_environment: Vec::new(),
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
            reading: crate::input::Reading {
                delimiter: reading.0,
                encoding: reading.1,
                sheet: self.sheet,
                columns: self.columns,
                renames: self.column,
            },
            quiet: self.quiet,
            summary_json: self.summary_json,
            yes: self.yes,
            verify: self.verify,
            limit: self.limit,
            ticket: self.ticket,
            ticket_required: false,
            approvals_required: 0,
            allowed_signers: None,
            limits: Limits {
                max_failures: self.max_failures,
                max_failure_rate: self.max_failure_rate,
                failure_sample: self.failure_sample,
                max_unreachable: self.max_unreachable,
            },
            resume: self.resume,
            plan: self.plan,
            apply: None,
        }
    }
}

/// `--delimiter` and `--encoding` as the input takes them. A profile's are
/// meant for its CSV files and left out for a workbook, which has neither;
/// typed ones stay, and the input refuses them with a workbook.
fn text_options_for<D, E>(
    input: &std::path::Path,
    from_profile: &[String],
    (delimiter, encoding): (Option<D>, Option<E>),
) -> (Option<D>, Option<E>) {
    let workbook = crate::input::is_spreadsheet(input);
    let profiles = |id: &str| workbook && from_profile.iter().any(|p| p == id);
    (
        delimiter.filter(|_| !profiles("delimiter")),
        encoding.filter(|_| !profiles("encoding")),
    )
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
/// other kinds from weaker ones: a flag over a profile chosen by name over
/// the environment. So `--token` works for a one-off run even with
/// `SECURID_KEY_FILE` or an OAuth client set in the admin's shell, and a
/// leftover `SECURID_TOKEN` never replaces a profile's key file. Returns
/// the settings left, with where each came from.
pub(super) fn prefer_flags_over_environment(
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

fn parse_secret(text: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(text))
}
