//! The credential rules of a run: the three kinds of credentials and the
//! settings given for each, where each setting and the tenant came from
//! (`Origin`, `Origins` for the banner), and the checks between them: one
//! kind per run, an OAuth client's token only to a tenant given with it,
//! and an OAuth client's settings complete and its scopes sufficient.

use std::path::PathBuf;

use crate::auth::OAuthSettings;
use crate::net::{checked_url, UrlSource};
use crate::ops::Operation;

use super::{ConfigError, Flags};

/// The OAuth client's flags as given.
#[derive(Debug, Default)]
pub struct OAuthFlags {
    pub client_id: Option<String>,
    pub client_key: Option<PathBuf>,
    pub issuer: Option<String>,
    pub issuer_source: UrlSource,
    pub token_url: Option<String>,
    pub scope: Option<String>,
}

impl OAuthFlags {
    pub(super) fn any(&self) -> bool {
        self.client_id.is_some()
            || self.client_key.is_some()
            || self.issuer.is_some()
            || self.token_url.is_some()
            || self.scope.is_some()
    }
}

/// The three kinds of credentials; a run uses exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    BearerToken,
    KeyFile,
    OAuthClient,
}

impl CredentialKind {
    fn describe(self) -> &'static str {
        match self {
            CredentialKind::BearerToken => "a bearer token",
            CredentialKind::KeyFile => "an admin API key file",
            CredentialKind::OAuthClient => "an OAuth client",
        }
    }
}

/// One credential setting that was given: which kind it belongs to, its
/// flag and environment variable, and where it came from.
#[derive(Clone, Copy, Debug)]
pub struct Given {
    pub kind: CredentialKind,
    pub flag: &'static str,
    pub env: Option<&'static str>,
    pub origin: Origin,
}

/// Where a setting came from, weakest first: a flag beats a profile chosen
/// by name (`--profile` or `SECURID_PROFILE`), which beats the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Environment,
    Profile,
    Flag,
}

impl Origin {
    /// Where a tenant URL of this source came from.
    fn of_tenant(source: UrlSource) -> Origin {
        match source {
            UrlSource::BaseUrlEnvironment => Origin::Environment,
            UrlSource::Profile => Origin::Profile,
            _ => Origin::Flag,
        }
    }
}

/// Where the run's tenant and credential came from, and the environment
/// variables that were set but not used, for the banner before the first
/// request.
#[derive(Debug, Default)]
pub struct Origins {
    /// `--base-url`, `SECURID_BASE_URL from the environment`, ...
    pub tenant: Option<String>,
    /// `--key-file`, `SECURID_TOKEN from the environment`, ...
    pub credential: Option<String>,
    /// One line per variable: its name and why it was not used.
    pub unused_environment: Vec<String>,
}

impl Given {
    /// Whether this setting is the credential itself (a token, a key file,
    /// a client ID or key), not a detail of it (scope, issuer, token URL).
    pub fn names_the_credential(&self) -> bool {
        !matches!(self.flag, "--scope" | "--token-url" | "--issuer")
    }

    /// The setting and where it came from, as messages name it.
    pub fn shown(&self) -> String {
        match (self.env, self.origin) {
            (Some(env), Origin::Environment) => format!("{env} from the environment"),
            (_, Origin::Profile) => {
                format!("{} from the profile", self.flag.trim_start_matches('-'))
            }
            _ => self.flag.to_owned(),
        }
    }
}

/// Where the tenant and the credential came from, as the banner names them.
pub(super) fn origins(flags: &Flags) -> Origins {
    let tenant = match (&flags.base_url, flags.mock) {
        (_, true) => Some("--mock".to_owned()),
        (Some(_), false) => Some(match flags.base_url_source {
            UrlSource::BaseUrlEnvironment => "SECURID_BASE_URL from the environment".to_owned(),
            UrlSource::Profile => "base-url from the profile".to_owned(),
            _ => "--base-url".to_owned(),
        }),
        (None, false) if flags.key_file.is_some() => {
            Some("the key file's adminRestApiUrl".to_owned())
        }
        (None, false) => None,
    };
    let credential = flags
        .given
        .iter()
        .find(|g| g.names_the_credential())
        .map(Given::shown);
    Origins {
        tenant,
        credential,
        unused_environment: flags.unused_environment.clone(),
    }
}

/// An OAuth client's access token goes only to the tenant given together
/// with the client: on the same command line, in the same profile, or in
/// the same environment. The issuer and the API are different hosts, so
/// the rule is about where the settings came from, never about names.
pub(super) fn refuse_tenant_from_elsewhere(flags: &Flags) -> Result<(), ConfigError> {
    let Some(client) = flags
        .given
        .iter()
        .find(|g| g.kind == CredentialKind::OAuthClient && g.flag == "--client-id")
    else {
        return Ok(());
    };
    if flags.mock || flags.base_url.is_none() {
        return Ok(());
    }
    let tenant = Origin::of_tenant(flags.base_url_source);
    if tenant == client.origin {
        return Ok(());
    }
    let (tenant_shown, drop_it) = match tenant {
        Origin::Environment => (
            "SECURID_BASE_URL from the environment",
            "unset SECURID_BASE_URL",
        ),
        Origin::Profile => ("base-url from the profile", "drop the profile's base-url"),
        Origin::Flag => ("--base-url", "drop --base-url"),
    };
    let give_it = match client.origin {
        Origin::Environment => "set SECURID_BASE_URL beside SECURID_CLIENT_ID",
        Origin::Profile => "put base-url in the profile with the client",
        Origin::Flag => "pass --base-url on the command line with --client-id",
    };
    Err(ConfigError::Refused(format!(
        "the OAuth client ({}) and the tenant ({tenant_shown}) come from different places; an access token goes only to the tenant given together with its client: {give_it}, or {drop_it}",
        client.shown()
    )))
}

/// Refuses credentials of more than one kind, naming each setting given
/// and where it came from.
pub(super) fn refuse_mixed_credentials(given: &[Given]) -> Result<(), ConfigError> {
    let mut kinds: Vec<CredentialKind> = Vec::new();
    for g in given {
        if !kinds.contains(&g.kind) {
            kinds.push(g.kind);
        }
    }
    if kinds.len() < 2 {
        return Ok(());
    }
    let described: Vec<String> = kinds
        .iter()
        .map(|kind| {
            let settings: Vec<String> = given
                .iter()
                .filter(|g| g.kind == *kind)
                .map(Given::shown)
                .collect();
            format!("{} ({})", kind.describe(), settings.join(", "))
        })
        .collect();
    Err(ConfigError::Refused(format!(
        "credentials of more than one kind were given: {}; a run uses exactly one kind: keep one",
        described.join(" and ")
    )))
}

/// The OAuth client the flags describe: a client ID, its key file, and
/// where its token endpoint is (the issuer or `--token-url`; the simulated
/// tenant is its own issuer). It asks for the operation's permissions and
/// its lookups' unless `--scope` says otherwise.
pub(super) fn oauth_settings(
    operation: &Operation,
    flags: &OAuthFlags,
    mock: bool,
    verify: bool,
) -> Result<OAuthSettings, ConfigError> {
    let mut missing = Vec::new();
    if flags
        .client_id
        .as_deref()
        .is_none_or(|id| id.trim().is_empty())
    {
        missing.push("--client-id (or SECURID_CLIENT_ID)");
    }
    if flags.client_key.is_none() {
        missing.push("--client-key (or SECURID_CLIENT_KEY)");
    }
    if !mock && flags.issuer.is_none() && flags.token_url.is_none() {
        missing.push("--issuer (or SECURID_ISSUER)");
    }
    if !missing.is_empty() {
        return Err(ConfigError::Refused(format!(
            "an OAuth client needs its Client ID, its private key file and its Issuer URL (all shown in the Cloud Administration Console under Platform > API Access Management); missing: {}",
            missing.join(", ")
        )));
    }
    let issuer = match (&flags.issuer, mock) {
        (Some(url), false) => Some(checked_url(url, flags.issuer_source)?),
        _ => None,
    };
    let token_url = match (&flags.token_url, mock) {
        (Some(url), false) => Some(checked_url(url, UrlSource::TokenUrlFlag)?),
        _ => None,
    };
    let scopes: Vec<String> = match &flags.scope {
        Some(scope) => scope.split_whitespace().map(str::to_owned).collect(),
        None => operation
            .scopes(verify)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    if scopes.is_empty() {
        return Err(ConfigError::Refused(
            "--scope is empty; name the permissions to ask for, separated by spaces, or drop --scope to ask for the operation's own".into(),
        ));
    }
    if verify && flags.scope.is_some() {
        let missing: Vec<&str> = operation
            .scopes(true)
            .into_iter()
            .filter(|needed| !scopes.iter().any(|s| s == needed))
            .collect();
        if !missing.is_empty() {
            return Err(ConfigError::Refused(format!(
                "--verify reads each change back, but --scope lacks the permission{} {}; add {} to --scope, or drop --scope to ask for the operation's own",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
            )));
        }
    }
    Ok(OAuthSettings {
        client_id: flags
            .client_id
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        key: flags.client_key.clone().unwrap_or_default(),
        issuer,
        token_url,
        scopes,
    })
}
