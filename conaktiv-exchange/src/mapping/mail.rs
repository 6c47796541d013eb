//! Mail: EWS [`Message`] to ConAktiv [`Mail`] (filing incoming or sent mail) and [`Mail`]
//! to [`Message`] (writing a CRM mail into an Exchange folder with `CreateItem`,
//! `MessageDisposition=SaveOnly`).
//!
//! | ConAktiv `Mail` | EWS `Message` |
//! |---|---|
//! | `message_id` (no angle brackets) | `InternetMessageId` (`<id>`) |
//! | `from` | `From` (else `Sender`) |
//! | `to`, `cc`, `bcc`, `reply_to` | `ToRecipients`, `CcRecipients`, `BccRecipients`, `ReplyTo` |
//! | `subject` | `Subject` |
//! | `date` | `DateTimeSent` (else `ClientSubmitTime` property, else `DateTimeReceived`); written as the `PidTagClientSubmitTime` and `PidTagMessageDeliveryTime` properties |
//! | `html_body` / `text_body` | `Body` (HTML when the mail has an HTML body, else text) |
//! | `attachments` | `FileAttachment`s; an `ItemAttachment` with MIME content becomes a `message/rfc822` attachment |
//! | `raw_headers` | `InternetMessageHeaders` (read only: not written) |
//! | `id` | the correlation key property ([`super::key`]) |
//! | `direction`, `links` | CRM-only: a parameter, and left alone |
//!
//! A written message gets `PidTagMessageFlags` = read (not a draft). Lossy cases: a mail
//! with both bodies keeps only the HTML body in Exchange; raw headers are not written.
//! Attachments listed without content (item listings) must be fetched with
//! `GetAttachment` first: [`attachments_to_fetch`] names them.

use chrono::{DateTime, Utc};
use conaktiv_model::Mail;
use conaktiv_model::mail::{Attachment, Direction, Header, Mailbox};
use ews_client::types::attachment::AttachmentId;
use ews_client::types::body::InternetHeader;
use ews_client::types::{
    Attachment as EwsAttachment, Body, BodyType, EmailAddress, ExtendedFieldUri, ExtendedProperty,
    FileAttachment, MapiPropertyType, Message, PropertyPath,
};

use super::key;

/// `PidTagClientSubmitTime` (when the mail was sent).
pub fn client_submit_time_uri() -> ExtendedFieldUri {
    ExtendedFieldUri::tagged("0x0039", MapiPropertyType::SystemTime)
}

/// `PidTagMessageDeliveryTime` (when the mail was received).
pub fn delivery_time_uri() -> ExtendedFieldUri {
    ExtendedFieldUri::tagged("0x0E06", MapiPropertyType::SystemTime)
}

/// `PidTagMessageFlags`.
pub fn message_flags_uri() -> ExtendedFieldUri {
    ExtendedFieldUri::tagged("0x0E07", MapiPropertyType::Integer)
}

/// The extended properties to request with messages (`AdditionalProperties` of the item
/// shape, besides `AllProperties`): the correlation key and the send and delivery times, so
/// that [`message_to_mail`] finds the date also where the server does not derive
/// `DateTimeSent` from them.
pub fn additional_properties() -> Vec<PropertyPath> {
    vec![
        key::record_id_path(),
        PropertyPath::Extended(client_submit_time_uri()),
        PropertyPath::Extended(delivery_time_uri()),
    ]
}

fn mailbox(a: &EmailAddress) -> Option<Mailbox> {
    let address = a.email_address.as_deref()?.trim();
    if address.is_empty() {
        return None;
    }
    Some(Mailbox::new(
        a.name.as_deref().unwrap_or("").trim(),
        address,
    ))
}

fn mailboxes(list: &[EmailAddress]) -> Vec<Mailbox> {
    list.iter().filter_map(mailbox).collect()
}

fn ews_address(m: &Mailbox) -> EmailAddress {
    let name = (!m.name.trim().is_empty()).then_some(m.name.trim());
    EmailAddress::smtp(m.address.trim(), name)
}

fn time_property(m: &Message, uri: &ExtendedFieldUri) -> Option<DateTime<Utc>> {
    let v = m.common.extended_property(uri)?.as_single()?;
    DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Converts an Exchange message to a ConAktiv mail. `direction` says whether ConAktiv
/// received or sent it; the links stay empty (the filing rules set them), and the id is
/// the correlation key when the message carries one.
pub fn message_to_mail(m: &Message, direction: Direction) -> Mail {
    let (text_body, html_body) = match &m.common.body {
        Some(b) if b.body_type == BodyType::Html => (None, Some(b.content.clone())),
        Some(b) => (Some(b.content.clone()), None),
        None => (None, None),
    };
    let attachments = m
        .common
        .attachments
        .iter()
        .filter_map(|a| match a {
            EwsAttachment::File(f) => Some(Attachment {
                name: f.common.name.clone().unwrap_or_default(),
                content_type: f
                    .common
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                bytes: f.content.clone()?,
            }),
            EwsAttachment::Item(i) => {
                let mime = i.item.as_ref()?.common().mime_content.as_ref()?;
                let name = i
                    .common
                    .name
                    .clone()
                    .unwrap_or_else(|| "message".to_owned());
                Some(Attachment {
                    name: if name.to_ascii_lowercase().ends_with(".eml") {
                        name
                    } else {
                        format!("{name}.eml")
                    },
                    content_type: "message/rfc822".to_owned(),
                    bytes: mime.content.clone(),
                })
            }
        })
        .collect();
    Mail {
        id: key::record_id_of(&m.common).map(Into::into),
        message_id: m
            .internet_message_id
            .as_deref()
            .map(Mail::normalize_message_id)
            .unwrap_or_default(),
        from: m.from.as_ref().or(m.sender.as_ref()).and_then(mailbox),
        to: mailboxes(&m.to_recipients),
        cc: mailboxes(&m.cc_recipients),
        bcc: mailboxes(&m.bcc_recipients),
        reply_to: mailboxes(&m.reply_to),
        subject: m.common.subject.clone().unwrap_or_default(),
        date: m
            .common
            .date_time_sent
            .or_else(|| time_property(m, &client_submit_time_uri()))
            .or(m.common.date_time_received),
        text_body,
        html_body,
        attachments,
        raw_headers: m
            .common
            .internet_message_headers
            .iter()
            .map(|h| Header {
                name: h.name.clone(),
                value: h.value.clone(),
            })
            .collect(),
        direction,
        links: Default::default(),
    }
}

/// The attachments of a message that were listed without their content (fetch them with
/// `GetAttachment` before [`message_to_mail`], which skips them).
pub fn attachments_to_fetch(m: &Message) -> Vec<AttachmentId> {
    m.common
        .attachments
        .iter()
        .filter(|a| match a {
            EwsAttachment::File(f) => f.content.is_none(),
            EwsAttachment::Item(i) => i.item.is_none(),
        })
        .filter_map(|a| a.common().attachment_id.clone())
        .collect()
}

/// Converts a ConAktiv mail to an Exchange message for `CreateItem` into a folder: the
/// writable fields, the dates and flags as extended properties, the record id as the
/// correlation key. Read-only fields (`DateTimeSent`, headers) are not set.
pub fn mail_to_message(mail: &Mail) -> Message {
    let mut m = Message::default();
    m.common.item_class = Some("IPM.Note".to_owned());
    m.common.subject = Some(mail.subject.clone());
    m.common.body = match (&mail.html_body, &mail.text_body) {
        (Some(h), _) => Some(Body::html(h.clone())),
        (None, Some(t)) => Some(Body::text(t.clone())),
        (None, None) => None,
    };
    m.common.attachments = mail
        .attachments
        .iter()
        .map(|a| {
            EwsAttachment::File(FileAttachment::new(
                a.name.clone(),
                a.content_type.clone(),
                a.bytes.clone(),
            ))
        })
        .collect();
    if let Some(date) = mail.date {
        let text = super::canon::instant(date);
        for uri in [client_submit_time_uri(), delivery_time_uri()] {
            m.common
                .set_extended_property(ExtendedProperty::string(uri, text.clone()));
        }
    }
    m.common
        .set_extended_property(ExtendedProperty::string(message_flags_uri(), "1"));
    if let Some(id) = &mail.id {
        key::set_record_id_on(&mut m.common, id.as_str());
    }
    m.from = mail.from.as_ref().map(ews_address);
    m.to_recipients = mail.to.iter().map(ews_address).collect();
    m.cc_recipients = mail.cc.iter().map(ews_address).collect();
    m.bcc_recipients = mail.bcc.iter().map(ews_address).collect();
    m.reply_to = mail.reply_to.iter().map(ews_address).collect();
    let id = Mail::normalize_message_id(&mail.message_id);
    m.internet_message_id = (!id.is_empty()).then(|| format!("<{id}>"));
    m.is_read = Some(true);
    m
}

/// The raw headers of a mail as EWS internet headers (for comparison and for servers
/// that return them).
pub fn headers_to_ews(mail: &Mail) -> Vec<InternetHeader> {
    mail.raw_headers
        .iter()
        .map(|h| InternetHeader {
            name: h.name.clone(),
            value: h.value.clone(),
        })
        .collect()
}
