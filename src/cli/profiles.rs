//! Profiles: named sets of run flags in a TOML config file
//! (`$XDG_CONFIG_HOME/securid-bulk/config.toml`, `~/.config/...`, or
//! `--config FILE`), so an admin with a test and a production tenant picks
//! one by name instead of juggling environment variables.
//!
//! A profile's keys are the long names of the run's flags (`base-url`,
//! `key-file`, `rate`, ...), mapped onto them generically: a new flag needs
//! no code here. Secrets never sit in a profile: a key naming an inline
//! secret (`token`) is refused with the file, line and key. A value from a
//! profile yields to the same flag typed on the command line, and wins over
//! the environment (a profile is chosen by name, so it is meant).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Spanned, Value};

mod arguments;
mod checks;
mod error;

use checks::{checked_flag_value, refuse_kept_out, refuse_writable_by_others, Place};
pub use error::ProfileError;

/// Keys that are the profile's own, not a flag: standing policy, which a
/// flag typed for one run must not be able to lift (`--approvals 0`).
const CONFIRM: &str = "confirm";
const TICKET_REQUIRED: &str = "ticket-required";
const APPROVALS: &str = "approvals";
const ALLOWED_SIGNERS: &str = "allowed-signers";

/// Parts of a key that mark an inline secret; a credential sits in a profile
/// only by path (`key-file`, `client-key`).
const SECRET_WORDS: &[&str] = &["secret", "password", "assertion"];
const SECRET_KEYS: &[&str] = &["token"];

/// Flags that belong to one run, never to a standing profile: a profile
/// that answered the confirmation itself (`yes`, `force`) would defeat
/// `confirm = true`; the others name this run's files or the profile itself.
const RUN_ONLY_KEYS: &[&str] = &[
    "yes", "force", "resume", "output", "profile", "config", "input", "ticket",
];

/// One profile's keys as the file writes them, each with where it sits.
type Table = BTreeMap<Spanned<String>, Value>;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    profiles: BTreeMap<String, Table>,
}

/// The profiles of one config file.
#[derive(Debug)]
pub struct Profiles {
    pub path: PathBuf,
    text: String,
    profiles: BTreeMap<String, Table>,
}

/// One profile's settings, checked against the run's flags.
#[derive(Debug, Default)]
pub struct Profile {
    pub name: String,
    /// `(flag long name, value, line)`, in the file's order of keys.
    pub flags: Vec<(String, FlagValue, usize)>,
    /// The config file, for messages about a value.
    pub path: PathBuf,
    /// Ask before every run, clear-PIN runs included.
    pub confirm: bool,
    /// Refuse a run without `--ticket`.
    pub ticket_required: bool,
    /// Approvals a plan needs before it is applied.
    pub approvals: usize,
    /// The allowed_signers file approvals are checked against.
    pub allowed_signers: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FlagValue {
    Text(String),
    Switch(bool),
}

/// `--config`, else `$XDG_CONFIG_HOME/securid-bulk/config.toml`, else
/// `~/.config/securid-bulk/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))?;
    Some(base.join("securid-bulk").join("config.toml"))
}

impl Profiles {
    /// Reads the file; `Ok(None)` when the default file does not exist.
    pub fn load(explicit: Option<&Path>) -> Result<Option<Profiles>, ProfileError> {
        let Some(path) = explicit.map(Path::to_owned).or_else(default_path) else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {
                return Ok(None)
            }
            Err(source) => return Err(ProfileError::Read { path, source }),
        };
        refuse_writable_by_others(&path)?;
        // toml's message keeps its line, the line's text and a caret.
        let file: File = toml::from_str(&text).map_err(|e| ProfileError::Syntax {
            path: path.clone(),
            what: e.to_string().trim_end().to_owned(),
        })?;
        Ok(Some(Profiles {
            path,
            text,
            profiles: file.profiles,
        }))
    }

    /// One profile, its keys checked against `command`'s flags, in the
    /// order the file writes them.
    pub fn profile(&self, name: &str, command: &clap::Command) -> Result<Profile, ProfileError> {
        let table = self.table(name)?;
        let mut profile = Profile {
            name: name.to_owned(),
            path: self.path.clone(),
            ..Profile::default()
        };
        let mut keys: Vec<_> = table.iter().collect();
        keys.sort_by_key(|(key, _)| key.span().start);
        for (key, value) in keys {
            let place = Place {
                path: &self.path,
                line: self.line_of(key.span().start),
                profile: name,
                key: key.get_ref(),
            };
            profile.take(&place, value, command)?;
        }
        profile.require_signers()?;
        Ok(profile)
    }

    /// The named profile's table, or an error naming the profiles the
    /// file has.
    fn table(&self, name: &str) -> Result<&Table, ProfileError> {
        self.profiles.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
            ProfileError::Missing {
                name: name.to_owned(),
                path: self.path.clone(),
                known: match known.is_empty() {
                    true => String::new(),
                    false => format!("; it has {}", known.join(", ")),
                },
            }
        })
    }

    /// The profile names, one a line, for the completion scripts.
    pub fn names(&self) -> String {
        self.profiles
            .keys()
            .map(|name| format!("{name}\n"))
            .collect()
    }

    /// `securid-bulk profiles`: each name with its tenant host and the
    /// flags it sets, never a value that could be a secret.
    pub fn listing(&self) -> String {
        let mut out = format!("profiles in {}:\n", self.path.display());
        if self.profiles.is_empty() {
            out.push_str("  (none)\n");
        }
        for (name, table) in &self.profiles {
            let host = table
                .iter()
                .find(|(key, _)| key.get_ref() == "base-url")
                .and_then(|(_, value)| value.as_str())
                .map(host_of)
                .unwrap_or_else(|| match table.keys().any(|k| k.get_ref() == "key-file") {
                    true => "tenant from the key file".to_owned(),
                    false => "tenant from --base-url or SECURID_BASE_URL".to_owned(),
                });
            let keys: Vec<&str> = table.keys().map(|k| k.get_ref().as_str()).collect();
            out.push_str(&format!("  {name}  {host}  ({})\n", keys.join(", ")));
        }
        out
    }

    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }
}

/// A profile's own policy key.
#[derive(Clone, Copy)]
enum Policy {
    TicketRequired,
    Approvals,
    AllowedSigners,
}

impl Policy {
    fn of(key: &str) -> Option<Policy> {
        match key {
            TICKET_REQUIRED => Some(Policy::TicketRequired),
            APPROVALS => Some(Policy::Approvals),
            ALLOWED_SIGNERS => Some(Policy::AllowedSigners),
            _ => None,
        }
    }
}

impl Profile {
    /// Takes one key of the file: refused when it never belongs in a
    /// profile, else the profile's own policy, `confirm`, or a flag for
    /// the run's command line.
    fn take(
        &mut self,
        place: &Place,
        value: &Value,
        command: &clap::Command,
    ) -> Result<(), ProfileError> {
        refuse_kept_out(place, value)?;
        if let Some(policy) = Policy::of(place.key) {
            return self
                .set(policy, value)
                .map_err(|expected| place.expected(value, expected));
        }
        let value = checked_flag_value(place, value, command)?;
        match place.key {
            CONFIRM => self.confirm = value == FlagValue::Switch(true),
            key => self.flags.push((key.to_owned(), value, place.line)),
        }
        Ok(())
    }

    /// Approvals count only against a list of who may sign, so a profile
    /// that asks for them names one.
    fn require_signers(&self) -> Result<(), ProfileError> {
        if self.approvals > 0 && self.allowed_signers.is_none() {
            return Err(ProfileError::NoSigners {
                path: self.path.clone(),
                profile: self.name.clone(),
                approvals: self.approvals,
            });
        }
        Ok(())
    }

    /// Sets a policy key, or says what its value should have been.
    fn set(&mut self, policy: Policy, value: &Value) -> Result<(), &'static str> {
        match (policy, value) {
            (Policy::TicketRequired, Value::Boolean(required)) => self.ticket_required = *required,
            (Policy::TicketRequired, _) => return Err("true or false"),
            (Policy::Approvals, Value::Integer(n)) => {
                self.approvals = usize::try_from(*n)
                    .ok()
                    .filter(|n| *n <= 100)
                    .ok_or("a number of approvals from 0 to 100")?;
            }
            (Policy::Approvals, _) => return Err("a number of approvals from 0 to 100"),
            (Policy::AllowedSigners, Value::String(path)) if !path.is_empty() => {
                self.allowed_signers = Some(PathBuf::from(home_expanded(path)));
            }
            (Policy::AllowedSigners, _) => {
                return Err("the path of an OpenSSH allowed_signers file")
            }
        }
        Ok(())
    }
}

fn is_secret(key: &str) -> bool {
    SECRET_KEYS.contains(&key) || SECRET_WORDS.iter().any(|word| key.contains(word))
}

fn flag_value(value: &Value) -> Option<FlagValue> {
    match value {
        Value::String(text) => Some(FlagValue::Text(text.clone())),
        Value::Integer(n) => Some(FlagValue::Text(n.to_string())),
        Value::Float(n) => Some(FlagValue::Text(n.to_string())),
        Value::Boolean(b) => Some(FlagValue::Switch(*b)),
        _ => None,
    }
}

/// A path written `~/...` in the config file, with the home directory for
/// `~`, as a shell would have done on the command line.
fn home_expanded(text: &str) -> String {
    match (text.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest).display().to_string(),
        _ => text.to_owned(),
    }
}

/// The host of a URL, without user name, password or path.
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "(unreadable base-url)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (tempfile::TempDir, Result<Option<Profiles>, ProfileError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let profiles = Profiles::load(Some(&path));
        (dir, profiles)
    }

    fn command() -> clap::Command {
        crate::cli::command()
            .find_subcommand("ds100-clear-pin")
            .unwrap()
            .clone()
    }

    /// Why profile `prod` of a config file `text` is refused.
    fn refusal(text: &str) -> String {
        let (_dir, profiles) = load(text);
        let err = profiles
            .unwrap()
            .unwrap()
            .profile("prod", &command())
            .unwrap_err();
        err.to_string()
    }

    #[test]
    fn a_token_in_a_profile_is_refused_naming_file_line_and_key() {
        let text = refusal("[profiles.prod]\nbase-url = \"https://a.example\"\ntoken = \"abc\"\n");
        assert!(
            text.contains("config.toml:3: profile prod: token"),
            "{text}"
        );
        assert!(!text.contains("abc"), "{text}");
    }

    #[test]
    fn run_only_keys_are_refused_naming_file_line_and_key() {
        for key in RUN_ONLY_KEYS {
            let err = refusal(&format!("[profiles.prod]\nconfirm = true\n{key} = true\n"));
            assert!(
                err.contains(&format!("config.toml:3: profile prod: {key} belongs")),
                "{err}"
            );
        }
    }

    #[test]
    fn approval_policy_is_the_profiles_own_and_checked_where_it_is_written() {
        let (_dir, profiles) = load(
            "[profiles.prod]\nticket-required = true\napprovals = 2\nallowed-signers = \"signers\"\n",
        );
        let profile = profiles
            .unwrap()
            .unwrap()
            .profile("prod", &command())
            .unwrap();
        assert!(profile.ticket_required);
        assert_eq!(profile.approvals, 2);
        assert_eq!(profile.allowed_signers, Some(PathBuf::from("signers")));
        assert!(profile.flags.is_empty(), "{:?}", profile.flags);

        for (text, expected) in [
            (
                "approvals = \"two\"",
                "config.toml:2: profile prod: approvals = \"two\": expected a number",
            ),
            (
                "ticket-required = \"yes\"",
                "config.toml:2: profile prod: ticket-required = \"yes\": expected true or false",
            ),
            (
                "approvals = 1",
                "approvals = 1 needs allowed-signers = PATH",
            ),
        ] {
            let err = refusal(&format!("[profiles.prod]\n{text}\n"));
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn a_url_with_a_password_is_refused_without_showing_it() {
        let err =
            refusal("[profiles.prod]\nrate = 5\nproxy = \"http://admin:hunter2@proxy:3128\"\n");
        assert!(
            err.contains("config.toml:3: profile prod: proxy carries"),
            "{err}"
        );
        assert!(!err.contains("hunter2") && !err.contains("admin"), "{err}");
    }

    #[test]
    fn an_unknown_key_names_file_line_and_key() {
        let (_dir, profiles) = load("[profiles.test]\n\nrate = 5\nbase_uri = \"x\"\n");
        let err = profiles
            .unwrap()
            .unwrap()
            .profile("test", &command())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("config.toml:4: profile test: unknown key base_uri"),
            "{err}"
        );
    }

    #[test]
    fn flags_keep_the_files_order_and_each_refusal_names_where() {
        let (_dir, profiles) = load(
            "[profiles.prod]\nrate = 5\nconfirm = true\nverify = true\nbase-url = \"https://a.example\"\n[profiles.test]\nrate = 1\n",
        );
        let profiles = profiles.unwrap().unwrap();
        let profile = profiles.profile("prod", &command()).unwrap();
        assert!(profile.confirm);
        let flags: Vec<(&str, usize)> = profile
            .flags
            .iter()
            .map(|(key, _, line)| (key.as_str(), *line))
            .collect();
        assert_eq!(flags, [("rate", 2), ("verify", 4), ("base-url", 5)]);
        assert_eq!(profile.flags[0].1, FlagValue::Text("5".into()));
        let missing = profiles.profile("stage", &command()).unwrap_err();
        assert!(
            missing.to_string().contains("no profile stage in ")
                && missing.to_string().ends_with("; it has prod, test"),
            "{missing}"
        );

        for (text, expected) in [
            (
                "rate = [1, 2]",
                "config.toml:3: profile prod: rate = [1, 2]: expected a string, number or true/false",
            ),
            (
                "rate = true",
                "config.toml:3: profile prod: rate = true: expected a string or a number",
            ),
            (
                "quiet = \"yes\"",
                "config.toml:3: profile prod: quiet = \"yes\": expected true or false",
            ),
        ] {
            let err = refusal(&format!("[profiles.prod]\nconfirm = false\n{text}\n"));
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn listing_shows_hosts_and_keys_never_values() {
        let (_dir, profiles) = load(
            "[profiles.prod]\nbase-url = \"https://acme.access.securid.com\"\nkey-file = \"/secret/path/admin.key\"\nconfirm = true\n",
        );
        let listing = profiles.unwrap().unwrap().listing();
        assert!(
            listing.contains("prod  acme.access.securid.com  (base-url, confirm, key-file)"),
            "{listing}"
        );
        assert!(!listing.contains("/secret/path"), "{listing}");
        let (_dir, profiles) = load("[profiles.api]\nclient-id = \"c\"\n");
        let listing = profiles.unwrap().unwrap().listing();
        assert!(
            listing.contains("api  tenant from --base-url or SECURID_BASE_URL  (client-id)"),
            "{listing}"
        );
    }
}
