//! Where bearer tokens come from. This module owns the admin API key file
//! (reading and checking it), signing the RS256 JWT the tenant expects from
//! it, and [`TokenProvider`], the one place workers get the value of their
//! `Authorization: Bearer` header: either a fixed token (`--token` or the
//! environment) or one signed from the key file and re-signed shortly before
//! it expires.
//!
//! Nothing here logs. No error, `Debug` or `Display` output carries the key
//! file's contents or a token: the key and every token live in a [`Secret`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::Value;
use tokio::sync::RwLock;
use zeroize::Zeroizing;

use crate::secret::Secret;

/// The longest lifetime the tenant accepts: `exp` at most one hour after `iat`.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);
const MIN_LIFETIME: Duration = Duration::from_secs(2);
const MIN_MARGIN: Duration = Duration::from_millis(500);
const MAX_MARGIN: Duration = Duration::from_secs(60);

/// Why no bearer token could be had. Each message names the key file and says
/// what to do; none quotes the file's contents.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("key file {} does not exist; check the path given for the admin API key file", .path.display())]
    NotFound { path: PathBuf },
    #[error("cannot read key file {}: {source}; check the path and that this user may read it", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {} is not valid JSON (syntax error at line {line}, column {column}); pass the JSON admin API key file from the Cloud Administration Console, not a bare PEM key", .path.display())]
    NotJson {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error("key file {} has no \"{field}\" field; download a new key file from the Cloud Administration Console", .path.display())]
    MissingField { path: PathBuf, field: &'static str },
    #[error("field \"{field}\" in key file {} must be a non-empty string; download a new key file from the Cloud Administration Console", .path.display())]
    FieldNotString { path: PathBuf, field: &'static str },
    #[error("accessKey in key file {} is not a usable RSA private key ({problem}); it must be a PEM \"BEGIN RSA PRIVATE KEY\" (PKCS#1) or \"BEGIN PRIVATE KEY\" (PKCS#8) block; download a new key file from the Cloud Administration Console", .path.display())]
    NotRsaKey {
        path: PathBuf,
        problem: &'static str,
    },
    #[error("adminRestApiUrl in key file {} is not an absolute URL; download a new key file from the Cloud Administration Console", .path.display())]
    BadUrl { path: PathBuf },
    #[error("adminRestApiUrl in key file {} is not https://; plain http:// is allowed only to a loopback host (localhost, 127.0.0.0/8, ::1)", .path.display())]
    InsecureUrl { path: PathBuf },
    #[error("key file {} belongs to the tenant at {key_host} (its adminRestApiUrl), but requests would go to {base_host} (--base-url or SECURID_BASE_URL); tokens from a key file go only to its own tenant: drop --base-url, unset SECURID_BASE_URL, or use the key file of {base_host}", .path.display())]
    ForeignHost {
        path: PathBuf,
        key_host: String,
        base_host: String,
    },
    #[error("could not sign a bearer token with the accessKey in key file {}; download a new key file from the Cloud Administration Console", .path.display())]
    Sign { path: PathBuf },
    #[error("the system clock reads before 1970, so no token can be signed; set the clock")]
    Clock,
}

pub use crate::net::is_loopback_host;

/// An admin API key file as issued by the Cloud Administration Console.
/// `Debug` shows the key as `[redacted]`.
#[derive(Debug)]
pub struct KeyFile {
    pub customer_name: String,
    pub access_id: String,
    pub admin_rest_api_url: String,
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

        let url = reqwest::Url::parse(&admin_rest_api_url)
            .map_err(|_| AuthError::BadUrl { path: p() })?;
        let loopback = url.host_str().is_some_and(is_loopback_host);
        if !(url.scheme() == "https" || url.scheme() == "http" && loopback) {
            return Err(AuthError::InsecureUrl { path: p() });
        }
        check_rsa_private_key(access_key.expose())
            .map_err(|problem| AuthError::NotRsaKey { path: p(), problem })?;
        Ok(KeyFile {
            customer_name,
            access_id,
            admin_rest_api_url,
            access_key,
            path: p(),
        })
    }

    /// A warning to print when the key file can be read (or written) by group
    /// or others. Always `None` off Unix or when the file cannot be inspected.
    pub fn permission_warning(path: &Path) -> Option<String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).ok()?.permissions().mode();
            if mode & 0o077 != 0 {
                let p = path.display();
                return Some(format!(
                    "warning: key file {p} is readable by group or others; chmod 600 {p}"
                ));
            }
        }
        #[cfg(not(unix))]
        let _ = path;
        None
    }

    /// Refuses a tenant other than the key's own: the tenant `adminRestApiUrl`
    /// names would accept tokens signed with this key, so they go to its
    /// host and port only.
    pub fn check_destination(&self, base: &reqwest::Url) -> Result<(), AuthError> {
        let authority = |url: &reqwest::Url| {
            let host = url.host_str().unwrap_or("?").to_ascii_lowercase();
            format!("{host}:{}", url.port_or_known_default().unwrap_or(0))
        };
        let own = reqwest::Url::parse(&self.admin_rest_api_url).map_err(|_| AuthError::BadUrl {
            path: self.path.clone(),
        })?;
        let (key_host, base_host) = (authority(&own), authority(base));
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

/// How long before `exp` a token is replaced: a tenth of its lifetime, at
/// most 60 s, at least 500 ms.
fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).clamp(MIN_MARGIN, MAX_MARGIN)
}

/// Time since the Unix epoch; replaceable in tests.
type Clock = Arc<dyn Fn() -> Result<Duration, AuthError> + Send + Sync>;

fn system_clock() -> Result<Duration, AuthError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| AuthError::Clock)
}

/// The source of bearer tokens for every worker (share it in an `Arc`). Its
/// `Debug` says which kind it is and how many tokens it minted, nothing more.
pub struct TokenProvider {
    source: Source,
    mints: AtomicU64,
}

enum Source {
    Fixed(Secret),
    KeyFile(Box<Signer>),
}

struct Signer {
    key: KeyFile,
    lifetime: Duration,
    clock: Clock,
    cache: RwLock<Cached>,
}

struct Cached {
    token: Secret,
    iat: u64,
}

fn mint_cached(key: &KeyFile, lifetime: Duration, now: Duration) -> Result<Cached, AuthError> {
    let iat = now.as_secs();
    let token = mint_jwt(key, iat, lifetime)?;
    Ok(Cached { token, iat })
}

impl Signer {
    fn is_fresh(&self, cached: &Cached) -> Result<bool, AuthError> {
        let expires = Duration::from_secs(cached.iat) + self.lifetime;
        Ok((self.clock)()? + refresh_margin(self.lifetime) < expires)
    }
}

impl TokenProvider {
    /// A token given by the user; it is never renewed.
    pub fn fixed(token: Secret) -> TokenProvider {
        let (source, mints) = (Source::Fixed(token), AtomicU64::new(0));
        TokenProvider { source, mints }
    }

    /// Signs tokens from `key`, each valid for `lifetime` in whole seconds,
    /// kept between 2 s and 1 h (so a new token is never due for renewal at
    /// once). Mints the first token now: a key the signer refuses fails here,
    /// not on the first row.
    pub fn from_key_file(key: KeyFile, lifetime: Duration) -> Result<TokenProvider, AuthError> {
        Self::with_clock(key, lifetime, Arc::new(system_clock))
    }

    fn with_clock(key: KeyFile, lifetime: Duration, clock: Clock) -> Result<Self, AuthError> {
        let lifetime = Duration::from_secs(lifetime.clamp(MIN_LIFETIME, MAX_LIFETIME).as_secs());
        let cache = RwLock::new(mint_cached(&key, lifetime, clock()?)?);
        let signer = Box::new(Signer {
            key,
            lifetime,
            clock,
            cache,
        });
        let (source, mints) = (Source::KeyFile(signer), AtomicU64::new(1));
        Ok(TokenProvider { source, mints })
    }

    /// The token to send now. A key-file token is replaced once less than
    /// [`refresh_margin`] of its life is left; callers arriving meanwhile wait
    /// for that one mint and share its token.
    pub async fn bearer(&self) -> Result<Secret, AuthError> {
        let signer = match &self.source {
            Source::Fixed(token) => return Ok(token.clone()),
            Source::KeyFile(signer) => signer,
        };
        {
            let cached = signer.cache.read().await;
            if signer.is_fresh(&cached)? {
                return Ok(cached.token.clone());
            }
        }
        let mut cached = signer.cache.write().await;
        // Whoever held the lock before us may have renewed it already.
        if !signer.is_fresh(&cached)? {
            self.remint(signer, &mut cached).await?;
        }
        Ok(cached.token.clone())
    }

    /// After a 401 or 403 for `rejected`: whether retrying the row once is
    /// worthwhile. A fixed token cannot change, so `false`. For a key file,
    /// `true` if the current token is already another one, else a new token
    /// is minted (`false` only if minting fails).
    pub async fn renew_after_rejection(&self, rejected: &Secret) -> bool {
        let Source::KeyFile(signer) = &self.source else {
            return false;
        };
        let mut cached = signer.cache.write().await;
        if cached.token != *rejected {
            return true;
        }
        self.remint(signer, &mut cached).await.is_ok()
    }

    /// How many tokens were signed, the first one included.
    pub fn mints(&self) -> u64 {
        self.mints.load(Ordering::Relaxed)
    }

    /// Replaces the cached token. Signing is deterministic, so a token signed
    /// in the same second as the cached one would be the same token: wait for
    /// the next second first (at most a second, only after a rejection).
    async fn remint(&self, signer: &Signer, cached: &mut Cached) -> Result<(), AuthError> {
        let mut now = (signer.clock)()?;
        while now.as_secs() == cached.iat {
            let wait = Duration::from_secs(cached.iat + 1).saturating_sub(now);
            tokio::time::sleep(wait.max(Duration::from_millis(5))).await;
            now = (signer.clock)()?;
        }
        *cached = mint_cached(&signer.key, signer.lifetime, now)?;
        self.mints.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.source {
            Source::Fixed(_) => "fixed token",
            Source::KeyFile(_) => "key file",
        };
        write!(f, "TokenProvider({kind}, {} mints)", self.mints())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::{encoding::AsDer, signature::KeyPair as _};
    use jsonwebtoken::{dangerous::insecure_decode_claims, decode, DecodingKey, Validation};

    const URL: &str = "https://acme.access.securid.com/AdminInterface/restapi/v1";
    const HEADER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9."; // {"typ":"JWT","alg":"RS256"}
    type Keys = (String, String, Vec<u8>);

    /// A fresh RSA-2048 key per test run, never stored: (PKCS#1 PEM, PKCS#8
    /// PEM, PKCS#1 RSAPublicKey DER).
    fn keys() -> &'static Keys {
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

    fn key_json(access_key: &str, url: &str) -> String {
        let json = serde_json::json!({"customerName": "acme", "accessID": "id-1",
            "description": "x", "accessKey": access_key, "adminRestApiUrl": url});
        json.to_string()
    }

    fn load(text: &str) -> Result<KeyFile, AuthError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.json"), text).unwrap();
        KeyFile::load(&dir.path().join("key.json"))
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Checks the signature, audience, expiry and exact header; returns the claims.
    fn verify(token: &Secret) -> Value {
        assert!(token.expose().starts_with(HEADER), "wrong header");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[URL]);
        let key = DecodingKey::from_rsa_der(&keys().2);
        let data = decode::<Value>(token.expose(), &key, &validation);
        data.unwrap().claims
    }

    /// Fails if any line of the key shows in `text`.
    fn assert_no_key(text: &str) {
        for line in keys().0.lines().chain(keys().1.lines()) {
            assert!(!text.contains(line), "key material leaked: {text}");
        }
    }

    #[tokio::test]
    async fn minted_jwt_verifies_and_lifetime_is_clamped() {
        let key = load(&key_json(&keys().0, URL)).unwrap();
        let iat = system_clock().unwrap().as_secs();
        let claims = verify(&mint_jwt(&key, iat, secs(600)).unwrap());
        let expected = serde_json::json!({"sub": "id-1", "aud": URL, "iat": iat, "exp": iat + 600});
        assert_eq!(claims, expected);
        let clamped = verify(&mint_jwt(&key, iat, secs(7200)).unwrap());
        assert_eq!(clamped["exp"], iat + 3600);
        let provider = TokenProvider::from_key_file(key, secs(7200)).unwrap();
        let claims = verify(&provider.bearer().await.unwrap());
        let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
        assert_eq!(exp.unwrap() - iat.unwrap(), 3600);
        assert_eq!(provider.mints(), 1);
    }

    #[test]
    fn escaped_newlines_crlf_and_pkcs8_are_accepted() {
        let (pkcs1, pkcs8, _) = keys();
        let (escaped, crlf) = (pkcs1.replace('\n', "\\n"), pkcs1.replace('\n', "\r\n"));
        for pem_text in [&escaped, &crlf, pkcs8] {
            let key = load(&key_json(pem_text, URL)).unwrap();
            let now = system_clock().unwrap().as_secs();
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
            check(load(&key_json(pkcs1, url)), "not https://");
        }
        check(load(&key_json(pkcs1, "acme/x")), "not an absolute URL");
        for url in
            "http://127.0.0.1:8080/AdminInterface http://[::1]:1/ http://LOCALHOST/".split(' ')
        {
            assert_eq!(load(&key_json(pkcs1, url)).unwrap().admin_rest_api_url, url);
        }
    }

    #[test]
    fn tenant_root_and_refresh_margin() {
        let root = |url: &str| load(&key_json(&keys().0, url)).unwrap().tenant_root();
        assert_eq!(root(URL), "https://acme.access.securid.com");
        assert_eq!(
            root("http://127.0.0.1:9/x/adminInterface/"),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(root("https://a.securid.com/"), "https://a.securid.com");
        let ms = |n| refresh_margin(secs(n)).as_millis();
        assert_eq!([ms(3600), ms(300), ms(2)], [60_000, 30_000, 500]);
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

    /// A provider on a fake clock (milliseconds since the epoch) the test moves.
    fn fake_provider(lifetime: Duration) -> (Arc<TokenProvider>, Arc<AtomicU64>) {
        let millis = Arc::new(AtomicU64::new(1_700_000_000_000));
        let read = millis.clone();
        let clock: Clock = Arc::new(move || Ok(Duration::from_millis(read.load(Ordering::SeqCst))));
        let key = load(&key_json(&keys().1, URL)).unwrap();
        let provider = TokenProvider::with_clock(key, lifetime, clock).unwrap();
        (Arc::new(provider), millis)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn renewal_before_expiry_is_single_flight() {
        fn shared<T: Send + Sync>(_: &T) {}
        let (provider, clock) = fake_provider(secs(600));
        shared(&*provider);
        let first = provider.bearer().await.unwrap();
        clock.fetch_add(539_000, Ordering::SeqCst); // 61 s left: still fresh
        assert!(provider.bearer().await.unwrap() == first && provider.mints() == 1);
        clock.fetch_add(2_000, Ordering::SeqCst); // 59 s left: renew
        let mut callers = Vec::new();
        for _ in 0..20 {
            let provider = provider.clone();
            callers.push(tokio::spawn(async move { provider.bearer().await }));
        }
        let mut tokens = Vec::new();
        for caller in callers {
            tokens.push(caller.await.unwrap().unwrap());
        }
        assert_eq!(provider.mints(), 2, "20 concurrent callers, one mint");
        assert!(tokens.iter().all(|t| *t == tokens[0]) && tokens[0] != first);
        let claims: Value = insecure_decode_claims(tokens[0].expose()).unwrap();
        assert_eq!(claims["iat"], 1_700_000_541u64);
    }

    #[tokio::test]
    async fn renew_after_rejection_semantics() {
        let fixed = TokenProvider::fixed(Secret::new("given"));
        assert!(!fixed.renew_after_rejection(&Secret::new("given")).await);
        assert_eq!(fixed.bearer().await.unwrap().expose(), "given");
        assert_eq!(format!("{fixed:?}"), "TokenProvider(fixed token, 0 mints)");

        let (provider, clock) = fake_provider(secs(3600));
        let first = provider.bearer().await.unwrap();
        clock.fetch_add(1_000, Ordering::SeqCst);
        assert!(provider.renew_after_rejection(&first).await); // current: mints
        assert!(provider.renew_after_rejection(&first).await); // already renewed
        assert_eq!(provider.mints(), 2);
        let second = provider.bearer().await.unwrap();
        assert_ne!(second, first);
        // Rejected within the second it was signed: the next token waits for
        // the clock to tick, so that it differs.
        let ticker = clock.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            ticker.fetch_add(1_000, Ordering::SeqCst);
        });
        assert!(provider.renew_after_rejection(&second).await);
        assert_ne!(provider.bearer().await.unwrap(), second);
        assert_eq!(format!("{provider:?}"), "TokenProvider(key file, 3 mints)");
    }
}
