use thiserror::Error;

/// Why an XML document could not be read into a typed value.
///
/// Every variant carries `path`, the slash-separated local names from the root to the
/// element that failed (`Envelope/Body/GetItemResponse/.../Contact/Birthday`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum XmlError {
    /// The bytes are not well-formed XML.
    #[error("malformed XML at byte {position} (in {path}): {message}")]
    Syntax {
        /// Element path where the error was found.
        path: String,
        /// Byte offset in the input.
        position: u64,
        /// The parser's message.
        message: String,
    },
    /// The document ended before the element was closed.
    #[error("unexpected end of document in {path}")]
    UnexpectedEof {
        /// Element path that was open.
        path: String,
    },
    /// A required child element is missing.
    #[error("missing element {element} in {path}")]
    MissingElement {
        /// Path of the parent element.
        path: String,
        /// Local name of the missing child.
        element: String,
    },
    /// A required attribute is missing.
    #[error("missing attribute {attribute} on {path}")]
    MissingAttribute {
        /// Path of the element.
        path: String,
        /// The attribute name.
        attribute: String,
    },
    /// A value (text or attribute) is not valid for its type.
    #[error("invalid value {value:?} at {path}: {message}")]
    InvalidValue {
        /// Path of the element (with `@attr` for attributes).
        path: String,
        /// The offending value, truncated to 80 characters.
        value: String,
        /// What was expected.
        message: String,
    },
    /// The document is in a character encoding that cannot be read (unknown label, or
    /// bytes invalid in the declared encoding).
    #[error("unreadable document encoding: {message}")]
    Encoding {
        /// Always empty: the document was not parsed.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// An element appeared where another was required.
    #[error("unexpected element {element} in {path}, expected {expected}")]
    UnexpectedElement {
        /// Path of the parent element.
        path: String,
        /// The element found (`{namespace}local`).
        element: String,
        /// What was expected.
        expected: String,
    },
}

impl XmlError {
    /// The element path the error refers to.
    pub fn path(&self) -> &str {
        match self {
            XmlError::Syntax { path, .. }
            | XmlError::UnexpectedEof { path }
            | XmlError::MissingElement { path, .. }
            | XmlError::MissingAttribute { path, .. }
            | XmlError::InvalidValue { path, .. }
            | XmlError::Encoding { path, .. }
            | XmlError::UnexpectedElement { path, .. } => path,
        }
    }

    /// The error with every text taken from the document passed through `clean` (e.g.
    /// [`Scrubber::scrub`](crate::transport::Scrubber::scrub)), so that secrets or control
    /// characters in a hostile document cannot reach a message.
    pub fn cleaned(self, clean: impl Fn(&str) -> String) -> Self {
        match self {
            XmlError::Syntax {
                path,
                position,
                message,
            } => XmlError::Syntax {
                path: clean(&path),
                position,
                message: clean(&message),
            },
            XmlError::UnexpectedEof { path } => XmlError::UnexpectedEof { path: clean(&path) },
            XmlError::MissingElement { path, element } => XmlError::MissingElement {
                path: clean(&path),
                element: clean(&element),
            },
            XmlError::MissingAttribute { path, attribute } => XmlError::MissingAttribute {
                path: clean(&path),
                attribute: clean(&attribute),
            },
            XmlError::InvalidValue {
                path,
                value,
                message,
            } => XmlError::InvalidValue {
                path: clean(&path),
                value: clean(&value),
                message: clean(&message),
            },
            XmlError::Encoding { path, message } => XmlError::Encoding {
                path: clean(&path),
                message: clean(&message),
            },
            XmlError::UnexpectedElement {
                path,
                element,
                expected,
            } => XmlError::UnexpectedElement {
                path: clean(&path),
                element: clean(&element),
                expected: clean(&expected),
            },
        }
    }
}

/// Truncates a value for an error message (on a character boundary).
pub(crate) fn truncate_value(value: &str) -> String {
    const MAX: usize = 80;
    if value.len() <= MAX {
        return value.to_owned();
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &value[..end])
}
