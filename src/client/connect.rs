//! Connecting a run: the tenant requests go to (a real one, the simulated
//! one, or none in a dry run), the credentials they carry, the proxy they go
//! through, and the client built from all three. A [`Connection`] is closed
//! once, by whoever opened it.

use std::sync::Arc;

use reqwest::Url;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::{Client, ClientConfig, ClientError, Rate, RetryPolicy, Traffic};
use crate::auth::{
    AuthError, KeyFile, OAuthClient, OAuthSettings, TokenProvider, TokenRetry, Transport,
};
#[cfg(feature = "mock")]
use crate::identity::SIMULATED_TENANT;
use crate::identity::{tenant_label, NO_TENANT};
#[cfg(feature = "mock")]
use crate::mock::{MockError, MockOptions, MockServer};
use crate::net::{describe_route, tenant_url, ProxyChoice, UrlSource};
use crate::safety::Halt;
use crate::secret::Secret;

/// Where requests go.
#[derive(Debug)]
pub enum Target {
    /// The in-process simulated tenant, with its static token or as the
    /// authorization server of an OAuth client (whose `issuer` is then the
    /// tenant's own).
    #[cfg(feature = "mock")]
    Mock {
        options: Box<MockOptions>,
        oauth: Option<OAuthSettings>,
    },
    Tenant {
        /// `None` with a key file: the key file's `adminRestApiUrl` decides.
        base_url: Option<Url>,
        credentials: Credentials,
    },
}

#[derive(Debug)]
pub enum Credentials {
    Token(Secret),
    KeyFile(PathBuf),
    OAuth(Box<OAuthSettings>),
}

/// How the run's client is built, whichever tenant it talks to.
#[derive(Clone, Debug)]
pub struct Settings {
    pub timeout: Duration,
    /// Requests per second for the whole run, or how to find it.
    pub rate: Rate,
    pub retry: RetryPolicy,
    /// Rows in flight at once.
    pub concurrency: usize,
    /// Which proxy carries requests to an https tenant.
    pub proxy: ProxyChoice,
    /// How long each token minted from a key file lives.
    pub token_lifetime: Duration,
}

/// Why a run could not connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[cfg(feature = "mock")]
    #[error("cannot start the simulated tenant: {0}")]
    Mock(#[from] MockError),
    #[error("{0}")]
    Setup(String),
}

/// The network side of a run, when there is one.
pub struct Connection {
    pub client: Option<Arc<Client>>,
    #[cfg(feature = "mock")]
    mock: Option<MockServer>,
    /// Who the requests go to, for the confirmation.
    pub tenant: String,
    /// The tenant as every output records it and a reused file is checked
    /// against (`identity::tenant_label`, or the simulated tenant, or no
    /// tenant for a dry run that named none).
    pub tenant_label: String,
    /// The proxy requests go (or would go) through.
    pub proxy: Option<Url>,
    /// The public ID of the run's credential (key file access ID, OAuth
    /// Client ID), as the token source loaded it.
    pub credential_id: Option<String>,
}

impl Connection {
    /// Stops the simulated tenant, if the run started one. The connection's
    /// figures stay readable.
    pub async fn close(&mut self) {
        #[cfg(feature = "mock")]
        if let Some(mock) = self.mock.take() {
            mock.shutdown().await;
        }
    }

    /// The run's request counts (all zero when nothing is sent).
    pub fn traffic(&self) -> Arc<Traffic> {
        self.client
            .as_ref()
            .map(|c| c.traffic.clone())
            .unwrap_or_default()
    }
}

impl Connection {
    /// A dry run that sends nothing. When the tenant a real run would use
    /// is known, says where the real run would send.
    pub fn nowhere(
        would_send_to: Option<&Url>,
        settings: &Settings,
        quiet: bool,
    ) -> Result<Connection, ConnectError> {
        let proxy = match would_send_to {
            Some(base) => settings.proxy.route(base).map_err(ConnectError::Setup)?,
            None => None,
        };
        if let (Some(base), false) = (would_send_to, quiet) {
            eprintln!(
                "dry run: a real run would send {}",
                describe_route(base, proxy.as_ref())
            );
        }
        Ok(Connection {
            client: None,
            #[cfg(feature = "mock")]
            mock: None,
            tenant: "nowhere (dry run)".into(),
            tenant_label: would_send_to.map_or_else(|| NO_TENANT.to_owned(), tenant_label),
            proxy,
            credential_id: None,
        })
    }
}

/// Builds the client for `target`, starting the simulated tenant when
/// asked, and says where `operation` sends unless `quiet`.
pub async fn connect(
    target: &Target,
    settings: &Settings,
    announce: (&str, bool),
    halt: &Arc<Halt>,
) -> Result<Connection, ConnectError> {
    match target {
        #[cfg(feature = "mock")]
        Target::Mock { options, oauth } => {
            connect_mock(options, oauth.as_ref(), settings, announce, halt).await
        }
        Target::Tenant {
            base_url,
            credentials,
        } => {
            let (base, tokens) =
                credentials_for(base_url.as_ref(), credentials, settings, halt).await?;
            build(base, tokens, settings, announce, halt)
        }
    }
}

/// Starts the simulated tenant and connects to it with its static token,
/// or with the OAuth client, whose public key the tenant is given.
#[cfg(feature = "mock")]
async fn connect_mock(
    options: &MockOptions,
    oauth: Option<&OAuthSettings>,
    settings: &Settings,
    announce: (&str, bool),
    halt: &Arc<Halt>,
) -> Result<Connection, ConnectError> {
    let mut options = options.clone();
    if let Some(oauth) = oauth {
        options.oauth_client_id = Some(oauth.client_id.clone());
        options.oauth_client_key = Some(oauth.key.clone());
    }
    let mock = MockServer::start(options).await?;
    let base = parse_url(&mock.base_url())?;
    let tokens = match oauth {
        Some(oauth) => {
            let issuer = parse_url(&mock.oauth_issuer())?;
            let oauth = OAuthSettings {
                issuer: Some(issuer),
                ..oauth.clone()
            };
            oauth_tokens(&oauth, settings, halt).await?
        }
        None => TokenProvider::fixed(mock.static_token().clone()),
    };
    let tenant = format!("the simulated tenant at {base}");
    let mut connection = build(base, tokens, settings, announce, halt)?;
    connection.tenant = tenant;
    connection.tenant_label = SIMULATED_TENANT.to_owned();
    connection.mock = Some(mock);
    Ok(connection)
}

/// The client for `base_url`, through the proxy the settings choose.
fn build(
    base_url: Url,
    tokens: TokenProvider,
    settings: &Settings,
    (operation, quiet): (&str, bool),
    halt: &Arc<Halt>,
) -> Result<Connection, ConnectError> {
    let proxy = settings
        .proxy
        .route(&base_url)
        .map_err(ConnectError::Setup)?;
    if !quiet {
        eprintln!(
            "{operation}: sending {}",
            describe_route(&base_url, proxy.as_ref())
        );
    }
    let client_config = ClientConfig {
        proxy: proxy.clone(),
        base_url,
        timeout: settings.timeout,
        rate: settings.rate,
        retry: settings.retry,
        concurrency: settings.concurrency,
    };
    let tenant = crate::net::host_port(&client_config.base_url);
    let label = tenant_label(&client_config.base_url);
    let credential_id = tokens.public_id().map(str::to_owned);
    let client = Client::new(&client_config, Arc::new(tokens), halt.clone())?;
    Ok(Connection {
        client: Some(Arc::new(client)),
        #[cfg(feature = "mock")]
        mock: None,
        tenant,
        tenant_label: label,
        proxy,
        credential_id,
    })
}

async fn credentials_for(
    base_url: Option<&Url>,
    credentials: &Credentials,
    settings: &Settings,
    halt: &Arc<Halt>,
) -> Result<(Url, TokenProvider), ConnectError> {
    match credentials {
        Credentials::Token(token) => {
            let base = base_url
                .cloned()
                .ok_or_else(|| ConnectError::Setup("no tenant given: pass --base-url".into()))?;
            Ok((base, TokenProvider::fixed(token.clone())))
        }
        Credentials::KeyFile(path) => key_file_route(path, base_url, settings.token_lifetime),
        Credentials::OAuth(oauth) => {
            let base = base_url.cloned().ok_or_else(|| {
                ConnectError::Setup(
                    "no tenant given: pass --base-url with the Administration API REST URL shown for the OAuth client".into(),
                )
            })?;
            Ok((base, oauth_tokens(oauth, settings, halt).await?))
        }
    }
}

/// Finds the client's token endpoint and obtains its first access token,
/// so a client the endpoint refuses stops the run before any row is sent.
async fn oauth_tokens(
    oauth: &OAuthSettings,
    settings: &Settings,
    halt: &Arc<Halt>,
) -> Result<TokenProvider, ConnectError> {
    if let Some(warning) = crate::auth::permission_warning(&oauth.key) {
        eprintln!("{warning}");
    }
    let policy = settings.retry;
    let transport = Transport {
        timeout: settings.timeout,
        proxy: settings.proxy.clone(),
        retry: TokenRetry {
            backoff: Arc::new(move || Box::new(policy.backoff())),
            retry_after: Arc::new(move |value| {
                super::parse_retry_after(value, SystemTime::now(), policy.max_retry_after)
            }),
            pause: {
                let halt = halt.clone();
                Arc::new(move |delay| {
                    let halt = halt.clone();
                    Box::pin(async move { halt.sleep(delay).await })
                })
            },
        },
    };
    let client = OAuthClient::connect(oauth, &transport).await?;
    Ok(TokenProvider::from_oauth(client).await?)
}

/// Loads an OAuth client's private key as a real run does, with the same
/// warning for a key others may read; sends nothing, for an offline dry run.
pub fn check_client_key(path: &std::path::Path) -> Result<(), ConnectError> {
    if let Some(warning) = crate::auth::permission_warning(path) {
        eprintln!("{warning}");
    }
    crate::auth::ClientKey::load(path).map_err(AuthError::from)?;
    Ok(())
}

/// Loads the key file and finds the tenant its tokens may go to: `base_url`
/// when the key belongs to it, else the key's own tenant. Signs the first
/// token, which sends nothing, so an offline dry run can call it too and
/// find every problem with the key file that the real run would.
pub fn key_file_route(
    path: &std::path::Path,
    base_url: Option<&Url>,
    token_lifetime: Duration,
) -> Result<(Url, TokenProvider), ConnectError> {
    let key = KeyFile::load(path)?;
    if let Some(warning) = KeyFile::permission_warning(path) {
        eprintln!("{warning}");
    }
    let base = match base_url {
        Some(url) => {
            key.check_destination(url)?;
            url.clone()
        }
        None => tenant_url(&key.tenant_root(), UrlSource::KeyFile)
            .map_err(|e| ConnectError::Setup(format!("{e} (in {})", path.display())))?,
    };
    Ok((base, TokenProvider::from_key_file(key, token_lifetime)?))
}

#[cfg(feature = "mock")]
fn parse_url(text: &str) -> Result<Url, ConnectError> {
    Url::parse(text).map_err(|e| {
        let shown = crate::net::redact_url(text);
        ConnectError::Setup(format!("bad tenant URL {shown:?}: {e}"))
    })
}
