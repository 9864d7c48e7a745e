//! Usage errors as the admin sees them: clap's message without its prefix,
//! with anything that looks like a secret redacted and the most similar
//! operation first, and the hint for `--dry-run lookup` written apart.

use crate::net::redact_url;
use crate::secret::looks_like_secret;

use super::CliError;

/// clap's message without its own `error: `: main adds the one prefix.
pub(super) fn without_prefix(text: &str) -> String {
    text.trim_end().trim_start_matches("error: ").to_owned()
}

/// The long name of the flag a clap error is about (`rate` for `--rate
/// <RATE>`), if it names one.
pub(super) fn refused_flag(e: &clap::Error) -> Option<String> {
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
pub(super) fn usage_error_without_secrets(e: &clap::Error) -> String {
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
pub(super) fn dry_run_value_apart(args: &[std::ffi::OsString]) -> Option<CliError> {
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
