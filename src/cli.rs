//! The command line: clap definitions, and their translation into one typed
//! [`Flags`], each parsed by its own clap value parser; the rules that tie
//! flags together are [`Config::from_flags`]'s. Each operation in the
//! catalog becomes a subcommand of its own, so adding an operation adds its
//! command with no change here.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, FromArgMatches};

use crate::config::{Config, ConfigError};
#[cfg(feature = "mock")]
use crate::mock::MockOptions;
use crate::net::redact_url;
use crate::ops;
use crate::secret::looks_like_secret;

mod args;
mod completions;
mod help;
mod man;
mod profiles;
mod values;

use args::{prefer_flags_over_environment, RunArgs};

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
    /// `man`: the main page on stdout; `man --dir DIR`: every page, written
    /// into DIR.
    Man(Option<PathBuf>),
    #[cfg(feature = "mock")]
    Mock(Box<MockOptions>),
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Boxed: a profile error names file, line, key and value, and would
    /// make every `Result` of the command line as large.
    #[error(transparent)]
    Profile(Box<ProfileError>),
}

impl From<ProfileError> for CliError {
    fn from(error: ProfileError) -> Self {
        CliError::Profile(Box::new(error))
    }
}

/// The whole command line, as clap knows it (help, completions, man page).
pub fn command() -> clap::Command {
    command_with(false)
}

/// Settings `--mock` leaves aside: it names its own tenant and token.
const MOCK_REPLACES: &[&str] = &["base_url", "token", "key_file", "issuer"];

/// The command line for `args`: when `--mock` is among them, the
/// environment variables of the settings it replaces are not read, so a
/// `SECURID_BASE_URL` left in the shell yields to the explicit `--mock`
/// (and the banner says so) instead of clashing with it.
fn command_for(args: &[std::ffi::OsString]) -> clap::Command {
    let mock = args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--mock");
    command_with(mock)
}

fn command_with(env_yields_to_mock: bool) -> clap::Command {
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
                )
                .arg(
                    // For the completion scripts: one name a line.
                    clap::Arg::new("names")
                        .long("names")
                        .action(clap::ArgAction::SetTrue)
                        .hide(true),
                ),
        )
        .subcommand(
            clap::Command::new("completions")
                .about("Print a shell completion script (bash, zsh, fish, powershell, elvish)")
                .arg(
                    clap::Arg::new("shell")
                        .value_name("SHELL")
                        .required(true)
                        .value_parser(clap::value_parser!(clap_complete::Shell)),
                ),
        )
        .subcommand(
            clap::Command::new("man")
                .about("Print the man page (roff), or write every page into a directory")
                .arg(
                    clap::Arg::new("dir")
                        .long("dir")
                        .value_name("DIR")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help(
                            "Write securid-bulk.1 and one securid-bulk-<command>.1 per \
                             command into DIR (e.g. ~/.local/share/man/man1) instead",
                        ),
                ),
        );
    #[cfg(feature = "mock")]
    {
        // augment_args sets the struct's own doc as `about`: ours go after.
        let mock = MockOptions::augment_args(clap::Command::new("mock"))
            .about(help::MOCK_ABOUT)
            .long_about(help::MOCK_PAGE);
        cmd = cmd.subcommand(mock);
    }
    for op in ops::commands() {
        let mut sub = RunArgs::augment_args(clap::Command::new(op.name))
            .about(help::capitalised(op.summary))
            .long_about(help::operation_page(op))
            .args_override_self(true);
        if env_yields_to_mock {
            for id in MOCK_REPLACES {
                sub = sub.mut_arg(*id, |arg| arg.env(None));
            }
        }
        cmd = cmd.subcommand(sub);
    }
    cmd
}

/// The completion script for one shell.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    completions::script(shell, command())
}

/// The main man page, in roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    man::main_page(command())
}

/// Writes every man page into `dir`; returns the paths written.
pub fn write_man_pages(dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    man::write_pages(command(), dir)
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
    if let Some(hint) = dry_run_value_apart(&args.0) {
        return Err(hint);
    }
    let matches = matches_of(&args.0)?;
    let (name, sub) = matches
        .subcommand()
        .ok_or_else(|| CliError::Usage("no command given".into()))?;
    let from_matches = |e: clap::Error| CliError::Usage(without_prefix(&e.to_string()));
    match name {
        "operations" => Ok(Command::ListOperations),
        "man" => Ok(Command::Man(sub.get_one::<PathBuf>("dir").cloned())),
        "completions" => Ok(Command::Completions(
            *sub.get_one::<clap_complete::Shell>("shell")
                .ok_or_else(|| CliError::Usage("completions: name a shell".into()))?,
        )),
        "profiles" => {
            let explicit = sub.get_one::<PathBuf>("config").map(PathBuf::as_path);
            let names_only = sub.get_flag("names");
            Ok(Command::ListProfiles(match Profiles::load(explicit)? {
                Some(profiles) if names_only => profiles.names(),
                Some(profiles) => profiles.listing(),
                None if names_only => String::new(),
                None => format!(
                    "no config file ({}); see FILES in securid-bulk(1) and docs/profiles.md\n",
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
            let matches = command_for(&with_profile.0)
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
    match command_for(args).try_get_matches_from(args) {
        Ok(matches) => Ok(matches),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        // `securid-bulk` alone: the short help, on stderr, and exit 1 as for
        // any command line that cannot run.
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            std::process::exit(1)
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
    let mock = run.mock;
    let given = prefer_flags_over_environment(&mut run, matches, from_profile);
    let unused = unused_environment(op.name, matches, from_profile, profile, &given, mock);
    let mut flags = run.into_flags(matches, from_profile, given);
    flags.unused_environment = unused;
    if let Some(profile) = profile {
        flags.profile = Some(profile.name.clone());
        flags.confirm_always = profile.confirm;
        flags.ticket_required = profile.ticket_required;
        flags.approvals_required = profile.approvals;
        flags.allowed_signers = profile.allowed_signers.clone();
    }
    Ok(Command::Run(Box::new(Config::from_flags(op, flags, argv)?)))
}

/// Every environment variable of the run's flags that is set but not used,
/// with why: a typed flag, the chosen profile, `--mock`, or credentials of
/// another kind won. Printed before the first request, so a leftover
/// variable that would have changed the tenant or credential is seen.
fn unused_environment(
    operation: &str,
    matches: &clap::ArgMatches,
    from_profile: &[String],
    profile: Option<&profiles::Profile>,
    kept: &[crate::config::Given],
    mock: bool,
) -> Vec<String> {
    use clap::parser::ValueSource;
    let command = command();
    let Some(sub) = command.find_subcommand(operation) else {
        return Vec::new();
    };
    let strongest = kept.iter().map(|g| g.origin).max();
    let winner = kept
        .iter()
        .filter(|g| Some(g.origin) == strongest)
        .find(|g| g.names_the_credential())
        .map(crate::config::Given::shown);
    let mut notes = Vec::new();
    for arg in sub.get_arguments() {
        let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        if std::env::var_os(env).is_none_or(|v| v.is_empty()) {
            continue;
        }
        let id = arg.get_id().as_str();
        let flag = format!("--{long}");
        let why = match matches.value_source(id) {
            Some(ValueSource::EnvVariable)
                if is_credential(id) && kept.iter().all(|g| g.flag != flag) =>
            {
                format!(
                    "credentials of another kind win ({})",
                    winner.as_deref().unwrap_or("none")
                )
            }
            Some(ValueSource::EnvVariable) => continue,
            _ if from_profile.iter().any(|p| p == id) => format!(
                "profile {} sets {long}",
                profile.map_or("", |p| p.name.as_str())
            ),
            Some(ValueSource::CommandLine) => format!("{flag} was given"),
            _ if mock && MOCK_REPLACES.contains(&id) => {
                "--mock runs against the simulated tenant with its own token".to_owned()
            }
            _ => continue,
        };
        notes.push(format!(
            "{} is set but not used: {why}",
            env.to_string_lossy()
        ));
    }
    notes
}

/// Whether the argument `id` is a credential setting.
fn is_credential(id: &str) -> bool {
    matches!(
        id,
        "token" | "key_file" | "client_id" | "client_key" | "issuer"
    )
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

/// clap's message without its own `error: `: main adds the one prefix.
fn without_prefix(text: &str) -> String {
    text.trim_end().trim_start_matches("error: ").to_owned()
}

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

/// clap's message for a bad command line, minus any value that looks like
/// a secret: a stray argument is sometimes a token pasted in the wrong
/// place, and an unknown `--flag=value` may carry one too. The admin's own
/// words (a mistyped operation, a file name) are shown as typed.
fn usage_error_without_secrets(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let rendered = e.render().to_string();
    // main adds its own "error: ".
    let mut text = best_suggestion_first(&without_prefix(&rendered));
    if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
        let secret = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with('-') => {
                (names_a_secret(flag) || looks_like_secret(value)).then_some(value)
            }
            _ if arg.starts_with('-') => None,
            _ => looks_like_secret(arg).then_some(arg.as_str()),
        };
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            text = text.replace(secret, "[redacted]");
        }
    }
    // A token pasted in place of the operation. Only the quoted form is
    // replaced, so a short value cannot mangle the usage text around it.
    if let Some(ContextValue::String(word)) = e.get(ContextKind::InvalidSubcommand) {
        if looks_like_secret(word) {
            text = text.replace(&format!("'{word}'"), "'[redacted]'");
        }
    }
    if let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidValue) {
        text = text.replace(value, &redact_url(value));
    }
    text
}

/// Whether an unknown flag's name says its value is a secret
/// (`--tokn=...`, `--client-secret=...`).
fn names_a_secret(flag: &str) -> bool {
    let flag = flag.to_ascii_lowercase();
    ["tok", "secret", "pass", "key"]
        .iter()
        .any(|word| flag.contains(word))
}

/// clap lists similar subcommands from the least to the most similar; the
/// admin reads the first one.
fn best_suggestion_first(text: &str) -> String {
    const TIP: &str = "tip: some similar subcommands exist: ";
    text.lines()
        .map(|line| match line.split_once(TIP) {
            Some((indent, list)) => {
                let mut names: Vec<&str> = list.split(", ").collect();
                names.reverse();
                format!("{indent}{TIP}{}", names.join(", "))
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `--dry-run lookup`: clap reads `lookup` as another argument (the input,
/// or a stray one), since the flag's value is optional and needs its `=`.
fn dry_run_value_apart(args: &[std::ffi::OsString]) -> Option<CliError> {
    let apart = args
        .windows(2)
        .any(|pair| pair[0] == "--dry-run" && pair[1] == "lookup");
    (apart && !std::path::Path::new("lookup").exists()).then(|| {
        CliError::Usage(
            "--dry-run lookup: the value takes an equals sign; write --dry-run=lookup \
             (a plain --dry-run sends nothing at all)"
                .into(),
        )
    })
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
