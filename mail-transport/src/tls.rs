//! TLS client configuration (rustls with the public web roots plus optional extra CAs).

use std::sync::Arc;

use ews_client::transport::CertificateNames;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

use crate::error::MailError;
use crate::settings::ServerSettings;

/// Parses every certificate in a PEM text.
pub(crate) fn parse_pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, MailError> {
    let mut reader = pem;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut reader)
        .collect::<Result<_, _>>()
        .map_err(|e| MailError::Config(format!("invalid CA certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(MailError::Config(
            "CA certificate PEM holds no certificate".into(),
        ));
    }
    Ok(certs)
}

/// The rustls client configuration for a server.
pub(crate) fn client_config(
    settings: &ServerSettings,
) -> Result<Arc<rustls::ClientConfig>, MailError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = settings.extra_root_pem() {
        for cert in parse_pem_certs(pem)? {
            roots
                .add(cert)
                .map_err(|e| MailError::Config(format!("invalid CA certificate: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| MailError::Tls(format!("TLS verifier: {e}")))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MailError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NamingVerifier { webpki }))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A certificate webpki refused, with the names of the certificate the server presented, so
/// the error can say which CA issued it.
#[derive(Debug)]
pub(crate) struct Refused {
    /// webpki's reason.
    pub(crate) cause: CertificateError,
    /// Subject and issuer of the server's certificate, if it could be parsed.
    pub(crate) names: Option<CertificateNames>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.cause)?;
        if let Some(names) = &self.names {
            write!(f, " (the certificate is {names})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// webpki's verification, its refusals carrying the presented certificate's names.
#[derive(Debug)]
struct NamingVerifier {
    webpki: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for NamingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| match e {
                rustls::Error::InvalidCertificate(cause) => rustls::Error::InvalidCertificate(
                    CertificateError::Other(OtherError(Arc::new(Refused {
                        cause,
                        names: CertificateNames::of_der(end_entity.as_ref()),
                    }))),
                ),
                other => other,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The name the certificate is checked against.
pub(crate) fn server_name(settings: &ServerSettings) -> Result<ServerName<'static>, MailError> {
    ServerName::try_from(settings.tls_server_name().to_string()).map_err(|e| {
        MailError::Config(format!(
            "invalid TLS server name {:?}: {e}",
            settings.tls_server_name()
        ))
    })
}
