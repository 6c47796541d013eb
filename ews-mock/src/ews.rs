//! EWS operations, dispatched by the operation element of the SOAP body.

use axum::http::StatusCode;

use crate::server::Shared;
use crate::soap::{self, RequestHead};

/// The mailbox a request acts on.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// The mailbox owner's configured address.
    pub mailbox: String,
    /// The account that impersonates the owner, if any.
    pub impersonating: Option<String>,
}

/// An answer to an EWS request.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: String,
    /// The response code of the first response message (or of the fault).
    pub code: Option<String>,
}

impl Reply {
    /// A SOAP fault with HTTP 500.
    pub fn fault(code: &str, message: &str, back_off_ms: Option<u64>) -> Reply {
        Reply {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: soap::soap_fault(code, message, back_off_ms),
            code: Some(code.to_string()),
        }
    }
}

/// Runs one operation.
pub(crate) fn dispatch(
    _shared: &Shared,
    head: &RequestHead,
    _target: &Target,
    _body: &[u8],
) -> Reply {
    Reply::fault(
        "ErrorInvalidRequest",
        &format!(
            "The operation {} is not implemented by ews-mock.",
            head.operation
        ),
        None,
    )
}
