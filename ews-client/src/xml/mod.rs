//! The XML plumbing every EWS type uses, built on quick-xml.
//!
//! One definition of each element: every request, response and item type implements
//! [`WriteXml`] and [`ReadXml`], so the client writes requests and reads responses, and
//! `ews-mock` reads requests and writes responses, with the same code.
//!
//! Reading is namespace-aware: elements match by namespace URI and local name, whatever
//! prefixes the peer chose, and unknown elements are skipped. Errors carry the path of the
//! element that failed to parse (`Envelope/Body/GetItemResponse/.../Contact/Birthday`).
//!
//! Writing uses fixed prefixes (`s:` SOAP, `m:` messages, `t:` types, `a:` Autodiscover,
//! `wsa:` WS-Addressing), all declared on the root element by [`XmlWriter::start_root`].
//!
//! ```
//! use ews_client::xml::{Ns, XmlReader, XmlWriter};
//!
//! let mut w = XmlWriter::new();
//! w.start_root(Ns::Types, "Contact").open();
//! w.text_element(Ns::Types, "DisplayName", "Anna & Bob");
//! w.end(Ns::Types, "Contact");
//! let bytes = w.into_bytes();
//!
//! let mut r = XmlReader::new(&bytes);
//! let root = r.root().unwrap();
//! assert!(root.is(Ns::Types, "Contact"));
//! let child = r.next_child(&root).unwrap().unwrap();
//! assert_eq!(r.text(&child).unwrap(), "Anna & Bob");
//! assert!(r.next_child(&root).unwrap().is_none());
//! ```

mod decode;
mod error;
mod reader;
mod value;
mod writer;

pub use decode::{charset_of, to_utf8};
pub use error::XmlError;
pub use reader::{Start, XmlReader};
pub use value::XmlValue;
pub use writer::{StartTag, XmlWriter, is_xml_char, xml_safe};

/// SOAP 1.1 envelope namespace.
pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// EWS messages namespace (operations, response messages).
pub const NS_MESSAGES: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// EWS types namespace (items, folders, ids, shapes).
pub const NS_TYPES: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// EWS errors namespace (appears in SOAP fault details).
pub const NS_ERRORS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";
/// SOAP Autodiscover namespace.
pub const NS_AUTODISCOVER: &str = "http://schemas.microsoft.com/exchange/2010/Autodiscover";
/// WS-Addressing namespace (SOAP Autodiscover headers).
pub const NS_ADDRESSING: &str = "http://www.w3.org/2005/08/addressing";
/// XML Schema instance namespace (`xsi:type`, `xsi:nil`).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The namespaces EWS documents use, as matched when reading and written with fixed prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ns {
    /// SOAP 1.1 envelope (`s:`).
    Soap,
    /// EWS messages (`m:`).
    Messages,
    /// EWS types (`t:`).
    Types,
    /// EWS errors (`e:`).
    Errors,
    /// SOAP Autodiscover (`a:`).
    Autodiscover,
    /// WS-Addressing (`wsa:`).
    Addressing,
    /// XML Schema instance (`xsi:`).
    Xsi,
    /// No namespace.
    None,
    /// A namespace this crate does not know; such elements are usually skipped.
    Other,
}

impl Ns {
    /// The namespace URI (empty for [`Ns::None`] and [`Ns::Other`]).
    pub fn uri(self) -> &'static str {
        match self {
            Ns::Soap => NS_SOAP,
            Ns::Messages => NS_MESSAGES,
            Ns::Types => NS_TYPES,
            Ns::Errors => NS_ERRORS,
            Ns::Autodiscover => NS_AUTODISCOVER,
            Ns::Addressing => NS_ADDRESSING,
            Ns::Xsi => NS_XSI,
            Ns::None | Ns::Other => "",
        }
    }

    /// The prefix this crate writes for the namespace (empty for none).
    pub fn prefix(self) -> &'static str {
        match self {
            Ns::Soap => "s",
            Ns::Messages => "m",
            Ns::Types => "t",
            Ns::Errors => "e",
            Ns::Autodiscover => "a",
            Ns::Addressing => "wsa",
            Ns::Xsi => "xsi",
            Ns::None | Ns::Other => "",
        }
    }

    /// The namespace for a URI.
    pub fn from_uri(uri: &[u8]) -> Ns {
        match uri {
            b"http://schemas.xmlsoap.org/soap/envelope/" => Ns::Soap,
            b"http://schemas.microsoft.com/exchange/services/2006/messages" => Ns::Messages,
            b"http://schemas.microsoft.com/exchange/services/2006/types" => Ns::Types,
            b"http://schemas.microsoft.com/exchange/services/2006/errors" => Ns::Errors,
            b"http://schemas.microsoft.com/exchange/2010/Autodiscover" => Ns::Autodiscover,
            b"http://www.w3.org/2005/08/addressing" => Ns::Addressing,
            b"http://www.w3.org/2001/XMLSchema-instance" => Ns::Xsi,
            _ => Ns::Other,
        }
    }
}

/// A type that writes itself as one XML element.
///
/// The parent chooses the element's namespace and name, because the schema reuses one type
/// under many element names (an `EmailAddressType` is a `Mailbox`, a `From`, ...).
pub trait WriteXml {
    /// Writes `self` as the element `ns:name`, with its attributes and children.
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str);
}

/// A type that reads itself from one XML element.
pub trait ReadXml: Sized {
    /// Reads `Self` from the element `start`, consuming everything up to its end tag.
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError>;
}

impl<T: WriteXml + ?Sized> WriteXml for &T {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        (**self).write_xml(w, ns, name)
    }
}

impl<T: WriteXml> WriteXml for Box<T> {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        (**self).write_xml(w, ns, name)
    }
}

impl<T: ReadXml> ReadXml for Box<T> {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        T::read_xml(r, start).map(Box::new)
    }
}

#[cfg(test)]
mod tests;
