//! Finding an OAuth client's token endpoint from its issuer's discovery
//! document, and deciding whether the document can be trusted: its
//! `issuer` must be the configured one (RFC 8414 §3.3) and its token
//! endpoint https on the issuer's host; it is read to at most 64 KiB.

use reqwest::Url;
use serde_json::Value;

use super::{OAuthError, Transport, DESCRIPTION_MAX};
use crate::net::{
    checked_url, http_client, is_loopback_host, read_capped, redact_url, Capped, UrlSource,
};
use crate::outcome::one_line;

/// The token endpoint the issuer's discovery document names, or
/// `<issuer>/token` when there is no usable document. A document that names
/// another issuer or sends the token elsewhere is refused (RFC 8414 §3.3):
/// the signed assertion would go where the issuer never sent it.
pub(super) async fn discover(issuer: &Url, transport: &Transport) -> Result<Url, OAuthError> {
    let base = issuer.as_str().trim_end_matches('/');
    let fallback = checked_url(&format!("{base}/token"), UrlSource::Discovery)?;
    let Ok(document) = checked_url(
        &format!("{base}/.well-known/openid-configuration"),
        UrlSource::Discovery,
    ) else {
        return Ok(fallback);
    };
    let route = transport
        .proxy
        .route(&document)
        .map_err(OAuthError::Proxy)?;
    let http =
        http_client(&document, transport.timeout, route.as_ref(), 1).map_err(OAuthError::Http)?;
    let answer = http
        .get(document.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await;
    let Ok(response) = answer else {
        return Ok(fallback);
    };
    if !response.status().is_success() {
        return Ok(fallback);
    }
    let refused = |field: &'static str, problem: String| OAuthError::Discovery {
        url: redact_url(document.as_str()),
        field,
        problem,
    };
    let text = match read_capped(response).await {
        Ok(Capped { cut: true, .. }) => {
            return Err(refused("size", "is more than 64 KiB".to_owned()));
        }
        Ok(Capped { text, .. }) => text,
        Err(_) => return Ok(fallback),
    };
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !json.is_object() {
        return Ok(fallback);
    }
    match trusted_endpoint(&json, issuer) {
        Ok(Some(endpoint)) => Ok(endpoint),
        Ok(None) => Ok(fallback),
        Err((field, problem)) => Err(refused(field, problem)),
    }
}

/// The token endpoint a discovery document names, once it is known to be
/// the configured issuer's own: `issuer` identical, the endpoint on the
/// issuer's host and port, and https unless both are loopback. `None` when
/// it names none; otherwise the field at fault and what is wrong with it.
fn trusted_endpoint(document: &Value, issuer: &Url) -> Result<Option<Url>, (&'static str, String)> {
    let configured = issuer.as_str().trim_end_matches('/');
    let named = document.get("issuer").and_then(Value::as_str);
    match named {
        Some(named) if named.trim_end_matches('/') == configured => {}
        Some(named) => {
            let named = redact_url(&one_line(named, DESCRIPTION_MAX));
            return Err((
                "issuer",
                format!("is {named:?}, not the configured issuer {configured}"),
            ));
        }
        None => return Err(("issuer", "is missing".to_owned())),
    }
    let Some(endpoint) = document.get("token_endpoint").and_then(Value::as_str) else {
        return Ok(None);
    };
    let shown = redact_url(&one_line(endpoint, DESCRIPTION_MAX));
    let bad = |problem: &str| Err(("token_endpoint", format!("{shown} {problem}")));
    let Ok(url) = checked_url(endpoint, UrlSource::Discovery) else {
        return bad("is not an https URL (plain http goes only to this machine)");
    };
    let place = |u: &Url| {
        (
            u.host_str().map(str::to_ascii_lowercase),
            u.port_or_known_default(),
        )
    };
    if place(&url) != place(issuer) {
        return bad("is not on the issuer's host");
    }
    let loopback = url.host_str().is_some_and(is_loopback_host);
    if url.scheme() != "https" && (issuer.scheme() == "https" || !loopback) {
        return bad("is plain http behind an https issuer");
    }
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(issuer: &str, endpoint: &str) -> Value {
        serde_json::json!({"issuer": issuer, "token_endpoint": endpoint})
    }

    #[test]
    fn discovery_is_trusted_only_for_the_issuers_own_endpoint() {
        let issuer = Url::parse("https://t.auth.securid.com/oauth").unwrap();
        let own = document(
            "https://t.auth.securid.com/oauth",
            "https://t.auth.securid.com/oauth/token",
        );
        assert!(trusted_endpoint(&own, &issuer).unwrap().is_some());
        let cases = [
            (
                document(
                    "https://other.auth.securid.com/oauth",
                    "https://t.auth.securid.com/oauth/token",
                ),
                "issuer",
            ),
            (
                serde_json::json!({"token_endpoint": "https://t.auth.securid.com/oauth/token"}),
                "issuer",
            ),
            (
                document(
                    "https://t.auth.securid.com/oauth",
                    "https://evil.example/token",
                ),
                "token_endpoint",
            ),
            (
                document(
                    "https://t.auth.securid.com/oauth",
                    "https://t.auth.securid.com:8443/token",
                ),
                "token_endpoint",
            ),
            (
                document(
                    "https://t.auth.securid.com/oauth",
                    "http://t.auth.securid.com/oauth/token",
                ),
                "token_endpoint",
            ),
        ];
        for (doc, field) in cases {
            assert_eq!(
                trusted_endpoint(&doc, &issuer).unwrap_err().0,
                field,
                "{doc}"
            );
        }
    }

    #[test]
    fn plain_http_endpoint_is_refused_behind_an_https_loopback_issuer() {
        let issuer = Url::parse("https://127.0.0.1:8443/oauth").unwrap();
        let doc = document(
            "https://127.0.0.1:8443/oauth",
            "http://127.0.0.1:8443/oauth/token",
        );
        assert_eq!(
            trusted_endpoint(&doc, &issuer).unwrap_err().0,
            "token_endpoint"
        );
        let issuer = Url::parse("http://127.0.0.1:8080/oauth").unwrap();
        let doc = document(
            "http://127.0.0.1:8080/oauth",
            "http://127.0.0.1:8080/oauth/token",
        );
        assert!(trusted_endpoint(&doc, &issuer).unwrap().is_some());
    }
}
