//! TLS: certificates are verified; a self-signed loopback server is accepted only with the
//! loopback opt-out, a trusted extra root or a pin; a self-signed CA:TRUE certificate (what
//! `openssl req -x509` makes) only when pinned, with an error that says so.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod transport_common;

use std::sync::Arc;

use ews_client::transport::{Auth, CertificateFingerprint, HttpTransport, TransportError};
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
        // The error names the CA that issued the certificate, so the admin knows which CA
        // certificate to trust.
        let text = err.to_string();
        assert!(text.contains("UnknownIssuer"), "{text}");
        assert!(text.contains("by CN=ews-client test CA"), "{text}");
    }
}

#[tokio::test]
async fn loopback_opt_out_accepts_the_certificate() {
    let (server, _) = tls_server().await;
    for host in ["127.0.0.1", "localhost"] {
        let t = HttpTransport::new(
            config(&server.url("https", host), Auth::basic("u", "p"))
                .with_danger_accept_invalid_certs_on_loopback(),
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
            .with_danger_accept_invalid_certs_on_loopback(),
    )
    .unwrap_err();
    assert!(matches!(err, TransportError::InvalidConfig(_)), "{err:?}");
}

/// A self-signed certificate with `CA:TRUE` used as the server's own certificate (openssl's
/// default), its PEM, and a TLS acceptor presenting it with `key` (its own key, or another
/// one to test that the handshake signature is still verified).
fn self_signed_ca_leaf(wrong_key: bool) -> (String, Vec<u8>, tokio_rustls::TlsAcceptor) {
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "exchange.contoso.local");
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let der = cert.der().to_vec();
    let serving_key = if wrong_key {
        KeyPair::generate().unwrap()
    } else {
        key
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signing = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            serving_key.serialize_der(),
        )))
        .unwrap();
    let certified = Arc::new(rustls::sign::CertifiedKey::new(
        vec![CertificateDer::from(der.clone())],
        signing,
    ));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(certified)));
    (
        cert.pem(),
        der,
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    )
}

/// Presents one certified key without checking that key and certificate match.
#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

async fn hello_server(acceptor: tokio_rustls::TlsAcceptor) -> Server {
    serve_with_tls(
        handler(|_conn, _req| async move { response(200, "<hello/>") }),
        Some(acceptor),
    )
    .await
}

#[tokio::test]
async fn self_signed_ca_certificate_is_refused_as_root_with_an_explanation() {
    let (pem, der, acceptor) = self_signed_ca_leaf(false);
    let server = hello_server(acceptor).await;
    for auth in [Auth::None, Auth::ntlm("u", "p")] {
        let t = HttpTransport::new(
            config(&server.url("https", "localhost"), auth)
                .with_extra_root_certificate(pem.as_bytes().to_vec()),
        )
        .unwrap();
        let err = t.post(request()).await.unwrap_err();
        assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("CaUsedAsEndEntity"), "{text}");
        assert!(text.contains("pin"), "the error says what to do: {text}");
        // and names the fingerprint an admin would pin
        assert!(
            text.contains(&CertificateFingerprint::of_der(&der).to_string()),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_pinned_self_signed_certificate_is_accepted_and_only_that_one() {
    let (_, der, acceptor) = self_signed_ca_leaf(false);
    let pin = CertificateFingerprint::of_der(&der);
    // as an admin copies it from `openssl x509 -fingerprint -sha256`
    let pin_text = format!("sha256 Fingerprint={pin}");
    assert_eq!(pin_text.parse::<CertificateFingerprint>().unwrap(), pin);
    let server = hello_server(acceptor).await;
    for auth in [Auth::None, Auth::ntlm("u", "p")] {
        let t = HttpTransport::new(
            config(&server.url("https", "127.0.0.1"), auth).with_pinned_certificate(pin),
        )
        .unwrap();
        assert_eq!(t.post(request()).await.unwrap().body.as_ref(), b"<hello/>");
    }
    // another pin: refused, naming what the server presented
    let other = CertificateFingerprint::of_der(b"another certificate");
    let t = HttpTransport::new(
        config(&server.url("https", "localhost"), Auth::None).with_pinned_certificate(other),
    )
    .unwrap();
    let err = t.post(request()).await.unwrap_err();
    assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("not the pinned one"), "{err}");
    assert!(err.to_string().contains(&pin.to_string()), "{err}");
    assert!(!err.is_transient());

    // pins are exclusive: a certificate from a trusted CA is refused when another is pinned
    let (ca_server, ca_pem) = tls_server().await;
    let t = HttpTransport::new(
        config(&ca_server.url("https", "localhost"), Auth::None)
            .with_extra_root_certificate(ca_pem.as_bytes().to_vec())
            .with_pinned_certificate(pin),
    )
    .unwrap();
    let err = t.post(request()).await.unwrap_err();
    assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
}

#[tokio::test]
async fn a_pinned_certificate_without_its_key_fails_the_handshake() {
    let (_, der, acceptor) = self_signed_ca_leaf(true);
    let server = hello_server(acceptor).await;
    let t = HttpTransport::new(
        config(&server.url("https", "localhost"), Auth::None)
            .with_pinned_certificate(CertificateFingerprint::of_der(&der)),
    )
    .unwrap();
    let err = t.post(request()).await.unwrap_err();
    assert!(matches!(err, TransportError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("BadSignature"), "{err}");
}

#[test]
fn fingerprints_parse_strictly() {
    let hex = "ab".repeat(32);
    let colons = vec!["AB"; 32].join(":");
    let a: CertificateFingerprint = hex.parse().unwrap();
    let b: CertificateFingerprint = colons.parse().unwrap();
    assert_eq!(a, b);
    assert_eq!(a.to_string(), colons);
    for bad in [
        "",
        "ab",
        &"ab".repeat(31),
        &"zz".repeat(32),
        &format!("{hex}ab"),
    ] {
        assert!(bad.parse::<CertificateFingerprint>().is_err(), "{bad}");
    }
}
