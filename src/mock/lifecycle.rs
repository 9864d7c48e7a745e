//! The tenant's routes for an authenticator's and a user's life after an
//! incident or a departure: SID700 enable, disable and unassign, user
//! status and deletion, and the reads that show their state (the SID700
//! lookup and a user's authenticators). Like `handlers`, each route only
//! translates between HTTP and the tenant model.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::handlers::{
    admin_name, error_response, fields, read_object, refusal_response, string_field, BadRequest,
    FIELD_MAX, SID_SERIAL_MAX, TOKEN,
};
use super::state::SidToken;
use super::stats as names;
use super::{lock, AdminSubject, Shared};

pub(crate) const SID_ENABLE_ROUTE: &str =
    "/AdminInterface/restapi/v1/users/{user_id}/sidTokens/enable";
pub(crate) const SID_DISABLE_ROUTE: &str =
    "/AdminInterface/restapi/v1/users/{user_id}/sidTokens/disable";
pub(crate) const SID_UNASSIGN_ROUTE: &str =
    "/AdminInterface/restapi/v1/users/{user_id}/sidTokens/unassign";
pub(crate) const USER_STATUS_ROUTE: &str = "/AdminInterface/restapi/v1/users/{user_id}/userStatus";
pub(crate) const USER_ROUTE: &str = "/AdminInterface/restapi/v1/users/{user_id}";
pub(crate) const SID_LOOKUP_PATH: &str = "/AdminInterface/restapi/v1/sidTokens/lookup";
pub(crate) const DEVICES_ROUTE: &str = "/AdminInterface/restapi/v2/users/{user_id}/devices";

/// The user id from the path (already percent-decoded; opaque text here).
fn user_in_path(user: Result<Path<String>, PathRejection>) -> Result<String, BadRequest> {
    user.map(|Path(user)| user)
        .map_err(|e| BadRequest::new(format!("bad userId in path: {e}")))
}

/// A SID700 token as the enable and disable pages answer.
fn sid_status_answer(token: &SidToken, user: &str, by: &str) -> Response {
    Json(json!({
        "userId": user,
        "tokenSerialNumber": token.token_serial_number,
        "tokenStatus": token.token_status,
        "tokenStatusChangedBy": by,
    }))
    .into_response()
}

pub(crate) async fn sid_enable(
    State(shared): State<Arc<Shared>>,
    admin: Option<Extension<AdminSubject>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    sid_set_status(shared, admin, user, uri, headers, body, true).await
}

pub(crate) async fn sid_disable(
    State(shared): State<Arc<Shared>>,
    admin: Option<Extension<AdminSubject>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    sid_set_status(shared, admin, user, uri, headers, body, false).await
}

async fn sid_set_status(
    shared: Arc<Shared>,
    admin: Option<Extension<AdminSubject>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    enable: bool,
) -> Result<Response, Response> {
    let path = uri.path();
    let [token] = fields(&headers, body, [TOKEN], SID_SERIAL_MAX, path).await?;
    let user = user_in_path(user).map_err(|bad| bad.into_response(path))?;
    let name = if enable {
        names::SID_ENABLE
    } else {
        names::SID_DISABLE
    };
    let changed = shared.change(name, &token, |t| t.set_sid_status(&user, &token, enable));
    let changed = changed.map_err(|refusal| refusal_response(refusal, path))?;
    Ok(sid_status_answer(&changed, &user, &admin_name(admin)))
}

pub(crate) async fn sid_unassign(
    State(shared): State<Arc<Shared>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let [token] = fields(&headers, body, [TOKEN], SID_SERIAL_MAX, path).await?;
    let user = user_in_path(user).map_err(|bad| bad.into_response(path))?;
    let unassigned = shared.change(names::SID_UNASSIGN, &token, |t| {
        t.unassign_sid(&user, &token)
    });
    unassigned.map_err(|refusal| refusal_response(refusal, path))?;
    let answer = json!({ "tokenSerialNumber": token, "tokenState": "Unassigned" });
    Ok(Json(answer).into_response())
}

/// `{"userStatus": "Enabled"|"Disabled"}`, exactly one property, as the
/// tenant insists.
pub(crate) async fn user_status(
    State(shared): State<Arc<Shared>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let bad = |bad: BadRequest| bad.into_response(path);
    let object = read_object(&headers, body).await.map_err(bad)?;
    if object.len() != 1 {
        let message = "Wrong number of properties in the request body.";
        return Err(bad(BadRequest::new(message)));
    }
    let status = string_field(&object, "userStatus", FIELD_MAX).map_err(bad)?;
    let user = user_in_path(user).map_err(|bad| bad.into_response(path))?;
    let name = if status == "Disabled" {
        names::USER_DISABLE
    } else {
        names::USER_ENABLE
    };
    let changed = shared.change(name, &user, |t| t.set_user_status(&user, &status));
    let changed = changed.map_err(|refusal| refusal_response(refusal, path))?;
    // The page's own example lacks its closing brace; this tenant answers
    // valid JSON.
    let answer = json!({ "id": changed.id, "userStatus": changed.user_status });
    Ok(Json(answer).into_response())
}

/// Deletes a user now. The page documents no body for the answer.
pub(crate) async fn user_delete(
    State(shared): State<Arc<Shared>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Result<Response, Response> {
    let path = uri.path();
    let user = user_in_path(user).map_err(|bad| bad.into_response(path))?;
    let deleted = shared.change(names::USER_DELETE, &user, |t| t.delete_user(&user));
    deleted.map_err(|refusal| refusal_response(refusal, path))?;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn sid_lookup(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let [token] = fields(&headers, body, [TOKEN], SID_SERIAL_MAX, path).await?;
    shared.stats.lookup("sidToken");
    let found = lock(&shared.tenant).lookup_sid(&token);
    let Some(found) = found else {
        let message = format!("no SID700 token {token}");
        return Err(error_response(StatusCode::NOT_FOUND, message, path));
    };
    let mut answer = json!({
        "deviceType": "SID700",
        "tokenSerialNumber": found.token_serial_number,
        "tokenStatus": found.token_status,
    });
    if let Some(user) = found.user_id {
        answer["userId"] = Value::String(user);
    }
    if let Some(at) = found.assigned_at {
        answer["assignedAt"] = Value::String(at);
    }
    Ok(Json(answer).into_response())
}

/// `GET /v2/users/<id>/devices`: `{"userId", "devices": [...]}` (the shape
/// is this tenant's guess; see `state::devices`).
pub(crate) async fn user_devices(
    State(shared): State<Arc<Shared>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Result<Response, Response> {
    let path = uri.path();
    let user = user_in_path(user).map_err(|bad| bad.into_response(path))?;
    shared.stats.lookup("devices");
    let devices = lock(&shared.tenant).devices(&user);
    let devices = devices.map_err(|refusal| refusal_response(refusal, path))?;
    Ok(Json(json!({ "userId": user, "devices": devices })).into_response())
}
