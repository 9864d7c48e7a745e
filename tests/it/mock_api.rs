//! The simulated tenant over real loopback HTTP: each endpoint's success
//! shape and documented error codes, mutation semantics, malformed requests
//! and the stats ledger. Authentication, faults and files live in the
//! submodules under `tests/it/mock_api/`.

mod auth;
mod faults;
mod files;
mod oauth;
mod support;

use reqwest::Method;
use serde_json::json;
use support::*;

#[tokio::test]
async fn ds100_clear_pin_answers_a_json_boolean() {
    let api = Api::start(sample()).await;
    let response = api
        .patch(
            DS100_CLEAR_PIN,
            json!({"tokenSerialNumber": "014010008038", "userId": ALICE}),
        )
        .await;
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"tokenSerialNumber": "014010008038", "pinSet": false})
    );
    assert_eq!(
        api.stats()
            .await
            .applied_count("ds100-clear-pin", "014010008038"),
        1
    );
    api.shutdown().await;
}

#[tokio::test]
async fn ds100_clear_pin_refuses_unknown_or_foreign_credentials() {
    let api = Api::start(sample()).await;
    let cases = [
        (
            json!({"tokenSerialNumber": "014010008038", "userId": UNKNOWN_USER}),
            404,
        ),
        (
            json!({"tokenSerialNumber": "014010008099", "userId": ALICE}),
            404,
        ),
        // Bob's credential, asked for as Alice's.
        (
            json!({"tokenSerialNumber": "014010008031", "userId": ALICE}),
            404,
        ),
        // The leading zero matters: this is not 014010008038.
        (
            json!({"tokenSerialNumber": "14010008038", "userId": ALICE}),
            404,
        ),
        (json!({"tokenSerialNumber": "014010008038"}), 400),
        (
            json!({"toeknSerialNumber": "014010008038", "userId": ALICE}),
            400,
        ),
        (
            json!({"tokenSerialNumber": 14010008038u64, "userId": ALICE}),
            400,
        ),
        (json!({"tokenSerialNumber": "", "userId": ALICE}), 400),
    ];
    for (body, expected) in cases {
        let (status, answer) =
            status_and_json(api.patch(DS100_CLEAR_PIN, body.clone()).await).await;
        assert_eq!(status, expected, "{body}");
        assert_error_body(&answer, expected, DS100_CLEAR_PIN);
    }
    let stats = api.stats().await;
    assert_eq!(stats.applied_total("ds100-clear-pin"), 0);
    assert_eq!(stats.bad_requests, 4);
    api.shutdown().await;
}

#[tokio::test]
async fn sid_clear_pin_answers_the_string_false() {
    let api = Api::start(sample()).await;
    let response = api
        .patch(
            &sid_clear_pin(CAROL),
            json!({"tokenSerialNumber": "1231314525"}),
        )
        .await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"userId": CAROL, "tokenSerialNumber": "1231314525", "pinSet": "false"})
    );
    // A percent-encoded id reaches the tenant decoded ('e' is %65).
    let encoded = CAROL.replacen('e', "%65", 1);
    let response = api
        .patch(
            &sid_clear_pin(&encoded),
            json!({"tokenSerialNumber": "1231314525"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        api.stats()
            .await
            .applied_count("sid-clear-pin", "1231314525"),
        2
    );
    api.shutdown().await;
}

#[tokio::test]
async fn sid_clear_pin_error_codes() {
    let api = Api::start(sample()).await;
    let cases = [
        (
            UNKNOWN_USER,
            json!({"tokenSerialNumber": "1231314525"}),
            404,
        ),
        (CAROL, json!({"tokenSerialNumber": "9999999999"}), 404),
        // Dan's token asked for as Carol's, then an unassigned one.
        (CAROL, json!({"tokenSerialNumber": "1231314526"}), 409),
        (CAROL, json!({"tokenSerialNumber": "1231314531"}), 409),
        (CAROL, json!({"tokenSerialNumber": "1".repeat(37)}), 400),
        (CAROL, json!({}), 400),
        (CAROL, json!(["1231314525"]), 400),
    ];
    for (user, body, expected) in cases {
        let path = sid_clear_pin(user);
        let (status, answer) = status_and_json(api.patch(&path, body.clone()).await).await;
        assert_eq!(status, expected, "{user} {body}");
        assert_error_body(&answer, expected, &path);
    }
    // 36 characters is the documented maximum: well-formed, merely unknown.
    let response = api
        .patch(
            &sid_clear_pin(CAROL),
            json!({"tokenSerialNumber": "1".repeat(36)}),
        )
        .await;
    assert_eq!(response.status(), 404);
    // A space in the id arrives as %20 and is just an unknown user.
    let response = api
        .patch(
            &sid_clear_pin("bad%20id"),
            json!({"tokenSerialNumber": "1231314525"}),
        )
        .await;
    assert_eq!(response.status(), 404);
    // Percent-encoding that does not decode to UTF-8 is a malformed request.
    let path = sid_clear_pin("%FF%FE");
    let (status, body) =
        status_and_json(api.patch(&path, json!({"tokenSerialNumber": "1"})).await).await;
    assert_eq!(status, 400);
    assert_error_body(&body, 400, &path);
    assert_eq!(api.stats().await.applied_total("sid-clear-pin"), 0);
    api.shutdown().await;
}

#[tokio::test]
async fn ds100_delete_removes_the_credential_once() {
    let api = Api::start(sample()).await;
    let body = json!({"tokenSerialNumber": "014010008038", "deviceSerialNumber": "140100080", "userId": ALICE});
    let response = api.delete(DS100_DELETE, body.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "");
    let (status, answer) = status_and_json(api.delete(DS100_DELETE, body).await).await;
    assert_eq!(status, 404);
    assert_error_body(&answer, 404, DS100_DELETE);
    // The credential is gone from the device too.
    let (_, found) = status_and_json(
        api.post(DS100_LOOKUP, json!({"deviceSerialNumber": "140100080"}))
            .await,
    )
    .await;
    let serials: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["tokenSerialNumber"].as_str())
        .collect();
    assert!(!serials.contains(&"014010008038"), "{found}");
    assert!(serials.contains(&"014010008039"), "{found}");
    // Wrong device, wrong user, missing field.
    let wrong_device = json!({"tokenSerialNumber": "014010008039", "deviceSerialNumber": "140100081", "userId": ALICE});
    assert_eq!(api.delete(DS100_DELETE, wrong_device).await.status(), 404);
    let wrong_user = json!({"tokenSerialNumber": "014010008039", "deviceSerialNumber": "140100080", "userId": BOB});
    assert_eq!(api.delete(DS100_DELETE, wrong_user).await.status(), 404);
    let missing = json!({"tokenSerialNumber": "014010008039", "userId": ALICE});
    assert_eq!(api.delete(DS100_DELETE, missing).await.status(), 400);
    let stats = api.stats().await;
    assert_eq!(stats.applied_count("ds100-delete", "014010008038"), 1);
    assert_eq!(stats.applied_total("ds100-delete"), 1);
    api.shutdown().await;
}

#[tokio::test]
async fn ds100_disable_lists_each_credential_as_disabled() {
    let api = Api::start(sample()).await;
    let body = json!({"deviceSerialNumber": "140100080", "userId": ALICE});
    let (status, answer) = status_and_json(api.patch(DS100_DISABLE, body.clone()).await).await;
    assert_eq!(status, 200);
    let items = answer.as_array().expect("an array");
    assert_eq!(items.len(), 2, "{answer}");
    for item in items {
        assert_eq!(item["userId"], json!(ALICE));
        assert_eq!(item["tokenStatus"], json!("Disabled"));
        assert_eq!(item["deviceSerialNumber"], json!("140100080"));
        assert_eq!(
            item["tokenStatusChangedBy"],
            json!("mock-static-token-admin")
        );
        assert_vendor_timestamp(item["tokenStatusChangedAt"].as_str().unwrap());
    }
    // Disabling again is still 200; the lookup shows the new status.
    assert_eq!(api.patch(DS100_DISABLE, body).await.status(), 200);
    let (_, found) = status_and_json(
        api.post(DS100_LOOKUP, json!({"deviceSerialNumber": "140100080"}))
            .await,
    )
    .await;
    for credential in found.as_array().unwrap() {
        let expected = if credential["userId"] == json!(ALICE) {
            "Disabled"
        } else {
            "Enabled"
        };
        assert_eq!(credential["tokenStatus"], json!(expected), "{credential}");
        // Only a credential whose status changed says when and by whom.
        let changed = expected == "Disabled";
        assert_eq!(
            credential.get("tokenStatusChangedBy").is_some(),
            changed,
            "{credential}"
        );
    }
    let none = json!({"deviceSerialNumber": "140100081", "userId": ALICE});
    assert_eq!(api.patch(DS100_DISABLE, none).await.status(), 404);
    let nobody = json!({"deviceSerialNumber": "140100080", "userId": UNKNOWN_USER});
    assert_eq!(api.patch(DS100_DISABLE, nobody).await.status(), 404);
    assert_eq!(
        api.stats()
            .await
            .applied_count("ds100-disable", "140100080"),
        2
    );
    api.shutdown().await;
}

/// `2022-05-24T084041.067Z`: date, `T`, six digits, `.`, millis, `Z`.
fn assert_vendor_timestamp(text: &str) {
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), 22, "{text}");
    assert!(!text.contains(':'), "{text}");
    assert_eq!(
        (bytes[4], bytes[7], bytes[10], bytes[17], bytes[21]),
        (b'-', b'-', b'T', b'.', b'Z'),
        "{text}"
    );
    assert!(text[11..17].bytes().all(|b| b.is_ascii_digit()), "{text}");
}

#[tokio::test]
async fn lookups_by_device_and_by_email() {
    let api = Api::start(sample()).await;
    let (status, found) = status_and_json(
        api.post(DS100_LOOKUP, json!({"deviceSerialNumber": "040100090"}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        found,
        json!([{"tokenSerialNumber": "004010009031", "userId": "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e",
                "tokenStatus": "Enabled", "deviceSerialNumber": "040100090"}])
    );
    // Leading zero dropped: another device, which does not exist.
    assert_eq!(
        api.post(DS100_LOOKUP, json!({"deviceSerialNumber": "40100090"}))
            .await
            .status(),
        404
    );
    let (status, user) = status_and_json(
        api.post(USERS_LOOKUP, json!({"email": "ALICE.Martin@acme.example"}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(user["id"], json!(ALICE));
    assert_eq!(user["email"], json!("alice.martin@acme.example"));
    let (status, body) = status_and_json(
        api.post(USERS_LOOKUP, json!({"email": "nobody@acme.example"}))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    assert_error_body(&body, 404, USERS_LOOKUP);
    let stats = api.stats().await;
    assert_eq!(stats.lookups.get("device"), Some(&2));
    assert_eq!(stats.lookups.get("email"), Some(&2));
    api.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_400_and_the_server_keeps_answering() {
    let api = Api::start(sample()).await;
    let url = api.url(DS100_CLEAR_PIN);
    let raw = |content_type: Option<&str>, body: Vec<u8>| {
        let mut builder = api.client.patch(&url).bearer_auth(&api.token).body(body);
        if let Some(content_type) = content_type {
            builder = builder.header("Content-Type", content_type);
        }
        builder.send()
    };
    let valid =
        br#"{"tokenSerialNumber":"014010008038","userId":"87927fb7-e185-4c33-c7e3-8e077675973c"}"#
            .to_vec();
    let huge = format!(
        r#"{{"tokenSerialNumber":"{}","userId":"x"}}"#,
        "9".repeat(200 * 1024)
    )
    .into_bytes();
    let cases = [
        (Some("application/json"), b"{not json".to_vec()),
        (Some("application/json"), b"".to_vec()),
        (Some("application/json"), vec![0xff, 0xfe, 0x00]),
        (Some("text/plain"), valid.clone()),
        (None, valid.clone()),
        (Some("application/json"), huge),
    ];
    for (content_type, body) in cases {
        let response = raw(content_type, body)
            .await
            .expect("an answer, not a dropped connection");
        let (status, answer) = status_and_json(response).await;
        assert_eq!(status, 400, "{content_type:?}");
        assert_error_body(&answer, 400, DS100_CLEAR_PIN);
    }
    let response = raw(Some("application/json; charset=utf-8"), valid)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stats = api.stats().await;
    assert_eq!(stats.bad_requests, 6);
    assert_eq!(stats.status_count(200), 1);
    api.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors() {
    let api = Api::start(sample()).await;
    let path = "/AdminInterface/restapi/v1/ds100/frobnicate";
    let (status, body) = status_and_json(api.patch(path, json!({})).await).await;
    assert_eq!(status, 404);
    assert_error_body(&body, 404, path);
    let response = api
        .request(Method::GET, DS100_CLEAR_PIN, None)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 405);
    assert_error_body(&body, 405, DS100_CLEAR_PIN);
    let stats = api.stats().await;
    assert_eq!(stats.by_endpoint.get("other"), Some(&2));
    api.shutdown().await;
}

#[tokio::test]
async fn stats_over_http_match_the_library_and_the_ledger() {
    let api = Api::start(sample()).await;
    let pin = json!({"tokenSerialNumber": "014010008131", "userId": DAN});
    assert_eq!(api.patch(DS100_CLEAR_PIN, pin.clone()).await.status(), 200);
    assert_eq!(api.patch(DS100_CLEAR_PIN, pin).await.status(), 200);
    let foreign = json!({"tokenSerialNumber": "014010008131", "userId": MALLORY});
    assert_eq!(api.patch(DS100_CLEAR_PIN, foreign).await.status(), 404);
    let disable = json!({"deviceSerialNumber": "140100086", "userId": LAURA});
    assert_eq!(api.patch(DS100_DISABLE, disable).await.status(), 200);
    let over_http = api.stats().await;
    assert_eq!(over_http, api.server.stats());
    assert_eq!(over_http.requests, 4);
    assert_eq!(over_http.status_count(200), 3);
    assert_eq!(over_http.status_count(404), 1);
    assert_eq!(over_http.by_endpoint.get("ds100-clear-pin"), Some(&3));
    assert_eq!(over_http.by_endpoint.get("ds100-disable"), Some(&1));
    assert_eq!(
        over_http.applied_count("ds100-clear-pin", "014010008131"),
        2
    );
    assert_eq!(over_http.applied_count("ds100-disable", "140100086"), 1);
    assert_eq!(over_http.applied_total("sid-clear-pin"), 0);
    // The raw JSON has every ledger key, even with nothing applied.
    let raw: serde_json::Value = api
        .client
        .get(api.url("/__mock/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for op in crate::fixture::operations() {
        assert!(raw["applied"][op].is_object(), "{raw}");
    }
    assert_eq!(raw["by_status"]["200"], json!(3));
    api.shutdown().await;
}

#[tokio::test]
async fn many_servers_start_and_stop() {
    for _ in 0..5 {
        let api = Api::start(sample()).await;
        let body = json!({"deviceSerialNumber": "140100080"});
        assert_eq!(api.post(DS100_LOOKUP, body).await.status(), 200);
        api.shutdown().await;
    }
}
