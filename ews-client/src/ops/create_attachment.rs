//! `CreateAttachment`: add file or item attachments to an existing item.
//!
//! Microsoft reference: [CreateAttachment operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createattachment-operation).

use crate::operation::Operation;
use crate::types::attachment::Attachment;
use crate::types::ids::ItemId;
use crate::types::response::{ResponseContent, ResponseMessages};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:CreateAttachment`: one response message per attachment, each with the new
/// attachment's id (and the parent's new change key in `root_item_change_key`).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAttachment {
    /// The item to attach to.
    pub parent_item_id: ItemId,
    /// The attachments.
    pub attachments: Vec<Attachment>,
}

impl Operation for CreateAttachment {
    const NAME: &'static str = "CreateAttachment";
    type Response = ResponseMessages<AttachmentInfo>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.attachments.len())
    }

    fn idempotent(&self) -> bool {
        false
    }
}

impl WriteXml for CreateAttachment {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.parent_item_id
                .write_xml(w, Ns::Messages, "ParentItemId");
            write_attachments(w, Ns::Messages, &self.attachments);
        });
    }
}

impl ReadXml for CreateAttachment {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut parent = None;
        let mut attachments = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "ParentItemId") {
                parent = Some(ItemId::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "Attachments") {
                attachments = Some(Attachment::read_list(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            parent_item_id: r.required(start, parent, "ParentItemId")?,
            attachments: r.required(start, attachments, "Attachments")?,
        })
    }
}

/// Writes an `Attachments` element holding each attachment.
pub(crate) fn write_attachments(w: &mut XmlWriter, ns: Ns, attachments: &[Attachment]) {
    w.element(ns, "Attachments", |w| {
        for a in attachments {
            a.write(w);
        }
    });
}

/// The content of `CreateAttachment` and `GetAttachment` response messages
/// (`m:Attachments`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttachmentInfo {
    /// The attachments (one per response message).
    pub attachments: Vec<Attachment>,
}

impl ResponseContent for AttachmentInfo {
    fn write_content(&self, w: &mut XmlWriter) {
        write_attachments(w, Ns::Messages, &self.attachments);
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if child.is(Ns::Messages, "Attachments") {
            self.attachments = Attachment::read_list(r, child)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
}
