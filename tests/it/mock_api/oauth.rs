//! The simulated tenant as an OAuth authorization server, spoken to
//! directly: discovery, the token endpoint's checks of each client assertion
//! (signature, iss, sub, aud, lifetime, jti replay, scope), and each
//! endpoint's permission enforced on the access tokens it issues.

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as P256};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

use super::support::*;

const CLIENT: &str = "client-1";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A tenant that knows one EC client, and that client's signing key.
struct Server {
    api: Api,
    key: EncodingKey,
    _dir: tempfile::TempDir,
}

fn ec_key_pem() -> (String, EncodingKey) {
    let pkcs8 = EcdsaKeyPair::generate(&P256).unwrap().to_pkcs8v1().unwrap();
    let text = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
    (text, EncodingKey::from_ec_der(pkcs8.as_ref()))
}

async fn server(extra: impl FnOnce(&mut securid_bulk::mock::MockOptions)) -> Server {
    let dir = temp_dir();
    let (pem_text, key) = ec_key_pem();
    let path = dir.path().join("client.pem");
    std::fs::write(&path, pem_text).unwrap();
    let mut opts = sample();
    opts.oauth_client_id = Some(CLIENT.into());
    opts.oauth_client_key = Some(path);
    extra(&mut opts);
    Server {
        api: Api::start(opts).await,
        key,
        _dir: dir,
    }
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

impl Server {
    fn token_url(&self) -> String {
        self.api.url("/oauth/token")
    }

    /// Claims of a good assertion, to be spoiled by the test.
    fn claims(&self, jti: &str) -> Value {
        json!({"iss": CLIENT, "sub": CLIENT, "aud": self.token_url(), "jti": jti,
            "iat": now(), "exp": now() + 300})
    }

    fn sign(&self, claims: &Value) -> String {
        encode(&Header::new(Algorithm::ES256), claims, &self.key).unwrap()
    }

    async fn ask(&self, assertion: &str, scope: &str) -> (u16, Value) {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("scope", scope),
        ];
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .api
            .client
            .post(self.token_url())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn refused(&self, reason: &str) -> u64 {
        let stats = self.api.server.stats();
        stats.oauth.refused.get(reason).copied().unwrap_or(0)
    }

    async fn lookup_with(&self, token: &str) -> (u16, Value) {
        let body = json!({"deviceSerialNumber": "140100080"});
        let response = self
            .api
            .client
            .request(Method::POST, self.api.url(DS100_LOOKUP))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn discovery_names_the_token_endpoint() {
    let s = server(|_| {}).await;
    let document: Value = s
        .api
        .client
        .get(s.api.url("/oauth/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["token_endpoint"], s.token_url().as_str());
    assert_eq!(document["issuer"], s.api.url("/oauth").as_str());
    let hidden = server(|o| o.no_discovery = true).await;
    let url = hidden.api.url("/oauth/.well-known/openid-configuration");
    let status = hidden.api.client.get(url).send().await.unwrap().status();
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_good_assertion_gets_a_token_that_works_once_per_jti() {
    let s = server(|_| {}).await;
    let assertion = s.sign(&s.claims("jti-1"));
    let (status, answer) = s.ask(&assertion, "rsa.authenticator.ds100.read").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 1800);
    let token = answer["access_token"].as_str().unwrap();
    assert_eq!(s.lookup_with(token).await.0, 200);
    // The same assertion again: a replay.
    let (status, answer) = s.ask(&assertion, "rsa.authenticator.ds100.read").await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(s.refused("replayed"), 1);
    assert_eq!(s.api.server.stats().oauth.tokens_issued, 1);
}

#[tokio::test]
async fn spoiled_assertions_are_refused_each_for_its_reason() {
    let s = server(|_| {}).await;
    let mut expired = s.claims("a");
    (expired["iat"], expired["exp"]) = ((now() - 400).into(), (now() - 100).into());
    let mut too_long = s.claims("b");
    too_long["exp"] = (now() + 600).into();
    let mut wrong_audience = s.claims("c");
    wrong_audience["aud"] = s.api.url("/AdminInterface/restapi").into();
    let mut unknown = s.claims("d");
    (unknown["iss"], unknown["sub"]) = ("someone-else".into(), "someone-else".into());
    let mut other_sub = s.claims("e");
    other_sub["sub"] = "someone-else".into();
    let cases = [
        (s.sign(&expired), 400, "expired"),
        (s.sign(&too_long), 400, "lifetime"),
        (s.sign(&wrong_audience), 400, "audience"),
        (s.sign(&unknown), 401, "unknown-client"),
        (s.sign(&other_sub), 401, "unknown-client"),
    ];
    for (assertion, status, reason) in cases {
        let before = s.refused(reason);
        let (got, answer) = s.ask(&assertion, "").await;
        assert_eq!(got, status, "{reason}: {answer}");
        assert!(answer["error_description"].is_string(), "{answer}");
        assert_eq!(s.refused(reason), before + 1, "{reason}");
    }
    // Signed by another key.
    let (_, stranger) = ec_key_pem();
    let forged = encode(&Header::new(Algorithm::ES256), &s.claims("f"), &stranger).unwrap();
    assert_eq!(s.ask(&forged, "").await.0, 401);
    assert_eq!(s.refused("signature"), 1);
    assert_eq!(s.api.server.stats().oauth.tokens_issued, 0);
    assert_eq!(
        s.api.server.stats().requests,
        0,
        "no tenant request counted"
    );
}

#[tokio::test]
async fn scopes_are_granted_only_as_configured_and_enforced_per_endpoint() {
    let s = server(|o| o.oauth_permissions = Some("rsa.user.read".into())).await;
    let (status, answer) = s
        .ask(&s.sign(&s.claims("a")), "rsa.authenticator.ds100.read")
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let description = answer["error_description"].as_str().unwrap();
    assert!(
        description.contains("rsa.authenticator.ds100.read"),
        "{description}"
    );
    let (status, answer) = s.ask(&s.sign(&s.claims("b")), "rsa.user.read").await;
    assert_eq!(status, 200);
    let token = answer["access_token"].as_str().unwrap();
    let (status, refusal) = s.lookup_with(token).await;
    assert_eq!(status, 403);
    let message = refusal["message"].as_str().unwrap();
    assert!(
        message.contains("lacks permission rsa.authenticator.ds100.read"),
        "{message}"
    );
    assert_eq!(s.api.server.stats().oauth.missing_permission, 1);
}

#[tokio::test]
async fn an_expired_access_token_gets_a_401() {
    let s = server(|o| o.access_token_lifetime = 1).await;
    let (_, answer) = s.ask(&s.sign(&s.claims("a")), "").await;
    let token = answer["access_token"].as_str().unwrap().to_owned();
    assert_eq!(s.lookup_with(&token).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(s.lookup_with(&token).await.0, 401);
    assert_eq!(s.api.server.stats().oauth.expired_tokens, 1);
}
