//! The service account's EWS client for a configured server.

use conaktiv_model::config::{AuthScheme, EwsServer, ServerCredentials};
use ews_client::transport::{
    Auth, CertificateFingerprint, OAuthClientCredentials, TransportConfig,
};
use ews_client::{Client, ClientConfig};

use super::ServiceError;

/// The client of a server's service account: on-premises the admin account (NTLM or Basic)
/// that holds ApplicationImpersonation, Exchange Online the OAuth app (client credentials).
/// Every sync call then impersonates the mailbox ([`Client::for_mailbox`]).
///
/// Plain `http` is accepted only for loopback hosts (the mock server); certificates are
/// always verified: against the public CAs, or, when the record pins one
/// (`pinned_certificate_sha256`), exactly that certificate.
pub fn client_for_server(server: &EwsServer) -> Result<Client, ServiceError> {
    client_at(server, transport_for_server(server)?)
}

/// The client of a server record with an already built transport (another URL, for a
/// mailbox Autodiscover found).
pub(crate) fn client_at(
    server: &EwsServer,
    transport: TransportConfig,
) -> Result<Client, ServiceError> {
    Client::new(ClientConfig::new(transport))
        .map_err(|e| ServiceError::Configuration(format!("EWS server {:?}: {e}", server.name)))
}

/// The transport settings of a server record: its URL, its service account's credentials and
/// its TLS trust.
pub fn transport_for_server(server: &EwsServer) -> Result<TransportConfig, ServiceError> {
    let credentials = server.credentials().ok_or_else(|| {
        ServiceError::Configuration(format!(
            "EWS server {:?} lacks credentials for its kind",
            server.name
        ))
    })?;
    let auth = match credentials {
        ServerCredentials::OnPremises {
            user,
            password,
            scheme,
        } => match scheme {
            AuthScheme::Ntlm => Auth::ntlm(user, password.expose()),
            _ => Auth::basic(user, password.expose()),
        },
        ServerCredentials::ExchangeOnline { app, .. } => {
            let mut creds = OAuthClientCredentials::new(
                app.tenant_id.clone(),
                app.client_id.clone(),
                app.client_secret.expose(),
            );
            if let Some(url) = &app.token_url {
                creds = creds.with_token_url(url.as_url().clone());
            }
            if let Some(scope) = &app.scope {
                creds = creds.with_scope(scope.clone());
            }
            Auth::oauth(creds)
        }
    };
    let mut transport = TransportConfig::new(server.url.as_url().clone(), auth);
    if let Some(pin) = &server.pinned_certificate_sha256 {
        transport =
            transport.with_pinned_certificate(CertificateFingerprint::from_bytes(*pin.as_bytes()));
    }
    if let Some(pem) = trusted_ca_pem(server)? {
        transport = transport.with_extra_root_certificate(pem);
    }
    if let Some(n) = server.ews_concurrent_sync_calls {
        // Validated to 1..=MAX_EWS_CONCURRENT_SYNC_CALLS; the clamp keeps an unvalidated
        // record within it too.
        let max = conaktiv_model::config::server::MAX_EWS_CONCURRENT_SYNC_CALLS;
        transport = transport.with_max_concurrent_sync_calls(n.clamp(1, max) as usize);
    }
    Ok(transport)
}

/// The PEM certificates of a server record's `trusted_ca_file`, if it names one (for the EWS
/// and the Graph client alike).
pub(crate) fn trusted_ca_pem(server: &EwsServer) -> Result<Option<Vec<u8>>, ServiceError> {
    let Some(path) = &server.trusted_ca_file else {
        return Ok(None);
    };
    std::fs::read(path).map(Some).map_err(|e| {
        ServiceError::Configuration(format!(
            "server record {:?}: cannot read trusted_ca_file {}: {e}",
            server.name,
            path.display()
        ))
    })
}

/// An EWS error's message with what the admin can change, when the server's certificate
/// was not accepted: the host, the server record and the setting.
pub fn explain_certificate_error(server: &EwsServer, message: &str) -> Option<String> {
    if !message.contains("UnknownIssuer") && !message.contains("not issued by a trusted CA") {
        return None;
    }
    let host = server
        .url
        .as_url()
        .host_str()
        .unwrap_or_default()
        .to_owned();
    Some(format!(
        "{message}. The certificate of {host} (EWS server {:?}) is not from a trusted CA: set \
         trusted_ca_file in that [[servers]] record to the PEM file of the CA that issued it, \
         or pin the certificate with pinned_certificate_sha256",
        server.name
    ))
}
