//! The crate's error type.

use std::time::Duration;

use crate::envelope::SoapFault;
use crate::transport::TransportError;
use crate::types::response::{ResponseCode, ResponseError};
use crate::xml::XmlError;

/// An error of an EWS call.
///
/// Use the predicates rather than matching variants: [`is_transient`](Error::is_transient),
/// [`is_throttled`](Error::is_throttled), [`is_auth`](Error::is_auth),
/// [`is_not_found`](Error::is_not_found), [`is_conflict`](Error::is_conflict),
/// [`is_outcome_unknown`](Error::is_outcome_unknown). Messages never contain passwords or
/// tokens (the transport redacts them; this layer never sees them).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// HTTP, TLS, authentication, HTTP-level throttling, deadline or outcome-unknown failure.
    #[error(transparent)]
    Transport(#[from] TransportError),

    /// The server answered with a SOAP fault (request-level failure).
    #[error("SOAP fault {0}")]
    Fault(Box<SoapFault>),

    /// A per-item error, for calls that return one result (convenience methods).
    #[error("EWS error {0}")]
    Response(#[from] ResponseError),

    /// The response could not be parsed.
    #[error("cannot parse the EWS response: {0}")]
    Parse(#[from] XmlError),

    /// The server answered with an HTTP status and no readable SOAP envelope.
    #[error("unexpected HTTP status {status} from the EWS endpoint{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    HttpStatus {
        /// The status.
        status: u16,
        /// The start of the body, cleaned of secrets and control characters (at most
        /// [`MAX_SERVER_TEXT`](crate::transport::MAX_SERVER_TEXT) bytes).
        body: String,
        /// Why the body could not be read as a SOAP envelope (`None` for an empty body).
        #[source]
        cause: Option<XmlError>,
    },

    /// The server kept throttling (`ErrorServerBusy`) until the attempts of the call
    /// ([`ClientConfig::busy_retry`](crate::ClientConfig::busy_retry)) ran out or the next
    /// wait would pass the call's deadline.
    #[error(
        "throttled by Exchange ({code}) {attempts} time(s); last back-off {back_off:?}: giving up"
    )]
    Throttled {
        /// The throttling code (normally `ErrorServerBusy`).
        code: ResponseCode,
        /// The last back-off the server asked for (or the client's own, when it named none).
        back_off: Duration,
        /// How many throttled answers the call received.
        attempts: u32,
    },

    /// The answer holds another number of response messages than the request asked for
    /// (one per id, item or change): results cannot be paired with the request, so none
    /// is returned.
    #[error(
        "{operation}: the server returned {received} response message(s) for {expected} request(s)"
    )]
    ResultCount {
        /// The operation (`GetItem`).
        operation: &'static str,
        /// Response messages expected (one per requested id, item or change).
        expected: usize,
        /// Response messages received.
        received: usize,
    },

    /// The request is invalid before it is sent (e.g. `MaxChangesReturned` out of range).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The client configuration is invalid.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl From<SoapFault> for Error {
    fn from(fault: SoapFault) -> Self {
        Error::Fault(Box::new(fault))
    }
}

impl Error {
    /// The EWS response code, for faults, per-item errors and throttling.
    pub fn response_code(&self) -> Option<ResponseCode> {
        match self {
            Error::Fault(f) => f.code(),
            Error::Response(e) => Some(e.code()),
            Error::Throttled { code, .. } => Some(code.clone()),
            _ => None,
        }
    }

    /// `true` if trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_transient(),
            Error::HttpStatus { status, .. } => *status >= 500 || *status == 429,
            Error::Throttled { .. } => true,
            _ => self.response_code().is_some_and(|c| c.is_transient()),
        }
    }

    /// `true` if the server throttled the client (HTTP 429/503 or `ErrorServerBusy`).
    pub fn is_throttled(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_throttled(),
            Error::Throttled { .. } => true,
            Error::HttpStatus { status, .. } => *status == 429 || *status == 503,
            _ => self.response_code().is_some_and(|c| c.is_throttled()),
        }
    }

    /// `true` for authentication and authorization failures (401, rejected token, access
    /// or impersonation denied).
    pub fn is_auth(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_auth(),
            Error::HttpStatus { status, .. } => *status == 401 || *status == 403,
            _ => self.response_code().is_some_and(|c| c.is_auth()),
        }
    }

    /// `true` if the server broke the protocol in a way that makes the answer unusable
    /// (wrong number of results, unreadable response, a paging stream that would not end).
    pub fn is_protocol(&self) -> bool {
        matches!(
            self,
            Error::ResultCount { .. }
                | Error::Parse(_)
                | Error::Transport(TransportError::Stream(_))
        )
    }

    /// `true` if the item, folder or mailbox does not exist.
    pub fn is_not_found(&self) -> bool {
        self.response_code().is_some_and(|c| c.is_not_found())
    }

    /// `true` for conflicts (stale change key, irresolvable conflict, folder exists).
    pub fn is_conflict(&self) -> bool {
        self.response_code().is_some_and(|c| c.is_conflict())
    }

    /// `true` if a request that creates, sends or moves something may or may not have been
    /// processed: the caller must reconcile before repeating it.
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_outcome_unknown(),
            _ => false,
        }
    }

    /// `true` if a `SyncFolderItems`/`SyncFolderHierarchy` sync state was rejected
    /// (`ErrorInvalidSyncStateData`): resynchronize from scratch.
    pub fn is_invalid_sync_state(&self) -> bool {
        self.response_code() == Some(ResponseCode::ErrorInvalidSyncStateData)
    }

    /// `true` if the deadline expired.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_timeout(),
            Error::Throttled { .. } => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::response::ResponseStatus;

    #[test]
    fn predicates_follow_codes() {
        let busy = Error::from(SoapFault::for_code(ResponseCode::ErrorServerBusy, "busy"));
        assert!(busy.is_throttled() && busy.is_transient() && !busy.is_auth());
        let missing = Error::from(ResponseError(ResponseStatus::error(
            ResponseCode::ErrorItemNotFound,
            "gone",
        )));
        assert!(missing.is_not_found() && !missing.is_transient());
        let conflict = Error::from(ResponseError(ResponseStatus::error(
            ResponseCode::ErrorIrresolvableConflict,
            "stale",
        )));
        assert!(conflict.is_conflict());
        let denied = Error::from(SoapFault::for_code(
            ResponseCode::ErrorImpersonateUserDenied,
            "no",
        ));
        assert!(denied.is_auth());
        let unknown = Error::from(TransportError::OutcomeUnknown {
            message: "reset".into(),
        });
        assert!(unknown.is_outcome_unknown() && !unknown.is_transient());
        assert!(
            Error::HttpStatus {
                status: 503,
                body: String::new(),
                cause: None,
            }
            .is_throttled()
        );
    }
}
