//! Character sets: every document is read as UTF-8, after transcoding if needed.
//!
//! quick-xml parses ASCII-compatible bytes only (its own `encoding` feature cannot parse
//! UTF-16), so [`to_utf8`] transcodes with `encoding_rs` (the WHATWG encodings quick-xml's
//! feature uses) before parsing. The encoding is taken, in this order (RFC 7303), from a
//! byte order mark, the HTTP `charset` parameter, the UTF-16 shape of `<?xml`, and the XML
//! declaration's `encoding`; without any of them the document is UTF-8. An unknown label or
//! bytes invalid in the encoding are [`XmlError::Encoding`], never a garbled document.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use super::XmlError;

fn encoding_error(message: String) -> XmlError {
    XmlError::Encoding {
        path: String::new(),
        message,
    }
}

/// The `encoding` of an XML declaration at the start of an ASCII-compatible document.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(512)];
    let head = head.strip_prefix(b"<?xml")?;
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    rest.find(quote).map(|end| &rest[..end])
}

/// Removes a leading XML declaration (its `encoding` no longer applies after transcoding).
fn strip_declaration(text: &str) -> &str {
    if text.starts_with("<?xml")
        && let Some(end) = text.find("?>")
    {
        return &text[end + 2..];
    }
    text
}

fn lookup(label: &str, source: &str) -> Result<&'static Encoding, XmlError> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        encoding_error(format!(
            "the {source} names the character encoding {:?}, which is not supported",
            super::error::truncate_value(label)
        ))
    })
}

fn transcode(
    bytes: &[u8],
    encoding: &'static Encoding,
    bom_len: usize,
) -> Result<Cow<'static, [u8]>, XmlError> {
    let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
    if had_errors {
        return Err(encoding_error(format!(
            "the document is not valid {}",
            encoding.name()
        )));
    }
    Ok(Cow::Owned(strip_declaration(&text).as_bytes().to_vec()))
}

/// The document as UTF-8 (borrowed when it already is), given the HTTP `charset`
/// parameter if any.
///
/// quick-xml parses ASCII-compatible bytes only (its own `encoding` feature cannot parse
/// UTF-16), so other encodings are transcoded with `encoding_rs` first, and the XML
/// declaration is dropped. The encoding is taken, in this order (RFC 7303), from a byte
/// order mark, the `charset`, the UTF-16 shape of `<?xml`, and the declaration's
/// `encoding`; without any of them the document is UTF-8. An unknown label or bytes
/// invalid in the encoding are [`XmlError::Encoding`], never a garbled document.
///
/// ```
/// use ews_client::xml::to_utf8;
/// let utf16: Vec<u8> = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-16\"?><a>ä</a>"
///     .encode_utf16()
///     .flat_map(u16::to_le_bytes)
///     .collect();
/// assert_eq!(&*to_utf8(&utf16, None).unwrap(), "<a>ä</a>".as_bytes());
/// let latin1 = b"<?xml version='1.0' encoding='ISO-8859-1'?><a>\xe4</a>";
/// assert_eq!(&*to_utf8(latin1, None).unwrap(), "<a>ä</a>".as_bytes());
/// assert!(to_utf8(b"<?xml version='1.0' encoding='x-klingon'?><a/>", None).is_err());
/// ```
pub fn to_utf8<'a>(bytes: &'a [u8], charset: Option<&str>) -> Result<Cow<'a, [u8]>, XmlError> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        if encoding == UTF_8 {
            return Ok(Cow::Borrowed(&bytes[bom_len..]));
        }
        return transcode(bytes, encoding, bom_len);
    }
    if let Some(label) = charset.filter(|c| !c.trim().is_empty()) {
        let encoding = lookup(label, "HTTP charset parameter")?;
        if encoding == UTF_8 {
            return Ok(Cow::Borrowed(bytes));
        }
        return transcode(bytes, encoding, 0);
    }
    if bytes.starts_with(&[b'<', 0, b'?', 0]) {
        return transcode(bytes, UTF_16LE, 0);
    }
    if bytes.starts_with(&[0, b'<', 0, b'?']) {
        return transcode(bytes, UTF_16BE, 0);
    }
    match declared_encoding(bytes) {
        None => Ok(Cow::Borrowed(bytes)),
        Some(label) => {
            let encoding = lookup(label, "XML declaration")?;
            if encoding == UTF_8 {
                Ok(Cow::Borrowed(bytes))
            } else if encoding == UTF_16LE || encoding == UTF_16BE {
                // an ASCII-compatible document cannot declare UTF-16 truthfully
                Err(encoding_error(format!(
                    "the XML declaration names {} but the document is not UTF-16",
                    encoding.name()
                )))
            } else {
                transcode(bytes, encoding, 0)
            }
        }
    }
}

/// The `charset` parameter of a `Content-Type` header value.
pub fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, little: bool, bom: bool) -> Vec<u8> {
        let mut units: Vec<u16> = Vec::new();
        if bom {
            units.push(0xFEFF);
        }
        units.extend(text.encode_utf16());
        units
            .into_iter()
            .flat_map(|u| {
                if little {
                    u.to_le_bytes()
                } else {
                    u.to_be_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn encodings_are_detected_in_order() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>Grüße €</a>";
        for (little, bom) in [(true, true), (false, true), (true, false), (false, false)] {
            let bytes = utf16(doc, little, bom);
            let out = to_utf8(&bytes, None).unwrap();
            assert_eq!(&*out, "<a>Grüße €</a>".as_bytes(), "{little} {bom}");
        }
        // UTF-8 with BOM: borrowed without BOM
        let out = to_utf8(b"\xef\xbb\xbf<a/>", None).unwrap();
        assert!(matches!(out, Cow::Borrowed(b"<a/>")));
        // the HTTP charset beats the declaration
        let out = to_utf8(
            b"<?xml version='1.0' encoding='utf-8'?><a>\xe4</a>",
            Some("iso-8859-1"),
        )
        .unwrap();
        assert_eq!(&*out, "<a>ä</a>".as_bytes());
        // windows-1252 declared
        let out = to_utf8(
            b"<?xml version=\"1.0\" encoding=\"windows-1252\" ?><a>\x80</a>",
            None,
        )
        .unwrap();
        assert_eq!(&*out, "<a>€</a>".as_bytes());
        for bad in [
            &b"<?xml version='1.0' encoding='utf-16'?><a/>"[..],
            b"<?xml version='1.0' encoding='ebcdic-x'?><a/>",
        ] {
            let err = to_utf8(bad, None).unwrap_err();
            assert!(matches!(err, XmlError::Encoding { .. }), "{err}");
        }
        assert!(to_utf8(b"<a/>", Some("klingon")).is_err());
        assert_eq!(charset_of("text/xml; charset=\"UTF-16\""), Some("UTF-16"));
        assert_eq!(charset_of("text/xml"), None);
    }
}
