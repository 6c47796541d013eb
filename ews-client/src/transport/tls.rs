//! rustls client configuration shared by the reqwest client and the NTLM connections.
//!
//! # What is trusted
//!
//! * By default the Mozilla roots (webpki-roots) plus
//!   [`TransportConfig::extra_root_certificates`](super::TransportConfig): the server's
//!   chain must lead to one of them, and its end-entity certificate must name the URL's host
//!   and be valid now.
//! * An extra root must be a **CA** certificate. webpki (rustls' verifier) refuses a
//!   certificate with `basicConstraints CA:TRUE` as the server's own certificate
//!   (`CaUsedAsEndEntity`), even when that very certificate is a trusted root. That is what
//!   `openssl req -x509` creates by default, so a self-signed server certificate made that
//!   way cannot be trusted through an extra root: either issue the server certificate from a
//!   (private) CA and trust the CA, or pin the certificate.
//! * [`TransportConfig::pinned_certificates`](super::TransportConfig): the SHA-256
//!   fingerprints of server (end-entity) certificates. When set, exactly these certificates
//!   are accepted and nothing else (no root store, no name or validity check: the pin
//!   identifies the certificate); the handshake signature is still verified, so only the
//!   holder of the pinned certificate's key can complete the handshake. This is the usual
//!   way to talk to an on-premises Exchange with its own self-signed certificate. When the
//!   certificate is renewed, the pin must be updated; the TLS error names the fingerprint
//!   the server presented.
//! * Skipping verification is possible only for loopback endpoints (tests).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};

use super::TransportError;

/// The SHA-256 fingerprint of a DER certificate, for
/// [`TransportConfig::pinned_certificates`](super::TransportConfig).
///
/// Parsed from 64 hex digits, optionally separated by colons (as `openssl x509 -fingerprint
/// -sha256` prints it, with or without the `sha256 Fingerprint=` prefix); shown as
/// colon-separated upper-case pairs.
///
/// ```
/// use ews_client::transport::CertificateFingerprint;
/// let pin: CertificateFingerprint =
///     "sha256 Fingerprint=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
///         .parse()
///         .unwrap();
/// assert_eq!(pin.to_string().len(), 95);
/// assert!("abcd".parse::<CertificateFingerprint>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertificateFingerprint([u8; 32]);

impl CertificateFingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// A fingerprint from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for CertificateFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CertificateFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateFingerprint({self})")
    }
}

impl FromStr for CertificateFingerprint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let s = match s.split_once('=') {
            Some((label, value)) if label.to_ascii_lowercase().contains("fingerprint") => value,
            _ => s,
        };
        let hex: String = s.chars().filter(|c| *c != ':').collect();
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(
                "a SHA-256 certificate fingerprint is 64 hex digits (colons allowed)".to_owned(),
            );
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| "invalid hex digit in the certificate fingerprint".to_owned())?;
        }
        Ok(Self(out))
    }
}

/// `true` if the URL's host is `localhost` or a loopback IP address.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// How [`client_config`] checks the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CertificateCheck {
    /// Against the roots, or exactly the pins when there are any.
    #[default]
    Verify,
    /// Not at all: only for a loopback endpoint (the caller checks that it is one).
    DangerAcceptAnyOnLoopback,
}

/// Builds the rustls configuration: Mozilla roots (webpki-roots) plus the configured extra
/// PEM roots; certificate verification disabled only with
/// [`CertificateCheck::DangerAcceptAnyOnLoopback`] (the caller checked that the endpoint is
/// a loopback address). No ALPN protocols are set (a caller that needs them sets
/// `alpn_protocols` on the result). The provider is always `ring`,
/// chosen explicitly so that the process-wide default provider does not matter.
pub fn client_config(
    extra_roots_pem: &[Vec<u8>],
    check: CertificateCheck,
) -> Result<rustls::ClientConfig, TransportError> {
    client_config_with_pins(extra_roots_pem, &[], check)
}

/// Like [`client_config`], accepting exactly the `pins` when there are any.
pub fn client_config_with_pins(
    extra_roots_pem: &[Vec<u8>],
    pins: &[CertificateFingerprint],
    check: CertificateCheck,
) -> Result<rustls::ClientConfig, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::InvalidConfig(format!("TLS versions: {e}")))?;
    let config = if check == CertificateCheck::DangerAcceptAnyOnLoopback {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for (index, pem) in extra_roots_pem.iter().enumerate() {
            let mut found = 0usize;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|e| {
                    TransportError::InvalidConfig(format!("extra root certificate {index}: {e}"))
                })?;
                roots.add(cert).map_err(|e| {
                    TransportError::InvalidConfig(format!("extra root certificate {index}: {e}"))
                })?;
                found += 1;
            }
            if found == 0 {
                return Err(TransportError::InvalidConfig(format!(
                    "extra root certificate {index}: no PEM CERTIFICATE block found"
                )));
            }
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| TransportError::InvalidConfig(format!("TLS verifier: {e}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier {
                webpki,
                pins: pins.to_vec(),
                provider,
            }))
            .with_no_client_auth()
    };
    Ok(config)
}

/// The subject and issuer of a certificate, as an administrator compares them with the CA
/// certificates at hand (`openssl x509 -subject -issuer` shows the same names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateNames {
    /// The distinguished name the certificate was issued to (e.g. `CN=mail.example.com`).
    pub subject: String,
    /// The distinguished name of the CA that issued it (e.g. `CN=Example Root CA`).
    pub issuer: String,
}

impl CertificateNames {
    /// The names of a DER-encoded X.509 certificate; `None` if it cannot be parsed.
    pub fn of_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let name = |n: &x509_parser::x509::X509Name<'_>| {
            let text = n.to_string();
            if text.is_empty() {
                "(no name)".to_owned()
            } else {
                // Bounded and printable: the names come from the server.
                text.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            }
        };
        Some(Self {
            subject: name(cert.subject()),
            issuer: name(cert.issuer()),
        })
    }
}

impl fmt::Display for CertificateNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "issued to {} by {}", self.subject, self.issuer)
    }
}

/// Why a server certificate was refused, with what an administrator can do about it.
#[derive(Debug)]
struct Refused {
    reason: String,
    names: Option<CertificateNames>,
    presented: CertificateFingerprint,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; the server's certificate ", self.reason)?;
        if let Some(names) = &self.names {
            write!(f, "({names}) ")?;
        }
        write!(f, "has the SHA-256 fingerprint {}", self.presented)
    }
}

impl std::error::Error for Refused {}

fn refused(reason: String, end_entity: &CertificateDer<'_>) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refused {
        reason,
        names: CertificateNames::of_der(end_entity.as_ref()),
        presented: CertificateFingerprint::of_der(end_entity.as_ref()),
    }))))
}

/// The admin-facing explanation of a webpki verification failure.
fn explain(error: &rustls::Error) -> String {
    let text = error.to_string();
    if text.contains("CaUsedAsEndEntity") {
        return "the server presents a CA certificate (basicConstraints CA:TRUE, what `openssl \
                req -x509` makes by default) as its own certificate, which webpki never \
                accepts, not even as an extra root (CaUsedAsEndEntity): issue the server \
                certificate from a CA and trust that CA, or pin this certificate by its \
                SHA-256 fingerprint"
            .to_owned();
    }
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the server certificate is not issued by a trusted CA (UnknownIssuer): add the \
             issuing CA certificate (PEM) as an extra root, or pin the server certificate by \
             its SHA-256 fingerprint"
                .to_owned()
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!("{text}: the URL's host name must be one of the certificate's names"),
        _ => text,
    }
}

/// webpki verification, or exactly the pinned certificates; failures say what to do.
#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    pins: Vec<CertificateFingerprint>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !self.pins.is_empty() {
            let presented = CertificateFingerprint::of_der(end_entity.as_ref());
            if self.pins.contains(&presented) {
                return Ok(ServerCertVerified::assertion());
            }
            return Err(refused(
                "the server certificate is not the pinned one".to_owned(),
                end_entity,
            ));
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| refused(explain(&e), end_entity))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Accepts any server certificate, but still checks the handshake signatures. Only used for
/// loopback endpoints when the configuration explicitly opts out of verification.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Finds a TLS failure in an error's source chain (looking inside `io::Error` wrappers, whose
/// `source()` skips the wrapped error).
pub(crate) fn find_tls_error(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(mut e) = current {
        // `io::Error::other(io::Error::new(kind, rustls_error))` nests (hyper-rustls does).
        while let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            e = inner;
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            if let rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(other))) =
                tls
                && let Some(refused) = other.downcast_ref::<Refused>()
            {
                return Some(format!("invalid server certificate: {refused}"));
            }
            return Some(tls.to_string());
        }
        current = e.source();
    }
    None
}

/// Joins an error and its sources into one line.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut current = err.source();
    while let Some(e) = current {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        current = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        for (url, expected) in [
            ("https://localhost:8443/EWS/Exchange.asmx", true),
            ("https://LOCALHOST/EWS", true),
            ("https://127.0.0.1/EWS", true),
            ("https://127.4.5.6/EWS", true),
            ("https://[::1]:9000/EWS", true),
            ("https://mail.example.com/EWS", false),
            ("https://10.0.0.1/EWS", false),
            ("https://localhost.example.com/EWS", false),
        ] {
            let parsed = url::Url::parse(url).expect("test url");
            assert_eq!(is_loopback(&parsed), expected, "{url}");
        }
    }

    #[test]
    fn names_of_a_certificate() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["mail.example.test".to_owned()]).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "mail.example.test");
        let cert = params.self_signed(&key).expect("cert");
        let names = CertificateNames::of_der(cert.der()).expect("parsed");
        assert_eq!(names.subject, "CN=mail.example.test");
        assert_eq!(names.issuer, "CN=mail.example.test");
        assert!(CertificateNames::of_der(b"not a certificate").is_none());
    }

    #[test]
    fn invalid_extra_root_is_a_config_error() {
        let err = client_config(&[b"not a pem".to_vec()], CertificateCheck::Verify)
            .expect_err("must fail");
        assert!(matches!(err, TransportError::InvalidConfig(_)), "{err}");
    }
}
