//! The correlation key: the ConAktiv record id, stored on every Exchange item the connector
//! creates or pairs as a named extended property, so that a pair is found again after a
//! crash, a lost sync state or a move of the item.
//!
//! The property is `PropertySetId` [`PROPERTY_SET_ID`] (a fixed GUID for ConAktiv),
//! `PropertyName` [`PROPERTY_NAME`], type `String`. Request it in item shapes with
//! [`record_id_path`] (`AdditionalProperties`), read it with [`record_id`], write it with
//! [`set_record_id`] or, for an existing item, with the `SetItemField` of
//! [`record_id_change`].

use ews_client::types::{
    ExtendedFieldUri, ExtendedProperty, Item, ItemCommon, MapiPropertyType, PropertyPath,
};

use super::FieldChange;

/// The property set GUID of ConAktiv's named properties.
pub const PROPERTY_SET_ID: &str = "8d3f5c2a-6b1e-4f7a-9c0d-2e4b6a8c1f35";

/// The name of the property holding the ConAktiv record id.
pub const PROPERTY_NAME: &str = "ConAktivRecordId";

/// The extended field URI of the record id property.
pub fn record_id_uri() -> ExtendedFieldUri {
    ExtendedFieldUri::named(PROPERTY_SET_ID, PROPERTY_NAME, MapiPropertyType::String)
}

/// The property path of the record id (for `AdditionalProperties` and restrictions).
pub fn record_id_path() -> PropertyPath {
    PropertyPath::Extended(record_id_uri())
}

/// The record id stored on an item's common fields; `None` when absent or blank.
pub fn record_id_of(common: &ItemCommon) -> Option<&str> {
    common
        .extended_property(&record_id_uri())
        .and_then(ExtendedProperty::as_single)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The record id stored on any item.
pub fn record_id(item: &Item) -> Option<&str> {
    record_id_of(item.common())
}

/// Stores the record id on an item's common fields (replacing an earlier value).
pub fn set_record_id_on(common: &mut ItemCommon, id: &str) {
    common.set_extended_property(ExtendedProperty::string(record_id_uri(), id.trim()));
}

/// Stores the record id on any item (replacing an earlier value).
pub fn set_record_id(item: &mut Item, id: &str) {
    set_record_id_on(item.common_mut(), id);
}

/// The `SetItemField` that stores the record id on an existing item of the kind of `like`.
pub fn record_id_change(like: &Item, id: &str) -> FieldChange {
    let mut item = like.empty_like();
    set_record_id(&mut item, id);
    FieldChange::Set {
        path: record_id_path(),
        item,
    }
}

/// The same property as Microsoft Graph names it (`String {GUID} Name ConAktivRecordId`), for
/// contacts, events and messages over Graph.
pub fn graph_property() -> graph_client::extended::PropertyId {
    graph_client::extended::PropertyId::named("String", PROPERTY_SET_ID, PROPERTY_NAME)
}

/// The record id among the extended properties Graph returned; `None` when absent or blank.
pub fn graph_record_id(
    props: Option<&[graph_client::types::SingleValueExtendedProperty]>,
) -> Option<String> {
    let id = graph_property();
    props?
        .iter()
        .find(|p| p.id.as_deref().is_some_and(|i| id.matches(i)))
        .and_then(|p| p.value.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The `applicationName` of the linked resource that carries the record id on a To Do task
/// (To Do tasks have no extended properties in Graph).
pub const LINKED_APPLICATION: &str = "ConAktiv";

/// The record id of a To Do task: the `externalId` of its linked resource of
/// [`LINKED_APPLICATION`].
pub fn linked_record_id(linked: Option<&[graph_client::todo::LinkedResource]>) -> Option<String> {
    linked?
        .iter()
        .find(|l| l.application_name.as_deref() == Some(LINKED_APPLICATION))
        .and_then(|l| l.external_id.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The linked resource that stores `id` on a To Do task, with a link back to the record.
pub fn linked_resource(id: &str) -> graph_client::todo::LinkedResource {
    graph_client::todo::LinkedResource {
        application_name: Some(LINKED_APPLICATION.into()),
        external_id: Some(id.trim().to_owned()),
        display_name: Some(format!("ConAktiv record {}", id.trim())),
        web_url: Some(format!("conaktiv://record/{}", id.trim())),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ews_client::types::{Contact, ExtendedValue};

    #[test]
    fn read_write_and_change() {
        let mut item = Item::Contact(Contact::default());
        assert_eq!(record_id(&item), None);
        set_record_id(&mut item, "K-1");
        set_record_id(&mut item, " K-2 ");
        assert_eq!(record_id(&item), Some("K-2"));
        assert_eq!(item.common().extended_properties.len(), 1);
        // Exchange may echo the GUID in upper case.
        let echoed = ExtendedFieldUri::named(
            PROPERTY_SET_ID.to_uppercase(),
            PROPERTY_NAME,
            MapiPropertyType::String,
        );
        let mut other = ItemCommon::default();
        other.extended_properties.push(ExtendedProperty {
            uri: echoed,
            value: ExtendedValue::Single("K-3".into()),
        });
        assert_eq!(record_id_of(&other), Some("K-3"));
        let change = record_id_change(&item, "K-4");
        assert_eq!(change.path(), &record_id_path());
        assert!(matches!(&change, FieldChange::Set { item, .. } if record_id(item) == Some("K-4")));
    }
}
