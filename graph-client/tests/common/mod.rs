//! Helpers shared by the graph-client tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ews_client::transport::{RetryPolicy, SecretString, TokenProvider, TransportError};
use graph_client::{Client, ClientConfig};

/// Hands out `token-1`, then `token-2` after an invalidation, ...
#[derive(Default)]
pub struct CountingTokens {
    pub generation: AtomicUsize,
    pub invalidations: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenProvider for CountingTokens {
    async fn token(&self) -> Result<SecretString, TransportError> {
        let g = self.generation.load(Ordering::SeqCst) + 1;
        Ok(SecretString::from(format!("token-{g}")))
    }

    async fn invalidate(&self, _rejected: &SecretString) {
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// Always `token-1-abcdefgh`.
pub struct LongTokens;

#[async_trait::async_trait]
impl TokenProvider for LongTokens {
    async fn token(&self) -> Result<SecretString, TransportError> {
        Ok(SecretString::from("token-1-abcdefgh".to_owned()))
    }

    async fn invalidate(&self, _rejected: &SecretString) {}
}

/// A config for a test server at `uri`: fast retries, 10 ms Retry-After floor.
pub fn config(uri: &str, tokens: Arc<CountingTokens>) -> ClientConfig {
    config_with(uri, tokens)
}

/// [`config`] with any token provider.
pub fn config_with(uri: &str, tokens: Arc<dyn TokenProvider>) -> ClientConfig {
    ClientConfig::new(tokens)
        .with_base_url(url::Url::parse(&format!("{uri}/v1.0/")).unwrap())
        .with_retry(
            RetryPolicy::default()
                .with_delays(Duration::from_millis(10), Duration::from_millis(50))
                .with_max_attempts(4)
                .with_max_retry_after(Duration::from_secs(5)),
        )
        .with_retry_after_floor(Duration::from_millis(10))
        .with_timeouts(Duration::from_secs(5), Duration::from_secs(10))
}

pub fn client(uri: &str) -> (Client, Arc<CountingTokens>) {
    let tokens = Arc::new(CountingTokens::default());
    (Client::new(config(uri, tokens.clone())).unwrap(), tokens)
}
