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

/// The fields of `t:ItemType` that every item has, in schema order.
///
/// Read-only fields (ids, sizes, timestamps set by the server) are read and written too, so
/// that `ews-mock` can return them; the server ignores or rejects them in requests.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemCommon {
    /// The full MIME content, when requested (`IncludeMimeContent`) or when creating an item
    /// from MIME.
    pub mime_content: Option<MimeContent>,
    /// The item's id and change key.
    pub item_id: Option<ItemId>,
    /// The folder holding the item.
    pub parent_folder_id: Option<FolderId>,
    /// The message class, e.g. `IPM.Note`, `IPM.Contact`, `IPM.Appointment`, `IPM.Task`.
    pub item_class: Option<String>,
    /// The subject.
    pub subject: Option<String>,
    /// Sensitivity.
    pub sensitivity: Option<Sensitivity>,
    /// The body (contact notes, appointment or task description, message text).
    pub body: Option<Body>,
    /// Attachments (written only when non-empty: the schema requires at least one).
    pub attachments: Vec<Attachment>,
    /// When the item was received.
    pub date_time_received: Option<DateTime<Utc>>,
    /// The size in bytes.
    pub size: Option<i32>,
    /// Categories (written only when non-empty).
    pub categories: Vec<String>,
    /// Importance.
    pub importance: Option<Importance>,
    /// The `In-Reply-To` header of a message.
    pub in_reply_to: Option<String>,
    /// Whether the item was submitted to the outbox.
    pub is_submitted: Option<bool>,
    /// Whether the item is a draft.
    pub is_draft: Option<bool>,
    /// Whether the item was sent by the mailbox owner.
    pub is_from_me: Option<bool>,
    /// Whether the item is a resend.
    pub is_resend: Option<bool>,
    /// Whether the item is unmodified.
    pub is_unmodified: Option<bool>,
    /// The internet message headers (written only when non-empty).
    pub internet_message_headers: Vec<InternetHeader>,
    /// When the item was sent.
    pub date_time_sent: Option<DateTime<Utc>>,
    /// When the item was created.
    pub date_time_created: Option<DateTime<Utc>>,
    /// When the reminder is due.
    pub reminder_due_by: Option<DateTime<Utc>>,
    /// Whether a reminder is set.
    pub reminder_is_set: Option<bool>,
    /// When the reminder fires next.
    pub reminder_next_time: Option<DateTime<Utc>>,
    /// Minutes before the start that the reminder fires (calendar items).
    pub reminder_minutes_before_start: Option<i32>,
    /// Display string of the Cc recipients.
    pub display_cc: Option<String>,
    /// Display string of the To recipients.
    pub display_to: Option<String>,
    /// Display string of the Bcc recipients.
    pub display_bcc: Option<String>,
    /// Whether the item has attachments.
    pub has_attachments: Option<bool>,
    /// Extended (MAPI) properties, e.g. the CRM record id stored on a synced item.
    pub extended_properties: Vec<ExtendedProperty>,
    /// The item's culture, e.g. `en-US`.
    pub culture: Option<String>,
    /// Who modified the item last.
    pub last_modified_name: Option<String>,
    /// When the item was modified last.
    pub last_modified_time: Option<DateTime<Utc>>,
    /// Whether the item is associated (hidden) folder content.
    pub is_associated: Option<bool>,
    /// The conversation the item belongs to.
    pub conversation_id: Option<ItemId>,
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

    /// Writes the `t:ItemType` fields, in schema order (call inside the item element).
    pub fn write_fields(&self, w: &mut XmlWriter) {
        let t = Ns::Types;
        w.opt_write(t, "MimeContent", self.mime_content.as_ref());
        w.opt_write(t, "ItemId", self.item_id.as_ref());
        w.opt_write(t, "ParentFolderId", self.parent_folder_id.as_ref());
        w.opt_value(t, "ItemClass", self.item_class.as_ref());
        w.opt_value(t, "Subject", self.subject.as_ref());
        w.opt_value(t, "Sensitivity", self.sensitivity.as_ref());
        w.opt_write(t, "Body", self.body.as_ref());
        if !self.attachments.is_empty() {
            w.element(t, "Attachments", |w| {
                for a in &self.attachments {
                    a.write(w);
                }
            });
        }
        w.opt_value(t, "DateTimeReceived", self.date_time_received.as_ref());
        w.opt_value(t, "Size", self.size.as_ref());
        write_strings(w, "Categories", &self.categories);
        w.opt_value(t, "Importance", self.importance.as_ref());
        w.opt_value(t, "InReplyTo", self.in_reply_to.as_ref());
        w.opt_value(t, "IsSubmitted", self.is_submitted.as_ref());
        w.opt_value(t, "IsDraft", self.is_draft.as_ref());
        w.opt_value(t, "IsFromMe", self.is_from_me.as_ref());
        w.opt_value(t, "IsResend", self.is_resend.as_ref());
        w.opt_value(t, "IsUnmodified", self.is_unmodified.as_ref());
        if !self.internet_message_headers.is_empty() {
            w.element(t, "InternetMessageHeaders", |w| {
                w.write_all(t, "InternetMessageHeader", &self.internet_message_headers)
            });
        }
        w.opt_value(t, "DateTimeSent", self.date_time_sent.as_ref());
        w.opt_value(t, "DateTimeCreated", self.date_time_created.as_ref());
        w.opt_value(t, "ReminderDueBy", self.reminder_due_by.as_ref());
        w.opt_value(t, "ReminderIsSet", self.reminder_is_set.as_ref());
        w.opt_value(t, "ReminderNextTime", self.reminder_next_time.as_ref());
        w.opt_value(
            t,
            "ReminderMinutesBeforeStart",
            self.reminder_minutes_before_start.as_ref(),
        );
        w.opt_value(t, "DisplayCc", self.display_cc.as_ref());
        w.opt_value(t, "DisplayTo", self.display_to.as_ref());
        w.opt_value(t, "DisplayBcc", self.display_bcc.as_ref());
        w.opt_value(t, "HasAttachments", self.has_attachments.as_ref());
        w.write_all(t, "ExtendedProperty", &self.extended_properties);
        w.opt_value(t, "Culture", self.culture.as_ref());
        w.opt_value(t, "LastModifiedName", self.last_modified_name.as_ref());
        w.opt_value(t, "LastModifiedTime", self.last_modified_time.as_ref());
        w.opt_value(t, "IsAssociated", self.is_associated.as_ref());
        w.opt_write(t, "ConversationId", self.conversation_id.as_ref());
    }

    /// Reads `c` if it is a `t:ItemType` field; returns `false` (element left unread) if not.
    pub fn read_field<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        c: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if c.ns() != Ns::Types {
            return Ok(false);
        }
        match c.local() {
            "MimeContent" => self.mime_content = Some(MimeContent::read_xml(r, c)?),
            "ItemId" => self.item_id = Some(ItemId::read_xml(r, c)?),
            "ParentFolderId" => self.parent_folder_id = Some(FolderId::read_xml(r, c)?),
            "ItemClass" => self.item_class = Some(r.value(c)?),
            "Subject" => self.subject = Some(r.value(c)?),
            "Sensitivity" => self.sensitivity = Some(r.value(c)?),
            "Body" => self.body = Some(Body::read_xml(r, c)?),
            "Attachments" => {
                while let Some(a) = r.next_child(c)? {
                    match Attachment::try_read(r, &a)? {
                        Some(att) => self.attachments.push(att),
                        None => r.skip(&a)?,
                    }
                }
            }
            "DateTimeReceived" => self.date_time_received = Some(r.value(c)?),
            "Size" => self.size = Some(r.value(c)?),
            "Categories" => self.categories = read_strings(r, c)?,
            "Importance" => self.importance = Some(r.value(c)?),
            "InReplyTo" => self.in_reply_to = Some(r.value(c)?),
            "IsSubmitted" => self.is_submitted = Some(r.value(c)?),
            "IsDraft" => self.is_draft = Some(r.value(c)?),
            "IsFromMe" => self.is_from_me = Some(r.value(c)?),
            "IsResend" => self.is_resend = Some(r.value(c)?),
            "IsUnmodified" => self.is_unmodified = Some(r.value(c)?),
            "InternetMessageHeaders" => {
                self.internet_message_headers =
                    r.read_list(c, Ns::Types, "InternetMessageHeader")?
            }
            "DateTimeSent" => self.date_time_sent = Some(r.value(c)?),
            "DateTimeCreated" => self.date_time_created = Some(r.value(c)?),
            "ReminderDueBy" => self.reminder_due_by = Some(r.value(c)?),
            "ReminderIsSet" => self.reminder_is_set = Some(r.value(c)?),
            "ReminderNextTime" => self.reminder_next_time = Some(r.value(c)?),
            "ReminderMinutesBeforeStart" => self.reminder_minutes_before_start = Some(r.value(c)?),
            "DisplayCc" => self.display_cc = Some(r.value(c)?),
            "DisplayTo" => self.display_to = Some(r.value(c)?),
            "DisplayBcc" => self.display_bcc = Some(r.value(c)?),
            "HasAttachments" => self.has_attachments = Some(r.value(c)?),
            "ExtendedProperty" => self
                .extended_properties
                .push(ExtendedProperty::read_xml(r, c)?),
            "Culture" => self.culture = Some(r.value(c)?),
            "LastModifiedName" => self.last_modified_name = Some(r.value(c)?),
            "LastModifiedTime" => self.last_modified_time = Some(r.value(c)?),
            "IsAssociated" => self.is_associated = Some(r.value(c)?),
            "ConversationId" => self.conversation_id = Some(ItemId::read_xml(r, c)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
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
