//! Applying `UpdateItem` changes (Set/Append/Delete of a field) to a stored item.
//!
//! Both the stored item and the change's one-field item are written with `ews-client`'s item
//! writer; the field's element is spliced from one into the other (for indexed fields, the
//! entry with the given key), and the result is read back with `ews-client`'s item reader. The
//! only XML handled here is the element boundaries of documents `ews-client` wrote.

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use ews_client::types::{Item, PropertyPath};

use crate::itemxml::{item_from_xml, item_to_xml};

/// A child element of some element: its local name, its `Key` attribute, its byte range and
/// the byte range of its content.
#[derive(Clone, Debug)]
struct Child {
    local: String,
    key: Option<String>,
    range: (usize, usize),
    inner: (usize, usize),
}

/// The child elements of the element whose content is `xml[content.0..content.1]`.
fn children(xml: &str, content: (usize, usize)) -> Result<Vec<Child>, String> {
    let slice = &xml[content.0..content.1];
    let mut reader = Reader::from_str(slice);
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<Child> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| e.to_string())?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) => {
                if depth == 0 {
                    current = Some(Child {
                        local: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                        key: key_attr(&e),
                        range: (content.0 + before, 0),
                        inner: (content.0 + after, 0),
                    });
                }
                depth += 1;
            }
            Event::Empty(e) if depth == 0 => {
                out.push(Child {
                    local: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    key: key_attr(&e),
                    range: (content.0 + before, content.0 + after),
                    inner: (content.0 + after, content.0 + after),
                });
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && let Some(mut c) = current.take()
                {
                    c.range.1 = content.0 + after;
                    c.inner.1 = content.0 + before;
                    out.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn key_attr(e: &quick_xml::events::BytesStart<'_>) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == b"Key")
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// The content range of the root element.
fn root_content(xml: &str) -> Result<(usize, usize), String> {
    let all = children(xml, (0, xml.len()))?;
    let root = all.first().ok_or("no root element")?;
    Ok(root.inner)
}

/// Where a field lives: a top-level element, optionally an entry of it by key, optionally a
/// child of that entry.
struct Location {
    element: String,
    key: Option<String>,
    sub: Option<String>,
}

fn locate(path: &PropertyPath) -> Option<Location> {
    match path {
        PropertyPath::Field(uri) => Some(Location {
            element: uri.rsplit(':').next()?.to_string(),
            key: None,
            sub: None,
        }),
        PropertyPath::Indexed {
            field_uri,
            field_index,
        } => {
            let mut parts = field_uri.split(':').skip(1);
            let base = parts.next()?;
            let sub = parts.next().map(str::to_string);
            let element = match base {
                "EmailAddress" => "EmailAddresses".to_string(),
                "PhoneNumber" => "PhoneNumbers".to_string(),
                "ImAddress" => "ImAddresses".to_string(),
                "PhysicalAddress" => "PhysicalAddresses".to_string(),
                other => format!("{other}s"),
            };
            Some(Location {
                element,
                key: Some(field_index.clone()),
                sub,
            })
        }
        PropertyPath::Extended(_) => None,
    }
}

/// Replaces `range` of `xml` with `text`.
fn splice(xml: &str, range: (usize, usize), text: &str) -> String {
    format!("{}{}{}", &xml[..range.0], text, &xml[range.1..])
}

/// The XML for one location in `xml` (an element, entry or sub-element), if present.
fn find(xml: &str, loc: &Location) -> Result<Option<Child>, String> {
    let top = children(xml, root_content(xml)?)?;
    let Some(element) = top.into_iter().find(|c| c.local == loc.element) else {
        return Ok(None);
    };
    let Some(key) = &loc.key else {
        return Ok(Some(element));
    };
    let Some(entry) = children(xml, element.inner)?
        .into_iter()
        .find(|c| c.key.as_deref() == Some(key.as_str()))
    else {
        return Ok(None);
    };
    match &loc.sub {
        None => Ok(Some(entry)),
        Some(sub) => Ok(children(xml, entry.inner)?
            .into_iter()
            .find(|c| &c.local == sub)),
    }
}

/// Sets (or with `append`, appends to) the field at `path` of `stored` from `change`.
pub fn set_field(
    stored: &Item,
    change: &Item,
    path: &PropertyPath,
    append: bool,
) -> Result<Item, String> {
    if let PropertyPath::Extended(uri) = path {
        let mut out = stored.clone();
        match change.common().extended_property(uri) {
            Some(p) => out.common_mut().set_extended_property(p.clone()),
            None => return Err("the change has no value for the extended property".into()),
        }
        return Ok(out);
    }
    let loc = locate(path).ok_or("unsupported property path")?;
    let target = item_to_xml(stored);
    let source = item_to_xml(change);
    // the smallest unit present in the change: sub-element, entry or whole element
    let new_part = find(&source, &loc)?.ok_or("the change has no value for the field")?;
    let new_text = &source[new_part.range.0..new_part.range.1];
    let result = match find(&target, &loc)? {
        Some(existing) if append && loc.key.is_none() => {
            // append the change's list entries to the existing list
            let inner = &source[new_part.inner.0..new_part.inner.1];
            splice(&target, (existing.inner.1, existing.inner.1), inner)
        }
        Some(existing) => splice(&target, existing.range, new_text),
        None => {
            // insert at the deepest existing level
            let parent = match (&loc.key, &loc.sub) {
                (Some(_), Some(_)) => find(
                    &target,
                    &Location {
                        element: loc.element.clone(),
                        key: loc.key.clone(),
                        sub: None,
                    },
                )?
                .map(|c| (c.inner.1, new_text.to_string())),
                _ => None,
            };
            let parent = match parent {
                Some(p) => Some(p),
                None if loc.key.is_some() => find(
                    &target,
                    &Location {
                        element: loc.element.clone(),
                        key: None,
                        sub: None,
                    },
                )?
                .map(|c| {
                    let entry = find(
                        &source,
                        &Location {
                            element: loc.element.clone(),
                            key: loc.key.clone(),
                            sub: None,
                        },
                    )
                    .ok()
                    .flatten()
                    .map(|e| source[e.range.0..e.range.1].to_string())
                    .unwrap_or_default();
                    (c.inner.1, entry)
                }),
                None => None,
            };
            match parent {
                Some((at, text)) => splice(&target, (at, at), &text),
                None => {
                    let whole = find(
                        &source,
                        &Location {
                            element: loc.element.clone(),
                            key: None,
                            sub: None,
                        },
                    )?
                    .ok_or("the change has no value for the field")?;
                    let end = root_content(&target)?.1;
                    splice(&target, (end, end), &source[whole.range.0..whole.range.1])
                }
            }
        }
    };
    item_from_xml(&result)
}

/// Deletes the field at `path` of `stored`.
pub fn delete_field(stored: &Item, path: &PropertyPath) -> Result<Item, String> {
    if let PropertyPath::Extended(uri) = path {
        let mut out = stored.clone();
        out.common_mut()
            .extended_properties
            .retain(|p| !p.uri.same_property(uri));
        return Ok(out);
    }
    let loc = locate(path).ok_or("unsupported property path")?;
    let target = item_to_xml(stored);
    match find(&target, &loc)? {
        Some(existing) => item_from_xml(&splice(&target, existing.range, "")),
        None => Ok(stored.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ews_client::types::Contact;

    fn contact(xml_fields: &str) -> Item {
        item_from_xml(&format!(
            "<t:Contact xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">{xml_fields}</t:Contact>"
        ))
        .unwrap()
    }

    #[test]
    fn set_append_and_delete_fields() {
        let stored = contact(
            "<t:Subject>Old</t:Subject><t:EmailAddresses><t:Entry Key=\"EmailAddress1\">a@x</t:Entry><t:Entry Key=\"EmailAddress2\">b@x</t:Entry></t:EmailAddresses><t:GivenName>Ann</t:GivenName>",
        );
        let change = Item::Contact(Contact {
            given_name: Some("Anna".into()),
            ..Contact::default()
        });
        let out = set_field(
            &stored,
            &change,
            &PropertyPath::field("contacts:GivenName"),
            false,
        )
        .unwrap();
        let Item::Contact(c) = &out else { panic!() };
        assert_eq!(c.given_name.as_deref(), Some("Anna"));
        assert_eq!(c.common.subject.as_deref(), Some("Old"));

        let email_change = contact(
            "<t:EmailAddresses><t:Entry Key=\"EmailAddress2\">new@x</t:Entry></t:EmailAddresses>",
        );
        let out = set_field(
            &out,
            &email_change,
            &PropertyPath::indexed("contacts:EmailAddress", "EmailAddress2"),
            false,
        )
        .unwrap();
        let xml = item_to_xml(&out);
        assert!(
            xml.contains("a@x") && xml.contains("new@x") && !xml.contains("b@x"),
            "{xml}"
        );

        let out = delete_field(&out, &PropertyPath::field("contacts:GivenName")).unwrap();
        let Item::Contact(c) = &out else { panic!() };
        assert_eq!(c.given_name, None);

        let cats = contact("<t:Categories><t:String>B</t:String></t:Categories>");
        let with_a = set_field(
            &out,
            &contact("<t:Categories><t:String>A</t:String></t:Categories>"),
            &PropertyPath::field("item:Categories"),
            false,
        )
        .unwrap();
        let both = set_field(
            &with_a,
            &cats,
            &PropertyPath::field("item:Categories"),
            true,
        )
        .unwrap();
        assert_eq!(
            both.common().categories,
            vec!["A".to_string(), "B".to_string()]
        );
        let phys = contact(
            "<t:PhysicalAddresses><t:Entry Key=\"Business\"><t:City>Berlin</t:City></t:Entry></t:PhysicalAddresses>",
        );
        let with_city = set_field(
            &both,
            &phys,
            &PropertyPath::indexed("contacts:PhysicalAddress:City", "Business"),
            false,
        )
        .unwrap();
        assert!(item_to_xml(&with_city).contains("<t:City>Berlin</t:City>"));
        assert!(
            set_field(
                &both,
                &contact(""),
                &PropertyPath::field("contacts:Surname"),
                false
            )
            .is_err()
        );
    }
}
