//! Answers the vendor's pages never promise, for testing that the client
//! survives them (`--hostile MODE`): an HTML page with status 200, a body cut
//! short, a body announced as 2 GiB, a 429 whose `Retry-After` is negative,
//! enormous or garbage, and a redirect to another host.
//!
//! A hostile mode replaces the answer to every tenant request that passed
//! the gate. Modes that model a proxy or a broken front end (HTML, 429s,
//! redirects) never reach the handler, so the ledger shows nothing applied;
//! the truncated and huge bodies wrap the handler's real answer, so the
//! change is made and only its body goes wrong on the way back.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use hyper::body::{Bytes, Frame, SizeHint};

use super::handlers::{error_response, DRAIN_LIMIT};

/// What a hostile tenant does instead of answering properly.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostileMode {
    /// 200 with an HTML sign-in page instead of JSON; nothing is applied.
    #[value(name = "html-200")]
    Html200,
    /// The real answer (the change is made) with its body cut short of the
    /// announced Content-Length, then the connection closes.
    Truncated,
    /// The real answer (the change is made) announced as 2 GiB and followed
    /// by an endless stream of padding.
    HugeLength,
    /// 429 with `Retry-After: -5`.
    RetryAfterNegative,
    /// 429 with `Retry-After: 99999999` (more than three years).
    RetryAfterHuge,
    /// 429 with a `Retry-After` that is neither seconds nor a date.
    RetryAfterGarbage,
    /// 307 to `--redirect-to` plus the request's path.
    RedirectOffhost,
}

/// What a hostile authorization server does instead of answering properly
/// (`MockOptions::hostile_oauth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostileOAuth {
    /// Access tokens that live for ever: `"expires_in": 18446744073709551615`.
    ExpiresForever,
    /// A 200 token answer of 150 MiB.
    HugeTokenAnswer,
    /// A token endpoint that answers only after 30 s.
    SlowToken,
    /// A discovery document whose `issuer` is another issuer.
    IssuerMismatch,
    /// A discovery document whose `token_endpoint` is on another host.
    TokenEndpointOffhost,
    /// A discovery document of 150 MiB.
    HugeDiscovery,
}

/// How long `huge-token-answer` and `huge-discovery` go on.
const HUGE_OAUTH_ANSWER: u64 = 150 * 1024 * 1024;

/// A JSON answer padded with spaces to 150 MiB, produced lazily.
pub(crate) fn huge_json(json: &serde_json::Value) -> Response<Body> {
    let first = Bytes::from(json.to_string());
    let mut response = Response::new(Body::new(Endless::after(first, HUGE_OAUTH_ANSWER)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl HostileMode {
    /// Whether the mode answers without reaching the handler.
    pub(crate) fn replaces_handler(self) -> bool {
        !matches!(self, HostileMode::Truncated | HostileMode::HugeLength)
    }
}

/// The Content-Length announced by `huge-length`.
const HUGE_LENGTH: u64 = 2 * 1024 * 1024 * 1024;
const SIGN_IN_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\
<body><form method=\"post\"><input name=\"user\"><input type=\"password\" name=\"pass\"></form></body></html>\n";

/// The answer to a request the handler never sees.
pub(crate) async fn instead_of_handler(
    mode: HostileMode,
    redirect_to: &str,
    request: Request<Body>,
) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let _ = axum::body::to_bytes(request.into_body(), DRAIN_LIMIT).await;
    let retry_after = |value: &'static str| {
        let message = "too many requests: the tenant's quota is exhausted";
        let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, message, &path);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static(value));
        response
    };
    match mode {
        HostileMode::RetryAfterNegative => retry_after("-5"),
        HostileMode::RetryAfterHuge => retry_after("99999999"),
        HostileMode::RetryAfterGarbage => retry_after("soon, maybe"),
        HostileMode::RedirectOffhost => redirect(redirect_to, &path),
        // The damaging modes never come here (see `replaces_handler`).
        HostileMode::Html200 | HostileMode::Truncated | HostileMode::HugeLength => html_page(),
    }
}

/// The handler's real answer, damaged on the way back.
pub(crate) async fn damage(mode: HostileMode, response: Response<Body>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, DRAIN_LIMIT)
        .await
        .unwrap_or_default();
    let (announced, body) = match mode {
        HostileMode::HugeLength => (HUGE_LENGTH, Body::new(Endless::after(bytes, HUGE_LENGTH))),
        _ => {
            // Half the body (none of an empty one) where more was promised.
            let announced = bytes.len() as u64 + 100;
            (
                announced,
                Body::new(CutShort::new(bytes.slice(..bytes.len() / 2))),
            )
        }
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(announced));
    Response::from_parts(parts, body)
}

fn html_page() -> Response<Body> {
    let mut response = Response::new(Body::from(SIGN_IN_PAGE));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn redirect(to: &str, path: &str) -> Response<Body> {
    let location = format!("{}{path}", to.trim_end_matches('/'));
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A body that sends its bytes, pauses so hyper flushes them with the status
/// line, then ends short of its Content-Length. (Ending at once would make
/// hyper drop the whole answer unsent, which is a reset, not a truncation.)
struct CutShort {
    sent: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl CutShort {
    const PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

    fn new(sent: Bytes) -> Self {
        CutShort {
            sent: Some(sent),
            pause: Box::pin(tokio::time::sleep(Self::PAUSE)),
        }
    }
}

impl hyper::body::Body for CutShort {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(sent) = self.sent.take() {
            return Poll::Ready(Some(Ok(Frame::data(sent))));
        }
        self.pause.as_mut().poll(cx).map(|()| None)
    }
}

/// A body that starts with the real answer and pads it with spaces up to
/// `total` bytes, produced lazily so the mock never holds it.
struct Endless {
    first: Option<Bytes>,
    remaining: u64,
}

impl Endless {
    const CHUNK: usize = 64 * 1024;

    fn after(first: Bytes, total: u64) -> Self {
        Endless {
            remaining: total.saturating_sub(first.len() as u64),
            first: Some(first),
        }
    }
}

impl hyper::body::Body for Endless {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let len = self.remaining.min(Self::CHUNK as u64);
        self.remaining -= len;
        let padding = Bytes::from(vec![b' '; len as usize]);
        Poll::Ready(Some(Ok(Frame::data(padding))))
    }

    fn size_hint(&self) -> SizeHint {
        let first = self.first.as_ref().map_or(0, |b| b.len() as u64);
        SizeHint::with_exact(first + self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn truncated_answers_promise_more_than_they_send() {
        let real = Response::new(Body::from(r#"{"pinSet":false}"#));
        let damaged = damage(HostileMode::Truncated, real).await;
        let announced: u64 = damaged.headers()[header::CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let sent = axum::body::to_bytes(damaged.into_body(), DRAIN_LIMIT)
            .await
            .unwrap();
        assert!(announced > sent.len() as u64);
        assert_eq!(&sent[..], br#"{"pinSet"#);
    }

    #[test]
    fn endless_body_announces_its_full_size() {
        let body = Endless::after(Bytes::from_static(b"{}"), HUGE_LENGTH);
        assert_eq!(
            hyper::body::Body::size_hint(&body).exact(),
            Some(HUGE_LENGTH)
        );
    }

    #[tokio::test]
    async fn redirects_keep_the_path_on_the_other_host() {
        let request = Request::new(Body::empty());
        let mut request = request;
        *request.uri_mut() = "/AdminInterface/x".parse().unwrap();
        let response =
            instead_of_handler(HostileMode::RedirectOffhost, "http://elsewhere/", request).await;
        assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(
            response.headers()[header::LOCATION],
            "http://elsewhere/AdminInterface/x"
        );
    }
}
