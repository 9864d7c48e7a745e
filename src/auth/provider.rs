//! [`TokenProvider`], the one place workers get the value of their
//! `Authorization: Bearer` header: a fixed token (`--token` or the
//! environment), or one renewed shortly before it expires, signed from a key
//! file or obtained from an OAuth token endpoint. Renewal is single-flight:
//! callers arriving while a new token is being had wait for it and share it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::RwLock;

use super::{mint_jwt, AuthError, KeyFile, OAuthClient, MAX_LIFETIME};
use crate::secret::Secret;

const MIN_LIFETIME: Duration = Duration::from_secs(2);
/// The longest an OAuth access token is kept, whatever `expires_in` said.
pub const MAX_OAUTH_LIFETIME: Duration = Duration::from_secs(24 * 3600);
const MIN_MARGIN: Duration = Duration::from_millis(500);
const MAX_MARGIN: Duration = Duration::from_secs(60);

/// How long before expiry a token is replaced: a tenth of its lifetime, at
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

/// Where a run's bearer tokens come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A token given by the user, never renewed.
    Fixed,
    /// Signed from an admin API key file.
    KeyFile,
    /// Obtained from an OAuth token endpoint.
    OAuth,
}

/// The source of bearer tokens for every worker (share it in an `Arc`). Its
/// `Debug` says which kind it is and how many tokens it minted, nothing more.
pub struct TokenProvider {
    source: Source,
    mints: AtomicU64,
}

enum Source {
    Fixed(Secret),
    Renewing(Box<Renewing>),
}

/// A token that is replaced before it expires.
struct Renewing {
    minter: Minter,
    clock: Clock,
    cache: RwLock<Cached>,
    /// The token endpoint's final refusal, once it refused: every later
    /// caller gets it at once instead of asking again, row after row.
    refused: Mutex<Option<String>>,
}

/// How a new token is had.
enum Minter {
    KeyFile { key: KeyFile, lifetime: Duration },
    OAuth(OAuthClient),
}

struct Cached {
    token: Secret,
    /// When it was had, since the Unix epoch.
    issued: Duration,
    lifetime: Duration,
}

impl Minter {
    async fn mint(&self, now: Duration) -> Result<Cached, AuthError> {
        match self {
            Minter::KeyFile { key, lifetime } => signed(key, *lifetime, now),
            Minter::OAuth(client) => {
                let (token, lifetime) = client.obtain(now).await?;
                let lifetime = lifetime.clamp(Duration::from_secs(1), MAX_OAUTH_LIFETIME);
                Ok(Cached {
                    token,
                    issued: now,
                    lifetime,
                })
            }
        }
    }
}

/// A token signed from `key` at `now`, in whole seconds.
fn signed(key: &KeyFile, lifetime: Duration, now: Duration) -> Result<Cached, AuthError> {
    let iat = now.as_secs();
    Ok(Cached {
        token: mint_jwt(key, iat, lifetime)?,
        issued: Duration::from_secs(iat),
        lifetime,
    })
}

impl Renewing {
    /// Checked sums: a lifetime the network handed over must not be able
    /// to overflow the clock; a sum out of range counts as stale.
    fn is_fresh(&self, cached: &Cached) -> Result<bool, AuthError> {
        let expires = cached.issued.checked_add(cached.lifetime);
        let renew_at = (self.clock)()?.checked_add(refresh_margin(cached.lifetime));
        Ok(matches!((renew_at, expires), (Some(renew_at), Some(expires)) if renew_at < expires))
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
        let lifetime = Duration::from_secs(lifetime.clamp(MIN_LIFETIME, MAX_LIFETIME).as_secs());
        let clock: Clock = Arc::new(system_clock);
        let first = signed(&key, lifetime, clock()?)?;
        Ok(Self::renewing(
            Minter::KeyFile { key, lifetime },
            clock,
            first,
        ))
    }

    /// Obtains access tokens from the client's token endpoint. The first one
    /// is had now: a client the endpoint refuses stops the run here, before
    /// any row is sent.
    pub async fn from_oauth(client: OAuthClient) -> Result<TokenProvider, AuthError> {
        Self::start(Minter::OAuth(client), Arc::new(system_clock)).await
    }

    async fn start(minter: Minter, clock: Clock) -> Result<TokenProvider, AuthError> {
        let first = minter.mint(clock()?).await?;
        Ok(Self::renewing(minter, clock, first))
    }

    fn renewing(minter: Minter, clock: Clock, first: Cached) -> TokenProvider {
        let renewing = Renewing {
            minter,
            clock,
            cache: RwLock::new(first),
            refused: Mutex::default(),
        };
        let source = Source::Renewing(Box::new(renewing));
        TokenProvider {
            source,
            mints: AtomicU64::new(1),
        }
    }

    /// The public ID of the credential: a key file's access ID or an OAuth
    /// client's Client ID (none for a given token).
    pub fn public_id(&self) -> Option<&str> {
        match &self.source {
            Source::Fixed(_) => None,
            Source::Renewing(r) => match &r.minter {
                Minter::KeyFile { key, .. } => Some(&key.access_id),
                Minter::OAuth(client) => Some(client.client_id()),
            },
        }
    }

    /// Which kind of source this is.
    pub fn kind(&self) -> TokenKind {
        match &self.source {
            Source::Fixed(_) => TokenKind::Fixed,
            Source::Renewing(r) => match r.minter {
                Minter::KeyFile { .. } => TokenKind::KeyFile,
                Minter::OAuth(_) => TokenKind::OAuth,
            },
        }
    }

    /// The token to send now. A renewing token is replaced once less than
    /// [`refresh_margin`] of its life is left; callers arriving meanwhile
    /// wait for that one renewal and share its token.
    pub async fn bearer(&self) -> Result<Secret, AuthError> {
        let renewing = match &self.source {
            Source::Fixed(token) => return Ok(token.clone()),
            Source::Renewing(renewing) => renewing,
        };
        {
            let cached = renewing.cache.read().await;
            if renewing.is_fresh(&cached)? {
                return Ok(cached.token.clone());
            }
        }
        let mut cached = renewing.cache.write().await;
        // Whoever held the lock before us may have renewed it already.
        if !renewing.is_fresh(&cached)? {
            self.renew(renewing, &mut cached).await?;
        }
        Ok(cached.token.clone())
    }

    /// After a 401 or 403 for `rejected`: whether retrying the row once is
    /// worthwhile. A fixed token cannot change, so `false`. Otherwise `true`
    /// if the current token is already another one, else a new token is had
    /// (`false` only if that fails).
    pub async fn renew_after_rejection(&self, rejected: &Secret) -> bool {
        let Source::Renewing(renewing) = &self.source else {
            return false;
        };
        let mut cached = renewing.cache.write().await;
        if cached.token != *rejected {
            return true;
        }
        self.renew(renewing, &mut cached).await.is_ok()
    }

    /// How many tokens were signed or obtained, the first one included.
    pub fn mints(&self) -> u64 {
        self.mints.load(Ordering::Relaxed)
    }

    /// Replaces the cached token. Signing from a key file is deterministic,
    /// so a token signed in the same second as the cached one would be the
    /// same token: wait for the next second first (at most a second, only
    /// after a rejection). An OAuth assertion carries a fresh `jti`, so each
    /// access token is new.
    async fn renew(&self, renewing: &Renewing, cached: &mut Cached) -> Result<(), AuthError> {
        let refused = renewing
            .refused
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default();
        if let Some(message) = refused {
            return Err(AuthError::RefusedBefore(message));
        }
        let mut now = (renewing.clock)()?;
        if let Minter::KeyFile { .. } = renewing.minter {
            while now.as_secs() == cached.issued.as_secs() {
                let wait = Duration::from_secs(cached.issued.as_secs() + 1).saturating_sub(now);
                tokio::time::sleep(wait.max(Duration::from_millis(5))).await;
                now = (renewing.clock)()?;
            }
        }
        match renewing.minter.mint(now).await {
            Ok(fresh) => *cached = fresh,
            Err(AuthError::OAuth(e)) if e.is_final() => {
                if let Ok(mut refused) = renewing.refused.lock() {
                    *refused = Some(e.to_string());
                }
                return Err(e.into());
            }
            Err(e) => return Err(e),
        }
        self.mints.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind() {
            TokenKind::Fixed => "fixed token",
            TokenKind::KeyFile => "key file",
            TokenKind::OAuth => "OAuth client",
        };
        write!(f, "TokenProvider({kind}, {} mints)", self.mints())
    }
}

#[cfg(test)]
mod tests {
    use super::super::key_file::tests::{key_json, keys, load, now_secs, secs, verify, URL};
    use super::*;
    use jsonwebtoken::dangerous::insecure_decode_claims;
    use serde_json::Value;

    #[test]
    fn refresh_margin_is_a_tenth_within_bounds() {
        let ms = |n| refresh_margin(secs(n)).as_millis();
        assert_eq!([ms(3600), ms(300), ms(2)], [60_000, 30_000, 500]);
    }

    #[tokio::test]
    async fn key_file_tokens_are_clamped_to_an_hour() {
        let key = load(&key_json(&keys().0, URL)).unwrap();
        let provider = TokenProvider::from_key_file(key, secs(7200)).unwrap();
        let claims = verify(&provider.bearer().await.unwrap());
        let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
        assert_eq!(exp.unwrap() - iat.unwrap(), 3600);
        assert!(iat.unwrap() <= now_secs());
        assert_eq!(provider.mints(), 1);
        assert_eq!(provider.kind(), TokenKind::KeyFile);
    }

    /// A provider on a fake clock (milliseconds since the epoch) the test moves.
    async fn fake_provider(lifetime: Duration) -> (Arc<TokenProvider>, Arc<AtomicU64>) {
        let millis = Arc::new(AtomicU64::new(1_700_000_000_000));
        let read = millis.clone();
        let clock: Clock = Arc::new(move || Ok(Duration::from_millis(read.load(Ordering::SeqCst))));
        let key = load(&key_json(&keys().1, URL)).unwrap();
        let minter = Minter::KeyFile { key, lifetime };
        let provider = TokenProvider::start(minter, clock).await.unwrap();
        (Arc::new(provider), millis)
    }

    #[tokio::test]
    async fn a_lifetime_past_the_clocks_range_is_stale_not_a_panic() {
        let (provider, _) = fake_provider(secs(600)).await;
        let Source::Renewing(renewing) = &provider.source else {
            panic!("a key file renews");
        };
        renewing.cache.write().await.lifetime = Duration::MAX;
        let cached = renewing.cache.read().await;
        assert!(!renewing.is_fresh(&cached).unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn renewal_before_expiry_is_single_flight() {
        fn shared<T: Send + Sync>(_: &T) {}
        let (provider, clock) = fake_provider(secs(600)).await;
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

        let (provider, clock) = fake_provider(secs(3600)).await;
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
