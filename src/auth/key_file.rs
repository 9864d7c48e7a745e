//! The legacy admin API key file: reading and checking it, and signing the
//! RS256 JWT the tenant expects from it. Tokens go only to the key's own
//! tenant; errors name the file, never its contents.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::Value;
use zeroize::Zeroizing;

use super::AuthError;
use crate::net::{checked_url, UrlSource};
use crate::secret::Secret;

/// The longest lifetime the tenant accepts: `exp` at most one hour after `iat`.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// An admin API key file as issued by the Cloud Administration Console.
/// `Debug` shows the key as `[redacted]`.
#[derive(Debug)]
pub struct KeyFile {
    pub customer_name: String,
    pub access_id: String,
    /// Exactly as written: the tenant compares the JWT's `aud` with it.
    pub admin_rest_api_url: String,
    /// The same URL parsed and checked by the tenant URL policy.
    own_url: reqwest::Url,
    /// The PEM text with real newlines.
    access_key: Secret,
    /// Where it was read from, to name it in later errors.
    path: PathBuf,
}

impl KeyFile {
    /// Reads and checks a key file: JSON with string fields `customerName`,
    /// `accessID`, `accessKey` (an RSA private key, PKCS#1 or PKCS#8 PEM, whose
    /// newlines may be literal `\n`) and `adminRestApiUrl` (https, or http to a
    /// loopback host). Other fields (`description`) are ignored.
    pub fn load(path: &Path) -> Result<KeyFile, AuthError> {
        let p = || path.to_path_buf();
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => AuthError::NotFound { path: p() },
            _ => AuthError::Unreadable { path: p(), source },
        })?;
        // The file's bytes hold the private key: wiped once parsed.
        let bytes = Zeroizing::new(bytes);
        // Parse untyped first: syntax errors carry only a line and column,
        // never a quote of the content.
        let mut json: Value = serde_json::from_slice(&bytes).map_err(|e| AuthError::NotJson {
            path: p(),
            line: e.line(),
            column: e.column(),
        })?;
        let customer_name = string_field(&json, "customerName", path)?;
        let access_id = string_field(&json, "accessID", path)?;
        let access_key = Secret::new(normalise_pem(take_key(&mut json, path)?));
        let admin_rest_api_url = string_field(&json, "adminRestApiUrl", path)?;

        let own_url = checked_url(&admin_rest_api_url, UrlSource::KeyFile)
            .map_err(|source| AuthError::Url { path: p(), source })?;
        check_rsa_private_key(access_key.expose())
            .map_err(|problem| AuthError::NotRsaKey { path: p(), problem })?;
        Ok(KeyFile {
            customer_name,
            access_id,
            admin_rest_api_url,
            own_url,
            access_key,
            path: p(),
        })
    }

    /// A warning to print when the key file can be read (or written) by
    /// group or others.
    pub fn permission_warning(path: &Path) -> Option<String> {
        super::permission_warning(path)
    }

    /// Refuses a tenant other than the key's own: the tenant `adminRestApiUrl`
    /// names would accept tokens signed with this key, so they go to its
    /// host and port only.
    pub fn check_destination(&self, base: &reqwest::Url) -> Result<(), AuthError> {
        let authority = |url: &reqwest::Url| {
            let host = url.host_str().unwrap_or("?").to_ascii_lowercase();
            format!("{host}:{}", url.port_or_known_default().unwrap_or(0))
        };
        let (key_host, base_host) = (authority(&self.own_url), authority(base));
        if key_host == base_host {
            return Ok(());
        }
        Err(AuthError::ForeignHost {
            path: self.path.clone(),
            key_host,
            base_host,
        })
    }

    /// The tenant's admin root: `adminRestApiUrl` with everything from
    /// `/AdminInterface` on (matched case-insensitively) removed, and no
    /// trailing `/`. A URL without `/AdminInterface` is kept whole.
    pub fn tenant_root(&self) -> String {
        let url = &self.admin_rest_api_url;
        let cut = url.to_ascii_lowercase().find("/admininterface");
        let root = &url[..cut.unwrap_or(url.len())];
        root.trim_end_matches('/').to_string()
    }
}

/// A non-empty string field of the key file. A JSON value that is not an
/// object has no fields.
fn string_field(json: &Value, field: &'static str, path: &Path) -> Result<String, AuthError> {
    let path = path.to_path_buf();
    match json.get(field) {
        None | Some(Value::Null) => Err(AuthError::MissingField { path, field }),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(_) => Err(AuthError::FieldNotString { path, field }),
    }
}

/// Moves `accessKey` out of the parsed file, so that the only copy of the
/// key is one that is wiped when dropped.
fn take_key(json: &mut Value, path: &Path) -> Result<Zeroizing<String>, AuthError> {
    string_field(json, "accessKey", path)?;
    match json.get_mut("accessKey") {
        Some(Value::String(key)) => Ok(Zeroizing::new(std::mem::take(key))),
        _ => Err(AuthError::FieldNotString {
            path: path.to_path_buf(),
            field: "accessKey",
        }),
    }
}

/// Turns literal two-character `\n` (and `\r\n`) sequences into newlines.
fn normalise_pem(text: Zeroizing<String>) -> String {
    let crlf = Zeroizing::new(text.replace("\\r\\n", "\n"));
    crlf.replace("\\n", "\n")
}

/// Why `pem_text` is not an RSA private key we can sign with. The reasons are
/// fixed texts: nothing from the key is ever quoted.
fn check_rsa_private_key(pem_text: &str) -> Result<(), &'static str> {
    let block = pem::parse(pem_text).map_err(|_| "no readable PEM block")?;
    let valid = match block.tag() {
        "RSA PRIVATE KEY" => aws_lc_rs::rsa::KeyPair::from_der(block.contents()).is_ok(),
        "PRIVATE KEY" => aws_lc_rs::rsa::KeyPair::from_pkcs8(block.contents()).is_ok(),
        "ENCRYPTED PRIVATE KEY" => return Err("the key is encrypted with a passphrase"),
        _ => return Err("the PEM block is not a private key"),
    };
    if !valid || EncodingKey::from_rsa_pem(pem_text.as_bytes()).is_err() {
        return Err("the key data is not an RSA private key of 2048 to 8192 bits");
    }
    Ok(())
}

/// Signs a bearer token: header `{"typ":"JWT","alg":"RS256"}`, claims `sub` =
/// accessID, `aud` = adminRestApiUrl as written, `iat` = `issued_at_unix`,
/// `exp` = `iat` + `lifetime` in whole seconds, `lifetime` capped at one hour.
pub fn mint_jwt(
    key: &KeyFile,
    issued_at_unix: u64,
    lifetime: Duration,
) -> Result<Secret, AuthError> {
    let iat = issued_at_unix;
    let exp = iat.saturating_add(lifetime.min(MAX_LIFETIME).as_secs());
    let claims = serde_json::json!({"sub": key.access_id, "aud": key.admin_rest_api_url,
        "iat": iat, "exp": exp});
    let path = || key.path.clone();
    let failed = |_| AuthError::Sign { path: path() };
    let encoding = EncodingKey::from_rsa_pem(key.access_key.expose().as_bytes()).map_err(failed)?;
    let token = encode(&Header::new(Algorithm::RS256), &claims, &encoding).map_err(failed)?;
    Ok(Secret::new(token))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_lc_rs::{encoding::AsDer, signature::KeyPair as _};
    use jsonwebtoken::{decode, DecodingKey, Validation};
    use std::time::{SystemTime, UNIX_EPOCH};

    pub(crate) const URL: &str = "https://acme.access.securid.com/AdminInterface/restapi/v1";
    const HEADER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9."; // {"typ":"JWT","alg":"RS256"}
    pub(crate) type Keys = (String, String, Vec<u8>);

    /// A fresh RSA-2048 key per test run, never stored: (PKCS#1 PEM, PKCS#8
    /// PEM, PKCS#1 RSAPublicKey DER).
    pub(crate) fn keys() -> &'static Keys {
        static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
            let pkcs8: aws_lc_rs::encoding::Pkcs8V1Der = pair.as_der().unwrap();
            // PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING }
            let (tag, pkcs1, _) = tlv(tlv(tlv(tlv(pkcs8.as_ref()).1).2).2);
            assert_eq!(tag, 0x04);
            let public = pair.public_key().as_ref().to_vec();
            (
                pem_lf("RSA PRIVATE KEY", pkcs1),
                pem_lf("PRIVATE KEY", pkcs8.as_ref()),
                public,
            )
        })
    }

    /// One DER element: (tag, contents, what follows).
    fn tlv(der: &[u8]) -> (u8, &[u8], &[u8]) {
        let (n, long) = (der[1] as usize, (der[1] & 0x7f) as usize);
        let (len, start) = match n < 0x80 {
            true => (n, 2),
            false => (be(&der[2..2 + long]), 2 + long),
        };
        (der[0], &der[start..start + len], &der[start + len..])
    }

    fn be(bytes: &[u8]) -> usize {
        bytes.iter().fold(0, |a, b| a << 8 | *b as usize)
    }

    fn pem_lf(tag: &str, der: &[u8]) -> String {
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        pem::encode_config(&pem::Pem::new(tag, der), config)
    }

    pub(crate) fn key_json(access_key: &str, url: &str) -> String {
        let json = serde_json::json!({"customerName": "acme", "accessID": "id-1",
            "description": "x", "accessKey": access_key, "adminRestApiUrl": url});
        json.to_string()
    }

    pub(crate) fn load(text: &str) -> Result<KeyFile, AuthError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.json"), text).unwrap();
        KeyFile::load(&dir.path().join("key.json"))
    }

    pub(crate) fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Checks the signature, audience, expiry and exact header; returns the claims.
    pub(crate) fn verify(token: &Secret) -> Value {
        assert!(token.expose().starts_with(HEADER), "wrong header");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[URL]);
        let key = DecodingKey::from_rsa_der(&keys().2);
        let data = decode::<Value>(token.expose(), &key, &validation);
        data.unwrap().claims
    }

    /// Fails if any line of the key shows in `text`.
    pub(crate) fn assert_no_key(text: &str) {
        for line in keys().0.lines().chain(keys().1.lines()) {
            assert!(!text.contains(line), "key material leaked: {text}");
        }
    }

    pub(crate) fn now_secs() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn minted_jwt_verifies_and_lifetime_is_clamped() {
        let key = load(&key_json(&keys().0, URL)).unwrap();
        let iat = now_secs();
        let claims = verify(&mint_jwt(&key, iat, secs(600)).unwrap());
        let expected = serde_json::json!({"sub": "id-1", "aud": URL, "iat": iat, "exp": iat + 600});
        assert_eq!(claims, expected);
        let clamped = verify(&mint_jwt(&key, iat, secs(7200)).unwrap());
        assert_eq!(clamped["exp"], iat + 3600);
    }

    #[test]
    fn escaped_newlines_crlf_and_pkcs8_are_accepted() {
        let (pkcs1, pkcs8, _) = keys();
        let (escaped, crlf) = (pkcs1.replace('\n', "\\n"), pkcs1.replace('\n', "\r\n"));
        for pem_text in [&escaped, &crlf, pkcs8] {
            let key = load(&key_json(pem_text, URL)).unwrap();
            let now = now_secs();
            verify(&mint_jwt(&key, now, secs(60)).unwrap());
            let debug = format!("{key:?}");
            assert!(debug.contains("[redacted]") && debug.contains("id-1"));
            assert_no_key(&debug);
        }
    }

    #[test]
    fn load_errors_name_the_file_and_problem_never_the_key() {
        let (pkcs1, pkcs8, public) = keys();
        let escaped = pkcs1.replace('\n', "\\n");
        let check = |result: Result<KeyFile, AuthError>, wanted: &str| {
            let shown = result.as_ref().unwrap_err().to_string();
            assert!(shown.contains(wanted), "{shown:?} lacks {wanted:?}");
            assert!(shown.contains("key.json"), "{shown:?} lacks the file");
            assert_no_key(&shown);
            assert_no_key(&format!("{result:?}"));
        };
        check(KeyFile::load(Path::new("/no/key.json")), "does not exist");
        check(
            load(pkcs1),
            "not valid JSON (syntax error at line 1, column 2)",
        );
        check(load(&format!("{{\"a\": \"{escaped}\",")), "not valid JSON");
        check(load("[1]"), "has no \"customerName\" field");
        for field in ["customerName", "accessID", "accessKey", "adminRestApiUrl"] {
            let mut json: Value = serde_json::from_str(&key_json(pkcs1, URL)).unwrap();
            json.as_object_mut().unwrap().remove(field);
            let wanted = format!("has no \"{field}\" field");
            check(load(&json.to_string()), &wanted);
            json[field] = Value::from(42);
            check(load(&json.to_string()), &format!("\"{field}\" in key file"));
        }
        use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as P256};
        let ec = EcdsaKeyPair::generate(&P256).unwrap().to_pkcs8v1().unwrap();
        let ec = pem_lf("PRIVATE KEY", ec.as_ref());
        let public = pem_lf("RSA PUBLIC KEY", public);
        let mut cut: Vec<&str> = pkcs1.lines().collect();
        cut.drain(3..6);
        let mislabelled = pkcs8.replace("PRIVATE", "RSA PRIVATE");
        for bad in ["hello", &public, &ec, &cut.join("\n"), &mislabelled] {
            let result = load(&key_json(bad, URL));
            assert!(matches!(result, Err(AuthError::NotRsaKey { .. })));
            check(result, "is not a usable RSA private key");
        }
        for url in "http://acme.securid.com/ ftp://127.0.0.1/ http://127.evil.com/".split(' ') {
            check(load(&key_json(pkcs1, url)), "use https://");
        }
        check(load(&key_json(pkcs1, "acme/x")), "relative URL");
        for url in
            "http://127.0.0.1:8080/AdminInterface http://[::1]:1/ http://LOCALHOST/".split(' ')
        {
            assert_eq!(load(&key_json(pkcs1, url)).unwrap().admin_rest_api_url, url);
        }
    }

    #[test]
    fn tenant_root() {
        let root = |url: &str| load(&key_json(&keys().0, url)).unwrap().tenant_root();
        assert_eq!(root(URL), "https://acme.access.securid.com");
        assert_eq!(
            root("http://127.0.0.1:9/x/adminInterface/"),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(root("https://a.securid.com/"), "https://a.securid.com");
    }

    #[cfg(unix)]
    #[test]
    fn permission_warning_only_for_group_or_other_access() {
        use std::{fs::Permissions, os::unix::fs::PermissionsExt};
        let file = tempfile::NamedTempFile::new().unwrap();
        let (path, p) = (file.path(), file.path().display());
        std::fs::set_permissions(path, Permissions::from_mode(0o644)).unwrap();
        let expected =
            format!("warning: key file {p} is readable by group or others; chmod 600 {p}");
        assert_eq!(KeyFile::permission_warning(path), Some(expected));
        std::fs::set_permissions(path, Permissions::from_mode(0o600)).unwrap();
        assert_eq!(KeyFile::permission_warning(path), None);
    }
}
