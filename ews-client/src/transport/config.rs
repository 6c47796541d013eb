//! Transport configuration: endpoint, authentication, timeouts, TLS, limits, retries.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::body::DEFAULT_MAX_RESPONSE_BYTES;
use super::oauth::{OAuthClientCredentials, TokenProvider};
use super::retry::RetryPolicy;
use super::tls::CertificateFingerprint;

/// Default for [`TransportConfig::max_concurrency`] and
/// [`TransportConfig::max_concurrency_per_mailbox`], as Exchange's `EWSMaxConcurrency`.
pub const DEFAULT_MAX_CONCURRENCY: usize = 27;

/// Exchange's default ConcurrentSyncCalls: `Sync*` calls (SyncFolderItems,
/// SyncFolderHierarchy) one account may have in flight; more are refused with
/// `ErrorServerBusy`.
pub const DEFAULT_MAX_CONCURRENT_SYNC_CALLS: usize = 5;

/// How the transport authenticates to the EWS endpoint.
///
/// `Debug` never shows passwords, client secrets or tokens.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// HTTP Basic authentication.
    Basic {
        /// User name, e.g. `user@contoso.com` or `CONTOSO\user`.
        username: String,
        /// Password.
        password: SecretString,
    },
    /// NTLMv2 (the Exchange on-premises default). The handshake runs on a dedicated HTTP/1.1
    /// connection, which is then reused for further requests (NTLM authenticates connections).
    Ntlm {
        /// User name without domain (or a UPN with an empty `domain`).
        username: String,
        /// Password.
        password: SecretString,
        /// NetBIOS domain, e.g. `CONTOSO`; may be empty.
        domain: String,
        /// Workstation name sent in the NTLM messages.
        workstation: String,
    },
    /// OAuth 2.0 client credentials grant (Exchange Online, app-only access with
    /// impersonation). Tokens are cached until shortly before expiry and refreshed once on 401.
    OAuthClientCredentials(OAuthClientCredentials),
    /// A bearer token from a host-supplied provider (any other OAuth flow).
    Bearer(Arc<dyn TokenProvider>),
}

impl Auth {
    /// Basic authentication.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    /// NTLM authentication. `user` may be `DOMAIN\user` (split into domain and user name) or
    /// a UPN / plain user name (empty domain). The workstation name defaults to `EWSCLIENT`.
    pub fn ntlm(user: &str, password: impl Into<String>) -> Self {
        let (domain, username) = match user.split_once('\\') {
            Some((d, u)) => (d.to_owned(), u.to_owned()),
            None => (String::new(), user.to_owned()),
        };
        Self::Ntlm {
            username,
            password: SecretString::from(password.into()),
            domain,
            workstation: "EWSCLIENT".to_owned(),
        }
    }

    /// OAuth client credentials.
    pub fn oauth(credentials: OAuthClientCredentials) -> Self {
        Self::OAuthClientCredentials(credentials)
    }

    /// Bearer tokens from a host-supplied provider.
    pub fn bearer(provider: Arc<dyn TokenProvider>) -> Self {
        Self::Bearer(provider)
    }

    /// The scheme name used in errors and logs: `none`, `Basic`, `NTLM` or `Bearer`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Basic { .. } => "Basic",
            Self::Ntlm { .. } => "NTLM",
            Self::OAuthClientCredentials(_) | Self::Bearer(_) => "Bearer",
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"[REDACTED]")
                .finish(),
            Self::Ntlm {
                username,
                domain,
                workstation,
                ..
            } => f
                .debug_struct("Ntlm")
                .field("username", username)
                .field("password", &"[REDACTED]")
                .field("domain", domain)
                .field("workstation", workstation)
                .finish(),
            Self::OAuthClientCredentials(c) => {
                f.debug_tuple("OAuthClientCredentials").field(c).finish()
            }
            Self::Bearer(_) => f.write_str("Bearer(<token provider>)"),
        }
    }
}

/// Configuration of an [`HttpTransport`](super::HttpTransport); builder style.
///
/// ```
/// use std::time::Duration;
/// use ews_client::transport::{Auth, TransportConfig};
/// let url = url::Url::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap();
/// let config = TransportConfig::new(url, Auth::ntlm("CONTOSO\\svc-crm", "secret"))
///     .with_timeout(Duration::from_secs(60))
///     .with_max_concurrency(10);
/// assert!(!format!("{config:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct TransportConfig {
    /// EWS endpoint, e.g. `https://host/EWS/Exchange.asmx`. Must be http(s) without
    /// user info in the URL.
    pub url: url::Url,
    /// Authentication.
    pub auth: Auth,
    /// Timeout of one HTTP attempt (bounded further by each request's deadline).
    pub timeout: Duration,
    /// TCP (and TLS) connect timeout.
    pub connect_timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Skip certificate verification, only allowed when the URL host is loopback
    /// (`localhost`, 127.0.0.0/8, ::1); [`HttpTransport::new`](super::HttpTransport::new)
    /// rejects it for any other host.
    pub danger_accept_invalid_certs_on_loopback: bool,
    /// Additional trusted root certificates (PEM), e.g. a private CA. Each must be a CA
    /// certificate: webpki refuses a self-signed server certificate with `CA:TRUE` as the
    /// server's own certificate even when it is listed here (`CaUsedAsEndEntity`); pin such a
    /// certificate instead (see the [`tls` notes](super#tls)).
    pub extra_root_certificates: Vec<Vec<u8>>,
    /// SHA-256 fingerprints of the server certificates to accept. When not empty, exactly
    /// these end-entity certificates are accepted, without root store, name or validity
    /// checks (the handshake signature is still verified); every other certificate fails
    /// with [`TransportError::Tls`](super::TransportError::Tls) naming its fingerprint.
    pub pinned_certificates: Vec<CertificateFingerprint>,
    /// The largest response body read, in bytes (default 64 MiB); a request may set its
    /// own ([`SoapRequest::max_response_bytes`](super::SoapRequest::max_response_bytes)).
    /// A larger answer fails with
    /// [`TransportError::ResponseTooLarge`](super::TransportError::ResponseTooLarge) without
    /// being read further, and is not requested again.
    pub max_response_bytes: u64,
    /// Maximum concurrent requests per anchor mailbox.
    pub max_concurrency_per_mailbox: usize,
    /// Maximum concurrent requests of this transport.
    pub max_concurrency: usize,
    /// Maximum concurrent `Sync*` calls of this transport (Exchange's ConcurrentSyncCalls
    /// for the account; [`DEFAULT_MAX_CONCURRENT_SYNC_CALLS`] by default). The client waits
    /// for a slot instead of having the server refuse the call.
    pub max_concurrent_sync_calls: usize,
    /// Maximum idle pooled connections per host.
    pub pool_max_idle_per_host: usize,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// Retry policy for transient failures.
    pub retry: RetryPolicy,
}

impl TransportConfig {
    /// A configuration with defaults: 100 s timeout, 10 s connect timeout, 27 concurrent
    /// requests per client and per mailbox, [`RetryPolicy::default`].
    pub fn new(url: url::Url, auth: Auth) -> Self {
        Self {
            url,
            auth,
            timeout: Duration::from_secs(100),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("ews-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            danger_accept_invalid_certs_on_loopback: false,
            extra_root_certificates: Vec::new(),
            pinned_certificates: Vec::new(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_concurrency_per_mailbox: DEFAULT_MAX_CONCURRENCY,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_concurrent_sync_calls: DEFAULT_MAX_CONCURRENT_SYNC_CALLS,
            pool_max_idle_per_host: 32,
            pool_idle_timeout: Duration::from_secs(90),
            retry: RetryPolicy::default(),
        }
    }

    /// Sets the per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the `User-Agent`.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Accepts invalid certificates for a loopback endpoint (tests against a local mock);
    /// [`HttpTransport::new`](super::HttpTransport::new) rejects it for any other host.
    pub fn with_danger_accept_invalid_certs_on_loopback(mut self) -> Self {
        self.danger_accept_invalid_certs_on_loopback = true;
        self
    }

    /// Adds a trusted root certificate (PEM).
    pub fn with_extra_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_root_certificates.push(pem.into());
        self
    }

    /// Accepts exactly the server certificate with this SHA-256 fingerprint (may be called
    /// more than once, e.g. for the old and the new certificate during a renewal).
    pub fn with_pinned_certificate(mut self, fingerprint: CertificateFingerprint) -> Self {
        self.pinned_certificates.push(fingerprint);
        self
    }

    /// Sets the largest response body read, in bytes.
    pub fn with_max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Sets the per-mailbox concurrency limit.
    pub fn with_max_concurrency_per_mailbox(mut self, limit: usize) -> Self {
        self.max_concurrency_per_mailbox = limit;
        self
    }

    /// Sets the per-client concurrency limit.
    pub fn with_max_concurrency(mut self, limit: usize) -> Self {
        self.max_concurrency = limit;
        self
    }

    /// Sets how many `Sync*` calls may be in flight at once (the account's
    /// ConcurrentSyncCalls; raise it only where the throttling policy allows more).
    pub fn with_max_concurrent_sync_calls(mut self, limit: usize) -> Self {
        self.max_concurrent_sync_calls = limit;
        self
    }

    /// Sets the connection pool parameters.
    pub fn with_pool(mut self, max_idle_per_host: usize, idle_timeout: Duration) -> Self {
        self.pool_max_idle_per_host = max_idle_per_host;
        self.pool_idle_timeout = idle_timeout;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

impl fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut url = self.url.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("[REDACTED]"));
        }
        f.debug_struct("TransportConfig")
            .field("url", &url.as_str())
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("user_agent", &self.user_agent)
            .field(
                "danger_accept_invalid_certs_on_loopback",
                &self.danger_accept_invalid_certs_on_loopback,
            )
            .field(
                "extra_root_certificates",
                &self.extra_root_certificates.len(),
            )
            .field("pinned_certificates", &self.pinned_certificates)
            .field("max_response_bytes", &self.max_response_bytes)
            .field(
                "max_concurrency_per_mailbox",
                &self.max_concurrency_per_mailbox,
            )
            .field("max_concurrency", &self.max_concurrency)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("retry", &self.retry)
            .finish()
    }
}
