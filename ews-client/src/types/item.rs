//! Items (`t:Item`, `t:Message`, `t:CalendarItem`, `t:Contact`, `t:Task`, ...) and the fields
//! every item has (`t:ItemType`).
//!
//! [`Item`] is the choice of item elements found in `Items` lists (`GetItem`, `FindItem`,
//! `SyncFolderItems`, `CreateItem` responses) and in `UpdateItem` changes. Use
//! [`Item::try_read`] on each child of such a list and [`Item::write`] to write one.
//!
//! Writing follows the schema's `xs:sequence` order (the `t:ItemType` fields in
//! [`ItemCommon`] first, then the subtype's); reading accepts any order and skips unknown
//! elements.

use super::attachment::Attachment;
use super::body::{Body, InternetHeader, MimeContent};
use super::calendar::CalendarItem;
use super::contact::Contact;
use super::fields::item_fields;
use super::ids::{FolderId, ItemId, string_enum};
use super::message::Message;
use super::paths::{ExtendedFieldUri, ExtendedProperty};
use super::task::Task;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};
use chrono::{DateTime, Utc};

string_enum! {
    /// How private an item is (`t:SensitivityChoicesType`).
    Sensitivity {
        /// Normal.
        Normal = "Normal",
        /// Personal.
        Personal = "Personal",
        /// Private.
        Private = "Private",
        /// Confidential.
        Confidential = "Confidential",
    }
}

string_enum! {
    /// How important an item is (`t:ImportanceChoicesType`).
    Importance {
        /// Low.
        Low = "Low",
        /// Normal.
        Normal = "Normal",
        /// High.
        High = "High",
    }
}

item_fields! {
    /// The fields of `t:ItemType` that every item has, in schema order.
    ///
    /// Read-only fields (ids, sizes, timestamps set by the server) are read and written too, so
    /// that `ews-mock` can return them; the server ignores or rejects them in requests.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ItemCommon {
        /// The full MIME content, when requested (`IncludeMimeContent`) or when creating an item
        /// from MIME.
        mime_content: Option<MimeContent> => "MimeContent" element, ro "item:MimeContent";
        /// The item's id and change key.
        item_id: Option<ItemId> => "ItemId" element, ro "item:ItemId";
        /// The folder holding the item.
        parent_folder_id: Option<FolderId> => "ParentFolderId" element, ro "item:ParentFolderId";
        /// The message class, e.g. `IPM.Note`, `IPM.Contact`, `IPM.Appointment`, `IPM.Task`.
        item_class: Option<String> => "ItemClass" value, rw "item:ItemClass";
        /// The subject.
        subject: Option<String> => "Subject" value, rw "item:Subject";
        /// Sensitivity.
        sensitivity: Option<Sensitivity> => "Sensitivity" value, rw "item:Sensitivity";
        /// The body (contact notes, appointment or task description, message text).
        body: Option<Body> => "Body" element, rw "item:Body";
        /// Attachments (written only when non-empty: the schema requires at least one).
        attachments: Vec<Attachment> => "Attachments" with(write_attachments, read_attachments), ro "item:Attachments";
        /// When the item was received.
        date_time_received: Option<DateTime<Utc>> => "DateTimeReceived" value, ro "item:DateTimeReceived";
        /// The size in bytes.
        size: Option<i32> => "Size" value, ro "item:Size";
        /// Categories (written only when non-empty).
        categories: Vec<String> => "Categories" strings, rw "item:Categories";
        /// Importance.
        importance: Option<Importance> => "Importance" value, rw "item:Importance";
        /// The `In-Reply-To` header of a message.
        in_reply_to: Option<String> => "InReplyTo" value, rw "item:InReplyTo";
        /// Whether the item was submitted to the outbox.
        is_submitted: Option<bool> => "IsSubmitted" value, ro "item:IsSubmitted";
        /// Whether the item is a draft.
        is_draft: Option<bool> => "IsDraft" value, ro "item:IsDraft";
        /// Whether the item was sent by the mailbox owner.
        is_from_me: Option<bool> => "IsFromMe" value, ro "item:IsFromMe";
        /// Whether the item is a resend.
        is_resend: Option<bool> => "IsResend" value, ro "item:IsResend";
        /// Whether the item is unmodified.
        is_unmodified: Option<bool> => "IsUnmodified" value, ro "item:IsUnmodified";
        /// The internet message headers (written only when non-empty).
        internet_message_headers: Vec<InternetHeader> => "InternetMessageHeaders" list("InternetMessageHeader"), ro "item:InternetMessageHeaders";
        /// When the item was sent.
        date_time_sent: Option<DateTime<Utc>> => "DateTimeSent" value, ro "item:DateTimeSent";
        /// When the item was created.
        date_time_created: Option<DateTime<Utc>> => "DateTimeCreated" value, ro "item:DateTimeCreated";
        /// When the reminder is due.
        reminder_due_by: Option<DateTime<Utc>> => "ReminderDueBy" value, rw "item:ReminderDueBy";
        /// Whether a reminder is set.
        reminder_is_set: Option<bool> => "ReminderIsSet" value, rw "item:ReminderIsSet";
        /// When the reminder fires next.
        reminder_next_time: Option<DateTime<Utc>> => "ReminderNextTime" value, ro "item:ReminderNextTime";
        /// Minutes before the start that the reminder fires (calendar items).
        reminder_minutes_before_start: Option<i32> => "ReminderMinutesBeforeStart" value, rw "item:ReminderMinutesBeforeStart";
        /// Display string of the Cc recipients.
        display_cc: Option<String> => "DisplayCc" value, ro "item:DisplayCc";
        /// Display string of the To recipients.
        display_to: Option<String> => "DisplayTo" value, ro "item:DisplayTo";
        /// Display string of the Bcc recipients.
        display_bcc: Option<String> => "DisplayBcc" value, ro "item:DisplayBcc";
        /// Whether the item has attachments.
        has_attachments: Option<bool> => "HasAttachments" value, ro "item:HasAttachments";
        /// Extended (MAPI) properties, e.g. the CRM record id stored on a synced item.
        extended_properties: Vec<ExtendedProperty> => "ExtendedProperty" each;
        /// The item's culture, e.g. `en-US`.
        culture: Option<String> => "Culture" value, ro "item:Culture";
        /// Who modified the item last.
        last_modified_name: Option<String> => "LastModifiedName" value, ro "item:LastModifiedName";
        /// When the item was modified last.
        last_modified_time: Option<DateTime<Utc>> => "LastModifiedTime" value, ro "item:LastModifiedTime";
        /// Whether the item is associated (hidden) folder content.
        is_associated: Option<bool> => "IsAssociated" value, ro "item:IsAssociated";
        /// The conversation the item belongs to.
        conversation_id: Option<ItemId> => "ConversationId" element, ro "item:ConversationId";
    }
}

impl ItemCommon {
    /// The value of an extended property on this item, matched with
    /// [`ExtendedFieldUri::same_property`].
    pub fn extended_property(&self, uri: &ExtendedFieldUri) -> Option<&ExtendedProperty> {
        self.extended_properties
            .iter()
            .find(|p| p.uri.same_property(uri))
    }

    /// Sets (replaces or adds) an extended property.
    pub fn set_extended_property(&mut self, prop: ExtendedProperty) {
        match self
            .extended_properties
            .iter_mut()
            .find(|p| p.uri.same_property(&prop.uri))
        {
            Some(existing) => *existing = prop,
            None => self.extended_properties.push(prop),
        }
    }
}

/// Writes `t:Attachments`; nothing when empty (the schema requires at least one).
fn write_attachments(w: &mut XmlWriter, name: &str, list: &[Attachment]) {
    if list.is_empty() {
        return;
    }
    w.element(Ns::Types, name, |w| {
        for a in list {
            a.write(w);
        }
    });
}

/// Reads `t:Attachments`, appending the attachments of known kinds.
fn read_attachments<'a>(
    r: &mut XmlReader<'a>,
    c: &Start<'a>,
    out: &mut Vec<Attachment>,
) -> Result<(), XmlError> {
    while let Some(a) = r.next_child(c)? {
        match Attachment::try_read(r, &a)? {
            Some(att) => out.push(att),
            None => r.skip(&a)?,
        }
    }
    Ok(())
}

/// Writes a `t:ArrayOfStringsType` element (`t:String` children); nothing when empty.
pub(crate) fn write_strings(w: &mut XmlWriter, name: &str, list: &[String]) {
    if list.is_empty() {
        return;
    }
    w.element(Ns::Types, name, |w| {
        for s in list {
            w.text_element(Ns::Types, "String", s);
        }
    });
}

/// Reads a `t:ArrayOfStringsType` element.
pub(crate) fn read_strings<'a>(
    r: &mut XmlReader<'a>,
    start: &Start<'a>,
) -> Result<Vec<String>, XmlError> {
    let mut out = Vec::new();
    while let Some(c) = r.next_child(start)? {
        if c.is(Ns::Types, "String") {
            out.push(r.text(&c)?.into_owned());
        } else {
            r.skip(&c)?;
        }
    }
    Ok(out)
}

string_enum! {
    /// The element name of an item that this crate reads only as an [`GenericItem`]
    /// (its `t:ItemType` fields).
    #[derive(Default)]
    GenericItemKind {
        /// `t:Item`: a generic item (e.g. a note, a journal entry).
        #[default]
        Item = "Item",
        /// `t:PostItem`.
        PostItem = "PostItem",
        /// `t:DistributionList`.
        DistributionList = "DistributionList",
        /// `t:MeetingMessage`.
        MeetingMessage = "MeetingMessage",
        /// `t:MeetingRequest`.
        MeetingRequest = "MeetingRequest",
        /// `t:MeetingResponse`.
        MeetingResponse = "MeetingResponse",
        /// `t:MeetingCancellation`.
        MeetingCancellation = "MeetingCancellation",
        /// `t:SharingMessage`.
        SharingMessage = "SharingMessage",
    }
}

/// An item of a kind this crate does not model in detail: its `t:ItemType` fields only.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenericItem {
    /// Which element it was read from (written back under the same name).
    pub kind: GenericItemKind,
    /// The common item fields.
    pub common: ItemCommon,
}

impl WriteXml for GenericItem {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| self.common.write_fields(w));
    }
}

impl ReadXml for GenericItem {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let kind = start.local().parse().unwrap_or_default();
        let mut common = ItemCommon::default();
        while let Some(c) = r.next_child(start)? {
            if !common.read_field(r, &c)? {
                r.skip(&c)?;
            }
        }
        Ok(Self { kind, common })
    }
}

/// Any item: the choice of item elements in `Items` lists and item changes.
///
/// Element names: `t:Message`, `t:CalendarItem`, `t:Contact`, `t:Task`, and for
/// [`Item::Generic`] the element of its [`GenericItemKind`] (usually `t:Item`).
// Items are values that callers match on and move around in lists; boxing the large
// variants would make every construction and pattern noisier for little gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `t:Message`.
    Message(Message),
    /// `t:CalendarItem`.
    CalendarItem(CalendarItem),
    /// `t:Contact`.
    Contact(Contact),
    /// `t:Task`.
    Task(Task),
    /// `t:Item` and other item kinds read with their common fields only.
    Generic(GenericItem),
}

impl Item {
    /// The element name this item is written as.
    pub fn element_name(&self) -> &'static str {
        match self {
            Item::Message(_) => "Message",
            Item::CalendarItem(_) => "CalendarItem",
            Item::Contact(_) => "Contact",
            Item::Task(_) => "Task",
            Item::Generic(g) => g.kind.as_str(),
        }
    }

    /// The common item fields.
    pub fn common(&self) -> &ItemCommon {
        match self {
            Item::Message(i) => &i.common,
            Item::CalendarItem(i) => &i.common,
            Item::Contact(i) => &i.common,
            Item::Task(i) => &i.common,
            Item::Generic(i) => &i.common,
        }
    }

    /// The common item fields, mutably.
    pub fn common_mut(&mut self) -> &mut ItemCommon {
        match self {
            Item::Message(i) => &mut i.common,
            Item::CalendarItem(i) => &mut i.common,
            Item::Contact(i) => &mut i.common,
            Item::Task(i) => &mut i.common,
            Item::Generic(i) => &mut i.common,
        }
    }

    /// The contact, if this is one.
    pub fn as_contact(&self) -> Option<&Contact> {
        match self {
            Item::Contact(c) => Some(c),
            _ => None,
        }
    }

    /// The calendar item, if this is one.
    pub fn as_calendar_item(&self) -> Option<&CalendarItem> {
        match self {
            Item::CalendarItem(c) => Some(c),
            _ => None,
        }
    }

    /// The task, if this is one.
    pub fn as_task(&self) -> Option<&Task> {
        match self {
            Item::Task(t) => Some(t),
            _ => None,
        }
    }

    /// The message, if this is one.
    pub fn as_message(&self) -> Option<&Message> {
        match self {
            Item::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The item's id, if it has one.
    pub fn item_id(&self) -> Option<&ItemId> {
        self.common().item_id.as_ref()
    }

    /// An empty item of the same kind (used to build `UpdateItem` changes holding one field).
    pub fn empty_like(&self) -> Item {
        match self {
            Item::Message(_) => Item::Message(Message::default()),
            Item::CalendarItem(_) => Item::CalendarItem(CalendarItem::default()),
            Item::Contact(_) => Item::Contact(Contact::default()),
            Item::Task(_) => Item::Task(Task::default()),
            Item::Generic(g) => Item::Generic(GenericItem {
                kind: g.kind,
                common: ItemCommon::default(),
            }),
        }
    }

    /// Writes the item as its own element (`t:Contact`, ...).
    pub fn write(&self, w: &mut XmlWriter) {
        let name = self.element_name();
        match self {
            Item::Message(i) => i.write_xml(w, Ns::Types, name),
            Item::CalendarItem(i) => i.write_xml(w, Ns::Types, name),
            Item::Contact(i) => i.write_xml(w, Ns::Types, name),
            Item::Task(i) => i.write_xml(w, Ns::Types, name),
            Item::Generic(i) => i.write_xml(w, Ns::Types, name),
        }
    }

    /// Reads an item element; `None` (element left unread) if `start` is not an item element
    /// of the types namespace.
    pub fn try_read<'a>(
        r: &mut XmlReader<'a>,
        start: &Start<'a>,
    ) -> Result<Option<Item>, XmlError> {
        if start.ns() != Ns::Types {
            return Ok(None);
        }
        let item = match start.local() {
            "Message" => Item::Message(Message::read_xml(r, start)?),
            "CalendarItem" => Item::CalendarItem(CalendarItem::read_xml(r, start)?),
            "Contact" => Item::Contact(Contact::read_xml(r, start)?),
            "Task" => Item::Task(Task::read_xml(r, start)?),
            other if other.parse::<GenericItemKind>().is_ok() => {
                Item::Generic(GenericItem::read_xml(r, start)?)
            }
            _ => return Ok(None),
        };
        Ok(Some(item))
    }

    /// Reads the item elements that are children of `start` (an `Items` list), skipping other
    /// elements.
    pub fn read_list<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Vec<Item>, XmlError> {
        let mut out = Vec::new();
        while let Some(c) = r.next_child(start)? {
            match Item::try_read(r, &c)? {
                Some(item) => out.push(item),
                None => r.skip(&c)?,
            }
        }
        Ok(out)
    }
}

/// Writes the item as its own element; the parent's `ns`/`name` are ignored because the
/// element name carries the item kind (see [`Item::write`]).
impl WriteXml for Item {
    fn write_xml(&self, w: &mut XmlWriter, _ns: Ns, _name: &str) {
        self.write(w);
    }
}

/// Reads an item from its own element (`t:Contact`, ...); other elements are an error.
impl ReadXml for Item {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        match Item::try_read(r, start)? {
            Some(item) => Ok(item),
            None => Err(r.unexpected(start, "an item element (Message, Contact, ...)")),
        }
    }
}

impl From<Message> for Item {
    fn from(v: Message) -> Self {
        Item::Message(v)
    }
}
impl From<CalendarItem> for Item {
    fn from(v: CalendarItem) -> Self {
        Item::CalendarItem(v)
    }
}
impl From<Contact> for Item {
    fn from(v: Contact) -> Self {
        Item::Contact(v)
    }
}
impl From<Task> for Item {
    fn from(v: Task) -> Self {
        Item::Task(v)
    }
}
impl From<GenericItem> for Item {
    fn from(v: GenericItem) -> Self {
        Item::Generic(v)
    }
}
