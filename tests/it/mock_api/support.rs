//! Helpers for the mock tenant tests: start a mock, send authenticated JSON
//! requests over real loopback HTTP, read the stats endpoint, read CSV rows.

use std::path::Path;
use std::time::Duration;

use reqwest::{Client, Method, Response};
use securid_bulk::mock::{MockOptions, MockServer, Stats};
use serde_json::{json, Value};

pub use crate::fixture::temp_dir;

pub const ALICE: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";
pub const BOB: &str = "ece30fe9-414c-7536-5403-0656220b3046";
pub const CAROL: &str = "eb2e12ae-1112-451b-98e1-dfe4e6afd60d";
pub const DAN: &str = "3f1c9a52-7d4e-4b8a-9c21-5e6f7a8b9c0d";
pub const LAURA: &str = "c2b3c4d5-6e7f-4b8c-9d9e-0f1a2b3c4d5e";
pub const MALLORY: &str = "d3c4d5e6-7f8a-4c9d-8e0f-1a2b3c4d5e6f";
pub const UNKNOWN_USER: &str = "00000000-0000-4000-8000-000000000000";

pub const DS100_CLEAR_PIN: &str = "/AdminInterface/restapi/v1/ds100/clearPin/otp";
pub const DS100_DELETE: &str = "/AdminInterface/restapi/v1/ds100/delete/otp";
pub const DS100_DISABLE: &str = "/AdminInterface/restapi/v1/ds100/disable/otp";
pub const DS100_LOOKUP: &str = "/AdminInterface/restapi/v1/ds100/lookup";
pub const USERS_LOOKUP: &str = "/AdminInterface/restapi/v1/users/lookup";
pub const SID_LOOKUP: &str = "/AdminInterface/restapi/v1/sidTokens/lookup";
pub const DS100_ENABLE: &str = "/AdminInterface/restapi/v1/ds100/enable/otp";

/// `/v1/users/<user>/<rest>`.
pub fn user_path(user: &str, rest: &str) -> String {
    format!("/AdminInterface/restapi/v1/users/{user}{rest}")
}

pub fn sid_clear_pin(user: &str) -> String {
    format!("/AdminInterface/restapi/v2/users/{user}/sidTokens/clearPin")
}

/// The sample tenant with a fixed fault seed.
pub fn sample() -> MockOptions {
    MockOptions {
        fault_seed: Some(1),
        ..MockOptions::sample()
    }
}

/// A running mock plus a client holding its static token.
pub struct Api {
    pub server: MockServer,
    pub client: Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn start(opts: MockOptions) -> Api {
        Api::with_client(opts, Client::new()).await
    }

    pub async fn with_client(opts: MockOptions, client: Client) -> Api {
        let server = MockServer::start(opts).await.expect("mock starts");
        let base = server.base_url();
        let token = server.static_token().expose().to_string();
        Api {
            server,
            client,
            base,
            token,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the static token and, when given, a JSON body.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::RequestBuilder {
        let builder = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .header("Accept", "application/json");
        match body {
            Some(body) => builder.json(body),
            None => builder,
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Value) -> Response {
        self.request(method, path, Some(&body))
            .send()
            .await
            .expect("the mock answers")
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.send(Method::PATCH, path, body).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.send(Method::POST, path, body).await
    }

    pub async fn delete(&self, path: &str, body: Value) -> Response {
        self.send(Method::DELETE, path, body).await
    }

    /// The stats over HTTP, deserialised with the library's own type.
    pub async fn stats(&self) -> Stats {
        let response = self
            .client
            .get(self.url("/__mock/stats"))
            .send()
            .await
            .expect("stats answer");
        assert_eq!(response.status(), 200);
        response.json().await.expect("stats JSON")
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Status and parsed JSON body (Null when empty or not JSON).
pub async fn status_and_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts the tenant's error body shape and returns its message.
pub fn assert_error_body(body: &Value, status: u16, path: &str) -> String {
    assert_eq!(body["status"], json!(status), "{body}");
    assert!(body["timestamp"].is_string(), "{body}");
    assert!(body["error"].is_string(), "{body}");
    assert_eq!(body["path"], json!(path), "{body}");
    let message = body["message"].as_str().unwrap_or_default().to_string();
    assert!(!message.is_empty(), "{body}");
    message
}

/// The rows of a CSV file as header-name → value maps.
pub fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("csv opens");
    let headers = reader.headers().expect("headers").clone();
    reader
        .records()
        .map(|record| {
            let record = record.expect("record");
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Sends one CSV row as the named operation, the way the vendor documents it.
pub async fn send_row(
    api: &Api,
    op: &str,
    row: &std::collections::HashMap<String, String>,
) -> Response {
    let field = |name: &str| row.get(name).cloned().unwrap_or_default();
    match op {
        "ds100-clear-pin" => {
            let body =
                json!({"tokenSerialNumber": field("tokenSerialNumber"), "userId": field("userId")});
            api.patch(DS100_CLEAR_PIN, body).await
        }
        "sid-clear-pin" => {
            let body = json!({"tokenSerialNumber": field("tokenSerialNumber")});
            api.patch(&sid_clear_pin(&field("userId")), body).await
        }
        "ds100-disable" => {
            let body = json!({"deviceSerialNumber": field("deviceSerialNumber"), "userId": field("userId")});
            api.patch(DS100_DISABLE, body).await
        }
        "ds100-delete" => {
            let body = json!({
                "tokenSerialNumber": field("tokenSerialNumber"),
                "deviceSerialNumber": field("deviceSerialNumber"),
                "userId": field("userId"),
            });
            api.delete(DS100_DELETE, body).await
        }
        "ds100-enable" => {
            let user = user_of(api, row).await;
            let body = json!({"deviceSerialNumber": field("deviceSerialNumber"), "userId": user});
            api.patch(DS100_ENABLE, body).await
        }
        "sid-enable" | "sid-disable" | "sid-unassign" | "sid-assign" => {
            let user = user_of(api, row).await;
            let action = op.trim_start_matches("sid-");
            let body = json!({"tokenSerialNumber": field("tokenSerialNumber")});
            let path = user_path(&user, &format!("/sidTokens/{action}"));
            api.patch(&path, body).await
        }
        "user-enable" | "user-disable" => {
            let user = user_of(api, row).await;
            let status = if op == "user-enable" {
                "Enabled"
            } else {
                "Disabled"
            };
            let path = user_path(&user, "/userStatus");
            api.send(Method::PUT, &path, json!({ "userStatus": status }))
                .await
        }
        "user-delete" | "user-undelete" => {
            let user = user_of(api, row).await;
            let mark = op == "user-delete";
            let path = user_path(&user, "/markDeleted");
            api.send(Method::PUT, &path, json!({ "markDeleted": mark }))
                .await
        }
        "user-delete-now" => {
            let user = user_of(api, row).await;
            let request = api.request(Method::DELETE, &user_path(&user, ""), None);
            request.send().await.expect("request")
        }
        other => panic!("unknown operation {other}"),
    }
}

/// The row's user: its `userId`, or the user its `email`, `username` or
/// SID700 `tokenSerialNumber` leads to (empty when none does).
pub async fn user_of(api: &Api, row: &std::collections::HashMap<String, String>) -> String {
    let given = |name: &str| row.get(name).filter(|v| !v.is_empty()).cloned();
    if let Some(user) = given("userId") {
        return user;
    }
    let (path, body, member) = if let Some(email) = given("email") {
        (USERS_LOOKUP, json!({ "email": email }), "id")
    } else if let Some(name) = given("username") {
        (USERS_LOOKUP, json!({ "username": name }), "id")
    } else if let Some(token) = given("tokenSerialNumber") {
        (SID_LOOKUP, json!({ "tokenSerialNumber": token }), "userId")
    } else {
        return String::new();
    };
    let (_, answer) = status_and_json(api.post(path, body).await).await;
    answer[member].as_str().unwrap_or_default().to_owned()
}

/// A client whose requests give up after `timeout`.
pub fn client_with_timeout(timeout: Duration) -> Client {
    Client::builder().timeout(timeout).build().expect("client")
}
