//! Conversions from conaktiv-model's mail account records and to its Mail, used end to end.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::{MemorySink, servers, unique, wait_for};
use conaktiv_model::config::account as m;
use conaktiv_model::ids::UserName;
use conaktiv_model::mail as mm;
use conaktiv_model::values::{EmailAddress, IntervalMinutes, Port};
use mail_transport::model::account_settings;
use mail_transport::{
    AfterReceive, AuthMechanism, LinkContext, LinkHook, MailError, MailLinks, MailReceiver,
    MailSender, OutgoingMail, SqliteCheckpoints, TlsMode, TransferEncoding,
};

fn record(host: &str, imap_port: u16, smtp_port: u16, user: &str) -> m::MailAccount {
    m::MailAccount {
        short_code: format!("MM-{user}"),
        user: UserName::new(user),
        account_name: "Test".into(),
        email: EmailAddress::new(format!("{user}@example.test")).unwrap(),
        reply_to: None,
        default_for_sending: true,
        usage: m::MailUsage::Both,
        server_kind: m::MailServerKind::ImapSmtp,
        imap: Some(m::ImapSettings {
            host: host.into(),
            port: Port::new(imap_port).unwrap(),
            tls: m::TlsMode::Implicit,
            user: format!("{user}@example.test"),
            password: Some(format!("{user}-password").into()),
            oauth: None,
        }),
        smtp: Some(m::SmtpSettings {
            host: host.into(),
            port: Port::new(smtp_port).unwrap(),
            tls: m::TlsMode::StartTls,
            auth: m::AuthMechanism::Login,
            user: Some(format!("{user}@example.test")),
            password: Some(format!("{user}-password").into()),
            oauth: None,
            transfer_encoding: m::TransferEncoding::Base64,
            throttle: Some(m::Throttle {
                after_mails: 10,
                delay_minutes: IntervalMinutes::new(5).unwrap(),
            }),
            timeout_seconds: 20,
        }),
        receiving: m::ReceiveOptions {
            keep_copy_on_server: false,
            receive_automatically_on_server: false,
        },
        exchange: None,
        trusted_ca_file: None,
    }
}

#[test]
fn account_records_convert_to_validated_settings() {
    let acct = account_settings(&record("mail.example.test", 993, 587, "heidi"), None).unwrap();
    assert_eq!(acct.account_id, "MM-heidi");
    assert_eq!(acct.address, "heidi@example.test");
    assert!(acct.save_sent_copy);
    let imap = acct.imap.as_ref().unwrap();
    assert_eq!(imap.server.tls(), TlsMode::Implicit);
    assert_eq!(imap.server.auth(), AuthMechanism::Login);
    assert_eq!(imap.after_receive, AfterReceive::Delete);
    let smtp = acct.smtp.as_ref().unwrap();
    assert_eq!(smtp.server.tls(), TlsMode::StartTls);
    assert_eq!(smtp.transfer_encoding, TransferEncoding::Base64);
    assert_eq!(smtp.throttle.unwrap().after_mails(), 10);
    assert_eq!(smtp.throttle.unwrap().delay(), Duration::from_secs(300));
    assert_eq!(smtp.server.command_timeout(), Duration::from_secs(20));
    assert!(!format!("{acct:?}").contains("heidi-password"));

    // XOAUTH2 needs a token; Exchange accounts are not IMAP/SMTP
    let mut r = record("h", 993, 587, "heidi");
    r.smtp.as_mut().unwrap().auth = m::AuthMechanism::XOAuth2;
    assert!(matches!(
        account_settings(&r, None),
        Err(MailError::Config(_))
    ));
    let acct = account_settings(&r, Some("tok")).unwrap();
    assert_eq!(
        acct.smtp.unwrap().server.credentials().secret.expose(),
        "tok"
    );
    let mut r = record("h", 993, 587, "heidi");
    r.server_kind = m::MailServerKind::Exchange;
    assert!(matches!(
        account_settings(&r, None),
        Err(MailError::Config(_))
    ));
    let mut r = record("h", 993, 587, "heidi");
    r.imap = None;
    assert!(
        account_settings(&r, None).is_err(),
        "receives without IMAP settings"
    );
    r.usage = m::MailUsage::Send;
    let acct = account_settings(&r, None).unwrap();
    assert!(acct.imap.is_none() && !acct.save_sent_copy);
    let mut r = record("h", 993, 587, "heidi");
    r.receiving.keep_copy_on_server = true;
    assert_eq!(
        account_settings(&r, None)
            .unwrap()
            .imap
            .unwrap()
            .after_receive,
        AfterReceive::KeepCopy
    );
}

struct ByTag;

#[async_trait]
impl LinkHook for ByTag {
    async fn links(&self, c: &LinkContext) -> MailLinks {
        MailLinks {
            invoice: c
                .subject
                .as_deref()
                .filter(|s| s.contains("RE-2026-7"))
                .map(|_| "RE-2026-7".into()),
            ..MailLinks::default()
        }
    }
}

#[tokio::test]
async fn a_model_mail_is_sent_saved_received_and_converted_back() {
    let Some(sv) = servers() else { return };
    let mut acct =
        account_settings(&record(&sv.host, sv.imaps, sv.submission, "heidi"), None).unwrap();
    // loopback test servers: trust the test CA, check the name `localhost`
    for server in [
        &mut acct.imap.as_mut().unwrap().server,
        &mut acct.smtp.as_mut().unwrap().server,
    ] {
        *server = server
            .clone()
            .with_tls_server_name("localhost")
            .with_root_ca_pem(sv.ca_pem.clone())
            .unwrap();
    }
    let subject = format!("Rechnung RE-2026-7 {}", unique("model"));
    let mail = mm::Mail {
        from: Some(mm::Mailbox::new("Heidi", "heidi@example.test")),
        to: vec![mm::Mailbox::new("", "heidi@example.test")],
        subject: subject.clone(),
        text_body: Some("Anbei die Rechnung.".into()),
        attachments: vec![mm::Attachment {
            name: "RE-2026-7.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF".to_vec(),
        }],
        direction: mm::Direction::Outgoing,
        ..mm::Mail::default()
    };
    let receipt = acct
        .smtp_sender()
        .unwrap()
        .send(&OutgoingMail::from(&mail))
        .await
        .unwrap();
    assert_eq!(receipt.stored_copy.unwrap().folder, "Sent");
    wait_for(&sv, "heidi", "INBOX", &receipt.message_id).await;

    let dir = tempfile::tempdir().unwrap();
    let receiver = acct
        .imap_receiver(Arc::new(
            SqliteCheckpoints::open(dir.path().join("s.sqlite")).unwrap(),
        ))
        .unwrap();
    let sink = MemorySink::default();
    receiver.receive(&sink, &ByTag).await.unwrap();
    let got = sink
        .mails
        .lock()
        .unwrap()
        .iter()
        .find(|m| m.message_id == receipt.message_id)
        .cloned()
        .unwrap();
    let model: mm::Mail = got.into();
    assert_eq!(model.subject, subject);
    assert_eq!(model.direction, mm::Direction::Incoming);
    assert_eq!(
        model.from,
        Some(mm::Mailbox::new("Heidi", "heidi@example.test"))
    );
    assert_eq!(model.attachments[0].name, "RE-2026-7.pdf");
    assert_eq!(model.attachments[0].bytes, b"%PDF");
    assert_eq!(
        model.links.invoice.as_ref().map(|i| i.as_str()),
        Some("RE-2026-7")
    );
    assert!(
        model
            .raw_headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("Message-ID"))
    );
    // the account deletes after receiving (keep_copy_on_server = false)
    let mut session = sv.session("heidi").await;
    session.select("INBOX").await.unwrap();
    let left = session
        .uid_search(format!("HEADER Message-ID \"{}\"", receipt.message_id))
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[test]
fn trusted_ca_file_is_trusted_for_imap_and_smtp() {
    let dir = tempfile::tempdir().unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["ca.example.test".to_owned()]).unwrap();
    let pem_path = dir.path().join("ca.pem");
    std::fs::write(&pem_path, ca.cert.pem()).unwrap();
    let mut r = record("mail.example.test", 993, 587, "heidi");
    r.trusted_ca_file = Some(pem_path.clone());
    let acct = account_settings(&r, None).unwrap();
    let imap = acct.imap.unwrap();
    let smtp = acct.smtp.unwrap();
    assert_eq!(imap.server.extra_root_pem(), Some(ca.cert.pem().as_bytes()));
    assert_eq!(smtp.server.extra_root_pem(), Some(ca.cert.pem().as_bytes()));

    // A missing file names the account and the setting.
    r.trusted_ca_file = Some(dir.path().join("missing.pem"));
    let err = account_settings(&r, None).unwrap_err().to_string();
    assert!(err.contains("trusted_ca_file"), "{err}");
    assert!(err.contains("MM-heidi"), "{err}");
    // A file without certificates too.
    std::fs::write(&pem_path, "no certificate here").unwrap();
    r.trusted_ca_file = Some(pem_path);
    let err = account_settings(&r, None).unwrap_err().to_string();
    assert!(err.contains("trusted_ca_file"), "{err}");
}
