//! The clap command itself: the top-level command with its fixed
//! subcommands (`operations`, `profiles`, `completions`, `man`, `show`,
//! `approve`, `apply`, `mock`) and one subcommand per catalog entry, and
//! the environment variables `--mock` leaves unread.

use std::path::PathBuf;

use clap::Args;

#[cfg(feature = "mock")]
use crate::mock::MockOptions;
use crate::ops;

use super::args::RunArgs;
use super::help;

/// The whole command line, as clap knows it (help, completions, man page).
pub fn command() -> clap::Command {
    command_with(false)
}

/// Settings `--mock` leaves aside: it names its own tenant and token.
pub(super) const MOCK_REPLACES: &[&str] = &["base_url", "token", "key_file", "issuer"];

/// The command line for `args`: when `--mock` is among them, the
/// environment variables of the settings it replaces are not read, so a
/// `SECURID_BASE_URL` left in the shell yields to the explicit `--mock`
/// (and the banner says so) instead of clashing with it.
pub(super) fn command_for(args: &[std::ffi::OsString]) -> clap::Command {
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
        )
        .subcommand(
            clap::Command::new("show")
                .about("Print a plan for review: its summary, then each row's action")
                .arg(plan_arg())
                .arg(
                    clap::Arg::new("format")
                        .long("format")
                        .value_name("FORMAT")
                        .default_value("text")
                        .value_parser(["text", "csv", "jsonl"])
                        .help("text for reading, csv for a spreadsheet, jsonl for a script"),
                ),
        )
        .subcommand(
            clap::Command::new("approve")
                .about("Approve a plan: sign its digest with an SSH key and append the approval")
                .long_about(help::APPROVE_PAGE)
                .arg(plan_arg())
                .arg(
                    clap::Arg::new("key")
                        .long("key")
                        .required(true)
                        .value_name("KEY")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help(
                            "The private key to sign with, or the .pub of a key held in ssh-agent",
                        ),
                ),
        )
        .subcommand(help::apply_command(RunArgs::augment_args(
            clap::Command::new("apply"),
        )));
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

/// The plan file `show` and `approve` take.
fn plan_arg() -> clap::Arg {
    clap::Arg::new("plan")
        .required(true)
        .value_name("PLAN")
        .value_parser(clap::value_parser!(PathBuf))
}
