//! MIME building and parsing, settings validation and secret redaction (no servers needed).
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use mail_transport::{
    Attachment, AuthMechanism, Credentials, DedupSink, ImapCheckpoint, MailError, MailSink,
    Mailbox, MessageIdStore, OutgoingMail, ParseProblem, ReceivedMail, ServerSettings,
    StoreOutcome, TlsMode, TransferEncoding,
};
use proptest::prelude::*;

/// (name, raw message, expected subject, expected text start, expected attachment names)
const PARSE_CASES: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "utf-8 base64 encoded word",
        "From: a@example.test\r\nTo: b@example.test\r\nMessage-ID: <1@x>\r\nDate: Sat, 28 Nov 2026 08:00:00 +0000\r\n\
         Subject: =?UTF-8?B?R3LDvMOfZSDDvGJlciBkZW4gQXVmdHJhZw==?=\r\n\r\nHallo\r\n",
        "Grüße über den Auftrag",
        "Hallo",
        &[],
    ),
    (
        "latin-1 quoted-printable word and body",
        "From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <j@example.test>\r\nTo: b@example.test\r\nMessage-ID: <2@x>\r\n\
         Date: Sat, 28 Nov 2026 08:00:00 +0000\r\nSubject: =?ISO-8859-1?Q?Rechnung_f=FCr_M=E4rz?=\r\n\
         Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSch=F6ne Gr=FC=DFe\r\n",
        "Rechnung für März",
        "Schöne Grüße",
        &[],
    ),
    (
        "nested multipart with alternative, attachment and attached message",
        "From: a@example.test\r\nTo: b@example.test\r\nMessage-ID: <3@x>\r\nDate: Sat, 28 Nov 2026 08:00:00 +0000\r\n\
         Subject: nested\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
         --outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n\
         --inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain body\r\n\
         --inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html body</p>\r\n--inner--\r\n\
         --outer\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''Angebot%20M%C3%A4rz.pdf\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n\
         --outer\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n\
         From: c@example.test\r\nSubject: inner mail\r\n\r\ninner body\r\n--outer--\r\n",
        "nested",
        "plain body",
        &["Angebot März.pdf", "fwd.eml"],
    ),
];

#[test]
fn parses_charsets_encoded_words_and_nested_multiparts() {
    for (name, raw, subject, text, attachments) in PARSE_CASES {
        let mail = ReceivedMail::parse_strict(raw.as_bytes().to_vec())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(mail.subject.as_deref(), Some(*subject), "{name}");
        assert!(
            mail.text.as_deref().unwrap().starts_with(text),
            "{name}: {:?}",
            mail.text
        );
        let names: Vec<_> = mail
            .attachments
            .iter()
            .map(|a| a.file_name.clone().unwrap())
            .collect();
        assert_eq!(names, *attachments, "{name}");
        assert!(mail.problems.is_empty(), "{name}");
    }
    let nested = ReceivedMail::parse(PARSE_CASES[2].1.as_bytes().to_vec());
    assert_eq!(
        nested.html.as_deref().map(str::trim),
        Some("<p>html body</p>")
    );
    assert_eq!(nested.attachments[0].data, b"%PDF-1.4");
    assert_eq!(nested.attachments[0].content_type, "application/pdf");
    let from = ReceivedMail::parse(PARSE_CASES[1].1.as_bytes().to_vec())
        .from
        .unwrap();
    assert_eq!(from, Mailbox::named("Jörg Müller", "j@example.test"));
}

/// Broken input: (name, raw, problems expected)
const BROKEN: &[(&str, &[u8], &[ParseProblem])] = &[
    ("empty", b"", &[ParseProblem::Unparseable]),
    (
        "no message id, no from, bad date",
        b"Subject: hi\r\nDate: yesterday-ish\r\n\r\nbody",
        &[ParseProblem::MissingMessageId, ParseProblem::MissingFrom, ParseProblem::InvalidDate],
    ),
    (
        "unterminated multipart",
        b"From: a@x.test\r\nMessage-ID: <t@x>\r\nDate: Sat, 28 Nov 2026 08:00:00 +0000\r\n\
          Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ncut off he",
        &[],
    ),
    (
        "binary garbage",
        b"\xff\xfe\x00\x01\x02From\x00:\r\n\r\n\x80\x81",
        &[ParseProblem::MissingMessageId, ParseProblem::MissingFrom, ParseProblem::InvalidDate],
    ),
];

#[test]
fn broken_input_is_parsed_as_far_as_possible_with_an_error() {
    for (name, raw, problems) in BROKEN {
        let mail = ReceivedMail::parse(raw.to_vec());
        for p in *problems {
            assert!(mail.problems.contains(p), "{name}: {:?}", mail.problems);
        }
        assert_eq!(mail.raw, raw.to_vec(), "{name}: raw bytes kept");
        assert!(
            !mail.message_id.is_empty(),
            "{name}: always an id for dedup"
        );
        // the same bytes give the same synthetic id, so a redelivery is recognised
        assert_eq!(
            ReceivedMail::parse(raw.to_vec()).message_id,
            mail.message_id
        );
        if !problems.is_empty() {
            let err = ReceivedMail::parse_strict(raw.to_vec()).unwrap_err();
            assert_eq!(err.problems, mail.problems, "{name}");
            assert_eq!(err.partial.raw, raw.to_vec());
        }
    }
    let cut = ReceivedMail::parse(BROKEN[2].1.to_vec());
    // the cut-off part is kept (mail-parser files it as an attachment)
    let kept = cut
        .text
        .clone()
        .map(String::into_bytes)
        .or_else(|| cut.attachments.first().map(|a| a.data.clone()));
    assert_eq!(kept.as_deref(), Some(&b"cut off he"[..]));
}

proptest! {
    #[test]
    fn parsing_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mail = ReceivedMail::parse(raw.clone());
        prop_assert_eq!(mail.raw, raw);
    }

    #[test]
    fn parsing_header_like_text_never_panics(text in "([A-Za-z-]{1,12}: [ -~]{0,40}\r\n){0,8}\r\n[ -~\r\n]{0,200}") {
        let _ = ReceivedMail::parse(text.into_bytes());
    }
}

fn outgoing() -> OutgoingMail {
    OutgoingMail {
        from: Mailbox::named("Müller & Söhne GmbH", "info@mueller.example"),
        to: vec![Mailbox::named("Kunde, Erika", "erika@example.test")],
        cc: vec![Mailbox::new("cc@example.test")],
        bcc: vec![Mailbox::new("hidden@example.test")],
        reply_to: Some(Mailbox::new("reply@mueller.example")),
        subject: "Angebot Nr. 42 – Größe ändern".into(),
        text: Some("Sehr geehrte Frau Kunde,\nanbei das Angebot.".into()),
        html: Some("<p>Sehr geehrte Frau Kunde,</p>".into()),
        attachments: vec![Attachment {
            file_name: "Angebot 42.pdf".into(),
            content_type: "application/pdf".into(),
            data: vec![0, 1, 2, 255],
        }],
        in_reply_to: Some("<prev@example.test>".into()),
        references: vec!["root@example.test".into(), "prev@example.test".into()],
        ..OutgoingMail::default()
    }
}

#[test]
fn builds_headers_alternative_attachments_and_round_trips() {
    for enc in [
        TransferEncoding::Auto,
        TransferEncoding::QuotedPrintable,
        TransferEncoding::Base64,
        TransferEncoding::EightBit,
    ] {
        let built = outgoing().build(enc).unwrap();
        assert!(
            built.message_id.ends_with("@mueller.example"),
            "{}",
            built.message_id
        );
        assert_eq!(
            built.envelope_to,
            vec![
                "erika@example.test",
                "cc@example.test",
                "hidden@example.test"
            ]
        );
        let text = String::from_utf8_lossy(&built.bytes).to_string();
        assert!(
            !text.contains("hidden@example.test"),
            "Bcc stays out of the headers"
        );
        assert!(text.contains("multipart/alternative"));
        assert!(text.contains("Subject: =?utf-8?"), "{text}");
        assert!(text.contains("Date: "));
        let parsed = ReceivedMail::parse_strict(built.bytes.clone()).unwrap();
        assert_eq!(parsed.message_id, built.message_id);
        assert_eq!(
            parsed.subject.as_deref(),
            Some("Angebot Nr. 42 – Größe ändern")
        );
        assert_eq!(
            parsed.from,
            Some(Mailbox::named(
                "Müller & Söhne GmbH",
                "info@mueller.example"
            ))
        );
        assert_eq!(
            parsed.to,
            vec![Mailbox::named("Kunde, Erika", "erika@example.test")]
        );
        assert_eq!(parsed.reply_to, vec![Mailbox::new("reply@mueller.example")]);
        assert_eq!(parsed.in_reply_to, vec!["prev@example.test"]);
        assert_eq!(
            parsed.references,
            vec!["root@example.test", "prev@example.test"]
        );
        assert_eq!(
            parsed.text.as_deref().map(|t| t.replace("\r\n", "\n")),
            Some("Sehr geehrte Frau Kunde,\nanbei das Angebot.".to_string()),
            "{enc:?}"
        );
        assert_eq!(parsed.attachments.len(), 1);
        assert_eq!(parsed.attachments[0].data, vec![0, 1, 2, 255]);
        assert_eq!(
            parsed.attachments[0].file_name.as_deref(),
            Some("Angebot 42.pdf")
        );
    }
}

#[test]
fn invalid_messages_are_refused_with_a_build_error() {
    let mut m = outgoing();
    m.to[0].address = "not an address".into();
    assert!(matches!(
        m.build(TransferEncoding::Auto),
        Err(MailError::Build(_))
    ));
    let mut m = outgoing();
    m.to.clear();
    m.cc.clear();
    m.bcc.clear();
    assert!(matches!(
        m.build(TransferEncoding::Auto),
        Err(MailError::Build(_))
    ));
    let mut m = outgoing();
    m.from.address = "<evil>@x".into();
    assert!(matches!(
        m.build(TransferEncoding::Auto),
        Err(MailError::Build(_))
    ));
}

#[test]
fn settings_are_validated_and_secrets_never_printed() {
    let creds = Credentials::new("user@example.test", "s3cr3t-token");
    assert!(
        ServerSettings::new(
            "",
            993,
            TlsMode::Implicit,
            AuthMechanism::Login,
            creds.clone()
        )
        .is_err()
    );
    assert!(
        ServerSettings::new(
            "imap.example.test",
            0,
            TlsMode::Implicit,
            AuthMechanism::Login,
            creds.clone()
        )
        .is_err()
    );
    assert!(
        ServerSettings::new(
            "imap.example.test",
            993,
            TlsMode::Implicit,
            AuthMechanism::Login,
            creds.clone()
        )
        .unwrap()
        .with_root_ca_pem(b"not a pem".to_vec())
        .is_err()
    );
    let s = ServerSettings::new(
        "imap.example.test",
        993,
        TlsMode::Implicit,
        AuthMechanism::XOAuth2,
        creds,
    )
    .unwrap();
    let debug = format!("{s:?}");
    assert!(!debug.contains("s3cr3t-token"), "{debug}");
    assert!(debug.contains("user@example.test"));
    assert_eq!(s.credentials().secret.expose(), "s3cr3t-token");
    assert_eq!(s.tls_server_name(), "imap.example.test");
}

#[test]
fn checkpoints_encode_and_reject_garbage() {
    let cp = ImapCheckpoint {
        uid_validity: 1764316800,
        last_uid: 42,
    };
    assert_eq!(cp.encode(), "1764316800:42");
    assert_eq!(ImapCheckpoint::decode("1764316800:42"), Some(cp));
    for bad in ["", "1", "a:b", "1:", ":2", "-1:2"] {
        assert_eq!(ImapCheckpoint::decode(bad), None, "{bad}");
    }
}

#[tokio::test]
async fn dedup_sink_files_each_message_id_once_across_restarts() {
    #[derive(Default)]
    struct Count(std::sync::atomic::AtomicUsize);
    #[async_trait::async_trait]
    impl MailSink for Count {
        async fn store(&self, _m: ReceivedMail) -> Result<StoreOutcome, mail_transport::SinkError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(StoreOutcome::Stored)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.sqlite");
    let count = Count::default();
    let raw = b"From: a@x.test\r\nMessage-ID: <d@x>\r\n\r\nbody".to_vec();
    {
        let sink = DedupSink::new(&count, MessageIdStore::open(&path).unwrap());
        assert_eq!(
            sink.store(ReceivedMail::parse(raw.clone())).await.unwrap(),
            StoreOutcome::Stored
        );
        assert_eq!(
            sink.store(ReceivedMail::parse(raw.clone())).await.unwrap(),
            StoreOutcome::Duplicate
        );
    }
    let sink = DedupSink::new(&count, MessageIdStore::open(&path).unwrap());
    assert_eq!(
        sink.store(ReceivedMail::parse(raw)).await.unwrap(),
        StoreOutcome::Duplicate
    );
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
}
