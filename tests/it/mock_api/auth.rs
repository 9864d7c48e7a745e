//! Authentication: the static token, and RS256 JWTs signed with an admin key
//! file the mock wrote (`--write-key-file`) or was given (`--key-file`).

use std::path::{Path, PathBuf};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use securid_bulk::mock::{MockError, MockOptions, MockServer};
use securid_bulk::secret::Secret;
use serde_json::{json, Value};

use super::support::*;

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

struct KeyFile {
    access_id: String,
    access_key: String,
    url: String,
}

fn read_key_file(path: &Path) -> KeyFile {
    let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    KeyFile {
        access_id: value["accessID"].as_str().unwrap().to_string(),
        access_key: value["accessKey"].as_str().unwrap().to_string(),
        url: value["adminRestApiUrl"].as_str().unwrap().to_string(),
    }
}

fn sign(key: &KeyFile, claims: &Value) -> String {
    let encoding = EncodingKey::from_rsa_pem(key.access_key.as_bytes()).unwrap();
    encode(&Header::new(Algorithm::RS256), claims, &encoding).unwrap()
}

fn good_claims(key: &KeyFile) -> Value {
    json!({"sub": key.access_id, "aud": key.url, "iat": now(), "exp": now() + 3000})
}

async fn start_with_key(dir: &Path, name: &str) -> (Api, PathBuf) {
    let path = dir.join(name);
    let opts = MockOptions {
        write_key_file: Some(path.clone()),
        ..sample()
    };
    (Api::start(opts).await, path)
}

async fn status_with_token(api: &Api, token: &str) -> u16 {
    let body = json!({"deviceSerialNumber": "140100080"});
    let response = api
        .client
        .post(api.url(DS100_LOOKUP))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 403 {
        let (_, body) = status_and_json(response).await;
        let message = assert_error_body(&body, 403, DS100_LOOKUP);
        assert!(
            !message.contains(token),
            "the 403 quotes the token: {message}"
        );
    }
    status
}

#[tokio::test]
async fn missing_or_wrong_credentials_get_403_and_change_nothing() {
    let api = Api::start(sample()).await;
    let body = json!({"tokenSerialNumber": "014010008038", "userId": ALICE});
    let url = api.url(DS100_CLEAR_PIN);
    let attempts = [
        api.client.patch(&url).json(&body),
        api.client
            .patch(&url)
            .bearer_auth("not-the-token")
            .json(&body),
        api.client
            .patch(&url)
            .basic_auth("admin", Some(&api.token))
            .json(&body),
        api.client
            .patch(&url)
            .header("Authorization", "Bearer")
            .json(&body),
    ];
    for attempt in attempts {
        let (status, answer) = status_and_json(attempt.send().await.unwrap()).await;
        assert_eq!(status, 403);
        assert_error_body(&answer, 403, DS100_CLEAR_PIN);
    }
    let stats = api.stats().await;
    assert_eq!(stats.status_count(403), 4);
    assert_eq!(stats.applied_total("ds100-clear-pin"), 0);
    // The stats endpoint itself needs no token.
    assert_eq!(stats.requests, 4);
    api.shutdown().await;
}

#[tokio::test]
async fn fixed_static_token_is_accepted() {
    let opts = MockOptions {
        static_token: Some(Secret::new("fixed-test-token")),
        ..sample()
    };
    let api = Api::start(opts).await;
    assert_eq!(api.server.static_token().expose(), "fixed-test-token");
    assert_eq!(status_with_token(&api, "fixed-test-token").await, 200);
    api.shutdown().await;
}

#[tokio::test]
async fn written_key_file_has_the_console_shape() {
    let dir = temp_dir();
    let (api, path) = start_with_key(dir.path(), "admin.key.json").await;
    let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for field in [
        "customerName",
        "accessID",
        "description",
        "accessKey",
        "adminRestApiUrl",
    ] {
        assert!(value[field].is_string(), "{field} missing");
    }
    let key = read_key_file(&path);
    assert!(key
        .access_key
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert_eq!(key.url, format!("{}/AdminInterface/restapi/v1", api.base));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    api.shutdown().await;
}

#[tokio::test]
async fn valid_jwt_is_accepted_and_names_the_admin() {
    let dir = temp_dir();
    let (api, path) = start_with_key(dir.path(), "admin.json").await;
    let key = read_key_file(&path);
    let token = sign(&key, &good_claims(&key));
    assert_eq!(status_with_token(&api, &token).await, 200);
    let response = api
        .client
        .patch(api.url(DS100_DISABLE))
        .bearer_auth(&token)
        .json(&json!({"deviceSerialNumber": "140100086", "userId": LAURA}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["tokenStatusChangedBy"], json!(key.access_id));
    // The static token keeps working beside the key file.
    assert_eq!(status_with_token(&api, &api.token).await, 200);
    api.shutdown().await;
}

#[tokio::test]
async fn bad_jwts_get_403() {
    let dir = temp_dir();
    let (api, path) = start_with_key(dir.path(), "admin.json").await;
    let (other, other_path) = start_with_key(dir.path(), "other.json").await;
    other.shutdown().await;
    let key = read_key_file(&path);
    let stranger = read_key_file(&other_path);
    let (sub, aud) = (key.access_id.clone(), key.url.clone());
    let refused = [
        ("wrong key", sign(&stranger, &good_claims(&key))),
        (
            "wrong aud",
            sign(
                &key,
                &json!({"sub": sub, "aud": format!("{aud}/"), "iat": now(), "exp": now() + 600}),
            ),
        ),
        (
            "aud array",
            sign(
                &key,
                &json!({"sub": sub, "aud": [aud], "iat": now(), "exp": now() + 600}),
            ),
        ),
        (
            "wrong sub",
            sign(
                &key,
                &json!({"sub": "someone-else", "aud": aud, "iat": now(), "exp": now() + 600}),
            ),
        ),
        (
            "no sub",
            sign(&key, &json!({"aud": aud, "iat": now(), "exp": now() + 600})),
        ),
        (
            "expired",
            sign(
                &key,
                &json!({"sub": sub, "aud": aud, "iat": now() - 1000, "exp": now() - 300}),
            ),
        ),
        (
            "too long",
            sign(
                &key,
                &json!({"sub": sub, "aud": aud, "iat": now(), "exp": now() + 3601}),
            ),
        ),
        (
            "float iat",
            sign(
                &key,
                &json!({"sub": sub, "aud": aud, "iat": now() as f64 + 0.5, "exp": now() + 600}),
            ),
        ),
        (
            "no iat",
            sign(&key, &json!({"sub": sub, "aud": aud, "exp": now() + 600})),
        ),
        ("HS256", hs256(&good_claims(&key))),
        ("alg none", alg_none(&good_claims(&key))),
        ("garbage", "a.b.c".to_string()),
    ];
    for (case, token) in refused {
        assert_eq!(status_with_token(&api, &token).await, 403, "{case}");
    }
    // Expired by less than the minute of skew the tenant allows: accepted.
    let skewed = sign(
        &key,
        &json!({"sub": sub, "aud": aud, "iat": now() - 600, "exp": now() - 20}),
    );
    assert_eq!(status_with_token(&api, &skewed).await, 200);
    api.shutdown().await;
}

fn hs256(claims: &Value) -> String {
    let key = EncodingKey::from_secret(b"guessable");
    encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
}

/// An unsigned token (`alg: none`), which jsonwebtoken will not produce.
fn alg_none(claims: &Value) -> String {
    use base64_url::encode as b64;
    format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&claims.to_string())
    )
}

/// Base64url without padding, enough for the `alg: none` token.
mod base64_url {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(text: &str) -> String {
        let mut out = String::new();
        for chunk in text.as_bytes().chunks(3) {
            let bits = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[(bits >> (18 - 6 * i) & 63) as usize]));
            }
        }
        out
    }
}

#[tokio::test]
async fn existing_key_file_is_verified_against() {
    let dir = temp_dir();
    let (writer, path) = start_with_key(dir.path(), "issued.json").await;
    writer.shutdown().await;
    let key = read_key_file(&path);
    let opts = MockOptions {
        key_file: Some(path.clone()),
        ..sample()
    };
    let api = Api::start(opts).await;
    // The audience stays the file's adminRestApiUrl, whatever this mock's port.
    assert_eq!(
        status_with_token(&api, &sign(&key, &good_claims(&key))).await,
        200
    );
    let request = api.request(
        Method::POST,
        DS100_LOOKUP,
        Some(&json!({"deviceSerialNumber": "140100080"})),
    );
    assert_eq!(request.send().await.unwrap().status(), 200);
    api.shutdown().await;
}

#[tokio::test]
async fn unreadable_or_invalid_key_files_name_the_file() {
    let dir = temp_dir();
    let missing = dir.path().join("missing.json");
    let err = start_err(MockOptions {
        key_file: Some(missing.clone()),
        ..sample()
    })
    .await;
    assert!(matches!(err, MockError::ReadKeyFile { .. }), "{err}");
    assert!(err.to_string().contains("missing.json"), "{err}");
    let broken = dir.path().join("broken.json");
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----";
    let file = json!({"customerName": "c", "accessID": "a", "description": "", "accessKey": pem, "adminRestApiUrl": "u"});
    std::fs::write(&broken, file.to_string()).unwrap();
    let err = start_err(MockOptions {
        key_file: Some(broken),
        ..sample()
    })
    .await;
    assert!(matches!(err, MockError::InvalidKeyFile { .. }), "{err}");
    assert!(
        err.to_string().contains("broken.json") && !err.to_string().contains("AAAA"),
        "{err}"
    );
}

async fn start_err(opts: MockOptions) -> MockError {
    match MockServer::start(opts).await {
        Ok(_) => panic!("the mock should refuse to start"),
        Err(err) => err,
    }
}
