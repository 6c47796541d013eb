//! The error type of graph-client.

use std::time::Duration;

use std::sync::Arc;

use ews_client::transport::{Scrubber, TransportError};

/// Graph's JSON error body (`{"error": {"code", "message", "innerError": {...}}}`), the
/// server's text already passed through the client's [`Scrubber`] (every secret the client
/// holds removed, control characters replaced, cut to ews-client's
/// [`MAX_SERVER_TEXT`](ews_client::transport::MAX_SERVER_TEXT) bytes).
///
/// When the body could not be read as Graph's error JSON, `message` holds a scrubbed excerpt
/// of it and the parse error is this error's [`source`](std::error::Error::source).
#[derive(Debug, Clone, Default)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Graph error code, e.g. `ErrorItemNotFound`, `syncStateNotFound`.
    pub code: String,
    /// The server's message.
    pub message: String,
    /// `innerError.request-id`, for support requests.
    pub request_id: Option<String>,
    /// The server's `Retry-After`, if any.
    pub retry_after: Option<Duration>,
    /// Why the body could not be read, if it could not.
    cause: Option<Arc<serde_json::Error>>,
}

impl PartialEq for ApiError {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status
            && self.code == other.code
            && self.message == other.message
            && self.request_id == other.request_id
            && self.retry_after == other.retry_after
    }
}

impl Eq for ApiError {}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if !self.code.is_empty() {
            write!(f, " {}", self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request-id {id})")?;
        }
        if self.cause.is_some() {
            f.write_str(" (unreadable error body)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl ApiError {
    /// Reads Graph's error body, scrubbing the server's text with `scrubber`. An empty body
    /// gives an empty code and message; an unreadable one an excerpt as message and the
    /// parse error as source.
    pub(crate) fn from_body(
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
        scrubber: &Scrubber,
    ) -> Self {
        #[derive(serde::Deserialize)]
        struct Envelope {
            error: Option<Inner>,
        }
        #[derive(serde::Deserialize)]
        struct Inner {
            code: Option<String>,
            message: Option<String>,
            #[serde(rename = "innerError", alias = "innererror")]
            inner: Option<InnerError>,
        }
        #[derive(serde::Deserialize)]
        struct InnerError {
            #[serde(rename = "request-id")]
            request_id: Option<String>,
            code: Option<String>,
        }
        let mut cause = None;
        let parsed = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match serde_json::from_slice::<Envelope>(body) {
                Ok(envelope) => envelope.error,
                Err(e) => {
                    cause = Some(Arc::new(e));
                    None
                }
            }
        };
        let (code, message, request_id, inner_code) = match parsed {
            Some(inner) => {
                let (rid, icode) = inner
                    .inner
                    .map(|i| (i.request_id, i.code))
                    .unwrap_or_default();
                (
                    inner.code.unwrap_or_default(),
                    inner.message.unwrap_or_default(),
                    rid,
                    icode,
                )
            }
            None if cause.is_some() => (
                String::new(),
                String::from_utf8_lossy(body).into_owned(),
                None,
                None,
            ),
            None => (String::new(), String::new(), None, None),
        };
        // `syncStateNotFound` sometimes arrives as the inner code of a generic outer one.
        let code = match inner_code {
            Some(ic) if code.is_empty() || is_reset_code(&ic) => ic,
            _ => code,
        };
        Self {
            status,
            code: scrubber.scrub_to(&code, 100),
            message: scrubber.scrub(&message),
            request_id: request_id.map(|r| scrubber.scrub_to(&r, 100)),
            retry_after,
            cause,
        }
    }
}

fn is_reset_code(code: &str) -> bool {
    [
        "syncStateNotFound",
        "syncStateInvalid",
        "resyncRequired",
        "SyncStateNotFound",
    ]
    .iter()
    .any(|c| c.eq_ignore_ascii_case(code))
}

/// An error of graph-client.
///
/// Use the predicates rather than matching variants. Messages never contain tokens, client
/// secrets or private keys; server text is truncated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid configuration or argument (bad base URL, too many batch requests, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The HTTP layer failed (connection, TLS, deadline, token endpoint, 401, throttled after
    /// all attempts, outcome unknown).
    #[error(transparent)]
    Transport(#[from] TransportError),

    /// The delta token is no longer valid (HTTP 410 or `syncStateNotFound`): start a full
    /// resync with a fresh delta request.
    #[error("delta token expired, full resync needed: {0}")]
    DeltaReset(#[source] ApiError),

    /// `If-Match` failed (HTTP 412): the item changed since the etag was read.
    #[error("conflict, the item changed on the server: {0}")]
    Conflict(#[source] ApiError),

    /// The item, folder or mailbox does not exist (HTTP 404).
    #[error("not found: {0}")]
    NotFound(#[source] ApiError),

    /// A request of a `$batch` was not run because a request it depends on failed (424).
    #[error("failed dependency in $batch: {0}")]
    FailedDependency(#[source] ApiError),

    /// The mailbox's local request budget (requests per window) is used up and the deadline
    /// does not allow waiting for it.
    #[error("request budget of this mailbox exhausted; next slot in {}s", .retry_after.as_secs())]
    BudgetExhausted {
        /// When the next request may be sent.
        retry_after: Duration,
    },

    /// Any other error answer of Graph.
    #[error("Graph error: {0}")]
    Api(#[source] ApiError),

    /// A response did not match what was expected (unreadable JSON, missing delta link, a
    /// paging loop, a batch answer that does not pair with its requests).
    #[error("unexpected response: {message}")]
    Protocol {
        /// What was wrong.
        message: String,
        /// The JSON error, if any.
        #[source]
        source: Option<serde_json::Error>,
    },
}

impl Error {
    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Self::Protocol {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn decode(what: &str, source: serde_json::Error) -> Self {
        Self::Protocol {
            message: format!("cannot read {what}"),
            source: Some(source),
        }
    }

    /// Classifies an error answer.
    pub(crate) fn from_api(api: ApiError) -> Self {
        match api.status {
            410 => Self::DeltaReset(api),
            _ if is_reset_code(&api.code) => Self::DeltaReset(api),
            412 => Self::Conflict(api),
            404 => Self::NotFound(api),
            424 => Self::FailedDependency(api),
            _ => Self::Api(api),
        }
    }

    /// The Graph error answer behind this error, if any.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::DeltaReset(a)
            | Self::Conflict(a)
            | Self::NotFound(a)
            | Self::FailedDependency(a)
            | Self::Api(a) => Some(a),
            _ => None,
        }
    }

    /// `true` if trying again later may succeed (throttling, 5xx, connection failures), and
    /// trying again cannot duplicate a write.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_transient(),
            Self::BudgetExhausted { .. } => true,
            Self::Api(a) => matches!(a.status, 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// `true` if Graph (429/503) or the local budget throttled the request.
    pub fn is_throttled(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_throttled(),
            Self::BudgetExhausted { .. } => true,
            Self::Api(a) => matches!(a.status, 429 | 503),
            _ => false,
        }
    }

    /// `true` if a limit of the client stopped the call: an answer larger than
    /// [`ClientConfig::max_response_bytes`](crate::ClientConfig::max_response_bytes) (or the
    /// download limit), or a listing or delta round past its
    /// [stream limits](crate::ClientConfig::stream_limits) or repeating a link. Repeating
    /// the call would fail the same way.
    pub fn is_limit(&self) -> bool {
        matches!(self, Self::Transport(e) if e.is_limit())
    }

    /// `true` for a stale `If-Match` (412) or a 409 conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict(_)) || matches!(self, Self::Api(a) if a.status == 409)
    }

    /// `true` if a delta token must be dropped and the folder read in full.
    pub fn is_delta_reset(&self) -> bool {
        matches!(self, Self::DeltaReset(_))
    }

    /// `true` if the item, folder or mailbox does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }

    /// `true` for authentication and authorization failures (token endpoint, 401, 403).
    pub fn is_auth(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_auth(),
            Self::Api(a) => a.status == 401 || a.status == 403,
            _ => false,
        }
    }

    /// `true` if a write may or may not have happened: the caller must look before trying
    /// again (the client never repeats such a request by itself).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::Transport(e) if e.is_outcome_unknown())
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transport(e) => e.retry_after(),
            Self::BudgetExhausted { retry_after } => Some(*retry_after),
            other => other.api().and_then(|a| a.retry_after),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_and_truncation() {
        let body = br#"{"error":{"code":"ErrorInvalidRequest","message":"x","innerError":{"code":"syncStateNotFound","request-id":"r1"}}}"#;
        let e = Error::from_api(ApiError::from_body(400, body, None, &Scrubber::new()));
        assert!(e.is_delta_reset(), "{e}");
        let long = format!(
            r#"{{"error":{{"code":"Boom","message":"{}\u0007"}}}}"#,
            "a".repeat(5000)
        );
        let e = Error::from_api(ApiError::from_body(
            500,
            long.as_bytes(),
            None,
            &Scrubber::new(),
        ));
        let text = e.to_string();
        assert!(text.len() < 400 && !text.contains('\u{7}'), "{text}");
        assert!(e.is_transient());
        assert!(
            Error::from_api(ApiError::from_body(412, b"", None, &Scrubber::new())).is_conflict()
        );
        assert!(
            Error::from_api(ApiError::from_body(404, b"{}", None, &Scrubber::new())).is_not_found()
        );
        assert!(
            Error::from_api(ApiError::from_body(403, b"garbage", None, &Scrubber::new())).is_auth()
        );
    }
}
