use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use super::error::truncate_value;
use super::{Ns, ReadXml, XmlError, XmlValue};

/// A namespace-aware pull reader over an in-memory document.
///
/// Typed readers walk it with [`XmlReader::next_child`], read leaves with
/// [`XmlReader::text`] or [`XmlReader::value`], and skip what they do not know with
/// [`XmlReader::skip`]. It keeps the path of open elements for error messages.
pub struct XmlReader<'a> {
    inner: NsReader<&'a [u8]>,
    /// `/`-separated local names of the open elements.
    path: String,
    /// Byte length of `path` before each open element was pushed.
    marks: Vec<usize>,
}

/// A start tag read from the document: its namespace, local name and attributes.
#[derive(Debug, Clone)]
pub struct Start<'a> {
    tag: BytesStart<'a>,
    ns: Ns,
    /// `true` for `<x/>`: there is no content and no end tag to consume.
    empty: bool,
    /// Number of open elements once this one is open (its own level).
    depth: usize,
}

impl<'a> Start<'a> {
    /// The element's namespace.
    pub fn ns(&self) -> Ns {
        self.ns
    }

    /// The element's local name (without prefix).
    pub fn local(&self) -> &str {
        std::str::from_utf8(self.tag.local_name().into_inner()).unwrap_or("")
    }

    /// Whether this is the element `ns:local`.
    pub fn is(&self, ns: Ns, local: &str) -> bool {
        self.ns == ns && self.tag.local_name().into_inner() == local.as_bytes()
    }

    /// Whether the element was written as `<x/>`.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// An attribute's unescaped value, matched by local name (EWS attributes are unqualified;
    /// `xsi:type` matches `type`).
    pub fn attr(&self, name: &str) -> Result<Option<Cow<'_, str>>, XmlError> {
        for attr in self.tag.attributes().with_checks(false) {
            let attr = attr.map_err(|e| XmlError::Syntax {
                path: self.local().to_owned(),
                position: 0,
                message: e.to_string(),
            })?;
            if attr.key.local_name().into_inner() == name.as_bytes() {
                let value = attr.unescape_value().map_err(|e| XmlError::InvalidValue {
                    path: format!("{}/@{name}", self.local()),
                    value: String::new(),
                    message: e.to_string(),
                })?;
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// A required attribute.
    pub fn required_attr(&self, r: &XmlReader<'_>, name: &str) -> Result<Cow<'_, str>, XmlError> {
        self.attr(name)?.ok_or_else(|| XmlError::MissingAttribute {
            path: r.path_with(self),
            attribute: name.to_owned(),
        })
    }

    /// An optional attribute parsed as a scalar value.
    pub fn attr_value<V: XmlValue>(
        &self,
        r: &XmlReader<'_>,
        name: &str,
    ) -> Result<Option<V>, XmlError> {
        match self.attr(name)? {
            None => Ok(None),
            Some(text) => {
                V::from_xml_value(&text)
                    .map(Some)
                    .map_err(|message| XmlError::InvalidValue {
                        path: format!("{}/@{name}", r.path_with(self)),
                        value: truncate_value(&text),
                        message,
                    })
            }
        }
    }

    /// A required attribute parsed as a scalar value.
    pub fn required_attr_value<V: XmlValue>(
        &self,
        r: &XmlReader<'_>,
        name: &str,
    ) -> Result<V, XmlError> {
        self.attr_value(r, name)?
            .ok_or_else(|| XmlError::MissingAttribute {
                path: r.path_with(self),
                attribute: name.to_owned(),
            })
    }
}

impl<'a> XmlReader<'a> {
    /// A reader over a whole document.
    pub fn new(input: &'a [u8]) -> Self {
        let mut inner = NsReader::from_reader(input);
        let config = inner.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Self {
            inner,
            path: String::new(),
            marks: Vec::new(),
        }
    }

    /// The path of the open elements, for error messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path including `start` when it is an empty element (not pushed on the stack).
    pub fn path_with(&self, start: &Start<'_>) -> String {
        if start.empty || start.depth != self.marks.len() {
            if self.path.is_empty() {
                start.local().to_owned()
            } else {
                format!("{}/{}", self.path, start.local())
            }
        } else {
            self.path.clone()
        }
    }

    /// Reads up to the root element and returns its start tag.
    pub fn root(&mut self) -> Result<Start<'a>, XmlError> {
        loop {
            match self.read_event()? {
                Some((ns, Event::Start(tag))) => return Ok(self.open(ns, tag)),
                Some((ns, Event::Empty(tag))) => return Ok(self.empty(ns, tag)),
                Some((_, Event::End(_))) => {
                    return Err(self.syntax("end tag before the root element".into()));
                }
                Some(_) => {}
                None => {
                    return Err(XmlError::UnexpectedEof {
                        path: String::new(),
                    });
                }
            }
        }
    }

    /// The next child element of `parent`, or `None` once `parent`'s end tag was read.
    ///
    /// Text, comments and processing instructions between children are skipped. If the
    /// previous child was not consumed, its remaining content is skipped first.
    pub fn next_child(&mut self, parent: &Start<'a>) -> Result<Option<Start<'a>>, XmlError> {
        if parent.empty || self.marks.len() < parent.depth {
            return Ok(None);
        }
        while self.marks.len() > parent.depth {
            self.skip_current()?;
        }
        loop {
            match self.read_event()? {
                Some((ns, Event::Start(tag))) => return Ok(Some(self.open(ns, tag))),
                Some((ns, Event::Empty(tag))) => return Ok(Some(self.empty(ns, tag))),
                Some((_, Event::End(_))) => {
                    self.close();
                    return Ok(None);
                }
                Some(_) => {}
                None => {
                    return Err(XmlError::UnexpectedEof {
                        path: self.path.clone(),
                    });
                }
            }
        }
    }

    /// Skips `start`'s content up to and including its end tag.
    pub fn skip(&mut self, start: &Start<'a>) -> Result<(), XmlError> {
        if start.empty {
            return Ok(());
        }
        while self.marks.len() >= start.depth {
            self.skip_current()?;
        }
        Ok(())
    }

    /// Reads the text content of `start` up to its end tag (child elements are skipped,
    /// CDATA is included).
    pub fn text(&mut self, start: &Start<'a>) -> Result<Cow<'a, str>, XmlError> {
        if start.empty {
            return Ok(Cow::Borrowed(""));
        }
        let mut out: Option<Cow<'a, str>> = None;
        loop {
            let depth = self.marks.len();
            match self.read_event()? {
                Some((_, Event::Text(t))) if depth == start.depth => {
                    let piece = t.unescape().map_err(|e| self.syntax(e.to_string()))?;
                    append(&mut out, piece);
                }
                Some((_, Event::CData(c))) if depth == start.depth => {
                    let bytes = c.into_inner();
                    let piece = match bytes {
                        Cow::Borrowed(b) => Cow::Borrowed(
                            std::str::from_utf8(b).map_err(|e| self.syntax(e.to_string()))?,
                        ),
                        Cow::Owned(b) => Cow::Owned(
                            String::from_utf8(b).map_err(|e| self.syntax(e.to_string()))?,
                        ),
                    };
                    append(&mut out, piece);
                }
                Some((ns, Event::Start(tag))) => {
                    self.open(ns, tag);
                }
                Some((_, Event::End(_))) => {
                    self.close();
                    if self.marks.len() < start.depth {
                        return Ok(out.unwrap_or(Cow::Borrowed("")));
                    }
                }
                Some(_) => {}
                None => {
                    return Err(XmlError::UnexpectedEof {
                        path: self.path.clone(),
                    });
                }
            }
        }
    }

    /// Reads the text content of `start` and parses it as a scalar value.
    pub fn value<V: XmlValue>(&mut self, start: &Start<'a>) -> Result<V, XmlError> {
        let path = self.path_with(start);
        let text = self.text(start)?;
        V::from_xml_value(&text).map_err(|message| XmlError::InvalidValue {
            path,
            value: truncate_value(&text),
            message,
        })
    }

    /// Reads a complex value from `start`.
    pub fn read<T: ReadXml>(&mut self, start: &Start<'a>) -> Result<T, XmlError> {
        T::read_xml(self, start)
    }

    /// Reads every child of `start` as `T` (used for lists such as `Items` or `Attendees`).
    /// Children in other namespaces or with other names than `ns:name` are skipped.
    pub fn read_list<T: ReadXml>(
        &mut self,
        start: &Start<'a>,
        ns: Ns,
        name: &str,
    ) -> Result<Vec<T>, XmlError> {
        let mut out = Vec::new();
        while let Some(child) = self.next_child(start)? {
            if child.is(ns, name) {
                out.push(T::read_xml(self, &child)?);
            } else {
                self.skip(&child)?;
            }
        }
        Ok(out)
    }

    /// An error for a required child element that `parent` lacks.
    pub fn missing(&self, parent: &Start<'_>, element: &str) -> XmlError {
        XmlError::MissingElement {
            path: self.path_with(parent),
            element: element.to_owned(),
        }
    }

    /// The value of a required child element of `parent`: `value` if the child was read,
    /// else [`XmlError::MissingElement`] naming `element` and the parent's path. The one way
    /// this crate reports a missing element: `r.required(start, shape, "ItemShape")?`.
    pub fn required<T>(
        &self,
        parent: &Start<'_>,
        value: Option<T>,
        element: &str,
    ) -> Result<T, XmlError> {
        value.ok_or_else(|| self.missing(parent, element))
    }

    /// An error for an element that is not allowed where it appeared.
    pub fn unexpected(&self, found: &Start<'_>, expected: &str) -> XmlError {
        XmlError::UnexpectedElement {
            path: self.path.clone(),
            element: format!("{{{}}}{}", found.ns.uri(), found.local()),
            expected: expected.to_owned(),
        }
    }

    /// An error for a value that is not valid at `start`.
    pub fn invalid(&self, start: &Start<'_>, value: &str, message: impl Into<String>) -> XmlError {
        XmlError::InvalidValue {
            path: self.path_with(start),
            value: truncate_value(value),
            message: message.into(),
        }
    }

    /// Checks that nothing but whitespace, comments and processing instructions follow the
    /// root element.
    pub fn finish(&mut self) -> Result<(), XmlError> {
        loop {
            match self.read_event()? {
                None => return Ok(()),
                Some((_, Event::Start(_) | Event::Empty(_) | Event::End(_))) => {
                    return Err(self.syntax("content after the root element".into()));
                }
                Some(_) => {}
            }
        }
    }

    fn skip_current(&mut self) -> Result<(), XmlError> {
        match self.read_event()? {
            Some((ns, Event::Start(tag))) => {
                self.open(ns, tag);
            }
            Some((_, Event::End(_))) => self.close(),
            Some(_) => {}
            None => {
                return Err(XmlError::UnexpectedEof {
                    path: self.path.clone(),
                });
            }
        }
        Ok(())
    }

    fn open(&mut self, ns: Ns, tag: BytesStart<'a>) -> Start<'a> {
        self.marks.push(self.path.len());
        if !self.path.is_empty() {
            self.path.push('/');
        }
        self.path
            .push_str(std::str::from_utf8(tag.local_name().into_inner()).unwrap_or("?"));
        Start {
            tag,
            ns,
            empty: false,
            depth: self.marks.len(),
        }
    }

    fn empty(&self, ns: Ns, tag: BytesStart<'a>) -> Start<'a> {
        Start {
            tag,
            ns,
            empty: true,
            depth: self.marks.len() + 1,
        }
    }

    fn close(&mut self) {
        if let Some(mark) = self.marks.pop() {
            self.path.truncate(mark);
        }
    }

    /// Reads the next event; `None` at the end of input.
    fn read_event(&mut self) -> Result<Option<(Ns, Event<'a>)>, XmlError> {
        let (ns, event) = match self.inner.read_resolved_event() {
            Ok((resolved, event)) => {
                let ns = match resolved {
                    ResolveResult::Bound(ns) => Ns::from_uri(ns.into_inner()),
                    ResolveResult::Unbound => Ns::None,
                    ResolveResult::Unknown(_) => Ns::Other,
                };
                (ns, event)
            }
            Err(e) => return Err(self.syntax(e.to_string())),
        };
        match event {
            Event::Eof => Ok(None),
            other => Ok(Some((ns, other))),
        }
    }

    fn syntax(&self, message: String) -> XmlError {
        XmlError::Syntax {
            path: self.path.clone(),
            position: self.inner.buffer_position(),
            message,
        }
    }
}

fn append<'a>(out: &mut Option<Cow<'a, str>>, piece: Cow<'a, str>) {
    match out {
        None => *out = Some(piece),
        Some(existing) => existing.to_mut().push_str(&piece),
    }
}
