//! The Microsoft Graph client of an Exchange Online server record.

use conaktiv_model::config::{EwsServer, ServerCredentials};
use ews_client::transport::CertificateFingerprint;

use super::ServiceError;

/// The time zone the Graph side asks Graph to express event times in
/// (`Prefer: outlook.timezone`); the field mapping reads them in this zone.
pub const GRAPH_TIMEZONE: &str = "UTC";

/// The Graph client of a server record's OAuth app (client credentials, scope
/// `https://graph.microsoft.com/.default`, the app's token endpoint), at the record's Graph
/// service root ([`EwsServer::graph_root`]), with Graph's per-mailbox limits (4 concurrent
/// requests, 10,000 requests per 10 minutes). Certificates are verified as for EWS: public
/// CAs, the record's `trusted_ca_file`, or its pinned certificate.
pub fn graph_client_for_server(server: &EwsServer) -> Result<graph_client::Client, ServiceError> {
    let fail = |what: String| {
        ServiceError::Configuration(format!("Graph for server {:?}: {what}", server.name))
    };
    let Some(ServerCredentials::ExchangeOnline { app, .. }) = server.credentials() else {
        return Err(fail(
            "Microsoft Graph needs an Exchange Online server record with its OAuth app".into(),
        ));
    };
    let mut creds = graph_client::auth::credentials(&app.tenant_id, &app.client_id);
    creds.client_secret =
        ews_client::transport::SecretString::from(app.client_secret.expose().to_owned());
    let endpoint = app.token_endpoint();
    let url = url::Url::parse(&endpoint).map_err(|e| fail(format!("token endpoint: {e}")))?;
    creds = creds.with_token_url(url);
    let tokens = graph_client::auth::with_secret(creds).map_err(|e| fail(e.to_string()))?;
    let root =
        url::Url::parse(&server.graph_root()).map_err(|e| fail(format!("graph_url: {e}")))?;
    let mut config = graph_client::ClientConfig::new(tokens)
        .with_base_url(root)
        .with_timezone(GRAPH_TIMEZONE);
    if let Some(pin) = &server.pinned_certificate_sha256 {
        config =
            config.with_pinned_certificate(CertificateFingerprint::from_bytes(*pin.as_bytes()));
    }
    if let Some(path) = &server.trusted_ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            fail(format!(
                "cannot read trusted_ca_file {}: {e}",
                path.display()
            ))
        })?;
        config = config.with_extra_root_certificate(pem);
    }
    graph_client::Client::new(config).map_err(|e| fail(e.to_string()))
}
