//! An OAuth API client: finding its token endpoint (OpenID discovery at the
//! issuer, else `<issuer>/token`, or `--token-url`), signing a client
//! assertion (RS256 or ES256, `iss` = `sub` = client ID, `aud` = the token
//! endpoint, a fresh `jti`, five minutes of life) and exchanging it for an
//! access token (`client_credentials` grant, with the run's scopes).
//!
//! A 400, 401 or 403 from the token endpoint is final and its message names
//! the likely cause; a 429 or 5xx is retried like any request. Neither the
//! assertion nor the access token appears in any message.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{encode, Header};
use reqwest::Url;
use serde_json::Value;

mod discovery;

use super::provider::MAX_OAUTH_LIFETIME;
use super::{AuthError, ClientKey};
use crate::net::{http_client, read_capped, redact_url, Capped, ProxyChoice};
use crate::outcome::one_line;
use crate::secret::Secret;
use discovery::discover;

/// How long each client assertion is valid: `exp` = `iat` + 5 minutes.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);
/// Assumed when a token answer has no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest part of the endpoint's `error_description` shown.
const DESCRIPTION_MAX: usize = 200;

/// Why an OAuth client could not get an access token.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("OAuth client key file {} does not exist; check --client-key (or SECURID_CLIENT_KEY)", .path.display())]
    KeyNotFound { path: PathBuf },
    #[error("cannot read OAuth client key file {}: {source}; check the path and that this user may read it", .path.display())]
    KeyUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("OAuth client key file {} is not a usable private key: {problem}; pass the private key file saved when the client was created (a JWK JSON file with kty RSA or EC, or a PKCS#8 PEM)", .path.display())]
    KeyUnusable {
        path: PathBuf,
        problem: &'static str,
    },
    #[error("the token endpoint {url} refused the client (HTTP {status}{detail}); {cause}")]
    Refused {
        url: String,
        status: u16,
        /// `: error: description` as the endpoint gave them, if it did.
        detail: String,
        cause: String,
    },
    #[error("the token endpoint {url} did not answer usably after {attempts} attempts (last: {last}); check the issuer URL and try again later")]
    Unavailable {
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("the token endpoint {url} answered 200 without a usable access_token; check --issuer or --token-url")]
    NoToken { url: String },
    #[error("the token endpoint {url} answered 200 with an expires_in that is not a number of seconds; check --issuer or --token-url")]
    BadLifetime { url: String },
    #[error("the token endpoint {url} answered with more than 64 KiB, which no token answer needs; check --issuer or --token-url")]
    TooLarge { url: String },
    #[error("the discovery document {url} is refused: its {field} {problem}; check --issuer, or name the token endpoint with --token-url")]
    Discovery {
        url: String,
        field: &'static str,
        problem: String,
    },
    #[error("an OAuth client needs its Issuer URL: pass --issuer (or set SECURID_ISSUER), or --token-url")]
    NoIssuer,
    #[error("{0}")]
    Url(#[from] crate::net::UrlError),
    #[error("cannot set up the HTTP client for the token endpoint: {0}")]
    Http(#[source] reqwest::Error),
    #[error("{0}")]
    Proxy(String),
    #[error("could not sign the client assertion with the key in {}", .path.display())]
    Sign { path: PathBuf },
}

impl OAuthError {
    /// Whether asking again cannot help: the endpoint refused the client.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            OAuthError::Refused { .. }
                | OAuthError::NoToken { .. }
                | OAuthError::BadLifetime { .. }
                | OAuthError::TooLarge { .. }
        )
    }
}

/// The OAuth client a run uses, as configured.
#[derive(Clone, Debug)]
pub struct OAuthSettings {
    pub client_id: String,
    /// The private key file (JWK or PKCS#8 PEM).
    pub key: PathBuf,
    /// The Issuer URL; `None` only with `token_url`.
    pub issuer: Option<Url>,
    /// `--token-url`: used as is, without discovery.
    pub token_url: Option<Url>,
    /// The permissions asked for, sent as the space-separated `scope`.
    pub scopes: Vec<String>,
}

/// A fresh sequence of delays between attempts; its end ends the tries.
pub type Backoff = Arc<dyn Fn() -> Box<dyn Iterator<Item = Duration> + Send> + Send + Sync>;
/// A `Retry-After` value read as a delay, if it is one.
pub type RetryAfter = Arc<dyn Fn(&str) -> Option<Duration> + Send + Sync>;

/// The wait between attempts, ending early when the run halts (the run's
/// halt lives above this module, so the wait is handed in).
pub type Pause = Arc<
    dyn Fn(Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// How requests to the token endpoint are retried: the run's backoff, its
/// reading of `Retry-After`, and its halt-aware wait.
#[derive(Clone)]
pub struct TokenRetry {
    pub backoff: Backoff,
    pub retry_after: RetryAfter,
    pub pause: Pause,
}

/// How the token endpoint is reached: the run's timeout and proxy choice.
#[derive(Clone)]
pub struct Transport {
    pub timeout: Duration,
    pub proxy: ProxyChoice,
    pub retry: TokenRetry,
}

/// A ready OAuth client: its key loaded and its token endpoint found.
pub struct OAuthClient {
    client_id: String,
    key: ClientKey,
    key_path: PathBuf,
    token_url: Url,
    scope: String,
    http: reqwest::Client,
    retry: TokenRetry,
}

/// What one attempt at the token endpoint came to.
enum Attempt {
    Token(Secret, Duration),
    /// Worth another try after the given delay, if the endpoint named one.
    Again(String, Option<Duration>),
    Final(OAuthError),
}

impl OAuthClient {
    /// Loads the key and finds the token endpoint. Sends nothing but the
    /// discovery request (none with `--token-url`).
    pub async fn connect(
        settings: &OAuthSettings,
        transport: &Transport,
    ) -> Result<OAuthClient, AuthError> {
        let key = ClientKey::load(&settings.key)?;
        let token_url = match (&settings.token_url, &settings.issuer) {
            (Some(url), _) => url.clone(),
            (None, Some(issuer)) => discover(issuer, transport).await?,
            (None, None) => return Err(OAuthError::NoIssuer.into()),
        };
        let route = transport
            .proxy
            .route(&token_url)
            .map_err(OAuthError::Proxy)?;
        let http = http_client(&token_url, transport.timeout, route.as_ref(), 1)
            .map_err(OAuthError::Http)?;
        Ok(OAuthClient {
            client_id: settings.client_id.clone(),
            key,
            key_path: settings.key.clone(),
            token_url,
            scope: settings.scopes.join(" "),
            http,
            retry: transport.retry.clone(),
        })
    }

    /// The Client ID, which is public: the summary names it.
    pub(super) fn client_id(&self) -> &str {
        &self.client_id
    }

    /// A new access token and its lifetime, had at `now` (since the Unix
    /// epoch). Each attempt signs a new assertion, so none is ever sent
    /// twice or after it expired.
    pub(super) async fn obtain(&self, now: Duration) -> Result<(Secret, Duration), AuthError> {
        let mut delays = (self.retry.backoff)();
        let mut attempts = 0;
        let mut issued_at = now;
        loop {
            attempts += 1;
            let assertion = self.assertion(issued_at)?;
            let (last, advised) = match self.attempt(&assertion).await {
                Attempt::Token(token, lifetime) => return Ok((token, lifetime)),
                Attempt::Final(error) => return Err(error.into()),
                Attempt::Again(last, advised) => (last, advised),
            };
            let Some(delay) = delays.next() else {
                let url = self.shown_url();
                return Err(OAuthError::Unavailable {
                    url,
                    attempts,
                    last,
                }
                .into());
            };
            let delay = advised.unwrap_or(delay);
            (self.retry.pause)(delay).await;
            issued_at = unix_now().unwrap_or(issued_at.saturating_add(delay));
        }
    }

    /// The signed client assertion for `now`.
    fn assertion(&self, now: Duration) -> Result<Secret, OAuthError> {
        let mut header = Header::new(self.key.key_type.algorithm());
        header.kid = self.key.kid.clone();
        let iat = now.as_secs();
        let claims = serde_json::json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url.as_str(),
            "jti": fresh_jti(),
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME.as_secs(),
        });
        let signed =
            encode(&header, &claims, &self.key.encoding).map_err(|_| OAuthError::Sign {
                path: self.key_path.clone(),
            })?;
        Ok(Secret::new(signed))
    }

    async fn attempt(&self, assertion: &Secret) -> Attempt {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_assertion_type", ASSERTION_TYPE)
            .append_pair("client_assertion", assertion.expose())
            .append_pair("scope", &self.scope)
            .finish();
        // The form holds the assertion; it moves into reqwest, which owns
        // the bytes until sent and cannot wipe them (its body takes owned
        // or 'static bytes only). A `Secret` here would wipe only a copy. The
        // assertion lives five minutes and is never sent twice.
        let sent = self
            .http
            .post(self.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return Attempt::Again(transport_problem(&e), None),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| (self.retry.retry_after)(v));
        let text = match read_capped(response).await {
            Ok(Capped { cut: true, .. }) => {
                let url = self.shown_url();
                return Attempt::Final(OAuthError::TooLarge { url });
            }
            Ok(Capped { text, .. }) => text,
            Err(_) => String::new(),
        };
        match status {
            200 => self.read_token(&text),
            429 | 500..=599 => Attempt::Again(format!("HTTP {status}"), retry_after),
            _ => Attempt::Final(self.refusal(status, &text)),
        }
    }

    fn read_token(&self, text: &str) -> Attempt {
        let json: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let token = json.get("access_token").and_then(Value::as_str);
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            let url = self.shown_url();
            return Attempt::Final(OAuthError::NoToken { url });
        };
        match token_lifetime(json.get("expires_in")) {
            Some(lifetime) => Attempt::Token(Secret::new(token), lifetime),
            None => Attempt::Final(OAuthError::BadLifetime {
                url: self.shown_url(),
            }),
        }
    }

    /// The final refusal, naming what most likely caused it.
    fn refusal(&self, status: u16, text: &str) -> OAuthError {
        let json: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let field = |name: &str| {
            json.get(name)
                .and_then(Value::as_str)
                .map(|text| one_line(text, DESCRIPTION_MAX))
                .unwrap_or_default()
        };
        let (error, description) = (field("error"), field("error_description"));
        let detail = match (error.is_empty(), description.is_empty()) {
            (true, true) => String::new(),
            (false, true) => format!(": {error}"),
            (true, false) => format!(": {description}"),
            (false, false) => format!(": {error}: {description}"),
        };
        OAuthError::Refused {
            url: self.shown_url(),
            status,
            detail,
            cause: self.likely_cause(status, &error),
        }
    }

    fn likely_cause(&self, status: u16, error: &str) -> String {
        let kid = match &self.key.kid {
            Some(kid) => format!("key id {kid:?}"),
            None => "a key with no key id".to_owned(),
        };
        let scopes = format!("asked for: {}", self.scope);
        match (status, error) {
            (_, "invalid_scope") => format!(
                "a permission the run needs is not granted to this client ({scopes}); ask the Super Admin to grant it under Platform > API Access Management, or pass --scope"
            ),
            (_, "invalid_client") | (401, _) => format!(
                "the client was not recognised: check that --client-id is the Client ID shown for this client, that the key file ({kid}) is the one registered for it, and that this machine's clock is right (assertions are valid for five minutes)"
            ),
            (_, "invalid_grant") => format!(
                "the assertion was refused: check this machine's clock (assertions are valid for five minutes) and that the key file ({kid}) belongs to the client"
            ),
            (404, _) => "there is no token endpoint at this address: check --issuer (the Issuer URL of the client) or --token-url".to_owned(),
            (403, _) => format!(
                "check that --issuer is the client's Issuer URL (the auth host, e.g. https://<tenant>.auth.securid.com/oauth, not the access host) and that the client is granted every permission the run needs ({scopes})"
            ),
            (300..=399, _) => "the token endpoint redirected, and redirects are not followed: check --issuer or --token-url".to_owned(),
            _ => format!("check --issuer, --client-id and the key file ({kid})"),
        }
    }

    fn shown_url(&self) -> String {
        redact_url(self.token_url.as_str())
    }
}

/// An access token's lifetime from `expires_in`: whole seconds, as a number
/// or a string of digits, kept between 1 s and 24 h (a token the endpoint
/// says lives for ever is still renewed daily); the default when absent;
/// `None` when the value is no lifetime at all (negative, a fraction, text).
fn token_lifetime(expires_in: Option<&Value>) -> Option<Duration> {
    let seconds = match expires_in {
        None | Some(Value::Null) => return Some(DEFAULT_TOKEN_LIFETIME),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    }?;
    let lifetime = Duration::from_secs(seconds.min(MAX_OAUTH_LIFETIME.as_secs()));
    Some(lifetime.max(Duration::from_secs(1)))
}

/// A random UUID (version 4) for `jti`.
fn fresh_jti() -> String {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        bytes = fastrand::u128(..).to_be_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn unix_now() -> Option<Duration> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
}

/// A transport failure in a few words, without the URL's query (there is
/// none) or anything sent.
fn transport_problem(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "the connection failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jti_is_a_fresh_uuid_v4() {
        let (a, b) = (fresh_jti(), fresh_jti());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn expires_in_is_clamped_and_nonsense_is_refused() {
        let day = Some(MAX_OAUTH_LIFETIME);
        assert_eq!(token_lifetime(Some(&serde_json::json!(u64::MAX))), day);
        assert_eq!(
            token_lifetime(Some(&serde_json::json!("18446744073709551615"))),
            day
        );
        assert_eq!(
            token_lifetime(Some(&serde_json::json!(600))),
            Some(Duration::from_secs(600))
        );
        assert_eq!(token_lifetime(None), Some(DEFAULT_TOKEN_LIFETIME));
        for nonsense in [
            serde_json::json!(-5),
            serde_json::json!(1.5),
            serde_json::json!("soon"),
            serde_json::json!(true),
        ] {
            assert_eq!(token_lifetime(Some(&nonsense)), None, "{nonsense}");
        }
    }
}
