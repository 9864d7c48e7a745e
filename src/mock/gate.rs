//! The per-request pipeline every tenant request passes before its handler,
//! as a hyper service wrapped around the axum router. The order is fixed and
//! deliberate:
//!
//! 1. connection-reset fault: the connection is dropped with no answer;
//! 2. authentication: missing or bad bearer token, 403; an expired OAuth
//!    access token, 401; an access token without the endpoint's
//!    permission, 403 naming it;
//! 3. quota: the tenant-wide quota (`quota`'s shapes), 429 (with
//!    `Retry-After`);
//! 4. failure fault: 500 "Unable to Enable/Disable a hardware token";
//! 5. latency, jitter or the slow fault's long delay;
//! 6. the handler (routing, body checks, state change), or `--hostile`'s
//!    answer instead of it or wrapped around it.
//!
//! So a refused request (403, 429, injected 500) never changes the tenant,
//! and a 429 costs the client nothing but time. `/__mock/*` requests skip all
//! of it and are not counted; `/oauth/*` requests (the authorization server)
//! skip it too and are counted apart.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use tower::ServiceExt;

use super::handlers::{self, error_response};
use super::hostile;
use super::keys::JwtVerifier;
use super::oauth::{self, Caller};
use super::{AdminSubject, Shared};
use crate::secret::Secret;

/// The subject reported as `tokenStatusChangedBy` for static-token callers.
const STATIC_TOKEN_SUBJECT: &str = "mock-static-token-admin";
/// The message the SID700 page gives for its 500.
const FAULT_MESSAGE: &str = "Unable to Enable/Disable a hardware token";

/// Why a connection ends without an answer. Returning it from the service
/// makes hyper close the connection without writing a response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Dropped {
    #[error("connection dropped by the reset fault")]
    Reset,
    #[error("connection dropped because the mock is shutting down")]
    ShuttingDown,
}

/// What a bearer token must be.
pub(crate) struct Auth {
    pub static_token: Secret,
    pub jwt: Option<JwtVerifier>,
}

/// The bearer token of a request, or why there is none.
fn bearer(headers: &HeaderMap) -> Result<&str, String> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or("missing Authorization header; send Authorization: Bearer <token>")?;
    let text = value
        .to_str()
        .map_err(|_| "Authorization header is not text")?;
    Ok(bearer_token(text).ok_or("Authorization must use the Bearer scheme")?)
}

impl Auth {
    /// Returns the subject of a static token or key-file JWT, or why it is
    /// refused (never quoting the token).
    fn check(&self, token: &str) -> Result<String, String> {
        if constant_time_eq(token.as_bytes(), self.static_token.expose().as_bytes()) {
            return Ok(STATIC_TOKEN_SUBJECT.to_string());
        }
        match &self.jwt {
            Some(verifier) => verifier.verify(token),
            None => Err("bearer token is not valid for this tenant".into()),
        }
    }
}

fn bearer_token(header_value: &str) -> Option<&str> {
    let (scheme, token) = header_value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compares without stopping at the first difference, so response timing
/// does not reveal how much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The hyper service: one clone per connection.
#[derive(Clone)]
pub(crate) struct Gate {
    shared: Arc<Shared>,
    router: Router,
}

impl Gate {
    pub fn new(shared: Arc<Shared>) -> Self {
        let router = handlers::router(shared.clone());
        Gate { shared, router }
    }

    async fn handle(self, mut request: Request<Body>) -> Result<Response<Body>, Dropped> {
        let path = request.uri().path().to_string();
        if path.starts_with("/__mock/") {
            return Ok(self.route(request).await);
        }
        if path.starts_with(oauth::ISSUER_PATH) {
            let answer = self.shared.oauth.answer(request, &self.shared.stats);
            return Ok(answer.await);
        }
        let stats = &self.shared.stats;
        let endpoint = handlers::classify(request.method(), &path);
        stats.request(endpoint);
        if self.shared.faults.should_reset() {
            stats.reset();
            return Err(Dropped::Reset);
        }
        let response = match self.admit(&mut request, endpoint) {
            Ok(()) => {
                self.wait().await?;
                self.answer(request).await
            }
            Err(refused) => {
                drain(request.into_body()).await;
                refused.into_response(&path)
            }
        };
        stats.response(response.status().as_u16());
        Ok(response)
    }

    /// Steps 2 to 4: authentication, quota, failure fault.
    fn admit(&self, request: &mut Request<Body>, endpoint: &str) -> Result<(), Refused> {
        let subject = self.authenticate(request.headers(), endpoint)?;
        request.extensions_mut().insert(AdminSubject(subject));
        if self.shared.faults.inside_retry_after() {
            self.shared.stats.inside_retry_after();
        }
        self.shared
            .faults
            .take_quota()
            .map_err(Refused::Throttled)?;
        if self.shared.faults.should_fail() {
            self.shared.stats.injected_failure();
            return Err(Refused::Failed);
        }
        Ok(())
    }

    /// Step 2: the caller's subject. An OAuth access token must be current
    /// and carry the endpoint's permission; a static token or a key-file
    /// JWT may call every endpoint.
    fn authenticate(&self, headers: &HeaderMap, endpoint: &str) -> Result<String, Refused> {
        let token = bearer(headers).map_err(Refused::Forbidden)?;
        let stats = &self.shared.stats;
        match self.shared.oauth.caller(token) {
            Caller::Client {
                client,
                permissions,
            } => match oauth::lacking(endpoint, &permissions) {
                None => Ok(client),
                Some(missing) => {
                    stats.oauth(|o| o.missing_permission += 1);
                    Err(Refused::Forbidden(format!(
                        "the access token lacks permission {missing}, which this endpoint needs"
                    )))
                }
            },
            Caller::Expired => {
                stats.oauth(|o| o.expired_tokens += 1);
                Err(Refused::Unauthorized(
                    "the access token has expired; get a new one".into(),
                ))
            }
            Caller::Unknown => self.shared.auth.check(token).map_err(Refused::Forbidden),
        }
    }

    /// Step 5. A shutdown cuts the wait short (and drops the connection), so
    /// stopping the mock never waits out a slow answer.
    async fn wait(&self) -> Result<(), Dropped> {
        let delay = self.shared.faults.delay();
        if delay.slow {
            self.shared.stats.slow();
        }
        if delay.duration.is_zero() {
            return Ok(());
        }
        let mut shutdown = self.shared.shutdown.clone();
        tokio::select! {
            () = self.shared.timer.sleep(delay.duration) => Ok(()),
            () = super::server::stopped(&mut shutdown) => Err(Dropped::ShuttingDown),
        }
    }

    /// Step 6: the handler, unless `--hostile` answers instead or damages
    /// what the handler said.
    async fn answer(&self, request: Request<Body>) -> Response<Body> {
        match &self.shared.hostile {
            None => self.route(request).await,
            Some((mode, to)) if mode.replaces_handler() => {
                hostile::instead_of_handler(*mode, to, request).await
            }
            Some((mode, _)) => hostile::damage(*mode, self.route(request).await).await,
        }
    }

    async fn route(&self, request: Request<Body>) -> Response<Body> {
        match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// Reads and discards a refused request's body, so hyper can keep the
/// connection alive: a body left unread makes it close the connection, and a
/// client that reuses it at once (after a 429, say) would see a transport
/// error the real tenant does not cause.
async fn drain(body: Body) {
    let _ = axum::body::to_bytes(body, handlers::DRAIN_LIMIT).await;
}

/// A request stopped by the gate before its handler.
enum Refused {
    /// 401, with the reason.
    Unauthorized(String),
    /// 403, with the reason.
    Forbidden(String),
    /// 429, with the `Retry-After` value if one is to be sent.
    Throttled(Option<String>),
    /// The injected 500.
    Failed,
}

impl Refused {
    fn into_response(self, path: &str) -> Response<Body> {
        match self {
            Refused::Unauthorized(why) => error_response(StatusCode::UNAUTHORIZED, why, path),
            Refused::Forbidden(why) => error_response(StatusCode::FORBIDDEN, why, path),
            Refused::Throttled(retry_after) => throttled(retry_after, path),
            Refused::Failed => {
                error_response(StatusCode::INTERNAL_SERVER_ERROR, FAULT_MESSAGE, path)
            }
        }
    }
}

fn throttled(retry_after: Option<String>, path: &str) -> Response<Body> {
    let message = "too many requests: the tenant's quota is exhausted";
    let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, message, path);
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

impl hyper::service::Service<Request<Incoming>> for Gate {
    type Response = Response<Body>;
    type Error = Dropped;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Dropped>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let gate = self.clone();
        Box::pin(gate.handle(request.map(Body::new)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
