//! The tenant as an OAuth authorization server under `/oauth`: the OpenID
//! discovery document, and a token endpoint that verifies each client
//! assertion (the client's key and algorithm, `iss` = `sub` = client ID,
//! `aud` = this token endpoint's URL, `exp` at most five minutes after
//! `iat`, `jti` never seen before) and issues opaque access tokens, each
//! carrying the permissions it was granted for `--access-token-lifetime`.
//!
//! The gate asks [`AuthServer::caller`] who a bearer token belongs to and
//! which permissions it carries; each endpoint's permission is in the
//! tenant's own table (`handlers::ENDPOINTS`), not in the tool's catalog.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::{decode, decode_header, Validation};
use serde::Deserialize;
use serde_json::json;

use super::clients::Client;
use super::hostile::{huge_json, HostileOAuth};
use super::stats::Recorder;
use super::{handlers, lock};

pub(crate) const ISSUER_PATH: &str = "/oauth";
const DISCOVERY_PATH: &str = "/oauth/.well-known/openid-configuration";
const TOKEN_PATH: &str = "/oauth/token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest assertion accepted: `exp` - `iat`, in seconds.
const MAX_ASSERTION_SECS: i64 = 300;
/// Clock skew tolerated on `exp` and `iat`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// The authorization server's state.
pub(crate) struct AuthServer {
    issuer: String,
    clients: Vec<Client>,
    /// Granted to every client; `None`: every permission the tenant knows.
    granted: Option<Vec<String>>,
    lifetime: Duration,
    discovery: bool,
    /// Token requests still to answer with 503.
    failures_left: AtomicU32,
    /// Refuse every token request once this many tokens were issued.
    refuse_after: Option<u64>,
    hostile: Option<HostileOAuth>,
    issued: AtomicU64,
    /// Assertion IDs already used, with their `exp`, for replay refusal.
    seen: Mutex<HashMap<String, i64>>,
    tokens: Mutex<HashMap<String, Grant>>,
}

struct Grant {
    client: String,
    permissions: Vec<String>,
    expires: Instant,
}

/// Who a bearer token belongs to.
pub(crate) enum Caller {
    /// An access token of `client`, carrying `permissions`.
    Client {
        client: String,
        permissions: Vec<String>,
    },
    /// An access token this server issued that has expired.
    Expired,
    /// Not one of this server's tokens.
    Unknown,
}

/// How the server is set up.
pub(crate) struct AuthSetup {
    pub issuer: String,
    pub clients: Vec<Client>,
    pub granted: Option<Vec<String>>,
    pub lifetime: Duration,
    pub discovery: bool,
    pub failures: u32,
    pub refuse_after: Option<u64>,
    pub hostile: Option<HostileOAuth>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    iat: i64,
    exp: i64,
    jti: Option<String>,
}

/// A refused token request: status, OAuth `error`, description, and the
/// reason it is counted under.
struct Refusal(StatusCode, &'static str, String, &'static str);

impl AuthServer {
    pub fn new(setup: AuthSetup) -> AuthServer {
        AuthServer {
            issuer: setup.issuer,
            clients: setup.clients,
            granted: setup.granted,
            lifetime: setup.lifetime,
            discovery: setup.discovery,
            failures_left: AtomicU32::new(setup.failures),
            refuse_after: setup.refuse_after,
            hostile: setup.hostile,
            issued: AtomicU64::new(0),
            seen: Mutex::default(),
            tokens: Mutex::default(),
        }
    }

    fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// Who `token` belongs to.
    pub fn caller(&self, token: &str) -> Caller {
        let tokens = lock(&self.tokens);
        match tokens.get(token) {
            None => Caller::Unknown,
            Some(grant) if grant.expires <= Instant::now() => Caller::Expired,
            Some(grant) => Caller::Client {
                client: grant.client.clone(),
                permissions: grant.permissions.clone(),
            },
        }
    }

    /// Answers a request under `/oauth`.
    pub async fn answer(&self, request: Request<Body>, stats: &Recorder) -> Response {
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        match (method, path.as_str()) {
            (Method::GET, DISCOVERY_PATH) => {
                stats.oauth(|o| o.discovery_requests += 1);
                self.discovery_document(&path)
            }
            (Method::POST, TOKEN_PATH) => {
                stats.oauth(|o| o.token_requests += 1);
                if self.hostile == Some(HostileOAuth::SlowToken) {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                let body = axum::body::to_bytes(request.into_body(), handlers::BODY_LIMIT).await;
                let form = body.map(|b| form(&b)).unwrap_or_default();
                match self.issue(&form) {
                    Ok(answer) => {
                        stats.oauth(|o| o.tokens_issued += 1);
                        answer
                    }
                    Err(Refusal(status, error, description, reason)) => {
                        stats.oauth(|o| *o.refused.entry(reason.to_owned()).or_default() += 1);
                        oauth_error(status, error, &description)
                    }
                }
            }
            _ => handlers::error_response(StatusCode::NOT_FOUND, "no such endpoint", &path),
        }
    }

    fn discovery_document(&self, path: &str) -> Response {
        if !self.discovery {
            return handlers::error_response(StatusCode::NOT_FOUND, "no such endpoint", path);
        }
        let (issuer, token_endpoint) = match self.hostile {
            Some(HostileOAuth::IssuerMismatch) => (
                "https://other-tenant.auth.securid.com/oauth".to_owned(),
                self.token_endpoint(),
            ),
            Some(HostileOAuth::TokenEndpointOffhost) => (
                self.issuer.clone(),
                "https://collector.example.net/oauth/token".to_owned(),
            ),
            _ => (self.issuer.clone(), self.token_endpoint()),
        };
        let document = json!({
            "issuer": issuer,
            "token_endpoint": token_endpoint,
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        });
        if self.hostile == Some(HostileOAuth::HugeDiscovery) {
            return huge_json(&document);
        }
        Json(document).into_response()
    }

    fn issue(&self, form: &HashMap<String, String>) -> Result<Response, Refusal> {
        let unavailable =
            self.failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if unavailable.is_ok() {
            let why = "the token service is unavailable; try again".to_owned();
            return Err(Refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                why,
                "unavailable",
            ));
        }
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
        let malformed = |why: &str| {
            Refusal(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                why.to_owned(),
                "malformed",
            )
        };
        if field("grant_type") != "client_credentials" {
            let why = "grant_type must be client_credentials".to_owned();
            return Err(Refusal(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                why,
                "malformed",
            ));
        }
        if field("client_assertion_type") != ASSERTION_TYPE {
            return Err(malformed("client_assertion_type must be jwt-bearer"));
        }
        let client = self.verify(field("client_assertion"))?;
        if self
            .refuse_after
            .is_some_and(|limit| self.issued.load(Ordering::SeqCst) >= limit)
        {
            let why = "this client no longer exists".to_owned();
            return Err(Refusal(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                why,
                "client-gone",
            ));
        }
        self.issued.fetch_add(1, Ordering::SeqCst);
        let permissions = self.grant(client, field("scope"))?;
        let token = random_token();
        let expires = Instant::now() + self.lifetime;
        let grant = Grant {
            client: client.id.clone(),
            permissions: permissions.clone(),
            expires,
        };
        lock(&self.tokens).insert(token.clone(), grant);
        let expires_in = match self.hostile {
            Some(HostileOAuth::ExpiresForever) => u64::MAX,
            _ => self.lifetime.as_secs(),
        };
        let answer = json!({"access_token": token, "token_type": "Bearer",
            "expires_in": expires_in, "scope": permissions.join(" ")});
        if self.hostile == Some(HostileOAuth::HugeTokenAnswer) {
            return Ok(huge_json(&answer));
        }
        Ok(Json(answer).into_response())
    }

    /// The client whose valid, fresh, first-seen assertion this is.
    fn verify(&self, assertion: &str) -> Result<&Client, Refusal> {
        let invalid_client = |why: &str, reason| {
            Refusal(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                why.to_owned(),
                reason,
            )
        };
        let header = decode_header(assertion)
            .map_err(|_| invalid_client("client_assertion is not a JWT", "malformed"))?;
        let unverified: Claims = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
            .map_err(|_| {
                invalid_client("client_assertion lacks iss, sub, iat, exp", "malformed")
            })?;
        let client = self
            .clients
            .iter()
            .find(|c| c.id == unverified.iss)
            .ok_or_else(|| {
                invalid_client("unknown client: no client has this ID", "unknown-client")
            })?;
        if header.alg != client.algorithm {
            return Err(invalid_client(
                "the assertion's alg does not match the client's key type",
                "signature",
            ));
        }
        if client.kid.is_some() && header.kid.is_some() && header.kid != client.kid {
            return Err(invalid_client(
                "unknown key id for this client",
                "unknown-key",
            ));
        }
        let mut validation = Validation::new(client.algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.set_audience(&[self.token_endpoint()]);
        validation.set_issuer(&[&client.id]);
        validation.sub = Some(client.id.clone());
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
        let claims = decode::<Claims>(assertion, &client.key, &validation)
            .map_err(|e| refusal_for(e.kind()))?
            .claims;
        self.check_time_and_replay(&claims)?;
        Ok(client)
    }

    fn check_time_and_replay(&self, claims: &Claims) -> Result<(), Refusal> {
        let grant = |why: &str, reason| {
            Refusal(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                why.to_owned(),
                reason,
            )
        };
        let now = jsonwebtoken::get_current_timestamp() as i64;
        if claims.exp - claims.iat > MAX_ASSERTION_SECS || claims.exp <= claims.iat {
            return Err(grant(
                "the assertion must expire within 5 minutes of iat",
                "lifetime",
            ));
        }
        if claims.iat > now + LEEWAY_SECS as i64 {
            return Err(grant(
                "the assertion's iat is in the future: check the clock",
                "lifetime",
            ));
        }
        let jti = claims.jti.as_deref().unwrap_or("");
        if jti.is_empty() {
            return Err(grant("the assertion has no jti", "malformed"));
        }
        let mut seen = lock(&self.seen);
        seen.retain(|_, exp| *exp + LEEWAY_SECS as i64 >= now);
        if seen.insert(jti.to_owned(), claims.exp).is_some() {
            return Err(grant(
                "the assertion was already used (jti replayed)",
                "replayed",
            ));
        }
        Ok(())
    }

    /// The permissions an access token gets: those asked for (all granted
    /// ones when `scope` is empty), each of which must be granted.
    fn grant(&self, client: &Client, scope: &str) -> Result<Vec<String>, Refusal> {
        let granted: Vec<String> = match &self.granted {
            Some(granted) => granted.clone(),
            None => handlers::permissions().map(str::to_owned).collect(),
        };
        let asked: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
        if asked.is_empty() {
            return Ok(granted);
        }
        match asked.iter().find(|p| !granted.contains(p)) {
            Some(missing) => Err(Refusal(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                format!(
                    "permission {missing} is not granted to client {}",
                    client.id
                ),
                "scope",
            )),
            None => Ok(asked),
        }
    }
}

fn refusal_for(kind: &jsonwebtoken::errors::ErrorKind) -> Refusal {
    use jsonwebtoken::errors::ErrorKind as K;
    let (status, error, why, reason) = match kind {
        K::ExpiredSignature => (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the assertion has expired",
            "expired",
        ),
        K::InvalidAudience => (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the assertion's aud is not this token endpoint's URL",
            "audience",
        ),
        K::InvalidIssuer | K::InvalidSubject => (
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "iss and sub must both be the client ID",
            "unknown-client",
        ),
        K::ImmatureSignature => (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the assertion is not valid yet",
            "lifetime",
        ),
        K::MissingRequiredClaim(_) => (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the assertion lacks a required claim",
            "malformed",
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the assertion's signature does not verify with the client's key",
            "signature",
        ),
    };
    Refusal(status, error, why.to_owned(), reason)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        let headers = response.headers_mut();
        headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("0"));
    }
    response
}

fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn random_token() -> String {
    let hex = super::secure_hex().unwrap_or_else(|| format!("{:032x}", fastrand::u128(..)));
    format!("mock-at-{hex}")
}

/// The missing permission, if `permissions` lack the one `endpoint` needs.
pub(crate) fn lacking(endpoint: &str, permissions: &[String]) -> Option<&'static str> {
    let needed = handlers::permission_of(endpoint)?;
    (!permissions.iter().any(|p| p == needed)).then_some(needed)
}
