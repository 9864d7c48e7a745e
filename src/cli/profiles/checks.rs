//! What a config file must be before its profiles are used: no secret,
//! no flag of one run and no URL with a password in it, a value of the
//! type its flag takes, and a file only its owner may write.

use std::path::{Path, PathBuf};

use toml::Value;

use super::{flag_value, is_secret, FlagValue, ProfileError, CONFIRM, RUN_ONLY_KEYS};

/// Where a profile's key is written: what every message about it names.
pub(super) struct Place<'a> {
    pub(super) path: &'a Path,
    pub(super) line: usize,
    pub(super) profile: &'a str,
    pub(super) key: &'a str,
}

impl Place<'_> {
    /// The file, line, profile and key, as the errors hold them.
    fn parts(&self) -> (PathBuf, usize, String, String) {
        let (profile, key) = (self.profile.to_owned(), self.key.to_owned());
        (self.path.to_owned(), self.line, profile, key)
    }

    /// A value of the profile's own policy that is not what it takes.
    pub(super) fn expected(&self, value: &Value, expected: &'static str) -> ProfileError {
        let (path, line, profile, key) = self.parts();
        let value = value.to_string();
        ProfileError::WrongType {
            path,
            line,
            profile,
            key,
            value,
            expected,
        }
    }
}

/// Refuses what never belongs in a profile: an inline secret, a flag of
/// one run, a URL with a user name or password.
pub(super) fn refuse_kept_out(place: &Place, value: &Value) -> Result<(), ProfileError> {
    let (path, line, profile, key) = place.parts();
    if is_secret(place.key) {
        return Err(ProfileError::Secret {
            path,
            line,
            profile,
            key,
        });
    }
    if RUN_ONLY_KEYS.contains(&place.key) {
        return Err(ProfileError::RunOnly {
            path,
            line,
            profile,
            key,
        });
    }
    if value
        .as_str()
        .is_some_and(|text| crate::net::redact_url(text) != text)
    {
        return Err(ProfileError::UrlCredentials {
            path,
            line,
            profile,
            key,
        });
    }
    Ok(())
}

/// A key's value as the flag of the same long name takes it, or why not:
/// a value of no flag's kind (a table, an array), a key that is no flag,
/// a value of the wrong kind for its flag.
pub(super) fn checked_flag_value(
    place: &Place,
    value: &Value,
    command: &clap::Command,
) -> Result<FlagValue, ProfileError> {
    let (path, line, profile, key) = place.parts();
    let Some(flag) = flag_value(value) else {
        let value = value.to_string();
        return Err(ProfileError::BadValue {
            path,
            line,
            profile,
            key,
            value,
        });
    };
    let arg = command
        .get_arguments()
        .find(|a| a.get_long() == Some(place.key));
    if arg.is_none() && place.key != CONFIRM {
        return Err(ProfileError::UnknownKey {
            path,
            line,
            profile,
            key,
        });
    }
    let expected = expected_kind(arg);
    if !expected.accepts(&flag) {
        return Err(ProfileError::WrongType {
            path,
            line,
            profile,
            key,
            value: shown(&flag),
            expected: expected.describe(),
        });
    }
    Ok(flag)
}

/// A value as a message about it shows it, any URL's password hidden.
fn shown(value: &FlagValue) -> String {
    crate::net::redact_url(&match value {
        FlagValue::Text(text) => format!("{text:?}"),
        FlagValue::Switch(b) => b.to_string(),
    })
}

/// What a profile key's value must be: a switch takes `true` or `false`
/// (never the string "true", which would silently read as off), a counted
/// flag a whole number, every other flag a string or number.
#[derive(Clone, Copy)]
enum Expected {
    Switch,
    Count,
    Value,
    /// A flag whose value may be left out (`dry-run = true`, or `"lookup"`).
    SwitchOrValue,
}

impl Expected {
    fn accepts(self, value: &FlagValue) -> bool {
        match (self, value) {
            (Expected::Switch, FlagValue::Switch(_)) => true,
            (Expected::Count, FlagValue::Text(text)) => text.parse::<u8>().is_ok(),
            (Expected::Value, FlagValue::Text(_)) => true,
            (Expected::SwitchOrValue, _) => true,
            _ => false,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Expected::Switch => "true or false, without quotes",
            Expected::Count => "a whole number (how many times the flag is given)",
            Expected::Value => "a string or a number, not true or false",
            Expected::SwitchOrValue => "true, false or a value",
        }
    }
}

/// The kind of value `arg` takes; `None` is the profile's own `confirm`.
fn expected_kind(arg: Option<&clap::Arg>) -> Expected {
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
