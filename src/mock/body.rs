//! Reading what a request to the tenant carries: its JSON body and the
//! fields a handler needs, and the user id in its path. Each failure is a
//! [`BadRequest`], answered with the tenant's 400 (an [`ErrorAnswer`]).
//!
//! Bodies are read by hand rather than with axum's `Json` extractor so that
//! every malformed request (wrong content type, bad JSON, missing field,
//! oversized body) gets the tenant's JSON error body, not axum's plain text.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::Value;

use super::handlers::{ErrorAnswer, BODY_LIMIT, DRAIN_LIMIT};

pub(crate) const TOKEN: &str = "tokenSerialNumber";
pub(crate) const DEVICE: &str = "deviceSerialNumber";
pub(crate) const USER: &str = "userId";

/// The SID700 page caps tokenSerialNumber at 36 characters.
pub(crate) const SID_SERIAL_MAX: usize = 36;
/// No documented cap for the other fields; refuse absurd ones as syntax.
pub(crate) const FIELD_MAX: usize = 256;

/// A malformed request, with whether the connection must close because the
/// body was not read to its end.
pub(crate) struct BadRequest {
    message: String,
    close: bool,
}

impl BadRequest {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        BadRequest {
            message: message.into(),
            close: false,
        }
    }

    /// The 400 answering the request at `path`.
    pub(crate) fn at(self, path: &str) -> ErrorAnswer {
        ErrorAnswer::new(StatusCode::BAD_REQUEST, self.message, path).closing(self.close)
    }
}

/// The body's fields `names`, each a non-empty string of at most `max`
/// characters, in the order asked, or the 400 that answers the request.
pub(crate) async fn fields<const N: usize>(
    headers: &HeaderMap,
    body: Body,
    names: [&str; N],
    max: usize,
    path: &str,
) -> Result<[String; N], ErrorAnswer> {
    let fields = read_fields(headers, body, names, max).await;
    fields.map_err(|bad| bad.at(path))
}

async fn read_fields<const N: usize>(
    headers: &HeaderMap,
    body: Body,
    names: [&str; N],
    max: usize,
) -> Result<[String; N], BadRequest> {
    let object = read_object(headers, body).await?;
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = string_field(&object, name, max)?;
    }
    Ok(out)
}

/// Reads a JSON object body.
pub(crate) async fn read_object(
    headers: &HeaderMap,
    body: Body,
) -> Result<serde_json::Map<String, Value>, BadRequest> {
    // The body is read first, even when the content type already condemns
    // the request, so the connection stays usable (see `gate::drain`).
    let bytes = axum::body::to_bytes(body, DRAIN_LIMIT)
        .await
        .map_err(|_| BadRequest {
            message: format!("request body is larger than {BODY_LIMIT} bytes"),
            close: true,
        })?;
    require_json_content_type(headers)?;
    if bytes.len() > BODY_LIMIT {
        return Err(BadRequest::new(format!(
            "request body is larger than {BODY_LIMIT} bytes"
        )));
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| BadRequest::new(format!("request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(BadRequest::new("request body must be a JSON object")),
    }
}

pub(crate) fn string_field(
    object: &serde_json::Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<String, BadRequest> {
    let text = match object.get(name) {
        None | Some(Value::Null) => return Err(BadRequest::new(format!("{name} is required"))),
        Some(Value::String(text)) => text,
        Some(_) => return Err(BadRequest::new(format!("{name} must be a string"))),
    };
    if text.is_empty() {
        return Err(BadRequest::new(format!("{name} must not be empty")));
    }
    if text.chars().count() > max {
        return Err(BadRequest::new(format!(
            "{name} is longer than {max} characters"
        )));
    }
    Ok(text.clone())
}

fn require_json_content_type(headers: &HeaderMap) -> Result<(), BadRequest> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .ok_or_else(|| BadRequest::new("Content-Type application/json is required"))?;
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" {
        Ok(())
    } else {
        Err(BadRequest::new(format!(
            "Content-Type must be application/json, not {essence:?}"
        )))
    }
}

/// The user id from the path (the router has already percent-decoded it; it
/// is opaque text here), or the 400 that answers the request.
pub(crate) fn user_in_path(
    user: Result<Path<String>, PathRejection>,
    path: &str,
) -> Result<String, ErrorAnswer> {
    user.map(|Path(user)| user)
        .map_err(|e| BadRequest::new(format!("bad userId in path: {e}")).at(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn content_type_may_carry_parameters() {
        let mut headers = HeaderMap::new();
        assert!(require_json_content_type(&headers).is_err());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert!(require_json_content_type(&headers).is_ok());
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(require_json_content_type(&headers).is_err());
    }
}
