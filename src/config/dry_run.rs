//! Whether a run is dry and where its requests go: `DryRun` and the
//! `Target` a real run (or a dry run with lookups) sends to, with its
//! credentials, decided once from the flags after the credential rules.

use std::path::PathBuf;

use reqwest::Url;

use crate::auth::OAuthSettings;
use crate::client::{Credentials, Target};
use crate::net::tenant_url;
use crate::ops::Operation;
use crate::secret::Secret;

use super::credentials::{oauth_settings, refuse_mixed_credentials, refuse_tenant_from_elsewhere};
use super::{ConfigError, Flags};

/// Whether the run changes anything, and where its requests go: the one
/// place a dry run is decided.
#[derive(Debug)]
pub enum DryRun {
    /// A real run: every ready row's operation goes to the target.
    Off(Target),
    /// `--dry-run=lookup`: only the lookups go to the target, which change
    /// nothing, to prove every email and device resolves.
    Lookups(Target),
    /// `--dry-run`: nothing is sent. The tenant the real run would use, when
    /// given, to report the route it would take; the key file, to load and
    /// check against that tenant as the real run would.
    Offline {
        would_send_to: Option<Url>,
        key_file: Option<PathBuf>,
        /// An OAuth client's private key, loaded as the real run would.
        client_key: Option<PathBuf>,
        /// A dry run of a `--mock` run: its tenant is the simulated one.
        simulated: bool,
    },
}

impl DryRun {
    /// Whether this is a dry run of either kind.
    pub fn is_on(&self) -> bool {
        !matches!(self, DryRun::Off(_))
    }
}

/// What a dry run may send, as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DryRunFlag {
    /// `--dry-run`: nothing at all.
    Offline,
    /// `--dry-run=lookup`: the lookups only.
    Lookup,
}

/// The dry run and its target. Credentials that conflict are refused in
/// a dry run as in a real run.
pub(super) fn dry_run(flags: &Flags, operation: &Operation) -> Result<DryRun, ConfigError> {
    if flags.mock && !cfg!(feature = "mock") {
        return Err(ConfigError::Refused(NO_MOCK.into()));
    }
    refuse_mixed_credentials(&flags.given)?;
    refuse_tenant_from_elsewhere(flags)?;
    // A dry run that sends nothing checks the client's flags all the same.
    // A plan, and an apply that re-reads each target, read what --verify reads.
    let reads_state =
        flags.verify || flags.plan.is_some() || flags.apply.as_ref().is_some_and(|a| a.recheck);
    let oauth = match flags.oauth.any() {
        true => Some(oauth_settings(
            operation,
            &flags.oauth,
            flags.mock,
            reads_state,
        )?),
        false => None,
    };
    match flags.dry_run {
        // A plan sends lookups and reads only.
        None if flags.plan.is_some() => Ok(DryRun::Lookups(target(flags, oauth)?)),
        None => Ok(DryRun::Off(target(flags, oauth)?)),
        Some(DryRunFlag::Lookup) => Ok(DryRun::Lookups(target(flags, oauth)?)),
        // Nothing is sent, but a --base-url the real run would refuse is
        // refused now, so the dry run finds that problem too.
        Some(DryRunFlag::Offline) if flags.mock => Ok(DryRun::Offline {
            would_send_to: None,
            key_file: None,
            client_key: flags.oauth.client_key.clone(),
            simulated: true,
        }),
        Some(DryRunFlag::Offline) => Ok(DryRun::Offline {
            would_send_to: flags
                .base_url
                .as_deref()
                .map(|url| tenant_url(url, flags.base_url_source))
                .transpose()?,
            key_file: flags.key_file.clone(),
            client_key: flags.oauth.client_key.clone(),
            simulated: false,
        }),
    }
}

/// Where a real run (or a dry run with lookups) sends, with its
/// credentials; `oauth` is the OAuth client already checked by `dry_run`.
fn target(flags: &Flags, oauth: Option<OAuthSettings>) -> Result<Target, ConfigError> {
    #[cfg(feature = "mock")]
    if flags.mock {
        let options = Box::new(crate::mock::MockOptions::sample());
        return Ok(Target::Mock { options, oauth });
    }
    let credentials = match (&flags.token, &flags.key_file, oauth) {
        (Some(token), _, _) => Credentials::Token(Secret::new(token.expose().trim())),
        (None, Some(path), _) => Credentials::KeyFile(path.clone()),
        (None, None, Some(oauth)) => Credentials::OAuth(Box::new(oauth)),
        (None, None, None) => return Err(ConfigError::Refused(NO_CREDENTIALS.into())),
    };
    let base_url = match &flags.base_url {
        Some(url) => Some(tenant_url(url, flags.base_url_source)?),
        None if matches!(credentials, Credentials::KeyFile(_)) => None,
        None => return Err(ConfigError::Refused(NO_TENANT.into())),
    };
    Ok(Target::Tenant {
        base_url,
        credentials,
    })
}

const NO_CREDENTIALS: &str = "no credentials: pass an OAuth client (--client-id ID --client-key FILE --issuer URL, or SECURID_CLIENT_ID, SECURID_CLIENT_KEY and SECURID_ISSUER), or --key-file FILE (or set SECURID_KEY_FILE) with the admin API key file from the Cloud Administration Console, or --token TOKEN (or set SECURID_TOKEN); --mock runs against a simulated tenant";

const NO_MOCK: &str = "--mock: this securid-bulk was built without the simulated tenant (the cargo feature `mock`); build it with default features to use --mock";

const NO_TENANT: &str = "no tenant given: pass --base-url https://<tenant>.access.securid.com or set SECURID_BASE_URL (or use --mock to try the tool)";
