//! What a config file must be before its profiles are used: a value of the
//! type its flag takes, and a file only its owner may write.

use std::path::Path;

use super::{FlagValue, ProfileError};

/// What a profile key's value must be: a switch takes `true` or `false`
/// (never the string "true", which would silently read as off), a counted
/// flag a whole number, every other flag a string or number.
#[derive(Clone, Copy)]
pub(super) enum Expected {
    Switch,
    Count,
    Value,
    /// A flag whose value may be left out (`dry-run = true`, or `"lookup"`).
    SwitchOrValue,
}

impl Expected {
    pub(super) fn accepts(self, value: &FlagValue) -> bool {
        match (self, value) {
            (Expected::Switch, FlagValue::Switch(_)) => true,
            (Expected::Count, FlagValue::Text(text)) => text.parse::<u8>().is_ok(),
            (Expected::Value, FlagValue::Text(_)) => true,
            (Expected::SwitchOrValue, _) => true,
            _ => false,
        }
    }

    pub(super) fn describe(self) -> &'static str {
        match self {
            Expected::Switch => "true or false, without quotes",
            Expected::Count => "a whole number (how many times the flag is given)",
            Expected::Value => "a string or a number, not true or false",
            Expected::SwitchOrValue => "true, false or a value",
        }
    }
}

/// The kind of value `arg` takes; `None` is the profile's own `confirm`.
pub(super) fn expected_kind(arg: Option<&clap::Arg>) -> Expected {
    let Some(arg) = arg else {
        return Expected::Switch;
    };
    match arg.get_action() {
        clap::ArgAction::SetTrue | clap::ArgAction::SetFalse => Expected::Switch,
        clap::ArgAction::Count => Expected::Count,
        _ if arg.get_num_args().is_some_and(|n| n.min_values() == 0) => Expected::SwitchOrValue,
        _ => Expected::Value,
    }
}

/// Refuses a config file, or its directory, that group or others may
/// write, as ssh refuses such a config: whoever can write it chooses where
/// the run's tokens go.
#[cfg(unix)]
pub(super) fn refuse_writable_by_others(path: &Path) -> Result<(), ProfileError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    for (at, fix) in [(path, "go-w"), (dir, "go-w")] {
        let Ok(meta) = std::fs::metadata(at) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o7777;
        // A sticky shared directory (/tmp) keeps others from replacing
        // the file, as ssh allows.
        if meta.is_dir() && mode & 0o1000 != 0 {
            continue;
        }
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "group and others",
            (true, false) => "its group",
            (false, true) => "others",
            (false, false) => continue,
        };
        return Err(ProfileError::Writable {
            path: at.to_owned(),
            who,
            mode,
            fix,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn refuse_writable_by_others(_: &Path) -> Result<(), ProfileError> {
    Ok(())
}
