//! Where bearer tokens come from, in three modules: `key_file` (the legacy
//! admin API key file, and the RS256 JWT signed from it), `oauth` (an OAuth
//! API client: its private key, the client assertion, the token endpoint)
//! and `provider` ([`TokenProvider`], the one place workers get the value of
//! their `Authorization: Bearer` header, renewed single-flight shortly
//! before it expires, whatever its source).
//!
//! Nothing here logs. No error, `Debug` or `Display` output carries a key,
//! an assertion or a token: they live in a [`Secret`](crate::secret::Secret).

mod client_key;
mod key_file;
mod oauth;
mod provider;

use std::path::PathBuf;

pub use client_key::{ClientKey, KeyType};
pub use key_file::{mint_jwt, KeyFile, MAX_LIFETIME};
pub use oauth::{
    OAuthClient, OAuthError, OAuthSettings, TokenRetry, Transport, ASSERTION_LIFETIME,
};
pub use provider::{TokenKind, TokenProvider};

/// Why no bearer token could be had. Each message names the key file and says
/// what to do; none quotes the file's contents.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("key file {} does not exist; check the path given for the admin API key file", .path.display())]
    NotFound { path: PathBuf },
    #[error("cannot read key file {}: {source}; check the path and that this user may read it", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {} is not valid JSON (syntax error at line {line}, column {column}); pass the JSON admin API key file from the Cloud Administration Console, not a bare PEM key", .path.display())]
    NotJson {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error("key file {} has no \"{field}\" field; download a new key file from the Cloud Administration Console", .path.display())]
    MissingField { path: PathBuf, field: &'static str },
    #[error("field \"{field}\" in key file {} must be a non-empty string; download a new key file from the Cloud Administration Console", .path.display())]
    FieldNotString { path: PathBuf, field: &'static str },
    #[error("accessKey in key file {} is not a usable RSA private key ({problem}); it must be a PEM \"BEGIN RSA PRIVATE KEY\" (PKCS#1) or \"BEGIN PRIVATE KEY\" (PKCS#8) block; download a new key file from the Cloud Administration Console", .path.display())]
    NotRsaKey {
        path: PathBuf,
        problem: &'static str,
    },
    #[error("key file {}: {source}; download a new key file from the Cloud Administration Console", .path.display())]
    Url {
        path: PathBuf,
        source: crate::net::UrlError,
    },
    #[error("key file {} belongs to the tenant at {key_host} (its adminRestApiUrl), but requests would go to {base_host} (--base-url or SECURID_BASE_URL); tokens from a key file go only to its own tenant: drop --base-url, unset SECURID_BASE_URL, or use the key file of {base_host}", .path.display())]
    ForeignHost {
        path: PathBuf,
        key_host: String,
        base_host: String,
    },
    #[error("could not sign a bearer token with the accessKey in key file {}; download a new key file from the Cloud Administration Console", .path.display())]
    Sign { path: PathBuf },
    #[error("the system clock reads before 1970, so no token can be signed; set the clock")]
    Clock,
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error("{0} (refused earlier in this run; not asked again)")]
    RefusedBefore(String),
}

/// A warning to print when a file holding a private key can be read (or
/// written) by group or others. Always `None` off Unix or when the file
/// cannot be inspected.
pub fn permission_warning(path: &std::path::Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            let p = path.display();
            return Some(format!(
                "warning: key file {p} is readable by group or others; chmod 600 {p}"
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}
