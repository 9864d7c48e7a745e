//! Quota (429 with each `Retry-After` form) and injected faults: 500s,
//! dropped connections, slow answers, latency, and their repeatability.

use std::time::{Duration, SystemTime};

use securid_bulk::mock::{MockOptions, RetryAfterForm};
use serde_json::json;

use super::support::*;

/// One request per thousand seconds after the first: the second request is
/// throttled however slow the machine is.
fn quota(form: RetryAfterForm) -> MockOptions {
    MockOptions {
        rate: 0.001,
        burst: 1,
        retry_after: form,
        ..sample()
    }
}

/// Spends the single token, then returns the throttled answer to a clear-PIN.
async fn throttled_response(api: &Api) -> reqwest::Response {
    let lookup = json!({"deviceSerialNumber": "140100080"});
    assert_eq!(api.post(DS100_LOOKUP, lookup).await.status(), 200);
    let pin = json!({"tokenSerialNumber": "014010008038", "userId": ALICE});
    let response = api.patch(DS100_CLEAR_PIN, pin).await;
    assert_eq!(response.status(), 429);
    response
}

#[tokio::test]
async fn quota_answers_429_with_retry_after_in_seconds() {
    let api = Api::start(quota(RetryAfterForm::Seconds)).await;
    let response = throttled_response(&api).await;
    let value = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .to_string();
    let seconds: u64 = value.parse().expect("delay-seconds");
    assert!(seconds >= 1, "{value}");
    let (_, body) = status_and_json(response).await;
    assert_error_body(&body, 429, DS100_CLEAR_PIN);
    let stats = api.stats().await;
    assert_eq!(stats.throttled, 1);
    assert_eq!(stats.status_count(429), 1);
    // A 429 changes nothing.
    assert_eq!(stats.applied_total("ds100-clear-pin"), 0);
    api.shutdown().await;
}

#[tokio::test]
async fn quota_answers_429_with_retry_after_as_http_date() {
    let api = Api::start(quota(RetryAfterForm::HttpDate)).await;
    let response = throttled_response(&api).await;
    let value = response.headers()["retry-after"].to_str().unwrap();
    let when = httpdate::parse_http_date(value).expect("an HTTP date");
    // A date in the future (the quota refills in about 1000 s).
    assert!(when > SystemTime::now(), "{value}");
    api.shutdown().await;
}

#[tokio::test]
async fn quota_answers_429_without_retry_after_when_absent() {
    let api = Api::start(quota(RetryAfterForm::Absent)).await;
    let response = throttled_response(&api).await;
    assert!(response.headers().get("retry-after").is_none());
    api.shutdown().await;
}

#[tokio::test]
async fn quota_is_checked_after_authentication() {
    let api = Api::start(quota(RetryAfterForm::Seconds)).await;
    let response = api
        .client
        .post(api.url(DS100_LOOKUP))
        .json(&json!({"deviceSerialNumber": "140100080"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // The unauthenticated request did not spend the only token.
    assert_eq!(
        api.post(DS100_LOOKUP, json!({"deviceSerialNumber": "140100080"}))
            .await
            .status(),
        200
    );
    api.shutdown().await;
}

#[tokio::test]
async fn fail_rate_answers_the_vendor_500() {
    let api = Api::start(MockOptions {
        fail_rate: 1.0,
        ..sample()
    })
    .await;
    let pin = json!({"tokenSerialNumber": "1231314525"});
    let path = sid_clear_pin(CAROL);
    let (status, body) = status_and_json(api.patch(&path, pin).await).await;
    assert_eq!(status, 500);
    let message = assert_error_body(&body, 500, &path);
    assert_eq!(message, "Unable to Enable/Disable a hardware token");
    assert_eq!(body["error"], json!("Internal Server Error"));
    let stats = api.stats().await;
    assert_eq!(stats.injected_failures, 1);
    assert_eq!(stats.applied_total("sid-clear-pin"), 0);
    api.shutdown().await;
}

#[tokio::test]
async fn reset_rate_drops_the_connection_without_an_answer() {
    let api = Api::start(MockOptions {
        reset_rate: 1.0,
        ..sample()
    })
    .await;
    let pin = json!({"tokenSerialNumber": "014010008038", "userId": ALICE});
    let outcome = api
        .request(reqwest::Method::PATCH, DS100_CLEAR_PIN, Some(&pin))
        .send()
        .await;
    let err = outcome.expect_err("no HTTP answer at all");
    assert!(
        err.is_request() && err.status().is_none() && !err.is_timeout(),
        "{err:?}"
    );
    // The server lives on; the stats endpoint is exempt from faults.
    let stats = api.stats().await;
    assert_eq!(stats.resets, 1);
    assert_eq!(stats.requests, 1);
    assert!(stats.by_status.is_empty(), "{:?}", stats.by_status);
    assert_eq!(stats.applied_total("ds100-clear-pin"), 0);
    api.shutdown().await;
}

#[tokio::test]
async fn slow_answers_outlast_a_client_timeout() {
    let opts = MockOptions {
        slow_rate: 1.0,
        slow_ms: 2000,
        ..sample()
    };
    let api = Api::with_client(opts, client_with_timeout(Duration::from_millis(200))).await;
    let lookup = json!({"deviceSerialNumber": "140100080"});
    let err = api
        .request(reqwest::Method::POST, DS100_LOOKUP, Some(&lookup))
        .send()
        .await
        .expect_err("the client gives up first");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(api.stats().await.slow, 1);
    api.shutdown().await;
}

#[tokio::test]
async fn shutdown_cuts_a_slow_answer_short() {
    let opts = MockOptions {
        slow_rate: 1.0,
        slow_ms: 2000,
        ..sample()
    };
    let api = Api::start(opts).await;
    let request = api.request(
        reqwest::Method::POST,
        DS100_LOOKUP,
        Some(&json!({"deviceSerialNumber": "140100080"})),
    );
    let in_flight = tokio::spawn(request.send());
    // Wait until the server has the request, then stop it: the answer is
    // abandoned (connection closed) instead of waited out.
    while api.server.stats().slow == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    api.shutdown().await;
    let outcome = in_flight.await.unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
}

#[tokio::test]
async fn latency_and_jitter_still_answer() {
    let opts = MockOptions {
        latency_ms: 5,
        jitter_ms: 5,
        ..sample()
    };
    let api = Api::start(opts).await;
    for _ in 0..3 {
        let lookup = json!({"deviceSerialNumber": "140100080"});
        assert_eq!(api.post(DS100_LOOKUP, lookup).await.status(), 200);
    }
    assert_eq!(api.stats().await.slow, 0);
    api.shutdown().await;
}

#[tokio::test]
async fn the_same_fault_seed_gives_the_same_faults() {
    let statuses = |seed| async move {
        let opts = MockOptions {
            fail_rate: 0.5,
            fault_seed: Some(seed),
            ..sample()
        };
        let api = Api::start(opts).await;
        let mut seen = Vec::new();
        for _ in 0..24 {
            let lookup = json!({"deviceSerialNumber": "140100080"});
            seen.push(api.post(DS100_LOOKUP, lookup).await.status().as_u16());
        }
        api.shutdown().await;
        seen
    };
    let first = statuses(7).await;
    assert_eq!(first, statuses(7).await);
    assert!(first.contains(&200) && first.contains(&500), "{first:?}");
}

#[tokio::test]
async fn under_concurrent_faults_the_ledger_matches_the_200s() {
    let opts = MockOptions {
        users: Some(60),
        seed: 5,
        fail_rate: 0.2,
        reset_rate: 0.1,
        rate: 5000.0,
        burst: 20,
        ..sample()
    };
    let dir = temp_dir();
    let export = MockOptions {
        export_csv: Some(dir.path().to_path_buf()),
        ..opts.clone()
    };
    securid_bulk::mock::export_csv(&export).unwrap();
    let rows = csv_rows(&dir.path().join("ds100-clear-pin.csv"));
    let api = std::sync::Arc::new(Api::start(opts).await);
    let mut tasks = tokio::task::JoinSet::new();
    for row in rows.into_iter().cycle().take(240) {
        let api = api.clone();
        tasks.spawn(async move {
            let body =
                json!({"tokenSerialNumber": row["tokenSerialNumber"], "userId": row["userId"]});
            let outcome = api
                .request(reqwest::Method::PATCH, DS100_CLEAR_PIN, Some(&body))
                .send()
                .await;
            outcome.map(|r| r.status().as_u16()).ok()
        });
    }
    let mut ok = 0;
    let mut dropped = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Some(200) => ok += 1,
            Some(status) => assert!([429, 500].contains(&status), "{status}"),
            None => dropped += 1,
        }
    }
    let stats = api.stats().await;
    assert_eq!(stats.applied_total("ds100-clear-pin"), ok);
    assert_eq!(stats.resets, dropped);
    assert_eq!(stats.requests, 240);
}
