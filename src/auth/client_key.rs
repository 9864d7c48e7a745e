//! The private key of an OAuth API client, as the console hands it out: a
//! JWK JSON file (`kty` RSA or EC P-256, usually with a `kid`), or a PKCS#8
//! PEM. It becomes a signing key for RS256 (RSA) or ES256 (EC) client
//! assertions. The file's bytes are wiped once read; errors name the file
//! and the problem, never the key.

use std::fmt;
use std::path::{Path, PathBuf};

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as P256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;
use zeroize::Zeroizing;

use super::OAuthError;

/// The key type the console names for a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    Ec,
}

impl KeyType {
    /// The JWS algorithm of its assertions.
    pub fn algorithm(self) -> Algorithm {
        match self {
            KeyType::Rsa => Algorithm::RS256,
            KeyType::Ec => Algorithm::ES256,
        }
    }
}

/// A client's signing key. `Debug` shows the type and key id only.
pub struct ClientKey {
    pub(super) encoding: EncodingKey,
    pub key_type: KeyType,
    /// The JWK's `kid`, sent in each assertion's header.
    pub kid: Option<String>,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ClientKey({:?}, kid {:?}, [redacted])",
            self.key_type, self.kid
        )
    }
}

/// Why a key is unusable: fixed texts, nothing from the key.
type Problem = &'static str;

impl ClientKey {
    /// Reads a JWK (or a JWK set holding one key) or a PEM private key.
    pub fn load(path: &Path) -> Result<ClientKey, OAuthError> {
        let p = || path.to_path_buf();
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => OAuthError::KeyNotFound { path: p() },
            _ => OAuthError::KeyUnreadable { path: p(), source },
        })?;
        let bytes = Zeroizing::new(bytes);
        let text = std::str::from_utf8(&bytes).map_err(|_| unusable(path, "it is not text"))?;
        let parsed = if text.trim_start().starts_with('{') {
            from_jwk_text(text)
        } else {
            from_pem(text)
        };
        parsed.map_err(|problem| unusable(path, problem))
    }
}

fn unusable(path: &Path, problem: Problem) -> OAuthError {
    OAuthError::KeyUnusable {
        path: PathBuf::from(path),
        problem,
    }
}

fn from_jwk_text(text: &str) -> Result<ClientKey, Problem> {
    let mut json: Value = serde_json::from_str(text).map_err(|_| "it is not valid JSON")?;
    // A JWK set of one key is accepted as that key.
    if let Some(Value::Array(keys)) = json.get_mut("keys") {
        match keys.as_mut_slice() {
            [one] => json = one.take(),
            _ => return Err("it is a JWK set of more or fewer than one key"),
        }
    }
    let key = from_jwk(&json);
    wipe(&mut json);
    key
}

/// Overwrites every string of the parsed JWK, which held the private key.
fn wipe(value: &mut Value) {
    match value {
        Value::String(s) => zeroize::Zeroize::zeroize(s),
        Value::Object(map) => map.values_mut().for_each(wipe),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        _ => {}
    }
}

fn from_jwk(jwk: &Value) -> Result<ClientKey, Problem> {
    let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
    let (encoding, key_type) = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => (rsa_from_jwk(jwk)?, KeyType::Rsa),
        Some("EC") => (ec_from_jwk(jwk)?, KeyType::Ec),
        Some(_) => return Err("its kty is neither RSA nor EC"),
        None => return Err("it is JSON but not a JWK (no kty)"),
    };
    Ok(ClientKey {
        encoding,
        key_type,
        kid,
    })
}

/// A base64url member of the JWK, decoded.
fn member(jwk: &Value, name: &str) -> Result<Zeroizing<Vec<u8>>, Problem> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or("a private key member (RSA n e d p q dp dq qi, EC x y d) is missing")?;
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| "a key member is not base64url")?;
    Ok(Zeroizing::new(bytes))
}

/// RSA: the JWK's members written as a PKCS#1 `RSAPrivateKey`.
fn rsa_from_jwk(jwk: &Value) -> Result<EncodingKey, Problem> {
    let mut body = Zeroizing::new(der_integer(&[0]));
    for name in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        body.extend_from_slice(&der_integer(&member(jwk, name)?));
    }
    let pkcs1 = Zeroizing::new(der(0x30, &body));
    aws_lc_rs::rsa::KeyPair::from_der(&pkcs1)
        .map_err(|_| "its RSA members do not form a usable private key of 2048 bits or more")?;
    Ok(EncodingKey::from_rsa_der(&pkcs1))
}

/// EC: P-256 only, checked by building the key pair from `d`, `x` and `y`.
fn ec_from_jwk(jwk: &Value) -> Result<EncodingKey, Problem> {
    if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
        return Err("its curve is not P-256 (ES256)");
    }
    let (x, y, d) = (member(jwk, "x")?, member(jwk, "y")?, member(jwk, "d")?);
    let public = [&[0x04][..], &x, &y].concat();
    let pair = EcdsaKeyPair::from_private_key_and_public_key(&P256, &d, &public)
        .map_err(|_| "its EC members do not form a P-256 key pair")?;
    let pkcs8 = pair
        .to_pkcs8v1()
        .map_err(|_| "its EC key cannot be encoded")?;
    Ok(EncodingKey::from_ec_der(pkcs8.as_ref()))
}

fn from_pem(text: &str) -> Result<ClientKey, Problem> {
    let block = pem::parse(text.trim()).map_err(|_| "it is neither a JWK nor a PEM block")?;
    let der = Zeroizing::new(block.contents().to_vec());
    let (encoding, key_type) = match block.tag() {
        "PRIVATE KEY" => pkcs8_key(&der)?,
        "RSA PRIVATE KEY" => match aws_lc_rs::rsa::KeyPair::from_der(&der) {
            Ok(_) => (EncodingKey::from_rsa_der(&der), KeyType::Rsa),
            Err(_) => return Err("its RSA key is not usable"),
        },
        "ENCRYPTED PRIVATE KEY" => return Err("the key is encrypted with a passphrase"),
        _ => return Err("the PEM block is not a private key"),
    };
    Ok(ClientKey {
        encoding,
        key_type,
        kid: None,
    })
}

/// A PKCS#8 key: RSA or EC P-256, whichever it parses as.
fn pkcs8_key(der: &[u8]) -> Result<(EncodingKey, KeyType), Problem> {
    if aws_lc_rs::rsa::KeyPair::from_pkcs8(der).is_ok() {
        let pem_text = Zeroizing::new(pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec())));
        let key = EncodingKey::from_rsa_pem(pem_text.as_bytes())
            .map_err(|_| "its RSA key is not usable")?;
        return Ok((key, KeyType::Rsa));
    }
    if EcdsaKeyPair::from_pkcs8(&P256, der).is_ok() {
        return Ok((EncodingKey::from_ec_der(der), KeyType::Ec));
    }
    Err("its PKCS#8 key is neither RSA nor EC P-256")
}

/// A DER INTEGER holding the unsigned big-endian `bytes`.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed = match bytes.iter().position(|b| *b != 0) {
        Some(at) => &bytes[at..],
        None => &[0][..],
    };
    let mut contents = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        contents.push(0);
    }
    contents.extend_from_slice(trimmed);
    let out = der(0x02, &contents);
    zeroize::Zeroize::zeroize(&mut contents);
    out
}

/// One DER element with a definite length.
fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_lc_rs::encoding::{AsBigEndian, AsDer};
    use aws_lc_rs::signature::KeyPair as _;

    /// One DER element: (contents, what follows).
    fn tlv(der: &[u8]) -> (&[u8], &[u8]) {
        let (n, long) = (der[1] as usize, (der[1] & 0x7f) as usize);
        let (len, start) = match n < 0x80 {
            true => (n, 2),
            false => (
                der[2..2 + long].iter().fold(0, |a, b| a << 8 | *b as usize),
                2 + long,
            ),
        };
        (&der[start..start + len], &der[start + len..])
    }

    fn b64(bytes: &[u8]) -> Value {
        Value::from(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A fresh RSA-2048 key as a JWK, and its PKCS#8 DER.
    pub(crate) fn rsa_jwk() -> (Value, Vec<u8>) {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = pair.as_der().unwrap().as_ref().to_vec();
        // PrivateKeyInfo { version, algorithm, OCTET STRING { RSAPrivateKey } }
        let info = tlv(&pkcs8).0;
        let pkcs1 = tlv(tlv(tlv(info).1).1).0;
        let mut ints = Vec::new();
        let mut rest = tlv(pkcs1).0;
        while !rest.is_empty() {
            let (value, after) = tlv(rest);
            ints.push(value.to_vec());
            rest = after;
        }
        let names = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];
        let mut jwk = serde_json::json!({"kty": "RSA", "kid": "rsa-1"});
        for (name, value) in names.iter().zip(&ints[1..]) {
            jwk[*name] = b64(value);
        }
        (jwk, pkcs8)
    }

    /// A fresh P-256 key as a JWK, and its PKCS#8 DER.
    pub(crate) fn ec_jwk() -> (Value, Vec<u8>) {
        let pair = EcdsaKeyPair::generate(&P256).unwrap();
        let d = pair.private_key().as_be_bytes().unwrap();
        let public = pair.public_key().as_ref();
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "ec-1",
            "x": b64(&public[1..33]), "y": b64(&public[33..]), "d": b64(d.as_ref())});
        (jwk, pair.to_pkcs8v1().unwrap().as_ref().to_vec())
    }

    fn load_text(text: &str) -> Result<ClientKey, OAuthError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.jwk");
        std::fs::write(&path, text).unwrap();
        ClientKey::load(&path)
    }

    #[test]
    fn jwk_and_pem_keys_of_both_types_load() {
        for (jwk, pkcs8, key_type) in [
            (rsa_jwk().0, rsa_jwk().1, KeyType::Rsa),
            (ec_jwk().0, ec_jwk().1, KeyType::Ec),
        ] {
            let key = load_text(&jwk.to_string()).unwrap();
            assert_eq!(key.key_type, key_type);
            assert!(key.kid.is_some());
            let set = serde_json::json!({ "keys": [jwk] });
            assert_eq!(load_text(&set.to_string()).unwrap().key_type, key_type);
            let pem_text = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8));
            let key = load_text(&pem_text).unwrap();
            assert_eq!((key.key_type, key.kid), (key_type, None));
        }
    }

    #[test]
    fn unusable_keys_name_the_problem_never_the_key() {
        let (mut jwk, _) = ec_jwk();
        let d = jwk["d"].as_str().unwrap().to_owned();
        let check = |text: &str, wanted: &str| {
            let err = load_text(text).unwrap_err().to_string();
            assert!(err.contains(wanted), "{err:?} lacks {wanted:?}");
            assert!(err.contains("client.jwk"), "{err}");
            assert!(!err.contains(&d), "key leaked: {err}");
        };
        check("{", "not valid JSON");
        check("{\"a\": 1}", "not a JWK");
        check("hello", "neither a JWK nor a PEM");
        jwk["crv"] = "P-384".into();
        check(&jwk.to_string(), "not P-256");
        jwk["crv"] = "P-256".into();
        jwk["x"] = ec_jwk().0["x"].clone();
        check(&jwk.to_string(), "do not form a P-256 key pair");
        let (mut rsa, _) = rsa_jwk();
        rsa.as_object_mut().unwrap().remove("qi");
        check(&rsa.to_string(), "is missing");
        let debug = format!("{:?}", load_text(&ec_jwk().0.to_string()).unwrap());
        assert!(
            debug.contains("[redacted]") && debug.contains("ec-1"),
            "{debug}"
        );
    }
}
