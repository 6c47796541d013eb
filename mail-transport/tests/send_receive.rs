//! Sending over SMTP in every TLS and auth mode and reading the message back over IMAP,
//! against the real Postfix and Dovecot.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use common::{addr, servers, unique, wait_for};
use mail_transport::{
    AccountSettings, Attachment, AuthMechanism, ImapSettings, MailSender, Mailbox, OutgoingMail,
    ReceivedMail, SmtpSender, SmtpSettings, TlsMode, TransferEncoding,
};

fn mail(from: &str, to: &str, subject: &str) -> OutgoingMail {
    OutgoingMail {
        from: Mailbox::named("Sender Name", addr(from)),
        to: vec![Mailbox::named("Bob Bäcker", addr(to))],
        subject: subject.to_string(),
        text: Some(format!("Grüße aus dem Test {subject}\nZeile zwei")),
        html: Some(format!("<p>Grüße aus dem Test <b>{subject}</b></p>")),
        ..OutgoingMail::default()
    }
}

#[tokio::test]
async fn smtp_every_tls_and_auth_mode_then_read_back_over_imap() {
    let Some(sv) = servers() else { return };
    // (smtp port, smtp tls, smtp auth, imap port, imap tls, imap auth)
    let cases = [
        (
            sv.smtp,
            TlsMode::None,
            AuthMechanism::Plain,
            sv.imap,
            TlsMode::None,
            AuthMechanism::Login,
        ),
        (
            sv.smtp,
            TlsMode::None,
            AuthMechanism::Login,
            sv.imap,
            TlsMode::StartTls,
            AuthMechanism::Plain,
        ),
        (
            sv.smtp,
            TlsMode::StartTls,
            AuthMechanism::XOAuth2,
            sv.imaps,
            TlsMode::Implicit,
            AuthMechanism::XOAuth2,
        ),
        (
            sv.submission,
            TlsMode::StartTls,
            AuthMechanism::Plain,
            sv.imaps,
            TlsMode::Implicit,
            AuthMechanism::Login,
        ),
        (
            sv.submission,
            TlsMode::StartTls,
            AuthMechanism::Login,
            sv.imap,
            TlsMode::StartTls,
            AuthMechanism::XOAuth2,
        ),
        (
            sv.submission,
            TlsMode::StartTls,
            AuthMechanism::XOAuth2,
            sv.imaps,
            TlsMode::Implicit,
            AuthMechanism::Plain,
        ),
        (
            sv.smtps,
            TlsMode::Implicit,
            AuthMechanism::Plain,
            sv.imap,
            TlsMode::StartTls,
            AuthMechanism::Login,
        ),
        (
            sv.smtps,
            TlsMode::Implicit,
            AuthMechanism::Login,
            sv.imaps,
            TlsMode::Implicit,
            AuthMechanism::Plain,
        ),
        (
            sv.smtps,
            TlsMode::Implicit,
            AuthMechanism::XOAuth2,
            sv.imap,
            TlsMode::None,
            AuthMechanism::XOAuth2,
        ),
    ];
    let mut tasks = Vec::new();
    for (i, (sp, st, sa, ip, it, ia)) in cases.into_iter().enumerate() {
        let sv = sv.clone();
        tasks.push(tokio::spawn(async move {
            let smtp = SmtpSettings::new(sv.server(sp, st, sa, "alice"));
            let sender = SmtpSender::new(smtp, None).unwrap();
            let subject = unique(&format!("matrix-{i}"));
            let receipt = sender
                .send(&mail("alice", "bob", &subject))
                .await
                .unwrap_or_else(|e| {
                    panic!("case {i} ({sp} {st:?} {sa:?}) failed: {e}");
                });
            assert!(receipt.server_response.starts_with("250"), "{receipt:?}");
            assert_eq!(receipt.stored_copy, None);
            // read back with the IMAP mode of this case
            let imap = ImapSettings::new(sv.server(ip, it, ia, "bob"));
            let mut session = mail_transport::imap::connect(&imap.server)
                .await
                .unwrap_or_else(|e| {
                    panic!("imap case {i} ({ip} {it:?} {ia:?}) failed: {e}");
                });
            session.logout().await.unwrap();
            let raw = wait_for(&sv, "bob", "INBOX", &receipt.message_id).await;
            let got = ReceivedMail::parse(raw);
            assert_eq!(got.subject.as_deref(), Some(subject.as_str()));
            assert_eq!(got.message_id, receipt.message_id);
            assert_eq!(got.from, Some(Mailbox::named("Sender Name", addr("alice"))));
            assert_eq!(got.to, vec![Mailbox::named("Bob Bäcker", addr("bob"))]);
            assert!(got.text.unwrap().contains("Grüße aus dem Test"));
            assert!(got.html.unwrap().contains("<b>"));
            assert!(got.problems.is_empty(), "{:?}", got.problems);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn sent_copy_lands_in_the_special_use_sent_folder() {
    let Some(sv) = servers() else { return };
    let sender = SmtpSender::new(sv.smtp("carol"), Some(sv.imap("carol"))).unwrap();
    let subject = unique("sent-copy");
    let mut m = mail("carol", "bob", &subject);
    m.bcc = vec![Mailbox::new(addr("dave"))];
    m.attachments = vec![Attachment {
        file_name: "Angebot 2026.pdf".into(),
        content_type: "application/pdf".into(),
        data: b"%PDF-1.4 fake".to_vec(),
    }];
    let receipt = sender.send(&m).await.unwrap();
    let copy = receipt.stored_copy.clone().expect("a stored copy");
    assert_eq!(copy.folder, "Sent");
    assert_eq!(receipt.copy_error, None);
    // the copy is the message, findable by its id
    let raw = wait_for(&sv, "carol", "Sent", &receipt.message_id).await;
    let got = ReceivedMail::parse(raw);
    assert_eq!(got.subject.as_deref(), Some(subject.as_str()));
    assert_eq!(got.attachments.len(), 1);
    assert_eq!(
        got.attachments[0].file_name.as_deref(),
        Some("Angebot 2026.pdf")
    );
    assert_eq!(got.attachments[0].data, b"%PDF-1.4 fake");
    // Bcc went to dave through the envelope but is not in the headers
    let dave = ReceivedMail::parse(wait_for(&sv, "dave", "INBOX", &receipt.message_id).await);
    assert!(dave.bcc.is_empty());
    assert!(dave.header("Bcc").is_none());
    // the copy's id names folder, UIDVALIDITY and UID
    let uid: u32 = copy.id.rsplit('/').next().unwrap().parse().unwrap();
    let mut session = sv.session("carol").await;
    session.select("Sent").await.unwrap();
    let uids = session
        .uid_search(format!("HEADER Message-ID \"{}\"", receipt.message_id))
        .await
        .unwrap();
    assert!(uids.contains(&uid));
}

#[tokio::test]
async fn sent_copy_falls_back_to_the_folder_name_and_reports_a_missing_one() {
    let Some(sv) = servers() else { return };
    // No folder with that name and Dovecot's Sent has \Sent: SPECIAL-USE wins over the name.
    let mut imap = sv.imap("carol");
    imap.sent_folder_name = "Does-Not-Exist".into();
    let sender = SmtpSender::new(sv.smtp("carol"), Some(imap)).unwrap();
    let receipt = sender
        .send(&mail("carol", "bob", &unique("fallback")))
        .await
        .unwrap();
    assert_eq!(receipt.stored_copy.unwrap().folder, "Sent");
    assert_eq!(
        mail_transport::imap::find_sent_folder(
            &[mail_transport::FolderInfo {
                name: "Gesendete Objekte".into(),
                attributes: vec![]
            }],
            "gesendete objekte"
        ),
        Some("Gesendete Objekte".into())
    );
    assert_eq!(mail_transport::imap::find_sent_folder(&[], "Sent"), None);
}

#[tokio::test]
async fn transfer_encodings_survive_the_round_trip() {
    let Some(sv) = servers() else { return };
    for (enc, header) in [
        (TransferEncoding::QuotedPrintable, "quoted-printable"),
        (TransferEncoding::Base64, "base64"),
        (TransferEncoding::EightBit, "8bit"),
    ] {
        let mut smtp = sv.smtp("alice");
        smtp.transfer_encoding = enc;
        let sender = SmtpSender::new(smtp, None).unwrap();
        let subject = unique("encoding");
        let receipt = sender.send(&mail("alice", "bob", &subject)).await.unwrap();
        let raw = wait_for(&sv, "bob", "INBOX", &receipt.message_id).await;
        let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
        assert!(
            text.contains(&format!("content-transfer-encoding: {header}")),
            "{enc:?}: {text}"
        );
        let got = ReceivedMail::parse(raw);
        assert!(
            got.text
                .unwrap()
                .replace("\r\n", "\n")
                .contains(&format!("Grüße aus dem Test {subject}\nZeile zwei"))
        );
    }
}

#[tokio::test]
async fn smtp_errors_are_typed() {
    let Some(sv) = servers() else { return };
    // wrong password
    let mut s = sv.server(
        sv.submission,
        TlsMode::StartTls,
        AuthMechanism::Plain,
        "alice",
    );
    s = mail_transport::ServerSettings::new(
        s.host(),
        s.port(),
        s.tls(),
        s.auth(),
        mail_transport::Credentials::new(addr("alice"), "wrong-password"),
    )
    .unwrap()
    .with_tls_server_name("localhost")
    .with_root_ca_pem(sv.ca_pem.clone())
    .unwrap();
    let err = SmtpSender::new(SmtpSettings::new(s), None)
        .unwrap()
        .send(&mail("alice", "bob", "x"))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("wrong-password"));
    // certificate not trusted (no test CA)
    let s = mail_transport::ServerSettings::new(
        &sv.host,
        sv.smtps,
        TlsMode::Implicit,
        AuthMechanism::Plain,
        mail_transport::Credentials::new(addr("alice"), "alice-password"),
    )
    .unwrap()
    .with_tls_server_name("localhost");
    let err = SmtpSender::new(SmtpSettings::new(s), None)
        .unwrap()
        .send(&mail("alice", "bob", "x"))
        .await
        .unwrap_err();
    assert!(err.is_certificate(), "{err:?}");
    // the same over STARTTLS
    let s = mail_transport::ServerSettings::new(
        &sv.host,
        sv.submission,
        TlsMode::StartTls,
        AuthMechanism::Plain,
        mail_transport::Credentials::new(addr("alice"), "alice-password"),
    )
    .unwrap()
    .with_tls_server_name("localhost");
    let err = SmtpSender::new(SmtpSettings::new(s), None)
        .unwrap()
        .send(&mail("alice", "bob", "x"))
        .await
        .unwrap_err();
    assert!(err.is_certificate(), "{err:?}");
    // unknown recipient: permanent rejection
    let err = SmtpSender::new(sv.smtp("alice"), None)
        .unwrap()
        .send(&mail("alice", "nobody", "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            mail_transport::MailError::Rejected {
                code: 550,
                transient: false,
                ..
            }
        ),
        "{err:?}"
    );
    let _ = AccountSettings {
        account_id: "a".into(),
        address: addr("alice"),
        smtp: None,
        imap: None,
        save_sent_copy: false,
    };
}

#[tokio::test]
async fn a_failed_sent_copy_is_reported_but_the_mail_still_goes_out() {
    let Some(sv) = servers() else { return };
    let good = sv.imap("carol");
    let bad = ImapSettings::new(
        mail_transport::ServerSettings::new(
            good.server.host(),
            good.server.port(),
            good.server.tls(),
            good.server.auth(),
            mail_transport::Credentials::new(addr("carol"), "wrong-password"),
        )
        .unwrap()
        .with_tls_server_name("localhost")
        .with_root_ca_pem(sv.ca_pem.clone())
        .unwrap(),
    );
    let sender = SmtpSender::new(sv.smtp("carol"), Some(bad)).unwrap();
    let receipt = sender
        .send(&mail("carol", "bob", &unique("copy-fails")))
        .await
        .unwrap();
    assert_eq!(receipt.stored_copy, None);
    assert!(
        receipt
            .copy_error
            .as_deref()
            .unwrap()
            .contains("authentication failed")
    );
    wait_for(&sv, "bob", "INBOX", &receipt.message_id).await;
}
