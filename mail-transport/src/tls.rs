//! TLS client configuration (rustls with the public web roots plus optional extra CAs).

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};

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
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| MailError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
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
