//! The tenant's routes for an authenticator's and a user's life after an
//! incident or a departure: SID700 enable, disable, unassign and assign,
//! user status, pending deletion (markDeleted) and deletion, and the reads
//! that show their state (the SID700 lookup and a user's authenticators). Like `handlers`, each route only
//! translates between HTTP and the tenant model.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::body::{
    fields, read_object, string_field, user_in_path, BadRequest, FIELD_MAX, SID_SERIAL_MAX, TOKEN,
};
use super::clock;
use super::handlers::{
    admin_name, change, error_response, look_up, sid_token_and_user, ErrorAnswer,
};
use super::state::SidToken;
use super::stats as names;
use super::{AdminSubject, Shared};

pub(crate) const SID_ENABLE_ROUTE: &str =
    "/AdminInterface/restapi/v1/users/{user_id}/sidTokens/enable";
pub(crate) const SID_DISABLE_ROUTE: &str =
    "/AdminInterface/restapi/v1/users/{user_id}/sidTokens/disable";
pub(crate) const SID_UNASSIGN_ROUTE: &str =
    "/AdminInterface/restapi/v1/users/{user_id}/sidTokens/unassign";
pub(crate) const USER_STATUS_ROUTE: &str = "/AdminInterface/restapi/v1/users/{user_id}/userStatus";
pub(crate) const SID_ASSIGN_ROUTE: &str =
    "/AdminInterface/restapi/v1/users/{user_id}/sidTokens/assign";
pub(crate) const USER_MARK_DELETED_ROUTE: &str =
    "/AdminInterface/restapi/v1/users/{user_id}/markDeleted";
pub(crate) const USER_ROUTE: &str = "/AdminInterface/restapi/v1/users/{user_id}";
pub(crate) const SID_LOOKUP_PATH: &str = "/AdminInterface/restapi/v1/sidTokens/lookup";
pub(crate) const DEVICES_ROUTE: &str = "/AdminInterface/restapi/v2/users/{user_id}/devices";

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

/// SID700 enable (`ENABLE`) or disable.
pub(crate) async fn sid_set_status<const ENABLE: bool>(
    State(shared): State<Arc<Shared>>,
    admin: Option<Extension<AdminSubject>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let (token, user) = sid_token_and_user(&headers, body, user, path).await?;
    let name = if ENABLE {
        names::SID_ENABLE
    } else {
        names::SID_DISABLE
    };
    let changed = change(&shared, name, &token, path, |t| {
        t.set_sid_status(&user, &token, ENABLE)
    })?;
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
    let (token, user) = sid_token_and_user(&headers, body, user, path).await?;
    change(&shared, names::SID_UNASSIGN, &token, path, |t| {
        t.unassign_sid(&user, &token)
    })?;
    let answer = json!({ "tokenSerialNumber": token, "tokenState": "Unassigned" });
    Ok(Json(answer).into_response())
}

/// `{tokenSerialNumber, tokenName?}`: the name is optional (it defaults
/// to the serial) and not kept.
pub(crate) async fn sid_assign(
    State(shared): State<Arc<Shared>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let (token, user) = sid_token_and_user(&headers, body, user, path).await?;
    let at = clock::iso8601(SystemTime::now());
    let assigned = change(&shared, names::SID_ASSIGN, &token, path, |t| {
        t.assign_sid(&user, &token, &at)
    })?;
    let answer = json!({
        "userId": user,
        "tokenSerialNumber": assigned.token_serial_number,
        "tokenState": "Assigned",
    });
    Ok(Json(answer).into_response())
}

/// `{"markDeleted": true|false}`: a Boolean in the page's table, the
/// string `"true"` in its example; both are taken.
pub(crate) async fn user_mark_deleted(
    State(shared): State<Arc<Shared>>,
    user: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    let path = uri.path();
    let bad = |bad: BadRequest| bad.at(path);
    let object = read_object(&headers, body).await.map_err(bad)?;
    let mark = match object.get("markDeleted") {
        Some(Value::Bool(mark)) => *mark,
        Some(Value::String(text)) if text == "true" || text == "false" => text == "true",
        Some(_) => return Err(bad(BadRequest::new("markDeleted must be true or false")).into()),
        None => return Err(bad(BadRequest::new("markDeleted is required")).into()),
    };
    let user = user_in_path(user, path)?;
    let name = if mark {
        names::USER_DELETE
    } else {
        names::USER_UNDELETE
    };
    let now = SystemTime::now();
    let marked = change(&shared, name, &user, path, |t| {
        t.mark_deleted(&user, mark, now)
    })?;
    let answer = json!({ "id": marked.id, "markDeleted": marked.mark_deleted });
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
    let bad = |bad: BadRequest| bad.at(path);
    let object = read_object(&headers, body).await.map_err(bad)?;
    if object.len() != 1 {
        let message = "Wrong number of properties in the request body.";
        return Err(bad(BadRequest::new(message)).into());
    }
    let status = string_field(&object, "userStatus", FIELD_MAX).map_err(bad)?;
    let user = user_in_path(user, path)?;
    let name = if status == "Disabled" {
        names::USER_DISABLE
    } else {
        names::USER_ENABLE
    };
    let changed = change(&shared, name, &user, path, |t| {
        t.set_user_status(&user, &status)
    })?;
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
    let user = user_in_path(user, path)?;
    change(&shared, names::USER_DELETE_NOW, &user, path, |t| {
        t.delete_user(&user)
    })?;
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
    let found = look_up(&shared, "sidToken", |t| t.lookup_sid(&token));
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
    let user = user_in_path(user, path)?;
    let devices = look_up(&shared, "devices", |t| t.devices(&user));
    let devices = devices.map_err(|refusal| ErrorAnswer::refusal(refusal, path))?;
    Ok(Json(json!({ "userId": user, "devices": devices })).into_response())
}
