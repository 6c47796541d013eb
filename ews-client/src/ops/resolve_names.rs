//! `ResolveNames`: ambiguous name resolution against the directory and contacts.
//!
//! Microsoft reference: [ResolveNames operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/resolvenames-operation).

use super::common::{read_folder_ids, write_folder_ids};
use crate::operation::Operation;
use crate::types::contact::Contact;
use crate::types::ids::{BaseFolderId, string_enum};
use crate::types::mailbox::EmailAddress;
use crate::types::response::{ResponseContent, ResponseMessages};
use crate::types::shape::{BaseShape, PagingInfo};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// Where `ResolveNames` looks (`t:ResolveNamesSearchScopeType`).
    ResolveNamesSearchScope {
        /// The directory only.
        ActiveDirectory = "ActiveDirectory",
        /// The directory, then contacts (the server default).
        ActiveDirectoryContacts = "ActiveDirectoryContacts",
        /// Contacts only.
        Contacts = "Contacts",
        /// Contacts, then the directory.
        ContactsActiveDirectory = "ContactsActiveDirectory",
    }
}

/// `m:ResolveNames`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveNames {
    /// Contact folders to search (the default contacts folder when empty).
    pub parent_folder_ids: Vec<BaseFolderId>,
    /// The name or address fragment to resolve.
    pub unresolved_entry: String,
    /// Whether to return the full contact data.
    pub return_full_contact_data: bool,
    /// Where to look.
    pub search_scope: Option<ResolveNamesSearchScope>,
    /// Contact shape (Exchange 2010 SP2 and later).
    pub contact_data_shape: Option<BaseShape>,
}

impl ResolveNames {
    /// Resolves `entry` in the directory and contacts, without full contact data.
    pub fn new(entry: impl Into<String>) -> Self {
        Self {
            parent_folder_ids: Vec::new(),
            unresolved_entry: entry.into(),
            return_full_contact_data: false,
            search_scope: None,
            contact_data_shape: None,
        }
    }
}

impl Operation for ResolveNames {
    const NAME: &'static str = "ResolveNames";
    type Response = ResponseMessages<ResolutionSet>;

    fn expected_responses(&self) -> Option<usize> {
        Some(1)
    }

    fn validate(&self) -> Result<(), String> {
        if self.unresolved_entry.trim().is_empty() {
            return Err("ResolveNames: the entry to resolve is empty".to_owned());
        }
        Ok(())
    }
}

impl WriteXml for ResolveNames {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("ReturnFullContactData", &self.return_full_contact_data)
            .attr_opt("SearchScope", self.search_scope.as_ref())
            .attr_opt("ContactDataShape", self.contact_data_shape.as_ref())
            .children(|w| {
                if !self.parent_folder_ids.is_empty() {
                    write_folder_ids(w, "ParentFolderIds", &self.parent_folder_ids);
                }
                w.text_element(Ns::Messages, "UnresolvedEntry", &self.unresolved_entry);
            });
    }
}

impl ReadXml for ResolveNames {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = ResolveNames {
            return_full_contact_data: start.required_attr_value(r, "ReturnFullContactData")?,
            search_scope: start.attr_value(r, "SearchScope")?,
            contact_data_shape: start.attr_value(r, "ContactDataShape")?,
            ..ResolveNames::new("")
        };
        let mut entry = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "ParentFolderIds") {
                out.parent_folder_ids = read_folder_ids(r, &c)?;
            } else if c.is(Ns::Messages, "UnresolvedEntry") {
                entry = Some(r.text(&c)?.into_owned());
            } else {
                r.skip(&c)?;
            }
        }
        out.unresolved_entry = r.required(start, entry, "UnresolvedEntry")?;
        Ok(out)
    }
}

/// One candidate (`t:Resolution`).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The mailbox.
    pub mailbox: EmailAddress,
    /// The contact data, when requested and available.
    pub contact: Option<Contact>,
}

/// The content of a `ResolveNames` response message (`m:ResolutionSet`). A single match is
/// a Success; several are a Warning with `ErrorNameResolutionMultipleResults`; none is an
/// Error with `ErrorNameResolutionNoResults`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolutionSet {
    /// Paging attributes (`TotalItemsInView`, `IncludesLastItemInRange`).
    pub paging: PagingInfo,
    /// The candidates (at most 100).
    pub resolutions: Vec<Resolution>,
}

impl ResponseContent for ResolutionSet {
    fn write_content(&self, w: &mut XmlWriter) {
        self.paging
            .write_attrs(w.start(Ns::Messages, "ResolutionSet"))
            .children(|w| {
                for res in &self.resolutions {
                    w.element(Ns::Types, "Resolution", |w| {
                        res.mailbox.write_xml(w, Ns::Types, "Mailbox");
                        w.opt_write(Ns::Types, "Contact", res.contact.as_ref());
                    });
                }
            });
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if !child.is(Ns::Messages, "ResolutionSet") {
            return Ok(false);
        }
        self.paging = PagingInfo::read_attrs(r, child)?;
        while let Some(c) = r.next_child(child)? {
            if !c.is(Ns::Types, "Resolution") {
                r.skip(&c)?;
                continue;
            }
            let mut mailbox = None;
            let mut contact = None;
            while let Some(f) = r.next_child(&c)? {
                if f.is(Ns::Types, "Mailbox") {
                    mailbox = Some(EmailAddress::read_xml(r, &f)?);
                } else if f.is(Ns::Types, "Contact") {
                    contact = Some(Contact::read_xml(r, &f)?);
                } else {
                    r.skip(&f)?;
                }
            }
            self.resolutions.push(Resolution {
                mailbox: r.required(&c, mailbox, "Mailbox")?,
                contact,
            });
        }
        Ok(true)
    }
}
