//! The tenant's routes: the endpoint table ([`ENDPOINTS`]), which the
//! router, the gate's counting and the permissions all read, and the
//! handlers. Each handler reads and checks the request (see `body`), asks
//! the tenant model ([`super::state::Tenant`]) to act, records applied
//! mutations in the ledger and answers in the seeds' shapes. Authentication,
//! quota and faults happen before a request gets here (see `gate.rs`).

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, on, MethodFilter, MethodRouter};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::body::{
    fields, read_object, string_field, user_in_path, BadRequest, DEVICE, FIELD_MAX, SID_SERIAL_MAX,
    TOKEN, USER,
};
use super::lifecycle::{
    self, DEVICES_ROUTE, SID_ASSIGN_ROUTE, SID_DISABLE_ROUTE, SID_ENABLE_ROUTE, SID_LOOKUP_PATH,
    SID_UNASSIGN_ROUTE, USER_MARK_DELETED_ROUTE, USER_ROUTE, USER_STATUS_ROUTE,
};
use super::state::{Change, Ds100Credential, Refusal, Tenant};
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

/// Every endpoint of [`ENDPOINTS`] on its route and method, the stats, and
/// the tenant's own 404 and 405.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    ENDPOINTS
        .iter()
        .fold(Router::new(), |router, e| {
            router.route(e.route, (e.serve)(e.method_filter()))
        })
        .route(STATS_PATH, get(stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

/// How an endpoint's handler is put on its route: handed the endpoint's
/// method, it answers with the handler behind it.
type Serve = fn(MethodFilter) -> MethodRouter<Arc<Shared>>;

/// One endpoint of the tenant: the name its requests are counted under,
/// how it is reached (a route pattern: `{...}` is any one non-empty
/// segment), what a 200 changes, and the handler that answers it.
pub(crate) struct Endpoint {
    pub name: &'static str,
    pub method: Method,
    pub route: &'static str,
    pub applies: Applies,
    /// The OAuth permission an access token needs to call it.
    pub permission: &'static str,
    serve: Serve,
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
    fn method_filter(&self) -> MethodFilter {
        // axum routes by every method the table uses (the test
        // `every_endpoint_has_a_method_filter` checks it).
        MethodFilter::try_from(self.method.clone()).expect("a standard method")
    }

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
        Method::PATCH,
        DS100_CLEAR_PIN_PATH,
        Applies::Itself,
        DS100_MANAGE,
        |method| on(method, ds100_clear_pin),
    ),
    endpoint(
        names::SID_CLEAR_PIN,
        Method::PATCH,
        SID_CLEAR_PIN_ROUTE,
        Applies::Itself,
        SID_MANAGE,
        |method| on(method, sid_clear_pin),
    ),
    endpoint(
        names::DS100_DISABLE,
        Method::PATCH,
        DS100_DISABLE_PATH,
        Applies::Itself,
        DS100_MANAGE,
        |method| on(method, ds100_set_status::<false>),
    ),
    endpoint(
        names::DS100_DELETE,
        Method::DELETE,
        DS100_DELETE_PATH,
        Applies::Itself,
        DS100_DELETE,
        |method| on(method, ds100_delete),
    ),
    endpoint(
        names::DS100_ENABLE,
        Method::PATCH,
        DS100_ENABLE_PATH,
        Applies::Itself,
        DS100_MANAGE,
        |method| on(method, ds100_set_status::<true>),
    ),
    endpoint(
        names::SID_ENABLE,
        Method::PATCH,
        SID_ENABLE_ROUTE,
        Applies::Itself,
        SID_MANAGE,
        |method| on(method, lifecycle::sid_set_status::<true>),
    ),
    endpoint(
        names::SID_DISABLE,
        Method::PATCH,
        SID_DISABLE_ROUTE,
        Applies::Itself,
        SID_MANAGE,
        |method| on(method, lifecycle::sid_set_status::<false>),
    ),
    endpoint(
        names::SID_UNASSIGN,
        Method::PATCH,
        SID_UNASSIGN_ROUTE,
        Applies::Itself,
        SID_MANAGE,
        |method| on(method, lifecycle::sid_unassign),
    ),
    endpoint(
        names::USER_STATUS,
        Method::PUT,
        USER_STATUS_ROUTE,
        Applies::OneOf(&[names::USER_DISABLE, names::USER_ENABLE]),
        USER_MANAGE,
        |method| on(method, lifecycle::user_status),
    ),
    endpoint(
        names::SID_ASSIGN,
        Method::PATCH,
        SID_ASSIGN_ROUTE,
        Applies::Itself,
        SID_MANAGE,
        |method| on(method, lifecycle::sid_assign),
    ),
    endpoint(
        names::USER_MARK_DELETED,
        Method::PUT,
        USER_MARK_DELETED_ROUTE,
        Applies::OneOf(&[names::USER_DELETE, names::USER_UNDELETE]),
        USER_DELETE_SOFT,
        |method| on(method, lifecycle::user_mark_deleted),
    ),
    endpoint(
        names::USER_DELETE_NOW,
        Method::DELETE,
        USER_ROUTE,
        Applies::Itself,
        USER_DELETE,
        |method| on(method, lifecycle::user_delete),
    ),
    endpoint(
        names::DS100_LOOKUP,
        Method::POST,
        DS100_LOOKUP_PATH,
        Applies::Nothing,
        DS100_READ,
        |method| on(method, ds100_lookup),
    ),
    endpoint(
        names::USERS_LOOKUP,
        Method::POST,
        USERS_LOOKUP_PATH,
        Applies::Nothing,
        USER_READ,
        |method| on(method, users_lookup),
    ),
    endpoint(
        names::SID_LOOKUP,
        Method::POST,
        SID_LOOKUP_PATH,
        Applies::Nothing,
        SID_READ,
        |method| on(method, lifecycle::sid_lookup),
    ),
    endpoint(
        names::DEVICES,
        Method::GET,
        DEVICES_ROUTE,
        Applies::Nothing,
        DEVICES_READ,
        |method| on(method, lifecycle::user_devices),
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
/// Unconfirmed: no vendor page names markDeleted's permission.
const USER_DELETE_SOFT: &str = "rsa.user.delete.soft";
/// Unconfirmed: the vendor's permissions page lists this one for the
/// authenticator details v1 call only.
const DEVICES_READ: &str = "rsa.authenticator.mobile.read";

const fn endpoint(
    name: &'static str,
    method: Method,
    route: &'static str,
    applies: Applies,
    permission: &'static str,
    serve: Serve,
) -> Endpoint {
    Endpoint {
        name,
        method,
        route,
        applies,
        permission,
        serve,
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
        .find(|e| e.method == method && route_matches(e.route, path))
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

/// The tenant's error answer to the request at `path`, made a [`Response`]
/// (through `From`) only when a handler returns it: a `Response` is too
/// large to hand around in a `Result`.
pub(crate) struct ErrorAnswer {
    status: StatusCode,
    message: String,
    path: String,
    close: bool,
}

impl ErrorAnswer {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>, path: &str) -> Self {
        ErrorAnswer {
            status,
            message: message.into(),
            path: path.to_owned(),
            close: false,
        }
    }

    /// The answer to a change or read the tenant model refuses.
    pub(crate) fn refusal(refusal: Refusal, path: &str) -> Self {
        let (status, message) = match refusal {
            Refusal::NotFound(message) => (StatusCode::NOT_FOUND, message),
            Refusal::Conflict(message) => (StatusCode::CONFLICT, message),
            Refusal::NotAllowed(message) => (StatusCode::METHOD_NOT_ALLOWED, message),
            Refusal::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
        };
        ErrorAnswer::new(status, message, path)
    }

    /// Closes the connection after the answer when `close` (a body left
    /// unread).
    pub(crate) fn closing(self, close: bool) -> Self {
        ErrorAnswer { close, ..self }
    }
}

impl From<ErrorAnswer> for Response {
    fn from(answer: ErrorAnswer) -> Response {
        let mut response = error_response(answer.status, answer.message, &answer.path);
        if answer.close {
            let close = HeaderValue::from_static("close");
            response.headers_mut().insert(header::CONNECTION, close);
        }
        response
    }
}

/// Applies one change through [`Shared::change`], under `operation` and
/// `key`; a refusal becomes the tenant's error answer.
pub(crate) fn change<T>(
    shared: &Shared,
    operation: &str,
    key: &str,
    path: &str,
    apply: impl FnOnce(&mut Tenant) -> Result<T, Refusal>,
) -> Result<T, ErrorAnswer> {
    let changed = shared.change(operation, key, apply);
    changed.map_err(|refusal| ErrorAnswer::refusal(refusal, path))
}

/// Counts one lookup of `kind` and reads the tenant for it.
pub(crate) fn look_up<T>(shared: &Shared, kind: &str, read: impl FnOnce(&Tenant) -> T) -> T {
    shared.stats.lookup(kind);
    let mut tenant = lock(&shared.tenant);
    tenant.purge_due(SystemTime::now());
    read(&tenant)
}

async fn ds100_clear_pin(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let [token, user] = fields(&headers, body, [TOKEN, USER], FIELD_MAX, path).await?;
    change(&shared, names::DS100_CLEAR_PIN, &token, path, |t| {
        t.clear_ds100_pin(&user, &token)
    })?;
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
    let (token, user) = sid_token_and_user(&headers, body, user, path).await?;
    change(&shared, names::SID_CLEAR_PIN, &token, path, |t| {
        t.clear_sid_pin(&user, &token)
    })?;
    // "false" as a string, exactly like the vendor's example.
    let answer = json!({ "userId": user, "tokenSerialNumber": token, "pinSet": "false" });
    Ok(Json(answer).into_response())
}

/// The token in the body and the user in the path of a SID700 call, the
/// body checked first.
pub(crate) async fn sid_token_and_user(
    headers: &HeaderMap,
    body: Body,
    user: Result<Path<String>, PathRejection>,
    path: &str,
) -> Result<(String, String), ErrorAnswer> {
    let [token] = fields(headers, body, [TOKEN], SID_SERIAL_MAX, path).await?;
    Ok((token, user_in_path(user, path)?))
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
    change(&shared, names::DS100_DELETE, &token, path, |t| {
        t.delete_ds100(&user, &token, &device)
    })?;
    Ok(StatusCode::OK.into_response())
}

/// DS100 enable (`ENABLE`) or disable: every credential of the user on the
/// device, stamped with when and by whom.
async fn ds100_set_status<const ENABLE: bool>(
    State(shared): State<Arc<Shared>>,
    admin: Option<Extension<AdminSubject>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let [device, user] = fields(&headers, body, [DEVICE, USER], FIELD_MAX, path).await?;
    let at = clock::status_changed_at(SystemTime::now());
    let by = admin_name(admin);
    let stamp = Change { at: &at, by: &by };
    let name = if ENABLE {
        names::DS100_ENABLE
    } else {
        names::DS100_DISABLE
    };
    let changed = change(&shared, name, &device, path, |t| {
        t.set_ds100_status(&user, &device, ENABLE, &stamp)
    })?;
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
    let found = look_up(&shared, "device", |t| t.lookup_device(&device));
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
    let bad = |bad: BadRequest| bad.at(path);
    let object = read_object(&headers, body).await.map_err(bad)?;
    let kind = match (
        object.contains_key("email"),
        object.contains_key("username"),
    ) {
        (true, _) => "email",
        (false, true) => "username",
        (false, false) => return Err(bad(BadRequest::new("email or username is required")).into()),
    };
    let key = string_field(&object, kind, FIELD_MAX).map_err(bad)?;
    let user = look_up(&shared, kind, |t| match kind {
        "email" => t.lookup_email(&key),
        _ => t.lookup_username(&key),
    });
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
mod tests;
