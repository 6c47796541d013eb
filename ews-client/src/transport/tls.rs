//! rustls client configuration shared by the reqwest client and the NTLM connections.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::TransportError;

/// `true` if the URL's host is `localhost` or a loopback IP address.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Builds the rustls configuration: Mozilla roots (webpki-roots) plus the configured extra
/// PEM roots; certificate verification disabled only if `accept_invalid_on_loopback` (the
/// caller checked that the endpoint is a loopback address). The provider is always `ring`,
/// chosen explicitly so that the process-wide default provider does not matter.
pub fn client_config(
    extra_roots_pem: &[Vec<u8>],
    accept_invalid_on_loopback: bool,
    alpn_http11: bool,
) -> Result<rustls::ClientConfig, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::InvalidConfig(format!("TLS versions: {e}")))?;
    let mut config = if accept_invalid_on_loopback {
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
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    if alpn_http11 {
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
    }
    Ok(config)
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
    fn invalid_extra_root_is_a_config_error() {
        let err = client_config(&[b"not a pem".to_vec()], false, false).expect_err("must fail");
        assert!(matches!(err, TransportError::InvalidConfig(_)), "{err}");
    }
}
