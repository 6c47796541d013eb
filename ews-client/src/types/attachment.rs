//! Attachments (`t:FileAttachment`, `t:ItemAttachment`) and attachment ids.

use super::body::{decode_base64, encode_base64};
use super::item::Item;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// An attachment's id (`t:AttachmentId`), with the id of the item it belongs to when the
/// server gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AttachmentId {
    /// The opaque attachment id.
    pub id: String,
    /// The id of the root item.
    pub root_item_id: Option<String>,
    /// The change key of the root item.
    pub root_item_change_key: Option<String>,
}

impl AttachmentId {
    /// An id without root item information (as in `GetAttachment` requests).
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }
}

impl WriteXml for AttachmentId {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr("Id", &self.id)
            .attr_opt("RootItemId", self.root_item_id.as_ref())
            .attr_opt("RootItemChangeKey", self.root_item_change_key.as_ref())
            .empty();
    }
}

impl ReadXml for AttachmentId {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let id = start.required_attr(r, "Id")?.into_owned();
        let root_item_id = start.attr("RootItemId")?.map(Cow::into_owned);
        let root_item_change_key = start.attr("RootItemChangeKey")?.map(Cow::into_owned);
        r.skip(start)?;
        Ok(Self {
            id,
            root_item_id,
            root_item_change_key,
        })
    }
}

/// The fields every attachment has (`t:AttachmentType`), in schema order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttachmentCommon {
    /// The id (absent when creating).
    pub attachment_id: Option<AttachmentId>,
    /// The file or display name.
    pub name: Option<String>,
    /// The MIME type, e.g. `application/pdf`.
    pub content_type: Option<String>,
    /// The content id, referenced by `cid:` URLs in HTML bodies (inline images).
    pub content_id: Option<String>,
    /// The content location.
    pub content_location: Option<String>,
    /// The size in bytes.
    pub size: Option<i32>,
    /// When the attachment was modified last.
    pub last_modified_time: Option<DateTime<Utc>>,
    /// Whether the attachment is shown inline in the body.
    pub is_inline: Option<bool>,
}

impl AttachmentCommon {
    fn write_fields(&self, w: &mut XmlWriter) {
        let t = Ns::Types;
        w.opt_write(t, "AttachmentId", self.attachment_id.as_ref());
        w.opt_value(t, "Name", self.name.as_ref());
        w.opt_value(t, "ContentType", self.content_type.as_ref());
        w.opt_value(t, "ContentId", self.content_id.as_ref());
        w.opt_value(t, "ContentLocation", self.content_location.as_ref());
        w.opt_value(t, "Size", self.size.as_ref());
        w.opt_value(t, "LastModifiedTime", self.last_modified_time.as_ref());
        w.opt_value(t, "IsInline", self.is_inline.as_ref());
    }

    fn read_field<'a>(&mut self, r: &mut XmlReader<'a>, c: &Start<'a>) -> Result<bool, XmlError> {
        if c.ns() != Ns::Types {
            return Ok(false);
        }
        match c.local() {
            "AttachmentId" => self.attachment_id = Some(AttachmentId::read_xml(r, c)?),
            "Name" => self.name = Some(r.value(c)?),
            "ContentType" => self.content_type = Some(r.value(c)?),
            "ContentId" => self.content_id = Some(r.value(c)?),
            "ContentLocation" => self.content_location = Some(r.value(c)?),
            "Size" => self.size = Some(r.value(c)?),
            "LastModifiedTime" => self.last_modified_time = Some(r.value(c)?),
            "IsInline" => self.is_inline = Some(r.value(c)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A file attachment (`t:FileAttachment`); `content` is decoded from base64.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileAttachment {
    /// The common attachment fields.
    pub common: AttachmentCommon,
    /// Whether this is a contact's photo.
    pub is_contact_photo: Option<bool>,
    /// The bytes (absent in item listings; present from `GetAttachment` and when creating).
    pub content: Option<Vec<u8>>,
}

impl FileAttachment {
    /// A file attachment with a name, MIME type and content.
    pub fn new(
        name: impl Into<String>,
        content_type: impl Into<String>,
        content: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            common: AttachmentCommon {
                name: Some(name.into()),
                content_type: Some(content_type.into()),
                ..AttachmentCommon::default()
            },
            is_contact_photo: None,
            content: Some(content.into()),
        }
    }

    /// Marks the attachment as an inline image referenced by `cid:{content_id}`.
    pub fn inline(mut self, content_id: impl Into<String>) -> Self {
        self.common.content_id = Some(content_id.into());
        self.common.is_inline = Some(true);
        self
    }
}

impl WriteXml for FileAttachment {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.common.write_fields(w);
            w.opt_value(Ns::Types, "IsContactPhoto", self.is_contact_photo.as_ref());
            if let Some(bytes) = &self.content {
                w.text_element(Ns::Types, "Content", &encode_base64(bytes));
            }
        });
    }
}

impl ReadXml for FileAttachment {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self::default();
        while let Some(c) = r.next_child(start)? {
            if out.common.read_field(r, &c)? {
                continue;
            }
            if c.is(Ns::Types, "IsContactPhoto") {
                out.is_contact_photo = Some(r.value(&c)?);
            } else if c.is(Ns::Types, "Content") {
                let text = r.text(&c)?;
                out.content = Some(decode_base64(&text).map_err(|e| r.invalid(&c, &text, e))?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(out)
    }
}

/// An item attachment (`t:ItemAttachment`): an item (e.g. a forwarded message) embedded in
/// another.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemAttachment {
    /// The common attachment fields.
    pub common: AttachmentCommon,
    /// The embedded item (absent in item listings).
    pub item: Option<Box<Item>>,
}

impl WriteXml for ItemAttachment {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.common.write_fields(w);
            if let Some(item) = &self.item {
                item.write(w);
            }
        });
    }
}

/// How deeply item attachments may nest (an attached message with an attached message ...).
/// Deeper documents are rejected instead of exhausting the stack.
pub const MAX_ITEM_ATTACHMENT_DEPTH: usize = 16;

impl ReadXml for ItemAttachment {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let depth = r
            .path_with(start)
            .split('/')
            .filter(|part| *part == "ItemAttachment")
            .count();
        if depth > MAX_ITEM_ATTACHMENT_DEPTH {
            return Err(r.invalid(
                start,
                "",
                format!("item attachments nested deeper than {MAX_ITEM_ATTACHMENT_DEPTH} levels"),
            ));
        }
        let mut out = Self::default();
        while let Some(c) = r.next_child(start)? {
            if out.common.read_field(r, &c)? {
                continue;
            }
            match Item::try_read(r, &c)? {
                Some(item) => out.item = Some(Box::new(item)),
                None => r.skip(&c)?,
            }
        }
        Ok(out)
    }
}

/// An attachment: the choice in `t:Attachments` lists.
#[derive(Debug, Clone, PartialEq)]
pub enum Attachment {
    /// `t:FileAttachment`.
    File(FileAttachment),
    /// `t:ItemAttachment`.
    Item(ItemAttachment),
}

impl Attachment {
    /// The common attachment fields.
    pub fn common(&self) -> &AttachmentCommon {
        match self {
            Attachment::File(a) => &a.common,
            Attachment::Item(a) => &a.common,
        }
    }

    /// Writes the attachment as its own element (`t:FileAttachment` or `t:ItemAttachment`).
    pub fn write(&self, w: &mut XmlWriter) {
        match self {
            Attachment::File(a) => a.write_xml(w, Ns::Types, "FileAttachment"),
            Attachment::Item(a) => a.write_xml(w, Ns::Types, "ItemAttachment"),
        }
    }

    /// Reads an attachment element; `None` (left unread) for other elements, including
    /// `t:ReferenceAttachment`, which this crate does not model.
    pub fn try_read<'a>(
        r: &mut XmlReader<'a>,
        start: &Start<'a>,
    ) -> Result<Option<Self>, XmlError> {
        if start.is(Ns::Types, "FileAttachment") {
            Ok(Some(Attachment::File(FileAttachment::read_xml(r, start)?)))
        } else if start.is(Ns::Types, "ItemAttachment") {
            Ok(Some(Attachment::Item(ItemAttachment::read_xml(r, start)?)))
        } else {
            Ok(None)
        }
    }

    /// Reads the attachment elements that are children of `start`, skipping others.
    pub fn read_list<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Vec<Self>, XmlError> {
        let mut out = Vec::new();
        while let Some(c) = r.next_child(start)? {
            match Attachment::try_read(r, &c)? {
                Some(a) => out.push(a),
                None => r.skip(&c)?,
            }
        }
        Ok(out)
    }
}

impl From<FileAttachment> for Attachment {
    fn from(a: FileAttachment) -> Self {
        Attachment::File(a)
    }
}

impl From<ItemAttachment> for Attachment {
    fn from(a: ItemAttachment) -> Self {
        Attachment::Item(a)
    }
}
