//! The [`Operation`] trait: ties an EWS request type to its response type.
//!
//! A request type is written as the body element `m:{NAME}` and read back from it (the mock
//! server reads requests with the same code). Its response is the body element
//! `m:{NAME}Response`, usually a [`ResponseMessages`] of an operation-specific
//! [`ResponseContent`].

use crate::types::response::{ResponseContent, ResponseMessages, ResponseStatus};
use crate::xml::{NS_MESSAGES, ReadXml, WriteXml};

/// An EWS operation request.
///
/// ```
/// use ews_client::operation::Operation;
/// use ews_client::ops::GetFolder;
/// assert_eq!(GetFolder::NAME, "GetFolder");
/// assert_eq!(
///     GetFolder::soap_action(),
///     "http://schemas.microsoft.com/exchange/services/2006/messages/GetFolder"
/// );
/// ```
pub trait Operation: WriteXml + ReadXml + Send + Sync {
    /// The operation name: the request body element's local name (`GetItem`).
    const NAME: &'static str;

    /// The response body type (element `m:{NAME}Response`).
    type Response: OperationResponse;

    /// Whether sending the request twice is harmless. Operations that create, send or move
    /// something return `false`: when the connection drops after sending them, the client
    /// reports "outcome unknown" instead of repeating them.
    fn idempotent(&self) -> bool {
        true
    }

    /// Checks what the schema would reject before anything is sent (empty id lists, values
    /// out of range); the client turns an error into [`crate::Error::InvalidRequest`].
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    /// How many response messages a correct answer holds: one per requested id, item,
    /// change or parent folder, in request order. The client refuses an answer with another
    /// number ([`crate::Error::ResultCount`]), so callers can pair requests and results.
    /// `None` where the protocol fixes no number.
    fn expected_responses(&self) -> Option<usize> {
        None
    }

    /// `true` when the answer may be large (MIME content, attachments): the client then
    /// accepts up to [`crate::ClientConfig::max_download_bytes`] instead of the transport's
    /// normal response limit.
    fn is_download(&self) -> bool {
        false
    }

    /// The local name of the response body element (`GetItemResponse`).
    fn response_name() -> String {
        format!("{}Response", Self::NAME)
    }

    /// The `SOAPAction` header value.
    fn soap_action() -> String {
        format!("{NS_MESSAGES}/{}", Self::NAME)
    }
}

/// An operation's response body.
pub trait OperationResponse: WriteXml + ReadXml + Send + 'static {
    /// The statuses of its response messages, in request order. The client looks at them
    /// for throttling (`ErrorServerBusy` inside an HTTP 200 answer).
    fn statuses(&self) -> Vec<&ResponseStatus>;

    /// The same statuses, mutable: the client cleans server-supplied message texts (see
    /// [`crate::transport::Scrubber`]) before handing the response out.
    fn statuses_mut(&mut self) -> Vec<&mut ResponseStatus> {
        Vec::new()
    }
}

impl<T: ResponseContent + Send + 'static> OperationResponse for ResponseMessages<T> {
    fn statuses(&self) -> Vec<&ResponseStatus> {
        self.messages.iter().map(|m| &m.status).collect()
    }

    fn statuses_mut(&mut self) -> Vec<&mut ResponseStatus> {
        self.messages.iter_mut().map(|m| &mut m.status).collect()
    }
}
