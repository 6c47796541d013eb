//! Mailboxes and recipients (`t:EmailAddressType`, `t:SingleRecipientType`,
//! `t:ArrayOfRecipientsType`).
//!
//! [`EmailAddress`] is the one definition of `t:EmailAddressType`: items use it for senders,
//! recipients, organizers and attendees, and `ResolveNames` (protocol engineer) should reuse it
//! for `t:Mailbox` in its resolutions.

use super::ids::{ItemId, string_enum};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// The kind of mailbox an address belongs to (`t:MailboxTypeType`).
    MailboxType {
        /// Unknown.
        Unknown = "Unknown",
        /// A one-off address, not in the directory.
        OneOff = "OneOff",
        /// A mailbox user.
        Mailbox = "Mailbox",
        /// A public distribution list.
        PublicDl = "PublicDL",
        /// A private distribution list (in a contacts folder).
        PrivateDl = "PrivateDL",
        /// A contact in a contacts folder.
        Contact = "Contact",
        /// A public folder.
        PublicFolder = "PublicFolder",
        /// A group mailbox.
        GroupMailbox = "GroupMailbox",
        /// An implicit contact.
        ImplicitContact = "ImplicitContact",
        /// A user.
        User = "User",
    }
}

/// A mailbox address (`t:EmailAddressType`), written as `t:Mailbox`, `t:From`'s child, ...
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmailAddress {
    /// The display name.
    pub name: Option<String>,
    /// The address (SMTP for routing type `SMTP`).
    pub email_address: Option<String>,
    /// The routing type, usually `SMTP` (or `EX` for legacy Exchange DNs).
    pub routing_type: Option<String>,
    /// What kind of mailbox this is.
    pub mailbox_type: Option<MailboxType>,
    /// The id of a contact or private distribution list, for those mailbox types.
    pub item_id: Option<ItemId>,
    /// The display name as originally given.
    pub original_display_name: Option<String>,
}

impl EmailAddress {
    /// An SMTP address with an optional display name.
    pub fn smtp(address: impl Into<String>, name: Option<&str>) -> Self {
        Self {
            name: name.map(str::to_owned),
            email_address: Some(address.into()),
            routing_type: Some("SMTP".to_owned()),
            ..Self::default()
        }
    }
}

impl WriteXml for EmailAddress {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.opt_value(Ns::Types, "Name", self.name.as_ref());
            w.opt_value(Ns::Types, "EmailAddress", self.email_address.as_ref());
            w.opt_value(Ns::Types, "RoutingType", self.routing_type.as_ref());
            w.opt_value(Ns::Types, "MailboxType", self.mailbox_type.as_ref());
            w.opt_write(Ns::Types, "ItemId", self.item_id.as_ref());
            w.opt_value(
                Ns::Types,
                "OriginalDisplayName",
                self.original_display_name.as_ref(),
            );
        });
    }
}

impl ReadXml for EmailAddress {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self::default();
        while let Some(c) = r.next_child(start)? {
            if c.ns() != Ns::Types {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "Name" => out.name = Some(r.value(&c)?),
                "EmailAddress" => out.email_address = Some(r.value(&c)?),
                "RoutingType" => out.routing_type = Some(r.value(&c)?),
                "MailboxType" => out.mailbox_type = Some(r.value(&c)?),
                "ItemId" => out.item_id = Some(ItemId::read_xml(r, &c)?),
                "OriginalDisplayName" => out.original_display_name = Some(r.value(&c)?),
                _ => r.skip(&c)?,
            }
        }
        Ok(out)
    }
}

/// Writes a `t:SingleRecipientType` element (`t:From`, `t:Sender`, `t:Organizer`, ...): the
/// element `name` holding one `t:Mailbox`.
pub fn write_single_recipient(w: &mut XmlWriter, name: &str, mailbox: &EmailAddress) {
    w.element(Ns::Types, name, |w| {
        mailbox.write_xml(w, Ns::Types, "Mailbox")
    });
}

/// Reads a `t:SingleRecipientType` element; `None` when it holds no `t:Mailbox`.
pub fn read_single_recipient<'a>(
    r: &mut XmlReader<'a>,
    start: &Start<'a>,
) -> Result<Option<EmailAddress>, XmlError> {
    Ok(r.read_list(start, Ns::Types, "Mailbox")?.into_iter().next())
}

/// Writes a `t:ArrayOfRecipientsType` element (`t:ToRecipients`, ...) with one `t:Mailbox` per
/// recipient; nothing when the list is empty.
pub fn write_recipients(w: &mut XmlWriter, name: &str, list: &[EmailAddress]) {
    if list.is_empty() {
        return;
    }
    w.element(Ns::Types, name, |w| w.write_all(Ns::Types, "Mailbox", list));
}

/// Reads a `t:ArrayOfRecipientsType` element.
pub fn read_recipients<'a>(
    r: &mut XmlReader<'a>,
    start: &Start<'a>,
) -> Result<Vec<EmailAddress>, XmlError> {
    r.read_list(start, Ns::Types, "Mailbox")
}
