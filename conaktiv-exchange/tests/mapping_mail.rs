#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Mail: EWS `Message` -> ConAktiv `Mail` (data-driven from `tests/data/mapping/
//! message_ews.xml` and `message_ews.json`) and `Mail` -> `Message` -> `Mail`.

mod common;

use common::{data, read_item, through_xml};
use conaktiv_exchange::mapping::key;
use conaktiv_exchange::mapping::mail::{
    attachments_to_fetch, client_submit_time_uri, mail_to_message, message_flags_uri,
    message_to_mail,
};
use conaktiv_model::Mail;
use conaktiv_model::mail::{Attachment, Direction, Header, Mailbox};
use ews_client::types::{BodyType, Item, Message};

fn ews_message() -> Message {
    match read_item(&data("message_ews.xml")) {
        Item::Message(m) => m,
        other => panic!("not a message: {other:?}"),
    }
}

#[test]
fn exchange_message_to_crm_mail() {
    let m = ews_message();
    let expected: Mail = serde_json::from_str(&data("message_ews.json")).unwrap();
    let mail = message_to_mail(&m, Direction::Incoming);
    assert_eq!(mail, expected);
    // The attachment listed without content is named for GetAttachment.
    let ids: Vec<String> = attachments_to_fetch(&m).into_iter().map(|a| a.id).collect();
    assert_eq!(ids, vec!["att-3".to_owned()]);
}

fn crm_mail() -> Mail {
    Mail {
        id: Some("M-9".into()),
        message_id: "<out.1@agentur.example>".into(),
        from: Some(Mailbox::new("Max Muster", "max@agentur.example")),
        to: vec![
            Mailbox::new("Anna Schmidt", "a.schmidt@kunde.example"),
            Mailbox::new("", "einkauf@kunde.example"),
        ],
        cc: vec![Mailbox::new("Vertrieb", "vertrieb@agentur.example")],
        bcc: vec![Mailbox::new("", "archiv@agentur.example")],
        reply_to: vec![Mailbox::new("", "angebote@agentur.example")],
        subject: "Ihr Angebot".into(),
        date: Some("2025-03-11T14:15:16Z".parse().unwrap()),
        text_body: Some("Guten Tag,\nanbei das Angebot.".into()),
        html_body: None,
        attachments: vec![Attachment {
            name: "Angebot.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.7 \x00\x01\xff".to_vec(),
        }],
        raw_headers: vec![Header {
            name: "X-Mailer".into(),
            value: "ConAktiv".into(),
        }],
        direction: Direction::Outgoing,
        links: Default::default(),
    }
}

#[test]
fn crm_mail_to_message_and_back() {
    let mail = crm_mail();
    let m = mail_to_message(&mail);
    assert_eq!(
        m.internet_message_id.as_deref(),
        Some("<out.1@agentur.example>")
    );
    assert_eq!(m.common.item_class.as_deref(), Some("IPM.Note"));
    assert_eq!(key::record_id(&Item::Message(m.clone())), Some("M-9"));
    let flags = m.common.extended_property(&message_flags_uri()).unwrap();
    assert_eq!(
        flags.as_single(),
        Some("1"),
        "saved as read, not as a draft"
    );
    let sent = m
        .common
        .extended_property(&client_submit_time_uri())
        .unwrap();
    assert_eq!(sent.as_single(), Some("2025-03-11T14:15:16Z"));
    assert_eq!(
        m.common.date_time_sent, None,
        "read-only fields are not written"
    );

    let back = message_to_mail(&through_xml(&m, "Message"), Direction::Outgoing);
    // Everything but the raw headers (read-only in EWS) survives.
    let expected = Mail {
        message_id: "out.1@agentur.example".into(),
        raw_headers: Vec::new(),
        ..mail
    };
    assert_eq!(back, expected);
}

#[test]
fn html_body_wins_when_both_exist() {
    let mut mail = crm_mail();
    mail.html_body = Some("<p>Guten Tag</p>".into());
    let m = mail_to_message(&mail);
    let body = m.common.body.as_ref().unwrap();
    assert_eq!(body.body_type, BodyType::Html);
    let back = message_to_mail(&m, Direction::Outgoing);
    assert_eq!(back.html_body.as_deref(), Some("<p>Guten Tag</p>"));
    assert_eq!(
        back.text_body, None,
        "lossy: the text alternative is not kept"
    );
}

#[test]
fn empty_message_gives_an_empty_mail() {
    let mail = message_to_mail(&Message::default(), Direction::Incoming);
    assert_eq!(mail, Mail::default());
    let m = mail_to_message(&Mail::default());
    assert_eq!(m.internet_message_id, None);
    assert!(m.to_recipients.is_empty());
}
