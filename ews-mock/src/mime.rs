//! Messages created from MIME (`t:MimeContent` in CreateItem), as Exchange stores them: the
//! headers and body of the MIME source become the item's properties (Subject, From, Sender,
//! To/Cc/Bcc, Reply-To, Message-ID, In-Reply-To, References, Date, Importance, body), unless
//! the request sets them itself; `PR_MESSAGE_FLAGS` (`0x0E07`) sets the read and draft state.
//! The stored MIME is answered only when a shape asks for it (`IncludeMimeContent`); a message
//! stored without MIME answers MIME built from its properties, as Exchange converts any message.

use chrono::{DateTime, Utc};
use ews_client::types::item::Importance;
use ews_client::types::{
    Body, BodyType, EmailAddress, ExtendedFieldUri, ExtendedValue, MapiPropertyType, Message,
    MimeContent,
};
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as BuilderAddress;
use mail_parser::{Address, HeaderValue, MessageParser, PartType};

use crate::store::EwsItem;

/// `MSGFLAG_READ`.
const MSGFLAG_READ: i64 = 0x1;
/// `MSGFLAG_UNSENT`: the message is a draft.
const MSGFLAG_UNSENT: i64 = 0x8;

fn addresses(a: Option<&Address<'_>>) -> Vec<EmailAddress> {
    a.into_iter()
        .flat_map(|a| a.iter())
        .filter_map(|addr| addr.address().map(|ad| EmailAddress::smtp(ad, addr.name())))
        .collect()
}

fn bracketed(id: &str) -> String {
    format!("<{}>", id.trim_start_matches('<').trim_end_matches('>'))
}

fn id_list(v: &HeaderValue<'_>) -> Option<String> {
    let ids: Vec<String> = match v {
        HeaderValue::Text(t) => vec![bracketed(t)],
        HeaderValue::TextList(l) => l.iter().map(|t| bracketed(t)).collect(),
        _ => Vec::new(),
    };
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// Fills a message's properties from its MIME content and `PR_MESSAGE_FLAGS`, keeping the
/// properties the request set explicitly. Other items and messages without MIME are unchanged.
pub(crate) fn promote(item: &mut EwsItem) {
    let EwsItem::Message(m) = item else {
        return;
    };
    let flags = m
        .common
        .extended_property(&ExtendedFieldUri::tagged(
            "0x0E07",
            MapiPropertyType::Integer,
        ))
        .and_then(|p| match &p.value {
            ExtendedValue::Single(v) => v.trim().parse::<i64>().ok(),
            _ => None,
        });
    if let Some(flags) = flags {
        m.is_read.get_or_insert(flags & MSGFLAG_READ != 0);
        m.common.is_draft.get_or_insert(flags & MSGFLAG_UNSENT != 0);
    }
    let Some(mime) = m.common.mime_content.take() else {
        return;
    };
    let parsed = MessageParser::default().parse(&mime.content);
    m.common.mime_content = Some(mime.clone());
    let Some(parsed) = parsed else {
        return;
    };
    let c = &mut m.common;
    if c.subject.is_none() {
        c.subject = parsed.subject().map(str::to_owned);
    }
    if c.date_time_sent.is_none() {
        c.date_time_sent = parsed
            .date()
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0));
    }
    if c.in_reply_to.is_none() {
        c.in_reply_to = id_list(parsed.in_reply_to());
    }
    if c.importance.is_none() {
        c.importance = match parsed
            .header("Importance")
            .and_then(|h| h.as_text())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("high") => Some(Importance::High),
            Some("low") => Some(Importance::Low),
            _ => Some(Importance::Normal),
        };
    }
    if c.body.is_none() {
        c.body = match parsed.html_part(0).map(|p| &p.body) {
            Some(PartType::Html(html)) => Some(Body::html(html.as_ref())),
            _ => parsed.body_text(0).map(|t| Body::text(t.as_ref())),
        };
    }
    if m.from.is_none() {
        m.from = addresses(parsed.from()).into_iter().next();
    }
    if m.sender.is_none() {
        m.sender = addresses(parsed.sender())
            .into_iter()
            .next()
            .or_else(|| m.from.clone());
    }
    if m.to_recipients.is_empty() {
        m.to_recipients = addresses(parsed.to());
    }
    if m.cc_recipients.is_empty() {
        m.cc_recipients = addresses(parsed.cc());
    }
    if m.bcc_recipients.is_empty() {
        m.bcc_recipients = addresses(parsed.bcc());
    }
    if m.reply_to.is_empty() {
        m.reply_to = addresses(parsed.reply_to());
    }
    if m.internet_message_id.is_none() {
        m.internet_message_id = parsed.message_id().map(bracketed);
    }
    if m.references.is_none() {
        m.references = id_list(parsed.references());
    }
    if m.conversation_topic.is_none() {
        m.conversation_topic = m.common.subject.clone();
    }
}

fn builder_address(a: &EmailAddress) -> Option<BuilderAddress<'static>> {
    a.email_address
        .clone()
        .map(|e| BuilderAddress::new_address(a.name.clone(), e))
}

fn builder_list(list: &[EmailAddress]) -> BuilderAddress<'static> {
    BuilderAddress::new_list(list.iter().filter_map(builder_address).collect())
}

/// The MIME source of a message stored without one, built from its properties (headers from
/// Subject, From, To, Cc, Reply-To, Message-ID, In-Reply-To, References, DateTimeSent; the
/// body as text/plain or text/html).
pub(crate) fn render(m: &Message) -> Option<MimeContent> {
    let c = &m.common;
    let mut b = MessageBuilder::new().subject(c.subject.clone().unwrap_or_default());
    if let Some(from) = m
        .from
        .as_ref()
        .or(m.sender.as_ref())
        .and_then(builder_address)
    {
        b = b.from(from);
    }
    if !m.to_recipients.is_empty() {
        b = b.to(builder_list(&m.to_recipients));
    }
    if !m.cc_recipients.is_empty() {
        b = b.cc(builder_list(&m.cc_recipients));
    }
    if !m.reply_to.is_empty() {
        b = b.reply_to(builder_list(&m.reply_to));
    }
    let unbracket = |id: &str| {
        id.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned()
    };
    if let Some(id) = &m.internet_message_id {
        b = b.message_id(unbracket(id));
    }
    if let Some(id) = &c.in_reply_to {
        b = b.in_reply_to(unbracket(id));
    }
    if let Some(refs) = &m.references {
        b = b.references(refs.split_whitespace().map(unbracket).collect::<Vec<_>>());
    }
    if let Some(date) = c
        .date_time_sent
        .or(c.date_time_received)
        .or(c.date_time_created)
    {
        b = b.date(date.timestamp());
    }
    b = match &c.body {
        Some(body) if body.body_type == BodyType::Html => b.html_body(body.content.clone()),
        Some(body) => b.text_body(body.content.clone()),
        None => b.text_body(String::new()),
    };
    for a in &c.attachments {
        if let ews_client::types::Attachment::File(f) = a
            && let Some(content) = &f.content
        {
            b = b.attachment(
                f.common
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                f.common.name.clone().unwrap_or_default(),
                content.clone(),
            );
        }
    }
    b.write_to_vec().ok().map(|content| MimeContent {
        character_set: Some("UTF-8".to_owned()),
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ews_client::types::ExtendedProperty;

    #[test]
    fn a_message_without_mime_renders_mime_that_parses_back() {
        let mut m = Message::default();
        m.common.subject = Some("Grüße aus Köln".to_owned());
        m.common.body = Some(Body::html("<p>Hallo</p>"));
        m.from = Some(EmailAddress::smtp("ben@contoso.test", Some("Ben Kraus")));
        m.to_recipients = vec![EmailAddress::smtp("anna@contoso.test", None)];
        m.internet_message_id = Some("<w1@contoso.test>".to_owned());
        let mime = render(&m).unwrap();
        let mut back = Message::default();
        back.common.mime_content = Some(mime);
        let mut item = EwsItem::Message(back);
        promote(&mut item);
        let EwsItem::Message(back) = item else {
            panic!("message")
        };
        assert_eq!(back.common.subject, m.common.subject);
        assert_eq!(back.from, m.from);
        assert_eq!(back.to_recipients, m.to_recipients);
        assert_eq!(back.internet_message_id, m.internet_message_id);
        let body = back.common.body.unwrap();
        assert_eq!(body.body_type, BodyType::Html);
        assert!(body.content.contains("<p>Hallo</p>"), "{body:?}");
    }

    const MIME: &str = "From: Ben Kraus <ben@contoso.test>\r\n\
        To: Anna Berg <anna@contoso.test>, carla@example.org\r\n\
        Cc: dieter@example.org\r\n\
        Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\
        Message-ID: <m1@contoso.test>\r\n\
        In-Reply-To: <m0@contoso.test>\r\n\
        Date: Fri, 27 Nov 2026 10:00:00 +0100\r\n\
        Importance: high\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        \r\n\
        Hallo Anna\r\n";

    fn from_mime(mime: &str, flags: Option<&str>, subject: Option<&str>) -> Message {
        let mut m = Message::default();
        m.common.mime_content = Some(MimeContent::new(mime.as_bytes()));
        m.common.subject = subject.map(str::to_owned);
        if let Some(f) = flags {
            m.common.set_extended_property(ExtendedProperty {
                uri: ExtendedFieldUri::tagged("0x0E07", MapiPropertyType::Integer),
                value: ExtendedValue::Single(f.to_owned()),
            });
        }
        let mut item = EwsItem::Message(m);
        promote(&mut item);
        match item {
            EwsItem::Message(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mime_headers_and_body_become_properties() {
        let m = from_mime(MIME, None, None);
        assert_eq!(m.common.subject.as_deref(), Some("Grüße"));
        assert_eq!(m.internet_message_id.as_deref(), Some("<m1@contoso.test>"));
        assert_eq!(m.common.in_reply_to.as_deref(), Some("<m0@contoso.test>"));
        assert_eq!(
            m.from,
            Some(EmailAddress::smtp("ben@contoso.test", Some("Ben Kraus")))
        );
        assert_eq!(m.sender, m.from);
        let to: Vec<_> = m
            .to_recipients
            .iter()
            .filter_map(|a| a.email_address.as_deref())
            .collect();
        assert_eq!(to, ["anna@contoso.test", "carla@example.org"]);
        assert_eq!(m.cc_recipients.len(), 1);
        assert_eq!(
            m.common.date_time_sent.map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-11-27T09:00:00+00:00")
        );
        assert_eq!(m.common.importance, Some(Importance::High));
        assert_eq!(m.common.body, Some(Body::text("Hallo Anna\r\n")));
        assert_eq!(m.is_read, None);
    }

    #[test]
    fn explicit_properties_win_and_message_flags_set_read_and_draft() {
        let m = from_mime(MIME, Some("1"), Some("Explicit"));
        assert_eq!(m.common.subject.as_deref(), Some("Explicit"));
        assert_eq!(m.is_read, Some(true));
        assert_eq!(m.common.is_draft, Some(false));
        let m = from_mime(MIME, Some("8"), None);
        assert_eq!(m.is_read, Some(false));
        assert_eq!(m.common.is_draft, Some(true));
    }

    #[test]
    fn unparsable_mime_changes_nothing_but_flags() {
        let m = from_mime("", Some("0"), None);
        assert_eq!(m.common.subject, None);
        assert_eq!(m.is_read, Some(false));
    }
}
