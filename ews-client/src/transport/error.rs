//! The transport layer's error type.

use std::time::Duration;

/// An error of the HTTP transport layer.
///
/// Messages never contain passwords, client secrets or tokens. Use the predicates
/// ([`is_transient`](Self::is_transient), [`is_throttled`](Self::is_throttled),
/// [`is_auth`](Self::is_auth), [`is_timeout`](Self::is_timeout),
/// [`is_outcome_unknown`](Self::is_outcome_unknown)) rather than matching on variants.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The [`TransportConfig`](super::TransportConfig) is invalid.
    #[error("invalid transport configuration: {0}")]
    InvalidConfig(String),

    /// The TLS handshake failed (untrusted or invalid certificate, protocol mismatch, ...).
    #[error("TLS error talking to {host}: {message}")]
    Tls {
        /// Host name of the endpoint.
        host: String,
        /// Description of the TLS failure.
        message: String,
    },

    /// No connection could be established; the request was not sent.
    #[error("cannot connect to {host} after {attempts} attempt(s): {message}")]
    Connect {
        /// Host name of the endpoint.
        host: String,
        /// Number of HTTP attempts made.
        attempts: u32,
        /// Description of the last failure.
        message: String,
    },

    /// The endpoint's host name does not resolve (DNS answers that it does not exist): a
    /// wrong URL, not a passing failure, so it is not retried.
    #[error("cannot connect to {host}: the host name is unknown (DNS): {message}")]
    UnknownHost {
        /// Host name of the endpoint.
        host: String,
        /// Description of the failure.
        message: String,
    },

    /// The overall deadline (or the per-attempt timeout of the last attempt) expired.
    #[error(
        "deadline exceeded after {attempts} attempt(s){}",
        if *outcome_unknown { " (the last request may have been processed)" } else { "" }
    )]
    DeadlineExceeded {
        /// Number of HTTP attempts started.
        attempts: u32,
        /// `true` when a non-idempotent request had been sent when the time ran out, so it
        /// may or may not have been processed by the server.
        outcome_unknown: bool,
    },

    /// The server kept answering HTTP 429 or 503 until the attempts or the deadline ran out.
    #[error("throttled by the server (HTTP {status}) after {attempts} attempt(s){}",
        match retry_after { Some(d) => format!(", Retry-After {}s", d.as_secs()), None => String::new() })]
    Throttled {
        /// The last status, 429 or 503.
        status: u16,
        /// The last Retry-After value sent by the server, if any.
        retry_after: Option<Duration>,
        /// Number of HTTP attempts made.
        attempts: u32,
    },

    /// HTTP 401 after all authentication attempts (wrong credentials, expired or rejected
    /// token, unsupported scheme).
    #[error("unauthorized ({scheme}): {message}")]
    Unauthorized {
        /// The authentication scheme used: `Basic`, `NTLM`, `Bearer` or `none`.
        scheme: &'static str,
        /// What went wrong; never contains credentials.
        message: String,
    },

    /// The OAuth token endpoint refused to issue a token or answered something unusable.
    #[error("OAuth token endpoint error (HTTP {status}): {error}{}",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    TokenEndpoint {
        /// HTTP status of the token endpoint (0 when it could not be reached).
        status: u16,
        /// OAuth `error` code, e.g. `invalid_client`, or a transport description.
        error: String,
        /// OAuth `error_description`, if any.
        description: Option<String>,
    },

    /// A host-supplied [`TokenProvider`](super::TokenProvider) failed.
    #[error("token provider failed: {0}")]
    TokenProvider(String),

    /// The connection broke after a non-idempotent request had been (at least partly) sent:
    /// the server may or may not have processed it. The request is not repeated; the caller
    /// must reconcile (e.g. look for the created item) before trying again.
    #[error("outcome unknown: the connection failed after the request was sent: {message}")]
    OutcomeUnknown {
        /// Description of the failure.
        message: String,
    },

    /// An idempotent request kept failing after it was sent (connection reset, truncated
    /// response) until the attempts ran out.
    #[error("request failed after {attempts} attempt(s): {message}")]
    Io {
        /// Number of HTTP attempts made.
        attempts: u32,
        /// Description of the last failure.
        message: String,
    },

    /// The NTLM handshake failed at the protocol level (malformed challenge, ...).
    #[error("NTLM handshake failed: {0}")]
    Ntlm(String),

    /// The response body is larger than the limit
    /// ([`TransportConfig::max_response_bytes`](super::TransportConfig::max_response_bytes) or
    /// the request's own). Reading stopped at the limit and the request is not repeated:
    /// the same answer would be refused again.
    #[error("the response is larger than the limit of {limit} bytes{}",
        declared.map(|d| format!(" (Content-Length {d})")).unwrap_or_default())]
    ResponseTooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The declared `Content-Length`, when it was what exceeded the limit.
        declared: Option<u64>,
    },

    /// A paging or sync stream passed its overall bounds or the server repeated itself.
    #[error(transparent)]
    Stream(#[from] super::stream::StreamBoundError),

    /// An HTTP status that the transport does not hand to the protocol layer (used by
    /// helpers such as the token fetch; `post` returns other statuses as a response).
    #[error("unexpected HTTP status {status}")]
    HttpStatus {
        /// The HTTP status code.
        status: u16,
    },
}

impl TransportError {
    /// `true` if trying again later (with back-off) may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Throttled { .. } | Self::Io { .. } => true,
            Self::DeadlineExceeded {
                outcome_unknown, ..
            } => !outcome_unknown,
            Self::TokenEndpoint { status, .. } => *status == 0 || *status >= 500 || *status == 429,
            Self::HttpStatus { status } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// `true` if the server throttled the client (HTTP 429/503).
    pub fn is_throttled(&self) -> bool {
        matches!(self, Self::Throttled { .. })
    }

    /// `true` for authentication failures (401, rejected token request, NTLM failure).
    pub fn is_auth(&self) -> bool {
        match self {
            Self::Unauthorized { .. } | Self::Ntlm(_) | Self::TokenProvider(_) => true,
            Self::TokenEndpoint { status, .. } => (400..500).contains(status) && *status != 429,
            _ => false,
        }
    }

    /// `true` if the deadline or a timeout expired (also a stream's overall time limit).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Self::DeadlineExceeded { .. }
                | Self::Stream(super::stream::StreamBoundError::TooLong { .. })
        )
    }

    /// `true` if the server's answer was refused for its size or a stream for its length
    /// (a limit of the client, see [`ResponseTooLarge`](Self::ResponseTooLarge) and
    /// [`Stream`](Self::Stream)); repeating the call would fail the same way.
    pub fn is_limit(&self) -> bool {
        matches!(self, Self::ResponseTooLarge { .. } | Self::Stream(_))
    }

    /// `true` if a non-idempotent request may or may not have been processed.
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Self::OutcomeUnknown { .. } => true,
            Self::DeadlineExceeded {
                outcome_unknown, ..
            } => *outcome_unknown,
            _ => false,
        }
    }

    /// The server's last Retry-After, for throttling errors.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
