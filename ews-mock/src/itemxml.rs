//! Items as EWS XML text, for the data file, the state file and the inspection API; written
//! and read with `ews-client`'s item types.

use ews_client::types::Item;
use ews_client::xml::{Ns, XmlReader, XmlWriter};

/// Writes an item as a standalone element (`<t:Contact xmlns:t=...>...</t:Contact>`).
pub fn item_to_xml(item: &Item) -> String {
    let mut w = XmlWriter::new();
    w.start_root(Ns::Types, "Items").open();
    item.write(&mut w);
    w.end(Ns::Types, "Items");
    let text = w.into_string();
    // unwrap the helper root, keeping the namespace declarations on the item element
    let decls_end = text.find('>').map_or(0, |i| i + 1);
    let decls = text[..decls_end]
        .trim_start_matches("<t:Items")
        .trim_end_matches('>')
        .to_string();
    let inner = &text[decls_end..text.len() - "</t:Items>".len()];
    match inner.find([' ', '>', '/']) {
        Some(i) => format!("{}{}{}", &inner[..i], decls, &inner[i..]),
        None => inner.to_string(),
    }
}

/// Reads an item element (any prefix, namespace-qualified in the EWS types namespace).
pub fn item_from_xml(text: &str) -> Result<Item, String> {
    let mut r = XmlReader::new(text.as_bytes());
    let root = r.root().map_err(|e| e.to_string())?;
    let item = Item::try_read(&mut r, &root)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("<{}> is not an EWS item element", root.local()))?;
    r.finish().map_err(|e| e.to_string())?;
    Ok(item)
}

/// Serde adapter storing an [`Item`] as its XML text.
pub mod serde_item {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as XML text.
    pub fn serialize<S: Serializer>(item: &Item, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&item_to_xml(item))
    }

    /// Deserializes from XML text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Item, D::Error> {
        let text = String::deserialize(d)?;
        item_from_xml(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ews_client::types::Contact;

    #[test]
    fn items_round_trip_through_xml_text() {
        let mut c = Contact::default();
        c.common.subject = Some("Anna & Bob".into());
        let item = Item::Contact(c);
        let text = item_to_xml(&item);
        assert!(text.starts_with("<t:Contact xmlns:"), "{text}");
        assert_eq!(item_from_xml(&text).unwrap(), item);
        assert!(item_from_xml("<x/>").is_err());
        assert!(item_from_xml("<t:Contact xmlns:t=\"urn:other\"/>").is_err());
    }
}
