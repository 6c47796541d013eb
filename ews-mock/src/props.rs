//! Property values of items and folders, by named field or by MAPI property tag, for
//! restrictions, sort orders and response shapes.
//!
//! As in Exchange, a standard property addressed by its tag (`ExtendedFieldURI PropertyTag`) is
//! the same property as its named field (PR_SUBJECT 0x0037 is `item:Subject`), and the store
//! computes properties no client writes: the article number, size, flags, delivery and
//! modification times and URL name of an item, and the counts, class, subfolder flag and last
//! commit time of a folder.

use std::cmp::Ordering;

use chrono::{DateTime, SecondsFormat, Utc};
use ews_client::types::paths::{ExtendedFieldUri, ExtendedProperty, ExtendedValue};
use ews_client::types::shape::{CompareOp, FieldOrder, Operand, Restriction, SortDirection};
use ews_client::types::{Item as EwsItem, PropertyPath};
use ews_client::xml::{Ns, XmlReader};

use crate::store::{Mailbox, StoredItem, is_read};

/// PR_INTERNET_ARTICLE_NUMBER.
pub const PR_INTERNET_ARTICLE_NUMBER: u32 = 0x0E23;
/// PR_MESSAGE_SIZE.
pub const PR_MESSAGE_SIZE: u32 = 0x0E08;
/// PR_MESSAGE_FLAGS.
pub const PR_MESSAGE_FLAGS: u32 = 0x0E07;
/// PR_MESSAGE_DELIVERY_TIME.
pub const PR_MESSAGE_DELIVERY_TIME: u32 = 0x0E06;
/// PR_LAST_MODIFICATION_TIME.
pub const PR_LAST_MODIFICATION_TIME: u32 = 0x3008;
/// PR_URL_COMP_NAME.
pub const PR_URL_COMP_NAME: u32 = 0x10F3;
/// PR_CONTENT_COUNT.
pub const PR_CONTENT_COUNT: u32 = 0x3602;
/// PR_CONTENT_UNREAD.
pub const PR_CONTENT_UNREAD: u32 = 0x3603;
/// PR_CONTAINER_CLASS.
pub const PR_CONTAINER_CLASS: u32 = 0x3613;
/// PR_SUBFOLDERS.
pub const PR_SUBFOLDERS: u32 = 0x360A;
/// PR_LOCAL_COMMIT_TIME_MAX.
pub const PR_LOCAL_COMMIT_TIME_MAX: u32 = 0x670A;

/// Item tags that name a standard property with a named field.
const ITEM_FIELDS: &[(u32, &str)] = &[
    (0x0037, "item:Subject"),
    (0x001A, "item:ItemClass"),
    (0x0E1D, "item:Subject"), // PR_NORMALIZED_SUBJECT (no prefixes are modelled)
    (0x1000, "item:Body"),
    (0x3007, "item:DateTimeCreated"),
    (PR_LAST_MODIFICATION_TIME, "item:LastModifiedTime"),
    (PR_MESSAGE_DELIVERY_TIME, "item:DateTimeReceived"),
    (0x0039, "item:DateTimeSent"),
    (0x0E1B, "item:HasAttachments"),
    (PR_MESSAGE_SIZE, "item:Size"),
    (0x3001, "contacts:DisplayName"),
    (0x3A06, "contacts:GivenName"),
    (0x3A11, "contacts:Surname"),
    (0x3A16, "contacts:CompanyName"),
    (0x3A17, "contacts:JobTitle"),
];

/// Folder tags that name a standard property with a named field.
const FOLDER_FIELDS: &[(u32, &str)] = &[
    (0x3001, "folder:DisplayName"),
    (PR_CONTAINER_CLASS, "folder:FolderClass"),
    (PR_CONTENT_COUNT, "folder:TotalCount"),
    (PR_CONTENT_UNREAD, "folder:UnreadCount"),
    (0x6638, "folder:ChildFolderCount"), // PR_FOLDER_CHILD_COUNT
];

/// The tag of a path that names a property by tag only (no property set, name or id).
pub fn tag(uri: &ExtendedFieldUri) -> Option<u32> {
    if uri.distinguished_property_set_id.is_some()
        || uri.property_set_id.is_some()
        || uri.property_name.is_some()
        || uri.property_id.is_some()
    {
        return None;
    }
    let t = uri.property_tag.as_deref()?.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

fn field_for(table: &[(u32, &'static str)], tag: u32) -> Option<&'static str> {
    table.iter().find(|(t, _)| *t == tag).map(|(_, f)| *f)
}

/// A `SetItemField` or `DeleteItemField` that names a standard property by its MAPI tag, as
/// the same change of its named field (so the item's field changes, not a stored extended
/// property): PR_SUBJECT, PR_BODY (text), and a contact's PR_DISPLAY_NAME, PR_GIVEN_NAME,
/// PR_SURNAME, PR_COMPANY_NAME, PR_TITLE. `None` for any other change.
pub fn tag_change_as_field(
    target: &EwsItem,
    change: &ews_client::ops::ItemChangeDescription,
) -> Option<ews_client::ops::ItemChangeDescription> {
    use ews_client::ops::ItemChangeDescription as C;
    let (uri, item) = match change {
        C::Set {
            path: PropertyPath::Extended(uri),
            item,
        } => (uri, Some(item)),
        C::Delete {
            path: PropertyPath::Extended(uri),
        } => (uri, None),
        _ => return None,
    };
    let field = field_for(ITEM_FIELDS, tag(uri)?)?;
    let writable = matches!(
        (field, target),
        ("item:Subject" | "item:Body", _)
            | (
                "contacts:DisplayName"
                    | "contacts:GivenName"
                    | "contacts:Surname"
                    | "contacts:CompanyName"
                    | "contacts:JobTitle",
                EwsItem::Contact(_)
            )
    );
    if !writable {
        return None;
    }
    let path = PropertyPath::field(field);
    let Some(item) = item else {
        return Some(C::Delete { path });
    };
    let value = item
        .common()
        .extended_property(uri)?
        .as_single()?
        .to_string();
    let mut own = target.empty_like();
    match (field, &mut own) {
        ("item:Subject", own) => own.common_mut().subject = Some(value),
        ("item:Body", own) => {
            own.common_mut().body = Some(ews_client::types::Body::text(value));
        }
        ("contacts:DisplayName", EwsItem::Contact(c)) => c.display_name = Some(value),
        ("contacts:GivenName", EwsItem::Contact(c)) => c.given_name = Some(value),
        ("contacts:Surname", EwsItem::Contact(c)) => c.surname = Some(value),
        ("contacts:CompanyName", EwsItem::Contact(c)) => c.company_name = Some(value),
        ("contacts:JobTitle", EwsItem::Contact(c)) => c.job_title = Some(value),
        _ => return None,
    }
    Some(C::Set { path, item: own })
}

/// Formats a time as Exchange writes `xs:dateTime` values (UTC, seconds, `Z`).
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The text of an item property named by a field URI (`item:Subject`, `contacts:Surname`):
/// the text of the item element's child of that local name.
fn field_text(item: &EwsItem, uri: &str) -> Option<String> {
    let local = uri.rsplit(':').next()?;
    let c = item.common();
    match local {
        "Subject" => return c.subject.clone(),
        "ItemClass" => return c.item_class.clone(),
        "Body" => return c.body.as_ref().map(|b| b.content.clone()),
        "DisplayName" => {
            if let EwsItem::Contact(contact) = item {
                return contact.display_name.clone();
            }
        }
        _ => {}
    }
    let xml = crate::itemxml::item_to_xml(item);
    let mut r = XmlReader::new(xml.as_bytes());
    let root = r.root().ok()?;
    while let Ok(Some(child)) = r.next_child(&root) {
        if child.ns() == Ns::Types && child.local() == local {
            return r.text(&child).ok().map(|t| t.into_owned());
        }
        r.skip(&child).ok()?;
    }
    None
}

/// The size of an item as Exchange reports it: grows and shrinks with its content (here the
/// length of its stored XML, with body and attachment content).
pub fn item_size(stored: &StoredItem) -> u64 {
    crate::itemxml::item_to_xml(&stored.item).len() as u64
}

/// The article number of an item (PR_INTERNET_ARTICLE_NUMBER): its store counter, which is
/// unique in the mailbox, grows with every new or moved-in item and is never reused.
pub fn article_number(stored: &StoredItem) -> u64 {
    stored.key
}

/// PR_MESSAGE_FLAGS: MSGFLAG_READ (items other than unread messages), MSGFLAG_UNSENT (drafts),
/// MSGFLAG_HASATTACH.
pub fn message_flags(stored: &StoredItem) -> u32 {
    let c = stored.item.common();
    let mut flags = 0;
    if is_read(&stored.item) != Some(false) {
        flags |= 0x1;
    }
    if c.is_draft == Some(true) {
        flags |= 0x8;
    }
    if !c.attachments.is_empty() {
        flags |= 0x10;
    }
    flags
}

/// PR_URL_COMP_NAME: the subject (or "No Subject") with `.EML`, made unique in the folder
/// by `-N` (the article number) when another item of the folder has the same subject.
pub fn url_comp_name(mb: &Mailbox, stored: &StoredItem) -> String {
    let subject = |s: &StoredItem| {
        s.item
            .common()
            .subject
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "No Subject".to_string())
    };
    let own = subject(stored);
    let clash = mb.folders.get(&stored.folder).is_some_and(|f| {
        f.items
            .range(..stored.key)
            .filter_map(|k| mb.items.get(k))
            .any(|other| subject(other).eq_ignore_ascii_case(&own))
    });
    let clean: String = own
        .chars()
        .map(|c| if "/\\:*?\"<>|".contains(c) { '_' } else { c })
        .collect();
    if clash {
        format!("{clean}-{}.EML", article_number(stored))
    } else {
        format!("{clean}.EML")
    }
}

/// The value of a named item field as text.
fn item_field(stored: &StoredItem, uri: &str) -> Option<String> {
    let c = stored.item.common();
    match uri {
        "item:DateTimeCreated" => Some(time_text(c.date_time_created.unwrap_or(stored.created))),
        "item:LastModifiedTime" => Some(time_text(stored.modified)),
        "item:DateTimeReceived" => Some(time_text(c.date_time_received.unwrap_or(stored.created))),
        "item:Size" => Some(item_size(stored).to_string()),
        "item:HasAttachments" => Some((!c.attachments.is_empty()).to_string()),
        "message:IsRead" => is_read(&stored.item).map(|r| r.to_string()),
        _ => field_text(&stored.item, uri),
    }
}

/// The value of an item property (named field, tag or stored extended property) as text.
pub fn item_value(mb: &Mailbox, stored: &StoredItem, path: &PropertyPath) -> Option<String> {
    match path {
        PropertyPath::Field(uri) => item_field(stored, uri),
        PropertyPath::Extended(uri) => {
            if let Some(p) = stored.item.common().extended_property(uri) {
                return p.as_single().map(str::to_string);
            }
            let t = tag(uri)?;
            if let Some(field) = field_for(ITEM_FIELDS, t) {
                return item_field(stored, field);
            }
            match t {
                PR_INTERNET_ARTICLE_NUMBER => Some(article_number(stored).to_string()),
                PR_MESSAGE_FLAGS => Some(message_flags(stored).to_string()),
                PR_URL_COMP_NAME => Some(url_comp_name(mb, stored)),
                _ => None,
            }
        }
        PropertyPath::Indexed { .. } => None,
    }
}

/// A stored extended property as Exchange answers it: `SystemTime` values in UTC to the
/// second (`2024-01-31T09:00:00Z`), whatever precision or offset the client wrote.
fn normalised(p: &ExtendedProperty) -> ExtendedProperty {
    use ews_client::types::paths::MapiPropertyType as T;
    let time = |v: &String| {
        DateTime::parse_from_rfc3339(v.trim())
            .map(|t| time_text(t.with_timezone(&Utc)))
            .unwrap_or_else(|_| v.clone())
    };
    let value = match (&p.value, p.uri.property_type) {
        (ExtendedValue::Single(v), T::SystemTime) => ExtendedValue::Single(time(v)),
        (ExtendedValue::Multi(vs), T::SystemTimeArray) => {
            ExtendedValue::Multi(vs.iter().map(time).collect())
        }
        (other, _) => other.clone(),
    };
    ExtendedProperty {
        uri: p.uri.clone(),
        value,
    }
}

/// The extended properties an item answers for `wanted`: stored ones, and for tags the
/// standard or computed property's value.
pub fn item_extended(
    mb: &Mailbox,
    stored: &StoredItem,
    wanted: &[&ExtendedFieldUri],
) -> Vec<ExtendedProperty> {
    wanted
        .iter()
        .filter_map(|uri| {
            if let Some(p) = stored.item.common().extended_property(uri) {
                return Some(normalised(p));
            }
            let value = item_value(mb, stored, &PropertyPath::Extended((*uri).clone()))?;
            Some(ExtendedProperty {
                uri: (*uri).clone(),
                value: ExtendedValue::Single(value),
            })
        })
        .collect()
}

fn unread_count(mb: &Mailbox, key: u64) -> usize {
    mb.folders.get(&key).map_or(0, |f| {
        f.items
            .iter()
            .filter_map(|k| mb.items.get(k))
            .filter(|i| is_read(&i.item) == Some(false))
            .count()
    })
}

fn child_count(mb: &Mailbox, key: u64) -> usize {
    mb.folders
        .values()
        .filter(|c| c.parent == Some(key))
        .count()
}

fn folder_field(mb: &Mailbox, key: u64, uri: &str) -> Option<String> {
    let f = mb.folders.get(&key)?;
    match uri {
        "folder:DisplayName" => Some(f.name.clone()),
        "folder:FolderClass" => Some(f.class.clone()),
        "folder:TotalCount" => Some(f.items.len().to_string()),
        "folder:UnreadCount" => Some(unread_count(mb, key).to_string()),
        "folder:ChildFolderCount" => Some(child_count(mb, key).to_string()),
        _ => None,
    }
}

/// The value of a folder property (named field or tag) as text.
pub fn folder_value(mb: &Mailbox, key: u64, path: &PropertyPath) -> Option<String> {
    match path {
        PropertyPath::Field(uri) => folder_field(mb, key, uri),
        PropertyPath::Extended(uri) => {
            let t = tag(uri)?;
            if let Some(field) = field_for(FOLDER_FIELDS, t) {
                return folder_field(mb, key, field);
            }
            match t {
                PR_SUBFOLDERS => Some((child_count(mb, key) > 0).to_string()),
                PR_LOCAL_COMMIT_TIME_MAX => {
                    let f = mb.folders.get(&key)?;
                    let last_item = f
                        .items
                        .iter()
                        .filter_map(|k| mb.items.get(k))
                        .map(|i| i.modified)
                        .max();
                    let t = f.changed.max(last_item).unwrap_or(DateTime::UNIX_EPOCH);
                    Some(time_text(t))
                }
                _ => None,
            }
        }
        PropertyPath::Indexed { .. } => None,
    }
}

/// The extended properties a folder answers for `wanted` (standard and computed tags).
pub fn folder_extended(
    mb: &Mailbox,
    key: u64,
    wanted: &[&ExtendedFieldUri],
) -> Vec<ExtendedProperty> {
    wanted
        .iter()
        .filter_map(|uri| {
            let value = folder_value(mb, key, &PropertyPath::Extended((*uri).clone()))?;
            Some(ExtendedProperty {
                uri: (*uri).clone(),
                value: ExtendedValue::Single(value),
            })
        })
        .collect()
}

/// Compares two property values: as numbers, as times, or as text ignoring case.
pub fn compare_values(a: &str, b: &str) -> Ordering {
    if let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    if let (Ok(x), Ok(y)) = (
        DateTime::parse_from_rfc3339(a.trim()),
        DateTime::parse_from_rfc3339(b.trim()),
    ) {
        return x.cmp(&y);
    }
    if let (Ok(x), Ok(y)) = (a.parse::<bool>(), b.parse::<bool>()) {
        return x.cmp(&y);
    }
    a.to_lowercase().cmp(&b.to_lowercase())
}

/// Whether a restriction holds, with `value` giving a property's text (the same evaluation
/// for items and folders).
pub fn matches(r: &Restriction, value: &dyn Fn(&PropertyPath) -> Option<String>) -> bool {
    match r {
        Restriction::And(list) => list.iter().all(|x| matches(x, value)),
        Restriction::Or(list) => list.iter().any(|x| matches(x, value)),
        Restriction::Not(x) => !matches(x, value),
        Restriction::Exists(p) => value(p).is_some(),
        Restriction::Contains { path, value: v, .. } => {
            value(path).is_some_and(|t| t.to_lowercase().contains(&v.to_lowercase()))
        }
        Restriction::Compare { op, path, operand } => {
            let Some(left) = value(path) else {
                return matches!(op, CompareOp::IsNotEqualTo);
            };
            let right = match operand {
                Operand::Constant(c) => c.clone(),
                Operand::Path(p) => match value(p) {
                    Some(t) => t,
                    None => return false,
                },
            };
            let ord = compare_values(&left, &right);
            match op {
                CompareOp::IsEqualTo => ord == Ordering::Equal,
                CompareOp::IsNotEqualTo => ord != Ordering::Equal,
                CompareOp::IsGreaterThan => ord == Ordering::Greater,
                CompareOp::IsGreaterThanOrEqualTo => ord != Ordering::Less,
                CompareOp::IsLessThan => ord == Ordering::Less,
                _ => ord != Ordering::Greater,
            }
        }
    }
}

/// Orders two entries by a sort order (missing values first), with `value` giving a
/// property's text.
pub fn sort_cmp<T>(
    order: &[FieldOrder],
    a: &T,
    b: &T,
    value: &dyn Fn(&T, &PropertyPath) -> Option<String>,
) -> Ordering {
    for o in order {
        let ord = match (value(a, &o.path), value(b, &o.path)) {
            (Some(x), Some(y)) => compare_values(&x, &y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        };
        let ord = if o.order == SortDirection::Descending {
            ord.reverse()
        } else {
            ord
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use ews_client::types::paths::MapiPropertyType;

    #[test]
    fn only_pure_tags_are_tags() {
        assert_eq!(
            tag(&ExtendedFieldUri::tagged(
                "0x0037",
                MapiPropertyType::String
            )),
            Some(0x37)
        );
        assert_eq!(
            tag(&ExtendedFieldUri::tagged("4096", MapiPropertyType::String)),
            Some(0x1000)
        );
        assert_eq!(
            tag(&ExtendedFieldUri::named(
                "00020329-0000-0000-C000-000000000046",
                "x",
                MapiPropertyType::String
            )),
            None
        );
    }

    #[test]
    fn values_compare_as_numbers_times_and_text() {
        assert_eq!(compare_values("9", "10"), Ordering::Less);
        assert_eq!(
            compare_values("2024-01-01T10:00:00Z", "2024-01-01T11:00:00+02:00"),
            Ordering::Greater
        );
        assert_eq!(compare_values("abc", "ABC"), Ordering::Equal);
    }
}
