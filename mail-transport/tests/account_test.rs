//! The "test account" report against the real servers, one failure kind per case.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use std::time::Duration;

use common::{addr, servers};
use mail_transport::{
    AccountSettings, AccountTestOptions, AuthMechanism, Credentials, FailureKind, ImapSettings,
    ServerSettings, SmtpSettings, StepStatus, TestProtocol, TestStepKind as K, TlsMode,
    test_account,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn account(imap: Option<ImapSettings>, smtp: Option<SmtpSettings>) -> AccountSettings {
    AccountSettings {
        account_id: "test".into(),
        address: addr("grace"),
        smtp,
        imap,
        save_sent_copy: true,
    }
}

fn failure(
    report: &mail_transport::AccountTestReport,
    p: TestProtocol,
) -> (K, FailureKind, String) {
    let step = report
        .first_failure(p)
        .unwrap_or_else(|| panic!("no failure in {report:#?}"));
    match &step.status {
        StepStatus::Failed { kind, message } => (step.kind, *kind, message.clone()),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_good_account_passes_every_step_and_sends_only_when_asked() {
    let Some(sv) = servers() else { return };
    let acct = account(Some(sv.imap("grace")), Some(sv.smtp("grace")));
    let report = test_account(&acct, &AccountTestOptions::default()).await;
    assert!(report.is_ok(), "{report:#?}");
    for kind in [
        K::Resolve,
        K::Connect,
        K::Tls,
        K::Authenticate,
        K::Capabilities,
        K::Folders,
    ] {
        assert!(
            matches!(
                report.step(TestProtocol::Imap, kind),
                Some(StepStatus::Ok(_))
            ),
            "imap {kind:?}: {report:#?}"
        );
    }
    for kind in [
        K::Resolve,
        K::Connect,
        K::Tls,
        K::Authenticate,
        K::Capabilities,
    ] {
        assert!(
            matches!(
                report.step(TestProtocol::Smtp, kind),
                Some(StepStatus::Ok(_))
            ),
            "smtp {kind:?}: {report:#?}"
        );
    }
    let Some(StepStatus::Ok(folders)) = report.step(TestProtocol::Imap, K::Folders) else {
        panic!()
    };
    assert!(folders.contains("sent folder: Sent"), "{folders}");
    let Some(StepStatus::Ok(caps)) = report.step(TestProtocol::Imap, K::Capabilities) else {
        panic!()
    };
    assert!(caps.starts_with("IDLE available"), "{caps}");
    assert!(matches!(
        report.step(TestProtocol::Smtp, K::SendTest),
        Some(StepStatus::Skipped(_))
    ));

    let options = AccountTestOptions {
        send_test_to: Some(addr("heidi")),
    };
    let report = test_account(&acct, &options).await;
    let Some(StepStatus::Ok(detail)) = report.step(TestProtocol::Smtp, K::SendTest) else {
        panic!("{report:#?}")
    };
    assert!(detail.contains("250"), "{detail}");
}

fn with_secret(s: &ServerSettings, secret: &str, ca: &[u8]) -> ServerSettings {
    ServerSettings::new(
        s.host(),
        s.port(),
        s.tls(),
        s.auth(),
        Credentials::new(s.credentials().username.clone(), secret),
    )
    .unwrap()
    .with_tls_server_name("localhost")
    .with_root_ca_pem(ca.to_vec())
    .unwrap()
}

#[tokio::test]
async fn wrong_password_is_reported_as_wrong_credentials() {
    let Some(sv) = servers() else { return };
    let imap = ImapSettings::new(with_secret(
        &sv.imap("grace").server,
        "hunter2-wrong",
        &sv.ca_pem,
    ));
    let smtp = SmtpSettings::new(with_secret(
        &sv.smtp("grace").server,
        "hunter2-wrong",
        &sv.ca_pem,
    ));
    let report = test_account(
        &account(Some(imap), Some(smtp)),
        &AccountTestOptions::default(),
    )
    .await;
    for p in [TestProtocol::Imap, TestProtocol::Smtp] {
        let (step, kind, message) = failure(&report, p);
        assert_eq!(
            (step, kind),
            (K::Authenticate, FailureKind::WrongCredentials),
            "{p:?}: {message}"
        );
        assert!(
            message.contains("wrong user name, password or token"),
            "{message}"
        );
    }
    assert!(
        !format!("{report:?}").contains("hunter2-wrong"),
        "the password never shows"
    );
    // XOAUTH2 with a password instead of a token is rejected the same way
    let imap =
        ImapSettings::new(sv.server(sv.imaps, TlsMode::Implicit, AuthMechanism::XOAuth2, "grace"));
    let imap = ImapSettings::new(with_secret(&imap.server, "grace-password", &sv.ca_pem));
    let report = test_account(&account(Some(imap), None), &AccountTestOptions::default()).await;
    assert_eq!(
        failure(&report, TestProtocol::Imap).1,
        FailureKind::WrongCredentials
    );
}

#[tokio::test]
async fn untrusted_or_misnamed_certificate_is_a_certificate_problem() {
    let Some(sv) = servers() else { return };
    let creds = |p: &str| Credentials::new(addr("grace"), format!("grace-{p}"));
    // no test CA: unknown issuer
    let imap = ImapSettings::new(
        ServerSettings::new(
            &sv.host,
            sv.imaps,
            TlsMode::Implicit,
            AuthMechanism::Login,
            creds("password"),
        )
        .unwrap()
        .with_tls_server_name("localhost"),
    );
    let smtp = SmtpSettings::new(
        ServerSettings::new(
            &sv.host,
            sv.submission,
            TlsMode::StartTls,
            AuthMechanism::Plain,
            creds("password"),
        )
        .unwrap()
        .with_tls_server_name("localhost"),
    );
    let report = test_account(
        &account(Some(imap), Some(smtp)),
        &AccountTestOptions::default(),
    )
    .await;
    for p in [TestProtocol::Imap, TestProtocol::Smtp] {
        let (step, kind, message) = failure(&report, p);
        assert_eq!(
            (step, kind),
            (K::Tls, FailureKind::Certificate),
            "{p:?}: {message}"
        );
        assert!(message.starts_with("certificate problem"), "{message}");
    }
    // trusted CA but the certificate is not for this name
    let imap = ImapSettings::new(
        ServerSettings::new(
            &sv.host,
            sv.imap,
            TlsMode::StartTls,
            AuthMechanism::Login,
            creds("password"),
        )
        .unwrap()
        .with_tls_server_name("other.example.org")
        .with_root_ca_pem(sv.ca_pem.clone())
        .unwrap(),
    );
    let report = test_account(&account(Some(imap), None), &AccountTestOptions::default()).await;
    let (step, kind, message) = failure(&report, TestProtocol::Imap);
    assert_eq!(
        (step, kind),
        (K::Tls, FailureKind::Certificate),
        "{message}"
    );
}

async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

#[tokio::test]
async fn closed_port_and_unknown_host_are_named() {
    // needs no mail server
    let port = closed_port().await;
    let creds = Credentials::new("grace@example.test", "x");
    let imap = ImapSettings::new(
        ServerSettings::new(
            "127.0.0.1",
            port,
            TlsMode::Implicit,
            AuthMechanism::Login,
            creds.clone(),
        )
        .unwrap(),
    );
    let smtp = SmtpSettings::new(
        ServerSettings::new(
            "127.0.0.1",
            port,
            TlsMode::StartTls,
            AuthMechanism::Plain,
            creds.clone(),
        )
        .unwrap(),
    );
    let report = test_account(
        &account(Some(imap), Some(smtp)),
        &AccountTestOptions::default(),
    )
    .await;
    for p in [TestProtocol::Imap, TestProtocol::Smtp] {
        let (step, kind, message) = failure(&report, p);
        assert_eq!(
            (step, kind),
            (K::Connect, FailureKind::PortClosed),
            "{message}"
        );
        assert!(message.contains("port is closed"), "{message}");
        assert!(matches!(
            report.step(p, K::Authenticate),
            Some(StepStatus::Skipped(_))
        ));
    }
    let imap = ImapSettings::new(
        ServerSettings::new(
            "no-such-host.invalid",
            993,
            TlsMode::Implicit,
            AuthMechanism::Login,
            creds,
        )
        .unwrap()
        .with_timeouts(Duration::from_secs(5), Duration::from_secs(5)),
    );
    let report = test_account(&account(Some(imap), None), &AccountTestOptions::default()).await;
    let (step, kind, _) = failure(&report, TestProtocol::Imap);
    assert!(
        (step, kind) == (K::Resolve, FailureKind::HostNotFound) || kind == FailureKind::Timeout,
        "{report:#?}"
    );
}

/// A minimal server that greets and answers EHLO / CAPABILITY without STARTTLS.
async fn server_without_starttls(imap: bool) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                let greeting: &[u8] = if imap {
                    b"* OK test server ready\r\n"
                } else {
                    b"220 test.example ESMTP\r\n"
                };
                w.write_all(greeting).await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply = if imap {
                        let tag = line.split(' ').next().unwrap_or("*").to_string();
                        if upper.contains("CAPABILITY") {
                            format!("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n")
                        } else {
                            format!("{tag} BAD no\r\n")
                        }
                    } else if upper.starts_with("EHLO") {
                        "250-test.example\r\n250 AUTH PLAIN LOGIN\r\n".to_string()
                    } else if upper.starts_with("QUIT") {
                        "221 bye\r\n".to_string()
                    } else {
                        "502 no\r\n".to_string()
                    };
                    if w.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn missing_starttls_is_named() {
    // needs no mail server
    let creds = Credentials::new("grace@example.test", "x");
    let imap_port = server_without_starttls(true).await;
    let smtp_port = server_without_starttls(false).await;
    let imap = ImapSettings::new(
        ServerSettings::new(
            "127.0.0.1",
            imap_port,
            TlsMode::StartTls,
            AuthMechanism::Login,
            creds.clone(),
        )
        .unwrap(),
    );
    let smtp = SmtpSettings::new(
        ServerSettings::new(
            "127.0.0.1",
            smtp_port,
            TlsMode::StartTls,
            AuthMechanism::Plain,
            creds,
        )
        .unwrap(),
    );
    let report = test_account(
        &account(Some(imap), Some(smtp)),
        &AccountTestOptions::default(),
    )
    .await;
    for p in [TestProtocol::Imap, TestProtocol::Smtp] {
        let (step, kind, message) = failure(&report, p);
        assert_eq!(
            (step, kind),
            (K::Tls, FailureKind::StartTlsMissing),
            "{p:?} {message}"
        );
        assert!(message.contains("does not offer STARTTLS"), "{message}");
        assert!(matches!(
            report.step(p, K::Connect),
            Some(StepStatus::Ok(_))
        ));
    }
}

#[tokio::test]
async fn missing_folder_is_reported() {
    let Some(sv) = servers() else { return };
    let mut imap = sv.imap("grace");
    imap.inbox = "No-Such-Folder".into();
    let report = test_account(&account(Some(imap), None), &AccountTestOptions::default()).await;
    let (step, kind, message) = failure(&report, TestProtocol::Imap);
    assert_eq!((step, kind), (K::Folders, FailureKind::FolderMissing));
    assert!(message.contains("No-Such-Folder"), "{message}");
}

#[tokio::test]
async fn sender_and_receiver_refuse_a_server_without_starttls() {
    // needs no mail server
    use mail_transport::{MailError, MailSender, Mailbox, OutgoingMail, SmtpSender};
    let creds = Credentials::new("grace@example.test", "x");
    let smtp_port = server_without_starttls(false).await;
    let imap_port = server_without_starttls(true).await;
    let smtp = SmtpSettings::new(
        ServerSettings::new(
            "127.0.0.1",
            smtp_port,
            TlsMode::StartTls,
            AuthMechanism::Plain,
            creds.clone(),
        )
        .unwrap(),
    );
    let err = SmtpSender::new(smtp, None)
        .unwrap()
        .send(&OutgoingMail {
            from: Mailbox::new("grace@example.test"),
            to: vec![Mailbox::new("heidi@example.test")],
            subject: "x".into(),
            ..OutgoingMail::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::StartTlsMissing(_)), "{err:?}");
    let imap = ServerSettings::new(
        "127.0.0.1",
        imap_port,
        TlsMode::StartTls,
        AuthMechanism::Login,
        creds,
    )
    .unwrap();
    let err = mail_transport::imap::connect(&imap).await.unwrap_err();
    assert!(matches!(err, MailError::StartTlsMissing(_)), "{err:?}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // needs no mail server: accepts connections and stays silent
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = l.accept().await {
            held.push(sock);
        }
    });
    let creds = Credentials::new("grace@example.test", "x");
    let short = |tls| {
        ServerSettings::new("127.0.0.1", port, tls, AuthMechanism::Plain, creds.clone())
            .unwrap()
            .with_timeouts(Duration::from_millis(500), Duration::from_millis(500))
    };
    let acct = account(
        Some(ImapSettings::new(short(TlsMode::None))),
        Some(SmtpSettings::new(short(TlsMode::None))),
    );
    let started = std::time::Instant::now();
    let report = test_account(&acct, &AccountTestOptions::default()).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    for p in [TestProtocol::Imap, TestProtocol::Smtp] {
        let (step, kind, message) = failure(&report, p);
        assert_eq!(
            (step, kind),
            (K::Connect, FailureKind::Timeout),
            "{p:?}: {message}"
        );
    }
}
