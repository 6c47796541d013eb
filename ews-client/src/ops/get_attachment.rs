//! `GetAttachment`: fetch attachments (with content) by id.
//!
//! Microsoft reference: [GetAttachment operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getattachment-operation).

use super::create_attachment::AttachmentInfo;
use crate::operation::Operation;
use crate::types::attachment::AttachmentId;
use crate::types::paths::PropertyPath;
use crate::types::response::ResponseMessages;
use crate::types::shape::BodyTypeResponse;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// Options for attachments holding items (`m:AttachmentShape`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttachmentShape {
    /// Include the MIME content of attached items.
    pub include_mime_content: Option<bool>,
    /// Body format of attached items.
    pub body_type: Option<BodyTypeResponse>,
    /// Remove unsafe HTML.
    pub filter_html_content: Option<bool>,
    /// Additional properties of attached items.
    pub additional_properties: Vec<PropertyPath>,
}

impl WriteXml for AttachmentShape {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let t = Ns::Types;
        w.element(ns, name, |w| {
            w.opt_value(t, "IncludeMimeContent", self.include_mime_content.as_ref());
            w.opt_value(t, "BodyType", self.body_type.as_ref());
            w.opt_value(t, "FilterHtmlContent", self.filter_html_content.as_ref());
            if !self.additional_properties.is_empty() {
                w.element(t, "AdditionalProperties", |w| {
                    for p in &self.additional_properties {
                        p.write(w);
                    }
                });
            }
        });
    }
}

impl ReadXml for AttachmentShape {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self::default();
        let t = Ns::Types;
        while let Some(c) = r.next_child(start)? {
            if c.is(t, "IncludeMimeContent") {
                out.include_mime_content = Some(r.value(&c)?);
            } else if c.is(t, "BodyType") {
                out.body_type = Some(r.value(&c)?);
            } else if c.is(t, "FilterHtmlContent") {
                out.filter_html_content = Some(r.value(&c)?);
            } else if c.is(t, "AdditionalProperties") {
                out.additional_properties = PropertyPath::read_list(r, &c)?;
            } else {
                r.skip(&c)?;
            }
        }
        Ok(out)
    }
}

/// `m:GetAttachment`: one response message (with one attachment, content included) per id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAttachment {
    /// Options for item attachments.
    pub attachment_shape: Option<AttachmentShape>,
    /// The attachments.
    pub attachment_ids: Vec<AttachmentId>,
}

impl GetAttachment {
    /// Fetches attachments by id.
    pub fn new(attachment_ids: impl IntoIterator<Item = AttachmentId>) -> Self {
        Self {
            attachment_shape: None,
            attachment_ids: attachment_ids.into_iter().collect(),
        }
    }
}

impl Operation for GetAttachment {
    const NAME: &'static str = "GetAttachment";
    type Response = ResponseMessages<AttachmentInfo>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.attachment_ids.len())
    }

    fn is_download(&self) -> bool {
        true
    }
}

impl WriteXml for GetAttachment {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.opt_write(
                Ns::Messages,
                "AttachmentShape",
                self.attachment_shape.as_ref(),
            );
            w.element(Ns::Messages, "AttachmentIds", |w| {
                for id in &self.attachment_ids {
                    // Requests carry the id only (`t:RequestAttachmentIdType`).
                    AttachmentId::new(id.id.clone()).write_xml(w, Ns::Types, "AttachmentId");
                }
            });
        });
    }
}

impl ReadXml for GetAttachment {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut shape = None;
        let mut ids = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "AttachmentShape") {
                shape = Some(AttachmentShape::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "AttachmentIds") {
                ids = Some(r.read_list(&c, Ns::Types, "AttachmentId")?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            attachment_shape: shape,
            attachment_ids: r.required(start, ids, "AttachmentIds")?,
        })
    }
}
