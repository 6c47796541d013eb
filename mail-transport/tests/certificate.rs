//! A mail server whose certificate comes from a private CA the account does not trust: the
//! error names the host, the CA that issued the certificate and the setting to change, for
//! IMAP and SMTP (implicit TLS and STARTTLS). The servers are loopback TLS listeners.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use std::sync::Arc;

use mail_transport::{
    AuthMechanism, Credentials, MailSender, Mailbox, OutgoingMail, ServerSettings, SmtpSender,
    SmtpSettings, TlsMode,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const CA_NAME: &str = "Agentur Mail CA";

/// A TLS acceptor presenting a certificate for 127.0.0.1 issued by a private CA; and the CA PEM.
fn private_ca_acceptor() -> (tokio_rustls::TlsAcceptor, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, CA_NAME);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "mail.agentur.test");
    let cert = params.signed_by(&key, &issuer).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_cert.pem(),
    )
}

/// Serves TLS on a loopback port; with `smtp_starttls` after an SMTP greeting, EHLO and
/// STARTTLS. Returns the port.
async fn serve(acceptor: tokio_rustls::TlsAcceptor, smtp_starttls: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if smtp_starttls {
                    if tcp
                        .write_all(b"220 mail.agentur.test ESMTP\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let mut reader = BufReader::new(&mut tcp);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let upper = line.to_ascii_uppercase();
                        let answer: &[u8] = if upper.starts_with("EHLO") {
                            b"250-mail.agentur.test\r\n250 STARTTLS\r\n"
                        } else if upper.starts_with("STARTTLS") {
                            b"220 go ahead\r\n"
                        } else {
                            b"500 unknown\r\n"
                        };
                        if reader.get_mut().write_all(answer).await.is_err() {
                            return;
                        }
                        if upper.starts_with("STARTTLS") {
                            break;
                        }
                    }
                }
                // The client refuses the certificate: the handshake fails, which is the point.
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    port
}

fn settings(port: u16, tls: TlsMode) -> ServerSettings {
    ServerSettings::new(
        "127.0.0.1",
        port,
        tls,
        AuthMechanism::Plain,
        Credentials::new("heidi@agentur.test", "heidi-password"),
    )
    .unwrap()
}

fn assert_names_host_issuer_and_setting(text: &str) {
    assert!(text.contains("127.0.0.1"), "no host: {text}");
    assert!(text.contains(&format!("CN={CA_NAME}")), "no issuer: {text}");
    assert!(text.contains("CN=mail.agentur.test"), "no subject: {text}");
    assert!(text.contains("trusted_ca_file"), "no setting: {text}");
    assert!(!text.contains("heidi-password"), "{text}");
}

#[tokio::test]
async fn imap_certificate_error_names_host_issuer_and_setting() {
    let (acceptor, ca_pem) = private_ca_acceptor();
    let port = serve(acceptor, false).await;
    let err = mail_transport::imap::connect(&settings(port, TlsMode::Implicit))
        .await
        .err()
        .unwrap();
    assert!(err.is_certificate(), "{err:?}");
    assert_names_host_issuer_and_setting(&err.to_string());

    // Trusting the CA gets past the certificate (the fake server then says nothing more).
    let trusted = settings(port, TlsMode::Implicit)
        .with_root_ca_pem(ca_pem.into_bytes())
        .unwrap()
        .with_timeouts(
            std::time::Duration::from_secs(2),
            std::time::Duration::from_millis(300),
        );
    let err = mail_transport::imap::connect(&trusted).await.err().unwrap();
    assert!(!err.is_certificate(), "{err:?}");
}

#[tokio::test]
async fn smtp_certificate_error_names_host_issuer_and_setting() {
    let mail = OutgoingMail {
        from: Mailbox::new("heidi@agentur.test"),
        to: vec![Mailbox::new("bob@agentur.test")],
        subject: "x".to_owned(),
        text: Some("x".to_owned()),
        ..OutgoingMail::default()
    };
    for starttls in [false, true] {
        let (acceptor, _) = private_ca_acceptor();
        let port = serve(acceptor, starttls).await;
        let mode = if starttls {
            TlsMode::StartTls
        } else {
            TlsMode::Implicit
        };
        let err = SmtpSender::new(SmtpSettings::new(settings(port, mode)), None)
            .unwrap()
            .send(&mail)
            .await
            .unwrap_err();
        assert!(err.is_certificate(), "{mode:?}: {err:?}");
        assert_names_host_issuer_and_setting(&err.to_string());
    }
}
