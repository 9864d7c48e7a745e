//! Where bearer tokens come from. (Placeholder until the key-file provider lands.)

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no token")]
    Missing,
}

pub struct TokenProvider {
    token: Secret,
}

impl TokenProvider {
    pub fn fixed(token: Secret) -> TokenProvider {
        TokenProvider { token }
    }

    pub async fn bearer(&self) -> Result<Secret, AuthError> {
        Ok(self.token.clone())
    }

    pub async fn renew_after_rejection(&self, _rejected: &Secret) -> bool {
        false
    }

    pub fn mints(&self) -> u64 {
        0
    }
}

pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
