//! E-mail messages (`t:Message`, `t:MessageType`).

use super::item::ItemCommon;
use super::mailbox::{
    EmailAddress, read_recipients, read_single_recipient, write_recipients, write_single_recipient,
};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// An e-mail message. The fields of `t:ItemType` (subject, body, MIME content, attachments,
/// `InReplyTo`, `DateTimeSent`, `DateTimeReceived`, internet headers, ...) are in
/// [`ItemCommon`]; the message-specific ones follow in schema order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    /// The `t:ItemType` fields.
    pub common: ItemCommon,
    /// The sender (`Sender` header), when it differs from `from`.
    pub sender: Option<EmailAddress>,
    /// To recipients.
    pub to_recipients: Vec<EmailAddress>,
    /// Cc recipients.
    pub cc_recipients: Vec<EmailAddress>,
    /// Bcc recipients.
    pub bcc_recipients: Vec<EmailAddress>,
    /// Whether a read receipt is requested.
    pub is_read_receipt_requested: Option<bool>,
    /// Whether a delivery receipt is requested.
    pub is_delivery_receipt_requested: Option<bool>,
    /// The conversation index (base64, kept as text).
    pub conversation_index: Option<String>,
    /// The conversation topic.
    pub conversation_topic: Option<String>,
    /// The author (`From` header).
    pub from: Option<EmailAddress>,
    /// The `Message-ID` header.
    pub internet_message_id: Option<String>,
    /// Whether the message was read.
    pub is_read: Option<bool>,
    /// Whether a response is requested.
    pub is_response_requested: Option<bool>,
    /// The `References` header.
    pub references: Option<String>,
    /// The `Reply-To` addresses.
    pub reply_to: Vec<EmailAddress>,
    /// The mailbox that received the message.
    pub received_by: Option<EmailAddress>,
    /// The mailbox the message was received on behalf of.
    pub received_representing: Option<EmailAddress>,
}

impl WriteXml for Message {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        let t = Ns::Types;
        w.element(ns, name, |w| {
            self.common.write_fields(w);
            if let Some(m) = &self.sender {
                write_single_recipient(w, "Sender", m);
            }
            write_recipients(w, "ToRecipients", &self.to_recipients);
            write_recipients(w, "CcRecipients", &self.cc_recipients);
            write_recipients(w, "BccRecipients", &self.bcc_recipients);
            w.opt_value(
                t,
                "IsReadReceiptRequested",
                self.is_read_receipt_requested.as_ref(),
            );
            w.opt_value(
                t,
                "IsDeliveryReceiptRequested",
                self.is_delivery_receipt_requested.as_ref(),
            );
            w.opt_value(t, "ConversationIndex", self.conversation_index.as_ref());
            w.opt_value(t, "ConversationTopic", self.conversation_topic.as_ref());
            if let Some(m) = &self.from {
                write_single_recipient(w, "From", m);
            }
            w.opt_value(t, "InternetMessageId", self.internet_message_id.as_ref());
            w.opt_value(t, "IsRead", self.is_read.as_ref());
            w.opt_value(
                t,
                "IsResponseRequested",
                self.is_response_requested.as_ref(),
            );
            w.opt_value(t, "References", self.references.as_ref());
            write_recipients(w, "ReplyTo", &self.reply_to);
            if let Some(m) = &self.received_by {
                write_single_recipient(w, "ReceivedBy", m);
            }
            if let Some(m) = &self.received_representing {
                write_single_recipient(w, "ReceivedRepresenting", m);
            }
        });
    }
}

impl ReadXml for Message {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut m = Self::default();
        while let Some(c) = r.next_child(start)? {
            if m.common.read_field(r, &c)? {
                continue;
            }
            if c.ns() != Ns::Types {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "Sender" => m.sender = read_single_recipient(r, &c)?,
                "ToRecipients" => m.to_recipients = read_recipients(r, &c)?,
                "CcRecipients" => m.cc_recipients = read_recipients(r, &c)?,
                "BccRecipients" => m.bcc_recipients = read_recipients(r, &c)?,
                "IsReadReceiptRequested" => m.is_read_receipt_requested = Some(r.value(&c)?),
                "IsDeliveryReceiptRequested" => {
                    m.is_delivery_receipt_requested = Some(r.value(&c)?)
                }
                "ConversationIndex" => m.conversation_index = Some(r.value(&c)?),
                "ConversationTopic" => m.conversation_topic = Some(r.value(&c)?),
                "From" => m.from = read_single_recipient(r, &c)?,
                "InternetMessageId" => m.internet_message_id = Some(r.value(&c)?),
                "IsRead" => m.is_read = Some(r.value(&c)?),
                "IsResponseRequested" => m.is_response_requested = Some(r.value(&c)?),
                "References" => m.references = Some(r.value(&c)?),
                "ReplyTo" => m.reply_to = read_recipients(r, &c)?,
                "ReceivedBy" => m.received_by = read_single_recipient(r, &c)?,
                "ReceivedRepresenting" => m.received_representing = read_single_recipient(r, &c)?,
                _ => r.skip(&c)?,
            }
        }
        Ok(m)
    }
}
