//! The tenant's routes: each handler reads and checks the JSON body, asks the
//! tenant model ([`super::state::Tenant`]) to act, records applied mutations
//! in the ledger and answers in the seeds' shapes. Authentication, quota and
//! faults happen before a request gets here (see `gate.rs`).
//!
//! Bodies are read by hand rather than with axum's `Json` extractor so that
//! every malformed request (wrong content type, bad JSON, missing field,
//! oversized body) gets the tenant's JSON error body, not axum's plain text.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::lifecycle::{
    self, DEVICES_ROUTE, SID_DISABLE_ROUTE, SID_ENABLE_ROUTE, SID_LOOKUP_PATH, SID_UNASSIGN_ROUTE,
    USER_ROUTE, USER_STATUS_ROUTE,
};
use super::state::{Change, Ds100Credential, Refusal};
use super::stats as names;
use super::{clock, lock, AdminSubject, Shared};

pub(crate) const DS100_CLEAR_PIN_PATH: &str = "/AdminInterface/restapi/v1/ds100/clearPin/otp";
pub(crate) const SID_CLEAR_PIN_ROUTE: &str =
    "/AdminInterface/restapi/v2/users/{user_id}/sidTokens/clearPin";
pub(crate) const DS100_DELETE_PATH: &str = "/AdminInterface/restapi/v1/ds100/delete/otp";
pub(crate) const DS100_DISABLE_PATH: &str = "/AdminInterface/restapi/v1/ds100/disable/otp";
pub(crate) const DS100_ENABLE_PATH: &str = "/AdminInterface/restapi/v1/ds100/enable/otp";
pub(crate) const DS100_LOOKUP_PATH: &str = "/AdminInterface/restapi/v1/ds100/lookup";
pub(crate) const USERS_LOOKUP_PATH: &str = "/AdminInterface/restapi/v1/users/lookup";
pub(crate) const STATS_PATH: &str = "/__mock/stats";

/// Largest request body accepted.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;
/// Bodies up to this size are read to the end before a 400, so the client
/// gets the answer instead of a reset from unread bytes; beyond it the
/// connection is closed after the 400.
pub(crate) const DRAIN_LIMIT: usize = 4 * 1024 * 1024;
/// The SID700 page caps tokenSerialNumber at 36 characters.
pub(crate) const SID_SERIAL_MAX: usize = 36;
/// No documented cap for the other fields; refuse absurd ones as syntax.
pub(crate) const FIELD_MAX: usize = 256;

pub(crate) const TOKEN: &str = "tokenSerialNumber";
const DEVICE: &str = "deviceSerialNumber";
const USER: &str = "userId";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(DS100_CLEAR_PIN_PATH, patch(ds100_clear_pin))
        .route(SID_CLEAR_PIN_ROUTE, patch(sid_clear_pin))
        .route(DS100_DELETE_PATH, delete(ds100_delete))
        .route(DS100_DISABLE_PATH, patch(ds100_disable))
        .route(DS100_ENABLE_PATH, patch(ds100_enable))
        .route(SID_ENABLE_ROUTE, patch(lifecycle::sid_enable))
        .route(SID_DISABLE_ROUTE, patch(lifecycle::sid_disable))
        .route(SID_UNASSIGN_ROUTE, patch(lifecycle::sid_unassign))
        .route(USER_STATUS_ROUTE, put(lifecycle::user_status))
        .route(USER_ROUTE, delete(lifecycle::user_delete))
        .route(SID_LOOKUP_PATH, post(lifecycle::sid_lookup))
        .route(DEVICES_ROUTE, get(lifecycle::user_devices))
        .route(DS100_LOOKUP_PATH, post(ds100_lookup))
        .route(USERS_LOOKUP_PATH, post(users_lookup))
        .route(STATS_PATH, get(stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

/// One endpoint of the tenant: the name its requests are counted under,
/// how it is reached (a route pattern: `{...}` is any one non-empty
/// segment), and what a 200 changes.
pub(crate) struct Endpoint {
    pub name: &'static str,
    pub method: &'static str,
    pub route: &'static str,
    pub applies: Applies,
    /// The OAuth permission an access token needs to call it.
    pub permission: &'static str,
}

/// The ledger entries an endpoint's 200 writes.
pub(crate) enum Applies {
    /// Nothing: a read.
    Nothing,
    /// The change the endpoint is named after.
    Itself,
    /// One of these changes, as the body says.
    OneOf(&'static [&'static str]),
}

impl Endpoint {
    /// The ledger entries this endpoint may write.
    pub fn ledger_names(&self) -> &[&'static str] {
        match &self.applies {
            Applies::Nothing => &[],
            Applies::Itself => std::slice::from_ref(&self.name),
            Applies::OneOf(names) => names,
        }
    }
}

/// The tenant's endpoints, one row each. The ledger lists the changes they
/// apply, in this order.
pub(crate) const ENDPOINTS: &[Endpoint] = &[
    endpoint(
        names::DS100_CLEAR_PIN,
        "PATCH",
        DS100_CLEAR_PIN_PATH,
        Applies::Itself,
        DS100_MANAGE,
    ),
    endpoint(
        names::SID_CLEAR_PIN,
        "PATCH",
        SID_CLEAR_PIN_ROUTE,
        Applies::Itself,
        SID_MANAGE,
    ),
    endpoint(
        names::DS100_DISABLE,
        "PATCH",
        DS100_DISABLE_PATH,
        Applies::Itself,
        DS100_MANAGE,
    ),
    endpoint(
        names::DS100_DELETE,
        "DELETE",
        DS100_DELETE_PATH,
        Applies::Itself,
        DS100_DELETE,
    ),
    endpoint(
        names::DS100_ENABLE,
        "PATCH",
        DS100_ENABLE_PATH,
        Applies::Itself,
        DS100_MANAGE,
    ),
    endpoint(
        names::SID_ENABLE,
        "PATCH",
        SID_ENABLE_ROUTE,
        Applies::Itself,
        SID_MANAGE,
    ),
    endpoint(
        names::SID_DISABLE,
        "PATCH",
        SID_DISABLE_ROUTE,
        Applies::Itself,
        SID_MANAGE,
    ),
    endpoint(
        names::SID_UNASSIGN,
        "PATCH",
        SID_UNASSIGN_ROUTE,
        Applies::Itself,
        SID_MANAGE,
    ),
    endpoint(
        names::USER_STATUS,
        "PUT",
        USER_STATUS_ROUTE,
        Applies::OneOf(&[names::USER_DISABLE, names::USER_ENABLE]),
        USER_MANAGE,
    ),
    endpoint(
        names::USER_DELETE,
        "DELETE",
        USER_ROUTE,
        Applies::Itself,
        USER_DELETE,
    ),
    endpoint(
        names::DS100_LOOKUP,
        "POST",
        DS100_LOOKUP_PATH,
        Applies::Nothing,
        DS100_READ,
    ),
    endpoint(
        names::USERS_LOOKUP,
        "POST",
        USERS_LOOKUP_PATH,
        Applies::Nothing,
        USER_READ,
    ),
    endpoint(
        names::SID_LOOKUP,
        "POST",
        SID_LOOKUP_PATH,
        Applies::Nothing,
        SID_READ,
    ),
    endpoint(
        names::DEVICES,
        "GET",
        DEVICES_ROUTE,
        Applies::Nothing,
        DEVICES_READ,
    ),
];

// The permission names of the vendor's OAuth permissions page.
const DS100_MANAGE: &str = "rsa.authenticator.ds100.manage";
const DS100_DELETE: &str = "rsa.authenticator.ds100.delete";
const DS100_READ: &str = "rsa.authenticator.ds100.read";
const SID_MANAGE: &str = "rsa.authenticator.sidtoken.manage";
const SID_READ: &str = "rsa.authenticator.sidtoken.read";
const USER_READ: &str = "rsa.user.read";
const USER_MANAGE: &str = "rsa.user.manage";
const USER_DELETE: &str = "rsa.user.delete";
/// Unconfirmed: the vendor's permissions page lists this one for the
/// authenticator details v1 call only.
const DEVICES_READ: &str = "rsa.authenticator.mobile.read";

const fn endpoint(
    name: &'static str,
    method: &'static str,
    route: &'static str,
    applies: Applies,
    permission: &'static str,
) -> Endpoint {
    Endpoint {
        name,
        method,
        route,
        applies,
        permission,
    }
}

/// Every permission the tenant knows, once each.
pub(crate) fn permissions() -> impl Iterator<Item = &'static str> {
    ENDPOINTS
        .iter()
        .enumerate()
        .filter(|(i, e)| !ENDPOINTS[..*i].iter().any(|f| f.permission == e.permission))
        .map(|(_, e)| e.permission)
}

/// The permission the endpoint counted as `name` needs.
pub(crate) fn permission_of(name: &str) -> Option<&'static str> {
    ENDPOINTS
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.permission)
}

/// The operation name a request is counted under, from its method and path
/// alone (it is needed before routing, for requests refused by the gate).
pub(crate) fn classify(method: &Method, path: &str) -> &'static str {
    ENDPOINTS
        .iter()
        .find(|e| e.method == method.as_str() && route_matches(e.route, path))
        .map_or(names::OTHER, |e| e.name)
}

fn route_matches(route: &str, path: &str) -> bool {
    let (mut route, mut path) = (route.split('/'), path.split('/'));
    loop {
        match (route.next(), path.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) if want.starts_with('{') => {
                if got.is_empty() {
                    return false;
                }
            }
            (Some(want), Some(got)) if want == got => {}
            _ => return false,
        }
    }
}

/// The tenant's error body: `{"timestamp","status","error","message","path"}`.
pub(crate) fn error_response(
    status: StatusCode,
    message: impl Into<String>,
    path: &str,
) -> Response {
    let body = json!({
        "timestamp": clock::iso8601(SystemTime::now()),
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message.into(),
        "path": path,
    });
    (status, Json(body)).into_response()
}

pub(crate) fn refusal_response(refusal: Refusal, path: &str) -> Response {
    match refusal {
        Refusal::NotFound(message) => error_response(StatusCode::NOT_FOUND, message, path),
        Refusal::Conflict(message) => error_response(StatusCode::CONFLICT, message, path),
        Refusal::NotAllowed(message) => {
            error_response(StatusCode::METHOD_NOT_ALLOWED, message, path)
        }
        Refusal::BadRequest(message) => error_response(StatusCode::BAD_REQUEST, message, path),
    }
}

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

    pub(crate) fn into_response(self, path: &str) -> Response {
        let mut response = error_response(StatusCode::BAD_REQUEST, self.message, path);
        if self.close {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// Reads a JSON object body and returns the named fields, each a non-empty
/// string of at most `max` characters, in the order asked.
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

/// The body's fields `names`, or the 400 that answers the request.
pub(crate) async fn fields<const N: usize>(
    headers: &HeaderMap,
    body: Body,
    names: [&str; N],
    max: usize,
    path: &str,
) -> Result<[String; N], Response> {
    let fields = read_fields(headers, body, names, max).await;
    fields.map_err(|bad| bad.into_response(path))
}

async fn ds100_clear_pin(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let [token, user] = fields(&headers, body, [TOKEN, USER], FIELD_MAX, path).await?;
    let cleared = shared.change(names::DS100_CLEAR_PIN, &token, |t| {
        t.clear_ds100_pin(&user, &token)
    });
    cleared.map_err(|refusal| refusal_response(refusal, path))?;
    Ok(Json(json!({ "tokenSerialNumber": token, "pinSet": false })).into_response())
}

async fn sid_clear_pin(
    State(shared): State<Arc<Shared>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let [token] = fields(&headers, body, [TOKEN], SID_SERIAL_MAX, path).await?;
    // The router has already percent-decoded the id; it is opaque text here.
    let Path(user) =
        user.map_err(|e| BadRequest::new(format!("bad userId in path: {e}")).into_response(path))?;
    let cleared = shared.change(names::SID_CLEAR_PIN, &token, |t| {
        t.clear_sid_pin(&user, &token)
    });
    cleared.map_err(|refusal| refusal_response(refusal, path))?;
    // "false" as a string, exactly like the vendor's example.
    let answer = json!({ "userId": user, "tokenSerialNumber": token, "pinSet": "false" });
    Ok(Json(answer).into_response())
}

async fn ds100_delete(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let names_in_body = [TOKEN, DEVICE, USER];
    let [token, device, user] = fields(&headers, body, names_in_body, FIELD_MAX, path).await?;
    let deleted = shared.change(names::DS100_DELETE, &token, |t| {
        t.delete_ds100(&user, &token, &device)
    });
    deleted.map_err(|refusal| refusal_response(refusal, path))?;
    Ok(StatusCode::OK.into_response())
}

async fn ds100_disable(
    State(shared): State<Arc<Shared>>,
    admin: Option<Extension<AdminSubject>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    ds100_set_status(shared, admin, uri, headers, body, false).await
}

async fn ds100_enable(
    State(shared): State<Arc<Shared>>,
    admin: Option<Extension<AdminSubject>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    ds100_set_status(shared, admin, uri, headers, body, true).await
}

async fn ds100_set_status(
    shared: Arc<Shared>,
    admin: Option<Extension<AdminSubject>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    enable: bool,
) -> Result<Response, Response> {
    let path = uri.path();
    let [device, user] = fields(&headers, body, [DEVICE, USER], FIELD_MAX, path).await?;
    let at = clock::status_changed_at(SystemTime::now());
    let by = admin_name(admin);
    let change = Change { at: &at, by: &by };
    let changed = if enable {
        shared.change(names::DS100_ENABLE, &device, |t| {
            t.enable_ds100(&user, &device, &change)
        })
    } else {
        shared.change(names::DS100_DISABLE, &device, |t| {
            t.disable_ds100(&user, &device, &change)
        })
    };
    let changed = changed.map_err(|refusal| refusal_response(refusal, path))?;
    Ok(credentials_response(changed))
}

/// Who made a change, as the tenant reports it.
pub(crate) fn admin_name(admin: Option<Extension<AdminSubject>>) -> String {
    admin
        .map(|Extension(AdminSubject(s))| s)
        .unwrap_or_default()
}

/// DS100 credentials as the tenant lists them; a credential whose status
/// was changed also says when and by whom.
fn credentials_response(credentials: Vec<Ds100Credential>) -> Response {
    let items: Vec<Value> = credentials
        .into_iter()
        .map(|c| {
            let mut item = json!({
                "userId": c.user_id,
                "tokenSerialNumber": c.token_serial_number,
                "tokenStatus": c.token_status,
                "deviceSerialNumber": c.device_serial_number,
            });
            if let Some(at) = c.token_status_changed_at {
                item["tokenStatusChangedAt"] = at.into();
            }
            if let Some(by) = c.token_status_changed_by {
                item["tokenStatusChangedBy"] = by.into();
            }
            item
        })
        .collect();
    Json(Value::Array(items)).into_response()
}

async fn ds100_lookup(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let [device] = fields(&headers, body, [DEVICE], FIELD_MAX, path).await?;
    shared.stats.lookup("device");
    let found = lock(&shared.tenant).lookup_device(&device);
    if found.is_empty() {
        let message = format!("no DS100 credential on device {device}");
        return Err(error_response(StatusCode::NOT_FOUND, message, path));
    }
    Ok(credentials_response(found))
}

/// `{email}` or `{username}`: one of them is required.
async fn users_lookup(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let bad = |bad: BadRequest| bad.into_response(path);
    let object = read_object(&headers, body).await.map_err(bad)?;
    let kind = match (
        object.contains_key("email"),
        object.contains_key("username"),
    ) {
        (true, _) => "email",
        (false, true) => "username",
        (false, false) => return Err(bad(BadRequest::new("email or username is required"))),
    };
    let key = string_field(&object, kind, FIELD_MAX).map_err(bad)?;
    shared.stats.lookup(kind);
    let tenant = lock(&shared.tenant);
    let user = match kind {
        "email" => tenant.lookup_email(&key),
        _ => tenant.lookup_username(&key),
    };
    drop(tenant);
    match user {
        Some(user) => Ok(Json(user).into_response()),
        None => {
            let message = format!("no user with {kind} {key}");
            Err(error_response(StatusCode::NOT_FOUND, message, path))
        }
    }
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.stats.snapshot()).into_response()
}

async fn not_found(uri: Uri) -> Response {
    error_response(StatusCode::NOT_FOUND, "no such endpoint", uri.path())
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let message = format!("method {method} is not supported on this endpoint");
    error_response(StatusCode::METHOD_NOT_ALLOWED, message, uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_matches_the_routes() {
        let sid = "/AdminInterface/restapi/v2/users/87927fb7-e185/sidTokens/clearPin";
        assert_eq!(classify(&Method::PATCH, sid), names::SID_CLEAR_PIN);
        assert_eq!(
            classify(&Method::PATCH, DS100_CLEAR_PIN_PATH),
            names::DS100_CLEAR_PIN
        );
        assert_eq!(
            classify(&Method::DELETE, DS100_DELETE_PATH),
            names::DS100_DELETE
        );
        assert_eq!(classify(&Method::GET, DS100_DELETE_PATH), names::OTHER);
        let user = "/AdminInterface/restapi/v1/users/87927fb7-e185";
        assert_eq!(classify(&Method::DELETE, user), names::USER_DELETE);
        let status = format!("{user}/userStatus");
        assert_eq!(classify(&Method::PUT, &status), names::USER_STATUS);
        let unassign = format!("{user}/sidTokens/unassign");
        assert_eq!(classify(&Method::PATCH, &unassign), names::SID_UNASSIGN);
        assert_eq!(
            classify(&Method::POST, USERS_LOOKUP_PATH),
            names::USERS_LOOKUP
        );
        let devices = "/AdminInterface/restapi/v2/users/87927fb7-e185/devices";
        assert_eq!(classify(&Method::GET, devices), names::DEVICES);
        let empty_user = "/AdminInterface/restapi/v2/users//sidTokens/clearPin";
        assert_eq!(classify(&Method::PATCH, empty_user), names::OTHER);
    }

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
