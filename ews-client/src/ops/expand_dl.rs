//! `ExpandDL`: the members of a distribution list.
//!
//! Microsoft reference: [ExpandDL operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/expanddl-operation).

use crate::operation::Operation;
use crate::types::mailbox::EmailAddress;
use crate::types::response::{ResponseContent, ResponseMessages};
use crate::types::shape::PagingInfo;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:ExpandDL`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpandDL {
    /// The list (its SMTP address, or the item id of a private list).
    pub mailbox: EmailAddress,
}

impl Operation for ExpandDL {
    const NAME: &'static str = "ExpandDL";
    type Response = ResponseMessages<DLExpansion>;
}

impl WriteXml for ExpandDL {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.mailbox.write_xml(w, Ns::Messages, "Mailbox");
        });
    }
}

impl ReadXml for ExpandDL {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut mailbox = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "Mailbox") && mailbox.is_none() {
                mailbox = Some(EmailAddress::read_xml(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            mailbox: r.required(start, mailbox, "Mailbox")?,
        })
    }
}

/// The content of an `ExpandDL` response message (`m:DLExpansion`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DLExpansion {
    /// `TotalItemsInView`, `IncludesLastItemInRange`.
    pub paging: PagingInfo,
    /// The members.
    pub members: Vec<EmailAddress>,
    /// Whether the element was present (it is absent on errors).
    pub present: bool,
}

impl ResponseContent for DLExpansion {
    fn write_content(&self, w: &mut XmlWriter) {
        if !self.present {
            return;
        }
        self.paging
            .write_attrs(w.start(Ns::Messages, "DLExpansion"))
            .children(|w| {
                for m in &self.members {
                    m.write_xml(w, Ns::Types, "Mailbox");
                }
            });
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if !child.is(Ns::Messages, "DLExpansion") {
            return Ok(false);
        }
        self.present = true;
        self.paging = PagingInfo::read_attrs(r, child)?;
        while let Some(c) = r.next_child(child)? {
            if c.is(Ns::Types, "Mailbox") {
                self.members.push(EmailAddress::read_xml(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(true)
    }
}
