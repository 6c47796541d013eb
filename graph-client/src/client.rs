//! [`Client`]: configuration, the request pipeline and the per-mailbox handle.
//!
//! Every request goes through one pipeline: the mailbox's request budget (10,000 requests per
//! 10 minutes by default, counted per HTTP attempt), the concurrency limits (4 per mailbox,
//! ews-client's [`Limits`]), a bearer token from the [`TokenProvider`] (one refresh on 401),
//! the `Prefer` headers (`IdType="ImmutableId"`, `outlook.timezone`), and the retry rules:
//! 429/503 wait as ews-client's [`RetryPolicy::server_wait`] says (the server's
//! `Retry-After`, at least `retry.min_server_wait` doubled for each repetition, plus jitter;
//! a `Retry-After` above `retry.max_retry_after` is not waited for) until `retry.max_attempts`,
//! then fail with an error that [`is_throttled`](Error::is_throttled); connection failures
//! back off; a write that may have reached the server is never repeated but fails with
//! [`Error::outcome_unknown`]. Everything is bounded by the call's deadline.
//!
//! Hostile or broken servers (issue 14) meet the same shared pieces as in ews-client: bodies
//! are read with [`collect_limited`] ([`ClientConfig::max_response_bytes`], larger
//! [`ClientConfig::max_download_bytes`] for `$value` and attachments;
//! [`TransportError::ResponseTooLarge`], never retried); server text in errors goes through
//! the client's [`Scrubber`] (the token provider's secrets, every bearer token used);
//! listings and delta rounds are bounded by a [`StreamGuard`](ews_client::transport::StreamGuard)
//! ([`ClientConfig::stream_limits`]); JSON must be UTF-8; TLS trusts extra roots or exactly the
//! [pinned certificates](ClientConfig::with_pinned_certificate).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use ews_client::transport::{
    BodyError, CertificateFingerprint, DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_MAX_RESPONSE_BYTES,
    ExposeSecret, Limits, RetryPolicy, Scrubber, SecretString, StreamLimits, TokenProvider,
    TransportError, collect_limited, error_chain, is_loopback, parse_retry_after,
    tls_client_config_with_pins,
};
use http::{HeaderMap, HeaderValue, Method, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use rand::Rng;

use crate::decide::{CallState, Decision, Event, Now, RequestFacts, decide};
use crate::error::{ApiError, Error};

/// The scope of an app-only token for Microsoft Graph.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// Microsoft Graph v1.0 (worldwide cloud).
pub const GRAPH_V1: &str = "https://graph.microsoft.com/v1.0/";

/// Graph's concurrency limit per app and mailbox.
pub const DEFAULT_MAX_CONCURRENCY_PER_MAILBOX: usize = 4;

/// Configuration of a [`Client`]; builder style.
#[derive(Clone)]
pub struct ClientConfig {
    /// The service root, e.g. `https://graph.microsoft.com/v1.0/` or a mock's.
    pub base_url: url::Url,
    /// Where bearer tokens come from (see [`crate::auth`]).
    pub tokens: Arc<dyn TokenProvider>,
    /// Windows or IANA zone for `Prefer: outlook.timezone` (event times come back in it).
    pub timezone: Option<String>,
    /// Timeout of one HTTP attempt.
    pub timeout: Duration,
    /// TCP and TLS connect timeout.
    pub connect_timeout: Duration,
    /// Deadline of one call (budget, permits, every attempt and wait).
    pub call_timeout: Duration,
    /// Retries of transient failures; `max_retry_after` caps a server's `Retry-After`,
    /// `min_server_wait` is the shortest wait after a 429/503 (doubled when repeated).
    pub retry: RetryPolicy,
    /// Requests in flight per client.
    pub max_concurrency: usize,
    /// Requests in flight per mailbox.
    pub max_concurrency_per_mailbox: usize,
    /// Requests per mailbox per [`budget_window`](Self::budget_window).
    pub budget_requests: usize,
    /// The window of the request budget.
    pub budget_window: Duration,
    /// Largest response body accepted (default 64 MiB); larger answers fail with
    /// [`TransportError::ResponseTooLarge`] and are not downloaded again.
    pub max_response_bytes: u64,
    /// Largest body of a MIME (`$value`) or attachment download (default 256 MiB).
    pub max_download_bytes: u64,
    /// Bounds of one listing or delta round: pages, items, total time (a server repeating a
    /// `nextLink` or `deltaLink` is caught as well).
    pub stream_limits: StreamLimits,
    /// Skip certificate checks; only for loopback base URLs.
    pub danger_accept_invalid_certs_on_loopback: bool,
    /// Additional trusted roots (PEM); each must be a CA certificate (webpki refuses a
    /// self-signed `CA:TRUE` certificate as the server's own: pin that one instead).
    pub extra_root_certificates: Vec<Vec<u8>>,
    /// SHA-256 fingerprints of the only server certificates accepted (no root, name or
    /// validity check; the handshake signature is still verified). Empty: normal
    /// verification.
    pub pinned_certificates: Vec<CertificateFingerprint>,
    /// `User-Agent`.
    pub user_agent: String,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url.as_str())
            .field("tokens", &"<token provider>")
            .field("timezone", &self.timezone)
            .field("timeout", &self.timeout)
            .field("call_timeout", &self.call_timeout)
            .field("retry", &self.retry)
            .field(
                "max_concurrency_per_mailbox",
                &self.max_concurrency_per_mailbox,
            )
            .field("budget_requests", &self.budget_requests)
            .field("budget_window", &self.budget_window)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Graph v1.0 with Graph's limits: 4 concurrent requests and 10,000 requests per
    /// 10 minutes per mailbox, 100 s per attempt, 5 minutes per call.
    pub fn new(tokens: Arc<dyn TokenProvider>) -> Self {
        Self {
            base_url: url::Url::parse(GRAPH_V1).unwrap_or_else(|_| unreachable_url()),
            tokens,
            timezone: None,
            timeout: Duration::from_secs(100),
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            max_concurrency: 64,
            max_concurrency_per_mailbox: DEFAULT_MAX_CONCURRENCY_PER_MAILBOX,
            budget_requests: 10_000,
            budget_window: Duration::from_secs(600),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
            stream_limits: StreamLimits::default(),
            danger_accept_invalid_certs_on_loopback: false,
            extra_root_certificates: Vec::new(),
            pinned_certificates: Vec::new(),
            user_agent: concat!("graph-client/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// Another service root (national cloud, mock server). A missing trailing `/` is added.
    pub fn with_base_url(mut self, mut base_url: url::Url) -> Self {
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        self.base_url = base_url;
        self
    }

    /// Sets `Prefer: outlook.timezone`.
    pub fn with_timezone(mut self, zone: impl Into<String>) -> Self {
        self.timezone = Some(zone.into());
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the shortest wait after 429/503 (`retry.min_server_wait`; call after
    /// [`with_retry`](Self::with_retry)).
    pub fn with_retry_after_floor(mut self, floor: Duration) -> Self {
        self.retry.min_server_wait = floor;
        self
    }

    /// Sets the per-attempt and per-call timeouts.
    pub fn with_timeouts(mut self, attempt: Duration, call: Duration) -> Self {
        self.timeout = attempt;
        self.call_timeout = call;
        self
    }

    /// Sets the per-mailbox concurrency limit.
    pub fn with_max_concurrency_per_mailbox(mut self, limit: usize) -> Self {
        self.max_concurrency_per_mailbox = limit;
        self
    }

    /// Sets the per-mailbox request budget.
    pub fn with_budget(mut self, requests: usize, window: Duration) -> Self {
        self.budget_requests = requests;
        self.budget_window = window;
        self
    }

    /// Sets the largest accepted response body.
    pub fn with_max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Sets the largest accepted MIME or attachment download.
    pub fn with_max_download_bytes(mut self, bytes: u64) -> Self {
        self.max_download_bytes = bytes;
        self
    }

    /// Sets the most pages a listing or delta round follows.
    pub fn with_max_pages(mut self, pages: u64) -> Self {
        self.stream_limits.max_pages = pages;
        self
    }

    /// Sets the bounds of listings and delta rounds.
    pub fn with_stream_limits(mut self, limits: StreamLimits) -> Self {
        self.stream_limits = limits;
        self
    }

    /// Accepts any certificate of a loopback server (tests against a local mock).
    pub fn with_danger_accept_invalid_certs_on_loopback(mut self) -> Self {
        self.danger_accept_invalid_certs_on_loopback = true;
        self
    }

    /// Trusts another root certificate (PEM); it must be a CA certificate (see
    /// [`extra_root_certificates`](Self::extra_root_certificates)).
    pub fn with_extra_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_root_certificates.push(pem.into());
        self
    }

    /// Accepts exactly this server certificate (and other pinned ones), by its SHA-256
    /// fingerprint, as ews-client's
    /// [`TransportConfig::with_pinned_certificate`](ews_client::transport::TransportConfig::with_pinned_certificate).
    pub fn with_pinned_certificate(mut self, fingerprint: CertificateFingerprint) -> Self {
        self.pinned_certificates.push(fingerprint);
        self
    }
}

fn unreachable_url() -> url::Url {
    // GRAPH_V1 is a constant valid URL; url::Url::parse cannot fail on it.
    panic!("GRAPH_V1 is a valid URL")
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    None,
    Json(Bytes),
    /// MIME content, base64 encoded, sent as `text/plain` (Graph's MIME upload).
    MimeBase64(Bytes),
    /// Raw bytes with a content type (upload-session chunks).
    Raw(Bytes, &'static str),
}

/// One request of the pipeline.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    pub url: url::Url,
    pub body: Body,
    pub mailbox: Option<String>,
    pub idempotent: bool,
    pub if_match: Option<String>,
    pub headers: Vec<(&'static str, String)>,
    /// `false` for upload-session URLs, which must not get the bearer token.
    pub authorize: bool,
    /// Requests this counts as against the mailbox's budget (a `$batch` counts each inner
    /// request).
    pub cost: usize,
    /// `Prefer: outlook.timezone` for this request (else the client's).
    pub timezone: Option<String>,
    /// Largest accepted body; `None` for [`ClientConfig::max_response_bytes`].
    pub max_response_bytes: Option<u64>,
}

impl Request {
    pub(crate) fn new(method: Method, url: url::Url) -> Self {
        let idempotent = method != Method::POST;
        Self {
            method,
            url,
            body: Body::None,
            mailbox: None,
            idempotent,
            if_match: None,
            headers: Vec::new(),
            authorize: true,
            cost: 1,
            timezone: None,
            max_response_bytes: None,
        }
    }
}

/// A successful response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// The body as JSON. Graph sends UTF-8 only: a body declared in another charset (or
    /// starting with a UTF-16 byte order mark) is refused with a clear message.
    pub(crate) fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, Error> {
        check_utf8(&self.headers, &self.body, what)?;
        serde_json::from_slice(&self.body).map_err(|e| Error::decode(what, e))
    }
}

/// Refuses JSON in a charset other than UTF-8 (declared by `Content-Type`, or a UTF-16
/// byte order mark).
pub(crate) fn check_utf8(headers: &HeaderMap, body: &[u8], what: &str) -> Result<(), Error> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(';').skip(1).find_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("charset")
                    .then(|| v.trim().trim_matches('"').to_owned())
            })
        });
    if let Some(charset) = declared
        && !charset.eq_ignore_ascii_case("utf-8")
        && !charset.eq_ignore_ascii_case("utf8")
    {
        return Err(Error::protocol(format!(
            "{what}: the server sent JSON in charset {}; only UTF-8 is supported",
            ews_client::transport::sanitize_server_text(&charset, 40)
        )));
    }
    if body.starts_with(&[0xFE, 0xFF]) || body.starts_with(&[0xFF, 0xFE]) {
        return Err(Error::protocol(format!(
            "{what}: the server sent UTF-16 JSON; only UTF-8 is supported"
        )));
    }
    Ok(())
}

fn inner_host(url: &url::Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

enum AttemptError {
    NotSent(String),
    MaybeSent(String),
    Fatal(Error),
}

struct Inner {
    config: ClientConfig,
    http: reqwest::Client,
    limits: Limits,
    budget: Mutex<HashMap<String, VecDeque<Instant>>>,
    host: String,
    scrubber: Scrubber,
}

/// A Microsoft Graph client; cheap to clone (shares connections, token cache and limits).
///
/// ```no_run
/// # async fn demo() -> Result<(), graph_client::Error> {
/// use graph_client::{Client, ClientConfig, auth};
/// let tokens = auth::client_secret("contoso.onmicrosoft.com", "app-id", "secret")?;
/// let client = Client::new(ClientConfig::new(tokens).with_timezone("W. Europe Standard Time"))?;
/// let mailbox = client.mailbox("anna@contoso.com");
/// let folders = mailbox.mail_folders().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The scrubber holding every secret this client knows (crate-internal: batch answers).
    pub(crate) fn scrubber(&self) -> &Scrubber {
        &self.inner.scrubber
    }
}

impl Client {
    /// Builds the client. Fails for a non-http(s) base URL, credentials in it, zero limits,
    /// or a TLS opt-out for a non-loopback host.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let invalid = |m: &str| Error::InvalidArgument(m.to_owned());
        let url = &config.base_url;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(invalid("base URL scheme must be http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("the base URL must not contain credentials"));
        }
        let Some(host) = url.host_str().map(str::to_owned) else {
            return Err(invalid("base URL has no host"));
        };
        if config.max_concurrency == 0
            || config.max_concurrency_per_mailbox == 0
            || config.budget_requests == 0
            || config.retry.max_attempts == 0
            || config.stream_limits.max_pages == 0
            || config.max_response_bytes == 0
            || config.max_download_bytes == 0
        {
            return Err(invalid("limits and attempts must be at least 1"));
        }
        let danger = config.danger_accept_invalid_certs_on_loopback;
        if danger && !is_loopback(url) {
            return Err(invalid(
                "danger_accept_invalid_certs_on_loopback is only allowed for loopback hosts",
            ));
        }
        let tls = tls_client_config_with_pins(
            &config.extra_root_certificates,
            &config.pinned_certificates,
            if danger {
                ews_client::transport::CertificateCheck::DangerAcceptAnyOnLoopback
            } else {
                ews_client::transport::CertificateCheck::Verify
            },
        )?;
        // The token provider's secrets (client secret, signed assertions, its tokens) when
        // it shares them; every bearer token used is added as well.
        let scrubber = config.tokens.scrubber().unwrap_or_default();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| invalid(&format!("HTTP client: {e}")))?;
        // Graph has no Sync* calls: the sync-call limit never applies.
        let limits = Limits::new(
            config.max_concurrency,
            config.max_concurrency_per_mailbox,
            config.max_concurrency,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                http,
                limits,
                budget: Mutex::new(HashMap::new()),
                host,
                scrubber,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A handle for one mailbox (`/users/{user}`): a user id, a user principal name or an
    /// SMTP address.
    pub fn mailbox(&self, user: impl Into<String>) -> Mailbox {
        Mailbox {
            client: self.clone(),
            user: user.into(),
            timezone: None,
        }
    }

    /// The URL of `segments` (each percent-encoded as one path segment) below the base URL,
    /// with an OData query (`$filter`, `$select`, ...; spaces as `%20`).
    pub(crate) fn url(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<url::Url, Error> {
        let mut url = self.inner.config.base_url.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| Error::InvalidArgument("base URL cannot have a path".to_owned()))?;
            path.pop_if_empty();
            for segment in segments {
                if segment.is_empty() {
                    return Err(Error::InvalidArgument(
                        "empty id in a request path".to_owned(),
                    ));
                }
                path.push(segment);
            }
        }
        if !query.is_empty() {
            let encoded: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v)))
                .collect();
            url.set_query(Some(&encoded.join("&")));
        }
        Ok(url)
    }

    /// Checks that a link the server sent (`@odata.nextLink`, `@odata.deltaLink`) points at
    /// the same service, so the bearer token never goes elsewhere.
    pub(crate) fn link(&self, link: &str) -> Result<url::Url, Error> {
        let url = url::Url::parse(link)
            .map_err(|e| Error::protocol(format!("server sent an invalid link: {e}")))?;
        let base = &self.inner.config.base_url;
        if url.scheme() != base.scheme()
            || url.host_str() != base.host_str()
            || url.port_or_known_default() != base.port_or_known_default()
        {
            return Err(Error::protocol(
                "server sent a link to another host; not following it",
            ));
        }
        Ok(url)
    }

    async fn take_budget(
        &self,
        mailbox: &str,
        cost: usize,
        deadline: Instant,
    ) -> Result<(), Error> {
        let config = &self.inner.config;
        let cost = cost.clamp(1, config.budget_requests);
        // A request counts against the server's window from when it arrives there, a little
        // after it was stamped here, and the next may arrive sooner: a slot is reused only a
        // twentieth of the window after it expired here, so the two clocks never disagree.
        let window = config.budget_window + config.budget_window / 20;
        loop {
            let wait_until = {
                let mut map = self
                    .inner
                    .budget
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if map.len() > 1024 {
                    map.retain(|_, q| q.back().is_some_and(|t| t.elapsed() < window));
                }
                let queue = map.entry(mailbox.to_lowercase()).or_default();
                let now = Instant::now();
                while queue
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    queue.pop_front();
                }
                if queue.len() + cost <= config.budget_requests {
                    queue.extend(std::iter::repeat_n(now, cost));
                    return Ok(());
                }
                // The slot frees when the entry `cost` places before the limit expires.
                let index = (queue.len() + cost).saturating_sub(config.budget_requests + 1);
                match queue.get(index) {
                    Some(first) => *first + window,
                    None => now,
                }
            };
            if wait_until > deadline {
                return Err(Error::BudgetExhausted {
                    retry_after: wait_until.saturating_duration_since(Instant::now()),
                });
            }
            tracing::debug!(mailbox, "request budget used up; waiting");
            tokio::time::sleep_until(tokio::time::Instant::from_std(wait_until)).await;
        }
    }

    /// Runs one request through the pipeline; returns 2xx responses, errors otherwise.
    ///
    /// A thin driver around [`decide`]: it performs each decision (fetch a token and take
    /// the request budget, send, wait, invalidate a token) and reports what happened.
    pub(crate) async fn execute(&self, request: Request) -> Result<Response, Error> {
        let inner = &self.inner;
        let config = &inner.config;
        let deadline = Instant::now() + config.call_timeout;
        let _permits = inner
            .limits
            .acquire(request.mailbox.as_deref(), false, deadline)
            .await?;
        let facts = RequestFacts {
            idempotent: request.idempotent,
            authorize: request.authorize,
            attempt_timeout: config.timeout,
            host: &inner.host,
        };
        let mut state = CallState::default();
        let mut token = None;
        let mut event = Event::Start;
        loop {
            let now = Now {
                remaining: deadline.saturating_duration_since(Instant::now()),
                jitter: rand::rng().random_range(0.0..=1.0),
            };
            event = match decide(&mut state, event, &config.retry, &facts, now) {
                Decision::Prepare { token_wait } => {
                    match self.fetch_token(&request, token_wait).await {
                        Ok(fetched) => {
                            token = fetched;
                            let mailbox = request.mailbox.as_deref().unwrap_or_default();
                            self.take_budget(mailbox, request.cost, deadline).await?;
                            Event::Ready
                        }
                        Err(failed) => failed,
                    }
                }
                Decision::Send { budget } => {
                    tracing::debug!(method = %request.method, path = request.url.path(), attempt = state.attempts, "Graph request");
                    self.send(&request, token.as_ref(), budget).await
                }
                Decision::Wait { after } => {
                    tokio::time::sleep(after).await;
                    Event::Start
                }
                Decision::RefreshToken => {
                    if let Some(rejected) = &token {
                        tracing::debug!("bearer token rejected; refreshing once");
                        config.tokens.invalidate(rejected).await;
                    }
                    Event::Start
                }
                Decision::Deliver(response) => return Ok(response),
                Decision::Fail(error) => return Err(error),
            };
        }
    }

    /// The bearer token of an authorized request (`None` for upload-session URLs), or the
    /// event that reports why there is none.
    async fn fetch_token(
        &self,
        request: &Request,
        wait: Duration,
    ) -> Result<Option<SecretString>, Event<Response>> {
        if !request.authorize {
            return Ok(None);
        }
        match tokio::time::timeout(wait, self.inner.config.tokens.token()).await {
            Err(_) => Err(Event::TokenTimedOut),
            Ok(Err(e)) => Err(Event::TokenFailed(e)),
            Ok(Ok(token)) => {
                self.inner.scrubber.add_token(token.expose_secret());
                Ok(Some(token))
            }
        }
    }

    /// Sends one attempt bounded by `budget` and reports its outcome.
    async fn send(
        &self,
        request: &Request,
        token: Option<&SecretString>,
        budget: Duration,
    ) -> Event<Response> {
        match tokio::time::timeout(budget, self.attempt(request, token)).await {
            Err(_) => Event::TimedOut { budget },
            Ok(Err(AttemptError::Fatal(e))) => Event::Fatal(e),
            Ok(Err(AttemptError::NotSent(message))) => Event::NotSent(message),
            Ok(Err(AttemptError::MaybeSent(message))) => Event::MaybeSent(message),
            Ok(Ok(response)) if (200..300).contains(&response.status) => Event::Success(response),
            Ok(Ok(response)) => {
                let retry_after = response
                    .headers
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                if matches!(response.status, 429 | 503) {
                    tracing::debug!(status = response.status, ?retry_after, "Graph throttled");
                }
                let api = ApiError::from_body(
                    response.status,
                    &response.body,
                    retry_after,
                    &self.inner.scrubber,
                );
                Event::Refused {
                    status: response.status,
                    retry_after,
                    api,
                }
            }
        }
    }

    async fn attempt(
        &self,
        request: &Request,
        token: Option<&SecretString>,
    ) -> Result<Response, AttemptError> {
        let config = &self.inner.config;
        let fatal = |m: &str| AttemptError::Fatal(Error::InvalidArgument(m.to_owned()));
        let mut headers = HeaderMap::new();
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| {
                    AttemptError::Fatal(
                        TransportError::TokenProvider("token is not a valid header value".into())
                            .into(),
                    )
                })?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
            headers.append("Prefer", HeaderValue::from_static("IdType=\"ImmutableId\""));
            if let Some(zone) = request.timezone.as_ref().or(config.timezone.as_ref()) {
                let value = HeaderValue::from_str(&format!("outlook.timezone=\"{zone}\""))
                    .map_err(|_| fatal("time zone is not a valid header value"))?;
                headers.append("Prefer", value);
            }
        }
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(etag) = &request.if_match {
            headers.insert(
                header::IF_MATCH,
                HeaderValue::from_str(etag)
                    .map_err(|_| fatal("etag is not a valid header value"))?,
            );
        }
        for (name, value) in &request.headers {
            headers.append(
                *name,
                HeaderValue::from_str(value).map_err(|_| fatal("invalid header value"))?,
            );
        }
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), request.url.clone());
        match &request.body {
            Body::None => {
                if request.method == Method::POST {
                    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
                }
            }
            Body::Json(bytes) => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                builder = builder.body(bytes.clone());
            }
            Body::MimeBase64(bytes) => {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                builder = builder.body(bytes.clone());
            }
            Body::Raw(bytes, content_type) => {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                builder = builder.body(bytes.clone());
            }
        }
        let response = builder.headers(headers).send().await.map_err(|e| {
            let e = e.without_url();
            let message = error_chain(&e);
            if e.is_connect() && ews_client::transport::is_unknown_host(&message) {
                // a host name that does not exist will not exist on the next attempt either
                AttemptError::Fatal(Error::Transport(TransportError::UnknownHost {
                    host: inner_host(&request.url),
                    message,
                }))
            } else if e.is_connect() {
                AttemptError::NotSent(message)
            } else {
                AttemptError::MaybeSent(message)
            }
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let limit = request
            .max_response_bytes
            .unwrap_or(config.max_response_bytes);
        let declared = response.content_length();
        // A refused body is a fatal error: the same answer would be refused again, so it is
        // never downloaded a second time.
        let body = collect_limited(response.bytes_stream(), declared, limit)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { limit, declared } => {
                    AttemptError::Fatal(TransportError::ResponseTooLarge { limit, declared }.into())
                }
                BodyError::Read(e) => AttemptError::MaybeSent(format!(
                    "reading response: {}",
                    error_chain(&e.without_url())
                )),
            })?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

fn encode_query(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// One mailbox (`/users/{user}`) of a [`Client`]; the resource modules add its operations.
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub(crate) client: Client,
    pub(crate) user: String,
    pub(crate) timezone: Option<String>,
}

impl Mailbox {
    /// The user id, principal name or address this handle acts on.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Asks for times in `zone` (`Prefer: outlook.timezone`) on this handle's requests,
    /// e.g. the mailbox owner's zone, instead of the client's.
    pub fn with_timezone(mut self, zone: impl Into<String>) -> Self {
        self.timezone = Some(zone.into());
        self
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn url(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<url::Url, Error> {
        let mut all = vec!["users", self.user.as_str()];
        all.extend_from_slice(segments);
        self.client.url(&all, query)
    }

    pub(crate) fn request(&self, method: Method, url: url::Url) -> Request {
        let mut request = Request::new(method, url);
        request.mailbox = Some(self.user.clone());
        request.timezone = self.timezone.clone();
        request
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        what: &str,
    ) -> Result<T, Error> {
        let url = self.url(segments, query)?;
        self.client
            .execute(self.request(Method::GET, url))
            .await?
            .json(what)
    }

    pub(crate) async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
        options: WriteOptions,
        what: &str,
    ) -> Result<T, Error> {
        let response = self.send_raw(method, segments, Some(body), options).await?;
        response.json(what)
    }

    pub(crate) async fn send_raw<B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
        options: WriteOptions,
    ) -> Result<Response, Error> {
        let url = self.url(segments, &[])?;
        let mut request = self.request(method, url);
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body)
                .map_err(|e| Error::InvalidArgument(format!("cannot serialize body: {e}")))?;
            request.body = Body::Json(Bytes::from(bytes));
        }
        request.if_match = options.if_match;
        if let Some(idempotent) = options.idempotent {
            request.idempotent = idempotent;
        }
        self.client.execute(request).await
    }
}

/// Options of a write.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteOptions {
    pub if_match: Option<String>,
    pub idempotent: Option<bool>,
}

impl WriteOptions {
    pub(crate) fn if_match(etag: Option<&str>) -> Self {
        Self {
            if_match: etag.map(str::to_owned),
            idempotent: None,
        }
    }
}
