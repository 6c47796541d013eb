//! `UpdateItem`: change items field by field (`SetItemField`, `AppendToItemField`,
//! `DeleteItemField`), with conflict resolution, message disposition and meeting updates.
//!
//! [`item_changes`] computes the field changes between two versions of an item (what a sync
//! engine needs), and [`field_change`] builds the change of one field of an item, for every
//! field this crate models: plain fields (`contacts:GivenName`, `calendar:Start`, ...),
//! indexed ones (`contacts:EmailAddress`/`EmailAddress1`, `contacts:PhoneNumber`/
//! `MobilePhone`, `contacts:PhysicalAddress:Street`/`Business`, ...) and extended properties.
//!
//! The server side (`ews-mock`) applies changes with [`ItemChangeDescription::apply_to`] /
//! [`apply_changes`] and answers shapes with [`project`].
//!
//! ```
//! use ews_client::ops::{UpdateItem, item_changes};
//! use ews_client::types::{
//!     Contact, ExtendedFieldUri, ExtendedProperty, Item, ItemId, MapiPropertyType,
//! };
//!
//! let crm_id = ExtendedFieldUri::named(
//!     "c11ff724-aa03-4555-9952-8fa248a11c3e",
//!     "ConAktivId",
//!     MapiPropertyType::String,
//! );
//! let old = Contact { given_name: Some("Jane".into()), ..Contact::default() };
//! let mut new = old.clone();
//! new.given_name = Some("Janet".into());
//! new.common.set_extended_property(ExtendedProperty::string(crm_id, "contact:42"));
//! let (old, new) = (Item::Contact(old), Item::Contact(new));
//!
//! let changes = item_changes(&old, &new).unwrap();
//! assert_eq!(changes.len(), 2); // SetItemField contacts:GivenName, SetItemField extended
//! let request = UpdateItem::for_item(&new, ItemId::with_change_key("AAMk=", "CQAA"), changes);
//!
//! // What the server does with it:
//! let mut stored = old.clone();
//! ews_client::ops::apply_changes(&mut stored, &request.item_changes[0].updates).unwrap();
//! assert_eq!(stored, new);
//! ```
//!
//! Microsoft reference: [UpdateItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/updateitem-operation).

use super::common::{FieldChange, FieldChangeNames, read_object_change, write_object_change};
use super::create_item::MessageDisposition;
use crate::operation::Operation;
use crate::types::base_item_id::BaseItemId;
use crate::types::calendar::CalendarItem;
use crate::types::contact::{
    Contact, EmailAddressEntry, EmailAddressKey, ImAddressEntry, ImAddressKey, PhoneNumberEntry,
    PhoneNumberKey, PhysicalAddressEntry, PhysicalAddressKey,
};
use crate::types::fields::Mode;
use crate::types::ids::{BaseFolderId, string_enum};
use crate::types::item::{Item, ItemCommon};
use crate::types::message::Message;
use crate::types::paths::{ExtendedFieldUri, ExtendedProperty, PropertyPath};
use crate::types::response::{ResponseContent, ResponseMessages};
use crate::types::task::Task;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// What to do when the item changed since its change key was read
    /// (`t:ConflictResolutionType`).
    ConflictResolution {
        /// Fail with `ErrorIrresolvableConflict` if the change key is stale.
        NeverOverwrite = "NeverOverwrite",
        /// Overwrite unless the same properties changed.
        AutoResolve = "AutoResolve",
        /// Always overwrite.
        AlwaysOverwrite = "AlwaysOverwrite",
    }
}

string_enum! {
    /// Whether updating a meeting sends updates or cancellations
    /// (`t:CalendarItemUpdateOperationType`).
    SendMeetingInvitationsOrCancellations {
        /// Send nothing.
        SendToNone = "SendToNone",
        /// Send to all attendees.
        SendOnlyToAll = "SendOnlyToAll",
        /// Send to added or changed attendees only.
        SendOnlyToChanged = "SendOnlyToChanged",
        /// Send to all and keep a copy.
        SendToAllAndSaveCopy = "SendToAllAndSaveCopy",
        /// Send to changed attendees and keep a copy.
        SendToChangedAndSaveCopy = "SendToChangedAndSaveCopy",
    }
}

/// One change of one property (`t:SetItemField`, `t:AppendToItemField`,
/// `t:DeleteItemField`). For set and append, `item` holds just that property, in an item of
/// the same kind as the one being changed.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemChangeDescription {
    /// Replace the property's value.
    Set {
        /// The property.
        path: PropertyPath,
        /// An item holding only the new value.
        item: Item,
    },
    /// Append to the property (recipients, attendees, body text).
    Append {
        /// The property.
        path: PropertyPath,
        /// An item holding only the values to append.
        item: Item,
    },
    /// Remove the property.
    Delete {
        /// The property.
        path: PropertyPath,
    },
}

impl ItemChangeDescription {
    /// The property the change is about.
    pub fn path(&self) -> &PropertyPath {
        match self {
            ItemChangeDescription::Set { path, .. }
            | ItemChangeDescription::Append { path, .. }
            | ItemChangeDescription::Delete { path } => path,
        }
    }

    /// A `DeleteItemField` for a field URI such as `contacts:Birthday`.
    pub fn delete_field(uri: impl Into<String>) -> Self {
        ItemChangeDescription::Delete {
            path: PropertyPath::field(uri),
        }
    }

    /// A `SetItemField` for an extended property on an item of the kind of `like`.
    pub fn set_extended(like: &Item, prop: ExtendedProperty) -> Self {
        let mut item = like.empty_like();
        let path = PropertyPath::Extended(prop.uri.clone());
        item.common_mut().extended_properties.push(prop);
        ItemChangeDescription::Set { path, item }
    }

    /// A `DeleteItemField` for an extended property.
    pub fn delete_extended(uri: ExtendedFieldUri) -> Self {
        ItemChangeDescription::Delete {
            path: PropertyPath::Extended(uri),
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        let (item, append) = match self {
            ItemChangeDescription::Set { item, .. } => (Some(item), false),
            ItemChangeDescription::Append { item, .. } => (Some(item), true),
            ItemChangeDescription::Delete { .. } => (None, false),
        };
        ITEM_FIELD.write(w, self.path(), item, append, Item::write);
    }

    fn try_read<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Option<Self>, XmlError> {
        Ok(ITEM_FIELD
            .try_read(r, start, Item::try_read)?
            .map(|change| match change {
                FieldChange::Set(path, item) => ItemChangeDescription::Set { path, item },
                FieldChange::Append(path, item) => ItemChangeDescription::Append { path, item },
                FieldChange::Delete(path) => ItemChangeDescription::Delete { path },
            }))
    }
}

/// The element names of item property changes.
const ITEM_FIELD: FieldChangeNames = FieldChangeNames {
    set: "SetItemField",
    append: "AppendToItemField",
    delete: "DeleteItemField",
    value: "an item element",
};

/// The changes to one item (`t:ItemChange`).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemChange {
    /// The item (with its change key for conflict detection), an occurrence or a master.
    pub item_id: BaseItemId,
    /// The field changes.
    pub updates: Vec<ItemChangeDescription>,
}

impl WriteXml for ItemChange {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let write_id = |w: &mut XmlWriter| self.item_id.write(w);
        write_object_change(
            w,
            ns,
            name,
            write_id,
            &self.updates,
            ItemChangeDescription::write,
        );
    }
}

impl ReadXml for ItemChange {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let (item_id, updates) = read_object_change(
            r,
            start,
            "ItemId",
            BaseItemId::try_read,
            ItemChangeDescription::try_read,
        )?;
        Ok(Self { item_id, updates })
    }
}

/// `m:UpdateItem`: one response message (with the item's new id and change key) per item
/// change.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateItem {
    /// What to do on a stale change key.
    pub conflict_resolution: ConflictResolution,
    /// For messages: save, send, or send and keep a copy after the update.
    pub message_disposition: Option<MessageDisposition>,
    /// For calendar items: whether to send meeting updates (required by Exchange then).
    pub send_meeting_invitations_or_cancellations: Option<SendMeetingInvitationsOrCancellations>,
    /// Suppress read receipts.
    pub suppress_read_receipts: Option<bool>,
    /// Where to save a sent copy.
    pub saved_item_folder_id: Option<BaseFolderId>,
    /// The changes, one per item.
    pub item_changes: Vec<ItemChange>,
}

impl UpdateItem {
    /// Updates items with `AutoResolve`, sending no meeting updates for calendar items and
    /// saving messages.
    pub fn new(item_changes: impl IntoIterator<Item = ItemChange>) -> Self {
        Self {
            conflict_resolution: ConflictResolution::AutoResolve,
            message_disposition: None,
            send_meeting_invitations_or_cancellations: None,
            suppress_read_receipts: None,
            saved_item_folder_id: None,
            item_changes: item_changes.into_iter().collect(),
        }
    }
}

impl UpdateItem {
    /// Updates one item with `AutoResolve`, setting what Exchange requires for the item's
    /// kind (`like`): `SendMeetingInvitationsOrCancellations="SendToNone"` for calendar items
    /// and `MessageDisposition="SaveOnly"` for messages.
    pub fn for_item(
        like: &Item,
        item_id: impl Into<BaseItemId>,
        updates: impl IntoIterator<Item = ItemChangeDescription>,
    ) -> Self {
        let mut update = Self::new([ItemChange {
            item_id: item_id.into(),
            updates: updates.into_iter().collect(),
        }]);
        match like {
            Item::CalendarItem(_) => {
                update.send_meeting_invitations_or_cancellations =
                    Some(SendMeetingInvitationsOrCancellations::SendToNone)
            }
            Item::Message(_) => update.message_disposition = Some(MessageDisposition::SaveOnly),
            _ => {}
        }
        update
    }
}

impl Operation for UpdateItem {
    const NAME: &'static str = "UpdateItem";
    type Response = ResponseMessages<UpdateItemResult>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.item_changes.len())
    }
}

impl WriteXml for UpdateItem {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("ConflictResolution", &self.conflict_resolution)
            .attr_opt("MessageDisposition", self.message_disposition.as_ref())
            .attr_opt(
                "SendMeetingInvitationsOrCancellations",
                self.send_meeting_invitations_or_cancellations.as_ref(),
            )
            .attr_opt("SuppressReadReceipts", self.suppress_read_receipts.as_ref())
            .children(|w| {
                w.opt_write(
                    Ns::Messages,
                    "SavedItemFolderId",
                    self.saved_item_folder_id.as_ref(),
                );
                w.element(Ns::Messages, "ItemChanges", |w| {
                    w.write_all(Ns::Types, "ItemChange", &self.item_changes)
                });
            });
    }
}

impl ReadXml for UpdateItem {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self {
            conflict_resolution: start.required_attr_value(r, "ConflictResolution")?,
            message_disposition: start.attr_value(r, "MessageDisposition")?,
            send_meeting_invitations_or_cancellations: start
                .attr_value(r, "SendMeetingInvitationsOrCancellations")?,
            suppress_read_receipts: start.attr_value(r, "SuppressReadReceipts")?,
            saved_item_folder_id: None,
            item_changes: Vec::new(),
        };
        let mut saw_changes = false;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "SavedItemFolderId") {
                out.saved_item_folder_id = Some(BaseFolderId::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "ItemChanges") {
                saw_changes = true;
                out.item_changes = r.read_list(&c, Ns::Types, "ItemChange")?;
            } else {
                r.skip(&c)?;
            }
        }
        if !saw_changes {
            return Err(r.missing(start, "ItemChanges"));
        }
        Ok(out)
    }
}

/// The content of an `UpdateItem` response message: the updated item's new id (`m:Items`)
/// and the number of conflicts resolved (`m:ConflictResults/t:Count`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateItemResult {
    /// The updated items (ids and change keys).
    pub items: Vec<Item>,
    /// The number of conflicts, when the server reported it.
    pub conflict_results: Option<i32>,
}

impl ResponseContent for UpdateItemResult {
    fn write_content(&self, w: &mut XmlWriter) {
        w.element(Ns::Messages, "Items", |w| {
            for item in &self.items {
                item.write(w);
            }
        });
        if let Some(count) = self.conflict_results {
            w.element(Ns::Messages, "ConflictResults", |w| {
                w.value(Ns::Types, "Count", &count)
            });
        }
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if child.is(Ns::Messages, "Items") {
            self.items = Item::read_list(r, child)?;
        } else if child.is(Ns::Messages, "ConflictResults") {
            while let Some(c) = r.next_child(child)? {
                if c.is(Ns::Types, "Count") {
                    self.conflict_results = Some(r.value(&c)?);
                } else {
                    r.skip(&c)?;
                }
            }
        } else {
            return Ok(false);
        }
        Ok(true)
    }
}

/// The two versions of an item given to [`item_changes`] are of different kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot compute changes from a {old} to a {new}")]
pub struct ItemKindMismatch {
    /// The old item's element name.
    pub old: &'static str,
    /// The new item's element name.
    pub new: &'static str,
}

/// Why a change could not be applied to an item ([`ItemChangeDescription::apply_to`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeError {
    /// The change's item is of another kind than the item changed (Exchange:
    /// `ErrorIncorrectUpdatePropertyCount` or `ErrorInvalidPropertySet`).
    #[error("a {change} change cannot be applied to a {target}")]
    KindMismatch {
        /// The element name of the item in the change.
        change: &'static str,
        /// The element name of the changed item.
        target: &'static str,
    },
    /// The path names a field this crate does not model, a read-only field, or one of
    /// another item kind (Exchange: `ErrorInvalidPropertySet`).
    #[error("the property {0} cannot be changed")]
    UnsupportedField(String),
    /// A set or append whose item holds no value for the path (Exchange:
    /// `ErrorIncorrectUpdatePropertyCount`).
    #[error("the item of the change holds no value for {0}")]
    MissingValue(String),
    /// An append to a property that is not a list or a body (Exchange:
    /// `ErrorInvalidPropertyAppend`).
    #[error("cannot append to {0}")]
    NotAppendable(String),
}

impl ChangeError {
    /// The EWS response code a server returns for this error.
    pub fn response_code(&self) -> crate::types::response::ResponseCode {
        use crate::types::response::ResponseCode;
        match self {
            ChangeError::KindMismatch { .. } | ChangeError::UnsupportedField(_) => {
                ResponseCode::ErrorInvalidPropertySet
            }
            ChangeError::MissingValue(_) => ResponseCode::ErrorIncorrectUpdatePropertyCount,
            ChangeError::NotAppendable(_) => ResponseCode::ErrorInvalidPropertyAppend,
        }
    }
}

fn describe_path(path: &PropertyPath) -> String {
    match path {
        PropertyPath::Field(uri) => uri.clone(),
        PropertyPath::Indexed {
            field_uri,
            field_index,
        } => format!("{field_uri}[{field_index}]"),
        PropertyPath::Extended(ext) => format!(
            "extended property {}",
            ext.property_name
                .as_deref()
                .or(ext.property_tag.as_deref())
                .or(ext.property_id.map(|_| "by id"))
                .unwrap_or("?")
        ),
    }
}

/// Copies the property `path` (any field this crate models, writable or read-only, an
/// indexed contact entry or address part, or an extended property) from `src` to `dst`,
/// which must be of the same kind. Returns `false` if the path is unknown for that kind or
/// the kinds differ; an unset source value makes the destination unset.
pub fn copy_field(src: &Item, dst: &mut Item, path: &PropertyPath) -> bool {
    if src.element_name() != dst.element_name() {
        return false;
    }
    match path {
        PropertyPath::Extended(uri) => {
            let common = dst.common_mut();
            common
                .extended_properties
                .retain(|p| !p.uri.same_property(uri));
            if let Some(prop) = src.common().extended_property(uri) {
                common.extended_properties.push(prop.clone());
            }
            true
        }
        PropertyPath::Field(uri) => {
            let common = dst.common_mut();
            if ItemCommon::copy_field(uri, common, src.common()) {
                return true;
            }
            match (src, dst) {
                (Item::Contact(s), Item::Contact(d)) => Contact::copy_field(uri, d, s),
                (Item::CalendarItem(s), Item::CalendarItem(d)) => {
                    CalendarItem::copy_field(uri, d, s)
                }
                (Item::Task(s), Item::Task(d)) => Task::copy_field(uri, d, s),
                (Item::Message(s), Item::Message(d)) => Message::copy_field(uri, d, s),
                _ => false,
            }
        }
        PropertyPath::Indexed {
            field_uri,
            field_index,
        } => {
            // The entry (or address part) copied from the source, or removed when the source
            // has none; no diff of the whole item (this runs for every projected item).
            let (Item::Contact(s), Item::Contact(d)) = (src, dst) else {
                return false;
            };
            // errors are not reported here, so their description is left empty
            let described = "";
            let copy = |d: &mut Contact, mode: Mode| -> Result<bool, ChangeError> {
                Ok(
                    EMAILS.apply(field_uri, field_index, d, Some(s), mode, described)?
                        || PHONES.apply(field_uri, field_index, d, Some(s), mode, described)?
                        || IM_ADDRESSES.apply(
                            field_uri,
                            field_index,
                            d,
                            Some(s),
                            mode,
                            described,
                        )?
                        || physical_address_apply(
                            field_uri,
                            field_index,
                            d,
                            Some(s),
                            mode,
                            described,
                        )?,
                )
            };
            match copy(d, Mode::Set) {
                Ok(known) => known,
                Err(ChangeError::MissingValue(_)) => copy(d, Mode::Delete).unwrap_or(false),
                Err(_) => false,
            }
        }
    }
}

/// The item reduced to the requested properties (what a server returns for a shape with
/// `IdOnly` plus `AdditionalProperties`): its id and each path in `paths` copied with
/// [`copy_field`]; unknown paths are ignored.
pub fn project(item: &Item, paths: &[PropertyPath]) -> Item {
    let mut out = item.empty_like();
    out.common_mut().item_id = item.common().item_id.clone();
    for path in paths {
        copy_field(item, &mut out, path);
    }
    out
}

fn common_changes(
    old: &ItemCommon,
    new: &ItemCommon,
    like: &Item,
    out: &mut Vec<ItemChangeDescription>,
) {
    let wrap = |c: ItemCommon| {
        let mut item = like.empty_like();
        *item.common_mut() = c;
        item
    };
    ItemCommon::diff_fields(old, new, &wrap, out);
    for prop in &new.extended_properties {
        if old.extended_property(&prop.uri) != Some(prop) {
            out.push(ItemChangeDescription::set_extended(like, prop.clone()));
        }
    }
    for prop in &old.extended_properties {
        if new.extended_property(&prop.uri).is_none() {
            out.push(ItemChangeDescription::delete_extended(prop.uri.clone()));
        }
    }
}

/// A contact dictionary (`EmailAddresses`, `PhoneNumbers`, `ImAddresses`): entries keyed by
/// an enum, changed one `IndexedFieldURI` per key.
struct Dictionary<E, K> {
    uri: &'static str,
    key: fn(&E) -> K,
    list: fn(&Contact) -> &Vec<E>,
    list_mut: fn(&mut Contact) -> &mut Vec<E>,
}

impl<E: Clone + PartialEq, K: Copy + PartialEq + std::fmt::Display + std::str::FromStr>
    Dictionary<E, K>
{
    fn diff(&self, old: &Contact, new: &Contact, out: &mut Vec<ItemChangeDescription>) {
        let (old, new) = ((self.list)(old), (self.list)(new));
        let mut keys: Vec<K> = new.iter().map(self.key).collect();
        for e in old {
            if !keys.contains(&(self.key)(e)) {
                keys.push((self.key)(e));
            }
        }
        for k in keys {
            let o = old.iter().find(|e| (self.key)(e) == k);
            let n = new.iter().find(|e| (self.key)(e) == k);
            if o == n {
                continue;
            }
            let path = PropertyPath::indexed(self.uri, k.to_string());
            match n {
                Some(entry) => {
                    let mut only = Contact::default();
                    (self.list_mut)(&mut only).push(entry.clone());
                    out.push(ItemChangeDescription::Set {
                        path,
                        item: Item::Contact(only),
                    });
                }
                None => out.push(ItemChangeDescription::Delete { path }),
            }
        }
    }

    /// Applies a change to the entry `index`; `Ok(false)` if `uri` is not this dictionary.
    fn apply(
        &self,
        uri: &str,
        index: &str,
        dst: &mut Contact,
        src: Option<&Contact>,
        mode: Mode,
        path: &str,
    ) -> Result<bool, ChangeError> {
        if uri != self.uri {
            return Ok(false);
        }
        let key: K = index
            .parse()
            .map_err(|_| ChangeError::UnsupportedField(path.to_owned()))?;
        let list = (self.list_mut)(dst);
        list.retain(|e| (self.key)(e) != key);
        if mode == Mode::Delete {
            return Ok(true);
        }
        let entry = src
            .and_then(|s| (self.list)(s).iter().find(|e| (self.key)(e) == key))
            .ok_or_else(|| ChangeError::MissingValue(path.to_owned()))?;
        list.push(entry.clone());
        Ok(true)
    }
}

const EMAILS: Dictionary<EmailAddressEntry, EmailAddressKey> = Dictionary {
    uri: "contacts:EmailAddress",
    key: |e| e.key,
    list: |c| &c.email_addresses,
    list_mut: |c| &mut c.email_addresses,
};

const PHONES: Dictionary<PhoneNumberEntry, PhoneNumberKey> = Dictionary {
    uri: "contacts:PhoneNumber",
    key: |e| e.key,
    list: |c| &c.phone_numbers,
    list_mut: |c| &mut c.phone_numbers,
};

const IM_ADDRESSES: Dictionary<ImAddressEntry, ImAddressKey> = Dictionary {
    uri: "contacts:ImAddress",
    key: |e| e.key,
    list: |c| &c.im_addresses,
    list_mut: |c| &mut c.im_addresses,
};

fn contact_changes(old: &Contact, new: &Contact, out: &mut Vec<ItemChangeDescription>) {
    Contact::diff_fields(old, new, &Item::Contact, out);
    EMAILS.diff(old, new, out);
    PHONES.diff(old, new, out);
    IM_ADDRESSES.diff(old, new, out);
    // Physical addresses change part by part (`contacts:PhysicalAddress:Street`, ...).
    let mut keys: Vec<_> = new.physical_addresses.iter().map(|a| a.key).collect();
    for a in &old.physical_addresses {
        if !keys.contains(&a.key) {
            keys.push(a.key);
        }
    }
    for key in keys {
        let empty = PhysicalAddressEntry::new(key);
        let o = old.address(key).unwrap_or(&empty);
        let n = new.address(key).unwrap_or(&empty);
        for ((uri, old_part), (_, new_part)) in o.parts().into_iter().zip(n.parts()) {
            if old_part == new_part {
                continue;
            }
            let path = PropertyPath::indexed(uri, key.as_str());
            match new_part {
                Some(value) => {
                    let mut entry = PhysicalAddressEntry::new(key);
                    if let Some(slot) = entry.part_mut(uri) {
                        *slot = Some(value.clone());
                    }
                    out.push(ItemChangeDescription::Set {
                        path,
                        item: Item::Contact(Contact {
                            physical_addresses: vec![entry],
                            ..Contact::default()
                        }),
                    });
                }
                None => out.push(ItemChangeDescription::Delete { path }),
            }
        }
    }
}

/// Applies a change of one part of a physical address; `Ok(false)` for other URIs.
fn physical_address_apply(
    uri: &str,
    index: &str,
    dst: &mut Contact,
    src: Option<&Contact>,
    mode: Mode,
    path: &str,
) -> Result<bool, ChangeError> {
    if PhysicalAddressEntry::new(PhysicalAddressKey::Home)
        .part_mut(uri)
        .is_none()
    {
        return Ok(false);
    }
    let key: PhysicalAddressKey = index
        .parse()
        .map_err(|_| ChangeError::UnsupportedField(path.to_owned()))?;
    let value = match mode {
        Mode::Delete => None,
        Mode::Append => return Err(ChangeError::NotAppendable(path.to_owned())),
        Mode::Set => {
            let part = src
                .and_then(|s| s.address(key))
                .and_then(|a| a.parts().into_iter().find(|(u, _)| *u == uri))
                .and_then(|(_, v)| v.clone())
                .ok_or_else(|| ChangeError::MissingValue(path.to_owned()))?;
            Some(part)
        }
    };
    let position = match dst.physical_addresses.iter().position(|a| a.key == key) {
        Some(p) => p,
        None => {
            dst.physical_addresses.push(PhysicalAddressEntry::new(key));
            dst.physical_addresses.len() - 1
        }
    };
    let entry = &mut dst.physical_addresses[position];
    if let Some(slot) = entry.part_mut(uri) {
        *slot = value;
    }
    if entry.parts().iter().all(|(_, v)| v.is_none()) {
        dst.physical_addresses.remove(position);
    }
    Ok(true)
}

/// The field changes that turn `old` into `new`: a `SetItemField` for every writable field
/// whose value differs and is set in `new`, a `DeleteItemField` for every one that is unset
/// in `new`. Read-only fields (ids, sizes, server timestamps, `CompleteName`, occurrences,
/// attachments — use `CreateAttachment`) are ignored.
pub fn item_changes(
    old: &Item,
    new: &Item,
) -> Result<Vec<ItemChangeDescription>, ItemKindMismatch> {
    let mut out = Vec::new();
    match (old, new) {
        (Item::Contact(o), Item::Contact(n)) => contact_changes(o, n, &mut out),
        (Item::CalendarItem(o), Item::CalendarItem(n)) => {
            CalendarItem::diff_fields(o, n, &Item::CalendarItem, &mut out)
        }
        (Item::Task(o), Item::Task(n)) => Task::diff_fields(o, n, &Item::Task, &mut out),
        (Item::Message(o), Item::Message(n)) => {
            Message::diff_fields(o, n, &Item::Message, &mut out)
        }
        (Item::Generic(o), Item::Generic(n)) if o.kind == n.kind => {}
        _ => {
            return Err(ItemKindMismatch {
                old: old.element_name(),
                new: new.element_name(),
            });
        }
    }
    common_changes(old.common(), new.common(), new, &mut out);
    Ok(out)
}

/// The change that sets the property `path` of `item` to its value in `item`
/// (`SetItemField`), or deletes it when `item` does not have it (`DeleteItemField`). Works
/// for every writable field [`item_changes`] knows, indexed fields and extended properties.
pub fn field_change(item: &Item, path: &PropertyPath) -> ItemChangeDescription {
    let all = item_changes(&item.empty_like(), item).unwrap_or_default();
    let found = all.into_iter().find(|c| match (c.path(), path) {
        (PropertyPath::Extended(a), PropertyPath::Extended(b)) => a.same_property(b),
        (a, b) => a == b,
    });
    found.unwrap_or_else(|| ItemChangeDescription::Delete { path: path.clone() })
}

/// Every writable field that is set in `item`, as `SetItemField` changes (to overwrite an
/// item with a complete new version).
pub fn set_all_fields(item: &Item) -> Vec<ItemChangeDescription> {
    item_changes(&item.empty_like(), item).unwrap_or_default()
}

impl ItemChangeDescription {
    /// Applies the change to `target`, as a server does for `UpdateItem` (used by
    /// `ews-mock`): set, append to or delete the field the path names, for every field
    /// [`item_changes`] knows, indexed contact fields and extended properties. Appending
    /// works on lists (recipients, attendees, categories, ...) and on the body (its text is
    /// appended). On error `target` is unchanged.
    pub fn apply_to(&self, target: &mut Item) -> Result<(), ChangeError> {
        let (path, src, mode) = match self {
            ItemChangeDescription::Set { path, item } => (path, Some(item), Mode::Set),
            ItemChangeDescription::Append { path, item } => (path, Some(item), Mode::Append),
            ItemChangeDescription::Delete { path } => (path, None, Mode::Delete),
        };
        if let Some(src) = src
            && src.element_name() != target.element_name()
        {
            return Err(ChangeError::KindMismatch {
                change: src.element_name(),
                target: target.element_name(),
            });
        }
        let described = describe_path(path);
        let mut updated = target.clone();
        let handled = match path {
            PropertyPath::Extended(uri) => {
                let common = updated.common_mut();
                match mode {
                    Mode::Delete => common
                        .extended_properties
                        .retain(|p| !p.uri.same_property(uri)),
                    Mode::Set | Mode::Append => {
                        let prop = src
                            .and_then(|s| s.common().extended_property(uri))
                            .ok_or_else(|| ChangeError::MissingValue(described.clone()))?;
                        common.set_extended_property(prop.clone());
                    }
                }
                true
            }
            PropertyPath::Field(uri) if uri == "item:Body" && mode == Mode::Append => {
                let extra = src
                    .and_then(|s| s.common().body.as_ref())
                    .ok_or_else(|| ChangeError::MissingValue(described.clone()))?;
                match &mut updated.common_mut().body {
                    Some(body) => body.content.push_str(&extra.content),
                    empty => *empty = Some(extra.clone()),
                }
                true
            }
            PropertyPath::Field(uri) => {
                ItemCommon::apply_field(uri, updated.common_mut(), src.map(Item::common), mode)?
                    || match &mut updated {
                        Item::Contact(d) => {
                            Contact::apply_field(uri, d, src.and_then(Item::as_contact), mode)?
                        }
                        Item::CalendarItem(d) => CalendarItem::apply_field(
                            uri,
                            d,
                            src.and_then(Item::as_calendar_item),
                            mode,
                        )?,
                        Item::Task(d) => {
                            Task::apply_field(uri, d, src.and_then(Item::as_task), mode)?
                        }
                        Item::Message(d) => {
                            Message::apply_field(uri, d, src.and_then(Item::as_message), mode)?
                        }
                        Item::Generic(_) => false,
                    }
            }
            PropertyPath::Indexed {
                field_uri,
                field_index,
            } => match &mut updated {
                Item::Contact(d) => {
                    let s = src.and_then(Item::as_contact);
                    if mode == Mode::Append {
                        return Err(ChangeError::NotAppendable(described));
                    }
                    EMAILS.apply(field_uri, field_index, d, s, mode, &described)?
                        || PHONES.apply(field_uri, field_index, d, s, mode, &described)?
                        || IM_ADDRESSES.apply(field_uri, field_index, d, s, mode, &described)?
                        || physical_address_apply(field_uri, field_index, d, s, mode, &described)?
                }
                _ => false,
            },
        };
        if !handled {
            return Err(ChangeError::UnsupportedField(described));
        }
        *target = updated;
        Ok(())
    }
}

/// Applies changes in order (all or nothing): the server side of one `t:ItemChange`.
pub fn apply_changes(
    target: &mut Item,
    changes: &[ItemChangeDescription],
) -> Result<(), ChangeError> {
    let mut updated = target.clone();
    for change in changes {
        change.apply_to(&mut updated)?;
    }
    *target = updated;
    Ok(())
}
