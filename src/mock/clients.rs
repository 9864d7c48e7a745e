//! OAuth API clients of the simulated tenant: generating one for
//! `--write-oauth-client` (a private JWK, RSA-2048 or EC P-256, and a
//! `client.json` naming its client ID and issuer), and reading a client's
//! public key from its key file for `--oauth-client-key` (a JWK, private or
//! public, or a PKCS#8 PEM).
//!
//! Independent of the tool's `auth` module on purpose: the tenant is the
//! oracle the client is tested against. Errors never quote key material.

use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING as P256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{json, Value};

use super::keys::{invalid_key_file, pkcs1_from_pkcs8, read_key_file, read_tlv, write_private};
use super::options::OAuthKeyType;
use super::MockError;

/// File names inside a `--write-oauth-client` directory.
pub const KEY_FILE_NAME: &str = "client-key.jwk";
pub const CLIENT_FILE_NAME: &str = "client.json";

/// A client the authorization server accepts assertions from.
pub(crate) struct Client {
    pub id: String,
    pub key: DecodingKey,
    pub algorithm: Algorithm,
    pub kid: Option<String>,
}

/// What `--write-oauth-client` wrote.
pub(crate) struct Written {
    pub client: Client,
    pub key_file: PathBuf,
}

/// Generates a client into `dir` (created if missing): its private JWK
/// (mode 0600) and `client.json` with `clientId`, `issuer`, `keyType` and
/// `keyFile`.
pub(crate) fn write_client(
    dir: &Path,
    key_type: OAuthKeyType,
    issuer: &str,
) -> Result<Written, MockError> {
    let failed = |what: &str| MockError::KeyGeneration(format!("cannot generate the {what}"));
    let (jwk, kind) = match key_type {
        OAuthKeyType::Rsa => (rsa_jwk().ok_or_else(|| failed("RSA key"))?, "RSA"),
        OAuthKeyType::Ec => (ec_jwk().ok_or_else(|| failed("EC key"))?, "EC"),
    };
    let id = super::generate::uuid_like(fastrand::u128(..));
    let kid = format!("mock-{}", &id[..8]);
    let mut jwk = jwk;
    jwk["kid"] = kid.clone().into();
    std::fs::create_dir_all(dir).map_err(|source| MockError::WriteKeyFile {
        path: dir.to_path_buf(),
        source,
    })?;
    let key_file = dir.join(KEY_FILE_NAME);
    let text = serde_json::to_vec_pretty(&jwk).map_err(|_| failed("key file"))?;
    write_private(&key_file, &text)?;
    let about = json!({"clientId": id, "issuer": issuer, "keyType": kind,
        "keyFile": key_file.display().to_string()});
    let about_file = dir.join(CLIENT_FILE_NAME);
    let text = serde_json::to_vec_pretty(&about).map_err(|_| failed("client file"))?;
    write_private(&about_file, &text)?;
    let client = client_from_jwk(&id, &jwk).map_err(invalid_key_file(&key_file))?;
    Ok(Written { client, key_file })
}

/// The client `id` whose key is in `path`.
pub(crate) fn load_client(id: &str, path: &Path) -> Result<Client, MockError> {
    let invalid = invalid_key_file(path);
    let text = read_key_file(path)?;
    if text.trim_start().starts_with('{') {
        let jwk: Value = serde_json::from_str(&text).map_err(|e| {
            invalid(format!(
                "not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let jwk = match jwk.get("keys").and_then(Value::as_array) {
            Some(keys) if keys.len() == 1 => keys[0].clone(),
            _ => jwk,
        };
        return client_from_jwk(id, &jwk).map_err(invalid);
    }
    client_from_pem(id, &text).map_err(invalid)
}

fn client_from_jwk(id: &str, jwk: &Value) -> Result<Client, String> {
    let text = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the JWK has no {name}"))
    };
    let (key, algorithm) = match text("kty")? {
        "RSA" => (
            DecodingKey::from_rsa_components(text("n")?, text("e")?),
            Algorithm::RS256,
        ),
        "EC" if text("crv")? == "P-256" => (
            DecodingKey::from_ec_components(text("x")?, text("y")?),
            Algorithm::ES256,
        ),
        _ => return Err("the JWK is neither RSA nor EC P-256".into()),
    };
    let key = key.map_err(|_| "the JWK's public members are not a usable key".to_string())?;
    let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok(Client {
        id: id.to_owned(),
        key,
        algorithm,
        kid,
    })
}

fn client_from_pem(id: &str, text: &str) -> Result<Client, String> {
    let block = pem::parse(text.trim()).map_err(|_| "neither a JWK nor a PEM block".to_string())?;
    if block.tag() != "PRIVATE KEY" {
        return Err(format!("a {:?} PEM, not a PKCS#8 private key", block.tag()));
    }
    let der = block.contents();
    let (key, algorithm) = if let Ok(pair) = KeyPair::from_pkcs8(der) {
        (
            DecodingKey::from_rsa_der(pair.public_key().as_ref()),
            Algorithm::RS256,
        )
    } else if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&P256, der) {
        let point = pair.public_key().as_ref();
        let (x, y) = (b64(&point[1..33]), b64(&point[33..]));
        let key = DecodingKey::from_ec_components(&x, &y).map_err(|_| "bad EC key".to_string())?;
        (key, Algorithm::ES256)
    } else {
        return Err("a PKCS#8 key that is neither RSA nor EC P-256".into());
    };
    Ok(Client {
        id: id.to_owned(),
        key,
        algorithm,
        kid: None,
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh RSA-2048 private key as a JWK.
fn rsa_jwk() -> Option<Value> {
    let pair = KeyPair::generate(KeySize::Rsa2048).ok()?;
    let pkcs8 = pair.as_der().ok()?;
    let pkcs1 = pkcs1_from_pkcs8(pkcs8.as_ref()).ok()?;
    // RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dp, dq, qi }
    let (mut rest, _) = read_tlv(pkcs1, 0x30, "RSAPrivateKey").ok()?;
    let mut jwk = json!({"kty": "RSA"});
    for name in ["version", "n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        let (value, after) = read_tlv(rest, 0x02, name).ok()?;
        rest = after;
        if name != "version" {
            let unsigned = match value {
                [0, tail @ ..] if !tail.is_empty() => tail,
                whole => whole,
            };
            jwk[name] = b64(unsigned).into();
        }
    }
    Some(jwk)
}

/// A fresh EC P-256 private key as a JWK.
fn ec_jwk() -> Option<Value> {
    let pair = EcdsaKeyPair::generate(&P256).ok()?;
    let d = pair.private_key().as_be_bytes().ok()?;
    let point = pair.public_key().as_ref();
    Some(json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]),
        "y": b64(&point[33..]), "d": b64(d.as_ref())}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_clients_load_back_with_their_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        for (key_type, algorithm) in [
            (OAuthKeyType::Rsa, Algorithm::RS256),
            (OAuthKeyType::Ec, Algorithm::ES256),
        ] {
            let out = dir.path().join(format!("{key_type:?}"));
            let written = write_client(&out, key_type, "http://127.0.0.1:1/oauth").unwrap();
            assert_eq!(written.client.algorithm, algorithm);
            let loaded = load_client(&written.client.id, &written.key_file).unwrap();
            assert_eq!(
                (loaded.algorithm, loaded.kid),
                (algorithm, written.client.kid)
            );
            let about: Value =
                serde_json::from_slice(&std::fs::read(out.join(CLIENT_FILE_NAME)).unwrap())
                    .unwrap();
            assert_eq!(about["clientId"], written.client.id.as_str());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&written.key_file)
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }
    }
}
