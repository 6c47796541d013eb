//! Mail over Microsoft Graph: a Graph [`Message`] (with its file attachments) to a ConAktiv
//! [`Mail`], and a [`Mail`] to the JSON body that creates it in a mail folder. The same
//! fields as the EWS mapping ([`super::mail`]), so a mail reads the same through either API:
//!
//! | ConAktiv `Mail` | Graph `message` |
//! |---|---|
//! | `message_id` (no angle brackets) | `internetMessageId` |
//! | `from` | `from` (else `sender`) |
//! | `to`, `cc`, `bcc`, `reply_to` | `toRecipients`, `ccRecipients`, `bccRecipients`, `replyTo` |
//! | `subject` | `subject` |
//! | `date` | `sentDateTime` (else `receivedDateTime`); written as the `PidTagClientSubmitTime` (`SystemTime 0x0039`) and `PidTagMessageDeliveryTime` (`SystemTime 0x0E06`) properties |
//! | `html_body` / `text_body` | `body` (HTML when the mail has an HTML body, else text) |
//! | `attachments` | `fileAttachment`s (`/messages/{id}/attachments`); item and reference attachments are not carried over Graph |
//! | `raw_headers` | `internetMessageHeaders` (read only: not written) |
//! | `id` | the correlation key property ([`super::key::graph_property`]) |
//!
//! A written message gets `PidTagMessageFlags` (`Integer 0x0E07`) = 1 (read, not a draft).

use conaktiv_model::Mail;
use conaktiv_model::mail::{Attachment, Direction, Mailbox};
use graph_client::extended::PropertyId;
use graph_client::mail::{FileAttachment, Message};
use graph_client::types::{BodyType, EmailAddress, ItemBody, Recipient};

use super::key;

/// `PidTagClientSubmitTime`.
pub fn client_submit_time() -> PropertyId {
    PropertyId::tagged("SystemTime", 0x0039)
}

/// `PidTagMessageDeliveryTime`.
pub fn delivery_time() -> PropertyId {
    PropertyId::tagged("SystemTime", 0x0E06)
}

/// `PidTagMessageFlags`.
pub fn message_flags() -> PropertyId {
    PropertyId::tagged("Integer", 0x0E07)
}

fn mailbox(r: &Recipient) -> Option<Mailbox> {
    let e = r.email_address.as_ref()?;
    let address = e.address.as_deref()?.trim();
    if address.is_empty() {
        return None;
    }
    Some(Mailbox::new(
        e.name.as_deref().unwrap_or("").trim(),
        address,
    ))
}

fn mailboxes(list: Option<&Vec<Recipient>>) -> Vec<Mailbox> {
    list.map(|l| l.iter().filter_map(mailbox).collect())
        .unwrap_or_default()
}

fn recipient(m: &Mailbox) -> Recipient {
    Recipient {
        email_address: Some(EmailAddress {
            name: (!m.name.trim().is_empty()).then(|| m.name.trim().to_owned()),
            address: Some(m.address.trim().to_owned()),
        }),
    }
}

/// The ConAktiv mail of a Graph message and its file attachments (with content).
pub fn message_to_mail(m: &Message, attachments: &[FileAttachment], direction: Direction) -> Mail {
    let (text_body, html_body) = match &m.body {
        Some(b) if b.content_type == Some(BodyType::Html) => (None, b.content.clone()),
        Some(b) => (b.content.clone(), None),
        None => (None, None),
    };
    Mail {
        id: key::graph_record_id(m.single_value_extended_properties.as_deref()).map(Into::into),
        message_id: m
            .internet_message_id
            .as_deref()
            .map(Mail::normalize_message_id)
            .unwrap_or_default(),
        from: m.from.as_ref().or(m.sender.as_ref()).and_then(mailbox),
        to: mailboxes(m.to_recipients.as_ref()),
        cc: mailboxes(m.cc_recipients.as_ref()),
        bcc: mailboxes(m.bcc_recipients.as_ref()),
        reply_to: mailboxes(m.reply_to.as_ref()),
        subject: m.subject.clone().unwrap_or_default(),
        date: m.sent_date_time.or(m.received_date_time),
        text_body,
        html_body,
        attachments: attachments
            .iter()
            .filter_map(|a| {
                Some(Attachment {
                    name: a.name.clone().unwrap_or_default(),
                    content_type: a
                        .content_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".to_owned()),
                    bytes: a.content_bytes.as_ref()?.0.clone(),
                })
            })
            .collect(),
        raw_headers: Vec::new(),
        direction,
        links: Default::default(),
    }
}

/// The JSON body that creates `mail` in a folder (`POST /mailFolders/{id}/messages`): the
/// writable fields, the dates and the read flag as extended properties, the record id `key`
/// as the correlation key. Attachments are added afterwards (upload sessions above 3 MB).
pub fn mail_to_message(mail: &Mail, record_key: &str) -> Message {
    let body = match (&mail.html_body, &mail.text_body) {
        (Some(h), _) => Some(ItemBody {
            content_type: Some(BodyType::Html),
            content: Some(h.clone()),
        }),
        (None, Some(t)) => Some(ItemBody::text(t.clone())),
        (None, None) => None,
    };
    let mut props = vec![
        key::graph_property().value(record_key.trim()),
        message_flags().value("1"),
    ];
    if let Some(date) = mail.date {
        let text = super::canon::instant(date);
        props.push(client_submit_time().value(text.clone()));
        props.push(delivery_time().value(text));
    }
    let id = Mail::normalize_message_id(&mail.message_id);
    Message {
        subject: Some(mail.subject.clone()),
        body,
        from: mail.from.as_ref().map(recipient),
        to_recipients: Some(mail.to.iter().map(recipient).collect()),
        cc_recipients: Some(mail.cc.iter().map(recipient).collect()),
        bcc_recipients: Some(mail.bcc.iter().map(recipient).collect()),
        reply_to: Some(mail.reply_to.iter().map(recipient).collect()),
        internet_message_id: (!id.is_empty()).then(|| format!("<{id}>")),
        is_read: Some(true),
        single_value_extended_properties: Some(props),
        ..Message::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph_client::Base64;

    #[test]
    fn round_trip_keeps_the_mail() {
        let mail = Mail {
            id: Some("M-1".into()),
            message_id: "abc@host".into(),
            from: Some(Mailbox::new("Anna", "anna@contoso.test")),
            to: vec![Mailbox::new("", "bob@contoso.test")],
            cc: vec![Mailbox::new("Carla", "carla@contoso.test")],
            subject: "Angebot".into(),
            date: chrono::DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z")
                .ok()
                .map(|d| d.with_timezone(&chrono::Utc)),
            html_body: Some("<p>Hallo</p>".into()),
            ..Mail::default()
        };
        let mut m = mail_to_message(&mail, "M-1");
        m.sent_date_time = mail.date;
        let files = [FileAttachment {
            name: Some("a.txt".into()),
            content_type: Some("text/plain".into()),
            content_bytes: Some(Base64(b"x".to_vec())),
            ..FileAttachment::default()
        }];
        let back = message_to_mail(&m, &files, Direction::Incoming);
        assert_eq!(back.id.as_ref().map(|i| i.as_str()), Some("M-1"));
        assert_eq!(back.message_id, "abc@host");
        assert_eq!(
            (back.from, back.to, back.cc),
            (mail.from.clone(), mail.to.clone(), mail.cc.clone())
        );
        assert_eq!(back.html_body, mail.html_body);
        assert_eq!(back.date, mail.date);
        assert_eq!(back.attachments.len(), 1);
        assert_eq!(back.attachments[0].bytes, b"x");
    }
}
