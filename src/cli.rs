//! The command line: clap definitions, and their translation into one typed
//! [`Flags`], each parsed by its own clap value parser; the rules that tie
//! flags together are [`Config::from_flags`]'s. Each operation in the
//! catalog becomes a subcommand of its own, so adding an operation adds its
//! command with no change here. The clap command itself is built in
//! `commands`; usage errors are worded in `usage`.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::FromArgMatches;

use crate::config::{Config, ConfigError};
#[cfg(feature = "mock")]
use crate::mock::MockOptions;
use crate::ops;

mod args;
mod commands;
mod completions;
mod environment;
mod help;
mod man;
mod plans;
mod profiles;
mod usage;
mod values;

use args::{prefer_flags_over_environment, RunArgs};
pub use commands::command;
use commands::command_for;
use environment::unused_environment;
use usage::{dry_run_value_apart, refused_flag, usage_error_without_secrets, without_prefix};

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
    /// `approve PLAN --key KEY`: sign the plan's digest and append the
    /// approval.
    ApprovePlan {
        path: PathBuf,
        key: PathBuf,
    },
    /// `show PLAN`: print a plan for review.
    ShowPlan {
        path: PathBuf,
        format: crate::plan::show::ShowFormat,
    },
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
        "approve" => plans::approve(sub),
        "show" => plans::show(sub),
        #[cfg(feature = "mock")]
        "mock" => Ok(Command::Mock(Box::new(
            MockOptions::from_arg_matches(sub).map_err(from_matches)?,
        ))),
        _ => {
            let (op, applying) = match name {
                "apply" => plans::apply_plan(sub)?,
                _ => (
                    ops::find(name)
                        .ok_or_else(|| CliError::Usage(format!("unknown operation {name}")))?,
                    None,
                ),
            };
            let run = RunArgs::from_arg_matches(sub).map_err(from_matches)?;
            let argv = argv_without_token(&args.0);
            let Some(profile_name) = run.profile.clone() else {
                return run_command(op, run, sub, &[], None, argv, applying);
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
            run_command(op, run, sub, &from_profile, Some(&profile), argv, applying)
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
    applying: Option<Box<crate::plan::Applying>>,
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
    plans::bind(op, &mut flags, applying)?;
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
