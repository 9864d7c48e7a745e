//! Why a config file or one of its profiles is not used: each error names
//! the file, and where it can, the line, the profile and the key.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {what}")]
    Syntax { path: PathBuf, what: String },
    #[error("{path} is writable by {who} (mode {mode:03o}); it decides where tokens go, so it is not used: run chmod {fix} {path}")]
    Writable {
        path: PathBuf,
        who: &'static str,
        mode: u32,
        fix: &'static str,
    },
    #[error("{path}:{line}: profile {profile}: {key} = {value}: expected {expected}")]
    WrongType {
        path: PathBuf,
        line: usize,
        profile: String,
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("{path}:{line}: profile {profile}: unknown key {key}; a profile takes the long names of the run's flags (base-url, key-file, rate, concurrency, proxy, ...) and confirm, ticket-required, approvals, allowed-signers")]
    UnknownKey {
        path: PathBuf,
        line: usize,
        profile: String,
        key: String,
    },
    #[error("{path}:{line}: profile {profile}: {key} would keep a secret in the config file; give credentials by path (key-file), or through the environment (SECURID_TOKEN)")]
    Secret {
        path: PathBuf,
        line: usize,
        profile: String,
        key: String,
    },
    #[error("{path}:{line}: profile {profile}: {key} belongs to one run, not to a profile; type --{key} on the command line when you mean it")]
    RunOnly {
        path: PathBuf,
        line: usize,
        profile: String,
        key: String,
    },
    #[error("{path}:{line}: profile {profile}: {key} carries a user name or password in its URL; keep credentials out of the config file (for a proxy, use HTTPS_PROXY in the environment)")]
    UrlCredentials {
        path: PathBuf,
        line: usize,
        profile: String,
        key: String,
    },
    #[error("{path}:{line}: profile {profile}: {key} = {value}: expected a string, number or true/false")]
    BadValue {
        path: PathBuf,
        line: usize,
        profile: String,
        key: String,
        value: String,
    },
    #[error("{path}: profile {profile}: approvals = {approvals} needs allowed-signers = PATH, the OpenSSH allowed_signers file listing who may approve")]
    NoSigners {
        path: PathBuf,
        profile: String,
        approvals: usize,
    },
    #[error("no profile {name} in {path}{known}")]
    Missing {
        name: String,
        path: PathBuf,
        known: String,
    },
    #[error("--profile {name}: no config file; create {path} with a [profiles.{name}] table (see FILES in securid-bulk(1), and docs/profiles.md)")]
    NoFile { name: String, path: PathBuf },
}
