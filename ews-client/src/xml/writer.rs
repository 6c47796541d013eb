use super::{Ns, WriteXml, XmlValue};
use std::borrow::Cow;

/// Writes an XML document into memory with the fixed prefixes of [`Ns::prefix`].
///
/// Writing into memory cannot fail, so the methods return nothing; element nesting is the
/// caller's responsibility (each `open()` needs its [`XmlWriter::end`]).
#[derive(Debug, Default)]
pub struct XmlWriter {
    buf: String,
}

/// An element start tag being written: add attributes, then finish it with
/// [`StartTag::open`], [`StartTag::empty`] or [`StartTag::text`].
#[must_use = "a start tag must be finished with open(), empty() or text()"]
pub struct StartTag<'w, 'n> {
    w: &'w mut XmlWriter,
    ns: Ns,
    name: &'n str,
}

impl XmlWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: String::with_capacity(capacity),
        }
    }

    /// Writes the XML declaration (`<?xml version="1.0" encoding="utf-8"?>`).
    pub fn declaration(&mut self) {
        self.buf
            .push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    }

    /// Starts the root element and declares the SOAP, messages, types and XSI namespaces on it.
    pub fn start_root<'w, 'n>(&'w mut self, ns: Ns, name: &'n str) -> StartTag<'w, 'n> {
        self.start(ns, name)
            .xmlns(Ns::Soap)
            .xmlns(Ns::Messages)
            .xmlns(Ns::Types)
            .xmlns(Ns::Xsi)
    }

    /// Starts an element.
    pub fn start<'w, 'n>(&'w mut self, ns: Ns, name: &'n str) -> StartTag<'w, 'n> {
        self.buf.push('<');
        self.push_qname(ns, name);
        StartTag { w: self, ns, name }
    }

    /// Writes the end tag of an element opened with [`StartTag::open`].
    pub fn end(&mut self, ns: Ns, name: &str) {
        self.buf.push_str("</");
        self.push_qname(ns, name);
        self.buf.push('>');
    }

    /// Writes `<ns:name>` , runs `body`, then writes `</ns:name>`.
    pub fn element(&mut self, ns: Ns, name: &str, body: impl FnOnce(&mut XmlWriter)) {
        self.start(ns, name).open();
        body(self);
        self.end(ns, name);
    }

    /// Writes `<ns:name>text</ns:name>`, escaping the text.
    pub fn text_element(&mut self, ns: Ns, name: &str, text: &str) {
        self.start(ns, name).text(text);
    }

    /// Writes a scalar value as a text element.
    pub fn value<V: XmlValue>(&mut self, ns: Ns, name: &str, value: &V) {
        let text = value.to_xml_value();
        self.text_element(ns, name, &text);
    }

    /// Writes a scalar value as a text element when it is `Some`.
    pub fn opt_value<V: XmlValue>(&mut self, ns: Ns, name: &str, value: Option<&V>) {
        if let Some(v) = value {
            self.value(ns, name, v);
        }
    }

    /// Writes a complex value as the element `ns:name`.
    pub fn write<T: WriteXml + ?Sized>(&mut self, ns: Ns, name: &str, value: &T) {
        value.write_xml(self, ns, name);
    }

    /// Writes a complex value as the element `ns:name` when it is `Some`.
    pub fn opt_write<T: WriteXml>(&mut self, ns: Ns, name: &str, value: Option<&T>) {
        if let Some(v) = value {
            v.write_xml(self, ns, name);
        }
    }

    /// Writes each value as an element `ns:name`.
    pub fn write_all<'a, T: WriteXml + 'a>(
        &mut self,
        ns: Ns,
        name: &str,
        values: impl IntoIterator<Item = &'a T>,
    ) {
        for v in values {
            v.write_xml(self, ns, name);
        }
    }

    /// Writes escaped character data inside the current element.
    pub fn text(&mut self, text: &str) {
        self.buf.push_str(&escape(&xml_safe(text)));
    }

    /// Appends an already serialized, well-formed fragment verbatim.
    ///
    /// Only for content produced by another [`XmlWriter`] with the same prefixes.
    pub fn raw_fragment(&mut self, xml: &str) {
        self.buf.push_str(xml);
    }

    /// The document written so far.
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// The finished document as a string.
    pub fn into_string(self) -> String {
        self.buf
    }

    /// The finished document as bytes (UTF-8).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf.into_bytes()
    }

    fn push_qname(&mut self, ns: Ns, name: &str) {
        let prefix = ns.prefix();
        if !prefix.is_empty() {
            self.buf.push_str(prefix);
            self.buf.push(':');
        }
        self.buf.push_str(name);
    }
}

impl<'w, 'n> StartTag<'w, 'n> {
    /// Adds an attribute (unqualified, as EWS attributes are).
    pub fn attr(self, name: &str, value: &str) -> Self {
        let buf = &mut self.w.buf;
        buf.push(' ');
        buf.push_str(name);
        buf.push_str("=\"");
        buf.push_str(&escape(&xml_safe(value)));
        buf.push('"');
        self
    }

    /// Adds an attribute holding a scalar value.
    pub fn attr_value<V: XmlValue>(self, name: &str, value: &V) -> Self {
        let text = value.to_xml_value();
        self.attr(name, &text)
    }

    /// Adds an attribute when the value is `Some`.
    pub fn attr_opt<V: XmlValue>(self, name: &str, value: Option<&V>) -> Self {
        match value {
            Some(v) => self.attr_value(name, v),
            None => self,
        }
    }

    /// Adds a namespace-qualified attribute, such as `xsi:type`.
    pub fn attr_ns(self, ns: Ns, name: &str, value: &str) -> Self {
        let buf = &mut self.w.buf;
        buf.push(' ');
        let prefix = ns.prefix();
        if !prefix.is_empty() {
            buf.push_str(prefix);
            buf.push(':');
        }
        buf.push_str(name);
        buf.push_str("=\"");
        buf.push_str(&escape(&xml_safe(value)));
        buf.push('"');
        self
    }

    /// Declares a namespace with its fixed prefix on this element.
    pub fn xmlns(self, ns: Ns) -> Self {
        let prefix = ns.prefix();
        if prefix.is_empty() {
            return self;
        }
        let buf = &mut self.w.buf;
        buf.push_str(" xmlns:");
        buf.push_str(prefix);
        buf.push_str("=\"");
        buf.push_str(ns.uri());
        buf.push('"');
        self
    }

    /// Closes the start tag; children follow, then [`XmlWriter::end`].
    pub fn open(self) {
        self.w.buf.push('>');
    }

    /// Writes the element as empty (`<t:Name a="b"/>`).
    pub fn empty(self) {
        self.w.buf.push_str("/>");
    }

    /// Writes escaped text content and the end tag.
    pub fn text(self, text: &str) {
        self.w.buf.push('>');
        self.w.buf.push_str(&escape(&xml_safe(text)));
        self.w.end(self.ns, self.name);
    }

    /// Runs `body` for the children and writes the end tag.
    pub fn children(self, body: impl FnOnce(&mut XmlWriter)) {
        let (ns, name) = (self.ns, self.name);
        self.w.buf.push('>');
        body(self.w);
        self.w.end(ns, name);
    }
}

/// Whether XML 1.0 allows the character in a document (`Char` production).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Text as it survives an XML round trip: characters XML 1.0 forbids (control characters
/// such as a vertical tab pasted into a note, U+FFFE, U+FFFF) are dropped, because no
/// conforming peer accepts them, even escaped. Use it to compare values with what a peer will
/// read back.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|c| is_xml_char(*c)).collect())
    }
}

/// Escapes a carriage return as `&#13;` (after quick-xml's escaping), since XML parsers
/// normalize a literal CR LF to LF and the CR would be lost.
fn escape(text: &str) -> Cow<'_, str> {
    let escaped = quick_xml::escape::escape(text);
    if escaped.contains('\r') {
        Cow::Owned(escaped.replace('\r', "&#13;"))
    } else {
        escaped
    }
}
