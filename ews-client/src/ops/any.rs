//! [`AnyRequest`]: every operation's request type in one enum, for servers (`ews-mock`) that
//! read a request envelope and dispatch on the operation.

use super::{
    ConvertId, CreateAttachment, CreateFolder, CreateItem, DeleteFolder, DeleteItem, ExpandDL,
    FindFolder, FindItem, GetAttachment, GetFolder, GetItem, GetServerTimeZones,
    GetUserAvailability, GetUserConfiguration, GetUserOofSettings, GetUserPhoto, MoveItem,
    ResolveNames, SendItem, SyncFolderHierarchy, SyncFolderItems, UpdateFolder, UpdateItem,
};
use crate::envelope::{RequestHeaders, read_request_with, write_request_body};
use crate::operation::Operation;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

macro_rules! any_request {
    ($($op:ident),* $(,)?) => {
        /// Any EWS request this crate knows, keyed by operation.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum AnyRequest {
            $(
                #[doc = concat!("`m:", stringify!($op), "`.")]
                $op($op),
            )*
        }

        impl AnyRequest {
            /// The names of all operations [`AnyRequest`] reads.
            pub const OPERATIONS: &'static [&'static str] = &[$(<$op as Operation>::NAME),*];

            /// The operation name (`GetItem`).
            pub fn name(&self) -> &'static str {
                match self {
                    $(AnyRequest::$op(_) => <$op as Operation>::NAME,)*
                }
            }

            /// The response element name (`GetItemResponse`).
            pub fn response_name(&self) -> String {
                match self {
                    $(AnyRequest::$op(_) => <$op as Operation>::response_name(),)*
                }
            }

            /// Whether the request may be repeated safely.
            pub fn idempotent(&self) -> bool {
                match self {
                    $(AnyRequest::$op(op) => op.idempotent(),)*
                }
            }

            /// Writes the request body element (`m:GetItem`, ...).
            pub fn write(&self, w: &mut XmlWriter) {
                match self {
                    $(AnyRequest::$op(op) => op.write_xml(w, Ns::Messages, <$op as Operation>::NAME),)*
                }
            }

            /// Reads a request body element; `None` (left unread) for an unknown operation.
            pub fn try_read<'a>(
                r: &mut XmlReader<'a>,
                start: &Start<'a>,
            ) -> Result<Option<Self>, XmlError> {
                if start.ns() != Ns::Messages {
                    return Ok(None);
                }
                $(
                    if start.local() == <$op as Operation>::NAME {
                        return Ok(Some(AnyRequest::$op($op::read_xml(r, start)?)));
                    }
                )*
                Ok(None)
            }
        }

        $(
            impl From<$op> for AnyRequest {
                fn from(op: $op) -> Self {
                    AnyRequest::$op(op)
                }
            }
        )*
    };
}

any_request!(
    GetFolder,
    FindFolder,
    CreateFolder,
    UpdateFolder,
    DeleteFolder,
    SyncFolderHierarchy,
    SyncFolderItems,
    FindItem,
    GetItem,
    CreateItem,
    UpdateItem,
    DeleteItem,
    MoveItem,
    SendItem,
    CreateAttachment,
    GetAttachment,
    ResolveNames,
    ConvertId,
    GetUserConfiguration,
    ExpandDL,
    GetServerTimeZones,
    GetUserOofSettings,
    GetUserPhoto,
    GetUserAvailability,
);

impl AnyRequest {
    /// Reads a whole request envelope: the headers and the operation. An unknown operation
    /// is an [`XmlError::UnexpectedElement`] naming it.
    pub fn read_envelope(bytes: &[u8]) -> Result<(RequestHeaders, AnyRequest), XmlError> {
        read_request_with(bytes, |r, start| match AnyRequest::try_read(r, start)? {
            Some(op) => Ok(op),
            None => Err(r.unexpected(start, "a supported EWS operation")),
        })
    }

    /// Writes a whole request envelope.
    pub fn write_envelope(&self, headers: &RequestHeaders) -> Vec<u8> {
        write_request_body(headers, |w| self.write(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Impersonation;
    use crate::types::DistinguishedFolderName;

    #[test]
    fn dispatches_on_operation_and_rejects_unknown() {
        let headers = RequestHeaders::default()
            .with_impersonation(Impersonation::SmtpAddress("bob@contoso.com".into()));
        let op: AnyRequest = GetFolder::new([DistinguishedFolderName::Inbox]).into();
        let bytes = op.write_envelope(&headers);
        let (h, back) = AnyRequest::read_envelope(&bytes).unwrap();
        assert_eq!(h, headers);
        assert_eq!(back, op);
        assert_eq!(back.name(), "GetFolder");

        let text = String::from_utf8(bytes)
            .unwrap()
            .replace("GetFolder", "EmptyFolder");
        let err = AnyRequest::read_envelope(text.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("EmptyFolder"), "{err}");
    }
}
