//! Reading what came back: status codes and bodies sorted into success and
//! kinds of failure, and a row's final account written in words an admin can
//! act on. Bodies are read up to a cap, so a hostile or broken server cannot
//! make the tool hold gigabytes.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use super::{parse_retry_after, AttemptLog, RetryPolicy};
use crate::net::read_capped;
use crate::ops::{describe_success, HttpMethod, Operation};
use crate::outcome::{one_line, plural, Attempted, Outcome};
use crate::safety::HaltReason;
use crate::secret::Secret;

pub struct Success {
    pub(super) status: u16,
    pub(super) body: String,
}

#[derive(Debug)]
pub enum Failure {
    /// 429: the tenant is over quota.
    Throttled {
        retry_after: Option<Duration>,
        message: String,
    },
    /// 401 or 403: the token or the role is wrong.
    AuthRefused {
        status: u16,
        message: String,
        token: Secret,
    },
    /// Any other non-2xx answer.
    Status {
        status: u16,
        message: String,
    },
    Timeout,
    Connect(String),
    /// Failed before sending (for example no token could be made).
    Local(String),
    /// The run halted before this attempt went on the wire.
    Halted(HaltReason),
}

impl Failure {
    pub fn is_retryable(&self) -> bool {
        match self {
            Failure::Throttled { .. } | Failure::Timeout | Failure::Connect(_) => true,
            Failure::Status { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            Failure::AuthRefused { .. } | Failure::Local(_) | Failure::Halted(_) => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(super) fn status(&self) -> Option<u16> {
        match self {
            Failure::Throttled { .. } => Some(429),
            Failure::AuthRefused { status, .. } | Failure::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Sorts one HTTP exchange into success or a kind of failure.
pub async fn read(
    response: Result<reqwest::Response, reqwest::Error>,
    token: Secret,
    policy: &RetryPolicy,
) -> Result<Success, Failure> {
    let response = response.map_err(transport_failure)?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now(), policy.max_retry_after));
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| one_line(v, 120));
    let html = is_html(response.headers());
    let body = read_capped(response).await.map(|capped| capped.text);
    if (200..300).contains(&status) && html {
        // A proxy or sign-in page, not the tenant's API: nothing says the
        // change was made, so the row must not read `ok`.
        return Err(Failure::Status {
            status,
            message: NOT_THE_API.to_owned(),
        });
    }
    if (200..300).contains(&status) {
        // The tenant applied the change once it sent a 2xx status line; a
        // body cut off afterwards does not undo that.
        let body = body.unwrap_or_else(|e| format!("(body unreadable: {})", transport_text(e)));
        return Ok(Success { status, body });
    }
    let body = body.map_err(transport_failure)?;
    let message = match location {
        Some(to) if (300..400).contains(&status) => {
            format!("the tenant redirected to {to}; redirects are not followed, check --base-url")
        }
        _ => tenant_message(&body),
    };
    Err(match status {
        429 => Failure::Throttled {
            retry_after,
            message,
        },
        401 | 403 => Failure::AuthRefused {
            status,
            message,
            token,
        },
        _ => Failure::Status { status, message },
    })
}

const NOT_THE_API: &str =
    "the answer was an HTML page, not the tenant's API (a proxy or sign-in page?); \
the change may not have been made; check --base-url and any proxy in between";

/// Whether the answer says it is a web page. The tenant's API answers JSON
/// (sometimes malformed, so the body itself is not judged).
fn is_html(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("html"))
}

fn transport_failure(e: reqwest::Error) -> Failure {
    if e.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Connect(transport_text(e))
    }
}

/// A transport error in one line, with its cause chain but never the URL's
/// credentials (the tool puts none there) or any header.
fn transport_text(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    one_line(&text, 200)
}

/// The tenant's own words from an error body: its `message` field when the
/// body is JSON with one, else the start of the raw text.
fn tenant_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(|m| m.as_str())
        .unwrap_or(body);
    one_line(message.trim(), 200)
}

/// The row's final account after its last attempt.
/// With `oauth`, a 403 names the operation's permission, not a role.
pub fn conclude(
    op: &Operation,
    result: Result<Success, Failure>,
    log: &AttemptLog,
    oauth: bool,
) -> Attempted {
    let attempts = log.attempts.load(Ordering::Relaxed);
    match result {
        Ok(success) if op.lists.is_some() => listed(op, &success, attempts),
        Ok(success) => {
            let detail = describe_success(op, &success.body)
                .unwrap_or_else(|| format!("unparsed body: {}", one_line(&success.body, 120)));
            Attempted {
                outcome: Outcome::Ok,
                http_status: Some(success.status),
                attempts,
                message: String::new(),
                detail,
                auth_refused: false,
                unreachable: false,
                resolved: Vec::new(),
                verified: String::new(),
                listed: Vec::new(),
                undo: None,
            }
        }
        Err(failure) => {
            let permission = oauth.then_some(op.permission);
            let explain = |s| explained(op.explain(s), s, permission);
            conclude_failure(&explain, op.method, &failure, log)
        }
    }
}

/// A listing read's account: its items, or a failure when the answer
/// holds no list to read.
fn listed(op: &Operation, success: &Success, attempts: u32) -> Attempted {
    let Some(listing) = op.lists else {
        return Attempted::ended(Outcome::Ok, Some(success.status), attempts, String::new());
    };
    match listing.items(&success.body) {
        Some(items) => {
            let message = match items.is_empty() {
                true => listing.empty.to_owned(),
                false => String::new(),
            };
            let mut attempted =
                Attempted::ended(Outcome::Ok, Some(success.status), attempts, message);
            attempted.listed = items;
            attempted
        }
        None => Attempted::failed_here(
            Some(success.status),
            attempts,
            format!(
                "the tenant's answer has no {} list: {}",
                listing.member,
                one_line(&success.body, 120)
            ),
        ),
    }
}

/// The meaning of `status` for a call: its `documented` one, except a 403
/// to an OAuth client, which names the `permission` the call needs (the
/// catalog's text speaks of an administrator's role).
pub fn explained(
    documented: Option<&'static str>,
    status: u16,
    permission: Option<&str>,
) -> Option<Cow<'static, str>> {
    match (status, permission) {
        (403, Some(permission)) => Some(Cow::Owned(format!(
            "not authorised: the OAuth client's token lacks permission {permission}; grant it to the client (and keep it in --scope)"
        ))),
        _ => documented.map(Cow::Borrowed),
    }
}

/// A request's final account when it failed; `explain` gives the meaning
/// of a status code for the call that was made.
pub fn conclude_failure(
    explain: &dyn Fn(u16) -> Option<Cow<'static, str>>,
    method: HttpMethod,
    failure: &Failure,
    log: &AttemptLog,
) -> Attempted {
    let attempts = log.attempts.load(Ordering::Relaxed);
    if let Failure::Halted(reason) = failure {
        return halted(reason, log, attempts);
    }
    Attempted {
        outcome: Outcome::Failed,
        http_status: failure.status(),
        attempts,
        message: failure_message(explain, method, failure, log, attempts),
        detail: String::new(),
        auth_refused: matches!(failure, Failure::AuthRefused { .. }),
        unreachable: !log.reached_tenant.load(Ordering::Relaxed),
        resolved: Vec::new(),
        verified: String::new(),
        listed: Vec::new(),
        undo: None,
    }
}

/// A row the halt caught before its next attempt: not attempted when nothing
/// was sent, else failed with what its last attempt was told.
fn halted(reason: &HaltReason, log: &AttemptLog, attempts: u32) -> Attempted {
    let last_status = log.last_status.load(Ordering::Relaxed);
    let http_status = (last_status != 0).then_some(last_status);
    let (outcome, message) = if attempts == 0 {
        (Outcome::NotAttempted, reason.not_attempted_message())
    } else {
        let last = http_status.map_or("no answer".to_owned(), |s| format!("answered {s}"));
        let message = format!(
            "not retried after {} (the last {last}): {}",
            plural(attempts.into(), "attempt", "attempts"),
            reason.not_retried()
        );
        (Outcome::Failed, message)
    };
    Attempted::ended(outcome, http_status, attempts, message)
}

fn failure_message(
    explain: &dyn Fn(u16) -> Option<Cow<'static, str>>,
    method: HttpMethod,
    failure: &Failure,
    log: &AttemptLog,
    attempts: u32,
) -> String {
    let gave_up = if failure.is_retryable() {
        format!(
            "gave up after {}: ",
            plural(attempts.into(), "attempt", "attempts")
        )
    } else {
        String::new()
    };
    let what = match failure {
        Failure::Timeout => "no answer within the timeout".to_owned(),
        Failure::Connect(e) => format!("cannot reach the tenant: {e}"),
        Failure::Local(e) => e.clone(),
        Failure::Halted(reason) => reason.not_attempted_message(),
        Failure::Throttled { message, .. }
        | Failure::AuthRefused { message, .. }
        | Failure::Status { message, .. } => {
            let status = failure.status().unwrap_or_default();
            let meaning = explain(status).unwrap_or(Cow::Borrowed(match status {
                401 => "not authenticated: the token was refused",
                300..=399 => "redirect",
                400..=499 => "refused by the tenant",
                _ => "error at the tenant",
            }));
            let said = if message.is_empty() {
                String::new()
            } else {
                format!(" (tenant said: {message})")
            };
            format!("{status} {meaning}{said}")
        }
    };
    let probably_done = method == HttpMethod::Delete
        && failure.status() == Some(404)
        && log.timed_out.load(Ordering::Relaxed);
    let hint = if probably_done {
        "; an earlier attempt timed out, so it was probably deleted by that attempt"
    } else {
        ""
    };
    format!("{gave_up}{what}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{DS100_DELETE, SID_CLEAR_PIN};

    #[test]
    fn only_answers_that_say_html_count_as_web_pages() {
        use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            headers
        };
        assert!(is_html(&with("text/html; charset=utf-8")));
        assert!(is_html(&with("application/XHTML+xml")));
        assert!(!is_html(&with("application/json")));
        assert!(!is_html(&HeaderMap::new()));
    }

    #[test]
    fn tenant_message_prefers_the_json_message() {
        let body = r#"{"timestamp":"t","status":404,"error":"Not Found","message":"User not found","path":"/x"}"#;
        assert_eq!(tenant_message(body), "User not found");
        assert_eq!(tenant_message("<html>\n<b>oops</b>"), "<html> <b>oops</b>");
        assert_eq!(tenant_message(""), "");
    }

    #[test]
    fn which_failures_are_retried() {
        let status = |status| Failure::Status {
            status,
            message: String::new(),
        };
        for code in [500, 502, 503, 504] {
            assert!(status(code).is_retryable(), "{code}");
        }
        for code in [400, 404, 409, 501] {
            assert!(!status(code).is_retryable(), "{code}");
        }
        assert!(Failure::Timeout.is_retryable());
        assert!(!Failure::AuthRefused {
            status: 403,
            message: String::new(),
            token: Secret::new("t")
        }
        .is_retryable());
    }

    #[test]
    fn messages_explain_codes_from_the_catalog() {
        let log = AttemptLog::default();
        log.attempts.store(1, Ordering::Relaxed);
        let failure = Failure::Status {
            status: 409,
            message: "Token not assigned".into(),
        };
        let account = conclude(&SID_CLEAR_PIN, Err(failure), &log, false);
        assert_eq!(account.outcome, Outcome::Failed);
        assert_eq!(account.http_status, Some(409));
        assert_eq!(
            account.message,
            "409 the hardware token is not assigned to this user (tenant said: Token not assigned)"
        );
    }

    #[test]
    fn delete_404_after_a_timeout_says_it_was_probably_done() {
        let log = AttemptLog::default();
        log.timed_out.store(true, Ordering::Relaxed);
        let failure = Failure::Status {
            status: 404,
            message: String::new(),
        };
        let account = conclude(&DS100_DELETE, Err(failure), &log, false);
        assert!(
            account.message.contains("probably deleted by that attempt"),
            "{}",
            account.message
        );
    }
}
