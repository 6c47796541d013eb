//! `ConvertId`: converts item and folder ids between formats; clients also call it at logon
//! to learn a mailbox's primary SMTP address (the `Mailbox` of the answer).
//!
//! Microsoft reference: [ConvertId operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/convertid-operation).

use crate::operation::Operation;
use crate::types::ids::string_enum;
use crate::types::response::{ResponseContent, ResponseMessages};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// An id format (`t:IdFormatType`).
    IdFormat {
        /// Exchange 2007 RTM ids.
        EwsLegacyId = "EwsLegacyId",
        /// EWS ids.
        EwsId = "EwsId",
        /// MAPI entry ids (base64).
        EntryId = "EntryId",
        /// MAPI entry ids (hex).
        HexEntryId = "HexEntryId",
        /// Store ids.
        StoreId = "StoreId",
        /// Outlook Web App ids.
        OwaId = "OwaId",
    }
}

/// `t:AlternateId`: an id in a format, in a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlternateId {
    /// The id's format.
    pub format: IdFormat,
    /// The id.
    pub id: String,
    /// The mailbox's SMTP address.
    pub mailbox: String,
    /// Whether the id is in the archive mailbox.
    pub is_archive: Option<bool>,
}

impl AlternateId {
    fn write_attrs(&self, w: &mut XmlWriter, ns: Ns, name: &str, typed: bool) {
        let mut tag = w.start(ns, name);
        if typed {
            tag = tag.attr_ns(Ns::Xsi, "type", "t:AlternateIdType");
        }
        tag.attr_value("Format", &self.format)
            .attr("Id", &self.id)
            .attr("Mailbox", &self.mailbox)
            .attr_opt("IsArchive", self.is_archive.as_ref())
            .empty();
    }
}

impl WriteXml for AlternateId {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        self.write_attrs(w, ns, name, false);
    }
}

impl ReadXml for AlternateId {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let out = AlternateId {
            format: start.required_attr_value(r, "Format")?,
            id: start.required_attr(r, "Id")?.into_owned(),
            mailbox: start.required_attr(r, "Mailbox")?.into_owned(),
            is_archive: start.attr_value(r, "IsArchive")?,
        };
        r.skip(start)?;
        Ok(out)
    }
}

/// `m:ConvertId`: one response message per source id, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertId {
    /// The format to convert to.
    pub destination_format: IdFormat,
    /// The ids to convert (`t:AlternateId` only; public folder ids are not modelled).
    pub source_ids: Vec<AlternateId>,
}

impl Operation for ConvertId {
    const NAME: &'static str = "ConvertId";
    type Response = ResponseMessages<ConvertIdResult>;

    fn validate(&self) -> Result<(), String> {
        if self.source_ids.is_empty() {
            return Err("ConvertId: at least one id is required".to_owned());
        }
        Ok(())
    }
}

impl WriteXml for ConvertId {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("DestinationFormat", &self.destination_format)
            .children(|w| {
                w.element(Ns::Messages, "SourceIds", |w| {
                    for id in &self.source_ids {
                        id.write_xml(w, Ns::Types, "AlternateId");
                    }
                });
            });
    }
}

impl ReadXml for ConvertId {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let destination_format = start.required_attr_value(r, "DestinationFormat")?;
        let mut source_ids = Vec::new();
        let mut seen = false;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "SourceIds") {
                seen = true;
                while let Some(id) = r.next_child(&c)? {
                    if id.is(Ns::Types, "AlternateId") {
                        source_ids.push(AlternateId::read_xml(r, &id)?);
                    } else {
                        r.skip(&id)?;
                    }
                }
            } else {
                r.skip(&c)?;
            }
        }
        if !seen {
            return Err(r.missing(start, "SourceIds"));
        }
        Ok(ConvertId {
            destination_format,
            source_ids,
        })
    }
}

/// The content of a `ConvertId` response message: the converted id (none on errors).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConvertIdResult {
    /// The id in the destination format, with the mailbox's primary SMTP address.
    pub alternate_id: Option<AlternateId>,
}

impl ResponseContent for ConvertIdResult {
    fn write_content(&self, w: &mut XmlWriter) {
        if let Some(id) = &self.alternate_id {
            // the element's schema type is abstract: the concrete type is named
            id.write_attrs(w, Ns::Messages, "AlternateId", true);
        }
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if !child.is(Ns::Messages, "AlternateId") {
            return Ok(false);
        }
        self.alternate_id = Some(AlternateId::read_xml(r, child)?);
        Ok(true)
    }
}
