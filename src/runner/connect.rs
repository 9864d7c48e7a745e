//! The network side of a run: the tenant requests go to (a real one, the
//! simulated one, or none in a dry run), the credentials they carry, the
//! proxy they go through, and the client built from all three.

use std::sync::Arc;

use reqwest::Url;

use super::RunError;
use crate::auth::{KeyFile, TokenProvider};
use crate::client::{Client, ClientConfig};
use crate::config::{tenant_url, Config, Credentials, DryRun, Target, UrlSource};
use crate::mock::MockServer;
use crate::net::{describe_route, redact_url};
use crate::safety::Halt;

/// The network side of a run, when there is one.
pub(super) struct Connection {
    pub(super) client: Option<Arc<Client>>,
    mock: Option<MockServer>,
    /// Who the requests go to, for the confirmation.
    pub(super) tenant: String,
    /// The proxy requests go (or would go) through.
    pub(super) proxy: Option<Url>,
}

impl Connection {
    pub(super) async fn close(self) {
        if let Some(mock) = self.mock {
            mock.shutdown().await;
        }
    }
}

/// Builds the client for the run's target, starting the simulated tenant
/// when asked. A dry run connects to nothing.
pub(super) async fn connect(config: &Config, halt: &Arc<Halt>) -> Result<Connection, RunError> {
    let nowhere = |base: Option<&Url>| {
        let proxy = base.and_then(|base| config.proxy.route(base));
        if let (Some(base), false) = (base, config.quiet) {
            eprintln!(
                "dry run: a real run would send {}",
                describe_route(base, proxy.as_ref())
            );
        }
        Connection {
            client: None,
            mock: None,
            tenant: "nowhere (dry run)".into(),
            proxy,
        }
    };
    let target = match &config.dry_run {
        DryRun::Offline { would_send_to } => return Ok(nowhere(would_send_to.as_ref())),
        DryRun::Off(target) | DryRun::Lookups(target) => target,
    };
    let (base_url, tokens, mock) = match target {
        Target::Mock(options) => {
            let mock = MockServer::start((**options).clone()).await?;
            let base = parse_url(&mock.base_url())?;
            let tokens = TokenProvider::fixed(mock.static_token().clone());
            (base, tokens, Some(mock))
        }
        Target::Tenant {
            base_url,
            credentials,
        } => {
            let (base, tokens) =
                credentials_for(base_url.as_ref(), credentials, config.token_lifetime)?;
            (base, tokens, None)
        }
    };
    let proxy = config.proxy.route(&base_url);
    if !config.quiet {
        eprintln!(
            "{}: sending {}",
            config.operation.name,
            describe_route(&base_url, proxy.as_ref())
        );
    }
    let client_config = ClientConfig {
        proxy: proxy.clone(),
        base_url,
        timeout: config.timeout,
        rate: config.rate,
        retry: config.retry,
        concurrency: config.concurrency,
    };
    let tenant = match &mock {
        Some(_) => format!("the simulated tenant at {}", client_config.base_url),
        None => client_config.base_url.host_str().unwrap_or("?").to_owned(),
    };
    let client = Client::new(&client_config, Arc::new(tokens), halt.clone())?;
    Ok(Connection {
        client: Some(Arc::new(client)),
        mock,
        tenant,
        proxy,
    })
}

fn credentials_for(
    base_url: Option<&Url>,
    credentials: &Credentials,
    token_lifetime: std::time::Duration,
) -> Result<(Url, TokenProvider), RunError> {
    match credentials {
        Credentials::Token(token) => {
            let base = base_url
                .cloned()
                .ok_or_else(|| RunError::Setup("no tenant given: pass --base-url".into()))?;
            Ok((base, TokenProvider::fixed(token.clone())))
        }
        Credentials::KeyFile(path) => {
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
                    .map_err(|e| RunError::Setup(format!("{e} (in {})", path.display())))?,
            };
            Ok((base, TokenProvider::from_key_file(key, token_lifetime)?))
        }
    }
}

fn parse_url(text: &str) -> Result<Url, RunError> {
    Url::parse(text).map_err(|e| {
        let shown = redact_url(text);
        RunError::Setup(format!("bad tenant URL {shown:?}: {e}"))
    })
}
