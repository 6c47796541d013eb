//! Mails as ConAktiv stores them, with their links to customer, project, offer and invoice.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ContactId, CustomerId, InvoiceId, MailId, OfferId, ProjectId};

/// A mailbox in a header: display name and address.
///
/// The address is kept as text, unvalidated: a received mail with an odd address must still
/// be stored, never rejected and lost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// Display name ("Anna Schmidt"); may be empty.
    #[serde(default)]
    pub name: String,
    /// Address (`anna.schmidt@kunde.example`).
    pub address: String,
}

impl Mailbox {
    /// A mailbox with a display name.
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: address.into(),
        }
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "<{}>", self.address)
        } else {
            write!(f, "{} <{}>", self.name, self.address)
        }
    }
}

/// A file attached to a mail.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// MIME content type (`application/pdf`).
    pub content_type: String,
    /// Content.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Attachment {
    // The content can be megabytes; show its size instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .finish()
    }
}

/// One raw header line, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Header name (`Received`).
    pub name: String,
    /// Raw value.
    pub value: String,
}

/// Whether ConAktiv received or sent the mail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Received.
    #[default]
    Incoming,
    /// Sent.
    Outgoing,
}

/// The ConAktiv records a mail is linked to. Every field is optional in the stored form
/// (`#[serde(default)]`), so records stored before a field existed still load.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MailLinks {
    /// Customer.
    pub customer: Option<CustomerId>,
    /// Contact person (of the customer) who wrote or received the mail.
    pub contact_person: Option<ContactId>,
    /// Project.
    pub project: Option<ProjectId>,
    /// Offer.
    pub offer: Option<OfferId>,
    /// Invoice.
    pub invoice: Option<InvoiceId>,
}

impl MailLinks {
    /// Whether the mail is linked to nothing.
    pub fn is_empty(&self) -> bool {
        self.customer.is_none()
            && self.contact_person.is_none()
            && self.project.is_none()
            && self.offer.is_none()
            && self.invoice.is_none()
    }
}

/// A mail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mail {
    /// ConAktiv key; `None` for a mail not yet stored in ConAktiv.
    pub id: Option<MailId>,
    /// The `Message-ID` header without angle brackets; the key for de-duplication.
    pub message_id: String,
    /// Sender.
    pub from: Option<Mailbox>,
    /// To recipients.
    pub to: Vec<Mailbox>,
    /// Cc recipients.
    pub cc: Vec<Mailbox>,
    /// Bcc recipients (known for sent mail only).
    pub bcc: Vec<Mailbox>,
    /// Reply-To addresses.
    pub reply_to: Vec<Mailbox>,
    /// Subject.
    pub subject: String,
    /// Date header.
    pub date: Option<DateTime<Utc>>,
    /// Plain-text body.
    pub text_body: Option<String>,
    /// HTML body.
    pub html_body: Option<String>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// All headers as received, in order.
    pub raw_headers: Vec<Header>,
    /// Received or sent.
    pub direction: Direction,
    /// Linked ConAktiv records.
    pub links: MailLinks,
}

impl Mail {
    /// Normalises a `Message-ID` header value: trims whitespace and the angle brackets.
    pub fn normalize_message_id(raw: &str) -> String {
        raw.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .to_owned()
    }

    /// The first raw header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw_headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// All recipients (to, cc, bcc).
    pub fn recipients(&self) -> impl Iterator<Item = &Mailbox> {
        self.to.iter().chain(&self.cc).chain(&self.bcc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(
            Mail::normalize_message_id(" <abc@host.example> "),
            "abc@host.example"
        );
        let m = Mail {
            to: vec![Mailbox::new("Anna", "anna@kunde.example")],
            cc: vec![Mailbox::new("", "cc@kunde.example")],
            raw_headers: vec![Header {
                name: "X-Mailer".into(),
                value: "ConAktiv".into(),
            }],
            attachments: vec![Attachment {
                name: "Angebot.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: vec![0; 2048],
            }],
            ..Mail::default()
        };
        assert_eq!(m.header("x-mailer"), Some("ConAktiv"));
        assert_eq!(m.recipients().count(), 2);
        assert_eq!(m.to[0].to_string(), "Anna <anna@kunde.example>");
        assert_eq!(m.cc[0].to_string(), "<cc@kunde.example>");
        assert!(format!("{m:?}").contains("2048 bytes"));
        assert!(m.links.is_empty());
    }
}
