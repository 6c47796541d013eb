//! HTTP transport for EWS: bytes in, bytes out.
//!
//! This layer knows no EWS XML. [`HttpTransport::post`] sends one SOAP envelope to the
//! configured endpoint and returns the final HTTP response (200, 500 with a SOAP fault, ...)
//! for the protocol layer to parse. On the way it handles:
//!
//! * **Authentication** ([`Auth`]): Basic; NTLMv2 (handshake on a dedicated HTTP/1.1
//!   connection through hyper's connection API, see below); OAuth 2.0 client credentials
//!   ([`OAuthClientCredentials`], token cached, refreshed once on 401); host-supplied bearer
//!   tokens ([`TokenProvider`]).
//! * **Impersonation routing**: `X-AnchorMailbox` from [`SoapRequest::anchor_mailbox`] (the
//!   `ExchangeImpersonation` SOAP header is the protocol layer's business).
//! * **HTTP throttling**: 429 and 503 wait for `Retry-After` (seconds or HTTP date), or the
//!   [`RetryPolicy`] back-off without it.
//! * **Transient failures**: connection failures back off exponentially with jitter. A
//!   request that was sent but got no answer is retried only if it is
//!   [idempotent](SoapRequest::idempotent); otherwise [`TransportError::OutcomeUnknown`].
//! * **Deadline**: [`SoapRequest::deadline`] bounds waiting for permits, all attempts and all
//!   back-off sleeps; each attempt is also bounded by [`TransportConfig::timeout`].
//! * **Concurrency**: at most [`TransportConfig::max_concurrency`] requests in flight per
//!   transport and [`TransportConfig::max_concurrency_per_mailbox`] per anchor mailbox
//!   (tokio semaphores; default 27 each, as Exchange's `EWSMaxConcurrency`).
//! * **TLS**: rustls with the `ring` provider and the webpki (Mozilla) roots plus
//!   [`TransportConfig::extra_root_certificates`], or exactly the
//!   [`TransportConfig::pinned_certificates`]; verification can only be disabled for
//!   loopback endpoints. See [TLS](#tls) below.
//! * **Response size**: bodies are read as they stream in and refused past
//!   [`TransportConfig::max_response_bytes`] (default 64 MiB) or the request's own
//!   [`SoapRequest::max_response_bytes`] ([`TransportError::ResponseTooLarge`], never
//!   retried), on the reqwest and the NTLM path alike.
//! * **Server text**: whatever the transport copies from an answer into an error goes
//!   through its [`Scrubber`] (every secret it holds removed, control characters replaced,
//!   cut to [`MAX_SERVER_TEXT`] bytes); [`HttpTransport::scrubber`] hands it to the protocol
//!   layer for faults and body excerpts.
//!
//! The decisions among these (retry or not, how long to wait, which error to give up with,
//! whether the outcome is unknown, refreshing a bearer token once) are one pure function of
//! the attempt state, the event, the [`RetryPolicy`], the request's idempotency, the time
//! left and a jitter sample (the crate-private `transport::decide`, tested with a table of
//! cases); [`HttpTransport::post`] only acquires permits, fetches tokens, sends, sleeps and
//! feeds what happened back to it. The protocol layer's `ErrorServerBusy` waits use the
//! same module.
//!
//! # Reusable pieces
//!
//! Besides [`HttpTransport`], these format-free items serve any HTTP client of the workspace
//! (graph-client among them): [`collect_limited`] (bounded body reading),
//! [`Scrubber`] and [`sanitize_server_text`] (server text fit for errors),
//! [`RetryPolicy::server_wait`] (floor, growth and jitter for server-requested waits),
//! [`StreamGuard`] (page, item and time bounds of paging streams, repeat detection),
//! [`TokenProvider`] and [`ClientCredentialsProvider`] (OAuth).
//!
//! # TLS
//!
//! An extra root must be a CA certificate. webpki refuses a certificate with
//! `basicConstraints CA:TRUE` as the server's own certificate (`CaUsedAsEndEntity`), even if
//! the same certificate is an extra root; `openssl req -x509` makes exactly that by default.
//! For such a server (typically Exchange's own self-signed certificate) pin the certificate
//! by its SHA-256 fingerprint ([`TransportConfig::with_pinned_certificate`]): with pins,
//! exactly the pinned end-entity certificates are accepted (no root, name or validity
//! check; the handshake signature is still verified). TLS errors say which case applies and
//! name the fingerprint of the certificate the server presented.
//!
//! Why NTLM bypasses reqwest's pool: NTLM authenticates the TCP connection, so Type 1 and
//! Type 3 must use one connection, and reqwest gives no control over which pooled
//! connection a request takes (a request may race a fresh connect against the return of the
//! previous one). The NTLM path therefore opens its own connections with
//! `hyper::client::conn::http1` (same rustls configuration), performs the handshake on one
//! of them and keeps authenticated connections for reuse.
//!
//! Secrets never appear in errors, logs (`tracing`) or `Debug` output; `Authorization`
//! header values are marked sensitive.

mod body;
mod config;
pub(crate) mod decide;
mod error;
mod limits;
pub mod ntlm;
mod ntlm_http;
mod oauth;
pub(crate) mod retry;
mod scrub;
mod stream;
mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};

pub use body::{
    BodyError, DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_MAX_RESPONSE_BYTES, collect_limited,
};
pub use config::{
    Auth, DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_CONCURRENT_SYNC_CALLS, TransportConfig,
};
pub use error::TransportError;
pub use limits::{Limits, Permits};
pub use oauth::{
    ClientAssertion, ClientCredentialsProvider, EXCHANGE_ONLINE_SCOPE, OAuthClientCredentials,
    TokenProvider,
};
pub use retry::{RetryPolicy, parse_retry_after};
pub use scrub::{MAX_SERVER_TEXT, REDACTED, Scrubber, sanitize_server_text};
pub use secrecy::{ExposeSecret, SecretString};
pub use stream::{StreamBoundError, StreamGuard, StreamLimits};
pub use tls::{CertificateCheck, CertificateFingerprint, CertificateNames};

const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

// The rustls configuration and error helpers, shared with graph-client.
pub use tls::{
    client_config as tls_client_config, client_config_with_pins as tls_client_config_with_pins,
    error_chain, is_loopback,
};

/// Whether a SOAP action is one of the `Sync*` operations that Exchange's
/// ConcurrentSyncCalls limits (`…/messages/SyncFolderItems`, `…/SyncFolderHierarchy`).
fn is_sync_call(soap_action: &str) -> bool {
    soap_action
        .rsplit('/')
        .next()
        .is_some_and(|op| op.starts_with("Sync"))
}

/// One SOAP request for [`HttpTransport::post`].
#[derive(Debug, Clone)]
pub struct SoapRequest<'a> {
    /// The complete SOAP envelope.
    pub body: Bytes,
    /// SOAP action, e.g.
    /// `http://schemas.microsoft.com/exchange/services/2006/messages/GetItem`; sent quoted in
    /// the `SOAPAction` header.
    pub soap_action: &'a str,
    /// Mailbox the request acts on (impersonation): sets `X-AnchorMailbox` and selects the
    /// per-mailbox concurrency limit.
    pub anchor_mailbox: Option<&'a str>,
    /// `false` for operations that create, send or move something: such a request is never
    /// repeated once it may have reached the server.
    pub idempotent: bool,
    /// Overall deadline for permits, all attempts and back-off.
    pub deadline: Instant,
    /// The largest response body accepted for this request; `None` for the transport's
    /// [`TransportConfig::max_response_bytes`]. Downloads (MIME content, attachments) set a
    /// larger one.
    pub max_response_bytes: Option<u64>,
}

impl<'a> SoapRequest<'a> {
    /// An idempotent request without anchor mailbox, due within `timeout` from now.
    pub fn new(body: impl Into<Bytes>, soap_action: &'a str, timeout: Duration) -> Self {
        Self {
            body: body.into(),
            soap_action,
            anchor_mailbox: None,
            idempotent: true,
            deadline: Instant::now() + timeout,
            max_response_bytes: None,
        }
    }

    /// Sets the largest response body accepted for this request.
    pub fn with_max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// Sets the anchor mailbox.
    pub fn with_anchor_mailbox(mut self, mailbox: &'a str) -> Self {
        self.anchor_mailbox = Some(mailbox);
        self
    }

    /// Marks the request as not idempotent (it creates, sends or moves something): it is
    /// never repeated once it may have reached the server.
    pub fn non_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    /// Sets the deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = deadline;
        self
    }
}

/// The final HTTP response of a [`post`](HttpTransport::post).
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body (normally a SOAP envelope).
    pub body: Bytes,
}

/// Result classification of one HTTP attempt.
pub(crate) enum AttemptError {
    /// Nothing reached the server (connect failure, connection closed before writing):
    /// always safe to retry.
    NotSent(String),
    /// The request was (possibly) sent, but no complete response arrived.
    MaybeSent(String),
    /// Not retryable.
    Fatal(TransportError),
}

enum AuthState {
    None,
    Basic(HeaderValue),
    Ntlm(Box<ntlm_http::NtlmConnector>),
    Bearer(Arc<dyn TokenProvider>),
}

struct Inner {
    url: url::Url,
    host: String,
    scheme: &'static str,
    client: reqwest::Client,
    auth: AuthState,
    limits: limits::Limits,
    timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: u64,
    scrubber: Scrubber,
}

/// The EWS HTTP client; cheap to clone (shares connections, caches and limits).
#[derive(Clone)]
pub struct HttpTransport {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("url", &self.inner.url.as_str())
            .field("auth", &self.inner.scheme)
            .finish_non_exhaustive()
    }
}

pub(crate) fn add_soap_headers(
    headers: &mut HeaderMap,
    req: &SoapRequest<'_>,
) -> Result<(), AttemptError> {
    let quoted = if req.soap_action.starts_with('"') {
        req.soap_action.to_owned()
    } else {
        format!("\"{}\"", req.soap_action)
    };
    let action = HeaderValue::from_str(&quoted).map_err(|_| {
        AttemptError::Fatal(TransportError::InvalidConfig(
            "SOAP action is not a valid header value".to_owned(),
        ))
    })?;
    headers.insert("SOAPAction", action);
    if let Some(mailbox) = req.anchor_mailbox {
        let value = HeaderValue::from_str(mailbox.trim()).map_err(|_| {
            AttemptError::Fatal(TransportError::InvalidConfig(
                "anchor mailbox is not a valid header value".to_owned(),
            ))
        })?;
        headers.insert("X-AnchorMailbox", value);
    }
    Ok(())
}

impl HttpTransport {
    /// Builds the transport (HTTP client, TLS configuration, auth state).
    ///
    /// Fails with [`TransportError::InvalidConfig`] for a non-http(s) URL, user info in the
    /// URL, zero limits or attempts, invalid extra root certificates, a loopback-only TLS
    /// opt-out for a non-loopback host, or invalid OAuth settings.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        let invalid = |m: &str| TransportError::InvalidConfig(m.to_owned());
        let url = config.url.clone();
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(invalid("URL scheme must be http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials belong in `auth`, not in the URL"));
        }
        let Some(host) = url.host_str().map(str::to_owned) else {
            return Err(invalid("URL has no host"));
        };
        if config.max_concurrency == 0
            || config.max_concurrency_per_mailbox == 0
            || config.max_concurrent_sync_calls == 0
        {
            return Err(invalid("concurrency limits must be at least 1"));
        }
        if config.retry.max_attempts == 0 {
            return Err(invalid("retry.max_attempts must be at least 1"));
        }
        if config.timeout.is_zero() || config.connect_timeout.is_zero() {
            return Err(invalid("timeouts must be positive"));
        }
        let danger = config.danger_accept_invalid_certs_on_loopback;
        if danger && !tls::is_loopback(&url) {
            return Err(invalid(
                "danger_accept_invalid_certs_on_loopback is only allowed for loopback hosts",
            ));
        }
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| invalid("user agent is not a valid header value"))?;
        if config.max_response_bytes == 0 {
            return Err(invalid("max_response_bytes must be at least 1"));
        }
        let tls_config = tls::client_config_with_pins(
            &config.extra_root_certificates,
            &config.pinned_certificates,
            if danger {
                CertificateCheck::DangerAcceptAnyOnLoopback
            } else {
                CertificateCheck::Verify
            },
        )?;
        let scrubber = Scrubber::new();
        match &config.auth {
            Auth::Basic { username, password } => {
                scrubber.add_basic_credentials(username, password.expose_secret());
            }
            Auth::Ntlm { password, .. } => scrubber.add_secret(password.expose_secret()),
            Auth::OAuthClientCredentials(c) => {
                scrubber.add_secret(c.client_secret.expose_secret());
            }
            Auth::None | Auth::Bearer(_) => {}
        }
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config.clone())
            .connect_timeout(config.connect_timeout)
            .user_agent(user_agent.clone())
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .pool_idle_timeout(config.pool_idle_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .http1_only()
            .build()
            .map_err(|e| TransportError::InvalidConfig(format!("HTTP client: {e}")))?;
        let auth = match &config.auth {
            Auth::None => AuthState::None,
            Auth::Basic { username, password } => {
                use base64::Engine as _;
                if username.contains(':') {
                    return Err(invalid("Basic user name must not contain ':'"));
                }
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose_secret()));
                let mut value = HeaderValue::from_str(&format!("Basic {token}"))
                    .map_err(|_| invalid("Basic credentials are not encodable"))?;
                value.set_sensitive(true);
                AuthState::Basic(value)
            }
            Auth::Ntlm {
                username,
                password,
                domain,
                workstation,
            } => {
                let mut ntlm_tls = tls_config;
                ntlm_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
                AuthState::Ntlm(Box::new(ntlm_http::NtlmConnector::new(
                    &url,
                    ntlm::NtlmCredentials {
                        username: username.clone(),
                        password: password.clone(),
                        domain: domain.clone(),
                    },
                    workstation.clone(),
                    Arc::new(ntlm_tls),
                    config.connect_timeout,
                    user_agent,
                    config.pool_max_idle_per_host.max(1),
                )?))
            }
            Auth::OAuthClientCredentials(credentials) => AuthState::Bearer(Arc::new(
                ClientCredentialsProvider::with_client(credentials.clone(), client.clone())?
                    .with_scrubber(scrubber.clone()),
            )),
            Auth::Bearer(provider) => AuthState::Bearer(provider.clone()),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                url,
                host,
                scheme: config.auth.scheme(),
                client,
                auth,
                limits: limits::Limits::new(
                    config.max_concurrency,
                    config.max_concurrency_per_mailbox,
                    config.max_concurrent_sync_calls,
                ),
                timeout: config.timeout,
                retry: config.retry,
                max_response_bytes: config.max_response_bytes,
                scrubber,
            }),
        })
    }

    /// The endpoint URL.
    pub fn url(&self) -> &url::Url {
        &self.inner.url
    }

    /// The scrubber that knows every secret of this transport (password, Basic credentials,
    /// client secret, the bearer tokens it used): pass server-supplied text through it
    /// before putting it into an error.
    pub fn scrubber(&self) -> &Scrubber {
        &self.inner.scrubber
    }

    /// POSTs one SOAP request and returns the final response.
    ///
    /// Returns `Ok` for every status except those handled here: 401 (authentication; an
    /// error once all attempts failed), 429/503 (waited for and retried; an error when the
    /// attempts, `retry.max_retry_after` or the deadline run out). The protocol layer parses
    /// everything else, including HTTP 500 SOAP faults.
    pub async fn post(&self, request: SoapRequest<'_>) -> Result<RawResponse, TransportError> {
        use decide::{Decision, Event};
        let inner = &self.inner;
        let _permits = inner
            .limits
            .acquire(
                request.anchor_mailbox,
                is_sync_call(request.soap_action),
                request.deadline,
            )
            .await?;
        let facts = decide::RequestFacts {
            idempotent: request.idempotent,
            bearer: matches!(inner.auth, AuthState::Bearer(_)),
            attempt_timeout: inner.timeout,
            host: &inner.host,
            scheme: inner.scheme,
        };
        let now = || decide::Now {
            remaining: request.deadline.saturating_duration_since(Instant::now()),
            jitter: retry::random_sample(),
        };
        let mut state = decide::AttemptState::default();
        let mut event = Event::Start;
        let mut bearer = None;
        loop {
            match decide::decide(&mut state, event, &inner.retry, &facts, now()) {
                Decision::Attempt { token_wait, budget } => {
                    event = match self.bearer_token(token_wait).await {
                        Err(failed) => failed,
                        Ok(token) => {
                            bearer = token;
                            let attempt = state.attempts;
                            self.timed_attempt(&request, bearer.as_ref(), budget, attempt)
                                .await
                        }
                    };
                    continue;
                }
                Decision::Retry { after } => {
                    tracing::debug!(?after, attempt = state.attempts, "EWS retry after a wait");
                    tokio::time::sleep(after).await;
                }
                Decision::RefreshTokenAndRetry => {
                    if let (AuthState::Bearer(provider), Some(token)) = (&inner.auth, &bearer) {
                        tracing::debug!("bearer token rejected; refreshing once");
                        provider.invalidate(token).await;
                    }
                }
                Decision::Deliver(response) => return Ok(response),
                Decision::Fail(e) => return Err(e),
            }
            event = Event::Start;
        }
    }

    /// The bearer token for the next attempt (`None` without bearer auth), or the event
    /// of its failure.
    async fn bearer_token(
        &self,
        wait: Duration,
    ) -> Result<Option<SecretString>, decide::Event<RawResponse>> {
        let AuthState::Bearer(provider) = &self.inner.auth else {
            return Ok(None);
        };
        match tokio::time::timeout(wait, provider.token()).await {
            Err(_) => Err(decide::Event::TokenTimedOut),
            Ok(Ok(token)) => {
                self.inner.scrubber.add_token(token.expose_secret());
                Ok(Some(token))
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "token request failed");
                Err(decide::Event::TokenFailed(e))
            }
        }
    }

    /// One HTTP attempt bounded by `budget`, as an event for [`decide::decide`].
    async fn timed_attempt(
        &self,
        request: &SoapRequest<'_>,
        bearer: Option<&SecretString>,
        budget: Duration,
        attempt: u32,
    ) -> decide::Event<RawResponse> {
        use decide::Event;
        tracing::debug!(
            url = %self.inner.url,
            soap_action = request.soap_action,
            mailbox = request.anchor_mailbox,
            attempt,
            "EWS POST"
        );
        let started = Instant::now();
        match tokio::time::timeout(budget, self.attempt(request, bearer)).await {
            Err(_elapsed) => {
                tracing::debug!(attempt, elapsed = ?started.elapsed(), "EWS attempt timed out");
                Event::AttemptTimedOut
            }
            Ok(Err(AttemptError::Fatal(e))) => Event::Fatal(e),
            Ok(Err(AttemptError::NotSent(message))) => {
                tracing::debug!(attempt, error = %message, "EWS connection failed");
                Event::NotSent(message)
            }
            Ok(Err(AttemptError::MaybeSent(message))) => {
                tracing::debug!(attempt, error = %message, "EWS request failed after sending");
                Event::MaybeSent(message)
            }
            Ok(Ok(response)) => {
                tracing::debug!(attempt, status = response.status, elapsed = ?started.elapsed(), "EWS response");
                let retry_after = response
                    .headers
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                Event::Response {
                    status: response.status,
                    retry_after,
                    response,
                }
            }
        }
    }

    async fn attempt(
        &self,
        request: &SoapRequest<'_>,
        bearer: Option<&SecretString>,
    ) -> Result<RawResponse, AttemptError> {
        let inner = &self.inner;
        let authorization = match (&inner.auth, bearer) {
            (AuthState::Ntlm(connector), _) => {
                let limit = request
                    .max_response_bytes
                    .unwrap_or(inner.max_response_bytes);
                return connector.post(request, limit).await;
            }
            (AuthState::Basic(value), _) => Some(value.clone()),
            (AuthState::Bearer(_), Some(token)) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                    .map_err(|_| {
                        AttemptError::Fatal(TransportError::TokenProvider(
                            "token is not a valid header value".to_owned(),
                        ))
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            _ => None,
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/xml"));
        add_soap_headers(&mut headers, request)?;
        if let Some(value) = authorization {
            headers.insert(header::AUTHORIZATION, value);
        }
        let response = inner
            .client
            .post(inner.url.clone())
            .headers(headers)
            .body(request.body.clone())
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let limit = request
            .max_response_bytes
            .unwrap_or(inner.max_response_bytes);
        let declared = response.content_length();
        let body = read_limited(
            response.bytes_stream(),
            declared,
            limit,
            |e: reqwest::Error| format!("reading response: {}", tls::error_chain(&e.without_url())),
        )
        .await?;
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    fn classify(&self, error: reqwest::Error) -> AttemptError {
        let error = error.without_url();
        if let Some(message) = tls::find_tls_error(&error) {
            return AttemptError::Fatal(TransportError::Tls {
                host: self.inner.host.clone(),
                message,
            });
        }
        let message = tls::error_chain(&error);
        if error.is_connect() && is_unknown_host(&message) {
            return AttemptError::Fatal(TransportError::UnknownHost {
                host: self.inner.host.clone(),
                message,
            });
        }
        if error.is_connect() {
            AttemptError::NotSent(message)
        } else {
            AttemptError::MaybeSent(message)
        }
    }
}

/// Reads a body with [`collect_limited`] for an attempt: too large is fatal (never retried:
/// the same answer would be refused again), a read error means the request may have been
/// processed.
pub(crate) async fn read_limited<S, E>(
    stream: S,
    declared: Option<u64>,
    limit: u64,
    describe: impl FnOnce(E) -> String,
) -> Result<Bytes, AttemptError>
where
    S: futures::Stream<Item = Result<Bytes, E>>,
{
    collect_limited(stream, declared, limit)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { limit, declared } => {
                tracing::debug!(limit, ?declared, "response too large; refused");
                AttemptError::Fatal(TransportError::ResponseTooLarge { limit, declared })
            }
            BodyError::Read(e) => AttemptError::MaybeSent(describe(e)),
        })
}

/// Whether a connect error's chain says the host name does not exist (as opposed to a DNS
/// server that did not answer, `EAI_AGAIN`, which stays transient). Shared by every HTTP
/// client of the workspace.
pub fn is_unknown_host(chain: &str) -> bool {
    let chain = chain.to_ascii_lowercase();
    (chain.contains("dns error") || chain.contains("failed to lookup address"))
        && (chain.contains("name or service not known")
            || chain.contains("no address associated")
            || chain.contains("nodename nor servname")
            || chain.contains("no such host")
            || chain.contains("not found"))
}
