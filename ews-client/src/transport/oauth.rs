//! OAuth 2.0: the [`TokenProvider`] trait and the built-in client credentials flow.

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::TransportError;
use super::scrub::Scrubber;

/// The largest token endpoint answer read (a token response is a few KiB).
const MAX_TOKEN_RESPONSE_BYTES: u64 = 1024 * 1024;

/// Default scope for Exchange Online EWS.
pub const EXCHANGE_ONLINE_SCOPE: &str = "https://outlook.office365.com/.default";

/// Supplies bearer tokens for EWS requests.
///
/// Implement this for OAuth flows other than the built-in client credentials grant (device
/// code, certificate credentials, managed identity, ...). The transport calls
/// [`token`](Self::token) before each attempt (implementations should cache) and
/// [`invalidate`](Self::invalidate) when the server answers 401 with that token, then asks
/// for a token once more.
#[async_trait]
pub trait TokenProvider: Send + Sync {
    /// Returns a currently valid access token.
    async fn token(&self) -> Result<SecretString, TransportError>;

    /// Tells the provider that `rejected` was refused by the server (HTTP 401); the next
    /// [`token`](Self::token) call must not return it again.
    async fn invalidate(&self, rejected: &SecretString);

    /// The [`Scrubber`] that knows this provider's secrets (client secret, signed
    /// assertions, the tokens it issued), for a client that copies server text into errors;
    /// `None` (the default) if the provider shares none.
    fn scrubber(&self) -> Option<Scrubber> {
        None
    }
}

/// Signs the client assertion of a certificate credential (RFC 7523 `client_assertion`, a
/// JWT signed with the application's private key) for one token request.
///
/// With [`ClientCredentialsProvider::with_assertion`] the provider sends
/// `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and the
/// signed assertion instead of `client_secret`; caching and the refresh on 401 are the same.
pub trait ClientAssertion: Send + Sync {
    /// A freshly signed assertion for `client_id` with audience `token_endpoint`.
    fn assertion(
        &self,
        token_endpoint: &url::Url,
        client_id: &str,
    ) -> Result<SecretString, TransportError>;
}

/// Settings of the OAuth 2.0 client credentials grant (Microsoft identity platform).
#[derive(Clone)]
pub struct OAuthClientCredentials {
    /// Directory (tenant) id or domain.
    pub tenant: String,
    /// Application (client) id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: SecretString,
    /// Token endpoint; default
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`.
    pub token_url: Option<url::Url>,
    /// Requested scope; default [`EXCHANGE_ONLINE_SCOPE`].
    pub scope: String,
    /// A cached token is renewed this long before it expires (at most half its lifetime).
    pub refresh_margin: Duration,
}

impl OAuthClientCredentials {
    /// Client credentials for `tenant` with the default endpoint and scope.
    pub fn new(
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            token_url: None,
            scope: EXCHANGE_ONLINE_SCOPE.to_owned(),
            refresh_margin: Duration::from_secs(300),
        }
    }

    /// Uses another token endpoint (national clouds, tests).
    pub fn with_token_url(mut self, token_url: url::Url) -> Self {
        self.token_url = Some(token_url);
        self
    }

    /// Uses another scope.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// The token endpoint in effect.
    pub fn token_endpoint(&self) -> Result<url::Url, TransportError> {
        match &self.token_url {
            Some(url) => Ok(url.clone()),
            None => {
                if self.tenant.is_empty()
                    || !self
                        .tenant
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                {
                    return Err(TransportError::InvalidConfig(
                        "OAuth tenant must be a tenant id or domain".to_owned(),
                    ));
                }
                url::Url::parse(&format!(
                    "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                    self.tenant
                ))
                .map_err(|e| TransportError::InvalidConfig(format!("OAuth token URL: {e}")))
            }
        }
    }
}

impl fmt::Debug for OAuthClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClientCredentials")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("token_url", &self.token_url.as_ref().map(url::Url::as_str))
            .field("scope", &self.scope)
            .field("refresh_margin", &self.refresh_margin)
            .finish()
    }
}

struct CachedToken {
    token: SecretString,
    refresh_at: Instant,
}

/// [`TokenProvider`] for the client credentials grant: POSTs
/// `grant_type=client_credentials`, `client_id`, `client_secret` and `scope` as a form to the
/// token endpoint and caches the token until `refresh_margin` before `expires_in` runs out.
/// Concurrent callers share one token request.
pub struct ClientCredentialsProvider {
    credentials: OAuthClientCredentials,
    assertion: Option<std::sync::Arc<dyn ClientAssertion>>,
    endpoint: url::Url,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<Option<CachedToken>>,
    scrubber: Scrubber,
}

impl fmt::Debug for ClientCredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsProvider")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

impl ClientCredentialsProvider {
    /// A provider using its own HTTP client (system-independent webpki roots).
    pub fn new(credentials: OAuthClientCredentials) -> Result<Self, TransportError> {
        let tls = super::tls::client_config(&[], super::CertificateCheck::Verify)?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| TransportError::InvalidConfig(format!("HTTP client: {e}")))?;
        Self::with_client(credentials, http)
    }

    /// A provider authenticating with a signed client assertion (certificate credential)
    /// instead of `credentials.client_secret`, which is then not sent.
    pub fn with_assertion(
        credentials: OAuthClientCredentials,
        http: reqwest::Client,
        assertion: std::sync::Arc<dyn ClientAssertion>,
    ) -> Result<Self, TransportError> {
        let mut provider = Self::with_client(credentials, http)?;
        provider.assertion = Some(assertion);
        Ok(provider)
    }

    /// A provider sending token requests through `http`.
    pub fn with_client(
        credentials: OAuthClientCredentials,
        http: reqwest::Client,
    ) -> Result<Self, TransportError> {
        let endpoint = credentials.token_endpoint()?;
        if credentials.client_id.is_empty() {
            return Err(TransportError::InvalidConfig(
                "OAuth client id is empty".to_owned(),
            ));
        }
        let scrubber = Scrubber::new();
        scrubber.add_secret(credentials.client_secret.expose_secret());
        Ok(Self {
            credentials,
            assertion: None,
            endpoint,
            http,
            cache: tokio::sync::Mutex::new(None),
            scrubber,
        })
    }

    /// Shares `scrubber` (e.g. the transport's): the client secret and every token this
    /// provider obtains are added to it, and it cleans the token endpoint's error texts.
    pub fn with_scrubber(mut self, scrubber: Scrubber) -> Self {
        scrubber.add_secret(self.credentials.client_secret.expose_secret());
        self.scrubber = scrubber;
        self
    }

    /// The scrubber that knows this provider's client secret and tokens.
    pub fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }

    async fn fetch(&self) -> Result<CachedToken, TransportError> {
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials")
                .append_pair("client_id", &self.credentials.client_id);
            match &self.assertion {
                Some(signer) => {
                    let assertion =
                        signer.assertion(&self.endpoint, &self.credentials.client_id)?;
                    // an echoing token endpoint must not put it into an error either
                    self.scrubber.add_token(assertion.expose_secret());
                    form.append_pair(
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    )
                    .append_pair("client_assertion", assertion.expose_secret());
                }
                None => {
                    form.append_pair(
                        "client_secret",
                        self.credentials.client_secret.expose_secret(),
                    );
                }
            }
            form.append_pair("scope", &self.credentials.scope).finish()
        };
        tracing::debug!(endpoint = %self.endpoint, client_id = %self.credentials.client_id, "fetching OAuth token");
        let started = Instant::now();
        let response = self
            .http
            .post(self.endpoint.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| TransportError::TokenEndpoint {
                status: 0,
                error: super::tls::error_chain(&e.without_url()),
                description: None,
            })?;
        let status = response.status().as_u16();
        let declared = response.content_length();
        let body = super::body::collect_limited(
            response.bytes_stream(),
            declared,
            MAX_TOKEN_RESPONSE_BYTES,
        )
        .await
        .map_err(|e| match e {
            super::body::BodyError::TooLarge { limit, declared } => {
                TransportError::ResponseTooLarge { limit, declared }
            }
            super::body::BodyError::Read(e) => TransportError::TokenEndpoint {
                status,
                error: super::tls::error_chain(&e.without_url()),
                description: None,
            },
        })?;
        let parsed: Option<TokenResponse> = serde_json::from_slice(&body).ok();
        let Some(parsed) = parsed else {
            return Err(TransportError::TokenEndpoint {
                status,
                error: "response is not an OAuth JSON document".to_owned(),
                description: None,
            });
        };
        if !(200..300).contains(&status) || parsed.access_token.is_none() {
            // the endpoint may echo the request (client secret) or a token: scrub
            return Err(TransportError::TokenEndpoint {
                status,
                error: parsed.error.map_or_else(
                    || "no access_token".to_owned(),
                    |e| self.scrubber.scrub_to(&e, 100),
                ),
                description: parsed.error_description.map(|d| self.scrubber.scrub(&d)),
            });
        }
        let token = parsed.access_token.unwrap_or_default();
        self.scrubber.add_token(&token);
        let expires_in = match parsed.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .unwrap_or(3600);
        let lifetime = Duration::from_secs(expires_in);
        let margin = self.credentials.refresh_margin.min(lifetime / 2);
        Ok(CachedToken {
            token: SecretString::from(token),
            refresh_at: started + (lifetime - margin),
        })
    }
}

#[async_trait]
impl TokenProvider for ClientCredentialsProvider {
    async fn token(&self) -> Result<SecretString, TransportError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cache = Some(fresh);
        Ok(token)
    }

    async fn invalidate(&self, rejected: &SecretString) {
        let mut cache = self.cache.lock().await;
        if cache
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == rejected.expose_secret())
        {
            *cache = None;
        }
    }

    fn scrubber(&self) -> Option<Scrubber> {
        Some(self.scrubber.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_endpoint_uses_tenant() {
        let c = OAuthClientCredentials::new("contoso.onmicrosoft.com", "app", "s3cr3t");
        assert_eq!(
            c.token_endpoint().expect("endpoint").as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(c.scope, "https://outlook.office365.com/.default");
        let bad = OAuthClientCredentials::new("a/b", "app", "s");
        assert!(matches!(
            bad.token_endpoint(),
            Err(TransportError::InvalidConfig(_))
        ));
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
