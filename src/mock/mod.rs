//! The simulated tenant. (Placeholder with the public shape; replaced by the real mock.)

use crate::secret::Secret;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct MockOptions {}

impl MockOptions {
    pub fn sample() -> Self {
        MockOptions {}
    }
}

#[derive(Debug, thiserror::Error)]
#[error("mock unavailable")]
pub struct MockError;

pub struct MockServer {
    token: Secret,
}

impl MockServer {
    pub async fn start(_opts: MockOptions) -> Result<MockServer, MockError> {
        Err(MockError)
    }
    pub fn base_url(&self) -> String {
        String::new()
    }
    pub fn static_token(&self) -> &Secret {
        &self.token
    }
    pub async fn shutdown(self) {}
}

pub async fn run_standalone(_opts: MockOptions) -> anyhow::Result<()> {
    Ok(())
}
