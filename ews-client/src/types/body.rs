//! Item bodies (`t:BodyType`), MIME content (`t:MimeContentType`) and internet headers
//! (`t:InternetHeaderType`).

use super::ids::string_enum;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

string_enum! {
    /// The format of a body (`t:BodyTypeType`).
    BodyType {
        /// HTML.
        Html = "HTML",
        /// Plain text.
        Text = "Text",
    }
}

/// An item body (`t:Body`): text or HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// Text or HTML.
    pub body_type: BodyType,
    /// The content.
    pub content: String,
    /// Whether the server truncated the body (`MaximumBodySize` in the shape).
    pub is_truncated: Option<bool>,
}

impl Body {
    /// A plain-text body.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            body_type: BodyType::Text,
            content: content.into(),
            is_truncated: None,
        }
    }

    /// An HTML body.
    pub fn html(content: impl Into<String>) -> Self {
        Self {
            body_type: BodyType::Html,
            content: content.into(),
            is_truncated: None,
        }
    }
}

impl WriteXml for Body {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("BodyType", &self.body_type)
            .attr_opt("IsTruncated", self.is_truncated.as_ref())
            .text(&self.content);
    }
}

impl ReadXml for Body {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        // Exchange always sends BodyType; accept its absence as text rather than fail.
        let body_type = start.attr_value(r, "BodyType")?.unwrap_or(BodyType::Text);
        let is_truncated = start.attr_value(r, "IsTruncated")?;
        let content = r.text(start)?.into_owned();
        Ok(Self {
            body_type,
            content,
            is_truncated,
        })
    }
}

/// The item's full MIME content (`t:MimeContent`), base64 in XML, raw bytes here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MimeContent {
    /// The character set the server named (`CharacterSet` attribute), e.g. `UTF-8`.
    pub character_set: Option<String>,
    /// The RFC 5322 message bytes.
    pub content: Vec<u8>,
}

impl MimeContent {
    /// MIME bytes without a character set.
    pub fn new(content: impl Into<Vec<u8>>) -> Self {
        Self {
            character_set: None,
            content: content.into(),
        }
    }
}

impl WriteXml for MimeContent {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_opt("CharacterSet", self.character_set.as_ref())
            .text(&BASE64.encode(&self.content));
    }
}

impl ReadXml for MimeContent {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let character_set = start.attr("CharacterSet")?.map(|c| c.into_owned());
        let text = r.text(start)?;
        let content = decode_base64(&text).map_err(|e| r.invalid(start, &text, e))?;
        Ok(Self {
            character_set,
            content,
        })
    }
}

/// Decodes base64 text as EWS sends it (whitespace and line breaks allowed).
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64
        .decode(compact.as_bytes())
        .map_err(|e| format!("expected base64: {e}"))
}

/// Encodes bytes as base64 for `xs:base64Binary` elements.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// One internet message header (`t:InternetMessageHeader`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternetHeader {
    /// The header name (`HeaderName` attribute).
    pub name: String,
    /// The header value.
    pub value: String,
}

impl WriteXml for InternetHeader {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr("HeaderName", &self.name)
            .text(&self.value);
    }
}

impl ReadXml for InternetHeader {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let name = start.required_attr(r, "HeaderName")?.into_owned();
        let value = r.text(start)?.into_owned();
        Ok(Self { name, value })
    }
}
