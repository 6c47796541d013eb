//! TLS: certificates are verified; a self-signed loopback server is accepted only with the
//! loopback opt-out or a trusted extra root.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod transport_common;

use std::sync::Arc;

use ews_client::transport::{Auth, HttpTransport, TransportError};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use transport_common::*;

struct TestPki {
    ca_pem: String,
    acceptor: tokio_rustls::TlsAcceptor,
}

fn pki() -> TestPki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ews-client test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    TestPki {
        ca_pem: ca.pem(),
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    }
}

async fn tls_server() -> (Server, String) {
    let pki = pki();
    let server = serve_with_tls(
        handler(|_conn, req| async move {
            let body = if req.headers().contains_key("authorization") {
                "<with-auth/>"
            } else {
                "<hello/>"
            };
            response(200, body)
        }),
        Some(pki.acceptor),
    )
    .await;
    (server, pki.ca_pem)
}

#[tokio::test]
async fn untrusted_self_signed_certificate_is_rejected_by_default() {
    let (server, _) = tls_server().await;
    for auth in [Auth::None, Auth::ntlm("u", "p")] {
        let t = HttpTransport::new(config(&server.url("https", "localhost"), auth)).unwrap();
        let err = t.post(request()).await.unwrap_err();
        assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
        assert!(!err.is_transient(), "a TLS failure is not retried");
    }
}

#[tokio::test]
async fn loopback_opt_out_accepts_the_certificate() {
    let (server, _) = tls_server().await;
    for host in ["127.0.0.1", "localhost"] {
        let t = HttpTransport::new(
            config(&server.url("https", host), Auth::basic("u", "p"))
                .with_danger_accept_invalid_certs_on_loopback(true),
        )
        .unwrap();
        let response = t.post(request()).await.unwrap();
        assert_eq!(response.body.as_ref(), b"<with-auth/>");
    }
}

#[tokio::test]
async fn extra_root_certificate_is_trusted() {
    let (server, ca_pem) = tls_server().await;
    let t = HttpTransport::new(
        config(&server.url("https", "localhost"), Auth::None)
            .with_extra_root_certificate(ca_pem.as_bytes().to_vec()),
    )
    .unwrap();
    assert_eq!(t.post(request()).await.unwrap().body.as_ref(), b"<hello/>");
}

#[tokio::test]
async fn extra_root_certificate_is_used_by_the_ntlm_path() {
    let (server, ca_pem) = tls_server().await;
    // The server does not ask for authentication: the NTLM path sends the request anyway.
    let t = HttpTransport::new(
        config(&server.url("https", "localhost"), Auth::ntlm("u", "p"))
            .with_extra_root_certificate(ca_pem.as_bytes().to_vec()),
    )
    .unwrap();
    let response = t.post(request()).await.unwrap();
    // the request itself goes without the NTLM token after the server accepted Type 1
    assert_eq!(response.body.as_ref(), b"<hello/>");
}

#[test]
fn loopback_opt_out_is_refused_for_other_hosts() {
    let err = HttpTransport::new(
        config("https://mail.contoso.com/EWS/Exchange.asmx", Auth::None)
            .with_danger_accept_invalid_certs_on_loopback(true),
    )
    .unwrap_err();
    assert!(matches!(err, TransportError::InvalidConfig(_)), "{err:?}");
}
